# -*- test-case-name: tests.test_auth -*-
"""
Who may set statuses: C{--auth} (from L{twisted.cred.strcred}), C{--admins}
and C{--login-delay}, and the one L{SetterLogin} the setter, XML-RPC and
Perspective Broker share.
"""

from typing import Any, List, Optional

from twisted.python import usage

from finger.app.coerce import number
from finger.app.listening import clientKey
from finger.auth import SetterLogin, setterPortal
from finger.interfaces import IFingerSetterService
from finger.names import InvalidUserName, checkUserName

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


def checkOptions(options: usage.Options, reactor: Any) -> None:
    """
    Check C{--admins}: user names, and only with C{--auth}.
    """
    try:
        options["admins"] = [
            checkUserName(name.strip()) for name in options["admins"].split(",") if name.strip()
        ]
    except InvalidUserName as e:
        raise usage.UsageError(f"--admins: {e}") from None
    if options["admins"] and not options.get("credCheckers"):
        raise usage.UsageError("--admins: only means something with --auth")


def makeLogin(backend: Any, options: usage.Options, reactor: Any) -> Optional[SetterLogin]:
    """
    The login every front-end that sets statuses shares, or L{None} when
    setting needs no password (no C{--auth}) or the back-end cannot set.
    """
    if not options.get("credCheckers") or not IFingerSetterService.providedBy(backend):
        return None
    portal = setterPortal(backend, options["credCheckers"], options["admins"])
    return SetterLogin(
        portal, reactor, delay=options["login-delay"], clientKey=clientKey(options)
    )
