# -*- test-case-name: tests.frontends.test_finger -*-
"""
The finger protocol (RFC 1288): one query line in, an answer out, then close.

Queries understood::

    (empty)        list the users and their statuses
    /W             the same, verbose
    user           that user's status, or "No such user"
    /W user        a verbose answer: the login name, then the status
    user@host      forwarding: refused with "Finger forwarding service denied",
                   unless the factory has a forwarder (L{IFingerForwarder})

A verbose answer shows the fields of L{IFingerVerboseService.getUserDetails}
when the back-end provides it, and the login name and status otherwise.

Lines end in CRLF or a bare LF.  A query longer than L{MAX_QUERY_LENGTH}
bytes is refused; a client that does not finish its query within the
factory's C{timeout} is disconnected.  Every query is logged with the peer's
address, escaped as RFC 1288 section 3.2.7 asks.
"""

from typing import List, Optional, Tuple

from twisted.internet.defer import Deferred, TimeoutError, gatherResults, succeed
from twisted.internet.interfaces import (
    IDelayedCall,
    IHalfCloseableProtocol,
    IReactorTime,
    ITCPTransport,
)
from twisted.internet.protocol import Protocol, ServerFactory
from twisted.logger import Logger
from twisted.protocols.policies import TimeoutMixin
from twisted.python import components
from twisted.python.failure import Failure
from zope.interface import implementer

from finger.interfaces import (
    IFingerFactory,
    IFingerForwarder,
    IFingerService,
    IFingerVerboseService,
    UnknownUser,
)
from finger.lookup import LOOKUP_TIMEOUT
from finger.messages import FORWARDING_DENIED, INTERNAL_ERROR, NO_SUCH_USER, TIMED_OUT
from finger.names import isValidUserName
from finger.text import escapeForLog, formatPeer, printableLines

MAX_QUERY_LENGTH = 512

LISTING_DENIED = "Finger online user list denied"
QUERY_TOO_LONG = "Query too long"
TRUNCATED = "(answer truncated)"


