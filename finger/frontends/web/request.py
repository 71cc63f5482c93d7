# -*- test-case-name: tests.frontends.web.test_request -*-
"""
What every resource of the web site shares: how a user is named in a URL,
and how a request is answered once the back-end has spoken (and not, if
its client left first).  How a connection and its requests are read is
L{finger.frontends.web.channel}'s.
"""

from typing import Callable, Optional, Tuple, TypeVar, Union
from urllib.parse import quote

from twisted.internet.defer import Deferred, maybeDeferred
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.iweb import IRequest
from twisted.web.server import NOT_DONE_YET, Request

from finger.lookup import LookupAnswers, LookupPolicy, firedResult
from finger.pending import Pending
from finger.messages import (
    INTERNAL_ERROR,
    NO_SUCH_USER,
    NOT_AVAILABLE_YET,
    TIMED_OUT,
)
from finger.names import isValidUserName
from finger.text import escapeForLog, printableLines

_T = TypeVar("_T")

TEXT = b"text/plain; charset=utf-8"

RETRY_AFTER = b"5"
"""
The seconds a C{503} asks a client to wait before it asks again: about as
long as a back-end takes to try its database again.
"""

Response = Tuple[int, bytes, bytes]
"""
A response: its status code, its content type and its body.
"""

Answer = Union[Response, "Deferred[Response]"]
"""
A response, now or later.
"""

log = Logger(namespace="finger.frontends.web")


def displayStatus(status: str) -> str:
    """
    A status as any part of the site shows it: its lines, without control
    characters, joined by C{"\\n"}.
    """
    return "\n".join(printableLines(status))


DOT_MARK = "@"
"""
What follows the user names C{.} and C{..} in their URL path segments.

Browsers take a segment of one or two dots for a step in the path, however
it is spelled (the URL standard reads C{%2E} as C{.}), so a link to
C{./..} leads to the site's root.  No user name holds an C{@}, so C{.@} and
C{..@} name nobody else.
"""

_DOT_SEGMENTS = {(name + DOT_MARK).encode("ascii"): name for name in (".", "..")}


def userPath(user: str) -> str:
    """
    The URL path segment for a user: UTF-8, percent-encoded, C{/} included;
    C{.} and C{..} followed by L{DOT_MARK}.
    """
    if user in (".", ".."):
        return user + DOT_MARK
    return quote(user, safe="")


def userName(segment: bytes) -> Tuple[str, bool]:
    """
    Decode a URL path segment (already percent-decoded) as a user name: the
    inverse of L{userPath}.

    @return: the name, for showing, and whether it can be a user at all.
    """
    if segment in _DOT_SEGMENTS:
        return _DOT_SEGMENTS[segment], True
    try:
        name = segment.decode("utf-8")
    except UnicodeDecodeError:
        return segment.decode("utf-8", "replace"), False
    return name, isValidUserName(name)


def plainText(code: int, sentence: str) -> Response:
    """
    A plain-text response saying C{sentence}.
    """
    return (code, TEXT, (sentence + "\n").encode("utf-8"))


class WebAnswers(LookupAnswers[Answer]):
    """
    How a page or the JSON view says that a lookup did not find what it
    asked for: a back-end that timed out, or has not read its statuses yet,
    is a C{503} (with C{Retry-After}), one that failed a C{500}, each as
    plain text; subclasses say how an unknown user looks.
    """

    def unknown(self, user: str) -> Answer:
        return plainText(404, NO_SUCH_USER)

    def timedOut(self) -> Answer:
        return plainText(503, TIMED_OUT)

    def notAvailable(self) -> Answer:
        return plainText(503, NOT_AVAILABLE_YET)

    def failed(self) -> Answer:
        return plainText(500, INTERNAL_ERROR)


def pendingFor(request: IRequest) -> Pending:
    """
    The L{Pending} of one request: what it L{tracks<Pending.track>} is
    cancelled, and comes to L{None}, if the client goes away before the
    response is finished (when L{Request.notifyFinish} fails).
    """
    pending = Pending()
    # Every request twisted.web makes has notifyFinish; IRequest omits it.
    request.notifyFinish().addErrback(pending.leave)  # type: ignore[attr-defined]
    return pending


def serve(
    request: Request,
    policy: LookupPolicy,
    ask: Callable[[], "Deferred[_T]"],
    found: Callable[[_T], Answer],
    answers: WebAnswers,
    atHand: Optional[Callable[[], Optional[_T]]] = None,
) -> object:
    """
    Answer C{request} through C{policy}: what C{ask} gets from the back-end
    becomes a response through C{found}, or through C{answers} if the
    back-end did not find it, timed out or failed.  A response that cannot
    be made is logged and answered with a plain C{500}.  If the client goes
    away first, the work is cancelled and nothing is written.

    @param atHand: asks a back-end that holds its statuses in memory
        (L{finger.interfaces.IStatusesAtHand.statusNow}), so it is answered
        at once (L{LookupPolicy.answerNow}); C{ask} is used only if it
        returns L{None}, or if there is none.
    @return: L{NOT_DONE_YET}, for a C{render} method to return.
    """

    def respond(response: "Optional[Response]") -> None:
        if response is None:
            return
        code, contentType, body = response
        request.setResponseCode(code)
        if code == 503:
            # The back-end timed out, or has not read its statuses yet.
            request.setHeader(b"retry-after", RETRY_AFTER)
        request.setHeader(b"content-type", contentType)
        request.setHeader(b"content-length", b"%d" % (len(body),))
        request.write(body)
        request.finish()

    def failed(reason: Failure) -> None:
        log.failure("Cannot answer {uri}", reason, uri=escapeForLog(request.uri))
        respond(plainText(500, INTERNAL_ERROR))

    def settle(result: "Union[Answer, Failure]") -> object:
        if isinstance(result, Deferred):
            # An answer still to come (a back-end that waits, a page still
            # being flattened): cancelled if the client leaves first.
            pendingFor(request).track(result).addCallback(respond).addErrback(failed)  # type: ignore[call-overload]
        elif isinstance(result, Failure):
            failed(result)
        else:
            try:
                respond(result)
            except Exception:
                failed(Failure())
        return NOT_DONE_YET

    # Shown only if the policy logs a line: a request answered pays for
    # neither.
    peer = request.getClientAddress()

    def what() -> str:
        return escapeForLog(request.method + b" " + request.uri)

    if atHand is not None:
        now: "Optional[Tuple[Union[Answer, Failure]]]"
        try:
            now = policy.answerNow(atHand, found, answers, peer, what)
        except Exception:
            now = (Failure(),)
        if now is not None:
            return settle(now[0])
    d = policy.ask(maybeDeferred(ask), found, answers, peer, what)
    # The policy waits for a page that is still being flattened: a response
    # reaches respond, never a Deferred.  One answered at once needs no
    # tracking: the client cannot have left in between.
    fired = firedResult(d)
    return settle(d if fired is None else fired[0])  # type: ignore[arg-type]
