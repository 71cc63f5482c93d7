"""
Tests for L{finger.clients.finger}.
"""

import io
from typing import Any, List

from twisted.internet import reactor
from twisted.internet.defer import CancelledError, Deferred, inlineCallbacks
from twisted.internet.error import ConnectionDone, ConnectionRefusedError, TimeoutError
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase

from finger.clients.finger import (
    AnswerTimedOut,
    AnswerTooLong,
    FingerClientProtocol,
    buildQuery,
    finger,
    parseTarget,
    run,
)
from finger.frontends.finger import FingerFactoryFromService  # noqa: F401 (adapter)
from finger.interfaces import IFingerFactory
from finger.backends.memory import MemoryFingerService
from tests.support import freePort, listenOnLoopback


class QueryTests(SynchronousTestCase):
    def test_query(self) -> None:
        self.assertEqual(buildQuery("moshez"), b"moshez\r\n")
        self.assertEqual(buildQuery("moshez", verbose=True), b"/W moshez\r\n")
        self.assertEqual(buildQuery(""), b"\r\n")
        self.assertEqual(buildQuery("u@h"), b"u@h\r\n")
        self.assertEqual(buildQuery("zoë"), "zoë\r\n".encode())

    def test_badQuery(self) -> None:
        """
        A query cannot smuggle a second line, a NUL, or be too long.
        """
        for user in ["a\r\nb", "a\nb", "a\x00", "x" * 600]:
            self.assertRaises(ValueError, buildQuery, user)

    def test_fingerBadQuery(self) -> None:
        """
        L{finger} fails at once, without connecting, for a bad query.
        """
        self.failureResultOf(finger("a\nb", "localhost", reactor=Clock()), ValueError)


class ParseTests(SynchronousTestCase):
    def test_target(self) -> None:
        """
        The right-most C{@} separates the host; the rest is the query.
        """
        self.assertEqual(parseTarget("moshez@h:7979"), ("moshez", "h", 7979))
        self.assertEqual(parseTarget("@h"), ("", "h", 79))
        self.assertEqual(parseTarget("u@h1@h2"), ("u@h1", "h2", 79))
        self.assertEqual(parseTarget("moshez"), ("moshez", "localhost", 79))
        self.assertRaises(ValueError, parseTarget, "u@")


class FingerFunctionTests(SynchronousTestCase):
    def test_overallDeadline(self) -> None:
        """
        Connecting and answering together never take longer than both
        timeouts, however slow each step is.
        """
        clock = MemoryReactorClock()
        d = finger(
            "moshez",
            "example.com",
            7979,
            reactor=clock,
            connectTimeout=3,
            readTimeout=4,
        )
        [(host, port, factory, timeout, bindAddress)] = clock.tcpClients
        self.assertEqual((port, timeout), (7979, 3))
        clock.advance(6.9)
        self.assertNoResult(d)
        clock.advance(0.1)
        self.failureResultOf(d, TimeoutError)

    def test_overConnection(self) -> None:
        """
        With the connection made by hand, the query goes out and the answer
        comes back.
        """
        clock = MemoryReactorClock()
        d = finger("moshez", "example.com", reactor=clock, verbose=True)
        factory = clock.tcpClients[0][2]
        protocol = factory.buildProtocol(None)
        transport = StringTransport()
        protocol.makeConnection(transport)
        self.assertEqual(transport.value(), b"/W moshez\r\n")
        protocol.dataReceived(b"Login: moshez\r\n")
        protocol.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(self.successResultOf(d), "Login: moshez\r\n")
        self.assertEqual(clock.getDelayedCalls(), [])


class ClientProtocolTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.transport = StringTransport()
        self.protocol = FingerClientProtocol(b"moshez\r\n", self.clock, 30, 10)
        self.protocol.makeConnection(self.transport)

    def test_answer(self) -> None:
        """
        The query goes out at once; the answer is everything until the
        server closes.
        """
        self.assertEqual(self.transport.value(), b"moshez\r\n")
        self.protocol.dataReceived(b"hi\r\n")
        self.protocol.dataReceived("é\r\n".encode())
        self.protocol.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(self.successResultOf(self.protocol.finished), "hi\r\né\r\n")
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_undecodable(self) -> None:
        self.protocol.dataReceived(b"\xff ok")
        self.protocol.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(self.successResultOf(self.protocol.finished), "\ufffd ok")

    def test_tooLong(self) -> None:
        """
        More than the cap aborts the connection, and the failure carries the
        answer up to the cap.
        """
        self.protocol.dataReceived(b"12345678")
        self.protocol.dataReceived(b"9abcdef")
        self.assertTrue(self.transport.disconnecting)
        self.protocol.dataReceived(b"more")
        self.protocol.connectionLost(Failure(ConnectionDone()))
        failure = self.failureResultOf(self.protocol.finished, AnswerTooLong)
        self.assertEqual(failure.value.partial, "123456789a")
        self.assertEqual(failure.value.limit, 10)

    def test_exactlyTheCap(self) -> None:
        self.protocol.dataReceived(b"123456789a")
        self.protocol.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(self.successResultOf(self.protocol.finished), "123456789a")

    def test_readTimeout(self) -> None:
        """
        A server that trickles its answer is cut off at the read timeout,
        counted from the connection.
        """
        for _ in range(29):
            self.clock.advance(1)
            self.protocol.dataReceived(b"x")
        self.clock.advance(1)
        self.assertTrue(self.transport.disconnecting)
        self.protocol.connectionLost(Failure(ConnectionDone()))
        self.failureResultOf(self.protocol.finished, AnswerTimedOut)

    def test_cancel(self) -> None:
        self.protocol.finished.cancel()
        self.assertTrue(self.transport.disconnecting)
        self.protocol.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.failureResultOf(self.protocol.finished, CancelledError)


