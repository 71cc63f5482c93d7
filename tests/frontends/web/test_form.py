"""
Tests for L{finger.frontends.web.form}: the form on a user's page that sets
their status, through the real site, request parsing and all, with the
clock in the test's hands.
"""

import os
import re
import shutil
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import urlencode

from twisted.cred.checkers import ICredentialsChecker, InMemoryUsernamePasswordDatabaseDontUse
from twisted.cred.credentials import IUsernamePassword
from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.python.failure import Failure
from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from finger.app import tap
from finger.auth import FAILED_LOGIN_DELAY, LoginLimits, SetterLogin, setterPortal
from finger.backends.memory import MemoryFingerService
from finger.frontends.setter import FingerSetterFactoryFromService
from finger.frontends.web.form import MAX_FORM_BYTES, checkTemplate, sameOrigin
from finger.frontends.web.pages import UserStatusTree
from finger.frontends.web.sessions import COOKIE_NAME, IDLE_EXPIRY
from finger.frontends.web.templates import FORM_FILE, defaultTemplatesDirectory, loadTemplates
from finger.messages import (
    BODY_TOO_LARGE,
    FORM_BAD_TOKEN,
    FORM_FOREIGN_ORIGIN,
    FORM_MALFORMED,
    FORM_NEEDS_AUTH,
    FORM_NEEDS_HTTPS,
    FORM_NOT_LOGGED_IN,
    INVALID_STATUS,
    INVALID_USER_NAME,
    LOGIN_FAILED,
    NOT_ALLOWED,
)
from tests.frontends.web.helpers import Client, Response
from tests.support import connected

HOST = b"finger.example"
ORIGIN = b"https://finger.example"


@implementer(ICredentialsChecker)
class _CountingChecker:
    """
    A real checker that counts the names it is asked about.
    """

    credentialInterfaces = (IUsernamePassword,)

    def __init__(self, **users: bytes) -> None:
        self.checker = InMemoryUsernamePasswordDatabaseDontUse(**users)
        self.asked: List[bytes] = []

    def requestAvatarId(self, credentials: IUsernamePassword) -> "Deferred[Any]":
        self.asked.append(credentials.username)
        return self.checker.requestAvatarId(credentials)


def _cookie(headers: Dict[bytes, bytes]) -> Optional[bytes]:
    """
    The session id a response's C{Set-Cookie} gives, if any.
    """
    value = headers.get(b"set-cookie")
    if value is None:
        return None
    return value.split(b";")[0].split(b"=", 1)[1]


def _token(body: bytes) -> bytes:
    """
    The form token on a page.
    """
    found = re.findall(rb'name="token" value="([^"]*)"', body)
    assert found, body
    return found[0]


class _FormTestCase(SynchronousTestCase):
    """
    A site with logins for moshez and the admin root, and a form client
    over HTTPS (and one over HTTP) from 127.0.0.1.
    """

    limits = LoginLimits()

    def setUp(self) -> None:
        self.service = MemoryFingerService(moshez="happy", shawn="alive")
        self.checker = _CountingChecker(moshez=b"secret", root=b"toor")
        self.clock = Clock()
        self.login = SetterLogin(
            setterPortal(self.service, [self.checker], ["root"]), self.clock, limits=self.limits
        )
        self.tree = UserStatusTree(self.service, clock=self.clock, login=self.login)
        self.https = Client(self.tree, secure=True)
        self.http = Client(self.tree)

    def post(
        self,
        fields: Dict[str, str],
        path: bytes = b"/moshez",
        *,
        cookie: Optional[bytes] = None,
        origin: Optional[bytes] = ORIGIN,
        client: Optional[Client] = None,
        contentType: bytes = b"application/x-www-form-urlencoded",
        body: Optional[bytes] = None,
    ) -> Response:
        """
        Post a form, as a browser on the site's own page would, unless told
        otherwise; the failed login delay passes first.
        """
        headers = {b"Host": HOST, b"Content-Type": contentType}
        if origin is not None:
            headers[b"Origin"] = origin
        if cookie is not None:
            headers[b"Cookie"] = COOKIE_NAME + b"=" + cookie
        if body is None:
            body = urlencode(fields).encode("ascii")
        transport = (client or self.https).send(path, headers, b"POST", body)
        self.clock.advance(FAILED_LOGIN_DELAY)
        return Client.parse(transport.value())

    def get(self, path: bytes = b"/moshez", cookie: Optional[bytes] = None) -> Response:
        headers = {b"Host": HOST}
        if cookie is not None:
            headers[b"Cookie"] = COOKIE_NAME + b"=" + cookie
        return self.https.request(path, headers)

    def logIn(self, name: str = "moshez", password: str = "secret") -> Tuple[bytes, bytes]:
        """
        Log in; return the session id and the form token.
        """
        code, headers, body = self.post({"action": "login", "name": name, "password": password})
        self.assertEqual(code, 303, body)
        cookie = _cookie(headers)
        assert cookie is not None
        return cookie, _token(self.get(cookie=cookie)[2])

    def assertRefused(self, response: Response, code: int, sentence: str) -> None:
        self.assertEqual(response[0], code, response)
        self.assertEqual(response[2].decode("utf-8"), sentence + "\n")
        self.assertEqual(response[1][b"content-type"], b"text/plain; charset=utf-8")
        self.assertNotIn(b"set-cookie", response[1])


