"""
Tests for L{finger.frontends.pb}: the PB root, with a real PB client in memory
(L{twisted.test.iosim}).
"""

from typing import Any, List, Optional, Tuple

from twisted.cred.checkers import (
    ICredentialsChecker,
    InMemoryUsernamePasswordDatabaseDontUse,
)
from twisted.cred.credentials import Anonymous, IUsernamePassword, UsernamePassword
from twisted.cred.error import UnauthorizedLogin
from twisted.internet.defer import Deferred, fail
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock, deferLater
from twisted.internet.address import IPv4Address
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.logger import capturedLogs, formatEvent
from twisted.python import usage
from twisted.python.failure import Failure
from twisted.spread import pb
from twisted.spread import banana
from twisted.spread.banana import int2b128
from twisted.test.iosim import FakeTransport, IOPump, connectedServerAndClient
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer
from zope.interface.verify import verifyObject

from finger.app import tap
from finger.auth import (
    FAILED_LOGIN_DELAY,
    LOGIN_FAILED,
    MAX_QUEUED_LOGINS,
    SetterLogin,
    setterPortal,
)
from finger.interfaces import IFingerService, IPerspectiveFinger, StatusNotSaved
from finger.messages import NO_SUCH_USER, SET_TIMED_OUT
from finger.names import MAX_STATUS_LENGTH
from finger.net.limits import LimitingFactory
from finger.net.listen import ListeningService
from finger.frontends.pb import (
    BURST_BYTES,
    BYTES_PER_SECOND,
    DECODE_BYTES,
    MAX_BYTES_BEFORE_LOGIN,
    MAX_DEPTH,
    MAX_ITEMS,
    MAX_ITEMS_BEFORE_LOGIN,
    MAX_MESSAGES_BEFORE_LOGIN,
    MAX_MESSAGE_BYTES,
    NOT_SAVED,
    BadRequest,
    BrokerLimits,
    LoginNotOffered,
    LoginRefused,
    NoSuchUser,
    NotSaved,
    PermissionDenied,
    FingerBroker,
    FingerPBServerFactory,
    PerspectiveFingerFromService,
)
from finger.backends.memory import MemoryFingerService
from finger.testing import BrokenService, FaultyService


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


def _checker() -> InMemoryUsernamePasswordDatabaseDontUse:
    return InMemoryUsernamePasswordDatabaseDontUse(moshez=b"secret", root=b"toor")


class _HeldSetterService(MemoryFingerService):
    """
    A back-end whose saves wait until the test fires them, as a status file
    waits for the disk.
    """

    def __init__(self, **users: str) -> None:
        super().__init__(**users)
        self.saving: List["Deferred[None]"] = []

    def setUser(self, user: str, status: str) -> "Deferred[None]":
        d: "Deferred[None]" = Deferred()

        def save(result: None) -> None:
            self.users[user] = status

        d.addCallback(save)
        self.saving.append(d)
        return d


class _FailingSetterService(MemoryFingerService):
    def __init__(self, error: Exception) -> None:
        super().__init__(moshez="happy")
        self.error = error

    def setUser(self, user: str, status: str) -> "Deferred[None]":
        return fail(self.error)


@implementer(ICredentialsChecker)
class _SlowChecker:
    """
    A checker that answers a second late, as one that asks a database does.
    """

    def __init__(self, checker: ICredentialsChecker, clock: Clock) -> None:
        self.checker = checker
        self.clock = clock
        self.credentialInterfaces = checker.credentialInterfaces

    def requestAvatarId(self, credentials: Any) -> "Deferred[Any]":
        return deferLater(self.clock, 1, self.checker.requestAvatarId, credentials)


