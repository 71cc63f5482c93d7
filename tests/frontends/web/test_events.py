"""
Tests for L{finger.frontends.web.events}: the stream of status changes at
C{/api/events}, driven through the real site and HTTP channel over
L{StringTransport}s, on a L{Clock}.
"""

import json
from typing import Any, Dict, List, Optional, Tuple

from twisted.internet.address import IPv4Address
from twisted.internet.protocol import connectionDone
from twisted.internet.ssl import CertificateOptions
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import capturedLogs
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.python.usage import UsageError
from twisted.trial.unittest import SynchronousTestCase

from finger.app import compose
from finger.backends.memory import MemoryFingerService
from finger.changes import Backlog, ChangeBatch, StatusChange
from finger.frontends.web.events import (
    EVENT_STREAM,
    FANOUT_SLICE,
    HEARTBEAT_LINE,
    EventStreams,
    lifetimeEnd,
)
from finger.frontends.web.pages import UserStatusTree
from finger.frontends.web.site import LimitedRequest, WebSite
from finger.messages import TOO_MANY_STREAMS
from finger.net.limits import LimitingFactory
from tests.frontends.web.helpers import SlowService, TLSStringTransport
from tests.running import parseFinger
from tests.support import connected

REMOTE = IPv4Address("TCP", "203.0.113.5", 40000)
OTHER = IPv4Address("TCP", "198.51.100.7", 40000)
LOOPBACK = IPv4Address("TCP", "127.0.0.1", 40000)


def parseEvents(body: bytes) -> List[Dict[str, str]]:
    """
    The events (and blocks of fields without an event) in a stream's body,
    each a dict of its fields; comment lines are C{":"} entries.
    """
    blocks = []
    for block in body.decode("utf-8").split("\n\n"):
        if not block:
            continue
        fields: Dict[str, str] = {}
        for line in block.split("\n"):
            name, _, value = line.partition(":")
            fields[name] = value.strip()
        blocks.append(fields)
    return blocks


