"""
Tests for L{finger.frontends.web.sessions}: the web form's session table,
its expiry on the clock, its bound, its tokens and its cookie.
"""

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from finger.backends.memory import MemoryFingerService
from finger.frontends.web.sessions import (
    COOKIE_NAME,
    IDLE_EXPIRY,
    SessionTable,
    sessionCookie,
)


class SessionTableTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.setter = MemoryFingerService(moshez="happy")
        self.table = SessionTable(self.clock)

    def test_open(self) -> None:
        """
        A session is found by its id, which is long, random and not its
        token; each session has its own id and token.
        """
        one = self.table.open("moshez", self.setter)
        two = self.table.open("moshez", self.setter)
        self.assertIs(self.table.get(one.id.encode("ascii")), one)
        self.assertIs(self.table.get(two.id.encode("ascii")), two)
        self.assertEqual(len({one.id, two.id, one.token, two.token}), 4)
        for secret in (one.id, one.token):
            # 256 bits, URL-safe base64.
            self.assertGreaterEqual(len(secret), 43)
        self.assertEqual((one.login, one.setter), ("moshez", self.setter))

    def test_unknown(self) -> None:
        """
        No id, an unknown one, and bytes that are no id at all find nothing.
        """
        self.table.open("moshez", self.setter)
        for sessionId in (None, b"", b"nope", b"\xff\xfe", b"x" * 10000):
            self.assertIsNone(self.table.get(sessionId))

    def test_idleExpiry(self) -> None:
        """
        A session ends once it has gone unused for the idle expiry; each use
        starts the time again.
        """
        session = self.table.open("moshez", self.setter)
        key = session.id.encode("ascii")
        self.clock.advance(IDLE_EXPIRY - 1)
        self.assertIs(self.table.get(key), session)
        self.clock.advance(IDLE_EXPIRY - 1)
        self.assertIs(self.table.get(key), session)
        self.clock.advance(IDLE_EXPIRY)
        self.assertIsNone(self.table.get(key))
        self.assertEqual(len(self.table), 0)

    def test_expiredForgotten(self) -> None:
        """
        Sessions idle too long are forgotten when a new one opens, even if
        nobody asks for them again.
        """
        table = SessionTable(self.clock, idleExpiry=10)
        for _ in range(5):
            table.open("moshez", self.setter)
        self.clock.advance(5)
        live = table.open("moshez", self.setter)
        self.clock.advance(6)
        table.open("moshez", self.setter)
        self.assertEqual(len(table), 2)
        self.assertIs(table.get(live.id.encode("ascii")), live)

    def test_bound(self) -> None:
        """
        A full table ends its least lately used session to open a new one.
        """
        table = SessionTable(self.clock, maxSessions=3)
        first, second, third = (table.open("moshez", self.setter) for _ in range(3))
        self.clock.advance(1)
        table.get(first.id.encode("ascii"))
        fourth = table.open("moshez", self.setter)
        self.assertEqual(len(table), 3)
        self.assertIsNone(table.get(second.id.encode("ascii")))
        for session in (first, third, fourth):
            self.assertIs(table.get(session.id.encode("ascii")), session)

    def test_close(self) -> None:
        """
        A closed session is gone; closing it again does nothing.
        """
        session = self.table.open("moshez", self.setter)
        self.table.close(session)
        self.table.close(session)
        self.assertIsNone(self.table.get(session.id.encode("ascii")))

    def test_settings(self) -> None:
        """
        A table holds at least one session, for some time.
        """
        self.assertRaises(ValueError, SessionTable, self.clock, maxSessions=0)
        self.assertRaises(ValueError, SessionTable, self.clock, idleExpiry=0)


class TokenTests(SynchronousTestCase):
    def setUp(self) -> None:
        table = SessionTable(Clock())
        self.session = table.open("moshez", MemoryFingerService())

    def test_right(self) -> None:
        self.assertTrue(self.session.checkToken(self.session.token))

    def test_wrong(self) -> None:
        """
        A missing, empty, other, truncated or non-ASCII token is wrong, and
        so is the session's id.
        """
        token = self.session.token
        for wrong in (None, "", "x", token[:-1], token + "x", "é" + token, self.session.id):
            self.assertFalse(self.session.checkToken(wrong), wrong)

    def test_mayEdit(self) -> None:
        """
        A session may edit its own user's status; an admin's anyone's.
        """
        self.assertTrue(self.session.mayEdit("moshez"))
        self.assertFalse(self.session.mayEdit("shawn"))

        class Admin:
            admin = True

        admin = SessionTable(Clock()).open("root", Admin())  # type: ignore[arg-type]
        self.assertTrue(admin.mayEdit("shawn"))


class CookieTests(SynchronousTestCase):
    def test_cookie(self) -> None:
        """
        The cookie is the session's id, C{__Host-} prefixed, for the whole
        site, sent only over HTTPS, out of scripts' reach, and only with
        the site's own requests.
        """
        session = SessionTable(Clock()).open("moshez", MemoryFingerService())
        cookie = sessionCookie(session)
        self.assertTrue(COOKIE_NAME.startswith(b"__Host-"))
        value, *attributes = cookie.split(b"; ")
        self.assertEqual(value, COOKIE_NAME + b"=" + session.id.encode("ascii"))
        self.assertEqual(
            sorted(attributes), [b"HttpOnly", b"Path=/", b"SameSite=Strict", b"Secure"]
        )

    def test_forget(self) -> None:
        """
        Without a session, the cookie tells the browser to forget its own.
        """
        value, *attributes = sessionCookie(None).split(b"; ")
        self.assertEqual(value, COOKIE_NAME + b"=")
        self.assertIn(b"Max-Age=0", attributes)
        self.assertIn(b"Secure", attributes)
        self.assertIn(b"Path=/", attributes)
