# -*- test-case-name: tests.frontends.test_pb -*-
"""
The finger service over Perspective Broker, Twisted's remote object
protocol, so that Twisted programs can ask for statuses with a method call::

    factory = pb.PBClientFactory()
    endpoint.connect(factory)
    root = await factory.getRootObject()
    status = await root.callRemote("getUser", "moshez")   # "happy and well"
    users = await root.callRemote("getUsers")             # ["moshez", ...]

Results are plain L{str} and L{list}.  Asking for an unknown user fails
remotely with L{NoSuchUser}, whose message is L{NO_SUCH_USER}; the client
sees a failure for which C{failure.check(NoSuchUser)} is true, so a user
whose status happens to read "No such user" is still told apart.  A name
that is not a L{str} fails with L{BadRequest}.  The tutorial's service
answered the string C{"No such user"} instead; a remote error says the same
thing without ambiguity.

Anonymous clients only read, and setting takes a login, so, as in the
tutorial, it listens on all interfaces by default (C{--pbport}, port 8889).

Setting a status
================

With C{twistd finger --auth ...}, a client may also log in, in the standard
PB way, with the same names, passwords and admins as the setter
(L{finger.auth}), and set a status through the avatar it gets back::

    avatar = await factory.login(UsernamePassword(b"moshez", b"secret"))
    await avatar.callRemote("setUser", "moshez", "Giving a tutorial")

The avatar also answers C{getUser} and C{getUsers}.  C{setUser} answers once
the status is durable.  A user may set only their own status unless they are
an admin (L{PermissionDenied} otherwise); a wrong name or password fails with
L{LoginRefused} (message L{finger.auth.LOGIN_FAILED}, which a client may
also catch as L{twisted.cred.error.UnauthorizedLogin}) only after
L{finger.auth.FAILED_LOGIN_DELAY} seconds, and is logged (a connection has
one login under way at a time, and a challenge takes one answer, so guesses
do not run in parallel on one connection); an invalid name or
status fails with L{BadRequest} saying why; a save that did not happen with
L{NotSaved}.  Without C{--auth}, or when the C{--auth} checkers cannot check
PB's challenge-response (C{--auth unix} cannot), logging in fails at once
with L{LoginNotOffered}.

PB's login sends no password: the server sends a random challenge and the
client answers with an MD5 digest of it and the password.  Anyone who sees
both may still guess the password offline, so serve PB on loopback or over
TLS (C{--pbport ssl:...}) where that matters.

Run C{python -m finger.clients.pb} for a client a person can use.

Serve it with L{FingerBroker} as the factory's protocol: a client that does
not speak PB is dropped with one line in the log, not a traceback.
"""

import hmac
import inspect
from hashlib import md5
from typing import Any, List, Optional, Tuple, TypeVar

from twisted.cred.credentials import IUsernameHashedPassword
from twisted.cred.error import UnauthorizedLogin
from twisted.internet.defer import Deferred, TimeoutError
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.python import components
from twisted.python.failure import Failure
from twisted.spread import pb
from twisted.spread.banana import BananaError
from zope.interface import implementer

from finger.auth import LOGIN_FAILED, NotAllowed, SetterLogin
from finger.interfaces import (
    IFingerService,
    IFingerSetterService,
    IPerspectiveFinger,
    StatusNotSaved,
    UnknownUser,
)
from finger.lookup import LOOKUP_TIMEOUT
from finger.messages import INTERNAL_ERROR, NO_SUCH_USER, TIMED_OUT
from finger.names import (
    MAX_USER_NAME_LENGTH,
    InvalidStatus,
    InvalidUserName,
    checkStatus,
    checkUserName,
    isValidUserName,
)
from finger.text import escapeForLog, formatPeer

DEFAULT_PORT = 8889

_T = TypeVar("_T")

MAX_MESSAGE_BYTES = 1 << 20
"""
The longest PB message a client may send: a call to this service is a few
hundred bytes.
"""

MAX_DEPTH = 32
"""
How deeply a client's message may nest lists: a call nests a handful.
"""

class NoSuchUser(pb.Error):
    """
    The service does not know this user.  Sent to the PB client, which sees
    it as a remote failure.
    """


class BadRequest(pb.Error):
    """
    A remote call's arguments are not what the method takes, or a name or
    status that cannot be stored.  The message says why.
    """


