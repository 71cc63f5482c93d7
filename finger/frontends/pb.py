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
thing without ambiguity.  How long the back-end may take, and what a client
hears when it fails, is L{finger.lookup}'s policy.

Serve it with L{FingerPBServerFactory}, whose L{FingerBroker} bounds what a
client may send: a client that does not speak PB, or sends more than a call
needs, more than L{MAX_MESSAGES_BEFORE_LOGIN} messages before it logs in, or
more than L{BYTES_PER_SECOND} bytes a second, is dropped with one line in
the log, not a traceback.

Setting a status
================

With C{twistd finger --auth ...}, a client may also log in, in the standard
PB way, with the same names, passwords and admins as the setter
(L{finger.auth}), and set a status through the avatar it gets back::

    avatar = await factory.login(UsernamePassword(b"moshez", b"secret"))
    await avatar.callRemote("setUser", "moshez", "Giving a tutorial")

Twisted's own PB login checks the password: the root object hands the
C{login} call to the root object of a L{Portal} (C{pb.IPBRoot(portal)}),
whose checker is the setter's L{SetterLogin}.

The avatar also answers C{getUser} and C{getUsers}.  C{setUser} answers once
the status is durable.  A user may set only their own status unless they are
an admin (L{PermissionDenied} otherwise); a wrong name or password fails with
L{LoginRefused} (message L{LOGIN_FAILED}, which a client may also catch as
L{twisted.cred.error.UnauthorizedLogin}) only after the login's delay, and
is logged (a connection has one login under way at a time, and a challenge
takes one answer, so guesses do not run in parallel on one connection); an
invalid name or status fails with L{BadRequest} saying why; a save that did
not happen with L{NotSaved}.  Without C{--auth}, or when the C{--auth}
checkers cannot check PB's challenge-response (C{--auth unix} cannot),
logging in fails at once with L{LoginNotOffered}.

PB's login sends no password: the server sends a random challenge and the
client answers with an MD5 digest of it and the password.  Anyone who sees
both may still guess the password offline, so PB listens on loopback unless
told otherwise (C{--pbport}); serve it over TLS (C{--pbport ssl:...}) where
that matters.

Run C{python -m finger.clients.pb} for a client a person can use.
"""

import inspect
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, NoReturn, Optional, Set, Tuple, Type
from weakref import WeakSet

from twisted.cred.checkers import ICredentialsChecker
from twisted.cred.credentials import IUsernameHashedPassword
from twisted.cred.error import UnauthorizedLogin
from twisted.cred.portal import IRealm, Portal
from twisted.internet.defer import CancelledError, Deferred, fail, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.python import components
from twisted.python.failure import Failure
from twisted.spread import banana, pb
from twisted.spread.jelly import globalSecurity
from zope.interface import implementer

from finger.auth import SetterLogin
from finger.interfaces import IFingerService, IFingerSetterService, IPerspectiveFinger
from finger.lookup import (
    LOOKUP_TIMEOUT,
    LookupAnswers,
    LookupPolicy,
    PolicySettings,
    SetAnswers,
    Unsaved,
    orGlobalReactor,
)
from finger.net.buckets import TokenBucket
from finger.messages import (
    CHALLENGE_ANSWERED,
    INTERNAL_ERROR,
    LOGIN_FAILED,
    LOGIN_UNDER_WAY,
    NO_ANONYMOUS_LOGIN,
    NO_CHALLENGE_LOGIN,
    NO_LOGIN,
    NO_SUCH_USER,
    NOT_SAVED,
    TIMED_OUT,
)
from finger.names import (
    MAX_USER_NAME_LENGTH,
    InvalidStatus,
    InvalidUserName,
    checkStatus,
    checkUserName,
    isValidUserName,
)
from finger.text import escapeForLog, formatPeer

__all__ = [
    "DEFAULT_PORT",
    "LOOKUP_TIMEOUT",
    "BURST_BYTES",
    "BYTES_PER_SECOND",
    "MAX_BAD_CALLS",
    "MAX_DEPTH",
    "MAX_ITEMS",
    "MAX_MESSAGE_BYTES",
    "MAX_MESSAGES_BEFORE_LOGIN",
    "NOT_SAVED",
    "TIMED_OUT",
    "BadCall",
    "BadRequest",
    "BrokerLimits",
    "FingerBroker",
    "FingerPBServerFactory",
    "LoginNotOffered",
    "LoginRefused",
    "MessageScanner",
    "NoSuchUser",
    "NotSaved",
    "PermissionDenied",
    "PerspectiveFingerFromService",
    "SetterPerspective",
]

DEFAULT_PORT = 8889

MAX_MESSAGE_BYTES = 1 << 20
"""
The longest PB message a client may send: a call to this service is a few
hundred bytes.
"""

MAX_DEPTH = 32
"""
How deeply a client's message may nest lists: a call nests a handful.
"""

MAX_ITEMS = 4096
"""
How many items (numbers, strings, lists) one message may hold: a call holds
a few dozen.
"""

MAX_BAD_CALLS = 10
"""
How many malformed calls (an unknown method, arguments a method does not
take or the server cannot read) one connection may make before it is
dropped, so that it cannot fill the log.
"""

MAX_MESSAGES_BEFORE_LOGIN = 100
"""
How many PB messages a connection may send before it logs in, counting the
dialect it chooses and its version: asking for a status takes one, logging
in two.  A client that has more to ask reconnects.
"""

BYTES_PER_SECOND = 16384
"""
How many bytes a second one connection may send, on average: a call to
this service is a few hundred bytes.
"""

BURST_BYTES = 2 * MAX_MESSAGE_BYTES
"""
How many bytes one connection may send at once, above L{BYTES_PER_SECOND}:
room for the longest message, and more than one read from the network.
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


