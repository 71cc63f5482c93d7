# -*- test-case-name: tests.test_auth -*-
"""
Logging in to set statuses, without letting passwords be guessed fast.

Every front-end that sets statuses with C{--auth} on (the setter protocol,
XML-RPC over HTTPS, Perspective Broker) logs in through L{SetterLogin},
which checks names and passwords with the portal of L{finger.auth.realm}.

Failed logins are refused with the same words whatever went wrong
(L{LOGIN_FAILED}), logged, and answered only after L{FAILED_LOGIN_DELAY}
seconds.  L{SetterLogin}, which the three front-ends share, bounds how fast
passwords can be guessed, without letting a guesser lock the real user out.
A client is what L{finger.net.clients.ClientKey} says: an IPv4 address or
an IPv6 network (a /64 by default).  With the defaults (L{LoginLimits}):

    - B{Per client}: one login from a client is checked at a time, and a
      failed one keeps the client's turn until it is answered, after the
      delay.  So one client guesses at most once per delay (30 a minute),
      whatever the accounts, connections and front-ends, and a right
      password sent beside wrong ones is answered in its turn, no sooner.
      At most L{MAX_QUEUED_LOGINS} logins from one client may be under way
      or waiting; more fail unchecked, after the delay.

    - B{Per account, all clients together}: each account has a budget, a
      L{TokenBucket} of L{ACCOUNT_BURST} checks refilled at
      L{ACCOUNT_GUESSES_PER_MINUTE} a minute; checking a login takes one.
      When it is spent, logins for the account fail unchecked, after the
      delay, so all clients together guess at most 10 times at once and
      then 10 times a minute at one account, however many networks they
      come from.  Two kinds of logins get through anyway:

        - from a client that logged in to that account lately (within
          L{TRUST_PERIOD}) and has not failed since: checked without
          taking from the budget, one such login at a time.  Only the
          right password earns this, and the first failure loses it, so it
          adds at most one guess per right login;
        - from a client that has not failed at that account since the
          budget was last full: the last L{ACCOUNT_RESERVE} checks of the
          budget are kept for these.  A client that failed at the account
          is checked only while the budget holds more.

    So a guesser, whose every failed guess lands it among the clients that
    failed, cannot stop the right password from another client: the real
    user is checked from a client they logged in from lately, or, from a
    new one, out of the reserve.  What a distributed guesser, with fresh
    networks for every guess, can do is spend the reserve too: then, until
    it stops, the account's owner gets in only from a client they logged
    in from lately.  That is the price of a bound per account.

Nothing a client does without a password can fill a table so that others
are refused.  Logins waiting for their turn are cancelled when their
connection goes (each front-end cancels the L{Deferred}), so resetting
connections frees their places; a client's turn is forgotten when its
last login is answered or cancelled.  If L{MAX_LOGIN_KEYS} clients have
logins under way at once, a login from one more client is checked
without waiting for a turn (the budget of its account still applies)
rather than refused.  The budgets are forgotten once full again; when
L{MAX_LOGIN_KEYS} accounts have one in use, the fullest are forgotten
first, so a spent budget is the last to go.  Which clients logged in
lately is kept for at most L{MAX_LOGIN_KEYS} accounts, the least lately
used forgotten first, and only a right password adds to it.
"""

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional, Tuple, Union

from twisted.cred.credentials import (
    IUsernameHashedPassword,
    IUsernamePassword,
    UsernamePassword,
)
from twisted.cred.error import UnauthorizedLogin
from twisted.cred.portal import Portal
from twisted.internet.defer import CancelledError, Deferred, DeferredLock
from twisted.internet.interfaces import IAddress, IReactorTime
from twisted.internet.task import deferLater
from twisted.logger import Logger
from twisted.python.failure import Failure

from finger.interfaces import IFingerSetterService
from finger.messages import LOGIN_FAILED
from finger.net.buckets import BucketTable, TokenBucket
from finger.net.clients import ClientKey
from finger.text import formatPeer

__all__ = [
    "ACCOUNT_BURST",
    "ACCOUNT_GUESSES_PER_MINUTE",
    "ACCOUNT_RESERVE",
    "FAILED_LOGIN_DELAY",
    "LOGIN_FAILED",
    "MAX_LOGIN_KEYS",
    "MAX_QUEUED_LOGINS",
    "TRUST_PERIOD",
    "LoginLimits",
    "SetterLogin",
]