class LoginRefused(pb.Error, UnauthorizedLogin):
    """
    Wrong name or password; the message is always L{LOGIN_FAILED}.  It is an
    L{UnauthorizedLogin} too, so a client that checks for that, as PB clients
    do, recognises it.
    """


class LoginNotOffered(pb.Error):
    """
    This server does not let anyone log in over PB.
    """


class PermissionDenied(pb.Error):
    """
    The logged-in user may not set this user's status.
    """


class NotSaved(pb.Error):
    """
    The status could not be made durable; nothing changed.
    """


NOT_SAVED = "the status could not be saved; try again later"


class FingerBroker(pb.Broker):
    """
    A PB broker for a server on the open internet.

    Twisted's broker lets a malformed stream (an unknown type byte, an
    over-long prefix) raise out of C{dataReceived}, and the reactor logs a
    traceback for every such connection; and it keeps any unfinished
    message, however large or deeply nested, in memory.  Here a message may
    be at most L{MAX_MESSAGE_BYTES} long and nest lists L{MAX_DEPTH} deep;
    a connection breaking these rules or speaking something else is closed,
    and one line in the log says why.
    """

    log = Logger()
    _broken = False
    _pendingBytes = 0

    def dataReceived(self, data: bytes) -> None:
        if self._broken or self.transport is None or self.transport.disconnecting:  # type: ignore[attr-defined]
            return
        self._pendingBytes += len(data)
        try:
            super().dataReceived(data)
            if self._pendingBytes > MAX_MESSAGE_BYTES:
                raise BananaError(f"a message longer than {MAX_MESSAGE_BYTES} bytes")
            if len(self.listStack) > MAX_DEPTH:
                raise BananaError(f"lists nested deeper than {MAX_DEPTH}")
        except Exception as e:
            self._broken = True
            self.listStack = []
            self.buffer = b""
            transport: Any = self.transport
            self.log.info(
                "Dropping PB connection from {peer}: {error}",
                peer=formatPeer(transport.getPeer()),
                error=escapeForLog(f"{type(e).__name__}: {e}".encode("utf-8", "replace")),
            )
            transport.loseConnection()

    def callExpressionReceived(self, item: object) -> None:
        if self.currentDialect is None and not isinstance(item, bytes):
            # Banana would compare it with the dialect names, which are bytes.
            raise BananaError("expected the name of a dialect")
        super().callExpressionReceived(item)

    def expressionReceived(self, item: object) -> None:
        # A whole message arrived: count the next one from here.
        self._pendingBytes = 0
        super().expressionReceived(item)


@implementer(IPerspectiveFinger)
class PerspectiveFingerFromService(pb.Root):
    """
    Answer C{getUser} and C{getUsers} from an L{IFingerService} and, with a
    L{login}, let clients log in to set statuses.

    Each connection's root object is a L{_ConnectionRoot}, which answers
    both the anonymous finger methods and PB's login protocol: what
    L{pb.PBClientFactory.login} calls is just C{callRemote("login", name)}
    on the same root object that C{getRootObject} gives, so one root
    serves old anonymous clients and logins alike.

    @ivar login: checks names and passwords, slowly when they are wrong;
        L{None} when the server runs without C{--auth}.
    """

    log = Logger()
    login: Optional[SetterLogin] = None
    clock: Optional[IReactorTime] = None
    lookupTimeout = LOOKUP_TIMEOUT

    def __init__(self, service: IFingerService) -> None:
        """
        @param service: the back-end.

        Set C{clock} (an L{IReactorTime}) to give the back-end
        C{lookupTimeout} seconds to answer, after which the caller gets a
        L{pb.Error} saying L{TIMED_OUT}; without a clock it may take forever.
        """
        self.service = service

    def rootObject(self, broker: pb.Broker) -> "_ConnectionRoot":
        return _ConnectionRoot(self, broker)

    def remote_getUser(self, user: object) -> "Deferred[str]":
        if not isinstance(user, str):
            raise BadRequest("getUser takes a user name, as a string")
        if not isValidUserName(user):
            raise NoSuchUser(NO_SUCH_USER)

        def failed(reason: Failure) -> Failure:
            if reason.check(UnknownUser):
                raise NoSuchUser(NO_SUCH_USER)
            return self._internalError(reason, "getUser")

        return self._timed(self.service.getUser(user)).addErrback(failed)

    def remote_getUsers(self) -> "Deferred[List[str]]":
        return self._timed(self.service.getUsers()).addCallbacks(
            list, lambda reason: self._internalError(reason, "getUsers")
        )

    def _timed(self, d: "Deferred[_T]") -> "Deferred[_T]":
        if self.clock is not None:
            d.addTimeout(self.lookupTimeout, self.clock)
        return d

    def _internalError(self, reason: Failure, method: str) -> Failure:
        if reason.check(TimeoutError):
            self.log.warn(
                "Back-end gave no answer to PB {method} within {timeout} seconds",
                method=method,
                timeout=self.lookupTimeout,
            )
            raise pb.Error(TIMED_OUT)
        # The details go to the log, not to whoever asked.
        self.log.failure("Back-end failed answering PB {method}", reason, method=method)
        raise pb.Error(INTERNAL_ERROR)