class BadCall(BadRequest):
    """
    A malformed call: an unknown method, arguments the method does not take,
    or arguments the server cannot read.  A client sees a L{BadRequest};
    L{FingerBroker} counts these, and drops a connection that makes too many.
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


def _peer(broker: pb.Broker) -> str:
    """
    The client's address, for the log.
    """
    transport = broker.transport
    return formatPeer(transport.getPeer()) if transport is not None else "?"


def _text(value: object) -> object:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


class _RemoteLookupAnswers(LookupAnswers[NoReturn]):
    """
    A lookup that found nothing, said as a remote error.
    """

    def unknown(self, user: str) -> NoReturn:
        raise NoSuchUser(NO_SUCH_USER)

    def timedOut(self) -> NoReturn:
        raise pb.Error(TIMED_OUT)

    def failed(self) -> NoReturn:
        raise pb.Error(INTERNAL_ERROR)


_lookupAnswers = _RemoteLookupAnswers()


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


@implementer(IPerspectiveFinger)
class PerspectiveFingerFromService(PolicySettings, pb.Root):
    """
    Answer C{getUser} and C{getUsers} from an L{IFingerService} and, with a
    C{login}, let clients log in to set statuses.

    Each connection's root object is a L{_ConnectionRoot}: it answers the
    finger methods, and hands PB's C{login} call (what
    L{pb.PBClientFactory.login} sends to the same root object that
    C{getRootObject} gives) to Twisted's own portal root, so one root
    serves old anonymous clients and logins alike.

    @ivar service: the back-end.
    @ivar clock: the clock lookups time out on.
    @ivar lookupTimeout: seconds the back-end has to answer.
    @ivar login: checks names and passwords, slowly when they are wrong;
        L{None} when the server runs without C{--auth}.
    @ivar lookup: the L{LookupPolicy} every lookup and change goes through,
        whose clock and timeout are C{clock} and C{lookupTimeout}.
    """

    def __init__(
        self,
        service: IFingerService,
        *,
        clock: Optional[IReactorTime] = None,
        lookupTimeout: float = LOOKUP_TIMEOUT,
        login: Optional[SetterLogin] = None,
    ) -> None:
        """
        @param service: the back-end.
        @param clock: what lookups time out on; the global reactor if
            L{None}.
        @param lookupTimeout: seconds the back-end has to answer, after
            which the caller gets a L{pb.Error} saying L{TIMED_OUT}.
        @param login: lets clients log in to set statuses (C{--auth}).
        """
        self.service = service
        self.login = login
        self.lookup = LookupPolicy(orGlobalReactor(clock), lookupTimeout)

    def rootObject(self, broker: pb.Broker) -> "_ConnectionRoot":
        return _ConnectionRoot(self, broker)

    def getUser(self, user: object, peer: str) -> "Deferred[str]":
        """
        Look up C{user}'s status for C{peer}.

        @raise BadRequest: if C{user} is not a L{str}.
        """
        if not isinstance(user, str):
            raise BadRequest("getUser takes a user name, as a string")
        if not isValidUserName(user):
            return fail(NoSuchUser(NO_SUCH_USER))
        return self.lookup.ask(self.service.getUser(user), str, _lookupAnswers, peer, "PB getUser")

    def getUsers(self, peer: str) -> "Deferred[List[str]]":
        """
        List the users for C{peer}.
        """
        return self.lookup.ask(self.service.getUsers(), list, _lookupAnswers, peer, "PB getUsers")

    def remote_getUser(self, user: object) -> "Deferred[str]":
        return self.getUser(user, "?")

    def remote_getUsers(self) -> "Deferred[List[str]]":
        return self.getUsers("?")


components.registerAdapter(PerspectiveFingerFromService, IFingerService, IPerspectiveFinger)


def _lookUp(target: object, prefix: str, message: object, args: Any, kw: Any) -> Tuple[Any, Any]:
    """
    Find the method a remote call names and check that it takes the
    arguments, so that a wrong call is a L{BadCall} for the caller rather
    than a traceback in the server's log.

    @param args: the unserialized positional arguments.
    @param kw: the unserialized keyword arguments.
    @return: the method, and the keyword arguments with text names.
    @raise BadCall: for an unknown method or arguments it does not take.
    """
    message = _text(message)
    if not isinstance(message, str) or not message.isidentifier():
        raise BadCall(f"no such method: {message!r}")
    method = getattr(target, prefix + message, None)
    if method is None:
        raise BadCall(f"no such method: {message!r}")
    if not isinstance(args, (tuple, list)) or not isinstance(kw, dict):
        raise BadCall(f"{message}: malformed arguments")
    kw = {_text(k): v for k, v in kw.items()}
    if not all(isinstance(k, str) for k in kw):
        raise BadCall(f"{message}: malformed arguments")
    try:
        inspect.signature(method).bind(*args, **kw)
    except TypeError as e:
        raise BadCall(f"{message}: {e}") from None
    return method, kw


_log = Logger(namespace=__name__)


def _describe(error: BaseException) -> str:
    """
    An exception, for one line of the log: its arguments may hold a
    client's bytes, which are escaped.
    """
    details = ", ".join(
        escapeForLog(arg) if isinstance(arg, bytes) else str(arg) for arg in error.args
    )
    return escapeForLog(f"{type(error).__name__}: {details}".encode("utf-8", "replace"))


def _unserialize(
    broker: pb.Broker, message: object, netArgs: Any, netKw: Any, perspective: object = None
) -> Tuple[Any, Any]:
    """
    Read a call's arguments; arguments this server cannot read (a type it
    does not know, say) are one escaped line in the log and a L{BadCall}.
    """
    try:
        return broker.unserialize(netArgs, perspective), broker.unserialize(netKw, perspective)
    except Exception as e:
        method = _text(message)
        _log.info(
            "Refused a PB call to {method} from {peer}: cannot read its arguments: {error}",
            method=escapeForLog(str(method).encode("utf-8", "replace")),
            peer=_peer(broker),
            error=_describe(e),
        )
        raise BadCall(f"{method}: arguments this server cannot read") from None


def _dispatch(
    target: object,
    broker: pb.Broker,
    prefix: str,
    message: object,
    netArgs: Any,
    netKw: Any,
    perspective: object = None,
) -> Any:
    """
    Call C{prefix + message} on C{target} with a call's arguments, as
    L{pb.Referenceable} does, but refusing anything malformed with a
    L{BadCall} rather than a traceback in the log.

    @return: the serialized result, or a L{Deferred} firing with it.
    """
    args, kw = _unserialize(broker, message, netArgs, netKw, perspective)
    method, kw = _lookUp(target, prefix, message, args, kw)
    return broker.serialize(method(*args, **kw), perspective)


class _StrictReferenceable(pb.Referenceable):
    """
    A L{pb.Referenceable} that answers a call to a method it does not have,
    or with the wrong arguments, with L{BadCall}.
    """

    def remoteMessageReceived(self, broker: pb.Broker, message: Any, args: Any, kw: Any) -> Any:
        return _dispatch(self, broker, "remote_", message, args, kw, self.perspective)


class _ConnectionRoot(_StrictReferenceable):
    """
    One connection's root object: the finger methods of
    L{PerspectiveFingerFromService}, and PB's C{login}, which it hands to
    Twisted's portal root after checking that logins are offered.  It knows
    its connection, for the log and to cancel lookups when the client
    leaves.
    """

    log = Logger()

    def __init__(self, finger: PerspectiveFingerFromService, broker: pb.Broker) -> None:
        self.finger = finger
        self.broker = broker
        self.asking = _Lookups(broker)
        self.portalRoot: Optional[Any] = None

    def remoteMessageReceived(self, broker: pb.Broker, message: Any, args: Any, kw: Any) -> Any:
        if _text(message) != "login":
            return super().remoteMessageReceived(broker, message, args, kw)
        # Check the call here; Twisted's portal root then reads the
        # same arguments again, and answers with a challenge.
        _dispatch(self, broker, "check_", message, args, kw)
        if self.portalRoot is None:
            portal = Portal(_Realm(self.finger, broker), [_ConnectionLogin(self.finger, broker)])
            self.portalRoot = pb.IPBRoot(portal).rootObject(broker)
        return self.portalRoot.remoteMessageReceived(broker, message, args, kw)

    def check_login(self, username: object) -> None:
        """
        Refuse a login this server does not offer, or a name that cannot
        be one.
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
                peer=_peer(self.broker),
            )
            raise LoginNotOffered(NO_CHALLENGE_LOGIN)
        if not isinstance(username, (str, bytes)) or len(username) > 4 * MAX_USER_NAME_LENGTH:
            raise BadRequest("login takes a user name, as bytes")

    def remote_getUser(self, user: object) -> "Deferred[str]":
        return self.asking.track(self.finger.getUser(user, _peer(self.broker)))

    def remote_getUsers(self) -> "Deferred[List[str]]":
        return self.asking.track(self.finger.getUsers(_peer(self.broker)))

    def remote_loginAnonymous(self, mind: object) -> NoReturn:
        raise LoginNotOffered(NO_ANONYMOUS_LOGIN)


