"""
Tests for L{finger.frontends.web}: the page elements, the templates, the resources and
XML-RPC, all in memory.
"""

import base64
import json
import os
import shutil
import xmlrpc.client
from typing import Dict, List, Optional, Tuple

from twisted.cred.checkers import (
    ICredentialsChecker,
    InMemoryUsernamePasswordDatabaseDontUse,
)
from twisted.cred.credentials import IUsernamePassword
from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.interfaces import ISSLTransport
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import capturedLogs
from twisted.logger import formatEvent
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.resource import IResource, getChildForRequest
from twisted.web.server import Site
from twisted.web.iweb import ITemplateLoader
from twisted.web.template import Element, Tag, TagLoader, flattenString, slot, tags
from twisted.web.test.requesthelper import DummyRequest
from zope.interface import implementer
from zope.interface.verify import verifyObject

from finger.auth import FAILED_LOGIN_DELAY, SetterLogin, setterPortal
from finger.interfaces import IFingerService, IFingerSetterService, StatusNotSaved, UnknownUser
from finger.messages import NO_SUCH_USER
from finger.backends.memory import MemoryFingerService
from finger.frontends.web import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    NEEDS_HTTPS,
    NEEDS_LOGIN,
    NOT_ALLOWED,
    NOT_SAVED,
    LOOKUP_TIMEOUT,
    MAX_BODY_BYTES,
    SECURITY_HEADERS,
    SETTING_NEEDS_AUTH,
    SETTING_NEEDS_HTTPS,
    SETTING_NEEDS_LOGIN,
    TEMPLATE_FILES,
    TIMED_OUT,
    LimitedRequest,
    NotFoundElement,
    TemplateError,
    Templates,
    UserElement,
    UsersElement,
    UserStatus,
    UserStatusTree,
    XMLRPCGate,
    defaultTemplatesDirectory,
    displayStatus,
    loadTemplates,
    prefersJSON,
    userPath,
)
from finger.testing import BrokenService

_Response = Tuple[int, Dict[bytes, bytes], bytes]


@implementer(IFingerService)
class _SlowService:
    """
    A back-end that never answers; it records cancellations.
    """

    def __init__(self) -> None:
        self.cancelled: List[str] = []

    def getUser(self, user: str) -> "Deferred[str]":
        return Deferred(lambda d: self.cancelled.append(user))

    def getUsers(self) -> "Deferred[List[str]]":
        return Deferred(lambda d: self.cancelled.append("*"))


def _flatten(testCase: SynchronousTestCase, element: Element) -> str:
    return testCase.successResultOf(flattenString(None, element)).decode("utf-8")


@implementer(ISSLTransport)
class _TLSStringTransport(StringTransport):
    """
    A L{StringTransport} that says it is TLS, so requests over it are
    secure.
    """

    def getPeerCertificate(self) -> None:
        return None

    def setTcpNoDelay(self, enabled: bool) -> None:
        pass


class _Client:
    """
    Speaks HTTP/1.0 to a L{Site} over a L{StringTransport}: the real request
    parsing, traversal and response code, without a network.

    @ivar secure: whether requests go over a transport that says it is TLS.
    """

    def __init__(self, resource: IResource, secure: bool = False) -> None:
        self.site = Site(resource, reactor=Clock())
        self.secure = secure

    def connect(self) -> Tuple[object, StringTransport]:
        protocol = self.site.buildProtocol(IPv4Address("TCP", "127.0.0.1", 5000))
        kind = _TLSStringTransport if self.secure else StringTransport
        transport = kind(peerAddress=IPv4Address("TCP", "127.0.0.1", 5000))
        protocol.makeConnection(transport)
        return protocol, transport

    def send(
        self,
        path: bytes,
        headers: Optional[Dict[bytes, bytes]] = None,
        method: bytes = b"GET",
        body: bytes = b"",
    ) -> StringTransport:
        """
        Send a request; return the transport the response is written to.
        """
        protocol, transport = self.connect()
        lines = [method + b" " + path + b" HTTP/1.0"]
        for name, value in (headers or {}).items():
            lines.append(name + b": " + value)
        if body:
            lines.append(b"Content-Length: %d" % (len(body),))
        protocol.dataReceived(b"\r\n".join(lines) + b"\r\n\r\n" + body)  # type: ignore[attr-defined]
        return transport

    def request(
        self,
        path: bytes,
        headers: Optional[Dict[bytes, bytes]] = None,
        method: bytes = b"GET",
        body: bytes = b"",
    ) -> _Response:
        return self.parse(self.send(path, headers, method, body).value())

    @staticmethod
    def parse(raw: bytes) -> _Response:
        head, _, body = raw.partition(b"\r\n\r\n")
        statusLine, *headerLines = head.split(b"\r\n")
        received: Dict[bytes, bytes] = {}
        for line in headerLines:
            name, _, value = line.partition(b":")
            received[name.strip().lower()] = value.strip()
        return int(statusLine.split()[1]), received, body

    def rpc(self, method: str, *args: object, headers: Optional[Dict[bytes, bytes]] = None) -> object:
        """
        Call an XML-RPC method at C{/RPC2}; return its result or its
        L{xmlrpc.client.Fault}.
        """
        return self.rpcResult(self.rpcSend(method, *args, headers=headers).value())

    def rpcSend(
        self, method: str, *args: object, headers: Optional[Dict[bytes, bytes]] = None
    ) -> StringTransport:
        """
        Send an XML-RPC call to C{/RPC2}; return the transport the response
        is written to.
        """
        return self.send(
            b"/RPC2",
            {b"Content-Type": b"text/xml", **(headers or {})},
            b"POST",
            xmlrpc.client.dumps(args, method).encode("utf-8"),  # type: ignore[arg-type]
        )

    def rpcResult(self, raw: bytes) -> object:
        """
        The result or L{xmlrpc.client.Fault} of an XML-RPC response.
        """
        code, headers, body = self.parse(raw)
        assert code == 200, (code, body)
        assert headers[b"content-type"].startswith(b"text/xml"), headers
        try:
            return xmlrpc.client.loads(body)[0][0]
        except xmlrpc.client.Fault as f:
            return f


