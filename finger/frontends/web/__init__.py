# -*- test-case-name: tests.frontends.test_web -*-
"""
The web front-end: user pages, a JSON view of the same data, and XML-RPC.

L{UserStatusTree} is the site's root, an adapter from L{IFingerService} to
L{IResource}.  Its URLs::

    /                   every user, each a link to their page
    /USER               one user's name and status; 404 "No such user"
    /api/users          the list of users, as JSON
    /api/users/USER     one user, as JSON; 404 for an unknown user
    /RPC2               XML-RPC: getUser(name), getUsers(), and with
                        --auth, over HTTPS, setUser(name, status)

Serve the tree with L{LimitedRequest} as the site's request factory, so that
no request body (an XML-RPC call is the only one the site reads) can be
larger than L{MAX_BODY_BYTES}.

C{/} and C{/USER} answer with JSON instead of HTML when the request's
C{Accept} header prefers C{application/json}.  The fixed paths (L{RESERVED})
win over user names: a user called C{RPC2} or C{api} has no HTML page, but
C{/api/users/RPC2} and XML-RPC still find them.

A user name in a URL is percent-encoded UTF-8 (C{/zo%C3%AB}); every link the
pages make is quoted that way, C{/} included, so C{a/b} is C{/a%2Fb}.  Links
are relative, so the site also works behind a proxy that adds a path prefix.

The HTML comes from the XHTML files in a templates directory (see
L{loadTemplates}); the template engine escapes every value.  Statuses lose
their control characters (see L{finger.text.printableLines}) before they are
shown in any form.

Setting statuses over XML-RPC
=============================

With C{--auth}, C{/RPC2} also offers C{setUser(name, status)}, behind
L{twisted.web.guard}: the caller logs in with HTTP Basic through the same
L{finger.auth.SetterLogin} (so the same portal, checkers, admins and delay
after a failure) as the setter protocol.  L{XMLRPCGate} decides per request,
on L{IRequest.isSecure}:

  - over plain HTTP no credentials are ever looked at: getUser and getUsers
    work, and setUser is a fault (L{NEEDS_HTTPS}) saying HTTPS is needed;
  - over HTTPS, a request without an C{Authorization} header gets the same
    read-only XML-RPC (setUser is the fault L{NEEDS_LOGIN}); one with good
    credentials gets an XML-RPC whose setUser sets statuses as that user may;
    wrong credentials get a 401, after the delay, and are logged.

Without C{--auth}, setUser does not exist (fault -32601, saying why).
"""

import json
import re
from io import BytesIO
from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar, Union
from urllib.parse import quote
from xml.sax import SAXParseException
from xmlrpc.client import Binary, DateTime, Fault

from twisted.cred.credentials import IAnonymous, IUsernamePassword
from twisted.internet.defer import (
    CancelledError,
    Deferred,
    TimeoutError,
    fail,
    maybeDeferred,
    succeed,
)
from twisted.internet.interfaces import IAddress
from twisted.logger import Logger
from twisted.python import components
from twisted.python.failure import Failure
from twisted.python.filepath import FilePath
from twisted.web import xmlrpc
from twisted.web._flatten import (
    attributeEscapingDoneOutside,
    escapeForContent,
    writeWithAttributeEscaping,
)
from twisted.web.guard import BasicCredentialFactory, HTTPAuthSessionWrapper
from twisted.web.iweb import IRequest, ITemplateLoader
from twisted.web.resource import IResource, Resource
from twisted.web.server import NOT_DONE_YET, Request
from twisted.web.template import (
    Element,
    Tag,
    TagLoader,
    XMLFile,
    flattenString,
    renderer,
)

from finger.auth import NotAllowed, SetterLogin
from finger.interfaces import IFingerService, IFingerSetterService, StatusNotSaved, UnknownUser
from finger.lookup import LOOKUP_TIMEOUT
from finger.messages import INTERNAL_ERROR, NO_SUCH_USER, TIMED_OUT
from finger.names import (
    InvalidStatus,
    InvalidUserName,
    checkStatus,
    checkUserName,
    isValidUserName,
)
from finger.paths import dataPath
from finger.text import escapeForLog, formatPeer, printableLines

