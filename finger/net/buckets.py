# -*- test-case-name: tests.net.test_buckets -*-
"""
Token buckets: the one rate limit every part of the service uses (finger
queries per client address, lines the IRC bot sends, bytes a Perspective
Broker client sends).
"""

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
