# -*- test-case-name: tests.backends.test_statusfile -*-
"""
The status file: one C{user: status} line per user, in UTF-8.

Blank lines and lines starting with C{#} are comments.  A line that is not a
comment, has no C{:}, names an invalid user or is not UTF-8 is malformed: it is
reported with its line number and skipped, and the other lines still count.
When a user appears twice, the later line wins.

The status file must be a regular file named by its own path, not a
symbolic link: a save replaces the file it names, so through a link reads
would follow the link while the first save replaced the link itself (and, run
as root, a link to C{/etc/shadow} would be served).  L{read} and L{save}
refuse a link (and anything that is not a regular file) and never follow
one.  A status file that no one may write (C{chmod a-w}), or that this
process may not write, is read-only: L{save} refuses with
L{StatusFileReadOnly} and leaves it alone.

A save writes a temporary file C{.NAME.XXXXXXXX.tmp} next to the status file
C{NAME} and renames it over the file; one left behind by a process killed
mid-save is removed by L{removeStale}.

Several processes may share one status file.  A save holds an exclusive
C{flock} on the lock file C{.NAME.lock} next to it (L{lockPath}) from
reading the file to renaming the new one over it, so saves from several
processes (or several services in one process) happen one after the other
and none loses another's change.  The lock file is created when first
needed and never removed: removing it while another process waits on it
would let a third lock a new one beside them.  A tool that edits the file
may take the same lock (C{flock .NAME.lock -c "..."}) to be safe from
concurrent saves.

The lock belongs to the server: whoever can open the lock file can hold it
and stop every save.  It is made with mode C{0600}, and one found with a
looser mode is made C{0600} when this process owns it (run as root, it
gives the lock file the status file's owner, as a save keeps the status
file's); see L{StatusFileLock.warning}.  Nobody ever waits in C{flock}
itself: the lock is tried without blocking (L{StatusFileLock.acquire}), and
a caller that must wait tries again until a deadline, then gives up with
L{LockBusy}.  So a lock held forever costs each save its deadline, and
never a thread forever.

These functions do blocking file I/O and are meant to run in a thread; the
service in L{finger.backends.file} decides when.  L{StatusFileLock} and
L{checkSavable} are the exceptions: a few system calls on small files that
never wait, which the service makes from the reactor's thread.
"""

import errno
import fcntl
import itertools
import operator
import os
import re
import stat
import tempfile
import time
from contextlib import contextmanager
from typing import Callable, Dict, Iterator, List, Mapping, NamedTuple, Optional, Tuple

from finger.paths import SAFE_OPEN_FLAGS
from finger.interfaces import StatusesReadOnly, StatusNotSaved
from finger.messages import READ_ONLY
from finger.names import USER_NAME, isValidUserName


class Problem(NamedTuple):
    """
    A malformed line.
    """

    lineno: int
    reason: str


class Snapshot(NamedTuple):
    """
    What a status file said when it was read.

    @ivar statuses: user name to status, in file order.
    @ivar problems: the malformed lines.
    @ivar identity: L{fileIdentity} of the file that was read.
    @ivar empty: whether the file had no bytes at all.
    """

    statuses: Dict[str, str]
    problems: List[Problem]
    identity: Tuple[int, ...]
    empty: bool = False


class StatusFileError(Exception):
    """
    A status file could not be read.  The message names the path.
    """


class StatusFileReadOnly(StatusesReadOnly):
    """
    A save was refused because the status file is read-only.  The message
    is fit for the client; L{path} names the file for the log.

    @ivar path: the status file.
    """

    def __init__(self, path: str) -> None:
        super().__init__(READ_ONLY)
        self.path = path


