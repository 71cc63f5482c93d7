# -*- test-case-name: tests.metrics.test_sampling -*-
"""
What the metrics read rather than count (L{Sampler}): how many connections
each listener has open, and the back-end's state (its users, when it last
read its statuses, how often it read a changed file again, whether it can
answer).  Read once a second, and when the metrics are asked for, so that
no connection and no request pays for it.
"""

from typing import Any, Mapping, Optional

from twisted.application.service import Service
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import LoopingCall
from twisted.protocols.policies import WrappingFactory

from finger.backends.memory import StatusTable
from finger.interfaces import IReadiness
from finger.metrics.counting import Metrics

SAMPLE_INTERVAL = 1.0
"""
Seconds between two samples.
"""


def notReady(backend: object) -> Optional[str]:
    """
    Why C{backend} cannot answer now (L{IReadiness}), or L{None} if it
    can: a back-end that does not say is always ready.
    """
    readiness = IReadiness(backend, None)
    return None if readiness is None else readiness.notReady()


class Sampler(Service):
    """
    Read the gauges of one process's metrics once a second while running.

    @ivar metrics: where the readings go.
    @ivar backend: the back-end read.
    @ivar listeners: each listener's limits (their open connections), by
        listener name.

    A back-end that is a database (L{Metrics} made with C{database}) is
    reachable when it is ready, and its statuses are as recent as the
    last time it was.
    """

    def __init__(
        self,
        metrics: Metrics,
        clock: IReactorTime,
        backend: object,
        listeners: Mapping[str, WrappingFactory],
        *,
        interval: float = SAMPLE_INTERVAL,
    ) -> None:
        self.metrics = metrics
        self.clock = clock
        self.backend = backend
        self.listeners = listeners
        self.interval = interval
        self._reloads = 0
        self._loop = LoopingCall(self.sample)
        self._loop.clock = clock

    def startService(self) -> None:
        super().startService()
        self._loop.start(self.interval, now=True)

    def stopService(self) -> Any:
        if self._loop.running:
            self._loop.stop()
        return super().stopService()

    def notReady(self) -> Optional[str]:
        """
        Why the back-end cannot answer now, or L{None} if it can.
        """
        return notReady(self.backend)

    def sample(self) -> None:
        """
        Read every gauge now.
        """
        metrics, backend = self.metrics, self.backend
        for name, factory in self.listeners.items():
            metrics.connections.labels(name).set(len(factory.protocols))
        ready = self.notReady() is None
        metrics.ready.set(1 if ready else 0)
        if metrics.databaseReachable is not None:
            metrics.databaseReachable.set(1 if ready else 0)
        if isinstance(backend, StatusTable):
            metrics.users.set(len(backend.users))
        lastRead = getattr(backend, "lastRead", None)
        if isinstance(lastRead, float):
            metrics.lastLoad.set(lastRead)
        elif ready and metrics.databaseReachable is not None:
            # A table kept up to date while it can answer (a database's).
            metrics.lastLoad.set(self.clock.seconds())
        reloads = getattr(backend, "reloads", None)
        if isinstance(reloads, int) and reloads > self._reloads:
            metrics.reloads.inc(reloads - self._reloads)
            self._reloads = reloads
