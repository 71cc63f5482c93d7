# -*- test-case-name: tests.app.test_tap_webhttp -*-
"""
The web site's edges in the whole service on loopback, spoken to with real
HTTP clients (Python's L{http.client}, and C{curl} where it is installed):
the C{Host} header and forwarded headers, WebFinger over HTTPS only,
C{OPTIONS}, entity tags and C{304}s, and unknown names shown safely.
"""

import http.client
import json
import ssl
import subprocess
from typing import Dict, List, Optional, Sequence, Tuple
from urllib.parse import quote

from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from finger.messages import TWO_HOSTS, WEBFINGER_HTTPS_ONLY
from tests.app.test_tap_web import _certificateFile, _Running
from tests.support import freePort, which

Headers = Sequence[Tuple[str, str]]
Answer = Tuple[int, Dict[str, List[str]], bytes]


def _exchange(
    port: int,
    path: str,
    headers: Headers = (),
    method: str = "GET",
    context: Optional[ssl.SSLContext] = None,
) -> Answer:
    """
    Make one request with L{http.client}, sending exactly C{headers} (a
    C{Host} header only if they hold one, or two), blocking.
    """
    if context is None:
        connection: http.client.HTTPConnection = http.client.HTTPConnection(
            "127.0.0.1", port, timeout=30
        )
    else:
        connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=30, context=context)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        received: Dict[str, List[str]] = {}
        for name, value in response.getheaders():
            received.setdefault(name.lower(), []).append(value)
        return response.status, received, response.read()
    finally:
        connection.close()


def _webfinger(resource: str) -> str:
    return "/.well-known/webfinger?resource=" + quote(resource, safe="")


class _Site:
    """
    The running service, and a blocking client of it run in a thread.
    """

    def __init__(self, testCase: TestCase, *args: str, tls: bool = False) -> None:
        self.context: Optional[ssl.SSLContext] = None
        if tls:
            path, certificate = _certificateFile(testCase)
            args = ("--ssl", "--certificate", path, *args)
            self.context = ssl.create_default_context(cadata=certificate.decode("ascii"))
        self.running = _Running(testCase, *args)

    def get(self, path: str, *headers: Tuple[str, str], method: str = "GET") -> "object":
        """
        Ask over plain HTTP.
        """
        return deferToThread(_exchange, self.running.webPort, path, headers, method)

    def secure(self, path: str, *headers: Tuple[str, str]) -> "object":
        """
        Ask over HTTPS.
        """
        return deferToThread(
            _exchange, self.running.sslPort, path, headers, "GET", self.context
        )


class HostTests(TestCase):
    """
    The C{Host} header never reaches an answer.
    """

    async def test_hostHeader(self) -> None:
        """
        Over HTTPS, a JRD asked with any C{Host} header links to the
        configured name; the page names it too; two C{Host} headers are a
        C{400}.
        """
        site = _Site(self, "--webfinger-hosts", "example.com", tls=True)
        port = site.running.sslPort
        for host in ["evil.example", "example.com", "127.0.0.1"]:
            code, headers, body = await site.secure(
                _webfinger("acct:moshez@example.com"), ("Host", host)
            )
            self.assertEqual(code, 200, body)
            document = json.loads(body)
            self.assertEqual(document["aliases"], [f"https://example.com:{port}/moshez"])
            self.assertNotIn(b"evil", body)
        code, headers, body = await site.get("/moshez", ("Host", "evil.example"))
        self.assertIn(b"finger moshez@example.com", body)
        self.assertNotIn(b"evil", body)
        for fetch in (site.get, site.secure):
            code, headers, body = await fetch(
                _webfinger("acct:moshez@example.com"),
                ("Host", "example.com"),
                ("Host", "evil.example"),
            )
            self.assertEqual((code, body), (400, (TWO_HOSTS + "\n").encode("utf-8")))

    async def test_fingerPort(self) -> None:
        """
        The pages' finger hint names the finger port when it is not 79.
        """
        fingerPort = freePort()
        site = _Site(self, "--fingerport", f"tcp:{fingerPort}:interface=127.0.0.1")
        code, headers, body = await site.get("/moshez", ("Host", "127.0.0.1"))
        self.assertIn(f"pyfinger moshez@127.0.0.1:{fingerPort}".encode("ascii"), body)
        code, headers, body = await site.get("/", ("Host", "127.0.0.1"))
        self.assertIn(f"pyfinger @127.0.0.1:{fingerPort}".encode("ascii"), body)


