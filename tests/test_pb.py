"""
Tests for L{finger.pb}: the PB root, with a real PB client in memory
(L{twisted.test.iosim}).
"""

from typing import Any, List

from twisted.internet.defer import Deferred, fail
from twisted.internet.testing import MemoryReactorClock
from twisted.logger import capturedLogs, formatEvent
from twisted.python import usage
from twisted.spread import pb
from twisted.spread.banana import int2b128
from twisted.test.iosim import connectedServerAndClient
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from finger import tap
from finger.interfaces import NO_SUCH_USER, IFingerService, IPerspectiveFinger
from finger.limits import LimitingFactory
from finger.pb import (
    MAX_DEPTH,
    MAX_MESSAGE_BYTES,
    BadRequest,
    NoSuchUser,
    PerspectiveFingerFromService,
)
from finger.listen import ListeningService
from finger.service import MemoryFingerService


class _BrokenService(MemoryFingerService):
    def getUser(self, user: str) -> "Deferred[str]":
        return fail(RuntimeError("the database caught fire"))

    def getUsers(self) -> "Deferred[List[str]]":
        return fail(RuntimeError("the database caught fire"))


class PerspectiveFingerTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.service = MemoryFingerService(moshez="happy and well", **{"zoë": "à Paris ☕"})
        # A status file cannot hold it, but a back-end may return several lines.
        self.service.users["shawn"] = "alive\nand kicking"

    def connect(self, service: IFingerService) -> Any:
        """
        Connect a PB client to the adapted C{service} in memory, and return
        the client's reference to the root object.
        """
        serverFactory = pb.PBServerFactory(IPerspectiveFinger(service))
        clientFactory = pb.PBClientFactory()
        client, server, self.pump = connectedServerAndClient(
            lambda: serverFactory.buildProtocol(None),
            lambda: clientFactory.buildProtocol(None),
        )
        self.addCleanup(self.disconnect, client)
        root = clientFactory.getRootObject()
        self.pump.flush()
        return self.successResultOf(root)

    def disconnect(self, client: pb.Broker) -> None:
        client.transport.loseConnection()
        self.pump.flush()

    def call(self, root: Any, method: str, *args: object) -> "Deferred[Any]":
        d = root.callRemote(method, *args)
        self.pump.flush()
        return d  # type: ignore[no-any-return]

    def test_interface(self) -> None:
        """The adapter is a PB root providing L{IPerspectiveFinger}."""
        root = IPerspectiveFinger(self.service)
        self.assertIsInstance(root, PerspectiveFingerFromService)
        self.assertIsInstance(root, pb.Root)
        self.assertTrue(verifyObject(IPerspectiveFinger, root))

    def test_getUser(self) -> None:
        """C{getUser} returns the status, as a plain string, lines and all."""
        root = self.connect(self.service)
        self.assertEqual(
            self.successResultOf(self.call(root, "getUser", "moshez")), "happy and well"
        )
        self.assertEqual(self.successResultOf(self.call(root, "getUser", "zoë")), "à Paris ☕")
        self.assertEqual(
            self.successResultOf(self.call(root, "getUser", "shawn")), "alive\nand kicking"
        )

    def test_getUsers(self) -> None:
        """C{getUsers} returns a plain list of names."""
        root = self.connect(self.service)
        users = self.successResultOf(self.call(root, "getUsers"))
        self.assertEqual(type(users), list)
        self.assertEqual(sorted(users), ["moshez", "shawn", "zoë"])

    def test_unknownUser(self) -> None:
        """An unknown user fails remotely with L{NoSuchUser}, saying L{NO_SUCH_USER}."""
        root = self.connect(self.service)
        for name in ["nobody", "/W", "a b"]:
            failure = self.failureResultOf(self.call(root, "getUser", name))
            self.assertTrue(failure.check(NoSuchUser), failure)
            self.assertEqual(failure.value, NO_SUCH_USER)

    def test_notAString(self) -> None:
        """A name that is not a string fails with L{BadRequest}."""
        root = self.connect(self.service)
        for name in [b"moshez", 7, ["moshez"], None]:
            failure = self.failureResultOf(self.call(root, "getUser", name))
            self.assertTrue(failure.check(BadRequest), failure)

    def test_badCalls(self) -> None:
        """
        An unknown method, or wrong arguments, fail remotely with
        L{BadRequest}, and nothing is logged: Twisted logged a traceback
        naming the method as the client sent it, control characters and all.
        """
        root = self.connect(self.service)
        calls = [
            ("\x1b[2J\x00evil", ()),
            ("remote_getUser", ("moshez",)),
            ("__init__", ()),
            ("getUser", ()),
            ("getUser", ("moshez", "shawn")),
            ("getUsers", ("\x1b[2J",)),
        ]
        with capturedLogs() as events:
            for method, args in calls:
                failure = self.failureResultOf(self.call(root, method, *args))
                self.assertTrue(failure.check(BadRequest), (method, failure))
            d = root.callRemote("getUser", nobody="moshez")
            self.pump.flush()
            self.assertTrue(self.failureResultOf(d).check(BadRequest))
        self.assertEqual(events, [])
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_backendFailure(self) -> None:
        """
        A back-end failure is logged on the server; the client learns only
        that there was an internal error.
        """
        root = self.connect(_BrokenService())
        with capturedLogs() as events:
            user = self.failureResultOf(self.call(root, "getUser", "moshez"))
            users = self.failureResultOf(self.call(root, "getUsers"))
        for failure in [user, users]:
            self.assertTrue(failure.check(pb.Error), failure)
            self.assertEqual(failure.value, "Internal error in server")
            self.assertNotIn("fire", str(failure.value))
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 2)
        self.assertEqual(
            len([e for e in events if "Back-end failed" in e.get("log_format", "")]), 2
        )