class OfferTests(_FormTestCase):
    def test_offered(self) -> None:
        """
        Over HTTPS with logins, a user's page offers the login form, named
        for its user, and says it is not to be cached and sends an Origin
        with its forms.
        """
        code, headers, body = self.get()
        self.assertEqual(code, 200)
        page = body.decode("utf-8")
        self.assertIn('<section class="setter">', page)
        self.assertIn('name="action" value="login"', page)
        self.assertIn('name="name" autocomplete="username" required="required" '
                      'maxlength="64" value="moshez"', page)
        self.assertIn('type="password" name="password"', page)
        self.assertNotIn('value="set"', page)
        self.assertNotIn('value="logout"', page)
        self.assertEqual(headers[b"cache-control"], b"no-store")
        self.assertEqual(headers[b"referrer-policy"], b"same-origin")
        # The rest of the page is as always.
        self.assertIn('data-live-user="moshez" data-live-empty="No status set.">happy</p>', page)

    def test_notOverHTTP(self) -> None:
        """
        Over plain HTTP the page is the usual one, without a form.
        """
        code, headers, body = self.http.request(b"/moshez", {b"Host": HOST})
        self.assertEqual(code, 200)
        self.assertNotIn(b"<form", body)
        self.assertNotIn(b'class="setter"', body)
        self.assertEqual(headers[b"referrer-policy"], b"no-referrer")

    def test_notWithoutLogins(self) -> None:
        """
        Without logins no page has a form, even over HTTPS.
        """
        client = Client(UserStatusTree(self.service, clock=self.clock), secure=True)
        code, headers, body = client.request(b"/moshez", {b"Host": HOST})
        self.assertEqual(code, 200)
        self.assertNotIn(b"<form", body)

    def test_unknownUser(self) -> None:
        """
        An unknown user's page is the usual 404, without a form.
        """
        code, headers, body = self.get(b"/nobody")
        self.assertEqual(code, 404)
        self.assertNotIn(b"<form", body)