FAILED_LOGIN_DELAY = 2.0
"""
Seconds before a failed login is answered, during which no other login
from the same client is checked.
"""

MAX_QUEUED_LOGINS = 5
"""
How many logins from one client may be under way or waiting at once; more
are refused unchecked.
"""

MAX_LOGIN_KEYS = 10_000
"""
How many clients with logins under way, how many accounts with a budget in
use, and how many accounts with clients that logged in lately,
L{SetterLogin} keeps track of (each).
"""

ACCOUNT_GUESSES_PER_MINUTE = 10.0
"""
How many logins for one account, from all clients together, are checked a
minute once L{ACCOUNT_BURST} were; logins from clients that logged in to
the account lately are not counted.
"""

ACCOUNT_BURST = 10
"""
How many logins for one account may be checked in a row before
L{ACCOUNT_GUESSES_PER_MINUTE} applies.
"""

ACCOUNT_RESERVE = 3
"""
How many of an account's L{ACCOUNT_BURST} checks are kept for clients that
have not failed at the account lately.
"""

TRUST_PERIOD = 7 * 24 * 3600.0
"""
Seconds during which a client that logged in to an account is checked
whatever that account's budget, until it fails there.
"""


@dataclass(frozen=True)
class LoginLimits:
    """
    How fast L{SetterLogin} lets passwords be guessed, and how much it keeps.

    @ivar maxQueued: how many logins from one client may be under way or
        waiting; more fail, unchecked, after the delay.
    @ivar maxKeys: how many clients with logins under way, accounts with a
        budget in use, and accounts with trusted clients are kept (each);
        see L{SetterLogin} for what happens beyond.
    @ivar accountRate: checks a second each account's budget regains.
    @ivar accountBurst: checks each account's budget holds when full.
    @ivar accountReserve: how many checks of the budget only clients that
        have not failed at the account lately may take.
    @ivar trustPeriod: seconds a client that logged in to an account is
        trusted there (until it fails there).
    @ivar maxTrusted: how many clients each account trusts; the one that
        logged in least lately is forgotten first.
    @ivar maxFailed: how many clients that failed each account remembers,
        to keep its reserve from them; the one that failed least lately is
        forgotten first.
    """

    maxQueued: int = MAX_QUEUED_LOGINS
    maxKeys: int = MAX_LOGIN_KEYS
    accountRate: float = ACCOUNT_GUESSES_PER_MINUTE / 60
    accountBurst: int = ACCOUNT_BURST
    accountReserve: int = ACCOUNT_RESERVE
    trustPeriod: float = TRUST_PERIOD
    maxTrusted: int = 8
    maxFailed: int = 64

    def __post_init__(self) -> None:
        if not 0 <= self.accountReserve < self.accountBurst:
            raise ValueError("an account's reserve is less than its burst, and not negative")
        if self.accountRate <= 0 or min(self.maxQueued, self.maxKeys) < 1:
            raise ValueError("login limits are positive")


class _Turns:
    """
    The logins from one client: checked one at a time, in the order they
    came.

    @ivar key: the client, the key of L{SetterLogin.turns}.
    @ivar lock: held by the login being checked, or waiting out its delay.
    @ivar pending: how many logins hold or wait for C{lock}.
    """

    __slots__ = ("key", "lock", "pending")

    def __init__(self, key: str) -> None:
        self.key = key
        self.lock = DeferredLock()
        self.pending = 0


class _Budget(TokenBucket):
    """
    How many more logins for one account may be checked (one token per
    check), and which clients failed at it since the budget was last full.

    @ivar failed: the clients that failed, the most recent last.
    """

    __slots__ = ("failed",)

    def __init__(self, clock: IReactorTime, limits: LoginLimits) -> None:
        super().__init__(clock, limits.accountRate, limits.accountBurst)
        self.failed: "OrderedDict[str, None]" = OrderedDict()

    def admit(self, client: str, limits: LoginLimits) -> bool:
        """
        Take a check for a login from C{client}, if there is one for it.
        """
        if self.full():
            self.failed.clear()
        elif client in self.failed and self.delay(limits.accountReserve + 1) > 0:
            return False
        return self.take()

    def fail(self, client: str, limits: LoginLimits) -> None:
        """
        Remember that C{client} failed.
        """
        self.failed.pop(client, None)
        self.failed[client] = None
        if len(self.failed) > limits.maxFailed:
            self.failed.popitem(last=False)


