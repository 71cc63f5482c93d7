"""
Tests for L{finger.net.limits}.
"""

from typing import List

from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.internet.interfaces import IAddress, IHalfCloseableProtocol
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python.usage import UsageError
from twisted.trial.unittest import SynchronousTestCase, TestCase

from finger.app.tap import Options, makeService
from finger.net.limits import (
    CLOSE_GRACE,
    CLOSE_GRACE_BYTES,
    DEFAULT_MAX_PER_ADDRESS,
    LimitedConnection,
    LimitingFactory,
)
from finger.net.rates import RateLimiter
from finger.backends.memory import MemoryFingerService
from finger.net.clients import ClientKey
from finger.frontends.setter import FingerSetterFactoryFromService
from tests.support import assertAbortedAt, connected, exchange
from zope.interface import implementer, providedBy


class _Recorder(Protocol):
    def __init__(self) -> None:
        self.data = b""
        self.lost = False

    def dataReceived(self, data: bytes) -> None:
        self.data += data

    def connectionLost(self, reason: object = None) -> None:
        self.lost = True


class _Limited(LimitedConnection, _Recorder):
    """
    A protocol that takes its limits itself.
    """


@implementer(IHalfCloseableProtocol)
class _HalfCloser(_Recorder):
    """
    A protocol, served through the wrapper, that handles half-closes.
    """

    halfClosed = False

    def readConnectionLost(self) -> None:
        self.halfClosed = True

    def writeConnectionLost(self) -> None:
        pass


def _peer(host: str = "192.0.2.1") -> IPv4Address:
    return IPv4Address("TCP", host, 5000)


class LimitingFactoryTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.inner = Factory.forProtocol(_Recorder)

    def connect(self, factory: LimitingFactory, host: str = "192.0.2.1") -> StringTransport:
        return self.connectFrom(factory, _peer(host))

    def connectFrom(self, factory: LimitingFactory, peer: IAddress) -> StringTransport:
        return connected(factory, peer)[1]

    def test_passesThrough(self) -> None:
        factory = LimitingFactory(self.inner, self.clock)
        transport = self.connect(factory)
        transport.protocol.dataReceived(b"hello")
        self.assertEqual(transport.protocol.wrappedProtocol.data, b"hello")
        self.assertFalse(transport.disconnecting)

    def test_connectionCap(self) -> None:
        """
        Over the cap, a connection gets the refusal and is closed; the
        wrapped factory never sees it.  Once one closes, there is room again.
        """
        factory = LimitingFactory(self.inner, self.clock, b"busy\r\n", maxConnections=2)
        first = self.connect(factory)
        self.connect(factory)
        refused = self.connect(factory)
        self.assertEqual(refused.value(), b"busy\r\n")
        self.assertTrue(refused.disconnecting)
        self.assertEqual(len(factory.protocols), 2)
        first.protocol.connectionLost(None)
        again = self.connect(factory)
        self.assertEqual(again.value(), b"")
        self.assertFalse(again.disconnecting)

    def test_refusedClientCannotHoldOn(self) -> None:
        factory = LimitingFactory(self.inner, self.clock, b"busy\r\n", maxConnections=0)
        refused = self.connect(factory)
        self.clock.advance(10)
        self.assertTrue(refused.disconnected)

    def test_idleTimeout(self) -> None:
        """
        A connection with no bytes either way for C{idleTimeout} seconds is
        closed; every byte read or written restarts the count.
        """
        factory = LimitingFactory(self.inner, self.clock, idleTimeout=10, maxLifetime=None)
        transport = self.connect(factory)
        self.clock.advance(9)
        transport.protocol.dataReceived(b"x")
        self.clock.advance(9)
        transport.protocol.write(b"y")
        assertAbortedAt(self, self.clock, transport, 9 + 9 + 10)

    def test_slowloris(self) -> None:
        """
        A client that keeps trickling bytes is still closed at the end of
        its lifetime.
        """
        factory = LimitingFactory(self.inner, self.clock, idleTimeout=10, maxLifetime=30)
        transport = self.connect(factory)
        for _ in range(29):
            transport.protocol.dataReceived(b"x")
            self.clock.advance(1)
        assertAbortedAt(self, self.clock, transport, 30)

    def test_timersCancelled(self) -> None:
        factory = LimitingFactory(self.inner, self.clock)
        transport = self.connect(factory)
        transport.protocol.connectionLost(None)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_writeSequenceJoined(self) -> None:
        """
        Pieces written together reach the transport as one write, and
        count as activity.
        """
        factory = LimitingFactory(self.inner, self.clock, idleTimeout=10, maxLifetime=None)
        transport = self.connect(factory)
        writes: List[bytes] = []
        transport.write = writes.append  # type: ignore[method-assign]
        self.clock.advance(9)
        transport.protocol.writeSequence([b"HTTP/1.1 200 OK\r\n", b"a: b\r\n", b"\r\n"])
        self.assertEqual(writes, [b"HTTP/1.1 200 OK\r\na: b\r\n\r\n"])
        self.clock.advance(9)
        self.assertFalse(transport.disconnecting)
        self.assertRaises(TypeError, transport.protocol.writeSequence, ["text"])

    def test_hostAsked(self) -> None:
        """
        The wrapper gives the transport's local address (asked once) and
        declares what the transport provides, as a L{ProtocolWrapper} does.
        """
        factory = LimitingFactory(self.inner, self.clock)
        transport = self.connect(factory)
        protocol = transport.protocol
        self.assertEqual(protocol.getHost(), transport.getHost())
        self.assertIs(protocol.getHost(), protocol.getHost())
        other = self.connect(factory, "192.0.2.7")
        for interface in providedBy(transport):
            self.assertTrue(interface.providedBy(protocol), interface)
            self.assertTrue(interface.providedBy(other.protocol), interface)

    def test_halfCloseForwarded(self) -> None:
        """
        A wrapped protocol that handles half-closes still gets them.
        """
        service = MemoryFingerService(moshez="x")
        setter = FingerSetterFactoryFromService(service, clock=self.clock)
        factory = LimitingFactory(setter, self.clock)
        transport = self.connect(factory)
        self.assertTrue(IHalfCloseableProtocol.providedBy(transport.protocol))
        transport.protocol.dataReceived(b"moshez\nnew")
        transport.protocol.readConnectionLost()
        self.assertEqual(service.users["moshez"], "new")
        plain = self.connect(LimitingFactory(self.inner, self.clock))
        self.assertFalse(IHalfCloseableProtocol.providedBy(plain.protocol))

    def test_rateLimited(self) -> None:
        limiter = RateLimiter(self.clock, rate=1, burst=2)
        factory = LimitingFactory(self.inner, self.clock, b"slow down\r\n", rateLimiter=limiter)
        self.assertEqual(self.connect(factory).value(), b"")
        self.assertEqual(self.connect(factory).value(), b"")
        self.assertEqual(self.connect(factory).value(), b"slow down\r\n")
        self.assertEqual(self.connect(factory, "192.0.2.2").value(), b"")

    def test_perAddressCap(self) -> None:
        """
        One address may hold only C{maxPerAddress} connections: ten slow
        connections from one address leave room for everyone else.  Once one
        closes, that address has room again.
        """
        factory = LimitingFactory(
            self.inner, self.clock, b"busy\r\n", maxConnections=10, maxPerAddress=3
        )
        crowd = [self.connect(factory) for _ in range(10)]
        self.assertEqual([t.value() for t in crowd], [b""] * 3 + [b"busy\r\n"] * 7)
        self.assertEqual(len(factory.protocols), 3)
        other = self.connect(factory, "192.0.2.2")
        self.assertEqual(other.value(), b"")
        self.assertFalse(other.disconnecting)
        crowd[0].protocol.connectionLost(None)
        again = self.connect(factory)
        self.assertEqual(again.value(), b"")
        self.assertFalse(again.disconnecting)
        self.assertEqual(self.connect(factory).value(), b"busy\r\n")

    def test_perAddressLoopbackExempt(self) -> None:
        """
        Loopback peers and peers without an IP address (a Unix socket) are
        not held to the per-address cap, unless C{limitLoopback} is set.
        """
        factory = LimitingFactory(self.inner, self.clock, b"busy\r\n", maxPerAddress=1)
        local = [
            IPv4Address("TCP", "127.0.0.1", 5000),
            IPv6Address("TCP", "::1", 5000),
            UNIXAddress(None),
        ]
        for peer in local:
            self.assertEqual([self.connectFrom(factory, peer).value() for _ in range(3)], [b""] * 3)
        strict = LimitingFactory(
            self.inner, self.clock, b"busy\r\n", maxPerAddress=1, limitLoopback=True
        )
        peer = IPv4Address("TCP", "127.0.0.1", 5000)
        self.assertEqual(
            [self.connectFrom(strict, peer).value() for _ in range(2)], [b"", b"busy\r\n"]
        )

    def test_perNetwork(self) -> None:
        """
        The per-client cap counts an IPv6 /64 as one client: addresses of
        one network share its slots, another network has its own, and a
        C{clientKey} with another prefix draws the line elsewhere.
        """

        def crowd(factory: LimitingFactory, network: str) -> List[bytes]:
            return [
                self.connectFrom(factory, IPv6Address("TCP", f"{network}::{i}", 5000)).value()
                for i in range(1, 6)
            ]

        factory = LimitingFactory(self.inner, self.clock, b"busy\r\n", maxPerAddress=2)
        self.assertEqual(crowd(factory, "2001:db8:1:2"), [b""] * 2 + [b"busy\r\n"] * 3)
        self.assertEqual(crowd(factory, "2001:db8:1:3"), [b""] * 2 + [b"busy\r\n"] * 3)
        wide = LimitingFactory(
            self.inner, self.clock, b"busy\r\n", maxPerAddress=2, clientKey=ClientKey(48)
        )
        self.assertEqual(crowd(wide, "2001:db8:1:2"), [b""] * 2 + [b"busy\r\n"] * 3)
        self.assertEqual(crowd(wide, "2001:db8:1:3"), [b"busy\r\n"] * 5)

    def test_perAddressForgotten(self) -> None:
        """
        An address whose connections all closed is no longer in the count.
        """
        factory = LimitingFactory(self.inner, self.clock, maxPerAddress=2)
        for n in range(100):
            self.connect(factory, f"10.0.0.{n}").protocol.connectionLost(None)
        self.assertEqual(factory._perAddress, {})


