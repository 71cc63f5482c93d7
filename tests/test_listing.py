"""
Tests for L{finger.listing}: the user listing, built once per change of the
statuses.
"""

import os
from typing import Callable, List, Optional

from twisted.internet.defer import CancelledError, Deferred, fail, succeed
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer
from twisted.python.filepath import FilePath
from zope.interface.verify import verifyObject

from finger.backends.file import FileFingerService
from finger.backends.memory import MemoryFingerService
from finger.backends.sql import SQLFingerService
from finger.interfaces import IFingerService, IVersionedFingerService, UnknownUser
from finger.listing import MAX_LISTED, UNVERSIONED_LIFETIME, Listing, Snapshot
from finger.testing import FaultyService, ThreadlessClock
from tests.backends.test_sql import FakeDatabase, FakeReactor, HeldReactor


class CountingService(FaultyService):
    """
    A L{FaultyService} that can hold the list of users back until a test
    releases it.

    @ivar held: the answers held back, in order; L{None} while answers come
        at once.
    """

    def __init__(self, **users: str) -> None:
        super().__init__(**users)
        self.held: "Optional[List[Deferred[List[str]]]]" = None

    def getUsers(self) -> "Deferred[List[str]]":
        if self.held is None:
            return super().getUsers()
        self.listed += 1
        d: Deferred[List[str]] = Deferred(lambda d: self.cancelled.append("*"))
        self.held.append(d)
        return d


@implementer(IFingerService)
class UnversionedService:
    """
    A back-end that cannot say when its statuses change, as local accounts
    and the asking back-ends cannot.
    """

    def __init__(self, **users: str) -> None:
        self.users = users
        self.listed = 0

    def getUser(self, user: str) -> "Deferred[str]":
        if user not in self.users:
            return fail(UnknownUser(user))
        return succeed(self.users[user])

    def getUsers(self) -> "Deferred[List[str]]":
        self.listed += 1
        return succeed(list(self.users))


class SnapshotTests(SynchronousTestCase):
    def test_view(self) -> None:
        """
        A view of a snapshot is made once for each key, and the same object
        is given every time after.
        """
        snapshot = Snapshot([("alice", "happy")], 3)
        made: List[int] = []

        def make(s: Snapshot) -> List[str]:
            made.append(1)
            return [name for name, status in s.entries]

        first = snapshot.view("names", make)
        self.assertEqual(first, ["alice"])
        self.assertIs(snapshot.view("names", make), first)
        self.assertEqual(len(made), 1)
        self.assertEqual(snapshot.view("other", make), ["alice"])
        self.assertEqual(len(made), 2)
        self.assertEqual(snapshot.hidden, 2)


class ListingTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.service = CountingService(alice="happy", bob="busy", carol="away")
        self.clock = Clock()
        self.listing = Listing(self.service, self.clock)

    def test_versioned(self) -> None:
        """
        The table back-ends count their changes.
        """
        self.assertTrue(verifyObject(IVersionedFingerService, self.service))

    def test_entries(self) -> None:
        """
        A snapshot holds every user with their status, in the back-end's
        order, and how many users there are.
        """
        snapshot = self.successResultOf(self.listing.snapshot())
        self.assertEqual(
            snapshot.entries, [("alice", "happy"), ("bob", "busy"), ("carol", "away")]
        )
        self.assertEqual((snapshot.total, snapshot.hidden), (3, 0))

    def test_capped(self) -> None:
        """
        At most C{maxListed} users are shown (L{MAX_LISTED} by default); the
        snapshot says how many are not.
        """
        self.assertEqual(self.listing.maxListed, MAX_LISTED)
        snapshot = self.successResultOf(Listing(self.service, self.clock, maxListed=2).snapshot())
        self.assertEqual([name for name, status in snapshot.entries], ["alice", "bob"])
        self.assertEqual((snapshot.total, snapshot.hidden), (3, 1))
        self.assertNotIn("carol", self.service.asked)

    def test_builtOncePerChange(self) -> None:
        """
        Until the statuses change, every listing is the same snapshot, and
        the back-end is asked once.
        """
        first = self.successResultOf(self.listing.snapshot())
        asked = len(self.service.asked)
        for _ in range(10):
            self.assertIs(self.successResultOf(self.listing.snapshot()), first)
        self.assertEqual(self.service.listed, 1)
        self.assertEqual(len(self.service.asked), asked)

    def test_setShows(self) -> None:
        """
        Once a set has finished, the next listing shows it.
        """
        self.successResultOf(self.listing.snapshot())
        self.successResultOf(self.service.setUser("bob", "back"))
        self.successResultOf(self.service.setUser("dave", "new"))
        snapshot = self.successResultOf(self.listing.snapshot())
        self.assertIn(("bob", "back"), snapshot.entries)
        self.assertIn(("dave", "new"), snapshot.entries)
        self.assertEqual(self.service.listed, 2)

    def test_tableReplaced(self) -> None:
        """
        A back-end that replaces its table (a reload) makes a new version.
        """
        self.successResultOf(self.listing.snapshot())
        self.service.users = {"erin": "reloaded"}
        snapshot = self.successResultOf(self.listing.snapshot())
        self.assertEqual(snapshot.entries, [("erin", "reloaded")])

    def test_goneMeanwhile(self) -> None:
        """
        A user listed but gone by the time their status is asked for is
        left out.
        """
        self.service.getUsers = lambda: succeed(["alice", "gone", "bob"])  # type: ignore
        snapshot = self.successResultOf(self.listing.snapshot())
        self.assertEqual(snapshot.entries, [("alice", "happy"), ("bob", "busy")])
        self.assertEqual(snapshot.total, 3)

    def test_failureNotKept(self) -> None:
        """
        A listing fails with the error of the lookup that failed, not a
        wrapper, and the next listing asks again.
        """
        self.service.broken.add("bob")
        self.failureResultOf(self.listing.snapshot(), RuntimeError)
        self.service.broken.clear()
        self.successResultOf(self.listing.snapshot())
        self.assertEqual(self.service.listed, 2)

    def test_oneBuildForAll(self) -> None:
        """
        Listings asked for while one is built wait for that one.
        """
        self.service.held = []
        first, second = self.listing.snapshot(), self.listing.snapshot()
        self.assertNoResult(first)
        self.assertEqual(self.service.listed, 1)
        self.service.held[0].callback(["alice"])
        snapshot = self.successResultOf(first)
        self.assertIs(self.successResultOf(second), snapshot)
        self.assertIs(self.successResultOf(self.listing.snapshot()), snapshot)
        self.assertEqual(self.service.listed, 1)

    def test_changeWhileBuilding(self) -> None:
        """
        A listing asked for after a change does not wait for a build started
        before it: it starts its own.
        """
        self.service.held = []
        before = self.listing.snapshot()
        self.successResultOf(self.service.setUser("alice", "changed"))
        after = self.listing.snapshot()
        self.assertEqual(self.service.listed, 2)
        self.service.held[1].callback(["alice"])
        snapshot = self.successResultOf(after)
        self.assertEqual(snapshot.entries, [("alice", "changed")])
        self.service.held[0].callback(["alice"])
        self.successResultOf(before)
        self.assertIs(self.successResultOf(self.listing.snapshot()), snapshot)

    def test_oneLeaves(self) -> None:
        """
        A listing cancelled while it waits leaves the build to the others.
        """
        self.service.held = []
        leaving, staying = self.listing.snapshot(), self.listing.snapshot()
        leaving.cancel()
        self.failureResultOf(leaving, CancelledError)
        self.assertEqual(self.service.cancelled, [])
        self.service.held[0].callback(["alice"])
        self.assertEqual(self.successResultOf(staying).entries, [("alice", "happy")])

    def test_allLeave(self) -> None:
        """
        Once every listing waiting for a build is cancelled, so is the
        build, and the next listing starts again.
        """
        self.service.held = []
        first, second = self.listing.snapshot(), self.listing.snapshot()
        first.cancel()
        second.cancel()
        self.failureResultOf(first, CancelledError)
        self.failureResultOf(second, CancelledError)
        self.assertEqual(self.service.cancelled, ["*"])
        self.service.held = None
        self.successResultOf(self.listing.snapshot())
        self.assertEqual(self.service.listed, 2)

    def test_stuckStatusCancelled(self) -> None:
        """
        Cancelling the build cancels the status lookups under way.
        """
        self.service.stuck.add("bob")
        d = self.listing.snapshot()
        d.cancel()
        self.failureResultOf(d, CancelledError)
        self.assertEqual(self.service.cancelled, ["bob"])


