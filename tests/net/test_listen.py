"""
Tests for L{finger.net.listen}.
"""

import errno
import socket
import struct
from typing import List
from unittest import SkipTest

from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.internet.defer import Deferred
from twisted.internet.error import CannotListenError
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.testing import MemoryReactor
from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from finger.interfaces import IReadiness
from finger.net.listen import (
    DEFAULT_BACKLOG,
    LOOPBACK,
    Announcement,
    ListenFailed,
    ListeningService,
    dualStack,
    portDescriptions,
    showAddress,
    withBacklog,
)


class _RefusingReactor(MemoryReactor):
    def __init__(self, code: int) -> None:
        super().__init__()
        self.code = code

    def listenTCP(self, port, factory, backlog=50, interface=""):  # type: ignore[no-untyped-def]
        raise CannotListenError(interface, port, OSError(self.code, errno.errorcode[self.code]))


def _always() -> bool:
    return True


def _never() -> bool:
    return False


class PortDescriptionsTests(SynchronousTestCase):
    def test_numberEverywhere(self) -> None:
        """
        A bare port number with no interface listens on every address, IPv6
        and IPv4 on one socket, where the host can.
        """
        self.assertEqual(portDescriptions("79", "", _always), [r"tcp6:79:interface=\:\:"])

    def test_numberOnLoopback(self) -> None:
        """
        A bare port number on loopback listens on 127.0.0.1 and, best
        effort, on ::1.
        """
        self.assertEqual(
            portDescriptions("1079", LOOPBACK, _always),
            ["tcp:1079:interface=127.0.0.1", r"tcp6:1079:interface=\:\:1"],
        )
        self.assertEqual(
            portDescriptions("1079", LOOPBACK, _never),
            ["tcp:1079:interface=127.0.0.1", r"tcp6:1079:interface=\:\:1"],
        )

    def test_description(self) -> None:
        """
        An endpoint description is used as written: one listener.
        """
        self.assertEqual(
            portDescriptions("tcp:79:interface=::1", LOOPBACK), ["tcp:79:interface=::1"]
        )
        self.assertEqual(
            portDescriptions("tcp:1079:interface=127.0.0.1", LOOPBACK),
            ["tcp:1079:interface=127.0.0.1"],
        )
        self.assertEqual(portDescriptions("tcp:79", "", _always), ["tcp:79"])

    def test_noDualStack(self) -> None:
        """
        Where one socket cannot take both families, a bare port number with
        no interface listens on IPv4 only, and one line says so.
        """
        with capturedLogs() as events:
            self.assertEqual(portDescriptions("79", "", _never), ["tcp:79"])
        [line] = [formatEvent(event) for event in events]
        self.assertIn("Port 79 listens on IPv4 only", line)
        self.assertNotIn("\n", line)

    def test_dualStackHere(self) -> None:
        """
        L{dualStack} says whether this host's IPv6 sockets take IPv4 too.
        """
        try:
            probe = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        except OSError:
            self.assertFalse(dualStack())
            return
        with probe:
            expected = not probe.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY)
        self.assertEqual(dualStack(), expected)


class WithBacklogTests(SynchronousTestCase):
    def test_added(self) -> None:
        """
        Stream descriptions without a backlog get L{DEFAULT_BACKLOG}.
        """
        self.assertEqual(withBacklog("tcp:79"), f"tcp:79:backlog={DEFAULT_BACKLOG}")
        self.assertEqual(
            withBacklog("tcp:79:interface=127.0.0.1", 7),
            "tcp:79:interface=127.0.0.1:backlog=7",
        )
        self.assertEqual(
            withBacklog("tcp6:79:interface=\\:\\:1", 7), "tcp6:79:interface=\\:\\:1:backlog=7"
        )
        self.assertEqual(withBacklog("unix:/run/finger.sock", 7), "unix:/run/finger.sock:backlog=7")
        self.assertEqual(
            withBacklog("ssl:443:privateKey=k.pem", 7), "ssl:443:privateKey=k.pem:backlog=7"
        )

    def test_kept(self) -> None:
        """
        A backlog the operator wrote stays; so does a description of a type
        that takes none.
        """
        self.assertEqual(withBacklog("tcp:79:backlog=5"), "tcp:79:backlog=5")
        self.assertEqual(withBacklog("tcp:backlog=5:port=79"), "tcp:backlog=5:port=79")
        self.assertEqual(withBacklog("systemd:domain=INET:index=0"), "systemd:domain=INET:index=0")

    def test_enoughForManyClients(self) -> None:
        """
        The default holds well over the 128 clients the benchmark connects at
        once.
        """
        self.assertGreaterEqual(DEFAULT_BACKLOG, 1024)


