# -*- test-case-name: tests.backends.test_proxy -*-
"""
The tutorial's proxy back-end: every user is answered by asking one upstream
finger server.

Forwarding C{user@host} queries for the finger protocol is not a back-end's
business: L{finger.forwarding} does it, and this back-end asks its upstream
server the same way (L{finger.forwarding.RemoteFinger}).
"""

from typing import Any, List

from twisted.application import service
from twisted.internet.defer import Deferred, DeferredSemaphore, fail, succeed
from zope.interface import implementer

from finger.clients.finger import (
    CONNECT_TIMEOUT,
    DEFAULT_PORT,
    MAX_ANSWER_BYTES,
    READ_TIMEOUT,
    finger,
)
from finger.forwarding import FingerFunction, RemoteFinger
from finger.interfaces import IFingerService, UnknownUser
from finger.names import isValidUserName


@implementer(IFingerService)
class ProxyFingerService(service.Service):
    """
    Answer every user by asking one upstream finger server.

    The upstream answer is the status, whatever it says; when the upstream
    server cannot be reached the status is
    L{finger.messages.COULD_NOT_CONNECT}.  The list of users is empty: a
    finger listing is text for people, not names.
    """

    def __init__(
        self,
        reactor: Any,
        host: str,
        port: int = DEFAULT_PORT,
        connectTimeout: float = CONNECT_TIMEOUT,
        readTimeout: float = READ_TIMEOUT,
        maxBytes: int = MAX_ANSWER_BYTES,
        finger: FingerFunction = finger,
        maxConcurrent: int = 8,
    ) -> None:
        """
        @param reactor: an L{IReactorTCP} and L{IReactorTime} provider.
        @param host: the upstream server's host name or address.
        @param port: its port.
        @param connectTimeout: seconds to wait for the connection.
        @param readTimeout: seconds to wait for the answer.
        @param maxBytes: the most bytes of answer to relay.
        @param finger: the client function, L{finger.clients.finger.finger}.
        @param maxConcurrent: the most lookups under way at once; further
            lookups wait their turn (and give up with the client).
        """
        self.host = host
        self.port = port
        self._limit = DeferredSemaphore(maxConcurrent)
        self._remote = RemoteFinger(reactor, connectTimeout, readTimeout, maxBytes, finger)

    def getUser(self, user: str) -> "Deferred[str]":
        if not isValidUserName(user):
            return fail(UnknownUser(user))
        return self._limit.run(self._remote.ask, user, self.host, self.port)

    def getUsers(self) -> "Deferred[List[str]]":
        return succeed([])
