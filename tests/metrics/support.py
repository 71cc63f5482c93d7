"""
What the tests of C{--metrics} share: a skip when C{prometheus_client} is
missing, and reading one sample.
"""

from typing import Any, Dict, Optional

from twisted.trial.unittest import SynchronousTestCase

try:
    import prometheus_client
except ImportError:
    prometheus_client = None

SKIP = None if prometheus_client is not None else "prometheus_client is not installed"
"""
Why the tests of C{--metrics} are skipped, if they are.
"""


def sample(registry: Any, name: str, **labels: str) -> float:
    """
    The value of the sample C{name} with C{labels} in C{registry}; 0 if
    it has none yet.
    """
    value: Optional[float] = registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def counting(test: SynchronousTestCase) -> Any:
    """
    New metrics, and every request's outcome counted in them until the
    test ends.

    @return: the L{finger.metrics.counting.Metrics}.
    """
    from finger.lookup import LookupPolicy
    from finger.metrics.counting import Counting, Metrics, Observing

    metrics = Metrics()
    observing = Observing(Counting(metrics))
    observing.startService()
    test.addCleanup(observing.stopService)
    assert LookupPolicy.observer is observing.counting
    return metrics


def samples(text: str) -> Dict[Any, float]:
    """
    Every sample of a page in the text format, parsed by
    C{prometheus_client.parser}, by name and labels.
    """
    from prometheus_client.parser import text_string_to_metric_families

    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
