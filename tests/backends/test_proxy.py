"""
Tests for L{finger.backends.proxy}.
"""

from twisted.internet.defer import Deferred, fail
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from finger.backends.proxy import ProxyFingerService
from finger.interfaces import IFingerService, UnknownUser
from finger.clients.finger import AnswerTooLong
from finger.forwarding import RemoteFinger
from finger.messages import ANSWER_TRUNCATED, COULD_NOT_CONNECT
from tests.test_forwarding import FakeFinger


class ProxyServiceTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.finger = FakeFinger()
        self.service = ProxyFingerService(
            "upstream", 7979, remote=RemoteFinger(Clock(), finger=self.finger)
        )

    def test_interface(self) -> None:
        self.assertTrue(verifyObject(IFingerService, self.service))

    def test_getUser(self) -> None:
        self.assertEqual(self.successResultOf(self.service.getUser("moshez")), "remote answer\r\n")
        self.assertEqual(self.finger.calls[0][0], ("moshez", "upstream", 7979))

    def test_invalid(self) -> None:
        for name in ["u@h", "", "-x", "/W"]:
            self.failureResultOf(self.service.getUser(name), UnknownUser)
        self.assertEqual(self.finger.calls, [])

    def test_unreachable(self) -> None:
        self.finger.results.append(fail(ConnectionRefusedError()))
        self.assertEqual(self.successResultOf(self.service.getUser("moshez")), COULD_NOT_CONNECT)

    def test_getUsers(self) -> None:
        self.assertEqual(self.successResultOf(self.service.getUsers()), [])

    def test_concurrency(self) -> None:
        service = ProxyFingerService(
            "up", remote=RemoteFinger(Clock(), finger=self.finger), maxConcurrent=1
        )
        waiting: Deferred[str] = Deferred()
        self.finger.results.append(waiting)
        first = service.getUser("alice")
        second = service.getUser("bob")
        self.assertEqual(len(self.finger.calls), 1)
        waiting.callback("alice's answer")
        self.assertEqual(self.successResultOf(first), "alice's answer")
        self.successResultOf(second)
        self.assertEqual(len(self.finger.calls), 2)

    def test_truncated(self) -> None:
        """
        An upstream answer over the size cap is relayed up to the cap, with
        the same note as a forwarded one.
        """
        self.finger.results.append(fail(AnswerTooLong("hello", 5)))
        self.assertEqual(
            self.successResultOf(self.service.getUser("moshez")), "hello\n" + ANSWER_TRUNCATED
        )
