# -*- test-case-name: tests.net.test_limits -*-
"""
Limits every listener enforces, whatever protocol it speaks: how many
connections at once, in all and from one address, how long a connection may
sit idle, how long it may live at all, and (for finger) how often one
client may ask.  A client is what L{finger.net.clients.ClientKey} says:
an IPv4 address or an IPv6 network (a /64 by default), so a host cannot
escape the per-client limits by taking another address of its own network.

L{LimitingFactory} wraps a listener's factory.  A connection over a limit
gets the listener's short refusal (C{refusal}) and is closed; the wrapped
protocol never sees it.

Who owns which timer, for every listener (finger, setter, web, HTTPS, PB):

    - this layer owns the I{idle} timer (C{idleTimeout}, C{--idle-timeout}:
      no byte either way) and the I{lifetime} timer (C{maxLifetime},
      C{--max-lifetime}), the same for every protocol;
    - a front-end owns only its I{request deadline}: the time a client has
      to send a whole request (C{--timeout} for finger and the setter), and
      the back-end timeout (L{finger.lookup}).  It keeps no idle timer of its
      own, so twisted.web's L{Site} is built with C{timeout=None}.

Once the protocol beneath has asked to close, the peer gets a short grace
(L{CLOSE_GRACE} seconds, L{CLOSE_GRACE_BYTES} bytes) to let it; a TLS
connection waits for the peer's close alert, so a client that goes on
sending instead could otherwise keep it open until its lifetime ends.

Loopback peers, and peers that have no IP address (a Unix socket), are
exempt from the per-client limits (C{maxPerAddress} and the
L{RateLimiter}) unless C{limitLoopback} is set (peers without an IP
address are exempt from C{maxPerAddress} even then), so local tools and
monitoring are never refused by them.
"""

from typing import Callable, Dict, Optional

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
from zope.interface import implementer

from finger.logonce import LogOnce
from finger.net.clients import ClientKey
from finger.net.deadlines import Deadlines
from finger.net.rates import RateLimiter

DEFAULT_MAX_CONNECTIONS = 1024
DEFAULT_MAX_PER_ADDRESS = 32
DEFAULT_IDLE_TIMEOUT = 120.0
DEFAULT_MAX_LIFETIME = 600.0
CLOSE_GRACE = 10.0
CLOSE_GRACE_BYTES = 65536


