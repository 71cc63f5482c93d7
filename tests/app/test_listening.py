# -*- test-case-name: tests.app.test_listening -*-
"""
Tests for L{finger.app.listening}: where a port option listens, IPv6 and
IPv4 (issue 12), from the option to the running listeners.
"""

import errno
import ipaddress
import socket
from dataclasses import replace
from typing import Any, List, Tuple

from twisted.internet import reactor
from twisted.internet.error import CannotListenError, ConnectionRefusedError
from twisted.internet.testing import MemoryReactorClock
from twisted.logger import capturedLogs, formatEvent
from twisted.python.filepath import FilePath
from twisted.trial.unittest import SkipTest, SynchronousTestCase, TestCase

from finger.app import compose
from finger.app.config import Config
from finger.app.listening import Port, readPort
from finger.app.tap import Options, makeService
from finger.clients.finger import finger
from finger.net.listen import ListenFailed, ListeningService, dualStack
from tests.support import exchange, freePort, listeningPort

# Every listener but the one a test is about, on a free loopback port.
_ELSEWHERE = "tcp:0:interface=127.0.0.1"


def _never() -> bool:
    return False


def _ipv6Loopback() -> bool:
    """
    Whether this host can listen on ::1.
    """
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


def _nonLoopbackAddresses() -> List[str]:
    """
    This host's own addresses that are not loopback: the ones it would send
    from to a documentation network (connecting a UDP socket sends nothing).
    """
    found = []
    for family, far in [(socket.AF_INET, "192.0.2.1"), (socket.AF_INET6, "2001:db8::1")]:
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as probe:
                probe.connect((far, 9))
                address = probe.getsockname()[0]
        except OSError:
            continue
        if not ipaddress.ip_address(address.split("%", 1)[0]).is_loopback:
            found.append(address)
    return found


def _clientDescription(host: str, port: int) -> str:
    escaped = host.replace(":", "\\:")
    return f"tcp:host={escaped}:port={port}"


class _Refusing(MemoryReactorClock):
    """
    A memory reactor on which some interfaces cannot be listened on.
    """

    def __init__(self, refused: Tuple[str, ...]) -> None:
        super().__init__()
        self.refused = refused

    def listenTCP(self, port, factory, backlog=50, interface=""):  # type: ignore[no-untyped-def]
        if interface in self.refused:
            raise CannotListenError(interface, port, OSError(errno.EADDRNOTAVAIL, "no address"))
        return super().listenTCP(port, factory, backlog, interface)


class _Parsing:
    path: FilePath

    def parse(self, *args: str) -> Options:
        options = Options()
        options.parseOptions(["--file", self.path.path, *args])
        return options


