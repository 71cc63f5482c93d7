# -*- test-case-name: tests.frontends.pb.test_broker -*-
"""
The PB server's connections: L{FingerBroker}, which bounds what a client
may send and the work it causes at Twisted's own hooks, and
L{FingerPBServerFactory}, which serves a root with them.

Also what the rest of the server needs of a connection: its client's
address for the log (L{peerOf}), a malformed call counted (L{badCall}), and
the requests to cancel when the client leaves (L{pendingOn}).
"""

from typing import Any, Optional

from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.protocol import connectionDone
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.spread import banana, pb
from twisted.spread.jelly import globalSecurity

from finger.frontends.pb.limits import BrokerLimits
from finger.pending import Pending
from finger.reactor import orGlobalReactor
from finger.net.buckets import TokenBucket
from finger.pbwire import BadCall
from finger.text import escapeForLog, formatPeer


def peerOf(broker: pb.Broker) -> str:
    """
    The client's address, for the log.
    """
    transport = broker.transport
    return formatPeer(transport.getPeer()) if transport is not None else "?"


def _describe(error: BaseException) -> str:
    """
    An exception, for one line of the log: its arguments may hold a
    client's bytes, which are escaped.
    """
    details = ", ".join(
        escapeForLog(arg) if isinstance(arg, bytes) else str(arg) for arg in error.args
    )
    return escapeForLog(f"{type(error).__name__}: {details}".encode("utf-8", "replace"))


def badCall(broker: pb.Broker, reason: str) -> BadCall:
    """
    A malformed call from C{broker}'s client, counted when the broker is a
    L{FingerBroker}.

    @return: the L{BadCall} to raise, saying C{reason}.
    """
    if isinstance(broker, FingerBroker):
        broker.badCallMade()
    return BadCall(reason)


def pendingOn(broker: pb.Broker) -> Pending:
    """
    The requests under way on C{broker}'s connection, cancelled when the
    client leaves, as L{finger.lookup} asks of every front-end.
    """
    pending = Pending()
    if broker.disconnected:
        pending.leave()
    else:
        broker.notifyOnDisconnect(pending.leave)
    return pending


class _OverLimit(Exception):
    """
    A client broke one of its L{BrokerLimits}; the message says which.
    Raised to stop Banana decoding, and then the connection is dropped.
    """


