# -*- test-case-name: tests.frontends.web.test_origin -*-
"""
Where the site is: the host names it answers for (L{ServedHosts}), and the
scheme and authority its absolute URLs begin with (L{SiteOrigin}).

A request's C{Host} header is the client's to write: it may only choose
among names the operator configured, never put a name of its own into an
answer.  The operator gives the site's public address with C{--public-url}
(L{PublicURL}), and may let listed proxies tell the scheme and host their
clients used (C{X-Forwarded-Proto}, C{X-Forwarded-Host}:
L{TrustedProxies}); without a public URL the absolute URLs are made from a
configured name and the port the request arrived on.
"""

import ipaddress
import re
import socket
from dataclasses import dataclass
from functools import lru_cache
from typing import FrozenSet, Iterable, List, Optional, Sequence, Tuple, Union
from urllib.parse import urlsplit

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.web.iweb import IRequest

# What no host name holds: a host that has one is malformed.
_NOT_IN_HOST = re.compile(r"[\s/?#@\\]")

# An authority fit to start an absolute URL with: a name or an address,
# and a port.
_AUTHORITY = re.compile(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]


@lru_cache(maxsize=256)
def normalHost(host: str) -> str:
    """
    C{host} as host names are compared: lower case, without the brackets
    of an IPv6 address or a final dot, and a name in the ASCII form of
    internationalised names.

    The last names asked for are remembered: every page shows the name its
    request was sent to, nearly always one of a few.
    """
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    host = host.rstrip(".")
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def machineNames() -> List[str]:
    """
    This machine's own names: its host name (C{hostname}), the first label
    of it, and C{localhost}.  None needs the DNS.
    """
    name = socket.gethostname()
    return [name, name.split(".")[0], "localhost"]


def parseHosts(value: str) -> List[str]:
    """
    The host names of C{--webfinger-hosts}: separated by commas.

    @raise ValueError: a name is empty or could not be a host name.
    """
    names = [name.strip() for name in value.split(",")]
    for name in names:
        bracketed = name.startswith("[") and name.endswith("]")
        if not name or _NOT_IN_HOST.search(name) or (":" in name and not bracketed):
            raise ValueError(
                f"--webfinger-hosts: {name!r} is not a host name; give names "
                "separated by commas, such as example.com,finger.example.com"
            )
    return names


def authority(host: str, port: Optional[int], scheme: str) -> str:
    """
    The authority of a URL on C{host} (a name or an address) and C{port},
    the port left out where it is the scheme's own.
    """
    shown = f"[{host}]" if ":" in host else host
    if port is None or port == {"http": 80, "https": 443}.get(scheme):
        return shown
    return f"{shown}:{port}"


@dataclass(frozen=True)
class PublicURL:
    """
    The address the site is reached at from outside (C{--public-url}): the
    start of every absolute URL it makes.

    @ivar scheme: C{http} or C{https}.
    @ivar authority: the host, and the port if not the scheme's own.
    @ivar host: the host, as L{normalHost} writes it.
    @ivar prefix: the path the site is under, without its last C{/}: empty
        for a site at the root.
    """

    scheme: str
    authority: str
    host: str
    prefix: str

    @property
    def base(self) -> str:
        """
        The URL of the site's root, without its last C{/}.
        """
        return f"{self.scheme}://{self.authority}{self.prefix}"


