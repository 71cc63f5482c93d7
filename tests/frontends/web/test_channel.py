# -*- test-case-name: tests.frontends.web.test_channel -*-
"""
Tests for L{finger.frontends.web.channel}: the deadline for a whole
request, the limits on its line and headers, the per-client rate, and the
one writer of raw HTTP responses.
"""

import xmlrpc.client
from typing import Any, List, Optional

from twisted.internet.address import IPv4Address
from twisted.internet.interfaces import IAddress
from twisted.internet.protocol import connectionDone
from twisted.internet.task import Clock
from twisted.internet.ssl import CertificateOptions
from twisted.internet.testing import StringTransport
from twisted.protocols.tls import TLSMemoryBIOFactory, TLSMemoryBIOProtocol
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.http import HTTPChannel
from twisted.web.http_headers import Headers
from twisted.web.server import Site

from finger.accesslog import FLUSH_INTERVAL
from finger.frontends.web.channel import (
    ABORT_TIMEOUT,
    MAX_WAIT,
    WebChannel,
    busyResponse,
    rawResponse,
)
from finger.frontends.web.pages import UserStatusTree
from finger.frontends.web.site import MAX_BODY_BYTES, LimitedRequest, WebSite
from finger.messages import (
    BODY_TOO_LARGE,
    BUSY,
    HEADERS_TOO_LARGE,
    REQUEST_LINE_TOO_LONG,
    REQUEST_TOO_SLOW,
    TOO_MANY_REQUESTS,
)
from finger.net.deadlines import Deadlines
from finger.net.limits import LimitedProtocol, LimitingFactory
from finger.net.rates import RateLimiter
from tests.frontends.web.helpers import (
    Client,
    StuckService,
    TLSStringTransport,
    sampleService,
)
from tests.support import assertAbortedAt, connected


class RawResponseTests(SynchronousTestCase):
    """
    L{rawResponse} writes the few answers given outside L{twisted.web}: a
    plain-text sentence that closes the connection, as any HTTP client reads
    it.
    """

    def test_busy(self) -> None:
        """
        The busy refusal is a 503 saying L{BUSY}, with a C{Content-Length}
        that counts its body exactly.
        """
        code, headers, body = Client.parse(busyResponse())
        self.assertTrue(busyResponse().startswith(b"HTTP/1.1 503 Service Unavailable\r\n"))
        self.assertEqual(code, 503)
        self.assertEqual(body, (BUSY + "\r\n").encode("utf-8"))
        self.assertEqual(int(headers[b"content-length"]), len(body))
        self.assertEqual(headers[b"content-type"], b"text/plain; charset=utf-8")
        self.assertEqual(headers[b"connection"], b"close")

    def test_utf8(self) -> None:
        """
        A sentence is UTF-8, and its length is counted in bytes.
        """
        code, headers, body = Client.parse(rawResponse(400, b"Bad Request", "caf\u00e9"))
        self.assertEqual((code, body), (400, "caf\u00e9\r\n".encode("utf-8")))
        self.assertEqual(int(headers[b"content-length"]), len(body))

    def test_tooLarge(self) -> None:
        """
        The refusal of a body over the limit says L{BODY_TOO_LARGE}.
        """
        site = Site(
            UserStatusTree(sampleService(), clock=Clock()),
            requestFactory=LimitedRequest,
            reactor=Clock(),
        )
        channel = site.buildProtocol(IPv4Address("TCP", "127.0.0.1", 5000))
        transport = StringTransport(peerAddress=IPv4Address("TCP", "127.0.0.1", 5000))
        channel.makeConnection(transport)
        channel.dataReceived(
            b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (MAX_BODY_BYTES + 1,)
        )
        self.assertEqual(transport.value(), rawResponse(413, b"Content Too Large", BODY_TOO_LARGE))


