"""
Tests for L{finger.backends.http}.
"""

import os
from typing import Any, List, Tuple

from twisted.internet import reactor
from twisted.internet.defer import Deferred, inlineCallbacks, succeed
from twisted.internet.endpoints import serverFromString
from twisted.internet.error import ConnectionLost
from twisted.internet.ssl import Certificate
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.client import BrowserLikePolicyForHTTPS, ResponseDone
from twisted.web.iweb import UNKNOWN_LENGTH
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Site
from twisted.web.static import Data
from twisted.web.util import Redirect
from zope.interface.verify import verifyObject

from finger.clients.finger import finger
from finger.frontends.finger import FingerFactoryFromService  # noqa: F401 (adapter)
from finger.interfaces import IFingerFactory, IFingerService, UnknownUser
from finger.backends.http import (
    BodyTooLarge,
    HTTPFingerService,
    WebStatusError,
    WebStatusTimeout,
    readCappedBody,
)
from tests.certs import selfSigned


class _FakeResponse:
    """
    Enough of an L{IResponse}: delivers the body it is given.
    """

    def __init__(
        self, code: int, body: bytes = b"", length: Any = UNKNOWN_LENGTH
    ) -> None:
        self.code = code
        self.body = body
        self.length = length
        self.transport = StringTransport()
        self.protocol: Any = None

    def deliverBody(self, protocol: Any) -> None:
        self.protocol = protocol
        protocol.makeConnection(self.transport)
        if self.transport.producerState == "stopped":
            return
        protocol.dataReceived(self.body)
        protocol.connectionLost(Failure(ResponseDone()))


class _FakeAgent:
    def __init__(self) -> None:
        self.requests: List[Tuple[bytes, bytes, Any]] = []
        self.responses: List[Any] = []

    def request(
        self, method: bytes, uri: bytes, headers: Any = None, body: Any = None
    ) -> Any:
        self.requests.append((method, uri, headers))
        if self.responses:
            return succeed(self.responses.pop(0))
        return Deferred()


class CappedBodyTests(SynchronousTestCase):
    def test_body(self) -> None:
        self.assertEqual(
            self.successResultOf(readCappedBody(_FakeResponse(200, b"hello"), 5)),
            b"hello",
        )

    def test_tooLarge(self) -> None:
        """
        A body over the cap stops the download and fails.
        """
        response = _FakeResponse(200, b"hello!")
        self.failureResultOf(readCappedBody(response, 5), BodyTooLarge)
        self.assertEqual(response.transport.producerState, "stopped")

    def test_declaredTooLarge(self) -> None:
        """
        A declared length over the cap fails without reading.
        """
        response = _FakeResponse(200, b"hello!", length=10**9)
        self.failureResultOf(readCappedBody(response, 5), BodyTooLarge)
        self.assertEqual(response.transport.producerState, "stopped")

    def test_cutShort(self) -> None:
        response = _FakeResponse(200)
        response.deliverBody = lambda p: (  # type: ignore[method-assign]
            p.makeConnection(response.transport),
            p.dataReceived(b"par"),
            p.connectionLost(Failure(ConnectionLost())),
        )
        d = readCappedBody(response, 5)
        self.failureResultOf(d, ConnectionLost)


class WebFingerServiceTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.agent = _FakeAgent()
        self.service = HTTPFingerService(
            self.clock,
            "https://example.com/~",
            timeout=5,
            maxBytes=10,
            agent=self.agent,
        )

    def test_interface(self) -> None:
        self.assertTrue(verifyObject(IFingerService, self.service))

    def test_status(self) -> None:
        self.agent.responses.append(_FakeResponse(200, "busy ☕".encode()))
        self.assertEqual(
            self.successResultOf(self.service.getUser("moshez")), "busy ☕"
        )
        self.assertEqual(self.clock.getDelayedCalls(), [])
        [(method, url, headers)] = self.agent.requests
        self.assertEqual((method, url), (b"GET", b"https://example.com/~moshez"))
        self.assertTrue(headers.getRawHeaders(b"user-agent")[0].startswith(b"finger/"))

    def test_quoted(self) -> None:
        """
        The name is percent-encoded: it cannot add a path, a query or a
        fragment.
        """
        for name in ["zoë", "a/../b", "a?b#c", "a%2e"]:
            self.service.getUser(name)
        self.assertEqual(
            [url for _, url, _ in self.agent.requests],
            [
                b"https://example.com/~zo%C3%AB",
                b"https://example.com/~a%2F..%2Fb",
                b"https://example.com/~a%3Fb%23c",
                b"https://example.com/~a%252e",
            ],
        )

    def test_invalidName(self) -> None:
        self.failureResultOf(self.service.getUser("-x"), UnknownUser)
        self.assertEqual(self.agent.requests, [])

    def test_notFound(self) -> None:
        for code in [404, 410]:
            response = _FakeResponse(code, b"not here")
            self.agent.responses.append(response)
            self.failureResultOf(self.service.getUser("moshez"), UnknownUser)
            self.assertEqual(response.transport.producerState, "stopped")

    def test_otherCodes(self) -> None:
        for code in [301, 403, 500]:
            self.agent.responses.append(_FakeResponse(code))
            failure = self.failureResultOf(
                self.service.getUser("moshez"), WebStatusError
            )
            self.assertIn(str(code), failure.getErrorMessage())

    def test_tooLarge(self) -> None:
        self.agent.responses.append(_FakeResponse(200, b"x" * 11))
        self.failureResultOf(self.service.getUser("moshez"), BodyTooLarge)

    def test_timeout(self) -> None:
        d = self.service.getUser("moshez")
        self.clock.advance(4.9)
        self.assertNoResult(d)
        self.clock.advance(0.1)
        self.failureResultOf(d, WebStatusTimeout)

    def test_concurrency(self) -> None:
        """
        At most C{maxConcurrent} requests are under way; the others wait,
        and the timeout counts the wait.
        """
        service = HTTPFingerService(
            self.clock, "http://h/~", timeout=5, maxConcurrent=1, agent=self.agent
        )
        first = service.getUser("alice")
        self.clock.advance(1)
        second = service.getUser("bob")
        self.assertEqual(len(self.agent.requests), 1)
        self.clock.advance(4)
        self.failureResultOf(first, WebStatusTimeout)
        self.assertEqual(len(self.agent.requests), 2)
        self.clock.advance(1)
        self.failureResultOf(second, WebStatusTimeout)
        self.agent.responses.append(_FakeResponse(200, b"ok"))
        self.assertEqual(self.successResultOf(service.getUser("carol")), "ok")

    def test_badPrefix(self) -> None:
        for prefix in ["ftp://x/", "example.com/~", "http://x/ y", "http://é/"]:
            self.assertRaises(ValueError, HTTPFingerService, self.clock, prefix)

    def test_getUsers(self) -> None:
        self.assertEqual(self.successResultOf(self.service.getUsers()), [])


