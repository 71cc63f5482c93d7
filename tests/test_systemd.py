# -*- test-case-name: tests.test_systemd -*-
"""
Tests for running under systemd: socket activation, and the unit files in
C{etc/systemd}.
"""

import os
import shlex
import socket
import subprocess
import sys
import textwrap
from typing import Dict, List

from twisted.internet import reactor
from twisted.internet.defer import inlineCallbacks
from twisted.python.reflect import namedAny
from twisted.trial.unittest import SynchronousTestCase, TestCase

from finger.app import tap

from tests.support import CHECKOUT, cleanEnvironment, exchange

# Does what systemd does for a socket-activated service: the listening
# sockets become file descriptors 3, 4, ... and LISTEN_FDS, LISTEN_PID and
# LISTEN_FDNAMES describe them; then the service's command runs in the same
# process (so LISTEN_PID is its pid).
_LAUNCHER = textwrap.dedent(
    """
    import os, sys
    fds = [int(fd) for fd in sys.argv[1].split(",")]
    # Out of the way first, so no target overwrites a source.
    high = [os.dup2(fd, 200 + i) for i, fd in enumerate(fds)]
    for target, fd in enumerate(high, 3):
        os.dup2(fd, target)
    for fd in set(high) | set(fds):
        if fd >= 3 + len(fds):
            os.close(fd)
    os.environ["LISTEN_FDS"] = str(len(fds))
    os.environ["LISTEN_PID"] = str(os.getpid())
    os.environ["LISTEN_FDNAMES"] = sys.argv[2]
    os.execv(sys.executable, [sys.executable] + sys.argv[3:])
    """
)


class SocketActivationTests(TestCase):
    timeout = 60

    @inlineCallbacks
    def test_activated(self):  # type: ignore[no-untyped-def]
        """
        Given listening sockets the way systemd passes them, and C{systemd:}
        endpoint descriptions naming them, the service serves on them.
        """
        where = os.path.abspath(self.mktemp())
        os.makedirs(where)
        users = os.path.join(where, "users")
        with open(users, "w") as f:
            f.write("moshez: happy and well\n")
        sockets = []
        for name in ["finger", "setter"]:
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            s.listen(128)
            sockets.append(s)
        ports = [s.getsockname()[1] for s in sockets]
        process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _LAUNCHER,
                ",".join(str(s.fileno()) for s in sockets),
                "finger:setter",
                "-c",
                "from twisted.scripts.twistd import run; run()",
                "--nodaemon",
                "--pidfile=",
                "finger",
                f"--file={users}",
                "--fingerport=systemd:domain=INET:name=finger",
                "--setterport=systemd:domain=INET:name=setter",
                "--webport=tcp:0:interface=127.0.0.1",
                "--no-pb",
            ],
            cwd=where,
            env=cleanEnvironment(PYTHONPATH=CHECKOUT),
            pass_fds=[s.fileno() for s in sockets],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for s in sockets:
            # Only the service holds them now, as under systemd.
            s.close()

        def stop() -> None:
            if process.poll() is None:
                process.terminate()
            process.communicate(timeout=30)

        self.addCleanup(stop)
        # The sockets listen from the start; connections queue until the
        # service accepts them.
        answer = yield exchange(reactor, f"tcp:127.0.0.1:{ports[0]}", b"moshez\r\n", timeout=30)
        if answer != b"happy and well\r\n":
            if process.poll() is None:
                process.terminate()
            self.fail(process.communicate(timeout=30)[0].decode())
        reply = yield exchange(reactor, f"tcp:127.0.0.1:{ports[1]}", b"moshez\nactivated\n")
        self.assertEqual(reply, b"OK: status of moshez saved\r\n")
        answer = yield exchange(reactor, f"tcp:127.0.0.1:{ports[0]}", b"moshez\r\n")
        self.assertEqual(answer, b"activated\r\n")


def _unit(name: str) -> Dict[str, List[str]]:
    """
    Read a systemd unit file into key to values (keys may repeat),
    joining continued lines.
    """
    with open(os.path.join(CHECKOUT, "etc", "systemd", name)) as f:
        text = f.read().replace("\\\n", " ")
    unit: Dict[str, List[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "[")):
            continue
        key, _, value = line.partition("=")
        unit.setdefault(key.strip(), []).append(value.strip())
    return unit