class _Connected:
    """
    One connection to a L{WebSite} over a L{StringTransport}, on a
    L{Clock}.
    """

    def __init__(
        self,
        requestTimeout: float = 10.0,
        idleTimeout: Optional[float] = 120.0,
        rateLimiter: Optional[RateLimiter] = None,
        peer: IAddress = IPv4Address("TCP", "127.0.0.1", 5000),
        clock: Optional[Clock] = None,
        service: Any = None,
    ) -> None:
        self.clock = clock or Clock()
        self.site = WebSite(
            UserStatusTree(service or sampleService(), clock=self.clock),
            clock=self.clock,
            requestTimeout=requestTimeout,
            idleTimeout=idleTimeout,
            rateLimiter=rateLimiter,
        )
        self.channel = self.site.buildProtocol(peer)
        assert isinstance(self.channel, WebChannel)
        self.transport = StringTransport(peerAddress=peer)
        self.channel.makeConnection(self.transport)

    def send(self, data: bytes) -> None:
        self.channel.dataReceived(data)

    def sendCallHead(self, framing: bytes) -> None:
        """
        Send the request line and headers of an XML-RPC call to C{/RPC2},
        its body framed by the header C{framing}.
        """
        self.send(
            b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n"
            + framing
            + b"\r\n\r\n"
        )


_GET_USER = xmlrpc.client.dumps(("moshez",), "getUser").encode("utf-8")
"""
The body of an XML-RPC call asking for moshez's status.
"""


def _timedOut() -> bytes:
    return rawResponse(408, b"Request Timeout", REQUEST_TOO_SLOW)


