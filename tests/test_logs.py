# -*- test-case-name: tests.test_logs -*-
"""
Tests for L{finger.logs}, and for log files under twistd.
"""

import io
import json as jsonModule
import os
import signal
import subprocess
from typing import IO, Any, Callable, Dict, List, Optional

from twisted.internet import reactor
from twisted.logger import Logger, LogLevel
from twisted.trial.unittest import SynchronousTestCase, TestCase

from finger import logs
from twisted.internet.error import ConnectionRefusedError

from tests.support import CHECKOUT, TWISTD, cleanEnvironment, exchange, freePort, waitFor


def _loggedFailure(observer: Callable[[IO[str]], Any], **fields: Any) -> str:
    """
    What C{observer}, made to write to a string, writes for a
    L{ZeroDivisionError} caught and logged as C{Logger.failure("oops",
    **fields)} in the namespace C{n}.
    """
    out = io.StringIO()
    log = Logger(namespace="n", observer=observer(out))
    try:
        1 / 0
    except ZeroDivisionError:
        log.failure("oops", **fields)
    return out.getvalue()


class JournalTests(SynchronousTestCase):
    def test_priorities(self) -> None:
        """
        Each line carries the sd-daemon priority of its event and no time
        stamp.
        """
        out = io.StringIO()
        log = Logger(namespace="finger.test", observer=logs.journal(out))
        log.info("hello {who}", who="world")
        log.error("bad")
        log.warn("careful")
        self.assertEqual(
            out.getvalue(),
            "<6>[finger.test] hello world\n<3>[finger.test] bad\n<4>[finger.test] careful\n",
        )

    def test_traceback(self) -> None:
        lines = _loggedFailure(logs.journal).splitlines()
        self.assertEqual(lines[0], "<2>[n] oops")
        self.assertTrue(all(line.startswith("<2>[n] ") for line in lines))
        self.assertIn("ZeroDivisionError", lines[-1])


class PortChatterTests(SynchronousTestCase):
    """
    Twisted's own line for each port it starts and stops listening on is
    left out of the journal and the JSON log: the service says where it
    listens, with the address (L{finger.net.listen.Announcement}).
    """

    def test_legacyLines(self) -> None:
        out = io.StringIO()
        observer = logs.journal(out)
        # What twisted.internet.tcp.Port logs, as twisted.python.log hands
        # it on to the new observers.
        for text in [
            "FingerFactoryFromService (LimitingFactory) starting on 79",
            "(TCP Port 79 Closed)",
            "(UNIX Port /run/finger.sock Closed)",
            "a line that mentions starting on nothing in particular, kept",
        ]:
            observer(
                {
                    "message": (text,),
                    "isError": 0,
                    "system": "-",
                    "log_system": "-",
                    "log_time": 1.0,
                    "log_text": text,
                    "log_format": "{log_text}",
                    "log_level": LogLevel.info,
                    "log_namespace": "log_legacy",
                }
            )
        Logger(namespace="finger.listen", observer=observer).info("finger starting on 79")
        self.assertEqual(
            out.getvalue(),
            "<6>[-] a line that mentions starting on nothing in particular, kept\n"
            "<6>[finger.listen] finger starting on 79\n",
        )


