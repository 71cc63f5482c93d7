# -*- test-case-name: tests.frontends.web -*-
"""
What the web front-end's tests share: an in-memory HTTP client that drives a
real L{Site}, back-ends that answer slowly or not at all, and XML-RPC bodies.
"""

import xmlrpc.client
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import ISSLTransport
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.resource import IResource
from twisted.web.server import Site
from twisted.web.template import Element, flattenString
from zope.interface import implementer

from finger.backends.memory import MemoryFingerService
from finger.frontends.web.pages import UserStatusTree
from finger.interfaces import IFingerService

Response = Tuple[int, Dict[bytes, bytes], bytes]


@implementer(IFingerService)
class SlowService:
    """
    A back-end that never answers; it records cancellations.
    """

    def __init__(self) -> None:
        self.cancelled: List[str] = []

    def getUser(self, user: str) -> "Deferred[str]":
        return Deferred(lambda d: self.cancelled.append(user))

    def getUsers(self) -> "Deferred[List[str]]":
        return Deferred(lambda d: self.cancelled.append("*"))


def assertLeavingCancels(
    testCase: SynchronousTestCase,
    requests: Iterable[Callable[["Client"], StringTransport]],
    cancelled: List[str],
) -> None:
    """
    Each of C{requests} sends a request to the pages over a L{SlowService}
    with the L{Client} it is given, and gets no answer yet; then its client
    disconnects.  The lookups of C{cancelled} (C{"*"} for the listing) are
    cancelled, in that order, and nothing is logged as an error.
    """
    service = SlowService()
    client = Client(UserStatusTree(service, clock=Clock()))
    for send in requests:
        transport = send(client)
        testCase.assertEqual(transport.value(), b"")
        transport.protocol.connectionLost(Failure(ConnectionError("gone")))
    testCase.assertEqual(service.cancelled, cancelled)
    testCase.assertEqual(testCase.flushLoggedErrors(), [])


def flatten(testCase: SynchronousTestCase, element: Element) -> str:
    return testCase.successResultOf(flattenString(None, element)).decode("utf-8")


@implementer(ISSLTransport)
class TLSStringTransport(StringTransport):
    """
    A L{StringTransport} that says it is TLS, so requests over it are
    secure.
    """

    def getPeerCertificate(self) -> None:
        return None

    def setTcpNoDelay(self, enabled: bool) -> None:
        pass


class Client:
    """
    Speaks HTTP/1.0 to a L{Site} over a L{StringTransport}: the real request
    parsing, traversal and response code, without a network.

    @ivar secure: whether requests go over a transport that says it is TLS.
    """

    def __init__(self, resource: IResource, secure: bool = False) -> None:
        self.site = Site(resource, reactor=Clock())
        self.secure = secure

    def connect(self) -> Tuple[object, StringTransport]:
        """
        A new connection: its protocol, and the transport it writes to
        (whose C{protocol} it is then).
        """
        protocol = self.site.buildProtocol(IPv4Address("TCP", "127.0.0.1", 5000))
        kind = TLSStringTransport if self.secure else StringTransport
        transport = kind(peerAddress=IPv4Address("TCP", "127.0.0.1", 5000))
        protocol.makeConnection(transport)
        transport.protocol = protocol
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

    def request(self, *args: Any, **kwargs: Any) -> Response:
        """
        Send a request, as L{send} takes it; return the response it got at
        once, parsed.
        """
        return self.parse(self.send(*args, **kwargs).value())

    @staticmethod
    def parse(raw: bytes) -> Response:
        head, _, body = raw.partition(b"\r\n\r\n")
        statusLine, *headerLines = head.split(b"\r\n")
        received: Dict[bytes, bytes] = {}
        for line in headerLines:
            name, _, value = line.partition(b":")
            received[name.strip().lower()] = value.strip()
        return int(statusLine.split()[1]), received, body

    def rpc(
        self, method: str, *args: object, headers: Optional[Dict[bytes, bytes]] = None
    ) -> object:
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


def sampleService() -> MemoryFingerService:
    """
    Users whose names and statuses need escaping, quoting or UTF-8, and one
    called C{RPC2}.
    """
    return MemoryFingerService(
        moshez="happy & <well>",
        **{"zoë": "in Paris – café", "a/b": "slashed", "RPC2": "shadowed"},
    )


@implementer(IFingerService)
class StuckService:
    """
    A back-end that never answers about C{stuck} (nor lists users), and
    answers about anyone else at once.
    """

    def __init__(self) -> None:
        self.memory = sampleService()
        self.cancelled: List[str] = []

    def getUser(self, user: str) -> "Deferred[str]":
        if user == "stuck":
            return Deferred(lambda d: self.cancelled.append(user))
        return self.memory.getUser(user)

    def getUsers(self) -> "Deferred[List[str]]":
        return Deferred(lambda d: self.cancelled.append("*"))


def xmlrpcCall(method: str, value: str, prolog: str = "") -> str:
    """
    An XML-RPC call of C{method} with one argument, C{value} as it is
    written in the body, after C{prolog}.
    """
    return (
        f"{prolog}<methodCall><methodName>{method}</methodName><params><param><value>"
        f"<string>{value}</string></value></param></params></methodCall>"
    )


def billionLaughs(levels: int = 10) -> str:
    """
    A "billion laughs" prolog: entity C{lol<levels-1>} expands to ten to the
    C{levels} elements.
    """
    entities = ['<!ENTITY lol0 "<v>lol</v>">'] + [
        f'<!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">' for level in range(1, levels)
    ]
    return '<?xml version="1.0"?>\n<!DOCTYPE methodCall [\n' + "\n".join(entities) + "\n]>\n"


def assertUnlistedFrontPage(testCase: SynchronousTestCase, html: str, host: str) -> None:
    """
    C{html} is the front page of a site that does not list its users: it
    names C{host}, says how to ask for someone there, and lists nobody.
    """
    testCase.assertIn(f"<h1>Finger at {host}</h1>", html)
    testCase.assertIn("does not list its users", html)
    testCase.assertIn(f"<code>finger USER@{host}</code>", html)
    testCase.assertNotIn("<li>", html)
    testCase.assertNotIn("known here", html)


def listedStatus(user: str, shown: str) -> str:
    """
    How the front page lists C{user}'s status, already escaped as C{shown}:
    on one line, marked for the script that keeps it up to date.
    """
    return f'<span class="status" data-live-short="" data-live-user="{user}">{shown}</span>'


def listedUser(user: str, shown: str) -> str:
    """
    How the front page lists C{user}: a link to their page, then
    L{listedStatus}.
    """
    return f'<a href="./{user}">{user}</a> ' + listedStatus(user, shown)
