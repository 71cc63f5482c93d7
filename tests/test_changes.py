"""
Tests for L{finger.changes}: the stream of status changes inside the
service, and the backlog the event stream takes up from.
"""

from typing import List

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from finger.changes import (
    Backlog,
    ChangeBatch,
    ChangeNotifier,
    StatusChange,
    changedIn,
    compare,
)
from finger.interfaces import IStatusChanges


def batch(*pairs: object) -> ChangeBatch:
    return ChangeBatch(tuple(StatusChange(str(u), s, 0.0) for u, s in pairs))  # type: ignore[arg-type]


class CompareTests(SynchronousTestCase):
    def test_nothing(self) -> None:
        self.assertEqual(compare({"a": "1"}, {"a": "1"}), [])

    def test_changedAddedRemoved(self) -> None:
        """
        Changed and added users come in the new table's order, then the
        users who are gone, with L{None}.
        """
        old = {"a": "1", "b": "2", "c": "3"}
        new = {"d": "4", "b": "2", "a": "one"}
        self.assertEqual(compare(old, new), [("d", "4"), ("a", "one"), ("c", None)])

    def test_addedOnly(self) -> None:
        self.assertEqual(compare({"a": "1"}, {"a": "1", "b": "2"}), [("b", "2")])

    def test_limit(self) -> None:
        """
        More changes than the limit: L{None}, whether they are changes or
        removals.
        """
        self.assertIsNone(compare({}, {str(i): "x" for i in range(4)}, limit=3))
        self.assertIsNone(compare({str(i): "x" for i in range(4)}, {}, limit=3))
        self.assertEqual(len(compare({}, {str(i): "x" for i in range(3)}, limit=3) or []), 3)

    def test_changedIn(self) -> None:
        self.assertEqual(
            changedIn({"a": "1", "b": "2"}, [("a", "1"), ("b", "two"), ("c", "3")]),
            [("b", "two"), ("c", "3")],
        )


class ChangeNotifierTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.clock.advance(1234)
        self.notifier = ChangeNotifier(self.clock.seconds)

    def test_interface(self) -> None:
        self.assertTrue(verifyObject(IStatusChanges, self.notifier))

    def test_announce(self) -> None:
        """
        Every listener is told of a batch, each change with the time; an
        empty difference tells nothing; unsubscribing stops it.
        """
        heard: List[ChangeBatch] = []
        other: List[ChangeBatch] = []
        stop = self.notifier.subscribe(heard.append)
        self.notifier.subscribe(other.append)
        self.assertTrue(self.notifier.listening)
        self.notifier.announce([("moshez", "Happy"), ("bob", None)])
        self.notifier.announce([])
        expected = ChangeBatch(
            (StatusChange("moshez", "Happy", 1234.0), StatusChange("bob", None, 1234.0))
        )
        self.assertEqual(heard, [expected])
        self.assertEqual(other, [expected])
        stop()
        stop()
        self.notifier.announce([("moshez", "Sad")])
        self.assertEqual(len(heard), 1)
        self.assertEqual(len(other), 2)

    def test_tooMany(self) -> None:
        """
        A difference too large to list is told as an incomplete batch.
        """
        heard: List[ChangeBatch] = []
        self.notifier.subscribe(heard.append)
        self.notifier.announce(None)
        self.assertEqual(heard, [ChangeBatch((), complete=False)])

    def test_listenerFails(self) -> None:
        """
        A listener that raises is logged, and the others are told anyway.
        """
        heard: List[ChangeBatch] = []

        def broken(batch: ChangeBatch) -> None:
            raise ZeroDivisionError()

        self.notifier.subscribe(broken)
        self.notifier.subscribe(heard.append)
        self.notifier.announce([("moshez", "Happy")])
        self.assertEqual(len(heard), 1)
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)

    def test_unsubscribeWhileTelling(self) -> None:
        """
        A listener may stop listening while it is told.
        """
        heard: List[ChangeBatch] = []
        stops = []

        def once(batch: ChangeBatch) -> None:
            stops[0]()

        stops.append(self.notifier.subscribe(once))
        self.notifier.subscribe(heard.append)
        self.notifier.announce([("a", "1")])
        self.notifier.announce([("a", "2")])
        self.assertEqual(len(heard), 2)
        self.assertTrue(self.notifier.listening)


class BacklogTests(SynchronousTestCase):
    def test_ids(self) -> None:
        """
        Each change gets the next id of the backlog's generation.
        """
        backlog = Backlog(generation="g")
        self.assertEqual(backlog.latest, "g-0")
        added = backlog.add(batch(("a", "1"), ("b", "2")))
        self.assertEqual([i for i, _ in added or []], ["g-1", "g-2"])
        self.assertEqual(backlog.latest, "g-2")

    def test_randomGeneration(self) -> None:
        self.assertNotEqual(Backlog().generation, Backlog().generation)

    def test_since(self) -> None:
        backlog = Backlog(generation="g")
        backlog.add(batch(("a", "1"), ("b", "2"), ("c", "3")))
        self.assertEqual([i for i, _ in backlog.since("g-1") or []], ["g-2", "g-3"])
        self.assertEqual(backlog.since("g-3"), [])
        self.assertEqual(len(backlog.since("g-0") or []), 3)

    def test_unknown(self) -> None:
        backlog = Backlog(generation="g")
        backlog.add(batch(("a", "1")))
        for lastId in ["h-1", "g-2", "g-", "g--1", "g-1x", "", "g-" + "9" * 30, "g-١"]:
            self.assertIsNone(backlog.since(lastId), lastId)

    def test_evicted(self) -> None:
        """
        Once a change is pushed out, ids before it cannot be taken up; the
        one just before the oldest kept still can.
        """
        backlog = Backlog(2, generation="g")
        backlog.add(batch(("a", "1"), ("b", "2")))
        backlog.add(batch(("c", "3")))
        self.assertIsNone(backlog.since("g-0"))
        self.assertEqual([i for i, _ in backlog.since("g-1") or []], ["g-2", "g-3"])

    def test_startOver(self) -> None:
        """
        An incomplete batch, or one larger than the backlog, starts it
        over: no earlier id can be taken up.
        """
        backlog = Backlog(2, generation="g")
        backlog.add(batch(("a", "1")))
        self.assertIsNone(backlog.add(ChangeBatch((), complete=False)))
        self.assertIsNone(backlog.since("g-1"))
        self.assertEqual(backlog.since(backlog.latest), [])
        latest = backlog.latest
        self.assertIsNone(backlog.add(batch(("a", "1"), ("b", "2"), ("c", "3"))))
        self.assertIsNone(backlog.since(latest))
