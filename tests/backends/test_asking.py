"""
Tests for L{finger.backends.asking}: what the back-ends that ask elsewhere
for each status share.
"""

from typing import Dict

from twisted.internet.defer import CancelledError, Deferred
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from finger.backends.asking import AskingFingerService
from finger.interfaces import IFingerService, UnknownUser


class _Asker(AskingFingerService):
    """
    Asks nowhere: each question waits until the test answers it.
    """

    def __init__(self, maxConcurrent: int) -> None:
        super().__init__(maxConcurrent)
        self.questions: Dict[str, "Deferred[str]"] = {}

    def ask(self, user: str) -> "Deferred[str]":
        return self.inTurn(self._question, user)

    def _question(self, user: str) -> "Deferred[str]":
        self.questions[user] = Deferred()
        return self.questions[user]


class AskingFingerServiceTests(SynchronousTestCase):
    def test_interface(self) -> None:
        self.assertTrue(verifyObject(IFingerService, _Asker(1)))

    def test_noUsersListed(self) -> None:
        self.assertEqual(self.successResultOf(_Asker(1).getUsers()), [])

    def test_invalidNameNotAsked(self) -> None:
        """
        A name that breaks the naming rules is unknown, and nobody is asked.
        """
        asker = _Asker(1)
        for name in ["", "-x", "a b", "x" * 1000]:
            failure = self.failureResultOf(asker.getUser(name), UnknownUser)
            self.assertEqual(failure.value.user, name)
        self.assertEqual(asker.questions, {})

    def test_inTurn(self) -> None:
        """
        At most C{maxConcurrent} questions are under way; the next starts
        when one is answered.
        """
        asker = _Asker(2)
        answers = [asker.getUser(name) for name in ["alice", "bob", "carol"]]
        self.assertEqual(sorted(asker.questions), ["alice", "bob"])
        asker.questions["bob"].callback("busy")
        self.assertEqual(self.successResultOf(answers[1]), "busy")
        self.assertEqual(sorted(asker.questions), ["alice", "bob", "carol"])
        self.assertNoResult(answers[0])

    def test_cancelWhileWaiting(self) -> None:
        """
        A question cancelled while it waits its turn is never asked.
        """
        asker = _Asker(1)
        first = asker.getUser("alice")
        waiting = asker.getUser("bob")
        waiting.cancel()
        self.failureResultOf(waiting, CancelledError)
        asker.questions["alice"].callback("here")
        self.assertEqual(self.successResultOf(first), "here")
        self.assertEqual(list(asker.questions), ["alice"])
