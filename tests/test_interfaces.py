"""
Tests for L{finger.interfaces}: the errors that are part of the contract.
"""

from twisted.trial.unittest import SynchronousTestCase

from finger.interfaces import StatusNotSaved, UnknownUser
from finger.messages import NO_SUCH_USER


class UnknownUserTests(SynchronousTestCase):
    def test_user(self) -> None:
        """
        The error keeps the name asked for and says the tutorial's words.
        """
        error = UnknownUser("zoë")
        self.assertEqual(error.user, "zoë")
        self.assertEqual(str(error), f"{NO_SUCH_USER}: 'zoë'")
        self.assertIsInstance(error, LookupError)

    def test_statusNotSaved(self) -> None:
        self.assertEqual(str(StatusNotSaved("disk full")), "disk full")