class _Silent(Protocol):
    """
    A server that never answers.
    """


class _Canned(Protocol):
    answer = b""

    def dataReceived(self, data: bytes) -> None:
        self.transport.write(self.answer)
        self.transport.loseConnection()


class LoopbackTests(TestCase):
    """
    L{finger} and the command against real servers on loopback.
    """

    timeout = 20

    def listen(self, factory: Any) -> "Deferred[int]":
        return Deferred.fromCoroutine(listenOnLoopback(self, reactor, factory))

    @inlineCallbacks
    def fingerd(self) -> Any:
        service = MemoryFingerService(moshez="happy", evil="x")
        service.users["evil"] = "red\x1b[31m"
        port = yield self.listen(IFingerFactory(service))
        return port

    @inlineCallbacks
    def test_finger(self) -> Any:
        port = yield self.fingerd()
        answer = yield finger("moshez", "127.0.0.1", port)
        self.assertEqual(answer, "happy\r\n")
        answer = yield finger("moshez", "localhost", port, verbose=True)
        self.assertEqual(answer, "Login: moshez\r\nStatus: happy\r\n")

    @inlineCallbacks
    def test_refused(self) -> Any:
        with self.assertRaises(ConnectionRefusedError):
            yield finger("moshez", "127.0.0.1", freePort())

    @inlineCallbacks
    def test_silentServer(self) -> Any:
        port = yield self.listen(Factory.forProtocol(_Silent))
        with self.assertRaises(AnswerTimedOut):
            yield finger("moshez", "127.0.0.1", port, readTimeout=0.2)

    @inlineCallbacks
    def test_command(self) -> Any:
        """
        The command prints the answer with control characters made visible.
        """
        factory = Factory.forProtocol(_Canned)
        factory.protocol.answer = b"hi\x1b[31m \x07\r\n"
        port = yield self.listen(factory)
        out, err = io.StringIO(), io.StringIO()
        status = yield run(reactor, [f"moshez@127.0.0.1:{port}"], out, err)
        self.assertEqual(
            (status, out.getvalue(), err.getvalue()), (0, "hi^[[31m ^G\n", "")
        )

    @inlineCallbacks
    def test_commandVerbose(self) -> Any:
        port = yield self.fingerd()
        for argv in [
            ["-l", f"moshez@127.0.0.1:{port}"],
            ["/W", f"moshez@127.0.0.1:{port}"],
        ]:
            out, err = io.StringIO(), io.StringIO()
            status = yield run(reactor, argv, out, err)
            self.assertEqual(status, 0)
            self.assertEqual(out.getvalue(), "Login: moshez\nStatus: happy\n")

    @inlineCallbacks
    def test_commandFailure(self) -> Any:
        out, err = io.StringIO(), io.StringIO()
        port = freePort()
        status = yield run(reactor, [f"moshez@127.0.0.1:{port}"], out, err)
        self.assertEqual(status, 1)
        self.assertIn(
            f"pyfinger: 127.0.0.1:{port}: Connection was refused", err.getvalue()
        )

    @inlineCallbacks
    def test_commandTooLong(self) -> Any:
        factory = Factory.forProtocol(_Canned)
        factory.protocol.answer = b"x" * 100
        port = yield self.listen(factory)
        out, err = io.StringIO(), io.StringIO()
        status = yield run(reactor, ["--max-bytes=10", f"@127.0.0.1:{port}"], out, err)
        self.assertEqual((status, out.getvalue()), (1, "x" * 10))
        self.assertIn("answer cut after 10 bytes", err.getvalue())

    def test_commandUsage(self) -> None:
        for argv in [[], ["u@h:x"], ["--timeout=0", "u@h"], ["u\n@h"]]:
            out, err = io.StringIO(), io.StringIO()
            d: Deferred[int] = run(reactor, argv, out, err)
            self.assertEqual(self.successResultOf(d), 2, argv)
            self.assertIn("pyfinger: ", err.getvalue())

    def successResultOf(self, d: "Deferred[Any]") -> Any:
        results: List[Any] = []
        d.addBoth(results.append)
        return results[0]
