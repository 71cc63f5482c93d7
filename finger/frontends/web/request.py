# -*- test-case-name: tests.frontends.web.test_request -*-
"""
What every part of the web site shares: how a connection and a request are
read (L{WebSite}: the request line and headers within a deadline, the body
capped at L{MAX_BODY_BYTES}), how a user is named in a URL, and how a
request is answered once the back-end has spoken.

L{rawResponse} is the one place that writes an HTTP response by hand, for
the answers given before or outside L{twisted.web}'s own machinery: the
refusal of a body that is too large, the C{408} to a client too slow to send
its request's head, and L{busyResponse}, which the connection limit sends on
a connection it will not serve.
"""

from io import BytesIO
from typing import Any, Callable, List, Optional, Tuple, TypeVar, Union
from urllib.parse import quote

from twisted.internet.defer import CancelledError, Deferred, maybeDeferred
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.protocol import connectionDone
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web import http
from twisted.web.http import HTTPChannel, datetimeToLogString
from twisted.web.resource import IResource
from twisted.web.server import NOT_DONE_YET, Request, Site

from finger.accesslog import AccessLog
from finger.lookup import LookupAnswers, LookupPolicy, orGlobalReactor
from finger.messages import (
    BODY_TOO_LARGE,
    BUSY,
    INTERNAL_ERROR,
    NO_SUCH_USER,
    REQUEST_TOO_SLOW,
    TIMED_OUT,
)
from finger.names import isValidUserName
from finger.text import escapeForLog, formatPeer, printableLines

_T = TypeVar("_T")

MAX_BODY_BYTES = 65536
"""
The largest request body the site accepts: far more than any XML-RPC call
it answers needs.
"""

HEAD_TIMEOUT = 60.0
"""
Seconds a web client has, by default, to send a request's line and
headers: as long as a finger client has for its query.
"""

TEXT = b"text/plain; charset=utf-8"

Response = Tuple[int, bytes, bytes]
"""
A response: its status code, its content type and its body.
"""

Answer = Union[Response, "Deferred[Response]"]
"""
A response, now or later.
"""

log = Logger(namespace="finger.frontends.web")


def rawResponse(code: int, reason: bytes, sentence: str) -> bytes:
    """
    A whole HTTP/1.1 response that says C{sentence} as plain text and
    closes the connection, for writing straight to a transport.

    @param code: the status code.
    @param reason: its reason phrase.
    @param sentence: one of L{finger.messages}.
    """
    body = (sentence + "\r\n").encode("utf-8")
    head = b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n"
    return head % (code, reason, TEXT, len(body)) + b"\r\n" + body


def busyResponse() -> bytes:
    """
    What a web listener that holds as many connections as it may says to
    one more: C{503 Service Unavailable}, L{BUSY}.
    """
    return rawResponse(503, b"Service Unavailable", BUSY)


class LimitedRequest(Request):
    """
    A request whose body may be at most C{maxBodyBytes} long.

    Twisted keeps a whole request body, in memory or in a temporary file,
    before the resource sees it; so a larger body, announced by its
    C{Content-Length} or found while its chunks arrive, is refused at once
    with C{413 Content Too Large} and the connection is closed, without
    reading the rest.

    @ivar bodyBytesSeen: how much of the body has arrived.
    @ivar bodyRefused: whether the body was refused.
    """

    maxBodyBytes = MAX_BODY_BYTES
    bodyBytesSeen = 0
    bodyRefused = False

    def gotLength(self, length: Optional[int]) -> None:
        if length is not None and length > self.maxBodyBytes:
            self.refuseBody()
            return
        # Never a temporary file: what is kept is bounded anyway.
        self.content = BytesIO()  # type: ignore[assignment]

    def handleContentChunk(self, data: bytes) -> None:
        if self.bodyRefused:
            return
        self.bodyBytesSeen += len(data)
        if self.bodyBytesSeen > self.maxBodyBytes:
            self.refuseBody()
            return
        super().handleContentChunk(data)

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        if self.bodyRefused:
            return
        super().requestReceived(command, path, version)

    def refuseBody(self) -> None:
        """
        Answer C{413} and close the connection, whatever else arrives.
        """
        self.bodyRefused = True
        self.content = BytesIO()  # type: ignore[assignment]
        # No "100 Continue" after the refusal.
        self.requestHeaders.removeHeader(b"expect")
        channel = self.channel
        transport: Any = channel.transport
        log.info(
            "Refused a request body over {limit} bytes from {peer}",
            limit=self.maxBodyBytes,
            peer=formatPeer(transport.getPeer()),
        )
        transport.write(rawResponse(413, b"Content Too Large", BODY_TOO_LARGE))
        channel.loseConnection()


