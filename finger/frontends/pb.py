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
client may send and the work it causes, at Twisted's own hooks: a client
whose first bytes do not choose PB's dialect is dropped at the first wrong
byte; one that has not logged in may send L{MAX_BYTES_BEFORE_LOGIN} bytes
(a login is a few hundred) and L{MAX_MESSAGES_BEFORE_LOGIN} messages;
messages are bounded in length, items and depth; Banana decodes at most
L{DECODE_BYTES} of one connection's input in one turn of the reactor; and a
connection may send L{BYTES_PER_SECOND} bytes a second.  A client that
breaks a limit is dropped with one line in the log, not a traceback.

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

import functools
import inspect
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, NoReturn, Optional, Set, Tuple, Type, TypeVar
from weakref import WeakSet

from twisted.cred.checkers import ICredentialsChecker
from twisted.cred.credentials import IUsernameHashedPassword
from twisted.cred.error import UnauthorizedLogin
from twisted.cred.portal import IRealm, Portal
from twisted.internet.defer import CancelledError, Deferred, fail
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.protocol import connectionDone
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
    "DECODE_BYTES",
    "MAX_BAD_CALLS",
    "MAX_BYTES_BEFORE_LOGIN",
    "MAX_DEPTH",
    "MAX_ITEMS",
    "MAX_ITEMS_BEFORE_LOGIN",
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
    "NoSuchUser",
    "NotSaved",
    "PermissionDenied",
    "PerspectiveFingerFromService",
    "SetterPerspective",
]

DEFAULT_PORT = 8889

MAX_MESSAGE_BYTES = 1 << 16
"""
The longest PB message a client that logged in may send: a call to this
service is a few hundred bytes, and the longest status a few KiB.
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

MAX_BYTES_BEFORE_LOGIN = 8192
"""
How many bytes a connection may send before it logs in, its dialect and
version among them: a login takes about a hundred, asking for a status
about fifty.  It bounds what a client that has not logged in can make the
server hold, too.
"""

MAX_ITEMS_BEFORE_LOGIN = 64
"""
How many items one message may hold before the connection logs in: a
login's holds a dozen.
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

DECODE_BYTES = 2048
"""
How many bytes of one connection's input Banana decodes in one turn of the
reactor.  Banana copies what it holds once per item it decodes, so a turn
decodes at most this many items, each copying at most this many bytes,
once the string under way (at most L{MAX_MESSAGE_BYTES}) is whole: about
2 ms of work, however the client shapes its messages.  A call is a few
hundred bytes: it is decoded in one turn.
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


def _describe(error: BaseException) -> str:
    """
    An exception, for one line of the log: its arguments may hold a
    client's bytes, which are escaped.
    """
    details = ", ".join(
        escapeForLog(arg) if isinstance(arg, bytes) else str(arg) for arg in error.args
    )
    return escapeForLog(f"{type(error).__name__}: {details}".encode("utf-8", "replace"))


def _badCall(broker: pb.Broker, reason: str) -> BadCall:
    """
    A malformed call from C{broker}'s client, counted when the broker is a
    L{FingerBroker}.

    @return: the L{BadCall} to raise, saying C{reason}.
    """
    if isinstance(broker, FingerBroker):
        broker.badCallMade()
    return BadCall(reason)


_RemoteMethod = TypeVar("_RemoteMethod", bound=Callable[..., Any])


def _remote(method: _RemoteMethod) -> _RemoteMethod:
    """
    Mark a method of a L{_Checked} object as one a client may call, and
    check the arguments of each call against its signature: arguments it
    does not take are a L{BadCall} for the caller, where Twisted's own call
    would raise L{TypeError} and log a traceback.
    """
    signature = inspect.signature(method)
    name = method.__name__.split("_", 1)[1]

    @functools.wraps(method)
    def checked(self: "_Checked", *args: Any, **kw: Any) -> Any:
        try:
            signature.bind(self, *args, **kw)
        except TypeError as e:
            raise _badCall(self.broker, f"{name}: {e}") from None
        return method(self, *args, **kw)

    checked.remotelyCallable = True  # type: ignore[attr-defined]
    return checked  # type: ignore[return-value]


class _Checked:
    """
    An object a client calls through Twisted's call path, whose methods
    are each marked with L{_remote}: a call to anything else is a
    L{BadCall}, where Twisted would log a traceback.

    @ivar broker: the connection it serves.
    """

    broker: pb.Broker

    def checkMethod(self, prefix: str, message: str) -> None:
        """
        Refuse a call to C{message} unless C{prefix + message} is a method
        marked with L{_remote}.

        @raise BadCall: otherwise.
        """
        method = getattr(self, prefix + message, None) if message.isidentifier() else None
        if not getattr(method, "remotelyCallable", False):
            raise _badCall(self.broker, f"no such method: {message!r}")


class _CheckedReferenceable(_Checked, pb.Referenceable):
    """
    A L{pb.Referenceable} whose C{remote_} methods are marked with
    L{_remote}.
    """

    def remoteMessageReceived(self, broker: pb.Broker, message: str, args: Any, kw: Any) -> Any:
        self.checkMethod("remote_", message)
        return super().remoteMessageReceived(broker, message, args, kw)


class _ConnectionRoot(_CheckedReferenceable):
    """
    One connection's root object: the finger methods of
    L{PerspectiveFingerFromService}, and PB's C{login}, which, once it has
    checked that logins are offered, it hands to Twisted's own portal root.
    It knows its connection, for the log and to cancel lookups when the
    client leaves.
    """

    log = Logger()

    def __init__(self, finger: PerspectiveFingerFromService, broker: pb.Broker) -> None:
        self.finger = finger
        self.broker = broker
        self.asking = _Lookups(broker)
        self.portalRoot: Optional[Any] = None

    @_remote
    def remote_login(self, username: object) -> Tuple[bytes, "_Challenger"]:
        """
        Refuse a login this server does not offer, or a name that cannot be
        one; otherwise answer, through Twisted's portal root, with a
        challenge and the object that takes its response.
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
        if self.portalRoot is None:
            portal = Portal(
                _Realm(self.finger, self.broker), [_ConnectionLogin(self.finger, self.broker)]
            )
            self.portalRoot = pb.IPBRoot(portal).rootObject(self.broker)
        challenge, challenger = self.portalRoot.remote_login(username)
        return challenge, _Challenger(challenger, self.broker)

    @_remote
    def remote_getUser(self, user: object) -> "Deferred[str]":
        return self.asking.track(self.finger.getUser(user, _peer(self.broker)))

    @_remote
    def remote_getUsers(self) -> "Deferred[List[str]]":
        return self.asking.track(self.finger.getUsers(_peer(self.broker)))

    @_remote
    def remote_loginAnonymous(self, mind: object) -> NoReturn:
        raise LoginNotOffered(NO_ANONYMOUS_LOGIN)


