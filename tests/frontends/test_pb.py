"""
Tests for L{finger.app.pb}: C{--pbport}, C{--no-pb}, and how
L{tap.makeService} serves Perspective Broker.  The PB server itself is
tested in L{tests.frontends.pb}.
"""

from typing import Any, List

from twisted.internet.testing import MemoryReactorClock
from twisted.python import usage
from twisted.spread import pb
from twisted.trial.unittest import SynchronousTestCase

from finger.app import tap
from finger.net.limits import LimitingFactory
from finger.net.listen import ListeningService
from finger.frontends.pb import FingerBroker, PerspectiveFingerFromService
from tests.running import parseFinger


class PBOptionsTests(SynchronousTestCase):
    """
    C{--pbport} and C{--no-pb}, and how L{tap.makeService} serves PB.
    """

    def parse(self, *argv: str) -> tap.Options:
        return parseFinger(self, *argv)

    def pbListeners(self, top: Any) -> List[ListeningService]:
        return [s for s in top if isinstance(s, ListeningService) and s.option == "--pbport"]

    def test_default(self) -> None:
        """
        PB is on by default, on port 8889 on loopback (127.0.0.1 and ::1),
        like the setter, as its logins send digests anyone watching may
        guess passwords from; C{--help} says so.
        """
        port = self.parse().config.pb.port
        self.assertEqual(port.description, "tcp:8889:interface=127.0.0.1")
        self.assertEqual(port.ipv6, r"tcp6:8889:interface=\:\:1")
        helpText = " ".join(str(tap.Options()).split())
        self.assertIn(
            "--pbport= Where Perspective Broker listens: a port (on 127.0.0.1 and ::1) or an "
            "endpoint description. [default: 8889]",
            helpText,
        )

    def test_port(self) -> None:
        """C{-p} takes a port number, on loopback, or an endpoint description."""
        port = self.parse("-p", "9000").config.pb.port
        self.assertEqual(port.description, "tcp:9000:interface=127.0.0.1")
        self.assertEqual(port.ipv6, r"tcp6:9000:interface=\:\:1")
        self.assertEqual(
            self.parse("--pbport", r"tcp:9000:interface=\:\:1").config.pb.port.description,
            r"tcp:9000:interface=\:\:1",
        )
        with self.assertRaises(usage.UsageError) as raised:
            self.parse("--pbport", "nonsense:9000")
        self.assertTrue(str(raised.exception).startswith("--pbport"), raised.exception)

    def test_makeService(self) -> None:
        """
        L{tap.makeService} serves the back-end's PB root on C{--pbport}, on
        loopback (127.0.0.1 and ::1) for a bare port number.
        """
        memory = MemoryReactorClock()
        top = tap.makeService(self.parse("-p", "9000"), memory)
        for listener in self.pbListeners(top):
            listener.privilegedStartService()
            self.addCleanup(listener.stopService)
        [(port, factory, backlog, interface), ipv6] = [
            server for server in memory.tcpServers if server[0] == 9000
        ]
        self.assertEqual(interface, "127.0.0.1")
        self.assertEqual(ipv6[1:], (factory, backlog, "::1"))
        self.assertIsInstance(factory, LimitingFactory)
        self.assertIsInstance(factory.wrappedFactory, pb.PBServerFactory)
        self.assertIsInstance(factory.wrappedFactory.root, PerspectiveFingerFromService)

    def test_noPB(self) -> None:
        """C{--no-pb} turns PB off."""
        memory = MemoryReactorClock()
        self.assertEqual(
            [s.name for s in self.pbListeners(tap.makeService(self.parse(), memory))],
            ["pb", "pb-ipv6"],
        )
        self.assertEqual(self.pbListeners(tap.makeService(self.parse("--no-pb"), memory)), [])

    def test_broker(self) -> None:
        """
        The service's PB listener uses L{FingerBroker}.
        """
        top = tap.makeService(self.parse("--pbport", "tcp:0:interface=127.0.0.1"))
        pbFactory = top.getServiceNamed("pb").factory.wrappedFactory
        self.assertIs(pbFactory.protocol, FingerBroker)

    def test_clocks(self) -> None:
        """
        The service's PB root keeps time with the reactor C{makeService} is
        given, and its listener measures byte rates on it.
        """
        reactor = MemoryReactorClock()
        top = tap.makeService(self.parse("--pbport", "tcp:0:interface=127.0.0.1"), reactor)
        pbFactory = top.getServiceNamed("pb").factory.wrappedFactory
        self.assertIs(pbFactory.root.clock, reactor)
        self.assertIs(pbFactory.clock, reactor)

    def root(self, *argv: str) -> PerspectiveFingerFromService:
        top = tap.makeService(self.parse(*argv), MemoryReactorClock())
        factory = top.getServiceNamed("pb").factory.wrappedFactory
        return factory.root  # type: ignore[no-any-return]
    def test_auth(self) -> None:
        """
        With C{--auth}, PB logs in through the same portal as the setter,
        with the same admins, even with C{--no-setter}; without it, no
        login is offered.
        """
        login = self.root("--auth", "memory:moshez:secret:root:toor", "--admins", "root").login
        assert login is not None
        self.assertEqual(login.portal.realm.admins, {"root"})  # type: ignore[attr-defined]
        self.assertIsNotNone(self.root("--auth", "memory:a:b", "--no-setter").login)
        self.assertIsNone(self.root().login)
