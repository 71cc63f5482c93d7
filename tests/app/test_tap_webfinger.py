# -*- test-case-name: tests.app.test_tap_webfinger -*-
"""
Tests for WebFinger and the front page in the whole service that
L{finger.app.tap} builds: C{--webfinger-hosts}, C{--no-listing} on the web,
and real clients on loopback (Twisted's L{Agent}, a finger query, headless
Chromium).
"""

import json
import os
from typing import Any, Dict
from urllib.parse import quote

from twisted.internet import reactor
from twisted.internet.ssl import Certificate
from twisted.internet.utils import getProcessOutputAndValue
from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.client import Agent, BrowserLikePolicyForHTTPS

from finger.app import tap
from finger.frontends.web.webfinger import JRD, PROFILE_PAGE, STATUS_PROPERTY
from finger.messages import LISTING_DENIED, STATUS_CUT, WEBFINGER_NOT_SERVED
from tests.frontends.web.helpers import listedUser
from tests.app.test_tap_web import _certificateFile, _get, _Running, _statusFile
from tests.support import exchange, listeningPort, which


def _webfinger(base: str, resource: str) -> str:
    return base + "/.well-known/webfinger?resource=" + quote(resource, safe="")


class OptionsTests(SynchronousTestCase):
    """
    C{--webfinger-hosts}: names separated by commas, checked.
    """

    def parse(self, *args: str) -> tap.Options:
        options = tap.Options()
        options.parseOptions(["--file", _statusFile(self), *args])
        return options

    def test_default(self) -> None:
        """
        By default no names are given: the site answers for the name each
        request was sent to and the machine's own.
        """
        self.assertIsNone(self.parse()["webfinger-hosts"])
        text = " ".join(str(tap.Options()).split())
        self.assertIn("--webfinger-hosts=", text)
        self.assertIn("the machine's own names", text)

    def test_names(self) -> None:
        """
        The names are split at commas.
        """
        options = self.parse("--webfinger-hosts", "example.com, finger.example.org")
        self.assertEqual(options["webfinger-hosts"], ["example.com", "finger.example.org"])

    def test_badName(self) -> None:
        """
        A name with a port (or none at all) is refused, naming the option.
        """
        for value in ["example.com:8000", "a,,b"]:
            e = self.assertRaises(usage.UsageError, self.parse, "--webfinger-hosts", value)
            self.assertIn("--webfinger-hosts", str(e))


def _secure(testCase: TestCase, *args: str) -> "tuple[_Running, Agent]":
    """
    The running service with C{--ssl} and C{args}, and an agent that
    trusts its certificate.
    """
    path, certificate = _certificateFile(testCase)
    running = _Running(testCase, "--ssl", "--certificate", path, *args)
    trust = Certificate.loadPEM(certificate)
    return running, Agent(reactor, contextFactory=BrowserLikePolicyForHTTPS(trustRoot=trust))


