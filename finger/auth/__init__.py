# -*- test-case-name: tests.test_auth -*-
"""
Who may change a status, and logging in to do it, with L{twisted.cred}.

Every front-end that sets statuses with C{--auth} on (the setter protocol,
XML-RPC over HTTPS, Perspective Broker) logs in the same way: a
L{SetterLogin}, slow when a login fails and bounding how fast passwords can
be guessed, checks names and passwords with the L{twisted.cred.portal.Portal}
of L{setterPortal}, whose L{FingerSetterRealm} hands back an avatar that may
set only its own user's status, unless that user is one of the admins.

Where each part lives
=====================

  - L{finger.auth.realm}: the portal, the realm and its avatar
    (L{AuthorizedSetter}), and who may set what (L{NotAllowed});
  - L{finger.auth.login}: logging in (L{SetterLogin}), and the bounds on
    guessing (L{LoginLimits}), which its docstring explains.
"""

from finger.auth import login, realm
from finger.auth.login import (
    ACCOUNT_BURST,
    ACCOUNT_GUESSES_PER_MINUTE,
    ACCOUNT_RESERVE,
    FAILED_LOGIN_DELAY,
    LOGIN_FAILED,
    MAX_LOGIN_KEYS,
    MAX_QUEUED_LOGINS,
    TRUST_PERIOD,
    LoginLimits,
    SetterLogin,
)
from finger.auth.realm import (
    AuthorizedSetter,
    FingerSetterRealm,
    NotAllowed,
    bytesCredentials,
    setterPortal,
)

__all__ = login.__all__ + realm.__all__
