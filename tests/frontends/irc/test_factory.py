# -*- test-case-name: tests.frontends.irc.test_factory -*-
"""
Tests for L{finger.frontends.irc.factory}: the adapter and its defaults,
and the bot's reconnection under L{ClientService}.
"""

from twisted.application.internet import ClientService
from twisted.internet.endpoints import clientFromString
from twisted.internet.error import ConnectionDone, ConnectionRefusedError
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from finger.backends.memory import MemoryFingerService
from finger.frontends.irc import IRCClientFactoryFromService
from finger.interfaces import IIRCClientFactory
from finger.lookup import LOOKUP_TIMEOUT
from tests.frontends.irc.helpers import BotTestsMixin


class FactoryTests(BotTestsMixin, SynchronousTestCase):
    def test_interface(self) -> None:
        """The adapter provides L{IIRCClientFactory}."""
        factory = IIRCClientFactory(self.service)
        self.assertIsInstance(factory, IRCClientFactoryFromService)
        self.assertTrue(verifyObject(IIRCClientFactory, factory))

    def test_adapterDefaults(self) -> None:
        """
        The adapter is the factory with its default settings: as
        C{twistd finger} without options would build it.
        """
        factory = IIRCClientFactory(self.service)
        self.assertEqual(
            (factory.nickname, factory.channels, factory.maxDelay, factory.lookupTimeout),
            ("fingerbot", [], 60.0, LOOKUP_TIMEOUT),
        )
        self.assertEqual((factory.burst, factory.lineRate, factory.maxQueuedLines), (4, 1.0, 40))


class ReconnectTests(SynchronousTestCase):
    """
    The bot under L{ClientService}, on a L{MemoryReactorClock}.
    """

    def setUp(self) -> None:
        self.reactor = MemoryReactorClock()
        self.factory = IRCClientFactoryFromService(
            MemoryFingerService(moshez="happy"),
            clock=self.reactor,
            jitter=lambda: 0.0,
            maxDelay=10.0,
        )
        self.service = ClientService(
            clientFromString(self.reactor, "tcp:host=127.0.0.1:port=6667"),
            self.factory,
            retryPolicy=self.factory.retryDelay,
            clock=self.reactor,
        )
        self.service.startService()
        self.addCleanup(self.service.stopService)

    def attempts(self) -> int:
        return len(self.reactor.tcpClients)

    def accept(self, signOn: bool = True) -> StringTransport:
        """
        Complete the latest connection attempt, and sign on.
        """
        host, port, factory, timeout, bindAddress = self.reactor.tcpClients[-1]
        self.assertEqual((host, port), ("127.0.0.1", 6667))
        self.protocol = factory.buildProtocol(None)
        transport = StringTransport()
        self.protocol.makeConnection(transport)
        if signOn:
            self.protocol.dataReceived(b":irc.test 001 fingerbot :Welcome\r\n")
        return transport

    def refuse(self) -> None:
        connector = self.reactor.connectors[-1]
        host, port, factory, timeout, bindAddress = self.reactor.tcpClients[-1]
        factory.clientConnectionFailed(connector, Failure(ConnectionRefusedError()))

    def lose(self) -> None:
        self.protocol.connectionLost(Failure(ConnectionDone()))

    def waitsFor(self, delay: float) -> None:
        """
        The next attempt comes C{delay} seconds from now, and not before.
        """
        before = self.attempts()
        self.reactor.advance(delay - 0.01)
        self.assertEqual(self.attempts(), before)
        self.reactor.advance(0.01)
        self.assertEqual(self.attempts(), before + 1)

    def test_backoff(self) -> None:
        """Failed attempts are retried with growing delays, up to C{maxDelay}."""
        self.assertEqual(self.attempts(), 1)
        delays = []
        for i in range(8):
            self.refuse()
            delays.append(self.factory.retryDelay(i + 1))
            self.waitsFor(delays[-1])
        self.assertEqual(delays[:3], [1.5, 2.25, 3.375])
        self.assertEqual(delays[-1], 10.0)

    def test_reconnectAfterLongSession(self) -> None:
        """
        After a session that lasted, the bot comes back after the first
        delay and signs on again.
        """
        self.accept()
        self.reactor.advance(self.factory.stableAfter)
        self.lose()
        self.waitsFor(1.5)
        transport = self.accept(signOn=False)
        self.assertIn(b"NICK fingerbot\r\n", transport.value())

    def test_shortSessionsBackOff(self) -> None:
        """
        A server that accepts the bot and drops it at once is retried with
        growing delays too, though each TCP connection succeeded.
        """
        self.accept(signOn=False)
        self.lose()
        self.waitsFor(2.25)
        self.accept()
        self.lose()
        self.waitsFor(3.375)
        self.accept()
        self.reactor.advance(self.factory.stableAfter)
        self.lose()
        self.waitsFor(1.5)
