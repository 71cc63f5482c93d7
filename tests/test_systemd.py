# -*- test-case-name: tests.test_systemd -*-
"""
Tests for running under systemd: socket activation, the notify protocol
(C{Type=notify}, the watchdog), and the unit files in C{etc/systemd}.
"""

import os
import shlex
import signal
import socket
import subprocess
import sys
import textwrap
from typing import Any, Dict, List, Optional, Tuple
from unittest import SkipTest

from twisted.internet import reactor
from twisted.internet.defer import inlineCallbacks
from twisted.internet.protocol import DatagramProtocol
from twisted.internet.task import deferLater
from twisted.python.reflect import namedAny
from twisted.trial.unittest import SynchronousTestCase, TestCase

from finger.app import tap

from tests.support import CHECKOUT, cleanEnvironment, exchange, freePort, waitFor, which

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
        # Ready only once it says so, and restarted when its reactor hangs;
        # only the main process is heard (see finger.app.notify).
        self.assertEqual(unit["Type"], ["notify"])
        self.assertEqual(unit["NotifyAccess"], ["main"])
        [watchdog] = unit["WatchdogSec"]
        self.assertGreaterEqual(int(watchdog), 10)
        self.assertEqual(unit["Restart"], ["on-failure"])
        self.assertIn("AF_UNIX", unit["RestrictAddressFamilies"][0].split())
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

    def test_verified(self) -> None:
        """
        systemd itself finds nothing wrong with the units (no unknown key,
        no bad value), given a twistd that exists.
        """
        analyze = which("systemd-analyze")
        if analyze is None:
            raise SkipTest("needs systemd-analyze (Debian's systemd package)")
        where = self.mktemp()
        os.makedirs(where)
        twistd = os.path.join(os.path.dirname(sys.executable), "twistd")
        source = os.path.join(CHECKOUT, "etc", "systemd")
        for name in os.listdir(source):
            with open(os.path.join(source, name)) as f:
                text = f.read().replace("/opt/finger/bin/twistd", twistd)
            with open(os.path.join(where, name), "w") as f:
                f.write(text)
        for units in [["finger.service"], ["finger-activated.service", "finger-finger.socket",
                      "finger-setter.socket", "finger-web.socket", "finger-pb.socket"]]:
            result = subprocess.run(
                [analyze, "verify", "--man=no", *(os.path.join(where, u) for u in units)],
                capture_output=True,
                text=True,
                check=False,
            )
            self.assertEqual((result.returncode, result.stdout + result.stderr), (0, ""))

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


# Runs twistd with a handler for SIGUSR2 that blocks the main thread, the
# reactor's, for BLOCK_SECONDS: what a hung reactor looks like from outside
# (it stops answering and pinging), and then recovers, which shows that the
# pings come from the reactor.  A test-only wrapper, so the product carries
# no hook for it; SIGSTOP would stop every thread, not just the reactor.
_BLOCKABLE = textwrap.dedent(
    """
    import os, signal, time
    signal.signal(
        signal.SIGUSR2, lambda *_: time.sleep(float(os.environ["BLOCK_SECONDS"]))
    )
    from twisted.scripts.twistd import run
    run()
    """
)


class _Manager(DatagramProtocol):
    """
    systemd's side of the notify socket: each datagram, with when it came;
    at C{READY=1}, whether each port answers a connection then.
    """

    def __init__(self, ports: List[int], query: Optional[bytes] = None) -> None:
        self.ports = ports
        self.query = query
        self.received: List[Tuple[float, Dict[str, str]]] = []
        self.atReady: List[object] = []

    def datagramReceived(self, data: bytes, addr: Any) -> None:
        message = dict(
            line.split("=", 1) for line in data.decode("utf-8").splitlines() if "=" in line
        )
        self.received.append((reactor.seconds(), message))
        if message.get("READY") == "1":
            # Right now, before anything else happens in this process.
            for port in self.ports:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                        if self.query is None:
                            self.atReady.append(True)
                        else:
                            s.sendall(self.query)
                            self.atReady.append(s.recv(100))
                except OSError as e:
                    self.atReady.append(e)

    def times(self, key: str) -> List[float]:
        return [when for when, message in self.received if key in message]


