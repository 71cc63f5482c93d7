# -*- test-case-name: tests.frontends.web.test_xmlrpc -*-
"""
XML-RPC at C{/RPC2}: C{getUser(name)}, C{getUsers()} and, behind a login
gate, C{setUser(name, status)}.

With a login (C{--auth}), L{XMLRPCGate} offers C{setUser} behind
L{twisted.web.guard}: the caller logs in with HTTP Basic through the same
L{finger.auth.SetterLogin} (so the same portal, checkers, admins and delay
after a failure) as the setter protocol.  It decides per request, on
L{IRequest.isSecure}:

  - over plain HTTP no credentials are ever looked at: getUser and getUsers
    work, and setUser is a fault (L{NEEDS_HTTPS}) saying HTTPS is needed;
  - over HTTPS, a request without an C{Authorization} header gets the same
    read-only XML-RPC (setUser is the fault L{NEEDS_LOGIN}); one with good
    credentials gets an XML-RPC whose setUser sets statuses as that user may;
    wrong credentials get a 401, after the delay, and are logged.

Without a login, setUser does not exist (fault -32601, saying why).

What XML-RPC asks of any call, whatever its method (no document type
declaration, the right arguments), and the introspection methods, are
L{finger.frontends.web.xmlrpccalls}'s.
"""

from typing import Any, Callable, List, Optional, Tuple, TypeVar, Union
from xmlrpc.client import Fault, dumps

from twisted.cred.credentials import IAnonymous, IUsernamePassword
from twisted.internet.defer import Deferred, fail, maybeDeferred, succeed
from twisted.logger import Logger
from twisted.web import xmlrpc
from twisted.web.guard import BasicCredentialFactory, HTTPAuthSessionWrapper
from twisted.web.iweb import IRequest
from twisted.web.resource import IResource, Resource
from twisted.web.server import Request

from finger.auth import SetterLogin
from finger.frontends.web.request import displayStatus, pendingFor
from finger.frontends.web.xmlrpccalls import (
    FAILURE,
    INVALID_PARAMS,
    INVALID_REQUEST,
    NOT_FOUND,
    Introspection,
    checkArgument,
    checkStrings,
    declaresDocumentType,
)
from finger.interfaces import IFingerService, IFingerSetterService
from finger.lookup import LookupAnswers, LookupPolicy, SetAnswers, Unsaved
from finger.reactor import orGlobalReactor
from finger.messages import (
    INTERNAL_ERROR,
    LISTING_DENIED,
    NO_SUCH_USER,
    NOT_AVAILABLE_YET,
    SETTING_NEEDS_AUTH,
    SETTING_NEEDS_HTTPS,
    SETTING_NEEDS_LOGIN,
    TIMED_OUT,
    XMLRPC_DOCUMENT_TYPE,
    XMLRPC_NOT_A_CALL,
)
from finger.names import checkStatus, checkUserName, isValidUserName
from finger.text import formatPeer

NEEDS_LOGIN = 401
"""
The fault code for C{setUser} over HTTPS without credentials.
"""

NOT_ALLOWED = 403
"""
The fault code for C{setUser} of a status the caller may not set.
"""

NEEDS_HTTPS = 426
"""
The fault code for C{setUser} over plain HTTP (426 is HTTP's "Upgrade
Required").
"""

NOT_SAVED = 503
"""
The fault code for a status the back-end could not save (or did not
confirm in time).
"""

NOT_AVAILABLE = 503
"""
The fault code for a lookup the back-end cannot answer yet, as it has not
read its statuses (HTTP's "Service Unavailable": try again later).
"""

AUTHENTICATION_REALM = b"finger"
"""
The realm HTTP Basic challenges name.
"""

_T = TypeVar("_T")

__all__ = [
    "AUTHENTICATION_REALM",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "NEEDS_HTTPS",
    "NOT_AVAILABLE",
    "NEEDS_LOGIN",
    "NOT_ALLOWED",
    "NOT_SAVED",
    "UserStatusXR",
    "XMLRPCGate",
    "declaresDocumentType",
]


