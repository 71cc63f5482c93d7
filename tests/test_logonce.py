"""
Tests for L{finger.logonce}.
"""

from typing import List

from twisted.logger import Logger, LogLevel, capturedLogs
from twisted.trial.unittest import SynchronousTestCase

from finger.logonce import LogOnce


class _Owner:
    log = Logger()

    def __init__(self) -> None:
        self.full = LogOnce(self.log)


class LogOnceTests(SynchronousTestCase):
    def lines(self, *calls: str) -> List[object]:
        """
        Run C{calls} (C{"warn"}, C{"error"} or C{"over"}) on one owner's
        L{LogOnce}; return the events logged, as (level, text, source).
        """
        owner = _Owner()
        with capturedLogs() as events:
            for call in calls:
                if call == "over":
                    owner.full.over()
                else:
                    getattr(owner.full, call)("Full at {count}", count=len(calls))
        return [
            (e["log_level"], e["log_format"], e["count"], e["log_source"] is owner)
            for e in events
        ]

    def test_onceWhileItLasts(self) -> None:
        """
        The first line is logged, with its fields and its owner as the
        source; the next ones are not while the condition lasts.
        """
        self.assertEqual(
            self.lines("warn", "warn", "error"), [(LogLevel.warn, "Full at {count}", 3, True)]
        )

    def test_againOnceOver(self) -> None:
        """
        Once the condition is over, the next line is logged again, at its
        own level.
        """
        self.assertEqual(
            self.lines("warn", "over", "error", "error"),
            [
                (LogLevel.warn, "Full at {count}", 4, True),
                (LogLevel.error, "Full at {count}", 4, True),
            ],
        )
