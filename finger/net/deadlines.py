# -*- test-case-name: tests.net.test_deadlines -*-
"""
Request deadlines: the time a client has to send its whole request.

Every line-based front-end (finger, the setter) and the web's channel start
one when a connection is made and drop it when the request is in, so they
share one mechanism, L{Deadlines}: one timer for all of a front-end's
connections rather than a L{DelayedCall<twisted.internet.base.DelayedCall>}
each.  The connection limits (L{finger.net.limits}) use it too, for the
first check of every connection's idle and lifetime limits.
"""

from typing import Callable, Dict, Hashable, Optional, Tuple

from twisted.internet.interfaces import IDelayedCall, IReactorTime


class Deadlines:
    """
    Many deadlines on one timer: for a front-end's request deadline, which
    every connection starts when it is made and almost every one meets.

    A L{DelayedCall<twisted.internet.base.DelayedCall>} per connection,
    scheduled and then cancelled, costs about as much as a finger answer's
    own work.  Here a deadline is an entry in an ordered table, and one
    timer waits for the earliest.  Deadlines of one length, added as time
    goes on, expire in the order they were added, so the timer only looks
    at the oldest; a deadline earlier than the newest one (the length was
    shortened) makes it look at all of them until the table is empty.
    Each deadline expires at its time, not later.

    @ivar clock: what the deadlines are measured on.
    """

    def __init__(self, clock: IReactorTime) -> None:
        self.clock = clock
        self._waiting: Dict[Hashable, Tuple[float, Callable[[], None]]] = {}
        self._timer: Optional[IDelayedCall] = None
        self._last = 0.0
        self._ordered = True
        self._expiring = False

    def __len__(self) -> int:
        return len(self._waiting)

    def add(self, key: Hashable, seconds: float, expire: Callable[[], None]) -> None:
        """
        Call C{expire} in C{seconds} seconds, unless L{discard} is called
        with C{key} first.  C{key} must not be waiting already.
        """
        deadline = self.clock.seconds() + seconds
        waiting = self._waiting
        if waiting and deadline < self._last:
            self._ordered = False
        else:
            self._last = deadline
        waiting[key] = (deadline, expire)
        timer = self._timer
        if timer is None:
            if not self._expiring:
                self._timer = self.clock.callLater(seconds, self._expire)
        elif not self._ordered and deadline < timer.getTime():
            timer.cancel()
            self._timer = self.clock.callLater(seconds, self._expire)

    def discard(self, key: Hashable) -> None:
        """
        Forget C{key}'s deadline, if it has one.
        """
        waiting = self._waiting
        if waiting.pop(key, None) is not None and not waiting:
            timer = self._timer
            if timer is not None:
                self._timer = None
                timer.cancel()
            self._ordered = True

    def _expire(self) -> None:
        self._timer = None
        # A timer may fire a hair before the time it was set for.
        now = self.clock.seconds() + 1e-9
        waiting = self._waiting
        due = []
        if self._ordered:
            for key, (deadline, expire) in waiting.items():
                if deadline > now:
                    break
                due.append((key, expire))
        else:
            due = [(key, expire) for key, (deadline, expire) in waiting.items() if deadline <= now]
        for key, expire in due:
            del waiting[key]
        if not waiting:
            self._ordered = True
        self._expiring = True
        try:
            for key, expire in due:
                expire()
        finally:
            self._expiring = False
            if waiting:
                if self._ordered:
                    earliest = next(iter(waiting.values()))[0]
                else:
                    earliest = min(deadline for deadline, expire in waiting.values())
                self._timer = self.clock.callLater(
                    max(0.0, earliest - self.clock.seconds()), self._expire
                )