class LimitOptionsTests(SynchronousTestCase):
    """
    The limits' options, as C{makeService} gives them to every listener.
    """

    def parse(self, *args: str) -> Options:
        path = self.mktemp()
        with open(path, "w") as f:
            f.write("moshez: happy\n")
        options = Options()
        options.parseOptions(["--file", path, *args])
        return options

    def test_maxPerAddress(self) -> None:
        """
        C{--max-per-address} (well below C{--max-connections} by default) caps
        every listener, and C{--rate-limit-loopback} holds loopback to it.
        """
        self.assertEqual(self.parse()["max-per-address"], DEFAULT_MAX_PER_ADDRESS)
        self.assertLessEqual(DEFAULT_MAX_PER_ADDRESS * 8, self.parse()["max-connections"])
        top = makeService(self.parse("--max-per-address", "3"), MemoryReactorClock())
        for name in ["finger", "setter", "web", "pb"]:
            limited = top.getServiceNamed(name).factory
            self.assertEqual((limited.maxPerAddress, limited.limitLoopback), (3, False), name)
        top = makeService(self.parse("--rate-limit-loopback"), MemoryReactorClock())
        self.assertTrue(top.getServiceNamed("finger").factory.limitLoopback)

    def test_ipv6Prefix(self) -> None:
        """
        C{--ipv6-prefix} (64 by default) is the one client rule of every
        listener's per-client cap and of the finger rate limit.
        """
        for args, prefix in [((), 64), (("--ipv6-prefix", "48"), 48)]:
            top = makeService(self.parse(*args), MemoryReactorClock())
            for name in ["finger", "setter", "web", "pb"]:
                limited = top.getServiceNamed(name).factory
                self.assertEqual(limited.clientKey, ClientKey(prefix), name)
            finger = top.getServiceNamed("finger").factory
            self.assertEqual(finger.rateLimiter.clientKey, ClientKey(prefix))

    def test_badIPv6Prefix(self) -> None:
        for value in ["0", "129", "x", "-1", "64.5"]:
            error = self.assertRaises(UsageError, self.parse, "--ipv6-prefix", value)
            self.assertIn("--ipv6-prefix", str(error))

    def test_badMaxPerAddress(self) -> None:
        for value in ["0", "x", "-1"]:
            error = self.assertRaises(UsageError, self.parse, "--max-per-address", value)
            self.assertIn("--max-per-address", str(error))


