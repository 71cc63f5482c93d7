"""
Tests for L{finger.metrics.sampling}: the gauges read once a second, and
the readiness of the back-ends.
"""

from typing import Optional

from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock
from twisted.protocols.policies import WrappingFactory
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from finger.backends.file import FileFingerService
from finger.backends.memory import MemoryFingerService
from finger.interfaces import IReadiness
from finger.testing import ThreadlessClock
from tests.metrics.support import SKIP, sample
from tests.support import connected


@implementer(IReadiness)
class _Pending(MemoryFingerService):
    """
    Statuses in memory, and a reason not to be ready that a test sets.
    """

    why: Optional[str] = "the database is not reachable: connection refused"

    def notReady(self) -> Optional[str]:
        return self.why


class SamplerTests(SynchronousTestCase):
    skip = SKIP

    def setUp(self) -> None:
        from finger.metrics.tally import Tally

        self.metrics = Tally()
        self.database = True

    def sampler(self, backend: object, clock: Clock, **kwargs: object) -> object:
        from finger.metrics.sampling import Sampler

        sampler = Sampler(
            self.metrics, clock, backend, kwargs.pop("listeners", {}), database=self.database  # type: ignore[arg-type]
        )
        sampler.startService()
        self.addCleanup(sampler.stopService)
        return sampler

    def value(self, name: str, **labels: str) -> float:
        return sample(self.metrics, name, **labels) or 0

    def test_connections(self) -> None:
        """
        The connections a listener has open are read every second.
        """
        clock = Clock()
        web = WrappingFactory(Factory.forProtocol(Protocol))
        self.sampler(MemoryFingerService(), clock, listeners={"web": web})
        self.assertEqual(self.value("finger_connections_open", listener="web"), 0)
        first, _ = connected(web)
        connected(web)
        clock.advance(1)
        self.assertEqual(self.value("finger_connections_open", listener="web"), 2)
        first.connectionLost(None)
        clock.advance(1)
        self.assertEqual(self.value("finger_connections_open", listener="web"), 1)

    def test_readiness(self) -> None:
        """
        A back-end that says it is not ready is read as 0, and so is its
        database with C{database}; then 1 once it is ready, and its
        statuses count as loaded then.
        """
        clock = Clock()
        clock.advance(1000)
        backend = _Pending(moshez="happy")
        sampler = self.sampler(backend, clock)
        self.assertEqual(sampler.notReady(), backend.why)  # type: ignore[attr-defined]
        self.assertEqual(self.value("finger_backend_ready"), 0)
        self.assertEqual(self.value("finger_database_reachable"), 0)
        self.assertEqual(self.value("finger_backend_last_load_timestamp_seconds"), 0)
        backend.why = None
        clock.advance(1)
        self.assertIsNone(sampler.notReady())  # type: ignore[attr-defined]
        self.assertEqual(self.value("finger_backend_ready"), 1)
        self.assertEqual(self.value("finger_database_reachable"), 1)
        self.assertEqual(self.value("finger_backend_last_load_timestamp_seconds"), 1001)
        self.assertEqual(self.value("finger_backend_users"), 1)

    def test_alwaysReady(self) -> None:
        """
        A back-end that does not provide L{IReadiness} is ready; without
        a database there is no database to reach.
        """
        self.database = False
        self.sampler(MemoryFingerService(), Clock())
        self.assertEqual(self.value("finger_backend_ready"), 1)
        self.assertIsNone(sample(self.metrics, "finger_database_reachable"))

    def test_statusFile(self) -> None:
        """
        A status file's users, when it was last read, and how many times a
        changed file was read again.
        """
        path = self.mktemp()
        with open(path, "w") as f:
            f.write("moshez: happy\n")
        clock = ThreadlessClock()
        clock.advance(50)
        backend = FileFingerService(path, reactor=clock, watch=None)
        backend.startService()
        self.addCleanup(backend.stopService)
        self.sampler(backend, clock)
        self.assertEqual(self.value("finger_backend_users"), 1)
        self.assertEqual(self.value("finger_backend_last_load_timestamp_seconds"), 50)
        self.assertEqual(self.value("finger_status_file_reloads_total"), 0)
        with open(path, "w") as f:
            f.write("moshez: happy\nzoe: away for a while\n")
        clock.advance(30)
        clock.advance(1)
        self.assertEqual(self.value("finger_backend_users"), 2)
        self.assertEqual(self.value("finger_backend_last_load_timestamp_seconds"), 80)
        self.assertEqual(self.value("finger_status_file_reloads_total"), 1)
        clock.advance(29)
        clock.advance(1)
        self.assertEqual(self.value("finger_status_file_reloads_total"), 1)
        self.assertEqual(self.value("finger_backend_last_load_timestamp_seconds"), 110)