@dataclass(eq=False)
class _Attempt:
    """
    One login: it waits for its client's turn (unless it has none, see
    L{SetterLogin}), is checked if its account's budget allows, and keeps
    the turn until it is answered: at once when it succeeds, after the
    delay when it fails.

    @ivar login: the L{SetterLogin} that checks it.
    @ivar credentials: what it logs in with.
    @ivar peer: the client's address, as the log shows it.
    @ivar client: the client, as L{SetterLogin.clientKey} says.
    @ivar turns: its client's turns, or L{None} if it takes none.
    @ivar holding: whether it holds its client's turn.
    @ivar waiting: while it waits for its turn, the L{Deferred} that fires
        when the turn comes.
    @ivar answer: what L{SetterLogin.authenticate} returned.
    """

    login: "SetterLogin"
    credentials: Union[IUsernamePassword, IUsernameHashedPassword]
    peer: str
    client: str
    turns: Optional[_Turns]
    holding: bool = field(default=False, init=False)
    waiting: "Optional[Deferred[DeferredLock]]" = field(default=None, init=False)
    answer: "Deferred[IFingerSetterService]" = field(init=False)

    def __post_init__(self) -> None:
        self.answer = Deferred(self.cancel)
        if self.turns is None:
            self.check()
        else:
            self.waiting = self.turns.lock.acquire()
            self.waiting.addCallbacks(self.tookTurn, lambda reason: reason.trap(CancelledError))

    def tookTurn(self, lock: DeferredLock) -> None:
        self.waiting = None
        self.holding = True
        self.check()

    def cancel(self, answer: "Deferred[IFingerSetterService]") -> None:
        """
        The front-end gave up on this login.  One still waiting for its turn
        leaves unchecked; one that was checked keeps its turn until it
        would have been answered, so that leaving early gains nothing.
        """
        if self.waiting is not None:
            waiting, self.waiting = self.waiting, None
            waiting.cancel()
            self.done()

    @property
    def name(self) -> str:
        return self.credentials.username.decode("utf-8", "replace")  # type: ignore[no-any-return]

    def check(self) -> None:
        if not self.login._admit(self.credentials.username, self.client):
            self.login.failed("budget")
            self.login.log.warn(
                "Refused a login as {name!r} from {peer} unchecked: too many logins for "
                "that account were checked lately",
                name=self.name,
                peer=self.peer,
            )
            self.login.clock.callLater(self.login.delay, self.refuse)
            return
        d = self.login.portal.login(self.credentials, None, IFingerSetterService)
        d.addCallbacks(self.loggedIn, self.refused)

    def loggedIn(self, result: Tuple[Any, Any, Callable[[], None]]) -> None:
        self.login._trust(self.credentials.username, self.client)
        if not self.answer.called:
            self.answer.callback(result[1])
        self.done()

    def refused(self, reason: Failure) -> None:
        self.login._distrust(self.credentials.username, self.client)
        if reason.check(UnauthorizedLogin):
            self.login.failed("wrong")
            self.login.log.warn(
                "Failed login as {name!r} from {peer}", name=self.name, peer=self.peer
            )
        else:
            self.login.failed("error")
            self.login.log.failure(
                "Error checking the login of {name!r}", reason, name=self.name
            )
        self.login.clock.callLater(self.login.delay, self.refuse)

    def refuse(self) -> None:
        if not self.answer.called:
            self.answer.errback(UnauthorizedLogin(LOGIN_FAILED))
        self.done()

    def done(self) -> None:
        """
        Give up this login's place in its client's queue, and its turn.
        """
        turns, self.turns = self.turns, None
        if turns is None:
            return
        turns.pending -= 1
        if turns.pending == 0:
            del self.login.turns[turns.key]
        if self.holding:
            self.holding = False
            turns.lock.release()