class _Hang(Resource):
    isLeaf = True

    def render_GET(self, request: Any) -> Any:
        return NOT_DONE_YET


class LoopbackWebTests(TestCase):
    """
    Against a real twisted.web server on loopback.
    """

    timeout = 20

    def setUp(self) -> None:
        root = Resource()
        root.putChild(b"~moshez", Data(b"Happy on the web\x1b[2J", "text/plain"))
        root.putChild("~zoë".encode(), Data("à Paris".encode(), "text/plain"))
        root.putChild(b"~big", Data(b"x" * 100, "text/plain"))
        root.putChild(b"~slow", _Hang())
        root.putChild(b"~moved", Redirect(b"/~moshez"))
        self.site = Site(root)

    @inlineCallbacks
    def listen(self, description: str) -> Any:
        port = yield serverFromString(reactor, description).listen(self.site)
        self.addCleanup(port.stopListening)
        return port.getHost().port

    @inlineCallbacks
    def test_http(self) -> Any:
        port = yield self.listen("tcp:0:interface=127.0.0.1")
        service = HTTPFingerService(reactor, f"http://127.0.0.1:{port}/~", maxBytes=50)
        status = yield service.getUser("moshez")
        self.assertEqual(status, "Happy on the web\x1b[2J")
        status = yield service.getUser("zoë")
        self.assertEqual(status, "à Paris")
        for name, error in [
            ("nobody", UnknownUser),
            ("big", BodyTooLarge),
            ("moved", WebStatusError),
        ]:
            with self.assertRaises(error):
                yield service.getUser(name)

    @inlineCallbacks
    def test_slow(self) -> Any:
        port = yield self.listen("tcp:0:interface=127.0.0.1")
        service = HTTPFingerService(reactor, f"http://127.0.0.1:{port}/~", timeout=0.3)
        with self.assertRaises(WebStatusTimeout):
            yield service.getUser("slow")

    @inlineCallbacks
    def test_https(self) -> Any:
        """
        An untrusted certificate is refused; a trusted one is accepted.
        """
        certificate, key = selfSigned()
        directory = self.mktemp()
        os.mkdir(directory)
        with open(os.path.join(directory, "cert.pem"), "wb") as f:
            f.write(certificate)
        with open(os.path.join(directory, "key.pem"), "wb") as f:
            f.write(key)
        port = yield self.listen(
            f"ssl:0:interface=127.0.0.1:privateKey={directory}/key.pem"
            f":certKey={directory}/cert.pem"
        )
        prefix = f"https://localhost:{port}/~"
        with self.assertRaises(Exception) as caught:
            yield HTTPFingerService(reactor, prefix).getUser("moshez")
        self.assertNotIsInstance(caught.exception, (UnknownUser, WebStatusError))
        trusting = BrowserLikePolicyForHTTPS(trustRoot=Certificate.loadPEM(certificate))
        status = yield HTTPFingerService(reactor, prefix, tlsPolicy=trusting).getUser(
            "moshez"
        )
        self.assertEqual(status, "Happy on the web\x1b[2J")

    @inlineCallbacks
    def test_throughFinger(self) -> Any:
        port = yield self.listen("tcp:0:interface=127.0.0.1")
        service = HTTPFingerService(reactor, f"http://127.0.0.1:{port}/~")
        fingerPort = yield serverFromString(
            reactor, "tcp:0:interface=127.0.0.1"
        ).listen(IFingerFactory(service))
        self.addCleanup(fingerPort.stopListening)
        number = fingerPort.getHost().port
        answer = yield finger("moshez", "127.0.0.1", number)
        self.assertEqual(answer, "Happy on the web[2J\r\n")
        answer = yield finger("nobody", "127.0.0.1", number)
        self.assertEqual(answer, "No such user\r\n")