class LimitedConnection:
    """
    The per-connection side of L{LimitingFactory}, for a protocol that takes
    its limits itself: mix it in before the protocol's base class
    (C{class FingerProtocol(LimitedConnection, LineReceiver)}), and a
    L{LimitingFactory} serves it as it is, with no wrapper between it and
    its transport.  Built by any other factory, it has no limits.

    One timer per connection enforces both the idle and the lifetime limit:
    reads (and, through L{LimitedProtocol}, writes) note the time, and the
    timer closes the connection or waits for the next deadline.  Its first
    wait is the same for every connection, so it is one entry in the
    factory's L{Deadlines} (C{firstChecks}), not a timer of its own.

    A protocol that overrides C{connectionLost} calls this one
    (C{super().connectionLost(reason)}).

    @ivar limits: the L{LimitingFactory} this connection counts against,
        or L{None} when it was built without one.
    @ivar peerHost: the client (L{ClientKey}) this connection counts against
        in its factory's per-client cap, or L{None} if it is exempt.
    """

    transport: ITCPTransport
    limits: "Optional[LimitingFactory]" = None
    peerHost: Optional[str] = None
    _timer: Optional[IDelayedCall] = None
    _lastActive = 0.0
    _deadline: Optional[float] = None
    _graceCall: Optional[IDelayedCall] = None
    _expired = False
    _bytesAfterClose = 0

    def makeConnection(self, transport: ITCPTransport) -> None:
        limits = self.limits
        if limits is None:
            super().makeConnection(transport)  # type: ignore[misc]
            return
        limits.registerProtocol(self)  # type: ignore[arg-type]
        super().makeConnection(transport)  # type: ignore[misc]
        self._startLimits(limits)

    def _startLimits(self, limits: "LimitingFactory") -> None:
        """
        The connection is made: count it, and start its timer.
        """
        if self.peerHost is not None:
            limits.opened(self.peerHost)
        firstCheck = limits.firstCheck
        if firstCheck is None:
            return
        self._lastActive = now = limits.clock.seconds()
        if limits.maxLifetime is not None:
            self._deadline = now + limits.maxLifetime
        # The first check is the same time away for every connection, and
        # most are gone by then: it waits on the factory's one timer.
        limits.firstChecks.add(self, firstCheck, self._check)

    def _stopLimits(self, limits: "LimitingFactory") -> None:
        """
        The connection is lost: stop its timers, and count it no more.
        """
        limits.firstChecks.discard(self)
        if self._timer is not None:
            if self._timer.active():
                self._timer.cancel()
            self._timer = None
        if self._graceCall is not None:
            if self._graceCall.active():
                self._graceCall.cancel()
            self._graceCall = None
        if self.peerHost is not None:
            limits.closed(self.peerHost)

    def lifetimeEnd(self) -> Optional[float]:
        """
        When the lifetime limit will close this connection, on the limits'
        clock; L{None} if it has no such limit.  A long answer (an event
        stream) ends itself before then, between two of its parts.
        """
        return self._deadline

    def closing(self) -> bool:
        """
        Has the protocol asked to close?  Then bytes from the peer are no
        activity, and only so many are delivered.
        """
        return bool(getattr(self.transport, "disconnecting", False))

    def dataReceived(self, data: bytes) -> None:
        limits = self.limits
        if limits is not None:
            if self.closing():
                if not self._afterClose(limits, len(data)):
                    return
            else:
                self._lastActive = limits.clock.seconds()
        super().dataReceived(data)  # type: ignore[misc]

    def _afterClose(self, limits: "LimitingFactory", size: int) -> bool:
        """
        Count bytes the peer sent after the connection began to close.

        @return: whether they may still be delivered.
        """
        if self._graceCall is None:
            self._graceCall = limits.clock.callLater(CLOSE_GRACE, self._expire, "closing grace")
        self._bytesAfterClose += size
        if self._bytesAfterClose > CLOSE_GRACE_BYTES:
            self._expire("closing grace")
            return False
        return True

    def _check(self) -> None:
        """
        The timer fired: close the connection if a limit is reached, or
        wait for the next deadline.
        """
        self._timer = None
        limits = self.limits
        assert limits is not None
        now = limits.clock.seconds()
        if self._deadline is not None and now >= self._deadline:
            self._expire("lifetime")
            return
        idleTimeout = limits.idleTimeout
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
        self._timer = limits.clock.callLater(nextCheck - now, self._check)

    def _expire(self, why: str) -> None:
        if self._expired:
            return
        self._expired = True
        LimitingFactory.log.info(
            "Closing connection from {peer}: {why} limit reached",
            peer=_hostOf(self.transport.getPeer()),
            why=why,
            outcome=f"closed: {why}",
        )
        self.transport.abortConnection()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        limits = self.limits
        if limits is not None:
            self._stopLimits(limits)
            limits.unregisterProtocol(self)  # type: ignore[arg-type]
        super().connectionLost(reason)  # type: ignore[misc]