class ProxyTests(TestCase):
    """
    C{--public-url} behind a TLS proxy with a path prefix, and
    C{--trusted-proxies}: what the proxy forwards is believed from its
    address only.
    """

    ARGS = ("--public-url", "https://finger.example/f", "--webfinger-hosts", "example.com")

    async def test_trustedProxy(self) -> None:
        """
        From a trusted proxy (here, loopback), the forwarded scheme decides
        whether WebFinger is answered or sent to HTTPS, and a forwarded host
        the site serves is used in the links, with the prefix.
        """
        site = _Site(self, *self.ARGS, "--trusted-proxies", "127.0.0.1,::1")
        path = _webfinger("acct:moshez@example.com")
        code, headers, body = await site.get(
            path,
            ("Host", "127.0.0.1"),
            ("X-Forwarded-Proto", "https"),
            ("X-Forwarded-Host", "example.com"),
        )
        self.assertEqual(code, 200, body)
        links = [link["href"] for link in json.loads(body)["links"]]
        self.assertEqual(
            links, ["https://example.com/f/moshez", "https://example.com/f/api/users/moshez"]
        )
        self.assertEqual(headers["vary"], ["X-Forwarded-Host, X-Forwarded-Proto"])
        code, headers, body = await site.get(
            path, ("Host", "127.0.0.1"), ("X-Forwarded-Proto", "https"),
            ("X-Forwarded-Host", "evil.example"),
        )
        self.assertEqual(json.loads(body)["aliases"], ["https://finger.example/f/moshez"])
        code, headers, body = await site.get(
            path, ("Host", "127.0.0.1"), ("X-Forwarded-Proto", "http")
        )
        self.assertEqual(code, 308)
        self.assertEqual(headers["location"], ["https://finger.example/f" + path])
        code, headers, body = await site.get(
            "/moshez", ("Host", "127.0.0.1"), ("X-Forwarded-Host", "finger.example")
        )
        self.assertIn(b"finger moshez@finger.example", body)

    async def test_untrustedPeer(self) -> None:
        """
        From an address not listed, the forwarded headers are ignored: the
        request came over plain HTTP, and is sent to the public URL.
        """
        site = _Site(self, *self.ARGS, "--trusted-proxies", "10.0.0.0/8")
        path = _webfinger("acct:moshez@example.com")
        code, headers, body = await site.get(
            path,
            ("Host", "127.0.0.1"),
            ("X-Forwarded-Proto", "https"),
            ("X-Forwarded-Host", "example.com"),
        )
        self.assertEqual(code, 308)
        self.assertEqual(headers["location"], ["https://finger.example/f" + path])
        code, headers, body = await site.get(
            "/moshez", ("Host", "127.0.0.1"), ("X-Forwarded-Host", "finger.example")
        )
        self.assertIn(b"finger moshez@example.com", body)

    async def test_behindTLSProxy(self) -> None:
        """
        Without trusted proxies, an C{https} public URL says a proxy ends
        TLS: plain HTTP is answered, with the public URL in the links.
        """
        site = _Site(self, *self.ARGS)
        code, headers, body = await site.get(
            _webfinger("acct:moshez@example.com"), ("Host", "evil.example")
        )
        self.assertEqual(code, 200, body)
        self.assertEqual(json.loads(body)["aliases"], ["https://finger.example/f/moshez"])
        code, headers, body = await site.get(
            _webfinger("https://finger.example/f/zo%C3%AB"), ("Host", "127.0.0.1")
        )
        self.assertEqual(code, 200, body)
        self.assertEqual(json.loads(body)["aliases"][0], "acct:zo%C3%AB@finger.example")