class HeadDeadlineChannel(HTTPChannel):
    """
    An HTTP connection on which each request's line and headers (its head)
    must arrive within C{headTimeout} seconds: counted from the connection's
    start for the first request, from its first byte for the next ones.
    A client too slow is answered C{408 Request Timeout} and closed.

    Twisted's own idle timeout, reset by every byte, still applies; on its
    own it lets a client that sends a byte now and then hold a connection
    without ever finishing a request.  The body, once the head is complete,
    has the idle timeout only.

    @ivar clock: what the deadline is measured on.
    @ivar headTimeout: seconds a request's head may take.
    @ivar readingHead: whether the next bytes belong to a request's head.
    @ivar headDeadline: the call that closes the connection, while a head
        is being read.
    """

    def __init__(self, clock: IReactorTime, headTimeout: float = HEAD_TIMEOUT) -> None:
        super().__init__()
        self.clock = clock
        self.headTimeout = headTimeout
        self.readingHead = True
        self.headDeadline: Optional[IDelayedCall] = None

    def connectionMade(self) -> None:
        super().connectionMade()
        self.startHeadDeadline()

    def dataReceived(self, data: bytes) -> None:
        if data and self.readingHead and self.headDeadline is None:
            self.startHeadDeadline()
        super().dataReceived(data)

    def lineReceived(self, line: bytes) -> None:
        # A line the client sent along with the previous request, parsed
        # once that request was answered, begins the next head.
        if self.readingHead and self.headDeadline is None:
            self.startHeadDeadline()
        super().lineReceived(line)

    def allHeadersReceived(self) -> None:
        self.readingHead = False
        self.stopHeadDeadline()
        super().allHeadersReceived()

    def requestDone(self, request: Request) -> None:
        # Whatever comes next (data the client sent ahead, which this call
        # hands back to dataReceived) is the next request's head.
        self.readingHead = True
        super().requestDone(request)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.stopHeadDeadline()
        super().connectionLost(reason)

    def startHeadDeadline(self) -> None:
        """
        Give the head now being read C{headTimeout} seconds.
        """
        self.headDeadline = self.clock.callLater(self.headTimeout, self.headTooSlow)

    def stopHeadDeadline(self) -> None:
        """
        The head is complete, or the connection gone: no deadline.
        """
        if self.headDeadline is not None:
            if self.headDeadline.active():
                self.headDeadline.cancel()
            self.headDeadline = None

    def headTooSlow(self) -> None:
        """
        The head did not arrive in time: say so and close.  No response is
        under way, since the previous request, if any, has been answered.
        """
        self.headDeadline = None
        transport: Any = self.transport
        log.info(
            "Request head from {peer} not complete within {timeout} seconds",
            peer=formatPeer(transport.getPeer()),
            timeout=self.headTimeout,
        )
        transport.write(rawResponse(408, b"Request Timeout", REQUEST_TOO_SLOW))
        self.loseConnection()


def _logEscape(value: bytes) -> str:
    # Python's repr of the bytes, without b'' and with double quotes escaped.
    text = repr(value)
    if text[1] == "'":
        return text[2:-1].replace('"', '\\"').replace("\\'", "'")
    return text[2:-1]