class EventStreamTests(SynchronousTestCase):
    """
    The stream over plain HTTP, through L{WebSite}.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.service = MemoryFingerService(moshez="Happy")
        self.service.changeTime = self.clock.seconds  # type: ignore[method-assign]
        self.streams = self.makeStreams()

    def makeStreams(self, **settings: Any) -> EventStreams:
        streams = EventStreams(self.service, self.clock, **settings)
        root = UserStatusTree(self.service, clock=self.clock, events=streams)
        self.site = WebSite(root, clock=self.clock, requestTimeout=10, idleTimeout=None)
        return streams

    def open(
        self, headers: bytes = b"", peer: IPv4Address = REMOTE, factory: Any = None
    ) -> Tuple[Any, StringTransport]:
        """
        Open a stream from C{peer}: the channel and its transport.
        """
        protocol, transport = connected(factory or self.site, peer)
        protocol.dataReceived(
            b"GET /api/events HTTP/1.1\r\nHost: example.com\r\n" + headers + b"\r\n"
        )
        return protocol, transport

    def body(self, transport: StringTransport) -> bytes:
        """
        What the stream sent so far, without the head and the chunking.
        """
        raw = transport.value()
        head, _, rest = raw.partition(b"\r\n\r\n")
        body = b""
        while rest:
            size, _, rest = rest.partition(b"\r\n")
            length = int(size, 16)
            if not length:
                break
            body += rest[:length]
            rest = rest[length + 2 :]
        return body

    def events(self, transport: StringTransport) -> List[Dict[str, str]]:
        return [e for e in parseEvents(self.body(transport)) if "event" in e]

    def test_opening(self) -> None:
        """
        A stream answers 200 with the event-stream type, a retry hint and
        the latest id, and stays open.
        """
        _, transport = self.open()
        head = transport.value().partition(b"\r\n\r\n")[0]
        self.assertIn(b"200 OK", head.split(b"\r\n")[0])
        self.assertIn(b"Content-Type: " + EVENT_STREAM, head)
        self.assertIn(b"Cache-Control: no-store", head)
        first = parseEvents(self.body(transport))[0]
        self.assertEqual(first["retry"], "3000")
        self.assertEqual(first["id"], self.streams.backlog.latest)
        self.assertFalse(transport.disconnecting)
        self.assertEqual(len(self.streams.streams), 1)

    def test_change(self) -> None:
        """
        A set reaches every open stream as one C{status} event with an id
        and the user and status as JSON; setting the status a user already
        has sends nothing.
        """
        transports = [self.open()[1] for _ in range(3)]
        self.successResultOf(self.service.setUser("moshez", "Happy"))
        self.successResultOf(self.service.setUser("moshez", "Sleeping"))
        for transport in transports:
            [event] = self.events(transport)
            self.assertEqual(event["event"], "status")
            self.assertEqual(json.loads(event["data"]), {"user": "moshez", "status": "Sleeping"})
            self.assertEqual(event["id"], self.streams.backlog.latest)

    def test_printable(self) -> None:
        """
        A status passes the pages' printable-text rules: no control
        character, no bidirectional override, reaches the stream; a user
        who is gone has a C{null} status.
        """
        _, transport = self.open()
        self.streams.changed(
            ChangeBatch(
                (
                    _change("zoë", "red\x1b[31m\u202eevil\x07"),
                    _change("moshez", None),
                )
            )
        )
        first, second = self.events(transport)
        self.assertEqual(json.loads(first["data"]), {"user": "zoë", "status": "red[31mevil"})
        self.assertEqual(json.loads(second["data"]), {"user": "moshez", "status": None})

    def test_resume(self) -> None:
        """
        A client that comes back with C{Last-Event-ID} gets the changes
        after it from the backlog, then the stream.
        """
        _, transport = self.open()
        self.successResultOf(self.service.setUser("moshez", "one"))
        lastId = self.events(transport)[0]["id"]
        transport.loseConnection()
        self.successResultOf(self.service.setUser("moshez", "two"))
        self.successResultOf(self.service.setUser("alice", "three"))
        _, again = self.open(b"Last-Event-ID: " + lastId.encode("ascii") + b"\r\n")
        self.successResultOf(self.service.setUser("moshez", "four"))
        statuses = [json.loads(e["data"])["status"] for e in self.events(again)]
        self.assertEqual(statuses, ["two", "three", "four"])

    def test_resumeLatest(self) -> None:
        """
        A client that saw every change gets nothing from the backlog.
        """
        self.successResultOf(self.service.setUser("moshez", "one"))
        latest = self.streams.backlog.latest.encode("ascii")
        _, transport = self.open(b"Last-Event-ID: " + latest + b"\r\n")
        self.assertEqual(self.events(transport), [])

    def test_reset(self) -> None:
        """
        An id older than the backlog, from another generation, or never
        given, is answered with a C{reset} event carrying the latest id.
        """
        self.streams = self.makeStreams(backlog=Backlog(2))
        _, transport = self.open()
        first = parseEvents(self.body(transport))[0]["id"]
        for status in ["one", "two", "three"]:
            self.successResultOf(self.service.setUser("moshez", status))
        generation = self.streams.backlog.generation
        for lastId in [first, "other-1", f"{generation}-99", "garbage", f"{generation}-²"]:
            _, again = self.open(b"Last-Event-ID: " + lastId.encode("utf-8") + b"\r\n")
            [event] = self.events(again)
            self.assertEqual(event["event"], "reset", lastId)
            self.assertEqual(event["id"], self.streams.backlog.latest)

    def test_tooManyAtOnce(self) -> None:
        """
        A batch larger than the backlog (or incomplete) becomes a reset for
        every open stream.
        """
        self.streams = self.makeStreams(backlog=Backlog(2))
        _, transport = self.open()
        self.streams.changed(ChangeBatch(tuple(_change(f"u{i}", "x") for i in range(3))))
        self.streams.changed(ChangeBatch((), complete=False))
        self.assertEqual([e["event"] for e in self.events(transport)], ["reset", "reset"])

    def test_heartbeat(self) -> None:
        """
        Every heartbeat a comment line goes to every stream; once no
        stream is open, no timer is left.
        """
        self.streams = self.makeStreams(heartbeat=15)
        protocol, transport = self.open()
        transport.clear()
        self.clock.advance(15)
        self.assertEqual(transport.value(), b"%x\r\n%s\r\n" % (len(HEARTBEAT_LINE), HEARTBEAT_LINE))
        protocol.connectionLost(connectionDone)
        self.assertEqual(self.streams.streams, set())
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_fanOutInTurns(self) -> None:
        """
        An event goes to L{FANOUT_SLICE} streams at once and to the rest in
        the next turns of the reactor; what comes meanwhile waits for it and
        follows it, in order, and a stream opened meanwhile begins after
        both.
        """
        transports = [self.open(peer=LOOPBACK)[1] for _ in range(FANOUT_SLICE * 2 + 5)]
        self.successResultOf(self.service.setUser("moshez", "one"))
        self.successResultOf(self.service.setUser("moshez", "two"))
        heard = sorted((len(self.events(t)) for t in transports), reverse=True)
        self.assertEqual(heard, [1] * FANOUT_SLICE + [0] * (FANOUT_SLICE + 5))
        _, late = self.open(peer=LOOPBACK)
        # Three turns for the first event, two more for the second.
        for _ in range(4):
            self.clock.advance(0)
        for transport in transports:
            statuses = [json.loads(e["data"])["status"] for e in self.events(transport)]
            self.assertEqual(statuses, ["one", "two"])
        # The late stream began at the latest id, after both.
        self.assertEqual(self.events(late), [])
        self.assertIn(self.streams.backlog.latest.encode("ascii"), late.value())
        # Only the heartbeat is left.
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)

    def test_requestDeadlineSpared(self) -> None:
        """
        The site's request deadline, which ends when the request is in,
        does not end a stream: it is open long after.
        """
        _, transport = self.open()
        self.clock.pump([5] * 20)
        self.assertFalse(transport.disconnecting)
        self.successResultOf(self.service.setUser("moshez", "later"))
        self.assertEqual(len(self.events(transport)), 1)

    def test_totalCap(self) -> None:
        """
        Over the total cap, a stream (even from loopback) is answered 503
        with C{Retry-After} and the sentence; one closing makes room.
        """
        self.streams = self.makeStreams(maxStreams=2)
        first, _ = self.open(peer=LOOPBACK)
        self.open(peer=OTHER)
        _, refused = self.open(peer=LOOPBACK)
        head, _, body = refused.value().partition(b"\r\n\r\n")
        self.assertIn(b" 503 ", head.split(b"\r\n")[0])
        self.assertIn(b"Retry-After: 30", head)
        self.assertIn(TOO_MANY_STREAMS.encode("utf-8"), body)
        first.connectionLost(connectionDone)
        _, accepted = self.open(peer=LOOPBACK)
        self.assertIn(b" 200 ", accepted.value().split(b"\r\n")[0])

    def test_perClientCap(self) -> None:
        """
        Over the per-client cap, a client's stream is refused; other
        clients, and loopback, are not held to its count.
        """
        self.streams = self.makeStreams(maxPerClient=2)
        self.open(peer=REMOTE)
        self.open(peer=IPv4Address("TCP", REMOTE.host, 40001))
        _, refused = self.open(peer=REMOTE)
        self.assertIn(b" 503 ", refused.value().split(b"\r\n")[0])
        for peer in [OTHER, LOOPBACK, LOOPBACK, LOOPBACK]:
            _, accepted = self.open(peer=peer)
            self.assertIn(b" 200 ", accepted.value().split(b"\r\n")[0])

    def test_perClientLoopbackLimited(self) -> None:
        """
        With C{limitLoopback}, loopback is held to the per-client cap too.
        """
        self.streams = self.makeStreams(maxPerClient=1, limitLoopback=True)
        self.open(peer=LOOPBACK)
        _, refused = self.open(peer=LOOPBACK)
        self.assertIn(b" 503 ", refused.value().split(b"\r\n")[0])

    def test_slowReaderHeld(self) -> None:
        """
        While the transport asks to pause, events are held, and sent once
        it asks to resume.
        """
        _, transport = self.open()
        transport.producer.pauseProducing()
        before = transport.value()
        self.successResultOf(self.service.setUser("moshez", "held"))
        self.assertEqual(transport.value(), before)
        transport.producer.resumeProducing()
        [event] = self.events(transport)
        self.assertEqual(json.loads(event["data"])["status"], "held")

    def test_slowReaderDropped(self) -> None:
        """
        A reader that does not take what is sent is dropped once more than
        C{maxUnsent} bytes would be held: the connection is aborted, and
        the stream counts no more.
        """
        self.streams = self.makeStreams(maxUnsent=300)
        _, transport = self.open()
        transport.producer.pauseProducing()
        with capturedLogs() as logged:
            for i in range(10):
                self.successResultOf(self.service.setUser("moshez", f"status {i}"))
        self.assertTrue(transport.disconnected)
        self.assertEqual(self.streams.streams, set())
        self.assertIn("unsent", " ".join(str(e.get("log_format")) for e in logged))

    def test_lifetimeEndsCleanly(self) -> None:
        """
        Under the connection limits, a stream ends itself before the
        connection's lifetime is up: the response ends after a whole event
        and the connection closes, and a client taking it up with the last
        id it read misses nothing.
        """
        limited = LimitingFactory(self.site, self.clock, maxLifetime=60, idleTimeout=None)
        protocol, transport = self.open(factory=limited)
        self.assertEqual(lifetimeEnd(protocol.requests[0]), 60)
        self.clock.advance(30)
        self.successResultOf(self.service.setUser("moshez", "before the end"))
        self.clock.advance(28)
        self.assertTrue(transport.value().endswith(b"0\r\n\r\n"))
        self.assertTrue(transport.disconnecting)
        self.assertEqual(self.streams.streams, set())
        lastId = self.events(transport)[-1]["id"]
        self.successResultOf(self.service.setUser("moshez", "after"))
        _, again = self.open(b"Last-Event-ID: " + lastId.encode("ascii") + b"\r\n")
        [event] = self.events(again)
        self.assertEqual(json.loads(event["data"])["status"], "after")

    def test_lifetimeNearlyOver(self) -> None:
        """
        A stream that opens on a connection whose lifetime is nearly over
        ends at once, so the client reconnects on a new one.
        """
        limited = LimitingFactory(self.site, self.clock, maxLifetime=60, idleTimeout=None)
        protocol, transport = connected(limited, REMOTE)
        # A keep-alive connection, used for pages first.
        for _ in range(7):
            protocol.dataReceived(b"GET /moshez HTTP/1.1\r\nHost: x\r\n\r\n")
            self.clock.advance(8.5)
        self.assertFalse(transport.disconnecting)
        protocol.dataReceived(b"GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n")
        self.clock.advance(0)
        self.assertTrue(transport.value().endswith(b"0\r\n\r\n"))
        self.assertTrue(transport.disconnecting)

    def test_lifetimeOverTLS(self) -> None:
        """
        Over HTTPS the limits wrap the TLS layer; a stream finds their
        lifetime beneath it.
        """
        tls = TLSMemoryBIOFactory(CertificateOptions(), False, self.site, clock=self.clock)
        limited = LimitingFactory(tls, self.clock, maxLifetime=60, idleTimeout=None)
        wrapper = limited.buildProtocol(REMOTE)
        wrapper.makeConnection(TLSStringTransport(peerAddress=REMOTE))
        channel = wrapper.wrappedProtocol.wrappedProtocol
        request = LimitedRequest(channel)
        self.assertEqual(lifetimeEnd(request), 60)
        self.assertIsNone(lifetimeEnd(LimitedRequest(connected(self.site, REMOTE)[0])))

    def test_clientGone(self) -> None:
        """
        A client that goes away is counted no more, and its stream is sent
        nothing more.
        """
        self.streams = self.makeStreams(maxPerClient=1)
        protocol, transport = self.open()
        protocol.connectionLost(connectionDone)
        self.assertEqual(self.streams.streams, set())
        transport.clear()
        self.successResultOf(self.service.setUser("moshez", "gone"))
        self.assertEqual(transport.value(), b"")
        _, again = self.open()
        self.assertIn(b" 200 ", again.value().split(b"\r\n")[0])

    def test_head(self) -> None:
        """
        C{HEAD} says what a stream would be, and opens none.
        """
        protocol, transport = connected(self.site, REMOTE)
        protocol.dataReceived(b"HEAD /api/events HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertIn(b"Content-Type: " + EVENT_STREAM, transport.value())
        self.assertEqual(self.streams.streams, set())

    def test_listenerSurvivesBadOneBefore(self) -> None:
        """
        Another listener of the back-end that raises is logged; the set
        succeeds and the stream still hears of it.
        """

        def broken(batch: ChangeBatch) -> None:
            raise RuntimeError("broken listener")

        self.service.subscribe(broken)
        _, transport = self.open()
        self.successResultOf(self.service.setUser("moshez", "fine"))
        self.assertEqual(len(self.events(transport)), 1)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)


def _change(user: str, status: Optional[str]) -> StatusChange:
    return StatusChange(user, status, 0.0)




class ComposeTests(SynchronousTestCase):
    """
    How C{makeService} builds the stream (L{compose.makeEvents}) from the
    options.
    """

    def test_built(self) -> None:
        """
        The stream's caps and heartbeat come from the options; the
        heartbeat comes at least twice within C{--idle-timeout}.
        """
        options = parseFinger(
            self,
            "--events-max",
            "7",
            "--events-per-client",
            "2",
            "--events-heartbeat",
            "30",
            "--idle-timeout",
            "40",
            "--ipv6-prefix",
            "56",
            "--rate-limit-loopback",
        )
        backend = MemoryFingerService()
        streams = compose.makeEvents(options.config, backend, Clock())
        assert streams is not None
        self.assertEqual((streams.maxStreams, streams.maxPerClient), (7, 2))
        self.assertEqual(streams.heartbeat, 20)
        self.assertEqual(streams.clientKey.ipv6Prefix, 56)
        self.assertTrue(streams.limitLoopback)

    def test_defaults(self) -> None:
        streams = compose.makeEvents(parseFinger(self).config, MemoryFingerService(), Clock())
        assert streams is not None
        self.assertEqual((streams.maxStreams, streams.maxPerClient), (1024, 8))
        self.assertEqual(streams.heartbeat, 15)

    def test_noListing(self) -> None:
        """
        With C{--no-listing}, no change is told: there is no stream.
        """
        config = parseFinger(self, "--no-listing").config
        self.assertIsNone(compose.makeEvents(config, MemoryFingerService(), Clock()))

    def test_unchanging(self) -> None:
        """
        A back-end that cannot tell of changes has no stream.
        """
        config = parseFinger(self).config
        self.assertIsNone(compose.makeEvents(config, SlowService(), Clock()))

    def test_notFound(self) -> None:
        """
        Without a stream, C{/api/events} is the JSON API's 404.
        """
        root = UserStatusTree(MemoryFingerService(), clock=Clock())
        site = WebSite(root, clock=Clock())
        protocol, transport = connected(site, REMOTE)
        protocol.dataReceived(b"GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertIn(b" 404 ", transport.value().split(b"\r\n")[0])

    def test_badOptions(self) -> None:
        for option in ["--events-max", "--events-per-client", "--events-heartbeat"]:
            self.assertRaises(UsageError, parseFinger, self, option, "0")