# The back-end has LOOKUP_TIMEOUT seconds to answer a request before the
# client is told TIMED_OUT (a 503, or an XML-RPC fault).  The site's reactor
# (Site(..., reactor=...)) keeps the time; without a site, as in a resource
# test, there is no timeout.

RPC_PATH = b"RPC2"
API_PATH = b"api"
RESERVED = frozenset([RPC_PATH, API_PATH])
"""
The first path segments that never name a user.
"""

SECURITY_HEADERS: Dict[bytes, bytes] = {
    # Pages carry their style inline and have no scripts, images or frames.
    b"content-security-policy": (
        b"default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
        b"form-action 'none'; frame-ancestors 'none'"
    ),
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"no-referrer",
    b"x-frame-options": b"DENY",
}
"""
Headers sent with every response of the site.
"""

HTML = b"text/html; charset=utf-8"
JSON = b"application/json; charset=utf-8"
TEXT = b"text/plain; charset=utf-8"

TEMPLATE_FILES = ("users.xhtml", "user.xhtml", "notfound.xhtml")
"""
The files a templates directory must hold.
"""

_Response = Tuple[int, bytes, bytes]
_Answer = Union[_Response, "Deferred[_Response]"]
_T = TypeVar("_T")

MAX_BODY_BYTES = 65536
"""
The largest request body the site accepts: far more than any XML-RPC call
it answers needs.
"""

_TOO_LARGE = (
    b"HTTP/1.1 413 Content Too Large\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Length: 24\r\n"
    b"Connection: close\r\n"
    b"\r\n"
    b"Request body too large\r\n"
)


class LimitedRequest(Request):
    """
    A request whose body may be at most C{maxBodyBytes} long.

    Twisted keeps a whole request body, in memory or in a temporary file,
    before the resource sees it; so a larger body, announced by its
    C{Content-Length} or found while its chunks arrive, is refused at once
    with C{413 Content Too Large} and the connection is closed, without
    reading the rest.
    """

    maxBodyBytes = MAX_BODY_BYTES
    _bodyBytes = 0
    _refused = False

    def gotLength(self, length: Optional[int]) -> None:
        if length is not None and length > self.maxBodyBytes:
            self._refuseBody()
            return
        # Never a temporary file: what is kept is bounded anyway.
        self.content = BytesIO()  # type: ignore[assignment]

    def handleContentChunk(self, data: bytes) -> None:
        if self._refused:
            return
        self._bodyBytes += len(data)
        if self._bodyBytes > self.maxBodyBytes:
            self._refuseBody()
            return
        super().handleContentChunk(data)

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        if self._refused:
            return
        super().requestReceived(command, path, version)

    def _refuseBody(self) -> None:
        self._refused = True
        self.content = BytesIO()  # type: ignore[assignment]
        # No "100 Continue" after the refusal.
        self.requestHeaders.removeHeader(b"expect")
        channel = self.channel
        transport: Any = channel.transport
        UserStatusTree.log.info(
            "Refused a request body over {limit} bytes from {peer}",
            limit=self.maxBodyBytes,
            peer=formatPeer(transport.getPeer()),
        )
        transport.write(_TOO_LARGE)
        channel.loseConnection()


def displayStatus(status: str) -> str:
    """
    A status as any front-end here shows it: its lines, without control
    characters, joined by C{"\\n"}.
    """
    return "\n".join(printableLines(status))


def userPath(user: str) -> str:
    """
    The URL path segment for a user: UTF-8, percent-encoded, C{/} included.
    """
    return quote(user, safe="")


def _homeLink(request: IRequest) -> str:
    """
    A relative link from the page C{request} asked for to the site's root.
    """
    depth = len(request.prepath) + len(request.postpath) - 1
    return "../" * depth if depth > 0 else "./"


class TemplateError(Exception):
    """
    A template is missing or does not work.  The message names the file.
    """


