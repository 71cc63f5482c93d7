# -*- test-case-name: tests.net.test_notify,tests.metrics.test_sampling -*-
"""
Asking whether the parts of the service can answer yet: the one reading of
L{finger.interfaces.IReadiness}, for systemd's C{READY=1}
(L{finger.net.notify}) and the readiness probe (L{finger.metrics}).
"""

from typing import Iterable, Optional

from finger.interfaces import IReadiness


def notReady(things: Iterable[object]) -> Optional[str]:
    """
    Why the first of C{things} that is not ready is not, or L{None} if all
    are: what does not provide L{IReadiness} is ready.
    """
    for thing in things:
        readiness = IReadiness(thing, None)
        if readiness is not None:
            why = readiness.notReady()
            if why is not None:
                return why
    return None