class SetterLogin:
    """
    Log in for setting statuses: slowly when it fails, one guess at a time
    for each client, and a budget of checks for each account that a
    guesser cannot spend for the real user.  The module docstring
    (L{finger.auth.login}) says what that guarantees.

    @ivar portal: the L{Portal} from L{finger.auth.realm.setterPortal}.
    @ivar clock: for the delay after a failed login, and the budgets.
    @ivar delay: seconds before a failed login is answered.
    @ivar limits: the rates and bounds, as L{LoginLimits} says.
    @ivar clientKey: who counts as one client.
    @ivar failed: told why each login fails: C{"wrong"} name or password,
        account's C{"budget"} spent, client's C{"queue"} full, C{"error"}.
    @ivar turns: the clients with logins under way; each is forgotten when
        its last login is answered or cancelled.
    @ivar budgets: the accounts whose budget is in use (by name, as bytes).
    @ivar trusted: for each account (by name), the clients that logged in
        to it lately, and when; the accounts least lately logged in to
        first.
    """

    log = Logger()
    turns: Dict[str, _Turns]
    budgets: BucketTable[_Budget]
    trusted: "OrderedDict[bytes, OrderedDict[str, float]]"

    def __init__(
        self,
        portal: Portal,
        clock: IReactorTime,
        delay: float = FAILED_LOGIN_DELAY,
        *,
        limits: LoginLimits = LoginLimits(),
        clientKey: ClientKey = ClientKey(),
        failed: Optional[Callable[[str], None]] = None,
    ) -> None:
        self.portal = portal
        self.failed: Callable[[str], None] = failed or (lambda why: None)
        self.clock = clock
        self.delay = delay
        self.limits = limits
        self.clientKey = clientKey
        self.turns = {}
        self.budgets = BucketTable(lambda: _Budget(clock, limits), limits.maxKeys)
        self.trusted = OrderedDict()

    def login(self, name: str, password: str, peer: IAddress) -> "Deferred[IFingerSetterService]":
        """
        Check a name and password.

        @param peer: who is asking: the client's address, for the log and
            for its turn.
        @return: a L{Deferred} firing with the user's
            L{IFingerSetterService} avatar, or failing with
            L{UnauthorizedLogin} (message L{LOGIN_FAILED}) after the delay.
            Cancelling it while it waits for its turn takes it out of the
            queue; a front-end does so when its client leaves.
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
        client = self.clientKey(peer)
        turns = self.turns.get(client)
        if turns is not None and turns.pending >= self.limits.maxQueued:
            self.failed("queue")
            self.log.warn(
                "Refused a login as {name!r} from {peer} unchecked: too many logins from "
                "that client wait",
                name=credentials.username.decode("utf-8", "replace"),
                peer=where,
            )

            def refuse() -> IFingerSetterService:
                raise UnauthorizedLogin(LOGIN_FAILED)

            return deferLater(self.clock, self.delay, refuse)
        if turns is None and len(self.turns) < self.limits.maxKeys:
            turns = self.turns[client] = _Turns(client)
        if turns is not None:
            turns.pending += 1
        return _Attempt(self, credentials, where, client, turns).answer

    def _trustedSince(self, account: bytes, client: str) -> Optional[float]:
        """
        @return: when C{client} last logged in to C{account}, if that is
            recent enough to trust it.
        """
        clients = self.trusted.get(account)
        when = None if clients is None else clients.get(client)
        if when is None or self.clock.seconds() - when < self.limits.trustPeriod:
            return when
        del clients[client]  # type: ignore[union-attr]
        if not clients:
            del self.trusted[account]
        return None

    def _admit(self, account: bytes, client: str) -> bool:
        """
        Whether a login from C{client} for C{account} may be checked now;
        take what lets it be checked (the client's trust there, or one
        check of the account's budget).
        """
        if self._trustedSince(account, client) is not None:
            # Trust is for one login at a time: it comes back if that one
            # succeeds.
            del self.trusted[account][client]
            return True
        return self.budgets[account].admit(client, self.limits)

    def _trust(self, account: bytes, client: str) -> None:
        """
        C{client} logged in to C{account}: trust it there.
        """
        budget = self.budgets.get(account)
        if budget is not None:
            budget.failed.pop(client, None)
        clients = self.trusted.pop(account, None)
        if clients is None:
            clients = OrderedDict()
            if len(self.trusted) >= self.limits.maxKeys:
                self.trusted.popitem(last=False)
        self.trusted[account] = clients
        clients.pop(client, None)
        clients[client] = self.clock.seconds()
        if len(clients) > self.limits.maxTrusted:
            clients.popitem(last=False)

    def _distrust(self, account: bytes, client: str) -> None:
        """
        C{client} failed to log in to C{account}: trust it no more there,
        and keep the account's reserve from it.
        """
        clients = self.trusted.get(account)
        if clients is not None and clients.pop(client, None) is not None and not clients:
            del self.trusted[account]
        self.budgets[account].fail(client, self.limits)
