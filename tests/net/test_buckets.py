"""
Tests for L{finger.net.buckets}.
"""

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from finger.net.buckets import TokenBucket


class TokenBucketTests(SynchronousTestCase):
    def test_burstThenRate(self) -> None:
        """
        A full bucket allows C{burst} actions at once, then one each
        C{1/rate} seconds.
        """
        clock = Clock()
        bucket = TokenBucket(clock, rate=2, burst=3)
        self.assertEqual([bucket.take() for _ in range(4)], [True, True, True, False])
        self.assertEqual(bucket.delay(), 0.5)
        clock.advance(0.5)
        self.assertEqual(bucket.delay(), 0)
        self.assertTrue(bucket.take())
        self.assertFalse(bucket.take())

    def test_neverOverfills(self) -> None:
        """
        However long it waits, a bucket holds at most C{burst} tokens, and
        says when it is full again.
        """
        clock = Clock()
        bucket = TokenBucket(clock, rate=1, burst=2)
        bucket.take()
        self.assertFalse(bucket.full())
        clock.advance(1000)
        self.assertTrue(bucket.full())
        self.assertEqual([bucket.take() for _ in range(3)], [True, True, False])
