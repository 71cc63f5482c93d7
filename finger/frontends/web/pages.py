# -*- test-case-name: tests.frontends.web.test_pages -*-
"""
The site's root, L{UserStatusTree}, and its HTML pages.

L{UserStatusTree} is an adapter from L{IFingerService} to L{IResource}.
Its URLs::

    /                   every user, each a link to their page, with the
                        first line of their status; with listing off
                        (C{listUsers=False}) only how to look someone up
    /USER               one user's name and status, and how to finger
                        them; 404 "No such user"
    /api/users          the list of users, as JSON
    /api/users/USER     one user, as JSON; 404 for an unknown user
    /api/events         the status changes, as Server-Sent Events
                        (L{finger.frontends.web.events}), if the site
                        has them
    /RPC2               XML-RPC: getUser(name), getUsers(), and with a
                        login, over HTTPS, setUser(name, status)
    /.well-known/webfinger?resource=acct:USER@HOST
                        WebFinger (L{finger.frontends.web.webfinger})

C{/} and C{/USER} answer with JSON instead of HTML when the request's
C{Accept} header prefers C{application/json}.  The fixed paths (L{RESERVED})
win over user names: a user called C{RPC2} or C{api} has no HTML page, but
C{/api/users/RPC2} and XML-RPC still find them.

The pages name the host they serve (a user's page shows C{finger USER@HOST}
and C{acct:USER@HOST}): a name the site is configured with, which the
request's C{Host} header may only choose among (L{SiteOrigin.shown}).

Every page and JSON answer carries an entity tag, made once with the page
where the page is made once, and a conditional request that names it is
answered C{304} (L{finger.frontends.web.caching}).  C{OPTIONS} is answered
for every path (L{Preflight}).

A user name in a URL is percent-encoded UTF-8 (C{/zo%C3%AB}); every link the
pages make is quoted that way, C{/} included, so C{a/b} is C{/a%2Fb}.  Links
are relative, so the site also works behind a proxy that adds a path prefix.
"""

from typing import Dict, List, Optional, Sequence, Tuple

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.python import components
from twisted.web.iweb import IRequest
from twisted.web.resource import IResource, Resource
from twisted.web.server import Request
from twisted.web.template import Element

from finger import listing
from finger.listing import Listing, Snapshot
from finger.auth import SetterLogin
from finger.frontends.web.caching import REVALIDATE, conditional, entityTag, tagged
from finger.frontends.web.cors import Preflight
from finger.frontends.web.api import (
    APINotFound,
    JSONAnswers,
    UnlistedUsersAPI,
    UsersAPI,
    listingDenied,
    serveUsers,
    userJSON,
)
from finger.frontends.web.prerendered import Prerendered
from finger.frontends.web.request import Answer, Response, WebAnswers, serve, userName
from finger.frontends.web.templates import (
    FINGER_PORT,
    NotFoundElement,
    Templates,
    UserElement,
    UsersElement,
    frontPageSlots,
    loadTemplates,
)
from finger.frontends.web.origin import Network, PublicURL, SiteOrigin
from finger.frontends.web.webfinger import WEBFINGER, WELL_KNOWN, WebFinger, WellKnown
from finger.frontends.web.xmlrpc import XMLRPCGate
from finger.interfaces import IFingerService, IOutcomeObserver, UnknownUser
from finger.lookup import LOOKUP_TIMEOUT, LookupPolicy
from finger.reactor import orGlobalReactor

RPC_PATH = b"RPC2"
API_PATH = b"api"
RESERVED = frozenset([RPC_PATH, API_PATH, WELL_KNOWN])
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

CACHED = 1024
"""
The most user pages, and user resources, the site keeps ready: enough for
every user of a small site, and a bound for a large one (the cache is
emptied when full).
"""

PageKey = Tuple[str, str, str, str]
"""
What a user's page is made from: the name, the status, the link home and
the host shown.
"""

Page = Tuple[Response, bytes]
"""
A user's page made once: the response and its entity tag.
"""

MAX_LISTED = listing.MAX_LISTED
"""
The most users the front page shows, as a finger listing does; a line
says how many more there are.
"""


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


