"""
Tests for L{finger.net.buckets}.
"""

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from finger.net.buckets import BucketTable, TokenBucket


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


class BucketTableTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.table: BucketTable[TokenBucket] = BucketTable(
            lambda: TokenBucket(self.clock, rate=1, burst=10), size=10
        )

    def test_madeFull(self) -> None:
        """
        A key's bucket is made, full, when it is first asked for, and kept.
        """
        self.assertIsNone(self.table.get("a"))
        bucket = self.table["a"]
        self.assertTrue(bucket.full())
        self.assertIs(self.table["a"], bucket)
        self.assertIn("a", self.table)

    def test_fullForgottenFirst(self) -> None:
        """
        When the table needs room, buckets that filled up again go first.
        """
        for n in range(10):
            self.table[n].take(10 if n < 5 else 1)
        self.clock.advance(1)
        self.table["new"]
        self.assertEqual(sorted(self.table, key=str), [0, 1, 2, 3, 4, "new"])

    def test_spentKept(self) -> None:
        """
        When every bucket is in use, the fullest go, so the most spent (the
        busiest key) is the last to go; the table never grows past its size.
        """
        self.table["busy"].take(10)
        for n in range(100):
            self.table[n].take(1 + n % 5)
            self.assertLessEqual(len(self.table), 10)
        self.assertIn("busy", self.table)


class ReserveTests(SynchronousTestCase):
    def test_reserve(self) -> None:
        """
        Reserving takes tokens that are not there yet: the bucket goes into
        debt, and says how long until each reservation's tokens would have
        been there.
        """
        clock = Clock()
        bucket = TokenBucket(clock, rate=2, burst=1)
        self.assertEqual([bucket.reserve() for _ in range(3)], [0, 0.5, 1.0])
        self.assertFalse(bucket.take())
        clock.advance(1.5)
        self.assertTrue(bucket.take())
