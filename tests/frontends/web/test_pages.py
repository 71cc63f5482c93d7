# -*- test-case-name: tests.frontends.web.test_pages -*-
"""
Tests for L{finger.frontends.web.pages}: the site's root and its pages, over
an in-memory connection, with the JSON they give a client that prefers it,
and the lookup policy they share with the JSON view and XML-RPC.
"""

import json
import xmlrpc.client
from typing import Any, List, Optional, Tuple

from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.resource import IResource, getChildForRequest
from twisted.web.test.requesthelper import DummyRequest
from zope.interface.verify import verifyObject

from finger.backends.memory import MemoryFingerService
from finger.frontends.web.pages import (
    MAX_LISTED,
    SECURITY_HEADERS,
    UserStatus,
    UserStatusTree,
    prefersJSON,
)
from finger.frontends.web.elements import UsersElement
from finger.frontends.web.templates import loadTemplates
from finger.interfaces import IFingerService, UnknownUser
from finger.messages import (
    INTERNAL_ERROR,
    LISTING_DENIED,
    MORE_USERS_NOT_SHOWN,
    NO_SUCH_USER,
    STATUS_CUT,
    TIMED_OUT,
)
from tests.frontends.web.helpers import (
    Client,
    Response,
    assertLeavingCancels,
    assertUnlistedFrontPage,
    flatten,
    listedUser,
    StuckService,
    sampleService,
)
from finger.testing import BrokenService, FaultyService

TIMEOUT = 7.0
"""
The back-end's time to answer in these tests: not the default, so that the
tree is seen to use the one it is given.
"""


class _AtHandService(MemoryFingerService):
    """
    A back-end that answers C{moshez} at once (L{IStatusesAtHand}), says
    that C{nobody} is unknown, and must be asked with C{getUser} about
    anyone else; C{getUser} waits for the test.
    """

    def __init__(self) -> None:
        super().__init__()
        self.asked: "List[Tuple[str, Deferred[str]]]" = []

    def getUser(self, user: str) -> "Deferred[str]":
        d: "Deferred[str]" = Deferred()
        self.asked.append((user, d))
        return d

    def statusNow(self, user: str) -> Optional[str]:
        if user == "nobody":
            raise UnknownUser(user)
        return "at hand" if user == "moshez" else None


class NegotiationTests(SynchronousTestCase):
    """
    Choosing JSON or HTML from the C{Accept} header.
    """

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


class ResourceTests(SynchronousTestCase):
    """
    The site over an in-memory connection: pages, status codes, headers,
    quoting and the JSON view.
    """

    def setUp(self) -> None:
        self.service = sampleService()
        self.client = Client(IResource(self.service))

    def get(self, path: bytes, accept: Optional[bytes] = None) -> Response:
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
        # Only the site's own script, connecting only to the site; forms
        # post only to the site.
        directives = dict(d.strip().split(b" ", 1) for d in csp.split(b";"))
        self.assertEqual(directives[b"script-src"], b"'self'")
        self.assertEqual(directives[b"connect-src"], b"'self'")
        self.assertEqual(directives[b"form-action"], b"'self'")
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

    def test_answeredAtOnce(self) -> None:
        """
        A back-end that holds its statuses in memory (L{IStatusesAtHand})
        answers a user's page, its JSON and an unknown user at once,
        without C{getUser}; one that cannot answer yet is asked with
        C{getUser}, and the page waits for it.
        """
        service = _AtHandService()
        client = Client(UserStatusTree(service, clock=Clock()))
        code, headers, body = client.request(b"/moshez")
        self.assertEqual(code, 200)
        self.assertIn(b">at hand</p>", body)
        code, headers, body = client.request(b"/moshez", {b"Accept": b"application/json"})
        self.assertEqual(json.loads(body), {"user": "moshez", "status": "at hand"})
        code, headers, body = client.request(b"/nobody")
        self.assertEqual(code, 404)
        self.assertEqual(service.asked, [])
        transport = client.send(b"/later")
        self.assertEqual(transport.value(), b"")
        self.assertEqual([user for user, d in service.asked], ["later"])
        service.asked[0][1].callback("answered later")
        self.assertIn(b">answered later</p>", transport.value())

    def test_pageKeptUntilStatusChanges(self) -> None:
        """
        A user's page is built once for a status and kept: the same bytes
        come back, and a new status gives a new page at once.
        """
        first = self.get(b"/moshez")
        self.assertEqual(self.get(b"/moshez"), first)
        root = self.client.site.resource
        self.assertEqual(len(root.pages), 1)
        self.assertIs(getChildForRequest(root, DummyRequest([b"moshez"])), root.users[b"moshez"])
        self.service.users["moshez"] = "<gone> fishing"
        code, headers, body = self.get(b"/moshez")
        self.assertEqual(code, 200)
        self.assertIn(">&lt;gone&gt; fishing</p>", body.decode("utf-8"))
        self.assertEqual(len(root.pages), 2)

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
        client = Client(IResource(BrokenService()))
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
        code, headers, body = Client(IResource(service)).request(b"/moshez")
        self.assertEqual((code, body), (500, (INTERNAL_ERROR + "\n").encode("utf-8")))
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)

    def test_clientGoesAway(self) -> None:
        """
        If the client disconnects before the back-end answers, the lookup is
        cancelled and nothing is logged as an error.
        """
        assertLeavingCancels(self, [lambda client: client.send(b"/moshez")], ["moshez"])

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
        request = self.render(IResource(sampleService()), [b"zo\xc3\xab"])
        self.assertIsInstance(
            getChildForRequest(IResource(sampleService()), DummyRequest([b"x"])), UserStatus
        )
        self.assertEqual(request.responseCode, 200)
        self.assertIn("<h1>zoë</h1>", b"".join(request.written).decode("utf-8"))

    def test_unknown(self) -> None:
        """
        An unknown user is a 404.
        """
        request = self.render(IResource(sampleService()), [b"nobody"])
        self.assertEqual(request.responseCode, 404)
        self.assertIn(b"No such user", b"".join(request.written))

    def test_json(self) -> None:
        """
        JSON is chosen from the C{Accept} header.
        """
        request = self.render(IResource(sampleService()), [b"moshez"], b"application/json")
        self.assertEqual(
            request.responseHeaders.getRawHeaders(b"content-type"),
            [b"application/json; charset=utf-8"],
        )
        self.assertEqual(
            json.loads(b"".join(request.written)),
            {"user": "moshez", "status": "happy & <well>"},
        )