def _openRegular(path: str) -> Tuple[int, os.stat_result]:
    """
    Open the status file at C{path} for reading, without following a
    symbolic link and without blocking on a FIFO.

    @return: the descriptor and its L{os.stat_result}.
    @raise OSError: with a message saying what is wrong, if it cannot be
        opened, is a symbolic link or is not a regular file.
    """
    try:
        fd = os.open(path, SAFE_OPEN_FLAGS)
    except OSError as e:
        if e.errno == errno.ELOOP and os.path.islink(path):
            raise OSError(
                e.errno,
                "it is a symbolic link, which is refused (give the path of the file itself)",
            ) from e
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "it is not a regular file")
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def _isWritable(path: str, st: os.stat_result) -> bool:
    """
    May this process replace the status file C{path}, whose status is
    C{st}?  Not if its mode lets no one write it (which root could still
    do), nor if this process's user may not write it.
    """
    if not st.st_mode & 0o222:
        return False
    effective = os.access in os.supports_effective_ids
    return os.access(path, os.W_OK, effective_ids=effective)


def fileIdentity(st: os.stat_result) -> Tuple[int, ...]:
    """
    What tells one version of a file from another without reading it.
    """
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _entries(text: str, first: int = 1) -> Iterator[Tuple[int, str, Optional[str], str]]:
    """
    Walk the lines of a status file.

    @return: for each line, its number, the line itself (without its line
        ending), the user it names (L{None} for a comment or a malformed
        line), and the status, or the reason a malformed line is malformed
        (empty for a comment).
    """
    for lineno, line in enumerate(text.split("\n"), first):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            yield lineno, line, None, ""
            continue
        name, colon, status = stripped.partition(":")
        name = name.rstrip()
        status = status.strip()
        if not colon:
            yield lineno, line, None, "no ':' between user and status"
        elif not isValidUserName(name):
            yield lineno, line, None, f"invalid user name {name!r}"
        elif _SURROGATE.search(status) is not None:
            yield lineno, line, None, "status is not UTF-8"
        else:
            yield lineno, line, name, status


def _decode(data: bytes) -> str:
    # Undecodable bytes become lone surrogates, which the name rule and the
    # status check reject, so only the lines holding them are lost.
    return data.decode("utf-8", "surrogateescape")


#: Lines are handled this many bytes at a time (cut at a line end).  Every
#: step over a piece is one call into C; between pieces the thread that
#: parses gives the interpreter back, so a reactor running beside it in the
#: same process is never held up for long.
CHUNK_BYTES = 1 << 16

# A valid name never starts with "#" (which would make its line a comment).
# A line whose text before its first ":" is a valid name, once stripped,
# names a user; any other line is a comment or malformed and is classified
# by L{_entries}, one line at a time.
_PLAIN_NAME = USER_NAME.fullmatch
_first = operator.itemgetter(0)
_second = operator.itemgetter(1)
_third = operator.itemgetter(2)
_colons = itertools.repeat(":")


class _Piece(NamedTuple):
    """
    Some consecutive lines of a status file, split up.

    @ivar lineno: the number of the first line.
    @ivar lines: the lines, without their line endings.
    @ivar users: the index in C{lines} of each line that names a user (all
        lines if L{None}).
    @ivar names: the user each such line names.
    @ivar statuses: the status it gives.
    @ivar problems: the malformed lines among C{lines}.
    """

    lineno: int
    lines: List[str]
    users: Optional[List[int]]
    names: List[str]
    statuses: List[str]
    problems: List[Problem]


def _pieces(
    data: bytes, only: Optional[Callable[[str], bool]] = None
) -> Iterator[_Piece]:
    """
    Split the bytes of a status file into L{_Piece}s of about
    L{CHUNK_BYTES}, with the meaning of every line worked out as L{_entries}
    does, but one call into C for all the lines of a piece where it can.

    @param only: if given, the pieces need only name the users for whom it
        is true, and give no statuses and no problems.
    """
    position, size, lineno = 0, len(data), 1
    while True:
        end = data.find(b"\n", position + CHUNK_BYTES)
        last = end == -1
        if last:
            end = size
        raw = data[position:end]
        lines = _decode(raw).split("\n")
        if not raw.isascii() and _SURROGATE.search("".join(lines)) is not None:
            # Undecodable bytes here: the careful way, line by line.
            yield _slowPiece(lineno, lines)
        elif only is not None:
            yield _namesPiece(lineno, lines, only)
        else:
            yield _fastPiece(lineno, lines)
        if last:
            return
        lineno += len(lines)
        position = end + 1


