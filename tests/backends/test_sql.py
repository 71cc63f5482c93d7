"""
Tests for L{finger.backends.sql}, L{finger.backends.sqlstore},
L{finger.backends.sqlschema}, L{finger.backends.sqlhints} and
L{finger.app.dbcopy}: the store logic with a fake database and a fake
reactor, SQLite for real, and PostgreSQL for real when it is installed.
"""

import json
import os
import signal
import sqlite3
import subprocess
import sys
from typing import Any, Dict, List, Mapping, Optional, Tuple

from twisted.internet import reactor
from twisted.internet.defer import Deferred, TimeoutError, gatherResults
from twisted.internet.threads import deferToThread
from twisted.logger import LogLevel, capturedLogs, formatEvent
from twisted.python.failure import Failure
from twisted.trial.unittest import SkipTest, SynchronousTestCase, TestCase
from zope.interface.verify import verifyObject

from finger.app import dbcopy
from finger.backends import sqlschema
from finger.backends.sql import SQLFingerService
from finger.backends.sqlrows import LOGGED_BAD_ROWS
from finger.backends.sqlhints import HINT_INTERVAL
from finger.backends.sqlrows import Changes, Rows, checkRows
from finger.backends.sqlstore import (
    BATCH,
    Database,
    DatabaseError,
    PostgreSQLDatabase,
    SQLiteDatabase,
    openDatabase,
)
from finger.interfaces import (
    IFingerService,
    IFingerSetterService,
    IReadiness,
    IStatusesAtHand,
    StatusesNotAvailable,
    StatusNotSaved,
    UnknownUser,
)
from finger.names import InvalidStatus, InvalidUserName
from tests import postgres
from finger.testing import HeldThreadsClock, ThreadlessClock
from tests.support import exchange, freePort, waitFor

_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class DatabaseDown(Exception):
    """
    What the fake database raises while it is away.
    """


class FakeNotifications:
    """
    A listening connection whose notifications the test sends.
    """

    def __init__(self) -> None:
        self.queue: List[str] = []
        self.broken = False
        self.closed = False

    def fileno(self) -> int:
        return 99

    def receive(self) -> List[str]:
        if self.broken:
            raise DatabaseDown("server closed the connection unexpectedly")
        received, self.queue = self.queue, []
        return received

    def close(self) -> None:
        self.closed = True


class FakeDatabase(Database):
    """
    A table in memory that can go away, and records the transactions and
    the reads.

    @ivar rows: name to status: anything, to stand for what another program
        may have written.
    @ivar versions: name to the version of its row's last change (0 if
        absent), as PostgreSQL numbers them.
    @ivar reads: how many times the table was read, whole or its changes.
    """

    display = url = "fake:statuses"

    def __init__(self, notifies: bool = True, **rows: Any) -> None:
        self.notifies = notifies
        self.rows: Dict[Any, Any] = dict(rows)
        self.versions: Dict[Any, int] = {}
        self.lastVersion = 0
        self.up = True
        self.saves: List[Dict[str, str]] = []
        self.listeners: List[FakeNotifications] = []
        self.versionNumber = 1
        self.reads = 0

    def change(self, name: Any, status: Any) -> None:
        """
        Change a row as another node would: with a new version.
        """
        self.lastVersion += 1
        self.rows[name] = status
        self.versions[name] = self.lastVersion

    def _check(self) -> None:
        if not self.up:
            raise DatabaseDown("connection refused")

    def connect(self) -> object:
        self._check()
        return object()

    def _rows(self) -> List[Any]:
        return sorted(
            ((name, status, self.versions.get(name, 0)) for name, status in self.rows.items()),
            key=lambda row: row[2],
        )

    def load(self, connection: Any) -> Rows:
        self._check()
        self.reads += 1
        return checkRows(self._rows())

    def changes(self, connection: Any, since: int, limit: int = BATCH) -> Changes:
        self._check()
        self.reads += 1
        rows = self._rows()
        changed = [row for row in rows if row[2] > since][:limit]
        found = checkRows(changed)
        return Changes(
            found._replace(version=found.version or since),
            len(changed) >= limit,
            rows[0][2] if rows else None,
            rows[-1][2] if rows else None,
        )

    def save(self, connection: Any, changes: Mapping[str, str], replace: bool = False) -> None:
        self._check()
        self.saves.append(dict(changes))
        for name, status in sorted(changes.items()):
            self.change(name, status)

    def version(self, connection: Any) -> Optional[int]:
        self._check()
        return None if self.notifies else self.versionNumber

    def listen(self) -> Optional[FakeNotifications]:  # type: ignore[override]
        if not self.notifies:
            return None
        self._check()
        listener = FakeNotifications()
        self.listeners.append(listener)
        return listener

    def close(self, connection: Any) -> None:
        pass


class _Readers:
    def __init__(self) -> None:
        self.readers: List[Any] = []

    def addReader(self, reader: Any) -> None:
        self.readers.append(reader)

    def removeReader(self, reader: Any) -> None:
        self.readers.remove(reader)


class FakeReactor(ThreadlessClock, _Readers):
    """
    Time, "threads" that run at once, and readers the test calls.
    """

    def __init__(self) -> None:
        ThreadlessClock.__init__(self)
        _Readers.__init__(self)


class HeldReactor(HeldThreadsClock, _Readers):
    """
    Time, "threads" that wait for L{runOne}, and readers the test calls.
    """

    def __init__(self) -> None:
        HeldThreadsClock.__init__(self)
        _Readers.__init__(self)