def _service() -> MemoryFingerService:
    return MemoryFingerService(
        moshez="happy & <well>",
        **{"zoë": "in Paris – café", "a/b": "slashed", "RPC2": "shadowed"},
    )


class HelperTests(SynchronousTestCase):
    def test_userPath(self) -> None:
        """
        A user's path segment is percent-encoded UTF-8, with C{/} and every
        other reserved character quoted.
        """
        self.assertEqual(userPath("zoë"), "zo%C3%AB")
        self.assertEqual(userPath("a/b"), "a%2Fb")
        self.assertEqual(userPath('a"b<c>?#&%'), "a%22b%3Cc%3E%3F%23%26%25")

    def test_displayStatus(self) -> None:
        """
        Control characters go; lines stay.
        """
        self.assertEqual(displayStatus("red\x1b[31m\r\nnext\x00"), "red[31m\nnext")

    def test_prefersJSON(self) -> None:
        """
        JSON is chosen only when the client ranks it above HTML.
        """
        self.assertTrue(prefersJSON(b"application/json"))
        self.assertTrue(prefersJSON(b"text/html;q=0.5, application/json"))
        self.assertTrue(prefersJSON(b"application/*"))
        self.assertFalse(prefersJSON(None))
        self.assertFalse(prefersJSON(b""))
        self.assertFalse(prefersJSON(b"*/*"))
        self.assertFalse(prefersJSON(b"text/html,application/xhtml+xml,*/*;q=0.8"))
        self.assertFalse(prefersJSON(b"application/json;q=0, text/html"))
        self.assertFalse(prefersJSON(b"application/json;q=bogus"))
        self.assertFalse(prefersJSON(b"text/html, application/json"))


class ElementTests(SynchronousTestCase):
    """
    Each page's element, flattened: every value is escaped and every link
    quoted.
    """

    def setUp(self) -> None:
        self.templates = loadTemplates()

    def test_usersEscaped(self) -> None:
        """
        Names are escaped in text and URL-quoted in links.
        """
        html = _flatten(
            self, UsersElement(self.templates.users, ["a<b&c", 'x"y', "zoë", "a/b"], "./")
        )
        self.assertIn('<a href="./a%3Cb%26c">a&lt;b&amp;c</a>', html)
        self.assertIn('<a href="./x%22y">x"y</a>', html)
        self.assertIn('<a href="./zo%C3%AB">zoë</a>', html)
        self.assertIn('<a href="./a%2Fb">a/b</a>', html)
        self.assertIn("4 users known here.", html)
        self.assertNotIn("Nobody is known here yet.", html)
        self.assertNotIn("a<b", html)

    def test_usersEmpty(self) -> None:
        """
        With no users the page says so.
        """
        html = _flatten(self, UsersElement(self.templates.users, [], "./"))
        self.assertIn("Nobody is known here yet.", html)
        self.assertIn("0 users known here.", html)
        self.assertNotIn("<li>", html)

    def test_oneUser(self) -> None:
        """
        One user is "1 user".
        """
        html = _flatten(self, UsersElement(self.templates.users, ["moshez"], "./"))
        self.assertIn("1 user known here.", html)

    def test_userEscaped(self) -> None:
        """
        The name and the status are escaped, in the title and the body;
        control characters are dropped and lines kept.
        """
        html = _flatten(
            self,
            UserElement(
                self.templates.user,
                "<b>&",
                "<script>alert('x')</script> & \"q\" café\x1b[2J\nline two",
                "./",
            ),
        )
        self.assertIn("<title>&lt;b&gt;&amp;</title>", html)
        self.assertIn("<h1>&lt;b&gt;&amp;</h1>", html)
        self.assertIn(
            "&lt;script&gt;alert('x')&lt;/script&gt; &amp; \"q\" café[2J\nline two", html
        )
        self.assertNotIn("<script", html)
        self.assertNotIn("\x1b", html)
        self.assertIn('href="./api/users/%3Cb%3E%26"', html)
        self.assertIn('<a href="./">All users</a>', html)

    def test_userAttributeQuotes(self) -> None:
        """
        A quote in a value that lands in an attribute cannot end it.
        """
        html = _flatten(
            self, UserElement(self.templates.user, "u", "s", '../" onmouseover="x')
        )
        self.assertIn('href="../&quot; onmouseover=&quot;x"', html)

    def test_notFound(self) -> None:
        """
        The not-found page names the user, escaped.
        """
        html = _flatten(self, NotFoundElement(self.templates.notFound, "<i>zoë", "../"))
        self.assertIn("No such user", html)
        self.assertIn("&lt;i&gt;zoë", html)
        self.assertIn('<a href="../">All users</a>', html)

    def test_selfContained(self) -> None:
        """
        The pages load nothing from elsewhere: no scripts, no external style
        sheets, no images; they have a title and a viewport for phones.
        """
        for element in (
            UsersElement(self.templates.users, ["moshez"], "./"),
            UserElement(self.templates.user, "moshez", "happy", "./"),
            NotFoundElement(self.templates.notFound, "x", "./"),
        ):
            html = _flatten(self, element)
            self.assertNotIn("<script", html)
            self.assertNotIn("<img", html)
            self.assertNotIn("stylesheet", html)
            self.assertNotIn("http:", html)
            self.assertNotIn("https:", html)
            self.assertIn("<title>", html)
            self.assertIn('name="viewport"', html)
            self.assertIn("<style>", html)


