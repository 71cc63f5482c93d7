# -*- test-case-name: tests.frontends.web.test_events -*-
"""
The stream of status changes as Server-Sent Events, at C{/api/events}
(L{EventStreams}): what the pages listen to, and what C{curl -N} shows.

The stream
==========

A C{GET} answers C{200} with C{Content-Type: text/event-stream} and never
ends by itself.  It begins with a C{retry:} hint (how many milliseconds a
browser's C{EventSource} waits before it reconnects) and the id of the
latest change, then sends one event per change::

    id: 3f2a91c0-17
    event: status
    data: {"user": "moshez", "status": "Happy and well"}

The status passes the same printable-text rules as the pages
(L{finger.frontends.web.request.displayStatus}); it is C{null} for a user
who is gone.  Every L{heartbeat} seconds a comment line (C{:}) keeps
proxies and the connection limits' idle timer from closing a quiet stream.

Taking up a stream
==================

A client that reconnects with C{Last-Event-ID} (as C{EventSource} does by
itself) gets the changes after that id from the backlog (the last
L{finger.changes.BACKLOG} changes) and then the stream.  If they are not
all there (an id older than the backlog, or one given by another process:
another C{--workers} worker, another node, this one before a restart), it
gets C{event: reset} instead, which tells it to read everything again (a
page reloads); so a client never misses a change without being told.  Ids
are C{GENERATION-N}, the process's own counter under a random
generation (L{finger.changes.Backlog}): with C{--workers}, a reconnection
that the kernel hands to another worker is told to reset.

Bounds
======

    - At most C{maxStreams} streams open at once, and C{maxPerClient} from
      one client (L{finger.net.clients.ClientKey}; loopback exempt unless
      C{limitLoopback}, as the connection limits do); one more is answered
      C{503} with C{Retry-After}.
    - A stream whose reader is too slow: once the transport's buffer is
      full it asks its producer to pause (L{IPushProducer}); what comes
      then is held, and once more than C{maxUnsent} bytes are held the
      connection is aborted rather than buffered further.  The client
      reconnects and takes the stream up with C{Last-Event-ID}.
    - The web request deadline ends when the request is in, so it never
      ends a stream; the heartbeat keeps the idle timer away.  The
      connection's lifetime (C{--max-lifetime}) does end it: a stream ends
      itself C{lifetimeMargin} seconds before that, between two events,
      and closes its connection, so the client reconnects on a new one and
      misses nothing.
"""

import json
import math
from collections import deque
from typing import Any, Deque, Dict, List, Optional, Set, Tuple

from twisted.internet.interfaces import IDelayedCall, IPushProducer, IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request
from zope.interface import implementer

from finger.changes import Backlog, ChangeBatch, StatusChange
from finger.frontends.web.request import TEXT, displayStatus
from finger.interfaces import IStatusChanges
from finger.messages import TOO_MANY_STREAMS
from finger.net.clients import ClientKey
from finger.net.limits import LimitedConnection

EVENTS_PATH = b"events"
"""
Where the stream is served, under C{/api}.
"""

EVENT_STREAM = b"text/event-stream; charset=utf-8"

HEARTBEAT = 15.0
"""
Seconds between the comment lines that keep a quiet stream open.
"""

RETRY = 3000
"""
Milliseconds a browser waits before it reconnects a stream that ended.
"""

MAX_STREAMS = 1024
"""
The most streams open at once, by default.
"""

MAX_PER_CLIENT = 8
"""
The most streams open at once from one client, by default: a few tabs.
"""

MAX_UNSENT = 16384
"""
The most bytes a stream holds for a reader too slow to take them (beyond
what the transport holds before it asks to pause).
"""

LIFETIME_MARGIN = 2.0
"""
Seconds before its connection's lifetime ends that a stream ends itself.
"""

RETRY_AFTER = 30
"""
Seconds a client refused for the caps is told to wait.
"""

HEARTBEAT_LINE = b":\n\n"

FANOUT_SLICE = 64
"""
The most streams an event is written to in one turn of the reactor; the
rest wait for the next turn, so that sending a change to a thousand
streams does not hold up every other client for its whole time.
"""


def statusEvent(eventId: str, change: StatusChange) -> bytes:
    """
    One change as an event: its id, C{event: status}, and the user and
    their status (printable, or C{null} for a user who is gone) as JSON.
    """
    status = None if change.status is None else displayStatus(change.status)
    data = json.dumps({"user": change.user, "status": status}, ensure_ascii=False)
    return f"id: {eventId}\nevent: status\ndata: {data}\n\n".encode("utf-8")


def resetEvent(eventId: str) -> bytes:
    """
    The event that tells a client it missed changes it cannot be given:
    read everything again.  It carries the latest id, so the stream can be
    taken up from there.
    """
    return f"id: {eventId}\nevent: reset\ndata: {{}}\n\n".encode("utf-8")