def homeLink(request: IRequest) -> str:
    """
    A relative link from the page C{request} asked for to the site's root.
    """
    depth = len(request.prepath) + len(request.postpath) - 1
    return "../" * depth if depth > 0 else "./"


def html(request: IRequest, templates: Templates, code: int, element: Element) -> Answer:
    """
    A page from C{templates}, as a response with status C{code}.
    """
    page = templates.renderNow(element)
    if page is not None:
        return (code, HTML, b"<!DOCTYPE html>\n" + page)
    return templates.render(request, element).addCallback(
        lambda body: (code, HTML, b"<!DOCTYPE html>\n" + body)
    )


class _PageAnswers(JSONAnswers):
    """
    An unknown user as a page: the C{notfound.xhtml} page, or the JSON 404
    if the client prefers JSON.
    """

    def __init__(self, user: str, wantJSON: bool, request: IRequest, templates: Templates) -> None:
        super().__init__(user)
        self.wantJSON = wantJSON
        self.request = request
        self.templates = templates

    def unknown(self, user: str) -> Answer:
        self.request.setHeader(b"cache-control", REVALIDATE)
        if self.wantJSON:
            return super().unknown(user)
        element = NotFoundElement(self.templates.notFound, self.user, homeLink(self.request))
        return html(self.request, self.templates, 404, element)


class UserStatus(Resource):
    """
    One user's page at C{/USER}, or their JSON if the client prefers it.
    Nothing lies beneath it.

    @ivar policy: how the back-end is asked.
    @ivar origin: the host names the site answers for, the page shows one.
    @ivar fingerPort: the finger server's port, for the page's hint.
    """

    isLeaf = True

    def __init__(
        self,
        service: IFingerService,
        templates: Templates,
        segment: bytes,
        policy: LookupPolicy,
        origin: Optional[SiteOrigin] = None,
        pages: Optional[Dict[PageKey, Page]] = None,
        fingerPort: int = FINGER_PORT,
    ) -> None:
        """
        @param pages: user pages already made, by what they were made from,
            shared by all the users' resources of a site; the page of a
            status is built once, with its entity tag, and again only when
            it changes.
        """
        super().__init__()
        self.service = service
        self.templates = templates
        self.policy = policy
        self.origin = origin if origin is not None else SiteOrigin()
        self.vary = _vary(self.origin)
        self.pages: Dict[PageKey, Page] = pages if pages is not None else {}
        self.fingerPort = fingerPort
        self.user, self.valid = userName(segment)

    def render_GET(self, request: Request) -> object:
        request.setHeader(b"vary", self.vary)
        wantJSON = prefersJSON(request.getHeader(b"accept"))
        user = self.user
        if request.postpath:
            # Below a user's page: /USER/more.
            user = "/".join([self.user] + [userName(s)[0] for s in request.postpath])

        def ask() -> "Deferred[str]":
            if not self.valid or request.postpath:
                raise UnknownUser(user)
            return self.service.getUser(user)

        def found(status: str) -> Answer:
            if wantJSON:
                return tagged(request, userJSON(user, status))
            home, host = homeLink(request), self.origin.shown(request)
            key = (user, status, home, host)
            page = self.pages.get(key)
            if page is not None:
                return conditional(request, page[0], page[1])
            element = UserElement(self.templates.user, user, status, home, host, self.fingerPort)
            answer = html(request, self.templates, 200, element)
            if isinstance(answer, tuple):
                if len(self.pages) >= CACHED:
                    self.pages.clear()
                page = self.pages[key] = (answer, entityTag(answer[2]))
                return conditional(request, page[0], page[1])
            return answer.addCallback(lambda response: tagged(request, response))

        answers = _PageAnswers(user, wantJSON, request, self.templates)
        return serve(request, self.policy, ask, found, answers)


def _vary(origin: SiteOrigin) -> bytes:
    """
    The C{Vary} header of a page: its C{Accept}, and the forwarded headers
    if proxies are trusted.
    """
    return b"Accept, " + origin.vary if origin.vary else b"Accept"