class _LookupFaults(LookupAnswers[object]):
    """
    A lookup that did not find what it asked for, in XML-RPC: the string
    "No such user" for an unknown user, as the tutorial's clients expect,
    and faults for the rest.
    """

    def unknown(self, user: str) -> object:
        return NO_SUCH_USER

    def timedOut(self) -> object:
        return Fault(FAILURE, TIMED_OUT)

    def notAvailable(self) -> object:
        return Fault(NOT_AVAILABLE, NOT_AVAILABLE_YET)

    def failed(self) -> object:
        return Fault(FAILURE, INTERNAL_ERROR)


_SET_FAULT_CODES = {
    Unsaved.REFUSED: INVALID_PARAMS,
    Unsaved.NOT_ALLOWED: NOT_ALLOWED,
    Unsaved.LOGIN_FAILED: NEEDS_LOGIN,
    Unsaved.NOT_SAVED: NOT_SAVED,
    Unsaved.TIMED_OUT: NOT_SAVED,
    Unsaved.FAILED: FAILURE,
}
"""
The fault code of a C{setUser} that did not set a status, for each reason.
"""


class _SetFaults(SetAnswers[object]):
    """
    What C{setUser} answers: C{True} once the status is saved, a fault
    otherwise.
    """

    def saved(self) -> object:
        return True

    def unsaved(self, why: Unsaved, sentence: str) -> object:
        return Fault(_SET_FAULT_CODES[why], sentence)