class UsersElement(Element):
    """
    The front page: every user, linked to their page.
    """

    def __init__(self, loader: ITemplateLoader, users: List[str], home: str) -> None:
        super().__init__(loader)
        self.users = users
        self.home = home

    @renderer
    def page(self, request: Optional[IRequest], tag: Tag) -> Tag:
        count = len(self.users)
        return tag.fillSlots(
            home=self.home,
            json=self.home + "api/users",
            count=f"{count} user" if count == 1 else f"{count} users",
        )

    @renderer
    def user(self, request: Optional[IRequest], tag: Tag) -> List[Tag]:
        return [
            tag.clone().fillSlots(name=name, href=self.home + userPath(name))
            for name in self.users
        ]

    @renderer
    def empty(self, request: Optional[IRequest], tag: Tag) -> Union[Tag, str]:
        return "" if self.users else tag


class UserElement(Element):
    """
    One user's page: their name and status.
    """

    def __init__(self, loader: ITemplateLoader, user: str, status: str, home: str) -> None:
        super().__init__(loader)
        self.user = user
        self.status = status
        self.home = home

    def slots(self) -> Dict[str, str]:
        """
        The values of the page's slots.
        """
        return {
            "name": self.user,
            "status": displayStatus(self.status),
            "home": self.home,
            "json": self.home + "api/users/" + userPath(self.user),
        }

    @renderer
    def page(self, request: Optional[IRequest], tag: Tag) -> Tag:
        return tag.fillSlots(**self.slots())


class NotFoundElement(Element):
    """
    The page for a user nobody knows.
    """

    def __init__(self, loader: ITemplateLoader, user: str, home: str) -> None:
        super().__init__(loader)
        self.user = user
        self.home = home

    def slots(self) -> Dict[str, str]:
        """
        The values of the page's slots.
        """
        return {"name": self.user, "home": self.home}

    @renderer
    def page(self, request: Optional[IRequest], tag: Tag) -> Tag:
        return tag.fillSlots(**self.slots())


_SlottedElement = Union[UserElement, NotFoundElement]

_HOLE = re.compile(rb'\x00([0-9]+)(?:(")|&quot;)\x00')


class _Prerendered:
    """
    A page that the template engine has flattened once, with its slots left
    open: the bytes between the slots, and for each slot its name and
    whether it is inside an attribute.  Rendering it fills the slots with
    values escaped by the template engine's own escaping for that place,
    which gives the same bytes as flattening the page again, without
    walking the template for every request.
    """

    def __init__(self, parts: List[bytes], holes: List[Tuple[str, bool]]) -> None:
        self.parts = parts
        self.holes = holes

    def render(self, slots: Dict[str, str]) -> bytes:
        """
        The page with C{slots} filled in.
        """
        parts = self.parts
        out = [parts[0]]
        write = out.append
        for (name, inAttribute), part in zip(self.holes, parts[1:]):
            if inAttribute:
                writeWithAttributeEscaping(write)(attributeEscapingDoneOutside(slots[name]))
            else:
                write(escapeForContent(slots[name]))
            write(part)
        return b"".join(out)

    @classmethod
    def of(
        cls, make: Callable[[], _SlottedElement], samples: List[_SlottedElement]
    ) -> "Optional[_Prerendered]":
        """
        Flatten the element C{make} returns with every slot open, or
        L{None} if the page cannot be rendered that way: then it must be
        flattened for every request.

        Each slot is filled with a marker (a NUL byte cannot come from an
        XML template) holding a double quote, which attribute escaping
        changes and content escaping does not, so the output shows where
        each slot is and how it is escaped.  The result must give the same
        bytes as the template engine for each of C{samples}.
        """
        probe = make()
        names = list(probe.slots())
        markers = {name: f'\x00{i}"\x00' for i, name in enumerate(names)}
        probe.slots = lambda: markers  # type: ignore[method-assign]
        flat = _flattenNow(probe)
        if flat is None:
            return None
        parts, holes, start = [], [], 0
        for match in _HOLE.finditer(flat):
            parts.append(flat[start : match.start()])
            holes.append((names[int(match.group(1))], match.group(2) is None))
            start = match.end()
        parts.append(flat[start:])
        if any(b"\x00" in part for part in parts):
            return None
        page = cls(parts, holes)
        for sample in samples:
            if page.render(sample.slots()) != _flattenNow(sample):
                return None
        return page


