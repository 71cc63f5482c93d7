# -*- test-case-name: tests.test_reactor -*-
"""
The clock a thing keeps time with: the one it was given, or the global
reactor.

Anything that schedules or connects takes its reactor as a parameter
(C{clock=}, C{reactor=}), so that tests pass a L{twisted.internet.task.Clock}
or a L{twisted.internet.testing.MemoryReactorClock}.  A thing built with its
defaults, as the tutorial's one-liners build them, was given none: then it
uses the global reactor, found here and nowhere else, and only when it is
built, so that importing a module never installs a reactor.
"""

from typing import Optional

from twisted.internet.interfaces import IReactorTime


def orGlobalReactor(clock: Optional[IReactorTime]) -> IReactorTime:
    """
    C{clock}, or the global reactor when it is L{None}: what a front-end
    built with default settings (C{IFingerFactory(service)}), or a back-end
    built without a reactor, keeps time with, as L{twisted.web.server.Site}
    and L{twisted.application.internet.ClientService} do.
    L{finger.app.tap} always passes its reactor.
    """
    if clock is None:
        from twisted.internet import reactor

        return reactor  # type: ignore[return-value]
    return clock
