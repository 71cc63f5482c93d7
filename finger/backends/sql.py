# -*- test-case-name: tests.backends.test_sql -*-
"""
The database back-end: statuses kept in SQLite (one machine) or PostgreSQL
(several machines sharing one database), served from memory.

    - Lookups are answered from an in-memory copy of the table, with
      L{finger.backends.memory.StatusTable}, as the file back-end answers
      them: they cost the same, and go on while the database is away.
    - Changes are announced, and read from the table.  A PostgreSQL node
      listens for C{NOTIFY finger_status} on a connection the reactor
      watches; since any role that can connect may send one, with any
      payload, a notification is only a hint: the node reads the rows
      changed since the newest it has (at most L{BATCH} a read), at most
      once every C{hintInterval} seconds however many hints arrive
      (L{finger.backends.sqlhints}).  An
      SQLite node polls C{PRAGMA data_version} (one cheap query) every
      C{pollInterval} seconds and reads the table again when another
      process changed it.  After any reconnection a node reads the whole
      table again, so no change is missed.
    - Listeners (L{finger.interfaces.IStatusChanges}) are told of each
      change: a committed set, and the rows a read found changed (their
      new statuses against those served).  A whole read of the table
      after the first is compared with the table served, if it is small
      enough (L{COMPARED_IN_REACTOR}); a larger one is told as "everything
      may have changed".
    - Rows are checked before they are served, as status file lines are: a
      row whose name breaks the name rule or whose status is not text a
      setter could have stored is skipped, and logged once.
    - Sets are durable and honest: L{SQLFingerService.setUser} fires only
      once its transaction committed.  Sets that arrive while a transaction
      is under way are committed together by the next one (group commit).
    - Until the table is first read the node cannot tell who is known: if
      the database cannot be reached, lookups fail with
      L{StatusesNotAvailable} (never as unknown users) and L{IReadiness}
      says why, until the first read that succeeds.
    - While the database is unreachable, sets fail at once with
      L{StatusNotSaved}; a set whose transaction gets no answer within
      C{timeout} seconds fails with L{TimeoutError} (it may or may not have
      been saved).  The outage is logged once, the node tries again with
      back-off, and logs once that the database is back.

Blocking database work (L{finger.backends.sqlstore}) runs in the reactor's
thread pool, one job at a time on one connection: one writer is all group
commit needs.  L{twisted.enterprise.adbapi.ConnectionPool} is not used
because its rollback path logs a traceback for every transaction that
fails on a broken connection, where an outage should be logged once.
"""

from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar, Union

from twisted.application.internet import backoffPolicy
from twisted.internet.defer import Deferred, DeferredLock, TimeoutError, fail
from twisted.internet.interfaces import IDelayedCall
from twisted.internet.task import LoopingCall
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from finger.backends.memory import StatusTable
from finger.backends.sqlhints import HINT_INTERVAL, Hints
from finger.backends.sqlrows import BadRowLog, Changes, Rows
from finger.backends.sqlstore import BATCH, Database, Notifications, Session, openDatabase
from finger.changes import Difference, changedIn, compare
from finger.interfaces import IFingerService, IFingerSetterService, IReadiness
from finger.interfaces import StatusesNotAvailable, StatusNotSaved
from finger.reactor import orGlobalReactor
from finger.messages import DATABASE_UNREACHABLE, NOT_AVAILABLE_YET
from finger.text import Count, counted

_T = TypeVar("_T")

COMPARED_IN_REACTOR = 20000
"""
The most rows a whole read of the table (after an outage, or SQLite's poll)
is compared with the table served, to tell listeners what changed: about
10 ms in the reactor's thread.  Beyond it, listeners are told that
everything may have changed.
"""


