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
and C{acct:USER@HOST}): the name the request was sent to, unless the site
was given the names it answers for and that is not one of them
(L{ServedHosts}).

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
from finger.frontends.web.form import StatusForm
from finger.frontends.web.api import (
    JSON,
    APINotFound,
    JSONAnswers,
    UsersAPI,
    jsonBody,
    userJSON,
    usersJSON,
)
from finger.frontends.web.prerendered import Prerendered
from finger.frontends.web.request import Answer, Response, WebAnswers, plainText, serve, userName
from finger.frontends.web.static import STATIC_PATH, shippedFiles
from finger.frontends.web.templates import (
    NotFoundElement,
    Templates,
    UserElement,
    UsersElement,
    frontPageSlots,
    loadTemplates,
)
from finger.frontends.web.webfinger import WELL_KNOWN, ServedHosts, WebFinger, WellKnown
from finger.frontends.web.xmlrpc import XMLRPCGate
from finger.interfaces import IFingerService, UnknownUser
from finger.lookup import LOOKUP_TIMEOUT, LookupPolicy
from finger.reactor import orGlobalReactor
from finger.messages import LISTING_DENIED, NO_SUCH_USER

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
        if self.wantJSON:
            return super().unknown(user)
        element = NotFoundElement(self.templates.notFound, self.user, homeLink(self.request))
        return html(self.request, self.templates, 404, element)


class UserStatus(Resource):
    """
    One user's page at C{/USER}, or their JSON if the client prefers it.
    Nothing lies beneath it.

    @ivar policy: how the back-end is asked.
    @ivar hosts: the host names the site answers for, the page shows one.
    """

    isLeaf = True

    def __init__(
        self,
        service: IFingerService,
        templates: Templates,
        segment: bytes,
        policy: LookupPolicy,
        hosts: Optional[ServedHosts] = None,
        pages: Optional[Dict[PageKey, Response]] = None,
        form: Optional[StatusForm] = None,
    ) -> None:
        """
        @param pages: user pages already made, by what they were made from,
            shared by all the users' resources of a site; the page of a
            status is built once, and again only when it changes.
        @param form: the form for setting statuses; one that is never
            offered (and refuses every post) if L{None}.
        """
        super().__init__()
        self.service = service
        self.templates = templates
        self.policy = policy
        self.hosts = hosts if hosts is not None else ServedHosts()
        self.pages: Dict[PageKey, Response] = pages if pages is not None else {}
        self.form = form if form is not None else StatusForm(None, policy)
        self.user, self.valid = userName(segment)

    def render_POST(self, request: Request) -> object:
        """
        A form posted to the page (L{StatusForm}).
        """
        if not self.valid or request.postpath:
            code, contentType, body = plainText(404, NO_SUCH_USER)
            request.setResponseCode(code)
            request.setHeader(b"content-type", contentType)
            return body
        return self.form.render_POST(request, self.user)

    def render_GET(self, request: Request) -> object:
        request.setHeader(b"vary", b"Accept")
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
                return userJSON(user, status)
            home, host = homeLink(request), self.hosts.preferred(request)
            if self.form.offered(request):
                # Made for this request: the form holds its session's token.
                element = self.form.page(
                    request, user, status, loader=self.templates.user, home=home, host=host
                )
                return html(request, self.templates, 200, element)
            key = (user, status, home, host)
            page = self.pages.get(key)
            if page is not None:
                return page
            element = UserElement(self.templates.user, user, status, home, host=host)
            answer = html(request, self.templates, 200, element)
            if isinstance(answer, tuple):
                if len(self.pages) >= CACHED:
                    self.pages.clear()
                self.pages[key] = answer
            return answer

        answers = _PageAnswers(user, wantJSON, request, self.templates)
        return serve(request, self.policy, ask, found, answers)


class _UnlistedUsersAPI(UsersAPI):
    """
    C{/api/users} when listing is off: a JSON C{403}; C{/api/users/USER}
    still answers.
    """

    def render_GET(self, request: Request) -> bytes:
        return _listingDenied(request)


def _listingDenied(request: IRequest) -> bytes:
    request.setResponseCode(403)
    request.setHeader(b"content-type", JSON)
    return jsonBody({"error": LISTING_DENIED})


