# -*- test-case-name: tests.frontends.web.test_sessions -*-
"""
The web form's sessions (L{SessionTable}): who logged in from a browser,
kept in memory by an unguessable id that the browser holds in a cookie.

A session is made only by a right password (through the one
L{finger.auth.SetterLogin}); it ends when its user logs out, when it has
been idle for L{IDLE_EXPIRY} seconds (on the clock the table is given), or
when the table is full and it is the least lately used.  Each session has
its own form token, which every state-changing request made with it must
carry (L{Session.checkToken}).

The ids and tokens are 256 random bits from L{secrets}; the cookie that
holds the id is C{__Host-} prefixed, C{Secure}, C{HttpOnly} and
C{SameSite=Strict} (L{sessionCookie}), so it is only ever sent over HTTPS,
to this host, by this site's own pages, and no script can read it.
"""

import hmac
import secrets
from collections import OrderedDict
from typing import Optional

from twisted.internet.interfaces import IReactorTime

from finger.interfaces import IFingerSetterService

IDLE_EXPIRY = 30 * 60.0
"""
Seconds a session may go unused before it ends.
"""

MAX_SESSIONS = 10_000
"""
The most sessions kept at once; beyond, the least lately used ends.
"""

COOKIE_NAME = b"__Host-finger-session"
"""
The session cookie's name.  The C{__Host-} prefix makes browsers keep it
only if it is C{Secure}, set over HTTPS, for the path C{/} and no other
domain: no other site, and no plain-HTTP answer, can set or replace it.
"""

_ID_BYTES = 32


class Session:
    """
    One browser logged in as one user.

    @ivar id: the cookie's value: 256 random bits, URL-safe.
    @ivar token: the form token every state-changing request of this
        session carries: 256 random bits too, and not the id, so a page
        that shows it never shows the cookie's secret.
    @ivar login: who logged in.
    @ivar setter: what sets statuses as C{login} may (the avatar the login
        gave).
    @ivar lastUsed: when the session was last used, on the table's clock.
    """

    __slots__ = ("id", "token", "login", "setter", "lastUsed")

    def __init__(self, login: str, setter: IFingerSetterService, now: float) -> None:
        self.id = secrets.token_urlsafe(_ID_BYTES)
        self.token = secrets.token_urlsafe(_ID_BYTES)
        self.login = login
        self.setter = setter
        self.lastUsed = now

    def checkToken(self, token: Optional[str]) -> bool:
        """
        Is C{token} this session's form token?  Compared in constant time.
        """
        if token is None:
            return False
        return hmac.compare_digest(token.encode("utf-8"), self.token.encode("ascii"))

    def mayEdit(self, user: str) -> bool:
        """
        May this session set C{user}'s status (its own, or anyone's for an
        admin)?  The avatar decides again when the status is set; this only
        says which form a page shows.
        """
        return user == self.login or bool(getattr(self.setter, "admin", False))


class SessionTable:
    """
    The sessions of one web site, by id, least lately used first.

    @ivar clock: what idle time is measured on.
    @ivar idleExpiry: seconds a session may go unused.
    @ivar maxSessions: the most sessions kept.
    """

    def __init__(
        self,
        clock: IReactorTime,
        *,
        idleExpiry: float = IDLE_EXPIRY,
        maxSessions: int = MAX_SESSIONS,
    ) -> None:
        if idleExpiry <= 0 or maxSessions < 1:
            raise ValueError("a session table keeps at least one session, for some time")
        self.clock = clock
        self.idleExpiry = idleExpiry
        self.maxSessions = maxSessions
        self._sessions: "OrderedDict[str, Session]" = OrderedDict()

    def __len__(self) -> int:
        return len(self._sessions)

    def open(self, login: str, setter: IFingerSetterService) -> Session:
        """
        Start a session for C{login}, who has just given the right
        password; end the least lately used one if the table is full.
        """
        self._expire()
        while len(self._sessions) >= self.maxSessions:
            self._sessions.popitem(last=False)
        session = Session(login, setter, self.clock.seconds())
        self._sessions[session.id] = session
        return session

    def get(self, sessionId: Optional[bytes]) -> Optional[Session]:
        """
        The live session whose id is C{sessionId} (a cookie's value), now
        used again; or L{None} if there is none, or it was idle too long
        (then it ends).
        """
        if not sessionId:
            return None
        try:
            key = sessionId.decode("ascii")
        except UnicodeDecodeError:
            return None
        session = self._sessions.get(key)
        if session is None:
            return None
        now = self.clock.seconds()
        if now - session.lastUsed >= self.idleExpiry:
            del self._sessions[key]
            return None
        session.lastUsed = now
        self._sessions.move_to_end(key)
        return session

    def close(self, session: Session) -> None:
        """
        End C{session} (its user logged out).
        """
        self._sessions.pop(session.id, None)

    def _expire(self) -> None:
        """
        End the sessions idle too long: the least lately used come first,
        so this stops at the first one still live.
        """
        limit = self.clock.seconds() - self.idleExpiry
        sessions = self._sessions
        while sessions:
            oldest = next(iter(sessions.values()))
            if oldest.lastUsed > limit:
                return
            sessions.popitem(last=False)


def sessionCookie(session: Optional[Session]) -> bytes:
    """
    The C{Set-Cookie} value that gives a browser C{session}'s id, or, for
    L{None}, that makes it forget the one it has.  Without C{Max-Age} the
    browser keeps the id until it closes; the table ends it sooner if it
    goes unused.
    """
    attributes = b"; Path=/; Secure; HttpOnly; SameSite=Strict"
    if session is None:
        return COOKIE_NAME + b"=" + attributes + b"; Max-Age=0"
    return COOKIE_NAME + b"=" + session.id.encode("ascii") + attributes
