# -*- test-case-name: tests.backends.test_http -*-
"""
Statuses read from the web, as the tutorial's "Read Status from the Web"
does with the C{getPage} Twisted has since removed: a user's status is the
body of C{PREFIX + quoted user name}.

The web server is not trusted to be quick or small: each lookup has a
timeout (connecting, the headers and the body together) and reads at most a
size cap.  HTTPS certificates are verified against the system's trust roots,
as a browser would.  A 404 or 410 means the user does not exist; any other
answer than 200 is an error, and redirects are not followed.
"""

from typing import Any, Optional, Union, cast
from urllib.parse import quote, urlsplit

from twisted.internet.defer import Deferred, fail
from twisted.internet.interfaces import IPushProducer
from twisted.internet.protocol import Protocol
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.client import (
    Agent,
    BrowserLikePolicyForHTTPS,
    HTTPConnectionPool,
    ResponseDone,
)
from twisted.web.http import GONE, NOT_FOUND, OK, PotentialDataLoss
from twisted.web.http_headers import Headers
from twisted.web.iweb import UNKNOWN_LENGTH, IAgent, IPolicyForHTTPS, IResponse

from finger import __version__
from finger.backends.asking import AskingFingerService
from finger.net.capped import CappedBuffer
from finger.interfaces import UnknownUser

TIMEOUT = 10.0
MAX_BODY_BYTES = 16 * 1024


class WebStatusError(Exception):
    """
    The web server did not give a status: an unexpected HTTP status code, or
    a body over the size cap.
    """


class WebStatusTimeout(WebStatusError):
    """
    The web server did not answer in time.
    """


class BodyTooLarge(WebStatusError):
    """
    A response body was larger than the size cap.
    """


class CappedBodyProtocol(Protocol):
    """
    Gather a response body, up to a size cap (a L{CappedBuffer}):
    L{readBody} with a limit.

    @ivar finished: fires with the body, or fails with L{BodyTooLarge} or
        the reason the body was cut short.
    """

    def __init__(self, finished: "Deferred[bytes]", maxBytes: int) -> None:
        self.finished = finished
        self._body = CappedBuffer(maxBytes)

    def dataReceived(self, data: bytes) -> None:
        if self._body.add(data):
            cast(IPushProducer, self.transport).stopProducing()

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        if self.finished.called:
            return
        if self._body.overflowed:
            self.finished.errback(
                BodyTooLarge(f"response body larger than {self._body.limit} bytes")
            )
        elif reason.check(ResponseDone, PotentialDataLoss):
            # PotentialDataLoss: no length given, and the server closed.
            self.finished.callback(self._body.value())
        else:
            self.finished.errback(reason)


class _Discard(Protocol):
    def makeConnection(self, transport: Any) -> None:
        transport.stopProducing()


def readCappedBody(response: IResponse, maxBytes: int) -> "Deferred[bytes]":
    """
    Read a response's body, failing with L{BodyTooLarge} if it is longer than
    C{maxBytes}: without reading it, when the response says its length.
    Cancelling the result closes the connection.
    """
    if response.length is not UNKNOWN_LENGTH and response.length > maxBytes:
        response.deliverBody(_Discard())
        return fail(
            BodyTooLarge(
                f"response body of {response.length} bytes, more than {maxBytes}"
            )
        )
    protocol: Optional[CappedBodyProtocol] = None

    def cancel(d: "Deferred[bytes]") -> None:
        transport = getattr(protocol, "transport", None)
        abort = getattr(transport, "abortConnection", None)
        if abort is not None:
            abort()

    finished: Deferred[bytes] = Deferred(cancel)
    protocol = CappedBodyProtocol(finished, maxBytes)
    response.deliverBody(protocol)
    return finished