class TemplatesTests(SynchronousTestCase):
    """
    L{loadTemplates} finds the shipped templates, takes another directory,
    and refuses broken ones with the file's name.
    """

    def setUp(self) -> None:
        self.directory = self.mktemp()
        shutil.copytree(defaultTemplatesDirectory(), self.directory)

    def path(self, name: str) -> str:
        return os.path.join(self.directory, name)

    def write(self, name: str, text: str) -> None:
        with open(self.path(name), "w", encoding="utf-8") as f:
            f.write(text)

    def test_shipped(self) -> None:
        """
        The shipped templates directory holds every template.
        """
        for name in TEMPLATE_FILES:
            self.assertTrue(os.path.isfile(os.path.join(defaultTemplatesDirectory(), name)))
        loadTemplates()

    def test_otherDirectory(self) -> None:
        """
        Templates from another directory are the ones used.
        """
        self.write(
            "user.xhtml",
            '<html xmlns:t="http://twistedmatrix.com/ns/twisted.web.template/0.1" '
            't:render="page"><body><p>Custom <t:slot name="name"/>: '
            '<t:slot name="status"/></p></body></html>',
        )
        templates = loadTemplates(self.directory)
        html = _flatten(self, UserElement(templates.user, "a&b", "<ok>", "./"))
        self.assertIn("<p>Custom a&amp;b: &lt;ok&gt;</p>", html)

    def test_missing(self) -> None:
        """
        A missing template is an error naming it.
        """
        os.remove(self.path("notfound.xhtml"))
        e = self.assertRaises(TemplateError, loadTemplates, self.directory)
        self.assertIn(self.path("notfound.xhtml"), str(e))
        self.assertIn("No such file or directory", str(e))

    def test_missingDirectory(self) -> None:
        """
        A directory that does not exist: the first template is named.
        """
        e = self.assertRaises(TemplateError, loadTemplates, self.path("nothere"))
        self.assertIn(os.path.join(self.path("nothere"), "users.xhtml"), str(e))

    def test_unreadable(self) -> None:
        """
        A template that cannot be read (here, a directory) is an error
        naming it.
        """
        os.remove(self.path("user.xhtml"))
        os.mkdir(self.path("user.xhtml"))
        e = self.assertRaises(TemplateError, loadTemplates, self.directory)
        self.assertIn(self.path("user.xhtml"), str(e))

    def test_malformed(self) -> None:
        """
        A template that is not well-formed XML is an error naming it and the
        place.
        """
        self.write("users.xhtml", "<html><body><p>unclosed</body></html>")
        e = self.assertRaises(TemplateError, loadTemplates, self.directory)
        self.assertIn(self.path("users.xhtml"), str(e))
        self.assertIn("not well-formed XML: line 1", str(e))

    def test_unknownRenderer(self) -> None:
        """
        A template that uses a renderer the page does not have is refused.
        """
        self.write(
            "notfound.xhtml",
            '<html xmlns:t="http://twistedmatrix.com/ns/twisted.web.template/0.1" '
            't:render="nosuch"></html>',
        )
        e = self.assertRaises(TemplateError, loadTemplates, self.directory)
        self.assertIn(self.path("notfound.xhtml"), str(e))
        self.assertIn("cannot be rendered", str(e))
        self.assertIn("nosuch", str(e))

    def test_unknownSlot(self) -> None:
        """
        A template that uses a slot the page does not fill is refused.
        """
        self.write(
            "user.xhtml",
            '<html xmlns:t="http://twistedmatrix.com/ns/twisted.web.template/0.1" '
            't:render="page"><t:slot name="email"/></html>',
        )
        e = self.assertRaises(TemplateError, loadTemplates, self.directory)
        self.assertIn(self.path("user.xhtml"), str(e))
        self.assertIn("email", str(e))


class PrerenderedTests(SynchronousTestCase):
    """
    L{Templates.render} gives the same bytes as flattening the page with the
    template engine, whatever the values and wherever the slots are.
    """

    AWKWARD = [
        "moshez",
        'a<b>&"c\' &amp; &#65;',
        "zo\u00eb \u2603 \U0001f600",
        "one\ntwo\r\nthree\x00\x1b[31m",
        "\x00\x00",
        "",
    ]

    def notFound(self) -> TagLoader:
        return TagLoader(
            tags.p(tags.a(slot("name"), href=slot("home")), slot("name"), render="page")
        )

    def assertSameAsEngine(self, templates: Templates) -> None:
        for a in self.AWKWARD:
            for b in self.AWKWARD:
                for element in [
                    UserElement(templates.user, a, b, "../" + a),
                    NotFoundElement(templates.notFound, a, b),
                ]:
                    self.assertEqual(
                        self.successResultOf(templates.render(None, element)),
                        self.successResultOf(flattenString(None, element)),
                    )

    def test_shipped(self) -> None:
        """
        The shipped pages are flattened once, with their slots left open,
        and give the engine's bytes.
        """
        templates = loadTemplates()
        self.assertIsNotNone(templates._prerendered[UserElement])
        self.assertIsNotNone(templates._prerendered[NotFoundElement])
        self.assertSameAsEngine(templates)

    def test_slotsInAttributes(self) -> None:
        """
        Slots in attributes, in content and in both, each escaped as the
        engine escapes them there.
        """
        page = tags.html(
            tags.a(slot("name"), title=slot("status"), href=slot("json")),
            tags.p(slot("status"), slot("home"), **{"data-x": slot("name")}),
            render="page",
        )
        templates = Templates(TagLoader(page), TagLoader(page), self.notFound())
        self.assertIsNotNone(templates._prerendered[UserElement])
        self.assertSameAsEngine(templates)

    def test_tagInAttribute(self) -> None:
        """
        A slot inside a tag inside an attribute is escaped twice by the
        engine; such a page is not prerendered, and still comes out right.
        """
        page = tags.html(
            tags.a("x", title=tags.b(slot("name"))), slot("status"), render="page"
        )
        templates = Templates(TagLoader(page), TagLoader(page), self.notFound())
        self.assertIsNone(templates._prerendered[UserElement])
        self.assertSameAsEngine(templates)

    def test_otherLoader(self) -> None:
        """
        A loader that might change what it loads is flattened every time.
        """

        @implementer(ITemplateLoader)
        class Loader:
            def load(self) -> List[Tag]:
                return [tags.p(slot("name"), tags.a(href=slot("home")), render="page")]

        templates = Templates(Loader(), Loader(), Loader())
        self.assertEqual(templates._prerendered, {})
        self.assertSameAsEngine(templates)