class UserStatusXR(xmlrpc.XMLRPC):
    """
    XML-RPC at C{/RPC2}: C{getUser(name)} and C{getUsers()}, C{setUser(name,
    status)} where it is offered, and the introspection methods
    C{system.listMethods}, C{system.methodHelp} and C{system.methodSignature}.

    Faults use the interoperability codes: L{INVALID_REQUEST} (-32600) for
    a body that declares a document type or is XML-RPC but not a call,
    -32601 for an unknown method, L{INVALID_PARAMS} (-32602) for wrong
    arguments to any method, introspection's included (an invalid user name
    or status too), -32603 for an error in the server or a body that is not
    XML-RPC; and for setUser, L{NEEDS_LOGIN}, L{NOT_ALLOWED}, L{NEEDS_HTTPS}
    and L{NOT_SAVED}.  None of them is logged as an error: only a failure
    of the server is.

    One instance serves one kind of caller: L{XMLRPCGate} picks it.

    @ivar setter: what C{setUser} sets statuses through, for a caller who
        logged in; L{None} otherwise.
    @ivar refusal: for a caller who did not log in, the fault code and
        message C{setUser} answers; L{None} if C{setUser} is not offered at
        all.
    @ivar policy: how the back-end is asked.
    """

    NOT_FOUND = NOT_FOUND
    FAILURE = FAILURE
    log = Logger()

    def __init__(
        self,
        service: IFingerService,
        setter: Optional[IFingerSetterService] = None,
        refusal: Optional[Tuple[int, str]] = None,
        *,
        policy: Optional[LookupPolicy] = None,
        listUsers: bool = True,
    ) -> None:
        """
        @param policy: how the back-end is asked; with the global reactor's
            clock and the usual timeout if L{None}.
        @param listUsers: whether C{getUsers} lists the users; if not, it
            is refused as the finger protocol refuses an empty query
            (C{--no-listing}).
        """
        super().__init__()
        self.service = service
        self.listUsers = listUsers
        self.setter = setter
        self.refusal = refusal
        self.policy = policy if policy is not None else LookupPolicy(orGlobalReactor(None))
        self.putSubHandler("system", Introspection(self))

    def render_POST(self, request: Request) -> Any:
        """
        Answer a call, as L{xmlrpc.XMLRPC} does, unless its body declares a
        document type: that is refused with a fault and one line in the
        log, before any of it is expanded or fetched.
        """
        content = request.content
        assert content is not None, "a request being rendered has its body"
        content.seek(0, 0)
        if not declaresDocumentType(content.read()):
            return super().render_POST(request)
        self.log.info(
            "Refused an XML-RPC request from {peer} that declares a document type",
            peer=formatPeer(request.getClientAddress()),
        )
        request.setHeader(b"content-type", b"text/xml; charset=utf-8")
        fault = Fault(INVALID_REQUEST, XMLRPC_DOCUMENT_TYPE)
        return dumps(fault, methodresponse=True).encode("utf-8")

    def offersSetting(self) -> bool:
        """
        Does this XML-RPC have a C{setUser}, even one that only says why it
        cannot be used?
        """
        return self.setter is not None or self.refusal is not None

    def lookupProcedure(self, procedurePath: str) -> Callable[..., object]:
        if not isinstance(procedurePath, str):
            # A body without a methodName: a methodResponse, or a bare
            # methodCall.
            raise Fault(INVALID_REQUEST, XMLRPC_NOT_A_CALL)
        if procedurePath == "setUser" and not self.offersSetting():
            raise xmlrpc.NoSuchFunction(self.NOT_FOUND, SETTING_NEEDS_AUTH)
        return super().lookupProcedure(procedurePath)  # type: ignore[no-any-return]

    def listProcedures(self) -> List[str]:
        names: List[str] = super().listProcedures()
        if not self.offersSetting():
            names.remove("setUser")
        return names

    def ask(self, request: Request, d: "Deferred[Any]", found: Callable[[Any], object]) -> object:
        """
        Ask the back-end through the policy, for as long as the caller
        stays.
        """
        peer = request.getClientAddress()
        return pendingFor(request).track(self.policy.ask(d, found, _LookupFaults(), peer, "XML-RPC"))

    @xmlrpc.withRequest
    def xmlrpc_getUser(self, request: Request, *args: Any) -> object:
        """
        getUser(name): the status of the user called name, or "No such
        user".
        """
        [name] = checkStrings("getUser", "one argument, a user name (a string)", args, 1)
        if not isValidUserName(name):
            return succeed(NO_SUCH_USER)
        return self.ask(request, maybeDeferred(self.service.getUser, name), displayStatus)

    xmlrpc_getUser.signature = [["string", "string"]]  # type: ignore[attr-defined]
    xmlrpc_getUser.help = (  # type: ignore[attr-defined]
        'getUser(name): the status of the user called name, or "No such user".'
    )

    @xmlrpc.withRequest
    def xmlrpc_getUsers(self, request: Request, *args: Any) -> object:
        """
        getUsers(): the names of every user.
        """
        checkStrings("getUsers", "no arguments", args, 0)
        if not self.listUsers:
            raise Fault(NOT_ALLOWED, LISTING_DENIED)
        return self.ask(request, maybeDeferred(self.service.getUsers), lambda users: users)

    xmlrpc_getUsers.signature = [["array"]]  # type: ignore[attr-defined]
    xmlrpc_getUsers.help = "getUsers(): the names of every user."  # type: ignore[attr-defined]

    @xmlrpc.withRequest
    def xmlrpc_setUser(self, request: Request, *args: Any) -> object:
        """
        setUser(name, status): set the status of the user called name;
        True once it is saved.
        """
        if self.setter is None:
            assert self.refusal is not None
            raise Fault(*self.refusal)
        user, status = checkStrings(
            "setUser", "two arguments, a user name and a status (strings)", args, 2
        )
        checkArgument(checkUserName, user, "invalid user name")
        checkArgument(checkStatus, status, "invalid status")
        peer = formatPeer(request.getClientAddress())
        login = getattr(self.setter, "login", None)
        return self.policy.change(
            maybeDeferred(self.setter.setUser, user, status),
            _SetFaults(),
            peer,
            "setUser over XML-RPC",
            user=user,
            login=login,
        )

    xmlrpc_setUser.signature = [["boolean", "string", "string"]]  # type: ignore[attr-defined]
    xmlrpc_setUser.help = (  # type: ignore[attr-defined]
        "setUser(name, status): set the status of the user called name; True "
        "once it is saved.  Only over HTTPS, logged in with HTTP Basic as that "
        "user or as an admin."
    )


