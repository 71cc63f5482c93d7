# -*- test-case-name: tests.app.test_listening,tests.net.test_limits -*-
"""
The limits every listener has, their options, and how a listener is added:
each front-end's option module calls L{listen} with its factory.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, List, Optional

from twisted.application import service
from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import IProtocolFactory
from twisted.python import usage

from finger.app.coerce import number, positive, seconds
from finger.auth import SetterLogin
from finger.net.clients import DEFAULT_IPV6_PREFIX, ClientKey
from finger.net.limits import DEFAULT_MAX_PER_ADDRESS, LimitingFactory, RateLimiter
from finger.net.listen import ListeningService, dualStack, portDescriptions

if TYPE_CHECKING:
    from finger.app.tap import Options

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


def portOption(
    name: str, short: Optional[str], default: str, what: str, loopback: bool = False
) -> List[Any]:
    """
    The option table row of a listener's port option.

    @param what: what listens there, for C{--help}.
    @param loopback: whether a bare port number listens on loopback only,
        127.0.0.1 and ::1 (the role's C{ports} must say so too).
    """
    where = "a port (on 127.0.0.1 and ::1)" if loopback else "a port (on every address)"
    return [name, short, default, f"Where {what} listens: {where} or an endpoint description."]


def endpointOption(
    options: "Options",
    reactor: Any,
    option: str,
    interface: str = "",
    bothFamilies: Callable[[], bool] = dualStack,
) -> None:
    """
    Check the C{--option} port option and replace it by its endpoint
    description; L{finger.app.tap.Options} calls this for every role's
    C{ports}.  A bare port number on loopback also puts the C{::1} listener
    that goes with it in C{options.ipv6Loopback}.

    @param interface: the interface a bare port number listens on; all of
        them, IPv6 and IPv4, if empty (see L{finger.net.listen.portDescriptions}).
    @param bothFamilies: tells whether one socket here takes IPv6 and IPv4.
    """
    descriptions = portDescriptions(options[option], interface, bothFamilies)
    for description in descriptions:
        try:
            serverFromString(reactor, description)
        except Exception as e:
            raise usage.UsageError(
                f"--{option}: {description!r} is not a port or an endpoint description: {e}"
            ) from None
    options[option], *also = descriptions
    if also:
        options.ipv6Loopback = {**options.ipv6Loopback, option: also[0]}


def clientKey(options: usage.Options) -> ClientKey:
    """
    Who counts as one client for every per-client limit, as
    C{--ipv6-prefix} says.
    """
    return ClientKey(options["ipv6-prefix"])


def rateLimiter(
    options: usage.Options, reactor: Any, option: str = "finger-rate"
) -> Optional[RateLimiter]:
    """
    A per-client rate limit, or L{None} for none: C{--option} requests a
    second (finger queries by default), in bursts of twice that.
    """
    rate = options[option]
    if not rate:
        return None
    return RateLimiter(
        reactor, rate, 2 * rate, options["rate-limit-loopback"], clientKey(options)
    )


@dataclass(frozen=True)
class Listener:
    """
    One listener a role asks for, as L{Assembly} hands it to whatever makes
    listeners: a L{ListeningService}, or with C{--workers} one that hands
    its socket to the workers (L{finger.app.workers}) or, in a worker, one
    that adopts it (L{finger.app.worker}).

    @ivar description: the endpoint description to listen on.
    @ivar factory: what serves the connections.
    @ivar option: the option that chose it, as errors name it (C{--webport}).
    @ivar key: what the workers know its socket by: the option, or for an
        option's second listener (C{::1}) the option with C{-ipv6}.
    @ivar required: whether start-up stops when it cannot listen.
    """

    description: str
    factory: IProtocolFactory
    option: str
    key: str
    required: bool = True


def listeningService(reactor: Any, listener: Listener) -> ListeningService:
    """
    Make the listener a single process serves.
    """
    return ListeningService(
        reactor, listener.description, listener.factory, listener.option, listener.required
    )


@dataclass
class Assembly:
    """
    What every role's C{addTo} builds from and into.

    @ivar top: the service the listeners and the bot are added to.
    @ivar backend: the back-end every front-end serves.
    @ivar options: the parsed options.
    @ivar reactor: the reactor to listen, connect and keep time with.
    @ivar login: the login the front-ends that set statuses share, or
        L{None} when setting needs no password.
    """

    top: service.MultiService
    backend: Any
    options: "Options"
    reactor: Any
    login: Optional[SetterLogin] = None

    def listen(
        self,
        name: str,
        option: str,
        factory: IProtocolFactory,
        refusal: bytes,
        limiter: Optional[RateLimiter] = None,
    ) -> None:
        """
        Add a listener called C{name} on the C{--option} endpoint, under the
        limits every listener has; for a bare port number on loopback, one
        called C{name-ipv6} on C{::1} as well (see L{endpointOption}).

        @param refusal: what a connection over the limits is told before
            it is closed.
        """
        options = self.options
        limited = LimitingFactory(
            factory,
            self.reactor,
            refusal,
            maxConnections=options["max-connections"],
            maxPerAddress=options["max-per-address"],
            limitLoopback=options["rate-limit-loopback"],
            idleTimeout=options["idle-timeout"],
            maxLifetime=options["max-lifetime"],
            rateLimiter=limiter,
            clientKey=clientKey(options),
        )
        self._add(name, option, options[option], limited, True)
        ipv6 = options.ipv6Loopback.get(option)
        if ipv6 is not None:
            # Best effort: without IPv6, IPv4 loopback alone is served.
            self._add(f"{name}-ipv6", option, ipv6, limited, False)

    def _add(
        self, name: str, option: str, description: str, factory: IProtocolFactory, required: bool
    ) -> None:
        """
        Add one listener, made by C{options.makeListener} (see
        L{Listener}) or as a single process makes it.
        """
        label = f"--{option}"
        key = label if required else f"{label}-ipv6"
        make = self.options.makeListener or listeningService
        listener = make(self.reactor, Listener(description, factory, label, key, required))
        listener.setName(name)
        listener.setServiceParent(self.top)