def _lookUp(target: object, prefix: str, message: object, args: Any, kw: Any) -> Tuple[Any, Any]:
    """
    Find the method a remote call names and check that it takes the
    arguments, so that a wrong call is a L{BadRequest} for the caller
    rather than a traceback in the server's log.

    @param args: the unserialized positional arguments.
    @param kw: the unserialized keyword arguments.
    @return: the method, and the keyword arguments with text names.
    @raise BadRequest: for an unknown method or arguments it does not take.
    """
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    if not isinstance(message, str) or not message.isidentifier():
        raise BadRequest(f"no such method: {message!r}")
    method = getattr(target, prefix + message, None)
    if method is None:
        raise BadRequest(f"no such method: {message!r}")
    if isinstance(kw, dict):
        kw = {k.decode("utf-8", "replace") if isinstance(k, bytes) else k: v for k, v in kw.items()}
    try:
        inspect.signature(method).bind(*args, **kw)
    except TypeError as e:
        raise BadRequest(f"{message}: {e}") from None
    return method, kw


class _StrictReferenceable(pb.Referenceable):
    """
    A L{pb.Referenceable} that answers a call to a method it does not have,
    or with the wrong arguments, with L{BadRequest}.
    """

    def remoteMessageReceived(self, broker: pb.Broker, message: Any, args: Any, kw: Any) -> Any:
        args = broker.unserialize(args)
        kw = broker.unserialize(kw)
        method, kw = _lookUp(self, "remote_", message, args, kw)
        return broker.serialize(method(*args, **kw), self.perspective)


class _ConnectionRoot(_StrictReferenceable):
    """
    One connection's root object: the finger methods of
    L{PerspectiveFingerFromService}, and the server side of
    L{pb.PBClientFactory.login} (C{login}, then C{respond} on the challenger
    it returns).  It knows its connection, for the log and so that a login
    that finishes after the client left is dropped quietly.
    """

    log = Logger()

    loggingIn = False
    """
    Whether a login on this connection waits for its answer: one at a
    time, so that a connection cannot run many password guesses at once.
    """

    def __init__(self, finger: PerspectiveFingerFromService, broker: pb.Broker) -> None:
        self.finger = finger
        self.broker = broker

    def peer(self) -> str:
        """
        The client's address, for the log.
        """
        transport = self.broker.transport
        return formatPeer(transport.getPeer()) if transport is not None else "?"

    def remote_getUser(self, user: object) -> "Deferred[str]":
        return self.finger.remote_getUser(user)

    def remote_getUsers(self) -> "Deferred[List[str]]":
        return self.finger.remote_getUsers()

    def remote_login(self, username: object) -> Tuple[bytes, "_Challenger"]:
        """
        Start a name and password login: answer a challenge and the
        L{_Challenger} to send the response to.
        """
        login = self.finger.login
        if login is None:
            raise LoginNotOffered(
                "logging in is not offered: this server runs without --auth, or with "
                "a back-end that cannot set statuses"
            )
        if not any(
            interface.isOrExtends(IUsernameHashedPassword)
            for interface in login.portal.listCredentialsInterfaces()
        ):
            self.log.warn(
                "Refused a PB login from {peer}: no --auth checker can check PB's "
                "challenge-response (use --auth file: or memory:)",
                peer=self.peer(),
            )
            raise LoginNotOffered(
                "logging in over Perspective Broker is not offered: this server's "
                "passwords cannot be checked by challenge-response"
            )
        if isinstance(username, str):
            username = username.encode("utf-8")
        if not isinstance(username, bytes) or len(username) > 4 * MAX_USER_NAME_LENGTH:
            raise BadRequest("login takes a user name, as bytes")
        challenge = pb.challenge()
        return challenge, _Challenger(self, login, username, challenge)

    def remote_loginAnonymous(self, mind: object) -> None:
        raise LoginNotOffered(
            "anonymous login is not offered: call getUser and getUsers on the root object"
        )