class TimeoutTests(SynchronousTestCase):
    """
    A back-end that never answers holds no request for longer than the
    tree's C{lookupTimeout}: the client gets a 503 (or an XML-RPC fault) saying
    so, the lookup is cancelled, one warning is logged, and other clients
    are answered meanwhile.
    """

    def setUp(self) -> None:
        self.service = StuckService()
        self.clock = Clock()
        self.client = Client(UserStatusTree(self.service, clock=self.clock, lookupTimeout=TIMEOUT))

    def start(self, path: bytes, method: bytes = b"GET", body: bytes = b"") -> StringTransport:
        protocol, transport = self.client.connect()
        head = method + b" " + path + b" HTTP/1.0\r\nContent-Type: text/xml\r\n"
        head += b"Content-Length: %d\r\n\r\n" % (len(body),)
        protocol.dataReceived(head + body)  # type: ignore[attr-defined]
        return transport

    def test_pages(self) -> None:
        for path, what in [
            (b"/stuck", "stuck"),
            (b"/api/users/stuck", "stuck"),
            (b"/", "*"),
            (b"/api/users", "*"),
        ]:
            self.service.cancelled = []
            with capturedLogs() as events:
                stuck = self.start(path)
                self.clock.advance(TIMEOUT - 1)
                self.assertEqual(stuck.value(), b"")
                # Meanwhile, someone else is answered.
                code, headers, body = self.client.request(b"/api/users/moshez")
                self.assertEqual(code, 200)
                self.clock.advance(1)
            code, headers, body = Client.parse(stuck.value())
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
                self.clock.advance(TIMEOUT)
            code, headers, body = Client.parse(stuck.value())
            self.assertEqual(code, 200)
            fault = self.assertRaises(xmlrpc.client.Fault, xmlrpc.client.loads, body)
            self.assertEqual(fault.faultString, TIMED_OUT)
            self.assertEqual(len([e for e in events if e["log_level"].name == "warn"]), 1)
        self.assertEqual(self.flushLoggedErrors(), [])


