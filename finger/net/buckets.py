# -*- test-case-name: tests.net.test_buckets -*-
"""
Token buckets: the one rate limit every part of the service uses (finger
and web requests per client, checks of logins per account, lines the IRC
bot sends, bytes a Perspective Broker client sends), and L{BucketTable},
the one bounded table of them by key.
"""

import heapq
from typing import Callable, Dict, Generic, Hashable, Iterator, Optional, TypeVar

from twisted.internet.interfaces import IReactorTime


class TokenBucket:
    """
    Up to C{burst} actions at once, then C{rate} a second on average.

    The bucket starts full.  It keeps no timer: it counts what time has
    passed on C{clock} whenever it is asked.
    """

    __slots__ = ("clock", "rate", "burst", "_tokens", "_then")

    def __init__(self, clock: IReactorTime, rate: float, burst: float) -> None:
        """
        @param clock: the clock the rate is measured on.
        @param rate: tokens added a second; more than zero.
        @param burst: the most tokens the bucket holds; at least one.
        """
        self.clock = clock
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._then = clock.seconds()

    def _level(self) -> float:
        now = self.clock.seconds()
        self._tokens = min(self.burst, self._tokens + (now - self._then) * self.rate)
        self._then = now
        return self._tokens

    def take(self, n: float = 1) -> bool:
        """
        Take C{n} tokens if there are that many; otherwise take none.

        @param n: how many: one for one action, or a size (bytes, say)
            for a bucket that counts sizes; more than C{burst} never fits.
        @return: whether the action may happen now.
        """
        if self._level() < n:
            return False
        self._tokens -= n
        return True

    def reserve(self, n: float = 1) -> float:
        """
        Take C{n} tokens now, whether or not they are there: the bucket may
        go into debt, which the tokens to come pay back first.

        @return: seconds until the C{n} tokens would have been there: zero
            if they were, so what reserves waits that long and the actions
            happen at C{rate} a second.
        """
        self._tokens = self._level() - n
        return max(0.0, -self._tokens / self.rate)

    def delay(self, n: float = 1) -> float:
        """
        @param n: how many tokens are wanted.
        @return: seconds until C{n} tokens are there; zero if they are there
            now.
        """
        return max(0.0, (n - self._level()) / self.rate)

    def full(self) -> bool:
        """
        @return: whether the bucket has filled up again, so that forgetting
            it changes nothing.
        """
        return self._level() >= self.burst


_B = TypeVar("_B", bound=TokenBucket)


class BucketTable(Generic[_B]):
    """
    A bucket per key (a client, an account), made when a key is first
    asked for, and never more than C{size} of them.

    A bucket that has filled up again is as good as a new one, so the table
    forgets those first when it needs room; if that is not a tenth of it,
    it forgets the fullest too, so the buckets of the busiest keys (say,
    the account someone is guessing at) are the last to go.
    """

    def __init__(self, make: Callable[[], _B], size: int) -> None:
        """
        @param make: makes the bucket of a new key: a full one.
        @param size: the most buckets kept; at least one.
        """
        self.make = make
        self.size = size
        self._buckets: Dict[Hashable, _B] = {}

    def __len__(self) -> int:
        return len(self._buckets)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._buckets

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self._buckets)

    def get(self, key: Hashable) -> Optional[_B]:
        """
        @return: C{key}'s bucket, or L{None} if it has none (so it has its
            whole burst).
        """
        return self._buckets.get(key)

    def __getitem__(self, key: Hashable) -> _B:
        """
        @return: C{key}'s bucket, a full one if it had none.
        """
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.size:
                self._makeRoom()
            bucket = self._buckets[key] = self.make()
        return bucket

    def _makeRoom(self) -> None:
        untilFull = {key: bucket.delay(bucket.burst) for key, bucket in self._buckets.items()}
        for key, seconds in untilFull.items():
            if seconds == 0:
                del self._buckets[key]
        excess = len(self._buckets) - self.size * 9 // 10
        if excess > 0:
            for key in heapq.nsmallest(excess, self._buckets, key=untilFull.__getitem__):
                del self._buckets[key]