class _Challenger(_CheckedReferenceable):
    """
    What a client answers a login's challenge through: Twisted's own
    challenger, whose C{respond} it checks the arguments of.
    """

    def __init__(self, challenger: Any, broker: pb.Broker) -> None:
        self.challenger = challenger
        self.broker = broker

    @_remote
    def remote_respond(self, response: object, mind: object) -> Any:
        return self.challenger.remote_respond(response, mind)


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


class SetterPerspective(_Checked, pb.Avatar):
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
        self.broker = broker
        self.peer = _peer(broker)
        self.asking = _Lookups(broker)

    def perspectiveMessageReceived(
        self, broker: pb.Broker, message: str, args: Any, kw: Any
    ) -> Any:
        """
        Refuse a call to a method not marked with L{_remote} with a
        L{BadCall}; Twisted's avatar calls the others.
        """
        self.checkMethod("perspective_", message)
        return super().perspectiveMessageReceived(broker, message, args, kw)

    @_remote
    def perspective_getUser(self, user: object) -> "Deferred[str]":
        return self.asking.track(self.finger.getUser(user, self.peer))

    @_remote
    def perspective_getUsers(self) -> "Deferred[List[str]]":
        return self.asking.track(self.finger.getUsers(self.peer))

    @_remote
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

@dataclass(frozen=True)
class BrokerLimits:
    """
    What one client of L{FingerBroker} may send.

    @ivar maxMessageBytes: the longest message.
    @ivar maxDepth: how deeply a message's lists may nest.
    @ivar maxItems: how many items a message may hold.
    @ivar maxBadCalls: how many malformed calls a connection may make.
    @ivar maxBytesBeforeLogin: how many bytes a connection may send before
        it logs in (L{MAX_BYTES_BEFORE_LOGIN}).
    @ivar maxItemsBeforeLogin: how many items a message may hold before
        the connection logs in.
    @ivar maxMessagesBeforeLogin: how many messages a connection may send
        before it logs in (L{MAX_MESSAGES_BEFORE_LOGIN}).
    @ivar bytesPerSecond: how many bytes a second a connection may send on
        average.
    @ivar burstBytes: how many bytes it may send at once; at least one read
        from the network (64 KiB).
    @ivar decodeBytes: how many bytes of a connection's input are decoded
        in one turn of the reactor (L{DECODE_BYTES}).
    """

    maxMessageBytes: int = MAX_MESSAGE_BYTES
    maxDepth: int = MAX_DEPTH
    maxItems: int = MAX_ITEMS
    maxBadCalls: int = MAX_BAD_CALLS
    maxBytesBeforeLogin: int = MAX_BYTES_BEFORE_LOGIN
    maxItemsBeforeLogin: int = MAX_ITEMS_BEFORE_LOGIN
    maxMessagesBeforeLogin: int = MAX_MESSAGES_BEFORE_LOGIN
    bytesPerSecond: float = BYTES_PER_SECOND
    burstBytes: int = BURST_BYTES
    decodeBytes: int = DECODE_BYTES