def lifetimeEnd(request: Request) -> Optional[float]:
    """
    When the connection limits will close C{request}'s connection for its
    lifetime, if they will: the limits are the channel's own over HTTP,
    and those of the connection beneath the TLS layer over HTTPS.
    """
    layer: Any = request.channel
    for _ in range(4):
        if isinstance(layer, LimitedConnection) and layer.limits is not None:
            return layer.lifetimeEnd()
        layer = getattr(layer, "transport", None)
        if layer is None:
            break
    return None


@implementer(IPushProducer)
class EventStream:
    """
    One open stream: writes events to its request, and holds them while
    the transport asks it to pause, up to its C{maxUnsent} bytes.

    @ivar request: the request it answers.
    @ivar client: the client it counts against, or L{None} if exempt.
    """

    def __init__(self, streams: "EventStreams", request: Request, client: Optional[str]) -> None:
        self.streams = streams
        self.request = request
        self.client = client
        self.paused = False
        self.closed = False
        self._held: List[bytes] = []
        self._heldBytes = 0
        self.ending: Optional[IDelayedCall] = None

    def write(self, data: bytes) -> None:
        """
        Send C{data} (whole events), or hold it while paused; a stream
        that would hold more than the limit is dropped.
        """
        if self.closed:
            return
        if self.paused:
            self._held.append(data)
            self._heldBytes += len(data)
            if self._heldBytes > self.streams.maxUnsent:
                self.drop()
            return
        self.request.write(data)

    def pauseProducing(self) -> None:
        self.paused = True

    def resumeProducing(self) -> None:
        self.paused = False
        if self._held and not self.closed:
            held, self._held, self._heldBytes = self._held, [], 0
            self.request.write(b"".join(held))

    def stopProducing(self) -> None:
        self.streams.closed(self)

    def end(self) -> None:
        """
        End the stream cleanly, after the last whole event: the client
        reconnects (on a new connection) and takes it up.
        """
        if self.closed:
            return
        held, self._held = self._held, []
        if held:
            self.request.write(b"".join(held))
        self.streams.closed(self)
        self.request.unregisterProducer()
        self.request.finish()

    def drop(self) -> None:
        """
        Abort a stream whose reader does not keep up.
        """
        if self.closed:
            return
        self.streams.log.info(
            "Dropped an event stream to {peer}: over {limit} bytes unsent",
            peer=getattr(self.request.getClientAddress(), "host", "?"),
            limit=self.streams.maxUnsent,
        )
        self._held, self._heldBytes = [], 0
        self.streams.closed(self)
        transport: Any = self.request.transport
        if transport is not None:
            transport.abortConnection()