@implementer(IHalfCloseableProtocol)
class FingerProtocol(Protocol, TimeoutMixin):
    """
    Answer one finger query.

    @ivar factory: an L{IFingerFactory} provider, with the settings of
        L{FingerFactoryFromService}.
    """

    log = Logger()
    transport: ITCPTransport  # type: ignore[assignment]
    factory: "FingerFactoryFromService"

    _buffer = b""
    _answering = False
    _gone = False
    _pending: Optional[Deferred[List[str]]] = None

    def callLater(self, period: float, func) -> IDelayedCall:  # type: ignore[no-untyped-def]
        return self.factory.clock.callLater(period, func)

    def connectionMade(self) -> None:
        self.setTimeout(self.factory.timeout)

    def dataReceived(self, data: bytes) -> None:
        if self._answering:
            # One query per connection; whatever follows it is ignored.
            return
        self._buffer += data
        end = self._buffer.find(b"\n")
        if end == -1:
            if len(self._buffer) > MAX_QUERY_LENGTH + 1:
                self._refuseLongQuery(self._buffer)
            return
        query = self._buffer[:end]
        self._buffer = b""
        if query.endswith(b"\r"):
            query = query[:-1]
        if len(query) > MAX_QUERY_LENGTH:
            self._refuseLongQuery(query)
        else:
            self.queryReceived(query)

    def readConnectionLost(self) -> None:
        """
        The client half-closed: it has sent all it will.  The answer still
        goes out; an unterminated query is answered as if it were ended.
        """
        if not self._answering:
            query, self._buffer = self._buffer, b""
            self.queryReceived(query[:-1] if query.endswith(b"\r") else query)

    def writeConnectionLost(self) -> None:
        self.transport.abortConnection()

    def _refuseLongQuery(self, query: bytes) -> None:
        self._answering = True
        self._buffer = b""
        self.log.info(
            "Finger query from {peer} refused: longer than {limit} bytes",
            peer=formatPeer(self.transport.getPeer()),
            limit=MAX_QUERY_LENGTH,
        )
        self._finish([QUERY_TOO_LONG])

    def queryReceived(self, query: bytes) -> None:
        """
        Answer one query line, without its line ending.
        """
        self._answering = True
        self.log.info(
            "Finger query from {peer}: {query}",
            peer=formatPeer(self.transport.getPeer()),
            query=escapeForLog(query),
        )
        verbose = False
        if query[:2] in (b"/W", b"/w") and query[2:3] in (b"", b" ", b"\t"):
            verbose = True
            query = query[2:]
        user = query.strip(b" \t")
        if b"@" in user:
            d = self._forward(user, verbose)
        elif not user:
            if not self.factory.listUsers:
                self._finish([LISTING_DENIED])
                return
            d = self._listing(verbose)
        else:
            d = self._answer(user, verbose)
        self._pending = d
        if not d.called or d.paused:
            # An answer already here (as from a table in memory) cannot
            # time out: skip scheduling and cancelling the timer.
            d.addTimeout(self.factory.lookupTimeout, self.factory.clock)
        d.addErrback(self._failed)
        d.addCallback(self._finish)

    def _forward(self, query: bytes, verbose: bool) -> "Deferred[List[str]]":
        forwarder = self.factory.forwarder
        try:
            text = query.decode("utf-8")
        except UnicodeDecodeError:
            forwarder = None
        if forwarder is None:
            return succeed([FORWARDING_DENIED])
        return forwarder.forward(text, verbose).addCallback(printableLines)

    def _answer(self, user: bytes, verbose: bool) -> "Deferred[List[str]]":
        try:
            name = user.decode("utf-8")
        except UnicodeDecodeError:
            name = ""
        if not isValidUserName(name):
            return succeed([NO_SUCH_USER])

        def found(status: str) -> List[str]:
            return printableLines(status) or [""]

        def foundDetails(fields: List[Tuple[str, str]]) -> List[str]:
            lines = []
            for label, value in fields:
                valueLines = printableLines(value) or [""]
                lines.append(f"{label}: {valueLines[0]}")
                lines.extend(valueLines[1:])
            return lines

        def unknown(reason: Failure) -> List[str]:
            reason.trap(UnknownUser)
            return [NO_SUCH_USER]

        if verbose:
            d = self.factory.getUserDetails(name).addCallback(foundDetails)
        else:
            d = self.factory.getUser(name).addCallback(found)
        return d.addErrback(unknown)

    def _listing(self, verbose: bool) -> "Deferred[List[str]]":
        limit = self.factory.maxListed

        def statuses(users: List[str]) -> "Deferred[List[str]]":
            shown = users[:limit]

            def entry(name: str) -> "Deferred[List[str]]":
                def found(status: str) -> List[str]:
                    lines = printableLines(status) or [""]
                    return [f"{name}: {lines[0]}"] + (lines[1:] if verbose else [])

                def gone(reason: Failure) -> List[str]:
                    # Removed between the listing and the lookup.
                    reason.trap(UnknownUser)
                    return []

                return self.factory.getUser(name).addCallbacks(found, gone)

            def join(entries: List[List[str]]) -> List[str]:
                lines = [line for entry in entries for line in entry]
                if len(users) > len(shown):
                    lines.append(f"({len(users) - len(shown)} more users not shown)")
                return lines

            return gatherResults([entry(name) for name in shown]).addCallback(join)

        return self.factory.getUsers().addCallback(statuses)

    def _failed(self, reason: Failure) -> List[str]:
        if self._gone:
            # The client left (or timed out) before the answer came.
            return []
        if reason.check(TimeoutError):
            self.log.warn(
                "Back-end gave no answer for {peer} within {timeout} seconds",
                peer=formatPeer(self.transport.getPeer()),
                timeout=self.factory.lookupTimeout,
            )
            return [TIMED_OUT]
        self.log.failure(
            "Back-end failed answering {peer}",
            reason,
            peer=formatPeer(self.transport.getPeer()),
        )
        return [INTERNAL_ERROR]

    def _finish(self, lines: List[str]) -> None:
        self._pending = None
        if self._gone:
            return
        self.setTimeout(None)
        self.transport.write(_capped(lines, self.factory.maxAnswerBytes))
        self.transport.loseConnection()

    def timeoutConnection(self) -> None:
        self.log.info(
            "Finger connection from {peer} timed out",
            peer=formatPeer(self.transport.getPeer()),
        )
        self.transport.abortConnection()

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        self._gone = True
        self.setTimeout(None)
        if self._pending is not None:
            self._pending.cancel()