class UserStatusTree(Resource):
    """
    The site's root: the users list at C{/}, a L{UserStatus} for every other
    name, and the fixed paths L{RESERVED}.  Every response carries
    L{SECURITY_HEADERS}.

    @ivar templates: the page templates.
    @ivar policy: how the back-end is asked, by the pages, the JSON view,
        XML-RPC and WebFinger alike.
    @ivar listUsers: whether the front page lists the users.
    @ivar listing: the users the front page lists, built once per change of
        the statuses; the page made from them is kept with them.
    @ivar hosts: the host names the site answers for.
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
        events: Optional[IResource] = None,
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
            WebFinger and names on its pages; if L{None}, the name each
            request was sent to and the machine's own names.
        @param listing: the user listing of C{service}, to share with the
            other front-ends that show it (an empty finger query), so it
            is built once per change for them all; if L{None}, the site
            builds its own, of at most L{MAX_LISTED} users.
        @param events: the stream of status changes at C{/api/events}
            (L{finger.frontends.web.events}), if the site has one.
        """
        super().__init__()
        self.service = service
        self.templates = templates if templates is not None else loadTemplates()
        self.policy = LookupPolicy(orGlobalReactor(clock), lookupTimeout)
        self.listUsers = listUsers
        if listing is None:
            listing = Listing(service, self.policy.clock, maxListed=MAX_LISTED)
        self.listing = listing
        self.hosts = ServedHosts(webfingerHosts)
        self.pages: Dict[PageKey, Response] = {}
        self.users: Dict[bytes, UserStatus] = {}
        # What the front page lists with listing off, whatever changes.
        self._unlisted = Snapshot([], 0)
        self.putChild(RPC_PATH, XMLRPCGate(service, self.policy, login, listUsers))
        api = APINotFound()
        users = UsersAPI if listUsers else _UnlistedUsersAPI
        api.putChild(b"users", users(service, self.policy))
        if events is not None:
            api.putChild(b"events", events)
        self.putChild(API_PATH, api)
        webfinger = WebFinger(service, self.policy, self.hosts, RESERVED)
        self.putChild(WELL_KNOWN, WellKnown(webfinger))
        self.putChild(STATIC_PATH, shippedFiles())
        self.form = StatusForm(login, self.policy, loader=self.templates.form)

    def getChildWithDefault(self, path: bytes, request: IRequest) -> IResource:
        for name, value in SECURITY_HEADERS.items():
            request.setHeader(name, value)
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
                self.service, self.templates, path, self.policy, self.hosts, self.pages, self.form
            )
            self.users[path] = child
        return child

    def render_GET(self, request: Request) -> object:
        request.setHeader(b"vary", b"Accept")
        wantJSON = prefersJSON(request.getHeader(b"accept"))
        if wantJSON:
            if not self.listUsers:
                return _listingDenied(request)
            return serve(request, self.policy, self.service.getUsers, usersJSON, WebAnswers())

        def ask() -> "Deferred[Snapshot]":
            if not self.listUsers:
                return succeed(self._unlisted)
            return self.listing.snapshot()

        def page(snapshot: Snapshot) -> Answer:
            home, host = homeLink(request), self.hosts.preferred(request)
            prerendered = self._frontPage(snapshot)
            if prerendered is not None:
                body = prerendered.render(frontPageSlots(home, host))
                return (200, HTML, b"<!DOCTYPE html>\n" + body)
            element = UsersElement(
                self.templates.users,
                [name for name, status in snapshot.entries],
                home,
                host=host,
                statuses=dict(snapshot.entries),
                total=snapshot.total,
                listed=self.listUsers,
            )
            return html(request, self.templates, 200, element)

        return serve(request, self.policy, ask, page, WebAnswers())

    def _frontPage(self, snapshot: Snapshot) -> Optional[Prerendered]:
        """
        The front page for C{snapshot} with only the per-request values
        left to fill in, made once for each snapshot; or L{None} if it must
        be flattened for every request.
        """
        return snapshot.view(
            "front page",
            lambda s: self.templates.frontPage(s.entries, s.total, self.listUsers),
        )


components.registerAdapter(UserStatusTree, IFingerService, IResource)
