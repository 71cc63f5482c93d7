# -*- test-case-name: tests.test_pending -*-
"""
A client's requests under way, cancelled together when it leaves: what
L{finger.lookup.LookupPolicy} asks of every front-end ("a client that
leaves first cancels the request"), written once.
"""

from typing import Any, Optional, Set, TypeVar

from twisted.internet.defer import CancelledError, Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure

_T = TypeVar("_T")


class Pending:
    """
    The requests under way for one client, cancelled together when it
    leaves: the one way every front-end does what the policy asks of it
    ("a client that leaves first cancels the request").

    A front-end L{track}s each L{Deferred} the policy gave it, and calls
    L{leave} from its own sign that the client went (C{connectionLost},
    L{pb.Broker.notifyOnDisconnect}, L{IRequest.notifyFinish} failing).
    Once the client has left, what a tracked request comes to is dropped:
    a tracked L{Deferred} fires with L{None}, since nobody is left to read
    an answer, and one tracked after that is cancelled at once.

    @ivar gone: whether the client has left.
    """

    log = Logger()

    gone = False
    _waiting: "Optional[Set[Deferred[Any]]]" = None

    def __len__(self) -> int:
        return len(self._waiting) if self._waiting is not None else 0

    def track(self, d: "Deferred[_T]") -> "Deferred[Optional[_T]]":
        """
        Cancel C{d} if the client leaves before it fires.

        @return: C{d}, which fires as it would have, or with L{None} once
            the client has left (a failure other than the cancellation is
            logged first, as nobody else will see it).
        """
        if d.called and not d.paused and not self.gone:
            # An answer already here cannot be overtaken by the client
            # leaving.
            return d  # type: ignore[return-value]
        waiting = self._waiting
        if waiting is None:
            waiting = self._waiting = set()
        waiting.add(d)

        def settle(result: object) -> object:
            waiting.discard(d)
            if not self.gone:
                return result
            if isinstance(result, Failure) and not result.check(CancelledError):
                self.log.failure("Failed after the client left", result)
            return None

        d.addBoth(settle)
        if self.gone:
            d.cancel()
        return d  # type: ignore[return-value]

    def leave(self, reason: object = None) -> None:
        """
        The client left: cancel every request still under way.

        @param reason: why, if the front-end's hook gives one; unused, so
            that this can be a callback or errback itself.
        """
        self.gone = True
        if self._waiting:
            for d in list(self._waiting):
                d.cancel()
