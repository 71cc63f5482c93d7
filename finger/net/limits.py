# -*- test-case-name: tests.net.test_limits -*-
"""
Limits every listener enforces, whatever protocol it speaks: how many
connections at once, how long a connection may sit idle, how long it may
live at all, and (for finger) how often one address may ask.

L{LimitingFactory} wraps a listener's factory.  A connection over a limit
gets the listener's short refusal (C{refusal}) and is closed; the wrapped
protocol never sees it.

Once the protocol beneath has asked to close, the peer gets a short grace
(L{CLOSE_GRACE} seconds, L{CLOSE_GRACE_BYTES} bytes) to let it; a TLS
connection waits for the peer's close alert, so a client that goes on
sending instead could otherwise keep it open until its lifetime ends.
"""

import ipaddress
from functools import lru_cache
from typing import Dict, Optional, Tuple

from twisted.internet.interfaces import (
    IAddress,
    IDelayedCall,
    IHalfCloseableProtocol,
    IProtocolFactory,
    IReactorTime,
    ITCPTransport,
)
from twisted.internet.protocol import Protocol, connectionDone
from twisted.logger import Logger
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory
from twisted.python.failure import Failure
from zope.interface import directlyProvides, implementer, providedBy

DEFAULT_MAX_CONNECTIONS = 1024
DEFAULT_IDLE_TIMEOUT = 120.0
DEFAULT_MAX_LIFETIME = 600.0
CLOSE_GRACE = 10.0
CLOSE_GRACE_BYTES = 65536


