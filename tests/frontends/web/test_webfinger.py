# -*- test-case-name: tests.frontends.web.test_webfinger -*-
"""
Tests for L{finger.frontends.web.webfinger}: WebFinger (RFC 7033) at
C{/.well-known/webfinger}, over an in-memory connection to the whole site,
over TLS unless a test says otherwise (WebFinger is answered over HTTPS
only).
"""

import json
import os
from typing import Dict, List, Optional

from twisted.internet.interfaces import IAddress
from twisted.internet.task import Clock
from twisted.logger import capturedLogs
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.http import Request
from twisted.web.iweb import IRequest
from twisted.web.test.requesthelper import DummyChannel

from finger.backends.local import NO_PLAN, LocalFingerService
from finger.backends.memory import MemoryFingerService
from finger.frontends.web.origin import parsePublicURL
from finger.frontends.web.pages import SECURITY_HEADERS, UserStatusTree
from finger.frontends.web.request import displayStatus
from finger.frontends.web.webfinger import (
    JRD,
    PROFILE_PAGE,
    STATUS_PROPERTY,
    BadResource,
    ServedHosts,
    UnknownResource,
    acctURI,
    normalHost,
    parseHosts,
    parseResource,
)
from finger.messages import (
    INTERNAL_ERROR,
    NO_SUCH_USER,
    NOT_FOUND,
    TIMED_OUT,
    WEBFINGER_BAD_RESOURCE,
    WEBFINGER_HTTPS_ONLY,
    WEBFINGER_NO_RESOURCE,
    WEBFINGER_NOT_SERVED,
    WEBFINGER_UNKNOWN_RESOURCE,
)
from finger.testing import BrokenService, FaultyService, ThreadlessClock
from tests.backends.test_local import FakeAccounts
from tests.frontends.web.helpers import Client, Response, sampleService

TIMEOUT = 7.0
"""
The back-end's time to answer in these tests: not the default.
"""

HOST = b"finger.example:8080"
"""
The C{Host} header of the requests here.
"""

ORIGIN = "https://finger.example:12345"
"""
Where the absolute URLs of the answers about accounts on C{finger.example}
begin: that name, on the port the requests arrive on (not L{HOST}'s).
"""

MACHINE = ["box.example", "box", "localhost"]
"""
The machine's own names in these tests.
"""


def _path(resource: str, *rels: str) -> bytes:
    """
    The path that asks WebFinger about C{resource}, with C{rels}, each
    percent-encoded as a client encodes a query.
    """
    from urllib.parse import urlencode

    query = [("resource", resource)] + [("rel", rel) for rel in rels]
    return b"/.well-known/webfinger?" + urlencode(query).encode("ascii")


