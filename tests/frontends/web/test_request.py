# -*- test-case-name: tests.frontends.web.test_request -*-
"""
Tests for L{finger.frontends.web.request}: the request-body cap, the
deadline for a request's head, the one writer of raw HTTP responses, and the
helpers every part of the site uses.
"""

import json
import xmlrpc.client
from typing import Any, List, Optional, Tuple

from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.http import combinedLogFormatter, datetimeToLogString
from twisted.web.http_headers import Headers
from twisted.web.server import Site

from finger.accesslog import FLUSH_INTERVAL
from finger.backends.memory import MemoryFingerService
from finger.frontends.web.pages import UserStatusTree
from finger.frontends.web.request import (
    MAX_BODY_BYTES,
    HeadDeadlineChannel,
    LimitedRequest,
    WebSite,
    accessLine,
    busyResponse,
    displayStatus,
    rawResponse,
    userName,
    userPath,
)
from finger.messages import BODY_TOO_LARGE, BUSY, REQUEST_TOO_SLOW
from tests.frontends.web.helpers import Client, sampleService


class HelperTests(SynchronousTestCase):
    """
    How users are named in URLs and statuses shown.
    """

    def test_userPath(self) -> None:
        """
        A user's path segment is percent-encoded UTF-8, with C{/} and every
        other reserved character quoted.
        """
        self.assertEqual(userPath("zoë"), "zo%C3%AB")
        self.assertEqual(userPath("a/b"), "a%2Fb")
        self.assertEqual(userPath('a"b<c>?#&%'), "a%22b%3Cc%3E%3F%23%26%25")

    def test_dotNames(self) -> None:
        """
        The users C{.} and C{..} get a segment that no browser takes for a
        path step (the URL standard reads C{%2E} as C{.} too), and that
        L{userName} reads back; no other name reads as them.
        """
        self.assertEqual(userPath("."), ".@")
        self.assertEqual(userPath(".."), "..@")
        self.assertEqual(userPath("..."), "...")
        self.assertEqual(userName(b".@"), (".", True))
        self.assertEqual(userName(b"..@"), ("..", True))
        # What the percent-decoded path gives for /%2E, from a client that
        # does not remove dot segments.
        self.assertEqual(userName(b"."), (".", True))
        self.assertEqual(userName(b"...@"), ("...@", False))
        self.assertEqual(userName(b"@"), ("@", False))

    def test_dotNamePages(self) -> None:
        """
        The users list links C{.} and C{..} to their pages, and the pages
        and the JSON view show them.
        """
        client = Client(
            UserStatusTree(MemoryFingerService(**{".": "one", "..": "two"}), clock=Clock())
        )
        code, headers, body = client.request(b"/")
        self.assertIn(b'<a href="./.@">.</a>', body)
        self.assertIn(b'<a href="./..@">..</a>', body)
        code, headers, body = client.request(b"/.@")
        self.assertEqual(code, 200)
        self.assertIn(b"<h1>.</h1>", body)
        self.assertIn(b'href="./api/users/.@"', body)
        code, headers, body = client.request(b"/..@")
        self.assertIn(b"<h1>..</h1>", body)
        code, headers, body = client.request(b"/api/users/..@")
        self.assertEqual(json.loads(body), {"user": "..", "status": "two"})

    def test_displayStatus(self) -> None:
        """
        Control characters go; lines stay.
        """
        self.assertEqual(displayStatus("red\x1b[31m\r\nnext\x00"), "red[31m\nnext")

    def test_userName(self) -> None:
        """
        A URL path segment is a user name if it is UTF-8 and follows the
        naming rule; otherwise it is still shown, with what is not UTF-8
        replaced.
        """
        self.assertEqual(userName("zo\u00eb".encode("utf-8")), ("zo\u00eb", True))
        self.assertEqual(userName(b"a b"), ("a b", False))
        self.assertEqual(userName(b"x\xff"), ("x\ufffd", False))


