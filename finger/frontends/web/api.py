# -*- test-case-name: tests.frontends.web.test_api -*-
"""
The JSON view of the site: C{/api/users} lists the users,
C{/api/users/USER} gives one user's status, and anything else under
C{/api} is a JSON 404.  The pages answer with the same JSON when a client
prefers it (L{JSONAnswers}, L{jsonBody}).

Scripts on any site may read the JSON view: every answer under C{/api}
carries C{Access-Control-Allow-Origin: *}, and a preflight for it is
answered (L{finger.frontends.web.cors}).  An answer carries an entity tag;
a conditional request naming it is a C{304}.  A name asked for and not
found is shown with its control and invisible characters made visible
(L{visibleControls}).
"""

import json
from typing import Any, List

from twisted.internet.defer import Deferred
from twisted.web.iweb import IRequest
from twisted.web.resource import IResource, Resource
from twisted.web.server import Request

from finger.frontends.web.caching import REVALIDATE, tagged
from finger.frontends.web.cors import ALLOW_ORIGIN
from finger.frontends.web.request import (
    Answer,
    Response,
    WebAnswers,
    displayStatus,
    serve,
    userName,
)
from finger.interfaces import IFingerService, UnknownUser
from finger.lookup import LookupPolicy
from finger.messages import LISTING_DENIED, NO_SUCH_USER, NOT_FOUND
from finger.text import visibleControls

JSON = b"application/json; charset=utf-8"


def jsonBody(value: Any) -> bytes:
    """
    C{value} as a JSON document in UTF-8, on one line.
    """
    return json.dumps(value, ensure_ascii=False).encode("utf-8") + b"\n"


def userJSON(user: str, status: str) -> Response:
    """
    One user's status, as JSON.
    """
    return (200, JSON, jsonBody({"user": user, "status": displayStatus(status)}))


def usersJSON(users: List[str]) -> Response:
    """
    The list of users, as JSON.
    """
    return (200, JSON, jsonBody({"users": users}))


class JSONAnswers(WebAnswers):
    """
    An unknown user, in JSON: a 404 with C{{"error": "No such user",
    "user": NAME}}, the name with its control and invisible characters
    made visible.

    @ivar user: the name as the client gave it.
    """

    def __init__(self, user: str) -> None:
        self.user = user

    def unknown(self, user: str) -> Answer:
        return (404, JSON, jsonBody({"error": NO_SUCH_USER, "user": visibleControls(self.user)}))


class APINotFound(Resource):
    """
    C{/api}: any path under it that is not part of the API is a JSON 404.
    Every answer under it may be read by scripts on any site.
    """

    def getChildWithDefault(self, path: bytes, request: IRequest) -> IResource:
        request.setHeader(*ALLOW_ORIGIN)
        return super().getChildWithDefault(path, request)

    def getChild(self, path: bytes, request: IRequest) -> IResource:
        return self

    def render_GET(self, request: IRequest) -> bytes:
        request.setHeader(*ALLOW_ORIGIN)
        request.setHeader(b"cache-control", REVALIDATE)
        request.setResponseCode(404)
        request.setHeader(b"content-type", JSON)
        return jsonBody({"error": NOT_FOUND})


class UsersAPI(Resource):
    """
    C{/api/users} lists the users; C{/api/users/USER} is a L{UserAPI}.

    @ivar policy: how the back-end is asked.
    """

    def __init__(self, service: IFingerService, policy: LookupPolicy) -> None:
        super().__init__()
        self.service = service
        self.policy = policy

    def getChild(self, path: bytes, request: IRequest) -> IResource:
        if path == b"":
            return self
        return UserAPI(self.service, path, self.policy)

    def render_GET(self, request: Request) -> object:
        return serve(
            request,
            self.policy,
            self.service.getUsers,
            lambda users: tagged(request, usersJSON(users)),
            WebAnswers(),
        )


class UserAPI(Resource):
    """
    One user as JSON: C{{"user": NAME, "status": STATUS}}, or a 404 with
    C{{"error": "No such user", "user": NAME}}.
    """

    isLeaf = True

    def __init__(self, service: IFingerService, segment: bytes, policy: LookupPolicy) -> None:
        super().__init__()
        self.service = service
        self.policy = policy
        self.user, self.valid = userName(segment)

    def render_GET(self, request: Request) -> object:
        user = self.user
        # A 404 too must be checked again: the user may come.
        request.setHeader(b"cache-control", REVALIDATE)

        def ask() -> "Deferred[str]":
            if not self.valid or request.postpath:
                raise UnknownUser(user)
            return self.service.getUser(user)

        return serve(
            request,
            self.policy,
            ask,
            lambda status: tagged(request, userJSON(user, status)),
            JSONAnswers(user),
        )


def listingDenied(request: IRequest) -> bytes:
    """
    The JSON C{403} of a list of users asked for with listing off.
    """
    request.setResponseCode(403)
    request.setHeader(b"content-type", JSON)
    return jsonBody({"error": LISTING_DENIED})


class UnlistedUsersAPI(UsersAPI):
    """
    C{/api/users} when listing is off: a JSON C{403}; C{/api/users/USER}
    still answers.
    """

    def render_GET(self, request: Request) -> bytes:
        return listingDenied(request)
