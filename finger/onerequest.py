# -*- test-case-name: tests.frontends.test_finger,tests.frontends.test_setter -*-
"""
What the factories of the front-ends whose clients each send one request
(finger, the setter) share: L{RequestFactory}, and its settings,
L{RequestSettings}, which each such factory's constructor takes as keyword
arguments beside its own.
"""

from typing import TYPE_CHECKING

from twisted.internet.protocol import ServerFactory

from finger.lookup import LookupPolicy, LookupSettings
from finger.net.deadlines import Deadlines

if TYPE_CHECKING:
    from typing_extensions import Unpack


class RequestSettings(LookupSettings, total=False):
    """
    The settings every L{RequestFactory} takes, by keyword: the
    L{LookupSettings} and C{timeout}.  A subclass's constructor takes them
    as C{**settings: Unpack[RequestSettings]} beside its own and hands them
    on, so each is declared, with its default, once.
    """

    timeout: float


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
    @ivar lookup: the L{LookupPolicy} every request goes through, built from
        the L{LookupSettings}.
    """

    noisy = False

    def __init__(self, *, timeout: float = 60.0, **settings: "Unpack[LookupSettings]") -> None:
        """
        @param timeout: seconds a client has to send its request.
        @param settings: how the back-end is asked
            (L{LookupPolicy.fromSettings}).
        """
        self.lookup = LookupPolicy.fromSettings(**settings)
        self.clock = self.lookup.clock
        self.lookupTimeout = self.lookup.timeout
        self.timeout = timeout
        self.deadlines = Deadlines(self.clock)