class ResourceTests(SynchronousTestCase):
    """
    The site over an in-memory connection: pages, status codes, headers,
    quoting and the JSON view.
    """

    def setUp(self) -> None:
        self.service = _service()
        self.client = _Client(IResource(self.service))

    def get(self, path: bytes, accept: Optional[bytes] = None) -> _Response:
        return self.client.request(path, {b"Accept": accept} if accept else None)

    def test_adapter(self) -> None:
        """
        L{IResource} of a finger service is a L{UserStatusTree}.
        """
        resource = IResource(self.service)
        self.assertIsInstance(resource, UserStatusTree)
        self.assertTrue(verifyObject(IResource, resource))
        self.assertTrue(IFingerService.providedBy(self.service))

    def test_index(self) -> None:
        """
        C{/} lists every user as a relative, quoted link.
        """
        code, headers, body = self.get(b"/")
        self.assertEqual(code, 200)
        self.assertEqual(headers[b"content-type"], b"text/html; charset=utf-8")
        self.assertEqual(int(headers[b"content-length"]), len(body))
        html = body.decode("utf-8")
        self.assertTrue(html.startswith("<!DOCTYPE html>\n"))
        self.assertIn('<a href="./moshez">moshez</a>', html)
        self.assertIn('<a href="./zo%C3%AB">zoë</a>', html)
        self.assertIn('<a href="./a%2Fb">a/b</a>', html)

    def test_securityHeaders(self) -> None:
        """
        Every response, pages, JSON, errors and XML-RPC, has the security
        headers.
        """
        for path in (b"/", b"/moshez", b"/nobody", b"/api/users", b"/RPC2", b"/api/x"):
            code, headers, body = self.get(path)
            for name, value in SECURITY_HEADERS.items():
                self.assertEqual(headers.get(name), value, (path, name))
        csp = SECURITY_HEADERS[b"content-security-policy"]
        self.assertIn(b"default-src 'none'", csp)
        self.assertEqual(SECURITY_HEADERS[b"x-content-type-options"], b"nosniff")

    def test_user(self) -> None:
        """
        C{/USER} shows the user's name and escaped status.
        """
        code, headers, body = self.get(b"/moshez")
        self.assertEqual(code, 200)
        self.assertEqual(headers[b"content-type"], b"text/html; charset=utf-8")
        self.assertEqual(headers[b"vary"], b"Accept")
        html = body.decode("utf-8")
        self.assertIn("<h1>moshez</h1>", html)
        self.assertIn(">happy &amp; &lt;well&gt;</p>", html)
        self.assertIn('<a href="./">All users</a>', html)

    def test_utf8RoundTrip(self) -> None:
        """
        A non-ASCII name, percent-encoded as UTF-8 in the URL, finds the
        user; the page is UTF-8.
        """
        code, headers, body = self.get(b"/zo%C3%AB")
        self.assertEqual(code, 200)
        html = body.decode("utf-8")
        self.assertIn("<h1>zoë</h1>", html)
        self.assertIn("in Paris – café", html)
        self.assertIn('href="./api/users/zo%C3%AB"', html)

    def test_quotedSlash(self) -> None:
        """
        A C{/} in a name travels as C{%2F}.
        """
        code, headers, body = self.get(b"/a%2Fb")
        self.assertEqual(code, 200)
        self.assertIn("slashed", body.decode("utf-8"))

    def test_unknownUser(self) -> None:
        """
        An unknown user gets a 404 page saying "No such user", naming them.
        """
        code, headers, body = self.get(b"/%3Cnobody%3E")
        self.assertEqual(code, 404)
        self.assertEqual(headers[b"content-type"], b"text/html; charset=utf-8")
        html = body.decode("utf-8")
        self.assertIn("No such user", html)
        self.assertIn("&lt;nobody&gt;", html)

    def test_invalidNames(self) -> None:
        """
        Paths that cannot be user names (not UTF-8, against the name rule)
        are 404s with the page, not errors.
        """
        for path in (b"/%FF%FE", b"/-x", b"/a%3Ab", b"/a%20b", b"/" + b"x" * 100):
            code, headers, body = self.get(path)
            self.assertEqual(code, 404, path)
            self.assertIn(b"No such user", body)
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_belowUser(self) -> None:
        """
        Nothing lies beneath a user's page; the link home still works.
        """
        code, headers, body = self.get(b"/moshez/more")
        self.assertEqual(code, 404)
        self.assertIn(b'<a href="../">All users</a>', body)
        self.assertIn(b"moshez/more", body)

    def test_json(self) -> None:
        """
        C{Accept: application/json} gets JSON for the index and users.
        """
        code, headers, body = self.get(b"/zo%C3%AB", b"application/json")
        self.assertEqual(code, 200)
        self.assertEqual(headers[b"content-type"], b"application/json; charset=utf-8")
        self.assertEqual(json.loads(body), {"user": "zoë", "status": "in Paris – café"})
        code, headers, body = self.get(b"/", b"application/json")
        self.assertEqual(code, 200)
        self.assertEqual(
            sorted(json.loads(body)["users"]), sorted(["moshez", "zoë", "a/b", "RPC2"])
        )
        code, headers, body = self.get(b"/nobody", b"application/json")
        self.assertEqual(code, 404)
        self.assertEqual(json.loads(body), {"error": NO_SUCH_USER, "user": "nobody"})

    def test_browserAcceptGetsHTML(self) -> None:
        """
        A browser's usual C{Accept} gets HTML.
        """
        code, headers, body = self.get(
            b"/moshez", b"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        )
        self.assertEqual(headers[b"content-type"], b"text/html; charset=utf-8")

    def test_api(self) -> None:
        """
        C{/api/users} and C{/api/users/USER} are JSON whatever the client
        accepts.
        """
        code, headers, body = self.get(b"/api/users")
        self.assertEqual(code, 200)
        self.assertEqual(headers[b"content-type"], b"application/json; charset=utf-8")
        self.assertIn("zoë", json.loads(body)["users"])
        code, headers, body = self.get(b"/api/users/")
        self.assertIn("zoë", json.loads(body)["users"])
        code, headers, body = self.get(b"/api/users/moshez")
        self.assertEqual(json.loads(body), {"user": "moshez", "status": "happy & <well>"})
        code, headers, body = self.get(b"/api/users/nobody")
        self.assertEqual(code, 404)
        self.assertEqual(json.loads(body), {"error": NO_SUCH_USER, "user": "nobody"})
        code, headers, body = self.get(b"/api/users/%FF")
        self.assertEqual(code, 404)
        self.assertEqual(json.loads(body)["error"], NO_SUCH_USER)
        code, headers, body = self.get(b"/api/users/moshez/x")
        self.assertEqual(code, 404)

    def test_apiUnknownPath(self) -> None:
        """
        Any other path under C{/api} is a JSON 404.
        """
        for path in (b"/api", b"/api/", b"/api/nothing", b"/api/nothing/more"):
            code, headers, body = self.get(path)
            self.assertEqual(code, 404, path)
            self.assertEqual(json.loads(body), {"error": "Not found"})

    def test_fixedPathsWin(self) -> None:
        """
        C{/RPC2} is XML-RPC even though a user is called C{RPC2}; the JSON
        API still finds that user.
        """
        code, headers, body = self.get(b"/RPC2")
        self.assertEqual(code, 405)
        self.assertNotIn(b"shadowed", body)
        code, headers, body = self.get(b"/api/users/RPC2")
        self.assertEqual(json.loads(body), {"user": "RPC2", "status": "shadowed"})

    def test_backendFailure(self) -> None:
        """
        A failing back-end gives a 500 with a plain message, never a
        traceback; the failure is logged.
        """
        client = _Client(IResource(BrokenService()))
        for path in (b"/", b"/moshez", b"/api/users", b"/api/users/moshez"):
            code, headers, body = client.request(path)
            self.assertEqual(code, 500, path)
            self.assertEqual(headers[b"content-type"], b"text/plain; charset=utf-8")
            self.assertEqual(body, (INTERNAL_ERROR + "\n").encode("utf-8"))
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 4)

    def test_backendRaises(self) -> None:
        """
        A back-end that raises instead of failing its L{Deferred} is a 500
        too.
        """
        service = BrokenService()
        service.getUser = lambda user: 1 / 0  # type: ignore[assignment,method-assign,misc,return-value]
        code, headers, body = _Client(IResource(service)).request(b"/moshez")
        self.assertEqual((code, body), (500, (INTERNAL_ERROR + "\n").encode("utf-8")))
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)

    def test_clientGoesAway(self) -> None:
        """
        If the client disconnects before the back-end answers, the lookup is
        cancelled and nothing is logged as an error.
        """
        service = _SlowService()
        client = _Client(IResource(service))
        protocol, transport = client.connect()
        protocol.dataReceived(b"GET /moshez HTTP/1.0\r\n\r\n")  # type: ignore[attr-defined]
        self.assertEqual(transport.value(), b"")
        protocol.connectionLost(Failure(ConnectionError("gone")))  # type: ignore[attr-defined]
        self.assertEqual(service.cancelled, ["moshez"])
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_head(self) -> None:
        """
        HEAD answers like GET, without a body.
        """
        code, headers, body = self.client.request(b"/moshez", method=b"HEAD")
        self.assertEqual(code, 200)
        self.assertEqual(body, b"")


