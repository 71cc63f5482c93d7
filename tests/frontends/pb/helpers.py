# -*- test-case-name: tests.frontends.pb -*-
"""
What the PB front-end's tests share: the accounts they log in with, and a
pump for the in-memory connection.
"""

from typing import Any

from twisted.cred.checkers import InMemoryUsernamePasswordDatabaseDontUse
from twisted.internet.defer import Deferred


def checker() -> InMemoryUsernamePasswordDatabaseDontUse:
    """
    The accounts the tests log in with: C{moshez}, and the admin C{root}.
    """
    return InMemoryUsernamePasswordDatabaseDontUse(moshez=b"secret", root=b"toor")



def pumped(pump: Any, d: "Deferred[Any]") -> "Deferred[Any]":
    """
    Deliver what is in flight on C{pump}'s connection, then give back C{d}.
    """
    pump.flush()
    return d