class _XMLRPCPortal:
    """
    What the guard in front of C{/RPC2} logs in through, for one HTTPS
    request: the anonymous get the read-only XML-RPC; anyone else logs in
    through L{SetterLogin}, with its portal, delay and log, and gets an
    XML-RPC that sets statuses as they may.

    A login still waiting for its turn when the caller goes away is
    cancelled, so it leaves L{SetterLogin}'s queue unchecked.

    @ivar gate: the L{XMLRPCGate} the request came to, whose
        L{SetterLogin}, back-end and policy it uses.
    @ivar request: the request that logs in.
    """

    def __init__(self, gate: "XMLRPCGate", request: IRequest) -> None:
        self.gate = gate
        self.request = request

    def login(
        self, credentials: object, mind: object, *interfaces: Any
    ) -> "Deferred[Tuple[Any, IResource, Callable[[], None]]]":
        """
        Like L{twisted.cred.portal.Portal.login}, for L{IResource} avatars.
        """
        if IResource not in interfaces:
            return fail(NotImplementedError("only IResource avatars are given here"))

        def avatar(resource: IResource) -> Tuple[Any, IResource, Callable[[], None]]:
            return IResource, resource, lambda: None

        gate = self.gate
        if IAnonymous.providedBy(credentials):
            return succeed(avatar(gate.anonymous))
        if not IUsernamePassword.providedBy(credentials):
            return fail(NotImplementedError("only user names and passwords are checked"))
        assert gate.login is not None
        peer = self.request.getClientAddress()
        answer = gate.login.authenticate(credentials, peer)  # type: ignore[arg-type]
        return _unlessGone(self.request, answer).addCallback(
            lambda setter: avatar(
                UserStatusXR(
                    gate.service,
                    setter,
                    policy=gate.policy,
                    listUsers=gate.anonymous.listUsers,
                )
            )
        )


class XMLRPCGate(Resource):
    """
    C{/RPC2}: the XML-RPC each request may use.

    Without a login, only the read-only one, where setUser does not exist.
    With one, plain HTTP gets the read-only one (setUser says it needs
    HTTPS) and the C{Authorization} header is never read; HTTPS goes through
    an L{HTTPAuthSessionWrapper} with HTTP Basic.

    @ivar login: how callers log in to set statuses, or L{None}.
    @ivar policy: how the back-end is asked.
    """

    isLeaf = True

    def __init__(
        self,
        service: IFingerService,
        policy: LookupPolicy,
        login: Optional[SetterLogin] = None,
        listUsers: bool = True,
    ) -> None:
        """
        @param listUsers: whether C{getUsers} lists the users (see
            L{UserStatusXR}).
        """
        super().__init__()
        self.service = service
        self.login = login
        self.policy = policy

        def readOnly(refusal: Optional[Tuple[int, str]]) -> UserStatusXR:
            return UserStatusXR(service, refusal=refusal, policy=policy, listUsers=listUsers)

        if login is None:
            self.plain = readOnly(None)
        else:
            self.plain = readOnly((NEEDS_HTTPS, SETTING_NEEDS_HTTPS))
            self.anonymous = readOnly((NEEDS_LOGIN, SETTING_NEEDS_LOGIN))

    def resourceFor(self, request: IRequest) -> IResource:
        """
        The resource that answers C{request}.
        """
        if self.login is None or not request.isSecure():
            return self.plain
        portal = _XMLRPCPortal(self, request)
        return HTTPAuthSessionWrapper(  # type: ignore[no-any-return]
            portal, [BasicCredentialFactory(AUTHENTICATION_REALM)]
        )

    def render(self, request: IRequest) -> Any:
        return self.resourceFor(request).render(request)


def _unlessGone(request: IRequest, d: "Deferred[_T]") -> "Deferred[_T]":
    """
    C{d}, cancelled if C{request}'s client goes away before it fires (see
    L{pendingFor}); then the L{Deferred} returned never fires.

    Nobody is left to answer, and L{HTTPAuthSessionWrapper}, which waits
    for the login, has no way to hear that: it would render a C{500} for a
    cancelled login, log it as an unexpected error, and then fail to finish
    a request whose connection is gone.
    """

    def stayIfGone(result: Optional[_T]) -> "Union[_T, Deferred[_T]]":
        if result is None:
            # The client left (see Pending.track): nobody is there to answer.
            return Deferred()
        return result

    return pendingFor(request).track(d).addCallback(stayIfGone)  # type: ignore[arg-type]
