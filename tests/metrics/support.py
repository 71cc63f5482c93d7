"""
What the tests of C{--metrics} share: a skip when C{prometheus_client} is
missing, and reading the samples.
"""

from typing import Any, Dict, Optional

try:
    import prometheus_client
except ImportError:
    prometheus_client = None

SKIP = None if prometheus_client is not None else "prometheus_client is not installed"
"""
Why the tests of C{--metrics} are skipped, if they are.
"""


def registry(tally: Any) -> Any:
    """
    A C{prometheus_client} registry of C{tally}'s metrics, as a single
    process serves them.
    """
    from finger.metrics.exposition import TallyCollector, registryOf

    return registryOf(TallyCollector(lambda: [(tally.snapshot(), True)]))


def sample(tally: Any, name: str, **labels: str) -> Optional[float]:
    """
    The value of the sample C{name} with C{labels} of C{tally}'s metrics,
    or L{None} if it has none.
    """
    value: Optional[float] = registry(tally).get_sample_value(name, labels)
    return value


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
