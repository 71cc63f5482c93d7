# -*- test-case-name: tests.metrics.test_shared,tests.metrics.test_pages -*-
"""
The counts of L{finger.metrics.tally} as C{prometheus_client} metrics,
made when they are read (L{TallyCollector}): from one process's
L{Tally<finger.metrics.tally.Tally>}, or from the snapshots of every worker
of C{--workers} (L{finger.metrics.shared}), summed.
"""

from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple

from finger.metrics.tally import BUCKETS, COUNTERS, GAUGES, HISTOGRAMS, ZEROS

Snapshot = Dict[str, Any]
"""
What L{finger.metrics.tally.Tally.snapshot} makes.
"""

Sources = Callable[[], Iterable[Tuple[Snapshot, bool]]]
"""
Gives the snapshots to show, each with whether its process is alive (a
dead worker's counts stay in the sums; its gauges do not).
"""


class MetricsUnavailable(Exception):
    """
    C{--metrics} was asked for without C{prometheus_client} installed.
    """


def prometheus() -> Any:
    """
    The C{prometheus_client} module.

    @raise MetricsUnavailable: saying how to install it, if it is not.
    """
    try:
        import prometheus_client

        # Now, rather than on the first scrape, when twistd may have
        # dropped the privileges to read the installation (see
        # finger.app.compose.preload).
        import prometheus_client.core  # noqa: F401
    except ImportError:
        raise MetricsUnavailable(
            "--metrics needs prometheus_client: pip install 'finger[metrics]'"
        ) from None
    return prometheus_client


def _bound(value: float) -> str:
    return repr(float(value))


def merged(snapshots: Iterable[Tuple[Snapshot, bool]]) -> Snapshot:
    """
    Several snapshots as one: counters and histograms summed, each gauge
    made from the live ones' values as L{GAUGES} says, and the first
    reason a live one gives for not being ready.
    """
    counters: Dict[str, Dict[str, float]] = {name: {} for name in COUNTERS}
    histograms: Dict[str, Dict[str, List[float]]] = {name: {} for name in HISTOGRAMS}
    readings: Dict[str, Dict[str, List[float]]] = {}
    notReady: Optional[str] = None
    live = 0
    for snapshot, alive in snapshots:
        for name, series in snapshot.get("counters", {}).items():
            total = counters.setdefault(name, {})
            for labels, value in series.items():
                total[labels] = total.get(labels, 0) + value
        for name, series in snapshot.get("histograms", {}).items():
            sums = histograms.setdefault(name, {})
            for labels, counts in series.items():
                kept = sums.get(labels)
                sums[labels] = counts if kept is None else [a + b for a, b in zip(kept, counts)]
        if not alive:
            continue
        live += 1
        for name, series in snapshot.get("gauges", {}).items():
            for labels, value in series.items():
                readings.setdefault(name, {}).setdefault(labels, []).append(value)
        if notReady is None:
            notReady = snapshot.get("notReady")
    gauges = {
        name: {labels: GAUGES[name][2](values) for labels, values in series.items()}
        for name, series in readings.items()
        if name in GAUGES
    }
    return {
        "counters": counters,
        "histograms": histograms,
        "gauges": gauges,
        "notReady": notReady,
        "live": live,
    }


class TallyCollector:
    """
    A C{prometheus_client} collector of the snapshots C{sources} gives.
    """

    def __init__(self, sources: Sources) -> None:
        self.sources = sources

    def collect(self) -> Iterator[Any]:
        prometheus()
        from prometheus_client import core
        snapshot = merged(self.sources())
        for name, (help, labelNames) in COUNTERS.items():
            series = dict.fromkeys((" ".join(z) for z in ZEROS.get(name, [])), 0.0)
            series.update(snapshot["counters"].get(name, {}))
            if not labelNames and not series:
                series[""] = 0.0
            counter = core.CounterMetricFamily(name, help, labels=labelNames)
            for labels, value in sorted(series.items()):
                counter.add_metric(labels.split(" ") if labelNames else [], value)
            yield counter
        for name, (help, labelNames) in HISTOGRAMS.items():
            zero = [0.0] * (len(BUCKETS) + 2)
            histogram = dict.fromkeys((" ".join(z) for z in ZEROS.get(name, [])), zero)
            histogram.update(snapshot["histograms"].get(name, {}))
            histogramFamily = core.HistogramMetricFamily(name, help, labels=labelNames)
            for labels, counts in sorted(histogram.items()):
                buckets = []
                total = 0.0
                for bound, count in zip((*map(_bound, BUCKETS), "+Inf"), counts):
                    total += count
                    buckets.append((bound, total))
                histogramFamily.add_metric(labels.split(" "), buckets, counts[-1])
            yield histogramFamily
        for name, series in snapshot["gauges"].items():
            help, labelNames, _ = GAUGES[name]
            gauge = core.GaugeMetricFamily(name, help, labels=labelNames)
            for labels, value in sorted(series.items()):
                gauge.add_metric(labels.split(" ") if labelNames else [], value)
            yield gauge

    def notReady(self) -> Optional[str]:
        """
        Why the service cannot answer, from its live snapshots: the first
        reason one gives, or that none is live yet.
        """
        snapshot = merged(self.sources())
        if not snapshot["live"]:
            return "no worker is serving yet"
        reason: Optional[str] = snapshot["notReady"]
        return reason


def registryOf(collector: TallyCollector) -> Any:
    """
    A C{prometheus_client} registry of C{collector} alone.
    """
    registry = prometheus().CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry
