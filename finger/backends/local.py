# -*- test-case-name: tests.backends.test_local -*-
"""
The standard thing: answer from the system's accounts and each user's
C{~/.plan}, as the tutorial's C{LocalFingerService} does.

A user's status is the first line of C{~/.project} (as C{Project: ...}),
if there is one, followed by C{~/.plan}, or C{No Plan.}.  A verbose query
adds the login name, the full name, the home directory and the shell.

Users' files are hostile territory (RFC 1288 section 3, and the history of
fingerd, which followed a C{.plan} symlink to any file root could read).  So
each file is opened without following a symlink and without blocking, and
read only if it is a regular file owned by that user, and only up to a cap;
all of this runs in the reactor's thread pool, so a slow disk or a network
home directory never stalls the reactor.  The back-end reads with the
identity of the process, and refuses to start as root: run it under
C{twistd --uid/--gid} or in a tac whose C{Application} has a C{uid}.

A user with a C{~/.nofinger} (of any kind) gets the answer a user who does
not exist gets, and so does a user whose home directory this process cannot
search, since it cannot tell whether that user opted out.  Accounts below a
uid floor (system accounts), the overflow user C{nobody} and accounts whose
names break the user name rule are neither listed nor answered.
"""

import errno
import os
import pwd
import stat
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, TypeVar

from twisted.application import service
from twisted.internet.defer import Deferred, fail
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from zope.interface import implementer

from finger.interfaces import IFingerService, IFingerVerboseService, UnknownUser
from finger.names import isValidUserName
from finger.paths import SAFE_OPEN_FLAGS

UID_FLOOR = 1000
NOBODY_UID = 65534
MAX_FILE_BYTES = 4096
NO_PLAN = "No Plan."

_T = TypeVar("_T")


class RunningAsRoot(SystemExit, Exception):
    """
    The local accounts back-end was started as root.  Like
    L{finger.net.listen.ListenFailed}, it ends the process with its message and a
    non-zero status.
    """


def readUserFile(path: str, uid: int, maxBytes: int = MAX_FILE_BYTES) -> Optional[str]:
    """
    Read a file a user controls, such as C{~/.plan}, defensively.

    It blocks: call it in a thread.

    @param path: the file's path.
    @param uid: the user who must own it.
    @param maxBytes: the most bytes to read.
    @return: the first C{maxBytes} bytes of the file, decoded as UTF-8 with
        undecodable bytes replaced; or L{None} if there is no such file, it is
        a symlink, it is not a regular file (a FIFO, a device, a directory),
        another user owns it, or it cannot be read.
    """
    try:
        fd = os.open(path, SAFE_OPEN_FLAGS)
    except (OSError, ValueError):
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != uid:
            return None
        chunks = []
        left = maxBytes
        while left > 0:
            chunk = os.read(fd, left)
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except OSError:
        return None
    finally:
        os.close(fd)
    return b"".join(chunks).decode("utf-8", "replace")


def _optedOut(home: str) -> bool:
    try:
        os.lstat(os.path.join(home, ".nofinger"))
    except OSError as e:
        # Only a definite "no such file" lets the user be seen.
        return e.errno != errno.ENOENT
    except ValueError:
        # A home directory with a NUL in it.
        return True
    return True


def _fullName(entry: Any) -> str:
    name: str = entry.pw_gecos.split(",", 1)[0]
    # BSD finger's convention: "&" in the GECOS field stands for the login.
    return name.replace("&", entry.pw_name.capitalize())


def isOrdinaryAccount(entry: Any, uidFloor: int) -> bool:
    """
    Is C{entry} (from the account database) one this server may answer
    for: a uid at or above C{uidFloor} (below it are system accounts such as
    C{root}), not the overflow user C{nobody}, and a name that passes the
    user name rule?
    """
    return (
        entry.pw_uid >= uidFloor and entry.pw_uid != NOBODY_UID and isValidUserName(entry.pw_name)
    )