def _fastPiece(lineno: int, lines: List[str]) -> _Piece:
    parts = list(map(str.partition, lines, _colons))
    names = list(map(str.strip, map(_first, parts)))
    users: Optional[List[int]] = None
    problems: List[Problem] = []
    if not (all(map(_second, parts)) and all(map(_PLAIN_NAME, names))):
        good = list(map(bool, map(_PLAIN_NAME, names)))
        good = list(map(operator.and_, good, map(bool, map(_second, parts))))
        users = list(itertools.compress(range(len(lines)), good))
        for index in itertools.compress(range(len(lines)), map(operator.not_, good)):
            for number, _line, _name, reason in _entries(lines[index], lineno + index):
                if reason:
                    problems.append(Problem(number, reason))
        parts = list(itertools.compress(parts, good))
        names = list(itertools.compress(names, good))
    statuses = list(map(str.strip, map(_third, parts)))
    return _Piece(lineno, lines, users, names, statuses, problems)


def _namesPiece(lineno: int, lines: List[str], only: Callable[[str], bool]) -> _Piece:
    parts = list(map(str.partition, lines, _colons))
    names = list(map(str.strip, map(_first, parts)))
    users = [
        index
        for index in itertools.compress(range(len(lines)), map(only, names))
        if parts[index][1] and _PLAIN_NAME(names[index])
    ]
    return _Piece(lineno, lines, users, [names[i] for i in users], [], [])


def _slowPiece(lineno: int, lines: List[str]) -> _Piece:
    users: List[int] = []
    names: List[str] = []
    statuses: List[str] = []
    problems: List[Problem] = []
    for index, line in enumerate(lines):
        for number, _line, name, status in _entries(line, lineno + index):
            if name is not None:
                users.append(index)
                names.append(name)
                statuses.append(status)
            elif status:
                problems.append(Problem(number, status))
    return _Piece(lineno, lines, users, names, statuses, problems)


def _shared(cache: Dict[str, str], statuses: List[str]) -> Iterator[str]:
    """
    The same statuses, with equal ones made one object: many users share a
    status, and a million copies of "on vacation" cost memory for nothing.
    """
    return map(cache.setdefault, statuses, statuses)


def parse(data: bytes) -> Tuple[Dict[str, str], List[Problem]]:
    """
    Read the users out of the bytes of a status file.

    @return: the statuses by user, and the malformed lines.
    """
    statuses: Dict[str, str] = {}
    problems: List[Problem] = []
    cache: Dict[str, str] = {}
    for piece in _pieces(data):
        statuses.update(zip(piece.names, _shared(cache, piece.statuses)))
        problems.extend(piece.problems)
    return statuses, problems


def read(path: str) -> Snapshot:
    """
    Read and parse the status file at C{path}.

    @raise StatusFileError: if it cannot be read.
    """
    try:
        fd, st = _openRegular(path)
        with open(fd, "rb") as f:
            identity = fileIdentity(st)
            data = f.read()
    except OSError as e:
        raise StatusFileError(
            f"cannot read status file {path}: {e.strerror or e}"
        ) from e
    statuses, problems = parse(data)
    return Snapshot(statuses, problems, identity, not data)


def readIfChanged(path: str, identity: Tuple[int, ...]) -> Optional[Snapshot]:
    """
    Read the status file at C{path} unless it is still the version whose
    L{fileIdentity} is C{identity}.

    @return: a new L{Snapshot}, or L{None} if the file did not change.
    @raise StatusFileError: if it cannot be read.
    """
    try:
        # lstat: a symbolic link put in place of the file is a change, and
        # read refuses it.
        current = fileIdentity(os.lstat(path))
    except OSError as e:
        raise StatusFileError(
            f"cannot read status file {path}: {e.strerror or e}"
        ) from e
    if current == identity:
        return None
    return read(path)


