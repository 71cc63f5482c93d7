"""
Tests for L{finger.frontends.finger}.
"""

from typing import Any, List, Optional, Tuple

from hypothesis import given
from hypothesis import strategies as st
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.testing import StringTransport
from twisted.logger import capturedLogs
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer
from zope.interface.verify import verifyObject

from finger.accesslog import FLUSH_INTERVAL
from finger.frontends.finger import (
    MAX_KEPT_ANSWER_BYTES,
    MAX_KEPT_ANSWERS,
    MAX_QUERY_LENGTH,
    FingerFactoryFromService,
)
from finger.interfaces import IFingerFactory, IFingerForwarder, IFingerVerboseService, UnknownUser
from finger.lookup import LOOKUP_TIMEOUT
from finger.messages import (
    ANSWER_TRUNCATED,
    FORWARDING_DENIED,
    INTERNAL_ERROR,
    LISTING_DENIED,
    NO_SUCH_USER,
    NO_USERS,
    NOT_AVAILABLE_YET,
    QUERY_TOO_LONG,
    TIMED_OUT,
)
from finger.backends.memory import MemoryFingerService
from finger.text import printableLines
from finger.testing import BrokenService, FaultyService, NotYetService, ThreadlessClock
from tests.support import (
    OneRequestClient,
    assertAbortedAt,
    chunked,
    connected,
    controlCharacters,
    propertySettings,
)


class _HangingService(MemoryFingerService):
    def __init__(self) -> None:
        super().__init__()
        self.calls: List[Deferred[str]] = []

    def getUser(self, user: str) -> "Deferred[str]":
        d: Deferred[str] = Deferred()
        self.calls.append(d)
        return d


class _AtHandService(_HangingService):
    """
    A back-end whose C{getUser} never answers, but which answers at once
    (L{IStatusesAtHand}) from C{atHand}; or, for a name it does not have
    there, says it must be asked with C{getUser}.
    """

    atHand = {"moshez": "at hand"}

    def statusNow(self, user: str) -> Optional[str]:
        return self.atHand.get(user)


def _ask(factory: FingerFactoryFromService, query: bytes) -> bytes:
    """
    What a client of C{factory} that sends C{query} is answered.
    """
    transport = StringTransport()
    protocol = factory.buildProtocol(None)
    protocol.makeConnection(transport)
    protocol.dataReceived(query)
    return transport.value()


