# -*- test-case-name: tests.frontends.web.test_origin -*-
"""
Tests for L{finger.frontends.web.origin}: the names the site answers for,
C{--public-url}, C{--trusted-proxies}, and where absolute URLs point.
"""

import ipaddress
from typing import Dict, Optional

from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.internet.interfaces import IAddress
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.http import Request
from twisted.web.iweb import IRequest
from twisted.web.test.requesthelper import DummyChannel

from finger.frontends.web.origin import (
    SiteOrigin,
    authority,
    parseProxies,
    parsePublicURL,
)

PROXY = IPv4Address("TCP", "10.1.2.3", 40000)
"""
The address of the proxy in these tests.
"""


def _request(
    headers: Optional[Dict[bytes, bytes]] = None,
    peer: IAddress = IPv4Address("TCP", "192.0.2.7", 50000),
    host: IAddress = IPv4Address("TCP", "10.0.0.1", 8000),
    secure: bool = False,
) -> IRequest:
    """
    A request with C{headers}, from C{peer}, that arrived on C{host}.
    """
    channel = DummyChannel()
    channel.transport.getHost = lambda: host  # type: ignore[method-assign]
    channel.transport.getPeer = lambda: peer  # type: ignore[method-assign]
    request = Request(channel)  # type: ignore[arg-type]
    request.client = peer
    request.isSecure = lambda: secure  # type: ignore[method-assign]
    for name, value in (headers or {}).items():
        request.requestHeaders.addRawHeader(name, value)
    return request  # type: ignore[return-value]


class PublicURLTests(SynchronousTestCase):
    """
    C{--public-url}: an http or https URL, with a path prefix or none.
    """

    def test_parts(self) -> None:
        """
        The scheme, host, port and prefix are kept; a default port, the
        final C{/} and the case of the host are not.
        """
        url = parsePublicURL("HTTPS://Finger.Example.COM:443/prefix/")
        self.assertEqual(
            (url.scheme, url.authority, url.host, url.prefix),
            ("https", "finger.example.com", "finger.example.com", "/prefix"),
        )
        self.assertEqual(url.base, "https://finger.example.com/prefix")
        self.assertEqual(parsePublicURL("http://h:8080").base, "http://h:8080")
        self.assertEqual(parsePublicURL("https://[::1]:8443/a/b").base, "https://[::1]:8443/a/b")
        self.assertEqual(parsePublicURL("https://bücher.example/").host, "xn--bcher-kva.example")

    def test_refused(self) -> None:
        """
        Anything but a plain http or https URL is refused, naming the
        option.
        """
        for value in [
            "finger.example.com",
            "ftp://h/",
            "https://",
            "https://user@h/",
            "https://h/?x=1",
            "https://h/#top",
            "https://h:port/",
            "https://h/a b",
            "https://h/a\\b",
        ]:
            e = self.assertRaises(ValueError, parsePublicURL, value)
            self.assertIn("--public-url", str(e))


class ProxiesTests(SynchronousTestCase):
    """
    C{--trusted-proxies}: addresses and networks, separated by commas.
    """

    def test_parse(self) -> None:
        self.assertEqual(
            parseProxies("127.0.0.1, 10.0.0.0/8,::1"),
            (
                ipaddress.ip_network("127.0.0.1/32"),
                ipaddress.ip_network("10.0.0.0/8"),
                ipaddress.ip_network("::1/128"),
            ),
        )
        for value in ["", "proxy.example", "10.0.0.0/33", "1.2.3.4,"]:
            e = self.assertRaises(ValueError, parseProxies, value)
            self.assertIn("--trusted-proxies", str(e))

    def test_authority(self) -> None:
        """
        A port is left out where it is the scheme's own; an IPv6 address is
        bracketed.
        """
        self.assertEqual(authority("h", 443, "https"), "h")
        self.assertEqual(authority("h", 443, "http"), "h:443")
        self.assertEqual(authority("::1", 8000, "http"), "[::1]:8000")
        self.assertEqual(authority("h", None, "http"), "h")


class WithoutPublicURLTests(SynchronousTestCase):
    """
    Without C{--public-url}, the names come from the configuration and the
    port from the socket; the C{Host} header only chooses among the names.
    """

    def setUp(self) -> None:
        self.origin = SiteOrigin(["example.com", "finger.example.com"], machine=["box"])

    def test_shown(self) -> None:
        self.assertEqual(self.origin.shown(_request({b"host": b"finger.example.com:80"})),
                         "finger.example.com")
        self.assertEqual(self.origin.shown(_request({b"host": b"evil.example"})), "example.com")
        self.assertEqual(self.origin.shown(_request()), "example.com")

    def test_base(self) -> None:
        """
        Absolute URLs are on the host asked about, the port the request
        arrived on, and C{https} over TLS; the C{Host} header plays no part.
        """
        request = _request({b"host": b"evil.example:9"})
        self.assertEqual(self.origin.base(request, "example.com"), "http://example.com:8000")
        secure = _request(host=IPv6Address("TCP", "::1", 443), secure=True)
        self.assertEqual(self.origin.base(secure, "Example.COM"), "https://example.com")
        unix = _request(host=UNIXAddress(b"/run/finger.sock"))
        self.assertEqual(self.origin.base(unix, "example.com"), "http://example.com")

    def test_scheme(self) -> None:
        """
        Forwarded headers are never believed without a public URL.
        """
        forwarded = {b"x-forwarded-proto": b"https"}
        self.assertEqual(self.origin.scheme(_request(forwarded, peer=PROXY)), "http")
        self.assertEqual(self.origin.scheme(_request(secure=True)), "https")
        self.assertIsNone(self.origin.secureBase(_request()))
        origin = SiteOrigin(["example.com"], httpsPort=8443)
        self.assertEqual(
            origin.secureBase(_request({b"host": b"evil.example"})), "https://example.com:8443"
        )

    def test_proxiesNeedPublicURL(self) -> None:
        """
        Trusted proxies without a public URL are ignored.
        """
        origin = SiteOrigin(["example.com"], proxies=parseProxies("10.0.0.0/8"))
        self.assertFalse(origin.proxies)
        self.assertEqual(origin.vary, b"")


