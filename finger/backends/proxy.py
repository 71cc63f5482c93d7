# -*- test-case-name: tests.backends.test_proxy -*-
"""
The tutorial's proxy back-end: every user is answered by asking one upstream
finger server.

Forwarding C{user@host} queries for the finger protocol is not a back-end's
business: L{finger.forwarding} does it, and this back-end asks its upstream
server the same way (L{finger.forwarding.RemoteFinger}).
"""

from typing import Any

from twisted.internet.defer import Deferred

from finger.backends.asking import AskingFingerService
from finger.clients.finger import (
    CONNECT_TIMEOUT,
    DEFAULT_PORT,
    MAX_ANSWER_BYTES,
    READ_TIMEOUT,
    finger,
)
from finger.forwarding import FingerFunction, RemoteFinger


class ProxyFingerService(AskingFingerService):
    """
    Answer every user by asking one upstream finger server.

    The upstream answer is the status, whatever it says; when the upstream
    server cannot be reached the status is
    L{finger.messages.COULD_NOT_CONNECT}.  The list of users is empty (see
    L{AskingFingerService}).
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
        super().__init__(maxConcurrent)
        self.host = host
        self.port = port
        self._remote = RemoteFinger(reactor, connectTimeout, readTimeout, maxBytes, finger)

    def ask(self, user: str) -> "Deferred[str]":
        return self.inTurn(self._remote.ask, user, self.host, self.port)
