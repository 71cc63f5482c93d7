"""
Tests for L{finger.frontends.pb.root} and L{finger.frontends.pb.calls}: the
PB root, with a real PB client in memory (L{twisted.test.iosim}), what a
client may call on it, and its lookups' policy.
"""

from typing import Any

from twisted.cred.credentials import UsernamePassword
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.logger import capturedLogs
from twisted.spread import pb
from twisted.test.iosim import connectedServerAndClient
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from finger.auth import SetterLogin, setterPortal
from finger.interfaces import IFingerService, IPerspectiveFinger
from finger.messages import NO_SUCH_USER, NOT_AVAILABLE_YET
from finger.frontends.pb import (
    LOOKUP_TIMEOUT,
    TIMED_OUT,
    BadRequest,
    NotAvailable,
    NoSuchUser,
    FingerPBServerFactory,
    PerspectiveFingerFromService,
)
from finger.backends.memory import MemoryFingerService
from finger.testing import BrokenService, FaultyService, NotYetService
from tests.frontends.pb.helpers import checker, pumped


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

    def test_notAvailableYet(self) -> None:
        """
        A back-end that has not read its statuses yet is a remote
        L{NotAvailable} saying so, for a user and for the list; nothing is
        logged as a failure.
        """
        root = self.connect(NotYetService())
        for call in [("getUser", "moshez"), ("getUsers",)]:
            failure = self.failureResultOf(self.call(root, *call))
            self.assertTrue(failure.check(NotAvailable), failure)
            self.assertEqual(failure.value, NOT_AVAILABLE_YET)
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_backendFailure(self) -> None:
        """
        A back-end failure is logged on the server; the client learns only
        that there was an internal error.
        """
        root = self.connect(BrokenService())
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


class TimeoutTests(SynchronousTestCase):
    """
    With a clock, a back-end that never answers holds a PB call for
    C{lookupTimeout} seconds at most; other calls are answered meanwhile.
    """

    def test_stuck(self) -> None:
        service = FaultyService(stuck=["stuck"], stuckListing=True, moshez="happy")
        clock = Clock()
        factory = FingerPBServerFactory(PerspectiveFingerFromService(service, clock=clock))
        clientFactory = pb.PBClientFactory()
        client, server, pump = connectedServerAndClient(
            lambda: factory.buildProtocol(None), lambda: clientFactory.buildProtocol(None)
        )
        remote = self.successResultOf(pumped(pump, clientFactory.getRootObject()))
        with capturedLogs() as events:
            stuck = [remote.callRemote("getUser", "stuck"), remote.callRemote("getUsers")]
            pump.flush()
            self.assertNoResult(stuck[0])
            self.assertNoResult(stuck[1])
            other = pumped(pump, remote.callRemote("getUser", "moshez"))
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


class PolicyTests(SynchronousTestCase):
    """
    Lookups over PB follow L{finger.lookup}'s policy: a client that leaves
    cancels its lookups, on the root and on the avatar alike.
    """

    def assertLeavingCancels(self, login: bool) -> None:
        """
        A client that leaves while lookups wait, on the root or, if
        C{login}, on its avatar, cancels them, and nothing is logged.
        """
        service = FaultyService(stuck=["stuck"], stuckListing=True, moshez="happy")
        clock = Clock()
        setterLogin = SetterLogin(setterPortal(service, [checker()], []), clock)
        factory = FingerPBServerFactory(
            PerspectiveFingerFromService(service, clock=clock, login=setterLogin if login else None),
            clock=clock,
        )
        clientFactory = pb.PBClientFactory()
        client, server, pump = connectedServerAndClient(
            lambda: factory.buildProtocol(None), lambda: clientFactory.buildProtocol(None)
        )
        if login:
            asking = clientFactory.login(UsernamePassword(b"moshez", b"secret"))
        else:
            asking = clientFactory.getRootObject()
        remote = self.successResultOf(pumped(pump, asking))
        with capturedLogs() as events:
            stuck = [remote.callRemote("getUser", "stuck"), remote.callRemote("getUsers")]
            pump.flush()
            client.transport.loseConnection()
            pump.flush()
        self.assertEqual(sorted(service.cancelled), ["*", "stuck"])
        for d in stuck:
            self.failureResultOf(d, pb.PBConnectionLost)
        self.assertEqual(events, [])
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_clientLeaves(self) -> None:
        """
        A client that leaves while lookups wait cancels them, and nothing is
        logged.
        """
        self.assertLeavingCancels(login=False)

    def test_avatarLeaves(self) -> None:
        """
        A client that logged in and leaves while its lookups wait cancels
        them too, and nothing is logged.
        """
        self.assertLeavingCancels(login=True)
