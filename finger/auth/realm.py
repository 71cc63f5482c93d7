# -*- test-case-name: tests.test_auth -*-
"""
Who may change a status, decided with L{twisted.cred}: the L{Portal} every
front-end that sets statuses with C{--auth} on logs in through.

C{--auth} provides the credentials checkers (L{bytesCredentials} makes
C{memory:} ones speak bytes), and L{FingerSetterRealm} hands back an
L{IFingerSetterService} avatar, an L{AuthorizedSetter}, that may set only
its own user's status, unless that user is one of the admins.
"""

from typing import Any, Callable, Iterable, Tuple

from twisted.cred.checkers import (
    ICredentialsChecker,
    InMemoryUsernamePasswordDatabaseDontUse,
)
from twisted.cred.portal import IRealm, Portal
from twisted.internet.defer import Deferred, fail
from zope.interface import implementer

from finger.interfaces import IFingerSetterService

__all__ = [
    "AuthorizedSetter",
    "FingerSetterRealm",
    "NotAllowed",
    "bytesCredentials",
    "setterPortal",
]


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
    passwords, which never equal the L{bytes} in L{twisted.cred.credentials.UsernamePassword} (and
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

