"""
Tests for L{finger.auth}.
"""

from typing import Any, List, Sequence

from twisted.cred import strcred
from twisted.cred.checkers import InMemoryUsernamePasswordDatabaseDontUse
from twisted.cred.credentials import UsernamePassword
from twisted.cred.error import UnauthorizedLogin
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.task import Clock
from twisted.logger import capturedLogs
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from finger.auth import (
    LOGIN_FAILED,
    AuthorizedSetter,
    LoginLimits,
    NotAllowed,
    SetterLogin,
    setterPortal,
)
from finger.interfaces import IFingerSetterService
from finger.backends.memory import MemoryFingerService
from finger.net.clients import ClientKey


PEER = IPv4Address("TCP", "192.0.2.1", 5000)


def _at(host: str, port: int = 5000) -> IPv4Address:
    return IPv4Address("TCP", host, port)


def _checker() -> InMemoryUsernamePasswordDatabaseDontUse:
    checker = InMemoryUsernamePasswordDatabaseDontUse(moshez=b"secret", root=b"toor")
    checker.addUser("zoë".encode(), "mot de passe".encode())
    return checker


class SetterLoginTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.service = MemoryFingerService(moshez="happy", shawn="alive")
        self.clock = Clock()
        self.login = SetterLogin(setterPortal(self.service, [_checker()], ["root"]), self.clock)

    def test_ownStatus(self) -> None:
        """
        A user who logs in may set their own status.
        """
        setter = self.successResultOf(self.login.login("moshez", "secret", PEER))
        self.assertTrue(verifyObject(IFingerSetterService, setter))
        self.successResultOf(setter.setUser("moshez", "busy"))
        self.assertEqual(self.service.users["moshez"], "busy")

    def test_memoryOption(self) -> None:
        """
        C{--auth memory:moshez:secret} lets moshez in:
        Twisted's factory stores names and passwords as text, which never
        matched the bytes of the credentials.
        """
        from twisted.cred import strcred

        login = SetterLogin(
            setterPortal(self.service, [strcred.makeChecker("memory:moshez:secret:zoë:là")], []),
            self.clock,
        )
        setter = self.successResultOf(login.login("moshez", "secret", PEER))
        self.successResultOf(setter.setUser("moshez", "busy"))
        self.assertEqual(self.service.users["moshez"], "busy")
        self.successResultOf(login.login("zoë", "là", PEER))
        d = login.login("moshez", "wrong", PEER)
        self.clock.advance(10)
        self.failureResultOf(d, UnauthorizedLogin)

    def test_utf8(self) -> None:
        setter = self.successResultOf(self.login.login("zoë", "mot de passe", PEER))
        self.successResultOf(setter.setUser("zoë", "là"))

    def test_othersRefused(self) -> None:
        """
        A user who is not an admin may not set anyone else's status.
        """
        setter = self.successResultOf(self.login.login("moshez", "secret", PEER))
        failure = self.failureResultOf(setter.setUser("shawn", "hacked"), NotAllowed)
        self.assertIn("moshez may not set the status of shawn", failure.getErrorMessage())
        self.assertEqual(self.service.users["shawn"], "alive")

    def test_admin(self) -> None:
        setter = self.successResultOf(self.login.login("root", "toor", PEER))
        assert isinstance(setter, AuthorizedSetter)
        self.assertTrue(setter.admin)
        self.successResultOf(setter.setUser("shawn", "away"))
        self.assertEqual(self.service.users["shawn"], "away")

    def test_wrongPassword(self) -> None:
        """
        A wrong password or an unknown name fails with the same generic
        message, only after the delay, and is logged.
        """
        for name, password in [("moshez", "wrong"), ("nobody", "secret")]:
            with capturedLogs() as events:
                d = self.login.login(name, password, _at("10.0.0.1", 5))
            self.assertNoResult(d)
            self.clock.advance(self.login.delay)
            failure = self.failureResultOf(d, UnauthorizedLogin)
            self.assertEqual(failure.getErrorMessage(), LOGIN_FAILED)
            [event] = [e for e in events if "Failed login" in e["log_format"]]
            self.assertEqual(event["peer"], "10.0.0.1:5")
            self.assertNotIn(password, repr(event))

    def test_authenticate(self) -> None:
        """
        L{SetterLogin.authenticate} takes credentials a front-end decoded
        (HTTP Basic gives bytes); a name that is not UTF-8 fails like any
        wrong login, after the delay, and is logged readably.
        """
        setter = self.successResultOf(
            self.login.authenticate(UsernamePassword(b"moshez", b"secret"), PEER)
        )
        self.successResultOf(setter.setUser("moshez", "busy"))
        with capturedLogs() as events:
            d = self.login.authenticate(UsernamePassword(b"\xff\x1b[2J", b"x"), _at("10.0.0.1", 5))
        self.assertNoResult(d)
        self.clock.advance(self.login.delay)
        self.assertEqual(self.failureResultOf(d, UnauthorizedLogin).getErrorMessage(), LOGIN_FAILED)
        [event] = [e for e in events if "Failed login" in e["log_format"]]
        self.assertEqual(event["name"], "\ufffd\x1b[2J")

    def test_memoryAuthOption(self) -> None:
        """
        C{--auth memory:...} (strcred's memory checker, which keeps L{str}
        names) logs in with the bytes front-ends send, non-ASCII included.
        """
        checker = strcred.makeChecker("memory:moshez:secret:zoë:là")
        login = SetterLogin(setterPortal(self.service, [checker], []), self.clock)
        self.successResultOf(login.login("moshez", "secret", PEER))
        self.successResultOf(
            login.authenticate(UsernamePassword("zoë".encode(), "là".encode()), PEER)
        )
        d = login.login("moshez", "wrong", PEER)
        self.clock.advance(login.delay)
        self.failureResultOf(d, UnauthorizedLogin)


