"""
The back-ends that can change tell their listeners of each real change
(L{finger.interfaces.IStatusChanges}): the memory back-end, the status file
(sets, and outside edits seen by the watch or the interval check) and the
SQL back-end (sets, and other nodes' changes seen through notifications or
C{data_version}).  The others do not provide it.
"""

import os
from typing import Any, List, Optional, Tuple

from twisted.python.filepath import FilePath
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from finger.backends.command import CommandFingerService
from finger.backends.file import FileFingerService
from finger.backends.http import HTTPFingerService
from finger.backends.local import LocalFingerService
from finger.backends.memory import MemoryFingerService
from finger.backends.proxy import ProxyFingerService
from finger.backends import sql as sqlModule
from finger.backends.sql import SQLFingerService
from finger.changes import MAX_BATCH, ChangeBatch
from finger.interfaces import IStatusChanges
from finger.testing import ThreadlessClock
from tests.backends.test_sql import FakeDatabase, FakeReactor, _noJitter

Heard = List[Tuple[str, Optional[str]]]


def listen(service: Any) -> Tuple[Heard, List[ChangeBatch]]:
    """
    Listen to C{service}: every change heard, as (user, status), and
    every batch.
    """
    heard: Heard = []
    batches: List[ChangeBatch] = []

    def listener(batch: ChangeBatch) -> None:
        batches.append(batch)
        heard.extend((c.user, c.status) for c in batch.changes)

    IStatusChanges(service).subscribe(listener)
    return heard, batches


class ProvidedTests(SynchronousTestCase):
    def test_changing(self) -> None:
        """
        The back-ends whose statuses change provide L{IStatusChanges}.
        """
        self.assertTrue(verifyObject(IStatusChanges, MemoryFingerService()))
        for cls in [FileFingerService, SQLFingerService]:
            self.assertTrue(IStatusChanges.implementedBy(cls), cls)

    def test_notChanging(self) -> None:
        """
        Those whose statuses live elsewhere (and hide users) do not.
        """
        for cls in [LocalFingerService, CommandFingerService, HTTPFingerService, ProxyFingerService]:
            self.assertFalse(IStatusChanges.implementedBy(cls), cls)


class MemoryTests(SynchronousTestCase):
    def test_set(self) -> None:
        """
        A set is told once; setting the same status again is no change.
        """
        service = MemoryFingerService(moshez="Happy")
        heard, _ = listen(service)
        self.successResultOf(service.setUser("moshez", "Happy"))
        self.successResultOf(service.setUser("moshez", "Sad"))
        self.successResultOf(service.setUser("zoë", "à Paris"))
        self.assertEqual(heard, [("moshez", "Sad"), ("zoë", "à Paris")])

    def test_refusedSet(self) -> None:
        service = MemoryFingerService()
        heard, _ = listen(service)
        self.failureResultOf(service.setUser("bad name", "x"))
        self.assertEqual(heard, [])


class FileTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.path = FilePath(self.mktemp())
        self.path.setContent(b"moshez: happy\nshawn: alive\n")
        self.clock = ThreadlessClock()
        self.clock.advance(1000)

    def service(self) -> FileFingerService:
        service = FileFingerService(self.path.path, reactor=self.clock, watch=None)
        service.startService()
        self.addCleanup(service.stopService)
        return service

    def edit(self, content: bytes, stamp: int) -> None:
        self.path.setContent(content)
        os.utime(self.path.path, ns=(0, stamp))

    def test_set(self) -> None:
        """
        A set is told once it is saved, with the clock's time; a set to the
        same status is not.
        """
        service = self.service()
        heard, batches = listen(service)
        self.successResultOf(service.setUser("moshez", "happy"))
        self.successResultOf(service.setUser("moshez", "busy"))
        self.assertEqual(heard, [("moshez", "busy")])
        self.assertEqual(batches[0].changes[0].time, 1000)

    def test_outsideEdit(self) -> None:
        """
        An edit seen by the interval check tells what changed, and only
        that: a user added, a status changed, a user removed.
        """
        service = self.service()
        heard, _ = listen(service)
        self.edit(b"moshez: happy\nzoe: new\nshawn: asleep\n", 1)
        self.clock.advance(30)
        self.assertEqual(heard, [("zoe", "new"), ("shawn", "asleep")])
        self.edit(b"# comment\nzoe: new\nshawn: asleep\n", 2)
        self.clock.advance(30)
        self.assertEqual(heard[2:], [("moshez", None)])

    def test_rewrittenSame(self) -> None:
        """
        A file rewritten with the same statuses tells nothing.
        """
        service = self.service()
        heard, _ = listen(service)
        self.edit(b"# reordered\nshawn: alive\nmoshez: happy\n", 3)
        self.clock.advance(30)
        self.assertEqual(heard, [])
        self.assertEqual(service.users, {"shawn": "alive", "moshez": "happy"})

    def test_emptyIgnored(self) -> None:
        """
        An empty file (caught half-written) is not taken for everyone gone.
        """
        service = self.service()
        heard, _ = listen(service)
        self.edit(b"", 4)
        self.clock.advance(30)
        self.assertEqual(heard, [])

    def test_tooMany(self) -> None:
        """
        A file replaced with one that changes more users than a batch lists
        is told as an incomplete batch.
        """
        service = self.service()
        _, batches = listen(service)
        many = b"".join(b"u%d: x\n" % (i,) for i in range(MAX_BATCH + 1))
        self.edit(many, 5)
        self.clock.advance(30)
        self.assertEqual(batches, [ChangeBatch((), complete=False)])

    def test_notListening(self) -> None:
        """
        With no one listening, nothing is compared.
        """
        service = self.service()
        self.assertFalse(service.listening)
        self.edit(b"moshez: other\n", 6)
        self.clock.advance(30)
        self.assertEqual(service.users, {"moshez": "other"})