class FrontPageTests(SynchronousTestCase):
    """
    The front page: what the site is, the host it serves, and each user
    beside the first line of their status; or, with listing off, no one.
    """

    def tree(self, service: Any, **settings: Any) -> Client:
        """
        A client of the site of C{service}, which answers for the host
        names these tests send.
        """
        settings.setdefault("clock", Clock())
        hosts = ["finger.example", "other.example", "x.y"]
        return Client(UserStatusTree(service, webfingerHosts=hosts, **settings))

    def get(self, client: Client, path: bytes = b"/", accept: Optional[bytes] = None) -> Response:
        headers = {b"Host": b"finger.example:8080"}
        if accept:
            headers[b"Accept"] = accept
        return client.request(path, headers)

    def test_statuses(self) -> None:
        """
        Each name links to its page with the first line of the status
        beside it, escaped, a long one cut with an ellipsis; the heading
        names the host.
        """
        service = sampleService()
        service.users["long"] = "x" * 200
        service.users["lines"] = "first\nsecond"
        code, headers, body = self.get(self.tree(service))
        self.assertEqual(code, 200)
        html = body.decode("utf-8")
        self.assertIn("<h1>Finger at finger.example</h1>", html)
        self.assertIn("<code>finger @finger.example</code>", html)
        self.assertIn(listedUser("moshez", "happy &amp; &lt;well&gt;"), html)
        self.assertIn('data-live-user="zoë">in Paris – café</span>', html)
        self.assertIn('data-live-user="long">' + "x" * 79 + STATUS_CUT + "</span>", html)
        self.assertIn('data-live-user="lines">first ' + STATUS_CUT + "</span>", html)
        self.assertIn("6 users known here.", html)

    def test_removedMeanwhile(self) -> None:
        """
        A user listed but gone by the time their status is asked for is
        left out.
        """
        service = FaultyService(moshez="happy", gone="bye")
        service.getUsers = lambda: succeed(["moshez", "gone"])  # type: ignore[method-assign]
        del service.users["gone"]
        code, headers, body = self.get(self.tree(service))
        self.assertEqual(code, 200)
        self.assertIn(b"./moshez", body)
        self.assertNotIn(b"./gone", body)

    def test_statusTimesOut(self) -> None:
        """
        A status lookup that hangs holds the page no longer than the
        timeout: a 503, the lookups cancelled.
        """
        clock = Clock()
        service = FaultyService(["hang"], moshez="happy", hang="?")
        client = Client(UserStatusTree(service, clock=clock, lookupTimeout=TIMEOUT))
        protocol, transport = client.connect()
        protocol.dataReceived(b"GET / HTTP/1.0\r\n\r\n")  # type: ignore[attr-defined]
        clock.advance(TIMEOUT - 1)
        self.assertEqual(transport.value(), b"")
        clock.advance(1)
        code, headers, body = Client.parse(transport.value())
        self.assertEqual((code, body), (503, (TIMED_OUT + "\n").encode("utf-8")))
        self.assertEqual(service.cancelled, ["hang"])

    def test_statusFails(self) -> None:
        """
        A status lookup that fails makes the page a 500, and is logged once
        with the back-end's own error.
        """
        service = FaultyService(broken=["fail"], moshez="happy", fail="?")
        code, headers, body = self.get(self.tree(service))
        self.assertEqual((code, body), (500, (INTERNAL_ERROR + "\n").encode("utf-8")))
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_capped(self) -> None:
        """
        At most L{MAX_LISTED} users are shown; a line says how many more
        there are.
        """
        service = MemoryFingerService(**{f"u{i:04}": "s" for i in range(MAX_LISTED + 2)})
        code, headers, body = self.get(self.tree(service))
        html = body.decode("utf-8")
        self.assertEqual(html.count("<li>"), MAX_LISTED)
        self.assertIn(MORE_USERS_NOT_SHOWN.format(count=2), html)
        self.assertIn(f"{MAX_LISTED + 2} users known here.", html)

    def test_builtOncePerChange(self) -> None:
        """
        Front pages asked for between two changes of the statuses are made
        from one listing, flattened once; each still names the host it was
        asked for, and HEAD answers with the same length and no body.
        After a set, the next page shows it.
        """
        service = FaultyService(moshez="happy & <well>", shawn="alive")
        client = self.tree(service)
        code, headers, first = self.get(client)
        self.assertEqual(code, 200)
        for _ in range(5):
            # All but the Date header, which twisted.web takes from the
            # real time and may cross a second meanwhile.
            again, againHeaders, body = self.get(client)
            againHeaders.pop(b"date")
            self.assertEqual(
                (again, againHeaders, body),
                (code, {k: v for k, v in headers.items() if k != b"date"}, first),
            )
        code, other, body = client.request(b"/", {b"Host": b"other.example"})
        self.assertIn(b"<h1>Finger at other.example</h1>", body)
        self.assertIn(b"<code>finger @other.example</code>", body)
        self.assertEqual(body.replace(b"other.example", b"finger.example"), first)
        code, head, body = client.request(b"/", {b"Host": b"finger.example:8080"}, b"HEAD")
        self.assertEqual((code, body), (200, b""))
        self.assertEqual(head[b"content-length"], b"%d" % (len(first),))
        self.assertEqual((service.listed, len(service.asked)), (1, 2))

        self.successResultOf(service.setUser("shawn", "gone fishing"))
        code, headers, body = self.get(client)
        self.assertIn(b'data-live-user="shawn">gone fishing</span>', body)
        self.assertEqual(service.listed, 2)

    def test_flattenedOncePerChange(self) -> None:
        """
        The front page is flattened by the template engine once per change
        of the statuses, not once per request.
        """
        templates = loadTemplates()
        flattened: List[int] = []
        frontPage = templates.frontPage

        def counting(*args: Any) -> Any:
            flattened.append(1)
            return frontPage(*args)

        templates.frontPage = counting  # type: ignore[method-assign]
        service = MemoryFingerService(moshez="happy")
        client = self.tree(service, templates=templates)
        for _ in range(3):
            self.assertIn(b"happy", self.get(client)[2])
        self.assertEqual(len(flattened), 1)
        self.successResultOf(service.setUser("moshez", "sad"))
        self.assertIn(b"sad", self.get(client)[2])
        self.assertEqual(len(flattened), 2)

    def test_sameAsEngine(self) -> None:
        """
        The front page filled in per request is the page the template
        engine makes, for awkward names, statuses and hosts.
        """
        service = sampleService()
        service.users["x"] = 'a<b>&"c\' \u2603'
        templates = loadTemplates()
        client = self.tree(service, templates=templates)
        for header, host in [(b"finger.example:8080", "finger.example"), (b"x.y", "x.y")]:
            body = client.request(b"/", {b"Host": header})[2]
            element = UsersElement(
                templates.users,
                list(service.users),
                "./",
                host=host,
                statuses=service.users,
            )
            self.assertEqual(body, b"<!DOCTYPE html>\n" + flatten(self, element).encode("utf-8"))

    def test_noListing(self) -> None:
        """
        With listing off, the front page names the host but no user, its
        JSON and C{/api/users} are a 403; a user's page and JSON still
        answer.
        """
        client = self.tree(sampleService(), listUsers=False)
        code, headers, body = self.get(client)
        self.assertEqual(code, 200)
        html = body.decode("utf-8")
        assertUnlistedFrontPage(self, html, "finger.example")
        self.assertNotIn("moshez", html)
        for path, accept in [(b"/", b"application/json"), (b"/api/users", None)]:
            code, headers, body = self.get(client, path, accept)
            self.assertEqual(code, 403, path)
            self.assertEqual(json.loads(body), {"error": LISTING_DENIED})
            self.assertEqual(headers[b"x-content-type-options"], b"nosniff")
        self.assertEqual(self.get(client, b"/moshez")[0], 200)
        self.assertEqual(self.get(client, b"/api/users/moshez")[0], 200)

    def test_userPageSaysHowToFinger(self) -> None:
        """
        A user's page shows the finger command and the C{acct:} URI, linked
        to its WebFinger answer, at the host the request was sent to, or at
        the first host the site was given.
        """
        code, headers, body = self.get(self.tree(sampleService()), b"/zo%C3%AB")
        html = body.decode("utf-8")
        self.assertIn('<code class="finger">finger zoë@finger.example</code>', html)
        self.assertIn(
            '<a href="./.well-known/webfinger?resource=acct%3Azo%25C3%25AB%40finger.example">'
            '<code class="acct">acct:zoë@finger.example</code></a>',
            html,
        )
        client = Client(
            UserStatusTree(sampleService(), clock=Clock(), webfingerHosts=["example.com"])
        )
        html = self.get(client, b"/moshez")[2].decode("utf-8")
        self.assertIn('<code class="finger">finger moshez@example.com</code>', html)

    def test_wellKnownIsReserved(self) -> None:
        """
        A user called C{.well-known} has no page: the path is WebFinger's.
        """
        service = MemoryFingerService(**{".well-known": "shadowed"})
        code, headers, body = self.get(Client(IResource(service)), b"/.well-known")
        self.assertEqual(code, 404)
        self.assertNotIn(b"shadowed", body)