class _Lookups:
    """
    The lookups under way on one connection, cancelled when the client
    leaves, as L{finger.lookup} asks of every front-end.
    """

    def __init__(self, broker: pb.Broker) -> None:
        self.pending: Set["Deferred[Any]"] = set()
        if not broker.disconnected:
            broker.notifyOnDisconnect(self.cancelAll)

    def track(self, d: "Deferred[Any]") -> "Deferred[Any]":
        """
        Remember C{d} until it fires; a cancelled one fires with L{None},
        which nobody is left to read.
        """
        if d.called:
            return d
        self.pending.add(d)

        def done(result: object) -> object:
            self.pending.discard(d)
            if isinstance(result, Failure) and result.check(CancelledError):
                return None
            return result

        return d.addBoth(done)

    def cancelAll(self) -> None:
        for d in list(self.pending):
            d.cancel()


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
class _ConnectionLogin:
    """
    The checker of the portal one connection logs in through: the
    setter's L{SetterLogin} (logged, slow when it fails, and one guess at a
    time for each account and address across all connections), one login
    at a time, and one answer to each challenge; a client that leaves
    gives up its place in the queue.  The avatar ID it gives is the
    user's L{IFingerSetterService}.
    """

    credentialInterfaces = (IUsernameHashedPassword,)

    def __init__(self, finger: PerspectiveFingerFromService, broker: pb.Broker) -> None:
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

    def __init__(self, finger: PerspectiveFingerFromService, broker: pb.Broker) -> None:
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


