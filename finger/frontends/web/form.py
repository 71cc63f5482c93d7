# -*- test-case-name: tests.frontends.web.test_form -*-
"""
Setting a status from a user's page (L{StatusForm}): log in, set the
status, log out, each a form the page posts to itself.

The form is offered only over HTTPS on a server with logins (C{--auth}
and a back-end that can set statuses).  Logging in goes through the one
L{SetterLogin} the setter, XML-RPC and Perspective Broker share, so the
same guessing budget, turns and delay after a failure apply whichever way
a password is tried; setting goes through the same L{LookupPolicy} change,
with the same rules for names and statuses (L{finger.names}) and the same
sentences (L{finger.messages}).

A login makes a session (L{finger.frontends.web.sessions}), held by the
browser in a C{__Host-}, C{Secure}, C{HttpOnly}, C{SameSite=Strict}
cookie.  Every form sent is checked, in this order, and the first
refusal is answered with its sentence, as plain text:

    1. the server has logins (C{403} L{FORM_NEEDS_AUTH}) and the request
       came over HTTPS (C{403} L{FORM_NEEDS_HTTPS}): over plain HTTP not a
       field is read;
    2. its C{Origin} is this site's own (C{403} L{FORM_FOREIGN_ORIGIN}):
       browsers send one with every form, and no other site can make
       them send ours;
    3. its body is at most L{MAX_FORM_BYTES} (C{413}), URL-encoded UTF-8
       fields, each at most once (C{400} L{FORM_MALFORMED});
    4. setting and logging out need a live session (C{403}
       L{FORM_NOT_LOGGED_IN}) and its token in the form (C{403}
       L{FORM_BAD_TOKEN});

then the login, the status change or the logout is made, and the browser
is sent back to the page (C{303 See Other}), which shows the new status.
"""

from typing import Any, Dict, List, Optional, Union
from urllib.parse import parse_qs, urlsplit

from twisted.cred.error import UnauthorizedLogin
from twisted.internet.defer import CancelledError, Deferred, maybeDeferred
from twisted.internet.task import Clock
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.iweb import IRequest, ITemplateLoader
from twisted.web.server import NOT_DONE_YET, Request
from twisted.web.template import Element, Tag, flattenString, renderer

from finger.auth import SetterLogin
from finger.frontends.web.request import Answer, Response, displayStatus, plainText, userPath
from finger.frontends.web.sessions import COOKIE_NAME, Session, SessionTable, sessionCookie
from finger.frontends.web.elements import UserElement
from finger.frontends.web.templates import TemplateError
from finger.interfaces import IFingerSetterService
from finger.lookup import LookupPolicy, SetAnswers, Unsaved
from finger.messages import (
    BODY_TOO_LARGE,
    FORM_BAD_TOKEN,
    FORM_FOREIGN_ORIGIN,
    FORM_MALFORMED,
    FORM_NEEDS_AUTH,
    FORM_NEEDS_HTTPS,
    FORM_NOT_LOGGED_IN,
    INTERNAL_ERROR,
    INVALID_STATUS,
    INVALID_USER_NAME,
    LOGIN_FAILED,
)
from finger.names import InvalidStatus, InvalidUserName, checkStatus, checkUserName
from finger.text import formatPeer

__all__ = ["MAX_FORM_BYTES", "StatusForm", "checkTemplate", "sameOrigin"]

MAX_FORM_BYTES = 16384
"""
The largest form body taken: room for the longest status (1,024
characters of up to 4 UTF-8 bytes, each percent-encoded in 3) and the
other fields.
"""

_MAX_FIELDS = 8

URLENCODED = b"application/x-www-form-urlencoded"

# The headers of every answer about the form: nothing of it is cached,
# and the page's forms send an Origin (under "no-referrer", browsers send
# "Origin: null" with a form).
_PRIVATE = {b"cache-control": b"no-store", b"referrer-policy": b"same-origin"}