class UserStatusTree(Resource):
    """
    The site's root: the users list at C{/}, a L{UserStatus} for every other
    name, and the fixed paths L{RESERVED}.  Every response carries
    L{SECURITY_HEADERS}.

    @ivar templates: the page templates.
    @ivar policy: how the back-end is asked by the pages and the JSON view;
        XML-RPC and WebFinger each have a policy of their own, alike but
        for the observer.
    @ivar listUsers: whether the front page lists the users.
    @ivar listing: the users the front page lists, built once per change of
        the statuses; the page made from them is kept with them.
    @ivar origin: the host names the site answers for, and where its
        absolute URLs point.
    @ivar hosts: the host names the site answers for.
    @ivar fingerPort: the finger server's port, for the pages' hints.
    @ivar pages: the user pages made lately, by what they were made from.
    @ivar users: the users' resources made lately, by path segment.
    """

    def __init__(
        self,
        service: IFingerService,
        *,
        templates: Optional[Templates] = None,
        clock: Optional[IReactorTime] = None,
        lookupTimeout: float = LOOKUP_TIMEOUT,
        login: Optional[SetterLogin] = None,
        listUsers: bool = True,
        webfingerHosts: Optional[Sequence[str]] = None,
        listing: Optional[Listing] = None,
        publicURL: Optional[PublicURL] = None,
        trustedProxies: Sequence[Network] = (),
        httpsPort: Optional[int] = None,
        fingerPort: int = FINGER_PORT,
        events: Optional[IResource] = None,
        observer: Optional[IOutcomeObserver] = None,
        xmlrpcObserver: Optional[IOutcomeObserver] = None,
        webfingerObserver: Optional[IOutcomeObserver] = None,
    ) -> None:
        """
        @param service: the back-end.
        @param templates: the page templates; the shipped ones if L{None}
            (only then are they read).
        @param clock: what the back-end's time to answer is measured on;
            the global reactor if L{None}.
        @param lookupTimeout: seconds the back-end has to answer a request;
            then the client is told it timed out (a 503, or an XML-RPC
            fault).
        @param login: how XML-RPC callers log in to set statuses (over
            HTTPS only); without one, XML-RPC has no C{setUser}.
        @param listUsers: whether C{/}, C{/api/users} and XML-RPC's
            C{getUsers} list the users, as an empty finger query does; if
            not, the front page says only how to look someone up, the JSON
            list is a 403 and C{getUsers} a fault.
        @param webfingerHosts: the only host names the site answers for in
            WebFinger and names on its pages (with the public URL's); if
            L{None}, the public URL's, or without one the machine's own
            names and the address each request arrived on.
        @param listing: the user listing of C{service}, to share with the
            other front-ends that show it (an empty finger query), so it
            is built once per change for them all; if L{None}, the site
            builds its own, of at most L{MAX_LISTED} users.
        @param publicURL: where the site is reached from outside
            (C{--public-url}): the start of every absolute URL it makes.
        @param trustedProxies: the addresses whose C{X-Forwarded-Proto} and
            C{X-Forwarded-Host} are believed; only with C{publicURL}.
        @param httpsPort: the port of the site's own HTTPS listener, if it
            has one: where WebFinger over plain HTTP is sent.
        @param fingerPort: the port the finger server listens on, for the
            pages' C{finger USER@HOST} hints.
        @param events: the stream of status changes at C{/api/events}
            (L{finger.frontends.web.events}), if the site has one.
        @param observer: what hears the outcome of every request of the
            pages and the JSON view (the metrics' C{web} front-end);
            L{None} for nothing.
        @param xmlrpcObserver: the same for XML-RPC (C{xmlrpc}).
        @param webfingerObserver: the same for WebFinger (C{webfinger}).
        """
        super().__init__()
        self.service = service
        self.templates = templates if templates is not None else loadTemplates()
        clock = orGlobalReactor(clock)
        self.policy = LookupPolicy(clock, lookupTimeout, observer=observer)
        xmlrpcPolicy = LookupPolicy(clock, lookupTimeout, observer=xmlrpcObserver)
        webfingerPolicy = LookupPolicy(clock, lookupTimeout, observer=webfingerObserver)
        self.listUsers = listUsers
        if listing is None:
            listing = Listing(service, self.policy.clock, maxListed=MAX_LISTED)
        self.listing = listing
        self.origin = SiteOrigin(
            webfingerHosts, public=publicURL, proxies=trustedProxies, httpsPort=httpsPort
        )
        self.hosts = self.origin.hosts
        self.vary = _vary(self.origin)
        self.fingerPort = fingerPort
        self.preflight = Preflight(
            frozenset([(API_PATH,), (WELL_KNOWN, WEBFINGER)]), frozenset([RPC_PATH])
        )
        self.pages: Dict[PageKey, Page] = {}
        self.users: Dict[bytes, UserStatus] = {}
        # What the front page lists with listing off, whatever changes.
        self._unlisted = Snapshot([], 0)
        self.putChild(RPC_PATH, XMLRPCGate(service, xmlrpcPolicy, login, listUsers))
        api = APINotFound()
        users = UsersAPI if listUsers else UnlistedUsersAPI
        api.putChild(b"users", users(service, self.policy))
        if events is not None:
            api.putChild(b"events", events)
        self.putChild(API_PATH, api)
        webfinger = WebFinger(service, webfingerPolicy, self.origin, RESERVED)
        self.putChild(WELL_KNOWN, WellKnown(webfinger))

    def getChildWithDefault(self, path: bytes, request: IRequest) -> IResource:
        for name, value in SECURITY_HEADERS.items():
            request.setHeader(name, value)
        if request.method == b"OPTIONS":
            return self.preflight
        return super().getChildWithDefault(path, request)

    def getChild(self, path: bytes, request: IRequest) -> IResource:
        if path == b"":
            return self
        # A user's resource holds nothing of one request: one serves them all.
        child = self.users.get(path)
        if child is None:
            if len(self.users) >= CACHED:
                self.users.clear()
            child = UserStatus(
                self.service,
                self.templates,
                path,
                self.policy,
                self.origin,
                self.pages,
                self.fingerPort,
            )
            self.users[path] = child
        return child

    def render_GET(self, request: Request) -> object:
        request.setHeader(b"vary", self.vary)
        wantJSON = prefersJSON(request.getHeader(b"accept"))
        if wantJSON:
            if not self.listUsers:
                return listingDenied(request)
            return serveUsers(request, self.service, self.policy)

        def ask() -> "Deferred[Snapshot]":
            if not self.listUsers:
                return succeed(self._unlisted)
            return self.listing.snapshot()

        def page(snapshot: Snapshot) -> Answer:
            home, host = homeLink(request), self.origin.shown(request)
            prerendered = self._frontPage(snapshot)
            if prerendered is not None:
                if home == "./":
                    # The front page at / on each name: made once per listing.
                    made = snapshot.view(
                        ("front page", self.fingerPort, host),
                        lambda s: self._finished(prerendered, home, host),
                    )
                else:
                    made = self._finished(prerendered, home, host)
                return conditional(request, made[0], made[1])
            element = UsersElement(
                self.templates.users,
                [name for name, status in snapshot.entries],
                home,
                host=host,
                statuses=dict(snapshot.entries),
                total=snapshot.total,
                listed=self.listUsers,
                fingerPort=self.fingerPort,
            )
            answer = html(request, self.templates, 200, element)
            if isinstance(answer, tuple):
                return tagged(request, answer)
            return answer.addCallback(lambda response: tagged(request, response))

        return serve(request, self.policy, ask, page, WebAnswers())

    def _finished(self, prerendered: Prerendered, home: str, host: str) -> Page:
        """
        The front page from C{prerendered}, with its entity tag.
        """
        body = prerendered.render(frontPageSlots(home, host, self.fingerPort))
        response = (200, HTML, b"<!DOCTYPE html>\n" + body)
        return (response, entityTag(response[2]))

    def _frontPage(self, snapshot: Snapshot) -> Optional[Prerendered]:
        """
        The front page for C{snapshot} with only the per-request values
        left to fill in, made once for each snapshot; or L{None} if it must
        be flattened for every request.
        """
        return snapshot.view(
            ("front page", self.fingerPort),
            lambda s: self.templates.frontPage(s.entries, s.total, self.listUsers, self.fingerPort),
        )


components.registerAdapter(UserStatusTree, IFingerService, IResource)