class _OverLimit(Exception):
    """
    A client broke one of its L{BrokerLimits}; the message says which.
    Raised to stop Banana decoding, and then the connection is dropped.
    """


class FingerBroker(pb.Broker):
    """
    A PB broker for a server on the open internet.

    Twisted's broker decodes whatever arrives, as much as arrives, at once:
    a malformed stream raises out of C{dataReceived}, and the reactor logs
    a traceback for every such connection; an unfinished message, however
    large, is kept in memory; and Banana copies what it holds once per item
    it decodes, so a message of many small items before a long string takes
    the reactor for as long as it takes.  This broker keeps Twisted's
    decoding and bounds it at Banana's public hooks:

      - the first bytes must choose a dialect the server offered, and are
        compared as they come: the first wrong byte drops the connection,
        before anything is decoded;
      - before it logs in, a connection may send C{maxBytesBeforeLogin}
        bytes and C{maxMessagesBeforeLogin} messages, of at most
        C{maxItemsBeforeLogin} items each (a login is a few hundred bytes);
        after, a message may be C{maxMessageBytes} long and hold
        C{maxItems} items, nested C{maxDepth} deep;
      - Banana decodes at most C{decodeBytes} of the input in one turn of
        the reactor; the rest waits, and the transport is paused, until the
        next turn, so the work one client causes in a turn is bounded, and
        so is what it can make the server hold;
      - a connection that sends more than C{bytesPerSecond} bytes a second
        on average (C{burstBytes} at once), or makes more than
        C{maxBadCalls} malformed calls, is dropped.

    A connection that breaks a limit, or sends what Banana or PB cannot
    read, is closed with one line in the log saying why.

    @ivar authenticated: whether the client logged in.
    @ivar dropped: whether the connection was dropped for breaking a limit.
    @ivar badCalls: how many malformed calls the client made.
    """

    log = Logger()

    dialectChoices = [banana.encode(dialect) for dialect in pb.Broker.knownDialects]
    """
    What a client sends first: the choice of one of the dialects a server
    offers, as Banana encodes it (C{b"\\x02\\x82pb"} for C{pb}).
    """

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
        @param clock: what the byte rate is measured on, and what decoding
            waits for the next turn on; the global reactor if L{None}.
        """
        super().__init__(isClient, security)
        self.limits = limits
        self.clock = orGlobalReactor(clock)
        self.byteBudget = TokenBucket(self.clock, limits.bytesPerSecond, limits.burstBytes)
        self.firstBytes = b""
        self.dialectChosen = bool(isClient)
        self.unread = bytearray()
        self.decoding: Optional[IDelayedCall] = None
        self.paused = False
        self.dropped = False
        self.authenticated = False
        self.bytesBeforeLogin = 0
        self.messagesBeforeLogin = 0
        self.messageBytes = 0
        self.messageEnded = False
        self.items = 0
        self.badCalls = 0

    def loggedIn(self) -> None:
        """
        The client logged in: it may send messages without counting, and
        longer ones.
        """
        self.authenticated = True

    def badCallMade(self) -> None:
        """
        The client made a malformed call: after C{maxBadCalls} of them, it
        is dropped, once its answer is sent.
        """
        self.badCalls += 1

    def dataReceived(self, data: bytes) -> None:
        if self.dropped or self.disconnected:
            return
        if not self.byteBudget.take(len(data)):
            self.drop(f"more than {self.limits.bytesPerSecond:g} bytes a second")
            return
        if not self.authenticated:
            self.bytesBeforeLogin += len(data)
            if self.bytesBeforeLogin > self.limits.maxBytesBeforeLogin:
                self.drop(f"more than {self.limits.maxBytesBeforeLogin} bytes before logging in")
                return
        if not self.dialectChosen and not self.checkDialect(data):
            return
        self.unread += data
        if self.decoding is None:
            self.decode()

    def checkDialect(self, data: bytes) -> bool:
        """
        Compare the first bytes with the dialects the server offered.

        @return: whether they may still be a choice of one; if not, the
            connection is dropped.
        """
        seen = self.firstBytes + data[: max(map(len, self.dialectChoices))]
        for choice in self.dialectChoices:
            if seen[: len(choice)] == choice[: len(seen)]:
                self.dialectChosen = len(seen) >= len(choice)
                self.firstBytes = b"" if self.dialectChosen else seen
                return True
        self.drop("not Perspective Broker: the first bytes do not choose a dialect")
        return False

    def decode(self) -> None:
        """
        Let Banana decode the next C{decodeBytes} of the input, and leave
        the rest, if any, for the next turn of the reactor, with the
        transport paused until then.
        """
        self.decoding = None
        chunk = bytes(self.unread[: self.limits.decodeBytes])
        del self.unread[: len(chunk)]
        self.messageBytes += len(chunk)
        try:
            super().dataReceived(chunk)
            # What an expression that ended left is at most one chunk.
            if self.messageEnded:
                self.messageEnded = False
                self.messageBytes = len(chunk)
            self.checkMessage()
        except _OverLimit as e:
            self.drop(str(e))
            return
        except Exception as e:
            self.drop(_describe(e))
            return
        if self.dropped or self.disconnected:
            return
        if self.badCalls > self.limits.maxBadCalls:
            self.drop(f"more than {self.limits.maxBadCalls} malformed calls")
            return
        transport: Any = self.transport
        if self.unread:
            if not self.paused:
                self.paused = True
                transport.pauseProducing()
            self.decoding = self.clock.callLater(0, self.decode)
        elif self.paused:
            self.paused = False
            transport.resumeProducing()

    def checkMessage(self) -> None:
        """
        Check the message under way against the limits.

        @raise _OverLimit: if it breaks one.
        """
        if len(self.listStack) > self.limits.maxDepth:
            raise _OverLimit(f"lists nested deeper than {self.limits.maxDepth}")
        if self.messageBytes > self.limits.maxMessageBytes:
            raise _OverLimit(f"a message longer than {self.limits.maxMessageBytes} bytes")

    def gotItem(self, item: object) -> None:
        """
        Count the message's items as Banana decodes them.
        """
        self.items += 1
        most = self.limits.maxItems if self.authenticated else self.limits.maxItemsBeforeLogin
        if self.items > most:
            raise _OverLimit(f"a message of more than {most} items")
        self.checkMessage()
        super().gotItem(item)

    def callExpressionReceived(self, obj: object) -> None:
        """
        A whole message: count it, if the client has not logged in.
        """
        self.items = 0
        self.messageEnded = True
        if not self.authenticated:
            self.messagesBeforeLogin += 1
            if self.messagesBeforeLogin > self.limits.maxMessagesBeforeLogin:
                raise _OverLimit(
                    f"more than {self.limits.maxMessagesBeforeLogin} messages before logging in"
                )
        super().callExpressionReceived(obj)

    def unserialize(self, sexp: Any, perspective: object = None) -> Any:
        """
        Read a call's arguments; arguments this server cannot read (a type
        it does not know, say) are one escaped line in the log and a
        L{BadCall}, where Twisted logs a traceback.
        """
        try:
            return super().unserialize(sexp, perspective)
        except Exception as e:
            self.log.info(
                "Refused a PB call from {peer}: cannot read its arguments: {error}",
                peer=_peer(self),
                error=_describe(e),
            )
            raise _badCall(self, "arguments this server cannot read") from None

    def localObjectForID(self, luid: Any) -> Any:
        """
        Find the object a call is for; a call for none is a malformed call.
        """
        found = super().localObjectForID(luid)
        if found is None:
            self.badCallMade()
        return found

    def drop(self, reason: str) -> None:
        """
        Close the connection, and say why in one line of the log.
        """
        self.dropped = True
        self.stopDecoding()
        transport: Any = self.transport
        self.log.info(
            "Dropping PB connection from {peer}: {error}",
            peer=_peer(self),
            error=escapeForLog(reason.encode("utf-8", "replace")),
        )
        transport.loseConnection()

    def stopDecoding(self) -> None:
        """
        Forget the input not yet decoded.
        """
        if self.decoding is not None:
            self.decoding.cancel()
            self.decoding = None
        self.unread = bytearray()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.stopDecoding()
        super().connectionLost(reason)


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
        @param clock: what each connection's byte rate is measured on, and
            its decoding waits for the next turn on; the global reactor if
            L{None}.
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