def _capped(lines: List[str], limit: int) -> bytes:
    """
    Encode answer lines, CRLF-terminated, in at most C{limit} bytes: if they
    do not all fit, whole lines while they fit (or the start of the first,
    cut at a character boundary), then a line saying the answer was cut.
    """
    encoded = [line.encode("utf-8") + b"\r\n" for line in lines]
    if sum(map(len, encoded)) <= limit:
        return b"".join(encoded)
    note = TRUNCATED.encode("ascii") + b"\r\n"
    budget = limit - len(note)
    out: List[bytes] = []
    for line in encoded:
        if len(line) > budget:
            if not out and budget > 2:
                start = line[: budget - 2].decode("utf-8", "ignore").encode("utf-8")
                out.append(start + b"\r\n")
            break
        out.append(line)
        budget -= len(line)
    out.append(note)
    return b"".join(out)


@implementer(IFingerFactory)
class FingerFactoryFromService(ServerFactory):
    """
    Serve the finger protocol from an L{IFingerService}.

    @ivar timeout: seconds a client has to send its query.
    @ivar listUsers: whether an empty query lists the users; if not, it is
        refused with L{LISTING_DENIED}.
    @ivar maxListed: the most users one listing shows.
    @ivar lookupTimeout: seconds the back-end has to answer before the
        client is told L{TIMED_OUT}.
    @ivar maxAnswerBytes: the most bytes of one answer; the rest is cut.
    @ivar clock: the L{IReactorTime} for timeouts.
    @ivar forwarder: the L{IFingerForwarder} that answers C{user@host}
        queries, or L{None} to refuse them with L{FORWARDING_DENIED}.
    """

    protocol = FingerProtocol  # type: ignore[assignment]
    noisy = False
    timeout: float = 60.0
    listUsers = True
    maxListed = 1000
    lookupTimeout: float = LOOKUP_TIMEOUT
    maxAnswerBytes = 65536
    forwarder: Optional[IFingerForwarder] = None

    def __init__(self, service: IFingerService) -> None:
        self.service = service
        self.clock: IReactorTime = _defaultClock()

    def getUser(self, user: str) -> "Deferred[str]":
        return self.service.getUser(user)

    def getUsers(self) -> "Deferred[List[str]]":
        return self.service.getUsers()

    def getUserDetails(self, user: str) -> "Deferred[List[Tuple[str, str]]]":
        """
        What a verbose answer shows about C{user}: the back-end's
        L{IFingerVerboseService.getUserDetails} if it has one, else the login
        name and the status.
        """
        if IFingerVerboseService.providedBy(self.service):
            return self.service.getUserDetails(user)  # type: ignore[no-any-return]

        def fields(status: str) -> List[Tuple[str, str]]:
            return [("Login", user), ("Status", status)]

        return self.service.getUser(user).addCallback(fields)


def _defaultClock() -> IReactorTime:
    from twisted.internet import reactor

    return reactor  # type: ignore[return-value]


components.registerAdapter(FingerFactoryFromService, IFingerService, IFingerFactory)