class PerspectiveLoginTests(SynchronousTestCase):
    """
    Logging in over PB with C{--auth} and setting statuses, with a real PB
    client in memory and a L{Clock} for the failed-login delay.
    """

    def setUp(self) -> None:
        self.service = MemoryFingerService(moshez="happy", shawn="alive")
        self.clock = Clock()

    def serve(
        self, service: MemoryFingerService, checkers: Optional[List[Any]] = None, auth: bool = True
    ) -> pb.PBServerFactory:
        login = None
        if auth:
            portal = setterPortal(service, [_checker()] if checkers is None else checkers, ["root"])
            login = SetterLogin(portal, self.clock)
        return FingerPBServerFactory(
            PerspectiveFingerFromService(service, clock=self.clock, login=login), clock=self.clock
        )

    def connect(self, serverFactory: pb.PBServerFactory) -> Tuple[pb.PBClientFactory, IOPump]:
        clientFactory = pb.PBClientFactory()
        client, server, pump = connectedServerAndClient(
            lambda: serverFactory.buildProtocol(None),
            lambda: clientFactory.buildProtocol(None),
            clock=self.clock,
        )
        self.addCleanup(lambda: (client.transport.loseConnection(), pump.flush()))
        return clientFactory, pump

    def login(
        self, name: bytes = b"moshez", password: bytes = b"secret", service: Any = None
    ) -> Tuple[Any, IOPump]:
        clientFactory, pump = self.connect(self.serve(service or self.service))
        d = clientFactory.login(UsernamePassword(name, password))
        pump.flush()
        return self.successResultOf(d), pump

    def call(self, pump: IOPump, ref: Any, method: str, *args: object) -> "Deferred[Any]":
        d = ref.callRemote(method, *args)
        pump.flush()
        return d  # type: ignore[no-any-return]

    def test_setOwnStatus(self) -> None:
        """
        The standard C{PBClientFactory.login} gives an avatar whose
        C{setUser} sets the user's own status; it also reads statuses; the
        set is logged.
        """
        avatar, pump = self.login()
        with capturedLogs() as events:
            self.assertIsNone(
                self.successResultOf(self.call(pump, avatar, "setUser", "moshez", "busy"))
            )
        self.assertEqual(self.service.users["moshez"], "busy")
        self.assertEqual(self.successResultOf(self.call(pump, avatar, "getUser", "moshez")), "busy")
        self.assertEqual(
            sorted(self.successResultOf(self.call(pump, avatar, "getUsers"))), ["moshez", "shawn"]
        )
        [event] = [e for e in events if "set by" in e.get("log_format", "")]
        self.assertEqual((event["user"], event["login"]), ("moshez", "moshez"))

    def test_anonymousRoot(self) -> None:
        """
        With logins offered, the root still answers C{getUser} and
        C{getUsers} without one, as for clients that never log in.
        """
        clientFactory, pump = self.connect(self.serve(self.service))
        root = clientFactory.getRootObject()
        pump.flush()
        root = self.successResultOf(root)
        self.assertEqual(self.successResultOf(self.call(pump, root, "getUser", "moshez")), "happy")
        failure = self.failureResultOf(self.call(pump, root, "getUser", "nobody"))
        self.assertTrue(failure.check(NoSuchUser))
        self.assertEqual(
            sorted(self.successResultOf(self.call(pump, root, "getUsers"))), ["moshez", "shawn"]
        )
        # Setting needs a login.
        failure = self.failureResultOf(self.call(pump, root, "setUser", "moshez", "x"))
        self.assertTrue(failure.check(BadRequest), failure)
        self.assertEqual(self.service.users["moshez"], "happy")

    def test_wrongCalls(self) -> None:
        """
        An unknown method, or arguments a method does not take, on the root
        or a login's challenger is a L{BadRequest}, not a traceback in the
        server's log.
        """
        clientFactory, pump = self.connect(self.serve(self.service))
        root = clientFactory.getRootObject()
        pump.flush()
        root = self.successResultOf(root)
        _, challenger = self.successResultOf(self.call(pump, root, "login", b"moshez"))
        for ref, method, args, reason in [
            (root, "nonsense", (), "no such method: 'nonsense'"),
            (root, "__init__", (), "no such method"),
            (root, "getUser", (), "getUser: missing a required argument"),
            (root, "getUsers", (1, 2), "getUsers: too many positional arguments"),
            (root, "login", (), "login: missing"),
            (challenger, "respond", (b"x",), "respond: missing"),
            (challenger, "checkPassword", (b"x",), "no such method"),
        ]:
            failure = self.failureResultOf(self.call(pump, ref, method, *args))
            self.assertTrue(failure.check(BadRequest), (method, failure))
            self.assertIn(reason, failure.value)
        for kw in [{"user": 7}, {"who": "moshez"}]:
            d = root.callRemote("getUser", **kw)
            pump.flush()
            failure = self.failureResultOf(d)
            self.assertTrue(failure.check(BadRequest), failure)
        d = root.callRemote("getUser", user="moshez")
        pump.flush()
        self.assertEqual(self.successResultOf(d), "happy")
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_wrongCredentials(self) -> None:
        """
        A wrong password or an unknown name fails with L{LoginRefused}, also
        an L{UnauthorizedLogin}, saying only L{LOGIN_FAILED}, after the
        delay; the attempt is logged without the password, and nothing is
        logged as an error.
        """
        for name, password in [(b"moshez", b"wrong"), (b"nobody", b"secret")]:
            clientFactory, pump = self.connect(self.serve(self.service))
            with capturedLogs() as events:
                d = clientFactory.login(UsernamePassword(name, password))
                pump.flush()
                self.assertNoResult(d)
                self.clock.advance(FAILED_LOGIN_DELAY - 0.1)
                pump.flush()
                self.assertNoResult(d)
                self.clock.advance(0.1)
                pump.flush()
            failure = self.failureResultOf(d)
            self.assertTrue(failure.check(LoginRefused), failure)
            self.assertTrue(failure.check(UnauthorizedLogin), failure)
            self.assertEqual(failure.value, LOGIN_FAILED)
            [event] = [e for e in events if "Failed login" in e.get("log_format", "")]
            self.assertEqual(event["name"], name.decode())
            self.assertNotIn(password.decode(), repr(events))
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_notAllowed(self) -> None:
        """
        A user who is not an admin may not set someone else's status:
        L{PermissionDenied} says so, and it is logged.
        """
        avatar, pump = self.login()
        with capturedLogs() as events:
            failure = self.failureResultOf(self.call(pump, avatar, "setUser", "shawn", "hacked"))
        self.assertTrue(failure.check(PermissionDenied), failure)
        self.assertEqual(failure.value, "not allowed: moshez may not set the status of shawn")
        self.assertEqual(self.service.users["shawn"], "alive")
        [event] = [e for e in events if "may not set" in e.get("log_format", "")]
        self.assertEqual(event["user"], "shawn")

    def test_admin(self) -> None:
        """An admin may set anyone's status."""
        avatar, pump = self.login(b"root", b"toor")
        self.successResultOf(self.call(pump, avatar, "setUser", "shawn", "away"))
        self.assertEqual(self.service.users["shawn"], "away")

    def test_invalidInput(self) -> None:
        """
        An invalid name or status, arguments of the wrong type or number,
        and an unknown method fail with L{BadRequest} saying why, and change
        nothing.
        """
        avatar, pump = self.login(b"root", b"toor")
        for args, reason in [
            (("a b", "x"), "invalid user name: a user name may not contain whitespace"),
            (("-rf", "x"), "invalid user name: a user name may not start"),
            (("moshez", "two\nlines"), "invalid status: a status may not contain control"),
            (("moshez", "x" * 2000), "invalid status: a status is at most 1024"),
            ((b"moshez", "x"), "setUser takes a user name and a status, as strings"),
            (("moshez", None), "setUser takes a user name and a status, as strings"),
            (("moshez",), "setUser: missing a required argument"),
            (("moshez", "x", "y"), "setUser: too many positional arguments"),
        ]:
            failure = self.failureResultOf(self.call(pump, avatar, "setUser", *args))
            self.assertTrue(failure.check(BadRequest), failure)
            self.assertIn(reason, failure.value)
        failure = self.failureResultOf(self.call(pump, avatar, "rm", "-rf"))
        self.assertTrue(failure.check(BadRequest), failure)
        self.assertEqual(self.service.users, {"moshez": "happy", "shawn": "alive"})
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_answersWhenDurable(self) -> None:
        """C{setUser} answers only once the back-end has saved the status."""
        service = _HeldSetterService(moshez="happy")
        avatar, pump = self.login(service=service)
        d = self.call(pump, avatar, "setUser", "moshez", "busy")
        self.assertNoResult(d)
        service.saving.pop().callback(None)
        pump.flush()
        self.assertIsNone(self.successResultOf(d))
        self.assertEqual(service.users["moshez"], "busy")

    def test_notSaved(self) -> None:
        """
        A save that failed is reported as L{NotSaved}, without the
        back-end's details.
        """
        service = _FailingSetterService(StatusNotSaved("/var/lib/finger: disk full"))
        avatar, pump = self.login(service=service)
        failure = self.failureResultOf(self.call(pump, avatar, "setUser", "moshez", "busy"))
        self.assertTrue(failure.check(NotSaved), failure)
        self.assertEqual(failure.value, NOT_SAVED)

    def test_backendError(self) -> None:
        """
        A back-end that raises: the client learns of an internal error; the
        details are logged.
        """
        service = _FailingSetterService(RuntimeError("the disk caught fire"))
        avatar, pump = self.login(service=service)
        failure = self.failureResultOf(self.call(pump, avatar, "setUser", "moshez", "busy"))
        self.assertTrue(failure.check(pb.Error), failure)
        self.assertEqual(failure.value, "Internal error in server")
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_withoutAuth(self) -> None:
        """
        Without C{--auth} logging in fails at once with L{LoginNotOffered},
        which says why; so does anonymous login, with or without it.
        """
        for auth in [False, True]:
            clientFactory, pump = self.connect(self.serve(self.service, auth=auth))
            d = clientFactory.login(Anonymous())
            pump.flush()
            failure = self.failureResultOf(d)
            self.assertTrue(failure.check(LoginNotOffered), failure)
            self.assertIn("anonymous login is not offered", failure.value)
        clientFactory, pump = self.connect(self.serve(self.service, auth=False))
        d = clientFactory.login(UsernamePassword(b"moshez", b"secret"))
        pump.flush()
        failure = self.failureResultOf(d)
        self.assertTrue(failure.check(LoginNotOffered), failure)
        self.assertIn("without --auth", failure.value)

    def test_uncheckablePasswords(self) -> None:
        """
        Checkers that need the password itself (C{--auth unix}) cannot
        check PB's challenge-response: logging in fails at once with
        L{LoginNotOffered}, and the server logs why.
        """

        @implementer(ICredentialsChecker)
        class PlainOnly:
            credentialInterfaces = (IUsernamePassword,)

            def requestAvatarId(self, credentials: Any) -> "Deferred[bytes]":
                raise AssertionError("never asked")

        clientFactory, pump = self.connect(self.serve(self.service, [PlainOnly()]))
        with capturedLogs() as events:
            d = clientFactory.login(UsernamePassword(b"moshez", b"secret"))
            pump.flush()
        failure = self.failureResultOf(d)
        self.assertTrue(failure.check(LoginNotOffered), failure)
        self.assertIn("challenge-response", failure.value)
        self.assertTrue([e for e in events if "no --auth checker" in e.get("log_format", "")])

    def test_challengeAnsweredOnce(self) -> None:
        """
        A challenge takes one response: guessing again needs a new login,
        and so a new challenge (and a new delay).
        """
        clientFactory, pump = self.connect(self.serve(self.service))
        root = clientFactory.getRootObject()
        pump.flush()
        root = self.successResultOf(root)
        challenge, challenger = self.successResultOf(self.call(pump, root, "login", b"moshez"))
        first = self.call(pump, challenger, "respond", pb.respond(challenge, b"wrong"), None)
        second = self.call(pump, challenger, "respond", pb.respond(challenge, b"secret"), None)
        self.assertTrue(self.failureResultOf(second).check(BadRequest))
        self.clock.advance(FAILED_LOGIN_DELAY)
        pump.flush()
        self.assertTrue(self.failureResultOf(first).check(LoginRefused))
        # Nonsense in place of a response is a wrong password.
        challenge, challenger = self.successResultOf(self.call(pump, root, "login", "moshez"))
        d = self.call(pump, challenger, "respond", ["not", "bytes"], None)
        self.clock.advance(FAILED_LOGIN_DELAY)
        pump.flush()
        self.assertTrue(self.failureResultOf(d).check(LoginRefused))
        failure = self.failureResultOf(self.call(pump, root, "login", 7))
        self.assertTrue(failure.check(BadRequest))

    def test_oneLoginAtATime(self) -> None:
        """
        While a login waits for its answer, another on the same connection
        is refused, so guesses cannot run in parallel on one connection;
        once it is answered, the next may go.
        """
        clientFactory, pump = self.connect(self.serve(self.service))
        root = clientFactory.getRootObject()
        pump.flush()
        root = self.successResultOf(root)
        [(c1, r1), (c2, r2)] = [
            self.successResultOf(self.call(pump, root, "login", b"moshez")) for i in range(2)
        ]
        first = self.call(pump, r1, "respond", pb.respond(c1, b"wrong"), None)
        second = self.call(pump, r2, "respond", pb.respond(c2, b"secret"), None)
        failure = self.failureResultOf(second)
        self.assertTrue(failure.check(BadRequest), failure)
        self.assertIn("under way", failure.value)
        self.clock.advance(FAILED_LOGIN_DELAY)
        pump.flush()
        self.assertTrue(self.failureResultOf(first).check(LoginRefused))
        c3, r3 = self.successResultOf(self.call(pump, root, "login", b"moshez"))
        self.successResultOf(self.call(pump, r3, "respond", pb.respond(c3, b"secret"), None))

    def test_longStatus(self) -> None:
        """
        The longest status, longer than Banana decodes in one turn, is set:
        its message is decoded over several turns of the clock.
        """
        avatar, pump = self.login()
        status = "\u2615" * MAX_STATUS_LENGTH
        self.assertGreater(len(status.encode("utf-8")), DECODE_BYTES)
        d = self.call(pump, avatar, "setUser", "moshez", status)
        self.assertIsNone(self.successResultOf(d))
        self.assertEqual(self.service.users["moshez"], status)

    def test_strNames(self) -> None:
        """
        C{--auth memory:...} names, which Twisted's checker factory keeps as
        L{str}, log in; a name sent as L{str} does too.
        """
        checker = InMemoryUsernamePasswordDatabaseDontUse()
        checker.addUser("zoë", "mot de passe")  # type: ignore[arg-type]
        clientFactory, pump = self.connect(self.serve(self.service, [checker]))
        d = clientFactory.login(UsernamePassword("zoë", "mot de passe".encode()))  # type: ignore[arg-type]
        pump.flush()
        avatar = self.successResultOf(d)
        self.successResultOf(self.call(pump, avatar, "setUser", "zoë", "là"))
        self.assertEqual(self.service.users["zoë"], "là")


