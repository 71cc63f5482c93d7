"""
Tests for L{finger.frontends.pb.broker} and L{finger.frontends.pb.limits}:
what L{FingerBroker} lets one client send, and the work it may cause.
"""

from typing import Any, List, Tuple

from twisted.cred.credentials import UsernamePassword
from twisted.cred.error import UnauthorizedLogin
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport
from twisted.logger import capturedLogs, formatEvent
from twisted.python.failure import Failure
from twisted.spread import pb
from twisted.spread import banana
from twisted.spread.banana import int2b128
from twisted.test.iosim import IOPump, connectedServerAndClient
from twisted.trial.unittest import SynchronousTestCase

from finger.auth import FAILED_LOGIN_DELAY, SetterLogin, setterPortal
from finger.interfaces import IPerspectiveFinger
from finger.frontends.pb import (
    BURST_BYTES,
    BYTES_PER_SECOND,
    DECODE_BYTES,
    MAX_BYTES_BEFORE_LOGIN,
    MAX_DEPTH,
    MAX_ITEMS,
    MAX_ITEMS_BEFORE_LOGIN,
    MAX_MESSAGES_BEFORE_LOGIN,
    MAX_MESSAGE_BYTES,
    BadRequest,
    BrokerLimits,
    FingerBroker,
    FingerPBServerFactory,
    PerspectiveFingerFromService,
)
from finger.backends.memory import MemoryFingerService
from tests.frontends.pb.helpers import checker, pumped


_PEER = IPv4Address("TCP", "192.0.2.1", 5000)


def _connected(factory: FingerPBServerFactory) -> Tuple[Any, StringTransport]:
    """
    A broker of C{factory}'s for a client at L{_PEER}, connected to a
    L{StringTransport}.
    """
    broker = factory.buildProtocol(_PEER)
    transport = StringTransport(peerAddress=_PEER)
    broker.makeConnection(transport)
    return broker, transport


def _assertDropped(
    testCase: SynchronousTestCase, events: List[Any], why: str = ""
) -> None:
    """
    Assert that C{events} is one log line saying the test's client
    (192.0.2.1:5000) was dropped, for C{why} when given.
    """
    testCase.assertEqual(len(events), 1, [formatEvent(e) for e in events])
    testCase.assertIn(
        "Dropping PB connection from 192.0.2.1:5000" + (f": {why}" if why else ""),
        formatEvent(events[0]),
    )


class FingerBrokerTests(SynchronousTestCase):
    """
    L{FingerBroker} drops a client that does not speak PB with one line in
    the log, where Twisted's broker raised out of C{dataReceived}.
    """

    def test_garbage(self) -> None:
        factory = FingerPBServerFactory(IPerspectiveFinger(MemoryFingerService()))
        deep = b"\x01\x80" * (MAX_DEPTH + 1)
        # One unfinished list of small numbers, longer than a message may be.
        count = MAX_MESSAGE_BYTES // 2 + 1
        prefix: List[bytes] = []
        int2b128(count + 1, prefix.append)
        long = b"".join(prefix) + b"\x80" + b"\x01\x81" * count
        # A number where the client should name a dialect.
        number = b"\x05\x81"
        for garbage in [b"\x95", b"\x01" * 100, b"\x1b[2J\x80\x8f\xff", deep, long, number]:
            broker, transport = _connected(factory)
            with capturedLogs() as events:
                # As the network delivers it.
                for start in range(0, len(garbage), 65536):
                    broker.dataReceived(garbage[start : start + 65536])
                broker.dataReceived(b"more")
            self.assertTrue(transport.disconnecting)
            _assertDropped(self, events)
            self.assertEqual(self.flushLoggedErrors(), [])

    def test_withinLimits(self) -> None:
        """
        Calls still work through it, one after another on one connection.
        """
        factory = FingerPBServerFactory(IPerspectiveFinger(MemoryFingerService(moshez="happy")))
        clientFactory = pb.PBClientFactory()
        client, server, pump = connectedServerAndClient(
            lambda: factory.buildProtocol(None), lambda: clientFactory.buildProtocol(None)
        )
        root = self.successResultOf(pumped(pump, clientFactory.getRootObject()))
        for _ in range(3):
            status = self.successResultOf(pumped(pump, root.callRemote("getUser", "moshez")))
            self.assertEqual(status, "happy")
        self.assertFalse(server.dropped)


class _Unknown(pb.Copyable):
    """
    A copyable type the server does not know, named with control
    characters.
    """

    def getTypeToCopy(self) -> bytes:
        return b"\x1b[2J evil.Type"


