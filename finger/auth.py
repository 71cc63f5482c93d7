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
seconds, so guessing passwords is slow.
"""

from typing import Any, Callable, Iterable, Tuple, Union

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
from twisted.internet.defer import Deferred, fail
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import deferLater
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from finger.interfaces import IFingerSetterService

LOGIN_FAILED = "login failed"
FAILED_LOGIN_DELAY = 2.0


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


class SetterLogin:
    """
    Log in for setting statuses, slowly when it fails.

    @ivar portal: the L{Portal} from L{setterPortal}.
    @ivar clock: for the delay after a failed login.
    @ivar delay: seconds before a failed login is answered.
    """

    log = Logger()

    def __init__(
        self, portal: Portal, clock: IReactorTime, delay: float = FAILED_LOGIN_DELAY
    ) -> None:
        self.portal = portal
        self.clock = clock
        self.delay = delay

    def login(self, name: str, password: str, peer: str) -> "Deferred[IFingerSetterService]":
        """
        Check a name and password.

        @param peer: who is asking, for the log.
        @return: a L{Deferred} firing with the user's
            L{IFingerSetterService} avatar, or failing with
            L{UnauthorizedLogin} (message L{LOGIN_FAILED}) after the delay.
        """
        return self.authenticate(
            UsernamePassword(name.encode("utf-8"), password.encode("utf-8")), peer
        )

    def authenticate(
        self, credentials: Union[IUsernamePassword, IUsernameHashedPassword], peer: str
    ) -> "Deferred[IFingerSetterService]":
        """
        Check credentials a front-end has already decoded or built: an HTTP
        Basic C{Authorization} header's, or Perspective Broker's
        challenge-response.

        @param credentials: credentials with a L{bytes} C{username}.
        @param peer: who is asking, for the log.
        @return: as L{login}.
        """
        name = credentials.username.decode("utf-8", "replace")
        d = self.portal.login(credentials, None, IFingerSetterService)

        def loggedIn(result: Tuple[Any, Any, Callable[[], None]]) -> IFingerSetterService:
            return result[1]  # type: ignore[no-any-return]

        def refused(reason: Failure) -> "Deferred[IFingerSetterService]":
            if reason.check(UnauthorizedLogin):
                self.log.warn("Failed login as {name!r} from {peer}", name=name, peer=peer)
            else:
                self.log.failure("Error checking the login of {name!r}", reason, name=name)

            def refuse() -> IFingerSetterService:
                raise UnauthorizedLogin(LOGIN_FAILED)

            return deferLater(self.clock, self.delay, refuse)

        return d.addCallbacks(loggedIn, refused)