class PBOptionsTests(SynchronousTestCase):
    """
    C{--pbport} and C{--no-pb}, and how L{tap.makeService} serves PB.
    """

    def parse(self, *argv: str) -> tap.Options:
        path = self.mktemp()
        with open(path, "w") as f:
            f.write("moshez: happy\n")
        options = tap.Options()
        options.parseOptions(["--file", path, *argv])
        return options

    def pbListeners(self, options: tap.Options) -> List[ListeningService]:
        top = tap.makeService(options, MemoryReactorClock())
        return [s for s in top if isinstance(s, ListeningService) and s.option == "--pbport"]

    def test_default(self) -> None:
        """PB is on by default, on port 8889 on every interface; C{--help} says so."""
        self.assertEqual(self.parse()["pbport"], "tcp:8889")
        self.assertIn("[default: tcp:8889]", str(tap.Options()))

    def test_port(self) -> None:
        """C{-p} takes a port number or an endpoint description."""
        self.assertEqual(self.parse("-p", "9000")["pbport"], "tcp:9000")
        self.assertEqual(
            self.parse("--pbport", r"tcp:9000:interface=\:\:1")["pbport"],
            r"tcp:9000:interface=\:\:1",
        )
        with self.assertRaises(usage.UsageError) as raised:
            self.parse("--pbport", "nonsense:9000")
        self.assertTrue(str(raised.exception).startswith("--pbport"), raised.exception)

    def test_makeService(self) -> None:
        """L{tap.makeService} serves the adapted back-end's PB root on C{--pbport}."""
        memory = MemoryReactorClock()
        top = tap.makeService(self.parse("-p", "9000"), memory)
        [listener] = [s for s in top if isinstance(s, ListeningService) and s.option == "--pbport"]
        listener.privilegedStartService()
        self.addCleanup(listener.stopService)
        [(port, factory, backlog, interface)] = [
            server for server in memory.tcpServers if server[0] == 9000
        ]
        self.assertEqual(interface, "")
        self.assertIsInstance(factory, LimitingFactory)
        self.assertIsInstance(factory.wrappedFactory, pb.PBServerFactory)
        self.assertIsInstance(factory.wrappedFactory.root, PerspectiveFingerFromService)

    def test_noPB(self) -> None:
        """C{--no-pb} turns PB off."""
        self.assertEqual(len(self.pbListeners(self.parse())), 1)
        self.assertEqual(self.pbListeners(self.parse("--no-pb")), [])


