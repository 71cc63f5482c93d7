# -*- test-case-name: tests.frontends.test_finger,tests.frontends.test_setter -*-
"""
What the factories of the front-ends whose clients each send one request
(finger, the setter) share: L{RequestFactory}, and its settings,
L{RequestSettings}, which each such factory's constructor takes as keyword
arguments beside its own.
"""

from typing import Optional, TypedDict

from twisted.internet.interfaces import IReactorTime
from twisted.internet.protocol import ServerFactory

from finger.interfaces import IOutcomeObserver
from finger.lookup import LOOKUP_TIMEOUT, LookupPolicy
from finger.net.deadlines import Deadlines
from finger.reactor import orGlobalReactor


class RequestSettings(TypedDict, total=False):
    """
    The settings every L{RequestFactory} takes, by keyword: a subclass's
    constructor takes them as C{**settings: Unpack[RequestSettings]} beside
    its own and hands them on, so each is declared, with its default, once
    (L{RequestFactory.__init__} says what each means).
    """

    clock: Optional[IReactorTime]
    timeout: float
    lookupTimeout: float
    observer: Optional[IOutcomeObserver]


class RequestFactory(ServerFactory):
    """
    The factory of a front-end whose clients each send one request (finger,
    the setter): what every such front-end keeps, set once, in its
    constructor (L{RequestSettings}).

    @ivar clock: the L{IReactorTime} for every timeout; the global reactor
        unless the constructor is given one.
    @ivar timeout: seconds a client has to send its request.
    @ivar deadlines: the clients' deadlines for their requests, on the
        clock: one timer for them all.
    @ivar lookupTimeout: seconds the back-end has to answer.
    @ivar lookup: the L{LookupPolicy} every request goes through, built with
        C{clock}, C{lookupTimeout} and the front-end's observer, if any.
    """

    noisy = False

    def __init__(
        self,
        *,
        clock: Optional[IReactorTime] = None,
        timeout: float = 60.0,
        lookupTimeout: float = LOOKUP_TIMEOUT,
        observer: Optional[IOutcomeObserver] = None,
    ) -> None:
        """
        @param clock: what every timeout runs on; the global reactor if
            L{None}.
        @param timeout: seconds a client has to send its request.
        @param lookupTimeout: seconds the back-end has to answer.
        @param observer: what hears the outcome of every request (the
            metrics' count of the front-end); L{None} for nothing.
        """
        self.clock = orGlobalReactor(clock)
        self.timeout = timeout
        self.deadlines = Deadlines(self.clock)
        self.lookupTimeout = lookupTimeout
        self.lookup = LookupPolicy(self.clock, lookupTimeout, observer=observer)
