"""
Tests for L{finger.backends.file}.
"""

import fcntl
import os
import signal
import socket
import subprocess
from typing import Any, Callable, List, Optional

from twisted.internet import reactor
from twisted.internet.defer import Deferred, gatherResults, succeed
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import LogLevel, capturedLogs, formatEvent
from twisted.python.failure import Failure
from twisted.python.filepath import FilePath
from twisted.python.runtime import platform
from twisted.trial.unittest import SkipTest, SynchronousTestCase, TestCase
from zope.interface.verify import verifyObject

from finger.interfaces import IFingerService, IFingerSetterService, StatusNotSaved, UnknownUser
from finger.names import InvalidStatus, InvalidUserName
from finger.backends import filewatch as fileModule, statusfile, statuslock
from finger.backends.file import (
    SETTLE,
    FileFingerService,
    WatchUnavailable,
    watchDirectory,
)
from finger.backends.memory import MAX_ANSWER_LENGTH, MemoryFingerService, StatusTable, dispose
from finger.backends.statusfile import StatusFileError, StatusFileReadOnly
from finger.frontends.setter import FingerSetterFactoryFromService
from finger.messages import NOT_SAVED, READ_ONLY
from finger.testing import HeldThreadsClock, ThreadlessClock
from tests.support import CHECKOUT, TWISTD, cleanEnvironment, exchange, freePort, waitFor


class MemoryFingerServiceTests(SynchronousTestCase):
    def test_interfaces(self) -> None:
        service = MemoryFingerService(moshez="Happy")
        self.assertTrue(verifyObject(IFingerService, service))
        self.assertTrue(verifyObject(IFingerSetterService, service))

    def test_getUser(self) -> None:
        service = MemoryFingerService(moshez="Happy", **{"zoë": "à Paris"})
        self.assertEqual(self.successResultOf(service.getUser("moshez")), "Happy")
        self.assertEqual(self.successResultOf(service.getUser("zoë")), "à Paris")
        self.assertEqual(self.successResultOf(service.getUsers()), ["moshez", "zoë"])

    def test_unknown(self) -> None:
        """
        Names are matched exactly; anything else is an L{UnknownUser}.
        """
        service = MemoryFingerService(moshez="Happy")
        for name in ["Moshez", "moshez ", "nobody", ""]:
            failure = self.failureResultOf(service.getUser(name), UnknownUser)
            self.assertEqual(failure.value.user, name)

    def test_setUser(self) -> None:
        service = MemoryFingerService()
        self.assertIsNone(self.successResultOf(service.setUser("moshez", "Busy")))
        self.assertEqual(self.successResultOf(service.getUser("moshez")), "Busy")

    def test_setInvalid(self) -> None:
        service = MemoryFingerService()
        self.failureResultOf(service.setUser("-x", "Busy"), InvalidUserName)
        self.failureResultOf(service.setUser("x", "two\nlines"), InvalidStatus)
        self.assertEqual(self.successResultOf(service.getUsers()), [])

    def test_invalidAtConstruction(self) -> None:
        self.assertRaises(InvalidUserName, MemoryFingerService, **{"a b": "x"})


class _RecordingTable(StatusTable):
    """
    A table whose back-end only records what it was asked to store.
    """

    def __init__(self) -> None:
        self.users = {"moshez": "Happy"}
        self.stored: List[Any] = []

    def store(self, user: str, status: str) -> "Deferred[None]":
        self.stored.append((user, status))
        return succeed(None)


class StatusTableTests(SynchronousTestCase):
    """
    L{StatusTable}: what the memory, file and SQL back-ends share.
    """

    def test_answersFromTable(self) -> None:
        table = _RecordingTable()
        self.assertEqual(self.successResultOf(table.getUser("moshez")), "Happy")
        self.failureResultOf(table.getUser("nobody"), UnknownUser)
        self.assertEqual(self.successResultOf(table.getUsers()), ["moshez"])

    def test_storesCheckedChange(self) -> None:
        table = _RecordingTable()
        self.assertIsNone(self.successResultOf(table.setUser("zoë", "à Paris")))
        self.assertEqual(table.stored, [("zoë", "à Paris")])

    def test_invalidNotStored(self) -> None:
        """
        A change that breaks the naming rules fails before the back-end
        sees it.
        """
        table = _RecordingTable()
        self.failureResultOf(table.setUser("-x", "Busy"), InvalidUserName)
        self.failureResultOf(table.setUser("x", "two\nlines"), InvalidStatus)
        self.assertEqual(table.stored, [])


class DisposeTests(SynchronousTestCase):
    def test_dispose(self) -> None:
        """
        L{dispose} empties a table, whatever its size and step.
        """
        for size in (0, 1, 5, 10000):
            table = {f"u{i}": "x" for i in range(size)}
            dispose(table, step=3)
            self.assertEqual(table, {})


class FingerServiceTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.path = FilePath(self.mktemp())
        self.path.setContent(b"# users\nmoshez: happy and well\nshawn: alive\n")
        self.clock = ThreadlessClock()

    def service(self, **kwargs: object) -> FileFingerService:
        service = FileFingerService(self.path.path, reactor=kwargs.pop("clock", self.clock), **kwargs)  # type: ignore[arg-type]
        service.startService()
        self.addCleanup(service.stopService)
        return service

    def changeFile(self, content: bytes) -> None:
        self.path.setContent(content)
        # Make sure the change shows even on file systems with coarse times.
        os.utime(self.path.path, ns=(0, 123456789))

    def test_interfaces(self) -> None:
        service = self.service()
        self.assertTrue(verifyObject(IFingerService, service))
        self.assertTrue(verifyObject(IFingerSetterService, service))

    def test_read(self) -> None:
        service = self.service()
        self.assertEqual(self.successResultOf(service.getUser("moshez")), "happy and well")
        self.assertEqual(self.successResultOf(service.getUsers()), ["moshez", "shawn"])
        self.failureResultOf(service.getUser("nobody"), UnknownUser)

    def test_longStatusCut(self) -> None:
        """
        A status written by hand longer than any front-end should relay is
        cut when looked up, saying so; the file keeps it whole.
        """
        self.path.setContent(b"big: " + b"x" * 100_000 + b"\n")
        service = self.service()
        status = self.successResultOf(service.getUser("big"))
        self.assertEqual(len(status), MAX_ANSWER_LENGTH)
        self.assertTrue(status.endswith(" [...]"))
        self.assertEqual(len(self.path.getContent()), 100_006)

    def test_missingAtStart(self) -> None:
        """
        A missing file is an error at start-up that names the path.
        """
        self.path.remove()
        error = self.assertRaises(StatusFileError, FileFingerService, self.path.path, reactor=self.clock)
        self.assertIn(self.path.path, str(error))

    def test_symlinkAtStart(self) -> None:
        """
        A status file that is a symbolic link is an error at start-up that
        names the path and says why.
        """
        link = FilePath(self.mktemp())
        os.symlink(self.path.path, link.path)
        error = self.assertRaises(StatusFileError, FileFingerService, link.path, reactor=self.clock)
        self.assertIn(link.path, str(error))
        self.assertIn("symbolic link", str(error))

    def test_symlinkLaterKeepsLastGood(self) -> None:
        """
        A link put in place of the file while the service runs is refused:
        the last good statuses stay, one error is logged however many checks
        see it, and a set fails without replacing the link or touching what
        it points to.
        """
        service = self.service()
        target = FilePath(self.mktemp())
        target.setContent(b"root: secret\n")
        self.path.remove()
        os.symlink(target.path, self.path.path)
        with capturedLogs() as events:
            self.clock.advance(30)
            self.clock.advance(30)
        errors = [e for e in events if e["log_level"] == LogLevel.error]
        self.assertEqual(len(errors), 1)
        self.assertIn("symbolic link", errors[0]["error"])
        self.assertEqual(self.successResultOf(service.getUsers()), ["moshez", "shawn"])
        self.failureResultOf(service.getUser("root"), UnknownUser)
        self.failureResultOf(service.setUser("shawn", "x"), StatusNotSaved)
        self.assertTrue(self.path.islink())
        self.assertEqual(target.getContent(), b"root: secret\n")

    def test_readOnlyRefusesSets(self) -> None:
        """
        A read-only (0444) status file is never rewritten: sets fail with a
        message fit for the client, logged once, and succeed again once the
        file may be written.
        """
        service = self.service()
        self.path.chmod(0o444)
        before = self.path.getContent()
        with capturedLogs() as events:
            for _ in range(3):
                failure = self.failureResultOf(service.setUser("shawn", "x"), StatusFileReadOnly)
                self.assertEqual(failure.getErrorMessage(), READ_ONLY)
        errors = [e for e in events if e["log_level"] == LogLevel.error]
        self.assertEqual(len(errors), 1)
        self.assertEqual(errors[0]["path"], self.path.path)
        self.assertEqual(self.path.getContent(), before)
        self.assertEqual(os.stat(self.path.path).st_mode & 0o777, 0o444)
        self.assertEqual(self.successResultOf(service.getUser("shawn")), "alive")
        self.path.chmod(0o644)
        self.successResultOf(service.setUser("shawn", "x"))
        self.assertEqual(self.successResultOf(service.getUser("shawn")), "x")

    def test_staleTemporariesRemovedAtStart(self) -> None:
        """
        Starting removes the temporary files a save killed mid-way left next
        to the status file (only those), and logs each.
        """
        directory = self.path.parent()
        stale = directory.child("." + self.path.basename() + ".k9ll3d_x.tmp")
        stale.setContent(b"half a file")
        other = directory.child(".unrelated.k9ll3d_x.tmp")
        other.setContent(b"not ours")
        with capturedLogs() as events:
            self.service()
        self.assertFalse(stale.exists())
        self.assertTrue(other.exists())
        self.assertTrue(any(e.get("temporary") == stale.path for e in events))

    def test_startLogsWhatIsServed(self) -> None:
        """
        Starting logs one line naming the status file and how many users it
        holds.
        """
        service = FileFingerService(self.path.path, reactor=self.clock)
        with capturedLogs() as events:
            service.startService()
        self.addCleanup(service.stopService)
        [line] = [e for e in events if e.get("path") == self.path.path]
        self.assertEqual(line["log_level"], LogLevel.info)
        self.assertEqual(line["count"], 2)

    def test_malformedLinesLogged(self) -> None:
        self.path.setContent(b"a: one\nbroken\nb: two\n")
        with capturedLogs() as events:
            service = self.service()
        self.assertEqual(self.successResultOf(service.getUsers()), ["a", "b"])
        warnings = [e for e in events if e["log_level"] == LogLevel.warn]
        self.assertEqual(len(warnings), 1)
        self.assertEqual(warnings[0]["lineno"], 2)

    def test_reload(self) -> None:
        """
        Every C{interval} seconds a changed file is read again; users taken
        out of it disappear.
        """
        service = self.service(interval=10)
        self.changeFile(b"shawn: asleep\nglyph: hacking\n")
        self.clock.advance(9)
        self.assertEqual(self.successResultOf(service.getUser("moshez")), "happy and well")
        self.clock.advance(1)
        self.failureResultOf(service.getUser("moshez"), UnknownUser)
        self.assertEqual(self.successResultOf(service.getUser("glyph")), "hacking")
        self.assertEqual(self.successResultOf(service.getUsers()), ["shawn", "glyph"])

    def test_largeOldTableFreedInThread(self) -> None:
        """
        After a reload, a large old table is emptied by a job in the thread
        pool, not in the reactor; the new one serves meanwhile.
        """
        clock = HeldThreadsClock()
        service = self.service(interval=10, clock=clock)
        service.disposeInThreadAbove = 1
        old = service.users
        self.changeFile(b"shawn: asleep\n")
        clock.advance(10)
        clock.runOne()
        self.assertEqual(self.successResultOf(service.getUsers()), ["shawn"])
        self.assertEqual(len(old), 2)
        self.assertEqual(clock.held, 1)
        clock.runOne()
        self.assertEqual(old, {})
        self.assertEqual(self.successResultOf(service.getUser("shawn")), "asleep")

    def test_smallOldTableDropped(self) -> None:
        """
        A small old table is simply dropped: no job for the thread pool.
        """
        clock = HeldThreadsClock()
        service = self.service(interval=10, clock=clock)
        self.changeFile(b"shawn: asleep\n")
        clock.advance(10)
        clock.runOne()
        self.assertEqual(clock.held, 0)
        self.assertEqual(self.successResultOf(service.getUsers()), ["shawn"])

    def test_defaultInterval(self) -> None:
        service = self.service()
        self.assertEqual(service.interval, 30)
        self.changeFile(b"shawn: asleep\n")
        self.clock.advance(30)
        self.assertEqual(self.successResultOf(service.getUsers()), ["shawn"])

    def test_unchangedNotRead(self) -> None:
        """
        An unchanged file is not read again.
        """
        self.service()
        reads = []
        original = FileFingerService._reloaded

        def spy(self: FileFingerService, result: Any) -> None:
            reads.append(result[0])
            original(self, result)

        self.patch(FileFingerService, "_reloaded", spy)
        self.clock.advance(30)
        self.assertEqual(reads, [None])

    def test_vanishedKeepsLastGood(self) -> None:
        """
        When the file cannot be read any more the last good data stays, the
        problem is logged once, and its end is logged too.
        """
        service = self.service()
        self.path.remove()
        with capturedLogs() as events:
            self.clock.advance(30)
            self.clock.advance(30)
        self.assertEqual(self.successResultOf(service.getUser("shawn")), "alive")
        errors = [e for e in events if e["log_level"] == LogLevel.error]
        self.assertEqual(len(errors), 1)
        self.assertIn(self.path.path, errors[0]["error"])
        self.changeFile(b"shawn: back\n")
        with capturedLogs() as events:
            self.clock.advance(30)
        self.assertEqual(self.successResultOf(service.getUser("shawn")), "back")
        self.assertTrue(any("readable again" in e["log_format"] for e in events))

    def test_truncatedKeepsLastGood(self) -> None:
        """
        A file truncated to nothing is taken for damage, not for "remove
        everyone": the last good data stays, the problem is logged once, and
        a set writes the statuses still served, plus the change.
        """
        service = self.service()
        self.changeFile(b"")
        with capturedLogs() as events:
            self.clock.advance(30)
            self.clock.advance(30)
        self.assertEqual(self.successResultOf(service.getUsers()), ["moshez", "shawn"])
        self.assertEqual(len([e for e in events if e["log_level"] == LogLevel.error]), 1)
        self.successResultOf(service.setUser("zoë", "là"))
        self.assertEqual(
            self.path.getContent(), "moshez: happy and well\nshawn: alive\nzoë: là\n".encode()
        )

    def test_commentOnlyEmptiesOnPurpose(self) -> None:
        service = self.service()
        self.changeFile(b"# nobody here\n")
        self.clock.advance(30)
        self.assertEqual(self.successResultOf(service.getUsers()), [])

    def test_replaced(self) -> None:
        """
        A file replaced by renaming another over it (as editors and
        configuration tools do) is read.
        """
        service = self.service()
        other = FilePath(self.mktemp())
        other.setContent(b"glyph: new file\n")
        os.rename(other.path, self.path.path)
        self.clock.advance(30)
        self.assertEqual(self.successResultOf(service.getUsers()), ["glyph"])

    def test_unreadableKeepsLastGood(self) -> None:
        """
        A file that became unreadable keeps the last good data.
        """
        service = self.service()
        self.changeFile(b"shawn: changed\n")

        def denied(*args: object) -> None:
            raise statusfile.StatusFileError(f"cannot read status file {self.path.path}: Permission denied")

        self.patch(statusfile, "read", denied)
        with capturedLogs() as events:
            self.clock.advance(30)
        self.assertEqual(self.successResultOf(service.getUser("shawn")), "alive")
        self.assertTrue(any("Permission denied" in e.get("error", "") for e in events))

    def test_readOnlyFileSystem(self) -> None:
        """
        On a read-only file system the set fails, and nothing changes in
        memory or on disk.
        """
        service = self.service()

        def readOnly(**kwargs: object) -> None:
            raise OSError(30, "Read-only file system")

        import tempfile

        self.patch(tempfile, "mkstemp", readOnly)
        failure = self.failureResultOf(service.setUser("shawn", "x"), StatusNotSaved)
        self.assertIn("Read-only file system", failure.getErrorMessage())
        self.assertEqual(self.successResultOf(service.getUser("shawn")), "alive")
        self.assertIn(b"shawn: alive", self.path.getContent())

    def test_setUser(self) -> None:
        """
        A set rewrites the file, keeping the comments, and then succeeds.
        """
        service = self.service()
        self.assertIsNone(self.successResultOf(service.setUser("shawn", "gone fishing")))
        self.assertEqual(
            self.path.getContent(), b"# users\nmoshez: happy and well\nshawn: gone fishing\n"
        )
        self.assertEqual(self.successResultOf(service.getUser("shawn")), "gone fishing")
        self.successResultOf(service.setUser("zoë", "là"))
        self.assertTrue(self.path.getContent().endswith("zoë: là\n".encode()))

    def test_setUserSurvivesRestart(self) -> None:
        service = self.service()
        self.successResultOf(service.setUser("shawn", "gone fishing"))
        again = FileFingerService(self.path.path, reactor=self.clock)
        self.assertEqual(self.successResultOf(again.getUser("shawn")), "gone fishing")

    def test_setNotAcknowledgedBeforeDurable(self) -> None:
        """
        The set's L{Deferred} fires only after the file was written.
        """
        clock = HeldThreadsClock()
        service = self.service(clock=clock)
        d = service.setUser("shawn", "busy")
        self.assertNoResult(d)
        self.assertIn(b"shawn: alive", self.path.getContent())
        clock.runOne()
        self.successResultOf(d)
        self.assertIn(b"shawn: busy", self.path.getContent())

    def test_concurrentSetsBatched(self) -> None:
        """
        Sets made while a save is under way wait for it, then are saved
        together by one more write; each is acknowledged only after its own
        write.
        """
        clock = HeldThreadsClock()
        service = self.service(clock=clock)
        first = service.setUser("a", "1")
        second = service.setUser("b", "2")
        third = service.setUser("a", "3")
        self.assertEqual(clock.held, 1)
        clock.runOne()
        self.successResultOf(first)
        self.assertNoResult(second)
        self.assertNoResult(third)
        self.assertEqual(clock.held, 1)
        clock.runOne()
        self.successResultOf(second)
        self.successResultOf(third)
        self.assertEqual(clock.held, 0)
        self.assertEqual(self.successResultOf(service.getUser("a")), "3")
        self.assertTrue(self.path.getContent().endswith(b"a: 3\nb: 2\n"))

    def test_setKeepsOutsideEdits(self) -> None:
        """
        An edit an administrator made since the last check is kept by a set.
        """
        service = self.service()
        self.changeFile(b"moshez: edited\nshawn: alive\n")
        self.successResultOf(service.setUser("shawn", "x"))
        self.assertEqual(self.path.getContent(), b"moshez: edited\nshawn: x\n")
        self.assertEqual(self.successResultOf(service.getUser("moshez")), "edited")

    def test_setFails(self) -> None:
        """
        A failed save fails the set with L{StatusNotSaved} and changes nothing
        in memory.
        """
        service = self.service()

        def broken(*args: object) -> None:
            raise StatusNotSaved("cannot save: disk full")

        from finger.backends import statusfile

        self.patch(statusfile, "saveLocked", broken)
        failure = self.failureResultOf(service.setUser("shawn", "x"), StatusNotSaved)
        self.assertIn("disk full", failure.getErrorMessage())
        self.assertEqual(self.successResultOf(service.getUser("shawn")), "alive")

    def test_unexpectedSaveError(self) -> None:
        """
        A bug in saving is logged with its traceback and reported to the
        setter as L{StatusNotSaved}.
        """
        service = self.service()

        def broken(*args: object) -> None:
            raise ZeroDivisionError()

        from finger.backends import statusfile

        self.patch(statusfile, "saveLocked", broken)
        self.failureResultOf(service.setUser("shawn", "x"), StatusNotSaved)
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)

    def test_setInvalid(self) -> None:
        service = self.service()
        self.failureResultOf(service.setUser("a:b", "x"), InvalidUserName)
        self.failureResultOf(service.setUser("a", "x\x1b"), InvalidStatus)

    def test_setRefusesLineSeparatorsAndBidi(self) -> None:
        """
        A set whose status holds a Unicode line separator (which would forge
        a line) or a bidirectional override is refused, and the file is not
        touched.
        """
        service = self.service()
        before = self.path.getContent()
        for status in ["ok\u2028Login: root", "ok\u2029x", "\u202egnp.exe"]:
            self.failureResultOf(service.setUser("shawn", status), InvalidStatus)
        self.assertEqual(self.path.getContent(), before)
        self.assertEqual(self.successResultOf(service.getUser("shawn")), "alive")

    def test_checkSkippedWhileSaving(self) -> None:
        clock = HeldThreadsClock()
        service = self.service(clock=clock)
        d = service.setUser("a", "1")
        clock.advance(30)
        self.assertEqual(clock.held, 1)
        clock.runOne()
        self.successResultOf(d)

    def test_stopWaitsForSave(self) -> None:
        """
        Stopping the service waits for a save under way.
        """
        clock = HeldThreadsClock()
        service = FileFingerService(self.path.path, reactor=clock)
        service.startService()
        d = service.setUser("a", "1")
        stopped = service.stopService()
        self.assertNoResult(stopped)
        clock.runOne()
        self.successResultOf(d)
        self.successResultOf(stopped)
        self.assertEqual(clock.getDelayedCalls(), [])