class RequestDeadlineTests(SynchronousTestCase):
    """
    L{WebSite} gives each request C{requestTimeout} seconds for its request
    line, headers and body, counted from the connection's start for the
    first request and from the previous answer for the next ones; a client
    that trickles bytes, each resetting the idle timeout, is still closed,
    with a C{408}; an idle keep-alive is closed without one.
    """

    def assertTimedOut(self, transport: StringTransport, before: bytes = b"") -> None:
        self.assertEqual(transport.value(), before + _timedOut())
        self.assertTrue(transport.disconnecting)

    def assertTimesOutAt(self, c: _Connected, deadline: float, before: bytes = b"") -> None:
        """
        C{c} is left open, with nothing written after C{before}, until its
        clock is a tenth of a second short of C{deadline}; then it is
        answered C{408} and closed.
        """
        c.clock.advance(deadline - 0.1 - c.clock.seconds())
        self.assertEqual(c.transport.value(), before)
        self.assertFalse(c.transport.disconnecting)
        c.clock.advance(0.1)
        self.assertTimedOut(c.transport, before)

    def test_trickledHeaders(self) -> None:
        """
        One header byte every 5 seconds keeps the idle timeout away, but the
        request must be complete within C{requestTimeout} of the
        connection's start.
        """
        c = _Connected(requestTimeout=10.0)
        head = b"GET / HTTP/1.1\r\nHost: x\r\n"
        c.send(head[:1])
        c.clock.advance(5)
        c.send(head[1:2])
        self.assertTimesOutAt(c, 10.0)

    def test_silentClient(self) -> None:
        """
        A client that sends nothing at all is answered C{408} and closed when
        its first request's time is up, before the idle timeout.
        """
        c = _Connected(requestTimeout=10.0)
        c.clock.advance(10)
        self.assertTimedOut(c.transport)

    def test_slowBody(self) -> None:
        """
        The deadline covers the body: one announced by C{Content-Length} and
        sent a few bytes at a time, each within the idle timeout, is cut off
        with a C{408} when the request's time is up.
        """
        c = _Connected(requestTimeout=10.0)
        c.sendCallHead(b"Content-Length: %d" % (len(_GET_USER),))
        for i in range(4):
            c.send(_GET_USER[i : i + 1])
            c.clock.advance(2)
        self.assertTimesOutAt(c, 10.0)

    def test_slowChunkedBody(self) -> None:
        """
        A chunked body sent a byte at a time is cut off the same way.
        """
        c = _Connected(requestTimeout=10.0)
        c.sendCallHead(b"Transfer-Encoding: chunked")
        for byte in b"1\r\n<\r\n1\r\n":
            c.send(bytes([byte]))
            c.clock.advance(1)
        self.assertTimesOutAt(c, 10.0)

    def test_bodyInTime(self) -> None:
        """
        A body that arrives, however slowly, before the request's time is up
        is answered.
        """
        c = _Connected(requestTimeout=10.0)
        c.sendCallHead(b"Content-Length: %d" % (len(_GET_USER),))
        quarter = len(_GET_USER) // 4 + 1
        for i in range(0, len(_GET_USER), quarter):
            c.clock.advance(2)
            c.send(_GET_USER[i : i + quarter])
        code, headers, answer = Client.parse(c.transport.value())
        self.assertEqual(code, 200)
        self.assertIn(b"happy &amp; &lt;well&gt;", answer)

    def test_idleKeepAlive(self) -> None:
        """
        After an answer, the client has C{requestTimeout} to send its next
        request; a keep-alive that sent none is closed then, without a
        C{408}, which could be taken for the answer to a request it is
        sending.
        """
        c = _Connected(requestTimeout=10.0)
        c.clock.advance(9)
        c.send(b"GET /moshez HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = c.transport.value()
        self.assertTrue(answer.startswith(b"HTTP/1.1 200 "), answer)
        c.clock.advance(9.9)
        self.assertFalse(c.transport.disconnecting)
        c.clock.advance(0.1)
        self.assertTrue(c.transport.disconnecting)
        self.assertEqual(c.transport.value(), answer)

    def test_nextRequestBegun(self) -> None:
        """
        A next request begun but not finished within C{requestTimeout} of
        the previous answer is answered C{408}.
        """
        c = _Connected(requestTimeout=10.0)
        c.send(b"GET /moshez HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = c.transport.value()
        c.clock.advance(8)
        c.send(b"GET / HTTP/1.1\r\n")
        self.assertTimesOutAt(c, 10.0, answer)

    def test_accessLog(self) -> None:
        """
        Each request is logged in the combined log format, in the site's
        access log: in batches, within a second while the site runs, and
        when it stops.
        """
        c = _Connected()
        lines: List[List[str]] = []
        c.site.accessLog.writer = lines.append  # type: ignore[method-assign]
        c.site.doStart()
        c.send(b"GET /mo%1Bshez HTTP/1.1\r\nHost: x\r\nUser-Agent: \x1b[2J\r\n\r\n")
        self.assertEqual(lines, [])
        c.clock.advance(FLUSH_INTERVAL)
        # The length of the 404 page's body, as sent.
        length = len(c.transport.value().partition(b"\r\n\r\n")[2])
        self.assertEqual(
            lines,
            [
                [
                    '"127.0.0.1" - - [01/Jan/1970:00:00:00 +0000] "GET /mo%1Bshez HTTP/1.1" '
                    f'404 {length} "-" "\\x1b[2J"'
                ]
            ],
        )
        c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        c.site.doStop()
        self.assertEqual(len(lines), 2)
        self.assertIn('"GET / HTTP/1.1" 200', lines[1][0])

    def test_pipelined(self) -> None:
        """
        A second request sent along with the first, but not all of it, has
        C{requestTimeout} from the first's answer.
        """
        c = _Connected(requestTimeout=10.0)
        c.send(b"GET /moshez HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHo")
        answer = c.transport.value()
        self.assertTrue(answer.startswith(b"HTTP/1.1 200 "), answer)
        self.assertTimesOutAt(c, 10.0, answer)

    def test_slowBackEnd(self) -> None:
        """
        The time the back-end takes is not the client's: a request waiting
        for its answer is not cut off by the deadline.
        """
        c = _Connected(requestTimeout=10.0, service=StuckService())
        c.send(b"GET /stuck HTTP/1.1\r\nHost: x\r\n\r\n")
        c.clock.advance(9.9)
        self.assertEqual(c.transport.value(), b"")
        c.clock.advance(0.2)
        self.assertFalse(c.transport.disconnecting)

    def test_idleTimeout(self) -> None:
        """
        The idle timeout still applies, reset by every byte.
        """
        c = _Connected(requestTimeout=60.0, idleTimeout=5.0)
        c.send(b"GET")
        c.clock.advance(4.9)
        c.send(b" ")
        c.clock.advance(4.9)
        self.assertFalse(c.transport.disconnecting)
        c.clock.advance(0.1)
        self.assertTrue(c.transport.disconnecting)
        self.assertEqual(c.transport.value(), b"")

    def test_abortedAfterRefusal(self) -> None:
        """
        A connection answered C{408} that is not gone C{ABORT_TIMEOUT} later
        (a TLS peer that never lets it close, say) is aborted.
        """
        c = _Connected(requestTimeout=10.0)
        c.clock.advance(10)
        self.assertTimedOut(c.transport)
        assertAbortedAt(self, c.clock, c.transport, 10 + ABORT_TIMEOUT)

    def test_closingBounded(self) -> None:
        """
        A connection the site closes after an answer is aborted if it is
        not gone C{requestTimeout} later.
        """
        c = _Connected(requestTimeout=10.0)
        c.send(b"GET /moshez HTTP/1.0\r\n\r\n")
        self.assertTrue(c.transport.disconnecting)
        assertAbortedAt(self, c.clock, c.transport, 10)

    def test_connectionLost(self) -> None:
        """
        A connection that goes away leaves no timer behind.
        """
        c = _Connected()
        c.send(b"GET")
        c.channel.connectionLost(connectionDone)
        self.assertEqual(c.clock.getDelayedCalls(), [])

    def test_requestFactory(self) -> None:
        """
        The site's requests have their body capped, and a connection refused
        for its body is aborted if it does not close.
        """
        c = _Connected()
        c.send(
            b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (MAX_BODY_BYTES + 1,)
        )
        self.assertTrue(c.transport.value().startswith(b"HTTP/1.1 413 "), c.transport.value())
        c.clock.advance(ABORT_TIMEOUT)
        self.assertTrue(c.transport.disconnected)


class HeadLimitTests(SynchronousTestCase):
    """
    A request line over twisted.web's line limit is answered C{414}, and
    headers over its total are answered C{431}, then the connection is
    closed; twisted.web alone drops the first without a word.
    """

    def assertRefused(self, c: _Connected, code: int, reason: bytes, sentence: str) -> None:
        self.assertEqual(c.transport.value(), rawResponse(code, reason, sentence))
        self.assertTrue(c.transport.disconnecting)
        c.clock.advance(ABORT_TIMEOUT)
        self.assertTrue(c.transport.disconnected)

    def test_longRequestLine(self) -> None:
        """
        A 16.5 KiB request line is answered C{414}.
        """
        c = _Connected()
        c.send(b"GET /" + b"a" * (16 * 1024 + 512) + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertRefused(c, 414, b"URI Too Long", REQUEST_LINE_TOO_LONG)

    def test_longRequestLineUnfinished(self) -> None:
        """
        A request line is answered C{414} as soon as more than the limit has
        come without its end.
        """
        c = _Connected()
        for _ in range(17):
            c.send(b"GET /" + b"a" * 1019)
        self.assertRefused(c, 414, b"URI Too Long", REQUEST_LINE_TOO_LONG)

    def test_longHeader(self) -> None:
        """
        One header line over the limit is answered C{431}.
        """
        c = _Connected()
        c.send(b"GET / HTTP/1.1\r\nX-Long: " + b"b" * (16 * 1024 + 512) + b"\r\n\r\n")
        self.assertRefused(
            c, 431, b"Request Header Fields Too Large", HEADERS_TOO_LARGE
        )

    def test_manyHeaders(self) -> None:
        """
        Headers that add up to more than C{totalHeadersSize} are answered
        C{431}.
        """
        c = _Connected()
        c.send(b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: %s\r\n" % (b"b" * 1000,) * 17 + b"\r\n")
        self.assertRefused(
            c, 431, b"Request Header Fields Too Large", HEADERS_TOO_LARGE
        )

    def test_nothingAfter(self) -> None:
        """
        Once refused, nothing more the client sends is read.
        """
        c = _Connected()
        c.send(b"GET /" + b"a" * (16 * 1024 + 512) + b" HTTP/1.1\r\n")
        refusal = c.transport.value()
        c.send(b"GET /moshez HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(c.transport.value(), refusal)

    def test_nextRequest(self) -> None:
        """
        The limit counts each request's head on its own: a second request
        on a connection is not charged for the first.
        """
        c = _Connected()
        head = b"GET /moshez HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: %s\r\n" % (b"b" * 1000,) * 10
        c.send(head + b"\r\n" + head + b"\r\n")
        self.assertEqual(c.transport.value().count(b"HTTP/1.1 200 "), 2)
        self.assertFalse(c.transport.disconnecting)


_OUTSIDE = IPv4Address("TCP", "192.0.2.1", 5000)


def _requests(count: int, path: bytes = b"/moshez") -> bytes:
    return b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % (path,) * count


class RateTests(SynchronousTestCase):
    """
    With a L{RateLimiter}, each client's requests are read at its rate: one
    over it waits for its turn, reading nothing meanwhile, and one whose
    turn is too far away is refused with C{429}.
    """

    def test_pipelinedAtRate(self) -> None:
        """
        Requests pipelined on one connection are answered a burst at once,
        then one each C{1 / rate} seconds; while the next waits, the
        connection is not read.
        """
        clock = Clock()
        c = _Connected(rateLimiter=RateLimiter(clock, rate=2, burst=2), peer=_OUTSIDE, clock=clock)
        c.send(_requests(6))
        self.assertEqual(c.transport.value().count(b"HTTP/1.1 200 "), 2)
        self.assertEqual(c.transport.producerState, "paused")
        clock.advance(0.49)
        self.assertEqual(c.transport.value().count(b"HTTP/1.1 200 "), 2)
        clock.advance(0.01)
        self.assertEqual(c.transport.value().count(b"HTTP/1.1 200 "), 3)
        clock.advance(1.5)
        self.assertEqual(c.transport.value().count(b"HTTP/1.1 200 "), 6)
        self.assertEqual(c.transport.producerState, "producing")
        self.assertFalse(c.transport.disconnecting)

    def test_readWhileWaiting(self) -> None:
        """
        What arrives while a request waits is kept, and read in its turn;
        the connection is paused again if it was resumed meanwhile.
        """
        clock = Clock()
        c = _Connected(rateLimiter=RateLimiter(clock, rate=1, burst=1), peer=_OUTSIDE, clock=clock)
        c.send(_requests(2))
        c.channel.resumeProducing()
        self.assertEqual(c.transport.producerState, "paused")
        c.send(_requests(1, b"/"))
        self.assertEqual(c.transport.value().count(b"HTTP/1.1 200 "), 1)
        clock.advance(2)
        answers = c.transport.value()
        self.assertEqual(answers.count(b"HTTP/1.1 200 "), 3)
        self.assertIn(b"<!DOCTYPE html", answers.rsplit(b"HTTP/1.1 200 ", 1)[1])

    def test_waitNotCounted(self) -> None:
        """
        The wait for a turn is the server's: the request's deadline starts
        again when its turn comes.
        """
        clock = Clock()
        limiter = RateLimiter(clock, rate=0.25, burst=1)
        c = _Connected(requestTimeout=5.0, rateLimiter=limiter, peer=_OUTSIDE, clock=clock)
        c.send(_requests(1) + b"GET /moshez HTTP/1.1\r\n")
        first = c.transport.value()
        clock.advance(4)
        c.send(b"Host: x\r\n")
        clock.advance(4.9)
        self.assertEqual(c.transport.value(), first)
        self.assertFalse(c.transport.disconnecting)
        c.send(b"\r\n")
        self.assertEqual(c.transport.value().count(b"HTTP/1.1 200 "), 2)

    def test_tooFarAway(self) -> None:
        """
        A request whose turn is more than C{MAX_WAIT} seconds away is
        answered C{429}, saying when to try again, and the connection is
        closed.
        """
        clock = Clock()
        limiter = RateLimiter(clock, rate=0.1, burst=1)
        c = _Connected(requestTimeout=60.0, rateLimiter=limiter, peer=_OUTSIDE, clock=clock)
        c.send(_requests(2))
        first, rest = c.transport.value().split(b"HTTP/1.1 429 ", 1)
        self.assertTrue(first.startswith(b"HTTP/1.1 200 "))
        self.assertEqual(
            b"HTTP/1.1 429 " + rest,
            rawResponse(429, b"Too Many Requests", TOO_MANY_REQUESTS, [(b"Retry-After", b"10")]),
        )
        self.assertTrue(c.transport.disconnecting)
        self.assertGreater(10, MAX_WAIT)

    def test_shareClients(self) -> None:
        """
        The rate is the client's, not the connection's: a second connection
        from the same client waits behind the first's requests.
        """
        clock = Clock()
        limiter = RateLimiter(clock, rate=1, burst=1)
        one = _Connected(rateLimiter=limiter, peer=_OUTSIDE, clock=clock)
        two = _Connected(rateLimiter=limiter, peer=_OUTSIDE, clock=clock)
        one.send(_requests(1))
        two.send(_requests(1))
        self.assertEqual(two.transport.value(), b"")
        clock.advance(1)
        self.assertTrue(two.transport.value().startswith(b"HTTP/1.1 200 "))

    def test_loopbackExempt(self) -> None:
        """
        Loopback clients are not limited unless the limiter says so.
        """
        clock = Clock()
        c = _Connected(rateLimiter=RateLimiter(clock, rate=1, burst=1), clock=clock)
        c.send(_requests(10))
        self.assertEqual(c.transport.value().count(b"HTTP/1.1 200 "), 10)
        limited = _Connected(
            rateLimiter=RateLimiter(clock, rate=1, burst=1, limitLoopback=True), clock=clock
        )
        limited.send(_requests(10))
        self.assertEqual(limited.transport.value().count(b"HTTP/1.1 200 "), 1)

    def test_withoutLimiter(self) -> None:
        """
        Without a limiter, every request is read at once.
        """
        c = _Connected(peer=_OUTSIDE)
        c.send(_requests(100))
        self.assertEqual(c.transport.value().count(b"HTTP/1.1 200 "), 100)

    def test_connectionLost(self) -> None:
        """
        A connection that goes away while a request waits leaves no timer
        behind.
        """
        clock = Clock()
        c = _Connected(rateLimiter=RateLimiter(clock, rate=1, burst=1), peer=_OUTSIDE, clock=clock)
        c.send(_requests(3))
        c.channel.connectionLost(connectionDone)
        self.assertEqual(clock.getDelayedCalls(), [])


_GET = b"GET /moshez HTTP/1.1\r\nHost: x\r\n\r\n"


class ConnectionLimitsTests(SynchronousTestCase):
    """
    Served by a L{LimitingFactory}, a plain HTTP connection takes the
    listener's limits itself (L{LimitedConnection}): no wrapper between it
    and its transport.  Over TLS the limits wrap the TLS connection, as
    they wrap any other protocol.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.site = WebSite(
            UserStatusTree(sampleService(), clock=self.clock),
            clock=self.clock,
            requestTimeout=100.0,
            idleTimeout=None,
        )

    def limited(self, **kwargs: Any) -> LimitingFactory:
        return LimitingFactory(self.site, self.clock, busyResponse(), **kwargs)

    def connect(self, factory: Any, peer: IAddress = _OUTSIDE) -> StringTransport:
        return connected(factory, peer)[1]

    def test_notWrapped(self) -> None:
        """
        The channel is connected to its transport itself, counted while it
        is open, and serves as it does without limits.
        """
        factory = self.limited(maxPerAddress=4)
        transport = self.connect(factory)
        channel = transport.protocol
        self.assertIsInstance(channel, WebChannel)
        self.assertIs(channel.transport, transport)
        self.assertIs(channel.limits, factory)
        channel.dataReceived(_GET)
        self.assertTrue(transport.value().startswith(b"HTTP/1.1 200 OK\r\n"))
        self.assertFalse(channel.isSecure())
        self.assertEqual(len(factory.protocols), 1)
        channel.connectionLost(connectionDone)
        self.assertEqual(len(factory.protocols), 0)

    def test_caps(self) -> None:
        """
        It counts against the connection cap and the per-client cap, and a
        connection over them is told L{busyResponse}.
        """
        factory = self.limited(maxConnections=2, maxPerAddress=1)
        first = self.connect(factory)
        self.assertEqual(self.connect(factory).value(), busyResponse())
        self.connect(factory, IPv4Address("TCP", "192.0.2.2", 5000))
        self.assertEqual(
            self.connect(factory, IPv4Address("TCP", "192.0.2.3", 5000)).value(), busyResponse()
        )
        first.protocol.connectionLost(connectionDone)
        self.assertEqual(self.connect(factory).value(), b"")

    def test_writesAreActivity(self) -> None:
        """
        The idle limit counts bytes either way: a connection that is
        written to is not idle, and one that neither reads nor writes is
        closed when the idle time is up.
        """
        factory = self.limited(idleTimeout=10, maxLifetime=None)
        transport = self.connect(factory)
        channel = transport.protocol
        self.clock.advance(9)
        channel.write(b"x")
        self.clock.advance(9)
        channel.writeSequence([b"y"])
        assertAbortedAt(self, self.clock, transport, 9 + 9 + 10)

    def test_lifetime(self) -> None:
        """
        A connection busy with requests is still closed when its lifetime
        ends.
        """
        factory = self.limited(idleTimeout=10, maxLifetime=30)
        transport = self.connect(factory)
        for _ in range(29):
            transport.protocol.dataReceived(_GET)
            self.clock.advance(1)
        assertAbortedAt(self, self.clock, transport, 30)

    def test_noTimersLeft(self) -> None:
        """
        A connection that goes away leaves no timer behind.
        """
        factory = self.limited(idleTimeout=10, maxLifetime=30)
        transport = self.connect(factory)
        transport.protocol.dataReceived(_GET)
        self.clock.advance(15)
        transport.protocol.connectionLost(connectionDone)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_addressesAskedOnce(self) -> None:
        """
        The connection's addresses are asked of the transport once, however
        many requests ask for them.
        """
        transport = self.connect(self.limited())
        channel = transport.protocol
        self.assertEqual(channel.getHost(), transport.getHost())
        self.assertIs(channel.getHost(), channel.getHost())
        self.assertEqual(channel.getPeer(), _OUTSIDE)
        self.assertIs(channel.getPeer(), channel.getPeer())

    def test_overTLS(self) -> None:
        """
        Over TLS the limits wrap the TLS connection: the channel inside
        has no limits of its own, and its requests are secure.
        """
        https = TLSMemoryBIOFactory(CertificateOptions(), False, self.site, clock=self.clock)
        protocol = LimitingFactory(https, self.clock).buildProtocol(_OUTSIDE)
        self.assertIsInstance(protocol, LimitedProtocol)
        self.assertIsInstance(protocol.wrappedProtocol, TLSMemoryBIOProtocol)
        channel = self.site.buildProtocol(_OUTSIDE)
        assert isinstance(channel, WebChannel)
        channel.makeConnection(TLSStringTransport())
        self.assertIsNone(channel.limits)
        self.assertTrue(channel.isSecure())


class WriteHeadersTests(SynchronousTestCase):
    """
    L{WebChannel.writeHeaders} writes what L{HTTPChannel.writeHeaders}
    writes, in one write.
    """

    def written(self, channel: HTTPChannel, headers: Any) -> List[bytes]:
        writes: List[bytes] = []
        transport = StringTransport()
        transport.write = writes.append  # type: ignore[method-assign]
        transport.writeSequence = lambda seq: writes.extend(seq)  # type: ignore[method-assign]
        channel.makeConnection(transport)
        channel.writeHeaders(b"HTTP/1.1", b"200", b"OK", headers)
        return writes

    def test_sameBytes(self) -> None:
        """
        The same status line and headers, canonical and sanitized, in one
        write.
        """
        headers = Headers()
        headers.setRawHeaders(b"content-type", [b"text/html"])
        headers.setRawHeaders(b"x-two", [b"a", b"b\r\nInjected: yes"])
        ours = self.written(WebChannel(Clock(), Deadlines(Clock())), headers)
        theirs = self.written(HTTPChannel(), headers)
        self.assertEqual(len(ours), 1)
        self.assertEqual(ours[0], b"".join(theirs))
        self.assertIn(b"X-Two: b Injected: yes\r\n", ours[0])

    def test_pairs(self) -> None:
        """
        Headers given as pairs, which twisted.web no longer uses, are
        written as twisted.web writes them.
        """
        pairs = [(b"a", b"b")]
        self.assertEqual(
            b"".join(self.written(WebChannel(Clock(), Deadlines(Clock())), pairs)),
            b"".join(self.written(HTTPChannel(), pairs)),
        )
