# -*- test-case-name: tests.test_auth -*-
"""
Tests for L{finger.auth}.
"""

from typing import Any, List, Optional, Sequence

from twisted.cred import strcred
from twisted.cred.checkers import ICredentialsChecker, InMemoryUsernamePasswordDatabaseDontUse
from twisted.cred.credentials import IUsernamePassword, UsernamePassword
from twisted.cred.error import UnauthorizedLogin
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.task import Clock, deferLater
from twisted.logger import capturedLogs
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer
from zope.interface.verify import verifyObject

from finger.auth import (
    ACCOUNT_BURST,
    ACCOUNT_GUESSES_PER_MINUTE,
    ACCOUNT_RESERVE,
    LOGIN_FAILED,
    TRUST_PERIOD,
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


class PackageTests(SynchronousTestCase):
    """
    L{finger.auth} re-exports everything its two modules export.
    """

    def test_exports(self) -> None:
        import finger.auth
        from finger.auth import login, realm

        for name in login.__all__ + realm.__all__:
            module = login if name in login.__all__ else realm
            self.assertIs(getattr(finger.auth, name), getattr(module, name), name)


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


@implementer(ICredentialsChecker)
class _CountingChecker:
    """
    L{_checker}, counting the logins it checks.
    """

    credentialInterfaces = (IUsernamePassword,)

    def __init__(self, clock: Optional[Clock] = None) -> None:
        """
        @param clock: if given, each answer comes a second later on it.
        """
        self.checker = _checker()
        self.checked = 0
        self.clock = clock

    def requestAvatarId(self, credentials: Any) -> "Deferred[Any]":
        self.checked += 1
        if self.clock is not None:
            return deferLater(self.clock, 1, self.checker.requestAvatarId, credentials)
        return self.checker.requestAvatarId(credentials)  # type: ignore[no-any-return]


class GuessingTests(SynchronousTestCase):
    """
    Guessing in parallel is no faster than guessing one after another for
    one client, and all clients together get a budget of checks for each
    account; neither lets a guesser lock the real user out.
    """

    def setUp(self) -> None:
        self.service = MemoryFingerService(moshez="happy", shawn="alive")
        self.clock = Clock()
        self.checker = _CountingChecker()
        self.login = self.limited(LoginLimits(maxQueued=10))

    def limited(self, limits: LoginLimits) -> SetterLogin:
        """
        A L{SetterLogin} with a delay of two seconds and C{limits}.
        """
        portal = setterPortal(self.service, [self.checker], ["root"])
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

    def test_oneClientOneAccount(self) -> None:
        """
        N wrong guesses for one account from one client (over N
        connections) at once are answered one per delay: N times the delay
        in all, as N guesses one after another would take.
        """
        with capturedLogs():
            guesses = [
                self.login.login("moshez", f"guess{i}", _at("192.0.2.1", 5000 + i))
                for i in range(5)
            ]
        for second in range(1, 6):
            self.clock.advance(1.9)
            self.assertEqual(self.answered(guesses), [True] * (second - 1) + [False] * (6 - second))
            self.clock.advance(0.1)
            self.assertEqual(self.answered(guesses), [True] * second + [False] * (5 - second))
        self.assertRefused(guesses)
        self.assertEqual(self.checker.checked, 5)

    def test_oneClientManyAccounts(self) -> None:
        """
        Wrong guesses for several accounts from one client (from several
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
        A right password sent from one client behind wrong ones from it is
        answered in its turn, after theirs, and not sooner: racing guesses
        tells nobody sooner which one was right.
        """
        with capturedLogs():
            wrong = [self.login.login("moshez", f"guess{i}", _at("192.0.2.1", i)) for i in range(3)]
        right = self.login.login("moshez", "secret", _at("192.0.2.1", 9))
        self.clock.pump([1] * 5)
        self.assertNoResult(right)
        self.clock.advance(1)
        self.assertRefused(wrong)
        setter = self.successResultOf(right)
        self.assertEqual(setter.login, "moshez")  # type: ignore[attr-defined]

    def test_otherClientsUnhindered(self) -> None:
        """
        Guesses from one client do not slow down the logins of other
        clients, for other accounts or for the same one.
        """
        with capturedLogs():
            guessing = [self.login.login("moshez", "wrong", _at("192.0.2.1")) for _ in range(3)]
            other = self.login.login("shawn", "wrong", _at("198.51.100.1"))
        self.successResultOf(self.login.login("root", "toor", _at("203.0.113.1")))
        self.successResultOf(self.login.login("moshez", "secret", _at("203.0.113.2")))
        self.clock.advance(2)
        self.failureResultOf(other, UnauthorizedLogin)
        self.assertEqual(self.answered(guessing), [True, False, False])
        self.clock.pump([2, 2])
        self.assertRefused(guessing)

    def test_serialUnchanged(self) -> None:
        """
        Guesses one after another are answered after one delay each, as
        before; once the last is answered, no client's turn is remembered.
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
        When L{LoginLimits.maxQueued} logins from one client are under way
        or waiting, its next is not checked, right password or not: it
        fails with L{LOGIN_FAILED} after the delay, and is logged.  Other
        clients are not affected, even for the same account.
        """
        login = self.limited(LoginLimits(maxQueued=3))
        with capturedLogs():
            waiting = [login.login(f"user{i}", "wrong", _at("192.0.2.9", i)) for i in range(3)]
        with capturedLogs() as events:
            refused = login.login("moshez", "secret", _at("192.0.2.9", 9))
        [event] = events
        self.assertIn("too many", event["log_format"])
        self.assertEqual(event["peer"], "192.0.2.9:9")
        self.successResultOf(login.login("moshez", "secret", _at("198.51.100.1")))
        self.clock.advance(2)
        self.assertEqual(
            self.failureResultOf(refused, UnauthorizedLogin).getErrorMessage(), LOGIN_FAILED
        )
        self.assertEqual(self.answered(waiting), [True, False, False])
        self.clock.pump([2, 2])
        self.assertRefused(waiting)
        self.assertEqual(login.turns, {})

    def test_cancelWaiting(self) -> None:
        """
        A login cancelled while it waits for its turn leaves the queue
        unchecked; one cancelled after its check keeps its turn until the
        delay is over, so leaving early does not speed up the next guess.
        """
        with capturedLogs():
            first = self.login.login("moshez", "wrong", _at("192.0.2.1", 1))
            second = self.login.login("moshez", "secret", _at("192.0.2.1", 2))
            third = self.login.login("moshez", "wrong", _at("192.0.2.1", 3))
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
        self.assertEqual(self.checker.checked, 2)

    def test_clientIsNetwork(self) -> None:
        """
        Logins from addresses of one IPv6 /64 share one client's turn, as
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


class AccountBudgetTests(SynchronousTestCase):
    """
    All clients together get L{ACCOUNT_BURST} checks of one account at
    once, then L{ACCOUNT_GUESSES_PER_MINUTE} a minute; a client the account
    trusts, and one that has not failed there, still get in.
    """

    def setUp(self) -> None:
        self.service = MemoryFingerService(moshez="happy", shawn="alive")
        self.clock = Clock()
        self.checker = _CountingChecker()
        portal = setterPortal(self.service, [self.checker], [])
        self.login = SetterLogin(portal, self.clock, delay=2)

    def guess(self, client: str, password: str = "wrong", name: str = "moshez") -> "Deferred[Any]":
        with capturedLogs():
            return self.login.login(name, password, _at(client))

    def rightPasswordGetsIn(self, client: str) -> None:
        """
        The right password from C{client} is answered at once, and lets
        moshez in.
        """
        setter = self.successResultOf(self.guess(client, "secret"))
        self.assertEqual(setter.login, "moshez")  # type: ignore[attr-defined]

    def test_defaults(self) -> None:
        """
        The budget is 10 checks at once, then 10 a minute; 3 are kept for
        clients that did not fail, and a client is trusted for a week.
        """
        limits = LoginLimits()
        self.assertEqual(
            (limits.accountBurst, limits.accountRate * 60, limits.accountReserve),
            (ACCOUNT_BURST, ACCOUNT_GUESSES_PER_MINUTE, ACCOUNT_RESERVE),
        )
        self.assertEqual((ACCOUNT_BURST, ACCOUNT_GUESSES_PER_MINUTE, ACCOUNT_RESERVE), (10, 10, 3))
        self.assertEqual(TRUST_PERIOD, 7 * 24 * 3600)
        self.assertRaises(ValueError, LoginLimits, accountReserve=10)

    def test_guesserCannotLockOut(self) -> None:
        """
        An attacker guessing a wrong password for moshez every 0.3 s, from
        one client, does not keep the real user out: the right password from
        another client, once a second, gets in at once every time, even the
        first time, after the attacker has guessed for two minutes.
        Meanwhile the attacker's guesses are checked no faster than the
        account's budget.
        """
        attacker: "List[Deferred[Any]]" = []

        def guess() -> None:
            attacker.append(self.guess("192.0.2.66"))
            self.clock.callLater(0.3, guess)

        guess()
        self.clock.pump([0.1] * 1200)
        self.assertLessEqual(self.checker.checked, ACCOUNT_BURST + 120 * ACCOUNT_GUESSES_PER_MINUTE / 60 + 1)
        for second in range(15):
            self.rightPasswordGetsIn("198.51.100.1")
            self.clock.pump([0.1] * 10)
        # A new client of the real user's, which never logged in, too.
        self.rightPasswordGetsIn("203.0.113.1")
        self.assertLessEqual(self.checker.checked, ACCOUNT_BURST + 136 * ACCOUNT_GUESSES_PER_MINUTE / 60 + 17)
        for d in attacker:
            d.addErrback(lambda f: f.trap(UnauthorizedLogin, CancelledError))

    def test_budget(self) -> None:
        """
        Guesses for one account from many clients, each new, are checked
        L{ACCOUNT_BURST} at once; the others fail unchecked after the delay,
        and are logged.  Then the account gets one check every 6 s.
        """
        guesses = [self.guess(f"192.0.2.{i}") for i in range(1, 13)]
        self.assertEqual(self.checker.checked, 10)
        with capturedLogs() as events:
            late = self.guess("192.0.2.13")
        [event] = [e for e in events if "unchecked" in e["log_format"]]
        self.assertIn("too many logins for that account", event["log_format"])
        self.clock.advance(2)
        self.assertRefused(guesses + [late])
        self.assertEqual(self.checker.checked, 10)
        self.clock.advance(4)
        guesses = [self.guess(f"192.0.2.{i}") for i in range(20, 23)]
        self.assertEqual(self.checker.checked, 11)
        self.clock.advance(2)
        self.assertRefused(guesses)
        # Other accounts have budgets of their own.
        self.successResultOf(self.guess("192.0.2.100", "toor", "root"))
        self.assertEqual(self.checker.checked, 12)
        shawn = self.guess("192.0.2.101", "alive", "shawn")
        self.assertEqual(self.checker.checked, 13)
        self.clock.advance(2)
        self.assertRefused([shawn])

    def assertRefused(self, attempts: "Sequence[Deferred[Any]]") -> None:
        for d in attempts:
            self.assertEqual(
                self.failureResultOf(d, UnauthorizedLogin).getErrorMessage(), LOGIN_FAILED
            )

    def test_reserve(self) -> None:
        """
        A client that failed at an account is checked only while the budget
        holds more than L{ACCOUNT_RESERVE} checks; a client that did not
        fail there may take those.
        """
        checked = -1
        for _ in range(20):
            if self.checker.checked == checked:
                break
            checked = self.checker.checked
            d = self.guess("192.0.2.1")
            self.clock.advance(2)
            self.assertRefused([d])
        self.assertGreater(self.login.budgets[b"moshez"].delay(ACCOUNT_RESERVE + 1), 0)
        self.assertEqual(self.checker.checked, 10)
        self.rightPasswordGetsIn("198.51.100.1")
        self.assertEqual(self.checker.checked, 11)
        d = self.guess("198.51.100.2")
        self.assertEqual(self.checker.checked, 12)
        self.clock.advance(2)
        self.assertRefused([d])

    def test_trusted(self) -> None:
        """
        A client that logged in to an account is checked even when the
        account's budget is spent, without spending it, until it fails
        there or L{TRUST_PERIOD} is over.  A new client of the same user
        is refused while the budget is spent: the price of a bound per
        account, when guesses come from ever new clients.
        """
        self.rightPasswordGetsIn("198.51.100.1")
        guesses = [self.guess(f"192.0.2.{i}") for i in range(1, 20)]
        self.assertEqual(self.checker.checked, 10)
        for _ in range(5):
            self.rightPasswordGetsIn("198.51.100.1")
        self.assertEqual(self.checker.checked, 15)
        new = self.guess("203.0.113.1", "secret")
        self.clock.advance(2)
        self.assertRefused(guesses + [new])
        # A failure from the trusted client costs it its trust.
        d = self.guess("198.51.100.1", "typo")
        self.assertEqual(self.checker.checked, 16)
        self.clock.advance(2)
        self.assertRefused([d])
        d = self.guess("198.51.100.1", "secret")
        self.assertEqual(self.checker.checked, 16)
        self.clock.advance(2)
        self.assertRefused([d])
        # The budget refills: the trusted again after logging in.
        self.clock.advance(60)
        self.rightPasswordGetsIn("198.51.100.1")
        self.clock.advance(TRUST_PERIOD - 1)
        checked = self.checker.checked
        guesses = [self.guess(f"192.0.2.{i}") for i in range(1, 20)]
        self.rightPasswordGetsIn("198.51.100.1")
        self.assertEqual(self.checker.checked, checked + 11)
        self.clock.advance(2)
        self.assertRefused(guesses)
        self.assertEqual(self.login.turns, {})


    def test_trustedOneAtATime(self) -> None:
        """
        Trust lets one login at a time be checked without the budget: logins
        sent at once from a trusted client that has no turn (the table of
        turns was full) are checked on the budget but the first.
        """
        self.rightPasswordGetsIn("198.51.100.1")
        self.checker = _CountingChecker(self.clock)
        portal = setterPortal(self.service, [self.checker], [])
        trust = self.login.trusted
        self.login = SetterLogin(portal, self.clock, delay=2, limits=LoginLimits(maxKeys=1))
        self.login.trusted = trust
        busy = self.guess("192.0.2.1")
        guesses = [self.guess(f"192.0.2.{i}") for i in range(2, 11)]
        self.assertEqual((self.checker.checked, list(self.login.turns)), (10, ["192.0.2.1"]))
        trusted = [self.guess("198.51.100.1") for _ in range(3)]
        self.assertEqual(self.checker.checked, 11)
        self.clock.pump([1, 2])
        self.assertRefused([busy] + guesses + trusted)


class BoundedTests(SynchronousTestCase):
    """
    What L{SetterLogin} keeps is bounded, and filling it refuses nobody
    that nobody guessed at.
    """

    def setUp(self) -> None:
        self.service = MemoryFingerService(moshez="happy", shawn="alive")
        self.clock = Clock()
        self.checker = _CountingChecker()
        portal = setterPortal(self.service, [self.checker], [])
        self.login = SetterLogin(portal, self.clock, delay=2, limits=LoginLimits(maxKeys=4))

    def fill(self) -> "List[Deferred[Any]]":
        """
        Four clients each with a login being checked and two waiting, for
        accounts of their own.
        """
        with capturedLogs():
            return [
                self.login.login(f"user{i}x{j}", "wrong", _at(f"192.0.2.{i}", j))
                for i in range(4)
                for j in range(3)
            ]

    def test_fullTurnsRefuseNobody(self) -> None:
        """
        When L{LoginLimits.maxKeys} clients have logins under way, a login
        from one more client is checked at once, without a turn: the right
        password gets in; a wrong one fails after the delay.  The table of
        turns holds no more.
        """
        waiting = self.fill()
        self.assertEqual(len(self.login.turns), 4)
        self.successResultOf(self.login.login("moshez", "secret", _at("198.51.100.1")))
        with capturedLogs():
            wrong = self.login.login("shawn", "wrong", _at("198.51.100.2"))
        self.assertEqual(len(self.login.turns), 4)
        self.clock.advance(2)
        self.failureResultOf(wrong, UnauthorizedLogin)
        self.clock.pump([2, 2])
        for d in waiting:
            self.failureResultOf(d, UnauthorizedLogin)
        self.assertEqual(self.login.turns, {})

    def test_cancelFrees(self) -> None:
        """
        Cancelling the logins that wait (as front-ends do when their
        connections go) frees their places at once; the clients are
        forgotten when the logins being checked are answered.
        """
        logins = self.fill()
        for d in logins:
            d.cancel()
            self.failureResultOf(d, CancelledError)
        self.assertEqual(sum(t.pending for t in self.login.turns.values()), 4)
        self.assertEqual(self.checker.checked, 4)
        self.clock.advance(2)
        self.assertEqual(self.login.turns, {})
        self.assertEqual(self.checker.checked, 4)

    def test_budgetsBounded(self) -> None:
        """
        At most L{LoginLimits.maxKeys} budgets are kept: those full again
        are forgotten first, then the fullest, so a spent one is the last
        to go.
        """
        for i in range(10):
            self.assertRefusedLater(self.login.login("moshez", "wrong", _at(f"192.0.2.{i}")))
        self.clock.advance(2)
        for n in range(20):
            self.assertRefusedLater(self.login.login(f"nobody{n}", "x", _at(f"198.51.100.{n}")))
            self.assertLessEqual(len(self.login.budgets), 4)
        self.clock.advance(2)
        self.assertIn(b"moshez", self.login.budgets)
        checked = self.checker.checked
        late = self.login.login("moshez", "wrong", _at("203.0.113.1"))
        self.assertEqual(self.checker.checked, checked)
        self.clock.advance(2)
        self.failureResultOf(late, UnauthorizedLogin)

    def assertRefusedLater(self, d: "Deferred[Any]") -> None:
        d.addErrback(lambda f: f.trap(UnauthorizedLogin))

    def test_trustBounded(self) -> None:
        """
        At most L{LoginLimits.maxTrusted} clients are trusted by each
        account, and at most L{LoginLimits.maxKeys} accounts are kept; the
        least lately used are forgotten first.
        """
        for i in range(12):
            self.successResultOf(self.login.login("moshez", "secret", _at(f"192.0.2.{i}")))
            self.clock.advance(6)
        self.assertEqual(
            list(self.login.trusted[b"moshez"]), [f"192.0.2.{i}" for i in range(4, 12)]
        )
        self.service.users.update({f"u{i}": "" for i in range(5)})
        for i in range(5):
            self.checker.checker.addUser(f"u{i}".encode(), b"pw")
            self.successResultOf(self.login.login(f"u{i}", "pw", PEER))
        self.assertEqual(list(self.login.trusted), [b"u1", b"u2", b"u3", b"u4"])
