# -*- test-case-name: tests.backends.test_proxy -*-
"""
Asking other finger servers: forwarding C{user@host} queries, and the
tutorial's proxy back-end.

L{FingerForwarder} answers forwarding queries (RFC 1288 section 2.4) for the
finger protocol: it asks the right-most host, and relays its answer.  A
server that forwards for anyone can be made to probe or flood other hosts,
so RFC 1288 section 3.2.1 lets it refuse, and this one only forwards:

    - to hosts on its allow-list, each with the port to use;
    - queries naming at most C{maxHops} hosts;
    - a few queries at a time, each within a timeout and a size cap.

L{ProxyFingerService} is a back-end that answers every user by asking one
upstream finger server, as the tutorial's C{ProxyFingerService} does.
"""

import re
from typing import Any, Callable, Dict, Iterable, List, Tuple

from twisted.application import service
from twisted.internet.defer import Deferred, DeferredSemaphore, fail, succeed
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
    parseHostPort,
)
from finger.interfaces import IFingerForwarder, IFingerService, UnknownUser
from finger.messages import COULD_NOT_CONNECT, FORWARDING_DENIED
from finger.names import isValidUserName

FORWARDING_BUSY = "Finger forwarding service busy, try again later"
TRUNCATED = "(answer truncated)"

# Host names and IPv4 addresses, or IPv6 addresses.
_HOST = re.compile(
    r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9])?|[0-9A-Fa-f:.]{2,45}"
)


def parseAllowList(entries: Iterable[str]) -> Dict[str, Tuple[str, int]]:
    """
    Read an allow-list of C{host}, C{host:port} or C{[v6address]:port}
    entries.

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


FingerFunction = Callable[..., "Deferred[str]"]


def _relay(answer: str) -> str:
    return answer


def _failed(reason: Failure, log: Logger, host: str) -> str:
    if reason.check(AnswerTooLong):
        return reason.value.partial + "\n" + TRUNCATED
    log.info(
        "Forwarding to {host} failed: {error}",
        host=host,
        error=reason.getErrorMessage(),
    )
    return COULD_NOT_CONNECT


@implementer(IFingerForwarder)
class FingerForwarder:
    """
    Forward finger queries to the hosts of an allow-list.

    @ivar allowed: host (lower case) to the C{(host, port)} to connect to.
    """

    log = Logger()

    def __init__(
        self,
        reactor: Any,
        allowed: Iterable[str],
        maxHops: int = 1,
        connectTimeout: float = CONNECT_TIMEOUT,
        readTimeout: float = READ_TIMEOUT,
        maxBytes: int = MAX_ANSWER_BYTES,
        maxConcurrent: int = 8,
        finger: FingerFunction = finger,
    ) -> None:
        """
        @param reactor: an L{IReactorTCP} and L{IReactorTime} provider.
        @param allowed: allow-list entries, as L{parseAllowList} reads them.
        @param maxHops: the most hosts one query may name.
        @param connectTimeout: seconds to wait for the remote connection.
        @param readTimeout: seconds to wait for the remote answer.
        @param maxBytes: the most bytes of remote answer to relay.
        @param maxConcurrent: the most forwards under way at once; more are
            answered with L{FORWARDING_BUSY}.
        @param finger: the client function, L{finger.clients.finger.finger}.
        """
        self.allowed = parseAllowList(allowed)
        self.maxHops = maxHops
        self._reactor = reactor
        self._connectTimeout = connectTimeout
        self._readTimeout = readTimeout
        self._maxBytes = maxBytes
        self._maxConcurrent = maxConcurrent
        self._finger = finger
        self._underWay = 0

    def forward(self, query: str, verbose: bool) -> "Deferred[str]":
        user, _, host = query.rpartition("@")
        names = query.split("@")
        refusal = None
        if len(names) - 1 > self.maxHops:
            refusal = f"names {len(names) - 1} hosts, more than {self.maxHops}"
        elif names[0] and not isValidUserName(names[0]):
            refusal = "invalid user name"
        elif not all(_HOST.fullmatch(name) for name in names[1:]):
            refusal = "invalid host name"
        elif host.lower() not in self.allowed:
            refusal = "host not on the allow-list"
        elif self._underWay >= self._maxConcurrent:
            self.log.info("Forwarding {query!r} refused: busy", query=query)
            return succeed(FORWARDING_BUSY)
        if refusal is not None:
            self.log.info(
                "Forwarding {query!r} refused: {reason}", query=query, reason=refusal
            )
            return succeed(FORWARDING_DENIED)
        address, port = self.allowed[host.lower()]
        self._underWay += 1
        d = self._finger(
            user,
            address,
            port,
            verbose=verbose,
            reactor=self._reactor,
            connectTimeout=self._connectTimeout,
            readTimeout=self._readTimeout,
            maxBytes=self._maxBytes,
        )
        d.addCallbacks(_relay, _failed, errbackArgs=(self.log, host))

        def done(result: str) -> str:
            self._underWay -= 1
            return result

        return d.addBoth(done)


@implementer(IFingerService)
class ProxyFingerService(service.Service):
    """
    Answer every user by asking one upstream finger server.

    The upstream answer is the status, whatever it says; when the upstream
    server cannot be reached the status is L{COULD_NOT_CONNECT}.  The list of
    users is empty: a finger listing is text for people, not names.
    """

    log = Logger()

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
        self._limit = DeferredSemaphore(maxConcurrent)
        self.host = host
        self.port = port
        self._reactor = reactor
        self._connectTimeout = connectTimeout
        self._readTimeout = readTimeout
        self._maxBytes = maxBytes
        self._finger = finger

    def getUser(self, user: str) -> "Deferred[str]":
        if not isValidUserName(user):
            return fail(UnknownUser(user))
        d = self._limit.run(
            self._finger,
            user,
            self.host,
            self.port,
            reactor=self._reactor,
            connectTimeout=self._connectTimeout,
            readTimeout=self._readTimeout,
            maxBytes=self._maxBytes,
        )
        return d.addCallbacks(_relay, _failed, errbackArgs=(self.log, self.host))

    def getUsers(self) -> "Deferred[List[str]]":
        return succeed([])
