# -*- test-case-name: tests.frontends.web.test_webfinger -*-
"""
WebFinger (RFC 7033): what finger says about a user, found the way the web
finds people.

C{GET /.well-known/webfinger?resource=acct:USER@HOST} answers with a JRD
document (C{application/jrd+json}) about C{USER}, from the same back-end
and through the same lookup policy as every other front-end::

    {"subject": "acct:moshez@example.com",
     "aliases": ["https://example.com/moshez"],
     "properties": {"https://www.rfc-editor.org/rfc/rfc1288": "happy"},
     "links": [
       {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html",
        "href": "https://example.com/moshez"},
       {"rel": "alternate", "type": "application/json",
        "href": "https://example.com/api/users/moshez"}]}

The status is the property L{STATUS_PROPERTY}.  C{resource} may also be the
URL of a user's page (section 4.5), and C{rel} parameters keep only the
links with those relations (section 4.3).  A missing or malformed
C{resource} is a C{400}; an unknown user, a user the back-end hides, any
other URI, or a host this server does not answer for (L{ServedHosts}) is a
C{404}.  Every answer carries C{Access-Control-Allow-Origin: *} (section
5), so that pages elsewhere may read it.
"""

import json
import re
import socket
from functools import lru_cache
from typing import Dict, FrozenSet, Iterable, List, Optional, Sequence, Tuple
from urllib.parse import quote, unquote, unquote_to_bytes, urlsplit

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import Deferred
from twisted.web.iweb import IRequest
from twisted.web.resource import IResource, Resource
from twisted.web.server import Request

from finger.frontends.web.request import (
    Answer,
    Response,
    WebAnswers,
    displayStatus,
    plainText,
    serve,
    userName,
    userPath,
)
from finger.interfaces import IFingerService, UnknownUser
from finger.lookup import LookupPolicy
from finger.messages import (
    NO_SUCH_USER,
    NOT_FOUND,
    WEBFINGER_BAD_RESOURCE,
    WEBFINGER_NO_RESOURCE,
    WEBFINGER_NOT_SERVED,
    WEBFINGER_UNKNOWN_RESOURCE,
)

WELL_KNOWN = b".well-known"
"""
The path segment of well-known URIs (RFC 8615).
"""

WEBFINGER = b"webfinger"
"""
WebFinger's name under L{WELL_KNOWN}.
"""

JRD = b"application/jrd+json"
"""
The media type of a WebFinger answer: JSON, always UTF-8.
"""

PROFILE_PAGE = "http://webfinger.net/rel/profile-page"
"""
The relation of the link to a user's page.
"""

ALTERNATE = "alternate"
"""
The relation of the link to a user's JSON at C{/api/users/USER}.
"""

STATUS_PROPERTY = "https://www.rfc-editor.org/rfc/rfc1288"
"""
The property that holds a user's status: what finger (RFC 1288) says about
them, its lines joined by C{"\\n"}.
"""

CORS = {b"access-control-allow-origin": b"*"}
"""
Headers every WebFinger answer carries (RFC 7033 section 5).
"""

# What RFC 7565 lets an acct: URI's user part hold unencoded.
_ACCT_SAFE = "-._~!$&'()*+,;="