class ListeningServiceTests(SynchronousTestCase):
    def test_defaultBacklog(self) -> None:
        """
        A description without a backlog listens with L{DEFAULT_BACKLOG}.
        """
        reactor = MemoryReactor()
        service = ListeningService(reactor, "tcp:79", Factory.forProtocol(Protocol), "--fingerport")
        service.startService()
        [(port, factory, backlog, interface)] = reactor.tcpServers
        self.assertEqual(backlog, DEFAULT_BACKLOG)
        self.assertEqual(service.description, "tcp:79")

    def test_givenBacklog(self) -> None:
        """
        A backlog in the description is used as given.
        """
        reactor = MemoryReactor()
        service = ListeningService(
            reactor, "tcp:79:backlog=12", Factory.forProtocol(Protocol), "--fingerport"
        )
        service.startService()
        [(port, factory, backlog, interface)] = reactor.tcpServers
        self.assertEqual(backlog, 12)

    def test_realListenQueue(self) -> None:
        """
        With the real reactor, the kernel's listen queue for the port is the
        default backlog (as C{ss} shows it in Send-Q).
        """
        from twisted.internet import reactor

        service = ListeningService(
            reactor, "tcp:0:interface=127.0.0.1", Factory.forProtocol(Protocol), "--fingerport"
        )
        service.privilegedStartService()
        self.addCleanup(service.stopService)
        assert service.port is not None
        listening = service.port.socket  # type: ignore[attr-defined]
        # For a listening socket, Linux reports the queue's limit in
        # TCP_INFO's tcpi_sacked: the sixth 32-bit field after 8 bytes.
        if not hasattr(socket, "TCP_INFO"):
            raise SkipTest("TCP_INFO is Linux-only")
        info = listening.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 64)
        (limit,) = struct.unpack_from("I", info, 8 + 5 * 4)
        self.assertEqual(limit, min(DEFAULT_BACKLOG, _somaxconn()))

    def test_listens(self) -> None:
        reactor = MemoryReactor()
        service = ListeningService(reactor, "tcp:79", Factory.forProtocol(Protocol), "--fingerport")
        service.startService()
        [(port, factory, backlog, interface)] = reactor.tcpServers
        self.assertEqual(port, 79)
        self.assertIsNotNone(service.port)
        self.successResultOf(service.stopService())
        self.assertIsNone(service.port)

    def assertRefused(self, code: int, words: str) -> None:
        service = ListeningService(
            _RefusingReactor(code), "tcp:79", Factory.forProtocol(Protocol), "--fingerport"
        )
        error = self.assertRaises(ListenFailed, service.privilegedStartService)
        message = str(error)
        self.assertTrue(message.startswith("finger: cannot listen on tcp:79 (--fingerport): "))
        self.assertIn(words, message)
        self.assertNotIn("\n", message)
        self.assertIsInstance(error, SystemExit)
        self.assertIsInstance(error, Exception)
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_permissionDenied(self) -> None:
        """
        Binding a low port without privileges says what to do.
        """
        self.assertRefused(errno.EACCES, "ports below 1024 need root")

    def test_inUse(self) -> None:
        self.assertRefused(errno.EADDRINUSE, "address in use")

    def test_notRequired(self) -> None:
        """
        A listener that is not required logs one line and lets start-up go
        on when it cannot listen.
        """
        service = ListeningService(
            _RefusingReactor(errno.EADDRNOTAVAIL),
            r"tcp6:1079:interface=\:\:1",
            Factory.forProtocol(Protocol),
            "--setterport",
            required=False,
        )
        with capturedLogs() as events:
            service.privilegedStartService()
            service.startService()
        [line] = [formatEvent(event) for event in events]
        self.assertTrue(
            line.startswith(r"finger: going on without tcp6:1079:interface=\:\:1 (--setterport): "),
            line,
        )
        self.assertNotIn("\n", line)
        self.assertIsNone(service.port)
        self.successResultOf(service.stopService())
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_realPortInUse(self) -> None:
        """
        With the real reactor, a port another socket holds is refused.
        """
        from twisted.internet import reactor

        with socket.socket() as holder:
            holder.bind(("127.0.0.1", 0))
            holder.listen(1)
            port = holder.getsockname()[1]
            service = ListeningService(
                reactor,
                f"tcp:{port}:interface=127.0.0.1",
                Factory.forProtocol(Protocol),
                "--setterport",
            )
            error = self.assertRaises(ListenFailed, service.privilegedStartService)
        self.assertIn("address in use", str(error))