def _flattenNow(element: Element) -> Optional[bytes]:
    """
    Flatten C{element} if that finishes at once, else L{None}.
    """
    results: List[Union[bytes, Failure]] = []
    flattenString(None, element).addBoth(results.append)
    if results and isinstance(results[0], bytes):
        return results[0]
    return None


# Slot values that exercise every kind of escaping.
_AWKWARD = ['a<b>&"c\'', "zo\u00eb \u2603", "line one\nline two", ""]


class Templates:
    """
    The loaded templates, one loader per page.

    @ivar users: the front page's loader (C{users.xhtml}).
    @ivar user: a user's page's loader (C{user.xhtml}).
    @ivar notFound: the unknown user page's loader (C{notfound.xhtml}).
    """

    def __init__(self, users: ITemplateLoader, user: ITemplateLoader, notFound: ITemplateLoader) -> None:
        self.users = users
        self.user = user
        self.notFound = notFound
        self._prerendered: Dict[type, Optional[_Prerendered]] = {}
        if all(isinstance(loader, (XMLFile, TagLoader)) for loader in (user, notFound)):
            # These loaders give the same template every time.
            self._prerendered[UserElement] = _Prerendered.of(
                lambda: UserElement(user, "", "", ""),
                [UserElement(user, a, b, a) for a in _AWKWARD for b in _AWKWARD],
            )
            self._prerendered[NotFoundElement] = _Prerendered.of(
                lambda: NotFoundElement(notFound, "", ""),
                [NotFoundElement(notFound, a, a) for a in _AWKWARD],
            )

    def render(self, request: Optional[IRequest], element: Element) -> "Deferred[bytes]":
        """
        Flatten C{element}, one of the pages from these templates.
        """
        page = self.renderNow(element)
        if page is not None:
            return succeed(page)
        return flattenString(request, element)

    def renderNow(self, element: Element) -> Optional[bytes]:
        """
        C{element} flattened at once if its page is prerendered, else
        L{None}.
        """
        page = self._prerendered.get(type(element))
        if page is None:
            return None
        return page.render(element.slots())  # type: ignore[attr-defined]


def defaultTemplatesDirectory() -> str:
    """
    Where the shipped templates are, in a checkout or an installed copy.
    """
    return dataPath("templates")


def loadTemplates(directory: Optional[str] = None) -> Templates:
    """
    Load and check the templates in C{directory}.

    Each file is parsed, then rendered once with sample data, so a missing
    file, malformed XML, or a renderer or slot that the pages do not have is
    found now rather than by the first visitor.

    @param directory: a directory holding L{TEMPLATE_FILES}; the shipped
        templates if L{None}.
    @raise TemplateError: naming the file that is missing or broken.
    """
    base = FilePath(directory if directory is not None else defaultTemplatesDirectory())
    loaders = []
    for name in TEMPLATE_FILES:
        path = base.child(name)
        try:
            with path.open("r"):
                pass
        except OSError as e:
            raise TemplateError(f"template {path.path}: {e.strerror or e}") from None
        loader = XMLFile(path)
        try:
            loader.load()
        except SAXParseException as e:
            raise TemplateError(
                f"template {path.path}: not well-formed XML: line {e.getLineNumber()}, "
                f"column {e.getColumnNumber()}: {e.getMessage()}"
            ) from None
        except Exception as e:
            raise TemplateError(f"template {path.path}: {e}") from None
        loaders.append(loader)
    templates = Templates(*loaders)
    samples = [
        (TEMPLATE_FILES[0], UsersElement(templates.users, ["alice", "bob"], "./")),
        (TEMPLATE_FILES[0], UsersElement(templates.users, [], "./")),
        (TEMPLATE_FILES[1], UserElement(templates.user, "alice", "Happy", "./")),
        (TEMPLATE_FILES[2], NotFoundElement(templates.notFound, "carol", "./")),
    ]
    for name, element in samples:
        results: List[Union[bytes, Failure]] = []
        flattenString(None, element).addBoth(results.append)
        if results and isinstance(results[0], Failure):
            raise TemplateError(
                f"template {base.child(name).path}: cannot be rendered: "
                f"{results[0].getErrorMessage()}"
            )
    return templates