class PerspectiveDisconnectTests(SynchronousTestCase):
    """
    A client that disconnects while a call is under way: no error, the set
    completes or not, and the server keeps serving.
    """

    lastPort = 40000

    def setUp(self) -> None:
        self.service = _HeldSetterService(moshez="happy")
        self.clock = Clock()
        self.serve([_checker()])

    def serve(self, checkers: List[Any]) -> None:
        login = SetterLogin(setterPortal(self.service, checkers, []), self.clock)
        self.serverFactory = FingerPBServerFactory(
            PerspectiveFingerFromService(self.service, clock=self.clock, login=login),
            clock=self.clock,
        )

    def connect(self) -> Tuple[pb.PBClientFactory, pb.Broker, pb.Broker, IOPump]:
        """
        Connect a PB client to the server in memory; every connection comes
        from one client, 192.0.2.1, from a port of its own.
        """
        clientFactory = pb.PBClientFactory()
        self.lastPort += 1
        peer = IPv4Address("TCP", "192.0.2.1", self.lastPort)
        client, server, pump = connectedServerAndClient(
            lambda: self.serverFactory.buildProtocol(peer),
            lambda: clientFactory.buildProtocol(None),
            serverTransportFactory=lambda protocol: FakeTransport(
                protocol, isServer=True, peerAddress=peer
            ),
            clock=self.clock,
        )
        return clientFactory, client, server, pump

    def assertStillServing(self) -> None:
        clientFactory, client, server, pump = self.connect()
        d = clientFactory.login(UsernamePassword(b"moshez", b"secret"))
        pump.flush()
        self.clock.advance(1)  # for a slow checker
        pump.flush()
        avatar = self.successResultOf(d)
        d = avatar.callRemote("getUser", "moshez")
        pump.flush()
        self.successResultOf(d)
        client.transport.loseConnection()
        pump.flush()

    def test_duringSetUser(self) -> None:
        """
        The client leaves before the status is saved: the save goes on, the
        answer is dropped without an error, and the server keeps serving.
        """
        clientFactory, client, server, pump = self.connect()
        d = clientFactory.login(UsernamePassword(b"moshez", b"secret"))
        pump.flush()
        avatar = self.successResultOf(d)
        setting = avatar.callRemote("setUser", "moshez", "busy")
        pump.flush()
        client.transport.loseConnection()
        pump.flush()
        self.assertTrue(server.disconnected)
        self.assertTrue(self.failureResultOf(setting).check(pb.PBConnectionLost))
        self.service.saving.pop().callback(None)
        pump.flush()
        self.assertEqual(self.service.users["moshez"], "busy")
        self.assertEqual(self.flushLoggedErrors(), [])
        self.assertStillServing()

    def test_failedSaveAfterLeaving(self) -> None:
        """A save that fails after the client left is not an error on the server."""
        clientFactory, client, server, pump = self.connect()
        d = clientFactory.login(UsernamePassword(b"moshez", b"secret"))
        pump.flush()
        avatar = self.successResultOf(d)
        avatar.callRemote("setUser", "moshez", "busy").addErrback(lambda _: None)
        pump.flush()
        client.transport.loseConnection()
        pump.flush()
        self.service.saving.pop().errback(StatusNotSaved("disk full"))
        pump.flush()
        self.assertEqual(self.service.users["moshez"], "happy")
        self.assertEqual(self.flushLoggedErrors(), [])
        self.assertStillServing()

    def test_duringLogin(self) -> None:
        """
        The client leaves while a login waits (a wrong password's delay, or
        a slow checker's answer to a right one): nothing is sent and
        nothing is logged as an error.
        """
        self.serve([_SlowChecker(_checker(), self.clock)])
        for password in [b"wrong", b"secret"]:
            clientFactory, client, server, pump = self.connect()
            root = clientFactory.getRootObject()
            pump.flush()
            root = self.successResultOf(root)
            d = root.callRemote("login", b"moshez")
            pump.flush()
            challenge, challenger = self.successResultOf(d)
            # Send the response, and leave before the server reads it.
            responding = challenger.callRemote("respond", pb.respond(challenge, password), None)
            client.transport.loseConnection()
            pump.flush()
            self.clock.advance(FAILED_LOGIN_DELAY)
            pump.flush()
            self.failureResultOf(responding, pb.PBConnectionLost)
        self.assertEqual(self.flushLoggedErrors(), [])
        self.assertStillServing()

    def test_queuedLoginsLeave(self) -> None:
        """
        Logins waiting their turn behind a failed one give their places up
        when their connections go, so connections that queue a login and
        reset cannot fill the login table: round after round, new logins
        queue in their places, none refused unchecked.
        """
        login = SetterLogin(setterPortal(self.service, [_checker()], []), self.clock)
        self.serverFactory = FingerPBServerFactory(
            PerspectiveFingerFromService(self.service, clock=self.clock, login=login),
            clock=self.clock,
        )
        clientFactory, client, server, pump = self.connect()
        failing = clientFactory.login(UsernamePassword(b"moshez", b"wrong"))
        pump.flush()
        def pending() -> int:
            # Every connection here comes from one client, so its turns
            # hold every login under way.
            return sum(turns.pending for turns in login.turns.values())

        for _ in range(3):
            waiting = []
            for _ in range(MAX_QUEUED_LOGINS - 1):
                waiter = self.connect()
                d = waiter[0].login(UsernamePassword(b"moshez", b"secret"))
                waiter[3].flush()
                waiting.append((d, waiter))
            self.assertEqual(pending(), MAX_QUEUED_LOGINS)
            for d, (_, waiterClient, waiterServer, waiterPump) in waiting:
                waiterClient.transport.loseConnection()
                waiterPump.flush()
                self.assertTrue(waiterServer.disconnected)
                self.failureResultOf(d, pb.PBConnectionLost)
            self.assertEqual(pending(), 1)
        self.clock.advance(FAILED_LOGIN_DELAY)
        pump.flush()
        self.failureResultOf(failing, UnauthorizedLogin)
        self.assertEqual(login.turns, {})
        self.assertEqual(self.flushLoggedErrors(), [])