class DummyRequestTests(SynchronousTestCase):
    """
    The resources driven with L{DummyRequest}, the way Twisted's own tests
    drive theirs.
    """

    def render(self, root: IResource, path: List[bytes], accept: bytes = b"") -> DummyRequest:
        request = DummyRequest(path)
        if accept:
            request.requestHeaders.setRawHeaders(b"accept", [accept])
        finished = request.notifyFinish()
        resource = getChildForRequest(root, request)
        result = resource.render(request)
        if isinstance(result, bytes):
            request.write(result)
            request.finish()
        self.successResultOf(finished)
        return request

    def test_userStatus(self) -> None:
        """
        L{UserStatus} renders the user's page.
        """
        request = self.render(IResource(_service()), [b"zo\xc3\xab"])
        self.assertIsInstance(
            getChildForRequest(IResource(_service()), DummyRequest([b"x"])), UserStatus
        )
        self.assertEqual(request.responseCode, 200)
        self.assertIn("<h1>zoë</h1>", b"".join(request.written).decode("utf-8"))

    def test_unknown(self) -> None:
        """
        An unknown user is a 404.
        """
        request = self.render(IResource(_service()), [b"nobody"])
        self.assertEqual(request.responseCode, 404)
        self.assertIn(b"No such user", b"".join(request.written))

    def test_json(self) -> None:
        """
        JSON is chosen from the C{Accept} header.
        """
        request = self.render(IResource(_service()), [b"moshez"], b"application/json")
        self.assertEqual(
            request.responseHeaders.getRawHeaders(b"content-type"),
            [b"application/json; charset=utf-8"],
        )
        self.assertEqual(
            json.loads(b"".join(request.written)),
            {"user": "moshez", "status": "happy & <well>"},
        )


