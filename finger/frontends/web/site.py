# -*- test-case-name: tests.frontends.web.test_site -*-
"""
How the web site reads a connection and its requests (L{WebSite}): each
request within a deadline and at its client's rate (L{WebChannel}), the
body capped at L{MAX_BODY_BYTES} (L{LimitedRequest}), and one access log
line a request (L{accessLine}).

L{rawResponse} is the one place that writes an HTTP response by hand, for
the answers given before or outside L{twisted.web}'s own machinery: the
refusal of a body that is too large, of a request line or headers that are
too long, of a request over its client's rate, the C{408} to a client too
slow to send its request, and L{busyResponse}, which the connection limit
sends on a connection it will not serve.
"""

import math
from io import BytesIO
from typing import Any, Callable, Iterable, Optional, Tuple

from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.protocol import connectionDone
from twisted.python.failure import Failure
from twisted.web import http
from twisted.web.http import HTTPChannel, datetimeToLogString
from twisted.web.resource import IResource
from twisted.web.server import Request, Site

from finger.accesslog import AccessLog
from finger.frontends.web.request import TEXT, log
from finger.lookup import orGlobalReactor
from finger.messages import (
    BODY_TOO_LARGE,
    BUSY,
    HEADERS_TOO_LARGE,
    REQUEST_LINE_TOO_LONG,
    REQUEST_TOO_SLOW,
    TOO_MANY_REQUESTS,
)
from finger.net.limits import Deadlines, RateLimiter
from finger.text import formatPeer

MAX_BODY_BYTES = 65536
"""
The largest request body the site accepts: far more than any XML-RPC call
it answers needs.
"""

REQUEST_TIMEOUT = 60.0
"""
Seconds a web client has, by default, to send a request (its line, headers
and body): as long as a finger client has for its query.
"""

MAX_WAIT = 5.0
"""
The longest, in seconds, a request over its client's rate waits for its
turn; one whose turn is further away is refused.
"""

ABORT_TIMEOUT = 2
"""
Seconds a connection the site refused (a C{408}, C{414}, C{429} ...) has
to close before it is aborted: enough to read a short answer and, over TLS,
to send the close alert back.
"""

def rawResponse(
    code: int, reason: bytes, sentence: str, headers: Iterable[Tuple[bytes, bytes]] = ()
) -> bytes:
    """
    A whole HTTP/1.1 response that says C{sentence} as plain text and
    closes the connection, for writing straight to a transport.

    @param code: the status code.
    @param reason: its reason phrase.
    @param sentence: one of L{finger.messages}.
    @param headers: more headers, as names and values.
    """
    body = (sentence + "\r\n").encode("utf-8")
    head = b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n"
    more = b"".join(b"%s: %s\r\n" % header for header in headers)
    return head % (code, reason, TEXT, len(body)) + more + b"\r\n" + body


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
        response = rawResponse(413, b"Content Too Large", BODY_TOO_LARGE)
        if isinstance(channel, WebChannel):
            channel.refuse(response)
        else:
            transport.write(response)
            channel.loseConnection()


