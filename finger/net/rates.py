# -*- test-case-name: tests.net.test_limits -*-
"""
How often one client may ask: L{RateLimiter}, a token bucket per client,
for C{--finger-rate} (new connections) and C{--web-rate} (requests).
"""

from typing import Optional, Union

from twisted.internet.interfaces import IAddress, IReactorTime

from finger.net.buckets import BucketTable, TokenBucket
from finger.net.clients import ClientKey


class RateLimiter:
    """
    A token bucket (L{TokenBucket}) per client (L{ClientKey}): each client
    may make C{rate} requests a second on average, and C{burst} in a row.

    Local peers (loopback) are exempt unless C{limitLoopback} is set, so
    local tools and monitoring are never refused.  The buckets are a
    L{BucketTable} of at most C{maxClients}: only clients that were busy
    lately are kept.
    """

    def __init__(
        self,
        clock: IReactorTime,
        rate: float,
        burst: float,
        limitLoopback: bool = False,
        clientKey: ClientKey = ClientKey(),
        maxClients: int = 100_000,
    ) -> None:
        self.clock = clock
        self.rate = rate
        self.burst = burst
        self.limitLoopback = limitLoopback
        self.clientKey = clientKey
        self.buckets: BucketTable[TokenBucket] = BucketTable(
            lambda: TokenBucket(clock, rate, burst), maxClients
        )

    def clientOf(self, peer: Union[IAddress, str]) -> Optional[str]:
        """
        The client whose rate C{peer} (an address, or just its host) draws
        on, or L{None} if it is exempt.  A connection's peer does not
        change, so a connection that makes many requests asks once.
        """
        if not self.limitLoopback and self.clientKey.isLocal(peer):
            return None
        return self.clientKey(peer)

    def allow(self, peer: Union[IAddress, str]) -> bool:
        """
        May C{peer} (an address, or just its host) make a request now?  If
        so, it is counted against its client.
        """
        return self.allowClient(self.clientOf(peer))

    def allowClient(self, client: Optional[str]) -> bool:
        """
        L{allow}, for the client L{clientOf} named.
        """
        return client is None or self.buckets[client].take()

    def reserve(self, peer: Union[IAddress, str]) -> float:
        """
        Count a request from C{peer} that will wait its turn rather than be
        refused.

        @return: seconds it should wait before it is served: zero when its
            client is within its rate (or exempt).  Its token is taken now,
            so requests that wait are served at the client's rate, one after
            another.
        """
        return self.reserveClient(self.clientOf(peer))

    def reserveClient(self, client: Optional[str]) -> float:
        """
        L{reserve}, for the client L{clientOf} named.
        """
        return 0.0 if client is None else self.buckets[client].reserve()