_SET_CODES = {
    Unsaved.REFUSED: 400,
    Unsaved.NOT_ALLOWED: 403,
    Unsaved.LOGIN_FAILED: 403,
    Unsaved.NOT_SAVED: 503,
    Unsaved.TIMED_OUT: 503,
    Unsaved.FAILED: 500,
}


class _Refused(Exception):
    """
    A form refused: the response says why.
    """

    def __init__(self, code: int, sentence: str) -> None:
        super().__init__(sentence)
        self.response = plainText(code, sentence)


def _origin(url: str) -> Optional[tuple]:
    """
    A URL's origin as a comparable tuple: scheme, host, port (the
    scheme's default if none is given); L{None} if it has none.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    return (parts.scheme, parts.hostname.lower(), port)


def sameOrigin(request: IRequest) -> bool:
    """
    Did C{request} come from a page of this site: is its C{Origin} the
    origin of the URL it was sent to (the scheme it came over, its C{Host}
    header)?  A request without either is not.
    """
    origin = request.getHeader(b"origin")
    host = request.getHeader(b"host")
    if not origin or not host:
        return False
    try:
        sent, target = origin.decode("ascii"), host.decode("ascii")
    except UnicodeDecodeError:
        return False
    scheme = "https" if request.isSecure() else "http"
    expected = _origin(f"{scheme}://{target}")
    return expected is not None and _origin(sent) == expected


def _fields(request: IRequest) -> Dict[str, str]:
    """
    The form's fields, each given at most once.

    @raise _Refused: if the body is too large or not such fields.
    """
    content = request.content
    assert content is not None, "a request being rendered has its body"
    content.seek(0, 0)
    body = content.read(MAX_FORM_BYTES + 1)
    if len(body) > MAX_FORM_BYTES:
        raise _Refused(413, BODY_TOO_LARGE)
    contentType = (request.getHeader(b"content-type") or b"").split(b";")[0].strip().lower()
    if contentType != URLENCODED:
        raise _Refused(400, FORM_MALFORMED)
    try:
        parsed = parse_qs(
            body.decode("ascii"),
            keep_blank_values=True,
            errors="strict",
            max_num_fields=_MAX_FIELDS,
        )
    except ValueError:  # UnicodeDecodeError too
        raise _Refused(400, FORM_MALFORMED) from None
    if any(len(values) != 1 for values in parsed.values()):
        raise _Refused(400, FORM_MALFORMED)
    return {name: values[0] for name, values in parsed.items()}


def _field(fields: Dict[str, str], name: str) -> str:
    value = fields.get(name)
    if value is None:
        raise _Refused(400, FORM_MALFORMED)
    return value


class _FormAnswers(SetAnswers[Response]):
    """
    What a status set with the form comes to: back to the page once saved
    (a C{303} without a body; the caller adds where to), else the
    sentence.
    """

    def saved(self) -> Response:
        return (303, b"", b"")

    def unsaved(self, why: Unsaved, sentence: str) -> Response:
        return plainText(_SET_CODES[why], sentence)


class FormElement(Element):
    """
    The form on a user's page, for the browser's session, if any.
    """

    def __init__(
        self, loader: ITemplateLoader, user: str, status: str, session: Optional[Session]
    ) -> None:
        super().__init__(loader)
        self.user = user
        self.status = status
        self.session = session

    @renderer
    def form(self, request: Optional[IRequest], tag: Tag) -> Tag:
        session = self.session
        return tag.fillSlots(
            user=self.user,
            status=self.status,
            token=session.token if session is not None else "",
            login=session.login if session is not None else "",
        )

    def _editing(self) -> bool:
        return self.session is not None and self.session.mayEdit(self.user)

    @renderer
    def login(self, request: Optional[IRequest], tag: Tag) -> Union[Tag, str]:
        return "" if self._editing() else tag

    @renderer
    def edit(self, request: Optional[IRequest], tag: Tag) -> Union[Tag, str]:
        return tag if self._editing() else ""

    @renderer
    def logout(self, request: Optional[IRequest], tag: Tag) -> Union[Tag, str]:
        return tag if self.session is not None else ""


def checkTemplate(loader: Optional[ITemplateLoader], path: str = "form.xhtml") -> None:
    """
    Render the form's template once, logged out and logged in, so a
    renderer or slot it lacks is found at start-up, not by a visitor.

    @param loader: the template, or L{None} for none (nothing to check).
    @param path: the template's file, for the message.
    @raise TemplateError: naming the file, if it cannot be rendered.
    """
    if loader is None:
        return

    class Admin:
        admin = True

    session = SessionTable(Clock()).open("alice", Admin())  # type: ignore[arg-type]
    for sample in (FormElement(loader, "alice", "Happy", None),
                   FormElement(loader, "alice", "Happy", session)):
        results: List[Union[bytes, Failure]] = []
        flattenString(None, sample).addBoth(results.append)
        result = results[0] if results else None
        if not isinstance(result, bytes):
            why = result.getErrorMessage() if result is not None else "it does not finish"
            raise TemplateError(f"template {path}: cannot be rendered: {why}")


class UserFormElement(UserElement):
    """
    A user's page with the form in its C{form} slot: flattened for each
    request (the form holds the session's token), never prerendered.
    """

    def __init__(self, form: FormElement, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.form = form

    @renderer
    def page(self, request: Optional[IRequest], tag: Tag) -> Tag:
        return tag.fillSlots(form=self.form, **self.values)


class StatusForm:
    """
    The form of the users' pages: which page offers it, and what a form
    sent to a page does.

    @ivar login: how browsers log in, or L{None} when nobody may (then the
        form is never offered, and every form sent is refused).
    @ivar policy: how a status change is made and answered.
    @ivar sessions: the browsers logged in.
    @ivar loader: the form's template, or L{None}: then no page offers
        the form (a form sent is still answered).
    """

    log = Logger()

    def __init__(
        self,
        login: Optional[SetterLogin],
        policy: LookupPolicy,
        *,
        sessions: Optional[SessionTable] = None,
        loader: Optional[ITemplateLoader] = None,
    ) -> None:
        """
        @param sessions: the session table; one on the policy's clock, with
            the default expiry and bound, if L{None}.
        @param loader: the form's template (L{Templates.form
            <finger.frontends.web.templates.Templates.form>}).
        """
        self.login = login
        self.policy = policy
        self.sessions = sessions if sessions is not None else SessionTable(policy.clock)
        self.loader = loader

    def offered(self, request: IRequest) -> bool:
        """
        Does the page C{request} asks for offer the form?
        """
        return self.login is not None and self.loader is not None and request.isSecure()

    def session(self, request: IRequest) -> Optional[Session]:
        """
        The live session whose cookie C{request} carries, if any.
        """
        return self.sessions.get(request.getCookie(COOKIE_NAME))  # type: ignore[attr-defined]

    def page(self, request: IRequest, user: str, status: str, **userPage: Any) -> Element:
        """
        The page of C{user} with the form, for C{request}'s session.

        @param userPage: the rest of L{UserElement}'s arguments.
        """
        for name, value in _PRIVATE.items():
            request.setHeader(name, value)
        assert self.loader is not None, "the form is offered only with its template"
        form = FormElement(self.loader, user, displayStatus(status), self.session(request))
        return UserFormElement(form, user=user, status=status, **userPage)

    def render_POST(self, request: Request, user: str) -> object:
        """
        Answer a form sent to C{user}'s page.
        """
        for name, value in _PRIVATE.items():
            request.setHeader(name, value)
        gone: List[bool] = []
        request.notifyFinish().addErrback(lambda reason: gone.append(True))

        def respond(response: Response) -> None:
            if gone:
                return
            code, contentType, body = response
            request.setResponseCode(code)
            if code == 303:
                # Back to the page, relative to this one: a proxy's path
                # prefix stays.  Browsers follow it; there is nothing to
                # read.
                request.setHeader(b"location", userPath(user).encode("ascii"))
            else:
                request.setHeader(b"content-type", contentType)
            request.setHeader(b"content-length", b"%d" % (len(body),))
            request.write(body)
            request.finish()

        def failed(reason: Failure) -> None:
            self.log.failure("Cannot answer a form for {user!r}", reason, user=user)
            respond(plainText(500, INTERNAL_ERROR))

        try:
            answer = self._answer(request, user)
        except _Refused as refused:
            respond(refused.response)
            return NOT_DONE_YET
        if isinstance(answer, tuple):
            respond(answer)
        else:
            answer.addCallbacks(respond, failed)
        return NOT_DONE_YET

    def _answer(self, request: Request, user: str) -> Answer:
        if self.login is None:
            raise _Refused(403, FORM_NEEDS_AUTH)
        if not request.isSecure():
            raise _Refused(403, FORM_NEEDS_HTTPS)
        if not sameOrigin(request):
            self.log.info(
                "Refused a form for {user!r} from {peer}: its Origin {origin!r} is not this site",
                user=user,
                peer=formatPeer(request.getClientAddress()),
                origin=request.getHeader(b"origin"),
            )
            raise _Refused(403, FORM_FOREIGN_ORIGIN)
        fields = _fields(request)
        action = _field(fields, "action")
        if action == "login":
            return self._logIn(request, self.login, fields)
        session = self.session(request)
        if action == "logout":
            if session is not None:
                self._checkToken(session, fields)
                self.sessions.close(session)
            request.responseHeaders.addRawHeader(b"set-cookie", sessionCookie(None))
            return (303, b"", b"")
        if action == "set":
            if session is None:
                raise _Refused(403, FORM_NOT_LOGGED_IN)
            self._checkToken(session, fields)
            return self._set(request, session, user, _field(fields, "status"))
        raise _Refused(400, FORM_MALFORMED)

    def _checkToken(self, session: Session, fields: Dict[str, str]) -> None:
        if not session.checkToken(fields.get("token")):
            raise _Refused(403, FORM_BAD_TOKEN)

    def _logIn(self, request: Request, login: SetterLogin, fields: Dict[str, str]) -> Answer:
        try:
            name = checkUserName(_field(fields, "name"))
        except InvalidUserName as e:
            raise _Refused(400, f"{INVALID_USER_NAME}: {e}") from None
        password = _field(fields, "password")
        old = self.session(request)
        checking = login.login(name, password, request.getClientAddress())
        # A login still waiting for its turn when the browser leaves gives
        # up its place (see SetterLogin).
        request.notifyFinish().addErrback(lambda reason: checking.cancel())

        def loggedIn(setter: IFingerSetterService) -> Response:
            if old is not None:
                self.sessions.close(old)
            session = self.sessions.open(name, setter)
            request.responseHeaders.addRawHeader(b"set-cookie", sessionCookie(session))
            return (303, b"", b"")

        def refused(reason: Failure) -> Response:
            # Cancelled only when the browser left: nobody reads the answer.
            reason.trap(UnauthorizedLogin, CancelledError)
            return plainText(403, LOGIN_FAILED)

        return checking.addCallbacks(loggedIn, refused)

    def _set(self, request: Request, session: Session, user: str, status: str) -> Answer:
        try:
            checkStatus(status)
        except InvalidStatus as e:
            raise _Refused(400, f"{INVALID_STATUS}: {e}") from None
        saving: "Deferred[None]" = maybeDeferred(session.setter.setUser, user, status)
        return self.policy.change(
            saving,
            _FormAnswers(),
            request.getClientAddress(),
            "setting a status with the web form",
            user=user,
            login=session.login,
        )
