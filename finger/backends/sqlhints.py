# -*- test-case-name: tests.backends.test_sql -*-
"""
Hints that the table changed, and when to read what changed.

A PostgreSQL node listens for C{NOTIFY finger_status} on a connection the
reactor watches (L{finger.backends.sqlstore.Notifications}).  Any role that
can connect may send one, with any payload, so a notification is only a
hint: what it says is never read, and the node reads the rows changed since
the newest it has.  Hints are coalesced: a hint that finds no read of the
changes for L{HINT_INTERVAL} seconds is read at once, and hints that come
faster share one read.  While a hint waits for its read, more hints would
change nothing, so the connection is left unread (what arrives waits in its
socket) rather than wake the reactor for each one of a storm.
"""

from typing import Any, Callable, Optional

from twisted.internet.interfaces import IDelayedCall, IReadDescriptor
from twisted.python.failure import Failure
from zope.interface import implementer

from finger.backends.sqlstore import Notifications

HINT_INTERVAL = 0.05
"""
The fewest seconds between two reads of the changes a node makes when
notifications hint at them.  A hint that finds no read for that long is
read at once, so a set reaches the other nodes within a few milliseconds;
hints that come faster share a read, so a storm of notifications (anyone
may send them) costs a node and the database at most 20 small reads a
second, each an index lookup.  Half of the 100 ms that a set may take to
reach every node.
"""


@implementer(IReadDescriptor)
class _Listener:
    """
    Hands what a L{Notifications} connection receives to its L{Hints}, as
    the reactor finds it readable.
    """

    def __init__(self, notifications: Notifications, hints: "Hints") -> None:
        self.notifications = notifications
        self.hints = hints
        self.closed = False
        # Whether the reactor watches it.
        self.watched = False
        # The reactor finds a reader by its descriptor, even once the
        # connection is lost: ask once.
        self._fileno = notifications.fileno()

    def fileno(self) -> int:
        return -1 if self.closed else self._fileno

    def logPrefix(self) -> str:
        return "finger-sql"

    def doRead(self) -> None:
        try:
            received = self.notifications.receive()
        except Exception:
            self.hints._listenerLost(self, Failure())
            return
        if received:
            self.hints.hinted()

    def connectionLost(self, reason: Failure) -> None:
        self.hints._listenerLost(self, reason)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.notifications.close()


class Hints:
    """
    The listening connection of one node, and when to read the changes its
    hints announce.

    @ivar interval: the fewest seconds between two reads (L{HINT_INTERVAL}).
    @ivar pending: whether a hint came that no read begun since covers.
    """

    def __init__(
        self,
        reactor: object,
        interval: float,
        ready: Callable[[], bool],
        read: Callable[[], None],
        lost: Callable[[Failure], None],
    ) -> None:
        """
        @param reactor: an L{IReactorTime} and L{IReactorFDSet} provider.
        @param ready: whether the node may read the changes now (it is
            running, has read the table once, and reads nothing else).
        @param read: read the changes; called when a hint's turn has come.
        @param lost: told why the listening connection was lost, once it
            has been closed.
        """
        self._reactor: Any = reactor
        self.interval = interval
        self._ready = ready
        self._read = read
        self._lost = lost
        self._listener: Optional[_Listener] = None
        self.pending = False
        self._nextRead: Optional[IDelayedCall] = None
        self._lastRead = float("-inf")

    @property
    def listening(self) -> bool:
        """
        Whether a listening connection is open.
        """
        return self._listener is not None

    def listen(self, notifications: Notifications) -> None:
        """
        Have the reactor read C{notifications}, the new listening
        connection.
        """
        self._listener = _Listener(notifications, self)
        self.watch()

    def close(self) -> None:
        """
        Close the listening connection, if there is one.
        """
        self._stopWatching()
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()

    def _listenerLost(self, listener: _Listener, reason: Failure) -> None:
        if listener is not self._listener:
            return
        self.close()
        self._lost(reason)

    def hinted(self) -> None:
        """
        A notification came: something may have changed.  What it says is
        not believed; the changes are read from the table.
        """
        self.pending = True
        self.schedule()
        if self.pending:
            # No read began for it: until one does, more hints would change
            # nothing.  Leave them unread rather than wake for each one of a
            # storm.
            self._stopWatching()

    def readOnAtOnce(self) -> None:
        """
        A read found more changes than it took: read on, without waiting
        for the interval.
        """
        self.pending = True
        self._lastRead = float("-inf")

    def schedule(self) -> None:
        """
        Read the changes a hint announced, at once if the last such read
        began L{interval} seconds ago or more, otherwise when it will have;
        one read covers every hint before it begins.
        """
        if not self.pending or self._nextRead is not None or not self._ready():
            return
        delay = self._lastRead + self.interval - self._reactor.seconds()
        if delay <= 0:
            self._readChanges()
        else:
            self._nextRead = self._reactor.callLater(delay, self._readChanges)

    def cancel(self) -> None:
        """
        Forget the read to come, if one was scheduled.
        """
        if self._nextRead is not None:
            self._nextRead.cancel()
            self._nextRead = None

    def _readChanges(self) -> None:
        self._nextRead = None
        self.pending = False
        # Hints from now on may announce changes this read does not see.
        self.watch()
        self._lastRead = self._reactor.seconds()
        self._read()

    def watch(self) -> None:
        """
        Have the reactor read the listening connection.
        """
        if self._listener is not None and not self._listener.watched:
            self._listener.watched = True
            self._reactor.addReader(self._listener)

    def _stopWatching(self) -> None:
        """
        Leave the listening connection unread (what arrives waits in its
        socket) until L{watch}.
        """
        if self._listener is not None and self._listener.watched:
            self._listener.watched = False
            self._reactor.removeReader(self._listener)
