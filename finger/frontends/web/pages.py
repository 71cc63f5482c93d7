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
    /static/live.js     the script that updates the pages as statuses
                        change (L{finger.frontends.web.static})
    /.well-known/webfinger?resource=acct:USER@HOST
                        WebFinger (L{finger.frontends.web.webfinger})

C{/} and C{/USER} answer with JSON instead of HTML when the request's
C{Accept} header prefers C{application/json}.  The fixed paths (L{RESERVED})
win over user names: a user called C{RPC2} or C{api} has no HTML page, but
C{/api/users/RPC2} and XML-RPC still find them.

With a login (C{--auth}), over HTTPS, a user's page also holds a form for
setting the status, and a form posted to C{/USER} logs in, sets the status
or logs out (L{finger.frontends.web.form}); elsewhere such a post is
refused with a sentence saying why.

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

from typing import Dict, Optional, Sequence

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.python import components
from twisted.web.iweb import IRequest
from twisted.web.resource import IResource, Resource
from twisted.web.server import Request

from finger import listing
from finger.listing import Listing, Snapshot
from finger.auth import SetterLogin
from finger.frontends.web.caching import conditional, entityTag, tagged
from finger.frontends.web.cors import Preflight
from finger.frontends.web.form import StatusForm
from finger.frontends.web.api import (
    APINotFound,
    UnlistedUsersAPI,
    UsersAPI,
    listingDenied,
    serveUsers,
)
from finger.frontends.web.prerendered import Prerendered
from finger.frontends.web.request import Answer, WebAnswers, serve
from finger.frontends.web.static import STATIC_PATH, shippedFiles
from finger.frontends.web.userpage import (
    CACHED,
    HTML,
    Page,
    PageKey,
    UserStatus,
    homeLink,
    html,
    pageVary,
    prefersJSON,
)
from finger.frontends.web.elements import FINGER_PORT, UsersElement, frontPageSlots
from finger.frontends.web.templates import Templates, loadTemplates
from finger.frontends.web.origin import Network, PublicURL, SiteOrigin
from finger.frontends.web.webfinger import WEBFINGER, WELL_KNOWN, WebFinger, WellKnown
from finger.frontends.web.xmlrpc import XMLRPCGate
from finger.interfaces import IFingerService, IOutcomeObserver
from finger.lookup import LOOKUP_TIMEOUT, LookupPolicy
from finger.reactor import orGlobalReactor

RPC_PATH = b"RPC2"
API_PATH = b"api"
RESERVED = frozenset([RPC_PATH, API_PATH, WELL_KNOWN, STATIC_PATH])
"""
The first path segments that never name a user.
"""

SECURITY_HEADERS: Dict[bytes, bytes] = {
    # Pages carry their style inline, run only the site's own script, which
    # connects only to the site, post forms only to the site, and have no
    # images or frames.
    b"content-security-policy": (
        b"default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; "
        b"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"no-referrer",
    b"x-frame-options": b"DENY",
}
"""
Headers sent with every response of the site.
"""

MAX_LISTED = listing.MAX_LISTED
"""
The most users the front page shows, as a finger listing does; a line
says how many more there are.
"""


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
        @param login: how XML-RPC callers, and browsers with the users'
            pages' form, log in to set statuses (over HTTPS only); without
            one, XML-RPC has no C{setUser} and the pages no form.
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
        self.vary = pageVary(self.origin)
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
        self.putChild(STATIC_PATH, shippedFiles())
        self.form = StatusForm(login, self.policy, loader=self.templates.form)

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
                self.form,
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