class GuessingTests(SynchronousTestCase):
    """
    Guessing in parallel is no faster than guessing one after another:
    L{SetterLogin} checks the logins for one account, and those from one
    address, one at a time, each after the delay of the failure before it.
    """

    def setUp(self) -> None:
        self.service = MemoryFingerService(moshez="happy", shawn="alive")
        self.clock = Clock()
        self.login = self.limited(LoginLimits(maxQueued=10))

    def limited(self, limits: LoginLimits) -> SetterLogin:
        """
        A L{SetterLogin} with a delay of two seconds and C{limits}.
        """
        portal = setterPortal(self.service, [_checker()], ["root"])
        return SetterLogin(portal, self.clock, delay=2, limits=limits)

    def answered(self, attempts: "Sequence[Deferred[Any]]") -> List[bool]:
        """
        Which of C{attempts} have an answer yet.
        """
        return [d.called for d in attempts]

    def assertRefused(self, attempts: "Sequence[Deferred[Any]]") -> None:
        """
        Each of C{attempts} failed with L{LOGIN_FAILED}.
        """
        for d in attempts:
            failure = self.failureResultOf(d, UnauthorizedLogin)
            self.assertEqual(failure.getErrorMessage(), LOGIN_FAILED)

    def test_oneAccountManyAddresses(self) -> None:
        """
        N wrong guesses for one account from N addresses at once are
        answered one per delay: N times the delay in all, as N guesses one
        after another would take.
        """
        with capturedLogs():
            guesses = [
                self.login.login("moshez", f"guess{i}", _at(f"192.0.2.{i}")) for i in range(1, 6)
            ]
        for second in range(1, 6):
            self.clock.advance(1.9)
            self.assertEqual(self.answered(guesses), [True] * (second - 1) + [False] * (6 - second))
            self.clock.advance(0.1)
            self.assertEqual(self.answered(guesses), [True] * second + [False] * (5 - second))
        self.assertRefused(guesses)

    def test_oneAddressManyAccounts(self) -> None:
        """
        Wrong guesses for several accounts from one address (from several
        ports) at once are answered one per delay too.
        """
        names = ["moshez", "shawn", "root", "nobody"]
        with capturedLogs():
            guesses = [
                self.login.login(name, "wrong", _at("192.0.2.7", 5000 + i))
                for i, name in enumerate(names)
            ]
        for second in range(1, 5):
            self.clock.advance(2)
            self.assertEqual(self.answered(guesses), [True] * second + [False] * (4 - second))
        self.assertRefused(guesses)

    def test_rightPasswordQueued(self) -> None:
        """
        A right password sent behind wrong ones for the same account is
        answered in its turn, after theirs, and not sooner: racing guesses
        tells nobody sooner which one was right.
        """
        with capturedLogs():
            wrong = [self.login.login("moshez", f"guess{i}", _at(f"192.0.2.{i}")) for i in range(3)]
        right = self.login.login("moshez", "secret", _at("198.51.100.1"))
        self.clock.pump([1] * 5)
        self.assertNoResult(right)
        self.clock.advance(1)
        self.assertRefused(wrong)
        setter = self.successResultOf(right)
        self.assertEqual(setter.login, "moshez")  # type: ignore[attr-defined]

    def test_othersUnhindered(self) -> None:
        """
        Guesses for one account from one address do not slow down those
        for other accounts from other addresses.
        """
        with capturedLogs():
            guessing = [self.login.login("moshez", "wrong", _at("192.0.2.1")) for _ in range(3)]
            other = self.login.login("shawn", "wrong", _at("198.51.100.1"))
        self.successResultOf(self.login.login("root", "toor", _at("203.0.113.1")))
        self.clock.advance(2)
        self.failureResultOf(other, UnauthorizedLogin)
        self.assertEqual(self.answered(guessing), [True, False, False])
        self.clock.pump([2, 2])
        self.assertRefused(guessing)

    def test_serialUnchanged(self) -> None:
        """
        Guesses one after another are answered after one delay each, as
        before; once the last is answered, nothing is remembered.
        """
        with capturedLogs():
            for _ in range(3):
                d = self.login.login("moshez", "wrong", PEER)
                self.clock.advance(1.9)
                self.assertNoResult(d)
                self.clock.advance(0.1)
                self.failureResultOf(d, UnauthorizedLogin)
        self.assertEqual(self.login.turns, {})
        self.successResultOf(self.login.login("moshez", "secret", PEER))
        self.assertEqual(self.login.turns, {})

    def test_queueBounded(self) -> None:
        """
        When L{LoginLimits.maxQueued} logins are under way or waiting for
        one account (or one address), the next is not checked, right
        password or not: it fails with L{LOGIN_FAILED} after the delay, and
        is logged.
        """
        login = self.limited(LoginLimits(maxQueued=3))
        with capturedLogs():
            waiting = [login.login("moshez", "wrong", _at(f"192.0.2.{i}")) for i in range(3)]
        with capturedLogs() as events:
            refused = login.login("moshez", "secret", _at("198.51.100.1"))
        [event] = events
        self.assertIn("too many", event["log_format"])
        self.assertEqual(event["peer"], "198.51.100.1:5000")
        self.clock.advance(2)
        self.assertEqual(
            self.failureResultOf(refused, UnauthorizedLogin).getErrorMessage(), LOGIN_FAILED
        )
        self.assertEqual(self.answered(waiting), [True, False, False])
        self.clock.pump([2, 2])
        self.assertRefused(waiting)
        self.assertEqual(login.turns, {})
        # From one address, whatever the accounts.
        with capturedLogs():
            waiting = [login.login(f"user{i}", "wrong", _at("192.0.2.9", i)) for i in range(3)]
            refused = login.login("moshez", "secret", _at("192.0.2.9", 9))
        self.clock.advance(2)
        self.failureResultOf(refused, UnauthorizedLogin)
        self.clock.pump([2, 2])
        self.assertRefused(waiting)

    def test_tableBounded(self) -> None:
        """
        The table of accounts and addresses with logins under way holds at
        most L{LoginLimits.maxKeys} of them: a login that needs more fails,
        unchecked, after the delay.  Keys are forgotten once their logins are
        answered.
        """
        login = self.limited(LoginLimits(maxKeys=4))
        with capturedLogs():
            first = [login.login(f"user{i}", "wrong", _at(f"192.0.2.{i}")) for i in range(2)]
            refused = login.login("moshez", "secret", _at("198.51.100.1"))
        self.assertEqual(len(login.turns), 4)
        self.clock.advance(2)
        self.failureResultOf(refused, UnauthorizedLogin)
        self.assertRefused(first)
        self.assertEqual(login.turns, {})
        self.successResultOf(login.login("moshez", "secret", _at("198.51.100.1")))

    def test_cancelWaiting(self) -> None:
        """
        A login cancelled while it waits for its turn leaves the queue
        unchecked; one cancelled after its check keeps its turn until the
        delay is over, so leaving early does not speed up the next guess.
        """
        with capturedLogs():
            first = self.login.login("moshez", "wrong", _at("192.0.2.1"))
            second = self.login.login("moshez", "secret", _at("192.0.2.2"))
            third = self.login.login("moshez", "wrong", _at("192.0.2.3"))
        second.cancel()
        self.failureResultOf(second, CancelledError)
        first.cancel()
        self.failureResultOf(first, CancelledError)
        self.clock.advance(1.9)
        self.assertNoResult(third)
        self.clock.advance(0.1)
        self.assertNoResult(third)
        self.clock.advance(2)
        self.failureResultOf(third, UnauthorizedLogin)
        self.assertEqual(self.login.turns, {})

    def test_clientIsNetwork(self) -> None:
        """
        Logins from addresses of one IPv6 /64 share one client's queue, as
        logins from one address do; with a longer C{ipv6Prefix} they are
        separate clients.
        """

        def guesses(login: SetterLogin) -> "List[Deferred[Any]]":
            return [
                login.login(name, "wrong", IPv6Address("TCP", f"2001:db8:1:2::{i}", 5000))
                for i, name in enumerate(["moshez", "shawn", "root"], 1)
            ]

        portal = setterPortal(self.service, [_checker()], ["root"])
        with capturedLogs():
            shared = guesses(self.login)
            apart = guesses(SetterLogin(portal, self.clock, delay=2, clientKey=ClientKey(128)))
        self.clock.advance(2)
        self.assertEqual(self.answered(shared), [True, False, False])
        self.assertEqual(self.answered(apart), [True, True, True])
        self.clock.pump([2, 2])
        self.assertRefused(shared + apart)
