# -*- test-case-name: tests.app.test_metrics -*-
"""
C{--metrics}: its option, L{MetricsConfig}, and the services that count
and serve the metrics (L{ProcessMetrics} in a process that serves,
L{workersMetrics} in the main process of C{--workers}).
"""

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional

from twisted.application.service import IService, MultiService
from twisted.protocols.policies import WrappingFactory
from twisted.python import usage

from finger.app.listening import Listener, Port, readPort
from finger.metrics.counting import Counting, Metrics, MetricsUnavailable, Observing, prometheus
from finger.net.listen import LOOPBACK

optParameters: List[List[Any]] = [
    [
        "metrics",
        None,
        None,
        "Serve Prometheus metrics at /metrics, and the probes /healthz and "
        "/readyz, here: a port (on 127.0.0.1 and ::1) or an endpoint "
        "description.  Off unless given; needs finger[metrics].",
    ],
]

optFlags: List[List[Any]] = []

MakeListener = Callable[[Any, Listener], IService]


@dataclass(frozen=True)
class MetricsConfig:
    """
    C{--metrics}.

    @ivar port: where the metrics are served: a bare port number listens
        on loopback only (127.0.0.1 and ::1); L{None} in a worker of
        C{--workers}, which counts for the main process to serve.
    """

    port: Optional[Port]

    @classmethod
    def fromOptions(cls, options: usage.Options, reactor: Any) -> "Optional[MetricsConfig]":
        """
        Check and read C{--metrics}: L{None} when it is not given.

        @param reactor: the reactor the port is checked against.
        @raise usage.UsageError: if C{prometheus_client} is missing.
        """
        value = options["metrics"]
        if value is None:
            return None
        try:
            prometheus()
        except MetricsUnavailable as e:
            raise usage.UsageError(str(e)) from None
        return cls(port=readPort("metrics", value, reactor, LOOPBACK))


class ProcessMetrics:
    """
    The metrics of a process that serves: built before the front-ends, so
    that their limits and the login can count into them (L{refused},
    L{failedLogin}), then started with the services that count and serve
    them (L{addTo}).
    """

    def __init__(self, config: MetricsConfig, reactor: Any, database: bool) -> None:
        """
        @param database: whether the back-end is a database.
        """
        self.config = config
        self.reactor = reactor
        self.metrics = Metrics(database)
        self.listeners: Dict[str, WrappingFactory] = {}

    def refused(self, name: str) -> Callable[[str], None]:
        """
        What counts the connections the listener C{name} refuses.
        """
        return self.metrics.refused(name)

    def watch(self, name: str, limited: WrappingFactory) -> None:
        """
        Read how many connections the listener C{name} has open from its
        limits, C{limited}.
        """
        self.listeners[name] = limited

    def failedLogin(self, reason: str) -> None:
        """
        Count a failed login.
        """
        self.metrics.failedLogin(reason)

    def addTo(self, top: MultiService, backend: object, listen: MakeListener) -> None:
        """
        Add to C{top} what counts (the outcomes of requests), what reads
        the gauges, and the listener of C{/metrics}, C{/healthz} and
        C{/readyz} (none in a worker).

        @param backend: the back-end read.
        @param listen: what makes the service of the listener.
        """
        from finger.metrics.pages import operationsSite
        from finger.metrics.sampling import Sampler

        observing = Observing(Counting(self.metrics))
        observing.setName("metrics-counting")
        observing.setServiceParent(top)
        sampler = Sampler(self.metrics, self.reactor, backend, self.listeners)
        sampler.setName("metrics-sampling")
        sampler.setServiceParent(top)
        if self.config.port is None:
            return
        site = operationsSite(
            self.metrics.registry, sampler.notReady, self.reactor, before=sampler.sample
        )
        addListener(top, self.config.port, site, self.reactor, listen)


def addListener(
    top: MultiService, port: Port, site: Any, reactor: Any, listen: MakeListener
) -> None:
    """
    Listen for the metrics' site on C{port}, under C{top}.
    """
    for name, listener in port.listeners("metrics", site):
        child = listen(reactor, listener)
        child.setName(name)
        child.setServiceParent(top)


class WorkersMetrics:
    """
    The main process of C{--workers}: the workers count into a shared
    directory (L{finger.metrics.shared}), and this process serves their
    sums with its own count of their restarts.

    @ivar environment: what the workers' environment must hold.
    @ivar died: what the supervisor tells of each worker that ends.
    """

    def __init__(self, config: MetricsConfig, reactor: Any) -> None:
        from finger.metrics.shared import VARIABLE, WorkersCollector, sharedPath, workerDied

        client = prometheus()
        self.config = config
        self.reactor = reactor
        self.path = sharedPath()
        self.registry = client.CollectorRegistry(auto_describe=True)
        restarts = client.Counter(
            "finger_worker_restarts",
            "Workers restarted after they died.",
            registry=self.registry,
        )
        self.collector = WorkersCollector(self.path)
        self.registry.register(self.collector)
        self.environment = {VARIABLE: self.path}
        self.died = workerDied(self.path, restarts)

    def addTo(self, top: MultiService, supervisor: Any, listen: MakeListener) -> None:
        """
        Add to C{top} the shared directory, which must be made before the
        workers start (so before C{supervisor} is added), and the
        listener.
        """
        from finger.metrics.pages import operationsSite
        from finger.metrics.shared import SharedDirectory

        directory = SharedDirectory(self.path, supervisor)
        directory.setName("metrics-directory")
        directory.setServiceParent(top)
        assert self.config.port is not None
        site = operationsSite(self.registry, self.collector.notReady, self.reactor)
        addListener(top, self.config.port, site, self.reactor, listen)