class XMLRPCTests(SynchronousTestCase):
    """
    XML-RPC at C{/RPC2}, called with L{xmlrpc.client}'s own encoding.
    """

    def setUp(self) -> None:
        self.client = _Client(IResource(_service()))

    def test_getUser(self) -> None:
        """
        C{getUser} returns the status, non-ASCII included.
        """
        self.assertEqual(self.client.rpc("getUser", "moshez"), "happy & <well>")
        self.assertEqual(self.client.rpc("getUser", "zoë"), "in Paris – café")

    def test_getUserUnknown(self) -> None:
        """
        An unknown user, or a name that cannot be one, is "No such user".
        """
        self.assertEqual(self.client.rpc("getUser", "nobody"), NO_SUCH_USER)
        self.assertEqual(self.client.rpc("getUser", ""), NO_SUCH_USER)
        self.assertEqual(self.client.rpc("getUser", "a b"), NO_SUCH_USER)

    def test_getUsers(self) -> None:
        """
        C{getUsers} lists every user.
        """
        self.assertEqual(
            sorted(self.client.rpc("getUsers")),  # type: ignore[call-overload]
            sorted(["moshez", "zoë", "a/b", "RPC2"]),
        )

    def test_controlCharacters(self) -> None:
        """
        A status's control characters, which XML cannot carry, are dropped.
        """
        service = _service()
        service.users["moshez"] = "bell\x07 and escape\x1b"
        client = _Client(IResource(service))
        self.assertEqual(client.rpc("getUser", "moshez"), "bell and escape")

    def assertFault(self, result: object, code: int, message: str) -> None:
        self.assertIsInstance(result, xmlrpc.client.Fault)
        assert isinstance(result, xmlrpc.client.Fault)
        self.assertEqual((result.faultCode, result.faultString), (code, message))

    def test_wrongArguments(self) -> None:
        """
        Wrong argument counts or types are faults that say what is expected.
        """
        expected = "getUser takes one argument, a user name (a string); got "
        self.assertFault(self.client.rpc("getUser"), -32602, expected + "none")
        self.assertFault(
            self.client.rpc("getUser", 7), -32602, expected + "1 argument (int)"
        )
        self.assertFault(
            self.client.rpc("getUser", "a", "b"),
            -32602,
            expected + "2 arguments (string, string)",
        )
        self.assertFault(
            self.client.rpc("getUser", ["x"]), -32602, expected + "1 argument (array)"
        )
        self.assertFault(
            self.client.rpc("getUser", {"a": 1}), -32602, expected + "1 argument (struct)"
        )
        self.assertFault(
            self.client.rpc("getUsers", 1.5),
            -32602,
            "getUsers takes no arguments; got 1 argument (double)",
        )
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_unknownMethod(self) -> None:
        """
        An unknown method is a fault.
        """
        self.assertFault(
            self.client.rpc("deleteUser", "a"), -32601, "procedure deleteUser not found"
        )

    def test_noSetUser(self) -> None:
        """
        Without a login (C{--auth}), C{setUser} does not exist, even over
        HTTPS; the fault says what it would take, and
        C{system.listMethods} does not list it.
        """
        for client in [self.client, _Client(IResource(_service()), secure=True)]:
            self.assertFault(client.rpc("setUser", "moshez", "sad"), -32601, SETTING_NEEDS_AUTH)
            self.assertNotIn("setUser", client.rpc("system.listMethods"))  # type: ignore[operator]

    def test_garbage(self) -> None:
        """
        A body that is not XML-RPC is a fault, not a 500.
        """
        code, headers, body = self.client.request(b"/RPC2", {}, b"POST", b"<not-xml-rpc")
        self.assertEqual(code, 200)
        with self.assertRaises(xmlrpc.client.Fault) as caught:
            xmlrpc.client.loads(body)
        self.assertIn("Can't deserialize input", caught.exception.faultString)

    def test_backendFailure(self) -> None:
        """
        A failing back-end is a fault saying "Internal error in server"; the
        failure is logged.
        """
        client = _Client(IResource(BrokenService()))
        self.assertFault(client.rpc("getUser", "moshez"), -32603, INTERNAL_ERROR)
        self.assertFault(client.rpc("getUsers"), -32603, INTERNAL_ERROR)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 2)

    def test_introspection(self) -> None:
        """
        C{system.listMethods} and C{system.methodHelp} describe the methods.
        """
        methods = self.client.rpc("system.listMethods")
        self.assertIn("getUser", methods)  # type: ignore[operator]
        self.assertIn("getUsers", methods)  # type: ignore[operator]
        self.assertEqual(
            self.client.rpc("system.methodHelp", "getUser"),
            'getUser(name): the status of the user called name, or "No such user".',
        )


@implementer(ICredentialsChecker)
class _RecordingChecker:
    """
    A checker that records every credentials it is asked about, and passes
    them on to a real one.
    """

    credentialInterfaces = (IUsernamePassword,)

    def __init__(self, checker: ICredentialsChecker) -> None:
        self.checker = checker
        self.asked: List[bytes] = []

    def requestAvatarId(self, credentials: IUsernamePassword) -> "Deferred[bytes]":
        self.asked.append(credentials.username)
        return self.checker.requestAvatarId(credentials)  # type: ignore[no-any-return]


@implementer(IFingerService, IFingerSetterService)
class _HeldSetter:
    """
    A back-end whose saves wait until the test fires them.
    """

    def __init__(self) -> None:
        self.saves: List[Tuple[str, str, "Deferred[None]"]] = []

    def getUser(self, user: str) -> "Deferred[str]":
        return fail(UnknownUser(user))

    def getUsers(self) -> "Deferred[List[str]]":
        return succeed([])

    def setUser(self, user: str, status: str) -> "Deferred[None]":
        d: "Deferred[None]" = Deferred()
        self.saves.append((user, status, d))
        return d


def _basic(name: str, password: str) -> Dict[bytes, bytes]:
    token = base64.b64encode(f"{name}:{password}".encode("utf-8"))
    return {b"Authorization": b"Basic " + token}