class WebFingerTests(SynchronousTestCase):
    """
    The JRD document, its headers, and the 400s and 404s.
    """

    def setUp(self) -> None:
        self.service = sampleService()
        self.clock = Clock()
        self.client = self.site(self.service)

    def site(self, service: object, secure: bool = True, **settings: object) -> Client:
        settings.setdefault("webfingerHosts", ["finger.example"])
        tree = UserStatusTree(service, clock=self.clock, lookupTimeout=TIMEOUT, **settings)  # type: ignore[arg-type]
        tree.origin.hosts.machine = frozenset(MACHINE)
        return Client(tree, secure=secure)

    def get(
        self, path: bytes, host: Optional[bytes] = HOST, client: Optional[Client] = None
    ) -> Response:
        headers: Dict[bytes, bytes] = {b"Host": host} if host is not None else {}
        return (client or self.client).request(path, headers)

    def jrd(self, path: bytes, **kwargs: object) -> Dict[str, object]:
        code, headers, body = self.get(path, **kwargs)  # type: ignore[arg-type]
        self.assertEqual(code, 200, body)
        self.assertEqual(headers[b"content-type"], JRD)
        self.assertEqual(int(headers[b"content-length"]), len(body))
        return json.loads(body.decode("utf-8"))  # type: ignore[no-any-return]

    def assertAnswer(self, path: bytes, code: int, sentence: str, **kwargs: object) -> None:
        received, headers, body = self.get(path, **kwargs)  # type: ignore[arg-type]
        self.assertEqual((received, body), (code, (sentence + "\n").encode("utf-8")), path)
        self.assertEqual(headers[b"content-type"], b"text/plain; charset=utf-8")
        self.assertEqual(headers[b"access-control-allow-origin"], b"*")

    def test_acct(self) -> None:
        """
        C{acct:USER@HOST} gets the JRD: the subject as asked, the page as
        an alias, the status as a property, and links to the page and to
        the JSON.
        """
        self.assertEqual(
            self.jrd(_path("acct:moshez@finger.example")),
            {
                "subject": "acct:moshez@finger.example",
                "aliases": [ORIGIN + "/moshez"],
                "properties": {STATUS_PROPERTY: "happy & <well>"},
                "links": [
                    {"rel": PROFILE_PAGE, "type": "text/html", "href": ORIGIN + "/moshez"},
                    {
                        "rel": "alternate",
                        "type": "application/json",
                        "href": ORIGIN + "/api/users/moshez",
                    },
                ],
            },
        )

    def test_headers(self) -> None:
        """
        A JRD answer allows every origin to read it, and keeps the security
        headers of the rest of the site.
        """
        code, headers, body = self.get(_path("acct:moshez@finger.example"))
        self.assertEqual(headers[b"access-control-allow-origin"], b"*")
        for name, value in SECURITY_HEADERS.items():
            self.assertEqual(headers[name], value, name)

    def test_corsOnEveryAnswer(self) -> None:
        """
        Errors, a method WebFinger does not answer and paths below it allow
        every origin too.
        """
        for path, method in [
            (_path("acct:nobody@finger.example"), b"GET"),
            (b"/.well-known/webfinger", b"GET"),
            (b"/.well-known/webfinger/x", b"GET"),
            (_path("acct:moshez@finger.example"), b"POST"),
            (_path("acct:moshez@finger.example"), b"HEAD"),
        ]:
            code, headers, body = self.client.request(path, {b"Host": HOST}, method)
            self.assertEqual(headers[b"access-control-allow-origin"], b"*", (path, method))
            self.assertEqual(headers[b"x-content-type-options"], b"nosniff")

    def test_head(self) -> None:
        """
        HEAD answers like GET, without a body.
        """
        code, headers, body = self.client.request(
            _path("acct:moshez@finger.example"), {b"Host": HOST}, b"HEAD"
        )
        self.assertEqual((code, headers[b"content-type"], body), (200, JRD, b""))

    def test_utf8AndEscaping(self) -> None:
        """
        A name that needs percent-encoding is found from its encoded or
        plain form; the hrefs quote it; the JSON keeps the status's
        characters as they are, without its control characters.
        """
        self.service.users['a/b"c'] = "<script>alert('x')</script> \x1b[2J & \"q\""
        for resource in ["acct:zo%C3%ABg@finger.example", "acct:zoëg@finger.example"]:
            self.service.users["zoëg"] = "in Paris – café"
            document = self.jrd(_path(resource))
            self.assertEqual(document["subject"], resource)
            self.assertEqual(document["properties"], {STATUS_PROPERTY: "in Paris – café"})
            self.assertEqual(document["aliases"], [ORIGIN + "/zo%C3%ABg"])
        document = self.jrd(_path('acct:a%2Fb"c@finger.example'))
        self.assertEqual(
            document["properties"],
            {STATUS_PROPERTY: "<script>alert('x')</script> [2J & \"q\""},
        )
        self.assertEqual(document["aliases"], [ORIGIN + "/a%2Fb%22c"])
        code, headers, body = self.get(_path('acct:a%2Fb"c@finger.example'))
        self.assertNotIn(b"\x1b", body)
        self.assertIn(b'\\"q\\"', body)

    def test_multiLineStatus(self) -> None:
        """
        A status of several lines is one property, its lines joined by
        C{"\\n"}, as every part of the site shows it.
        """
        self.service.users["multi"] = "one\r\ntwo\x00\nthree"
        document = self.jrd(_path("acct:multi@finger.example"))
        self.assertEqual(document["properties"], {STATUS_PROPERTY: "one\ntwo\nthree"})
        self.assertEqual(displayStatus("one\r\ntwo\x00\nthree"), "one\ntwo\nthree")

    def test_profilePageURL(self) -> None:
        """
        The URL of a user's page is a resource too: the subject is that URL,
        and the account is an alias; so is this site's URL of the page when
        the client knew it by another.
        """
        document = self.jrd(_path(ORIGIN + "/zo%C3%AB"))
        self.assertEqual(document["subject"], ORIGIN + "/zo%C3%AB")
        self.assertEqual(document["aliases"], ["acct:zo%C3%AB@finger.example"])
        self.assertEqual(document["properties"], {STATUS_PROPERTY: "in Paris – café"})
        document = self.jrd(_path("https://FINGER.example/moshez"))
        self.assertEqual(document["aliases"], ["acct:moshez@finger.example", ORIGIN + "/moshez"])

    def test_rel(self) -> None:
        """
        C{rel} keeps only the links with the relations asked for; the rest
        of the document stays.
        """
        resource = "acct:moshez@finger.example"
        document = self.jrd(_path(resource, PROFILE_PAGE))
        self.assertEqual([link["rel"] for link in document["links"]], [PROFILE_PAGE])  # type: ignore[attr-defined]
        self.assertEqual(document["properties"], {STATUS_PROPERTY: "happy & <well>"})
        document = self.jrd(_path(resource, "alternate"))
        self.assertEqual([link["rel"] for link in document["links"]], ["alternate"])  # type: ignore[attr-defined]
        document = self.jrd(_path(resource, "alternate", PROFILE_PAGE))
        self.assertEqual(len(document["links"]), 2)  # type: ignore[arg-type]
        document = self.jrd(_path(resource, "http://example.com/rel/other"))
        self.assertEqual(document["links"], [])
        self.assertEqual(document["subject"], resource)

    def test_https(self) -> None:
        """
        Over HTTPS, the links are C{https} URLs.
        """
        document = self.jrd(_path("acct:moshez@finger.example"))
        self.assertEqual(document["aliases"], ["https://finger.example:12345/moshez"])

    def test_plainHTTPRefused(self) -> None:
        """
        Over plain HTTP, without HTTPS of its own or an C{https} public
        URL, WebFinger is refused with a C{403} that says why, never
        stored by a cache.
        """
        client = self.site(self.service, secure=False)
        code, headers, body = self.get(_path("acct:moshez@finger.example"), client=client)
        self.assertEqual((code, body), (403, (WEBFINGER_HTTPS_ONLY + "\n").encode("utf-8")))
        self.assertEqual(headers[b"cache-control"], b"no-store")
        self.assertEqual(headers[b"access-control-allow-origin"], b"*")

    def test_plainHTTPRedirected(self) -> None:
        """
        With an HTTPS listener, WebFinger over plain HTTP is a C{308} to
        the same query over HTTPS, on a name the site serves and the HTTPS
        port; with an C{https} public URL, to that URL.
        """
        client = self.site(self.service, secure=False, httpsPort=8443)
        path = _path("acct:moshez@finger.example", PROFILE_PAGE)
        code, headers, body = self.get(path, client=client)
        self.assertEqual(code, 308)
        self.assertEqual(headers[b"location"], b"https://finger.example:8443" + path)
        code, headers, body = self.get(path, host=b"evil.example", client=client)
        self.assertEqual(headers[b"location"], b"https://finger.example:8443" + path)
        client = self.site(self.service, secure=False, httpsPort=443)
        self.assertEqual(
            self.get(path, client=client)[1][b"location"], b"https://finger.example" + path
        )
        public = parsePublicURL("https://example.com/finger/")
        client = self.site(self.service, secure=False, httpsPort=443, publicURL=public)
        self.assertEqual(
            self.get(path, client=client)[1][b"location"], b"https://example.com/finger" + path
        )
        # A query with characters a URL cannot hold is sent on percent-encoded.
        code, headers, body = self.get(
            b'/.well-known/webfinger?resource=acct:a"<b>{|}@finger.example', client=client
        )
        self.assertEqual(
            headers[b"location"],
            b"https://example.com/finger/.well-known/webfinger"
            b"?resource=acct:a%22%3Cb%3E%7B%7C%7D@finger.example",
        )

    def test_behindTLSProxy(self) -> None:
        """
        With an C{https} public URL and no HTTPS listener of its own, the
        operator says a proxy in front ends TLS: plain HTTP is answered,
        with links from the public URL and its path prefix.
        """
        public = parsePublicURL("https://example.com/finger")
        client = self.site(self.service, secure=False, publicURL=public)
        for resource in ["acct:moshez@finger.example", "https://example.com/finger/moshez"]:
            document = self.jrd(_path(resource), client=client)
            links: List[Dict[str, str]] = document["links"]  # type: ignore[assignment]
            self.assertEqual(links[0]["href"], "https://example.com/finger/moshez")
            self.assertEqual(links[1]["href"], "https://example.com/finger/api/users/moshez")
        self.assertAnswer(
            _path("https://example.com/moshez"), 404, WEBFINGER_UNKNOWN_RESOURCE, client=client
        )

    def test_missingResource(self) -> None:
        """
        No C{resource}, an empty one, or two are a 400.
        """
        for path in [
            b"/.well-known/webfinger",
            b"/.well-known/webfinger?rel=alternate",
            b"/.well-known/webfinger?resource=",
            _path("acct:moshez@finger.example") + b"&resource=acct%3Ashawn%40finger.example",
        ]:
            self.assertAnswer(path, 400, WEBFINGER_NO_RESOURCE)

    def test_malformedResource(self) -> None:
        """
        A resource that is no URI, an C{acct:} URI without a user or a host,
        or a URL without a host, or text that is not UTF-8, is a 400.
        """
        for path in [
            _path("moshez"),
            _path("moshez@finger.example"),
            _path("acct:moshez"),
            _path("acct:@finger.example"),
            _path("acct:moshez@"),
            _path("acct:moshez@finger.example/x"),
            _path("acct:zo%FF@finger.example"),
            _path("http:///moshez"),
            _path("http://finger.example:port/moshez"),
            b"/.well-known/webfinger?resource=acct%3A%FF%40finger.example",
            _path("acct:moshez@finger.example") + b"&rel=%FF",
        ]:
            self.assertAnswer(path, 400, WEBFINGER_BAD_RESOURCE)
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_unknownUser(self) -> None:
        """
        An unknown user, or a name no user can have, is a 404.
        """
        for resource in [
            "acct:nobody@finger.example",
            "acct:-rf@finger.example",
            "acct:a%20b@finger.example",
            ORIGIN + "/nobody",
        ]:
            self.assertAnswer(_path(resource), 404, NO_SUCH_USER)

    def test_unknownResource(self) -> None:
        """
        Another kind of URI, or a URL of this site that is no user's page,
        is a 404.
        """
        for resource in [
            "mailto:moshez@finger.example",
            ORIGIN + "/",
            ORIGIN,
            ORIGIN + "/moshez/more",
            ORIGIN + "/moshez?x=1",
            ORIGIN + "/moshez#top",
            ORIGIN + "/api",
            ORIGIN + "/RPC2",
            ORIGIN + "/.well-known",
        ]:
            self.assertAnswer(_path(resource), 404, WEBFINGER_UNKNOWN_RESOURCE)

    def test_hostNotServed(self) -> None:
        """
        An account or a page on a host this server is not is a 404, even
        for a user it knows.
        """
        for resource in [
            "acct:moshez@elsewhere.example",
            "http://elsewhere.example/moshez",
            "acct:moshez@finger.example.org",
        ]:
            self.assertAnswer(_path(resource), 404, WEBFINGER_NOT_SERVED)

    def test_defaultHosts(self) -> None:
        """
        By default the machine's own names (in any case, with or without a
        port) and the address the request arrived on are served; the
        request's C{Host} header adds no name.
        """
        client = self.site(self.service, webfingerHosts=None)
        for resource in [
            "acct:moshez@BOX.example",
            "acct:moshez@box.example.",
            "acct:moshez@box.example:8080",
            "acct:moshez@box",
            "acct:moshez@localhost",
            "acct:moshez@10.0.0.1",
            "http://localhost:8000/moshez",
        ]:
            self.assertEqual(self.get(_path(resource), client=client)[0], 200, resource)
        self.assertAnswer(
            _path("acct:moshez@finger.example"), 404, WEBFINGER_NOT_SERVED, client=client
        )
        document = self.jrd(_path("acct:moshez@10.0.0.1"), host=None, client=client)
        self.assertEqual(document["aliases"], ["https://10.0.0.1:12345/moshez"])

    def test_givenHosts(self) -> None:
        """
        Given host names, only they are served, whatever the C{Host}
        header says; the links still point where the client reached this
        server.
        """
        client = self.site(self.service, webfingerHosts=["example.com", "Finger.Example.ORG"])
        for host in ["example.com", "finger.example.org"]:
            document = self.jrd(_path(f"acct:moshez@{host}"), client=client)
            self.assertEqual(document["aliases"], [f"https://{host}:12345/moshez"])
        for resource in ["acct:moshez@finger.example", "acct:moshez@localhost"]:
            self.assertAnswer(_path(resource), 404, WEBFINGER_NOT_SERVED, client=client)

    def test_hiddenUsers(self) -> None:
        """
        A user the back-end hides (a C{.nofinger}, a uid below the floor) is
        unknown to WebFinger as to finger.
        """
        root = self.mktemp()
        os.mkdir(root)
        accounts = FakeAccounts()
        for name, uid in [("alice", 5000), ("hidden", 5000), ("system", 10)]:
            home = os.path.join(root, name)
            os.mkdir(home)
            accounts.add(name, uid, home)
        with open(os.path.join(root, "hidden", ".nofinger"), "w"):
            pass
        service = LocalFingerService(ThreadlessClock(), accounts, uidFloor=1000)
        client = self.site(service)
        document = self.jrd(_path("acct:alice@finger.example"), client=client)
        self.assertEqual(document["properties"], {STATUS_PROPERTY: NO_PLAN})
        for name in ["hidden", "system"]:
            self.assertAnswer(
                _path(f"acct:{name}@finger.example"), 404, NO_SUCH_USER, client=client
            )

    def test_otherPaths(self) -> None:
        """
        Anything else under C{/.well-known} is a plain 404.
        """
        for path in [b"/.well-known", b"/.well-known/", b"/.well-known/host-meta"]:
            code, headers, body = self.get(path)
            self.assertEqual((code, body), (404, (NOT_FOUND + "\n").encode("utf-8")), path)

    def test_hostHeaderIgnored(self) -> None:
        """
        The C{Host} header is never used in a link: the links name the
        host the account is on (one the site serves), whatever the header
        says, malformed or not.
        """
        for host in [b"evil.example", b'evil.example/"><x', None]:
            document = self.jrd(_path("acct:moshez@finger.example"), host=host)
            self.assertEqual(document["aliases"], [ORIGIN + "/moshez"], host)
            self.assertNotIn(b"evil", json.dumps(document).encode("utf-8"))

    def test_entityTag(self) -> None:
        """
        A JRD carries an entity tag and must be checked again before a
        cache reuses it; a conditional request naming the tag is a C{304}
        without a body, one naming another tag the whole JRD.
        """
        path = _path("acct:moshez@finger.example")
        code, headers, body = self.get(path)
        tag = headers[b"etag"]
        self.assertEqual(headers[b"cache-control"], b"no-cache")
        self.assertNotIn(b"vary", headers)
        code, again, empty = self.client.request(path, {b"Host": HOST, b"If-None-Match": tag})
        self.assertEqual((code, empty, again[b"etag"]), (304, b"", tag))
        code, again, full = self.client.request(path, {b"Host": HOST, b"If-None-Match": b'"x"'})
        self.assertEqual((code, full), (200, body))
        self.service.users["moshez"] = "changed"
        code, again, changed = self.client.request(path, {b"Host": HOST, b"If-None-Match": tag})
        self.assertEqual(code, 200)
        self.assertNotEqual(again[b"etag"], tag)
        # An unknown user, who may come, is checked again too; never a 304.
        code, headers, body = self.client.request(
            _path("acct:nobody@finger.example"), {b"Host": HOST, b"If-None-Match": b"*"}
        )
        self.assertEqual((code, headers[b"cache-control"]), (404, b"no-cache"))
        self.assertNotIn(b"etag", headers)


