# -*- test-case-name: tests.frontends.web.test_site -*-
"""
Tests for L{finger.frontends.web.site}: the request-body cap and the
access log line.  How each connection is read (the deadline for a whole
request, the limits on its line and headers, the per-client rate) and the
raw HTTP responses are tested in L{tests.frontends.web.test_channel}.
"""

import xmlrpc.client
from typing import Any, Optional

from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.http import combinedLogFormatter, datetimeToLogString
from twisted.web.http_headers import Headers
from twisted.web.server import Site

from finger.frontends.web.pages import UserStatusTree
from finger.frontends.web.site import MAX_BODY_BYTES, LimitedRequest, WebSite, accessLine
from finger.messages import TWO_HOSTS
from tests.frontends.web.helpers import Client, sampleService


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

    def test_everyByte(self) -> None:
        """
        Every byte, alone or beside a quote, is escaped as twisted.web's
        C{combinedLogFormatter} escapes it.
        """
        stamp = datetimeToLogString(0)
        address = IPv4Address("TCP", "192.0.2.1", 5000)
        for byte in range(256):
            for uri in [bytes([byte]), b"/" + bytes([byte]) + b"'", b'"' + bytes([byte])]:
                request: Any = _LoggedRequest(uri, uri, address)
                self.assertEqual(accessLine(stamp, request), combinedLogFormatter(stamp, request))


class TwoHostsTests(SynchronousTestCase):
    """
    A request with two C{Host} headers is a C{400}: a cache may read one
    and the site the other.
    """

    def test_refused(self) -> None:
        site = WebSite(UserStatusTree(sampleService(), clock=Clock()), clock=Clock())
        channel = site.buildProtocol(IPv4Address("TCP", "127.0.0.1", 5000))
        transport = StringTransport(peerAddress=IPv4Address("TCP", "127.0.0.1", 5000))
        channel.makeConnection(transport)
        channel.dataReceived(
            b"GET /moshez HTTP/1.1\r\nHost: a.example\r\nHost: evil.example\r\n\r\n"
        )
        response = transport.value()
        self.assertTrue(response.startswith(b"HTTP/1.1 400 "), response)
        self.assertTrue(response.endswith((TWO_HOSTS + "\n").encode("utf-8")), response)
        self.assertNotIn(b"evil", response)
        transport.clear()
        channel.dataReceived(b"GET /moshez HTTP/1.1\r\nHost: a.example\r\n\r\n")
        self.assertTrue(transport.value().startswith(b"HTTP/1.1 200 "), transport.value())
        channel.connectionLost(None)
