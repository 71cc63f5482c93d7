# -*- test-case-name: tests.frontends.pb.test_root -*-
"""
The finger service as a PB root: L{PerspectiveFingerFromService}, the
adapter from L{IFingerService} to L{IPerspectiveFinger}, whose C{getUser}
and C{getUsers} any client may call, and which hands PB's C{login} call to
L{finger.frontends.pb.login}.
"""

from typing import TYPE_CHECKING, List, NoReturn, Optional, Tuple

from twisted.internet.defer import Deferred, fail
from twisted.python import components
from twisted.spread import pb
from zope.interface import implementer

from finger.auth import SetterLogin
from finger.frontends.pb.broker import peerOf, pendingOn
from finger.frontends.pb.calls import CheckedReferenceable, remote
from finger.frontends.pb.login import ConnectionLogin
from finger.interfaces import IFingerService, IPerspectiveFinger
from finger.lookup import LookupAnswers, LookupPolicy, LookupSettings
from finger.messages import (
    INTERNAL_ERROR,
    NO_ANONYMOUS_LOGIN,
    NO_SUCH_USER,
    NOT_AVAILABLE_YET,
    TIMED_OUT,
)
from finger.names import isValidUserName
from finger.pbwire import BadRequest, LoginNotOffered, NoSuchUser, NotAvailable

if TYPE_CHECKING:
    from typing_extensions import Unpack


class _RemoteLookupAnswers(LookupAnswers[NoReturn]):
    """
    A lookup that found nothing, said as a remote error.
    """

    def unknown(self, user: str) -> NoReturn:
        raise NoSuchUser(NO_SUCH_USER)

    def timedOut(self) -> NoReturn:
        raise pb.Error(TIMED_OUT)

    def notAvailable(self) -> NoReturn:
        raise NotAvailable(NOT_AVAILABLE_YET)

    def failed(self) -> NoReturn:
        raise pb.Error(INTERNAL_ERROR)


_lookupAnswers = _RemoteLookupAnswers()


@implementer(IPerspectiveFinger)
class PerspectiveFingerFromService(pb.Root):
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
        login: Optional[SetterLogin] = None,
        **settings: "Unpack[LookupSettings]",
    ) -> None:
        """
        @param service: the back-end.
        @param login: lets clients log in to set statuses (C{--auth}).
        @param settings: how the back-end is asked (L{LookupSettings}): a
            lookup that takes longer than C{lookupTimeout} gets a
            L{pb.Error} saying L{TIMED_OUT}, and the C{observer} is the
            metrics' count of the C{pb} front-end.
        """
        self.service = service
        self.login = login
        self.lookup = LookupPolicy.fromSettings(**settings)
        self.clock = self.lookup.clock
        self.lookupTimeout = self.lookup.timeout

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


class _ConnectionRoot(CheckedReferenceable):
    """
    One connection's root object: the finger methods of
    L{PerspectiveFingerFromService}, and PB's C{login}, which its
    L{ConnectionLogin} answers.  It knows its connection, for the log and
    to cancel lookups when the client leaves.
    """

    def __init__(self, finger: PerspectiveFingerFromService, broker: pb.Broker) -> None:
        self.finger = finger
        self.broker = broker
        self.asking = pendingOn(broker)
        self.logins: Optional[ConnectionLogin] = None

    @remote
    def remote_login(self, username: object) -> Tuple[bytes, pb.Referenceable]:
        if self.logins is None:
            self.logins = ConnectionLogin(self.finger, self.broker)
        return self.logins.begin(username)

    @remote
    def remote_getUser(self, user: object) -> "Deferred[Optional[str]]":
        return self.asking.track(self.finger.getUser(user, peerOf(self.broker)))

    @remote
    def remote_getUsers(self) -> "Deferred[Optional[List[str]]]":
        return self.asking.track(self.finger.getUsers(peerOf(self.broker)))

    @remote
    def remote_loginAnonymous(self, mind: object) -> NoReturn:
        raise LoginNotOffered(NO_ANONYMOUS_LOGIN)
