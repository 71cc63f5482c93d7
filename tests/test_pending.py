"""
Tests for L{finger.pending}: a client's requests, cancelled together when
it leaves.
"""

from twisted.internet.defer import Deferred, succeed
from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from finger.pending import Pending


class PendingTests(SynchronousTestCase):
    """
    L{Pending}: the requests under way for one client, cancelled when it
    leaves.
    """

    def test_answered(self) -> None:
        """
        While the client stays, a tracked request fires as it would have,
        and is forgotten.
        """
        pending = Pending()
        d: Deferred[str] = Deferred()
        tracked = pending.track(d)
        self.assertEqual(len(pending), 1)
        d.callback("happy")
        self.assertEqual(self.successResultOf(tracked), "happy")
        self.assertEqual(len(pending), 0)
        self.assertEqual(self.successResultOf(pending.track(succeed("now"))), "now")

    def test_leave(self) -> None:
        """
        When the client leaves, every request under way is cancelled and
        fires with L{None}; one tracked after that is cancelled at once.
        """
        pending = Pending()
        cancelled: List[str] = []
        first = pending.track(Deferred(lambda d: cancelled.append("first")))
        second = pending.track(Deferred(lambda d: cancelled.append("second")))
        pending.leave()
        self.assertEqual(sorted(cancelled), ["first", "second"])
        self.assertIsNone(self.successResultOf(first))
        self.assertIsNone(self.successResultOf(second))
        late = pending.track(Deferred(lambda d: cancelled.append("late")))
        self.assertEqual(cancelled[-1], "late")
        self.assertIsNone(self.successResultOf(late))
        self.assertEqual(len(pending), 0)

    def test_failureAfterLeaving(self) -> None:
        """
        A request that fails, rather than being cancelled, when its client
        leaves is logged, since nobody else sees it.
        """
        pending = Pending()
        d: Deferred[str] = Deferred(lambda d: d.errback(RuntimeError("on fire")))
        tracked = pending.track(d)
        with capturedLogs() as events:
            pending.leave()
        self.assertIsNone(self.successResultOf(tracked))
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        self.assertIn("after the client left", formatEvent(events[0]))
