# -*- test-case-name: tests.backends.test_file -*-
"""
The status-file back-end: statuses kept in a file that people, and other
processes, may also change (the file on disk is L{finger.backends.statusfile}'s,
its format L{finger.backends.statusformat}'s, its lock
L{finger.backends.statuslock}'s, how its directory is watched
L{finger.backends.filewatch}'s).
"""

import os
from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar

from twisted.internet.defer import CancelledError, Deferred, fail, succeed
from twisted.internet.interfaces import IDelayedCall
from twisted.internet.task import LoopingCall
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from finger.backends import statusfile
from finger.backends.filewatch import Watch, WatchUnavailable, watchDirectory
from finger.backends.memory import StatusTable, dispose
from finger.changes import Difference, compare
from finger.backends.statuslock import LOCK_TIMEOUT, StatusFileLock, waitForLock
from finger.interfaces import IFingerService, IFingerSetterService, StatusNotSaved
from finger.logonce import LogOnce
from finger.reactor import orGlobalReactor
from finger.text import Count

_T = TypeVar("_T")

__all__ = ["SETTLE", "FileFingerService", "Watch", "WatchUnavailable", "watchDirectory"]

SETTLE = 0.1
"""
Seconds from the first sign that the status file changed to reading it: a
save or an edit is a burst of events, and all of it is read once.
"""

def _readIfChanged(
    path: str, identity: Tuple[int, ...], old: Optional[Dict[str, str]]
) -> "Tuple[Optional[statusfile.Snapshot], Optional[Difference]]":
    """
    L{statusfile.readIfChanged}, and what changed from the table C{old}
    (if there is one to compare with), in the thread pool.
    """
    snapshot = statusfile.readIfChanged(path, identity)
    if snapshot is None or old is None or (snapshot.empty and old):
        return snapshot, []
    return snapshot, compare(old, snapshot.statuses)


def _saveLocked(
    path: str,
    changes: Dict[str, str],
    fallback: Dict[str, str],
    identity: Tuple[int, ...],
    old: Optional[Dict[str, str]],
) -> "Tuple[statusfile.Snapshot, Optional[Difference]]":
    """
    L{statusfile.saveLocked}, and what changed from the table C{old} (if
    there is one to compare with): the sets saved, and any other process's
    changes the save found in the file.
    """
    snapshot = statusfile.saveLocked(path, changes, fallback, identity)
    return snapshot, ([] if old is None else compare(old, snapshot.statuses))