class LimitedProtocol(LimitedConnection, ProtocolWrapper):
    """
    L{LimitedConnection} for any other protocol: a L{ProtocolWrapper} used
    as it is, so it provides whatever its transport provides
    (L{ITCPTransport}, L{ISSLTransport}, ...), as Twisted's own wrappers do;
    twisted.web's C{isSecure} looks for L{ISSLTransport} through it.  That
    declaration costs about 3 microseconds a connection, a few percent of a
    finger query, which a protocol that mixes in L{LimitedConnection} does
    not pay.  Through the wrapper, writes count as activity too.
    """

    factory: "LimitingFactory"
    limits: "LimitingFactory"
    transport: ITCPTransport  # type: ignore[assignment]
    _host: Optional[IAddress] = None
    _closing = False

    def makeConnection(self, transport) -> None:  # type: ignore[no-untyped-def]
        # ProtocolWrapper declares what the transport provides, registers
        # with the factory and connects the wrapped protocol.
        ProtocolWrapper.makeConnection(self, transport)
        self._startLimits(self.limits)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self._stopLimits(self.limits)
        ProtocolWrapper.connectionLost(self, reason)

    def closing(self) -> bool:
        return self._closing or bool(getattr(self.wrappedProtocol, "disconnecting", False))

    def loseConnection(self) -> None:
        self._closing = True
        super().loseConnection()

    def write(self, data: bytes) -> None:
        self._lastActive = self.limits.clock.seconds()
        self.transport.write(data)

    def writeSequence(self, data) -> None:  # type: ignore[no-untyped-def]
        # One write of the joined pieces: twisted.web writes a response's
        # head as dozens of small pieces, and a transport checks and keeps
        # each of them.
        self._lastActive = self.limits.clock.seconds()
        self.transport.write(b"".join(data))

    def getHost(self) -> IAddress:
        # The local address of a connection does not change; twisted.web
        # asks for it with every request, and a TCP transport makes a
        # getsockname() system call each time.
        host = self._host
        if host is None:
            host = self._host = self.transport.getHost()
        return host


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

    A protocol that mixes in L{LimitedConnection} takes its limits itself;
    any other is wrapped in a L{LimitedProtocol}.

    @ivar maxConnections: the most connections open at once; L{None} for no
        cap.
    @ivar maxPerAddress: the most connections open at once from one client
        (an IPv4 address or an IPv6 network, as C{clientKey} says); L{None}
        for no cap.  So a few slow clients on one address or network cannot
        take every slot of C{maxConnections}.
    @ivar limitLoopback: whether C{maxPerAddress} applies to loopback peers
        (and peers without an IP address) too.
    @ivar idleTimeout: seconds without a byte in either direction before a
        connection is closed; L{None} for none.
    @ivar maxLifetime: seconds after which any connection is closed; L{None}
        for no limit.
    @ivar rateLimiter: a L{RateLimiter} for new connections, or L{None}.
    @ivar refusal: bytes sent to a connection refused for a limit.
    @ivar clock: the L{IReactorTime} for all of these.
    @ivar clientKey: who counts as one client for C{maxPerAddress}.
    @ivar firstChecks: when each connection's limits are first checked.
    @ivar firstCheck: seconds from a connection's start to that first
        check, or L{None} when it has neither an idle nor a lifetime limit.
    @ivar refused: told the reason of every connection refused
        (C{"max-connections"}, C{"max-per-address"} or C{"rate-limit"}),
        for C{--metrics}; or L{None}.
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
        maxPerAddress: Optional[int] = None,
        limitLoopback: bool = False,
        clientKey: ClientKey = ClientKey(),
        refused: Optional[Callable[[str], None]] = None,
    ) -> None:
        super().__init__(wrappedFactory)
        self.refused = refused
        self.clock = clock
        self.refusal = refusal
        self.maxConnections = maxConnections
        self.maxPerAddress = maxPerAddress
        self.limitLoopback = limitLoopback
        self.idleTimeout = idleTimeout
        self.maxLifetime = maxLifetime
        self.rateLimiter = rateLimiter
        self.clientKey = clientKey
        self._full = LogOnce(self.log)
        self._perAddress: Dict[str, int] = {}
        self.firstChecks = Deadlines(clock)
        delays = [d for d in (idleTimeout, maxLifetime) if d is not None]
        self.firstCheck: Optional[float] = min(delays) if delays else None

    def buildProtocol(self, addr):  # type: ignore[no-untyped-def]
        if self.maxConnections is not None and len(self.protocols) >= self.maxConnections:
            self._full.warn(
                "Refusing connections: {count} open, the limit",
                count=len(self.protocols),
                outcome="refused: max-connections",
            )
            return self._refuse("max-connections")
        if self._full.logged:
            self._full.over()
        # The client this connection counts against, if it is capped.
        counted = None
        maxPerAddress = self.maxPerAddress
        if maxPerAddress is not None:
            counted = self.clientKey.limited(addr, self.limitLoopback)
        if counted is not None:
            count = self._perAddress.get(counted, 0)
            if count >= maxPerAddress:
                self.log.info(
                    "Refusing {peer}: {count} connections open from {client}, the limit",
                    peer=_hostOf(addr),
                    client=counted,
                    count=count,
                    outcome="refused: max-per-address",
                )
                return self._refuse("max-per-address")
        rateLimiter = self.rateLimiter
        if rateLimiter is not None and not rateLimiter.allow(addr):
            self.log.info(
                "Refusing {peer}: rate limit", peer=_hostOf(addr), outcome="refused: rate limit"
            )
            return self._refuse("rate-limit")
        wrapped = self.wrappedFactory.buildProtocol(addr)
        if isinstance(wrapped, LimitedConnection) and wrapped.limits is None:
            built = wrapped
        else:
            protocol = self.protocol
            if protocol is LimitedProtocol and IHalfCloseableProtocol.providedBy(wrapped):
                protocol = _HalfCloseableLimitedProtocol
            built = protocol(self, wrapped)
        built.limits = self
        built.peerHost = counted
        return built

    def _refuse(self, reason: str) -> _Refused:
        """
        Refuse a connection over the limit C{reason} names.
        """
        if self.refused is not None:
            self.refused(reason)
        return _Refused(self)

    def opened(self, host: str) -> None:
        """
        A connection from the client C{host} that counts against
        C{maxPerAddress} is open.
        """
        self._perAddress[host] = self._perAddress.get(host, 0) + 1

    def closed(self, host: str) -> None:
        """
        A connection from the client C{host} that counted against
        C{maxPerAddress} is closed.
        """
        left = self._perAddress[host] - 1
        if left:
            self._perAddress[host] = left
        else:
            del self._perAddress[host]


def _hostOf(address: object) -> str:
    return str(getattr(address, "host", address))