def parsePublicURL(value: str) -> PublicURL:
    """
    Read C{--public-url}: an C{http} or C{https} URL of the site's root,
    with a path prefix if the site is served under one.

    @raise ValueError: saying what is wrong with C{value}.
    """
    try:
        parts = urlsplit(value.strip())
        host, port = parts.hostname, parts.port
    except ValueError as e:
        raise ValueError(f"--public-url: {value!r} is not a URL: {e}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not host:
        raise ValueError(
            f"--public-url: {value!r} is not an http or https URL such as "
            "https://finger.example.com/ or https://example.com/finger"
        )
    if parts.username is not None or parts.query or parts.fragment or "#" in value:
        raise ValueError(f"--public-url: {value!r} may not hold a login, a query or a fragment")
    if _NOT_IN_HOST.search(host):
        raise ValueError(f"--public-url: {value!r} does not name a host")
    prefix = parts.path.rstrip("/")
    if prefix and not re.fullmatch(r"(?:/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)+", prefix):
        raise ValueError(f"--public-url: the path of {value!r} is not a plain URL path")
    normal = normalHost(host)
    return PublicURL(scheme, authority(normal, port, scheme), normal, prefix)


def parseProxies(value: str) -> Tuple[Network, ...]:
    """
    Read C{--trusted-proxies}: addresses and networks (C{10.0.0.0/8},
    C{::1}), separated by commas.

    @raise ValueError: naming the entry that is not an address or network.
    """
    networks = []
    for entry in value.split(","):
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ValueError(
                f"--trusted-proxies: {entry.strip()!r} is not an address or a "
                "network; give them separated by commas, such as 127.0.0.1,10.0.0.0/8"
            ) from None
    return tuple(networks)


class TrustedProxies:
    """
    The proxies whose C{X-Forwarded-Proto} and C{X-Forwarded-Host} headers
    are believed.

    @ivar networks: their addresses and networks.
    """

    def __init__(self, networks: Iterable[Network]) -> None:
        self.networks = tuple(networks)

    def __bool__(self) -> bool:
        return bool(self.networks)

    def trusts(self, request: IRequest) -> bool:
        """
        Did C{request} come from one of these proxies?
        """
        peer = request.getClientAddress()
        if not isinstance(peer, (IPv4Address, IPv6Address)):
            return False
        return _trusted(self.networks, peer.host)

    @staticmethod
    def header(request: IRequest, name: bytes) -> Optional[str]:
        """
        The value the nearest proxy gave header C{name}: the last one, and
        the last of a list separated by commas.
        """
        values = request.requestHeaders.getRawHeaders(name)
        if not values:
            return None
        return values[-1].decode("latin-1").rsplit(",", 1)[-1].strip()


@lru_cache(maxsize=64)
def _trusted(networks: Tuple[Network, ...], host: str) -> bool:
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


def _hostOf(value: str) -> str:
    """
    The host of an authority, without its port.
    """
    if value.startswith("["):
        return value[: value.index("]") + 1]
    return value.rsplit(":", 1)[0]


def _requestedHost(request: IRequest) -> str:
    """
    The host name a request was sent to: its C{Host} header without the
    port, or the address it arrived on.
    """
    return normalHost(request.getRequestHostname().decode("latin-1"))


class ServedHosts:
    """
    The host names this server answers for, in C{acct:} URIs and in the
    URLs of user pages.

    Given names, exactly those (and the public URL's host, if there is
    one).  Otherwise the public URL's host; or without one, the machine's
    own names (L{machineNames}) and the address each request arrived on.
    A request's C{Host} header never adds a name: it only chooses which of
    these a page shows (L{preferred}).

    @ivar names: the names given, normalised, and the public URL's host;
        L{None} for the machine's own names.
    @ivar machine: the machine's own names, normalised.
    @ivar first: the name shown when the request names none of these.
    """

    def __init__(
        self,
        names: Optional[Iterable[str]] = None,
        machine: Optional[Iterable[str]] = None,
        public: Optional[PublicURL] = None,
    ) -> None:
        """
        @param names: the only names to answer for, or L{None}.
        @param machine: the machine's own names; L{machineNames} if
            L{None}.
        @param public: the site's public URL, if it has one.
        """
        machineList = list(machineNames() if machine is None else machine)
        self.machine: FrozenSet[str] = frozenset(normalHost(name) for name in machineList)
        self.names: Optional[List[str]] = None
        if names is not None:
            self.names = [normalHost(name) for name in names]
        if public is not None:
            self.names = (self.names or []) + [public.host]
        if self.names:
            self.first = self.names[0]
        else:
            self.first = normalHost(machineList[0]) if machineList else "localhost"

    def serves(self, host: str, request: IRequest) -> bool:
        """
        Does this server answer for C{host}, asked in C{request}?
        """
        host = normalHost(host)
        if self.names is not None:
            return host in self.names
        if host in self.machine:
            return True
        address = request.getHost()
        return isinstance(address, (IPv4Address, IPv6Address)) and host == normalHost(address.host)

    def preferred(self, request: IRequest, requested: Optional[str] = None) -> str:
        """
        The host name to show in C{request}'s answer: the one it was sent
        to (or C{requested}), if this server answers for it, else the
        first name given (or the machine's name).
        """
        if requested is None:
            requested = _requestedHost(request)
        else:
            requested = normalHost(requested)
        return requested if self.serves(requested, request) else self.first


class SiteOrigin:
    """
    The site's names and where its absolute URLs point.

    @ivar hosts: the host names the site answers for.
    @ivar public: C{--public-url}, or L{None}.
    @ivar proxies: the proxies whose forwarded headers are believed.
    @ivar httpsPort: the port of the site's own HTTPS listener, or
        L{None} without one.
    @ivar vary: the request headers, beyond C{Accept}, that the pages and
        JRDs depend on, for a C{Vary} header: empty unless proxies are
        trusted.
    """

    def __init__(
        self,
        hosts: Optional[Sequence[str]] = None,
        *,
        public: Optional[PublicURL] = None,
        proxies: Iterable[Network] = (),
        httpsPort: Optional[int] = None,
        machine: Optional[Iterable[str]] = None,
    ) -> None:
        self.hosts = ServedHosts(hosts, machine, public)
        self.public = public
        self.proxies = TrustedProxies(proxies if public is not None else ())
        self.httpsPort = httpsPort
        self.vary = b"X-Forwarded-Host, X-Forwarded-Proto" if self.proxies else b""

    def serves(self, host: str, request: IRequest) -> bool:
        """
        Does this site answer for C{host}, asked in C{request}?
        """
        return self.hosts.serves(host, request)

    def _forwardedHost(self, request: IRequest) -> Optional[str]:
        """
        The authority a trusted proxy says its client asked for, if it is
        one this site serves.
        """
        if not self.proxies or not self.proxies.trusts(request):
            return None
        value = TrustedProxies.header(request, b"x-forwarded-host")
        if value is None or not _AUTHORITY.fullmatch(value):
            return None
        return value if self.hosts.serves(_hostOf(value), request) else None

    def shown(self, request: IRequest) -> str:
        """
        The host name C{request}'s pages show: with a public URL, the one a
        trusted proxy forwarded if this site serves it, else the first
        configured; without, the C{Host} header's if this site serves it,
        else the first configured.
        """
        if self.public is None:
            return self.hosts.preferred(request)
        forwarded = self._forwardedHost(request)
        if forwarded is not None:
            return self.hosts.preferred(request, _hostOf(forwarded))
        return self.hosts.first

    def scheme(self, request: IRequest) -> str:
        """
        The scheme C{request} was made with, as far as this site can tell:
        C{https} over its own TLS; with trusted proxies, what one of them
        says (a request from any other address came straight, over plain
        HTTP); else the public URL's, if there is one and no HTTPS listener
        of this site's own.
        """
        if request.isSecure():
            return "https"
        if self.proxies:
            if not self.proxies.trusts(request):
                return "http"
            proto = TrustedProxies.header(request, b"x-forwarded-proto")
            if proto is not None and proto.lower() in ("http", "https"):
                return proto.lower()
            return self.public.scheme if self.public is not None else "http"
        if self.public is not None and self.httpsPort is None:
            return self.public.scheme
        return "http"

    def base(self, request: IRequest, host: str) -> str:
        """
        The URL of the site's root, without its last C{/}, for the absolute
        URLs of C{request}'s answer about an account on C{host}: from the
        public URL (on the host a trusted proxy forwarded, if this site
        serves it); without one, C{host} (a name this site serves) on the
        port the request arrived on.
        """
        public = self.public
        if public is not None:
            forwarded = self._forwardedHost(request)
            if forwarded is None:
                return public.base
            return f"{public.scheme}://{forwarded.lower()}{public.prefix}"
        scheme = "https" if request.isSecure() else "http"
        address = request.getHost()
        port = address.port if isinstance(address, (IPv4Address, IPv6Address)) else None
        return f"{scheme}://{authority(normalHost(host), port, scheme)}"

    def secureBase(self, request: IRequest) -> Optional[str]:
        """
        Where C{request}, made over plain HTTP, is sent to be made over
        HTTPS: the public URL if it is an C{https} one, else this site's
        own HTTPS listener on the name the page would show; L{None} if the
        site has no HTTPS.
        """
        public = self.public
        if public is not None and public.scheme == "https":
            return public.base
        if self.httpsPort is None:
            return None
        return "https://" + authority(self.shown(request), self.httpsPort, "https")