class RateLimiter:
    """
    A token bucket per client address: each address may make C{rate}
    requests a second on average, and C{burst} in a row.

    Loopback addresses are exempt unless C{limitLoopback} is set, so local
    tools and monitoring are never refused.  Buckets that have filled up
    again are forgotten, so the table only holds addresses that were busy
    lately, and it never holds more than C{maxAddresses}.
    """

    maxAddresses = 100_000

    def __init__(
        self, clock: IReactorTime, rate: float, burst: float, limitLoopback: bool = False
    ) -> None:
        self.clock = clock
        self.rate = rate
        self.burst = burst
        self.limitLoopback = limitLoopback
        self._buckets: Dict[str, Tuple[float, float]] = {}

    def allow(self, host: str) -> bool:
        """
        May C{host} make a request now?  If so, it is counted.
        """
        if not self.limitLoopback and _isLoopback(host):
            return True
        now = self.clock.seconds()
        tokens, then = self._buckets.get(host, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.rate)
        if tokens < 1:
            self._buckets[host] = (tokens, now)
            return False
        if len(self._buckets) >= self.maxAddresses and host not in self._buckets:
            self._forgetIdle(now)
        self._buckets[host] = (tokens - 1, now)
        return True

    def _forgetIdle(self, now: float) -> None:
        full = [
            host
            for host, (tokens, then) in self._buckets.items()
            if tokens + (now - then) * self.rate >= self.burst
        ]
        for host in full:
            del self._buckets[host]
        if len(self._buckets) >= self.maxAddresses:
            # Everyone is busy: forget the oldest half rather than grow.
            oldest = sorted(self._buckets, key=lambda h: self._buckets[h][1])
            for host in oldest[: len(oldest) // 2]:
                del self._buckets[host]


@lru_cache(maxsize=1024)
def _isLoopback(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host == "localhost"
    mapped = getattr(address, "ipv4_mapped", None)
    return bool(address.is_loopback or (mapped is not None and mapped.is_loopback))


class LimitedProtocol(ProtocolWrapper):
    """
    The per-connection side of L{LimitingFactory}.

    One timer per connection enforces both the idle and the lifetime limit:
    reads and writes only note the time, and when the timer fires it either
    closes the connection or sets itself for the next deadline.
    """

    factory: "LimitingFactory"
    transport: ITCPTransport  # type: ignore[assignment]
    _timer: Optional[IDelayedCall] = None
    _lastActive = 0.0
    _deadline: Optional[float] = None
    _host: Optional[IAddress] = None
    _graceCall: Optional[IDelayedCall] = None
    _closing = False
    _expired = False
    _bytesAfterClose = 0

    def makeConnection(self, transport) -> None:  # type: ignore[no-untyped-def]
        # What ProtocolWrapper.makeConnection does, with the interface
        # declaration (everything the transport provides, so users can ask
        # this wrapper for ITCPTransport, ISSLTransport, ...) shared between
        # connections rather than built anew for each.
        _provideLike(self, transport)
        Protocol.makeConnection(self, transport)
        self.factory.registerProtocol(self)
        self.wrappedProtocol.makeConnection(self)  # type: ignore[arg-type]
        factory = self.factory
        idleTimeout, maxLifetime = factory.idleTimeout, factory.maxLifetime
        if idleTimeout is None and maxLifetime is None:
            return
        clock = factory.clock
        self._lastActive = now = clock.seconds()
        if maxLifetime is not None:
            self._deadline = now + maxLifetime
        self._timer = clock.callLater(
            _earliest(idleTimeout, maxLifetime), self._check  # type: ignore[arg-type]
        )

    def dataReceived(self, data: bytes) -> None:
        if self._closing or getattr(self.wrappedProtocol, "disconnecting", False):
            # Bytes after the close began are not activity, and only so
            # many are delivered.
            if not self._afterClose(len(data)):
                return
        else:
            self._lastActive = self.factory.clock.seconds()
        self.wrappedProtocol.dataReceived(data)

    def loseConnection(self) -> None:
        self._closing = True
        super().loseConnection()

    def _afterClose(self, size: int) -> bool:
        """
        Count bytes the peer sent after the connection began to close.

        @return: whether they may still be delivered.
        """
        if self._graceCall is None:
            self._graceCall = self.factory.clock.callLater(
                CLOSE_GRACE, self._expire, "closing grace"
            )
        self._bytesAfterClose += size
        if self._bytesAfterClose > CLOSE_GRACE_BYTES:
            self._expire("closing grace")
            return False
        return True

    def write(self, data: bytes) -> None:
        self._lastActive = self.factory.clock.seconds()
        self.transport.write(data)

    def writeSequence(self, data) -> None:  # type: ignore[no-untyped-def]
        self._lastActive = self.factory.clock.seconds()
        self.transport.writeSequence(data)

    def getHost(self) -> IAddress:
        # The local address of a connection does not change; twisted.web
        # asks for it with every request, and a TCP transport makes a
        # getsockname() system call each time.
        host = self._host
        if host is None:
            host = self._host = self.transport.getHost()
        return host

    def _check(self) -> None:
        """
        The timer fired: close the connection if a limit is reached, or
        wait for the next deadline.
        """
        self._timer = None
        factory = self.factory
        now = factory.clock.seconds()
        if self._deadline is not None and now >= self._deadline:
            self._expire("lifetime")
            return
        idleTimeout = factory.idleTimeout
        if idleTimeout is not None:
            idleEnd = self._lastActive + idleTimeout
            if now >= idleEnd:
                self._expire("idle")
                return
            nextCheck = idleEnd
            if self._deadline is not None and self._deadline < idleEnd:
                nextCheck = self._deadline
        else:
            nextCheck = self._deadline  # type: ignore[assignment]
        self._timer = factory.clock.callLater(nextCheck - now, self._check)

    def _expire(self, why: str) -> None:
        if self._expired:
            return
        self._expired = True
        self.factory.log.info(
            "Closing connection from {peer}: {why} limit reached",
            peer=_hostOf(self.transport.getPeer()),
            why=why,
        )
        self.transport.abortConnection()

    def connectionLost(self, reason: Failure) -> None:  # type: ignore[override]
        for timer in (self._timer, self._graceCall):
            if timer is not None and timer.active():
                timer.cancel()
        self._timer = self._graceCall = None
        super().connectionLost(reason)


@implementer(IHalfCloseableProtocol)
class _HalfCloseableLimitedProtocol(LimitedProtocol):
    """
    A L{LimitedProtocol} for a wrapped protocol that handles half-closes:
    the transport tells it (and so the wrapped protocol) about them, as it
    would have told the wrapped protocol.
    """

    def readConnectionLost(self) -> None:
        self.wrappedProtocol.readConnectionLost()  # type: ignore[attr-defined]

    def writeConnectionLost(self) -> None:
        self.wrappedProtocol.writeConnectionLost()  # type: ignore[attr-defined]


def _earliest(*delays: Optional[float]) -> float:
    return min(d for d in delays if d is not None)


_declarations: Dict[Tuple[type, object], object] = {}


def _provideLike(wrapper: ProtocolWrapper, transport: object) -> None:
    """
    Declare that C{wrapper} provides what C{transport} provides, as
    L{ProtocolWrapper.makeConnection} does, reusing one declaration for
    every wrapper of the same class over transports that provide the same.
    """
    key = (type(wrapper), providedBy(transport))
    declaration = _declarations.get(key)
    if declaration is None:
        directlyProvides(wrapper, key[1])
        if len(_declarations) < 64:
            _declarations[key] = wrapper.__provides__  # type: ignore[attr-defined]
    else:
        wrapper.__provides__ = declaration  # type: ignore[attr-defined]


class _Refused(Protocol):
    """
    A connection over a limit: it gets the refusal and is closed, and the
    wrapped factory never hears of it.
    """

    transport: ITCPTransport  # type: ignore[assignment]
    _abort: Optional[IDelayedCall] = None

    def __init__(self, limits: "LimitingFactory") -> None:
        self.limits = limits

    def connectionMade(self) -> None:
        if self.limits.refusal:
            self.transport.write(self.limits.refusal)
        self.transport.loseConnection()
        # A client that does not read the refusal cannot hold the slot.
        self._abort = self.limits.clock.callLater(10, self.transport.abortConnection)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if self._abort is not None and self._abort.active():
            self._abort.cancel()


class LimitingFactory(WrappingFactory):
    """
    Wrap a listener's factory with connection limits.

    @ivar maxConnections: the most connections open at once; L{None} for no
        cap.
    @ivar idleTimeout: seconds without a byte in either direction before a
        connection is closed; L{None} for none.
    @ivar maxLifetime: seconds after which any connection is closed; L{None}
        for no limit.
    @ivar rateLimiter: a L{RateLimiter} for new connections, or L{None}.
    @ivar refusal: bytes sent to a connection refused for a limit.
    @ivar clock: the L{IReactorTime} for all of these.
    """

    protocol = LimitedProtocol  # type: ignore[assignment]
    log = Logger()
    noisy = False

    def __init__(
        self,
        wrappedFactory: IProtocolFactory,
        clock: IReactorTime,
        refusal: bytes = b"",
        maxConnections: Optional[int] = DEFAULT_MAX_CONNECTIONS,
        idleTimeout: Optional[float] = DEFAULT_IDLE_TIMEOUT,
        maxLifetime: Optional[float] = DEFAULT_MAX_LIFETIME,
        rateLimiter: Optional[RateLimiter] = None,
    ) -> None:
        super().__init__(wrappedFactory)
        self.clock = clock
        self.refusal = refusal
        self.maxConnections = maxConnections
        self.idleTimeout = idleTimeout
        self.maxLifetime = maxLifetime
        self.rateLimiter = rateLimiter
        self._warned = False

    def buildProtocol(self, addr):  # type: ignore[no-untyped-def]
        if self.maxConnections is not None and len(self.protocols) >= self.maxConnections:
            if not self._warned:
                self._warned = True
                self.log.warn(
                    "Refusing connections: {count} open, the limit",
                    count=len(self.protocols),
                )
            return _Refused(self)
        self._warned = False
        host = _hostOf(addr)
        if self.rateLimiter is not None and not self.rateLimiter.allow(host):
            self.log.info("Refusing {peer}: rate limit", peer=host)
            return _Refused(self)
        wrapped = self.wrappedFactory.buildProtocol(addr)
        protocol = self.protocol
        if protocol is LimitedProtocol and IHalfCloseableProtocol.providedBy(wrapped):
            protocol = _HalfCloseableLimitedProtocol
        return protocol(self, wrapped)


def _hostOf(address: object) -> str:
    return str(getattr(address, "host", address))
