# -*- test-case-name: tests.app.test_listening,tests.net.test_limits -*-
"""
What every listener has: its port option, read once into a L{Port}; the
limits every listener is held to, their options and L{LimitsConfig}; and
the L{Listener} value from which a listening service is made.
"""

from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional, Tuple

from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import IProtocolFactory, IReactorTime
from twisted.python import usage

from finger.app.coerce import number, positive, seconds
from finger.net.clients import DEFAULT_IPV6_PREFIX, ClientKey
from finger.net.limits import DEFAULT_MAX_PER_ADDRESS, LimitingFactory
from finger.net.rates import RateLimiter
from finger.net.listen import Announcement, ListeningService, dualStack, portDescriptions


def _ipv6Prefix(value: str) -> int:
    prefix = int(positive("--ipv6-prefix")(value))
    if prefix > 128:
        raise ValueError(f"--ipv6-prefix must be a whole number from 1 to 128, not {value!r}")
    return prefix


_ipv6Prefix.coerceDoc = "A whole number from 1 to 128."  # type: ignore[attr-defined]


optParameters: List[List[Any]] = [
    [
        "max-connections",
        None,
        1024,
        "The most connections each listener has open at once; more are "
        "refused with a short message.",
        positive("--max-connections"),
    ],
    [
        "max-per-address",
        None,
        DEFAULT_MAX_PER_ADDRESS,
        "The most connections each listener has open at once from one "
        "client (an IPv4 address or an IPv6 network, see --ipv6-prefix); "
        "loopback is exempt unless --rate-limit-loopback.",
        positive("--max-per-address"),
    ],
    [
        "ipv6-prefix",
        None,
        DEFAULT_IPV6_PREFIX,
        "How many leading bits of an IPv6 address make one client for every "
        "per-client limit (connections, rates, login turns): 64 counts a /64 "
        "as one client.",
        _ipv6Prefix,
    ],
    [
        "idle-timeout",
        None,
        120.0,
        "Seconds a connection may pass with no bytes either way.",
        seconds("--idle-timeout"),
    ],
    [
        "max-lifetime",
        None,
        600.0,
        "Seconds any connection may last.",
        seconds("--max-lifetime"),
    ],
    [
        "finger-rate",
        None,
        10.0,
        "Finger queries a second each client may make, in bursts of "
        "twice that; loopback is exempt unless --rate-limit-loopback.",
        number("--finger-rate", float, 0, True, "Zero (no limit) or a positive number."),
    ],
]

optFlags: List[List[Any]] = [
    [
        "rate-limit-loopback",
        None,
        "Apply the per-client limits (--finger-rate, --web-rate, "
        "--max-per-address) to loopback clients too.",
    ],
]


def portRow(
    name: str, short: Optional[str], default: str, what: str, loopback: bool = False
) -> List[Any]:
    """
    The option table row of a listener's port option.

    @param what: what listens there, for C{--help}.
    @param loopback: whether a bare port number listens on loopback only,
        127.0.0.1 and ::1 (the role must read it with
        L{finger.net.listen.LOOPBACK} as its interface too).
    """
    where = "a port (on 127.0.0.1 and ::1)" if loopback else "a port (on every address)"
    return [name, short, default, f"Where {what} listens: {where} or an endpoint description."]


@dataclass(frozen=True)
class Port:
    """
    Where one port option listens, checked.

    @ivar option: the option, as errors name it (C{--setterport}).
    @ivar description: the endpoint description that must listen.
    @ivar ipv6: for a bare port number on loopback, the C{::1} listener that
        goes with it (best effort: without IPv6, IPv4 loopback alone is
        served); else L{None}.
    """

    option: str
    description: str
    ipv6: Optional[str] = None

    def listeners(self, name: str, factory: IProtocolFactory) -> List[Tuple[str, "Listener"]]:
        """
        The listeners this port asks for, each with the name of its
        service: C{name}, and C{name-ipv6} for the C{::1} one; they share
        one L{Announcement}, which names the front-end C{name}.
        """
        option = self.option
        said = Announcement(name)
        first = Listener(self.description, factory, option, option, announcement=said)
        listeners = [(name, first)]
        if self.ipv6 is not None:
            ipv6 = Listener(
                self.ipv6, factory, option, f"{option}-ipv6", required=False, announcement=said
            )
            listeners.append((f"{name}-ipv6", ipv6))
        return listeners


