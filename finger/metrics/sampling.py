# -*- test-case-name: tests.metrics.test_sampling -*-
"""
What the metrics read rather than count (L{Sampler}): how many connections
each listener has open, and the back-end's state (its users, when it last
read its statuses, how often it read a changed file again, whether it can
answer).  Read once a second, and when the metrics are asked for, so that
no connection and no request pays for it.
"""

from typing import Mapping, Optional

from twisted.application.internet import TimerService
from twisted.internet.interfaces import IReactorTime
from twisted.protocols.policies import WrappingFactory

from finger.backends.memory import StatusTable
from finger.readiness import notReady
from finger.metrics.tally import CONNECTIONS, LAST_LOAD, REACHABLE, READY, RELOADS, USERS, Tally

SAMPLE_INTERVAL = 1.0
"""
Seconds between two samples.
"""


class Sampler(TimerService):
    """
    Read the gauges of one process's metrics once a second while running.

    @ivar tally: where the readings go.
    @ivar backend: the back-end read.
    @ivar listeners: each listener's limits (their open connections), by
        listener name.
    @ivar database: whether the back-end is a database: then it is
        reachable when it is ready, and its statuses are as recent as the
        last time it was.
    """

    def __init__(
        self,
        tally: Tally,
        clock: IReactorTime,
        backend: object,
        listeners: Mapping[str, WrappingFactory],
        *,
        database: bool = False,
        interval: float = SAMPLE_INTERVAL,
    ) -> None:
        self.tally = tally
        self.database = database
        self.backend = backend
        self.listeners = listeners
        self._reloads = 0
        super().__init__(interval, self.sample)
        self.clock = clock

    def notReady(self) -> Optional[str]:
        """
        Why the back-end cannot answer now, or L{None} if it can.
        """
        return notReady([self.backend])

    def sample(self) -> None:
        """
        Read every gauge now.
        """
        tally, backend = self.tally, self.backend
        for name, factory in self.listeners.items():
            tally.set(CONNECTIONS, len(factory.protocols), (name,))
        tally.notReady = why = self.notReady()
        ready = 1 if why is None else 0
        tally.set(READY, ready)
        if self.database:
            tally.set(REACHABLE, ready)
        if isinstance(backend, StatusTable):
            tally.set(USERS, len(backend.users))
        lastRead = getattr(backend, "lastRead", None)
        if isinstance(lastRead, float):
            tally.set(LAST_LOAD, lastRead)
        elif ready and self.database:
            # A table kept up to date while it can answer (a database's).
            tally.set(LAST_LOAD, self.clock.seconds())
        reloads = getattr(backend, "reloads", None)
        if isinstance(reloads, int) and reloads > self._reloads:
            tally.add(RELOADS, (), reloads - self._reloads)
            self._reloads = reloads
