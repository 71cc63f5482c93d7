"""
Tests for L{finger.listen}.
"""

import errno
import socket

from twisted.internet.error import CannotListenError
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.testing import MemoryReactor
from twisted.trial.unittest import SynchronousTestCase

from finger.listen import ListenFailed, ListeningService, portDescription


class _RefusingReactor(MemoryReactor):
    def __init__(self, code: int) -> None:
        super().__init__()
        self.code = code

    def listenTCP(self, port, factory, backlog=50, interface=""):  # type: ignore[no-untyped-def]
        raise CannotListenError(interface, port, OSError(self.code, errno.errorcode[self.code]))


class PortDescriptionTests(SynchronousTestCase):
    def test_number(self) -> None:
        self.assertEqual(portDescription("79"), "tcp:79")
        self.assertEqual(portDescription("1079", "127.0.0.1"), "tcp:1079:interface=127.0.0.1")

    def test_description(self) -> None:
        self.assertEqual(portDescription("tcp:79:interface=::1", "127.0.0.1"), "tcp:79:interface=::1")


class ListeningServiceTests(SynchronousTestCase):
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