class PBAuthOptionsTests(SynchronousTestCase):
    """
    How L{tap.makeService} offers PB logins.
    """

    def root(self, *argv: str) -> PerspectiveFingerFromService:
        path = self.mktemp()
        with open(path, "w") as f:
            f.write("moshez: happy\n")
        options = tap.Options()
        options.parseOptions(["--file", path, *argv])
        top = tap.makeService(options, MemoryReactorClock())
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


class FingerBrokerTests(SynchronousTestCase):
    """
    L{FingerBroker} drops a client that does not speak PB with one line in
    the log, where Twisted's broker raised out of C{dataReceived}.
    """

    def test_garbage(self) -> None:
        from twisted.internet.address import IPv4Address
        from twisted.internet.testing import StringTransport

        factory = FingerPBServerFactory(IPerspectiveFinger(MemoryFingerService()))
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
        factory = FingerPBServerFactory(IPerspectiveFinger(MemoryFingerService(moshez="happy")))
        clientFactory = pb.PBClientFactory()
        client, server, pump = connectedServerAndClient(
            lambda: factory.buildProtocol(None), lambda: clientFactory.buildProtocol(None)
        )
        root = self.successResultOf(_pumped(pump, clientFactory.getRootObject()))
        for _ in range(3):
            status = self.successResultOf(_pumped(pump, root.callRemote("getUser", "moshez")))
            self.assertEqual(status, "happy")
        self.assertFalse(server.dropped)

    def test_tap(self) -> None:
        """
        The service's PB listener uses it.
        """
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


