# -*- test-case-name: tests.test_auth -*-
"""
Who may set statuses: C{--auth} (from L{twisted.cred.strcred}), C{--admins}
and C{--login-delay}, read into L{LoginConfig}; and the one L{SetterLogin}
the setter, XML-RPC and Perspective Broker share.
"""

from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Tuple

from twisted.cred.checkers import ICredentialsChecker
from twisted.internet.interfaces import IReactorTime
from twisted.python import usage

from finger.app.coerce import number
from finger.auth import SetterLogin, setterPortal
from finger.interfaces import IFingerSetterService
from finger.names import InvalidUserName, checkUserName
from finger.net.clients import ClientKey

optParameters: List[List[Any]] = [
    [
        "admins",
        None,
        "",
        "With --auth: users (comma-separated) who may set anyone's status.",
    ],
    [
        "login-delay",
        None,
        2.0,
        "With --auth: seconds before a failed login is answered.",
        number("--login-delay", float, 0, True, "Zero or a positive number of seconds."),
    ],
]

optFlags: List[List[Any]] = []


@dataclass(frozen=True)
class LoginConfig:
    """
    How clients log in to set statuses.

    @ivar checkers: the credentials checkers C{--auth} named.
    @ivar admins: C{--admins}, the users who may set anyone's status.
    @ivar delay: C{--login-delay}, the seconds before a failed login is
        answered.
    """

    checkers: Tuple[ICredentialsChecker, ...]
    admins: Tuple[str, ...]
    delay: float

    @classmethod
    def fromOptions(cls, options: usage.Options) -> "Optional[LoginConfig]":
        """
        Check and read C{--admins} (user names, and only with C{--auth}):
        L{None} without C{--auth}, when setting needs no password.
        """
        try:
            admins = tuple(
                checkUserName(name.strip()) for name in options["admins"].split(",") if name.strip()
            )
        except InvalidUserName as e:
            raise usage.UsageError(f"--admins: {e}") from None
        checkers = tuple(options.get("credCheckers") or ())
        if admins and not checkers:
            raise usage.UsageError("--admins: only means something with --auth")
        if not checkers:
            return None
        return cls(checkers=checkers, admins=admins, delay=options["login-delay"])


def makeLogin(
    config: Optional[LoginConfig],
    backend: object,
    clock: IReactorTime,
    clientKey: ClientKey,
    failed: Optional[Callable[[str], None]] = None,
) -> Optional[SetterLogin]:
    """
    The login every front-end that sets statuses shares, or L{None} when
    setting needs no password (no C{--auth}) or the back-end cannot set.

    @param clientKey: who counts as one client for the login's turns.
    @param failed: told why each login fails (L{SetterLogin.failed}).
    """
    if config is None or not IFingerSetterService.providedBy(backend):
        return None
    portal = setterPortal(IFingerSetterService(backend), config.checkers, config.admins)
    return SetterLogin(portal, clock, delay=config.delay, clientKey=clientKey, failed=failed)