class UnitFileTests(SynchronousTestCase):
    """
    The units in C{etc/systemd} start the service with options it accepts,
    sandboxed, as an unprivileged user.
    """

    def fingerArguments(self, unit: Dict[str, List[str]]) -> List[str]:
        [command] = unit["ExecStart"]
        words = shlex.split(command)
        twistdOptions = words[1 : words.index("finger")]
        self.assertIn("--nodaemon", twistdOptions)
        self.assertIn("--pidfile=", twistdOptions)
        [logger] = [w.split("=", 1)[1] for w in twistdOptions if w.startswith("--logger=")]
        self.assertTrue(callable(namedAny(logger)))
        return words[words.index("finger") + 1 :]

    def parse(self, arguments: List[str]) -> tap.Options:
        users = self.mktemp()
        with open(users, "w") as f:
            f.write("moshez: happy\n")
        replaced = []
        for argument in arguments:
            option, _, value = argument.partition("=")
            if option == "--file":
                value = users
            elif value.startswith("systemd:"):
                # Only systemd can hand these over; check the rest parses.
                value = "tcp:0:interface=127.0.0.1"
            replaced.append(f"{option}={value}" if value else option)
        options = tap.Options()
        options.parseOptions(replaced)
        return options

    def assertSandboxed(self, unit: Dict[str, List[str]]) -> None:
        self.assertEqual(unit["User"], ["finger"])
        self.assertEqual(unit["Group"], ["finger"])
        for key, value in [
            ("NoNewPrivileges", "yes"),
            ("ProtectSystem", "strict"),
            ("ProtectHome", "yes"),
            ("PrivateTmp", "yes"),
            ("PrivateDevices", "yes"),
            ("StateDirectory", "finger"),
        ]:
            self.assertEqual(unit[key], [value], key)

    def test_ownPorts(self) -> None:
        unit = _unit("finger.service")
        self.assertSandboxed(unit)
        self.assertEqual(unit["AmbientCapabilities"], ["CAP_NET_BIND_SERVICE"])
        self.assertEqual(unit["CapabilityBoundingSet"], ["CAP_NET_BIND_SERVICE"])
        arguments = self.fingerArguments(unit)
        self.assertIn("--file=/var/lib/finger/users", arguments)
        options = self.parse(arguments)
        config = options.config
        # What changes statuses listens on loopback only, both families.
        for port in [config.setter.port, config.pb.port]:
            self.assertIn(":interface=127.0.0.1", port.description)
            self.assertIn(r":interface=\:\:1", port.ipv6)

    def test_socketActivated(self) -> None:
        """
        Every C{systemd:} endpoint the service names is a socket unit it
        requires, and the setter's socket is on loopback.
        """
        unit = _unit("finger-activated.service")
        self.assertSandboxed(unit)
        self.assertEqual(unit["CapabilityBoundingSet"], [""])
        self.assertNotIn("AmbientCapabilities", unit)
        arguments = self.fingerArguments(unit)
        self.parse(arguments)
        names = {a.split("name=", 1)[1] for a in arguments if "=systemd:" in a and "name=" in a}
        self.assertEqual(names, {"finger", "setter", "web", "pb"})
        required = unit["Requires"][0].split()
        for name in names:
            socket = _unit(f"finger-{name}.socket")
            self.assertIn(f"finger-{name}.socket", required)
            self.assertEqual(socket["FileDescriptorName"], [name])
            self.assertEqual(socket["Service"], ["finger-activated.service"])
        # Loopback only, both families: one dual-stack socket that takes
        # only what comes through the loopback device, adopted as INET6.
        for name, port in [("setter", "1079"), ("pb", "8889")]:
            socket = _unit(f"finger-{name}.socket")
            self.assertEqual(socket["ListenStream"], [port])
            self.assertEqual(socket["BindToDevice"], ["lo"])
            self.assertEqual(socket["BindIPv6Only"], ["both"])
            self.assertIn(f"--{name}port=systemd:domain=INET6:name={name}", arguments)
        self.assertEqual(_unit("finger-finger.socket")["ListenStream"], ["79"])
