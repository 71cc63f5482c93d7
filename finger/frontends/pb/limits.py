# -*- test-case-name: tests.frontends.pb.test_broker -*-
"""
What one client of the PB server may send, and the work it may cause:
L{BrokerLimits}, which L{finger.frontends.pb.broker.FingerBroker} applies,
and its defaults.
"""

from dataclasses import dataclass

MAX_MESSAGE_BYTES = 1 << 16
"""
The longest PB message a client that logged in may send: a call to this
service is a few hundred bytes, and the longest status a few KiB.
"""

MAX_DEPTH = 32
"""
How deeply a client's message may nest lists: a call nests a handful.
"""

MAX_ITEMS = 4096
"""
How many items (numbers, strings, lists) one message may hold: a call holds
a few dozen.
"""

MAX_BAD_CALLS = 10
"""
How many malformed calls (an unknown method, arguments a method does not
take or the server cannot read) one connection may make before it is
dropped, so that it cannot fill the log.
"""

MAX_BYTES_BEFORE_LOGIN = 8192
"""
How many bytes a connection may send before it logs in, its dialect and
version among them: a login takes about a hundred, asking for a status
about fifty.  It bounds what a client that has not logged in can make the
server hold, too.
"""

MAX_ITEMS_BEFORE_LOGIN = 64
"""
How many items one message may hold before the connection logs in: a
login's holds a dozen.
"""

MAX_MESSAGES_BEFORE_LOGIN = 100
"""
How many PB messages a connection may send before it logs in, counting the
dialect it chooses and its version: asking for a status takes one, logging
in two.  A client that has more to ask reconnects.
"""

BYTES_PER_SECOND = 16384
"""
How many bytes a second one connection may send, on average: a call to
this service is a few hundred bytes.
"""

BURST_BYTES = 2 * MAX_MESSAGE_BYTES
"""
How many bytes one connection may send at once, above L{BYTES_PER_SECOND}:
room for the longest message, and more than one read from the network.
"""

DECODE_BYTES = 2048
"""
How many bytes of one connection's input Banana decodes in one turn of the
reactor.  Banana copies what it holds once per item it decodes, so a turn
decodes at most this many items, each copying at most this many bytes,
once the string under way (at most L{MAX_MESSAGE_BYTES}) is whole: about
2 ms of work, however the client shapes its messages.  A call is a few
hundred bytes: it is decoded in one turn.
"""


@dataclass(frozen=True)
class BrokerLimits:
    """
    What one client of L{FingerBroker} may send.

    @ivar maxMessageBytes: the longest message.
    @ivar maxDepth: how deeply a message's lists may nest.
    @ivar maxItems: how many items a message may hold.
    @ivar maxBadCalls: how many malformed calls a connection may make.
    @ivar maxBytesBeforeLogin: how many bytes a connection may send before
        it logs in (L{MAX_BYTES_BEFORE_LOGIN}).
    @ivar maxItemsBeforeLogin: how many items a message may hold before
        the connection logs in.
    @ivar maxMessagesBeforeLogin: how many messages a connection may send
        before it logs in (L{MAX_MESSAGES_BEFORE_LOGIN}).
    @ivar bytesPerSecond: how many bytes a second a connection may send on
        average.
    @ivar burstBytes: how many bytes it may send at once; at least one read
        from the network (64 KiB).
    @ivar decodeBytes: how many bytes of a connection's input are decoded
        in one turn of the reactor (L{DECODE_BYTES}).
    """

    maxMessageBytes: int = MAX_MESSAGE_BYTES
    maxDepth: int = MAX_DEPTH
    maxItems: int = MAX_ITEMS
    maxBadCalls: int = MAX_BAD_CALLS
    maxBytesBeforeLogin: int = MAX_BYTES_BEFORE_LOGIN
    maxItemsBeforeLogin: int = MAX_ITEMS_BEFORE_LOGIN
    maxMessagesBeforeLogin: int = MAX_MESSAGES_BEFORE_LOGIN
    bytesPerSecond: float = BYTES_PER_SECOND
    burstBytes: int = BURST_BYTES
    decodeBytes: int = DECODE_BYTES