class XMLRPCSettingTests(SynchronousTestCase):
    """
    C{setUser} over XML-RPC with a login (C{--auth}): HTTP Basic over HTTPS,
    through the setter's L{SetterLogin}, admins and delay.
    """

    def setUp(self) -> None:
        self.service = MemoryFingerService(moshez="happy", shawn="alive", **{"zoë": "là"})
        checker = InMemoryUsernamePasswordDatabaseDontUse(moshez=b"secret", root=b"toor")
        checker.addUser("zoë".encode(), "mot de passe".encode())
        self.checker = _RecordingChecker(checker)
        self.clock = Clock()
        self.login = SetterLogin(setterPortal(self.service, [self.checker], ["root"]), self.clock)
        self.tree = UserStatusTree(self.service)
        self.tree.offerSetting(self.login)
        self.https = _Client(self.tree, secure=True)
        self.http = _Client(self.tree)

    def assertFault(self, result: object, code: int, message: str) -> None:
        self.assertIsInstance(result, xmlrpc.client.Fault)
        assert isinstance(result, xmlrpc.client.Fault)
        self.assertEqual((result.faultCode, result.faultString), (code, message))

    def test_gate(self) -> None:
        """
        C{/RPC2} is an L{XMLRPCGate} with the login.
        """
        gate = self.tree.children[b"RPC2"]
        assert isinstance(gate, XMLRPCGate)
        self.assertIs(gate.login, self.login)

    def test_ownStatus(self) -> None:
        """
        A user logged in over HTTPS sets their own status: C{True}, and the
        back-end has it; it is logged with who and from where.
        """
        with capturedLogs() as events:
            result = self.https.rpc("setUser", "moshez", "busy", headers=_basic("moshez", "secret"))
        self.assertIs(result, True)
        self.assertEqual(self.service.users["moshez"], "busy")
        [event] = [e for e in events if "over XML-RPC" in e.get("log_format", "")]
        self.assertEqual(
            (event["user"], event["login"], event["peer"]), ("moshez", "moshez", "127.0.0.1:5000")
        )

    def test_utf8(self) -> None:
        """
        A UTF-8 name and password log in; a non-ASCII status is set.
        """
        result = self.https.rpc("setUser", "zoë", "à Paris", headers=_basic("zoë", "mot de passe"))
        self.assertIs(result, True)
        self.assertEqual(self.service.users["zoë"], "à Paris")

    def test_readingStillWorks(self) -> None:
        """
        A logged-in user can read too.
        """
        headers = _basic("moshez", "secret")
        self.assertEqual(self.https.rpc("getUser", "shawn", headers=headers), "alive")
        self.assertIn("setUser", self.https.rpc("system.listMethods", headers=headers))  # type: ignore[operator]

    def test_notAllowed(self) -> None:
        """
        A user who is not an admin may not set someone else's status: a
        fault saying so, nothing changed, and a warning in the log.
        """
        with capturedLogs() as events:
            result = self.https.rpc("setUser", "shawn", "hacked", headers=_basic("moshez", "secret"))
        self.assertFault(result, NOT_ALLOWED, "not allowed: moshez may not set the status of shawn")
        self.assertEqual(self.service.users["shawn"], "alive")
        self.assertTrue(any("may not set" in e.get("log_format", "") for e in events))

    def test_admin(self) -> None:
        """
        An admin sets anyone's status.
        """
        result = self.https.rpc("setUser", "shawn", "away", headers=_basic("root", "toor"))
        self.assertIs(result, True)
        self.assertEqual(self.service.users["shawn"], "away")

    def test_anonymousHTTPS(self) -> None:
        """
        Over HTTPS without credentials, reading works and C{setUser} is a
        fault saying it needs a login.
        """
        self.assertEqual(self.https.rpc("getUser", "moshez"), "happy")
        self.assertEqual(sorted(self.https.rpc("getUsers")), ["moshez", "shawn", "zoë"])  # type: ignore[call-overload]
        self.assertFault(self.https.rpc("setUser", "moshez", "x"), NEEDS_LOGIN, SETTING_NEEDS_LOGIN)
        self.assertEqual(self.service.users["moshez"], "happy")

    def test_plainHTTP(self) -> None:
        """
        Over plain HTTP, C{setUser} is a fault saying it needs HTTPS, even
        with good credentials, which are never checked; reading works, even
        with wrong credentials, and answers at once.
        """
        self.assertFault(
            self.http.rpc("setUser", "moshez", "x", headers=_basic("moshez", "secret")),
            NEEDS_HTTPS,
            SETTING_NEEDS_HTTPS,
        )
        self.assertFault(self.http.rpc("setUser", "moshez", "x"), NEEDS_HTTPS, SETTING_NEEDS_HTTPS)
        self.assertEqual(
            self.http.rpc("getUser", "moshez", headers=_basic("moshez", "wrong")), "happy"
        )
        self.assertIn("setUser", self.http.rpc("system.listMethods"))  # type: ignore[operator]
        self.assertEqual(self.checker.asked, [])
        self.assertEqual(self.service.users["moshez"], "happy")

    def test_wrongPassword(self) -> None:
        """
        A wrong password or an unknown name over HTTPS is a 401 with a Basic
        challenge, only after the login delay, and is logged without the
        password.
        """
        for name, password in [("moshez", "wrong"), ("nobody", "secret")]:
            with capturedLogs() as events:
                transport = self.https.rpcSend("setUser", name, "x", headers=_basic(name, password))
            self.assertEqual(transport.value(), b"")
            self.clock.advance(FAILED_LOGIN_DELAY - 0.1)
            self.assertEqual(transport.value(), b"")
            self.clock.advance(0.1)
            code, headers, body = _Client.parse(transport.value())
            self.assertEqual(code, 401)
            self.assertEqual(headers[b"www-authenticate"], b'basic realm="finger"')
            self.assertNotIn(password.encode(), body)
            [event] = [e for e in events if "Failed login" in e.get("log_format", "")]
            self.assertEqual((event["name"], event["peer"]), (name, "127.0.0.1:5000"))
            self.assertNotIn(password, repr(event))
        self.assertEqual(self.service.users["moshez"], "happy")
        self.assertEqual(self.checker.asked, [b"moshez", b"nobody"])

    def test_malformedAuthorization(self) -> None:
        """
        An C{Authorization} header that is not HTTP Basic, or not decodable,
        is a 401 at once: no password was checked.
        """
        for value in [b"Bearer abc", b"Basic !!!", b"Basic " + base64.b64encode(b"nocolon")]:
            code, _, _ = self.https.request(b"/RPC2", {b"Authorization": value}, b"POST", b"<x/>")
            self.assertEqual(code, 401, value)
        self.assertEqual(self.checker.asked, [])

    def test_invalidArguments(self) -> None:
        """
        Wrong arguments, an invalid name or an invalid status are faults
        saying why; nothing changes.
        """
        headers = _basic("root", "toor")
        self.assertFault(
            self.https.rpc("setUser", "moshez", headers=headers),
            INVALID_PARAMS,
            "setUser takes two arguments, a user name and a status (strings); "
            "got 1 argument (string)",
        )
        self.assertFault(
            self.https.rpc("setUser", "moshez", 3, headers=headers),
            INVALID_PARAMS,
            "setUser takes two arguments, a user name and a status (strings); "
            "got 2 arguments (string, int)",
        )
        self.assertFault(
            self.https.rpc("setUser", "a b", "x", headers=headers),
            INVALID_PARAMS,
            "invalid user name: a user name may not contain whitespace",
        )
        self.assertFault(
            self.https.rpc("setUser", "moshez", "two\nlines", headers=headers),
            INVALID_PARAMS,
            "invalid status: a status may not contain control characters",
        )
        self.assertEqual(self.service.users["moshez"], "happy")

    def test_trueOnlyWhenDurable(self) -> None:
        """
        C{True} comes only once the back-end's save has fired.
        """
        held = _HeldSetter()
        tree = UserStatusTree(held)
        tree.offerSetting(SetterLogin(setterPortal(held, [self.checker], []), self.clock))
        client = _Client(tree, secure=True)
        transport = client.rpcSend("setUser", "moshez", "busy", headers=_basic("moshez", "secret"))
        [(user, status, d)] = held.saves
        self.assertEqual((user, status), ("moshez", "busy"))
        self.assertEqual(transport.value(), b"")
        d.callback(None)
        self.assertIs(client.rpcResult(transport.value()), True)

    def test_notSaved(self) -> None:
        """
        A save that fails with L{StatusNotSaved} is a fault saying to try
        again later, without the back-end's details; any other failure is
        an internal error, logged.
        """
        held = _HeldSetter()
        tree = UserStatusTree(held)
        tree.offerSetting(SetterLogin(setterPortal(held, [self.checker], []), self.clock))
        client = _Client(tree, secure=True)
        headers = _basic("moshez", "secret")
        transport = client.rpcSend("setUser", "moshez", "busy", headers=headers)
        held.saves[0][2].errback(StatusNotSaved("disk full at /secret/path"))
        self.assertFault(
            client.rpcResult(transport.value()),
            NOT_SAVED,
            "the status could not be saved; try again later",
        )
        transport = client.rpcSend("setUser", "moshez", "busy", headers=headers)
        held.saves[1][2].errback(RuntimeError("the disk is on fire"))
        self.assertFault(client.rpcResult(transport.value()), -32603, INTERNAL_ERROR)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_introspection(self) -> None:
        """
        C{system.methodHelp} describes C{setUser}.
        """
        self.assertIn("HTTPS", self.https.rpc("system.methodHelp", "setUser"))  # type: ignore[operator]
        self.assertEqual(
            self.https.rpc("system.methodSignature", "setUser"),
            [["boolean", "string", "string"]],
        )