class RefusedTests(_FormTestCase):
    def test_plainHTTP(self) -> None:
        """
        Over plain HTTP a form is refused, saying why, before any field is
        read: no password is checked.
        """
        response = self.post(
            {"action": "login", "name": "moshez", "password": "secret"},
            client=self.http,
            origin=b"http://finger.example",
        )
        self.assertRefused(response, 403, FORM_NEEDS_HTTPS)
        self.assertEqual(self.checker.asked, [])

    def test_withoutLogins(self) -> None:
        """
        Without logins a form is refused, saying why, over HTTP or HTTPS.
        """
        tree = UserStatusTree(self.service, clock=self.clock)
        for client in (Client(tree, secure=True), Client(tree)):
            response = self.post({"action": "set", "status": "x"}, client=client)
            self.assertRefused(response, 403, FORM_NEEDS_AUTH)
        self.assertEqual(self.service.users["moshez"], "happy")

    def test_foreignOrigin(self) -> None:
        """
        A form from another site, from another port or scheme of this one,
        from an opaque origin, or without an Origin, is refused before its
        password is checked.
        """
        for origin in (
            b"https://evil.example",
            b"https://finger.example:8443",
            b"http://finger.example",
            b"null",
            b"https://finger.example.evil.example",
            b"",
            None,
        ):
            response = self.post(
                {"action": "login", "name": "moshez", "password": "secret"}, origin=origin
            )
            self.assertRefused(response, 403, FORM_FOREIGN_ORIGIN)
        self.assertEqual(self.checker.asked, [])

    def test_foreignOriginLoggedIn(self) -> None:
        """
        A logged-in browser's session and token do not make a foreign form
        acceptable.
        """
        cookie, token = self.logIn()
        response = self.post(
            {"action": "set", "status": "pwned", "token": token.decode()},
            cookie=cookie,
            origin=b"https://evil.example",
        )
        self.assertRefused(response, 403, FORM_FOREIGN_ORIGIN)
        self.assertEqual(self.service.users["moshez"], "happy")

    def test_missingToken(self) -> None:
        """
        A status set without the session's token, or with another, is
        refused.
        """
        cookie, token = self.logIn()
        otherCookie, otherToken = self.logIn()
        for fields in (
            {"action": "set", "status": "x"},
            {"action": "set", "status": "x", "token": ""},
            {"action": "set", "status": "x", "token": otherToken.decode()},
            {"action": "set", "status": "x", "token": cookie.decode()},
        ):
            self.assertRefused(self.post(fields, cookie=cookie), 403, FORM_BAD_TOKEN)
        self.assertEqual(self.service.users["moshez"], "happy")

    def test_notLoggedIn(self) -> None:
        """
        Setting a status without a session, or with one that is unknown or
        has expired, is refused.
        """
        fields = {"action": "set", "status": "x", "token": "t"}
        self.assertRefused(self.post(fields), 403, FORM_NOT_LOGGED_IN)
        self.assertRefused(self.post(fields, cookie=b"guess"), 403, FORM_NOT_LOGGED_IN)
        cookie, token = self.logIn()
        self.clock.advance(IDLE_EXPIRY)
        fields["token"] = token.decode()
        self.assertRefused(self.post(fields, cookie=cookie), 403, FORM_NOT_LOGGED_IN)
        self.assertEqual(self.service.users["moshez"], "happy")

    def test_wrongPassword(self) -> None:
        """
        A wrong password is refused with the setter's words, only after the
        delay, and makes no session.
        """
        headers = {b"Host": HOST, b"Origin": ORIGIN,
                   b"Content-Type": b"application/x-www-form-urlencoded"}
        body = urlencode({"action": "login", "name": "moshez", "password": "guess"}).encode()
        transport = self.https.send(b"/moshez", headers, b"POST", body)
        self.clock.advance(FAILED_LOGIN_DELAY - 0.1)
        self.assertEqual(transport.value(), b"")
        self.clock.advance(0.1)
        self.assertRefused(Client.parse(transport.value()), 403, LOGIN_FAILED)
        self.assertEqual(self.checker.asked, [b"moshez"])

    def test_malformed(self) -> None:
        """
        A body that is not the form's fields, each once, is refused.
        """
        cookie, token = self.logIn()
        for body, contentType in (
            (b"action=set&status=x&token=" + token, b"text/plain"),
            (b"action=set&status=x&status=y&token=" + token, None),
            (b"action=set&status=%FF&token=" + token, None),
            (b"action=set&status=\xc3\xa9&token=" + token, None),
            (b"action=fly&token=" + token, None),
            (b"status=x&token=" + token, None),
            (b"action=set&token=" + token, None),
            (b"&".join(b"f%d=1" % i for i in range(20)), None),
        ):
            response = self.post(
                {},
                cookie=cookie,
                body=body,
                contentType=contentType or b"application/x-www-form-urlencoded",
            )
            self.assertRefused(response, 400, FORM_MALFORMED)
        self.assertEqual(self.service.users["moshez"], "happy")

    def test_tooLarge(self) -> None:
        """
        A body over the form's bound is refused.
        """
        cookie, token = self.logIn()
        body = b"action=set&token=" + token + b"&status=" + b"x" * MAX_FORM_BYTES
        self.assertRefused(self.post({}, cookie=cookie, body=body), 413, BODY_TOO_LARGE)
        self.assertEqual(self.service.users["moshez"], "happy")

    def test_invalidStatus(self) -> None:
        """
        A status that breaks the rules is refused as the setter refuses it.
        """
        cookie, token = self.logIn()
        code, headers, body = self.post(
            {"action": "set", "status": "bell\x07", "token": token.decode()}, cookie=cookie
        )
        self.assertEqual(code, 400)
        self.assertEqual(
            body.decode(), f"{INVALID_STATUS}: a status may not contain control characters\n"
        )
        self.assertEqual(self.service.users["moshez"], "happy")

    def test_invalidName(self) -> None:
        """
        A login name that breaks the rule is refused unchecked.
        """
        code, headers, body = self.post({"action": "login", "name": "a b", "password": "x"})
        self.assertEqual(code, 400)
        self.assertTrue(body.decode().startswith(INVALID_USER_NAME + ": "))
        self.assertEqual(self.checker.asked, [])

    def test_notAllowed(self) -> None:
        """
        A user may not set another's status; their page offers them only a
        login (as someone who may) and the logout.
        """
        cookie, token = self.logIn()
        code, headers, body = self.post(
            {"action": "set", "status": "x", "token": token.decode()}, b"/shawn", cookie=cookie
        )
        self.assertEqual(code, 403)
        self.assertTrue(body.decode().startswith(NOT_ALLOWED + ": "), body)
        self.assertEqual(self.service.users["shawn"], "alive")
        page = self.get(b"/shawn", cookie)[2]
        self.assertIn(b'value="login"', page)
        self.assertIn(b'value="logout"', page)
        self.assertNotIn(b'value="set"', page)

    def test_invalidPage(self) -> None:
        """
        A form sent below a user's page, or to a name that cannot be a
        user, is a 404.
        """
        for path in (b"/moshez/x", b"/a%00b"):
            code, headers, body = self.post({"action": "logout"}, path)
            self.assertEqual(code, 404)