def checkPrefix(prefix: str) -> str:
    """
    Return C{prefix} unchanged if it is an C{http://} or C{https://} URL
    written in printable ASCII.

    @raise ValueError: if it is not.
    """
    if not prefix.lower().startswith(("http://", "https://")) or any(
        ord(c) <= 32 or ord(c) >= 127 for c in prefix
    ):
        raise ValueError(f"{prefix!r} is not an http:// or https:// URL")
    return prefix


class HTTPFingerService(AskingFingerService):
    """
    Statuses from the web: a user's status is the body of C{prefix} followed
    by the user name, percent-encoded as UTF-8.

    The list of users is empty: the web has no list to ask for (see
    L{AskingFingerService}).
    """

    log = Logger()

    def __init__(
        self,
        reactor: Any,
        prefix: str,
        timeout: float = TIMEOUT,
        maxBytes: int = MAX_BODY_BYTES,
        agent: Optional[IAgent] = None,
        tlsPolicy: Optional[IPolicyForHTTPS] = None,
        maxConcurrent: int = 8,
    ) -> None:
        """
        @param reactor: an L{IReactorTCP} and L{IReactorTime} provider.
        @param prefix: an C{http://} or C{https://} URL, such as
            C{"https://example.com/~"}.
        @param timeout: seconds one lookup may take, from connecting to the
            end of the body.
        @param maxBytes: the most bytes of body to accept.
        @param agent: the L{IAgent} to request with; by default an L{Agent}
            with no persistent connections.
        @param tlsPolicy: how to check HTTPS certificates, when C{agent} is
            not given; L{BrowserLikePolicyForHTTPS} by default.
        @param maxConcurrent: the most requests under way at once; further
            lookups wait their turn, within their timeout.

        @raise ValueError: if C{prefix} is not an HTTP or HTTPS URL.
        """
        super().__init__(maxConcurrent)
        self.prefix = checkPrefix(prefix)
        self._reactor = reactor
        self._timeout = timeout
        self._maxBytes = maxBytes
        if agent is None:
            tlsPolicy = tlsPolicy or BrowserLikePolicyForHTTPS()
            url = urlsplit(prefix)
            if url.scheme.lower() == "https" and url.hostname:
                # Load the TLS machinery now: after twistd drops privileges
                # it may no longer be able to import it.
                tlsPolicy.creatorForNetloc(
                    url.hostname.encode("ascii"), url.port or 443
                )
            agent = Agent(
                reactor,
                tlsPolicy,
                connectTimeout=timeout,
                pool=HTTPConnectionPool(reactor, persistent=False),
            )
        self._agent = agent

    def url(self, user: str) -> bytes:
        """
        The URL of C{user}'s status.
        """
        return (self.prefix + quote(user, safe="")).encode("ascii")

    def ask(self, user: str) -> "Deferred[str]":
        url = self.url(user)

        def timedOut(result: Union[str, Failure], timeout: float) -> Union[str, Failure]:
            # However the cancelled lookup failed (Agent says
            # ResponseNeverReceived, a body cut short says why), it timed out.
            if isinstance(result, Failure):
                return Failure(
                    WebStatusTimeout(
                        f"{url.decode('ascii')}: no answer within {timeout} seconds"
                    )
                )
            return result

        return self.inTurn(self._fetch, user, url).addTimeout(
            self._timeout, self._reactor, onTimeoutCancel=timedOut
        )

    def _fetch(self, user: str, url: bytes) -> "Deferred[str]":
        d = self._agent.request(
            b"GET",
            url,
            Headers({b"User-Agent": [f"finger/{__version__}".encode("ascii")]}),
        )

        def received(response: IResponse) -> "Deferred[bytes]":
            if response.code == OK:
                return readCappedBody(response, self._maxBytes)
            response.deliverBody(_Discard())
            if response.code in (NOT_FOUND, GONE):
                raise UnknownUser(user)
            raise WebStatusError(f"{url.decode('ascii')}: HTTP status {response.code}")

        def decode(body: bytes) -> str:
            return body.decode("utf-8", "replace")

        return d.addCallback(received).addCallback(decode)
