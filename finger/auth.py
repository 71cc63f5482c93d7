# -*- test-case-name: tests.test_auth -*-
"""
Who may change a status, decided with L{twisted.cred}.

Every front-end that sets statuses with C{--auth} on (the setter protocol,
XML-RPC over HTTPS, Perspective Broker) logs in through the same
L{Portal}: C{--auth} provides the credentials checkers, and
L{FingerSetterRealm} hands back an L{IFingerSetterService} avatar that may set
only its own user's status, unless that user is one of the admins.

Failed logins are refused with the same words whatever went wrong
(L{LOGIN_FAILED}), logged, and answered only after L{FAILED_LOGIN_DELAY}
seconds, so guessing passwords is slow.  Guessing in parallel is no faster:
L{SetterLogin}, which the three front-ends share, checks the logins for one
account, and those from one client address, one at a time, each after the
delay of the failure before it.  A client is what
L{finger.net.clients.ClientKey} says: an IPv4 address or an IPv6 network.
"""

from dataclasses import dataclass
from typing import Any, Callable, Dict, Hashable, Iterable, List, Optional, Tuple, Union

from twisted.cred.checkers import (
    ICredentialsChecker,
    InMemoryUsernamePasswordDatabaseDontUse,
)
from twisted.cred.credentials import (
    IUsernameHashedPassword,
    IUsernamePassword,
    UsernamePassword,
)
from twisted.cred.error import UnauthorizedLogin
from twisted.cred.portal import IRealm, Portal
from twisted.internet.defer import CancelledError, Deferred, DeferredLock, fail
from twisted.internet.interfaces import IAddress, IReactorTime
from twisted.internet.task import deferLater
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from finger.interfaces import IFingerSetterService
from finger.messages import LOGIN_FAILED
from finger.net.clients import ClientKey
from finger.text import formatPeer

__all__ = [
    "FAILED_LOGIN_DELAY",
    "LOGIN_FAILED",
    "MAX_LOGIN_KEYS",
    "MAX_QUEUED_LOGINS",
    "AuthorizedSetter",
    "FingerSetterRealm",
    "LoginLimits",
    "NotAllowed",
    "SetterLogin",
    "bytesCredentials",
    "setterPortal",
]

FAILED_LOGIN_DELAY = 2.0
"""
Seconds before a failed login is answered, during which no other login for
the same account or from the same address is checked.
"""

MAX_QUEUED_LOGINS = 5
"""
How many logins for one account, or from one address, may be under way or
waiting at once; more are refused unchecked.
"""

MAX_LOGIN_KEYS = 10_000
"""
How many accounts and addresses with logins under way L{SetterLogin} keeps
track of; a login that needs more is refused unchecked.
"""


class NotAllowed(PermissionError):
    """
    The logged-in user may not set this user's status.
    """


@implementer(IFingerSetterService)
class AuthorizedSetter:
    """
    An L{IFingerSetterService} for one logged-in user: it sets that user's own
    status, or anyone's if the user is an admin.

    @ivar login: the name the user logged in as.
    @ivar admin: whether the user may set anyone's status.
    """

    def __init__(self, setter: IFingerSetterService, login: str, admin: bool) -> None:
        self._setter = setter
        self.login = login
        self.admin = admin

    def setUser(self, user: str, status: str) -> "Deferred[None]":
        if user != self.login and not self.admin:
            return fail(NotAllowed(f"{self.login} may not set the status of {user}"))
        return self._setter.setUser(user, status)


@implementer(IRealm)
class FingerSetterRealm:
    """
    Give each logged-in user an L{AuthorizedSetter}.
    """

    def __init__(self, setter: IFingerSetterService, admins: Iterable[str] = ()) -> None:
        self.setter = setter
        self.admins = frozenset(admins)

    def requestAvatar(
        self, avatarId: Any, mind: object, *interfaces: Any
    ) -> Tuple[Any, Any, Callable[[], None]]:
        if IFingerSetterService not in interfaces:
            raise NotImplementedError("this realm only gives IFingerSetterService avatars")
        login = avatarId.decode("utf-8") if isinstance(avatarId, bytes) else str(avatarId)
        avatar = AuthorizedSetter(self.setter, login, login in self.admins)
        return IFingerSetterService, avatar, lambda: None


def _utf8(value: Any) -> Any:
    return value.encode("utf-8") if isinstance(value, str) else value


