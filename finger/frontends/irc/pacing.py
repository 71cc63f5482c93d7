# -*- test-case-name: tests.frontends.irc.test_pacing -*-
"""
The IRC bot's pace, both ways: how fast it talks (L{SendQueue}) and how
often it listens to one asker (L{AskerRates}).

An IRC server throws off a client that sends too much at once, so
everything the bot sends waits in one queue: a burst of lines at once, then
one every so often, taken from askers in turns so that one asker's many
questions do not hold up everyone else's answers.  The queue is bounded,
in all and per asker; a reply that does not fit is dropped.

Each asker may ask a few questions at once, then one every few seconds;
the rest are ignored, so that two bots answering each other soon stop.
"""

from collections import deque
from dataclasses import dataclass, field
from typing import Callable, ClassVar, Deque, Dict, Hashable, Optional, Sequence, Set

from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger

from finger.logonce import LogOnce
from finger.net.buckets import TokenBucket

MAX_ASKERS = 1000
"""
The most askers whose question rate the bot remembers at once; past it, it
forgets those who have been quiet long enough, then the oldest.
"""


class TakingTurns:
    """
    Lines waiting to be sent, grouped into replies and taken in turns: one
    whole reply from each asker in turn, so that one asker's many questions
    do not hold up everyone else's answers.  The bot's own lines to the
    server (asker L{None}) take their turn like anyone's.

    @ivar lines: how many lines wait, for all askers.
    """

    def __init__(self) -> None:
        self._replies: Dict[Optional[Hashable], Deque[Deque[str]]] = {}
        self._turns: Deque[Optional[Hashable]] = deque()
        self.lines = 0

    def add(self, asker: Optional[Hashable], lines: Sequence[str]) -> None:
        """
        Queue one reply to C{asker}, after the ones already waiting for it.
        """
        if not lines:
            return
        if asker not in self._replies:
            self._replies[asker] = deque()
            self._turns.append(asker)
        self._replies[asker].append(deque(lines))
        self.lines += len(lines)

    def waiting(self, asker: Optional[Hashable]) -> int:
        """
        @return: how many lines wait for C{asker}.
        """
        return sum(len(reply) for reply in self._replies.get(asker, ()))

    def pop(self) -> str:
        """
        Take the next line: the current reply's next, or, once it is all
        sent, the first line of the next asker's reply.
        """
        asker = self._turns[0]
        replies = self._replies[asker]
        line = replies[0].popleft()
        self.lines -= 1
        if not replies[0]:
            replies.popleft()
            self._turns.popleft()
            if replies:
                self._turns.append(asker)
            else:
                del self._replies[asker]
        return line

    def clear(self) -> None:
        """
        Forget every line.
        """
        self._replies.clear()
        self._turns.clear()
        self.lines = 0


class SendQueue:
    """
    Lines on their way to the server: up to C{burst} at once, then one
    every C{lineRate} seconds, askers taking L{TakingTurns}.

    @ivar maxLines: the most lines waiting; see L{roomFor}.
    @ivar maxPerAsker: the most lines waiting for one asker, unless they
        are one reply; see L{roomFor}.
    """

    log = Logger()

    def __init__(
        self,
        clock: IReactorTime,
        send: Callable[[str], None],
        *,
        lineRate: float,
        burst: int,
        maxLines: int,
        maxPerAsker: int,
    ) -> None:
        """
        @param clock: what the rate is measured on, and the next line waits
            on.
        @param send: writes one line to the server now.
        @param lineRate: seconds between lines, once the burst is used up.
        @param burst: lines that may be sent at once after a quiet spell.
        """
        self.clock = clock
        self.send = send
        self.maxLines = maxLines
        self.maxPerAsker = maxPerAsker
        self._bucket = TokenBucket(clock, 1 / lineRate, burst)
        self._turns = TakingTurns()
        self._pumping: Optional[IDelayedCall] = None
        self._dropping = LogOnce(self.log)
        self._stopped = False

    @property
    def lines(self) -> int:
        """
        How many lines wait to be sent.
        """
        return self._turns.lines

    def add(self, asker: Optional[Hashable], lines: Sequence[str]) -> None:
        """
        Queue C{lines}, one reply to C{asker} (L{None} for the bot's own
        lines to the server), and send what the rate allows now.
        """
        if self._stopped:
            return
        self._turns.add(asker, lines)
        if self._pumping is None:
            self._pump()

    def roomFor(self, asker: Hashable, lines: int) -> bool:
        """
        Is there room for C{lines} more lines of reply to C{asker}?  There
        is not when L{maxLines} wait, or C{asker} already has L{maxPerAsker}
        lines waiting; then the reply is to be dropped (and that is logged
        once, until the queue drains) rather than letting a flood of
        questions grow the queue without end.
        """
        waiting = self._turns.waiting(asker)
        if self.lines + lines <= self.maxLines and (
            waiting == 0 or waiting + lines <= self.maxPerAsker
        ):
            return True
        self._dropping.warn("Too many questions at once; dropping replies until the queue drains")
        return False

    def stop(self) -> None:
        """
        Forget every line waiting, and send no more: the connection is gone.
        """
        self._stopped = True
        if self._pumping is not None and self._pumping.active():
            self._pumping.cancel()
        self._pumping = None
        self._turns.clear()

    def _pump(self) -> None:
        self._pumping = None
        while self._turns.lines and not self._stopped:
            if not self._bucket.take():
                self._pumping = self.clock.callLater(self._bucket.delay(), self._pump)
                return
            self.send(self._turns.pop())
        self._dropping.over()


@dataclass(eq=False)
class AskerRates:
    """
    How often each asker may ask: C{burst} questions at once, then one
    every C{interval} seconds, remembered for at most C{size} askers.
    """

    clock: IReactorTime
    burst: int
    interval: float
    size: int = MAX_ASKERS
    # Each asker's bucket; the askers past their rate, logged once each.
    _buckets: Dict[str, TokenBucket] = field(default_factory=dict, init=False, repr=False)
    _throttled: Set[str] = field(default_factory=set, init=False, repr=False)

    log: ClassVar[Logger] = Logger()

    def mayAsk(self, key: str, asker: str) -> bool:
        """
        May C{asker} ask a question now?  Past their rate, the bot ignores
        them (and logs that once), so that another bot that answers the
        bot's answers soon stops being answered.

        @param key: who asks, as the bot tells askers apart.
        @param asker: who asks, as the log names them.
        """
        bucket = self._buckets.get(key)
        if bucket is None:
            self._makeRoom()
            bucket = self._buckets[key] = TokenBucket(self.clock, 1 / self.interval, self.burst)
        if bucket.take():
            return True
        if key not in self._throttled:
            self._throttled.add(key)
            self.log.warn("Too many questions from {asker!r}; ignoring some", asker=asker)
        return False

    def _makeRoom(self) -> None:
        """
        Make room for one more asker: forget those whose rate limit is back
        to its start, then, if that is not enough, the oldest.
        """
        if len(self._buckets) < self.size:
            return
        for key, bucket in list(self._buckets.items()):
            if bucket.full():
                self._forget(key)
        while len(self._buckets) >= self.size:
            self._forget(next(iter(self._buckets)))

    def _forget(self, key: str) -> None:
        del self._buckets[key]
        self._throttled.discard(key)