class SetTests(_FormTestCase):
    def test_login(self) -> None:
        """
        A right password makes a session: a cookie for it, and the browser
        is sent back to the page, which offers the status form and the
        logout, with the session's token.
        """
        code, headers, body = self.post(
            {"action": "login", "name": "moshez", "password": "secret"}
        )
        self.assertEqual((code, body), (303, b""))
        self.assertEqual(headers[b"location"], b"moshez")
        self.assertEqual(headers[b"cache-control"], b"no-store")
        cookie = headers[b"set-cookie"]
        self.assertTrue(cookie.startswith(COOKIE_NAME + b"="))
        self.assertIn(b"; Secure", cookie)
        self.assertIn(b"; HttpOnly", cookie)
        self.assertIn(b"; SameSite=Strict", cookie)
        page = self.get(cookie=_cookie(headers))[2].decode()
        self.assertIn('value="set"', page)
        self.assertIn('value="logout"', page)
        self.assertNotIn('value="login"', page)
        self.assertIn('<strong class="login">moshez</strong>', page)
        self.assertIn('name="status" maxlength="1024" autocomplete="off" value="happy"', page)
        session = self.tree.form.sessions.get(_cookie(headers))
        assert session is not None
        self.assertEqual(re.findall(r'name="token" value="([^"]*)"', page), [session.token] * 2)

    def test_set(self) -> None:
        """
        A logged-in browser sets the status, with the same rules and log as
        the setter, and is sent back to the page, which shows it.
        """
        cookie, token = self.logIn()
        code, headers, body = self.post(
            {"action": "set", "status": "in Paris – café", "token": token.decode()},
            cookie=cookie,
        )
        self.assertEqual((code, headers[b"location"]), (303, b"moshez"))
        self.assertEqual(self.service.users["moshez"], "in Paris – café")
        self.assertIn("in Paris – café</p>", self.get(cookie=cookie)[2].decode())

    def test_admin(self) -> None:
        """
        An admin sets anyone's status, from their page.
        """
        cookie, token = self.logIn("root", "toor")
        self.assertIn(b'value="set"', self.get(b"/shawn", cookie)[2])
        code, headers, body = self.post(
            {"action": "set", "status": "fishing", "token": token.decode()},
            b"/shawn",
            cookie=cookie,
        )
        self.assertEqual((code, headers[b"location"]), (303, b"shawn"))
        self.assertEqual(self.service.users["shawn"], "fishing")

    def test_logout(self) -> None:
        """
        Logging out ends the session and tells the browser to forget it;
        its token no longer sets anything.
        """
        cookie, token = self.logIn()
        code, headers, body = self.post(
            {"action": "logout", "token": token.decode()}, cookie=cookie
        )
        self.assertEqual(code, 303)
        self.assertIn(b"Max-Age=0", headers[b"set-cookie"])
        self.assertIsNone(self.tree.form.sessions.get(cookie))
        response = self.post({"action": "set", "status": "x", "token": token.decode()},
                             cookie=cookie)
        self.assertRefused(response, 403, FORM_NOT_LOGGED_IN)

    def test_logoutNeedsToken(self) -> None:
        """
        Logging a session out needs its token: another site cannot log a
        browser out.
        """
        cookie, token = self.logIn()
        self.assertRefused(
            self.post({"action": "logout"}, cookie=cookie), 403, FORM_BAD_TOKEN
        )
        self.assertIsNotNone(self.tree.form.sessions.get(cookie))

    def test_loginAgain(self) -> None:
        """
        Logging in again, as someone else, ends the browser's old session.
        """
        cookie, token = self.logIn()
        newCookie, newToken = self.logIn("root", "toor")
        code, headers, body = self.post(
            {"action": "login", "name": "root", "password": "toor"}, cookie=cookie
        )
        self.assertEqual(code, 303)
        self.assertIsNone(self.tree.form.sessions.get(cookie))


