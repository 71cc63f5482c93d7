# -*- test-case-name: tests.frontends.pb.test_login -*-
"""
Logging in over PB to set a status: the standard PB login, whose password
Twisted's own portal root checks, with the setter's names, passwords and
admins (L{finger.auth.SetterLogin}); and L{SetterPerspective}, the avatar a
client that logged in talks to.

A connection's C{login} call goes to its L{ConnectionLogin}, which refuses
a login the server does not offer, then hands it to the root object of a
L{Portal} (C{pb.IPBRoot(portal)}) of the connection's own: its checker lets
one login through at a time and takes one answer to each challenge, and a
client that leaves gives up its place in the login queue.
"""

from typing import TYPE_CHECKING, Any, Callable, Dict, List, NoReturn, Optional, Tuple, Type
from weakref import WeakSet

from twisted.cred.checkers import ICredentialsChecker
from twisted.cred.credentials import IUsernameHashedPassword
from twisted.cred.error import UnauthorizedLogin
from twisted.cred.portal import IRealm, Portal
from twisted.internet.defer import Deferred, fail
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.spread import pb
from zope.interface import implementer

from finger.frontends.pb.broker import FingerBroker, peerOf, pendingOn
from finger.frontends.pb.calls import Checked, CheckedReferenceable, remote
from finger.interfaces import IFingerSetterService
from finger.lookup import SetAnswers, Unsaved
from finger.messages import (
    CHALLENGE_ANSWERED,
    LOGIN_FAILED,
    LOGIN_UNDER_WAY,
    NO_CHALLENGE_LOGIN,
    NO_LOGIN,
)
from finger.names import (
    MAX_USER_NAME_LENGTH,
    InvalidStatus,
    InvalidUserName,
    checkStatus,
    checkUserName,
)
from finger.pbwire import BadRequest, LoginNotOffered, LoginRefused, NotSaved, PermissionDenied

if TYPE_CHECKING:
    from finger.frontends.pb.root import PerspectiveFingerFromService


class ConnectionLogin:
    """
    One connection's way to log in: PB's C{login} call (what
    L{pb.PBClientFactory.login} sends to the root object), checked, then
    answered by Twisted's own portal root.
    """

    log = Logger()

    def __init__(self, finger: "PerspectiveFingerFromService", broker: pb.Broker) -> None:
        self.finger = finger
        self.broker = broker
        self.portalRoot: Optional[Any] = None

    def begin(self, username: object) -> Tuple[bytes, "_Challenger"]:
        """
        Refuse a login this server does not offer, or a name that cannot be
        one; otherwise answer, through Twisted's portal root, with a
        challenge and the object that takes its response.

        @raise LoginNotOffered: without C{--auth}, or when its checkers
            cannot check PB's challenge-response.
        @raise BadRequest: if C{username} cannot be a name.
        """
        login = self.finger.login
        if login is None:
            raise LoginNotOffered(NO_LOGIN)
        if not any(
            interface.isOrExtends(IUsernameHashedPassword)
            for interface in login.portal.listCredentialsInterfaces()
        ):
            self.log.warn(
                "Refused a PB login from {peer}: no --auth checker can check PB's "
                "challenge-response (use --auth file: or memory:)",
                peer=peerOf(self.broker),
            )
            raise LoginNotOffered(NO_CHALLENGE_LOGIN)
        if not isinstance(username, (str, bytes)) or len(username) > 4 * MAX_USER_NAME_LENGTH:
            raise BadRequest("login takes a user name, as bytes")
        if self.portalRoot is None:
            portal = Portal(
                _Realm(self.finger, self.broker), [_ConnectionChecker(self.finger, self.broker)]
            )
            self.portalRoot = pb.IPBRoot(portal).rootObject(self.broker)
        challenge, challenger = self.portalRoot.remote_login(username)
        return challenge, _Challenger(challenger, self.broker)


class _Challenger(CheckedReferenceable):
    """
    What a client answers a login's challenge through: Twisted's own
    challenger, whose C{respond} it checks the arguments of.
    """

    def __init__(self, challenger: Any, broker: pb.Broker) -> None:
        self.challenger = challenger
        self.broker = broker

    @remote
    def remote_respond(self, response: object, mind: object) -> Any:
        return self.challenger.remote_respond(response, mind)


@implementer(IUsernameHashedPassword, pb.IUsernameMD5Password)
class _BytesName:
    """
    PB's challenge-response credentials, with the name as L{bytes}: a
    client may send it as L{str}.
    """

    def __init__(self, username: bytes, credentials: Any) -> None:
        self.username = username
        self.credentials = credentials

    def checkPassword(self, password: bytes) -> object:
        return self.credentials.checkPassword(password)

    def checkMD5Password(self, md5Password: bytes) -> object:
        return self.credentials.checkMD5Password(md5Password)