def _somaxconn() -> int:
    try:
        with open("/proc/sys/net/core/somaxconn") as f:
            return int(f.read())
    except OSError:
        return 4096


class _PendingEndpoint:
    """
    An endpoint that listens (or fails to) only when the test says so.
    """

    def __init__(self) -> None:
        self.waiting: List["Deferred[object]"] = []
        self.cancelled = 0

    def listen(self, factory: object) -> "Deferred[object]":
        d: "Deferred[object]" = Deferred(self.cancel)
        self.waiting.append(d)
        return d

    def cancel(self, d: "Deferred[object]") -> None:
        self.cancelled += 1


class _Port:
    stopped = False

    def stopListening(self) -> None:
        self.stopped = True


class SlowEndpointTests(SynchronousTestCase):
    """
    An endpoint that does not listen at once (a plugin's, say).
    """

    def setUp(self) -> None:
        self.service = ListeningService(
            MemoryReactor(), "tcp:79", Factory.forProtocol(Protocol), "--fingerport"
        )
        self.endpoint = _PendingEndpoint()
        self.service.endpoint = self.endpoint  # type: ignore[assignment]

    def test_listensOnce(self) -> None:
        """
        twistd starts a service twice (privileged, then not): it listens once.
        """
        self.service.privilegedStartService()
        self.service.startService()
        self.assertEqual(len(self.endpoint.waiting), 1)
        port = _Port()
        self.endpoint.waiting[0].callback(port)
        self.assertIs(self.service.port, port)
        self.successResultOf(self.service.stopService())
        self.assertTrue(port.stopped)

    def test_lateFailure(self) -> None:
        """
        A failure that comes after start-up is logged once, as the same one
        line.
        """
        self.service.startService()
        with capturedLogs() as events:
            self.endpoint.waiting[0].errback(
                CannotListenError("", 79, OSError(errno.EADDRINUSE, "in use"))
            )
        [event] = events
        message = formatEvent(event)
        self.assertTrue(message.startswith("finger: cannot listen on tcp:79 (--fingerport): "))
        self.assertIn("address in use", message)
        self.assertIsNone(self.service.port)
        self.successResultOf(self.service.stopService())

    def test_stopWhileWaiting(self) -> None:
        """
        Stopping gives up waiting, quietly.
        """
        self.service.startService()
        with capturedLogs() as events:
            self.successResultOf(self.service.stopService())
        self.assertEqual(events, [])
        self.assertEqual(self.endpoint.cancelled, 1)


