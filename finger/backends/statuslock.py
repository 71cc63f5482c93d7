# -*- test-case-name: tests.backends.test_statuslock -*-
"""
The lock of a status file, which a save holds.

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
never a thread forever.  A thread waits with L{locked}, which sleeps
between tries; the reactor's thread with L{waitForLock}, which tries again
on the reactor's clock.  Trying the lock is a few system calls on small
files that never wait, fit for the reactor's thread.
"""

import fcntl
import os
import stat
import time
from contextlib import contextmanager
from typing import Iterator, List, Optional, Tuple

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall, IReactorTime

from finger.interfaces import StatusNotSaved
from finger.paths import SAFE_OPEN_FLAGS


def lockPath(path: str) -> str:
    """
    The lock file that a save holds while it saves the status file at
    C{path}: C{.NAME.lock} next to the file C{NAME}.
    """
    directory, name = os.path.split(path)
    return os.path.join(directory, "." + name + ".lock")


LOCK_TIMEOUT = 5.0
"""
Seconds a save waits for the lock by default.
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
def locked(path: str, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """
    Hold the exclusive lock on the status file at C{path} (see L{lockPath}),
    waiting up to C{timeout} seconds for any other holder to let it go:
    the way to wait in a thread, which sleeps between tries.

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


def waitForLock(
    lock: StatusFileLock, clock: IReactorTime, timeout: float
) -> "Deferred[None]":
    """
    Take C{lock}, trying again on C{clock} while someone else holds it, for
    at most C{timeout} seconds: the way to wait in the reactor's thread.  No
    thread waits meanwhile: a lock held
    forever costs this wait its deadline, and blocks neither a shutdown
    nor anything else.

    @return: a L{Deferred} that fires once the lock is held (the caller
        then releases it), or fails with L{LockBusy} once
        C{timeout} seconds have passed, or with the error of
        L{StatusFileLock.acquire}; the lock file is closed then.
        Cancelling it stops trying, and closes the lock file.
    """
    deadline = clock.seconds() + timeout
    delay, most = LOCK_RETRY
    retry: Optional[IDelayedCall] = None

    def cancel(d: "Deferred[None]") -> None:
        if retry is not None and retry.active():
            retry.cancel()
        lock.release()

    waited: "Deferred[None]" = Deferred(cancel)

    def attempt() -> None:
        nonlocal retry, delay
        retry = None
        try:
            held = lock.acquire()
        except Exception:
            lock.release()
            waited.errback()
            return
        if held:
            waited.callback(None)
            return
        left = deadline - clock.seconds()
        if left <= 0:
            lock.release()
            waited.errback(LockBusy(lock.statusPath, lock.path, timeout))
            return
        retry = clock.callLater(min(delay, left), attempt)
        delay = min(delay * 2, most)

    attempt()
    return waited
