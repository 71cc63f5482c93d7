# -*- test-case-name: tests.app.test_relay -*-
"""
Tests for L{finger.app.relay}: a worker's log events, written as JSON lines
and read back in the main process.
"""

from typing import Any, Dict, List

from twisted.logger import (
    LogLevel,
    capturedLogs,
    eventAsJSON,
    formatEvent,
    formatEventAsClassicLogText,
)
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from finger.app.relay import READY, LineLog
from finger.app.workers import WorkerProcess
from tests.app.test_workers import KILLED, fakeSupervisor
from tests.support import chunked


class RelayTests(SynchronousTestCase):
    def relayed(self, number: int, pid: int, *events: Dict[str, Any]) -> List[Dict[str, Any]]:
        """
        Write C{events} as a worker does (L{LineLog}), feed them to the
        main process's side in pieces cut anywhere, and return what it logs.
        """
        written: List[bytes] = []

        class Transport:
            write = written.append

        log = LineLog()
        log.writeTo(Transport())
        for event in events:
            log(event)
        data = b"".join(written)
        _, supervisor = fakeSupervisor()
        worker = WorkerProcess(supervisor, number)
        worker.pid = pid
        with capturedLogs() as relayed:
            for piece in chunked(data, [5, 17, 40, 41, 90]):
                worker.childDataReceived(1, piece)
        return list(relayed)

    def test_events(self) -> None:
        """
        A worker's events come out in the main process's log whole, with
        the level, namespace, fields and text the worker gave them, shown
        as the worker's (C{log_system}), and no namespace in the text.
        """
        events = self.relayed(
            2,
            42,
            {"log_level": LogLevel.info, "log_namespace": "finger.x", "log_format": "one {n}",
             "n": 1, "peer": "127.0.0.1:5", "log_time": 100.0},
            {"log_level": LogLevel.warn, "log_namespace": "log_legacy", "log_format": "two",
             "log_time": 101.0},
        )
        self.assertEqual(
            [(e["log_level"], e["log_namespace"], formatEvent(e)) for e in events],
            [(LogLevel.info, "finger.x", "one 1"), (LogLevel.warn, "log_legacy", "two")],
        )
        self.assertEqual(events[0]["peer"], "127.0.0.1:5")
        self.assertEqual(events[0]["log_time"], 100.0)
        self.assertEqual(
            [(e["log_system"], e["worker"], e["workerPid"]) for e in events],
            [("worker 2 (pid 42)", 2, 42)] * 2,
        )
        self.assertEqual(
            formatEventAsClassicLogText(events[0], lambda t: "T"), "T [worker 2 (pid 42)] one 1\n"
        )

    def test_severalLines(self) -> None:
        """
        An event of several lines (a batch of the access log) is relayed as
        one event: it costs one event in the main process, not one a query.
        """
        events = self.relayed(
            1,
            7,
            {"log_level": LogLevel.info, "log_namespace": "finger.access",
             "log_format": "Access log:\n{text}", "text": "q1\nq2"},
        )
        self.assertEqual([formatEvent(e) for e in events], ["Access log:\nq1\nq2"])

    def test_failure(self) -> None:
        """
        A worker's failure comes out with its traceback.
        """
        try:
            1 / 0
        except ZeroDivisionError:
            failure = Failure()
        [event] = self.relayed(
            1,
            7,
            {"log_level": LogLevel.critical, "log_namespace": "finger.lookup",
             "log_format": "Back-end failed", "log_failure": failure, "log_time": 1.0},
        )
        text = formatEventAsClassicLogText(event, lambda t: "T")
        self.assertTrue(text.startswith("T [worker 1 (pid 7)] Back-end failed\n"), text)
        self.assertIn("ZeroDivisionError", text)
        self.assertIn("1 / 0", text)
        # The relayed failure is logged in this process too.
        self.assertEqual(len(self.flushLoggedErrors()), 1)

    def test_notEvents(self) -> None:
        """
        What a worker writes that is not an event (it failed before it
        could log) is relayed a line at a time, its standard error at error
        level.
        """
        _, supervisor = fakeSupervisor()
        worker = WorkerProcess(supervisor, 2)
        worker.pid = 42
        with capturedLogs() as events:
            worker.childDataReceived(2, b"Traceback\n  File x\n{not json\n")
        self.assertEqual(
            [(e["log_level"], formatEvent(e)) for e in events],
            [(LogLevel.error, "worker 2 (pid 42): Traceback"),
             (LogLevel.error, "worker 2 (pid 42):   File x"),
             (LogLevel.error, "worker 2 (pid 42): {not json")],
        )

    def test_portChatterLeftOut(self) -> None:
        """
        Twisted's own lines about each port ("... starting on 79") are not
        relayed: the main process says where the service listens.
        """
        events = self.relayed(
            1,
            7,
            {"log_namespace": "log_legacy", "log_format": "{log_text}",
             "log_text": "FingerFactoryFromService (LimitingFactory) starting on 79",
             "log_level": LogLevel.info},
            {"log_namespace": "log_legacy", "log_format": "{log_text}",
             "log_text": "(TCP Port 79 Closed)", "log_level": LogLevel.info},
        )
        self.assertEqual(events, [])

    def test_ready(self) -> None:
        """
        A worker is counted ready when it logs the event with the
        L{READY} field, and no longer once it has ended.
        """
        reactor, supervisor = fakeSupervisor()
        supervisor.startService()
        self.assertEqual(supervisor.notReady(), "2 of 2 workers not serving yet")
        for number in (1, 2):
            worker = supervisor.workers[number]
            with capturedLogs():
                worker.childDataReceived(
                    1,
                    eventAsJSON({"log_format": "Serving", READY: True}).encode() + b"\n",
                )
        self.assertEqual(supervisor.ready, {1, 2})
        self.assertIsNone(supervisor.notReady())
        with capturedLogs():
            reactor.spawned[0].end(KILLED)
        self.assertEqual(supervisor.notReady(), "1 of 2 workers not serving yet")
