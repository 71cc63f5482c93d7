"""
Tests for L{finger.backends.memory}: the table of statuses the memory,
status-file and SQL back-ends answer from, at once
(L{IStatusesAtHand}) or through a L{Deferred}.
"""

from twisted.internet.defer import Deferred
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from finger.backends.memory import MAX_ANSWER_LENGTH, MemoryFingerService, StatusTable
from finger.interfaces import IStatusesAtHand, UnknownUser
from finger.messages import CUT_SHORT


class _OwnLookups(MemoryFingerService):
    """
    A table that answers lookups its own way: they wait for the test.
    """

    def getUser(self, user: str) -> "Deferred[str]":
        return Deferred()


class _OwnLookupsAtOnce(_OwnLookups):
    """
    A table that answers lookups its own way, and says how to at once.
    """

    def statusNow(self, user: str) -> str:
        return "at once"


class StatusesAtHandTests(SynchronousTestCase):
    """
    L{StatusTable.statusNow}: what L{StatusTable.getUser} fires with, now.
    """

    def test_interface(self) -> None:
        """
        A table in memory has its statuses at hand.
        """
        service = MemoryFingerService(moshez="happy")
        self.assertTrue(IStatusesAtHand.implementedBy(StatusTable))
        self.assertTrue(verifyObject(IStatusesAtHand, service))

    def test_sameAsGetUser(self) -> None:
        """
        A known user's status, an unknown user's L{UnknownUser} and a long
        status cut short are what C{getUser} gives.
        """
        service = MemoryFingerService()
        # As a status file edited by hand may hold it.
        service.users = {"moshez": "happy", "long": "x" * (MAX_ANSWER_LENGTH + 10)}
        for user in ("moshez", "long"):
            self.assertEqual(
                service.statusNow(user), self.successResultOf(service.getUser(user))
            )
        self.assertTrue(service.statusNow("long").endswith(CUT_SHORT))  # type: ignore[union-attr]
        self.assertEqual(len(service.statusNow("long") or ""), MAX_ANSWER_LENGTH)
        error = self.assertRaises(UnknownUser, service.statusNow, "nobody")
        self.assertEqual(error.user, "nobody")
        self.failureResultOf(service.getUser("nobody"), UnknownUser)

    def test_followsChanges(self) -> None:
        """
        A status set is the one answered at once.
        """
        service = MemoryFingerService(moshez="happy")
        self.successResultOf(service.setUser("moshez", "busy"))
        self.assertEqual(service.statusNow("moshez"), "busy")

    def test_ownLookups(self) -> None:
        """
        A table whose C{getUser} is its own is never answered at once: its
        C{statusNow} says to ask C{getUser}, unless it has one of its own
        too.
        """
        self.assertIsNone(_OwnLookups(moshez="happy").statusNow("moshez"))
        self.assertIsNone(_OwnLookups().statusNow("nobody"))
        self.assertEqual(_OwnLookupsAtOnce(moshez="happy").statusNow("moshez"), "at once")
