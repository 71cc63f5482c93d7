# -*- test-case-name: tests.test_tac -*-
"""
Tests for C{finger.tac}, run by a real C{twistd}.
"""

import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
from typing import Dict, List

from twisted.internet import reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.trial.unittest import TestCase

from tests.support import CHECKOUT, TWISTD, cleanEnvironment, exchange, freePort, waitFor

_tac = os.path.join(CHECKOUT, "finger.tac")


class TacTests(TestCase):
    timeout = 90

    def setUp(self) -> None:
        # Under /tmp, so the unprivileged user can reach it whatever the
        # checkout's permissions.
        self.state = tempfile.mkdtemp(prefix="finger-tac-")
        os.chmod(self.state, 0o755)
        self.addCleanup(shutil.rmtree, self.state, True)
        self.fingerPort = freePort()
        self.setterPort = freePort()

    def environment(self, **extra: str) -> Dict[str, str]:
        # Clean, so that twistd runs the installed package under trial -j
        # as it does without it.
        env = cleanEnvironment()
        env.update(
            FINGER_STATE_DIR=os.path.join(self.state, "data"),
            FINGER_PORT=f"tcp:{self.fingerPort}:interface=127.0.0.1",
            FINGER_SETTER_PORT=f"tcp:{self.setterPort}:interface=127.0.0.1",
            FINGER_PB_PORT="tcp:0:interface=127.0.0.1",
            FINGER_WEB_PORT="tcp:0:interface=127.0.0.1",
        )
        env.update(extra)
        return env

    def startTac(self) -> subprocess.Popen:  # type: ignore[type-arg]
        process = subprocess.Popen(
            TWISTD + ["--nodaemon", "--pidfile=", "--python", _tac],
            cwd=self.state,
            env=self.environment(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

        def stop() -> None:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(30)
            assert process.stderr is not None
            process.stderr.close()

        self.addCleanup(stop)
        return process

    def waitForPort(self, port: int, process: subprocess.Popen) -> "Deferred[object]":  # type: ignore[type-arg]
        """
        Wait until something listens on C{port}; fail at once if twistd
        exits first.
        """

        def listening() -> bool:
            if process.poll() is not None:
                self.fail(f"twistd exited: {process.stderr.read().decode()}")  # type: ignore[union-attr]
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", port)) == 0

        return Deferred.fromCoroutine(waitFor(reactor, listening, f"a listener on port {port}"))

    def finger(self, query: bytes):  # type: ignore[no-untyped-def]
        return exchange(reactor, f"tcp:127.0.0.1:{self.fingerPort}", query)

    def set(self, data: bytes):  # type: ignore[no-untyped-def]
        return exchange(reactor, f"tcp:127.0.0.1:{self.setterPort}", data)

    @inlineCallbacks
    def test_runsAsNobodyAfterBinding(self):  # type: ignore[no-untyped-def]
        """
        Started as root, the tac binds, drops to nobody/nogroup, and still
        answers queries and saves statuses, in a file the dropped user owns,
        kept across restarts.
        """
        if os.geteuid() != 0:
            raise self.skipTest("dropping privileges needs root")
        try:
            nobody = pwd.getpwnam("nobody").pw_uid
            nogroup = grp.getgrnam("nogroup").gr_gid
        except KeyError:
            raise self.skipTest("this system has no nobody/nogroup")
        process = self.startTac()
        yield self.waitForPort(self.setterPort, process)
        expected = [[str(nobody)] * 4, [str(nogroup)] * 4]

        def ids() -> List[List[str]]:
            with open(f"/proc/{process.pid}/status") as f:
                return [line.split()[1:] for line in f if line.startswith(("Uid:", "Gid:"))]

        # Privileges are dropped once every listener has started.
        yield Deferred.fromCoroutine(
            waitFor(reactor, lambda: ids() == expected, f"twistd to run as {expected}")
        )
        self.assertEqual(ids(), expected)

        self.assertEqual((yield self.finger(b"moshez\r\n")), b"happy and well\r\n")
        self.assertEqual((yield self.finger(b"nobody\r\n")), b"No such user\r\n")
        self.assertEqual(
            (yield self.set("zoë\nau café ☕\n".encode())), "OK: status of zoë saved\r\n".encode()
        )
        self.assertTrue((yield self.set(b"a b\nx\n")).startswith(b"Error: invalid user name"))
        self.assertEqual(
            (yield self.finger("/W zoë\r\n".encode())),
            "Login: zoë\r\nStatus: au café ☕\r\n".encode(),
        )

        statusFile = os.path.join(self.state, "data", "users")
        st = os.stat(statusFile)
        self.assertEqual((st.st_uid, st.st_gid), (nobody, nogroup))
        with open(statusFile, "rb") as f:
            self.assertIn("zoë: au café ☕\n".encode(), f.read())

        process.send_signal(signal.SIGTERM)
        # twistd ends itself with the signal it got, to report it.
        self.assertIn(process.wait(30), (0, -signal.SIGTERM))
        process = self.startTac()
        yield self.waitForPort(self.fingerPort, process)
        self.assertEqual((yield self.finger("zoë\r\n".encode())), "au café ☕\r\n".encode())

    def test_portInUse(self) -> None:
        """
        A listener that cannot bind stops twistd with one clear line on
        standard error and a non-zero exit status.
        """
        with socket.socket() as holder:
            holder.bind(("127.0.0.1", self.fingerPort))
            holder.listen(1)
            result = subprocess.run(
                TWISTD + ["--nodaemon", "--pidfile=", "--python", _tac],
                cwd=self.state,
                env=self.environment(FINGER_USER=pwd.getpwuid(os.getuid()).pw_name),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                timeout=60,
            )
        self.assertNotEqual(result.returncode, 0)
        # twistd -n sends standard error to its log, on standard output.
        output = result.stdout.decode()
        self.assertNotIn("Traceback", output)
        lines: List[str] = [line for line in output.splitlines() if "finger:" in line]
        self.assertEqual(len(lines), 1, output)
        self.assertIn(f"cannot listen on tcp:{self.fingerPort}", lines[0])
        self.assertIn("address in use", lines[0])