class FingerProtocolTests(OneRequestClient, SynchronousTestCase):
    def setUp(self) -> None:
        self.service = MemoryFingerService(
            moshez="happy and well", shawn="alive", **{"zoë": "à Paris ☕"}
        )
        self.clock = ThreadlessClock()

    def makeFactory(self, service: Any, **settings: Any) -> FingerFactoryFromService:
        return FingerFactoryFromService(service, clock=self.clock, **settings)

    def test_adapter(self) -> None:
        factory = IFingerFactory(self.service)
        self.assertIsInstance(factory, FingerFactoryFromService)
        self.assertTrue(verifyObject(IFingerFactory, factory))

    def test_adapterDefaults(self) -> None:
        """
        The adapter is the factory with its default settings, keeping time
        with the global reactor.
        """
        from twisted.internet import reactor

        factory = IFingerFactory(self.service)
        self.assertIs(factory.service, self.service)
        self.assertIs(factory.clock, reactor)
        self.assertEqual(factory.timeout, 60.0)
        self.assertTrue(factory.listUsers)
        self.assertEqual(factory.maxListed, 1000)
        self.assertEqual(factory.lookupTimeout, LOOKUP_TIMEOUT)
        self.assertEqual(factory.maxAnswerBytes, 65536)
        self.assertIsNone(factory.forwarder)
        self.assertIs(factory.lookup.clock, reactor)
        self.assertEqual(factory.lookup.timeout, LOOKUP_TIMEOUT)

    def test_knownUser(self) -> None:
        """
        A known user's status comes back, CRLF-terminated, and the server
        closes.
        """
        self.assertEqual(self.send(b"moshez\r\n"), b"happy and well\r\n")
        self.assertTrue(self.transport.disconnecting)

    def test_bareLF(self) -> None:
        self.assertEqual(self.send(b"moshez\n"), b"happy and well\r\n")

    def test_inPieces(self) -> None:
        transport = self.connect()
        for byte in b"moshez\r\n":
            self.assertEqual(transport.value(), b"")
            self.protocol.dataReceived(bytes([byte]))
        self.assertEqual(transport.value(), b"happy and well\r\n")

    def test_unknownUser(self) -> None:
        self.assertEqual(self.send(b"nobody\r\n"), b"No such user\r\n")
        self.assertTrue(self.transport.disconnecting)

    def test_exactMatch(self) -> None:
        self.assertEqual(self.send(b"Moshez\r\n"), b"No such user\r\n")

    def test_invalidNames(self) -> None:
        """
        Queries that cannot name a user get the same answer as an unknown
        user.
        """
        for query in [b"a:b", b"-l", b"moshez shawn", b"\xff\xfe", b"x" * 65, b"\x1b[2J"]:
            self.assertEqual(self.send(query + b"\r\n"), b"No such user\r\n", query)

    def test_utf8(self) -> None:
        self.assertEqual(self.send("zoë\r\n".encode()), "à Paris ☕\r\n".encode())

    def test_spacesAround(self) -> None:
        self.assertEqual(self.send(b"  moshez \t\r\n"), b"happy and well\r\n")

    def test_verbose(self) -> None:
        """
        C{/W user}, as C{finger -l} sends it, gives the login name and the
        status.
        """
        self.assertEqual(
            self.send(b"/W moshez\r\n"), b"Login: moshez\r\nStatus: happy and well\r\n"
        )
        self.assertEqual(self.send(b"/w  nobody\r\n"), b"No such user\r\n")

    def test_listing(self) -> None:
        """
        An empty query lists every user and status.
        """
        self.assertEqual(
            self.send(b"\r\n"),
            "moshez: happy and well\r\nshawn: alive\r\nzoë: à Paris ☕\r\n".encode(),
        )
        self.assertTrue(self.transport.disconnecting)
        self.assertEqual(self.send(b"/W\r\n"), self.send(b"\r\n"))

    def test_listingBuiltOncePerChange(self) -> None:
        """
        Empty queries between two changes of the statuses are answered from
        one listing: the back-end is asked for its users and their statuses
        once.  After a set, the next listing shows it.
        """
        service = FaultyService(moshez="happy and well", shawn="alive")
        factory = FingerFactoryFromService(service, clock=self.clock)

        listing = b"moshez: happy and well\r\nshawn: alive\r\n"
        for query in [b"\r\n", b"/W\r\n"] * 3:
            self.assertEqual(_ask(factory, query), listing)
        self.assertEqual((service.listed, len(service.asked)), (1, 2))
        self.successResultOf(service.setUser("shawn", "gone fishing"))
        self.assertEqual(
            _ask(factory, b"\r\n"), b"moshez: happy and well\r\nshawn: gone fishing\r\n"
        )
        self.assertEqual(service.listed, 2)

    def test_statusAnswerKept(self) -> None:
        """
        The answer to a lookup is made once per status and kept, while it
        is short, for a bounded number of statuses; a changed status gets
        its own answer.
        """
        self.connect()
        factory = self.factory
        first = factory.statusAnswer("happy\nand well")
        self.assertEqual(first, b"happy\r\nand well\r\n")
        self.assertIs(factory.statusAnswer("happy\nand well"), first)
        self.assertEqual(factory.statusAnswer("gone"), b"gone\r\n")

        self.assertEqual(_ask(factory, b"moshez\r\n"), b"happy and well\r\n")
        self.service.users["moshez"] = "busy"
        self.assertEqual(_ask(factory, b"moshez\r\n"), b"busy\r\n")
        long = "x" * (MAX_KEPT_ANSWER_BYTES + 1)
        self.assertEqual(factory.statusAnswer(long), long.encode() + b"\r\n")
        self.assertNotIn(long, factory._statusAnswers)
        for n in range(MAX_KEPT_ANSWERS + 10):
            factory.statusAnswer(str(n))
        self.assertLessEqual(len(factory._statusAnswers), MAX_KEPT_ANSWERS)

    def test_listingAnswerCapped(self) -> None:
        """
        A listing kept for many clients is still cut at C{maxAnswerBytes}.
        """
        self.connect(maxAnswerBytes=50)
        self.protocol.dataReceived(b"\r\n")
        cut = ANSWER_TRUNCATED.encode()
        self.assertEqual(self.transport.value(), b"moshez: happy and well\r\n" + cut + b"\r\n")

    def test_listingEmpty(self) -> None:
        """
        A listing of nobody says so, in a line.
        """
        self.assertEqual(self.send(b"\r\n", MemoryFingerService()), NO_USERS.encode() + b"\r\n")
        self.assertTrue(self.transport.disconnecting)

    def test_listingDenied(self) -> None:
        transport = self.connect(listUsers=False)
        self.protocol.dataReceived(b"\r\n")
        self.assertEqual(transport.value(), LISTING_DENIED.encode() + b"\r\n")

    def test_listingCapped(self) -> None:
        transport = self.connect(maxListed=2)
        self.protocol.dataReceived(b"\r\n")
        self.assertEqual(
            transport.value(),
            b"moshez: happy and well\r\nshawn: alive\r\n(1 more users not shown)\r\n",
        )

    def test_forwardingDenied(self) -> None:
        for query in [b"moshez@example.com", b"@example.com", b"/W a@b@c"]:
            self.assertEqual(
                self.send(query + b"\r\n"), FORWARDING_DENIED.encode() + b"\r\n", query
            )

    def test_controlCharactersFiltered(self) -> None:
        """
        Controls in a status never reach the client; the only line breaks on
        the wire are the server's CRLFs.
        """
        self.service.users["evil"] = "red\x1b[31m\rfake\nline\x85\x07\x00\ttab\x7f"
        self.assertEqual(self.send(b"evil\r\n"), b"red[31m\r\nfake\r\nline\r\n\ttab\r\n")
        self.assertEqual(
            self.send(b"\r\n")[-len(b"evil: red[31m\r\n") :], b"evil: red[31m\r\n"
        )

    def test_longQuery(self) -> None:
        """
        A query longer than 512 bytes is refused, whether it ends or not.
        """
        self.assertEqual(self.send(b"x" * MAX_QUERY_LENGTH + b"\r\n"), b"No such user\r\n")
        self.assertEqual(self.send(b"x" * (MAX_QUERY_LENGTH + 1) + b"\r\n"), b"Query too long\r\n")
        self.assertTrue(self.transport.disconnecting)
        transport = self.connect()
        for i in range(10):
            self.protocol.dataReceived(b"x" * 100)
        self.assertEqual(transport.value(), b"Query too long\r\n")
        self.assertTrue(transport.disconnecting)

    def test_halfClose(self) -> None:
        """
        A client that half-closes after its query still gets the answer;
        an unterminated query is answered too.
        """
        service = _HangingService()
        transport = self.connect(service)
        self.protocol.dataReceived(b"moshez\r\n")
        self.protocol.readConnectionLost()
        service.calls[0].callback("still here")
        self.assertEqual(transport.value(), b"still here\r\n")
        self.assertEqual(self.send(b"moshez", halfClose=True), b"happy and well\r\n")

    def test_halfCloseLongQuery(self) -> None:
        """
        An unterminated query over the limit is refused at a half-close
        too, as it would be if it ended.
        """
        self.assertEqual(
            self.send(b"x" * (MAX_QUERY_LENGTH + 1), halfClose=True),
            QUERY_TOO_LONG.encode() + b"\r\n",
        )
        self.assertEqual(
            self.send(b"x" * MAX_QUERY_LENGTH + b"\r", halfClose=True),
            NO_SUCH_USER.encode() + b"\r\n",
        )

    def test_halfCloseEmpty(self) -> None:
        """
        A client that half-closes without a query asked for the listing.
        """
        self.assertEqual(
            self.send(b"", MemoryFingerService(moshez="happy"), halfClose=True),
            b"moshez: happy\r\n",
        )

    def test_oneQueryPerConnection(self) -> None:
        self.assertEqual(self.send(b"moshez\r\nshawn\r\n"), b"happy and well\r\n")

    def test_timeout(self) -> None:
        """
        A client that does not finish its query in time is disconnected,
        however it trickles bytes.
        """
        transport = self.connect()
        for i in range(59):
            self.protocol.dataReceived(b"m")
            self.clock.advance(1)
        self.assertFalse(transport.disconnecting)
        assertAbortedAt(self, self.clock, transport, 60)
        self.assertEqual(transport.value(), b"")

    def test_timeoutConfigurable(self) -> None:
        transport = self.connect(timeout=5)
        assertAbortedAt(self, self.clock, transport, 5)

    def test_noTimeoutAfterAnswer(self) -> None:
        self.send(b"moshez\r\n")
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_notAvailableYet(self) -> None:
        """
        A back-end that has not read its statuses yet gives that sentence,
        for a user and for the listing: never C{No such user}.
        """
        expected = NOT_AVAILABLE_YET.encode() + b"\r\n"
        self.assertEqual(self.send(b"moshez\r\n", NotYetService()), expected)
        self.assertEqual(self.send(b"\r\n", NotYetService()), expected)
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_backendFailure(self) -> None:
        """
        A failing back-end gives C{Internal error in server}, never a
        traceback, and the error is logged once.
        """
        self.assertEqual(self.send(b"x\r\n", BrokenService()), INTERNAL_ERROR.encode() + b"\r\n")
        self.assertTrue(self.transport.disconnecting)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_slowBackend(self) -> None:
        """
        A back-end that never answers gets the client a timeout answer after
        the factory's C{lookupTimeout}; the lookup is cancelled and the
        delay logged once.
        """
        service = _HangingService()
        transport = self.connect(service)
        self.protocol.dataReceived(b"moshez\r\n")
        self.assertEqual(transport.value(), b"")
        with capturedLogs() as events:
            self.clock.advance(self.factory.lookupTimeout)
        self.assertEqual(transport.value(), TIMED_OUT.encode() + b"\r\n")
        self.assertTrue(transport.disconnecting)
        self.assertTrue(service.calls[0].called)
        self.assertEqual(len([e for e in events if "no answer" in e["log_format"]]), 1)
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_answeredAtOnce(self) -> None:
        """
        A back-end that holds its statuses in memory (L{IStatusesAtHand})
        answers a query at once, without C{getUser} and without a timer;
        one that cannot answer yet is asked with C{getUser}.
        """
        service = _AtHandService()
        self.assertEqual(self.send(b"moshez\r\n", service), b"at hand\r\n")
        self.assertTrue(self.transport.disconnecting)
        self.assertEqual(service.calls, [])
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual(self.send(b"shawn\r\n", service), b"")
        [call] = service.calls
        call.callback("later")
        self.assertEqual(self.transport.value(), b"later\r\n")

    def test_lookupTimeoutConfigurable(self) -> None:
        """
        The back-end gets the C{lookupTimeout} the factory was built with.
        """
        transport = self.connect(_HangingService(), lookupTimeout=2)
        self.protocol.dataReceived(b"moshez\r\n")
        with capturedLogs():
            self.clock.advance(1.9)
            self.assertEqual(transport.value(), b"")
            self.clock.advance(0.1)
        self.assertEqual(transport.value(), TIMED_OUT.encode() + b"\r\n")

    def test_listingBackendFailure(self) -> None:
        """
        A back-end that fails one lookup of a listing gives C{Internal error
        in server}, and its own error is logged once.
        """
        service = MemoryFingerService(moshez="happy", shawn="alive")

        def broken(user: str) -> "Deferred[str]":
            return fail(RuntimeError("the database caught fire"))

        service.getUser = broken  # type: ignore[method-assign]
        self.assertEqual(self.send(b"\r\n", service), INTERNAL_ERROR.encode() + b"\r\n")
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_clientGoneBeforeAnswer(self) -> None:
        """
        When the client goes away first, the lookup is cancelled and nothing
        is written or logged.
        """
        service = _HangingService()
        transport = self.connect(service)
        self.protocol.dataReceived(b"moshez\r\n")
        self.protocol.connectionLost(None)
        self.assertTrue(service.calls[0].called)
        self.assertEqual(transport.value(), b"")
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_answerCapped(self) -> None:
        """
        An answer is cut at the factory's C{maxAnswerBytes}, at a line or
        character boundary, and says so.
        """
        transport = self.connect(maxAnswerBytes=40)
        self.protocol.dataReceived(b"\r\n")
        self.assertEqual(transport.value(), b"moshez: happy and \r\n(answer truncated)\r\n")
        transport = self.connect(maxAnswerBytes=57)
        self.protocol.dataReceived(b"\r\n")
        self.assertEqual(transport.value(), b"moshez: happy and well\r\n(answer truncated)\r\n")
        transport = self.connect(maxAnswerBytes=58)
        self.protocol.dataReceived(b"\r\n")
        self.assertNotIn(b"truncated", transport.value())
        self.service.users["big"] = "é" * 100
        transport = self.connect(maxAnswerBytes=31)
        self.protocol.dataReceived(b"big\r\n")
        self.assertEqual(transport.value(), "éééé".encode() + b"\r\n(answer truncated)\r\n")

    def test_slowBackendAnswers(self) -> None:
        service = _HangingService()
        transport = self.connect(service)
        self.protocol.dataReceived(b"moshez\r\n")
        service.calls[0].callback("late but here")
        self.assertEqual(transport.value(), b"late but here\r\n")

    def test_queryLogged(self) -> None:
        """
        Each query is logged with the peer and the query escaped, in the
        access log: a batch an event, written within a second.
        """
        with capturedLogs() as events:
            self.connect()
            self.factory.doStart()
            self.protocol.dataReceived(b"mo\x1b[31mshez\r\n")
            self.assertEqual([e for e in events if "lines" in e], [])
            self.clock.advance(FLUSH_INTERVAL)
        [event] = [e for e in events if "lines" in e]
        [line] = event["lines"]
        stamp, query = line.split(" Finger query from ")
        self.assertEqual(stamp, "1970-01-01T00:00:00Z")
        peer, query = query.split(": ", 1)
        self.assertEqual(query, "mo\\x1b[31mshez")
        self.assertEqual(peer, "192.168.1.1:54321")

    def test_queryLoggedOnStop(self) -> None:
        """
        The queries still waiting to be logged are written when the factory
        stops (the listener stopped: twistd is shutting down).
        """
        with capturedLogs() as events:
            self.connect()
            self.factory.doStart()
            self.protocol.dataReceived(b"moshez\r\n")
            second = self.factory.buildProtocol(None)
            second.makeConnection(StringTransport())
            second.dataReceived(b"shawn\r\n")
            self.factory.doStop()
        [event] = [e for e in events if "lines" in e]
        self.assertEqual([line.split(": ", 1)[1] for line in event["lines"]], ["moshez", "shawn"])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_accessLogFile(self) -> None:
        """
        Given a file, the factory appends its access log there, one line a
        query, and not to the logging system.
        """
        path = self.mktemp()
        with capturedLogs() as events:
            self.connect(accessLog=path)
            self.addCleanup(self.factory.accessLog.writer.file.close)  # type: ignore[attr-defined]
            self.protocol.dataReceived(b"/W zo\xc3\xab\r\n")
            self.factory.doStart()
            self.factory.doStop()
        self.assertEqual([e for e in events if "lines" in e], [])
        with open(path, encoding="utf-8") as f:
            self.assertEqual(
                f.read(),
                "1970-01-01T00:00:00Z Finger query from 192.168.1.1:54321: /W zo\\xc3\\xab\n",
            )


