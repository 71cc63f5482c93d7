# -*- test-case-name: tests.test_logs -*-
"""
Tests for L{finger.logs}, and for log files under twistd.
"""

import io
import json as jsonModule
import os
import signal
import subprocess
from typing import Optional

from twisted.internet import reactor
from twisted.internet.defer import Deferred, inlineCallbacks
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

    @inlineCallbacks
    def test_logFileRotation(self):  # type: ignore[no-untyped-def]
        """
        With C{--logfile}, twistd writes the log to the file and rotates it
        on SIGUSR1; with C{--logger=finger.logs.json}, it writes JSON.
        """
        where = os.path.abspath(self.mktemp())
        os.makedirs(where)
        users = os.path.join(where, "users")
        with open(users, "w") as f:
            f.write("moshez: happy\n")
        env = cleanEnvironment(PYTHONPATH=CHECKOUT)
        logfile = os.path.join(where, "finger.log")
        port = freePort()
        process = subprocess.Popen(
            [*TWISTD,
             "--nodaemon", "--pidfile=", f"--logfile={logfile}", "finger", f"--file={users}",
             f"--fingerport=tcp:{port}:interface=127.0.0.1", "--no-setter", "--webport=tcp:0:interface=127.0.0.1", "--no-pb"],
            cwd=where, env=env,
        )
        self.addCleanup(lambda: (process.poll() is None and process.kill(), process.wait()))
        def started() -> bool:
            if not os.path.exists(logfile):
                return False
            with open(logfile, "rb") as f:
                return b"starting on" in f.read()

        yield Deferred.fromCoroutine(waitFor(reactor, started, "twistd to log its start"))
        process.send_signal(signal.SIGUSR1)
        rotated = logfile + ".1"
        yield Deferred.fromCoroutine(
            waitFor(reactor, lambda: os.path.exists(rotated), "the rotated log")
        )
        self.assertTrue(os.path.exists(rotated))
        process.terminate()
        process.wait(30)

        jsonLog = open(os.path.join(where, "json.log"), "w+")
        self.addCleanup(jsonLog.close)
        process = subprocess.Popen(
            [*TWISTD,
             "--nodaemon", "--pidfile=", "--logger=finger.logs.json", "finger",
             f"--file={users}", f"--fingerport=tcp:{port}:interface=127.0.0.1", "--no-setter", "--webport=tcp:0:interface=127.0.0.1", "--no-pb"],
            cwd=where, env=env, stdout=jsonLog,
        )
        self.addCleanup(lambda: (process.poll() is None and process.kill(), process.wait()))
        async def ask() -> Optional[bytes]:
            try:
                return await exchange(reactor, f"tcp:127.0.0.1:{port}", b"moshez\r\n")
            except ConnectionRefusedError:
                return None

        answer = yield Deferred.fromCoroutine(waitFor(reactor, ask, "an answer from twistd"))
        self.assertEqual(answer, b"happy\r\n")
        process.terminate()
        process.wait(30)
        jsonLog.seek(0)
        events = [jsonModule.loads(line) for line in jsonLog.read().splitlines()]
        self.assertIn("moshez", [e.get("query") for e in events])