class HTTPSOnlyTests(TestCase):
    """
    WebFinger is answered over HTTPS only.
    """

    async def test_redirect(self) -> None:
        """
        With C{--ssl}, plain-HTTP WebFinger is a C{308} to the same query
        on the HTTPS port, which answers; pages stay on plain HTTP.
        """
        site = _Site(self, tls=True)
        path = _webfinger("acct:moshez@127.0.0.1") + "&rel=" + quote("alternate", safe="")
        code, headers, body = await site.get(path, ("Host", "127.0.0.1:1"))
        self.assertEqual(code, 308)
        target = f"https://127.0.0.1:{site.running.sslPort}{path}"
        self.assertEqual(headers["location"], [target])
        self.assertEqual(headers["cache-control"], ["no-store"])
        code, headers, body = await site.secure(path, ("Host", "127.0.0.1"))
        self.assertEqual(code, 200)
        self.assertEqual(len(json.loads(body)["links"]), 1)
        code, headers, body = await site.get("/moshez", ("Host", "127.0.0.1"))
        self.assertEqual(code, 200)

    async def test_noHTTPS(self) -> None:
        """
        Without HTTPS, plain-HTTP WebFinger is a C{403} saying why.
        """
        site = _Site(self)
        code, headers, body = await site.get(
            _webfinger("acct:moshez@127.0.0.1"), ("Host", "127.0.0.1")
        )
        self.assertEqual((code, body), (403, (WEBFINGER_HTTPS_ONLY + "\n").encode("utf-8")))


class CachingAndOptionsTests(TestCase):
    """
    Entity tags, C{304}s and C{OPTIONS}, with real clients.
    """

    def setUp(self) -> None:
        self.site = _Site(self, tls=True)

    async def test_conditional(self) -> None:
        """
        A page, the JSON and a JRD carry an entity tag; asked with it, each
        is a C{304} with no body.
        """
        for fetch, path in [
            (self.site.get, "/moshez"),
            (self.site.get, "/"),
            (self.site.get, "/api/users/moshez"),
            (self.site.secure, _webfinger("acct:moshez@127.0.0.1")),
        ]:
            code, headers, body = await fetch(path, ("Host", "127.0.0.1"))
            self.assertEqual(code, 200, path)
            (tag,) = headers["etag"]
            self.assertEqual(headers["cache-control"], ["no-cache"])
            code, again, empty = await fetch(
                path, ("Host", "127.0.0.1"), ("If-None-Match", tag)
            )
            self.assertEqual((code, empty, again["etag"]), (304, b"", [tag]), path)

    async def test_curl(self) -> None:
        """
        C{curl} revalidates a page it has with C{If-None-Match} and gets a
        C{304}; an unknown name with a right-to-left override and an escape
        never comes back raw, on the page or in the JSON.
        """
        curl = which("curl")
        if curl is None:
            raise self.skipTest("curl is not installed (apt-get install curl)")
        base = self.site.running.http

        def run(*args: str) -> bytes:
            return subprocess.run(
                [curl, "-s", *args], capture_output=True, timeout=60, check=True
            ).stdout

        head = await deferToThread(run, "-D", "-", "-o", "/dev/null", base + "/moshez")
        tag = [
            line.split(b":", 1)[1].strip()
            for line in head.splitlines()
            if line.lower().startswith(b"etag:")
        ][0]
        out = await deferToThread(
            run, "-o", "/dev/null", "-w", "%{http_code}", "-H",
            "If-None-Match: " + tag.decode("ascii"), base + "/moshez",
        )
        self.assertEqual(out, b"304")
        for path in ["/mo%E2%80%AEshez%1B%5B2J", "/api/users/mo%E2%80%AEshez%1B%5B2J"]:
            body = await deferToThread(run, base + path)
            self.assertNotIn(b"\x1b", body)
            self.assertNotIn("\u202e".encode("utf-8"), body)
            self.assertIn(b"U+202E", body)

    async def test_options(self) -> None:
        """
        A browser's preflight for WebFinger or the JSON view is a C{204}
        allowing any origin; any other path answers with what it allows.
        """
        preflight = [
            ("Host", "127.0.0.1"),
            ("Origin", "https://elsewhere.example"),
            ("Access-Control-Request-Method", "GET"),
        ]
        running = self.site.running
        for port, context, path in [
            (running.sslPort, self.site.context, _webfinger("acct:moshez@127.0.0.1")),
            (running.webPort, None, "/api/users/moshez"),
        ]:
            code, headers, body = await deferToThread(
                _exchange, port, path, preflight, "OPTIONS", context
            )
            self.assertEqual((code, body), (204, b""), path)
            self.assertEqual(headers["access-control-allow-origin"], ["*"])
            self.assertEqual(headers["access-control-allow-methods"], ["GET, HEAD"])
            self.assertIn("If-None-Match", headers["access-control-allow-headers"][0])
        code, headers, body = await self.site.get("/moshez", *preflight, method="OPTIONS")
        self.assertEqual((code, headers["allow"]), (204, ["GET, HEAD, OPTIONS"]))
        self.assertNotIn("access-control-allow-origin", headers)