@implementer(IFingerForwarder)
class _RecordingForwarder:
    def __init__(self) -> None:
        self.queries: List[Tuple[str, bool]] = []

    def forward(self, query: str, verbose: bool) -> "Deferred[str]":
        self.queries.append((query, verbose))
        return succeed("from afar\x1b[2J\r\nsecond line")


@implementer(IFingerVerboseService)
class _DetailedService(MemoryFingerService):
    def getUserDetails(self, user: str) -> "Deferred[List[Tuple[str, str]]]":
        def fields(status: str) -> List[Tuple[str, str]]:
            return [("Login", user), ("Shell", "/bin/sh\x07"), ("Plan", status)]

        return self.getUser(user).addCallback(fields)


class FingerBackendHooksTests(SynchronousTestCase):
    """
    The hooks other back-ends use: a forwarder for C{user@host}, and
    L{IFingerVerboseService} for C{/W}.
    """

    def query(self, data: bytes, service: object, forwarder: object = None) -> bytes:
        factory = FingerFactoryFromService(service, clock=ThreadlessClock(), forwarder=forwarder)
        protocol, transport = connected(factory)
        protocol.dataReceived(data)
        self.assertTrue(transport.disconnecting)
        return transport.value()

    def test_forwarded(self) -> None:
        """
        With a forwarder, C{user@host} queries go to it, with the verbose
        switch apart, and its answer is relayed without control characters.
        """
        forwarder = _RecordingForwarder()
        service = MemoryFingerService(moshez="here")
        for query in [b"moshez@example.com", b"/W @example.com", b"/W a@b@c"]:
            self.assertEqual(
                self.query(query + b"\r\n", service, forwarder),
                b"from afar[2J\r\nsecond line\r\n",
            )
        self.assertEqual(
            forwarder.queries,
            [("moshez@example.com", False), ("@example.com", True), ("a@b@c", True)],
        )
        self.assertEqual(self.query(b"moshez\r\n", service, forwarder), b"here\r\n")

    def test_forwardUndecodable(self) -> None:
        forwarder = _RecordingForwarder()
        answer = self.query(b"\xff@example.com\r\n", MemoryFingerService(), forwarder)
        self.assertEqual(answer, FORWARDING_DENIED.encode() + b"\r\n")
        self.assertEqual(forwarder.queries, [])

    def test_verboseDetails(self) -> None:
        """
        A back-end with details shows them all for C{/W}; a multi-line value
        goes on the lines below its label.
        """
        service = _DetailedService(moshez="plan one")
        service.users["moshez"] = "plan one\nplan two"
        self.assertEqual(
            self.query(b"/W moshez\r\n", service),
            b"Login: moshez\r\nShell: /bin/sh\r\nPlan: plan one\r\nplan two\r\n",
        )
        self.assertEqual(
            self.query(b"moshez\r\n", service), b"plan one\r\nplan two\r\n"
        )
        self.assertEqual(self.query(b"/W nobody\r\n", service), b"No such user\r\n")