class WebChannel(HTTPChannel):
    """
    An HTTP connection under the web site's two per-request limits.

    A deadline for the client's part of each request: its request line,
    headers and body must all have arrived within C{requestTimeout}
    seconds, counted from the connection's start for the first request
    (so a TLS handshake, which comes before it, is covered too) and from
    the end of the previous answer for the next ones (so an idle
    keep-alive is covered too).  A client too slow is answered C{408
    Request Timeout} and closed; an idle keep-alive, whose client has not
    begun another request, is closed without a word, as it may be at any
    time.  The time the server takes to answer is the back-end timeout's,
    not this deadline's.  A connection the site closes must be gone within
    C{requestTimeout} too, and one it refuses within C{abortTimeout}:
    then it is aborted, so a peer that never lets a TLS connection close
    (or never finishes its handshake) cannot hold it.

    A turn for each request, if the site has a C{rateLimiter}: a request
    over its client's rate waits for its turn, and meanwhile nothing more
    is read from the connection, so a client that pipelines requests is
    served at its rate and costs nothing while it waits.  A request whose
    turn is further away than C{maxWait} seconds is answered C{429 Too
    Many Requests}, with C{Retry-After}, and the connection is closed.

    A request line longer than C{MAX_LENGTH} is answered C{414}, and
    request headers longer than C{totalHeadersSize} (the line included)
    C{431}, before the connection is closed: twisted.web would close the
    first without a word, and answer the second C{400}.

    @ivar clock: what the deadlines and turns are measured on.
    @ivar deadlines: the site's L{Deadlines}, where this connection's
        deadline waits.
    @ivar requestTimeout: seconds the client has for each request.
    @ivar rateLimiter: the requests each client may make, or L{None}.
    @ivar maxWait: the longest a request waits for its turn.
    """

    abortTimeout = ABORT_TIMEOUT

    def __init__(
        self,
        clock: IReactorTime,
        deadlines: Deadlines,
        requestTimeout: float = REQUEST_TIMEOUT,
        rateLimiter: Optional[RateLimiter] = None,
        maxWait: float = MAX_WAIT,
    ) -> None:
        super().__init__()
        self.clock = clock
        self.deadlines = deadlines
        self.requestTimeout = requestTimeout
        self.rateLimiter = rateLimiter
        self.maxWait = min(maxWait, requestTimeout)
        # How many requests were answered; whether any byte of the next one
        # has come, its line been read, and its turn come.
        self._answered = 0
        self._begun = False
        self._inRequest = False
        self._admitted = False
        self._headBytes = 0
        self._timed = False
        self._closing = False
        self._writeBlocked = False
        # What was read while a request waits for its turn.
        self._held = b""
        self._turn: Optional[IDelayedCall] = None
        self._abort: Optional[IDelayedCall] = None

    def connectionMade(self) -> None:
        super().connectionMade()
        self._startDeadline()

    def dataReceived(self, data: bytes) -> None:
        if self._closing:
            # Nothing more is read from a connection being closed.
            return
        if self._turn is not None:
            # Waiting for a turn: keep what comes, and read no more (a
            # transport asked to resume sends one more read at most).
            self._held += data
            self._transport().pauseProducing()
            return
        if data:
            self._begun = True
        super().dataReceived(data)

    def lineReceived(self, line: bytes) -> None:
        self._begun = True
        if not self._inRequest:
            if not line or not self.persistent:
                # An empty line before the request, which twisted.web
                # forgives once, or bytes after the last request.
                super().lineReceived(line)
                return
            if not self._admitted and not self._takeTurn(line):
                return
            self._admitted = False
            self._inRequest = True
            self._headBytes = 0
        self._headBytes += len(line)
        if self._headBytes > self.totalHeadersSize:
            self._refuseHead(431, b"Request Header Fields Too Large", HEADERS_TOO_LARGE)
            return
        super().lineReceived(line)

    def lineLengthExceeded(self, line: bytes) -> None:
        if self._inRequest:
            self._refuseHead(431, b"Request Header Fields Too Large", HEADERS_TOO_LARGE)
        else:
            self._refuseHead(414, b"URI Too Long", REQUEST_LINE_TOO_LONG)

    def allContentReceived(self) -> None:
        # The client's part is done; answering is the server's.
        self._inRequest = False
        self._stopDeadline()
        super().allContentReceived()

    def requestDone(self, request: Request) -> None:
        self._answered += 1
        self._begun = False
        if self.persistent and not self._closing:
            self._startDeadline()
        # This replays what the client sent ahead: the next request.
        super().requestDone(request)

    def pauseProducing(self) -> None:
        self._writeBlocked = True
        super().pauseProducing()

    def resumeProducing(self) -> None:
        self._writeBlocked = False
        super().resumeProducing()
        if self._turn is not None:
            self._transport().pauseProducing()

    def loseConnection(self) -> None:
        """
        Close the connection once what was written is sent: within
        C{requestTimeout}, or it is aborted.
        """
        self._close(None)

    def refuse(self, response: bytes) -> None:
        """
        Write C{response} (one of L{rawResponse}'s) and close the
        connection: within C{abortTimeout}, or it is aborted.
        """
        if not self._closing:
            self._transport().write(response)
        self._close(self.abortTimeout)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self._stopDeadline()
        for call in (self._turn, self._abort):
            if call is not None and call.active():
                call.cancel()
        self._turn = self._abort = None
        super().connectionLost(reason)

    def _transport(self) -> Any:
        return self.transport

    def _peer(self) -> str:
        return formatPeer(self._transport().getPeer())

    def _takeTurn(self, line: bytes) -> bool:
        """
        Count the request whose line is C{line} against its client's rate.

        @return: whether it may be read now; if not, it waits for its turn
            or has been refused.
        """
        if self.rateLimiter is None:
            return True
        wait = self.rateLimiter.reserve(self._transport().getPeer())
        if not wait:
            return True
        if wait > self.maxWait:
            log.info(
                "Refused a request from {peer}: its turn at the rate limit is {wait:.1f} s away",
                peer=self._peer(),
                wait=wait,
            )
            retry = (b"Retry-After", b"%d" % (math.ceil(wait),))
            self.refuse(rawResponse(429, b"Too Many Requests", TOO_MANY_REQUESTS, [retry]))
            return False
        self._held = line + self.delimiter + self.clearLineBuffer()
        self._stopDeadline()
        self._transport().pauseProducing()
        self._turn = self.clock.callLater(wait, self._turnCome)
        return False

    def _turnCome(self) -> None:
        """
        A request's turn has come: read it, and what follows it, with a
        new deadline; the wait was the server's, not the client's.
        """
        self._turn = None
        held, self._held = self._held, b""
        self._admitted = True
        self._startDeadline()
        if not self._writeBlocked:
            self._transport().resumeProducing()
        self.dataReceived(held)

    def _refuseHead(self, code: int, reason: bytes, sentence: str) -> None:
        log.info(
            "Refused a request from {peer}: {sentence}", peer=self._peer(), sentence=sentence
        )
        self.refuse(rawResponse(code, reason, sentence))

    def _close(self, grace: Optional[float]) -> None:
        """
        Close the connection, and abort it if it is not gone within
        C{grace} seconds (C{requestTimeout} if L{None}).
        """
        if grace is not None and self._abort is None:
            self._stopDeadline()
            self._abort = self.clock.callLater(grace, self._expire)
        if self._closing:
            return
        self._closing = True
        if self._turn is not None:
            self._turn.cancel()
            self._turn = None
        if self._abort is None:
            self._stopDeadline()
            self._startDeadline()
        super().loseConnection()

    def _startDeadline(self) -> None:
        self._stopDeadline()
        self.deadlines.add(self, self.requestTimeout, self._deadlineReached)
        self._timed = True

    def _stopDeadline(self) -> None:
        if self._timed:
            self._timed = False
            self.deadlines.discard(self)

    def _deadlineReached(self) -> None:
        self._timed = False
        if self._closing:
            self._expire()
        elif self._begun or not self._answered:
            log.info(
                "Request from {peer} not received within {timeout} seconds",
                peer=self._peer(),
                timeout=self.requestTimeout,
            )
            self.refuse(rawResponse(408, b"Request Timeout", REQUEST_TOO_SLOW))
        else:
            # An idle keep-alive: the client may not be listening, and may
            # be sending a request as this is written.
            self._close(self.abortTimeout)

    def _expire(self) -> None:
        """
        A connection the site closed is not gone in time: abort it.
        """
        self._abort = None
        log.info("Aborting the connection from {peer}: not closed in time", peer=self._peer())
        self._transport().abortConnection()


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
    The web front-end's L{Site}: each request must arrive within
    C{requestTimeout} seconds and waits for its turn at its client's rate
    (see L{WebChannel}), and its body is capped (see L{LimitedRequest}).
    Each request is logged in the combined log format, as twisted.web logs
    it, but through an L{AccessLog}: in batches, to the logging system
    unless the site is given another.

    @ivar accessLog: where requests are logged; it runs while the site is
        started, and is flushed when it stops.
    @ivar deadlines: every connection's request deadline, on one timer.
    """

    def __init__(
        self,
        resource: IResource,
        *,
        clock: Optional[IReactorTime] = None,
        requestTimeout: float = REQUEST_TIMEOUT,
        idleTimeout: Optional[float] = REQUEST_TIMEOUT,
        rateLimiter: Optional[RateLimiter] = None,
        maxWait: float = MAX_WAIT,
        requestFactory: Callable[..., Request] = LimitedRequest,
        accessLog: Optional[AccessLog] = None,
    ) -> None:
        """
        @param resource: the site's root.
        @param clock: what the deadlines, the turns and the idle timeout
            are measured on; the global reactor if L{None}.
        @param requestTimeout: seconds each request has to send its request
            line, headers and body, and an idle keep-alive to begin the next
            request.
        @param idleTimeout: seconds a connection may pass without a byte
            from the client, while no request is being answered; L{None}
            when something else keeps that time (as
            L{finger.net.limits} does for every listener of the service).
        @param rateLimiter: how many requests each client may make; L{None}
            for no limit.
        @param maxWait: the longest a request over its client's rate waits
            for its turn before it is refused.
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
        self.requestTimeout = requestTimeout
        self.rateLimiter = rateLimiter
        self.maxWait = maxWait
        self.deadlines = Deadlines(self.reactor)
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
        return WebChannel(
            self.reactor, self.deadlines, self.requestTimeout, self.rateLimiter, self.maxWait
        )
