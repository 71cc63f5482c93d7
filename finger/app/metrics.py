# -*- test-case-name: tests.app.test_metrics -*-
"""
C{--metrics}: its option, L{MetricsConfig}, and the services that count
and serve the metrics (L{ProcessMetrics} in a process that serves,
L{WorkersMetrics} in the main process of C{--workers}).
"""

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional

from twisted.application.service import IService, MultiService
from twisted.protocols.policies import WrappingFactory
from twisted.python import usage

from finger.app.listening import Listener, Port, readPort
from finger.metrics.exposition import MetricsUnavailable, TallyCollector, prometheus, registryOf
from finger.metrics.pages import operationsSite
from finger.interfaces import IOutcomeObserver
from finger.metrics.tally import Counting, Tally
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
    @ivar directory: in a worker, where it writes its counts for the main
        process (L{finger.metrics.shared}); else L{None}.
    """

    port: Optional[Port]
    directory: Optional[str] = None

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
    The metrics of a process that serves: made before the front-ends, so
    that each front-end's requests (L{observer}), their limits (L{refused})
    and the login (L{failedLogin}) count into them; then started with the
    services that read and serve them (L{addTo}).

    @ivar tally: the counts.
    """

    def __init__(self, config: MetricsConfig, reactor: Any, database: bool) -> None:
        """
        @param database: whether the back-end is a database.
        """
        self.config = config
        self.reactor = reactor
        self.database = database
        self.tally = Tally()
        self.listeners: Dict[str, WrappingFactory] = {}

    def observer(self, frontend: str) -> IOutcomeObserver:
        """
        What counts the outcome of every request of the front-end
        C{frontend} (one of L{finger.metrics.tally.FRONTENDS}), for its
        lookup policy.
        """
        return Counting(self.tally, frontend)

    def refused(self, name: str) -> Callable[[str], None]:
        """
        What counts the connections the listener C{name} refuses.
        """
        return self.tally.refused(name)

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
        self.tally.failedLogin(reason)

    def addTo(self, top: MultiService, backend: object, listen: MakeListener) -> None:
        """
        Add to C{top} what reads the gauges, and the listener of
        C{/metrics}, C{/healthz} and C{/readyz}; in a worker, what writes
        the counts for the main process instead of the listener.

        @param backend: the back-end read.
        @param listen: what makes the service of the listener.
        """
        from finger.metrics.sampling import Sampler

        sampler = Sampler(
            self.tally, self.reactor, backend, self.listeners, database=self.database
        )
        sampler.setName("metrics-sampling")
        sampler.setServiceParent(top)
        if self.config.directory is not None:
            from finger.metrics.shared import SnapshotWriter

            writer = SnapshotWriter(
                self.tally, self.config.directory, self.reactor, before=sampler.sample
            )
            writer.setName("metrics-writer")
            writer.setServiceParent(top)
        if self.config.port is None:
            return
        tally = self.tally
        collector = TallyCollector(lambda: [(tally.snapshot(), True)])
        site = operationsSite(
            registryOf(collector), sampler.notReady, self.reactor, before=sampler.sample
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
    The main process of C{--workers}: the workers write their counts in a
    shared directory (L{finger.metrics.shared}), and this process serves
    their sums, with the count of their restarts and its own counts.

    @ivar environment: what the workers' environment must hold.
    @ivar snapshots: the workers' counts.
    @ivar tally: the counts of the requests this process serves itself:
        the IRC bot's, which runs here and not in the workers.
    """

    def __init__(self, config: MetricsConfig, reactor: Any) -> None:
        from finger.metrics.shared import VARIABLE, WorkerSnapshots, sharedPath

        self.config = config
        self.reactor = reactor
        path = sharedPath()
        self.environment = {VARIABLE: path}
        self.snapshots = WorkerSnapshots(path)
        self.tally = Tally()

    def observer(self, frontend: str) -> IOutcomeObserver:
        """
        What counts the outcome of every request of the front-end
        C{frontend} that runs in this process (the IRC bot).
        """
        return Counting(self.tally, frontend)

    def died(self, pid: int, restarting: bool) -> None:
        """
        A worker ended (L{finger.app.workers.WorkerSupervisor}'s C{died}).
        """
        self.snapshots.died(pid, restarting)

    def addTo(self, top: MultiService, supervisor: Any, listen: MakeListener) -> None:
        """
        Add to C{top} the shared directory, which must be made before the
        workers start (so before C{supervisor} is added), and the
        listener.
        """
        from finger.metrics.shared import SharedDirectory

        directory = SharedDirectory(self.snapshots.path, supervisor)
        directory.setName("metrics-directory")
        directory.setServiceParent(top)
        assert self.config.port is not None
        snapshots, tally = self.snapshots, self.tally
        # This process's own counts are added to the workers'; it reads no
        # gauge and serves no listener, so it counts as no live worker.
        collector = TallyCollector(lambda: [*snapshots(), (tally.snapshot(), False)])
        site = operationsSite(registryOf(collector), collector.notReady, self.reactor)
        addListener(top, self.config.port, site, self.reactor, listen)