def accessLine(timestamp: str, request: http.Request) -> str:
    """
    C{request} in the combined log format, as
    L{twisted.web.http.combinedLogFormatter} writes it (the same line, for
    a fraction of its cost): every value from the client escaped, so none
    can forge a line or hold a control character.

    @param timestamp: when, as L{datetimeToLogString} writes it.
    """
    host = getattr(request.getClientAddress(), "host", None)
    ip = _logEscape(host.encode("ascii")) if isinstance(host, str) else "-"
    getHeader = request.requestHeaders.getRawHeaders
    referrer = getHeader(b"referer")
    agent = getHeader(b"user-agent")
    return (
        f'"{ip}" - - {timestamp} "{_logEscape(request.method)} {_logEscape(request.uri)} '
        f'{_logEscape(request.clientproto)}" {request.code} {request.sentLength or "-"} '
        f'"{_logEscape(referrer[-1]) if referrer and referrer[-1] else "-"}" '
        f'"{_logEscape(agent[-1]) if agent and agent[-1] else "-"}"'
    )


class WebSite(Site):
    """
    The web front-end's L{Site}: each request must send its head within
    C{headTimeout} seconds (see L{HeadDeadlineChannel}), and its body is
    capped (see L{LimitedRequest}).  Each request is logged in the combined
    log format, as twisted.web logs it, but through an L{AccessLog}: in
    batches, to the logging system unless the site is given another.

    @ivar accessLog: where requests are logged; it runs while the site is
        started, and is flushed when it stops.
    """

    def __init__(
        self,
        resource: IResource,
        *,
        clock: Optional[IReactorTime] = None,
        headTimeout: float = HEAD_TIMEOUT,
        idleTimeout: Optional[float] = HEAD_TIMEOUT,
        requestFactory: Callable[..., Request] = LimitedRequest,
        accessLog: Optional[AccessLog] = None,
    ) -> None:
        """
        @param resource: the site's root.
        @param clock: what the deadlines and the idle timeout are measured
            on; the global reactor if L{None}.
        @param headTimeout: seconds each request has to send its request
            line and headers.
        @param idleTimeout: seconds a connection may pass without a byte
            from the client, while no request is being answered; L{None}
            when something else keeps that time (as
            L{finger.net.limits} does for every listener of the service).
        @param requestFactory: makes each request.
        @param accessLog: where requests are logged; if L{None}, the logging
            system, in batches (L{finger.accesslog.LogWriter}).
        """
        super().__init__(
            resource,
            requestFactory=requestFactory,
            timeout=idleTimeout,
            reactor=orGlobalReactor(clock),
        )
        self.headTimeout = headTimeout
        if accessLog is None:
            accessLog = AccessLog(self.reactor, timeFormat=datetimeToLogString)
        self.accessLog = accessLog

    def startFactory(self) -> None:
        super().startFactory()
        self.accessLog.start()

    def stopFactory(self) -> None:
        super().stopFactory()
        self.accessLog.stop()

    def log(self, request: http.Request) -> None:
        """
        Log C{request} in the access log.
        """
        accessLog = self.accessLog
        accessLog.add(accessLine(accessLog.now(), request))

    def protocol(self) -> HTTPChannel:  # type: ignore[override]
        """
        The channel L{buildProtocol} builds for each connection.
        """
        return HeadDeadlineChannel(self.reactor, self.headTimeout)


def displayStatus(status: str) -> str:
    """
    A status as any part of the site shows it: its lines, without control
    characters, joined by C{"\\n"}.
    """
    return "\n".join(printableLines(status))


DOT_MARK = "@"
"""
What follows the user names C{.} and C{..} in their URL path segments.

Browsers take a segment of one or two dots for a step in the path, however
it is spelled (the URL standard reads C{%2E} as C{.}), so a link to
C{./..} leads to the site's root.  No user name holds an C{@}, so C{.@} and
C{..@} name nobody else.
"""

_DOT_SEGMENTS = {(name + DOT_MARK).encode("ascii"): name for name in (".", "..")}