def bytesCredentials(checker: ICredentialsChecker) -> ICredentialsChecker:
    """
    A checker that works with the bytes names and passwords front-ends log in
    with.

    C{--auth memory:NAME:PASSWORD} makes an
    L{InMemoryUsernamePasswordDatabaseDontUse} holding L{str} names and
    passwords, which never equal the L{bytes} in L{UsernamePassword} (and
    under C{python -bb} comparing them is an error); this returns one that
    holds them as UTF-8.  Any other checker is returned as it is.
    """
    if isinstance(checker, InMemoryUsernamePasswordDatabaseDontUse) and any(
        isinstance(name, str) for name in checker.users
    ):
        converted = InMemoryUsernamePasswordDatabaseDontUse()
        for name, password in checker.users.items():
            converted.addUser(_utf8(name), _utf8(password))
        return converted
    return checker


def setterPortal(
    setter: IFingerSetterService, checkers: Iterable[ICredentialsChecker], admins: Iterable[str]
) -> Portal:
    """
    The portal every authenticated setter front-end logs in through.
    """
    return Portal(FingerSetterRealm(setter, admins), [bytesCredentials(c) for c in checkers])


class _Turns:
    """
    The logins for one account or from one address: taken one at a time, in
    the order they came.

    @ivar key: what the logins share, the key of L{SetterLogin.turns}.
    @ivar lock: held by the login being checked, or waiting out its delay.
    @ivar pending: how many logins hold or wait for C{lock}.
    """

    __slots__ = ("key", "lock", "pending")

    def __init__(self, key: Hashable) -> None:
        self.key = key
        self.lock = DeferredLock()
        self.pending = 0


class _Attempt:
    """
    One login: it waits for its turn on each of its L{_Turns} (its
    account's, then its address's; always in that order, so that two
    logins never wait for each other), is checked, and keeps its turns
    until it is answered: at once when it succeeds, after the delay when it
    fails.

    @ivar answer: what L{SetterLogin.authenticate} returned.
    """

    def __init__(
        self,
        login: "SetterLogin",
        credentials: Union[IUsernamePassword, IUsernameHashedPassword],
        peer: str,
        turns: "List[_Turns]",
    ) -> None:
        self.login = login
        self.credentials = credentials
        self.peer = peer
        self.turns = turns
        self.taken = 0
        self.waiting: "Optional[Deferred[DeferredLock]]" = None
        self.answer: "Deferred[IFingerSetterService]" = Deferred(self.cancel)
        self.takeTurn()

    def takeTurn(self) -> None:
        if self.taken == len(self.turns):
            self.check()
            return
        self.waiting = self.turns[self.taken].lock.acquire()
        self.waiting.addCallbacks(self.tookTurn, lambda reason: reason.trap(CancelledError))

    def tookTurn(self, lock: DeferredLock) -> None:
        self.waiting = None
        self.taken += 1
        self.takeTurn()

    def cancel(self, answer: "Deferred[IFingerSetterService]") -> None:
        """
        The front-end gave up on this login.  One still waiting for its turn
        leaves unchecked; one that was checked keeps its turns until it
        would have been answered, so that leaving early gains nothing.
        """
        if self.waiting is not None:
            waiting, self.waiting = self.waiting, None
            waiting.cancel()
            self.done()

    def check(self) -> None:
        d = self.login.portal.login(self.credentials, None, IFingerSetterService)
        d.addCallbacks(self.loggedIn, self.refused)

    def loggedIn(self, result: Tuple[Any, Any, Callable[[], None]]) -> None:
        if not self.answer.called:
            self.answer.callback(result[1])
        self.done()

    def refused(self, reason: Failure) -> None:
        name = self.credentials.username.decode("utf-8", "replace")
        if reason.check(UnauthorizedLogin):
            self.login.log.warn("Failed login as {name!r} from {peer}", name=name, peer=self.peer)
        else:
            self.login.log.failure("Error checking the login of {name!r}", reason, name=name)
        self.login.clock.callLater(self.login.delay, self.refuse)

    def refuse(self) -> None:
        if not self.answer.called:
            self.answer.errback(UnauthorizedLogin(LOGIN_FAILED))
        self.done()

    def done(self) -> None:
        """
        Give up this login's place in each queue, and its turns.
        """
        table = self.login.turns
        for turns in self.turns:
            turns.pending -= 1
            if turns.pending == 0:
                del table[turns.key]
        taken, self.taken = self.taken, 0
        for turns in self.turns[:taken]:
            turns.lock.release()


