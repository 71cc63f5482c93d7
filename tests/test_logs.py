# -*- test-case-name: tests.test_logs -*-
"""
Tests for L{finger.logs}, and for log files under twistd.
"""

import io
import json as jsonModule
import os
import signal
import subprocess
from typing import Any, Optional

from twisted.internet import reactor
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase

from finger import logs
from twisted.internet.error import ConnectionRefusedError

from tests.support import CHECKOUT, TWISTD, cleanEnvironment, exchange, freePort, waitFor


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
        out = io.StringIO()
        log = Logger(namespace="n", observer=logs.journal(out))
        try:
            1 / 0
        except ZeroDivisionError:
            log.failure("oops", Failure())
        lines = out.getvalue().splitlines()
        self.assertEqual(lines[0], "<2>[n] oops")
        self.assertTrue(all(line.startswith("<2>[n] ") for line in lines))
        self.assertIn("ZeroDivisionError", lines[-1])


class JSONTests(SynchronousTestCase):
    def test_oneObjectPerLine(self) -> None:
        out = io.StringIO()
        log = Logger(namespace="finger.test", observer=logs.json(out))
        log.info("query from {peer}", peer="127.0.0.1:5")
        log.info("second")
        lines = out.getvalue().splitlines()
        self.assertEqual(len(lines), 2)
        event = jsonModule.loads(lines[0])
        self.assertEqual(event["peer"], "127.0.0.1:5")
        self.assertEqual(event["log_namespace"], "finger.test")


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
                return b"starting on" in f.read()

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
        # The access log: a batch of lines an event, "TIME Finger query from
        # PEER: QUERY" each.
        queries = [
            line.split(": ", 1)[1]
            for e in events
            for line in e.get("lines", [])
            if " Finger query from " in line
        ]
        self.assertIn("moshez", queries)
