# -*- test-case-name: tests.net.test_limits -*-
"""
The limits every listener has, their options, and how a listener is added:
each front-end's option module calls L{listen} with its factory.
"""

from typing import Any, List, Optional

from twisted.application import service
from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import IProtocolFactory
from twisted.python import usage

from finger.app.coerce import number, positive, seconds
from finger.net.limits import DEFAULT_MAX_PER_ADDRESS, LimitingFactory, RateLimiter
from finger.net.listen import ListeningService, portDescription

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
        "client address; loopback is exempt unless --rate-limit-loopback.",
        positive("--max-per-address"),
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
        "Finger queries a second each client address may make, in bursts of "
        "twice that; loopback is exempt unless --rate-limit-loopback.",
        number("--finger-rate", float, 0, True, "Zero (no limit) or a positive number."),
    ],
]

optFlags: List[List[Any]] = [
    [
        "rate-limit-loopback",
        None,
        "Apply the per-address limits (--finger-rate, --max-per-address) to "
        "loopback clients too.",
    ],
]


def checkOptions(options: usage.Options, reactor: Any) -> None:
    """
    Nothing to check beyond what the coercers check.
    """


def endpointOption(options: usage.Options, reactor: Any, option: str, interface: str = "") -> None:
    """
    Check the C{--option} port option and replace it by its endpoint
    description.

    @param interface: the interface a bare port number listens on; all of
        them if empty.
    """
    description = portDescription(options[option], interface)
    try:
        serverFromString(reactor, description)
    except Exception as e:
        raise usage.UsageError(
            f"--{option}: {description!r} is not a port or an endpoint description: {e}"
        ) from None
    options[option] = description


def rateLimiter(options: usage.Options, reactor: Any) -> Optional[RateLimiter]:
    """
    The per-address rate limit of finger queries, or L{None} for none.
    """
    rate = options["finger-rate"]
    if not rate:
        return None
    return RateLimiter(reactor, rate, 2 * rate, options["rate-limit-loopback"])


def listen(
    top: service.MultiService,
    name: str,
    option: str,
    options: usage.Options,
    reactor: Any,
    factory: IProtocolFactory,
    refusal: bytes,
    limiter: Optional[RateLimiter] = None,
) -> None:
    """
    Add a listener called C{name} on the C{--option} endpoint, under the
    limits every listener has.

    @param refusal: what a connection over the limits is told before it is
        closed.
    """
    limited = LimitingFactory(
        factory,
        reactor,
        refusal,
        maxConnections=options["max-connections"],
        maxPerAddress=options["max-per-address"],
        limitLoopback=options["rate-limit-loopback"],
        idleTimeout=options["idle-timeout"],
        maxLifetime=options["max-lifetime"],
        rateLimiter=limiter,
    )
    # --workers: the main process hands the socket over, a worker adopts it.
    makeListener = getattr(options, "makeListener", None) or ListeningService
    listener = makeListener(reactor, options[option], limited, f"--{option}")
    listener.setName(name)
    listener.setServiceParent(top)