class FingerBroker(pb.Broker):
    """
    A PB broker for a server on the open internet.

    Twisted's broker decodes whatever arrives, as much as arrives, at once:
    a malformed stream raises out of C{dataReceived}, and the reactor logs
    a traceback for every such connection; an unfinished message, however
    large, is kept in memory; and Banana copies what it holds once per item
    it decodes, so a message of many small items before a long string takes
    the reactor for as long as it takes.  This broker keeps Twisted's
    decoding and bounds it at Banana's public hooks:

      - the first bytes must choose a dialect the server offered, and are
        compared as they come: the first wrong byte drops the connection,
        before anything is decoded;
      - before it logs in, a connection may send C{maxBytesBeforeLogin}
        bytes and C{maxMessagesBeforeLogin} messages, of at most
        C{maxItemsBeforeLogin} items each (a login is a few hundred bytes);
        after, a message may be C{maxMessageBytes} long and hold
        C{maxItems} items, nested C{maxDepth} deep;
      - Banana decodes at most C{decodeBytes} of the input in one turn of
        the reactor; the rest waits, and the transport is paused, until the
        next turn, so the work one client causes in a turn is bounded, and
        so is what it can make the server hold;
      - a connection that sends more than C{bytesPerSecond} bytes a second
        on average (C{burstBytes} at once), or makes more than
        C{maxBadCalls} malformed calls, is dropped.

    A connection that breaks a limit, or sends what Banana or PB cannot
    read, is closed with one line in the log saying why.

    @ivar authenticated: whether the client logged in.
    @ivar dropped: whether the connection was dropped for breaking a limit.
    @ivar badCalls: how many malformed calls the client made.
    """

    log = Logger()

    dialectChoices = [banana.encode(dialect) for dialect in pb.Broker.knownDialects]
    """
    What a client sends first: the choice of one of the dialects a server
    offers, as Banana encodes it (C{b"\\x02\\x82pb"} for C{pb}).
    """

    def __init__(
        self,
        isClient: bool = True,
        security: Any = globalSecurity,
        *,
        limits: BrokerLimits = BrokerLimits(),
        clock: Optional[IReactorTime] = None,
    ) -> None:
        """
        @param limits: what a client may send.
        @param clock: what the byte rate is measured on, and what decoding
            waits for the next turn on; the global reactor if L{None}.
        """
        super().__init__(isClient, security)
        self.limits = limits
        self.clock = orGlobalReactor(clock)
        self.byteBudget = TokenBucket(self.clock, limits.bytesPerSecond, limits.burstBytes)
        self.firstBytes = b""
        self.dialectChosen = bool(isClient)
        self.unread = bytearray()
        self.decoding: Optional[IDelayedCall] = None
        self.paused = False
        self.dropped = False
        self.authenticated = False
        self.bytesBeforeLogin = 0
        self.messagesBeforeLogin = 0
        self.messageBytes = 0
        self.messageEnded = False
        self.items = 0
        self.badCalls = 0

    def loggedIn(self) -> None:
        """
        The client logged in: it may send messages without counting, and
        longer ones.
        """
        self.authenticated = True

    def badCallMade(self) -> None:
        """
        The client made a malformed call: after C{maxBadCalls} of them, it
        is dropped, once its answer is sent.
        """
        self.badCalls += 1

    def dataReceived(self, data: bytes) -> None:
        if self.dropped or self.disconnected:
            return
        if not self.byteBudget.take(len(data)):
            self.drop(f"more than {self.limits.bytesPerSecond:g} bytes a second")
            return
        if not self.authenticated:
            self.bytesBeforeLogin += len(data)
            if self.bytesBeforeLogin > self.limits.maxBytesBeforeLogin:
                self.drop(f"more than {self.limits.maxBytesBeforeLogin} bytes before logging in")
                return
        if not self.dialectChosen and not self.checkDialect(data):
            return
        self.unread += data
        if self.decoding is None:
            self.decode()

    def checkDialect(self, data: bytes) -> bool:
        """
        Compare the first bytes with the dialects the server offered.

        @return: whether they may still be a choice of one; if not, the
            connection is dropped.
        """
        seen = self.firstBytes + data[: max(map(len, self.dialectChoices))]
        for choice in self.dialectChoices:
            if seen[: len(choice)] == choice[: len(seen)]:
                self.dialectChosen = len(seen) >= len(choice)
                self.firstBytes = b"" if self.dialectChosen else seen
                return True
        self.drop("not Perspective Broker: the first bytes do not choose a dialect")
        return False

    def decode(self) -> None:
        """
        Let Banana decode the next C{decodeBytes} of the input, and leave
        the rest, if any, for the next turn of the reactor, with the
        transport paused until then.
        """
        self.decoding = None
        chunk = bytes(self.unread[: self.limits.decodeBytes])
        del self.unread[: len(chunk)]
        self.messageBytes += len(chunk)
        try:
            super().dataReceived(chunk)
            # What an expression that ended left is at most one chunk.
            if self.messageEnded:
                self.messageEnded = False
                self.messageBytes = len(chunk)
            self.checkMessage()
        except _OverLimit as e:
            self.drop(str(e))
            return
        except Exception as e:
            self.drop(_describe(e))
            return
        if self.dropped or self.disconnected:
            return
        if self.badCalls > self.limits.maxBadCalls:
            self.drop(f"more than {self.limits.maxBadCalls} malformed calls")
            return
        transport: Any = self.transport
        if self.unread:
            if not self.paused:
                self.paused = True
                transport.pauseProducing()
            self.decoding = self.clock.callLater(0, self.decode)
        elif self.paused:
            self.paused = False
            transport.resumeProducing()

    def checkMessage(self) -> None:
        """
        Check the message under way against the limits.

        @raise _OverLimit: if it breaks one.
        """
        if len(self.listStack) > self.limits.maxDepth:
            raise _OverLimit(f"lists nested deeper than {self.limits.maxDepth}")
        if self.messageBytes > self.limits.maxMessageBytes:
            raise _OverLimit(f"a message longer than {self.limits.maxMessageBytes} bytes")

    def gotItem(self, item: object) -> None:
        """
        Count the message's items as Banana decodes them.
        """
        self.items += 1
        most = self.limits.maxItems if self.authenticated else self.limits.maxItemsBeforeLogin
        if self.items > most:
            raise _OverLimit(f"a message of more than {most} items")
        self.checkMessage()
        super().gotItem(item)

    def callExpressionReceived(self, obj: object) -> None:
        """
        A whole message: count it, if the client has not logged in.
        """
        self.items = 0
        self.messageEnded = True
        if not self.authenticated:
            self.messagesBeforeLogin += 1
            if self.messagesBeforeLogin > self.limits.maxMessagesBeforeLogin:
                raise _OverLimit(
                    f"more than {self.limits.maxMessagesBeforeLogin} messages before logging in"
                )
        super().callExpressionReceived(obj)

    def unserialize(self, sexp: Any, perspective: object = None) -> Any:
        """
        Read a call's arguments; arguments this server cannot read (a type
        it does not know, say) are one escaped line in the log and a
        L{BadCall}, where Twisted logs a traceback.
        """
        try:
            return super().unserialize(sexp, perspective)
        except Exception as e:
            self.log.info(
                "Refused a PB call from {peer}: cannot read its arguments: {error}",
                peer=peerOf(self),
                error=_describe(e),
            )
            raise badCall(self, "arguments this server cannot read") from None

    def localObjectForID(self, luid: Any) -> Any:
        """
        Find the object a call is for; a call for none is a malformed call.
        """
        found = super().localObjectForID(luid)
        if found is None:
            self.badCallMade()
        return found

    def drop(self, reason: str) -> None:
        """
        Close the connection, and say why in one line of the log.
        """
        self.dropped = True
        self.stopDecoding()
        transport: Any = self.transport
        self.log.info(
            "Dropping PB connection from {peer}: {error}",
            peer=peerOf(self),
            error=escapeForLog(reason.encode("utf-8", "replace")),
        )
        transport.loseConnection()

    def stopDecoding(self) -> None:
        """
        Forget the input not yet decoded.
        """
        if self.decoding is not None:
            self.decoding.cancel()
            self.decoding = None
        self.unread = bytearray()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.stopDecoding()
        super().connectionLost(reason)


class FingerPBServerFactory(pb.PBServerFactory):
    """
    Serve a PB root, such as
    L{finger.frontends.pb.root.PerspectiveFingerFromService}, with
    L{FingerBroker}s under the limits given.
    """

    protocol = FingerBroker
    # finger.net.listen says where it listens; no "Starting factory".
    noisy = False

    def __init__(
        self,
        root: Any,
        *,
        clock: Optional[IReactorTime] = None,
        limits: BrokerLimits = BrokerLimits(),
        unsafeTracebacks: bool = False,
        security: Any = globalSecurity,
    ) -> None:
        """
        @param root: the root object, or what adapts to L{pb.IPBRoot}.
        @param clock: what each connection's byte rate is measured on, and
            its decoding waits for the next turn on; the global reactor if
            L{None}.
        @param limits: what a client may send.
        """
        super().__init__(root, unsafeTracebacks, security)
        self.clock = orGlobalReactor(clock)
        self.limits = limits

    def buildProtocol(self, addr: Any) -> pb.Broker:
        broker = self.protocol(
            isClient=False, security=self.security, limits=self.limits, clock=self.clock
        )
        broker.factory = self  # type: ignore[assignment]
        broker.setNameForLocal("root", self.root.rootObject(broker))
        return broker