def _noJitter(attempt: int) -> float:
    return min(0.25 * 2**attempt, 5.0)


class StoreLogicTests(SynchronousTestCase):
    """
    The service with a fake database: reads, group commit, notifications,
    outages.
    """

    def service(self, database: FakeDatabase, clock: Any) -> SQLFingerService:
        service = SQLFingerService(database, reactor=clock, timeout=5.0, retryDelay=_noJitter)
        service.startService()
        return service

    def readService(self) -> Tuple[HeldReactor, FakeDatabase, SQLFingerService]:
        """
        A service on an empty fake database, listening for changes and with
        its table read: where the tests of setting statuses start.
        """
        clock = HeldReactor()
        database = FakeDatabase()
        service = self.service(database, clock)
        clock.runOne()  # listen
        clock.runOne()  # read
        return clock, database, service

    def test_interfaces(self) -> None:
        service = self.service(FakeDatabase(), FakeReactor())
        self.assertTrue(verifyObject(IFingerService, service))
        self.assertTrue(verifyObject(IFingerSetterService, service))

    def test_readsFromMemory(self) -> None:
        """
        Lookups are answered from the table read at start, not the database.
        """
        database = FakeDatabase(moshez="Happy", **{"zoë": "à Paris"})
        service = self.service(database, FakeReactor())
        database.up = False
        self.assertEqual(self.successResultOf(service.getUser("zoë")), "à Paris")
        self.assertEqual(sorted(self.successResultOf(service.getUsers())), ["moshez", "zoë"])
        unknown = self.failureResultOf(service.getUser("nobody"), UnknownUser)
        self.assertEqual(unknown.value.user, "nobody")

    def test_lookupWaitsForFirstRead(self) -> None:
        """
        Until the table has been read once, lookups wait rather than say
        that nobody is known.
        """
        clock = HeldReactor()
        service = self.service(FakeDatabase(moshez="Happy"), clock)
        d = service.getUser("moshez")
        users = service.getUsers()
        self.assertNoResult(d)
        clock.runOne()  # listen
        clock.runOne()  # read
        self.assertEqual(self.successResultOf(d), "Happy")
        self.assertEqual(self.successResultOf(users), ["moshez"])

    def test_atHandOnceRead(self) -> None:
        """
        Until the table has been read once, a lookup cannot be answered at
        once: C{statusNow} says to ask C{getUser}, which waits for the
        first read, or fails with L{StatusesNotAvailable} while the
        database has not been reached.  After, it is answered from memory,
        even through an outage.
        """
        clock = HeldReactor()
        database = FakeDatabase(moshez="Happy")
        service = self.service(database, clock)
        self.assertTrue(verifyObject(IStatusesAtHand, service))
        self.assertIsNone(service.statusNow("moshez"))
        clock.runOne()  # listen
        clock.runOne()  # read
        self.assertEqual(service.statusNow("moshez"), "Happy")
        self.assertRaises(UnknownUser, service.statusNow, "nobody")
        database.up = False
        service._lost(Failure(ConnectionError("gone")))
        self.assertEqual(service.statusNow("moshez"), "Happy")

        unreached = FakeDatabase(moshez="Happy")
        unreached.up = False
        clock = HeldReactor()
        service = self.service(unreached, clock)
        with capturedLogs():
            clock.runOne()  # listen: fails
        self.assertIsNone(service.statusNow("moshez"))
        self.failureResultOf(service.getUser("moshez"), StatusesNotAvailable)

    def test_notAvailableUntilFirstRead(self) -> None:
        """
        A database not reached since the start: the lookups waiting, and
        those after, fail with L{StatusesNotAvailable} rather than say that
        nobody is known; the node says why it is not ready, keeps trying,
        and answers from the first read that succeeds.
        """
        clock = HeldReactor()
        database = FakeDatabase(moshez="Happy")
        database.up = False
        service = self.service(database, clock)
        self.assertTrue(verifyObject(IReadiness, service))
        self.assertIn("has not been read yet", service.notReady() or "")
        waiting = service.getUser("moshez")
        with capturedLogs() as events:
            clock.runOne()  # listen: fails
        self.failureResultOf(waiting, StatusesNotAvailable)
        self.failureResultOf(service.getUsers(), StatusesNotAvailable)
        self.failureResultOf(service.getUser("nobody"), StatusesNotAvailable)
        self.assertIn("is not reachable", service.notReady() or "")
        [event] = [e for e in events if e["log_level"] == LogLevel.error]
        self.assertIn("not available yet", event["meanwhile"])
        database.up = True
        clock.advance(1)  # the retry
        clock.runOne()  # listen
        clock.runOne()  # read
        self.assertIsNone(service.notReady())
        self.assertEqual(self.successResultOf(service.getUser("moshez")), "Happy")
        self.failureResultOf(service.getUser("nobody"), UnknownUser)
        # Once read, an outage is served from memory, but the node is not
        # ready (it cannot save a status) until the database is back.
        database.up = False
        service._lost(Failure(ConnectionError("gone")))
        self.assertIn("is not reachable: gone", service.notReady() or "")
        self.assertEqual(self.successResultOf(service.getUser("moshez")), "Happy")

    def test_setFiresAfterCommit(self) -> None:
        clock, database, service = self.readService()
        d = service.setUser("moshez", "Busy")
        self.assertNoResult(d)
        self.assertEqual(database.rows, {})
        clock.runOne()
        self.assertIsNone(self.successResultOf(d))
        self.assertEqual(database.rows, {"moshez": "Busy"})
        self.assertEqual(self.successResultOf(service.getUser("moshez")), "Busy")

    def test_groupCommit(self) -> None:
        """
        Sets that arrive while a transaction is under way are committed
        together by the next one; the last status for a user wins.
        """
        clock, database, service = self.readService()
        first = service.setUser("a", "1")
        rest = [service.setUser("b", "1"), service.setUser("c", "1"), service.setUser("b", "2")]
        clock.runOne()
        self.assertIsNone(self.successResultOf(first))
        for d in rest:
            self.assertNoResult(d)
        self.assertEqual(clock.held, 1)
        clock.runOne()
        for d in rest:
            self.assertIsNone(self.successResultOf(d))
        self.assertEqual(database.saves, [{"a": "1"}, {"b": "2", "c": "1"}])
        self.assertEqual(self.successResultOf(service.getUser("b")), "2")

    def test_setInvalid(self) -> None:
        database = FakeDatabase()
        service = self.service(database, FakeReactor())
        self.failureResultOf(service.setUser("-x", "Busy"), InvalidUserName)
        self.failureResultOf(service.setUser("x", "two\nlines"), InvalidStatus)
        self.assertEqual(database.saves, [])

    def test_outage(self) -> None:
        """
        While the database is away, sets fail with L{StatusNotSaved}, reads
        go on, and the outage and the recovery are each logged once; the
        node reconnects by itself, with back-off.
        """
        clock = FakeReactor()
        database = FakeDatabase(moshez="Happy")
        service = self.service(database, clock)
        database.up = False
        with capturedLogs() as events:
            self.failureResultOf(service.setUser("moshez", "Busy"), StatusNotSaved)
            self.failureResultOf(service.setUser("moshez", "Busy"), StatusNotSaved)
            self.assertEqual(self.successResultOf(service.getUser("moshez")), "Happy")
            for _ in range(10):
                clock.advance(5)
            self.assertEqual(database.saves, [])
            self.failureResultOf(service.setUser("moshez", "Busy"), StatusNotSaved)
            database.up = True
            clock.advance(5)
            self.assertIsNone(self.successResultOf(service.setUser("moshez", "Back")))
        errors = [e for e in events if e["log_level"] >= LogLevel.warn]
        self.assertEqual(len(errors), 1, errors)
        self.assertIn("unreachable", errors[0]["log_format"])
        recovered = [e for e in events if "reachable again" in e["log_format"]]
        self.assertEqual(len(recovered), 1)
        self.assertEqual(database.rows, {"moshez": "Back"})

    def test_backOff(self) -> None:
        """
        Attempts to reconnect are spaced by the retry policy.
        """
        clock = FakeReactor()
        database = FakeDatabase()
        attempts: List[int] = []

        def delay(attempt: int) -> float:
            attempts.append(attempt)
            return 2.0**attempt

        service = SQLFingerService(database, reactor=clock, retryDelay=delay)
        database.up = False
        service.startService()
        self.assertEqual(attempts, [0])
        clock.advance(1)
        self.assertEqual(attempts, [0, 1])
        clock.advance(1.5)
        self.assertEqual(attempts, [0, 1])
        clock.advance(0.5)
        self.assertEqual(attempts, [0, 1, 2])
        self.flushLoggedErrors()

    def test_resyncAfterReconnect(self) -> None:
        """
        What changed in the database while the node could not reach it is
        read again when it reconnects.
        """
        clock = FakeReactor()
        database = FakeDatabase(moshez="Happy")
        service = self.service(database, clock)
        database.listeners[-1].broken = True
        clock.readers[0].doRead()
        self.assertEqual(clock.readers, [])
        self.assertTrue(database.listeners[0].closed)
        database.rows["moshez"] = "Changed elsewhere"
        database.rows["shawn"] = "New"
        clock.advance(5)
        self.assertEqual(len(clock.readers), 1)
        self.assertEqual(self.successResultOf(service.getUser("moshez")), "Changed elsewhere")
        self.assertEqual(self.successResultOf(service.getUser("shawn")), "New")

    def test_notifications(self) -> None:
        """
        A notification makes the node read the rows changed since the
        newest it has, at once.
        """
        clock = FakeReactor()
        database = FakeDatabase(moshez="Happy")
        service = self.service(database, clock)
        database.change("moshez", "Busy")
        database.change("zoë", "à Paris")
        database.listeners[-1].queue.append("")
        clock.readers[0].doRead()
        self.assertEqual(self.successResultOf(service.getUser("zoë")), "à Paris")
        self.assertEqual(self.successResultOf(service.getUser("moshez")), "Busy")

    def test_forgedNotification(self) -> None:
        """
        What a notification says is not believed (anyone who can connect to
        PostgreSQL may send one): a user and status it names that the table
        does not hold are not served.
        """
        clock = FakeReactor()
        database = FakeDatabase(moshez="Happy")
        service = self.service(database, clock)
        database.listeners[-1].queue.append(
            json.dumps([["moshez", "pwned"], ["eve", "forged"]])
        )
        clock.readers[0].doRead()
        self.assertEqual(service.users, {"moshez": "Happy"})
        self.assertEqual(self.successResultOf(service.getUser("moshez")), "Happy")
        self.failureResultOf(service.getUser("eve"), UnknownUser)

    def test_malformedNotification(self) -> None:
        """
        A notification with statuses that are not text (C{null}, a number, a
        list, an object) or that is not JSON at all breaks neither lookups
        nor the list of users.
        """
        clock = FakeReactor()
        database = FakeDatabase(moshez="Happy")
        service = self.service(database, clock)
        malformed = [None, 42, [1, 2], {"a": 1}]
        database.listeners[-1].queue.extend(
            [json.dumps([[f"n{n}", value]]) for n, value in enumerate(malformed)]
            + ["{", json.dumps({"moshez": None}), "\x00" * 100]
        )
        clock.readers[0].doRead()
        clock.advance(1)
        self.assertEqual(self.successResultOf(service.getUsers()), ["moshez"])
        for n in range(len(malformed)):
            self.failureResultOf(service.getUser(f"n{n}"), UnknownUser)
        self.assertEqual(self.successResultOf(service.getUser("moshez")), "Happy")

    def test_hintStorm(self) -> None:
        """
        However many notifications arrive, the node reads the table at most
        once every C{hintInterval} seconds, and a change made during the
        storm is served at the latest one interval after it.
        """
        clock = FakeReactor()
        database = FakeDatabase(moshez="Happy")
        service = self.service(database, clock)
        self.assertEqual(service.hintInterval, HINT_INTERVAL)
        notifications = database.listeners[-1]
        listener = clock.readers[0]
        before = database.reads
        servedAfter = None
        wakes = 0
        for step in range(100):
            if step == 50:
                database.change("moshez", "Changed")
                changedAt = clock.seconds()
            notifications.queue.extend([""] * 1000)
            # The reactor reads the connection only while it is watched.
            if listener in clock.readers:
                wakes += 1
                listener.doRead()
            clock.advance(0.01)
            if servedAfter is None and service.users["moshez"] == "Changed":
                servedAfter = clock.seconds() - changedAt
        # Looked at every 0.01 seconds.
        assert servedAfter is not None
        self.assertLessEqual(servedAfter, HINT_INTERVAL + 0.01 + 1e-9)
        # 100,000 hints over one second.
        self.assertLessEqual(database.reads - before, 1 / HINT_INTERVAL + 1)
        # Nor is it woken for each notification.
        self.assertLessEqual(wakes, 1 / HINT_INTERVAL + 1)
        self.assertEqual(self.successResultOf(service.getUser("moshez")), "Changed")

    def test_notificationsWhileReading(self) -> None:
        """
        Changes announced while the table is being read are read once it
        has been, so none is lost either way.
        """
        clock = HeldReactor()
        database = FakeDatabase(moshez="Happy", shawn="Here")
        service = self.service(database, clock)
        clock.runOne()  # listen
        database.listeners[-1].queue.append("")
        clock.readers[0].doRead()
        self.assertEqual(clock.held, 1)
        clock.runOne()  # read the whole table
        self.assertEqual(clock.held, 1)
        database.change("moshez", "Newer")
        clock.runOne()  # read the changes
        self.assertEqual(self.successResultOf(service.getUser("moshez")), "Newer")

    def test_batches(self) -> None:
        """
        Many changed rows are read L{BATCH} at a time, one read right after
        the other.
        """
        clock = FakeReactor()
        database = FakeDatabase(moshez="Happy")
        service = self.service(database, clock)
        for n in range(BATCH * 2 + 10):
            database.change(f"u{n}", "new")
        before = database.reads
        database.listeners[-1].queue.append("")
        clock.readers[0].doRead()
        clock.advance(0)
        self.assertEqual(database.reads - before, 3)
        self.assertEqual(len(self.successResultOf(service.getUsers())), BATCH * 2 + 11)

    def test_replacedTable(self) -> None:
        """
        When every row was changed or removed since the node last read (as
        C{finger-db import --replace} does), the node reads the whole table
        again, so removed users go.
        """
        clock = FakeReactor()
        database = FakeDatabase()
        database.change("moshez", "Happy")
        database.change("shawn", "Gone soon")
        service = self.service(database, clock)
        del database.rows["shawn"]
        database.change("moshez", "Replaced")
        database.listeners[-1].queue.append("")
        clock.readers[0].doRead()
        self.assertEqual(service.users, {"moshez": "Replaced"})
        database.rows.clear()
        database.listeners[-1].queue.append("")
        clock.advance(1)
        clock.readers[0].doRead()
        self.assertEqual(service.users, {})

    def test_badRows(self) -> None:
        """
        Rows with a name that breaks the rule or a status that is not text
        a setter could store are skipped, each logged once: not again when
        the table is read again, only when another bad row comes.
        """
        clock = FakeReactor()
        database = FakeDatabase(moshez="Happy")
        bad = {"-x": "ok", "n-null": None, "n-number": 42, "long": "x" * 2000, "two": "a\nb"}
        database.rows.update(bad)
        with capturedLogs() as events:
            service = self.service(database, clock)
        self.assertEqual(service.users, {"moshez": "Happy"})
        self.assertEqual(len(self._skipped(events)), len(bad))
        # A reconnection reads the whole table again.
        with capturedLogs() as events:
            database.listeners[-1].broken = True
            clock.readers[0].doRead()
            clock.advance(5)
            self.assertEqual(len(clock.readers), 1)
            database.change("n-null", [1])
            database.listeners[-1].queue.append("")
            clock.readers[0].doRead()
            database.listeners[-1].queue.append("")
            clock.advance(1)
            clock.readers[0].doRead()
        skipped = self._skipped(events)
        self.assertEqual(len(skipped), 1, skipped)
        self.assertEqual(skipped[0]["name"], "'n-null'")
        self.assertEqual(service.users, {"moshez": "Happy"})
        self.flushLoggedErrors()

    def test_manyBadRows(self) -> None:
        """
        Many bad rows in one read are logged one by one up to
        L{LOGGED_BAD_ROWS}, the rest counted in one line.
        """
        database = FakeDatabase(**{f"-{n}": "x" for n in range(50)})
        with capturedLogs() as events:
            self.service(database, FakeReactor())
        self.assertEqual(len(self._skipped(events)), LOGGED_BAD_ROWS)
        summary = [e for e in events if "more bad rows of" in formatEvent(e)]
        self.assertEqual([e["count"] for e in summary], [50 - LOGGED_BAD_ROWS])

    def _skipped(self, events: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        return [e for e in events if e["log_format"].startswith("Skipped a row")]

    def test_timeout(self) -> None:
        """
        A set whose transaction gets no answer within the timeout fails
        with L{TimeoutError} (it may have been saved); later sets fail with
        L{StatusNotSaved} until the database answers again.
        """
        clock, database, service = self.readService()
        d = service.setUser("moshez", "Busy")
        clock.advance(5)
        self.failureResultOf(d, TimeoutError)
        self.failureResultOf(service.setUser("shawn", "x"), StatusNotSaved)
        clock.runOne()  # the transaction commits late after all
        self.assertEqual(self.successResultOf(service.getUser("moshez")), "Busy")
        self.flushLoggedErrors()

    def test_failedTransaction(self) -> None:
        """
        Sets waiting for a transaction that fails get L{StatusNotSaved},
        as do those queued behind it.
        """
        clock, database, service = self.readService()
        first = service.setUser("a", "1")
        second = service.setUser("b", "1")
        database.up = False
        clock.runOne()
        self.failureResultOf(first, StatusNotSaved)
        self.failureResultOf(second, StatusNotSaved)
        self.assertEqual(database.rows, {})
        self.flushLoggedErrors()

    def test_pollWithoutNotifications(self) -> None:
        """
        A database without notifications (SQLite) is asked every
        C{pollInterval} seconds whether another process changed it, and
        read again only then.
        """
        clock = FakeReactor()
        database = FakeDatabase(notifies=False, moshez="Happy")
        service = self.service(database, clock)
        self.assertEqual(clock.readers, [])
        database.rows["moshez"] = "Changed elsewhere"
        clock.advance(1)
        self.assertEqual(self.successResultOf(service.getUser("moshez")), "Happy")
        database.versionNumber += 1
        clock.advance(1)
        self.assertEqual(self.successResultOf(service.getUser("moshez")), "Changed elsewhere")

    def test_stop(self) -> None:
        clock = FakeReactor()
        database = FakeDatabase()
        service = self.service(database, clock)
        self.successResultOf(service.stopService())
        self.assertEqual(clock.readers, [])
        self.assertTrue(database.listeners[-1].closed)
        self.assertEqual(clock.getDelayedCalls(), [])


class StoreTests(SynchronousTestCase):
    """
    URLs.
    """

    def test_openSQLite(self) -> None:
        for url, path in [
            ("sqlite:users.db", "users.db"),
            ("sqlite:/var/lib/finger.db", "/var/lib/finger.db"),
            ("sqlite:///var/lib/finger.db", "/var/lib/finger.db"),
        ]:
            database = openDatabase(url)
            self.assertIsInstance(database, SQLiteDatabase)
            self.assertEqual(database.path, path)  # type: ignore[attr-defined]

    def test_openBad(self) -> None:
        for url in ["", "sqlite:", "sqlite::memory:", "mysql://x", "/etc/users"]:
            self.assertRaises(DatabaseError, openDatabase, url)

    def test_openPostgreSQL(self) -> None:
        """
        Logs name a PostgreSQL database without its password.
        """
        try:
            database = openDatabase("postgresql://finger:secret@db.example:5433/statuses")
        except DatabaseError as e:
            raise SkipTest(str(e))
        self.assertIsInstance(database, PostgreSQLDatabase)
        self.assertEqual(database.display, "postgresql://finger@db.example:5433/statuses")
        self.assertNotIn("secret", database.display)


class SQLiteTests(SynchronousTestCase):
    """
    The service on a real SQLite file; "threads" run at once.
    """

    def setUp(self) -> None:
        self.path = os.path.abspath(self.mktemp())
        self.url = f"sqlite:{self.path}"

    def service(self, clock: Any) -> SQLFingerService:
        service = SQLFingerService(self.url, reactor=clock)
        service.startService()
        self.addCleanup(service.stopService)
        return service

    def test_schema(self) -> None:
        """
        The table is made when missing, in WAL mode.
        """
        self.service(FakeReactor())
        with sqlite3.connect(self.path) as connection:
            columns = [row[1] for row in connection.execute("PRAGMA table_info(finger_status)")]
            mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
        self.assertEqual(columns, ["name", "status", "changed"])
        self.assertEqual(mode, "wal")

    def test_restart(self) -> None:
        """
        A set survives the service: a new one on the same file has it.
        """
        service = self.service(FakeReactor())
        self.successResultOf(service.setUser("moshez", "Durable"))
        self.successResultOf(service.stopService())
        again = self.service(FakeReactor())
        self.assertEqual(self.successResultOf(again.getUser("moshez")), "Durable")

    def test_twoProcesses(self) -> None:
        """
        A change made through another connection is seen within the poll
        interval.
        """
        clock = FakeReactor()
        one, two = self.service(clock), self.service(clock)
        self.successResultOf(one.setUser("moshez", "From one"))
        clock.advance(1)
        self.assertEqual(self.successResultOf(two.getUser("moshez")), "From one")

    def test_importExport(self) -> None:
        """
        C{finger-db import} copies a status file into the database, and
        C{export} copies it back, with the status file's own code.
        """
        source = self.mktemp()
        with open(source, "w", encoding="utf-8") as f:
            f.write("# users\nmoshez: Happy\nzoë: à Paris\nbad line\n")
        self.assertEqual(dbcopy.importFile(source, self.url), 2)
        target = self.mktemp()
        self.assertEqual(dbcopy.exportFile(self.url, target), 2)
        from finger.backends import statusfile

        self.assertEqual(
            statusfile.read(target).statuses, {"moshez": "Happy", "zoë": "à Paris"}
        )
        with open(source, "w", encoding="utf-8") as f:
            f.write("shawn: alive\n")
        dbcopy.importFile(source, self.url, replace=True)
        service = self.service(FakeReactor())
        self.assertEqual(self.successResultOf(service.getUsers()), ["shawn"])

    def test_badRows(self) -> None:
        """
        Rows another program wrote that no setter could have stored (bytes
        for a status, a status too long or of two lines, a name that breaks
        the rule, text that is not UTF-8) are skipped and
        logged once, not at every read; the good rows are served.
        """
        with sqlite3.connect(self.path) as connection:
            connection.execute(sqlschema.SQLITE_SCHEMA)
            connection.executemany(
                "INSERT INTO finger_status (name, status) VALUES (?, ?)",
                [
                    ("moshez", "Happy"),
                    ("n-bytes", b"bytes"),
                    ("long", "x" * 2000),
                    ("two", "two\nlines"),
                    ("-x", "ok"),
                ],
            )
            connection.execute(
                "INSERT INTO finger_status (name, status) VALUES ('latin1', CAST(x'e9' AS TEXT))"
            )
        clock = FakeReactor()
        with capturedLogs() as events:
            service = self.service(clock)
            self.assertEqual(self.successResultOf(service.getUsers()), ["moshez"])
            with sqlite3.connect(self.path) as connection:
                connection.execute("UPDATE finger_status SET status = 'Busy' WHERE name = 'moshez'")
            clock.advance(1)
            self.assertEqual(self.successResultOf(service.getUser("moshez")), "Busy")
        skipped = [e["name"] for e in events if e["log_format"].startswith("Skipped a row")]
        self.assertEqual(
            sorted(skipped), sorted(["'n-bytes'", "'long'", "'two'", "'-x'", "'latin1'"])
        )
        self.failureResultOf(service.getUser("n-bytes"), UnknownUser)

    def test_importSkipsWhatNoSetterStores(self) -> None:
        """
        C{finger-db import} copies only the statuses a setter could store,
        as the nodes serve only those, and says which lines it skipped.
        """
        source = self.mktemp()
        with open(source, "w", encoding="utf-8") as f:
            f.write("moshez: Happy\nlong: " + "x" * 2000 + "\n")
        import io
        from contextlib import redirect_stderr

        errors = io.StringIO()
        with redirect_stderr(errors):
            self.assertEqual(dbcopy.importFile(source, self.url), 1)
        self.assertIn("user long: a status is at most 1024 characters; line skipped",
                      errors.getvalue())
        with sqlite3.connect(self.path) as connection:
            rows = connection.execute("SELECT name FROM finger_status").fetchall()
        self.assertEqual(rows, [("moshez",)])


def _twistd(test: TestCase, database: str) -> "tuple[subprocess.Popen[bytes], int]":
    """
    Start a real C{twistd finger} node on C{database}; return it and its
    setter port.
    """
    setter = freePort()
    process = subprocess.Popen(
        [
            sys.executable, "-c", "from twisted.scripts.twistd import run; run()",
            "-n", "--pidfile=", "-l", "-", "finger",
            "--backend=sql", f"--database={database}",
            "--fingerport", "tcp:0:interface=127.0.0.1",
            "--setterport", f"tcp:{setter}:interface=127.0.0.1",
            "--webport", "tcp:0:interface=127.0.0.1",
            "--no-pb",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": _root},
    )

    def kill() -> None:
        if process.poll() is None:
            process.kill()
        process.wait()

    test.addCleanup(kill)
    return process, setter


async def _setAndKill(test: TestCase, database: str) -> None:
    """
    Set a status on a real node, then C{kill -9} it the moment the set is
    acknowledged.
    """
    process, setter = _twistd(test, database)

    async def answered() -> bytes:
        try:
            return await exchange(reactor, f"tcp:127.0.0.1:{setter}", b"moshez\nAcknowledged\n")
        except Exception:
            return b""

    answer = await waitFor(reactor, answered, "the node's setter", timeout=30)
    process.send_signal(signal.SIGKILL)
    test.assertTrue(answer.startswith(b"OK"), answer)


class SQLiteKillTests(TestCase):
    def test_killAfterSet(self) -> "Deferred[None]":
        """
        A set acknowledged by a node killed with SIGKILL right after is in
        the SQLite file.
        """
        path = os.path.abspath(self.mktemp())

        async def run() -> None:
            await _setAndKill(self, f"sqlite:{path}")
            with sqlite3.connect(path) as connection:
                rows = connection.execute("SELECT status FROM finger_status WHERE name = 'moshez'")
                self.assertEqual(rows.fetchall(), [("Acknowledged",)])

        return Deferred.fromCoroutine(run())


class PostgreSQLTests(TestCase):
    """
    Nodes on a real PostgreSQL server that the test starts.
    """

    def setUp(self) -> None:
        self.cluster = postgres.clusterFor(self)

    def node(self, url: Optional[str] = None) -> SQLFingerService:
        service = SQLFingerService(
            url or self.cluster.url,
            reactor=reactor,
            timeout=3.0,
            retryDelay=lambda attempt: min(0.1 * 2**attempt, 0.5),
        )
        service.startService()
        self.addCleanup(service.stopService)
        return service

    def test_threeNodes(self) -> "Deferred[None]":
        """
        A set on one of three nodes sharing a database is seen by the other
        two within a second.
        """

        async def run() -> None:
            nodes = [self.node() for _ in range(3)]
            for node in nodes:
                await node.getUsers()
            for n, node in enumerate(nodes):
                await node.setUser("moshez", f"set on node {n}")

                async def everywhere() -> bool:
                    try:
                        results = [await other.getUser("moshez") for other in nodes]
                    except UnknownUser:
                        return False
                    return results == [f"set on node {n}"] * 3

                await waitFor(reactor, everywhere, f"node {n}'s set everywhere", timeout=1.0)

        return Deferred.fromCoroutine(run())

    def test_databaseRestart(self) -> "Deferred[None]":
        """
        With the database stopped under running nodes, sets fail cleanly
        and reads go on; once it is back the nodes reconnect by themselves,
        sets work again, and nothing acknowledged was lost.
        """

        async def run() -> None:
            one, two = self.node(), self.node()
            await one.getUsers()
            await two.getUsers()
            await gatherResults([one.setUser(f"u{n}", "before") for n in range(20)])

            async def propagated() -> bool:
                return len(await two.getUsers()) == 20

            await waitFor(reactor, propagated, "the other node to see the sets", timeout=5)
            await deferToThread(self.cluster.stop)

            async def saved(status: str) -> bool:
                try:
                    await one.setUser("moshez", status)
                except StatusNotSaved:
                    return False
                return True

            async def refused() -> bool:
                return not await saved("during")

            await waitFor(reactor, refused, "a set to fail while the database is away")
            self.assertEqual(await two.getUser("u3"), "before")
            await deferToThread(self.cluster.start)
            await waitFor(reactor, lambda: saved("after"), "sets to work again")

            async def seen() -> bool:
                try:
                    return await two.getUser("moshez") == "after"
                except UnknownUser:
                    return False

            await waitFor(reactor, seen, "the other node to see the set", timeout=5)
            rows = dict(self.cluster.query("SELECT name, status FROM finger_status"))
            for n in range(20):
                self.assertEqual(rows[f"u{n}"], "before")
            self.flushLoggedErrors()

        return Deferred.fromCoroutine(run())

    async def sees(self, node: SQLFingerService, user: str, status: str) -> None:
        """
        Wait until C{node} serves C{status} for C{user}.
        """

        async def served() -> bool:
            try:
                return await node.getUser(user) == status
            except UnknownUser:
                return False

        await waitFor(reactor, served, f"{user}'s status {status!r}", timeout=5)

    def test_forgedNotifications(self) -> "Deferred[None]":
        """
        A role with no grants at all may send C{NOTIFY finger_status} with
        any payload: forged changes, statuses that are not text, thousands
        of empty ones.  A node serves none of it, reads the table at most
        once every C{hintInterval} seconds meanwhile, and still sees a real
        change.
        """
        self.cluster.query("CREATE ROLE mallory LOGIN")
        forged = [json.dumps([["moshez", "pwned"], ["eve", "forged"]])]
        forged += [json.dumps([[f"n{n}", value]]) for n, value in enumerate([None, 42, [1], {}])]

        def notify(payloads: List[str]) -> None:
            import psycopg

            with psycopg.connect(self.cluster.urlAs("mallory"), autocommit=True) as connection:
                with self.assertRaises(psycopg.errors.InsufficientPrivilege):
                    connection.execute("SELECT * FROM finger_status")
                for payload in payloads:
                    connection.execute("SELECT pg_notify('finger_status', %s)", (payload,))

        async def run() -> None:
            one, two = self.node(), self.node()
            await one.setUser("moshez", "Happy")
            await self.sees(two, "moshez", "Happy")
            # Notifications arrive in order: once the set after them is
            # served, they were handled.
            await deferToThread(notify, forged)
            await one.setUser("sentinel", "after the forgeries")
            await self.sees(two, "sentinel", "after the forgeries")
            self.assertEqual(two.users, {"moshez": "Happy", "sentinel": "after the forgeries"})
            self.failureResultOf(two.getUser("eve"), UnknownUser)
            reads: List[str] = []
            for name in ("load", "changes"):
                read = getattr(two.database, name, None)
                if read is not None:

                    def counted(*args: Any, read: Any = read, name: str = name) -> Any:
                        reads.append(name)
                        return read(*args)

                    setattr(two.database, name, counted)
            started = reactor.seconds()
            await deferToThread(notify, ["{", json.dumps({"moshez": None})] + [""] * 2000)
            await one.setUser("sentinel", "after the storm")
            await self.sees(two, "sentinel", "after the storm")
            spent = reactor.seconds() - started
            self.assertLessEqual(len(reads), spent / HINT_INTERVAL + 2, (len(reads), spent))
            self.assertEqual(sorted(await two.getUsers()), ["moshez", "sentinel"])

        return Deferred.fromCoroutine(run())

    def test_badRows(self) -> "Deferred[None]":
        """
        Rows written by something other than a setter that no setter could
        have written are skipped, each logged once however often the node
        reads.
        """

        async def run() -> None:
            node = self.node()
            await node.getUsers()
            with capturedLogs() as events:
                self.cluster.query(
                    "INSERT INTO finger_status (name, status) VALUES "
                    "('-bad', 'x'), ('long', repeat('x', 2000)), ('ctl', E'\\x1b[2J'), "
                    "('ok', 'fine')"
                )
                self.cluster.query("NOTIFY finger_status")
                await self.sees(node, "ok", "fine")
                for n in range(3):
                    self.cluster.query("NOTIFY finger_status")
                    await node.setUser("sentinel", str(n))
                    await self.sees(node, "sentinel", str(n))
            skipped = [e["name"] for e in events if e["log_format"].startswith("Skipped a row")]
            self.assertEqual(sorted(skipped), ["'-bad'", "'ctl'", "'long'"])
            self.assertEqual(node.users, {"ok": "fine", "sentinel": "2"})

        return Deferred.fromCoroutine(run())

    def test_olderTable(self) -> "Deferred[None]":
        """
        A table made before changes were numbered gets its version column
        and index when its owner connects, and keeps its rows.
        """
        self.cluster.query(
            "CREATE TABLE finger_status (name TEXT PRIMARY KEY, status TEXT NOT NULL, "
            "changed TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP)"
        )
        self.cluster.query("INSERT INTO finger_status (name, status) VALUES ('moshez', 'Old')")

        async def run() -> None:
            one, two = self.node(), self.node()
            self.assertEqual(await one.getUser("moshez"), "Old")
            columns = self.cluster.query(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = 'finger_status' ORDER BY ordinal_position"
            )
            self.assertEqual([c for (c,) in columns], ["name", "status", "changed", "version"])
            await two.getUsers()
            await one.setUser("moshez", "New")
            await self.sees(two, "moshez", "New")

        return Deferred.fromCoroutine(run())

    def test_roles(self) -> "Deferred[None]":
        """
        A node needs only C{SELECT}, C{INSERT} and C{UPDATE} on the table
        once its owner made it; until then it says what is missing.
        """
        query = self.cluster.query
        query("CREATE ROLE finger_admin LOGIN")
        query("GRANT CREATE ON SCHEMA public TO finger_admin")
        query("CREATE ROLE fingerd LOGIN")

        async def run() -> None:
            with capturedLogs() as events:
                node = self.node(self.cluster.urlAs("fingerd"))

                def refused() -> bool:
                    return any("owns the table" in str(e.get("error")) for e in events)

                await waitFor(reactor, refused, "the node to say why it cannot start")
            admin = self.node(self.cluster.urlAs("finger_admin"))
            await admin.getUsers()
            query("GRANT SELECT, INSERT, UPDATE ON finger_status TO fingerd")
            # Until it reads the table, it says so rather than answer.
            self.assertIn("not reachable", node.notReady() or "")
            await waitFor(reactor, lambda: node.notReady() is None, "the node to read the table")
            await node.getUsers()
            await node.setUser("moshez", "Least privilege")
            await self.sees(admin, "moshez", "Least privilege")
            await admin.setUser("shawn", "From the owner")
            await self.sees(node, "shawn", "From the owner")
            self.flushLoggedErrors()

        return Deferred.fromCoroutine(run())

    def test_replace(self) -> "Deferred[None]":
        """
        C{finger-db import --replace} rewrites every row and removes the
        rest: running nodes read the whole table again, and removed users
        go.
        """
        source = self.mktemp()
        with open(source, "w", encoding="utf-8") as f:
            f.write("moshez: Kept\n")

        async def run() -> None:
            node = self.node()
            await node.setUser("moshez", "Here")
            await node.setUser("shawn", "Gone soon")
            await deferToThread(dbcopy.importFile, source, self.cluster.url, True)
            await self.sees(node, "moshez", "Kept")
            self.assertEqual(await node.getUsers(), ["moshez"])

        return Deferred.fromCoroutine(run())

    def test_killAfterSet(self) -> "Deferred[None]":
        """
        A set acknowledged by a C{twistd} node killed with SIGKILL right
        after is in the database.
        """

        async def run() -> None:
            await _setAndKill(self, self.cluster.url)
            rows = self.cluster.query("SELECT status FROM finger_status WHERE name = 'moshez'")
            self.assertEqual(rows, [("Acknowledged",)])

        return Deferred.fromCoroutine(run())


class OptionsTests(SynchronousTestCase):
    """
    C{twistd finger --backend=sql --database=URL}.
    """

    def test_databaseRequired(self) -> None:
        from twisted.python.usage import UsageError

        from finger.app import tap

        error = self.assertRaises(UsageError, tap.Options().parseOptions, ["--backend=sql"])
        self.assertIn("--database", str(error))
        error = self.assertRaises(
            UsageError, tap.Options().parseOptions, ["--backend=sql", "--database=mysql://x"]
        )
        self.assertIn("--database", str(error))

    def test_sqliteBackend(self) -> None:
        """
        The options build the database back-end, with the back-end timeout,
        and it runs the setter.
        """
        from finger.app import tap

        path = os.path.abspath(self.mktemp())
        options = tap.Options()
        options.parseOptions(
            ["--backend=sql", f"--database=sqlite:{path}", "--backend-timeout=2", "--no-pb"]
        )
        top: Any = tap.makeService(options, FakeReactor())
        backend = top.getServiceNamed("backend")
        self.assertIsInstance(backend, SQLFingerService)
        self.assertEqual(backend.timeout, 2.0)
        self.assertEqual(backend.database.url, f"sqlite:{path}")