@implementer(IFingerService, IFingerSetterService, IReadiness)
class SQLFingerService(StatusTable):
    """
    Statuses kept in a database (see L{finger.backends.sqlstore} for the
    URLs, L{finger.backends.sqlschema} for the table), served from memory.

    @ivar database: the L{Database}.
    @ivar timeout: seconds a transaction may take before the sets waiting
        for it fail.
    @ivar pollInterval: seconds between checks for other processes' changes,
        for a database without notifications (SQLite).
    """

    log = Logger()

    def __init__(
        self,
        database: Union[str, Database],
        reactor: Optional[Any] = None,
        timeout: float = 5.0,
        pollInterval: float = 1.0,
        retryDelay: Optional[Callable[[int], float]] = None,
        hintInterval: float = HINT_INTERVAL,
    ) -> None:
        """
        @param database: a L{Database}, or a URL for
            L{finger.backends.sqlstore.openDatabase}.
        @param reactor: an L{IReactorTime}, L{IReactorThreads} and (for
            PostgreSQL) L{IReactorFDSet} provider; the global reactor if
            L{None}.
        @param retryDelay: seconds to wait before the next attempt to reach
            the database, given how many attempts failed in a row; by
            default a jittered back-off from a quarter of a second to five
            seconds.
        @param hintInterval: see L{hintInterval}.

        @raise finger.backends.sqlstore.DatabaseError: for a URL that names
            no database this back-end can use.
        """
        if isinstance(database, str):
            database = openDatabase(database, timeout)
        self.database = database
        self.timeout = timeout
        self.pollInterval = pollInterval
        self.retryDelay = retryDelay or backoffPolicy(initialDelay=0.25, maxDelay=5.0)
        self._reactor: Any = orGlobalReactor(reactor)
        self._session = Session(database)
        self._lock = DeferredLock()
        self.users: Dict[str, str] = {}
        self._loaded = False
        self._ready: List[Deferred[None]] = []
        self._pending: List[Tuple[str, str, Deferred[None]]] = []
        self._writing = False
        self._outage: Optional[str] = None
        self._attempts = 0
        self._connecting = False
        self._retry: Optional[IDelayedCall] = None
        # The newest version read; whether a read is under way.
        self._seen = 0
        self._reading = False
        self._hints = Hints(
            self._reactor, hintInterval, self._mayRead, self._readChanges, self._lost
        )
        self._badRows = BadRowLog(self.database.display)
        self._poller = LoopingCall(self._poll)
        self._poller.clock = self._reactor

    @property
    def hintInterval(self) -> float:
        """
        The fewest seconds between two reads of the changes that
        notifications hint at (see L{HINT_INTERVAL}).
        """
        return self._hints.interval

    @hintInterval.setter
    def hintInterval(self, seconds: float) -> None:
        self._hints.interval = seconds

    # -- IFingerService, IFingerSetterService --------------------------------

    def getUser(self, user: str) -> "Deferred[str]":
        return self._onceLoaded(super().getUser, user)

    def statusNow(self, user: str) -> Optional[str]:
        # Until the first read, getUser waits for it (or fails).
        return super().statusNow(user) if self._loaded else None

    def getUsers(self) -> "Deferred[List[str]]":
        return self._onceLoaded(super().getUsers)

    def store(self, user: str, status: str) -> "Deferred[None]":
        if self._outage is not None:
            return fail(StatusNotSaved(DATABASE_UNREACHABLE))
        d: Deferred[None] = Deferred()
        self._pending.append((user, status, d))
        self._flush()
        return d

    # -- IReadiness -------------------------------------------------------------

    def notReady(self) -> Optional[str]:
        """
        Why this node is not ready: it has not read the table yet, or the
        database is away.  (While it is away the node still answers
        lookups from memory, but cannot save a status: a load balancer
        should send clients to a node that can.)
        """
        if self._outage is not None:
            return f"the status database {self.database.display} is not reachable: {self._outage}"
        if self._loaded:
            return None
        return f"the status database {self.database.display} has not been read yet"

    # -- the service ----------------------------------------------------------

    def startService(self) -> None:
        super().startService()
        self._connect()

    def stopService(self) -> "Deferred[None]":
        """
        Stop listening and polling; the returned L{Deferred} fires once the
        transaction under way, if any, has finished and the connection is
        closed.
        """
        super().stopService()
        if self._retry is not None and self._retry.active():
            self._retry.cancel()
        self._retry = None
        self._hints.cancel()
        if self._poller.running:
            self._poller.stop()
        self._hints.close()
        d = self._locked(self._session.close)
        d.addErrback(
            lambda reason: self.log.failure(
                "Closing {database} failed", reason, database=self.database.display
            )
        )
        return d

    # -- connecting and reading ----------------------------------------------

    def _connect(self) -> None:
        """
        Listen (if the database can announce changes), then read the whole
        table; on failure, try again later.
        """
        self._retry = None
        self._connecting = True
        # The whole table is read after listening: what the hints so far
        # announced is in it.
        self._hints.pending = False
        d = self._inThread(self.database.listen)
        d.addCallback(self._startListening)
        d.addCallback(lambda _: self._locked(self._session.load))
        d.addCallbacks(self._connected, self._connectFailed)

    def _startListening(self, notifications: Optional[Notifications]) -> None:
        if notifications is None:
            return
        if not self.running:
            notifications.close()
            raise StatusNotSaved("stopped")
        self._hints.listen(notifications)

    def _connected(self, rows: Rows) -> None:
        self._connecting = False
        if self.database.notifies and not self._hints.listening:
            # The listening connection was lost while the table was read.
            self._lost(Failure(ConnectionError("the listening connection was lost")))
            return
        self._attempts = 0
        self._replace(rows)
        first = not self._loaded
        self._loaded = True
        if self._outage is not None:
            self._outage = None
            self.log.info(
                "Status database {database} is reachable again: {count} read",
                database=self.database.display,
                count=Count(len(self.users), "user"),
            )
        elif first:
            self.log.info(
                "Read {count} from {database}",
                database=self.database.display,
                count=Count(len(self.users), "user"),
            )
        if not self.database.notifies and self.running and not self._poller.running:
            self._poller.start(self.pollInterval, now=False)
        # Last: those waiting may set at once.
        ready, self._ready = self._ready, []
        for d in ready:
            if not d.called:
                d.callback(None)
        # Hints that came while the table was read may announce changes it
        # does not hold.
        self._hints.schedule()

    def _connectFailed(self, reason: Failure) -> None:
        self._connecting = False
        self._hints.close()
        if self.running:
            self._lost(reason)

    def _replace(self, rows: Rows) -> None:
        """
        Serve what a read of the whole table found from now on.
        """
        # Only a read after the first can tell of changes; a table too large
        # to compare in the reactor's thread is told as "everything may have
        # changed" (an incomplete batch).
        difference: Optional[Difference] = []
        if self._loaded and self.listening:
            if max(len(self.users), len(rows.statuses)) <= COMPARED_IN_REACTOR:
                difference = compare(self.users, rows.statuses)
            else:
                difference = None
        self.users = rows.statuses
        self.announce(difference)
        self._seen = rows.version
        self._badRows.read(rows.bad, whole=True)

    def _apply(self, changes: Changes) -> "Optional[Deferred[None]]":
        """
        Serve the changed rows a read found, or read the whole table if the
        changes are more than the rows tell.
        """
        if changes.low is None:
            # The table is empty.
            everything = bool(self.users)
        else:
            # No row is as old as the newest one read before: every row was
            # changed or removed since (an import that replaced them all).
            # Or no row is as new: the table went back (a restored backup).
            assert changes.high is not None
            everything = changes.low > self._seen or changes.high < self._seen
        if everything:
            return self._locked(self._session.load).addCallback(self._replace)
        difference = changedIn(self.users, changes.rows.statuses.items())
        self.users.update(changes.rows.statuses)
        self.changed()
        self._seen = changes.rows.version
        self.announce(difference)
        self._badRows.read(changes.rows.bad)
        if changes.more:
            # Rows only a writer can add: read on at once.
            self._hints.readOnAtOnce()
        return None

    def _mayRead(self) -> bool:
        """
        May the changes a hint announced be read now?  Not while another
        read, or a reconnection, is under way: after it they will be.
        """
        return (
            not self._reading
            and not self._connecting
            and self._outage is None
            and self._loaded
            and bool(self.running)
        )

    def _readChanges(self) -> None:
        self._read(lambda: self._locked(self._session.changes, self._seen, BATCH).addCallback(
            self._apply
        ))

    def _reload(self) -> None:
        """
        Read the whole table again.
        """
        self._read(lambda: self._locked(self._session.load).addCallback(self._replace))

    def _read(self, read: Callable[[], "Deferred[Any]"]) -> None:
        """
        Run C{read}, one at a time; an error is an outage.
        """
        self._reading = True

        def done(result: object) -> None:
            self._reading = False
            self._hints.schedule()

        d = read()
        d.addErrback(self._failed)
        d.addBoth(done)

    def _poll(self) -> None:
        if self._outage is not None or self._connecting or self._reading or self._lock.locked:
            return

        def changed(changed: bool) -> None:
            if changed and not self._reading:
                self._reload()

        self._locked(self._session.changed).addCallbacks(changed, self._failed)

    # -- outages ---------------------------------------------------------------

    def _failed(self, reason: Failure) -> None:
        """
        A job on the database failed: take it as an outage, which the next
        successful reconnection ends.
        """
        self._hints.close()
        self._lost(reason)

    def _lost(self, reason: Failure) -> None:
        if self._outage is None:
            # On one line: libpq's messages run over several.
            self._outage = " ".join((reason.getErrorMessage() or reason.type.__name__).split())
            self.log.error(
                "Status database {database} is unreachable ({error}); {meanwhile}",
                database=self.database.display,
                error=self._outage,
                meanwhile=(
                    f"serving the {counted(len(self.users), 'user')} in memory, and sets fail "
                    "until it is back"
                    if self._loaded
                    else "statuses are not available yet, and sets fail, until it is read"
                ),
            )
        if not self._loaded:
            waiting, self._ready = self._ready, []
            for w in waiting:
                if not w.called:
                    w.errback(StatusesNotAvailable(NOT_AVAILABLE_YET))
        pending, self._pending = self._pending, []
        for _, _, d in pending:
            d.errback(StatusNotSaved(DATABASE_UNREACHABLE))
        # The whole table is read once the database is back.
        self._hints.cancel()
        if self.running and not self._connecting and self._retry is None:
            delay = self.retryDelay(self._attempts)
            self._attempts += 1
            self._retry = self._reactor.callLater(delay, self._connect)

    # -- writing ---------------------------------------------------------------

    def _flush(self) -> None:
        """
        Commit every set waiting, in one transaction, unless one is under
        way: then the next one takes them.
        """
        if self._writing or not self._pending:
            return
        self._writing = True
        batch, self._pending = self._pending, []
        changes = {user: status for user, status, _ in batch}
        waiting = [d for _, _, d in batch]

        def expired() -> None:
            for w in waiting:
                if not w.called:
                    w.errback(TimeoutError(f"no answer from {self.database.display}"))
            self._failed(Failure(TimeoutError(f"no answer within {self.timeout} seconds")))

        timer = self._reactor.callLater(self.timeout, expired)

        def saved(result: object) -> None:
            # Committed: whether or not the clients are still waiting, the
            # table holds it now.
            difference = changedIn(self.users, changes.items())
            self.users.update(changes)
            self.changed()
            for w in waiting:
                if not w.called:
                    w.callback(None)
            self.announce(difference)

        def failed(reason: Failure) -> None:
            for w in waiting:
                if not w.called:
                    w.errback(StatusNotSaved(DATABASE_UNREACHABLE))
            if timer.active():
                self._failed(reason)

        def done(result: object) -> None:
            if timer.active():
                timer.cancel()
            self._writing = False
            self._flush()

        d = self._locked(self._session.save, changes)
        d.addCallbacks(saved, failed)
        d.addBoth(done)

    # -- threads ---------------------------------------------------------------

    def changeTime(self) -> float:
        return float(self._reactor.seconds())

    def _inThread(self, f: Callable[..., _T], *args: object) -> "Deferred[_T]":
        return deferToThreadPool(self._reactor, self._reactor.getThreadPool(), f, *args)

    def _locked(self, f: Callable[..., _T], *args: object) -> "Deferred[_T]":
        """
        Run C{f} in a thread once the jobs before it on the one connection
        have finished.
        """
        return self._lock.run(self._inThread, f, *args)

    def _onceLoaded(self, answer: Callable[..., "Deferred[_T]"], *args: str) -> "Deferred[_T]":
        """
        C{answer(*args)} from the table, once the table was first read; if
        the database could not be reached before that, a failure with
        L{StatusesNotAvailable}: the node cannot tell who is known.
        """
        if self._loaded:
            return answer(*args)
        if self._outage is not None:
            return fail(StatusesNotAvailable(NOT_AVAILABLE_YET))
        d: Deferred[None] = Deferred()
        self._ready.append(d)
        return d.addCallback(lambda _: answer(*args))
