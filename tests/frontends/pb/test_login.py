"""
Tests for L{finger.frontends.pb.login}: logging in over PB with C{--auth}
and setting statuses, with a real PB client in memory and a L{Clock} for
the failed-login delay, and clients that leave meanwhile.
"""

from typing import Any, List, Optional, Tuple

from twisted.cred.checkers import ICredentialsChecker, InMemoryUsernamePasswordDatabaseDontUse
from twisted.cred.credentials import Anonymous, IUsernamePassword, UsernamePassword
from twisted.cred.error import UnauthorizedLogin
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock, deferLater
from twisted.internet.address import IPv4Address
from twisted.logger import capturedLogs
from twisted.spread import pb
from twisted.test.iosim import FakeTransport, IOPump, connectedServerAndClient
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from finger.auth import (
    FAILED_LOGIN_DELAY,
    LOGIN_FAILED,
    MAX_QUEUED_LOGINS,
    SetterLogin,
    setterPortal,
)
from finger.interfaces import StatusNotSaved
from finger.messages import SET_TIMED_OUT
from finger.names import MAX_STATUS_LENGTH
from finger.frontends.pb import (
    DECODE_BYTES,
    NOT_SAVED,
    BadRequest,
    LoginNotOffered,
    LoginRefused,
    NoSuchUser,
    NotSaved,
    PermissionDenied,
    FingerPBServerFactory,
    PerspectiveFingerFromService,
)
from finger.backends.memory import MemoryFingerService
from tests.frontends.pb.helpers import checker, pumped
from tests.support import FailingSetterService, HeldSetterService


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
            portal = setterPortal(service, [checker()] if checkers is None else checkers, ["root"])
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
        service = HeldSetterService(moshez="happy")
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
        service = FailingSetterService(StatusNotSaved("/var/lib/finger: disk full"), moshez="happy")
        avatar, pump = self.login(service=service)
        failure = self.failureResultOf(self.call(pump, avatar, "setUser", "moshez", "busy"))
        self.assertTrue(failure.check(NotSaved), failure)
        self.assertEqual(failure.value, NOT_SAVED)

    def test_backendError(self) -> None:
        """
        A back-end that raises: the client learns of an internal error; the
        details are logged.
        """
        service = FailingSetterService(RuntimeError("the disk caught fire"), moshez="happy")
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
        self.service = HeldSetterService(moshez="happy")
        self.clock = Clock()
        self.serve([checker()])

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
        self.serve([_SlowChecker(checker(), self.clock)])
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
        login = SetterLogin(setterPortal(self.service, [checker()], []), self.clock)
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


class PolicyTests(SynchronousTestCase):
    """
    Changes over PB follow L{finger.lookup}'s policy: a change the back-end
    does not confirm in time is answered with L{SET_TIMED_OUT}.
    """

    def test_setTimedOut(self) -> None:
        """
        A save the back-end does not confirm within the lookup timeout is
        answered with L{SET_TIMED_OUT}, and a warning is logged.
        """
        service = HeldSetterService(moshez="happy")
        clock = Clock()
        login = SetterLogin(setterPortal(service, [checker()], []), clock)
        factory = FingerPBServerFactory(
            PerspectiveFingerFromService(service, clock=clock, lookupTimeout=5, login=login)
        )
        clientFactory = pb.PBClientFactory()
        client, server, pump = connectedServerAndClient(
            lambda: factory.buildProtocol(None), lambda: clientFactory.buildProtocol(None)
        )
        avatar = self.successResultOf(
            pumped(pump, clientFactory.login(UsernamePassword(b"moshez", b"secret")))
        )
        with capturedLogs() as events:
            d = pumped(pump, avatar.callRemote("setUser", "moshez", "busy"))
            clock.advance(5)
            pump.flush()
        failure = self.failureResultOf(d)
        self.assertTrue(failure.check(pb.Error), failure)
        self.assertEqual(failure.value, SET_TIMED_OUT)
        self.assertEqual([e["log_level"].name for e in events], ["warn"])
