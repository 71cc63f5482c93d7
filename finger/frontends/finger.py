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

A listing shows at most the factory's C{maxListed} users.  It is the one
user listing of L{finger.listing}: made once per change of the statuses,
and its answer encoded once, for every client that asks until the next
change.

Lines end in CRLF or a bare LF.  A query longer than L{MAX_QUERY_LENGTH}
bytes is refused; a client that does not finish its query within the
factory's C{timeout} is disconnected.  Every query is logged with the peer's
address, escaped as RFC 1288 section 3.2.7 asks, in the factory's access log
(L{finger.accesslog}): written in batches, to the logging system unless the
factory is given a file for it.
"""

from functools import partial
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Tuple, TypeVar, Union

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import (
    IAddress,
    IHalfCloseableProtocol,
    ITCPTransport,
)
from twisted.internet.protocol import connectionDone
from twisted.logger import Logger
from twisted.python import components
from twisted.python.failure import Failure
from zope.interface import implementer

from finger.accesslog import AccessLog, FileWriter
from finger.interfaces import (
    IFingerFactory,
    IFingerForwarder,
    IFingerService,
    IFingerVerboseService,
    IStatusesAtHand,
)
from finger.listing import MAX_LISTED, Listing, Snapshot
from finger.lookup import LookupAnswers
from finger.pending import Pending
from finger.messages import (
    ANSWER_TRUNCATED,
    FORWARDING_DENIED,
    INTERNAL_ERROR,
    LISTING_DENIED,
    MORE_USERS_NOT_SHOWN,
    NO_SUCH_USER,
    NO_USERS,
    NOT_AVAILABLE_YET,
    QUERY_TOO_LONG,
    TIMED_OUT,
)
from finger.names import isValidUserName
from finger.net.limits import LimitedConnection
from finger.net.lines import LineFraming
from finger.onerequest import RequestFactory, RequestSettings
from finger.text import escapeForLog, formatPeer, printableLines

if TYPE_CHECKING:
    from typing_extensions import Unpack

_T = TypeVar("_T")

MAX_QUERY_LENGTH = 512

MAX_KEPT_ANSWERS = 4096
MAX_KEPT_ANSWER_BYTES = 1024
"""
How many answers to lookups the factory keeps made, and how long each may
be (L{FingerFactoryFromService.statusAnswer}): a few megabytes at most.
"""


Answer = Union[List[str], bytes]
"""
An answer: its lines, or the bytes of them already capped (L{_capped}).
"""


def _statusLines(status: str) -> List[str]:
    return printableLines(status) or [""]


def _detailLines(fields: List[Tuple[str, str]]) -> List[str]:
    lines = []
    for label, value in fields:
        valueLines = _statusLines(value)
        lines.append(f"{label}: {valueLines[0]}")
        lines.extend(valueLines[1:])
    return lines


def _listingLines(snapshot: Snapshot, verbose: bool) -> List[str]:
    """
    The lines of a listing: each user and the first line of their status
    (all of it if C{verbose}), then how many users are not shown, if any.
    """
    lines = []
    for name, status in snapshot.entries:
        statusLines = _statusLines(status)
        lines.append(f"{name}: {statusLines[0]}")
        if verbose:
            lines.extend(statusLines[1:])
    if snapshot.hidden > 0:
        lines.append(MORE_USERS_NOT_SHOWN.format(count=snapshot.hidden))
    return lines or [NO_USERS]


def _listingAnswer(snapshot: Snapshot, verbose: bool, limit: int) -> bytes:
    """
    The answer to a listing query, in at most C{limit} bytes: made once
    per snapshot, and sent to every client that asks until the statuses
    change.
    """
    return snapshot.view(
        ("finger", verbose, limit), lambda s: _capped(_listingLines(s, verbose), limit)
    )


@implementer(IHalfCloseableProtocol)
class FingerProtocol(LimitedConnection, LineFraming, LookupAnswers[None]):
    """
    Answer one finger query.

    The protocol is its own L{LookupAnswers}: a lookup that found nothing
    is answered with one line, at once (L{unknown}, L{timedOut},
    L{failed}), as one that found something is (L{_ask}), so an answer
    already known is sent from the one callback that learns it.

    @ivar factory: an L{IFingerFactory} provider, with the settings of
        L{FingerFactoryFromService}.
    @ivar peerAddress: the client's address as the factory was told it
        (L{ServerFactory.buildProtocol}), or L{None} to ask the transport.
    """

    log = Logger()
    transport: ITCPTransport  # type: ignore[assignment]
    factory: "FingerFactoryFromService"
    maxLineLength = MAX_QUERY_LENGTH
    peerAddress: Optional[IAddress] = None

    def __init__(self) -> None:
        self._requests = Pending()

    def connectionMade(self) -> None:
        # The query's deadline: one timer serves every connection.
        self.factory.deadlines.add(self, self.factory.timeout, self.timeoutConnection)

    def peer(self) -> str:
        """
        The client's address, as logs show it.
        """
        address = self.peerAddress
        return formatPeer(address if address is not None else self.transport.getPeer())

    def lineArrived(self, line: bytes) -> None:
        self.queryReceived(line)

    def lineTooLong(self, line: bytes) -> None:
        self.log.info(
            "Finger query from {peer} refused: longer than {limit} bytes",
            peer=self.peer(),
            limit=MAX_QUERY_LENGTH,
        )
        self._finish([QUERY_TOO_LONG])

    def readConnectionLost(self) -> None:
        """
        The client half-closed: it has sent all it will.  The answer still
        goes out; an unterminated query is answered as if it were ended.
        """
        self.finishLines()
        if self.line_mode:
            self.queryReceived(b"")

    def writeConnectionLost(self) -> None:
        self.transport.abortConnection()

    def queryReceived(self, query: bytes) -> None:
        """
        Answer one query line, without its line ending.  It is the only
        one: whatever the client sends after it is ignored.
        """
        self.stopLines()
        peer = self.peer()
        accessLog = self.factory.accessLog
        accessLog.add(f"{accessLog.now()} Finger query from {peer}: {escapeForLog(query)}")
        verbose = False
        if query[:2] in (b"/W", b"/w") and query[2:3] in (b"", b" ", b"\t"):
            verbose = True
            query = query[2:]
        user = query.strip(b" \t")
        if b"@" in user:
            self._forward(user, verbose, peer)
        elif not user:
            if self.factory.listUsers:
                answer = partial(
                    _listingAnswer, verbose=verbose, limit=self.factory.maxAnswerBytes
                )
                self._ask(self.factory.listing.snapshot(), answer, peer, "a finger listing")
            else:
                self._finish([LISTING_DENIED])
        else:
            self._answer(user, verbose, peer)

    def _ask(self, d: "Deferred[_T]", found: Callable[[_T], Answer], peer: str, what: str) -> None:
        """
        Answer with what the back-end's L{Deferred} C{d} brings, through the
        factory's L{LookupPolicy}; cancel it if the client leaves first.
        """

        def answer(result: _T) -> None:
            self._finish(found(result))

        self._requests.track(self.factory.lookup.ask(d, answer, self, peer, what))

    def unknown(self, user: str) -> None:
        self._finish([NO_SUCH_USER])

    def timedOut(self) -> None:
        self._finish([TIMED_OUT])

    def notAvailable(self) -> None:
        self._finish([NOT_AVAILABLE_YET])

    def failed(self) -> None:
        self._finish([INTERNAL_ERROR])

    def _forward(self, query: bytes, verbose: bool, peer: str) -> None:
        forwarder = self.factory.forwarder
        try:
            text = query.decode("utf-8")
        except UnicodeDecodeError:
            forwarder = None
        if forwarder is None:
            self._finish([FORWARDING_DENIED])
        else:
            self._ask(forwarder.forward(text, verbose), printableLines, peer, "a forwarded query")

    def _answer(self, user: bytes, verbose: bool, peer: str) -> None:
        try:
            name = user.decode("utf-8")
        except UnicodeDecodeError:
            name = ""
        if not isValidUserName(name):
            self._finish([NO_SUCH_USER])
        elif verbose:
            self._ask(self.factory.getUserDetails(name), _detailLines, peer, "a verbose lookup")
        else:
            factory = self.factory
            atHand = factory.atHand
            # A back-end holding its statuses in memory answers at once.
            if atHand is None or (
                factory.lookup.answerNow(
                    partial(atHand.statusNow, name), self._found, self, peer, "a lookup"
                )
                is None
            ):
                self._ask(factory.getUser(name), factory.statusAnswer, peer, "a lookup")

    def _found(self, status: str) -> None:
        self._finish(self.factory.statusAnswer(status))

    def _finish(self, answer: Answer) -> None:
        self.factory.deadlines.discard(self)
        if not isinstance(answer, bytes):
            answer = _capped(answer, self.factory.maxAnswerBytes)
        self.transport.write(answer)
        self.transport.loseConnection()

    def timeoutConnection(self) -> None:
        self.log.info(
            "Finger connection from {peer} timed out",
            peer=self.peer(),
        )
        self.transport.abortConnection()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.factory.deadlines.discard(self)
        self._requests.leave()
        super().connectionLost(reason)


def _capped(lines: List[str], limit: int) -> bytes:
    """
    Encode answer lines, CRLF-terminated, in at most C{limit} bytes: if they
    do not all fit, whole lines while they fit (or the start of the first,
    cut at a character boundary), then a line saying the answer was cut.
    """
    encoded = [line.encode("utf-8") + b"\r\n" for line in lines]
    if sum(map(len, encoded)) <= limit:
        return b"".join(encoded)
    note = ANSWER_TRUNCATED.encode("ascii") + b"\r\n"
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
class FingerFactoryFromService(RequestFactory):
    """
    Serve the finger protocol from an L{IFingerService}.

    Every setting is a keyword argument of the constructor; the adapter
    (C{IFingerFactory(service)}) is this class with the defaults.

    @ivar service: the L{IFingerService} answering.
    @ivar atHand: C{service} if it can answer a query at once
        (L{IStatusesAtHand}), else L{None}.
    @ivar timeout: seconds a client has to send its query.
    @ivar deadlines: the clients' deadlines for their queries, on the
        clock.
    @ivar listUsers: whether an empty query lists the users; if not, it is
        refused with L{LISTING_DENIED}.
    @ivar listing: the user listing an empty query shows, built once per
        change of the statuses.
    @ivar maxAnswerBytes: the most bytes of one answer; the rest is cut.
    @ivar forwarder: the L{IFingerForwarder} that answers C{user@host}
        queries, or L{None} to refuse them with L{FORWARDING_DENIED}.
    @ivar clock: the L{IReactorTime} for timeouts; the global reactor
        unless the constructor is given one.
    @ivar lookupTimeout: seconds the back-end has to answer before the
        client is told L{TIMED_OUT}.
    @ivar lookup: the L{LookupPolicy} every query goes through, built with
        C{clock}, C{lookupTimeout} and C{observer}.
    @ivar accessLog: the L{AccessLog} every query is logged in; it runs
        while the factory is started, and is flushed when it stops.
    """

    protocol = FingerProtocol  # type: ignore[assignment]

    def __init__(
        self,
        service: IFingerService,
        *,
        listUsers: bool = True,
        maxListed: int = MAX_LISTED,
        maxAnswerBytes: int = 65536,
        forwarder: Optional[IFingerForwarder] = None,
        accessLog: Optional[str] = None,
        listing: Optional[Listing] = None,
        **settings: "Unpack[RequestSettings]",
    ) -> None:
        """
        @param maxListed: the most users one listing shows, when the
            factory builds its own listing.
        @param listing: the user listing of C{service}, to share with the
            other front-ends that show it (the web front page), so it is
            built once per change for them all; if L{None}, the factory
            builds its own.
        @param accessLog: a file to append the access log to, one line a
            query; if L{None}, the lines go to the logging system, a batch
            an event (L{finger.accesslog.LogWriter}).
        @param settings: the L{RequestSettings}; its C{observer} hears the
            outcome of every query (the metrics' count of the C{finger}
            front-end).
        """
        super().__init__(**settings)
        self.service = service
        self.atHand = IStatusesAtHand(service, None)
        self.forwarder = forwarder
        self.listUsers = listUsers
        if listing is None:
            listing = Listing(service, self.clock, maxListed=maxListed)
        self.listing = listing
        self.maxAnswerBytes = maxAnswerBytes
        writer = FileWriter.open(accessLog) if accessLog is not None else None
        self.accessLog = AccessLog(self.clock, writer)
        self._statusAnswers: Dict[str, bytes] = {}

    def buildProtocol(self, addr):  # type: ignore[no-untyped-def]
        """
        A protocol for a client at C{addr}, which it keeps: a TCP
        transport makes a new address object each time it is asked.
        """
        protocol = super().buildProtocol(addr)
        protocol.peerAddress = addr
        return protocol

    def statusAnswer(self, status: str) -> bytes:
        """
        The answer to a lookup that found C{status}: made once per status
        (while it is short, and for at most L{MAX_KEPT_ANSWERS} statuses at
        a time), and sent to every client that asks for it, as a listing's
        answer is.
        """
        kept = self._statusAnswers
        answer = kept.get(status)
        if answer is None:
            answer = _capped(_statusLines(status), self.maxAnswerBytes)
            if len(answer) <= MAX_KEPT_ANSWER_BYTES:
                if len(kept) >= MAX_KEPT_ANSWERS:
                    kept.clear()
                kept[status] = answer
        return answer

    @property
    def maxListed(self) -> int:
        """
        The most users one listing shows.
        """
        return self.listing.maxListed

    def startFactory(self) -> None:
        """
        A listener started: access lines are written within a second.
        """
        self.accessLog.start()

    def stopFactory(self) -> None:
        """
        The listener stopped: write the access lines still waiting.
        """
        self.accessLog.stop()

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


components.registerAdapter(FingerFactoryFromService, IFingerService, IFingerFactory)
