# -*- test-case-name: tests.test_forwarding -*-
"""
Asking other finger servers: L{RemoteFinger} asks one and relays its answer,
and L{FingerForwarder} answers C{user@host} queries for the finger protocol
with it.

L{FingerForwarder} answers forwarding queries (RFC 1288 section 2.4): it asks
the right-most host, and relays its answer.  A server that forwards for
anyone can be made to probe or flood other hosts, so RFC 1288 section 3.2.1
lets it refuse, and this one only forwards:

    - to hosts on its allow-list, each with the port to use;
    - queries naming at most C{maxHops} hosts;
    - a few queries at a time, each within a timeout and a size cap.

The proxy back-end (L{finger.backends.proxy.ProxyFingerService}) asks its one
upstream server with L{RemoteFinger} too.
"""

import re
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Dict, Iterable, List, Optional, Tuple

from twisted.internet.defer import Deferred, succeed
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from finger.clients.finger import (
    CONNECT_TIMEOUT,
    DEFAULT_PORT,
    MAX_ANSWER_BYTES,
    READ_TIMEOUT,
    AnswerTooLong,
    finger,
)
from finger.interfaces import IFingerForwarder
from finger.messages import (
    ANSWER_TRUNCATED,
    COULD_NOT_CONNECT,
    FORWARDING_BUSY,
    FORWARDING_DENIED,
)
from finger.names import isValidUserName
from finger.net.address import parseHostPort

# Host names and IPv4 addresses, or IPv6 addresses.
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9])?|[0-9A-Fa-f:.]{2,45}")

FingerFunction = Callable[..., "Deferred[str]"]


def parseAllowList(entries: Iterable[str]) -> Dict[str, Tuple[str, int]]:
    """
    Read an allow-list of C{host}, C{host:port} or C{[v6address]:port}
    entries (the grammar of L{finger.net.address}).

    @return: a mapping from each host, lower-cased as queries name it, to the
        host and port to connect to.
    @raise ValueError: for a malformed entry.
    """
    allowed = {}
    for entry in entries:
        host, port = parseHostPort(entry.strip(), DEFAULT_PORT)
        if _HOST.fullmatch(host) is None:
            raise ValueError(f"{entry!r}: not a host name or address")
        allowed[host.lower()] = (host, port)
    return allowed


@dataclass(frozen=True)
class RemoteFinger:
    """
    Ask remote finger servers, within a timeout and a size cap, and relay
    what they say.

    The answer is the remote server's, whatever it says; one cut at the size
    cap ends with L{ANSWER_TRUNCATED}, and a server that cannot be reached
    or does not answer in time gives L{COULD_NOT_CONNECT}.

    @ivar reactor: an L{IReactorTCP} and L{IReactorTime} provider.
    @ivar connectTimeout: seconds to wait for the remote connection.
    @ivar readTimeout: seconds to wait for the remote answer.
    @ivar maxBytes: the most bytes of remote answer to relay.
    @ivar finger: the client function, L{finger.clients.finger.finger}.
    """

    reactor: Any
    connectTimeout: float = CONNECT_TIMEOUT
    readTimeout: float = READ_TIMEOUT
    maxBytes: int = MAX_ANSWER_BYTES
    finger: FingerFunction = finger

    log: ClassVar[Logger] = Logger()

    def ask(self, user: str, host: str, port: int, verbose: bool = False) -> "Deferred[str]":
        """
        Ask C{host} about C{user}.

        @return: a L{Deferred} firing with the text to relay; it does not
            fail.
        """

        def failed(reason: Failure) -> str:
            if reason.check(AnswerTooLong):
                return reason.value.partial + "\n" + ANSWER_TRUNCATED
            self.log.info(
                "Forwarding to {host} failed: {error}", host=host, error=reason.getErrorMessage()
            )
            return COULD_NOT_CONNECT

        d = self.finger(
            user,
            host,
            port,
            verbose=verbose,
            reactor=self.reactor,
            connectTimeout=self.connectTimeout,
            readTimeout=self.readTimeout,
            maxBytes=self.maxBytes,
        )
        return d.addErrback(failed)


@implementer(IFingerForwarder)
class FingerForwarder:
    """
    Forward finger queries to the hosts of an allow-list.

    @ivar allowed: host (lower case) to the C{(host, port)} to connect to.
    @ivar remote: the L{RemoteFinger} that asks them.
    """

    log = Logger()

    def __init__(
        self,
        allowed: Iterable[str],
        *,
        remote: RemoteFinger,
        maxHops: int = 1,
        maxConcurrent: int = 8,
    ) -> None:
        """
        @param allowed: allow-list entries, as L{parseAllowList} reads them.
        @param remote: how the remote servers are asked: with which
            reactor, within which timeouts and size cap.
        @param maxHops: the most hosts one query may name.
        @param maxConcurrent: the most forwards under way at once; more are
            answered with L{FORWARDING_BUSY}.
        """
        self.allowed = parseAllowList(allowed)
        self.maxHops = maxHops
        self.remote = remote
        self._maxConcurrent = maxConcurrent
        self._underWay = 0

    def _refusal(self, names: List[str]) -> Optional[str]:
        """
        Why this forwarder will not forward a query naming C{names} (the
        user, then the hosts), or L{None} if it will.
        """
        if len(names) - 1 > self.maxHops:
            return f"names {len(names) - 1} hosts, more than {self.maxHops}"
        if names[0] and not isValidUserName(names[0]):
            return "invalid user name"
        if not all(_HOST.fullmatch(name) for name in names[1:]):
            return "invalid host name"
        if names[-1].lower() not in self.allowed:
            return "host not on the allow-list"
        return None

    def forward(self, query: str, verbose: bool) -> "Deferred[str]":
        user, _, host = query.rpartition("@")
        refusal = self._refusal(query.split("@"))
        if refusal is not None:
            self.log.info("Forwarding {query!r} refused: {reason}", query=query, reason=refusal)
            return succeed(FORWARDING_DENIED)
        if self._underWay >= self._maxConcurrent:
            self.log.info("Forwarding {query!r} refused: busy", query=query)
            return succeed(FORWARDING_BUSY)
        address, port = self.allowed[host.lower()]
        self._underWay += 1

        def done(result: str) -> str:
            self._underWay -= 1
            return result

        return self.remote.ask(user, address, port, verbose).addBoth(done)