class HeldLockTests(SynchronousTestCase):
    """
    Someone else holds the status file's lock (another user, a stuck
    script): sets fail within the service's lock timeout with the usual
    sentence and one log line naming the lock, outside edits are still
    seen, and stopping is not held up.
    """

    def setUp(self) -> None:
        self.path = FilePath(self.mktemp())
        self.path.setContent(b"moshez: happy and well\nshawn: alive\n")
        self.lock = self.path.sibling("." + self.path.basename() + ".lock")
        self.clock = ThreadlessClock()

    def service(self, **kwargs: Any) -> FileFingerService:
        kwargs.setdefault("lockTimeout", 5.0)
        service = FileFingerService(self.path.path, reactor=self.clock, watch=None, **kwargs)
        service.startService()
        self.addCleanup(service.stopService)
        # A first set makes the lock file, as on any server that ever saved.
        self.successResultOf(service.setUser("shawn", "first"))
        return service

    def hold(self) -> Callable[[], None]:
        """
        Take a shared flock on the lock file through an open file
        description of the test's own: locks of two descriptions conflict
        even in one process.

        @return: what lets it go.
        """
        fd = os.open(self.lock.path, os.O_RDONLY)
        fcntl.flock(fd, fcntl.LOCK_SH)
        released: List[bool] = []

        def release() -> None:
            if not released:
                released.append(True)
                os.close(fd)

        self.addCleanup(release)
        return release

    def test_setFailsAtTheDeadline(self) -> None:
        """
        A set waits for the lock for C{lockTimeout} seconds, then fails with
        L{statuslock.LockBusy}; one error is logged, naming the lock file.
        A set made while the first waits fails with it.  The file is
        untouched and the service still serves what it had.
        """
        service = self.service()
        before = self.path.getContent()
        self.hold()
        with capturedLogs() as events:
            first = service.setUser("shawn", "x")
            self.clock.advance(4)
            second = service.setUser("moshez", "y")
            self.clock.advance(0.9)
            self.assertNoResult(first)
            self.assertNoResult(second)
            self.clock.advance(0.1)
            failure = self.failureResultOf(first, statuslock.LockBusy)
            self.failureResultOf(second, statuslock.LockBusy)
        self.assertIsInstance(failure.value, StatusNotSaved)
        errors = [e for e in events if e["log_level"] >= LogLevel.warn]
        self.assertEqual(len(errors), 1)
        self.assertIn(self.lock.path, formatEvent(errors[0]))
        self.assertEqual(self.path.getContent(), before)
        self.assertEqual(self.successResultOf(service.getUser("shawn")), "first")
        # The interval's check, and no more tries.
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)

    def test_setterClientToldNotSaved(self) -> None:
        """
        The setter's client is told the usual sentence for a set that was
        not saved, within the lock timeout, well before the setter's own
        deadline would say that it timed out.
        """
        service = self.service()
        self.hold()
        factory = FingerSetterFactoryFromService(service, clock=self.clock)
        transport = StringTransport()
        protocol = factory.buildProtocol(None)
        assert protocol is not None
        protocol.makeConnection(transport)
        protocol.dataReceived(b"shawn\r\naway\r\n")
        self.clock.advance(service.lockTimeout)
        self.assertLess(service.lockTimeout, factory.lookupTimeout)
        self.assertEqual(transport.value(), f"Error: {NOT_SAVED}\r\n".encode())

    def test_savedOnceLetGo(self) -> None:
        """
        A lock let go before the deadline is taken at the next try, and the
        set is saved.
        """
        service = self.service()
        release = self.hold()
        d = service.setUser("shawn", "x")
        self.clock.advance(1)
        self.assertNoResult(d)
        release()
        self.clock.advance(statuslock.LOCK_RETRY[1])
        self.successResultOf(d)
        self.assertIn(b"shawn: x\n", self.path.getContent())

    def test_outsideEditSeenWhileHeld(self) -> None:
        """
        While a set waits for the held lock, the file is still checked, and
        an outside edit is served; the set, once it fails, changes nothing.
        """
        service = self.service(lockTimeout=60.0)
        self.hold()
        d = service.setUser("shawn", "x")
        self.path.setContent(b"moshez: edited\nshawn: alive\n")
        os.utime(self.path.path, ns=(0, 123456789))
        self.clock.advance(service.interval)
        self.assertNoResult(d)
        self.assertEqual(self.successResultOf(service.getUser("moshez")), "edited")
        service.check()
        self.clock.advance(60)
        self.failureResultOf(d, statuslock.LockBusy)
        self.assertEqual(self.path.getContent(), b"moshez: edited\nshawn: alive\n")

    def test_lockTakenWhileChecking(self) -> None:
        """
        A lock that comes free while a check reads the file is held until
        the check ends, then the save goes ahead with what the check read.
        """
        clock = HeldThreadsClock()
        self.clock = clock
        service = FileFingerService(self.path.path, reactor=clock, watch=None)
        service.startService()
        self.addCleanup(service.stopService)
        self.path.setContent(b"moshez: edited\n")
        os.utime(self.path.path, ns=(0, 123456789))
        service.check()
        self.assertEqual(clock.held, 1)
        d = service.setUser("shawn", "x")
        self.assertEqual(clock.held, 1)
        clock.runOne()
        self.assertEqual(clock.held, 1)
        clock.runOne()
        self.successResultOf(d)
        self.assertEqual(self.path.getContent(), b"moshez: edited\nshawn: x\n")

    def test_stopNotHeldUp(self) -> None:
        """
        Stopping fails the sets waiting for the held lock at once, and
        leaves nothing scheduled: nothing keeps the process alive.
        """
        service = self.service(lockTimeout=3600.0)
        self.hold()
        d = service.setUser("shawn", "x")
        self.clock.advance(1)
        self.successResultOf(service.stopService())
        failure = self.failureResultOf(d, StatusNotSaved)
        self.assertIn("stopping", failure.getErrorMessage())
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_looseLockMadePrivate(self) -> None:
        """
        A lock file other users could open (made by an older version, 0644)
        is made 0600 at the next set, and that is logged once.
        """
        self.lock.setContent(b"")
        self.lock.chmod(0o644)
        service = FileFingerService(self.path.path, reactor=self.clock, watch=None)
        with capturedLogs() as events:
            self.successResultOf(service.setUser("shawn", "x"))
            self.successResultOf(service.setUser("shawn", "y"))
        self.assertEqual(os.stat(self.lock.path).st_mode & 0o777, 0o600)
        warnings = [e for e in events if e["log_level"] >= LogLevel.warn]
        self.assertEqual(len(warnings), 1)
        self.assertIn(self.lock.path, formatEvent(warnings[0]))

    def test_lockFileRefused(self) -> None:
        """
        A lock file that cannot be used (a directory in its place) fails
        the set at once, naming it.
        """
        service = FileFingerService(self.path.path, reactor=self.clock, watch=None)
        self.lock.makedirs()
        failure = self.failureResultOf(service.setUser("shawn", "x"), StatusNotSaved)
        self.assertIn(self.lock.path, failure.getErrorMessage())