def readPort(
    option: str,
    value: str,
    reactor: Any,
    interface: str = "",
    bothFamilies: Callable[[], bool] = dualStack,
) -> Port:
    """
    Check the value of the C{--option} port option and read it as the
    endpoint descriptions it listens on.

    @param value: a port number or an endpoint description.
    @param reactor: the reactor the descriptions are checked against.
    @param interface: the interface a bare port number listens on; all of
        them, IPv6 and IPv4, if empty (see L{finger.net.listen.portDescriptions}).
    @param bothFamilies: tells whether one socket here takes IPv6 and IPv4.
    @raise usage.UsageError: naming the option, if a description is wrong.
    """
    descriptions = portDescriptions(value, interface, bothFamilies)
    for description in descriptions:
        try:
            serverFromString(reactor, description)
        except Exception as e:
            raise usage.UsageError(
                f"--{option}: {description!r} is not a port or an endpoint description: {e}"
            ) from None
    main, *also = descriptions
    return Port(f"--{option}", main, also[0] if also else None)


@dataclass(frozen=True)
class LimitsConfig:
    """
    The limits every listener is held to.

    @ivar maxConnections: C{--max-connections}.
    @ivar maxPerAddress: C{--max-per-address}.
    @ivar clientKey: who counts as one client for every per-client limit
        (C{--ipv6-prefix}).
    @ivar idleTimeout: C{--idle-timeout}.
    @ivar maxLifetime: C{--max-lifetime}.
    @ivar fingerRate: C{--finger-rate}; 0 for no limit.
    @ivar limitLoopback: C{--rate-limit-loopback}.
    """

    maxConnections: int
    maxPerAddress: int
    clientKey: ClientKey
    idleTimeout: float
    maxLifetime: float
    fingerRate: float
    limitLoopback: bool

    @classmethod
    def fromOptions(cls, options: usage.Options) -> "LimitsConfig":
        """
        Read the limits' options.
        """
        return cls(
            maxConnections=options["max-connections"],
            maxPerAddress=options["max-per-address"],
            clientKey=ClientKey(options["ipv6-prefix"]),
            idleTimeout=options["idle-timeout"],
            maxLifetime=options["max-lifetime"],
            fingerRate=options["finger-rate"],
            limitLoopback=bool(options["rate-limit-loopback"]),
        )

    def rateLimiter(self, rate: float, clock: IReactorTime) -> Optional[RateLimiter]:
        """
        A per-client rate limit of C{rate} requests a second, in bursts of
        twice that, or L{None} for a rate of 0 (no limit).
        """
        if not rate:
            return None
        return RateLimiter(clock, rate, 2 * rate, self.limitLoopback, self.clientKey)

    def limit(
        self,
        factory: IProtocolFactory,
        clock: IReactorTime,
        refusal: bytes,
        rateLimiter: Optional[RateLimiter] = None,
        refused: Optional[Callable[[str], None]] = None,
    ) -> LimitingFactory:
        """
        C{factory}, held to these limits.

        @param refusal: what a connection over the limits is told before
            it is closed.
        @param rateLimiter: the listener's per-client rate, if it has one.
        @param refused: told why each connection is refused, if anything
            counts them (L{LimitingFactory.refused}).
        """
        return LimitingFactory(
            factory,
            clock,
            refusal,
            maxConnections=self.maxConnections,
            maxPerAddress=self.maxPerAddress,
            limitLoopback=self.limitLoopback,
            idleTimeout=self.idleTimeout,
            maxLifetime=self.maxLifetime,
            rateLimiter=rateLimiter,
            clientKey=self.clientKey,
            refused=refused,
        )


@dataclass(frozen=True)
class Listener:
    """
    One listener, as L{finger.app.compose.makeService} hands it to whatever
    makes listening services: L{listeningService} in a single process, or
    with C{--workers} one that hands its socket to the workers
    (L{finger.app.workers}) or, in a worker, one that adopts it
    (L{finger.app.worker}).

    @ivar description: the endpoint description to listen on.
    @ivar factory: what serves the connections.
    @ivar option: the option that chose it, as errors name it (C{--webport}).
    @ivar key: what the workers know its socket by: the option, or for an
        option's second listener (C{::1}) the option with C{-ipv6}.
    @ivar required: whether start-up stops when it cannot listen.
    @ivar announcement: what says where the listeners of its option listen
        (the main process's, not a worker's: it does not listen).
    """

    description: str
    factory: IProtocolFactory
    option: str
    key: str
    required: bool = True
    announcement: Optional[Announcement] = field(default=None, compare=False)


def listeningService(reactor: Any, listener: Listener) -> ListeningService:
    """
    Make the listener a single process serves.
    """
    return ListeningService(
        reactor,
        listener.description,
        listener.factory,
        listener.option,
        listener.required,
        listener.announcement,
    )
