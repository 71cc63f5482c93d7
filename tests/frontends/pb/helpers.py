# -*- test-case-name: tests.frontends.pb -*-
"""
What the PB front-end's tests share: the accounts they log in with, a
back-end whose saves wait for the test, and a pump for the in-memory
connection.
"""

from typing import Any, List

from twisted.cred.checkers import InMemoryUsernamePasswordDatabaseDontUse
from twisted.internet.defer import Deferred

from finger.backends.memory import MemoryFingerService


def checker() -> InMemoryUsernamePasswordDatabaseDontUse:
    """
    The accounts the tests log in with: C{moshez}, and the admin C{root}.
    """
    return InMemoryUsernamePasswordDatabaseDontUse(moshez=b"secret", root=b"toor")


class HeldSetterService(MemoryFingerService):
    """
    A back-end whose saves wait until the test fires them, as a status file
    waits for the disk.
    """

    def __init__(self, **users: str) -> None:
        super().__init__(**users)
        self.saving: List["Deferred[None]"] = []

    def setUser(self, user: str, status: str) -> "Deferred[None]":
        d: "Deferred[None]" = Deferred()

        def save(result: None) -> None:
            self.users[user] = status

        d.addCallback(save)
        self.saving.append(d)
        return d



def pumped(pump: Any, d: "Deferred[Any]") -> "Deferred[Any]":
    """
    Deliver what is in flight on C{pump}'s connection, then give back C{d}.
    """
    pump.flush()
    return d