def prefersJSON(accept: Optional[bytes]) -> bool:
    """
    Does an C{Accept} header value rank C{application/json} above HTML?

    Each media range's quality counts (C{q=}); the most specific range that
    matches a type decides its quality, as RFC 9110 section 12.5.1 says.
    """
    if not accept:
        return False
    ranges: List[Tuple[str, float]] = []
    for part in accept.decode("latin-1").split(","):
        fields = [f.strip() for f in part.split(";")]
        mediaRange = fields[0].lower()
        if not mediaRange:
            continue
        quality = 1.0
        for parameter in fields[1:]:
            key, _, value = parameter.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranges.append((mediaRange, quality))

    def qualityOf(mediaType: str) -> float:
        major = mediaType.split("/")[0]
        for candidate in (mediaType, major + "/*", "*/*"):
            for mediaRange, quality in ranges:
                if mediaRange == candidate:
                    return quality
        return 0.0

    json = qualityOf("application/json")
    return json > 0 and json > qualityOf("text/html")


def _jsonBody(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8") + b"\n"


def _withTimeout(request: IRequest, d: "Deferred[_T]") -> "Deferred[_T]":
    """
    Give C{d} until L{LOOKUP_TIMEOUT} seconds on the clock of the site that
    C{request} came to; then it is cancelled and fails with L{TimeoutError}.
    """
    clock = getattr(getattr(request, "site", None), "reactor", None)
    if clock is not None:
        d.addTimeout(LOOKUP_TIMEOUT, clock)
    return d


def _serve(request: Request, answer: Callable[[], "_Answer"]) -> object:
    """
    Answer C{request} with what C{answer} produces: a status code, a content
    type and a body.  A failure is logged and answered with a plain 500; a
    back-end that does not answer within L{LOOKUP_TIMEOUT} seconds, with a
    503.  If the client goes away first, the work is cancelled.
    """
    gone: List[Failure] = []
    d: "Deferred[_Response]" = maybeDeferred(answer)  # type: ignore[call-overload]

    def lost(reason: Failure) -> None:
        gone.append(reason)
        d.cancel()

    def respond(response: _Response) -> None:
        if gone:
            return
        code, contentType, body = response
        request.setResponseCode(code)
        request.setHeader(b"content-type", contentType)
        request.setHeader(b"content-length", b"%d" % (len(body),))
        request.write(body)
        request.finish()

    def failed(reason: Failure) -> None:
        if gone and reason.check(CancelledError):
            return
        if reason.check(TimeoutError):
            UserStatusTree.log.warn(
                "Back-end gave no answer to {uri} within {timeout} seconds",
                uri=escapeForLog(request.uri),
                timeout=LOOKUP_TIMEOUT,
            )
            if not gone:
                respond((503, TEXT, (TIMED_OUT + "\n").encode("utf-8")))
            return
        UserStatusTree.log.failure("Cannot answer {uri}", reason, uri=escapeForLog(request.uri))
        if not gone:
            respond((500, TEXT, (INTERNAL_ERROR + "\n").encode("utf-8")))

    if not d.called or d.paused:
        # Only an answer that is not here yet can be overtaken by the
        # client leaving, or by the timeout.
        _withTimeout(request, d)
        request.notifyFinish().addErrback(lost)
    d.addCallback(respond).addErrback(failed)
    return NOT_DONE_YET


def _html(
    request: IRequest, templates: Templates, code: int, element: Element
) -> "_Answer":
    page = templates.renderNow(element)
    if page is not None:
        return (code, HTML, b"<!DOCTYPE html>\n" + page)
    return templates.render(request, element).addCallback(
        lambda body: (code, HTML, b"<!DOCTYPE html>\n" + body)
    )


def _userName(segment: bytes) -> Tuple[str, bool]:
    """
    Decode a URL path segment (already percent-decoded) as a user name.

    @return: the name, for showing, and whether it can be a user at all.
    """
    try:
        name = segment.decode("utf-8")
    except UnicodeDecodeError:
        return segment.decode("utf-8", "replace"), False
    return name, isValidUserName(name)


class UserStatus(Resource):
    """
    One user's page at C{/USER}, or their JSON if the client prefers it.
    Nothing lies beneath it.
    """

    isLeaf = True

    def __init__(self, service: IFingerService, templates: Templates, segment: bytes) -> None:
        super().__init__()
        self.service = service
        self.templates = templates
        self.user, self.valid = _userName(segment)

    def render_GET(self, request: Request) -> object:
        request.setHeader(b"vary", b"Accept")
        wantJSON = prefersJSON(request.getHeader(b"accept"))
        home = _homeLink(request)
        user = self.user
        if request.postpath:
            # Below a user's page: /USER/more.
            user = "/".join(
                [self.user] + [_userName(s)[0] for s in request.postpath]
            )

        def notFound(reason: Optional[Failure] = None) -> "_Answer":
            if reason is not None:
                reason.trap(UnknownUser)
            if wantJSON:
                return (404, JSON, _jsonBody({"error": NO_SUCH_USER, "user": user}))
            return _html(request, self.templates, 404, NotFoundElement(self.templates.notFound, user, home))

        def found(status: str) -> "_Answer":
            if wantJSON:
                return (200, JSON, _jsonBody({"user": user, "status": displayStatus(status)}))
            return _html(request, self.templates, 200, UserElement(self.templates.user, user, status, home))

        def answer() -> "_Answer":
            if not self.valid or request.postpath:
                return notFound()
            return self.service.getUser(user).addCallbacks(found, notFound)

        return _serve(request, answer)


class UserStatusTree(Resource):
    """
    The site's root: the users list at C{/}, a L{UserStatus} for every other
    name, and the fixed paths L{RESERVED}.  Every response carries
    L{SECURITY_HEADERS}.
    """

    log = Logger()

    def __init__(self, service: IFingerService, templates: Optional[Templates] = None) -> None:
        """
        @param service: the back-end.
        @param templates: the page templates; the shipped ones if L{None}.
        """
        super().__init__()
        self.service = service
        self.templates = templates if templates is not None else loadTemplates()
        self.putChild(RPC_PATH, XMLRPCGate(service))
        api = _APINotFound()
        api.putChild(b"users", UsersAPI(service))
        self.putChild(API_PATH, api)

    def offerSetting(self, login: SetterLogin) -> None:
        """
        Offer C{setUser} over XML-RPC, over HTTPS, to callers who log in
        through C{login}.
        """
        self.putChild(RPC_PATH, XMLRPCGate(self.service, login))

    def getChildWithDefault(self, path: bytes, request: IRequest) -> IResource:
        for name, value in SECURITY_HEADERS.items():
            request.setHeader(name, value)
        return super().getChildWithDefault(path, request)

    def getChild(self, path: bytes, request: IRequest) -> IResource:
        if path == b"":
            return self
        return UserStatus(self.service, self.templates, path)

    def render_GET(self, request: Request) -> object:
        request.setHeader(b"vary", b"Accept")
        wantJSON = prefersJSON(request.getHeader(b"accept"))

        def listed(users: List[str]) -> "_Answer":
            if wantJSON:
                return (200, JSON, _jsonBody({"users": users}))
            element = UsersElement(self.templates.users, users, _homeLink(request))
            return _html(request, self.templates, 200, element)

        return _serve(request, lambda: self.service.getUsers().addCallback(listed))


class _APINotFound(Resource):
    """
    Any path under C{/api} that is not part of the API: a JSON 404.
    """

    def getChild(self, path: bytes, request: IRequest) -> IResource:
        return self

    def render_GET(self, request: IRequest) -> bytes:
        request.setResponseCode(404)
        request.setHeader(b"content-type", JSON)
        return _jsonBody({"error": "Not found"})


class UsersAPI(Resource):
    """
    The JSON view: C{/api/users} lists the users, C{/api/users/USER} gives
    one user's status.
    """

    def __init__(self, service: IFingerService) -> None:
        super().__init__()
        self.service = service

    def getChild(self, path: bytes, request: IRequest) -> IResource:
        if path == b"":
            return self
        return UserAPI(self.service, path)

    def render_GET(self, request: Request) -> object:
        return _serve(
            request,
            lambda: self.service.getUsers().addCallback(
                lambda users: (200, JSON, _jsonBody({"users": users}))
            ),
        )


class UserAPI(Resource):
    """
    One user as JSON: C{{"user": NAME, "status": STATUS}}, or a 404 with
    C{{"error": "No such user", "user": NAME}}.
    """

    isLeaf = True

    def __init__(self, service: IFingerService, segment: bytes) -> None:
        super().__init__()
        self.service = service
        self.user, self.valid = _userName(segment)

    def render_GET(self, request: Request) -> object:
        user = self.user

        def notFound(reason: Optional[Failure] = None) -> _Response:
            if reason is not None:
                reason.trap(UnknownUser)
            return (404, JSON, _jsonBody({"error": NO_SUCH_USER, "user": user}))

        def found(status: str) -> _Response:
            return (200, JSON, _jsonBody({"user": user, "status": displayStatus(status)}))

        def answer() -> "Deferred[_Response]":
            if not self.valid or request.postpath:
                return succeed(notFound())
            return self.service.getUser(user).addCallbacks(found, notFound)

        return _serve(request, answer)


INVALID_PARAMS = -32602
"""
The XML-RPC fault code for wrong arguments, from the fault code
interoperability specification, like the two below.
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
The fault code for a status the back-end could not save; nothing changed.
"""

SETTING_NEEDS_AUTH = (
    "procedure setUser not found: setting statuses over XML-RPC needs the "
    "server to run with --auth and a back-end that can set statuses"
)
SETTING_NEEDS_HTTPS = (
    "setUser needs HTTPS: statuses are set only over an encrypted connection, "
    "and credentials sent over plain HTTP are ignored"
)
SETTING_NEEDS_LOGIN = "setUser needs a user name and password (HTTP Basic authentication)"

AUTHENTICATION_REALM = b"finger"
"""
The realm HTTP Basic challenges name.
"""


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
    """

    NOT_FOUND = -32601
    FAILURE = -32603
    log = Logger()

    def __init__(
        self,
        service: IFingerService,
        setter: Optional[IFingerSetterService] = None,
        refusal: Optional[Tuple[int, str]] = None,
    ) -> None:
        super().__init__()
        self.service = service
        self.setter = setter
        self.refusal = refusal
        xmlrpc.addIntrospection(self)

    def _offersSetting(self) -> bool:
        return self.setter is not None or self.refusal is not None

    def lookupProcedure(self, procedurePath: str) -> Callable[..., object]:
        if procedurePath == "setUser" and not self._offersSetting():
            raise xmlrpc.NoSuchFunction(self.NOT_FOUND, SETTING_NEEDS_AUTH)
        return super().lookupProcedure(procedurePath)  # type: ignore[no-any-return]

    def listProcedures(self) -> List[str]:
        names: List[str] = super().listProcedures()
        if not self._offersSetting():
            names.remove("setUser")
        return names

    def _ebRender(self, failure: Failure) -> Fault:
        if isinstance(failure.value, Fault):
            return failure.value
        if failure.check(TimeoutError):
            self.log.warn(
                "Back-end gave no XML-RPC answer within {timeout} seconds",
                timeout=LOOKUP_TIMEOUT,
            )
            return xmlrpc.Fault(self.FAILURE, TIMED_OUT)
        self.log.failure("XML-RPC call failed", failure)
        return xmlrpc.Fault(self.FAILURE, INTERNAL_ERROR)

    @xmlrpc.withRequest
    def xmlrpc_getUser(self, request: IRequest, *args: Any) -> "Deferred[str]":
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

        def unknown(reason: Failure) -> str:
            reason.trap(UnknownUser)
            return NO_SUCH_USER

        return _withTimeout(request, self.service.getUser(name)).addCallbacks(
            displayStatus, unknown
        )

    xmlrpc_getUser.signature = [["string", "string"]]  # type: ignore[attr-defined]
    xmlrpc_getUser.help = (  # type: ignore[attr-defined]
        'getUser(name): the status of the user called name, or "No such user".'
    )

    @xmlrpc.withRequest
    def xmlrpc_getUsers(self, request: IRequest, *args: Any) -> "Deferred[List[str]]":
        """
        getUsers(): the names of every user.
        """
        if args:
            raise Fault(
                INVALID_PARAMS,
                f"getUsers takes no arguments; got {_describeArguments(args)}",
            )
        return _withTimeout(request, self.service.getUsers())

    xmlrpc_getUsers.signature = [["array"]]  # type: ignore[attr-defined]
    xmlrpc_getUsers.help = "getUsers(): the names of every user."  # type: ignore[attr-defined]

    @xmlrpc.withRequest
    def xmlrpc_setUser(self, request: IRequest, *args: Any) -> "Deferred[bool]":
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
        try:
            checkUserName(user)
        except InvalidUserName as e:
            raise Fault(INVALID_PARAMS, f"invalid user name: {e}") from None
        try:
            checkStatus(status)
        except InvalidStatus as e:
            raise Fault(INVALID_PARAMS, f"invalid status: {e}") from None
        login = getattr(self.setter, "login", None)
        peer = formatPeer(request.getClientAddress())

        def saved(result: None) -> bool:
            self.log.info(
                "Status of {user!r} set by {login!r} from {peer} over XML-RPC",
                user=user,
                login=login,
                peer=peer,
            )
            return True

        def failed(reason: Failure) -> Failure:
            if reason.check(NotAllowed):
                self.log.warn(
                    "{login!r} from {peer} may not set the status of {user!r}",
                    login=login,
                    peer=peer,
                    user=user,
                )
                raise Fault(NOT_ALLOWED, f"not allowed: {reason.getErrorMessage()}")
            if reason.check(StatusNotSaved):
                # The service logged the details; the path is not the
                # client's business.
                raise Fault(NOT_SAVED, "the status could not be saved; try again later")
            if reason.check(InvalidUserName, InvalidStatus):
                raise Fault(INVALID_PARAMS, reason.getErrorMessage())
            return reason

        return self.setter.setUser(user, status).addCallbacks(saved, failed)

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
    """

    def __init__(
        self, service: IFingerService, login: SetterLogin, anonymous: UserStatusXR, peer: IAddress
    ) -> None:
        self.service = service
        self.setterLogin = login
        self.anonymous = anonymous
        self.peer = peer

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
            lambda setter: avatar(UserStatusXR(self.service, setter))
        )