class JSONTests(SynchronousTestCase):
    def events(self, *logged: Dict[str, Any]) -> List[Dict[str, Any]]:
        out = io.StringIO()
        observer = logs.json(out)
        for event in logged:
            observer(event)
        return [jsonModule.loads(line) for line in out.getvalue().splitlines()]

    def test_oneObjectPerLine(self) -> None:
        """
        Each event is one object on one line: the time in UTC (ISO 8601),
        the level, the namespace, the text, and the event's own fields.
        """
        out = io.StringIO()
        log = Logger(namespace="finger.test", observer=logs.json(out))
        log.info("query from {peer}", peer="127.0.0.1:5", when=["a", 1])
        log.warn("second\nline")
        lines = out.getvalue().splitlines()
        self.assertEqual(len(lines), 2)
        first, second = (jsonModule.loads(line) for line in lines)
        self.assertRegex(first["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        del first["time"]
        self.assertEqual(
            first,
            {
                "level": "info",
                "namespace": "finger.test",
                "text": "query from 127.0.0.1:5",
                "peer": "127.0.0.1:5",
                "when": ["a", 1],
            },
        )
        self.assertEqual((second["level"], second["text"]), ("warn", "second\nline"))

    def test_time(self) -> None:
        [event] = self.events({"log_format": "x", "log_time": 1700000000.25})
        self.assertEqual(event["time"], "2023-11-14T22:13:20.250Z")

    def test_pipelineFields(self) -> None:
        """
        The front-end comes from the module that logged the event; the
        peer and the outcome from the event; a worker's event says which
        worker.
        """
        events = self.events(
            {
                "log_format": "Back-end gave no answer",
                "log_namespace": "finger.frontends.web.xmlrpc.XMLRPCFinger",
                "log_level": LogLevel.warn,
                "log_time": 1.0,
                "peer": "[::1]:5",
                "outcome": "timed out",
            },
            {
                "log_format": "Refusing {peer}: rate limit",
                "log_namespace": "finger.net.limits.LimitingFactory",
                "log_level": LogLevel.info,
                "log_time": 1.0,
                "log_system": "worker 2 (pid 4242)",
                "peer": "192.0.2.1",
                "outcome": "refused: rate limit",
                "worker": 2,
                "workerPid": 4242,
            },
        )
        self.assertEqual(
            [(e.get("frontend"), e["peer"], e["outcome"], e.get("system")) for e in events],
            [
                ("xmlrpc", "[::1]:5", "timed out", None),
                (None, "192.0.2.1", "refused: rate limit", "worker 2 (pid 4242)"),
            ],
        )
        self.assertEqual(events[1]["text"], "Refusing 192.0.2.1: rate limit")
        self.assertEqual(events[1]["worker"], 2)

    def test_frontends(self) -> None:
        self.assertEqual(
            [
                logs.frontendOf(namespace)
                for namespace in [
                    "finger.frontends.finger.FingerProtocol",
                    "finger.frontends.setter.FingerSetterProtocol",
                    "finger.frontends.web.site.WebSite",
                    "finger.frontends.web.webfinger",
                    "finger.frontends.pb.broker.FingerBroker",
                    "finger.frontends.irc.bot.FingerBot",
                    "finger.frontends.fingerprint",
                    "finger.backends.file.FileFingerService",
                ]
            ],
            ["finger", "setter", "web", "webfinger", "pb", "irc", None, None],
        )

    def test_failure(self) -> None:
        written = _loggedFailure(logs.json, outcome="failed")
        [event] = [jsonModule.loads(line) for line in written.splitlines()]
        self.assertEqual(event["level"], "critical")
        self.assertTrue(event["text"].startswith("oops\nTraceback"))
        self.assertIn("ZeroDivisionError", event["text"])
        self.assertEqual(event["outcome"], "failed")

    def test_accessBatch(self) -> None:
        """
        A batch of the access log is one object a request, each with its
        front-end, peer, and query or request and HTTP status.
        """
        events = self.events(
            {
                "log_format": "Access log:\n{text}",
                "log_namespace": "finger.access",
                "log_level": LogLevel.info,
                "log_time": 2.0,
                "log_system": "worker 1 (pid 7)",
                "text": "...",
                "lines": [
                    "2026-12-06T21:19:37Z Finger query from 127.0.0.1:48002: moshez",
                    '"::1" - - [06/Dec/2026:21:19:37 +0000] "GET /moshez HTTP/1.1" 404 52 '
                    '"-" "curl/8"',
                ],
            }
        )
        for event in events:
            del event["time"]
        self.assertEqual(
            events,
            [
                {
                    "level": "info",
                    "namespace": "finger.access",
                    "system": "worker 1 (pid 7)",
                    "text": "2026-12-06T21:19:37Z Finger query from 127.0.0.1:48002: moshez",
                    "frontend": "finger",
                    "peer": "127.0.0.1:48002",
                    "query": "moshez",
                },
                {
                    "level": "info",
                    "namespace": "finger.access",
                    "system": "worker 1 (pid 7)",
                    "text": '"::1" - - [06/Dec/2026:21:19:37 +0000] "GET /moshez HTTP/1.1" '
                    '404 52 "-" "curl/8"',
                    "frontend": "web",
                    "peer": "::1",
                    "request": "GET /moshez HTTP/1.1",
                    "status": 404,
                },
            ],
        )


class TwistdLoggingTests(TestCase):
    timeout = 60

    def twistd(self, *twistdOptions: str, **popen: Any) -> "subprocess.Popen[bytes]":
        """
        Run C{twistd finger} from the checkout with C{twistdOptions}, the
        status file L{statusFile}, and finger on L{port}; kill it when the
        test ends.
        """
        process = subprocess.Popen(
            [
                *TWISTD,
                "--nodaemon",
                "--pidfile=",
                *twistdOptions,
                "finger",
                f"--file={self.statusFile}",
                f"--fingerport=tcp:{self.port}:interface=127.0.0.1",
                "--no-setter",
                "--webport=tcp:0:interface=127.0.0.1",
                "--no-pb",
            ],
            cwd=self.where,
            env=cleanEnvironment(PYTHONPATH=CHECKOUT),
            **popen,
        )

        def stop() -> None:
            if process.poll() is None:
                process.kill()
            process.wait()

        self.addCleanup(stop)
        return process

    async def test_logFileRotation(self) -> None:
        """
        With C{--logfile}, twistd writes the log to the file and rotates it
        on SIGUSR1; with C{--logger=finger.logs.json}, it writes JSON.
        """
        self.where = os.path.abspath(self.mktemp())
        os.makedirs(self.where)
        self.statusFile = os.path.join(self.where, "users")
        with open(self.statusFile, "w") as f:
            f.write("moshez: happy\n")
        self.port = freePort()
        logfile = os.path.join(self.where, "finger.log")
        process = self.twistd(f"--logfile={logfile}")

        def started() -> bool:
            if not os.path.exists(logfile):
                return False
            with open(logfile, "rb") as f:
                return f"finger on 127.0.0.1:{self.port}".encode() in f.read()

        await waitFor(reactor, started, "twistd to log its start")
        process.send_signal(signal.SIGUSR1)
        rotated = logfile + ".1"
        await waitFor(reactor, lambda: os.path.exists(rotated), "the rotated log")
        self.assertTrue(os.path.exists(rotated))
        process.terminate()
        process.wait(30)

        jsonLog = open(os.path.join(self.where, "json.log"), "w+")
        self.addCleanup(jsonLog.close)
        process = self.twistd("--logger=finger.logs.json", stdout=jsonLog)

        async def ask() -> Optional[bytes]:
            try:
                return await exchange(reactor, f"tcp:127.0.0.1:{self.port}", b"moshez\r\n")
            except ConnectionRefusedError:
                return None

        answer = await waitFor(reactor, ask, "an answer from twistd")
        self.assertEqual(answer, b"happy\r\n")
        process.terminate()
        process.wait(30)
        jsonLog.seek(0)
        events = [jsonModule.loads(line) for line in jsonLog.read().splitlines()]
        # The access log: an object a query.
        [query] = [e for e in events if e.get("query") == "moshez"]
        self.assertEqual(query["frontend"], "finger")
        self.assertRegex(query["peer"], r"^127\.0\.0\.1:\d+$")
        # Where each listener listens, once, and none of Twisted's own lines.
        texts = [e["text"] for e in events]
        self.assertIn(f"finger on 127.0.0.1:{self.port}", texts)
        self.assertEqual(len([t for t in texts if t.startswith("web on 127.0.0.1:")]), 1)
        self.assertIn(f"finger stopped listening on 127.0.0.1:{self.port}", texts)
        self.assertEqual([t for t in texts if "starting on" in t or "Closed)" in t], [])
        self.assertTrue(any(t.startswith("Serving 1 user from the status file") for t in texts))