class NotifyTests(TestCase):
    """
    The real service, run by twistd as systemd runs a C{Type=notify} unit:
    with C{$NOTIFY_SOCKET} naming a datagram socket of the test's.
    """

    timeout = 120

    def start(self, *arguments: str, watchdogUsec: int = 200000) -> "subprocess.Popen[bytes]":
        where = os.path.abspath(self.mktemp())
        os.makedirs(where)
        users = os.path.join(where, "users")
        with open(users, "w") as f:
            f.write("moshez: happy\nzoe: in Paris\n")
        self.ports = [freePort() for _ in range(4)]
        self.log = os.path.join(where, "twistd.log")
        self.socketPath = os.path.join(where, "notify")
        if "--workers=2" in arguments:
            # The main process listens from the start: only an answer shows
            # that a worker serves.
            self.manager = _Manager(self.ports[:1], b"moshez\r\n")
        else:
            self.manager = _Manager(self.ports)
        port = reactor.listenUNIXDatagram(self.socketPath, self.manager)
        self.addCleanup(port.stopListening)
        finger, setter, web, pb = self.ports
        process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _BLOCKABLE,
                "--nodaemon",
                "--pidfile=",
                f"--logfile={self.log}",
                "finger",
                f"--file={users}",
                f"--fingerport=tcp:{finger}:interface=127.0.0.1",
                f"--setterport={setter}",
                f"--webport=tcp:{web}:interface=127.0.0.1",
                f"--pbport=tcp:{pb}:interface=127.0.0.1",
                *arguments,
            ],
            cwd=where,
            env=cleanEnvironment(
                PYTHONPATH=CHECKOUT,
                NOTIFY_SOCKET=self.socketPath,
                WATCHDOG_USEC=str(watchdogUsec),
                BLOCK_SECONDS="1.5",
            ),
        )

        def stop() -> None:
            if process.poll() is None:
                process.kill()
            process.wait(30)

        self.addCleanup(stop)
        return process

    def readLog(self) -> str:
        with open(self.log, encoding="utf-8") as f:
            return f.read()

    async def test_protocol(self) -> None:
        """
        C{READY=1} comes once every port listens, with the number of users
        as the status; C{WATCHDOG=1} every half of C{$WATCHDOG_USEC}, which
        stop while the reactor is blocked and come back after;
        C{STOPPING=1} on C{SIGTERM}.
        """
        process = self.start()
        manager = self.manager
        await waitFor(reactor, lambda: manager.times("READY"), "READY=1", timeout=60)
        self.assertEqual(manager.atReady, [True] * 4)
        [ready] = [m for _, m in manager.received if "READY" in m]
        self.assertEqual(ready["STATUS"], "Serving 2 users")

        # Every 0.1 s: count those of the next second.
        since = reactor.seconds()
        await deferLater(reactor, 1.0, lambda: None)
        pings = [t for t in manager.times("WATCHDOG") if t > since]
        gaps = sorted(b - a for a, b in zip(pings, pings[1:]))
        self.assertGreaterEqual(len(pings), 5, pings)
        self.assertTrue(0.05 <= gaps[len(gaps) // 2] <= 0.3, gaps)

        # A blocked reactor: no ping for as long as it is blocked.
        blocked = reactor.seconds()
        process.send_signal(signal.SIGUSR2)
        await deferLater(reactor, 3.0, lambda: None)
        pings = [t for t in manager.times("WATCHDOG") if t > blocked - 0.5]
        gaps = [b - a for a, b in zip(pings, pings[1:])]
        longest = max(gaps)
        self.assertTrue(1.2 <= longest <= 4.0, gaps)
        # ...and they come back once it turns again, every 0.1 s (with
        # room for a busy machine, well below the block).
        after = gaps[gaps.index(longest) + 1 :]
        self.assertGreaterEqual(len(after), 3, gaps)
        self.assertLess(sorted(after)[len(after) // 2], 0.3, gaps)

        process.terminate()
        await waitFor(reactor, lambda: process.poll() is not None, "twistd to exit", timeout=30)
        # twistd ends by the signal it was stopped with, which systemd
        # counts as a clean stop.
        self.assertIn(process.returncode, (0, -signal.SIGTERM))
        self.assertIn("STOPPING", manager.received[-1][1])
        self.assertNotIn("WATCHDOG", manager.received[-1][1])
        log = self.readLog()
        self.assertIn("Ready: Serving 2 users", log)

    async def test_workers(self) -> None:
        """
        With C{--workers}, the main process says C{READY=1} once its workers
        serve: a query asked at that moment is answered.
        """
        process = self.start("--workers=2", "--no-setter", "--no-pb")
        manager = self.manager
        await waitFor(reactor, lambda: manager.times("READY"), "READY=1", timeout=60)
        self.assertEqual(manager.atReady, [b"happy\r\n"])
        [ready] = [m for _, m in manager.received if "READY" in m]
        self.assertEqual(ready["STATUS"], "2 workers of 2 serving")
        process.terminate()
        await waitFor(reactor, lambda: process.poll() is not None, "twistd to exit", timeout=30)
        self.assertIn("STOPPING", manager.received[-1][1])


def _manager() -> Optional[List[str]]:
    """
    The C{systemctl} command of a running systemd this test may start units
    under: the user's manager, or the system's when running as root; L{None}
    if there is none (a container, usually).
    """
    if which("systemd-run") is None or which("systemctl") is None:
        return None
    candidates = [["--user"]] + ([[]] if os.getuid() == 0 else [])
    for scope in candidates:
        state = subprocess.run(
            ["systemctl", *scope, "is-system-running"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        if state in ("running", "degraded"):
            return scope
    return None


class RealSystemdTests(SynchronousTestCase):
    """
    The service as a transient C{Type=notify} unit of a real systemd, where
    there is one: systemd-run returns once the unit has said C{READY=1},
    the unit's status line is the service's, and it answers.
    """

    def test_notifyUnit(self) -> None:
        scope = _manager()
        if scope is None:
            raise SkipTest(
                "needs a running systemd (systemd-run and systemctl --user, or the "
                "system manager as root); none here"
            )
        where = os.path.abspath(self.mktemp())
        os.makedirs(where)
        users = os.path.join(where, "users")
        with open(users, "w") as f:
            f.write("moshez: happy\n")
        port = freePort()
        unit = f"finger-test-{os.getpid()}-{port}"
        self.addCleanup(
            subprocess.run,
            ["systemctl", *scope, "stop", unit],
            capture_output=True,
            check=False,
        )
        started = subprocess.run(
            [
                "systemd-run",
                *scope,
                f"--unit={unit}",
                "--property=Type=notify",
                "--property=NotifyAccess=main",
                "--property=WatchdogSec=10",
                f"--setenv=PYTHONPATH={CHECKOUT}",
                f"--working-directory={where}",
                sys.executable,
                "-c",
                "from twisted.scripts.twistd import run; run()",
                "--nodaemon",
                "--pidfile=",
                "--logger=finger.logs.journal",
                "finger",
                f"--file={users}",
                f"--fingerport=tcp:{port}:interface=127.0.0.1",
                "--no-setter",
                "--webport=tcp:0:interface=127.0.0.1",
                "--no-pb",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        self.assertEqual(started.returncode, 0, started.stderr)
        shown = subprocess.run(
            ["systemctl", *scope, "show", "--property=ActiveState,StatusText", unit],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        self.assertIn("ActiveState=active", shown)
        self.assertIn("StatusText=Serving 1 user", shown)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"moshez\r\n")
            self.assertEqual(s.recv(100), b"happy\r\n")
