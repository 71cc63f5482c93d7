# -*- test-case-name: tests.frontends.web.test_site -*-
"""
The web site (L{WebSite}): each connection read by a L{WebChannel} (each
request within a deadline and at its client's rate), each request's body
capped at L{MAX_BODY_BYTES} (L{LimitedRequest}), one access log line a
request (L{accessLine}), and a request with two C{Host} headers refused
(L{TwoHosts}).

How a connection is read, and the raw HTTP responses the site writes
itself (L{rawResponse}, L{busyResponse}), are
L{finger.frontends.web.channel}'s; their names are importable from here
too.
"""

import re
from io import BytesIO
from typing import Any, Callable, Optional

from twisted.internet.interfaces import IReactorTime
from twisted.web import http
from twisted.web.http import HTTPChannel, datetimeToLogString
from twisted.web.resource import IResource, Resource
from twisted.web.server import Request, Site

from finger.accesslog import AccessLog
from finger.frontends.web.channel import (
    ABORT_TIMEOUT,
    MAX_WAIT,
    REQUEST_TIMEOUT,
    WebChannel,
    busyResponse,
    rawResponse,
)
from finger.frontends.web.request import log
from finger.reactor import orGlobalReactor
from finger.messages import BODY_TOO_LARGE, TWO_HOSTS
from finger.net.deadlines import Deadlines
from finger.net.rates import RateLimiter
from finger.text import formatPeer

MAX_BODY_BYTES = 65536
"""
The largest request body the site accepts: far more than any XML-RPC call
it answers needs.
"""

__all__ = [
    "ABORT_TIMEOUT",
    "MAX_BODY_BYTES",
    "MAX_WAIT",
    "REQUEST_TIMEOUT",
    "LimitedRequest",
    "WebChannel",
    "WebSite",
    "accessLine",
    "busyResponse",
    "rawResponse",
]


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


# Bytes that the escaping below leaves as they are: printable ASCII but for
# the double quote and the backslash.
_PLAIN = re.compile(rb'[ !#-\[\]-~]*')


def _logEscape(value: bytes) -> str:
    # Python's repr of the bytes, without b'' and with double quotes escaped.
    if _PLAIN.fullmatch(value):
        return value.decode("ascii")
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


class TwoHosts(Resource):
    """
    The answer to a request with more than one C{Host} header: a C{400}
    (RFC 9112 section 3.2), since a cache may read the first and the site
    the last.
    """

    isLeaf = True

    def render(self, request: Request) -> bytes:
        request.setResponseCode(400)
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        request.setHeader(b"cache-control", b"no-store")
        return (TWO_HOSTS + "\n").encode("utf-8")


_TWO_HOSTS = TwoHosts()


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

    # finger.net.listen says where the site listens; no "Starting factory".
    noisy = False

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

    def getResourceFor(self, request: Request) -> IResource:
        """
        The resource that answers C{request}: the site's, unless the request
        has two C{Host} headers (L{TwoHosts}).
        """
        hosts = request.requestHeaders.getRawHeaders(b"host")
        if hosts is not None and len(hosts) > 1:
            request.site = self
            return _TWO_HOSTS
        return super().getResourceFor(request)  # type: ignore[no-any-return]

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
