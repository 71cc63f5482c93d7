"""
Tests for L{finger.logs}, and for log files under twistd.
"""

import io
import json as jsonModule
import os
import signal
import subprocess
import sys

from twisted.internet import reactor
from twisted.internet.defer import inlineCallbacks
from twisted.internet.task import deferLater
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase

from finger import logs
from twisted.internet.error import ConnectionRefusedError

from tests.support import exchange, freePort


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
        checkout = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = dict(os.environ, PYTHONPATH=checkout)
        logfile = os.path.join(where, "finger.log")
        port = freePort()
        process = subprocess.Popen(
            [sys.executable, "-c", "from twisted.scripts.twistd import run; run()",
             "--nodaemon", "--pidfile=", f"--logfile={logfile}", "finger", f"--file={users}",
             f"--fingerport=tcp:{port}:interface=127.0.0.1", "--no-setter", "--webport=tcp:0:interface=127.0.0.1", "--no-pb"],
            cwd=where, env=env,
        )
        self.addCleanup(lambda: (process.poll() is None and process.kill(), process.wait()))
        for _ in range(200):
            if os.path.exists(logfile) and b"starting on" in open(logfile, "rb").read():
                break
            yield deferLater(reactor, 0.05, lambda: None)
        process.send_signal(signal.SIGUSR1)
        for _ in range(200):
            if os.path.exists(logfile + ".1"):
                break
            yield deferLater(reactor, 0.05, lambda: None)
        self.assertTrue(os.path.exists(logfile + ".1"))
        process.terminate()
        process.wait(30)

        jsonLog = open(os.path.join(where, "json.log"), "w+")
        self.addCleanup(jsonLog.close)
        process = subprocess.Popen(
            [sys.executable, "-c", "from twisted.scripts.twistd import run; run()",
             "--nodaemon", "--pidfile=", "--logger=finger.logs.json", "finger",
             f"--file={users}", f"--fingerport=tcp:{port}:interface=127.0.0.1", "--no-setter", "--webport=tcp:0:interface=127.0.0.1", "--no-pb"],
            cwd=where, env=env, stdout=jsonLog,
        )
        self.addCleanup(lambda: (process.poll() is None and process.kill(), process.wait()))
        answer = None
        for _ in range(200):
            try:
                answer = yield exchange(reactor, f"tcp:127.0.0.1:{port}", b"moshez\r\n")
                break
            except ConnectionRefusedError:
                yield deferLater(reactor, 0.05, lambda: None)
        self.assertEqual(answer, b"happy\r\n")
        process.terminate()
        process.wait(30)
        jsonLog.seek(0)
        events = [jsonModule.loads(line) for line in jsonLog.read().splitlines()]
        self.assertIn("moshez", [e.get("query") for e in events])