class SharedLoginTests(_FormTestCase):
    """
    The form logs in through the one L{SetterLogin}: the same turns per
    client and budget per account as the setter protocol.
    """

    limits = LoginLimits(accountBurst=2, accountReserve=0)

    def setterLogin(self, password: str, host: str = "127.0.0.1") -> object:
        factory = FingerSetterFactoryFromService(self.service, clock=self.clock, login=self.login)
        protocol, transport = connected(factory, IPv4Address("TCP", host, 40000))
        protocol.dataReceived(f"moshez\n{password}\nfrom the setter\n".encode())
        return transport

    def test_turns(self) -> None:
        """
        A wrong password sent to the setter keeps its client's turn for the
        delay: the same client's login on the web waits for it.
        """
        self.setterLogin("guess")
        headers = {b"Host": HOST, b"Origin": ORIGIN,
                   b"Content-Type": b"application/x-www-form-urlencoded"}
        body = urlencode({"action": "login", "name": "moshez", "password": "secret"}).encode()
        transport = self.https.send(b"/moshez", headers, b"POST", body)
        self.assertEqual(self.checker.asked, [b"moshez"])
        self.clock.advance(FAILED_LOGIN_DELAY - 0.1)
        self.assertEqual(transport.value(), b"")
        self.clock.advance(0.1)
        self.assertEqual(self.checker.asked, [b"moshez", b"moshez"])
        self.assertEqual(Client.parse(transport.value())[0], 303)

    def test_budget(self) -> None:
        """
        Guesses at an account through the setter, from elsewhere, spend the
        budget the web login draws on too: then even the right password is
        refused unchecked, as on every front-end.
        """
        for host in ("192.0.2.1", "192.0.2.2"):
            self.setterLogin("guess", host)
        self.clock.advance(FAILED_LOGIN_DELAY)
        self.assertEqual(len(self.checker.asked), 2)
        response = self.post({"action": "login", "name": "moshez", "password": "secret"})
        self.assertRefused(response, 403, LOGIN_FAILED)
        self.assertEqual(len(self.checker.asked), 2)

    def test_leaving(self) -> None:
        """
        A browser that leaves while its login waits for its turn gives the
        turn up: its login is never checked.
        """
        self.setterLogin("guess")
        headers = {b"Host": HOST, b"Origin": ORIGIN,
                   b"Content-Type": b"application/x-www-form-urlencoded"}
        body = urlencode({"action": "login", "name": "moshez", "password": "secret"}).encode()
        protocol, transport = self.https.connect()
        head = b"".join(name + b": " + value + b"\r\n" for name, value in headers.items())
        protocol.dataReceived(  # type: ignore[attr-defined]
            b"POST /moshez HTTP/1.0\r\n" + head + b"Content-Length: %d\r\n\r\n" % len(body) + body
        )
        self.assertEqual(len(self.login.turns[next(iter(self.login.turns))].lock.waiting), 1)
        protocol.connectionLost(Failure(ConnectionDone()))  # type: ignore[attr-defined]
        self.clock.advance(FAILED_LOGIN_DELAY * 2)
        self.assertEqual(self.checker.asked, [b"moshez"])
        self.assertEqual(self.login.turns, {})


