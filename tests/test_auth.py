"""
Tests for L{finger.auth}.
"""

from twisted.cred import strcred
from twisted.cred.checkers import InMemoryUsernamePasswordDatabaseDontUse
from twisted.cred.credentials import UsernamePassword
from twisted.cred.error import UnauthorizedLogin
from twisted.internet.task import Clock
from twisted.logger import capturedLogs
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from finger.auth import (
    LOGIN_FAILED,
    AuthorizedSetter,
    NotAllowed,
    SetterLogin,
    setterPortal,
)
from finger.interfaces import IFingerSetterService
from finger.backends.memory import MemoryFingerService


def _checker() -> InMemoryUsernamePasswordDatabaseDontUse:
    checker = InMemoryUsernamePasswordDatabaseDontUse(moshez=b"secret", root=b"toor")
    checker.addUser("zoë".encode(), "mot de passe".encode())
    return checker


class SetterLoginTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.service = MemoryFingerService(moshez="happy", shawn="alive")
        self.clock = Clock()
        self.login = SetterLogin(setterPortal(self.service, [_checker()], ["root"]), self.clock)

    def test_ownStatus(self) -> None:
        """
        A user who logs in may set their own status.
        """
        setter = self.successResultOf(self.login.login("moshez", "secret", "peer"))
        self.assertTrue(verifyObject(IFingerSetterService, setter))
        self.successResultOf(setter.setUser("moshez", "busy"))
        self.assertEqual(self.service.users["moshez"], "busy")

    def test_memoryOption(self) -> None:
        """
        C{--auth memory:moshez:secret} lets moshez in:
        Twisted's factory stores names and passwords as text, which never
        matched the bytes of the credentials.
        """
        from twisted.cred import strcred

        login = SetterLogin(
            setterPortal(self.service, [strcred.makeChecker("memory:moshez:secret:zoë:là")], []),
            self.clock,
        )
        setter = self.successResultOf(login.login("moshez", "secret", "peer"))
        self.successResultOf(setter.setUser("moshez", "busy"))
        self.assertEqual(self.service.users["moshez"], "busy")
        self.successResultOf(login.login("zoë", "là", "peer"))
        d = login.login("moshez", "wrong", "peer")
        self.clock.advance(10)
        self.failureResultOf(d, UnauthorizedLogin)

    def test_utf8(self) -> None:
        setter = self.successResultOf(self.login.login("zoë", "mot de passe", "peer"))
        self.successResultOf(setter.setUser("zoë", "là"))

    def test_othersRefused(self) -> None:
        """
        A user who is not an admin may not set anyone else's status.
        """
        setter = self.successResultOf(self.login.login("moshez", "secret", "peer"))
        failure = self.failureResultOf(setter.setUser("shawn", "hacked"), NotAllowed)
        self.assertIn("moshez may not set the status of shawn", failure.getErrorMessage())
        self.assertEqual(self.service.users["shawn"], "alive")

    def test_admin(self) -> None:
        setter = self.successResultOf(self.login.login("root", "toor", "peer"))
        assert isinstance(setter, AuthorizedSetter)
        self.assertTrue(setter.admin)
        self.successResultOf(setter.setUser("shawn", "away"))
        self.assertEqual(self.service.users["shawn"], "away")

    def test_wrongPassword(self) -> None:
        """
        A wrong password or an unknown name fails with the same generic
        message, only after the delay, and is logged.
        """
        for name, password in [("moshez", "wrong"), ("nobody", "secret")]:
            with capturedLogs() as events:
                d = self.login.login(name, password, "10.0.0.1:5")
            self.assertNoResult(d)
            self.clock.advance(self.login.delay)
            failure = self.failureResultOf(d, UnauthorizedLogin)
            self.assertEqual(failure.getErrorMessage(), LOGIN_FAILED)
            [event] = [e for e in events if "Failed login" in e["log_format"]]
            self.assertEqual(event["peer"], "10.0.0.1:5")
            self.assertNotIn(password, repr(event))

    def test_authenticate(self) -> None:
        """
        L{SetterLogin.authenticate} takes credentials a front-end decoded
        (HTTP Basic gives bytes); a name that is not UTF-8 fails like any
        wrong login, after the delay, and is logged readably.
        """
        setter = self.successResultOf(
            self.login.authenticate(UsernamePassword(b"moshez", b"secret"), "peer")
        )
        self.successResultOf(setter.setUser("moshez", "busy"))
        with capturedLogs() as events:
            d = self.login.authenticate(UsernamePassword(b"\xff\x1b[2J", b"x"), "10.0.0.1:5")
        self.assertNoResult(d)
        self.clock.advance(self.login.delay)
        self.assertEqual(self.failureResultOf(d, UnauthorizedLogin).getErrorMessage(), LOGIN_FAILED)
        [event] = [e for e in events if "Failed login" in e["log_format"]]
        self.assertEqual(event["name"], "\ufffd\x1b[2J")

    def test_memoryAuthOption(self) -> None:
        """
        C{--auth memory:...} (strcred's memory checker, which keeps L{str}
        names) logs in with the bytes front-ends send, non-ASCII included.
        """
        checker = strcred.makeChecker("memory:moshez:secret:zoë:là")
        login = SetterLogin(setterPortal(self.service, [checker], []), self.clock)
        self.successResultOf(login.login("moshez", "secret", "peer"))
        self.successResultOf(login.authenticate(UsernamePassword("zoë".encode(), "là".encode()), "peer"))
        d = login.login("moshez", "wrong", "peer")
        self.clock.advance(login.delay)
        self.failureResultOf(d, UnauthorizedLogin)