@dataclass(frozen=True)
class LoginLimits:
    """
    How much waiting L{SetterLogin} holds.

    @ivar maxQueued: how many logins for one account, or from one address,
        may be under way or waiting; more fail, unchecked, after the delay.
    @ivar maxKeys: how many accounts and addresses with logins under way
        L{SetterLogin.turns} may hold; a login that needs more fails,
        unchecked, after the delay.
    """

    maxQueued: int = MAX_QUEUED_LOGINS
    maxKeys: int = MAX_LOGIN_KEYS


class SetterLogin:
    """
    Log in for setting statuses, slowly when it fails, and one guess at a
    time for each account and each client address.

    A failed login is answered after C{delay} seconds, and until then no
    other login for the same account, or from the same client
    (L{ClientKey}), is checked: they wait their turn, in order.  So many
    guesses at once, over many connections or front-ends, take as long as
    the same guesses one after another, and a right password among them is
    answered in its turn, no sooner.  A login that succeeds gives its turn
    up at once.

    @ivar portal: the L{Portal} from L{setterPortal}.
    @ivar clock: for the delay after a failed login.
    @ivar delay: seconds before a failed login is answered.
    @ivar limits: how many logins may wait, as L{LoginLimits} says.
    @ivar clientKey: who counts as one client.
    @ivar turns: the accounts and addresses with logins under way; each is
        forgotten when its last login is answered.
    """

    log = Logger()
    turns: Dict[Hashable, _Turns]

    def __init__(
        self,
        portal: Portal,
        clock: IReactorTime,
        delay: float = FAILED_LOGIN_DELAY,
        *,
        limits: LoginLimits = LoginLimits(),
        clientKey: ClientKey = ClientKey(),
    ) -> None:
        self.portal = portal
        self.clock = clock
        self.delay = delay
        self.limits = limits
        self.clientKey = clientKey
        self.turns = {}

    def login(self, name: str, password: str, peer: IAddress) -> "Deferred[IFingerSetterService]":
        """
        Check a name and password.

        @param peer: who is asking: the client's address, for the log and
            for its budget.
        @return: a L{Deferred} firing with the user's
            L{IFingerSetterService} avatar, or failing with
            L{UnauthorizedLogin} (message L{LOGIN_FAILED}) after the delay.
            Cancelling it while it waits for its turn takes it out of the
            queue.
        """
        return self.authenticate(
            UsernamePassword(name.encode("utf-8"), password.encode("utf-8")), peer
        )

    def authenticate(
        self, credentials: Union[IUsernamePassword, IUsernameHashedPassword], peer: IAddress
    ) -> "Deferred[IFingerSetterService]":
        """
        Check credentials a front-end has already decoded or built: an HTTP
        Basic C{Authorization} header's, or Perspective Broker's
        challenge-response.

        @param credentials: credentials with a L{bytes} C{username}.
        @param peer: as for L{login}.
        @return: as L{login}.
        """
        where = formatPeer(peer)
        turns = self._queue([("account", credentials.username), ("address", self.clientKey(peer))])
        if turns is None:
            self.log.warn(
                "Refused a login as {name!r} from {peer} unchecked: too many logins wait "
                "for that account or address",
                name=credentials.username.decode("utf-8", "replace"),
                peer=where,
            )

            def refuse() -> IFingerSetterService:
                raise UnauthorizedLogin(LOGIN_FAILED)

            return deferLater(self.clock, self.delay, refuse)
        return _Attempt(self, credentials, where, turns).answer

    def _queue(self, keys: List[Hashable]) -> "Optional[List[_Turns]]":
        """
        Find or make the turns for C{keys}, and take a place in each queue.

        @return: the turns, or L{None} when a queue or the table is full.
        """
        found = [self.turns.get(key) for key in keys]
        if any(turns is not None and turns.pending >= self.limits.maxQueued for turns in found):
            return None
        if len(self.turns) + found.count(None) > self.limits.maxKeys:
            return None
        queued = []
        for key, turns in zip(keys, found):
            if turns is None:
                turns = self.turns[key] = _Turns(key)
            turns.pending += 1
            queued.append(turns)
        return queued