class UnversionedTests(SynchronousTestCase):
    """
    A back-end that cannot say when it changed: its listing is kept for
    C{lifetime} seconds.
    """

    def test_keptForLifetime(self) -> None:
        service = UnversionedService(alice="happy")
        clock = Clock()
        listing = Listing(service, clock)
        self.assertEqual(listing.lifetime, UNVERSIONED_LIFETIME)
        first = self.successResultOf(listing.snapshot())
        service.users["alice"] = "changed"
        clock.advance(UNVERSIONED_LIFETIME - 0.01)
        self.assertIs(self.successResultOf(listing.snapshot()), first)
        self.assertEqual(service.listed, 1)
        clock.advance(0.01)
        self.assertEqual(
            self.successResultOf(listing.snapshot()).entries, [("alice", "changed")]
        )
        self.assertEqual(service.listed, 2)

    def test_noLifetime(self) -> None:
        """
        With a lifetime of zero, every listing asks the back-end.
        """
        service = UnversionedService(alice="happy")
        listing = Listing(service, Clock(), lifetime=0)
        self.successResultOf(listing.snapshot())
        self.successResultOf(listing.snapshot())
        self.assertEqual(service.listed, 2)



class VersionTests(SynchronousTestCase):
    """
    The table back-ends say when their statuses changed.
    """

    def test_memory(self) -> None:
        """
        L{MemoryFingerService} provides L{IVersionedFingerService}: a set
        makes a new version, a lookup does not.
        """
        service = MemoryFingerService(alice="happy")
        self.assertTrue(verifyObject(IVersionedFingerService, service))
        before = service.version()
        self.successResultOf(service.getUser("alice"))
        self.assertEqual(service.version(), before)
        self.successResultOf(service.setUser("alice", "busy"))
        self.assertNotEqual(service.version(), before)

    def listedAfter(self, service: IFingerService, change: Callable[[], object]) -> Snapshot:
        """
        List C{service}'s users, make C{change}, and list them again.

        @return: the second listing, which must be a new one.
        """
        listing = Listing(service, Clock())
        first = self.successResultOf(listing.snapshot())
        change()
        second = self.successResultOf(listing.snapshot())
        self.assertIsNot(second, first)
        return second

    def test_fileSet(self) -> None:
        """
        A set saved to the status file makes a new version.
        """
        path = FilePath(self.mktemp())
        path.setContent(b"moshez: happy\n")
        service = FileFingerService(path.path, reactor=ThreadlessClock(), watch=None)
        self.assertTrue(verifyObject(IVersionedFingerService, service))
        snapshot = self.listedAfter(
            service, lambda: self.successResultOf(service.setUser("moshez", "busy"))
        )
        self.assertEqual(snapshot.entries, [("moshez", "busy")])

    def test_fileReload(self) -> None:
        """
        The status file read again after someone changed it makes a new
        version.
        """
        path = FilePath(self.mktemp())
        path.setContent(b"moshez: happy\n")
        service = FileFingerService(path.path, reactor=ThreadlessClock(), watch=None)

        def edit() -> None:
            path.setContent(b"moshez: edited by hand\n")
            os.utime(path.path, ns=(0, 123456789))
            service.check()

        snapshot = self.listedAfter(service, edit)
        self.assertEqual(snapshot.entries, [("moshez", "edited by hand")])

    def test_sqlSetAndNotify(self) -> None:
        """
        The database back-end makes a new version when a set is committed,
        and when another node's change is announced.
        """
        clock = FakeReactor()
        # Two users, so that a change to one is read as a change, not as
        # a table to read again whole.
        database = FakeDatabase(moshez="happy", shawn="alive")
        service = SQLFingerService(database, reactor=clock)
        service.startService()
        self.addCleanup(service.stopService)
        self.assertTrue(verifyObject(IVersionedFingerService, service))
        snapshot = self.listedAfter(
            service, lambda: self.successResultOf(service.setUser("moshez", "busy"))
        )
        self.assertEqual(snapshot.entries, [("moshez", "busy"), ("shawn", "alive")])

        def announced() -> None:
            database.change("moshez", "elsewhere")
            database.listeners[-1].queue.append("")
            clock.readers[0].doRead()
            clock.advance(0)

        reads = database.reads
        snapshot = self.listedAfter(service, announced)
        self.assertEqual(database.reads, reads + 1, "one read of the changed rows")
        self.assertEqual(snapshot.entries, [("moshez", "elsewhere"), ("shawn", "alive")])

    def test_sqlBeforeRead(self) -> None:
        """
        A listing asked for before the database was first read shows what
        was read.
        """
        clock = HeldReactor()
        service = SQLFingerService(FakeDatabase(moshez="happy"), reactor=clock)
        service.startService()
        self.addCleanup(service.stopService)
        d = Listing(service, clock).snapshot()
        self.assertNoResult(d)
        while clock.held:
            clock.runOne()
        self.assertEqual(self.successResultOf(d).entries, [("moshez", "happy")])