def userPath(user: str) -> str:
    """
    The URL path segment for a user: UTF-8, percent-encoded, C{/} included;
    C{.} and C{..} followed by L{DOT_MARK}.
    """
    if user in (".", ".."):
        return user + DOT_MARK
    return quote(user, safe="")


def userName(segment: bytes) -> Tuple[str, bool]:
    """
    Decode a URL path segment (already percent-decoded) as a user name: the
    inverse of L{userPath}.

    @return: the name, for showing, and whether it can be a user at all.
    """
    if segment in _DOT_SEGMENTS:
        return _DOT_SEGMENTS[segment], True
    try:
        name = segment.decode("utf-8")
    except UnicodeDecodeError:
        return segment.decode("utf-8", "replace"), False
    return name, isValidUserName(name)


def plainText(code: int, sentence: str) -> Response:
    """
    A plain-text response saying C{sentence}.
    """
    return (code, TEXT, (sentence + "\n").encode("utf-8"))


class WebAnswers(LookupAnswers[Answer]):
    """
    How a page or the JSON view says that a lookup did not find what it
    asked for: a back-end that timed out is a C{503}, one that failed a
    C{500}, each as plain text; subclasses say how an unknown user looks.
    """

    def unknown(self, user: str) -> Answer:
        return plainText(404, NO_SUCH_USER)

    def timedOut(self) -> Answer:
        return plainText(503, TIMED_OUT)

    def failed(self) -> Answer:
        return plainText(500, INTERNAL_ERROR)


def whileConnected(request: Request, d: "Deferred[_T]") -> "Deferred[Optional[_T]]":
    """
    Cancel C{d} if C{request}'s client goes away before it fires.  Once the
    client has gone, C{d} fires with L{None}, since nobody is left to
    answer; a failure other than the cancellation is logged first.
    """
    if d.called and not d.paused:
        # An answer already here cannot be overtaken by the client leaving.
        return d  # type: ignore[return-value]
    left: List[bool] = []

    def gone(reason: Failure) -> None:
        left.append(True)
        d.cancel()

    def settle(result: object) -> object:
        if not left:
            return result
        if isinstance(result, Failure) and not result.check(CancelledError):
            log.failure(
                "Failed after the client left: {uri}", result, uri=escapeForLog(request.uri)
            )
        return None

    request.notifyFinish().addErrback(gone)
    return d.addBoth(settle)  # type: ignore[return-value]


def serve(
    request: Request,
    policy: LookupPolicy,
    ask: Callable[[], "Deferred[_T]"],
    found: Callable[[_T], Answer],
    answers: WebAnswers,
) -> object:
    """
    Answer C{request} through C{policy}: what C{ask} gets from the back-end
    becomes a response through C{found}, or through C{answers} if the
    back-end did not find it, timed out or failed.  A response that cannot
    be made is logged and answered with a plain C{500}.  If the client goes
    away first, the work is cancelled and nothing is written.

    @return: L{NOT_DONE_YET}, for a C{render} method to return.
    """

    def respond(response: "Optional[Response]") -> None:
        if response is None:
            return
        code, contentType, body = response
        request.setResponseCode(code)
        request.setHeader(b"content-type", contentType)
        request.setHeader(b"content-length", b"%d" % (len(body),))
        request.write(body)
        request.finish()

    def failed(reason: Failure) -> None:
        log.failure("Cannot answer {uri}", reason, uri=escapeForLog(request.uri))
        respond(plainText(500, INTERNAL_ERROR))

    d = policy.ask(
        maybeDeferred(ask),
        found,
        answers,
        formatPeer(request.getClientAddress()),
        escapeForLog(request.method + b" " + request.uri),
    )
    # The policy waits for a page that is still being flattened: a response
    # reaches respond, never a Deferred.
    whileConnected(request, d).addCallback(respond).addErrback(failed)  # type: ignore[call-overload]
    return NOT_DONE_YET
