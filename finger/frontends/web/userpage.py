# -*- test-case-name: tests.frontends.web.test_pages -*-
"""
One user's page, L{UserStatus} (C{/USER}), and what the site's pages share:
which of HTML and JSON a request prefers, the link home, and a template
rendered as a response.
"""

from functools import partial
from typing import Dict, List, Optional, Tuple

from twisted.internet.defer import Deferred
from twisted.web.iweb import IRequest
from twisted.web.resource import Resource
from twisted.web.server import Request
from twisted.web.template import Element

from finger.frontends.web.api import JSONAnswers, userJSON
from finger.frontends.web.caching import REVALIDATE, conditional, entityTag, tagged
from finger.frontends.web.form import StatusForm
from finger.frontends.web.origin import SiteOrigin
from finger.frontends.web.request import Answer, Response, plainText, serve, userName
from finger.frontends.web.elements import FINGER_PORT, NotFoundElement, UserElement
from finger.frontends.web.templates import Templates
from finger.interfaces import IFingerService, IStatusesAtHand, UnknownUser
from finger.lookup import LookupPolicy
from finger.messages import NO_SUCH_USER


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
    @ivar atHand: the back-end if it can answer at once
        (L{IStatusesAtHand}), else L{None}.
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
        form: Optional[StatusForm] = None,
    ) -> None:
        """
        @param pages: user pages already made, by what they were made from,
            shared by all the users' resources of a site; the page of a
            status is built once, with its entity tag, and again only when
            it changes.
        @param form: the form for setting statuses; one that is never
            offered (and refuses every post) if L{None}.
        """
        super().__init__()
        self.service = service
        self.atHand = IStatusesAtHand(service, None)
        self.templates = templates
        self.policy = policy
        self.origin = origin if origin is not None else SiteOrigin()
        self.vary = pageVary(self.origin)
        self.pages: Dict[PageKey, Page] = pages if pages is not None else {}
        self.fingerPort = fingerPort
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
            if self.form.offered(request):
                # Made for this request: the form holds its session's token.
                element = self.form.page(
                    request, user, status, loader=self.templates.user, home=home,
                    host=host,
                    fingerPort=self.fingerPort,
                )
                return html(request, self.templates, 200, element)
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
        atHand = None
        if self.atHand is not None and self.valid and not request.postpath:
            # A back-end holding its statuses in memory answers at once.
            atHand = partial(self.atHand.statusNow, user)
        return serve(request, self.policy, ask, found, answers, atHand)


def pageVary(origin: SiteOrigin) -> bytes:
    """
    The C{Vary} header of a page: its C{Accept}, and the forwarded headers
    if proxies are trusted.
    """
    return b"Accept, " + origin.vary if origin.vary else b"Accept"