class _HostileStatusService(MemoryFingerService):
    """
    A back-end whose statuses hold terminal controls and odd line breaks,
    as a status from a file or a remote server might.
    """

    statuses = {
        "moshez": "happy and well",
        "zoë": "à Paris ☕",
        "evil": "\x1b[31mred\r\nline\x85two\x00\x7f\x9b2J\u2028end\r",
    }

    def getUser(self, user: str) -> "Deferred[str]":
        if user in self.statuses:
            return succeed(self.statuses[user])
        return fail(UnknownUser(user))

    def getUsers(self) -> "Deferred[List[str]]":
        return succeed(list(self.statuses))


def _answers(listUsers: bool) -> List[bytes]:
    """
    Every answer L{_HostileStatusService} can give through the finger
    protocol: the defined answers of the parser.
    """
    statuses = _HostileStatusService.statuses

    def wire(lines: List[str]) -> bytes:
        return b"".join(line.encode("utf-8") + b"\r\n" for line in lines)

    answers = [wire([NO_SUCH_USER]), wire([FORWARDING_DENIED]), wire([QUERY_TOO_LONG])]
    for name, status in statuses.items():
        lines = printableLines(status) or [""]
        answers.append(wire(lines))
        answers.append(wire([f"Login: {name}", f"Status: {lines[0]}"] + lines[1:]))
    if listUsers:
        for verbose in (False, True):
            listing: List[str] = []
            for name, status in statuses.items():
                lines = printableLines(status) or [""]
                listing += [f"{name}: {lines[0]}"] + (lines[1:] if verbose else [])
            answers.append(wire(listing))
    else:
        answers.append(wire([LISTING_DENIED]))
    return answers