class SetterPerspective(pb.Avatar):
    """
    What a client that logged in over PB talks to: C{setUser}, as the
    logged-in user may, and C{getUser} and C{getUsers} as on the root.

    @ivar setter: the user's L{finger.auth.AuthorizedSetter}.
    @ivar peer: the client's address, for the log.
    """

    def __init__(
        self, finger: PerspectiveFingerFromService, setter: IFingerSetterService, broker: pb.Broker
    ) -> None:
        self.finger = finger
        self.setter = setter
        self.peer = _peer(broker)
        self.asking = _Lookups(broker)

    def perspectiveMessageReceived(
        self, broker: pb.Broker, message: str, args: Any, kw: Any
    ) -> Any:
        """
        Call C{perspective_<message>}, refusing an unknown method or wrong
        arguments with L{BadCall} rather than a logged traceback.
        """
        return _dispatch(self, broker, "perspective_", message, args, kw, self)

    def perspective_getUser(self, user: object) -> "Deferred[str]":
        return self.asking.track(self.finger.getUser(user, self.peer))

    def perspective_getUsers(self) -> "Deferred[List[str]]":
        return self.asking.track(self.finger.getUsers(self.peer))

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


class MessageScanner:
    """
    Find where each whole Banana message ends, without decoding it, and
    refuse one that breaks the limits before anything reads it.

    Banana (the encoding under PB) sends each item as a base-128 number,
    least significant digit first, of at most 64 bytes below C{0x80},
    then a type byte: a list (C{0x80}, the number is how many items
    follow), a string (C{0x82}, the number is how many bytes follow), a
    float (C{0x84}, eight bytes follow), or a number standing for itself
    (C{0x81}, C{0x83} negative, C{0x85} and C{0x86} large, C{0x87} a word
    of PB's vocabulary).  A message is one item: a list, usually.

    @ivar maxBytes: the longest message, in bytes.
    @ivar maxDepth: how deeply lists may nest.
    @ivar maxItems: how many items one message may hold.
    """

    PREFIX_LIMIT = 64

    def __init__(
        self,
        maxBytes: int = MAX_MESSAGE_BYTES,
        maxDepth: int = MAX_DEPTH,
        maxItems: int = MAX_ITEMS,
    ) -> None:
        self.maxBytes = maxBytes
        self.maxDepth = maxDepth
        self.maxItems = maxItems
        self.pending = bytearray()
        self.scanned = 0
        self.open: List[int] = []
        self.items = 0
        self.firstType = 0

    def feed(self, data: bytes) -> List[Tuple[int, bytes]]:
        """
        Take bytes from the network.

        @return: the whole messages they finish, each with the type byte of
            its outer item.
        @raise banana.BananaError: when a message breaks a limit or is not
            Banana; the scanner is of no further use.
        """
        pending = self.pending
        pending += data
        found: List[Tuple[int, bytes]] = []
        start = 0
        pos = self.scanned
        size = len(pending)
        while pos < size:
            end = pos
            while end < size and pending[end] < 0x80:
                end += 1
                if end - pos > self.PREFIX_LIMIT:
                    raise banana.BananaError(f"a number longer than {self.PREFIX_LIMIT} bytes")
            if end == size:
                break
            value = 0
            for digit in reversed(pending[pos:end]):
                value = (value << 7) | digit
            typeByte = pending[end]
            after = end + 1
            if typeByte == 0x82:
                after += value
            elif typeByte == 0x84:
                after += 8
            elif typeByte == 0x87:
                if value not in pb.Broker.incomingVocabulary:
                    raise banana.BananaError(f"no word {value} in PB's vocabulary")
            elif typeByte == 0x80:
                if value > self.maxItems:
                    raise banana.BananaError(f"a list of more than {self.maxItems} items")
            elif typeByte not in (0x81, 0x83, 0x85, 0x86):
                raise banana.BananaError(f"unknown type byte 0x{typeByte:02x}")
            if after - start > self.maxBytes:
                raise banana.BananaError(f"a message longer than {self.maxBytes} bytes")
            if after > size:
                break
            if not self.open and self.items == 0:
                self.firstType = typeByte
            self.items += 1
            if self.items > self.maxItems:
                raise banana.BananaError(f"a message of more than {self.maxItems} items")
            pos = after
            if typeByte == 0x80 and value:
                self.open.append(value)
                if len(self.open) > self.maxDepth:
                    raise banana.BananaError(f"lists nested deeper than {self.maxDepth}")
                continue
            # An item is complete, and with it maybe the lists around it.
            while self.open:
                self.open[-1] -= 1
                if self.open[-1]:
                    break
                self.open.pop()
            if not self.open:
                found.append((self.firstType, bytes(pending[start:pos])))
                start = pos
                self.items = 0
        if size - start > self.maxBytes:
            raise banana.BananaError(f"a message longer than {self.maxBytes} bytes")
        del pending[:start]
        self.scanned = pos - start
        return found