class BadCallTests(SynchronousTestCase):
    """
    L{FingerBroker} answers a call it cannot read with a L{BadRequest} and
    one escaped line in the log, and drops a connection that keeps making
    malformed calls.
    """

    def setUp(self) -> None:
        factory = FingerPBServerFactory(
            PerspectiveFingerFromService(MemoryFingerService(moshez="happy"), clock=Clock()),
            limits=BrokerLimits(maxBadCalls=3),
        )
        clientFactory = pb.PBClientFactory()
        self.client, self.server, self.pump = connectedServerAndClient(
            lambda: factory.buildProtocol(None), lambda: clientFactory.buildProtocol(None)
        )
        self.root = self.successResultOf(pumped(self.pump, clientFactory.getRootObject()))

    def test_unknownType(self) -> None:
        """
        An argument of a type the server does not know is a L{BadRequest}
        for the client and one escaped log line, not a traceback; the
        connection goes on serving.
        """
        with capturedLogs() as events:
            d = pumped(self.pump, self.root.callRemote("getUser", _Unknown()))
        failure = self.failureResultOf(d)
        self.assertTrue(failure.check(BadRequest), failure)
        self.assertEqual(failure.value, "arguments this server cannot read")
        [event] = events
        line = formatEvent(event)
        self.assertIn("cannot read its arguments", line)
        self.assertNotIn("\x1b", line)
        self.assertIn("\\x1b[2J evil", line)
        self.assertEqual(self.flushLoggedErrors(), [])
        status = pumped(self.pump, self.root.callRemote("getUser", "moshez"))
        self.assertEqual(self.successResultOf(status), "happy")

    def test_tooManyBadCalls(self) -> None:
        """
        A connection that makes more malformed calls than it may is dropped,
        with one line in the log, so it cannot fill the log.
        """
        with capturedLogs() as events:
            for i in range(3):
                d = pumped(self.pump, self.root.callRemote("getUser", _Unknown()))
                self.assertTrue(self.failureResultOf(d).check(BadRequest))
                self.assertFalse(self.server.dropped)
            d = pumped(self.pump, self.root.callRemote("nonsense"))
            self.assertTrue(self.failureResultOf(d).check(BadRequest))
        self.assertTrue(self.server.dropped)
        self.assertTrue(self.client.disconnected)
        self.assertEqual(len(events), 4, [formatEvent(e) for e in events])
        self.assertIn("more than 3 malformed calls", formatEvent(events[-1]))
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_noSuchObject(self) -> None:
        """
        A call to an object the connection does not have is a
        L{BadRequest}, not a traceback.
        """
        self.client.sendCall(b"message", 99, 12345, b"getUser", 0, [b"tuple"], [b"dictionary"])
        self.pump.flush()
        self.assertEqual(self.flushLoggedErrors(), [])
        self.assertEqual(self.server.badCalls, 1)


class BrokerLimitTests(SynchronousTestCase):
    """
    L{FingerBroker} applies the limits after the client chose its dialect,
    when Banana would otherwise decode whatever arrives.
    """

    def connect(self, limits: BrokerLimits) -> Tuple[pb.Broker, StringTransport]:
        factory = FingerPBServerFactory(
            IPerspectiveFinger(MemoryFingerService(moshez="happy")), limits=limits, clock=Clock()
        )
        broker, transport = _connected(factory)
        broker.dataReceived(banana.encode(b"pb"))
        return broker, transport

    def test_afterDialect(self) -> None:
        """
        Messages over the limits are dropped after the dialect as before
        it, with one line in the log and no error.
        """
        for limits, garbage in [
            (BrokerLimits(), b"\x01\x80" * (MAX_DEPTH + 1)),
            (BrokerLimits(maxMessageBytes=1000), b"\x02\x80\x01\x81\x7f\x08\x82" + b"x" * 1000),
            (
                BrokerLimits(),
                b"\x02\x80" + b"\x7f\x7f\x80" + b"\x00\x80" * (MAX_ITEMS_BEFORE_LOGIN + 1),
            ),
            (BrokerLimits(), b"\x02\x80" + b"\x7f\x8a"),
        ]:
            broker, transport = self.connect(limits)
            with capturedLogs() as events:
                broker.dataReceived(garbage)
                broker.dataReceived(b"more")
            self.assertTrue(transport.disconnecting, repr(garbage))
            _assertDropped(self, events)
            self.assertEqual(self.flushLoggedErrors(), [])

    def test_unofferedDialect(self) -> None:
        """
        A client that names a dialect the server did not offer is dropped.
        """
        factory = FingerPBServerFactory(IPerspectiveFinger(MemoryFingerService()))
        broker = factory.buildProtocol(None)
        transport = StringTransport()
        broker.makeConnection(transport)
        with capturedLogs() as events:
            broker.dataReceived(banana.encode(b"\x1b[2Jxx"))
        self.assertTrue(transport.disconnecting)
        [event] = events
        self.assertIn("the first bytes do not choose a dialect", formatEvent(event))


