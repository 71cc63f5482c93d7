# -*- test-case-name: tests.backends.test_asking -*-
"""
What every back-end that keeps no statuses of its own shares: it asks
elsewhere (a web server, another finger server, a program) for each one.
"""

from typing import Callable, List

from twisted.application import service
from twisted.internet.defer import Deferred, DeferredSemaphore, fail, succeed
from zope.interface import implementer

from finger.interfaces import IFingerService, UnknownUser
from finger.names import isValidUserName


@implementer(IFingerService)
class AskingFingerService(service.Service):
    """
    A back-end that asks elsewhere for each user's status.

    A name that breaks the naming rules is unknown without asking, so no
    client can make it send one.  At most C{maxConcurrent} questions are
    under way at once: a subclass runs each through L{inTurn}, and further
    ones wait their turn.  The list of users is empty: there is no list to
    ask for, and a finger listing is text for people, not names.
    """

    def __init__(self, maxConcurrent: int) -> None:
        """
        @param maxConcurrent: the most questions under way at once.
        """
        self._turns = DeferredSemaphore(maxConcurrent)

    def getUser(self, user: str) -> "Deferred[str]":
        if not isValidUserName(user):
            return fail(UnknownUser(user))
        return self.ask(user)

    def ask(self, user: str) -> "Deferred[str]":
        """
        Ask for the status of C{user}, a valid name.
        """
        raise NotImplementedError()

    def inTurn(self, question: Callable[..., "Deferred[str]"], *args: object) -> "Deferred[str]":
        """
        C{question(*args)}, once fewer than C{maxConcurrent} questions are
        under way; cancelling the result while it waits takes it out of
        the queue.
        """
        return self._turns.run(question, *args)

    def getUsers(self) -> "Deferred[List[str]]":
        return succeed([])