class CachingTests(SynchronousTestCase):
    """
    Entity tags on the pages and the JSON, conditional requests, and the
    C{Vary} and C{Cache-Control} headers.
    """

    def setUp(self) -> None:
        self.service = sampleService()
        self.tree = UserStatusTree(self.service, clock=Clock(), webfingerHosts=["h.example"])
        self.client = Client(self.tree)

    def test_conditional(self) -> None:
        """
        Every page and JSON answer has an entity tag; asked again with it,
        the answer is a C{304} without a body, with the same tag, C{Vary}
        and C{Cache-Control}; a changed status gets a new tag and the whole
        answer.
        """
        for path, accept in [
            (b"/moshez", b"text/html"),
            (b"/moshez", b"application/json"),
            (b"/", b"text/html"),
            (b"/", b"application/json"),
            (b"/api/users", b"*/*"),
            (b"/api/users/moshez", b"*/*"),
        ]:
            code, headers, body = self.client.request(path, {b"Accept": accept})
            tag = headers[b"etag"]
            self.assertEqual(headers[b"cache-control"], b"no-cache", path)
            again = {b"Accept": accept, b"If-None-Match": b'"other", ' + tag}
            code, second, empty = self.client.request(path, again)
            self.assertEqual((code, empty), (304, b""), path)
            for name in [b"etag", b"cache-control", b"vary"]:
                self.assertEqual(second.get(name), headers.get(name), (path, name))
            self.assertEqual(second[b"content-length"], b"%d" % (len(body),))
            self.assertEqual(
                self.client.request(path, {b"Accept": accept, b"If-None-Match": b'"x"'})[2], body
            )
        self.successResultOf(self.service.setUser("moshez", "changed"))
        code, headers, body = self.client.request(b"/moshez", {b"If-None-Match": tag})
        self.assertEqual(code, 200)

    def test_vary(self) -> None:
        """
        The pages vary with C{Accept}; with trusted proxies, with the
        forwarded headers too.
        """
        self.assertEqual(self.client.request(b"/moshez")[1][b"vary"], b"Accept")
        self.assertEqual(self.client.request(b"/")[1][b"vary"], b"Accept")
        from finger.frontends.web.origin import parseProxies, parsePublicURL

        tree = UserStatusTree(
            self.service,
            clock=Clock(),
            publicURL=parsePublicURL("https://finger.example/"),
            trustedProxies=parseProxies("10.0.0.0/8"),
        )
        for path in [b"/", b"/moshez"]:
            self.assertEqual(
                Client(tree).request(path)[1][b"vary"],
                b"Accept, X-Forwarded-Host, X-Forwarded-Proto",
            )

    def test_tagMadeOnce(self) -> None:
        """
        A user's page is kept with its tag: asked again, neither is made
        anew.
        """
        self.client.request(b"/moshez")
        ((key, page),) = self.tree.pages.items()
        self.assertEqual(page[1], self.client.request(b"/moshez")[1][b"etag"])
        self.assertIs(self.tree.pages[key], page)

    def test_unknownUser(self) -> None:
        """
        An unknown user's page or JSON is checked again before reuse, and
        never a C{304}.
        """
        for accept in [b"text/html", b"application/json"]:
            code, headers, body = self.client.request(
                b"/nobody", {b"Accept": accept, b"If-None-Match": b"*"}
            )
            self.assertEqual((code, headers[b"cache-control"]), (404, b"no-cache"))
            self.assertNotIn(b"etag", headers)

    def test_fingerPort(self) -> None:
        """
        The site's finger port is shown in the pages' hints.
        """
        tree = UserStatusTree(
            self.service, clock=Clock(), webfingerHosts=["h.example"], fingerPort=7979
        )
        client = Client(tree)
        self.assertIn(b"pyfinger moshez@h.example:7979", client.request(b"/moshez")[2])
        self.assertIn(b"pyfinger @h.example:7979", client.request(b"/")[2])
        listless = UserStatusTree(self.service, clock=Clock(), listUsers=False, fingerPort=7979)
        self.assertIn(b"pyfinger USER@", Client(listless).request(b"/")[2])

    def test_hostHeaderChoosesOnlyServedNames(self) -> None:
        """
        A page shows the C{Host} header's name only if the site serves it.
        """
        tree = UserStatusTree(self.service, clock=Clock(), webfingerHosts=["a.example", "b.example"])
        client = Client(tree)
        for header, shown in [(b"b.example:8000", b"b.example"), (b"evil.example", b"a.example")]:
            for path in [b"/", b"/moshez"]:
                body = client.request(path, {b"Host": header})[2]
                self.assertIn(shown, body)
                self.assertNotIn(b"evil", body)
