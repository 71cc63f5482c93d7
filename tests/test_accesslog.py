# -*- test-case-name: tests.test_accesslog -*-
"""
Tests for L{finger.accesslog}.
"""

import io
from typing import List

from twisted.internet.task import Clock
from twisted.logger import capturedLogs
from twisted.trial.unittest import SynchronousTestCase

from finger.accesslog import FLUSH_INTERVAL, AccessLog, FileWriter, LogWriter, logTime


class AccessLogTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.batches: List[List[str]] = []
        self.log = AccessLog(self.clock, self.batches.append, maxPending=3)

    def test_batchWithinInterval(self) -> None:
        """
        Lines added while the log runs are written together, at most
        C{interval} seconds after the first; no timer is left after.
        """
        self.log.start()
        self.log.add("one")
        self.clock.advance(0.5)
        self.log.add("two")
        self.assertEqual(self.batches, [])
        self.clock.advance(FLUSH_INTERVAL - 0.5)
        self.assertEqual(self.batches, [["one", "two"]])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_batchWhenFull(self) -> None:
        """
        As soon as C{maxPending} lines wait, they are written.
        """
        self.log.start()
        for line in ("a", "b", "c", "d"):
            self.log.add(line)
        self.assertEqual(self.batches, [["a", "b", "c"]])
        self.clock.advance(FLUSH_INTERVAL)
        self.assertEqual(self.batches, [["a", "b", "c"], ["d"]])

    def test_stopFlushes(self) -> None:
        """
        Stopping writes what waits and keeps no timer; a log not started
        keeps no timer either.
        """
        self.log.add("early")
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.log.start()
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)
        self.log.add("late")
        self.log.stop()
        self.assertEqual(self.batches, [["early", "late"]])
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.log.stop()
        self.assertEqual(self.batches, [["early", "late"]])

    def test_now(self) -> None:
        """
        The time stamp is UTC, to the second, and follows the clock.
        """
        self.clock.advance(86400 + 61.9)
        self.assertEqual(self.log.now(), "1970-01-02T00:01:01Z")
        self.assertEqual(logTime(0), "1970-01-01T00:00:00Z")
        self.clock.advance(0.2)
        self.assertEqual(self.log.now(), "1970-01-02T00:01:02Z")

    def test_logWriter(self) -> None:
        """
        The default writer makes one event a batch, with the lines in its
        C{lines} field and its text.
        """
        log = AccessLog(self.clock)
        self.assertIsInstance(log.writer, LogWriter)
        with capturedLogs() as events:
            log.add("x 1")
            log.add("x 2")
            log.flush()
        [event] = events
        self.assertEqual(event["lines"], ["x 1", "x 2"])
        self.assertEqual(event["log_namespace"], "finger.access")
        self.assertEqual(event["text"], "x 1\nx 2")

    def test_fileWriter(self) -> None:
        """
        L{FileWriter} writes one line a request, and appends to a file.
        """
        out = io.StringIO()
        FileWriter(out)(["a", "b"])
        self.assertEqual(out.getvalue(), "a\nb\n")
        path = self.mktemp()
        with open(path, "w") as f:
            f.write("old\n")
        writer = FileWriter.open(path)
        self.addCleanup(writer.file.close)
        writer(["new"])
        with open(path) as f:
            self.assertEqual(f.read(), "old\nnew\n")