class _AddressedReactor(MemoryReactor):
    """
    A memory reactor whose ports say the interface they were asked for.
    """

    def listenTCP(self, port, factory, backlog=50, interface=""):  # type: ignore[no-untyped-def]
        super().listenTCP(port, factory, backlog, interface)
        kind = IPv6Address if ":" in interface else IPv4Address
        listening = _Port()
        listening.getHost = lambda: kind("TCP", interface or "0.0.0.0", port)  # type: ignore[attr-defined]
        return listening


class AnnouncementTests(SynchronousTestCase):
    """
    Each front-end says where it listens in one line when it starts, and in
    one when it stops, however many listeners its option has.
    """

    def services(self, announcement: Announcement) -> "tuple[ListeningService, ...]":
        reactor = _AddressedReactor()
        factory = Factory.forProtocol(Protocol)
        return (
            ListeningService(
                reactor, "tcp:1079:interface=127.0.0.1", factory, "--setterport",
                announcement=announcement,
            ),
            ListeningService(
                reactor, "tcp6:1079:interface=\\:\\:1", factory, "--setterport",
                required=False, announcement=announcement,
            ),
        )

    def test_oneLineForBoth(self) -> None:
        announcement = Announcement("setter")
        services = self.services(announcement)
        with capturedLogs() as events:
            for service in services:
                service.privilegedStartService()
            self.assertEqual(events, [])
            for service in services:
                service.startService()
        self.assertEqual(
            [formatEvent(e) for e in events], ["setter on 127.0.0.1:1079 and [::1]:1079"]
        )
        self.assertEqual(events[0]["listening"], ["127.0.0.1:1079", "[::1]:1079"])
        with capturedLogs() as events:
            for service in reversed(services):
                service.stopService()
        self.assertEqual(
            [formatEvent(e) for e in events],
            ["setter stopped listening on 127.0.0.1:1079 and [::1]:1079"],
        )

    def test_withoutTheOptionalOne(self) -> None:
        """
        A listener that went on without listening (no IPv6 here) is left
        out of the line.
        """
        announcement = Announcement("setter")
        first, second = self.services(announcement)
        second.endpoint = _PendingEndpoint()  # type: ignore[assignment]
        with capturedLogs() as events:
            first.privilegedStartService()
            second.privilegedStartService()
            second.endpoint.waiting[0].errback(CannotListenError("::1", 1079, OSError()))
            first.startService()
            second.startService()
        self.assertEqual(
            [formatEvent(e) for e in events if "listening" in e],
            ["setter on 127.0.0.1:1079"],
        )

    def test_showAddress(self) -> None:
        self.assertEqual(showAddress(IPv4Address("TCP", "0.0.0.0", 79)), "0.0.0.0:79")
        self.assertEqual(showAddress(IPv6Address("TCP", "::", 79)), "[::]:79")
        self.assertEqual(showAddress(UNIXAddress(b"/run/finger.sock")), "/run/finger.sock")


class ReadinessTests(SynchronousTestCase):
    """
    A listener is ready (L{IReadiness}) once it listens, or once it went on
    without listening, not being required.
    """

    def test_listening(self) -> None:
        service = ListeningService(
            _AddressedReactor(), "tcp:79", Factory.forProtocol(Protocol), "--fingerport"
        )
        self.assertTrue(verifyObject(IReadiness, service))
        self.assertEqual(service.notReady(), "not listening on tcp:79 (--fingerport) yet")
        service.startService()
        self.assertIsNone(service.notReady())
        service.stopService()
        self.assertIsNotNone(service.notReady())

    def test_slow(self) -> None:
        service = ListeningService(
            MemoryReactor(), "tcp:79", Factory.forProtocol(Protocol), "--fingerport",
            required=False,
        )
        endpoint = service.endpoint = _PendingEndpoint()  # type: ignore[assignment]
        service.startService()
        self.assertIsNotNone(service.notReady())
        with capturedLogs():
            endpoint.waiting[0].errback(CannotListenError("", 79, OSError()))
        self.assertIsNone(service.notReady())