class BodyLimitTests(SynchronousTestCase):
    """
    L{LimitedRequest} refuses request bodies over L{MAX_BODY_BYTES}: the
    site never keeps more than that of any one request.
    """

    def setUp(self) -> None:
        self.site = Site(UserStatusTree(_service()), requestFactory=LimitedRequest, reactor=Clock())
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
        code, headers, answer = _Client.parse(self.transport.value())
        self.assertEqual(code, 200)
        self.assertIn(b"moshez", answer)


@implementer(IFingerService)
class _StuckService:
    """
    A back-end that never answers about C{stuck} (nor lists users), and
    answers about anyone else at once.
    """

    def __init__(self) -> None:
        self.memory = _service()
        self.cancelled: List[str] = []

    def getUser(self, user: str) -> "Deferred[str]":
        if user == "stuck":
            return Deferred(lambda d: self.cancelled.append(user))
        return self.memory.getUser(user)

    def getUsers(self) -> "Deferred[List[str]]":
        return Deferred(lambda d: self.cancelled.append("*"))


class TimeoutTests(SynchronousTestCase):
    """
    A back-end that never answers holds no request for longer than
    L{LOOKUP_TIMEOUT}: the client gets a 503 (or an XML-RPC fault) saying
    so, the lookup is cancelled, one warning is logged, and other clients
    are answered meanwhile.
    """

    def setUp(self) -> None:
        self.service = _StuckService()
        self.client = _Client(UserStatusTree(self.service))
        self.clock = self.client.site.reactor

    def start(self, path: bytes, method: bytes = b"GET", body: bytes = b"") -> StringTransport:
        protocol, transport = self.client.connect()
        head = method + b" " + path + b" HTTP/1.0\r\nContent-Type: text/xml\r\n"
        head += b"Content-Length: %d\r\n\r\n" % (len(body),)
        protocol.dataReceived(head + body)  # type: ignore[attr-defined]
        return transport

    def test_pages(self) -> None:
        for path, what in [(b"/stuck", "stuck"), (b"/api/users/stuck", "stuck"), (b"/", "*"),
                           (b"/api/users", "*")]:
            self.service.cancelled = []
            with capturedLogs() as events:
                stuck = self.start(path)
                self.clock.advance(LOOKUP_TIMEOUT - 1)
                self.assertEqual(stuck.value(), b"")
                # Meanwhile, someone else is answered.
                code, headers, body = self.client.request(b"/api/users/moshez")
                self.assertEqual(code, 200)
                self.clock.advance(1)
            code, headers, body = _Client.parse(stuck.value())
            self.assertEqual((code, body), (503, (TIMED_OUT + "\n").encode("utf-8")), path)
            self.assertEqual(self.service.cancelled, [what])
            warnings = [e for e in events if e["log_level"].name == "warn"]
            self.assertEqual(len(warnings), 1, events)
            self.assertIn("no answer", formatEvent(warnings[0]))
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_xmlrpc(self) -> None:
        for call in [
            xmlrpc.client.dumps(("stuck",), "getUser"),
            xmlrpc.client.dumps((), "getUsers"),
        ]:
            with capturedLogs() as events:
                stuck = self.start(b"/RPC2", b"POST", call.encode("utf-8"))
                self.assertEqual(self.client.rpc("getUser", "moshez"), "happy & <well>")
                self.clock.advance(LOOKUP_TIMEOUT)
            code, headers, body = _Client.parse(stuck.value())
            self.assertEqual(code, 200)
            fault = self.assertRaises(xmlrpc.client.Fault, xmlrpc.client.loads, body)
            self.assertEqual(fault.faultString, TIMED_OUT)
            self.assertEqual(len([e for e in events if e["log_level"].name == "warn"]), 1)
        self.assertEqual(self.flushLoggedErrors(), [])