_queryPieces = st.sampled_from(
    [b"moshez", b"zo\xc3\xab", b"evil", b"/W", b"/w ", b" ", b"\t", b"@", b"a@b", b"\r",
     b"\n", b"\r\n", b"\x00", b"\x1b[2J", b"\xff", b"\xc2\x85", b"/", b"-x", b":", b"#"]
)
_queries = st.one_of(
    st.binary(max_size=64),
    st.lists(st.one_of(_queryPieces, st.binary(max_size=8)), max_size=12).map(b"".join),
    st.binary(min_size=MAX_QUERY_LENGTH - 4, max_size=MAX_QUERY_LENGTH + 8),
    st.tuples(st.integers(MAX_QUERY_LENGTH - 2, MAX_QUERY_LENGTH + 3), _queryPieces).map(
        lambda t: b"x" * t[0] + t[1]
    ),
)


class FingerProtocolPropertyTests(SynchronousTestCase):
    """
    Whatever bytes a client sends, however they are cut up, the finger
    protocol gives one defined answer and closes, or waits for the end of
    the line.
    """

    @propertySettings()
    @given(
        data=_queries,
        cuts=st.lists(st.integers(0, 2000), max_size=6),
        listUsers=st.booleans(),
        halfClose=st.booleans(),
        trailing=st.binary(max_size=16),
    )
    def test_anyBytes(
        self, data: bytes, cuts: List[int], listUsers: bool, halfClose: bool, trailing: bytes
    ) -> None:
        factory = FingerFactoryFromService(
            _HostileStatusService(), clock=ThreadlessClock(), listUsers=listUsers
        )
        protocol, transport = connected(factory)
        with capturedLogs():
            for piece in chunked(data, cuts):
                protocol.dataReceived(piece)
            lineEnded = b"\n" in data or len(data) > MAX_QUERY_LENGTH + 1
            if lineEnded:
                answer = transport.value()
                # Whatever follows the query changes nothing.
                protocol.dataReceived(trailing)
                protocol.dataReceived(b"\n")
                self.assertEqual(transport.value(), answer)
            elif halfClose:
                protocol.readConnectionLost()
                lineEnded = True
        output = transport.value()
        if lineEnded:
            self.assertIn(output, _answers(listUsers))
            self.assertTrue(transport.disconnecting)
        else:
            self.assertEqual(output, b"")
            self.assertFalse(transport.disconnecting)
        self.assertEqual(controlCharacters(output.decode("utf-8"), "\r\n"), [])
        self.assertNotIn(b"\r", output.replace(b"\r\n", b""))
        self.assertNotIn(b"\n", output.replace(b"\r\n", b""))
        self.assertEqual(self.flushLoggedErrors(), [])
        protocol.connectionLost(None)
