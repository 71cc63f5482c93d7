# -*- test-case-name: tests.net.test_clients -*-
"""
Who counts as one client: the one rule every per-client limit uses
(connections open from one client, C{--finger-rate}, C{--web-rate}, the
login budget and login queues).

A client is its network, not its exact address: an IPv4 address, or an
IPv6 address's network of C{--ipv6-prefix} bits (a /64 by default, the
least a site or a home is given, so one host holds a whole /64 and can
pick any of its 2**64 addresses).  An IPv4-mapped IPv6 address is the
IPv4 address it maps.  A peer without an IP address (a Unix socket) is
its own client.

Loopback peers, and peers without an IP address, are I{local}: the
per-client limits exempt them unless C{--rate-limit-loopback} is given, so
local tools and monitoring are never refused.
"""

import ipaddress
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional, Union

from twisted.internet.interfaces import IAddress

DEFAULT_IPV6_PREFIX = 64
"""
How many leading bits of an IPv6 address name one client.
"""


@dataclass(frozen=True)
class ClientKey:
    """
    Tell one client from another by its address.

    @ivar ipv6Prefix: how many leading bits of an IPv6 address name one
        client: from 1 to 128 (128: every address is a client).
    """

    ipv6Prefix: int = DEFAULT_IPV6_PREFIX

    def __post_init__(self) -> None:
        if not 1 <= self.ipv6Prefix <= 128:
            raise ValueError(f"an IPv6 prefix is 1 to 128 bits, not {self.ipv6Prefix}")

    def __call__(self, peer: Union[IAddress, str]) -> str:
        """
        @param peer: a connection's peer address, or just its host.
        @return: the client it belongs to: C{192.0.2.1}, C{2001:db8:1:2::/64};
            a peer without a host, as it shows itself.
        """
        host = peer if isinstance(peer, str) else getattr(peer, "host", None)
        if not isinstance(host, str):
            return str(peer)
        return _key(host, self.ipv6Prefix)

    def isLocal(self, peer: Union[IAddress, str]) -> bool:
        """
        @return: whether C{peer} is a loopback address or has no IP address
            at all (a Unix socket): the per-client limits exempt it unless
            told to limit loopback too.
        """
        host = peer if isinstance(peer, str) else getattr(peer, "host", None)
        if not isinstance(host, str):
            return True
        return _isLoopback(host)

    def limited(self, peer: object, limitLoopback: bool) -> Optional[str]:
        """
        The client a connection from C{peer} counts against under a
        per-client cap, or L{None} if it is exempt: a peer without an IP
        address (a Unix socket), or on loopback unless C{limitLoopback}.
        """
        if not isinstance(getattr(peer, "host", None), str):
            return None
        if not limitLoopback and self.isLocal(peer):  # type: ignore[arg-type]
            return None
        return self(peer)  # type: ignore[arg-type]


def _address(host: str) -> Optional[Union[ipaddress.IPv4Address, ipaddress.IPv6Address]]:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


@lru_cache(maxsize=4096)
def _key(host: str, prefix: int) -> str:
    address = _address(host)
    if address is None:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, prefix), strict=False))
    return str(address)


@lru_cache(maxsize=1024)
def _isLoopback(host: str) -> bool:
    address = _address(host)
    if address is None:
        return host == "localhost"
    mapped = getattr(address, "ipv4_mapped", None)
    return bool(address.is_loopback or (mapped is not None and mapped.is_loopback))