@implementer(IUsernameHashedPassword, pb.IUsernameMD5Password)
class _Challenger(_StrictReferenceable):
    """
    One login attempt: the credentials PB's challenge-response gives,
    answered once.  The checkers compare the response with the password
    they hold, as L{twisted.spread.pb}'s own challenger does.
    """

    def __init__(
        self, root: _ConnectionRoot, login: SetterLogin, username: bytes, challenge: bytes
    ) -> None:
        self.root = root
        self.login = login
        self.username = username
        self.challenge = challenge
        self.response: Optional[bytes] = None

    def remote_respond(
        self, response: object, mind: object
    ) -> "Deferred[Optional[pb.AsReferenceable]]":
        root = self.root
        if self.response is not None:
            raise BadRequest("this challenge was answered already; log in again")
        if root.loggingIn:
            raise BadRequest("a login on this connection is under way; wait for its answer")
        # An answer that is not bytes can never match.
        self.response = response if isinstance(response, bytes) else b""
        root.loggingIn = True
        peer = root.peer()

        def done(result: object) -> object:
            root.loggingIn = False
            return result

        def loggedIn(setter: IFingerSetterService) -> Optional[pb.AsReferenceable]:
            if root.broker.disconnected:
                # Nobody to send the avatar to.
                return None
            return pb.AsReferenceable(SetterPerspective(root.finger, setter, peer), "perspective")

        def refused(reason: Failure) -> None:
            reason.trap(UnauthorizedLogin)
            raise LoginRefused(LOGIN_FAILED)

        return self.login.authenticate(self, peer).addBoth(done).addCallbacks(loggedIn, refused)

    def checkPassword(self, password: bytes) -> bool:
        return self.checkMD5Password(md5(password).digest())

    def checkMD5Password(self, md5Password: bytes) -> bool:
        assert self.response is not None
        correct = md5(md5Password + self.challenge).digest()
        return hmac.compare_digest(self.response, correct)


class SetterPerspective(pb.Avatar):
    """
    What a client that logged in over PB talks to: C{setUser}, as the
    logged-in user may, and C{getUser} and C{getUsers} as on the root.

    @ivar setter: the user's L{finger.auth.AuthorizedSetter}.
    @ivar peer: the client's address, for the log.
    """

    log = Logger()

    def __init__(
        self, finger: PerspectiveFingerFromService, setter: IFingerSetterService, peer: str
    ) -> None:
        self.finger = finger
        self.setter = setter
        self.peer = peer

    def perspectiveMessageReceived(
        self, broker: pb.Broker, message: str, args: Any, kw: Any
    ) -> Any:
        """
        Call C{perspective_<message>}, refusing an unknown method or wrong
        arguments with L{BadRequest} rather than a logged traceback.
        """
        args = broker.unserialize(args, self)
        kw = broker.unserialize(kw, self)
        method, kw = _lookUp(self, "perspective_", message, args, kw)
        return broker.serialize(method(*args, **kw), self, method, args, kw)

    def perspective_getUser(self, user: object) -> "Deferred[str]":
        return self.finger.remote_getUser(user)

    def perspective_getUsers(self) -> "Deferred[List[str]]":
        return self.finger.remote_getUsers()

    def perspective_setUser(self, user: object, status: object) -> "Deferred[None]":
        """
        Set C{user}'s status to C{status}; answer once it is durable.
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

        def saved(result: None) -> None:
            self.log.info(
                "Status of {user!r} set by {login!r} from {peer} over PB",
                user=user,
                login=login,
                peer=self.peer,
            )

        def failed(reason: Failure) -> None:
            if reason.check(NotAllowed):
                self.log.warn(
                    "{login!r} from {peer} may not set the status of {user!r}",
                    login=login,
                    peer=self.peer,
                    user=user,
                )
                raise PermissionDenied(f"not allowed: {reason.getErrorMessage()}")
            if reason.check(StatusNotSaved):
                # The back-end logged why; the path is not the client's business.
                raise NotSaved(NOT_SAVED)
            if reason.check(InvalidUserName, InvalidStatus):
                raise BadRequest(reason.getErrorMessage())
            self.finger._internalError(reason, "setUser")

        return self.setter.setUser(user, status).addCallbacks(saved, failed)


components.registerAdapter(PerspectiveFingerFromService, IFingerService, IPerspectiveFinger)
