# -*- test-case-name: tests.backends.test_proxy -*-
"""
The tutorial's proxy back-end: every user is answered by asking one upstream
finger server.

Forwarding C{user@host} queries for the finger protocol is not a back-end's
business: L{finger.forwarding} does it, and this back-end asks its upstream
server the same way (L{finger.forwarding.RemoteFinger}).
"""

from twisted.internet.defer import Deferred

from finger.backends.asking import AskingFingerService
from finger.clients.finger import DEFAULT_PORT
from finger.forwarding import RemoteFinger


class ProxyFingerService(AskingFingerService):
    """
    Answer every user by asking one upstream finger server.

    The upstream answer is the status, whatever it says; when the upstream
    server cannot be reached the status is
    L{finger.messages.COULD_NOT_CONNECT}.  The list of users is empty (see
    L{AskingFingerService}).

    @ivar remote: the L{RemoteFinger} that asks the upstream server.
    """

    def __init__(
        self,
        host: str,
        port: int = DEFAULT_PORT,
        *,
        remote: RemoteFinger,
        maxConcurrent: int = 8,
    ) -> None:
        """
        @param host: the upstream server's host name or address.
        @param port: its port.
        @param remote: how the upstream server is asked: with which
            reactor, within which timeouts and size cap (the same as
            C{user@host} queries are forwarded with, in the service).
        @param maxConcurrent: the most lookups under way at once; further
            lookups wait their turn (and give up with the client).
        """
        super().__init__(maxConcurrent)
        self.host = host
        self.port = port
        self.remote = remote

    def ask(self, user: str) -> "Deferred[str]":
        return self.inTurn(self.remote.ask, user, self.host, self.port)