class FingerBrokerTests(SynchronousTestCase):
    """
    L{FingerBroker} drops a client that does not speak PB with one line in
    the log, where Twisted's broker raised out of C{dataReceived}.
    """

    def test_garbage(self) -> None:
        from twisted.internet.address import IPv4Address
        from twisted.internet.testing import StringTransport

        from finger.pb import FingerBroker

        factory = pb.PBServerFactory(IPerspectiveFinger(MemoryFingerService()))
        factory.protocol = FingerBroker
        deep = b"\x01\x80" * (MAX_DEPTH + 1)
        # One unfinished list of small numbers, longer than a message may be.
        count = MAX_MESSAGE_BYTES // 2 + 1
        prefix: List[bytes] = []
        int2b128(count + 1, prefix.append)
        long = b"".join(prefix) + b"\x80" + b"\x01\x81" * count
        # A number where the client should name a dialect.
        number = b"\x05\x81"
        for garbage in [b"\x95", b"\x01" * 100, b"\x1b[2J\x80\x8f\xff", deep, long, number]:
            broker = factory.buildProtocol(IPv4Address("TCP", "192.0.2.1", 5000))
            transport = StringTransport(peerAddress=IPv4Address("TCP", "192.0.2.1", 5000))
            broker.makeConnection(transport)
            with capturedLogs() as events:
                # As the network delivers it.
                for start in range(0, len(garbage), 65536):
                    broker.dataReceived(garbage[start : start + 65536])
                broker.dataReceived(b"more")
            self.assertTrue(transport.disconnecting)
            self.assertEqual(len(events), 1, [formatEvent(e) for e in events])
            self.assertIn("Dropping PB connection from 192.0.2.1:5000", formatEvent(events[0]))
            self.assertEqual(self.flushLoggedErrors(), [])

    def test_withinLimits(self) -> None:
        """
        Calls still work through it, one after another on one connection.
        """
        from finger.pb import FingerBroker

        factory = pb.PBServerFactory(IPerspectiveFinger(MemoryFingerService(moshez="happy")))
        factory.protocol = FingerBroker
        clientFactory = pb.PBClientFactory()
        client, server, pump = connectedServerAndClient(
            lambda: factory.buildProtocol(None), lambda: clientFactory.buildProtocol(None)
        )
        root = self.successResultOf(_pumped(pump, clientFactory.getRootObject()))
        for _ in range(3):
            status = self.successResultOf(_pumped(pump, root.callRemote("getUser", "moshez")))
            self.assertEqual(status, "happy")
        self.assertFalse(server._broken)

    def test_tap(self) -> None:
        """
        The service's PB listener uses it.
        """
        from finger.pb import FingerBroker

        options = tap.Options()
        path = self.mktemp()
        with open(path, "w") as f:
            f.write("moshez: happy\n")
        options.parseOptions(["--file", path, "--pbport", "tcp:0:interface=127.0.0.1"])
        top = tap.makeService(options)
        pbFactory = top.getServiceNamed("pb").factory.wrappedFactory
        self.assertIs(pbFactory.protocol, FingerBroker)


def _pumped(pump: Any, d: "Deferred[Any]") -> "Deferred[Any]":
    pump.flush()
    return d


class _StuckService(MemoryFingerService):
    """
    Never answers about C{stuck}, nor lists the users; answers about
    anyone else at once.
    """

    def __init__(self) -> None:
        super().__init__(moshez="happy")
        self.cancelled: List[str] = []

    def getUser(self, user: str) -> "Deferred[str]":
        if user == "stuck":
            return Deferred(lambda d: self.cancelled.append(user))
        return super().getUser(user)

    def getUsers(self) -> "Deferred[List[str]]":
        return Deferred(lambda d: self.cancelled.append("*"))


class TimeoutTests(SynchronousTestCase):
    """
    With a clock, a back-end that never answers holds a PB call for
    C{lookupTimeout} seconds at most; other calls are answered meanwhile.
    """

    def test_stuck(self) -> None:
        from twisted.internet.task import Clock

        from finger.pb import LOOKUP_TIMEOUT, TIMED_OUT

        service = _StuckService()
        root = IPerspectiveFinger(service)
        root.clock = clock = Clock()
        factory = pb.PBServerFactory(root)
        clientFactory = pb.PBClientFactory()
        client, server, pump = connectedServerAndClient(
            lambda: factory.buildProtocol(None), lambda: clientFactory.buildProtocol(None)
        )
        remote = self.successResultOf(_pumped(pump, clientFactory.getRootObject()))
        with capturedLogs() as events:
            stuck = [remote.callRemote("getUser", "stuck"), remote.callRemote("getUsers")]
            pump.flush()
            self.assertNoResult(stuck[0])
            self.assertNoResult(stuck[1])
            other = _pumped(pump, remote.callRemote("getUser", "moshez"))
            self.assertEqual(self.successResultOf(other), "happy")
            clock.advance(LOOKUP_TIMEOUT)
            pump.flush()
        for d in stuck:
            failure = self.failureResultOf(d)
            self.assertEqual(failure.value, TIMED_OUT)
        self.assertEqual(sorted(service.cancelled), ["*", "stuck"])
        self.assertEqual(
            [
                e["log_level"].name
                for e in events
                if e.get("log_namespace", "").startswith("finger")
            ],
            ["warn", "warn"],
        )
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_tap(self) -> None:
        """
        The service's PB root keeps time with the reactor.
        """
        options = tap.Options()
        path = self.mktemp()
        with open(path, "w") as f:
            f.write("moshez: happy\n")
        options.parseOptions(["--file", path, "--pbport", "tcp:0:interface=127.0.0.1"])
        reactor = MemoryReactorClock()
        top = tap.makeService(options, reactor)
        root = top.getServiceNamed("pb").factory.wrappedFactory.root
        self.assertIs(root.clock, reactor)