class SameOriginTests(SynchronousTestCase):
    """
    L{sameOrigin} compares the C{Origin} with the scheme the request came
    over and the C{Host} it was sent to.
    """

    def check(self, origin: Optional[bytes], host: Optional[bytes], secure: bool = True) -> bool:
        from twisted.web.test.requesthelper import DummyRequest

        request: Any = DummyRequest([b""])
        request.isSecure = lambda: secure
        for name, value in ((b"origin", origin), (b"host", host)):
            if value is not None:
                request.requestHeaders.setRawHeaders(name, [value])
        return sameOrigin(request)

    def test_same(self) -> None:
        self.assertTrue(self.check(b"https://finger.example", b"finger.example"))
        self.assertTrue(self.check(b"https://FINGER.example", b"finger.example:443"))
        self.assertTrue(self.check(b"https://127.0.0.1:8443", b"127.0.0.1:8443"))
        self.assertTrue(self.check(b"https://[::1]:8443", b"[::1]:8443"))
        self.assertTrue(self.check(b"http://finger.example", b"finger.example", secure=False))

    def test_other(self) -> None:
        self.assertFalse(self.check(b"https://finger.example", None))
        self.assertFalse(self.check(None, b"finger.example"))
        self.assertFalse(self.check(b"https://finger.example:444", b"finger.example"))
        self.assertFalse(self.check(b"https://finger.example", b"finger.example:x"))
        self.assertFalse(self.check(b"https://\xff", b"\xff"))
        self.assertFalse(self.check(b"ftp://finger.example", b"finger.example"))
        self.assertFalse(self.check(b"https://finger.example", b"finger.example", secure=False))


class TemplateTests(SynchronousTestCase):
    """
    The form's template comes from the templates directory, as the pages'
    do, and is checked when it is loaded.
    """

    def ownTemplates(self, form: Optional[str]) -> str:
        directory = self.mktemp()
        shutil.copytree(defaultTemplatesDirectory(), directory)
        path = os.path.join(directory, FORM_FILE)
        if form is None:
            os.remove(path)
        else:
            with open(path, "w") as f:
                f.write(form)
        return directory

    def test_withoutForm(self) -> None:
        """
        A templates directory without C{form.xhtml} loads, and then no page
        offers the form.
        """
        templates = loadTemplates(self.ownTemplates(None))
        self.assertIsNone(templates.form)
        service = MemoryFingerService(moshez="happy")
        login = SetterLogin(setterPortal(service, [_CountingChecker()], []), Clock())
        tree = UserStatusTree(service, clock=Clock(), login=login, templates=templates)
        code, headers, body = Client(tree, secure=True).request(b"/moshez", {b"Host": HOST})
        self.assertEqual(code, 200)
        self.assertNotIn(b"<form", body)

    def test_broken(self) -> None:
        """
        A form template that cannot be rendered is refused at start-up,
        naming its file.
        """
        for form in (
            "<section>",
            '<section xmlns:t="http://twistedmatrix.com/ns/twisted.web.template/0.1" '
            't:render="nope" />',
            '<section xmlns:t="http://twistedmatrix.com/ns/twisted.web.template/0.1">'
            '<t:slot name="nope" /></section>',
        ):
            directory = self.ownTemplates(form)
            options = tap.Options()
            with self.assertRaises(usage.UsageError) as raised:
                options.parseOptions(
                    ["--file", self.statusFile(), "--templates", directory]
                )
            self.assertIn(os.path.join(directory, FORM_FILE), str(raised.exception))

    def statusFile(self) -> str:
        path = self.mktemp()
        with open(path, "w") as f:
            f.write("moshez: happy\n")
        return path

    def test_shipped(self) -> None:
        """
        The shipped form template passes the check.
        """
        checkTemplate(loadTemplates().form)