class OptionTests(_Parsing, SynchronousTestCase):
    """
    L{readPort} and the listeners L{makeService} adds for each L{Port}, on a
    memory reactor.
    """

    def setUp(self) -> None:
        self.path = FilePath(self.mktemp())
        self.path.setContent(b"moshez: happy\n")

    def start(self, config: Config, memory: MemoryReactorClock) -> Any:
        top = compose.makeService(config, memory)
        for listener in top:
            if isinstance(listener, ListeningService):
                listener.privilegedStartService()
                self.addCleanup(listener.stopService)
        return top

    def test_withoutDualStack(self) -> None:
        """
        Where one socket cannot take IPv6 and IPv4, a bare port number for a
        public listener listens on IPv4 on every address, and one line says
        so.
        """
        options = self.parse("--setterport", _ELSEWHERE, "--pbport", _ELSEWHERE)
        with capturedLogs() as events:
            port = readPort("fingerport", "7979", MemoryReactorClock(), "", _never)
        self.assertEqual(port, Port("--fingerport", "tcp:7979"))
        [line] = [formatEvent(event) for event in events]
        self.assertIn("7979 listens on IPv4 only", line)
        config = options.config
        memory = MemoryReactorClock()
        self.start(replace(config, finger=replace(config.finger, port=port)), memory)
        self.assertIn(
            7979, [port for port, _, _, interface in memory.tcpServers if interface == ""]
        )

    def test_loopbackBoth(self) -> None:
        """
        A bare port number for the setter listens on 127.0.0.1 and ::1, one
        listener each, with the same limits.
        """
        memory = MemoryReactorClock()
        top = self.start(self.parse("--setterport", "7980", "--pbport", _ELSEWHERE).config, memory)
        servers = [server for server in memory.tcpServers if server[0] == 7980]
        self.assertEqual([interface for _, _, _, interface in servers], ["127.0.0.1", "::1"])
        self.assertIs(servers[0][1], servers[1][1])
        self.assertEqual(top.getServiceNamed("setter-ipv6").option, "--setterport")

    def test_explicitDescription(self) -> None:
        """
        An endpoint description the operator writes is one listener, as
        written.
        """
        memory = MemoryReactorClock()
        top = self.start(
            self.parse(
                "--setterport", "tcp:7980:interface=127.0.0.1", "--pbport", _ELSEWHERE
            ).config,
            memory,
        )
        servers = [server for server in memory.tcpServers if server[0] == 7980]
        self.assertEqual([interface for _, _, _, interface in servers], ["127.0.0.1"])
        self.assertRaises(KeyError, top.getServiceNamed, "setter-ipv6")

    def test_noIPv6Loopback(self) -> None:
        """
        When ::1 cannot be listened on, one line says so and the setter
        listens on 127.0.0.1 alone.
        """
        memory = _Refusing(("::1",))
        with capturedLogs() as events:
            config = self.parse("--setterport", "7980", "--pbport", _ELSEWHERE).config
            top = self.start(config, memory)
        lines = [formatEvent(event) for event in events]
        self.assertEqual(
            [line for line in lines if "7980" in line],
            [
                r"finger: going on without tcp6:7980:interface=\:\:1 (--setterport): "
                f"Couldn't listen on ::1:7980: [Errno {errno.EADDRNOTAVAIL}] no address."
            ],
        )
        self.assertEqual(
            [server[3] for server in memory.tcpServers if server[0] == 7980], ["127.0.0.1"]
        )
        self.assertIsNotNone(top.getServiceNamed("setter").port)
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_noIPv4Loopback(self) -> None:
        """
        When 127.0.0.1 cannot be listened on, start-up stops as for any
        port.
        """
        top = makeService(
            self.parse("--setterport", "7980", "--pbport", _ELSEWHERE), _Refusing(("127.0.0.1",))
        )
        error = self.assertRaises(
            ListenFailed, top.getServiceNamed("setter").privilegedStartService
        )
        self.assertIn("cannot listen on tcp:7980:interface=127.0.0.1 (--setterport)", str(error))


class BothFamiliesTests(_Parsing, TestCase):
    """
    Default-configured listeners on real sockets, asked over IPv6 and IPv4.
    """

    timeout = 30

    def setUp(self) -> None:
        if not _ipv6Loopback():
            raise SkipTest("this host cannot listen on ::1")
        self.path = FilePath(self.mktemp())
        self.path.setContent(b"moshez: happy\n")

    def start(self, *args: str) -> Any:
        top = makeService(self.parse(*args))
        top.startService()
        self.addCleanup(top.stopService)
        return top

    async def test_finger(self) -> None:
        """
        One finger listener on a bare port number answers C{moshez@[::1]}
        and C{moshez@127.0.0.1}.
        """
        if not dualStack():
            raise SkipTest("this host's IPv6 sockets do not take IPv4")
        port = freePort("::")
        top = self.start(
            "--fingerport",
            str(port),
            "--setterport",
            _ELSEWHERE,
            "--webport",
            _ELSEWHERE,
            "--pbport",
            _ELSEWHERE,
        )
        self.assertEqual(listeningPort(top, "finger"), port)
        for host in ["::1", "127.0.0.1"]:
            self.assertEqual(await finger("moshez", host, port, reactor=reactor), "happy\r\n")

    async def test_setter(self) -> None:
        """
        A setter on a bare port number is reached on ::1 and 127.0.0.1, and
        not on this host's other addresses.
        """
        port = freePort("::")
        top = self.start(
            "--fingerport",
            _ELSEWHERE,
            "--setterport",
            str(port),
            "--webport",
            _ELSEWHERE,
            "--pbport",
            _ELSEWHERE,
        )
        self.assertEqual(listeningPort(top, "setter-ipv6"), port)
        for host, user in [("::1", "six"), ("127.0.0.1", "four")]:
            reply = await exchange(
                reactor, _clientDescription(host, port), f"{user}\nhere\n".encode()
            )
            self.assertEqual(reply, f"OK: status of {user} saved\r\n".encode())
        elsewhere = _nonLoopbackAddresses()
        if not elsewhere:
            raise SkipTest("this host has no address but loopback")
        for host in elsewhere:
            with self.assertRaises(ConnectionRefusedError):
                await exchange(reactor, _clientDescription(host, port), b"moshez\nthere\n")
