# -*- test-case-name: tests.frontends.web.test_channel -*-
"""
How the web site reads one connection (L{WebChannel}): each request within
a deadline and at its client's rate, its request line and headers capped,
and a connection the site closes gone in time.

L{rawResponse} is the one place that writes an HTTP response by hand, for
the answers given before or outside L{twisted.web}'s own machinery: the
refusal of a body that is too large, of a request line or headers that are
too long, of a request over its client's rate, the C{408} to a client too
slow to send its request, and L{busyResponse}, which the connection limit
sends on a connection it will not serve.
"""

import math
from typing import Any, Iterable, Optional, Tuple

from twisted.internet.interfaces import IAddress, IDelayedCall, IReactorTime
from twisted.internet.protocol import connectionDone
from twisted.python.failure import Failure
from twisted.web.http import HTTPChannel
from twisted.web.http_headers import Headers
from twisted.web.server import Request

from finger.frontends.web.request import TEXT, log
from finger.messages import (
    BUSY,
    HEADERS_TOO_LARGE,
    REQUEST_LINE_TOO_LONG,
    REQUEST_TOO_SLOW,
    TOO_MANY_REQUESTS,
)
from finger.net.deadlines import Deadlines
from finger.net.limits import LimitedConnection
from finger.net.rates import RateLimiter
from finger.text import formatPeer

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


class _RequestChannel(HTTPChannel):
    """
    An HTTP connection under the web site's two per-request limits: what
    L{WebChannel} does with each request, the connection's limits apart.

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
        self._client: Optional[str] = None
        # What was read while a request waits for its turn.
        self._held = b""
        self._turn: Optional[IDelayedCall] = None
        self._abort: Optional[IDelayedCall] = None

    def connectionMade(self) -> None:
        super().connectionMade()
        if self.rateLimiter is not None:
            # The client whose rate every request of the connection draws on.
            self._client = self.rateLimiter.clientOf(self._transport().getPeer())
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
        wait = self.rateLimiter.reserveClient(self._client)
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
            self._abort = self.clock.callLater(grace, self._abortLate)
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
            self._abortLate()
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

    def _abortLate(self) -> None:
        """
        A connection the site closed is not gone in time: abort it.
        """
        self._abort = None
        log.info("Aborting the connection from {peer}: not closed in time", peer=self._peer())
        self._transport().abortConnection()


class WebChannel(LimitedConnection, _RequestChannel):  # type: ignore[misc]
    """
    A connection to the web site: each request under the per-request
    limits of L{_RequestChannel} (its deadline, its turn at its client's
    rate, its capped line and headers), and the connection under the
    listener's limits (L{LimitedConnection}): the limits count it, and it
    keeps their idle and lifetime timer itself, so a plain HTTP connection
    has no wrapper between it and its transport.  Built by any other
    factory than a L{finger.net.limits.LimitingFactory} (over TLS, where
    the limits wrap the TLS connection instead, or in a test), it has no
    connection limits.

    The limits see every byte before the requests do, as a wrapper would
    have, and every write counts as activity too: a client that reads a
    long answer slowly is not idle.
    """

    _host: Optional[IAddress] = None
    _peerAddress: Optional[IAddress] = None

    def _active(self) -> None:
        limits = self.limits
        if limits is not None:
            self._lastActive = limits.clock.seconds()

    def writeHeaders(self, version: bytes, code: bytes, reason: bytes, headers: Any) -> None:
        """
        Write a response's status line and headers as L{HTTPChannel} does,
        in one write: it hands the transport a sequence of some forty small
        pieces, which a TCP transport checks and keeps one by one (that was
        a tenth of a request's time).  The names and values are what
        L{Headers} keeps, sanitized and canonical.
        """
        self._active()
        if not isinstance(headers, Headers):
            super().writeHeaders(version, code, reason, headers)
            return
        head = [b"%s %s %s\r\n" % (version, code, reason)]
        for name, values in headers.getAllRawHeaders():
            for value in values:
                head.append(b"%s: %s\r\n" % (name, value))
        head.append(b"\r\n")
        self._transport().write(b"".join(head))

    def write(self, data: bytes) -> None:
        self._active()
        super().write(data)

    def writeSequence(self, iovec: Any) -> None:
        self._active()
        super().writeSequence(iovec)

    def refuse(self, response: bytes) -> None:
        self._active()
        super().refuse(response)

    def getHost(self) -> IAddress:
        # Neither address of a connection changes; twisted.web asks for
        # both with every request, and a TCP transport makes a new address
        # each time (the local one with a getsockname() system call).
        host = self._host
        if host is None:
            host = self._host = self._transport().getHost()
        return host

    def getPeer(self) -> IAddress:
        peer = self._peerAddress
        if peer is None:
            peer = self._peerAddress = self._transport().getPeer()
        return peer