def update(
    data: bytes, changes: Mapping[str, str], known: Optional[Mapping[str, str]] = None
) -> Tuple[bytes, Dict[str, str]]:
    """
    Set some users' statuses in the bytes of a status file.

    Each changed user's first line is rewritten and any later lines for the
    same user are dropped; users the file did not have are added at the end.
    Every other line, comments and malformed lines included, is kept as it
    was.

    @param known: what L{parse} gives for C{data}, if the caller has it: then
        only the changed users' lines are looked for.
    @return: the new bytes and the statuses they hold.
    """
    kept: List[str] = []
    statuses: Dict[str, str] = {}
    cache: Dict[str, str] = {}
    done = set()
    isChanged = changes.__contains__
    for piece in _pieces(data, None if known is None else isChanged):
        lines = piece.lines
        hits = list(itertools.compress(range(len(piece.names)), map(isChanged, piece.names)))
        if hits:
            lines = list(lines)
            dropped = []
            for hit in hits:
                index = hit if piece.users is None else piece.users[hit]
                name = piece.names[hit]
                if name in done:
                    dropped.append(index)
                    continue
                done.add(name)
                lines[index] = _format(name, changes[name])
            for index in reversed(dropped):
                del lines[index]
        kept.extend(lines)
        statuses.update(zip(piece.names, _shared(cache, piece.statuses)))
    if kept and kept[-1] == "":
        # What followed the last newline; the new text ends with one anyway.
        kept.pop()
    for name, status in changes.items():
        if name not in done:
            kept.append(_format(name, status))
    # Changed users keep their place (their first line); new ones come last,
    # as in the file.
    if known is not None:
        statuses = dict(known)
    statuses.update(changes)
    text = "\n".join(kept) + "\n" if kept else ""
    return text.encode("utf-8", "surrogateescape"), statuses


def _format(name: str, status: str) -> str:
    return f"{name}: {status}" if status else f"{name}:"


def lockPath(path: str) -> str:
    """
    The lock file that L{save} holds while it saves the status file at
    C{path}: C{.NAME.lock} next to the file C{NAME}.
    """
    directory, name = os.path.split(path)
    return os.path.join(directory, "." + name + ".lock")


LOCK_TIMEOUT = 5.0
"""
Seconds L{save} and L{removeStale} wait for the lock by default.
"""

LOCK_RETRY = (0.005, 0.05)
"""
Seconds before the second try for a held lock, and the most between any
two tries: the delay doubles from the first to the most.  Another server's
save holds the lock for milliseconds; polling twenty times a second while
someone holds it for longer costs nothing.
"""


class LockBusy(StatusNotSaved):
    """
    The lock of a status file was held by someone else until the deadline.
    The message names the lock file.

    @ivar lock: the lock file.
    """

    def __init__(self, path: str, lock: str, timeout: float) -> None:
        super().__init__(
            f"the lock file of {path}, {lock}, was held elsewhere for {timeout:g} seconds"
        )
        self.lock = lock


class StatusFileLock:
    """
    The lock of one status file (L{lockPath}), tried without ever waiting:
    a caller that must wait calls L{acquire} again until a deadline of its
    own, so no thread sleeps in C{flock} for as long as another holder
    likes.

    @ivar statusPath: the status file.
    @ivar path: its lock file.
    @ivar warning: once the lock file was opened, what was wrong with its
        owner or mode and what was done about it, for the log; L{None} if
        nothing was.
    """

    def __init__(self, statusPath: str) -> None:
        self.statusPath = statusPath
        self.path = lockPath(statusPath)
        self.warning: Optional[str] = None
        self._fd: Optional[int] = None

    def acquire(self) -> bool:
        """
        Take the lock if nobody else holds it, opening (and making) the
        lock file on the first try.

        @return: whether the lock is held now.
        @raise StatusNotSaved: if the lock file cannot be opened or made,
            or is not a regular file.
        """
        if self._fd is None:
            self._fd, self.warning = _openLock(self.statusPath, self.path)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        except OSError as e:
            self.release()
            raise StatusNotSaved(
                f"cannot lock {self.statusPath}: {self.path}: {e.strerror or e}"
            ) from e
        return True

    def release(self) -> None:
        """
        Let the lock go, if it is held, and close the lock file.
        """
        if self._fd is not None:
            fd, self._fd = self._fd, None
            # Closing the only descriptor of the lock lets it go.
            os.close(fd)