# A Host header fit to start an absolute URL with: a name or an address,
# and a port.
_AUTHORITY = re.compile(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")

# A URI scheme (RFC 3986 section 3.1) and its colon.
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")

# The port that may end the host of an acct: URI, as it ends a Host header.
_PORT = re.compile(r"(?<=[^:])(?::[0-9]+)$|(?<=\])(?::[0-9]+)$")

# What no host name holds: a host that has one is malformed.
_NOT_IN_HOST = re.compile(r"[\s/?#@\\]")


class BadResource(Exception):
    """
    A C{resource} this server cannot read as a URI: a C{400}.
    """


class UnknownResource(Exception):
    """
    A C{resource} that names no user of this server: a C{404}.  The message
    is the sentence to answer with.
    """


@lru_cache(maxsize=256)
def normalHost(host: str) -> str:
    """
    C{host} as host names are compared: lower case, without the brackets
    of an IPv6 address or a final dot, and a name in the ASCII form of
    internationalised names.

    The last names asked for are remembered: every page shows the name its
    request was sent to, nearly always one of a few.
    """
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    host = host.rstrip(".")
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def machineNames() -> List[str]:
    """
    This machine's own names: its host name (C{hostname}), the first label
    of it, and C{localhost}.  None needs the DNS.
    """
    name = socket.gethostname()
    return [name, name.split(".")[0], "localhost"]


def parseHosts(value: str) -> List[str]:
    """
    The host names of C{--webfinger-hosts}: separated by commas.

    @raise ValueError: a name is empty or could not be a host name.
    """
    names = [name.strip() for name in value.split(",")]
    for name in names:
        bracketed = name.startswith("[") and name.endswith("]")
        if not name or _NOT_IN_HOST.search(name) or (":" in name and not bracketed):
            raise ValueError(
                f"--webfinger-hosts: {name!r} is not a host name; give names "
                "separated by commas, such as example.com,finger.example.com"
            )
    return names


def _requestedHost(request: IRequest) -> str:
    """
    The host name a request was sent to: its C{Host} header without the
    port, or the address it arrived on.
    """
    return normalHost(request.getRequestHostname().decode("latin-1"))


class ServedHosts:
    """
    The host names this server answers for, in C{acct:} URIs and in the
    URLs of user pages.

    Given names, exactly those.  Otherwise the C{Host} header of each
    request (the name the client reached this server by), the address the
    request arrived on, and the machine's own names (L{machineNames}).

    @ivar names: the names given, normalised; L{None} for the default.
    @ivar machine: the machine's own names, normalised.
    """

    def __init__(
        self, names: Optional[Iterable[str]] = None, machine: Optional[Iterable[str]] = None
    ) -> None:
        """
        @param names: the only names to answer for, or L{None}.
        @param machine: the machine's own names; L{machineNames} if
            L{None}.
        """
        self.names: Optional[List[str]] = None
        if names is not None:
            self.names = [normalHost(name) for name in names]
        self.machine: FrozenSet[str] = frozenset(
            normalHost(name) for name in (machineNames() if machine is None else machine)
        )

    def serves(self, host: str, request: IRequest) -> bool:
        """
        Does this server answer for C{host}, asked in C{request}?
        """
        host = normalHost(host)
        if self.names is not None:
            return host in self.names
        if host in self.machine or host == _requestedHost(request):
            return True
        address = request.getHost()
        return isinstance(address, (IPv4Address, IPv6Address)) and host == normalHost(address.host)

    def preferred(self, request: IRequest) -> str:
        """
        The host name to show in C{request}'s answer: the one it was sent
        to, if this server answers for it, else the first name given.
        """
        requested = _requestedHost(request)
        if self.names and requested not in self.names:
            return self.names[0]
        return requested


def origin(request: IRequest) -> str:
    """
    The scheme and authority that absolute URLs to this site begin with,
    for C{request}: C{https} over TLS, and the C{Host} header, or else the
    address the request arrived on.
    """
    scheme = "https" if request.isSecure() else "http"
    header = request.getHeader(b"host")
    authority = header.decode("latin-1") if header is not None else ""
    if not _AUTHORITY.fullmatch(authority):
        address = request.getHost()
        if isinstance(address, (IPv4Address, IPv6Address)):
            host = f"[{address.host}]" if ":" in address.host else address.host
            authority = f"{host}:{address.port}"
        else:
            authority = "localhost"
    return f"{scheme}://{authority}"


def acctURI(user: str, host: str) -> str:
    """
    The C{acct:} URI (RFC 7565) of C{user} on C{host}.
    """
    return "acct:" + quote(user, safe=_ACCT_SAFE) + "@" + host


def webfingerPath(user: str, host: str) -> str:
    """
    The path and query, relative to the site's root, that looks up C{user}
    on C{host} with WebFinger.
    """
    return ".well-known/webfinger?resource=" + quote(acctURI(user, host), safe="")


def parseResource(resource: str, reserved: FrozenSet[bytes] = frozenset()) -> Tuple[str, bool, str]:
    """
    Read a WebFinger C{resource}: an C{acct:} URI, or the URL of a user's
    page (C{http://HOST/USER} or C{https://HOST/USER}).

    @param reserved: first path segments that are no user's page.
    @return: the user's name, whether it can be a user at all, and the
        host it was asked about.
    @raise BadResource: C{resource} is not a URI this server can read.
    @raise UnknownResource: C{resource} names no user's page.
    """
    scheme = _SCHEME.match(resource)
    if scheme is None:
        raise BadResource(resource)
    name = scheme.group().lower()
    rest = resource[scheme.end() :]
    if name == "acct:":
        user, at, host = rest.rpartition("@")
        if not (user and at and host) or _NOT_IN_HOST.search(host):
            raise BadResource(resource)
        try:
            decoded = unquote(user, errors="strict")
        except UnicodeDecodeError:
            raise BadResource(resource) from None
        return decoded, userName(decoded.encode("utf-8"))[1], _PORT.sub("", host)
    if name not in ("http:", "https:"):
        raise UnknownResource(WEBFINGER_UNKNOWN_RESOURCE)
    try:
        parts = urlsplit(resource)
        pageHost, _ = parts.hostname, parts.port
    except ValueError:
        raise BadResource(resource) from None
    if not pageHost or parts.username is not None:
        raise BadResource(resource)
    segments = parts.path.split("/")
    if len(segments) != 2 or parts.query or parts.fragment:
        raise UnknownResource(WEBFINGER_UNKNOWN_RESOURCE)
    segment = unquote_to_bytes(segments[1])
    if not segment or segment in reserved:
        raise UnknownResource(WEBFINGER_UNKNOWN_RESOURCE)
    user, valid = userName(segment)
    return user, valid, pageHost


def jrdBody(document: Dict[str, object]) -> bytes:
    """
    A JRD document as UTF-8 JSON, on one line.
    """
    return json.dumps(document, ensure_ascii=False).encode("utf-8") + b"\n"


class _WebFingerAnswers(WebAnswers):
    """
    An unknown or hidden user is a plain C{404}, as is any other resource
    WebFinger knows nothing about.
    """

    def unknown(self, user: str) -> Answer:
        return plainText(404, NO_SUCH_USER)


class WebFinger(Resource):
    """
    C{/.well-known/webfinger}: a user's JRD document.  Nothing lies
    beneath it.

    @ivar service: the back-end.
    @ivar policy: how the back-end is asked.
    @ivar hosts: the host names this server answers for.
    @ivar reserved: first path segments that are no user's page.
    """

    isLeaf = True

    def __init__(
        self,
        service: IFingerService,
        policy: LookupPolicy,
        hosts: ServedHosts,
        reserved: FrozenSet[bytes] = frozenset(),
    ) -> None:
        super().__init__()
        self.service = service
        self.policy = policy
        self.hosts = hosts
        self.reserved = reserved

    def render(self, request: IRequest) -> object:
        for name, value in CORS.items():
            request.setHeader(name, value)
        return super().render(request)

    def render_GET(self, request: Request) -> object:
        if request.postpath:
            return _now(request, plainText(404, NOT_FOUND))
        args: Dict[bytes, List[bytes]] = request.args or {}
        resources = args.get(b"resource", [])
        if len(resources) != 1 or not resources[0]:
            return _now(request, plainText(400, WEBFINGER_NO_RESOURCE))
        try:
            resource = resources[0].decode("utf-8")
            user, valid, host = parseResource(resource, self.reserved)
        except (UnicodeDecodeError, BadResource):
            return _now(request, plainText(400, WEBFINGER_BAD_RESOURCE))
        except UnknownResource as e:
            return _now(request, plainText(404, str(e)))
        if not self.hosts.serves(host, request):
            return _now(request, plainText(404, WEBFINGER_NOT_SERVED))
        try:
            rels = [rel.decode("utf-8") for rel in args.get(b"rel", [])]
        except UnicodeDecodeError:
            return _now(request, plainText(400, WEBFINGER_BAD_RESOURCE))

        def ask() -> "Deferred[str]":
            if not valid:
                raise UnknownUser(user)
            return self.service.getUser(user)

        def found(status: str) -> Response:
            return (200, JRD, jrdBody(jrd(request, resource, user, host, status, rels)))

        return serve(request, self.policy, ask, found, _WebFingerAnswers())


def jrd(
    request: IRequest, subject: str, user: str, host: str, status: str, rels: Sequence[str] = ()
) -> Dict[str, object]:
    """
    The JRD document about C{user}, asked as C{subject}, with their
    C{status}.

    @param request: the request, for the absolute URLs (L{origin}).
    @param host: the host C{subject} names.
    @param rels: the relations of the links to keep; all if empty.
    """
    base = origin(request)
    page = base + "/" + userPath(user)
    links = [
        {"rel": PROFILE_PAGE, "type": "text/html", "href": page},
        {
            "rel": ALTERNATE,
            "type": "application/json",
            "href": base + "/api/users/" + userPath(user),
        },
    ]
    if rels:
        links = [link for link in links if link["rel"] in rels]
    if subject[:5].lower() == "acct:":
        aliases = [page]
    else:
        # Asked by a page's URL: the account, and this site's URL of the
        # page if the client knew it by another.
        aliases = [acctURI(user, host)] + ([page] if page != subject else [])
    return {
        "subject": subject,
        "aliases": aliases,
        "properties": {STATUS_PROPERTY: displayStatus(status)},
        "links": links,
    }


def _now(request: IRequest, response: Response) -> bytes:
    """
    Answer C{request} with C{response} at once, from a C{render} method.
    """
    code, contentType, body = response
    request.setResponseCode(code)
    request.setHeader(b"content-type", contentType)
    return body


class WellKnown(Resource):
    """
    C{/.well-known/}: L{WebFinger}, and a plain C{404} for anything else.
    """

    def __init__(self, webfinger: WebFinger) -> None:
        super().__init__()
        self.putChild(WEBFINGER, webfinger)

    def getChild(self, path: bytes, request: IRequest) -> IResource:
        return self

    def render_GET(self, request: IRequest) -> bytes:
        return _now(request, plainText(404, NOT_FOUND))