class HeldLockServerTests(TestCase):
    """
    The whole server, run by twistd, while the test holds a shared flock on
    its status file's lock.
    """

    timeout = 60

    def setUp(self) -> None:
        self.directory = os.path.abspath(self.mktemp())
        os.makedirs(self.directory)
        self.path = os.path.join(self.directory, "users")
        with open(self.path, "w") as f:
            f.write("moshez: happy and well\n")
        self.lock = statuslock.lockPath(self.path)
        self.log = os.path.join(self.directory, "twistd.log")
        self.setterPort = freePort()

    async def start(self, *extra: str) -> "subprocess.Popen[bytes]":
        """
        Start C{twistd finger} on the status file, with the setter on a
        free loopback port, and wait until the setter listens; kill it when
        the test ends, if it still runs.
        """
        process = subprocess.Popen(
            TWISTD
            + ["--nodaemon", "--pidfile=", "--logfile", self.log, "finger", "--file", self.path]
            + ["--fingerport", "tcp:0:interface=127.0.0.1", "--webport", "tcp:0:interface=127.0.0.1"]
            + ["--setterport", f"tcp:{self.setterPort}:interface=127.0.0.1", "--no-pb", *extra],
            cwd=self.directory,
            env=cleanEnvironment(PYTHONPATH=CHECKOUT),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def stop() -> None:
            if process.poll() is None:
                process.kill()
                process.wait()

        self.addCleanup(stop)

        def listening() -> bool:
            if process.poll() is not None:
                self.fail(f"twistd exited with {process.returncode}; see {self.log}")
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", self.setterPort)) == 0

        await waitFor(reactor, listening, "the setter to listen", timeout=30)
        return process

    def set(self, user: str, status: str) -> "Deferred[bytes]":
        return exchange(
            reactor, f"tcp:127.0.0.1:{self.setterPort}", f"{user}\n{status}\n".encode(), timeout=30
        )

    def hold(self) -> None:
        """
        Take a shared flock on the lock file, as another process would, until
        the test ends.
        """
        fd = os.open(self.lock, os.O_RDONLY)
        self.addCleanup(os.close, fd)
        fcntl.flock(fd, fcntl.LOCK_SH)

    def lockOpenIn(self, process: "subprocess.Popen[bytes]") -> bool:
        """
        Has C{process} the lock file open (as it has while a set waits for
        the lock)?
        """
        lock = os.stat(self.lock)
        directory = f"/proc/{process.pid}/fd"
        for name in os.listdir(directory):
            try:
                other = os.stat(os.path.join(directory, name))
            except OSError:
                continue
            if (other.st_dev, other.st_ino) == (lock.st_dev, lock.st_ino):
                return True
        return False

    async def test_setFailsNamingTheLock(self) -> None:
        """
        While the lock is held, a set through the setter gets the usual
        sentence once C{--backend-timeout} has passed, and the log has one
        line about it, naming the lock file.
        """
        await self.start("--backend-timeout", "1")
        saved = "OK: status of moshez saved\r\n".encode()
        self.assertEqual(await self.set("moshez", "first"), saved)
        self.hold()
        self.assertEqual(await self.set("moshez", "second"), f"Error: {NOT_SAVED}\r\n".encode())

        def lockLines() -> List[str]:
            with open(self.log, encoding="utf-8") as f:
                return [line for line in f if self.lock in line]

        lines = await waitFor(reactor, lockLines, "a log line naming the lock")
        self.assertEqual(len(lines), 1, lines)
        with open(self.path, encoding="utf-8") as f:
            self.assertEqual(f.read(), "moshez: first\n")

    async def test_sigtermWhileHeld(self) -> None:
        """
        SIGTERM stops the server within 10 seconds while the lock is held and
        a set waits for it, however long the set would wait.
        """
        if not os.path.isdir("/proc/self/fd"):
            raise SkipTest("this system has no /proc/PID/fd")
        process = await self.start("--backend-timeout", "3600")
        self.assertEqual(
            await self.set("moshez", "first"), "OK: status of moshez saved\r\n".encode()
        )
        self.hold()
        waiting = self.set("moshez", "second")
        await waitFor(reactor, lambda: self.lockOpenIn(process), "the set to wait for the lock")
        process.send_signal(signal.SIGTERM)
        await waitFor(reactor, lambda: process.poll() is not None, "twistd to exit", timeout=10)
        # twistd ends itself with the signal it got, to report it.
        self.assertIn(process.returncode, (0, -signal.SIGTERM))
        answer = await waiting
        self.assertIn(answer, (b"", f"Error: {NOT_SAVED}\r\n".encode()))


class FakeWatch:
    """
    A L{finger.backends.file.Watch} that the test drives: it records what
    is watched, and the test says when a file changed.

    @ivar calls: the reactor and directory of each watch started.
    @ivar changed: what to call with a file's name, while watching.
    @ivar unavailable: if set, why watching fails.
    """

    def __init__(self, unavailable: Optional[str] = None) -> None:
        self.calls: List[Any] = []
        self.changed: Optional[Callable[[str], None]] = None
        self.unavailable = unavailable

    def __call__(
        self, reactor: Any, directory: str, changed: Callable[[str], None]
    ) -> Callable[[], None]:
        if self.unavailable is not None:
            raise WatchUnavailable(self.unavailable)
        self.calls.append((reactor, directory))
        self.changed = changed
        return self.stop

    def stop(self) -> None:
        self.changed = None

    def announce(self, name: str) -> None:
        """
        Say that the file C{name} in the watched directory changed.
        """
        assert self.changed is not None, "not watching"
        self.changed(name)


class WatchTests(SynchronousTestCase):
    """
    A service watches its file's directory and checks the file soon after
    it changes, rather than at the next interval.
    """

    def setUp(self) -> None:
        self.path = FilePath(self.mktemp())
        self.path.setContent(b"moshez: happy and well\nshawn: alive\n")
        self.clock = ThreadlessClock()
        self.watch = FakeWatch()

    def service(self, **kwargs: Any) -> FileFingerService:
        kwargs.setdefault("reactor", self.clock)
        kwargs.setdefault("watch", self.watch)
        service = FileFingerService(self.path.path, interval=3600, **kwargs)
        service.startService()
        self.addCleanup(service.stopService)
        return service

    def edit(self, content: bytes) -> None:
        """
        Change the file as another process would: a new file renamed over it.
        """
        other = self.path.siblingExtension(".new")
        other.setContent(content)
        os.rename(other.path, self.path.path)

    def countReads(self) -> List[str]:
        reads: List[str] = []
        read = statusfile.read

        def counted(path: str) -> statusfile.Snapshot:
            reads.append(path)
            return read(path)

        self.patch(statusfile, "read", counted)
        return reads

    def test_watchesDirectory(self) -> None:
        """
        The directory holding the file is watched (a save replaces the file
        itself), with the service's reactor.
        """
        self.service()
        self.assertEqual(self.watch.calls, [(self.clock, self.path.parent().path)])

    def test_changeReadAfterSettling(self) -> None:
        """
        A change to the file is read L{SETTLE} seconds after it is seen, not
        at the next interval.
        """
        service = self.service()
        self.edit(b"glyph: hacking\n")
        self.watch.announce(self.path.basename())
        self.clock.advance(SETTLE / 2)
        self.assertEqual(self.successResultOf(service.getUsers()), ["moshez", "shawn"])
        self.clock.advance(SETTLE / 2)
        self.assertEqual(self.successResultOf(service.getUsers()), ["glyph"])
        self.assertEqual(self.clock.getDelayedCalls()[0].getTime(), 3600)

    def test_settleIsASetting(self) -> None:
        service = self.service(settle=2.0)
        self.edit(b"glyph: hacking\n")
        self.watch.announce(self.path.basename())
        self.clock.advance(1.9)
        self.assertEqual(self.successResultOf(service.getUsers()), ["moshez", "shawn"])
        self.clock.advance(0.1)
        self.assertEqual(self.successResultOf(service.getUsers()), ["glyph"])

    def test_otherFilesIgnored(self) -> None:
        """
        Changes to other files in the directory, a save's temporary file
        among them, are not a reason to look at the status file.
        """
        self.service()
        for name in ["." + self.path.basename() + ".abcdefgh.tmp", "other", "users.bak"]:
            self.watch.announce(name)
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)  # the interval's

    def test_burstCheckedOnce(self) -> None:
        """
        Many events close together (a save makes several) are one check.
        """
        self.service()
        checks = []
        self.patch(statusfile, "readIfChanged", lambda path, identity: checks.append(path))
        for _ in range(10):
            self.watch.announce(self.path.basename())
            self.clock.advance(SETTLE / 20)
        self.clock.advance(SETTLE)
        self.assertEqual(checks, [self.path.path])

    def test_ownSaveNotReadBack(self) -> None:
        """
        The event a service's own save makes does not make it read the file
        back: it knows what it wrote.
        """
        service = self.service()
        self.successResultOf(service.setUser("shawn", "busy"))
        reads = self.countReads()
        self.watch.announce(self.path.basename())
        self.clock.advance(SETTLE)
        self.assertEqual(reads, [])
        self.assertEqual(self.successResultOf(service.getUser("shawn")), "busy")

    def test_changeDuringSaveCheckedAfter(self) -> None:
        """
        A change seen while a save is under way, which may have read the
        file before it, is checked once the save is done.
        """
        clock = HeldThreadsClock()
        service = self.service(reactor=clock)
        d = service.setUser("shawn", "busy")
        self.watch.announce(self.path.basename())
        clock.advance(SETTLE)
        self.assertEqual(clock.held, 1)
        clock.runOne()
        self.successResultOf(d)
        # Another process saved just after this one.
        self.edit(b"moshez: happy and well\nshawn: busy\nglyph: hacking\n")
        self.assertEqual(clock.held, 1)
        clock.runOne()
        self.assertEqual(self.successResultOf(service.getUsers()), ["moshez", "shawn", "glyph"])
        self.assertEqual(clock.held, 0)

    def test_intervalCheckStays(self) -> None:
        """
        The interval check goes on while watching, for what a watch misses.
        """
        service = self.service()
        self.edit(b"glyph: hacking\n")
        self.clock.advance(3600)
        self.assertEqual(self.successResultOf(service.getUsers()), ["glyph"])

    def test_startLogsWatching(self) -> None:
        service = FileFingerService(self.path.path, reactor=self.clock, watch=self.watch)
        with capturedLogs() as events:
            service.startService()
        self.addCleanup(service.stopService)
        [line] = events
        self.assertEqual(line["log_level"], LogLevel.info)
        self.assertIn("watching it for changes", line["log_format"])

    def test_unavailableFallsBack(self) -> None:
        """
        Where nothing can watch, the start line says why (once), and the
        file is checked every interval.
        """
        with capturedLogs() as events:
            service = self.service(watch=FakeWatch(unavailable="no inotify here"))
        [line] = events
        self.assertEqual(line["log_level"], LogLevel.info)
        self.assertEqual(line["interval"], 3600)
        self.assertIn("no inotify here", line["why"])
        self.edit(b"glyph: hacking\n")
        self.clock.advance(3600)
        self.assertEqual(self.successResultOf(service.getUsers()), ["glyph"])

    def test_noWatch(self) -> None:
        """
        With C{watch=None}, nothing is watched and the start line says only
        how often the file is checked.
        """
        with capturedLogs() as events:
            self.service(watch=None)
        [line] = events
        self.assertEqual(line["why"], "")
        self.assertEqual(line["interval"], 3600)

    def test_stopUnwatches(self) -> None:
        """
        Stopping the service stops the watch and forgets a check that was
        about to happen.
        """
        service = self.service()
        self.watch.announce(self.path.basename())
        self.assertEqual(len(self.clock.getDelayedCalls()), 2)
        self.successResultOf(service.stopService())
        self.assertIsNone(self.watch.changed)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_defaultWatchNeedsDescriptors(self) -> None:
        """
        L{watchDirectory} refuses a reactor that cannot watch file
        descriptors (such as a L{Clock}); the service then falls back to the
        interval.
        """
        error = self.assertRaises(
            WatchUnavailable, watchDirectory, Clock(), self.path.parent().path, lambda name: None
        )
        self.assertIn("file descriptors", str(error))
        service = FileFingerService(self.path.path, reactor=self.clock)
        with capturedLogs() as events:
            service.startService()
        self.addCleanup(service.stopService)
        self.assertIn("file descriptors", events[0]["why"])

    def test_noINotify(self) -> None:
        """
        Where Twisted has no inotify (not Linux), L{watchDirectory} says so.
        """
        self.patch(fileModule, "inotify", None)
        error = self.assertRaises(
            WatchUnavailable, watchDirectory, reactor, self.path.parent().path, lambda name: None
        )
        self.assertIn("no inotify", str(error))

    def test_inotifyFails(self) -> None:
        """
        When inotify cannot start (too many instances, or no such system
        call), L{watchDirectory} says why.
        """
        if fileModule.inotify is None:
            raise SkipTest("inotify is not available here")
        real = fileModule.inotify

        class Failing:
            INotifyError = real.INotifyError

            @staticmethod
            def INotify(reactor: Any) -> None:
                raise real.INotifyError("INotify initialization error.")

        self.patch(fileModule, "inotify", Failing)
        error = self.assertRaises(
            WatchUnavailable, watchDirectory, reactor, self.path.parent().path, lambda name: None
        )
        self.assertIn("initialization error", str(error))


