"""
Tests for L{finger.forwarding}.
"""

from typing import Any, Dict, List, Tuple

from twisted.internet import reactor
from twisted.internet.defer import Deferred, fail, inlineCallbacks, succeed
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.task import Clock
from twisted.logger import capturedLogs
from twisted.trial.unittest import SynchronousTestCase, TestCase
from zope.interface.verify import verifyObject

from finger.backends.memory import MemoryFingerService
from finger.clients.finger import AnswerTooLong, finger
from finger.forwarding import FingerForwarder, RemoteFinger, parseAllowList
from finger.frontends.finger import FingerFactoryFromService  # noqa: F401 (adapter)
from finger.interfaces import IFingerFactory, IFingerForwarder
from finger.messages import (
    ANSWER_TRUNCATED,
    COULD_NOT_CONNECT,
    FORWARDING_BUSY,
    FORWARDING_DENIED,
)
from tests.support import freePort, listenOnLoopback


class FakeFinger:
    """
    Stands in for L{finger.clients.finger.finger}: records the calls, and answers
    with what the test says.
    """

    def __init__(self) -> None:
        self.calls: List[Tuple[Tuple[Any, ...], Dict[str, Any]]] = []
        self.results: List["Deferred[str]"] = []

    def __call__(self, *args: Any, **kwargs: Any) -> "Deferred[str]":
        self.calls.append((args, kwargs))
        if self.results:
            return self.results.pop(0)
        return succeed("remote answer\r\n")


class AllowListTests(SynchronousTestCase):
    def test_entries(self) -> None:
        self.assertEqual(
            parseAllowList(["Example.COM", "h:7979", "[::1]:7979", "10.0.0.1"]),
            {
                "example.com": ("Example.COM", 79),
                "h": ("h", 7979),
                "::1": ("::1", 7979),
                "10.0.0.1": ("10.0.0.1", 79),
            },
        )

    def test_bad(self) -> None:
        for entry in ["", "h:x", "bad host", "h/x", "-h"]:
            self.assertRaises(ValueError, parseAllowList, [entry])


class ForwarderTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.finger = FakeFinger()
        self.clock = Clock()
        self.forwarder = FingerForwarder(
            ["example.com", "other.org:7979"],
            remote=RemoteFinger(
                self.clock, connectTimeout=3, readTimeout=4, maxBytes=5, finger=self.finger
            ),
            maxHops=2,
            maxConcurrent=2,
        )

    def test_interface(self) -> None:
        self.assertTrue(verifyObject(IFingerForwarder, self.forwarder))

    def test_forward(self) -> None:
        """
        The query goes to the right-most host, at the port its allow-list
        entry names, with the forwarder's limits; the answer is relayed.
        """
        d = self.forwarder.forward("moshez@Example.com", False)
        self.assertEqual(self.successResultOf(d), "remote answer\r\n")
        d = self.forwarder.forward("u@example.com@other.org", True)
        self.successResultOf(d)
        limits = dict(reactor=self.clock, connectTimeout=3, readTimeout=4, maxBytes=5)
        self.assertEqual(
            self.finger.calls,
            [
                (("moshez", "example.com", 79), dict(verbose=False, **limits)),
                (("u@example.com", "other.org", 7979), dict(verbose=True, **limits)),
            ],
        )

    def test_listing(self) -> None:
        self.successResultOf(self.forwarder.forward("@example.com", False))
        self.assertEqual(self.finger.calls[0][0], ("", "example.com", 79))

    def test_refused(self) -> None:
        """
        Hosts not on the list, too many hops, and malformed names are
        refused without connecting anywhere.
        """
        for query in [
            "u@evil.com",
            "u@example.com.evil.com",
            "u@a@b@example.com",
            "-u@example.com",
            "u@@example.com",
            "u@a b@example.com",
            "u@example.com@",
        ]:
            with capturedLogs() as events:
                d = self.forwarder.forward(query, False)
            self.assertEqual(self.successResultOf(d), FORWARDING_DENIED, query)
            self.assertEqual(len(events), 1)
        self.assertEqual(self.finger.calls, [])

    def test_failure(self) -> None:
        self.finger.results.append(fail(ConnectionRefusedError()))
        d = self.forwarder.forward("u@example.com", False)
        self.assertEqual(self.successResultOf(d), COULD_NOT_CONNECT)

    def test_truncated(self) -> None:
        self.finger.results.append(fail(AnswerTooLong("hello", 5)))
        d = self.forwarder.forward("u@example.com", False)
        self.assertEqual(self.successResultOf(d), "hello\n" + ANSWER_TRUNCATED)

    def test_busy(self) -> None:
        """
        At most C{maxConcurrent} forwards run at once.
        """
        waiting: List[Deferred[str]] = [Deferred(), Deferred()]
        self.finger.results.extend(waiting)
        first = self.forwarder.forward("a@example.com", False)
        self.forwarder.forward("b@example.com", False)
        d = self.forwarder.forward("c@example.com", False)
        self.assertEqual(self.successResultOf(d), FORWARDING_BUSY)
        waiting[0].callback("done")
        self.assertEqual(self.successResultOf(first), "done")
        self.successResultOf(self.forwarder.forward("c@example.com", False))
        waiting[1].callback("done")

    def test_defaultOneHop(self) -> None:
        forwarder = FingerForwarder(["a", "b"], remote=RemoteFinger(self.clock, finger=self.finger))
        self.successResultOf(forwarder.forward("u@a", False))
        d = forwarder.forward("u@a@b", False)
        self.assertEqual(self.successResultOf(d), FORWARDING_DENIED)


class ForwardingLoopbackTests(TestCase):
    """
    A finger server that forwards to a second one on another loopback port.
    """

    timeout = 20

    def listen(self, factory: Any) -> "Deferred[int]":
        return Deferred.fromCoroutine(listenOnLoopback(self, reactor, factory))

    @inlineCallbacks
    def test_forwarded(self) -> Any:
        remote = MemoryFingerService(moshez="remote and happy")
        remote.users["evil"] = "red\x1b[31m"
        remotePort = yield self.listen(IFingerFactory(remote))
        front = IFingerFactory(MemoryFingerService(moshez="local"))
        front.forwarder = FingerForwarder(
            [f"127.0.0.1:{remotePort}", "localhost"], remote=RemoteFinger(reactor)
        )
        frontPort = yield self.listen(front)
        answer = yield finger("moshez@127.0.0.1", "127.0.0.1", frontPort)
        self.assertEqual(answer, "remote and happy\r\n")
        answer = yield finger("moshez@127.0.0.1", "127.0.0.1", frontPort, verbose=True)
        self.assertEqual(answer, "Login: moshez\r\nStatus: remote and happy\r\n")
        answer = yield finger("evil@127.0.0.1", "127.0.0.1", frontPort)
        self.assertEqual(answer, "red[31m\r\n")
        answer = yield finger("moshez@127.0.0.2", "127.0.0.1", frontPort)
        self.assertEqual(answer, FORWARDING_DENIED + "\r\n")

    @inlineCallbacks
    def test_unreachable(self) -> Any:
        front = IFingerFactory(MemoryFingerService())
        front.forwarder = FingerForwarder([f"127.0.0.1:{freePort()}"], remote=RemoteFinger(reactor))
        frontPort = yield self.listen(front)
        answer = yield finger("moshez@127.0.0.1", "127.0.0.1", frontPort)
        self.assertEqual(answer, COULD_NOT_CONNECT + "\r\n")
