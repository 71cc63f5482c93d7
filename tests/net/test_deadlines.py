"""
Tests for L{finger.net.deadlines}.
"""

from typing import List

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from finger.net.deadlines import Deadlines


class DeadlinesTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.deadlines = Deadlines(self.clock)
        self.expired: List[str] = []

    def add(self, key: str, seconds: float) -> None:
        self.deadlines.add(key, seconds, lambda: self.expired.append(key))

    def test_oneTimer(self) -> None:
        """
        Each deadline expires at its time, on one timer; one discarded does
        not, and no timer is left when none waits.
        """
        self.add("a", 10)
        self.clock.advance(3)
        self.add("b", 10)
        self.add("c", 10)
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)
        self.deadlines.discard("a")
        self.clock.advance(6.9)
        self.assertEqual(self.expired, [])
        self.clock.advance(3.1)
        self.assertEqual(self.expired, ["b", "c"])
        self.assertEqual(len(self.deadlines), 0)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_discardLast(self) -> None:
        """
        Discarding the last deadline cancels the timer.
        """
        self.add("a", 10)
        self.deadlines.discard("a")
        self.deadlines.discard("a")
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.clock.advance(10)
        self.assertEqual(self.expired, [])

    def test_shorterLength(self) -> None:
        """
        A deadline earlier than those before it still expires at its time.
        """
        self.add("long", 60)
        self.add("short", 5)
        self.clock.advance(5)
        self.assertEqual(self.expired, ["short"])
        self.add("again", 1)
        self.clock.advance(1)
        self.assertEqual(self.expired, ["short", "again"])
        self.clock.advance(54)
        self.assertEqual(self.expired, ["short", "again", "long"])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_addWhileExpiring(self) -> None:
        """
        A deadline added by an expiring one's callback waits its time.
        """
        self.deadlines.add("a", 1, lambda: self.add("b", 1))
        self.add("c", 1.5)
        self.clock.advance(1)
        self.clock.advance(0.5)
        self.assertEqual(self.expired, ["c"])
        self.clock.advance(0.5)
        self.assertEqual(self.expired, ["c", "b"])