class SQLTests(SynchronousTestCase):
    def service(self, database: FakeDatabase, clock: Any) -> SQLFingerService:
        service = SQLFingerService(database, reactor=clock, timeout=5.0, retryDelay=_noJitter)
        service.startService()
        self.addCleanup(service.stopService)
        return service

    def test_firstReadNoChange(self) -> None:
        """
        The first read of the table tells nothing: nothing changed.
        """
        clock = FakeReactor()
        service = SQLFingerService(FakeDatabase(moshez="Happy"), reactor=clock)
        heard, _ = listen(service)
        service.startService()
        self.addCleanup(service.stopService)
        self.assertEqual(heard, [])

    def test_set(self) -> None:
        """
        A committed set is told once; the notification of its own change
        that comes back tells nothing more.
        """
        clock = FakeReactor()
        database = FakeDatabase(moshez="Happy")
        service = self.service(database, clock)
        heard, _ = listen(service)
        self.successResultOf(service.setUser("moshez", "Sad"))
        self.successResultOf(service.setUser("moshez", "Sad"))
        database.listeners[-1].queue.append("finger_status")
        for reader in clock.readers:
            reader.doRead()
        clock.advance(1)
        self.assertEqual(heard, [("moshez", "Sad")])

    def test_otherNode(self) -> None:
        """
        A change another node made, read after a notification, is told.
        """
        clock = FakeReactor()
        database = FakeDatabase(moshez="Happy")
        service = self.service(database, clock)
        heard, _ = listen(service)
        database.change("zoë", "from B")
        database.change("moshez", "Happy")
        database.listeners[-1].queue.append("finger_status")
        for reader in list(clock.readers):
            reader.doRead()
        clock.advance(1)
        self.assertEqual(heard, [("zoë", "from B")])

    def test_reload(self) -> None:
        """
        A whole read of the table (after an outage, or polling) tells what
        differs from the table served, removals too.
        """
        clock = FakeReactor()
        database = FakeDatabase(notifies=False, moshez="Happy", bob="here")
        service = self.service(database, clock)
        heard, _ = listen(service)
        del database.rows["bob"]
        database.change("moshez", "Elsewhere")
        database.versionNumber += 1
        clock.advance(1)
        self.assertEqual(heard, [("moshez", "Elsewhere"), ("bob", None)])


    def test_largeReload(self) -> None:
        """
        A whole read of a table too large to compare in the reactor's
        thread is told as an incomplete batch: everything may have changed.
        """
        self.patch(sqlModule, "COMPARED_IN_REACTOR", 1)
        clock = FakeReactor()
        database = FakeDatabase(notifies=False, moshez="Happy", bob="here")
        service = self.service(database, clock)
        _, batches = listen(service)
        database.change("moshez", "Elsewhere")
        database.versionNumber += 1
        clock.advance(1)
        self.assertEqual(batches, [ChangeBatch((), complete=False)])
        self.assertEqual(self.successResultOf(service.getUser("moshez")), "Elsewhere")


class SQLiteTests(SynchronousTestCase):
    def test_twoProcesses(self) -> None:
        """
        On SQLite a set through one connection is told by the service on
        the other once it polls.
        """
        url = "sqlite:" + os.path.abspath(self.mktemp())
        clock = FakeReactor()
        one = SQLFingerService(url, reactor=clock)
        two = SQLFingerService(url, reactor=clock)
        for service in (one, two):
            service.startService()
            self.addCleanup(service.stopService)
        heardOne, _ = listen(one)
        heardTwo, _ = listen(two)
        self.successResultOf(one.setUser("moshez", "From one"))
        clock.advance(1)
        self.assertEqual(heardOne, [("moshez", "From one")])
        self.assertEqual(heardTwo, [("moshez", "From one")])