def _openLock(path: str, lock: str) -> Tuple[int, Optional[str]]:
    """
    Open the lock file C{lock} of the status file C{path}, making it if
    there is none, and make it the server's (L{_tighten}).

    @return: its descriptor, and L{StatusFileLock.warning}.
    @raise StatusNotSaved: if it cannot be opened or made, or is not a
        regular file.
    """
    try:
        # Read-only is enough for flock; O_NOFOLLOW and O_NONBLOCK as for the
        # status file, so that a link or a FIFO put there is refused, not
        # followed or waited on.
        fd = os.open(lock, SAFE_OPEN_FLAGS | os.O_CREAT, 0o600)
    except OSError as e:
        raise StatusNotSaved(f"cannot lock {path}: {lock}: {e.strerror or e}") from e
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise StatusNotSaved(f"cannot lock {path}: {lock} is not a regular file")
        return fd, _tighten(fd, path, lock, st)
    except OSError as e:
        os.close(fd)
        raise StatusNotSaved(f"cannot lock {path}: {lock}: {e.strerror or e}") from e
    except BaseException:
        os.close(fd)
        raise


def _tighten(fd: int, path: str, lock: str, st: os.stat_result) -> Optional[str]:
    """
    Make the open lock file C{lock} of the status file C{path}, whose
    status is C{st}, the server's alone: mode C{0600}, owned by this
    process's user, or, for root, by the status file's owner (a save by
    root keeps that owner, and a server that dropped privileges to it must
    still be able to lock).

    @return: what was done, or what is wrong and cannot be changed here,
        for the log; L{None} if the lock file was the server's already.
    """
    euid = os.geteuid()
    mode = stat.S_IMODE(st.st_mode)
    done: List[str] = []
    try:
        if euid == 0:
            try:
                owner = os.lstat(path).st_uid
            except OSError:
                owner = euid
            if st.st_uid != owner:
                os.fchown(fd, owner, -1)
                done.append(f"gave it to uid {owner} (it was uid {st.st_uid}'s)")
        elif st.st_uid != euid:
            others = " and other users" if mode & 0o077 else ""
            return (
                f"the lock file {lock} belongs to uid {st.st_uid}, not to this server's "
                f"user (uid {euid}): uid {st.st_uid}{others} can hold it and stop every "
                f"save; remove it while no server uses {path}"
            )
        if mode & 0o077:
            os.fchmod(fd, 0o600)
            done.append(f"made it 0600 (it was {mode:04o})")
    except OSError as e:
        return (
            f"the lock file {lock} (mode {mode:04o}, uid {st.st_uid}) could not be made "
            f"the server's alone: {e.strerror or e}; other users may hold it and stop "
            f"every save"
        )
    if done:
        return f"the lock file {lock}: {' and '.join(done)}, so that no other user can hold it"
    return None