class PublicURLOptionsTests(SynchronousTestCase):
    """
    C{--public-url} and C{--trusted-proxies}, checked once and kept in the
    web configuration.
    """

    def parse(self, *args: str) -> tap.Options:
        options = tap.Options()
        options.parseOptions(["--file", _statusFile(self), *args])
        return options

    def test_default(self) -> None:
        options = self.parse()
        self.assertIsNone(options.config.web.publicURL)
        self.assertEqual(options.config.web.trustedProxies, ())
        text = " ".join(str(tap.Options()).split())
        self.assertIn("--public-url=", text)
        self.assertIn("--trusted-proxies=", text)

    def test_given(self) -> None:
        options = self.parse(
            "--public-url", "https://Finger.Example/f/", "--trusted-proxies", "127.0.0.1,::1"
        )
        self.assertEqual(options.config.web.publicURL.base, "https://finger.example/f")
        self.assertEqual(len(options.config.web.trustedProxies), 2)

    def test_refused(self) -> None:
        """
        A URL that is not http or https, a proxy that is not an address,
        and proxies without a public URL are refused, each naming its
        option.
        """
        for args, option in [
            (["--public-url", "finger.example"], "--public-url"),
            (["--public-url", "https://h/", "--trusted-proxies", "proxy"], "--trusted-proxies"),
            (["--trusted-proxies", "127.0.0.1"], "--public-url"),
        ]:
            e = self.assertRaises(usage.UsageError, self.parse, *args)
            self.assertIn(option, str(e))

    def test_portNumber(self) -> None:
        """
        The finger and HTTPS ports the pages and redirects name are read
        from the port options, where they say.
        """
        from finger.app.web import portNumber

        for value, number in [
            ("7979", 7979),
            ("tcp:79:interface=127.0.0.1", 79),
            ("tcp:interface=127.0.0.1:port=8443", 8443),
            ("tcp:0", None),
            ("unix:/run/finger.sock", None),
        ]:
            options = self.parse("--fingerport", value)
            self.assertEqual(portNumber(options.config.finger.port), number, value)


class WebFingerServiceTests(TestCase):
    """
    The running service answers WebFinger, over HTTPS, with what finger
    says.
    """

    def setUp(self) -> None:
        self.running, self.agent = _secure(self)

    async def test_sameAsFinger(self) -> None:
        """
        The JRD of a user fetched with a real HTTP client holds the status
        that a finger query for the same user gets, and links to the page
        and the JSON, which answer.
        """
        for user in ["moshez", "zoë"]:
            resource = f"acct:{quote(user)}@127.0.0.1"
            code, headers, body = await _get(self.agent, _webfinger(self.running.https, resource))
            self.assertEqual(code, 200)
            self.assertEqual(headers.getRawHeaders(b"content-type"), [JRD])
            self.assertEqual(headers.getRawHeaders(b"access-control-allow-origin"), [b"*"])
            self.assertEqual(headers.getRawHeaders(b"x-frame-options"), [b"DENY"])
            document: Dict[str, Any] = json.loads(body.decode("utf-8"))
            self.assertEqual(document["subject"], resource)

            port = listeningPort(self.running.service, "finger")
            answer = await exchange(
                reactor, f"tcp:127.0.0.1:{port}", user.encode("utf-8") + b"\r\n"
            )
            status = answer.decode("utf-8").rstrip("\r\n").replace("\r\n", "\n")
            self.assertEqual(document["properties"], {STATUS_PROPERTY: status})

            page = self.running.https + "/" + quote(user, safe="")
            self.assertEqual(document["aliases"], [page])
            links = {link["rel"]: link for link in document["links"]}
            self.assertEqual(
                links[PROFILE_PAGE], {"rel": PROFILE_PAGE, "type": "text/html", "href": page}
            )
            code, headers, body = await _get(self.agent, links[PROFILE_PAGE]["href"])
            self.assertEqual(code, 200)
            code, headers, body = await _get(self.agent, links["alternate"]["href"])
            self.assertEqual(json.loads(body), {"user": user, "status": status})

    async def test_byPageAndRel(self) -> None:
        """
        The page's URL is a resource too; C{rel} filters the links.
        """
        page = self.running.https + "/moshez"
        url = _webfinger(self.running.https, page) + "&rel=" + quote(PROFILE_PAGE, safe="")
        code, headers, body = await _get(self.agent, url)
        document = json.loads(body)
        self.assertEqual(document["subject"], page)
        self.assertEqual([link["rel"] for link in document["links"]], [PROFILE_PAGE])

    async def test_errors(self) -> None:
        """
        A missing resource is a 400, an unknown user and a host not served
        404s, each readable from any origin.
        """
        base = self.running.https + "/.well-known/webfinger"
        for url, expected in [
            (base, 400),
            (_webfinger(self.running.https, "acct:nobody@127.0.0.1"), 404),
            (_webfinger(self.running.https, "acct:moshez@elsewhere.example"), 404),
        ]:
            code, headers, body = await _get(self.agent, url)
            self.assertEqual(code, expected, url)
            self.assertEqual(headers.getRawHeaders(b"access-control-allow-origin"), [b"*"])


