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
      once every C{hintInterval} seconds however many hints arrive.  An
      SQLite node polls C{PRAGMA data_version} (one cheap query) every
      C{pollInterval} seconds and reads the table again when another
      process changed it.  After any reconnection a node reads the whole
      table again, so no change is missed.
    - Rows are checked before they are served, as status file lines are: a
      row whose name breaks the name rule or whose status is not text a
      setter could have stored is skipped, and logged once.
    - Sets are durable and honest: L{SQLFingerService.setUser} fires only
      once its transaction committed.  Sets that arrive while a transaction
      is under way are committed together by the next one (group commit).
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

from typing import Any, Callable, Dict, List, Optional, Set, Tuple, TypeVar, Union

from twisted.application.internet import backoffPolicy
from twisted.internet.defer import Deferred, DeferredLock, TimeoutError, fail
from twisted.internet.interfaces import IDelayedCall, IReadDescriptor
from twisted.internet.task import LoopingCall
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from finger.backends.memory import StatusTable
from finger.backends.sqlstore import (
    BATCH,
    BadRow,
    Changes,
    Database,
    Notifications,
    Rows,
    Session,
    openDatabase,
)
from finger.interfaces import IFingerService, IFingerSetterService, StatusNotSaved
from finger.reactor import orGlobalReactor
from finger.messages import DATABASE_UNREACHABLE

_T = TypeVar("_T")

HINT_INTERVAL = 0.05
"""
The fewest seconds between two reads of the changes a node makes when
notifications hint at them.  A hint that finds no read for that long is
read at once, so a set reaches the other nodes within a few milliseconds;
hints that come faster share a read, so a storm of notifications (anyone
may send them) costs a node and the database at most 20 small reads a
second, each an index lookup.  Half of the 100 ms that a set may take to
reach every node.
"""

LOGGED_BAD_ROWS = 10
"""
The most bad rows one read logs one by one; the rest are counted in one
line.
"""


@implementer(IReadDescriptor)
class _Listener:
    """
    Hands what a L{Notifications} connection receives to the service, as the
    reactor finds it readable.
    """

    def __init__(self, notifications: Notifications, service: "SQLFingerService") -> None:
        self.notifications = notifications
        self.service = service
        self.closed = False
        # Whether the reactor watches it.
        self.watched = False
        # The reactor finds a reader by its descriptor, even once the
        # connection is lost: ask once.
        self._fileno = notifications.fileno()

    def fileno(self) -> int:
        return -1 if self.closed else self._fileno

    def logPrefix(self) -> str:
        return "finger-sql"

    def doRead(self) -> None:
        try:
            received = self.notifications.receive()
        except Exception:
            self.service._listenerLost(self, Failure())
            return
        if received:
            self.service._hinted()

    def connectionLost(self, reason: Failure) -> None:
        self.service._listenerLost(self, reason)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.notifications.close()