@implementer(IFingerService, IFingerSetterService)
class FileFingerService(StatusTable):
    """
    Statuses kept in a centrally managed status file (see
    L{finger.backends.statusfile}).

    The file is read when this object is made, so that a missing file is an
    error at start-up.  While the service runs, the file's directory is
    watched (with inotify, where there is one): the file is checked
    L{SETTLE} seconds after it is written or another file is renamed over
    it, so that several processes sharing one file see each other's sets,
    and outside edits, within a fraction of a second.  It is also checked
    every C{interval} seconds, which is all there is where nothing can
    watch (and catches what a watch misses: an overflowing event queue,
    another host's write over NFS).  It is re-read only when it changed
    (L{statusfile.readIfChanged}), so a process's own save is not read
    back.  If a later read fails, or finds the file empty (truncated, or
    caught half-copied), the last good statuses stay in use.

    The file must be a regular file, not a symbolic link (see
    L{finger.backends.statusfile}): a link is an error at start-up, and a
    link put in its place later is logged once while the last good statuses
    stay in use.  A read-only file refuses sets with
    L{statusfile.StatusFileReadOnly}, logged once.  Starting the service
    removes temporary files an interrupted save left behind.

    L{setUser} rewrites the file atomically and durably before it reports
    success, under a lock that several processes saving one file share.
    File work runs in the reactor's thread pool, one job at a time, so a
    large file never stalls the reactor; sets that arrive while a write is
    under way are saved together by the next write.

    The lock is taken without waiting in a thread
    (L{finger.backends.statuslock.waitForLock}): while
    someone else holds it, it is tried again on the reactor's clock, and
    checks of the file go on meanwhile (a save renames a whole new file
    into place, so reading needs no lock).  Sets waiting for it fail with
    L{finger.backends.statuslock.LockBusy}, logged with the lock file's
    name, once it has been held elsewhere for C{lockTimeout} seconds;
    stopping the service fails them at once.  A lock file that other users
    could hold is made the server's (see L{finger.backends.statuslock}), or
    logged if it cannot be.

    @ivar filename: the path of the status file.
    @ivar users: the statuses as the file last held them, read or saved.
    @ivar lastRead: when the file was last read or checked without error.
    @ivar reloads: how many times a changed file was read again.
    """

    log = Logger()

    #: Tables of more users than this are freed in the thread pool when they
    #: are replaced.
    disposeInThreadAbove = 10000

    def __init__(
        self,
        filename: str,
        interval: float = 30.0,
        reactor: Optional[Any] = None,
        watch: Optional[Watch] = watchDirectory,
        settle: float = SETTLE,
        lockTimeout: float = LOCK_TIMEOUT,
    ) -> None:
        """
        @param filename: the path of the status file.
        @param interval: seconds between checks for a changed file.
        @param reactor: an L{IReactorTime} and L{IReactorThreads} provider
            (and L{IReactorFDSet}, for L{watchDirectory}); the global
            reactor if L{None}.
        @param watch: what watches the file's directory (see L{Watch}), or
            L{None} to only check every C{interval} seconds.
        @param settle: seconds from a sign of change to checking the file.
        @param lockTimeout: seconds a save waits for the lock before its
            sets fail.

        @raise statusfile.StatusFileError: if the file cannot be read, is a
            symbolic link or is not a regular file.
        """
        self.filename = filename
        self.interval = interval
        self._reactor: Any = orGlobalReactor(reactor)
        snapshot = statusfile.read(filename)
        self._logProblems(snapshot)
        self.users = snapshot.statuses
        self._identity = snapshot.identity
        self.lastRead: float = self._reactor.seconds()
        self.reloads = 0
        self._readError: Optional[str] = None
        self._pending: Dict[str, str] = {}
        self._waiting: List[Deferred[None]] = []
        self._busy = False
        self._saving = False
        self._locking: Optional[Deferred[None]] = None
        self._held: Optional[StatusFileLock] = None
        self.lockTimeout = lockTimeout
        self._lockWarning: Optional[str] = None
        self._idle: List[Deferred[None]] = []
        self._checker = LoopingCall(self.check)
        self._checker.clock = self._reactor
        self._readOnly = LogOnce(self.log)
        self._watch = watch
        self.settle = settle
        self._unwatch: Optional[Callable[[], None]] = None
        self._settling: Optional[IDelayedCall] = None
        self._recheck = False

    def startService(self) -> None:
        """
        Say which file is served and how its changes are seen, remove what
        interrupted saves left behind, and start watching and checking the
        file for changes.
        """
        super().startService()
        unavailable = self._startWatching()
        if self._unwatch is not None:
            self.log.info(
                "Serving {count} from the status file {path}, watching it for changes",
                count=Count(len(self.users), "user"),
                path=self.filename,
            )
        else:
            self.log.info(
                "Serving {count} from the status file {path}, checking it for changes "
                "every {interval} seconds{why}",
                count=Count(len(self.users), "user"),
                path=self.filename,
                interval=self.interval,
                why=f" (it cannot be watched: {unavailable})" if unavailable else "",
            )
        removed, failed = statusfile.removeStale(self.filename)
        for temporary in removed:
            self.log.warn(
                "Removed {temporary}, left behind by an interrupted save", temporary=temporary
            )
        for error in failed:
            self.log.error("{error}", error=error)
        self._checker.start(self.interval, now=False)

    def stopService(self) -> "Deferred[None]":
        """
        Stop checking the file, and fail the sets waiting for the lock; the
        returned L{Deferred} fires once any save under way has finished.
        """
        super().stopService()
        if self._locking is not None:
            self._locking.cancel()
        if self._checker.running:
            self._checker.stop()
        if self._unwatch is not None:
            unwatch, self._unwatch = self._unwatch, None
            unwatch()
        if self._settling is not None:
            settling, self._settling = self._settling, None
            settling.cancel()
        self._recheck = False
        return self._whenIdle()

    def _startWatching(self) -> Optional[str]:
        """
        Watch the file's directory, if this service was given a way to.

        @return: why it cannot be watched, if it was to be and cannot.
        """
        if self._watch is None:
            return None
        directory, name = os.path.split(os.path.abspath(self.filename))

        def changed(changedName: str) -> None:
            if changedName == name:
                self._changeSeen()

        try:
            self._unwatch = self._watch(self._reactor, directory, changed)
        except WatchUnavailable as e:
            return str(e)
        return None

    def _changeSeen(self) -> None:
        """
        The file may have changed: check it a moment from now, once for the
        whole burst of events that a save or an edit makes.
        """
        if self._settling is None and self.running:
            self._settling = self._reactor.callLater(self.settle, self._settled)

    def _settled(self) -> None:
        self._settling = None
        if self._busy:
            # What is under way may have read the file before this change:
            # check once it is done.
            self._recheck = True
        else:
            self.check()

    def _whenIdle(self) -> "Deferred[None]":
        if not self._busy and not self._saving:
            return succeed(None)
        d: Deferred[None] = Deferred()
        self._idle.append(d)
        return d

    def store(self, user: str, status: str) -> "Deferred[None]":
        self._pending[user] = status
        d: Deferred[None] = Deferred()
        self._waiting.append(d)
        self._next()
        return d

    def check(self) -> None:
        """
        Re-read the file if it changed since it was last read or written.
        """
        if self._busy:
            # A save is under way; it reads the file as it is anyway.
            return
        self._busy = True
        d = self._inThread(
            _readIfChanged, self.filename, self._identity, self._comparedWith()
        )
        d.addCallbacks(self._reloaded, self._readFailed)
        d.addBoth(self._done)

    def _inThread(
        self, f: Callable[..., _T], *args: object
    ) -> "Deferred[_T]":
        return deferToThreadPool(
            self._reactor, self._reactor.getThreadPool(), f, *args
        )

    def _next(self) -> None:
        """
        Start saving the pending sets, unless a save is under way: first
        the lock is taken (L{waitForLock}), then the file is saved in the
        thread pool.  The sets that arrive meanwhile are saved too.
        """
        if self._saving or not self._pending:
            return
        self._saving = True
        lock = StatusFileLock(self.filename)
        try:
            # What can never be saved is refused before the lock file is
            # made (the directory may well be read-only too).
            statusfile.checkSavable(self.filename)
        except Exception:
            waited: Deferred[None] = fail()
        else:
            waited = waitForLock(lock, self._reactor, self.lockTimeout)
        self._locking = waited
        waited.addBoth(self._lockWaited, lock)

    def _lockWaited(self, result: object, lock: StatusFileLock) -> None:
        self._locking = None
        warning = lock.warning
        if warning is not None and warning != self._lockWarning:
            # Not "warning": the legacy log takes an event with that key for
            # a Python warning.
            self.log.warn("{lockWarning}", lockWarning=warning)
        self._lockWarning = warning
        if isinstance(result, Failure):
            self._saving = False
            if result.check(CancelledError):
                result = Failure(
                    StatusNotSaved(f"cannot save {self.filename}: the service is stopping")
                )
            self._pending = {}
            waiting, self._waiting = self._waiting, []
            self._notSaved(result, waiting)
            self._continue()
            return
        self._held = lock
        if not self._busy:
            self._save()
        # Otherwise a check is reading the file: the save starts once it ends.

    def _save(self) -> None:
        """
        Save the pending sets, now that the lock is held.
        """
        lock, self._held = self._held, None
        assert lock is not None
        self._busy = True
        changes, self._pending = self._pending, {}
        waiting, self._waiting = self._waiting, []
        d = self._inThread(
            _saveLocked, self.filename, changes, self.users, self._identity, self._comparedWith()
        )

        def release(result: _T) -> _T:
            lock.release()
            self._saving = False
            return result

        def saved(result: "Tuple[statusfile.Snapshot, Optional[Difference]]") -> None:
            snapshot, difference = result
            self._readOnly.over()
            self._replace(snapshot.statuses)
            self._identity = snapshot.identity
            for w in waiting:
                w.callback(None)
            self.announce(difference)

        d.addBoth(release)
        d.addCallbacks(saved, self._notSaved, errbackArgs=(waiting,))
        d.addBoth(self._done)

    def _notSaved(self, reason: Failure, waiting: List["Deferred[None]"]) -> None:
        """
        Fail the sets C{waiting} for a save that failed for C{reason},
        logging why.
        """
        if reason.check(statusfile.StatusFileReadOnly):
            self._readOnly.error(
                "The status file {path} is read-only: sets are refused until "
                "it may be written",
                path=self.filename,
            )
        elif not reason.check(StatusNotSaved):
            self.log.failure("Unexpected error saving {path}", reason, path=self.filename)
            reason = Failure(StatusNotSaved(f"cannot save {self.filename}"))
        else:
            self.log.error(
                "Status not saved: {error}", error=reason.getErrorMessage()
            )
        for w in waiting:
            w.errback(reason)

    def _done(self, result: object) -> None:
        self._busy = False
        self._continue()

    def _continue(self) -> None:
        """
        Start what waited for the job, or the save, that just ended: a save
        whose lock is held, the pending sets, or a check; once nothing is
        left, tell those waiting for that.
        """
        if self._busy:
            return
        if self._held is not None:
            self._save()
        elif self._pending and not self._saving:
            self._next()
        elif self._recheck:
            self._recheck = False
            self.check()
        if not self._busy and not self._saving:
            idle, self._idle = self._idle, []
            for d in idle:
                d.callback(None)

    def _reloaded(
        self, result: "Tuple[Optional[statusfile.Snapshot], Optional[Difference]]"
    ) -> None:
        snapshot, difference = result
        self.lastRead = self._reactor.seconds()
        if self._readError is not None:
            self.log.info("Status file {path} is readable again", path=self.filename)
            self._readError = None
        if snapshot is None:
            return
        self._identity = snapshot.identity
        if snapshot.empty and self.users:
            self.log.error(
                "Status file {path} is empty; still serving the {count} read "
                "before (to remove everyone, leave a comment line in the file)",
                path=self.filename,
                count=Count(len(self.users), "user"),
            )
            return
        self._logProblems(snapshot)
        self._replace(snapshot.statuses)
        self.reloads += 1
        self._identity = snapshot.identity
        count = Count(len(snapshot.statuses), "user")
        self.log.info("Reloaded {path}: {count}", path=self.filename, count=count)
        self.announce(difference)

    def changeTime(self) -> float:
        return float(self._reactor.seconds())

    def _comparedWith(self) -> Optional[Dict[str, str]]:
        """
        The table a read or a save in the thread pool compares what it
        finds with, to tell the listeners what changed; L{None} if no one
        listens.  The table is never changed in place, only replaced, and
        one job at a time runs, so the thread may read it.
        """
        return self.users if self.listening else None

    def _replace(self, statuses: Dict[str, str]) -> None:
        """
        Serve C{statuses} from now on.  A large old table is freed in the
        thread pool, a piece at a time: freeing a million entries at once
        would hold up the reactor for tens of milliseconds.
        """
        old, self.users = self.users, statuses
        if len(old) > self.disposeInThreadAbove:
            self._inThread(dispose, old).addErrback(
                lambda reason: self.log.failure("Freeing the old statuses failed", reason)
            )

    def _readFailed(self, reason: Failure) -> None:
        error = reason.getErrorMessage()
        if error != self._readError:
            self._readError = error
            self.log.error(
                "{error}; still serving the {count} read before",
                error=error,
                count=Count(len(self.users), "user"),
            )

    def _logProblems(self, snapshot: statusfile.Snapshot) -> None:
        for problem in snapshot.problems:
            self.log.warn(
                "{path}:{lineno}: {reason}; line skipped",
                path=self.filename,
                lineno=problem.lineno,
                reason=problem.reason,
            )