class TimeoutTests(SynchronousTestCase):
    """
    With a clock, a back-end that never answers holds a PB call for
    C{lookupTimeout} seconds at most; other calls are answered meanwhile.
    """

    def test_stuck(self) -> None:
        from twisted.internet.task import Clock

        from finger.frontends.pb import LOOKUP_TIMEOUT, TIMED_OUT

        service = FaultyService(stuck=["stuck"], stuckListing=True, moshez="happy")
        clock = Clock()
        factory = FingerPBServerFactory(PerspectiveFingerFromService(service, clock=clock))
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


class _Unknown(pb.Copyable):
    """
    A copyable type the server does not know, named with control
    characters.
    """

    def getTypeToCopy(self) -> bytes:
        return b"\x1b[2J evil.Type"


class BadCallTests(SynchronousTestCase):
    """
    L{FingerBroker} answers a call it cannot read with a L{BadRequest} and
    one escaped line in the log, and drops a connection that keeps making
    malformed calls.
    """

    def setUp(self) -> None:
        factory = FingerPBServerFactory(
            PerspectiveFingerFromService(MemoryFingerService(moshez="happy"), clock=Clock()),
            limits=BrokerLimits(maxBadCalls=3),
        )
        clientFactory = pb.PBClientFactory()
        self.client, self.server, self.pump = connectedServerAndClient(
            lambda: factory.buildProtocol(None), lambda: clientFactory.buildProtocol(None)
        )
        self.root = self.successResultOf(_pumped(self.pump, clientFactory.getRootObject()))

    def test_unknownType(self) -> None:
        """
        An argument of a type the server does not know is a L{BadRequest}
        for the client and one escaped log line, not a traceback; the
        connection goes on serving.
        """
        with capturedLogs() as events:
            d = _pumped(self.pump, self.root.callRemote("getUser", _Unknown()))
        failure = self.failureResultOf(d)
        self.assertTrue(failure.check(BadRequest), failure)
        self.assertEqual(failure.value, "arguments this server cannot read")
        [event] = events
        line = formatEvent(event)
        self.assertIn("cannot read its arguments", line)
        self.assertNotIn("\x1b", line)
        self.assertIn("\\x1b[2J evil", line)
        self.assertEqual(self.flushLoggedErrors(), [])
        status = _pumped(self.pump, self.root.callRemote("getUser", "moshez"))
        self.assertEqual(self.successResultOf(status), "happy")

    def test_tooManyBadCalls(self) -> None:
        """
        A connection that makes more malformed calls than it may is dropped,
        with one line in the log, so it cannot fill the log.
        """
        with capturedLogs() as events:
            for i in range(3):
                d = _pumped(self.pump, self.root.callRemote("getUser", _Unknown()))
                self.assertTrue(self.failureResultOf(d).check(BadRequest))
                self.assertFalse(self.server.dropped)
            d = _pumped(self.pump, self.root.callRemote("nonsense"))
            self.assertTrue(self.failureResultOf(d).check(BadRequest))
        self.assertTrue(self.server.dropped)
        self.assertTrue(self.client.disconnected)
        self.assertEqual(len(events), 4, [formatEvent(e) for e in events])
        self.assertIn("more than 3 malformed calls", formatEvent(events[-1]))
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_noSuchObject(self) -> None:
        """
        A call to an object the connection does not have is a
        L{BadRequest}, not a traceback.
        """
        self.client.sendCall(b"message", 99, 12345, b"getUser", 0, [b"tuple"], [b"dictionary"])
        self.pump.flush()
        self.assertEqual(self.flushLoggedErrors(), [])
        self.assertEqual(self.server.badCalls, 1)