@implementer(IFingerService, IFingerSetterService)
class SQLFingerService(StatusTable):
    """
    Statuses kept in a database (see L{finger.backends.sqlstore} for the
    URLs and the schema), served from memory.

    @ivar database: the L{Database}.
    @ivar timeout: seconds a transaction may take before the sets waiting
        for it fail.
    @ivar pollInterval: seconds between checks for other processes' changes,
        for a database without notifications (SQLite).
    @ivar hintInterval: the fewest seconds between two reads of the changes
        that notifications hint at (see L{HINT_INTERVAL}).
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

        @raise finger.backends.sqlstore.DatabaseError: for a URL that names
            no database this back-end can use.
        """
        if isinstance(database, str):
            database = openDatabase(database, timeout)
        self.database = database
        self.timeout = timeout
        self.pollInterval = pollInterval
        self.hintInterval = hintInterval
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
        self._listener: Optional[_Listener] = None
        # The newest version read; whether a hint came that no read started
        # since covers; the read under way or the one to come; when the last
        # read of changes began.
        self._seen = 0
        self._hint = False
        self._reading = False
        self._nextRead: Optional[IDelayedCall] = None
        self._lastRead = float("-inf")
        # Bad rows already logged (L{BadRow.key}).
        self._badRows: Set[int] = set()
        self._poller = LoopingCall(self._poll)
        self._poller.clock = self._reactor

    # -- IFingerService, IFingerSetterService --------------------------------

    def getUser(self, user: str) -> "Deferred[str]":
        return self._onceLoaded(super().getUser, user)

    def getUsers(self) -> "Deferred[List[str]]":
        return self._onceLoaded(super().getUsers)

    def store(self, user: str, status: str) -> "Deferred[None]":
        if self._outage is not None:
            return fail(StatusNotSaved(DATABASE_UNREACHABLE))
        d: Deferred[None] = Deferred()
        self._pending.append((user, status, d))
        self._flush()
        return d

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
        if self._nextRead is not None:
            self._nextRead.cancel()
            self._nextRead = None
        if self._poller.running:
            self._poller.stop()
        self._closeListener()
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
        self._hint = False
        d = self._inThread(self.database.listen)
        d.addCallback(self._startListening)
        d.addCallback(lambda _: self._locked(self._session.load))
        d.addCallbacks(self._connected, self._connectFailed)

    def _startListening(self, notifications: Optional[Notifications]) -> None:
        if notifications is None:
            return
        listener = _Listener(notifications, self)
        if not self.running:
            listener.close()
            raise StatusNotSaved("stopped")
        self._listener = listener
        self._watch()

    def _connected(self, rows: Rows) -> None:
        self._connecting = False
        if self.database.notifies and self._listener is None:
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
                "Status database {database} is reachable again: {count} users read",
                database=self.database.display,
                count=len(self.users),
            )
        elif first:
            self.log.info(
                "Read {count} users from {database}",
                database=self.database.display,
                count=len(self.users),
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
        self._scheduleRead()

    def _connectFailed(self, reason: Failure) -> None:
        self._connecting = False
        self._closeListener()
        if self.running:
            self._lost(reason)

    def _replace(self, rows: Rows) -> None:
        """
        Serve what a read of the whole table found from now on.
        """
        self.users = rows.statuses
        self._seen = rows.version
        # Rows still bad were logged when first found; forget the others.
        logged = self._badRows
        self._badRows = set()
        self._logBadRows(rows.bad, logged)

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
        self.users.update(changes.rows.statuses)
        self.changed()
        self._seen = changes.rows.version
        self._logBadRows(changes.rows.bad, self._badRows)
        if changes.more:
            # Rows only a writer can add: read on at once.
            self._hint = True
            self._lastRead = float("-inf")
        return None

    def _logBadRows(self, bad: List[BadRow], logged: Set[int]) -> None:
        """
        Log the bad rows of a read not logged before (their keys are in
        C{logged}), at most L{LOGGED_BAD_ROWS} of them one by one, and
        remember them all as logged.
        """
        new = 0
        for row in bad:
            known = row.key in logged
            self._badRows.add(row.key)
            if known:
                continue
            new += 1
            if new <= LOGGED_BAD_ROWS:
                self.log.warn(
                    "Skipped a row of {database}: name {name}: {reason}",
                    database=self.database.display,
                    name=row.name,
                    reason=row.reason,
                )
        if new > LOGGED_BAD_ROWS:
            self.log.warn(
                "Skipped {count} more bad rows of {database}",
                database=self.database.display,
                count=new - LOGGED_BAD_ROWS,
            )

    def _hinted(self) -> None:
        """
        A notification came: something may have changed.  What it says is
        not believed; the changes are read from the table.
        """
        self._hint = True
        self._scheduleRead()
        if self._hint:
            # No read began for it: until one does, more hints would change
            # nothing.  Leave them unread rather than wake for each one of a
            # storm.
            self._stopWatching()

    def _scheduleRead(self) -> None:
        """
        Read the changes a hint announced, at once if the last such read
        began L{hintInterval} seconds ago or more, otherwise when it will
        have; one read covers every hint before it begins.
        """
        if (
            not self._hint
            or self._reading
            or self._nextRead is not None
            or self._connecting
            or self._outage is not None
            or not self._loaded
            or not self.running
        ):
            return
        delay = self._lastRead + self.hintInterval - self._reactor.seconds()
        if delay <= 0:
            self._readChanges()
        else:
            self._nextRead = self._reactor.callLater(delay, self._readChanges)

    def _readChanges(self) -> None:
        self._nextRead = None
        self._hint = False
        # Hints from now on may announce changes this read does not see.
        self._watch()
        self._lastRead = self._reactor.seconds()
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
            self._scheduleRead()

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

    def _listenerLost(self, listener: _Listener, reason: Failure) -> None:
        if listener is not self._listener:
            return
        self._closeListener()
        self._lost(reason)

    def _closeListener(self) -> None:
        self._stopWatching()
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()

    def _watch(self) -> None:
        """
        Have the reactor read the listening connection.
        """
        if self._listener is not None and not self._listener.watched:
            self._listener.watched = True
            self._reactor.addReader(self._listener)

    def _stopWatching(self) -> None:
        """
        Leave the listening connection unread (what arrives waits in its
        socket) until L{_watch}.
        """
        if self._listener is not None and self._listener.watched:
            self._listener.watched = False
            self._reactor.removeReader(self._listener)

    # -- outages ---------------------------------------------------------------

    def _failed(self, reason: Failure) -> None:
        """
        A job on the database failed: take it as an outage, which the next
        successful reconnection ends.
        """
        self._closeListener()
        self._lost(reason)

    def _lost(self, reason: Failure) -> None:
        if self._outage is None:
            self._outage = reason.getErrorMessage() or reason.type.__name__
            self.log.error(
                "Status database {database} is unreachable ({error}); serving the "
                "{count} users in memory, and sets fail until it is back",
                database=self.database.display,
                error=self._outage,
                count=len(self.users),
            )
        pending, self._pending = self._pending, []
        for _, _, d in pending:
            d.errback(StatusNotSaved(DATABASE_UNREACHABLE))
        if self._nextRead is not None:
            # The whole table is read once the database is back.
            self._nextRead.cancel()
            self._nextRead = None
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
            self.users.update(changes)
            self.changed()
            for w in waiting:
                if not w.called:
                    w.callback(None)

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
        C{answer(*args)} from the table, once the table was first read.
        """
        if self._loaded:
            return answer(*args)
        d: Deferred[None] = Deferred()
        self._ready.append(d)
        return d.addCallback(lambda _: answer(*args))