def _b128(n: int) -> bytes:
    digits: List[bytes] = []
    int2b128(n, digits.append)
    return b"".join(digits)


class _TurnCounting(FingerBroker):
    """
    A L{FingerBroker} that notes how much input waits at each turn of its
    decoding.
    """

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.turns: List[int] = []

    def decode(self) -> None:
        self.turns.append(len(self.unread))
        super().decode()


class DecodingBoundsTests(SynchronousTestCase):
    """
    L{FingerBroker} bounds Banana's work and what it holds at Banana's own
    hooks: the first bytes must choose a dialect, a connection that has not
    logged in may send a login's worth, and one turn of the reactor decodes
    at most L{DECODE_BYTES} of a connection's input.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.service = MemoryFingerService(moshez="happy")

    def connect(
        self, limits: BrokerLimits = BrokerLimits()
    ) -> Tuple[_TurnCounting, StringTransport]:
        factory = FingerPBServerFactory(
            PerspectiveFingerFromService(self.service, clock=self.clock),
            clock=self.clock,
            limits=limits,
        )
        factory.protocol = _TurnCounting
        broker, transport = _connected(factory)
        assert isinstance(broker, _TurnCounting)
        return broker, transport

    def test_firstWrongByte(self) -> None:
        """
        A client whose first bytes do not choose a dialect the server
        offered is dropped at the first wrong byte, with one line in the
        log, before Banana decodes anything: it does not wait for a whole
        message.
        """
        for garbage, wrong in [
            (b"GET / HTTP/1.1\r\n", 0),
            (b"\x40\x82", 0),
            (b"\x02\x80", 1),
            (b"\x02\x82q", 2),
            (b"\x02\x82p\x00", 3),
            (b"\x04\x82nonf", 5),
            (b"\x80" * 65536, 0),
        ]:
            broker, transport = self.connect()
            with capturedLogs() as events:
                for i in range(len(garbage)):
                    broker.dataReceived(garbage[i : i + 1])
                    if transport.disconnecting:
                        break
            self.assertEqual(i, wrong, repr(garbage))
            # In one read, too.
            broker, transport = self.connect()
            broker.dataReceived(garbage)
            self.assertTrue(transport.disconnecting, repr(garbage))
            self.assertEqual(broker.turns, [])
            self.assertIsNone(broker.currentDialect)
            _assertDropped(self, events, "not Perspective Broker")

    def test_dialects(self) -> None:
        """
        Either dialect the server offers may be chosen, in one read with
        what follows or byte by byte.
        """
        for dialect in [b"pb", b"none"]:
            for pieces in [[banana.encode(dialect) + b"\x01\x80"], list(banana.encode(dialect))]:
                broker, transport = self.connect()
                for piece in pieces:
                    broker.dataReceived(piece if isinstance(piece, bytes) else bytes([piece]))
                self.assertFalse(transport.disconnecting)
                self.assertEqual(broker.currentDialect, dialect)

    def test_bytesBeforeLogin(self) -> None:
        """
        A connection that has not logged in may send
        L{MAX_BYTES_BEFORE_LOGIN} bytes, and so holds no more than that
        whatever it sends; one more byte drops it.
        """
        broker, transport = self.connect()
        start = banana.encode(b"pb") + b"\x02\x80" + _b128(60000) + b"\x82"
        broker.dataReceived(start + b"x" * (MAX_BYTES_BEFORE_LOGIN - len(start)))
        self.clock.advance(0)
        self.assertFalse(transport.disconnecting)
        self.assertLessEqual(len(broker.buffer) + len(broker.unread), MAX_BYTES_BEFORE_LOGIN)
        with capturedLogs() as events:
            broker.dataReceived(b"x")
        self.assertTrue(transport.disconnecting)
        [event] = events
        self.assertIn(
            f"192.0.2.1:5000: more than {MAX_BYTES_BEFORE_LOGIN} bytes before logging in",
            formatEvent(event),
        )
        self.assertEqual(MAX_BYTES_BEFORE_LOGIN, 8192)

    def test_itemsBeforeLogin(self) -> None:
        """
        Before logging in, a message may hold L{MAX_ITEMS_BEFORE_LOGIN}
        items: a login holds a dozen.
        """
        for items, dropped in [(MAX_ITEMS_BEFORE_LOGIN, False), (MAX_ITEMS_BEFORE_LOGIN + 1, True)]:
            broker, transport = self.connect()
            # A call to no object, of ten items, and numbers as its arguments.
            arguments = [b"tuple"] + [1] * (items - 10)
            message = banana.encode([b"message", 1, 99, b"x", 0, arguments, [b"dictionary"]])
            with capturedLogs() as events:
                broker.dataReceived(banana.encode(b"pb") + message)
            self.assertEqual(transport.disconnecting, dropped, items)
        [event] = events
        self.assertIn(f"a message of more than {MAX_ITEMS_BEFORE_LOGIN} items", formatEvent(event))

    def test_decodeTurns(self) -> None:
        """
        A message of many small items before two long strings, the shape
        that makes Banana copy what it holds once per item, is decoded
        L{DECODE_BYTES} at a time, one piece a turn of the reactor, with the
        transport paused meanwhile; then it is answered.
        """
        limits = BrokerLimits(maxBytesBeforeLogin=1 << 20, maxItemsBeforeLogin=MAX_ITEMS)
        broker, transport = self.connect(limits)
        broker.dataReceived(banana.encode(b"pb"))
        transport.clear()
        broker.turns.clear()
        argument = [b"list"] + [1] * 3000 + [b"x" * 20000, b"y" * 20000]
        message = banana.encode(
            [b"message", 1, b"root", b"getUser", 1, [b"tuple", argument], [b"dictionary"]]
        )
        with capturedLogs() as events:
            broker.dataReceived(message)
            self.assertEqual(transport.value(), b"")
            self.assertEqual(transport.producerState, "paused")
            self.assertEqual(len(self.clock.getDelayedCalls()), 1)
            self.clock.advance(0)
        self.assertEqual(
            broker.turns, list(range(len(message), 0, -DECODE_BYTES)), "one piece a turn"
        )
        self.assertIn(b"getUser takes a user name", transport.value())
        self.assertEqual(transport.producerState, "producing")
        self.assertFalse(transport.disconnecting)
        self.assertEqual(events, [])

    def test_longMessage(self) -> None:
        """
        A message longer than C{maxMessageBytes} is dropped as soon as that
        many bytes of it arrived, however long it says it is.
        """
        limits = BrokerLimits(maxBytesBeforeLogin=1 << 20, maxMessageBytes=10000)
        broker, transport = self.connect(limits)
        broker.dataReceived(banana.encode(b"pb") + b"\x02\x80" + _b128(20000) + b"\x82")
        for _ in range(9):
            broker.dataReceived(b"x" * 1000)
        self.clock.advance(0)
        self.assertFalse(transport.disconnecting)
        with capturedLogs() as events:
            broker.dataReceived(b"x" * 1000)
            self.clock.advance(0)
        self.assertTrue(transport.disconnecting)
        [event] = events
        self.assertIn("a message longer than 10000 bytes", formatEvent(event))

    def test_leavesWhileDecoding(self) -> None:
        """
        A client that leaves while its input waits for the next turn leaves
        nothing scheduled.
        """
        limits = BrokerLimits(maxBytesBeforeLogin=1 << 20)
        broker, transport = self.connect(limits)
        broker.dataReceived(banana.encode(b"pb") + b"\x02\x80" + _b128(8000) + b"\x82")
        broker.dataReceived(b"x" * 6000)
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)
        broker.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(self.clock.getDelayedCalls(), [])


class UnauthenticatedWorkTests(SynchronousTestCase):
    """
    L{FingerBroker} bounds the work one connection may cause: the messages
    it sends before it logs in, and the bytes it sends a second, measured
    on the factory's clock.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.service = MemoryFingerService(moshez="happy")

    def serve(self, limits: BrokerLimits) -> FingerPBServerFactory:
        login = SetterLogin(setterPortal(self.service, [checker()], []), self.clock)
        root = PerspectiveFingerFromService(self.service, clock=self.clock, login=login)
        return FingerPBServerFactory(root, clock=self.clock, limits=limits)

    def connect(self, limits: BrokerLimits) -> Tuple[pb.PBClientFactory, FingerBroker, IOPump]:
        clientFactory = pb.PBClientFactory()
        factory = self.serve(limits)
        client, server, pump = connectedServerAndClient(
            lambda: factory.buildProtocol(None), lambda: clientFactory.buildProtocol(None)
        )
        self.addCleanup(lambda: (client.transport.loseConnection(), pump.flush()))
        return clientFactory, server, pump

    def test_messagesBeforeLogin(self) -> None:
        """
        A connection that has not logged in may send C{maxMessagesBeforeLogin}
        messages, its dialect and version among them; the next drops it,
        with one line in the log.
        """
        clientFactory, server, pump = self.connect(BrokerLimits(maxMessagesBeforeLogin=6))
        root = self.successResultOf(pumped(pump, clientFactory.getRootObject()))
        for _ in range(4):
            status = self.successResultOf(pumped(pump, root.callRemote("getUser", "moshez")))
            self.assertEqual(status, "happy")
        with capturedLogs() as events:
            d = pumped(pump, root.callRemote("getUser", "moshez"))
        self.failureResultOf(d, pb.PBConnectionLost)
        self.assertTrue(server.dropped)
        [event] = events
        self.assertIn("more than 6 messages before logging in", formatEvent(event))
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_loggedInUncounted(self) -> None:
        """
        Once the client logged in, its messages are no longer counted.
        """
        clientFactory, server, pump = self.connect(BrokerLimits(maxMessagesBeforeLogin=4))
        avatar = self.successResultOf(
            pumped(pump, clientFactory.login(UsernamePassword(b"moshez", b"secret")))
        )
        for _ in range(10):
            status = self.successResultOf(pumped(pump, avatar.callRemote("getUser", "moshez")))
            self.assertEqual(status, "happy")
        self.assertFalse(server.dropped)

    def test_failedLoginCounted(self) -> None:
        """
        A login that failed does not lift the limit: its messages count,
        and so do the guesses after it.
        """
        clientFactory, server, pump = self.connect(BrokerLimits(maxMessagesBeforeLogin=5))
        d = pumped(pump, clientFactory.login(UsernamePassword(b"moshez", b"wrong")))
        self.clock.advance(FAILED_LOGIN_DELAY)
        pump.flush()
        self.failureResultOf(d, UnauthorizedLogin)
        with capturedLogs() as events:
            d = pumped(pump, clientFactory.login(UsernamePassword(b"moshez", b"secret")))
        self.failureResultOf(d, pb.PBConnectionLost)
        self.assertTrue(server.dropped)
        [event] = events
        self.assertIn("before logging in", formatEvent(event))

    def bytesBroker(self, limits: BrokerLimits) -> Tuple[FingerBroker, StringTransport]:
        broker, transport = _connected(self.serve(limits))
        assert isinstance(broker, FingerBroker)
        return broker, transport

    def test_bytesPerSecond(self) -> None:
        """
        A connection may send C{burstBytes} at once and C{bytesPerSecond}
        a second after that; one that sends more is dropped, with one line
        in the log.
        """
        limits = BrokerLimits(bytesPerSecond=100, burstBytes=1000)
        # The dialect, then the start of one long string, sent in pieces.
        prefix: List[bytes] = []
        int2b128(5000, prefix.append)
        start = banana.encode(b"pb") + b"".join(prefix) + b"\x82"
        piece = b"x" * (500 - len(start))
        broker, transport = self.bytesBroker(limits)
        broker.dataReceived(start + piece)
        broker.dataReceived(b"x" * 400)
        self.clock.advance(2)
        broker.dataReceived(b"x" * 300)
        self.assertFalse(transport.disconnecting)
        with capturedLogs() as events:
            broker.dataReceived(b"x" * 2)
            broker.dataReceived(b"x" * 1000)
        self.assertTrue(transport.disconnecting)
        _assertDropped(self, events, "more than 100 bytes a second")

    def test_defaults(self) -> None:
        """
        By default a connection may send 100 messages before it logs in,
        and 16 KiB a second, in bursts of twice the longest message.
        """
        limits = BrokerLimits()
        self.assertEqual(limits.maxMessagesBeforeLogin, MAX_MESSAGES_BEFORE_LOGIN)
        self.assertEqual(MAX_MESSAGES_BEFORE_LOGIN, 100)
        self.assertEqual(limits.bytesPerSecond, BYTES_PER_SECOND)
        self.assertEqual(BYTES_PER_SECOND, 16384)
        self.assertEqual(limits.burstBytes, BURST_BYTES)
        self.assertEqual(BURST_BYTES, 2 * MAX_MESSAGE_BYTES)