@dataclass(frozen=True)
class BrokerLimits:
    """
    What one client of L{FingerBroker} may send.

    @ivar maxMessageBytes: the longest message.
    @ivar maxDepth: how deeply a message's lists may nest.
    @ivar maxItems: how many items a message may hold.
    @ivar maxBadCalls: how many malformed calls a connection may make.
    @ivar maxMessagesBeforeLogin: how many messages a connection may send
        before it logs in (L{MAX_MESSAGES_BEFORE_LOGIN}).
    @ivar bytesPerSecond: how many bytes a second a connection may send on
        average.
    @ivar burstBytes: how many bytes it may send at once; at least one read
        from the network (64 KiB).
    """

    maxMessageBytes: int = MAX_MESSAGE_BYTES
    maxDepth: int = MAX_DEPTH
    maxItems: int = MAX_ITEMS
    maxBadCalls: int = MAX_BAD_CALLS
    maxMessagesBeforeLogin: int = MAX_MESSAGES_BEFORE_LOGIN
    bytesPerSecond: float = BYTES_PER_SECOND
    burstBytes: int = BURST_BYTES


class FingerBroker(pb.Broker):
    """
    A PB broker for a server on the open internet.

    Twisted's broker decodes whatever arrives: a malformed stream (an
    unknown type byte, an over-long prefix) raises out of C{dataReceived},
    and the reactor logs a traceback for every such connection; any
    unfinished message, however large or deeply nested, is kept in memory;
    and a call it cannot read is a traceback in the log, with the client's
    bytes in it.  Here a L{MessageScanner} lets only whole messages within
    the limits reach Banana, and a connection breaking them or speaking
    something else is closed, with one line in the log saying why.  Calls
    are answered here too: a malformed one is a L{BadRequest} for the
    client, and a connection that makes more than C{maxBadCalls} of them
    is dropped.

    The work one client may cause is bounded too: a connection that sends
    more than C{bytesPerSecond} bytes a second on average (C{burstBytes} at
    once), or more than C{maxMessagesBeforeLogin} messages before it logs
    in, is dropped the same way.
    """

    log = Logger()

    def __init__(
        self,
        isClient: bool = True,
        security: Any = globalSecurity,
        *,
        limits: BrokerLimits = BrokerLimits(),
        clock: Optional[IReactorTime] = None,
    ) -> None:
        """
        @param limits: what a client may send.
        @param clock: what the byte rate is measured on; the global reactor
            if L{None}.
        """
        super().__init__(isClient, security)
        self.scanner = MessageScanner(limits.maxMessageBytes, limits.maxDepth, limits.maxItems)
        self.limits = limits
        self.maxBadCalls = limits.maxBadCalls
        self.badCalls = 0
        self.dialectChosen = bool(isClient)
        self.dropped = False
        self.authenticated = False
        self.messagesBeforeLogin = 0
        self.byteBudget = TokenBucket(
            orGlobalReactor(clock), limits.bytesPerSecond, limits.burstBytes
        )

    def loggedIn(self) -> None:
        """
        The client logged in: it may send messages without counting.
        """
        self.authenticated = True

    def dataReceived(self, data: bytes) -> None:
        transport: Any = self.transport
        if self.dropped or self.disconnected or transport.disconnecting:
            return
        if not self.byteBudget.take(len(data)):
            self.drop(f"more than {self.limits.bytesPerSecond:g} bytes a second")
            return
        try:
            for typeByte, message in self.scanner.feed(data):
                if not self.authenticated:
                    self.messagesBeforeLogin += 1
                    if self.messagesBeforeLogin > self.limits.maxMessagesBeforeLogin:
                        self.drop(
                            f"more than {self.limits.maxMessagesBeforeLogin} messages "
                            "before logging in"
                        )
                        return
                if not self.dialectChosen:
                    self.chooseDialect(typeByte, message)
                super().dataReceived(message)
                if self.dropped or transport.disconnecting:
                    return
        except Exception as e:
            self.drop(_describe(e))

    def chooseDialect(self, typeByte: int, message: bytes) -> None:
        """
        Check the client's first message: the name of a dialect the server
        offered.
        """
        if typeByte != 0x82:
            raise banana.BananaError("expected the name of a dialect")
        if banana.decode(message) not in self.knownDialects:
            raise banana.BananaError("the client chose a dialect the server did not offer")
        self.dialectChosen = True

    def drop(self, reason: str) -> None:
        """
        Close the connection, and say why in one line of the log.
        """
        self.dropped = True
        transport: Any = self.transport
        self.log.info(
            "Dropping PB connection from {peer}: {error}",
            peer=_peer(self),
            error=escapeForLog(reason.encode("utf-8", "replace")),
        )
        transport.loseConnection()

    def proto_message(self, *call: Any) -> None:
        self.callReceived(self.localObjectForID, *call)

    def proto_cachemessage(self, *call: Any) -> None:
        self.callReceived(self.cachedLocallyAs, *call)

    def callReceived(
        self,
        find: Callable[[Any], Any],
        requestID: int,
        objectID: Any,
        message: Any,
        answerRequired: int,
        netArgs: Any,
        netKw: Any,
    ) -> None:
        """
        Call a method of a local object, and answer with its result or a
        L{pb.Error}.  Objects that keep L{pb.Referenceable}'s way of taking
        calls (Twisted's login challenger) take them through L{_dispatch},
        which refuses a malformed call as the service's own objects do.
        """
        try:
            try:
                target = find(objectID)
            except Exception:
                target = None
            if target is None:
                raise BadCall("no such object")
            receive = target.remoteMessageReceived
            if getattr(receive, "__func__", None) is pb.Referenceable.remoteMessageReceived:
                result = _dispatch(
                    target, self, "remote_", message, netArgs, netKw, target.perspective
                )
            else:
                result = receive(self, message, netArgs, netKw)
        except Exception:
            answer: "Deferred[Any]" = fail()
        else:
            answer = result if isinstance(result, Deferred) else succeed(result)
        answer.addCallbacks(
            self.sendAnswer,
            self.sendError,
            callbackArgs=(requestID, answerRequired),
            errbackArgs=(requestID, answerRequired, message),
        )

    def sendAnswer(self, result: Any, requestID: int, answerRequired: int) -> None:
        """
        Send a call's serialized result, if the client waits for it.
        """
        if answerRequired and not self.disconnected:
            self.sendCall(b"answer", requestID, result)

    def sendError(self, reason: Failure, requestID: int, answerRequired: int, message: Any) -> None:
        """
        Send a call's L{pb.Error}; anything else is a fault of the server,
        logged, and the client hears only L{INTERNAL_ERROR}.
        """
        if reason.check(CancelledError) and self.disconnected:
            return
        if reason.check(pb.Error) is None:
            self.log.failure(
                "PB call to {method} from {peer} failed",
                reason,
                method=escapeForLog(str(_text(message)).encode("utf-8", "replace")),
                peer=_peer(self),
            )
            reason = Failure(pb.Error(INTERNAL_ERROR))
        if answerRequired and not self.disconnected:
            unsafe = getattr(self.factory, "unsafeTracebacks", False)
            copy = pb.failure2Copyable(reason, unsafe)
            self.sendCall(b"error", requestID, self.serialize(copy))
        if reason.check(BadCall) and not self.dropped:
            self.badCalls += 1
            if self.badCalls > self.maxBadCalls:
                self.drop(f"more than {self.maxBadCalls} malformed calls")


class FingerPBServerFactory(pb.PBServerFactory):
    """
    Serve a PB root, such as L{PerspectiveFingerFromService}, with
    L{FingerBroker}s under the limits given.
    """

    protocol = FingerBroker

    def __init__(
        self,
        root: Any,
        *,
        clock: Optional[IReactorTime] = None,
        limits: BrokerLimits = BrokerLimits(),
        unsafeTracebacks: bool = False,
        security: Any = globalSecurity,
    ) -> None:
        """
        @param root: the root object, or what adapts to L{pb.IPBRoot}.
        @param clock: what each connection's byte rate is measured on; the
            global reactor if L{None}.
        @param limits: what a client may send.
        """
        super().__init__(root, unsafeTracebacks, security)
        self.clock = orGlobalReactor(clock)
        self.limits = limits

    def buildProtocol(self, addr: Any) -> pb.Broker:
        broker = self.protocol(
            isClient=False, security=self.security, limits=self.limits, clock=self.clock
        )
        broker.factory = self  # type: ignore[assignment]
        broker.setNameForLocal("root", self.root.rootObject(broker))
        return broker