class HostsTests(TestCase):
    """
    C{--webfinger-hosts} says which names the site answers for.
    """

    async def test_givenHosts(self) -> None:
        """
        Only the names given are served, and the pages use the first.
        """
        running, agent = _secure(self, "--webfinger-hosts", "example.com,finger.example.org")
        for host in ["example.com", "finger.example.org"]:
            url = _webfinger(running.https, f"acct:moshez@{host}")
            code, headers, body = await _get(agent, url)
            self.assertEqual(code, 200, host)
            page = f"https://{host}:{running.sslPort}/moshez"
            self.assertEqual(json.loads(body)["aliases"], [page])
        code, headers, body = await _get(agent, _webfinger(running.https, "acct:moshez@127.0.0.1"))
        self.assertEqual((code, body.decode("utf-8")), (404, WEBFINGER_NOT_SERVED + "\n"))
        code, headers, body = await _get(agent, running.http + "/moshez")
        self.assertIn("finger moshez@example.com", body.decode("utf-8"))


class HTTPSTests(TestCase):
    """
    WebFinger over C{--ssl}: the links are HTTPS.
    """

    async def test_https(self) -> None:
        running, agent = _secure(self)
        code, headers, body = await _get(agent, _webfinger(running.https, "acct:moshez@127.0.0.1"))
        self.assertEqual(code, 200)
        self.assertEqual(headers.getRawHeaders(b"access-control-allow-origin"), [b"*"])
        self.assertEqual(json.loads(body)["aliases"], [running.https + "/moshez"])


class FrontPageTests(TestCase):
    """
    The front page in the running service, and C{--no-listing}.
    """

    async def test_noListing(self) -> None:
        """
        With C{--no-listing} the front page names nobody and the JSON list
        is refused; WebFinger and users' pages still answer.
        """
        running, agent = _secure(self, "--no-listing")
        code, headers, body = await _get(agent, running.http + "/")
        self.assertEqual(code, 200)
        self.assertNotIn(b"moshez", body)
        self.assertIn(b"does not list its users", body)
        code, headers, body = await _get(agent, running.http + "/api/users")
        self.assertEqual((code, json.loads(body)), (403, {"error": LISTING_DENIED}))
        code, headers, body = await _get(agent, _webfinger(running.https, "acct:moshez@127.0.0.1"))
        self.assertEqual(code, 200)

    async def test_chromium(self) -> None:
        """
        Headless Chromium shows the front page with each user's status
        beside their name, a long one cut.
        """
        chromium = which("chromium")
        if chromium is None:
            raise self.skipTest("chromium is not installed (apt-get install chromium)")
        running = _Running(self)
        with open(running.file, "a", encoding="utf-8") as f:
            f.write("glyph: " + "busy " * 40 + "\n")
        running.service.getServiceNamed("backend").check()  # type: ignore[attr-defined]
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", "--no-first-run"]
        flags += ["--disable-background-networking", "--disable-component-update"]
        flags += ["--disable-sync", "--user-data-dir=" + os.path.abspath(self.mktemp())]
        out, err, code = await getProcessOutputAndValue(
            chromium, flags + [running.http + "/"], env=dict(os.environ)
        )
        dom = out.decode("utf-8")
        self.assertEqual(code, 0, err[-2000:])
        self.assertIn("<h1>Finger at 127.0.0.1</h1>", dom)
        self.assertIn(listedUser("moshez", "happy &amp; &lt;well&gt;"), dom)
        self.assertIn('data-live-user="zoë">in Paris – café</span>', dom)
        self.assertIn("busy busy", dom)
        self.assertIn("busy" + STATUS_CUT + "</span>", dom)