class PolicyTests(SynchronousTestCase):
    """
    WebFinger asks the back-end through the lookup policy: timeouts,
    failures and clients that leave.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.service = FaultyService(stuck=["stuck"], broken=["broken"], moshez="happy")
        self.client = Client(
            UserStatusTree(self.service, clock=self.clock, lookupTimeout=TIMEOUT), secure=True
        )

    def test_timeout(self) -> None:
        """
        A back-end that does not answer in time: a 503, the lookup
        cancelled, one warning logged; others are answered meanwhile.
        """
        with capturedLogs() as events:
            protocol, transport = self.client.connect()
            protocol.dataReceived(  # type: ignore[attr-defined]
                b"GET " + _path("acct:stuck@localhost") + b" HTTP/1.0\r\n\r\n"
            )
            self.clock.advance(TIMEOUT - 1)
            self.assertEqual(transport.value(), b"")
            self.assertEqual(self.client.request(_path("acct:moshez@localhost"))[0], 200)
            self.clock.advance(1)
        code, headers, body = Client.parse(transport.value())
        self.assertEqual((code, body), (503, (TIMED_OUT + "\n").encode("utf-8")))
        self.assertEqual(headers[b"access-control-allow-origin"], b"*")
        self.assertEqual(self.service.cancelled, ["stuck"])
        self.assertEqual(len([e for e in events if e["log_level"].name == "warn"]), 1)

    def test_failure(self) -> None:
        """
        A back-end that fails: a 500 saying only that, the failure logged
        once.
        """
        code, headers, body = self.client.request(_path("acct:broken@localhost"))
        self.assertEqual((code, body), (500, (INTERNAL_ERROR + "\n").encode("utf-8")))
        self.assertEqual(headers[b"access-control-allow-origin"], b"*")
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        client = Client(UserStatusTree(BrokenService(), clock=self.clock), secure=True)
        code, headers, body = client.request(_path("acct:moshez@localhost"))
        self.assertEqual(code, 500)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_clientGoesAway(self) -> None:
        """
        A client that leaves before the back-end answers cancels the lookup;
        nothing is written or logged.
        """
        protocol, transport = self.client.connect()
        protocol.dataReceived(  # type: ignore[attr-defined]
            b"GET " + _path("acct:stuck@localhost") + b" HTTP/1.0\r\n\r\n"
        )
        protocol.connectionLost(Failure(ConnectionError("gone")))  # type: ignore[attr-defined]
        self.assertEqual(self.service.cancelled, ["stuck"])
        self.assertEqual(transport.value(), b"")
        self.assertEqual(self.flushLoggedErrors(), [])


def _request(host: Optional[bytes], address: Optional[IAddress] = None) -> IRequest:
    """
    A request with C{host} as its C{Host} header (none if L{None}) that
    arrived on C{address} (C{10.0.0.1:80} if L{None}).
    """
    channel = DummyChannel()
    if address is not None:
        channel.transport.getHost = lambda: address  # type: ignore[method-assign]
    request = Request(channel)  # type: ignore[arg-type]
    if host is not None:
        request.requestHeaders.setRawHeaders(b"host", [host])
    return request  # type: ignore[return-value]


class ParsingTests(SynchronousTestCase):
    """
    Reading resources, host names and the C{--webfinger-hosts} option.
    """

    def test_acct(self) -> None:
        """
        An C{acct:} URI gives its decoded user and its host without a port;
        the user is the part before the last C{@}.
        """
        self.assertEqual(parseResource("acct:moshez@example.com"), ("moshez", True, "example.com"))
        self.assertEqual(parseResource("ACCT:zo%C3%AB@h:80"), ("zoë", True, "h"))
        self.assertEqual(parseResource("acct:a@b@h"), ("a@b", False, "h"))
        self.assertEqual(parseResource("acct:x@[::1]:80"), ("x", True, "[::1]"))

    def test_url(self) -> None:
        """
        A page's URL gives its user and host; reserved paths are no page.
        """
        self.assertEqual(parseResource("http://h:8000/a%2Fb"), ("a/b", True, "h"))
        self.assertEqual(parseResource("https://H/zo%C3%AB"), ("zoë", True, "h"))
        self.assertRaises(UnknownResource, parseResource, "http://h/api", frozenset([b"api"]))
        self.assertRaises(BadResource, parseResource, "http://user@h/moshez")
        self.assertRaises(BadResource, parseResource, "no scheme")

    def test_acctURI(self) -> None:
        """
        An C{acct:} URI percent-encodes what RFC 7565 does not allow.
        """
        self.assertEqual(acctURI("zoë", "h"), "acct:zo%C3%AB@h")
        self.assertEqual(acctURI("a/b+c", "h"), "acct:a%2Fb+c@h")

    def test_normalHost(self) -> None:
        """
        Host names compare without case, brackets, a final dot, and in
        their ASCII form.
        """
        self.assertEqual(normalHost("Example.COM."), "example.com")
        self.assertEqual(normalHost("[::1]"), "::1")
        self.assertEqual(normalHost("bücher.example"), "xn--bcher-kva.example")

    def test_parseHosts(self) -> None:
        """
        C{--webfinger-hosts} takes names separated by commas, and refuses
        one with a port, a path or nothing at all, naming the option.
        """
        self.assertEqual(parseHosts("a.example, b.example"), ["a.example", "b.example"])
        self.assertEqual(parseHosts("[::1]"), ["[::1]"])
        for value in ["a.example:80", "a.example/x", "a.example,,b", "", "user@a.example"]:
            e = self.assertRaises(ValueError, parseHosts, value)
            self.assertIn("--webfinger-hosts", str(e))

    def test_servedHosts(self) -> None:
        """
        L{ServedHosts.preferred} names the host a request was sent to if it
        is served, else the first name given (or the machine's own).
        """
        request = _request(b"Box.Example:8000")
        self.assertEqual(ServedHosts(machine=[]).preferred(request), "localhost")
        self.assertFalse(ServedHosts(machine=[]).serves("box.example", request))
        self.assertEqual(ServedHosts(machine=["m", "box.example"]).preferred(request), "box.example")
        self.assertEqual(ServedHosts(machine=["M.example"]).preferred(_request(b"x")), "m.example")
        self.assertEqual(ServedHosts(["a.example"]).preferred(request), "a.example")
        self.assertEqual(ServedHosts(["a", "box.example"]).preferred(request), "box.example")
        self.assertFalse(ServedHosts(["a.example"]).serves("box.example", request))


class AdapterTests(SynchronousTestCase):
    """
    WebFinger comes with the site the adapter makes, with default settings.
    """

    def test_adapter(self) -> None:
        from twisted.web.resource import IResource

        client = Client(IResource(MemoryFingerService(moshez="happy")), secure=True)
        code, headers, body = client.request(_path("acct:moshez@localhost"))
        self.assertEqual(code, 200)
        links: List[Dict[str, str]] = json.loads(body)["links"]
        self.assertEqual(links[0]["href"], "https://localhost:12345/moshez")
        client = Client(IResource(MemoryFingerService(moshez="happy")))
        self.assertEqual(client.request(_path("acct:moshez@localhost"))[0], 403)