@contextmanager
def _locked(path: str, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """
    Hold the exclusive lock on the status file at C{path} (see L{lockPath}),
    waiting up to C{timeout} seconds for any other holder to let it go.

    @raise LockBusy: if another holder kept it for C{timeout} seconds.
    @raise StatusNotSaved: if the lock file cannot be opened or made.
    """
    lock = StatusFileLock(path)
    try:
        deadline = time.monotonic() + timeout
        delay, most = LOCK_RETRY
        while not lock.acquire():
            left = deadline - time.monotonic()
            if left <= 0:
                raise LockBusy(path, lock.path, timeout)
            time.sleep(min(delay, left))
            delay = min(delay * 2, most)
        yield
    finally:
        lock.release()


def _openForSave(path: str) -> Optional[Tuple[int, os.stat_result]]:
    """
    Open the status file at C{path} to be read and replaced.

    @return: its descriptor and status, or L{None} if there is no file.
    @raise StatusFileReadOnly: if the file is read-only.
    @raise StatusNotSaved: if it cannot be opened, is a symbolic link or
        is not a regular file.
    """
    try:
        fd, st = _openRegular(path)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise StatusNotSaved(f"cannot read {path}: {e.strerror or e}") from e
    if not _isWritable(path, st):
        os.close(fd)
        raise StatusFileReadOnly(path)
    return fd, st


def save(
    path: str,
    changes: Mapping[str, str],
    fallback: Mapping[str, str],
    identity: Optional[Tuple[int, ...]] = None,
    timeout: float = LOCK_TIMEOUT,
) -> Snapshot:
    """
    Apply C{changes} to the status file at C{path}, durably and atomically.
    A symbolic link, or anything but a regular file, at C{path} is left
    alone, and so is a read-only file.

    The file is read, changed and replaced under the lock (L{lockPath}), so
    that a concurrent save by another process is never lost: it is either
    read here, or it reads what this one wrote.  The new contents are
    written to a temporary file in the same directory, flushed to disk,
    given the old file's permissions, and renamed over the old file; then
    the directory is flushed too.  Whenever this process dies, the path
    holds either the old file or the new one.

    @param fallback: the statuses the service serves: what to start from if
        the file has vanished or is empty (truncated), and what it holds if it
        is still the version whose L{fileIdentity} is C{identity}.
    @param timeout: seconds to wait for the lock.
    @return: a L{Snapshot} of what was written; its identity is that of
        the file written, even if another has replaced it since.
    @raise StatusFileReadOnly: if the file is read-only.
    @raise LockBusy: if another holder kept the lock for C{timeout}
        seconds; the file is untouched.
    @raise StatusNotSaved: if anything else failed; the old file is
        untouched.
    """
    checkSavable(path)
    with _locked(path, timeout):
        return saveLocked(path, changes, fallback, identity)


def checkSavable(path: str) -> None:
    """
    Refuse what can never be saved, before making the lock file: a link,
    or a read-only file in a directory this process may not write.

    @raise StatusFileReadOnly: if the status file at C{path} is read-only.
    @raise StatusNotSaved: if it is a symbolic link or not a regular file.
    """
    opened = _openForSave(path)
    if opened is not None:
        os.close(opened[0])


def saveLocked(
    path: str,
    changes: Mapping[str, str],
    fallback: Mapping[str, str],
    identity: Optional[Tuple[int, ...]] = None,
) -> Snapshot:
    """
    L{save}, for a caller that holds the lock (a L{StatusFileLock} it
    acquired) and has called L{checkSavable}.
    """
    directory = os.path.dirname(os.path.abspath(path))
    opened = _openForSave(path)
    st: Optional[os.stat_result] = None
    old = b""
    if opened is not None:
        fd, st = opened
        try:
            with open(fd, "rb") as f:
                old = f.read()
        except OSError as e:
            raise StatusNotSaved(f"cannot read {path}: {e.strerror or e}") from e
    if not old:
        old = b"".join(
            (_format(name, status) + "\n").encode("utf-8", "surrogateescape")
            for name, status in fallback.items()
        )
    unchanged = st is not None and identity is not None and fileIdentity(st) == identity
    new, statuses = update(old, changes, fallback if unchanged else None)
    try:
        fd, temporary = tempfile.mkstemp(
            dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp"
        )
    except OSError as e:
        raise StatusNotSaved(f"cannot write in {directory}: {e.strerror or e}") from e
    try:
        with os.fdopen(fd, "wb") as f:
            try:
                f.write(new)
                f.flush()
                if st is not None:
                    os.fchmod(f.fileno(), st.st_mode & 0o7777)
                    if os.geteuid() == 0:
                        os.fchown(f.fileno(), st.st_uid, st.st_gid)
                else:
                    os.fchmod(f.fileno(), 0o644)
                os.fsync(f.fileno())
                os.replace(temporary, path)
            except BaseException:
                os.unlink(temporary)
                raise
            # The file written, as it is now that it has its name (a rename
            # changes its ctime), whatever is at the path by now.
            written = fileIdentity(os.fstat(f.fileno()))
        _syncDirectory(directory)
    except OSError as e:
        raise StatusNotSaved(f"cannot save {path}: {e.strerror or e}") from e
    return Snapshot(statuses, [], written)


def _temporaryPattern(path: str) -> "re.Pattern[str]":
    """
    The names L{save} gives its temporary files next to C{path}: those of
    C{tempfile.mkstemp} with the prefix and suffix L{save} passes it.
    """
    return re.compile(r"\.%s\.[a-z0-9_]{8}\.tmp" % (re.escape(os.path.basename(path)),))


def removeStale(path: str, timeout: float = 1.0) -> Tuple[List[str], List[str]]:
    """
    Remove the temporary files a save of the status file at C{path} left
    behind when its process was killed: regular files next to it named as
    L{save} names them, and nothing else (not the lock file, which stays).

    If there are any, they are removed under the lock (L{lockPath}), so
    that the temporary file of a save another process has under way is
    never taken for a stale one; this may wait up to C{timeout} seconds
    for that save to end, and if the lock is still held then, the files
    are left for another time.  Call it only when no save of this file by
    this process is under way (at start-up).

    @return: the paths removed, and a message for each that could not be.
    """
    directory = os.path.dirname(os.path.abspath(path))
    try:
        found = _temporaries(path)
    except OSError as e:
        return [], [f"cannot list {directory}: {e.strerror or e}"]
    if not found:
        return [], []
    try:
        with _locked(path, timeout):
            return _removeTemporaries(path)
    except LockBusy as e:
        return [], [f"{e}: {len(found)} temporary files of interrupted saves left for now"]
    except StatusNotSaved:
        # No lock can be had (the directory may not be written): then no
        # other process can have saved, either.
        return _removeTemporaries(path)


def _temporaries(path: str) -> List[str]:
    """
    The paths of the files next to the status file at C{path} named as
    L{save} names its temporary files, sorted.

    @raise OSError: if the directory cannot be listed.
    """
    directory = os.path.dirname(os.path.abspath(path))
    isTemporary = _temporaryPattern(path).fullmatch
    names = sorted(filter(isTemporary, os.listdir(directory)))
    return [os.path.join(directory, name) for name in names]


def _removeTemporaries(path: str) -> Tuple[List[str], List[str]]:
    """
    L{removeStale}, once no save can be under way.
    """
    removed: List[str] = []
    failed: List[str] = []
    try:
        found = _temporaries(path)
    except OSError as e:
        return [], [f"cannot list {os.path.dirname(os.path.abspath(path))}: {e.strerror or e}"]
    for temporary in found:
        try:
            if stat.S_ISREG(os.lstat(temporary).st_mode):
                os.unlink(temporary)
                removed.append(temporary)
        except OSError as e:
            failed.append(f"cannot remove {temporary}: {e.strerror or e}")
    return removed, failed


def dispose(statuses: Dict[str, str], step: int = 4096) -> None:
    """
    Empty a table of statuses that nothing else uses any more, C{step}
    entries at a time, so that a thread doing it lets others run in between.
    """
    popitem = statuses.popitem
    while statuses:
        for _ in range(min(step, len(statuses))):
            popitem()


def _syncDirectory(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
