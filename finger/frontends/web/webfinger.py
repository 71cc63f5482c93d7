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

The absolute URLs in a JRD come from the site's public URL, or a name the
site is configured with, never from the request's C{Host} header
(L{SiteOrigin}); a JRD carries an entity tag, and a conditional request for
one unchanged is a C{304}.  WebFinger is answered over HTTPS only (section
4): see L{WebFinger}.
"""

import json
import re
from dataclasses import dataclass, field
from typing import Dict, FrozenSet, List, Sequence, Tuple
from urllib.parse import quote, unquote, unquote_to_bytes, urlsplit

from twisted.internet.defer import Deferred
from twisted.web.iweb import IRequest
from twisted.web.resource import IResource, Resource
from twisted.web.server import Request

from finger.frontends.web.caching import NO_STORE, REVALIDATE, tagged
from finger.frontends.web.cors import ALLOW_ORIGIN
from finger.frontends.web.origin import (
    ServedHosts,
    SiteOrigin,
    machineNames,
    normalHost,
    parseHosts,
)
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
    WEBFINGER_HTTPS_ONLY,
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

__all__ = [
    "ServedHosts",
    "SiteOrigin",
    "WebFinger",
    "WellKnown",
    "machineNames",
    "normalHost",
    "parseHosts",
]

CORS = {ALLOW_ORIGIN[0]: ALLOW_ORIGIN[1]}
"""
Headers every WebFinger answer carries (RFC 7033 section 5).
"""

# What RFC 7565 lets an acct: URI's user part hold unencoded.
_ACCT_SAFE = "-._~!$&'()*+,;="

# A URI scheme (RFC 3986 section 3.1) and its colon.
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")

# The port that may end the host of an acct: URI, as it ends a Host header.
_PORT = re.compile(r"(?<=[^:])(?::[0-9]+)$|(?<=\])(?::[0-9]+)$")

# What no host name holds: a host that has one is malformed.
_NOT_IN_HOST = re.compile(r"[\s/?#@\\]")

# What may stay as it is in the query of a redirect's Location.
_QUERY_SAFE = "/?:@!$&'()*+,;=-._~%"


class BadResource(Exception):
    """
    A C{resource} this server cannot read as a URI: a C{400}.
    """


class UnknownResource(Exception):
    """
    A C{resource} that names no user of this server: a C{404}.  The message
    is the sentence to answer with.
    """


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


def parseResource(
    resource: str, reserved: FrozenSet[bytes] = frozenset(), prefix: str = ""
) -> Tuple[str, bool, str]:
    """
    Read a WebFinger C{resource}: an C{acct:} URI, or the URL of a user's
    page (C{http://HOST/USER} or C{https://HOST/USER}).

    @param reserved: first path segments that are no user's page.
    @param prefix: the path the site is under (C{/finger}), which a
        page's URL begins with.
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
    path = parts.path
    if prefix:
        if not path.startswith(prefix + "/"):
            raise UnknownResource(WEBFINGER_UNKNOWN_RESOURCE)
        path = path[len(prefix) :]
    segments = path.split("/")
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


@dataclass(eq=False)
class WebFinger(Resource):
    """
    C{/.well-known/webfinger}: a user's JRD document, over HTTPS only
    (RFC 7033 section 4).  Nothing lies beneath it.

    A request over plain HTTP is sent to the same query over HTTPS with a
    C{308}, if the site has HTTPS (its own listener, or an C{https}
    public URL); without it, it is refused with a C{403} that says why.
    With an C{https} public URL and no HTTPS listener of its own, the
    operator has said a proxy in front ends TLS, and plain HTTP from the
    proxy is answered.

    @ivar service: the back-end.
    @ivar policy: how the back-end is asked.
    @ivar origin: the host names the site answers for, and where its
        absolute URLs point.
    @ivar reserved: first path segments that are no user's page.
    @ivar prefix: the path the site is under (C{/finger}), from its
        public URL; empty without one.
    """

    service: IFingerService
    policy: LookupPolicy
    origin: SiteOrigin
    reserved: FrozenSet[bytes] = frozenset()
    prefix: str = field(init=False)

    isLeaf = True

    def __post_init__(self) -> None:
        Resource.__init__(self)
        public = self.origin.public
        self.prefix = public.prefix if public is not None else ""

    def render(self, request: IRequest) -> object:
        for name, value in CORS.items():
            request.setHeader(name, value)
        # Until the answer says otherwise: even a 404 is checked again.
        request.setHeader(b"cache-control", REVALIDATE)
        if self.origin.vary:
            request.setHeader(b"vary", self.origin.vary)
        return super().render(request)

    def render_GET(self, request: Request) -> object:
        if request.postpath:
            return _now(request, plainText(404, NOT_FOUND))
        if self.origin.scheme(request) != "https":
            return self._notSecure(request)
        args: Dict[bytes, List[bytes]] = request.args or {}
        resources = args.get(b"resource", [])
        if len(resources) != 1 or not resources[0]:
            return _now(request, plainText(400, WEBFINGER_NO_RESOURCE))
        try:
            resource = resources[0].decode("utf-8")
            user, valid, host = parseResource(resource, self.reserved, self.prefix)
        except (UnicodeDecodeError, BadResource):
            return _now(request, plainText(400, WEBFINGER_BAD_RESOURCE))
        except UnknownResource as e:
            return _now(request, plainText(404, str(e)))
        if not self.origin.serves(host, request):
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
            base = self.origin.base(request, host)
            document = jrd(base, resource, user, host, status, rels)
            return tagged(request, (200, JRD, jrdBody(document)))

        return serve(request, self.policy, ask, found, _WebFingerAnswers())

    def _notSecure(self, request: Request) -> bytes:
        """
        Answer a request made over plain HTTP: a C{308} to HTTPS, or a
        C{403} if the site has none.
        """
        request.setHeader(b"cache-control", NO_STORE)
        target = self.origin.secureBase(request)
        if target is None:
            return _now(request, plainText(403, WEBFINGER_HTTPS_ONLY))
        _, mark, query = request.uri.partition(b"?")
        location = target + "/" + WELL_KNOWN.decode() + "/" + WEBFINGER.decode()
        if mark:
            location += "?" + quote(query, safe=_QUERY_SAFE)
        request.setHeader(b"location", location.encode("ascii"))
        return _now(request, plainText(308, location))


def jrd(
    base: str, subject: str, user: str, host: str, status: str, rels: Sequence[str] = ()
) -> Dict[str, object]:
    """
    The JRD document about C{user}, asked as C{subject}, with their
    C{status}.

    @param base: the URL of the site's root, without its last C{/}, that
        the absolute URLs begin with (L{SiteOrigin.base}).
    @param host: the host C{subject} names.
    @param rels: the relations of the links to keep; all if empty.
    """
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
