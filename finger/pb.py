# -*- test-case-name: tests.test_pb -*-
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

The service only reads, so, as in the tutorial, it listens on all
interfaces by default (C{--pbport}, port 8889).

Run C{python -m finger.pbclient} for a client a person can use.

Serve it with L{FingerBroker} as the factory's protocol: a client that does
not speak PB is dropped with one line in the log, not a traceback.
"""

import inspect
from typing import Any, List, Optional, TypeVar

from twisted.internet.defer import Deferred, TimeoutError
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.python import components
from twisted.python.failure import Failure
from twisted.spread import pb
from twisted.spread.banana import BananaError
from zope.interface import implementer

from finger.interfaces import NO_SUCH_USER, IFingerService, IPerspectiveFinger, UnknownUser
from finger.names import isValidUserName
from finger.text import escapeForLog, formatPeer

DEFAULT_PORT = 8889

_T = TypeVar("_T")

INTERNAL_ERROR = "Internal error in server"
TIMED_OUT = "Server timed out; try again later"

LOOKUP_TIMEOUT = 10.0
"""
Seconds the back-end has to answer a call, as in the finger protocol.
"""

MAX_MESSAGE_BYTES = 1 << 20
"""
The longest PB message a client may send: a call to this service is a few
hundred bytes.
"""

MAX_DEPTH = 32
"""
How deeply a client's message may nest lists: a call nests a handful.
"""

METHODS = frozenset(["getUser", "getUsers"])
"""
The methods a client may call.
"""


class NoSuchUser(pb.Error):
    """
    The service does not know this user.  Sent to the PB client, which sees
    it as a remote failure.
    """


class BadRequest(pb.Error):
    """
    A remote call's arguments are not what the method takes.
    """


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
    Answer C{getUser} and C{getUsers} from an L{IFingerService}.
    """

    log = Logger()
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

    def remoteMessageReceived(
        self, broker: pb.Broker, message: object, args: object, kw: object
    ) -> object:
        """
        Call C{remote_<message>}, if it is one of L{METHODS} and the
        arguments fit; otherwise fail remotely with L{BadRequest}.

        Twisted's dispatch logs a traceback, with the method name as the
        client sent it, for an unknown method or wrong arguments; a client
        could fill the log with both, or put control characters in it.
        """
        if isinstance(message, bytes):
            message = message.decode("utf-8", "replace")
        if message not in METHODS:
            raise BadRequest("no such method")
        method = getattr(self, f"remote_{message}")
        args = broker.unserialize(args)
        kw = broker.unserialize(kw)
        try:
            if not isinstance(args, (list, tuple)) or not isinstance(kw, dict):
                raise TypeError()
            inspect.signature(method).bind(*args, **kw)
        except TypeError:
            raise BadRequest(f"wrong arguments for {message}") from None
        return broker.serialize(method(*args, **kw), self.perspective)

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


components.registerAdapter(PerspectiveFingerFromService, IFingerService, IPerspectiveFinger)