class BrokerLimitTests(SynchronousTestCase):
    """
    L{FingerBroker} applies the limits after the client chose its dialect,
    when Banana would otherwise decode whatever arrives.
    """

    def connect(self, limits: BrokerLimits) -> Tuple[pb.Broker, StringTransport]:
        factory = FingerPBServerFactory(
            IPerspectiveFinger(MemoryFingerService(moshez="happy")), limits=limits, clock=Clock()
        )
        broker = factory.buildProtocol(IPv4Address("TCP", "192.0.2.1", 5000))
        transport = StringTransport(peerAddress=IPv4Address("TCP", "192.0.2.1", 5000))
        broker.makeConnection(transport)
        broker.dataReceived(banana.encode(b"pb"))
        return broker, transport

    def test_afterDialect(self) -> None:
        """
        Messages over the limits are dropped after the dialect as before
        it, with one line in the log and no error.
        """
        for limits, garbage in [
            (BrokerLimits(), b"\x01\x80" * (MAX_DEPTH + 1)),
            (BrokerLimits(maxMessageBytes=1000), b"\x02\x80\x01\x81\x7f\x08\x82" + b"x" * 1000),
            (
                BrokerLimits(),
                b"\x02\x80" + b"\x7f\x7f\x80" + b"\x00\x80" * (MAX_ITEMS_BEFORE_LOGIN + 1),
            ),
            (BrokerLimits(), b"\x02\x80" + b"\x7f\x8a"),
        ]:
            broker, transport = self.connect(limits)
            with capturedLogs() as events:
                broker.dataReceived(garbage)
                broker.dataReceived(b"more")
            self.assertTrue(transport.disconnecting, repr(garbage))
            self.assertEqual(len(events), 1, [formatEvent(e) for e in events])
            self.assertIn("Dropping PB connection from 192.0.2.1:5000", formatEvent(events[0]))
            self.assertEqual(self.flushLoggedErrors(), [])

    def test_unofferedDialect(self) -> None:
        """
        A client that names a dialect the server did not offer is dropped.
        """
        factory = FingerPBServerFactory(IPerspectiveFinger(MemoryFingerService()))
        broker = factory.buildProtocol(None)
        transport = StringTransport()
        broker.makeConnection(transport)
        with capturedLogs() as events:
            broker.dataReceived(banana.encode(b"\x1b[2Jxx"))
        self.assertTrue(transport.disconnecting)
        [event] = events
        self.assertIn("the first bytes do not choose a dialect", formatEvent(event))


_PEER = IPv4Address("TCP", "192.0.2.1", 5000)


def _b128(n: int) -> bytes:
    digits: List[bytes] = []
    int2b128(n, digits.append)
    return b"".join(digits)


class _TurnCounting(FingerBroker):
    """
    A L{FingerBroker} that notes how much input waits at each turn of its
    decoding.
    """

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.turns: List[int] = []

    def decode(self) -> None:
        self.turns.append(len(self.unread))
        super().decode()


