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
"""

from typing import Any, Callable, List, Optional, Tuple
from xmlrpc.client import Binary, DateTime, Fault

from twisted.cred.credentials import IAnonymous, IUsernamePassword
from twisted.internet.defer import Deferred, fail, maybeDeferred, succeed
from twisted.internet.interfaces import IAddress
from twisted.web import xmlrpc
from twisted.web.guard import BasicCredentialFactory, HTTPAuthSessionWrapper
from twisted.web.iweb import IRequest
from twisted.web.resource import IResource, Resource
from twisted.web.server import Request

from finger.auth import SetterLogin
from finger.frontends.web.request import displayStatus, whileConnected
from finger.interfaces import IFingerService, IFingerSetterService
from finger.lookup import LookupAnswers, LookupPolicy, SetAnswers, Unsaved, orGlobalReactor
from finger.messages import (
    INTERNAL_ERROR,
    LISTING_DENIED,
    NO_SUCH_USER,
    SETTING_NEEDS_AUTH,
    SETTING_NEEDS_HTTPS,
    SETTING_NEEDS_LOGIN,
    TIMED_OUT,
)
from finger.names import InvalidStatus, InvalidUserName, checkStatus, checkUserName, isValidUserName
from finger.text import formatPeer

INVALID_PARAMS = -32602
"""
The XML-RPC fault code for wrong arguments, from the fault code
interoperability specification.
"""

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

AUTHENTICATION_REALM = b"finger"
"""
The realm HTTP Basic challenges name.
"""

_FAILURE = -32603


class _LookupFaults(LookupAnswers[object]):
    """
    A lookup that did not find what it asked for, in XML-RPC: the string
    "No such user" for an unknown user, as the tutorial's clients expect,
    and faults for the rest.
    """

    def unknown(self, user: str) -> object:
        return NO_SUCH_USER

    def timedOut(self) -> object:
        return Fault(_FAILURE, TIMED_OUT)

    def failed(self) -> object:
        return Fault(_FAILURE, INTERNAL_ERROR)


_SET_FAULT_CODES = {
    Unsaved.REFUSED: INVALID_PARAMS,
    Unsaved.NOT_ALLOWED: NOT_ALLOWED,
    Unsaved.LOGIN_FAILED: NEEDS_LOGIN,
    Unsaved.NOT_SAVED: NOT_SAVED,
    Unsaved.TIMED_OUT: NOT_SAVED,
    Unsaved.FAILED: _FAILURE,
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

    Faults use the interoperability codes: -32601 for an unknown method,
    -32602 for wrong arguments (an invalid user name or status included),
    -32603 for an error in the server or a request that is not XML-RPC; and
    for setUser, L{NEEDS_LOGIN}, L{NOT_ALLOWED}, L{NEEDS_HTTPS} and
    L{NOT_SAVED}.

    One instance serves one kind of caller: L{XMLRPCGate} picks it.

    @ivar setter: what C{setUser} sets statuses through, for a caller who
        logged in; L{None} otherwise.
    @ivar refusal: for a caller who did not log in, the fault code and
        message C{setUser} answers; L{None} if C{setUser} is not offered at
        all.
    @ivar policy: how the back-end is asked.
    """

    NOT_FOUND = -32601
    FAILURE = _FAILURE

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
        xmlrpc.addIntrospection(self)

    def offersSetting(self) -> bool:
        """
        Does this XML-RPC have a C{setUser}, even one that only says why it
        cannot be used?
        """
        return self.setter is not None or self.refusal is not None

    def lookupProcedure(self, procedurePath: str) -> Callable[..., object]:
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
        peer = formatPeer(request.getClientAddress())
        return whileConnected(request, self.policy.ask(d, found, _LookupFaults(), peer, "XML-RPC"))

    @xmlrpc.withRequest
    def xmlrpc_getUser(self, request: Request, *args: Any) -> object:
        """
        getUser(name): the status of the user called name, or "No such
        user".
        """
        if len(args) != 1 or not isinstance(args[0], str):
            raise Fault(
                INVALID_PARAMS,
                "getUser takes one argument, a user name (a string); "
                f"got {_describeArguments(args)}",
            )
        name = args[0]
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
        if args:
            raise Fault(
                INVALID_PARAMS,
                f"getUsers takes no arguments; got {_describeArguments(args)}",
            )
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
        if len(args) != 2 or not all(isinstance(a, str) for a in args):
            raise Fault(
                INVALID_PARAMS,
                "setUser takes two arguments, a user name and a status (strings); "
                f"got {_describeArguments(args)}",
            )
        user, status = args
        _check(checkUserName, user, "invalid user name")
        _check(checkStatus, status, "invalid status")
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


def _check(rule: Callable[[str], object], value: str, what: str) -> None:
    """
    Apply a naming rule to an argument; a value it refuses is a fault
    saying C{what} and why.
    """
    try:
        rule(value)
    except (InvalidUserName, InvalidStatus) as e:
        raise Fault(INVALID_PARAMS, f"{what}: {e}") from None


class _XMLRPCPortal:
    """
    What the guard in front of C{/RPC2} logs in through, for one HTTPS
    request: the anonymous get the read-only XML-RPC; anyone else logs in
    through L{SetterLogin}, with its portal, delay and log, and gets an
    XML-RPC that sets statuses as they may.
    """

    def __init__(
        self,
        service: IFingerService,
        login: SetterLogin,
        anonymous: UserStatusXR,
        peer: IAddress,
        policy: LookupPolicy,
    ) -> None:
        self.service = service
        self.setterLogin = login
        self.anonymous = anonymous
        self.peer = peer
        self.policy = policy

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

        if IAnonymous.providedBy(credentials):
            return succeed(avatar(self.anonymous))
        if not IUsernamePassword.providedBy(credentials):
            return fail(NotImplementedError("only user names and passwords are checked"))
        return self.setterLogin.authenticate(credentials, self.peer).addCallback(  # type: ignore[arg-type]
            lambda setter: avatar(
                UserStatusXR(
                    self.service,
                    setter,
                    policy=self.policy,
                    listUsers=self.anonymous.listUsers,
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
        peer = request.getClientAddress()
        portal = _XMLRPCPortal(self.service, self.login, self.anonymous, peer, self.policy)
        return HTTPAuthSessionWrapper(  # type: ignore[no-any-return]
            portal, [BasicCredentialFactory(AUTHENTICATION_REALM)]
        )

    def render(self, request: IRequest) -> Any:
        return self.resourceFor(request).render(request)


def _describeArguments(args: Tuple[Any, ...]) -> str:
    if not args:
        return "none"
    kinds = ", ".join(_XMLRPC_TYPES.get(type(a), type(a).__name__) for a in args)
    count = "1 argument" if len(args) == 1 else f"{len(args)} arguments"
    return f"{count} ({kinds})"


_XMLRPC_TYPES = {
    str: "string",
    int: "int",
    bool: "boolean",
    float: "double",
    list: "array",
    dict: "struct",
    bytes: "base64",
    Binary: "base64",
    DateTime: "dateTime.iso8601",
    type(None): "nil",
}