class EventStreams(Resource):
    """
    C{/api/events}: the changes of one back-end as Server-Sent Events (see
    the module's docstring).

    @ivar backlog: the last changes, for clients taking a stream up.
    @ivar streams: the open streams.
    """

    isLeaf = True
    log = Logger()

    def __init__(
        self,
        changes: IStatusChanges,
        clock: IReactorTime,
        *,
        backlog: Optional[Backlog] = None,
        heartbeat: float = HEARTBEAT,
        retry: int = RETRY,
        maxStreams: int = MAX_STREAMS,
        maxPerClient: int = MAX_PER_CLIENT,
        clientKey: ClientKey = ClientKey(),
        limitLoopback: bool = False,
        maxUnsent: int = MAX_UNSENT,
        lifetimeMargin: float = LIFETIME_MARGIN,
    ) -> None:
        """
        @param changes: the back-end whose changes are streamed; this
            listens to it from now on.
        @param clock: what the heartbeat and the streams' ends are timed
            with.
        @param backlog: the changes kept for streams taken up; a new one of
            L{finger.changes.BACKLOG} changes if L{None}.
        @param heartbeat: seconds between comment lines.
        @param retry: the milliseconds of the C{retry:} hint.
        @param maxStreams: the most streams open at once.
        @param maxPerClient: the most streams open at once from one client.
        @param clientKey: who counts as one client.
        @param limitLoopback: whether loopback clients are held to
            C{maxPerClient} too.
        @param maxUnsent: the most bytes held for a slow reader.
        @param lifetimeMargin: seconds before its connection's lifetime
            ends that a stream ends itself.
        """
        super().__init__()
        self.clock = clock
        self.backlog = backlog if backlog is not None else Backlog()
        self.heartbeat = heartbeat
        self.retry = retry
        self.maxStreams = maxStreams
        self.maxPerClient = maxPerClient
        self.clientKey = clientKey
        self.limitLoopback = limitLoopback
        self.maxUnsent = maxUnsent
        self.lifetimeMargin = lifetimeMargin
        self.streams: Set[EventStream] = set()
        self._perClient: Dict[str, int] = {}
        # What waits to be written, each to the streams open when it came,
        # in order; how far the first has gone; the next turn's call.
        self._sending: Deque[Tuple[bytes, List[EventStream]]] = deque()
        self._sent = 0
        self._nextTurn: Optional[IDelayedCall] = None
        self._beat = LoopingCall(self._heartbeat)
        self._beat.clock = clock
        self.unsubscribe = changes.subscribe(self.changed)

    # -- the changes --------------------------------------------------------

    def changed(self, batch: ChangeBatch) -> None:
        """
        Keep the changes of C{batch} in the backlog and send them to every
        open stream: each event is made once, for all of them.
        """
        added = self.backlog.add(batch)
        if added is None:
            data = resetEvent(self.backlog.latest)
        else:
            data = b"".join(statusEvent(eventId, change) for eventId, change in added)
        self._send(data)

    def _heartbeat(self) -> None:
        self._send(HEARTBEAT_LINE)

    def _send(self, data: bytes) -> None:
        """
        Write C{data} to every open stream: to L{FANOUT_SLICE} of them now,
        and to as many more in each following turn of the reactor, after
        whatever came before it.
        """
        if not self.streams or not data:
            return
        self._sending.append((data, list(self.streams)))
        if self._nextTurn is None:
            self._sendSome()

    def _sendSome(self) -> None:
        self._nextTurn = None
        budget = FANOUT_SLICE
        sending = self._sending
        while sending and budget > 0:
            data, streams = sending[0]
            end = min(len(streams), self._sent + budget)
            for stream in streams[self._sent : end]:
                stream.write(data)
            budget -= end - self._sent
            if end == len(streams):
                sending.popleft()
                self._sent = 0
            else:
                self._sent = end
        if sending:
            self._nextTurn = self.clock.callLater(0, self._sendSome)

    # -- requests -----------------------------------------------------------

    def _client(self, request: Request) -> Optional[str]:
        """
        The client C{request} counts against for L{maxPerClient}, or
        L{None} if it is exempt.
        """
        return self.clientKey.limited(request.getClientAddress(), self.limitLoopback)

    def _refuse(self, request: Request, why: str) -> bytes:
        self.log.info(
            "Refused an event stream to {peer}: {why}",
            peer=getattr(request.getClientAddress(), "host", "?"),
            why=why,
        )
        request.setResponseCode(503)
        request.setHeader(b"content-type", TEXT)
        request.setHeader(b"retry-after", b"%d" % (RETRY_AFTER,))
        return (TOO_MANY_STREAMS + "\r\n").encode("utf-8")

    def _headers(self, request: Request) -> None:
        request.setHeader(b"content-type", EVENT_STREAM)
        request.setHeader(b"cache-control", b"no-store")
        # Proxies that buffer answers (nginx) are asked not to.
        request.setHeader(b"x-accel-buffering", b"no")

    def render_HEAD(self, request: Request) -> bytes:
        self._headers(request)
        return b""

    def render_GET(self, request: Request) -> object:
        client = self._client(request)
        if len(self.streams) >= self.maxStreams:
            return self._refuse(request, f"{len(self.streams)} streams open, the limit")
        if client is not None and self._perClient.get(client, 0) >= self.maxPerClient:
            return self._refuse(request, f"{self.maxPerClient} streams open from {client}")
        self._headers(request)
        # A stream that ends takes its connection with it: the client
        # reconnects on a new one, whose lifetime is whole.
        request.setHeader(b"connection", b"close")
        request.channel.persistent = False  # type: ignore[attr-defined]
        stream = EventStream(self, request, client)
        self.streams.add(stream)
        if client is not None:
            self._perClient[client] = self._perClient.get(client, 0) + 1
        request.registerProducer(stream, True)
        request.notifyFinish().addBoth(lambda _: self.closed(stream))
        stream.write(self._opening(request))
        if not stream.closed:
            self._endBeforeLifetime(stream, request)
        if self.streams and not self._beat.running:
            self._beat.start(self.heartbeat, now=False)
        return NOT_DONE_YET

    def _opening(self, request: Request) -> bytes:
        """
        What a stream begins with: the retry hint, then either the changes
        after the client's C{Last-Event-ID} and the latest id, or a reset.
        """
        opening = [b"retry: %d\n" % (self.retry,)]
        lastId = request.getHeader(b"last-event-id")
        latest = self.backlog.latest
        if lastId is None:
            opening.append(b"id: %s\n\n" % (latest.encode("ascii"),))
        else:
            missed = self.backlog.since(lastId.decode("latin-1").strip())
            if missed is None:
                opening.append(b"\n" + resetEvent(latest))
            else:
                opening.append(b"id: %s\n\n" % (latest.encode("ascii"),))
                opening.extend(statusEvent(eventId, change) for eventId, change in missed)
        return b"".join(opening)

    def _endBeforeLifetime(self, stream: EventStream, request: Request) -> None:
        end = lifetimeEnd(request)
        if end is None:
            return
        delay = max(0.0, end - self.lifetimeMargin - self.clock.seconds())
        if not math.isfinite(delay):
            return
        stream.ending = self.clock.callLater(delay, stream.end)

    def closed(self, stream: EventStream) -> None:
        """
        C{stream} is over: count it no more.
        """
        if stream.closed:
            return
        stream.closed = True
        if stream.ending is not None and stream.ending.active():
            stream.ending.cancel()
        stream.ending = None
        self.streams.discard(stream)
        client = stream.client
        if client is not None:
            left = self._perClient[client] - 1
            if left:
                self._perClient[client] = left
            else:
                del self._perClient[client]
        if not self.streams and self._beat.running:
            self._beat.stop()
