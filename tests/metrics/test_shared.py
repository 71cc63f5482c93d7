"""
Tests for L{finger.metrics.shared} and L{finger.metrics.exposition}: the
workers' snapshots, summed by the main process.
"""

import json
import os

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from finger.metrics.tally import CONNECTIONS, DURATION, READY, REQUESTS, USERS, Tally
from tests.metrics.support import SKIP


def _tally(answered: int, connections: int, ready: int, users: int = 1) -> Tally:
    tally = Tally()
    tally.add(REQUESTS, ("finger", "answered"), answered)
    tally.observe(DURATION, ("finger",), 0.002)
    tally.set(CONNECTIONS, connections, ("finger",))
    tally.set(READY, ready)
    tally.set(USERS, users)
    if not ready:
        tally.notReady = "the database is not reachable"
    return tally


class SnapshotTests(SynchronousTestCase):
    skip = SKIP

    def setUp(self) -> None:
        from finger.metrics.shared import SnapshotWriter, WorkerSnapshots

        self.path = self.mktemp()
        os.mkdir(self.path)
        self.snapshots = WorkerSnapshots(self.path)
        self.clock = Clock()
        self.writers = {}
        for pid, tally in ((101, _tally(5, 2, 1)), (102, _tally(7, 3, 0, users=2))):
            writer = SnapshotWriter(tally, self.path, self.clock, pid=pid)
            writer.startService()
            self.addCleanup(writer.stopService)
            self.writers[pid] = (writer, tally)

    def sample(self, name: str, **labels: str) -> object:
        from finger.metrics.exposition import TallyCollector, registryOf

        return registryOf(TallyCollector(self.snapshots)).get_sample_value(name, labels)

    def test_summed(self) -> None:
        """
        Counters and histograms are the workers' sums; the open
        connections too, but the readiness is the least ready worker's
        and the users the most any serves.
        """
        self.assertEqual(
            self.sample("finger_requests_total", frontend="finger", outcome="answered"), 12
        )
        self.assertEqual(
            self.sample("finger_request_duration_seconds_bucket", frontend="finger", le="0.0025"),
            2,
        )
        self.assertEqual(self.sample("finger_connections_open", listener="finger"), 5)
        self.assertEqual(self.sample("finger_backend_ready"), 0)
        self.assertEqual(self.sample("finger_backend_users"), 2)
        self.assertEqual(
            self.sample("finger_requests_total", frontend="irc", outcome="answered"), 0
        )

    def test_everySecond(self) -> None:
        """
        A worker's counts reach the main process within a second, in a
        file that is always whole.
        """
        writer, tally = self.writers[101]
        tally.add(REQUESTS, ("finger", "answered"), 10)
        self.assertEqual(
            self.sample("finger_requests_total", frontend="finger", outcome="answered"), 12
        )
        self.clock.advance(1)
        self.assertEqual(
            self.sample("finger_requests_total", frontend="finger", outcome="answered"), 22
        )
        self.assertEqual(sorted(os.listdir(self.path)), ["101.json", "102.json"])
        with open(os.path.join(self.path, "101.json")) as f:
            self.assertEqual(
                json.load(f)["counters"]["finger_requests"]["finger answered"], 15
            )

    def test_died(self) -> None:
        """
        A worker that died keeps its counts, loses its gauges, and its
        restart is counted; the readiness is the live workers'.
        """
        from finger.metrics.exposition import TallyCollector

        writer, _ = self.writers[102]
        writer.stopService()
        self.snapshots.died(102, True)
        self.assertEqual(os.listdir(self.path), ["101.json"])
        self.assertEqual(
            self.sample("finger_requests_total", frontend="finger", outcome="answered"), 12
        )
        self.assertEqual(self.sample("finger_connections_open", listener="finger"), 2)
        self.assertEqual(self.sample("finger_backend_ready"), 1)
        self.assertEqual(self.sample("finger_worker_restarts_total"), 1)
        self.assertIsNone(TallyCollector(self.snapshots).notReady())
        # A second death adds its counts to the kept ones.
        self.writers[101][0].stopService()
        self.snapshots.died(101, False)
        self.assertEqual(
            self.sample("finger_requests_total", frontend="finger", outcome="answered"), 12
        )
        self.assertEqual(self.sample("finger_worker_restarts_total"), 1)
        self.assertEqual(
            TallyCollector(self.snapshots).notReady(), "no worker is serving yet"
        )

    def test_notReady(self) -> None:
        """
        The service is not ready while a live worker says why not.
        """
        from finger.metrics.exposition import TallyCollector

        self.assertEqual(
            TallyCollector(self.snapshots).notReady(), "the database is not reachable"
        )