@implementer(IFingerService, IFingerVerboseService)
class LocalFingerService(service.Service):
    """
    Statuses from the system's accounts and users' C{.plan} files.

    @ivar uidFloor: the lowest uid answered; system accounts are below it.
    @ivar maxBytes: the most bytes read from each user file.
    """

    log = Logger()

    def __init__(
        self,
        reactor: Any,
        accounts: Any = pwd,
        uidFloor: int = UID_FLOOR,
        maxBytes: int = MAX_FILE_BYTES,
        euid: Callable[[], int] = os.geteuid,
    ) -> None:
        """
        @param reactor: an L{IReactorThreads} provider, whose thread pool
            does the blocking work.
        @param accounts: the account database: anything with the
            C{getpwnam} and C{getpwall} of the L{pwd} module.
        @param uidFloor: the lowest uid answered.
        @param maxBytes: the most bytes read from each user file.
        @param euid: returns the effective uid the service reads with; it
            refuses to start if that is 0.
        """
        self._reactor = reactor
        self._accounts = accounts
        self.uidFloor = uidFloor
        self.maxBytes = maxBytes
        self._euid = euid

    def startService(self) -> None:
        """
        Start, unless running as root.

        @raise RunningAsRoot: if the process runs as root: it would read
            users' files with root's rights.
        """
        if self._euid() == 0:
            raise RunningAsRoot(
                "finger: the local accounts back-end will not read users' files "
                "as root; run twistd with --uid and --gid (or give the tac's "
                "Application a uid and gid)"
            )
        super().startService()
        self.log.info(
            "Serving statuses from the system's accounts from uid {uidFloor} up, "
            "and their ~/.plan files",
            uidFloor=self.uidFloor,
        )

    def _inThread(self, f: Callable[..., _T], *args: object) -> "Deferred[_T]":
        return deferToThreadPool(self._reactor, self._reactor.getThreadPool(), f, *args)

    def _visible(self, entry: Any) -> bool:
        return isOrdinaryAccount(entry, self.uidFloor) and not _optedOut(entry.pw_dir)

    def _lookup(self, user: str) -> Optional[Any]:
        try:
            entry = self._accounts.getpwnam(user)
        except (KeyError, OSError):
            return None
        if entry.pw_name != user or not self._visible(entry):
            return None
        return entry

    def _details(self, user: str) -> Optional[List[Tuple[str, str]]]:
        """
        Everything a verbose answer shows, read in a thread.
        """
        entry = self._lookup(user)
        if entry is None:
            return None
        fields = [
            ("Login", entry.pw_name),
            ("Name", _fullName(entry)),
            ("Directory", entry.pw_dir),
            ("Shell", entry.pw_shell),
        ]
        project = readUserFile(
            os.path.join(entry.pw_dir, ".project"), entry.pw_uid, self.maxBytes
        )
        if project and project.strip():
            fields.append(("Project", project.strip().splitlines()[0]))
        plan = readUserFile(
            os.path.join(entry.pw_dir, ".plan"), entry.pw_uid, self.maxBytes
        )
        if plan is not None and plan.strip():
            fields.append(("Plan", "\n" + plan.rstrip()))
        else:
            fields.append(("Plan", NO_PLAN))
        return fields

    def getUserDetails(self, user: str) -> "Deferred[List[Tuple[str, str]]]":
        if not isValidUserName(user):
            return fail(UnknownUser(user))

        def found(fields: Optional[List[Tuple[str, str]]]) -> List[Tuple[str, str]]:
            if fields is None:
                raise UnknownUser(user)
            return fields

        return self._inThread(self._details, user).addCallback(found)

    def getUser(self, user: str) -> "Deferred[str]":
        def status(fields: List[Tuple[str, str]]) -> str:
            values = dict(fields)
            plan = values["Plan"].lstrip("\n")
            if "Project" in values:
                return f"Project: {values['Project']}\n{plan}"
            return plan

        return self.getUserDetails(user).addCallback(status)

    def _names(self) -> List[str]:
        names: Dict[str, None] = {}
        entries: Iterable[Any] = self._accounts.getpwall()
        for entry in entries:
            if entry.pw_name not in names and self._visible(entry):
                names[entry.pw_name] = None
        return list(names)

    def getUsers(self) -> "Deferred[List[str]]":
        return self._inThread(self._names)