class PublicURLOriginTests(SynchronousTestCase):
    """
    With C{--public-url}, every absolute URL begins with it.
    """

    def test_base(self) -> None:
        """
        The public URL, with its prefix, whatever the request says.
        """
        origin = SiteOrigin(public=parsePublicURL("https://finger.example.com/f"))
        request = _request({b"host": b"evil.example", b"x-forwarded-host": b"evil.example"})
        self.assertEqual(origin.base(request, "finger.example.com"), "https://finger.example.com/f")
        self.assertEqual(origin.shown(request), "finger.example.com")
        self.assertTrue(origin.serves("finger.example.com", request))
        self.assertFalse(origin.serves("evil.example", request))
        self.assertFalse(origin.serves("localhost", request))
        # A TLS proxy in front: plain HTTP is taken as HTTPS.
        self.assertEqual(origin.scheme(request), "https")
        self.assertEqual(origin.secureBase(request), "https://finger.example.com/f")

    def test_withHosts(self) -> None:
        """
        With C{--webfinger-hosts}, those names and the public URL's host
        are served; the pages show the first name given.
        """
        origin = SiteOrigin(["example.com"], public=parsePublicURL("https://finger.example.com"))
        request = _request()
        self.assertTrue(origin.serves("example.com", request))
        self.assertTrue(origin.serves("finger.example.com", request))
        self.assertEqual(origin.shown(request), "example.com")

    def test_withHTTPS(self) -> None:
        """
        With an HTTPS listener of its own, plain HTTP is plain: the scheme
        is C{http}, and the public URL is where to go instead.
        """
        origin = SiteOrigin(public=parsePublicURL("https://finger.example.com"), httpsPort=443)
        self.assertEqual(origin.scheme(_request()), "http")
        self.assertEqual(origin.secureBase(_request()), "https://finger.example.com")
        http = SiteOrigin(public=parsePublicURL("http://finger.example.com"))
        self.assertEqual(http.scheme(_request()), "http")
        self.assertIsNone(http.secureBase(_request()))


class TrustedProxyTests(SynchronousTestCase):
    """
    With C{--trusted-proxies}, what a listed proxy forwards is believed, and
    nothing else's.
    """

    def setUp(self) -> None:
        self.origin = SiteOrigin(
            ["example.com"],
            public=parsePublicURL("https://finger.example.com/f"),
            proxies=parseProxies("10.0.0.0/8,::1"),
        )

    def test_trusted(self) -> None:
        """
        A listed proxy's scheme and host (if served) are used; the last
        value counts, as the nearest proxy wrote it.
        """
        headers = {b"x-forwarded-proto": b"https", b"x-forwarded-host": b"example.com:8443"}
        request = _request(headers, peer=PROXY)
        self.assertEqual(self.origin.scheme(request), "https")
        self.assertEqual(self.origin.base(request, "example.com"), "https://example.com:8443/f")
        self.assertEqual(self.origin.shown(request), "example.com")
        plain = _request({b"x-forwarded-proto": b"https, http"}, peer=PROXY)
        self.assertEqual(self.origin.scheme(plain), "http")
        mapped = _request({b"x-forwarded-proto": b"http"}, peer=IPv6Address("TCP", "::ffff:10.0.0.9", 1))
        self.assertEqual(self.origin.scheme(mapped), "http")
        self.assertEqual(self.origin.scheme(_request(peer=PROXY)), "https")
        self.assertEqual(self.origin.vary, b"X-Forwarded-Host, X-Forwarded-Proto")

    def test_unservedHost(self) -> None:
        """
        A forwarded host the site does not serve is not used.
        """
        request = _request({b"x-forwarded-host": b"evil.example"}, peer=PROXY)
        self.assertEqual(self.origin.base(request, "example.com"), "https://finger.example.com/f")
        self.assertEqual(self.origin.shown(request), "example.com")
        bad = _request({b"x-forwarded-host": b"example.com/x"}, peer=PROXY)
        self.assertEqual(self.origin.base(bad, "example.com"), "https://finger.example.com/f")

    def test_untrusted(self) -> None:
        """
        From any other address, forwarded headers are ignored and the
        request came over plain HTTP.
        """
        headers = {b"x-forwarded-proto": b"https", b"x-forwarded-host": b"example.com"}
        request = _request(headers)
        self.assertEqual(self.origin.scheme(request), "http")
        self.assertEqual(self.origin.base(request, "example.com"), "https://finger.example.com/f")
        unix = _request(headers, peer=UNIXAddress(b"/run/x"))
        self.assertEqual(self.origin.scheme(unix), "http")