class BodyLimitTests(SynchronousTestCase):
    """
    L{LimitedRequest} refuses request bodies over L{MAX_BODY_BYTES}: the
    site never keeps more than that of any one request.
    """

    def setUp(self) -> None:
        self.site = Site(
            UserStatusTree(sampleService(), clock=Clock()),
            requestFactory=LimitedRequest,
            reactor=Clock(),
        )
        self.channel = self.site.buildProtocol(IPv4Address("TCP", "127.0.0.1", 5000))
        self.transport = StringTransport(peerAddress=IPv4Address("TCP", "127.0.0.1", 5000))
        self.channel.makeConnection(self.transport)

    def assertRefused(self) -> None:
        self.assertTrue(self.transport.value().startswith(b"HTTP/1.1 413 "), self.transport.value())
        self.assertIn(b"Connection: close\r\n", self.transport.value())
        self.assertTrue(self.transport.disconnecting)

    def test_announcedLength(self) -> None:
        """
        A C{Content-Length} over the limit is refused before any of the body
        is read, and without a C{100 Continue}.
        """
        self.channel.dataReceived(
            b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
            b"Content-Length: %d\r\n\r\n" % (MAX_BODY_BYTES + 1,)
        )
        self.assertRefused()
        self.assertNotIn(b"100 Continue", self.transport.value())
        # The rest of the body, if it comes, is ignored.
        self.channel.dataReceived(b"x" * (MAX_BODY_BYTES + 1))
        self.assertEqual(self.transport.value().count(b"HTTP/1.1"), 1)

    def test_chunkedBody(self) -> None:
        """
        A chunked body is refused as soon as its chunks add up to more than
        the limit.
        """
        self.channel.dataReceived(
            b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"%x\r\n%s\r\n" % (4096, b"x" * 4096)
        for _ in range(MAX_BODY_BYTES // 4096):
            self.channel.dataReceived(chunk)
        self.assertEqual(self.transport.value(), b"")
        self.channel.dataReceived(chunk + b"0\r\n\r\n")
        self.assertRefused()
        self.assertEqual(self.transport.value().count(b"HTTP/1.1"), 1)

    def test_withinLimit(self) -> None:
        """
        A body up to the limit is read and answered as usual.
        """
        call = xmlrpc.client.dumps((), "getUsers").encode("utf-8")
        body = call + b" " * (MAX_BODY_BYTES - len(call))
        self.channel.dataReceived(
            b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        code, headers, answer = Client.parse(self.transport.value())
        self.assertEqual(code, 200)
        self.assertIn(b"moshez", answer)


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


class _LoggedRequest:
    """
    What an access log line is made from.
    """

    def __init__(self, uri: bytes, agent: Optional[bytes], address: object) -> None:
        self.method = b"GET"
        self.uri = uri
        self.clientproto = b"HTTP/1.1"
        self.code = 404
        self.sentLength = 0
        self.requestHeaders = Headers()
        if agent is not None:
            self.requestHeaders.setRawHeaders(b"user-agent", [agent])
            self.requestHeaders.setRawHeaders(b"referer", [agent[::-1]])
        self.address = address

    def getClientAddress(self) -> object:
        return self.address

    def getHeader(self, name: bytes) -> Optional[bytes]:
        values = self.requestHeaders.getRawHeaders(name)
        return values[-1] if values else None


class AccessLineTests(SynchronousTestCase):
    def test_sameAsTwisted(self) -> None:
        """
        L{accessLine} writes what twisted.web's C{combinedLogFormatter}
        writes, for awkward values too.
        """
        awkward = [b"/", b'/a"b', b"/a'b", b"/'\"\\", b"/\x1b[2J\r\n\x00\x7f\xff", b""]
        addresses = [
            IPv4Address("TCP", "192.0.2.1", 5000),
            IPv6Address("TCP", "::1", 5000),
            UNIXAddress(None),
        ]
        stamp = datetimeToLogString(0)
        for uri in awkward:
            for agent in awkward + [None]:
                for address in addresses:
                    request: Any = _LoggedRequest(uri, agent, address)
                    self.assertEqual(
                        accessLine(stamp, request), combinedLogFormatter(stamp, request)
                    )


class HeadDeadlineTests(SynchronousTestCase):
    """
    L{WebSite} gives each request C{headTimeout} seconds for its request
    line and headers, counted from the connection's start for the first
    request and from its first byte for the next ones; a client that
    trickles bytes, each resetting the idle timeout, is still closed, with
    a C{408}.
    """

    def connect(
        self, headTimeout: float = 10.0, idleTimeout: float = 120.0
    ) -> Tuple[Clock, HeadDeadlineChannel, StringTransport]:
        clock = Clock()
        site = WebSite(
            UserStatusTree(sampleService(), clock=clock),
            clock=clock,
            headTimeout=headTimeout,
            idleTimeout=idleTimeout,
        )
        peer = IPv4Address("TCP", "127.0.0.1", 5000)
        channel = site.buildProtocol(peer)
        assert isinstance(channel, HeadDeadlineChannel)
        transport = StringTransport(peerAddress=peer)
        channel.makeConnection(transport)
        return clock, channel, transport

    def assertTimedOut(self, transport: StringTransport, before: bytes = b"") -> None:
        self.assertEqual(
            transport.value(),
            before + rawResponse(408, b"Request Timeout", REQUEST_TOO_SLOW),
        )
        self.assertTrue(transport.disconnecting)

    def test_trickledHeaders(self) -> None:
        """
        One header byte every 5 seconds keeps the idle timeout away, but the
        head must be complete within C{headTimeout} of the connection's
        start.
        """
        clock, channel, transport = self.connect(headTimeout=10.0, idleTimeout=120.0)
        head = b"GET / HTTP/1.1\r\nHost: x\r\n"
        channel.dataReceived(head[:1])
        clock.advance(5)
        channel.dataReceived(head[1:2])
        clock.advance(4.9)
        self.assertFalse(transport.disconnecting)
        self.assertEqual(transport.value(), b"")
        clock.advance(0.1)
        self.assertTimedOut(transport)

    def test_silentClient(self) -> None:
        """
        A client that sends nothing at all is closed when the head's time
        is up, before the idle timeout.
        """
        clock, channel, transport = self.connect(headTimeout=10.0, idleTimeout=120.0)
        clock.advance(10)
        self.assertTimedOut(transport)

    def test_headInTime(self) -> None:
        """
        A head that arrives in time is answered, and its deadline does not
        follow the connection: only the idle timeout then applies until the
        next request's first byte, whose head gets C{headTimeout} again.
        """
        clock, channel, transport = self.connect(headTimeout=10.0, idleTimeout=120.0)
        clock.advance(9)
        channel.dataReceived(b"GET /moshez HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = transport.value()
        self.assertTrue(answer.startswith(b"HTTP/1.1 200 "), answer)
        clock.advance(100)
        self.assertFalse(transport.disconnecting)
        channel.dataReceived(b"G")
        clock.advance(9.9)
        self.assertFalse(transport.disconnecting)
        clock.advance(0.1)
        self.assertTimedOut(transport, answer)

    def test_accessLog(self) -> None:
        """
        Each request is logged in the combined log format, in the site's
        access log: in batches, within a second while the site runs, and
        when it stops.
        """
        clock, channel, transport = self.connect()
        lines: List[List[str]] = []
        channel.site.accessLog.writer = lines.append  # type: ignore[attr-defined]
        channel.site.doStart()  # type: ignore[attr-defined]
        channel.dataReceived(b"GET /mo%1Bshez HTTP/1.1\r\nHost: x\r\nUser-Agent: \x1b[2J\r\n\r\n")
        self.assertEqual(lines, [])
        clock.advance(FLUSH_INTERVAL)
        self.assertEqual(
            lines,
            [
                [
                    '"127.0.0.1" - - [01/Jan/1970:00:00:00 +0000] "GET /mo%1Bshez HTTP/1.1" '
                    '404 1024 "-" "\\x1b[2J"'
                ]
            ],
        )
        channel.dataReceived(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        channel.site.doStop()  # type: ignore[attr-defined]
        self.assertEqual(len(lines), 2)
        self.assertIn('"GET / HTTP/1.1" 200', lines[1][0])

    def test_slowBody(self) -> None:
        """
        The deadline covers the head only: a body may come slowly, within
        the idle timeout.
        """
        clock, channel, transport = self.connect(headTimeout=10.0, idleTimeout=120.0)
        body = xmlrpc.client.dumps(("moshez",), "getUser").encode("utf-8")
        channel.dataReceived(
            b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n"
            b"Content-Length: %d\r\n\r\n" % (len(body),)
        )
        for i in range(0, len(body), 20):
            channel.dataReceived(body[i : i + 20])
            clock.advance(5)
        code, headers, answer = Client.parse(transport.value())
        self.assertEqual(code, 200)
        self.assertIn(b"happy &amp; &lt;well&gt;", answer)

    def test_pipelined(self) -> None:
        """
        A second request sent along with the first gets its own deadline
        once the first is answered.
        """
        clock, channel, transport = self.connect(headTimeout=10.0, idleTimeout=120.0)
        channel.dataReceived(b"GET /moshez HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHo")
        answer = transport.value()
        self.assertTrue(answer.startswith(b"HTTP/1.1 200 "), answer)
        clock.advance(9.9)
        self.assertFalse(transport.disconnecting)
        clock.advance(0.1)
        self.assertTimedOut(transport, answer)

    def test_pipelinedPart(self) -> None:
        """
        Part of a request line sent along with the first request begins the
        next head when more of it arrives.
        """
        clock, channel, transport = self.connect(headTimeout=10.0, idleTimeout=120.0)
        channel.dataReceived(b"GET /moshez HTTP/1.1\r\nHost: x\r\n\r\nGE")
        answer = transport.value()
        clock.advance(30)
        channel.dataReceived(b"T")
        clock.advance(9.9)
        self.assertFalse(transport.disconnecting)
        clock.advance(0.1)
        self.assertTimedOut(transport, answer)

    def test_idleTimeout(self) -> None:
        """
        The idle timeout still applies, reset by every byte.
        """
        clock, channel, transport = self.connect(headTimeout=60.0, idleTimeout=5.0)
        channel.dataReceived(b"GET")
        clock.advance(4.9)
        channel.dataReceived(b" ")
        clock.advance(4.9)
        self.assertFalse(transport.disconnecting)
        clock.advance(0.1)
        self.assertTrue(transport.disconnecting)
        self.assertEqual(transport.value(), b"")

    def test_connectionLost(self) -> None:
        """
        A connection that goes away leaves no timer behind.
        """
        clock, channel, transport = self.connect()
        channel.dataReceived(b"GET")
        channel.connectionLost(None)
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_requestFactory(self) -> None:
        """
        The site's requests have their body capped.
        """
        clock, channel, transport = self.connect()
        channel.dataReceived(
            b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (MAX_BODY_BYTES + 1,)
        )
        self.assertTrue(transport.value().startswith(b"HTTP/1.1 413 "), transport.value())