class LimitedConnectionTests(SynchronousTestCase):
    """
    A protocol that mixes in L{LimitedConnection} is served as it is, with
    the same limits as a wrapped one.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.inner = Factory.forProtocol(_Limited)

    def connect(self, factory: LimitingFactory, host: str = "192.0.2.1") -> StringTransport:
        transport = StringTransport(peerAddress=_peer(host))
        protocol = factory.buildProtocol(_peer(host))
        protocol.makeConnection(transport)
        transport.protocol = protocol
        return transport

    def test_notWrapped(self) -> None:
        """
        The protocol is connected to the transport itself, and counted
        while it is open.
        """
        factory = LimitingFactory(self.inner, self.clock, maxPerAddress=2)
        transport = self.connect(factory)
        protocol = transport.protocol
        self.assertIsInstance(protocol, _Limited)
        self.assertIs(protocol.transport, transport)
        self.assertIs(protocol.limits, factory)
        protocol.dataReceived(b"hello")
        self.assertEqual(protocol.data, b"hello")
        self.assertEqual(len(factory.protocols), 1)
        protocol.connectionLost(None)
        self.assertTrue(protocol.lost)
        self.assertEqual(len(factory.protocols), 0)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_caps(self) -> None:
        """
        It counts against the connection cap and the per-client cap.
        """
        factory = LimitingFactory(
            self.inner, self.clock, b"busy\r\n", maxConnections=3, maxPerAddress=1
        )
        first = self.connect(factory)
        self.assertEqual(self.connect(factory).value(), b"busy\r\n")
        self.connect(factory, "192.0.2.2")
        self.connect(factory, "192.0.2.3")
        self.assertEqual(self.connect(factory, "192.0.2.4").value(), b"busy\r\n")
        first.protocol.connectionLost(None)
        self.assertEqual(self.connect(factory).value(), b"")

    def test_idleAndLifetime(self) -> None:
        """
        Reads restart the idle count; the lifetime ends the connection
        however busy it is.
        """
        factory = LimitingFactory(self.inner, self.clock, idleTimeout=10, maxLifetime=30)
        idle = self.connect(factory)
        busy = self.connect(factory)
        for _ in range(29):
            busy.protocol.dataReceived(b"x")
            self.clock.advance(1)
        self.assertTrue(idle.disconnected)
        self.assertFalse(busy.disconnected)
        self.clock.advance(1)
        self.assertTrue(busy.disconnected)

    def test_closeGrace(self) -> None:
        """
        Once it asked its transport to close, what the peer sends is not
        activity, and only L{CLOSE_GRACE_BYTES} of it are delivered.
        """
        factory = LimitingFactory(self.inner, self.clock, idleTimeout=5)
        transport = self.connect(factory)
        transport.loseConnection()
        transport.protocol.dataReceived(b"x" * CLOSE_GRACE_BYTES)
        self.assertFalse(transport.disconnected)
        transport.protocol.dataReceived(b"x")
        self.assertTrue(transport.disconnected)
        self.assertEqual(len(transport.protocol.data), CLOSE_GRACE_BYTES)

    def test_withoutLimits(self) -> None:
        """
        Built by any other factory, it is a plain protocol.
        """
        protocol = self.inner.buildProtocol(_peer())
        protocol.makeConnection(StringTransport())
        protocol.dataReceived(b"hi")
        protocol.connectionLost(None)
        self.assertEqual((protocol.data, protocol.lost), (b"hi", True))
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_halfCloseThroughWrapper(self) -> None:
        """
        A wrapped protocol that handles half-closes still gets them.
        """
        factory = LimitingFactory(Factory.forProtocol(_HalfCloser), self.clock)
        transport = self.connect(factory)
        self.assertTrue(IHalfCloseableProtocol.providedBy(transport.protocol))
        transport.protocol.readConnectionLost()
        self.assertTrue(transport.protocol.wrappedProtocol.halfClosed)


class RateLimiterTests(SynchronousTestCase):
    def test_bucket(self) -> None:
        """
        An address may make C{burst} requests at once, then C{rate} a second.
        """
        clock = Clock()
        limiter = RateLimiter(clock, rate=2, burst=4)
        self.assertEqual([limiter.allow("192.0.2.1") for _ in range(5)], [True] * 4 + [False])
        clock.advance(0.5)
        self.assertEqual([limiter.allow("192.0.2.1") for _ in range(2)], [True, False])
        clock.advance(100)
        self.assertEqual([limiter.allow("192.0.2.1") for _ in range(5)], [True] * 4 + [False])

    def test_loopbackExempt(self) -> None:
        limiter = RateLimiter(Clock(), rate=1, burst=1)
        for host in ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"]:
            self.assertTrue(all(limiter.allow(host) for _ in range(100)), host)
        strict = RateLimiter(Clock(), rate=1, burst=1, limitLoopback=True)
        self.assertEqual([strict.allow("::1") for _ in range(2)], [True, False])

    def test_clientOnce(self) -> None:
        """
        A connection asks once which client it is (L{RateLimiter.clientOf}:
        its network, or L{None} when exempt), and draws on that client's
        bucket for each request after.
        """
        limiter = RateLimiter(Clock(), rate=1, burst=2)
        self.assertIsNone(limiter.clientOf(IPv4Address("TCP", "127.0.0.1", 1)))
        self.assertTrue(all(limiter.allowClient(None) for _ in range(100)))
        self.assertEqual(limiter.reserveClient(None), 0.0)
        client = limiter.clientOf(IPv6Address("TCP", "2001:db8:1:2::7", 1))
        self.assertEqual(client, "2001:db8:1:2::/64")
        self.assertEqual([limiter.allowClient(client) for _ in range(3)], [True, True, False])
        # Another address of the network draws on the same bucket.
        self.assertFalse(limiter.allow("2001:db8:1:2::8"))
        self.assertEqual(limiter.reserveClient(client), 1.0)

    def test_network(self) -> None:
        """
        A thousand addresses of one IPv6 /64 share one bucket.
        """
        limiter = RateLimiter(Clock(), rate=1, burst=3)
        allowed = [limiter.allow(f"2001:db8:1:2::{n:x}") for n in range(1, 1001)]
        self.assertEqual(allowed.count(True), 3)
        self.assertTrue(limiter.allow("2001:db8:1:3::1"))

    def test_reserve(self) -> None:
        """
        Requests that wait their turn are told how long: nothing within the
        burst, then one rate interval more for each, so they are served at
        the rate.
        """
        clock = Clock()
        limiter = RateLimiter(clock, rate=2, burst=2)
        self.assertEqual([limiter.reserve("192.0.2.1") for _ in range(5)], [0, 0, 0.5, 1.0, 1.5])
        clock.advance(1.5)
        self.assertEqual(limiter.reserve("192.0.2.1"), 0.5)
        self.assertEqual(limiter.reserve("127.0.0.1"), 0)

    def test_bounded(self) -> None:
        """
        However many addresses come, the table stays bounded.
        """
        clock = Clock()
        limiter = RateLimiter(clock, rate=1, burst=1, maxClients=100)
        for n in range(1000):
            limiter.allow(f"10.0.{n // 256}.{n % 256}")
            clock.advance(0.001)
        self.assertLessEqual(len(limiter.buckets), 100)
        clock.advance(10)
        limiter.allow("192.0.2.9")
        self.assertLessEqual(len(limiter.buckets), 100)

    def test_ipv6Peer(self) -> None:
        factory = LimitingFactory(
            Factory.forProtocol(_Recorder),
            Clock(),
            b"no\r\n",
            rateLimiter=RateLimiter(Clock(), rate=1, burst=1),
        )
        address = IPv6Address("TCP", "2001:db8::1", 5)
        first = factory.buildProtocol(address)
        second = factory.buildProtocol(address)
        self.assertIsNot(type(first), type(second))


class RealTransportTests(TestCase):
    """
    L{LimitingFactory} behind a real TCP port, whose transport asks the
    protocol for its log prefix before the connection is made.
    """

    async def test_refusalReachesClient(self) -> None:
        """
        A connection over the cap gets the refusal over a real socket, and
        nothing is logged as an unhandled error.
        """
        from twisted.internet import reactor

        factory = LimitingFactory(
            Factory.forProtocol(_Recorder), reactor, b"busy\r\n", maxConnections=0
        )
        from twisted.internet.endpoints import serverFromString

        port = await serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(factory)
        self.addCleanup(port.stopListening)
        answer = await exchange(reactor, f"tcp:127.0.0.1:{port.getHost().port}", b"")
        self.assertEqual(answer, b"busy\r\n")
        self.assertEqual(self.flushLoggedErrors(), [])


class _Closer(_Recorder):
    """
    Asks to close as soon as it hears anything, as a protocol does after a
    refusal; it stays "disconnecting" while the peer is still talking, as
    TLS does while it waits for the peer's close alert.
    """

    disconnecting = False

    def dataReceived(self, data: bytes) -> None:
        super().dataReceived(data)
        self.disconnecting = True


class CloseGraceTests(SynchronousTestCase):
    """
    A peer that keeps sending after the server began to close is cut off
    after L{CLOSE_GRACE_BYTES} bytes or L{CLOSE_GRACE} seconds.
    """

    def setUp(self) -> None:
        self.clock = Clock()

    def connect(self, inner: Factory) -> StringTransport:
        factory = LimitingFactory(inner, self.clock, idleTimeout=5)
        transport = StringTransport(peerAddress=_peer())
        protocol = factory.buildProtocol(_peer())
        protocol.makeConnection(transport)
        transport.protocol = protocol
        return transport

    def test_floodAfterClose(self) -> None:
        transport = self.connect(Factory.forProtocol(_Closer))
        transport.protocol.dataReceived(b"bye")
        for _ in range(CLOSE_GRACE_BYTES // 1024):
            transport.protocol.dataReceived(b"x" * 1024)
        self.assertFalse(transport.disconnected)
        transport.protocol.dataReceived(b"x")
        self.assertTrue(transport.disconnected)
        # What came after the grace is not delivered.
        self.assertEqual(len(transport.protocol.wrappedProtocol.data), 3 + CLOSE_GRACE_BYTES)

    def test_trickleAfterClose(self) -> None:
        """
        Bytes after the close do not count as activity: the connection goes
        after the grace, however steadily the peer trickles.
        """
        transport = self.connect(Factory.forProtocol(_Closer))
        transport.protocol.dataReceived(b"bye")
        for _ in range(int(CLOSE_GRACE)):
            transport.protocol.dataReceived(b"x")
            self.clock.advance(1)
        self.assertTrue(transport.disconnected)

    def test_ownLoseConnection(self) -> None:
        """
        The same grace after the protocol beneath calls C{loseConnection}.
        """
        transport = self.connect(self.inner())
        transport.protocol.loseConnection()
        transport.disconnecting = False  # as if the peer's bytes were still read
        transport.protocol.dataReceived(b"x" * (CLOSE_GRACE_BYTES + 1))
        self.assertTrue(transport.disconnected)

    def inner(self) -> Factory:
        return Factory.forProtocol(_Recorder)