class SharedFileTests(TestCase):
    """
    Several services, with the real reactor and inotify, on one status
    file: each sees the others' sets, and outside edits, within a second.
    """

    if not platform.supportsINotify():
        skip = "inotify is not available here"

    def setUp(self) -> None:
        self.path = FilePath(self.mktemp())
        self.path.setContent(b"moshez: happy and well\n")

    def service(self) -> FileFingerService:
        # The interval is long: only watching can see a change in time.
        service = FileFingerService(self.path.path, interval=3600, reactor=reactor)
        service.startService()
        self.addCleanup(service.stopService)
        return service

    async def seen(self, service: FileFingerService, user: str, status: str) -> None:
        def unknown(reason: Failure) -> bool:
            reason.trap(UnknownUser)
            return False

        def check() -> Any:
            return service.getUser(user).addCallbacks(lambda found: found == status, unknown)

        await waitFor(reactor, check, f"{user}: {status}", timeout=1.0)

    async def test_setSeenByOther(self) -> None:
        """
        A set on one service is seen by the other within a second.
        """
        one, other = self.service(), self.service()
        await one.setUser("zoë", "à Paris")
        await self.seen(other, "zoë", "à Paris")
        await other.setUser("moshez", "back")
        await self.seen(one, "moshez", "back")
        self.assertEqual(await one.getUsers(), ["moshez", "zoë"])

    async def test_concurrentSetsAgree(self) -> None:
        """
        Sets made on both services at once are all kept, and both soon serve
        the same statuses.
        """
        one, other = self.service(), self.service()
        await gatherResults(
            [one.setUser(f"a{n}", "set") for n in range(20)]
            + [other.setUser(f"b{n}", "set") for n in range(20)]
        )
        await self.seen(one, "b19", "set")
        await self.seen(other, "a19", "set")
        expected = ["moshez"] + [f"{p}{n}" for p in "ab" for n in range(20)]
        self.assertEqual(sorted(await one.getUsers()), sorted(expected))
        self.assertEqual(sorted(await other.getUsers()), sorted(expected))
        self.assertEqual(sorted(statusfile.read(self.path.path).statuses), sorted(expected))

    async def test_renamedEditSeen(self) -> None:
        """
        An edit saved by writing a new file and renaming it over the old
        one (as editors and configuration tools do) is seen within a second.
        """
        service = self.service()
        other = self.path.siblingExtension(".new")
        other.setContent(b"moshez: renamed\n")
        os.rename(other.path, self.path.path)
        await self.seen(service, "moshez", "renamed")

    async def test_inPlaceEditSeen(self) -> None:
        """
        An edit written into the file itself is seen within a second.
        """
        service = self.service()
        with open(self.path.path, "ab") as f:
            f.write(b"glyph: appended\n")
        await self.seen(service, "glyph", "appended")
        with open(self.path.path, "wb") as f:
            f.write(b"moshez: rewritten in place\n")
        await self.seen(service, "moshez", "rewritten in place")
        self.assertEqual(await service.getUsers(), ["moshez"])
