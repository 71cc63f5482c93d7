# -*- test-case-name: tests.backends.test_file -*-
"""
The status-file back-end: statuses kept in a file that people may also edit
by hand (the format is in L{finger.backends.statusfile}).
"""

from typing import Any, Callable, Dict, List, Optional, TypeVar

from twisted.application import service
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.task import LoopingCall
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from finger.backends import statusfile
from finger.interfaces import IFingerService, IFingerSetterService, StatusNotSaved
from finger.backends.memory import answerFrom
from finger.lookup import orGlobalReactor
from finger.names import checkStatus, checkUserName

_T = TypeVar("_T")


@implementer(IFingerService, IFingerSetterService)
class FileFingerService(service.Service):
    """
    Statuses kept in a centrally managed status file (see
    L{finger.backends.statusfile}).

    The file is read when this object is made, so that a missing file is an
    error at start-up, and checked every C{interval} seconds while the service
    runs; it is re-read only when it changed.  If a later read fails, or finds
    the file empty (truncated, or caught half-copied), the last good statuses
    stay in use.

    The file must be a regular file, not a symbolic link (see
    L{finger.backends.statusfile}): a link is an error at start-up, and a
    link put in its place later is logged once while the last good statuses
    stay in use.  A read-only file refuses sets with
    L{statusfile.StatusFileReadOnly}, logged once.  Starting the service
    removes temporary files an interrupted save left behind.

    L{setUser} rewrites the file atomically and durably before it reports
    success.  File work runs in the reactor's thread pool, one job at a time,
    so a large file never stalls the reactor; sets that arrive while a write
    is under way are saved together by the next write.

    @ivar filename: the path of the status file.
    """

    log = Logger()

    #: Tables of more users than this are freed in the thread pool when they
    #: are replaced.
    disposeInThreadAbove = 10000

    def __init__(
        self, filename: str, interval: float = 30.0, reactor: Optional[Any] = None
    ) -> None:
        """
        @param filename: the path of the status file.
        @param interval: seconds between checks for a changed file.
        @param reactor: an L{IReactorTime} and L{IReactorThreads} provider;
            the global reactor if L{None}.

        @raise statusfile.StatusFileError: if the file cannot be read, is a
            symbolic link or is not a regular file.
        """
        self.filename = filename
        self.interval = interval
        self._reactor: Any = orGlobalReactor(reactor)
        snapshot = statusfile.read(filename)
        self._logProblems(snapshot)
        self._statuses = snapshot.statuses
        self._identity = snapshot.identity
        self._readError: Optional[str] = None
        self._pending: Dict[str, str] = {}
        self._waiting: List[Deferred[None]] = []
        self._busy = False
        self._idle: List[Deferred[None]] = []
        self._checker = LoopingCall(self.check)
        self._checker.clock = self._reactor
        self._readOnlyLogged = False

    def startService(self) -> None:
        """
        Say which file is served, remove what interrupted saves left behind,
        and start checking the file for changes.
        """
        super().startService()
        self.log.info(
            "Serving {count} users from the status file {path}",
            count=len(self._statuses),
            path=self.filename,
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
        Stop checking the file; the returned L{Deferred} fires once any save
        under way has finished.
        """
        super().stopService()
        if self._checker.running:
            self._checker.stop()
        return self._whenIdle()

    def _whenIdle(self) -> "Deferred[None]":
        if not self._busy:
            return succeed(None)
        d: Deferred[None] = Deferred()
        self._idle.append(d)
        return d

    def getUser(self, user: str) -> "Deferred[str]":
        return answerFrom(self._statuses, user)

    def getUsers(self) -> "Deferred[List[str]]":
        return succeed(list(self._statuses))

    def setUser(self, user: str, status: str) -> "Deferred[None]":
        try:
            self._pending[checkUserName(user)] = checkStatus(status)
        except ValueError:
            return fail()
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
        d = self._inThread(statusfile.readIfChanged, self.filename, self._identity)
        d.addCallbacks(self._reloaded, self._readFailed)
        d.addBoth(self._done)

    def _inThread(
        self, f: Callable[..., _T], *args: object
    ) -> "Deferred[_T]":
        return deferToThreadPool(
            self._reactor, self._reactor.getThreadPool(), f, *args
        )

    def _next(self) -> None:
        if self._busy or not self._pending:
            return
        self._busy = True
        changes, self._pending = self._pending, {}
        waiting, self._waiting = self._waiting, []
        d = self._inThread(
            statusfile.save, self.filename, changes, self._statuses, self._identity
        )

        def saved(snapshot: statusfile.Snapshot) -> None:
            self._readOnlyLogged = False
            self._replace(snapshot.statuses)
            self._identity = snapshot.identity
            for w in waiting:
                w.callback(None)

        def failed(reason: Failure) -> None:
            if reason.check(statusfile.StatusFileReadOnly):
                if not self._readOnlyLogged:
                    self._readOnlyLogged = True
                    self.log.error(
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

        d.addCallbacks(saved, failed)
        d.addBoth(self._done)

    def _done(self, result: object) -> None:
        self._busy = False
        if self._pending:
            self._next()
        else:
            idle, self._idle = self._idle, []
            for d in idle:
                d.callback(None)

    def _reloaded(self, snapshot: Optional[statusfile.Snapshot]) -> None:
        if self._readError is not None:
            self.log.info("Status file {path} is readable again", path=self.filename)
            self._readError = None
        if snapshot is None:
            return
        self._identity = snapshot.identity
        if snapshot.empty and self._statuses:
            self.log.error(
                "Status file {path} is empty; still serving the {count} users read "
                "before (to remove everyone, leave a comment line in the file)",
                path=self.filename,
                count=len(self._statuses),
            )
            return
        self._logProblems(snapshot)
        self._replace(snapshot.statuses)
        self._identity = snapshot.identity
        self.log.info(
            "Reloaded {path}: {count} users", path=self.filename, count=len(snapshot.statuses)
        )

    def _replace(self, statuses: Dict[str, str]) -> None:
        """
        Serve C{statuses} from now on.  A large old table is freed in the
        thread pool, a piece at a time: freeing a million entries at once
        would hold up the reactor for tens of milliseconds.
        """
        old, self._statuses = self._statuses, statuses
        if len(old) > self.disposeInThreadAbove:
            self._inThread(statusfile.dispose, old).addErrback(
                lambda reason: self.log.failure("Freeing the old statuses failed", reason)
            )

    def _readFailed(self, reason: Failure) -> None:
        error = reason.getErrorMessage()
        if error != self._readError:
            self._readError = error
            self.log.error(
                "{error}; still serving the {count} users read before",
                error=error,
                count=len(self._statuses),
            )

    def _logProblems(self, snapshot: statusfile.Snapshot) -> None:
        for problem in snapshot.problems:
            self.log.warn(
                "{path}:{lineno}: {reason}; line skipped",
                path=self.filename,
                lineno=problem.lineno,
                reason=problem.reason,
            )
