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

    def test_takeMany(self) -> None:
        """
        C{take(n)} takes C{n} tokens at once, or none when fewer are there,
        so a bucket can count bytes; C{delay(n)} says when C{n} will be.
        """
        clock = Clock()
        bucket = TokenBucket(clock, rate=100, burst=1000)
        self.assertTrue(bucket.take(900))
        self.assertFalse(bucket.take(200))
        self.assertEqual(bucket.delay(200), 1)
        self.assertTrue(bucket.take(100))
        self.assertFalse(bucket.take(1))
        clock.advance(2)
        self.assertTrue(bucket.take(200))
        self.assertFalse(bucket.take(1001))
        clock.advance(1000)
        self.assertFalse(bucket.take(1001))
        self.assertTrue(bucket.take(1000))