class XMLRPCGate(Resource):
    """
    C{/RPC2}: the XML-RPC each request may use.

    Without a login, only the read-only one, where setUser does not exist.
    With one, plain HTTP gets the read-only one (setUser says it needs
    HTTPS) and the C{Authorization} header is never read; HTTPS goes through
    an L{HTTPAuthSessionWrapper} with HTTP Basic.

    @ivar login: how callers log in to set statuses, or L{None}.
    """

    isLeaf = True

    def __init__(self, service: IFingerService, login: Optional[SetterLogin] = None) -> None:
        super().__init__()
        self.service = service
        self.login = login
        if login is None:
            self._plain = UserStatusXR(service)
        else:
            self._plain = UserStatusXR(service, refusal=(NEEDS_HTTPS, SETTING_NEEDS_HTTPS))
            self._anonymous = UserStatusXR(service, refusal=(NEEDS_LOGIN, SETTING_NEEDS_LOGIN))

    def resourceFor(self, request: IRequest) -> IResource:
        """
        The resource that answers C{request}.
        """
        if self.login is None or not request.isSecure():
            return self._plain
        peer = request.getClientAddress()
        portal = _XMLRPCPortal(self.service, self.login, self._anonymous, peer)
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


components.registerAdapter(UserStatusTree, IFingerService, IResource)