@implementer(ICredentialsChecker)
class _ConnectionChecker:
    """
    The checker of the portal one connection logs in through: the
    setter's L{finger.auth.SetterLogin} (logged, slow when it fails, and one
    guess at a time for each account and address across all connections),
    one login at a time, and one answer to each challenge; a client that
    leaves gives up its place in the queue.  The avatar ID it gives is the
    user's L{IFingerSetterService}.
    """

    credentialInterfaces = (IUsernameHashedPassword,)

    def __init__(self, finger: "PerspectiveFingerFromService", broker: pb.Broker) -> None:
        self.finger = finger
        self.broker = broker
        self.busy = False
        self.answered: "WeakSet[object]" = WeakSet()

    def requestAvatarId(self, credentials: Any) -> "Deferred[Any]":
        login = self.finger.login
        assert login is not None
        if credentials in self.answered:
            return fail(BadRequest(CHALLENGE_ANSWERED))
        if self.busy:
            return fail(BadRequest(LOGIN_UNDER_WAY))
        self.answered.add(credentials)
        username = credentials.username
        if isinstance(username, str):
            username = username.encode("utf-8")
        self.busy = True

        def done(result: object) -> object:
            self.busy = False
            if self.broker.disconnected:
                # Nobody to send the avatar to; nobody to tell either.
                raise LoginRefused(LOGIN_FAILED)
            return result

        def refused(reason: Failure) -> NoReturn:
            reason.trap(UnauthorizedLogin)
            raise LoginRefused(LOGIN_FAILED)

        transport = self.broker.transport
        assert transport is not None, "a login comes over a connection"
        d = login.authenticate(_BytesName(username, credentials), transport.getPeer())
        if not d.called:
            # A client that leaves gives up its place in the login queue.
            self.broker.notifyOnDisconnect(d.cancel)
            d.addBoth(self.forget, d)
        return d.addBoth(done).addErrback(refused)

    def forget(self, result: object, d: "Deferred[Any]") -> object:
        self.broker.dontNotifyOnDisconnect(d.cancel)
        return result


@implementer(IRealm)
class _Realm:
    """
    Give a connection that logged in a L{SetterPerspective} for the user's
    L{IFingerSetterService}, which the checker gave as the avatar ID.
    """

    def __init__(self, finger: "PerspectiveFingerFromService", broker: pb.Broker) -> None:
        self.finger = finger
        self.broker = broker

    def requestAvatar(
        self, avatarId: Any, mind: object, *interfaces: Any
    ) -> Tuple[Any, "SetterPerspective", Callable[[], None]]:
        if pb.IPerspective not in interfaces:
            raise NotImplementedError("this realm only gives PB perspectives")
        if isinstance(self.broker, FingerBroker):
            self.broker.loggedIn()
        avatar = SetterPerspective(self.finger, avatarId, self.broker)
        return pb.IPerspective, avatar, lambda: None


_SET_ERRORS: Dict[Unsaved, Type[pb.Error]] = {
    Unsaved.REFUSED: BadRequest,
    Unsaved.NOT_ALLOWED: PermissionDenied,
    Unsaved.LOGIN_FAILED: LoginRefused,
    Unsaved.NOT_SAVED: NotSaved,
    Unsaved.TIMED_OUT: pb.Error,
    Unsaved.FAILED: pb.Error,
}
"""
The remote error a C{setUser} that did not set a status fails with, for
each reason.
"""


class _RemoteSetAnswers(SetAnswers[None]):
    """
    How one C{setUser} call ended: L{None} once saved, a remote error
    otherwise.
    """

    def saved(self) -> None:
        return None

    def unsaved(self, why: Unsaved, sentence: str) -> NoReturn:
        raise _SET_ERRORS[why](sentence)


_setAnswers = _RemoteSetAnswers()


class SetterPerspective(Checked, pb.Avatar):
    """
    What a client that logged in over PB talks to: C{setUser}, as the
    logged-in user may, and C{getUser} and C{getUsers} as on the root.

    @ivar setter: the user's L{finger.auth.AuthorizedSetter}.
    @ivar peer: the client's address, for the log.
    """

    def __init__(
        self,
        finger: "PerspectiveFingerFromService",
        setter: IFingerSetterService,
        broker: pb.Broker,
    ) -> None:
        self.finger = finger
        self.setter = setter
        self.broker = broker
        self.peer = peerOf(broker)
        self.asking = pendingOn(broker)

    def perspectiveMessageReceived(
        self, broker: pb.Broker, message: str, args: Any, kw: Any
    ) -> Any:
        """
        Refuse a call to a method not marked with L{remote} with a
        L{BadCall}; Twisted's avatar calls the others.
        """
        self.checkMethod("perspective_", message)
        return super().perspectiveMessageReceived(broker, message, args, kw)

    @remote
    def perspective_getUser(self, user: object) -> "Deferred[Optional[str]]":
        return self.asking.track(self.finger.getUser(user, self.peer))

    @remote
    def perspective_getUsers(self) -> "Deferred[Optional[List[str]]]":
        return self.asking.track(self.finger.getUsers(self.peer))

    @remote
    def perspective_setUser(self, user: object, status: object) -> "Deferred[None]":
        """
        Set C{user}'s status to C{status}; answer once it is durable.  A
        client that leaves does not stop the change.
        """
        if not isinstance(user, str) or not isinstance(status, str):
            raise BadRequest("setUser takes a user name and a status, as strings")
        try:
            checkUserName(user)
        except InvalidUserName as e:
            raise BadRequest(f"invalid user name: {e}") from None
        try:
            checkStatus(status)
        except InvalidStatus as e:
            raise BadRequest(f"invalid status: {e}") from None
        login = getattr(self.setter, "login", "?")
        d: "Deferred[object]" = self.setter.setUser(user, status)  # type: ignore[assignment]
        return self.finger.lookup.change(
            d, _setAnswers, self.peer, "setUser over PB", user=user, login=login
        )