class DecodingBoundsTests(SynchronousTestCase):
    """
    L{FingerBroker} bounds Banana's work and what it holds at Banana's own
    hooks: the first bytes must choose a dialect, a connection that has not
    logged in may send a login's worth, and one turn of the reactor decodes
    at most L{DECODE_BYTES} of a connection's input.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.service = MemoryFingerService(moshez="happy")

    def connect(
        self, limits: BrokerLimits = BrokerLimits()
    ) -> Tuple[_TurnCounting, StringTransport]:
        factory = FingerPBServerFactory(
            PerspectiveFingerFromService(self.service, clock=self.clock),
            clock=self.clock,
            limits=limits,
        )
        factory.protocol = _TurnCounting
        broker = factory.buildProtocol(_PEER)
        assert isinstance(broker, _TurnCounting)
        transport = StringTransport(peerAddress=_PEER)
        broker.makeConnection(transport)
        return broker, transport

    def test_firstWrongByte(self) -> None:
        """
        A client whose first bytes do not choose a dialect the server
        offered is dropped at the first wrong byte, with one line in the
        log, before Banana decodes anything: it does not wait for a whole
        message.
        """
        for garbage, wrong in [
            (b"GET / HTTP/1.1\r\n", 0),
            (b"\x40\x82", 0),
            (b"\x02\x80", 1),
            (b"\x02\x82q", 2),
            (b"\x02\x82p\x00", 3),
            (b"\x04\x82nonf", 5),
            (b"\x80" * 65536, 0),
        ]:
            broker, transport = self.connect()
            with capturedLogs() as events:
                for i in range(len(garbage)):
                    broker.dataReceived(garbage[i : i + 1])
                    if transport.disconnecting:
                        break
            self.assertEqual(i, wrong, repr(garbage))
            # In one read, too.
            broker, transport = self.connect()
            broker.dataReceived(garbage)
            self.assertTrue(transport.disconnecting, repr(garbage))
            self.assertEqual(broker.turns, [])
            self.assertIsNone(broker.currentDialect)
            [event] = events
            self.assertIn(
                "Dropping PB connection from 192.0.2.1:5000: not Perspective Broker",
                formatEvent(event),
            )

    def test_dialects(self) -> None:
        """
        Either dialect the server offers may be chosen, in one read with
        what follows or byte by byte.
        """
        for dialect in [b"pb", b"none"]:
            for pieces in [[banana.encode(dialect) + b"\x01\x80"], list(banana.encode(dialect))]:
                broker, transport = self.connect()
                for piece in pieces:
                    broker.dataReceived(piece if isinstance(piece, bytes) else bytes([piece]))
                self.assertFalse(transport.disconnecting)
                self.assertEqual(broker.currentDialect, dialect)

    def test_bytesBeforeLogin(self) -> None:
        """
        A connection that has not logged in may send
        L{MAX_BYTES_BEFORE_LOGIN} bytes, and so holds no more than that
        whatever it sends; one more byte drops it.
        """
        broker, transport = self.connect()
        start = banana.encode(b"pb") + b"\x02\x80" + _b128(60000) + b"\x82"
        broker.dataReceived(start + b"x" * (MAX_BYTES_BEFORE_LOGIN - len(start)))
        self.clock.advance(0)
        self.assertFalse(transport.disconnecting)
        self.assertLessEqual(len(broker.buffer) + len(broker.unread), MAX_BYTES_BEFORE_LOGIN)
        with capturedLogs() as events:
            broker.dataReceived(b"x")
        self.assertTrue(transport.disconnecting)
        [event] = events
        self.assertIn(
            f"192.0.2.1:5000: more than {MAX_BYTES_BEFORE_LOGIN} bytes before logging in",
            formatEvent(event),
        )
        self.assertEqual(MAX_BYTES_BEFORE_LOGIN, 8192)

    def test_itemsBeforeLogin(self) -> None:
        """
        Before logging in, a message may hold L{MAX_ITEMS_BEFORE_LOGIN}
        items: a login holds a dozen.
        """
        for items, dropped in [(MAX_ITEMS_BEFORE_LOGIN, False), (MAX_ITEMS_BEFORE_LOGIN + 1, True)]:
            broker, transport = self.connect()
            # A call to no object, of ten items, and numbers as its arguments.
            arguments = [b"tuple"] + [1] * (items - 10)
            message = banana.encode([b"message", 1, 99, b"x", 0, arguments, [b"dictionary"]])
            with capturedLogs() as events:
                broker.dataReceived(banana.encode(b"pb") + message)
            self.assertEqual(transport.disconnecting, dropped, items)
        [event] = events
        self.assertIn(f"a message of more than {MAX_ITEMS_BEFORE_LOGIN} items", formatEvent(event))

    def test_decodeTurns(self) -> None:
        """
        A message of many small items before two long strings, the shape
        that makes Banana copy what it holds once per item, is decoded
        L{DECODE_BYTES} at a time, one piece a turn of the reactor, with the
        transport paused meanwhile; then it is answered.
        """
        limits = BrokerLimits(maxBytesBeforeLogin=1 << 20, maxItemsBeforeLogin=MAX_ITEMS)
        broker, transport = self.connect(limits)
        broker.dataReceived(banana.encode(b"pb"))
        transport.clear()
        broker.turns.clear()
        argument = [b"list"] + [1] * 3000 + [b"x" * 20000, b"y" * 20000]
        message = banana.encode(
            [b"message", 1, b"root", b"getUser", 1, [b"tuple", argument], [b"dictionary"]]
        )
        with capturedLogs() as events:
            broker.dataReceived(message)
            self.assertEqual(transport.value(), b"")
            self.assertEqual(transport.producerState, "paused")
            self.assertEqual(len(self.clock.getDelayedCalls()), 1)
            self.clock.advance(0)
        self.assertEqual(
            broker.turns, list(range(len(message), 0, -DECODE_BYTES)), "one piece a turn"
        )
        self.assertIn(b"getUser takes a user name", transport.value())
        self.assertEqual(transport.producerState, "producing")
        self.assertFalse(transport.disconnecting)
        self.assertEqual(events, [])

    def test_longMessage(self) -> None:
        """
        A message longer than C{maxMessageBytes} is dropped as soon as that
        many bytes of it arrived, however long it says it is.
        """
        limits = BrokerLimits(maxBytesBeforeLogin=1 << 20, maxMessageBytes=10000)
        broker, transport = self.connect(limits)
        broker.dataReceived(banana.encode(b"pb") + b"\x02\x80" + _b128(20000) + b"\x82")
        for _ in range(9):
            broker.dataReceived(b"x" * 1000)
        self.clock.advance(0)
        self.assertFalse(transport.disconnecting)
        with capturedLogs() as events:
            broker.dataReceived(b"x" * 1000)
            self.clock.advance(0)
        self.assertTrue(transport.disconnecting)
        [event] = events
        self.assertIn("a message longer than 10000 bytes", formatEvent(event))

    def test_leavesWhileDecoding(self) -> None:
        """
        A client that leaves while its input waits for the next turn leaves
        nothing scheduled.
        """
        limits = BrokerLimits(maxBytesBeforeLogin=1 << 20)
        broker, transport = self.connect(limits)
        broker.dataReceived(banana.encode(b"pb") + b"\x02\x80" + _b128(8000) + b"\x82")
        broker.dataReceived(b"x" * 6000)
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)
        broker.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(self.clock.getDelayedCalls(), [])


class PolicyTests(SynchronousTestCase):
    """
    Lookups and changes over PB follow L{finger.lookup}'s policy: a client
    that leaves cancels its lookups, and a change the back-end does not
    confirm in time is answered with L{SET_TIMED_OUT}.
    """

    def test_clientLeaves(self) -> None:
        """
        A client that leaves while lookups wait cancels them, and nothing is
        logged.
        """
        service = FaultyService(stuck=["stuck"], stuckListing=True, moshez="happy")
        factory = FingerPBServerFactory(PerspectiveFingerFromService(service, clock=Clock()))
        clientFactory = pb.PBClientFactory()
        client, server, pump = connectedServerAndClient(
            lambda: factory.buildProtocol(None), lambda: clientFactory.buildProtocol(None)
        )
        root = self.successResultOf(_pumped(pump, clientFactory.getRootObject()))
        with capturedLogs() as events:
            stuck = [root.callRemote("getUser", "stuck"), root.callRemote("getUsers")]
            pump.flush()
            client.transport.loseConnection()
            pump.flush()
        self.assertEqual(sorted(service.cancelled), ["*", "stuck"])
        for d in stuck:
            self.failureResultOf(d, pb.PBConnectionLost)
        self.assertEqual(events, [])
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_setTimedOut(self) -> None:
        """
        A save the back-end does not confirm within the lookup timeout is
        answered with L{SET_TIMED_OUT}, and a warning is logged.
        """
        service = _HeldSetterService(moshez="happy")
        clock = Clock()
        login = SetterLogin(setterPortal(service, [_checker()], []), clock)
        factory = FingerPBServerFactory(
            PerspectiveFingerFromService(service, clock=clock, lookupTimeout=5, login=login)
        )
        clientFactory = pb.PBClientFactory()
        client, server, pump = connectedServerAndClient(
            lambda: factory.buildProtocol(None), lambda: clientFactory.buildProtocol(None)
        )
        avatar = self.successResultOf(
            _pumped(pump, clientFactory.login(UsernamePassword(b"moshez", b"secret")))
        )
        with capturedLogs() as events:
            d = _pumped(pump, avatar.callRemote("setUser", "moshez", "busy"))
            clock.advance(5)
            pump.flush()
        failure = self.failureResultOf(d)
        self.assertTrue(failure.check(pb.Error), failure)
        self.assertEqual(failure.value, SET_TIMED_OUT)
        self.assertEqual([e["log_level"].name for e in events], ["warn"])


class UnauthenticatedWorkTests(SynchronousTestCase):
    """
    L{FingerBroker} bounds the work one connection may cause: the messages
    it sends before it logs in, and the bytes it sends a second, measured
    on the factory's clock.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.service = MemoryFingerService(moshez="happy")

    def serve(self, limits: BrokerLimits) -> FingerPBServerFactory:
        login = SetterLogin(setterPortal(self.service, [_checker()], []), self.clock)
        root = PerspectiveFingerFromService(self.service, clock=self.clock, login=login)
        return FingerPBServerFactory(root, clock=self.clock, limits=limits)

    def connect(self, limits: BrokerLimits) -> Tuple[pb.PBClientFactory, FingerBroker, IOPump]:
        clientFactory = pb.PBClientFactory()
        factory = self.serve(limits)
        client, server, pump = connectedServerAndClient(
            lambda: factory.buildProtocol(None), lambda: clientFactory.buildProtocol(None)
        )
        self.addCleanup(lambda: (client.transport.loseConnection(), pump.flush()))
        return clientFactory, server, pump

    def test_messagesBeforeLogin(self) -> None:
        """
        A connection that has not logged in may send C{maxMessagesBeforeLogin}
        messages, its dialect and version among them; the next drops it,
        with one line in the log.
        """
        clientFactory, server, pump = self.connect(BrokerLimits(maxMessagesBeforeLogin=6))
        root = self.successResultOf(_pumped(pump, clientFactory.getRootObject()))
        for _ in range(4):
            status = self.successResultOf(_pumped(pump, root.callRemote("getUser", "moshez")))
            self.assertEqual(status, "happy")
        with capturedLogs() as events:
            d = _pumped(pump, root.callRemote("getUser", "moshez"))
        self.failureResultOf(d, pb.PBConnectionLost)
        self.assertTrue(server.dropped)
        [event] = events
        self.assertIn("more than 6 messages before logging in", formatEvent(event))
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_loggedInUncounted(self) -> None:
        """
        Once the client logged in, its messages are no longer counted.
        """
        clientFactory, server, pump = self.connect(BrokerLimits(maxMessagesBeforeLogin=4))
        avatar = self.successResultOf(
            _pumped(pump, clientFactory.login(UsernamePassword(b"moshez", b"secret")))
        )
        for _ in range(10):
            status = self.successResultOf(_pumped(pump, avatar.callRemote("getUser", "moshez")))
            self.assertEqual(status, "happy")
        self.assertFalse(server.dropped)

    def test_failedLoginCounted(self) -> None:
        """
        A login that failed does not lift the limit: its messages count,
        and so do the guesses after it.
        """
        clientFactory, server, pump = self.connect(BrokerLimits(maxMessagesBeforeLogin=5))
        d = _pumped(pump, clientFactory.login(UsernamePassword(b"moshez", b"wrong")))
        self.clock.advance(FAILED_LOGIN_DELAY)
        pump.flush()
        self.failureResultOf(d, UnauthorizedLogin)
        with capturedLogs() as events:
            d = _pumped(pump, clientFactory.login(UsernamePassword(b"moshez", b"secret")))
        self.failureResultOf(d, pb.PBConnectionLost)
        self.assertTrue(server.dropped)
        [event] = events
        self.assertIn("before logging in", formatEvent(event))

    def bytesBroker(self, limits: BrokerLimits) -> Tuple[FingerBroker, StringTransport]:
        broker = self.serve(limits).buildProtocol(IPv4Address("TCP", "192.0.2.1", 5000))
        assert isinstance(broker, FingerBroker)
        transport = StringTransport(peerAddress=IPv4Address("TCP", "192.0.2.1", 5000))
        broker.makeConnection(transport)
        return broker, transport

    def test_bytesPerSecond(self) -> None:
        """
        A connection may send C{burstBytes} at once and C{bytesPerSecond}
        a second after that; one that sends more is dropped, with one line
        in the log.
        """
        limits = BrokerLimits(bytesPerSecond=100, burstBytes=1000)
        # The dialect, then the start of one long string, sent in pieces.
        prefix: List[bytes] = []
        int2b128(5000, prefix.append)
        start = banana.encode(b"pb") + b"".join(prefix) + b"\x82"
        piece = b"x" * (500 - len(start))
        broker, transport = self.bytesBroker(limits)
        broker.dataReceived(start + piece)
        broker.dataReceived(b"x" * 400)
        self.clock.advance(2)
        broker.dataReceived(b"x" * 300)
        self.assertFalse(transport.disconnecting)
        with capturedLogs() as events:
            broker.dataReceived(b"x" * 2)
            broker.dataReceived(b"x" * 1000)
        self.assertTrue(transport.disconnecting)
        [event] = events
        self.assertIn(
            "Dropping PB connection from 192.0.2.1:5000: more than 100 bytes a second",
            formatEvent(event),
        )

    def test_defaults(self) -> None:
        """
        By default a connection may send 100 messages before it logs in,
        and 16 KiB a second, in bursts of twice the longest message.
        """
        limits = BrokerLimits()
        self.assertEqual(limits.maxMessagesBeforeLogin, MAX_MESSAGES_BEFORE_LOGIN)
        self.assertEqual(MAX_MESSAGES_BEFORE_LOGIN, 100)
        self.assertEqual(limits.bytesPerSecond, BYTES_PER_SECOND)
        self.assertEqual(BYTES_PER_SECOND, 16384)
        self.assertEqual(limits.burstBytes, BURST_BYTES)
        self.assertEqual(BURST_BYTES, 2 * MAX_MESSAGE_BYTES)

    def test_tapClock(self) -> None:
        """
        The service's PB listener measures byte rates on the reactor
        C{makeService} is given.
        """
        path = self.mktemp()
        with open(path, "w") as f:
            f.write("moshez: happy\n")
        options = tap.Options()
        options.parseOptions(["--file", path])
        reactor = MemoryReactorClock()
        top = tap.makeService(options, reactor)
        self.assertIs(top.getServiceNamed("pb").factory.wrappedFactory.clock, reactor)
