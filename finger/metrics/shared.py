# -*- test-case-name: tests.metrics.test_shared -*-
"""
C{--metrics} with C{--workers}: the main process serves the counts of the
whole service, every worker's together.

Each worker keeps its counts in memory, as a single process does
(L{finger.metrics.tally}), and once a second writes a snapshot of them to
a file of its own in a directory the main process made
(L{SnapshotWriter}); the main process reads them when it is scraped and
sums them (L{WorkerSnapshots}).  A worker that stops writes its last
snapshot first; when one dies, the main process keeps its counts (so a
restart never makes a counter go back) and drops its gauges.  A worker
killed outright loses at most its last second of counts.

Why not C{prometheus_client}'s own multiprocess mode: it keeps every
count in a memory-mapped file, with a lock taken for each add, which costs
a finger query more than the 5% the metrics may; and it must be chosen
by an environment variable before the library is first imported.  Why not
messages over the pipes that carry the workers' logs: the logs would have
to tell the two apart, in L{finger.app.workers}, where a file needs no
change.
"""

import json
import os
import secrets
import shutil
import tempfile
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from twisted.application.service import Service
from twisted.internet.defer import DeferredList, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from finger.metrics.exposition import Snapshot, merged
from finger.metrics.tally import RESTARTS, Tally

VARIABLE = "FINGER_METRICS_DIRECTORY"
"""
The environment variable that tells a worker where to write its
snapshots.
"""

WRITE_INTERVAL = 1.0
"""
Seconds between two snapshots of a worker.
"""


def sharedPath(parent: Optional[str] = None) -> str:
    """
    A new path for the directory of the workers' snapshots, in C{parent}
    or the temporary directory; nothing is made there yet.
    """
    return os.path.join(parent or tempfile.gettempdir(), f"finger-metrics-{secrets.token_hex(8)}")


class SharedDirectory(Service):
    """
    The directory of the workers' snapshots: made when the service starts
    (after twistd drops privileges, so that the workers may write in it;
    before the workers start) and removed once the workers have stopped.

    @ivar path: where it is.
    @ivar supervisor: the L{finger.app.workers.WorkerSupervisor} whose
        workers write in it.
    """

    def __init__(self, path: str, supervisor: Any) -> None:
        self.path = path
        self.supervisor = supervisor

    def startService(self) -> None:
        super().startService()
        os.mkdir(self.path, 0o700)

    def stopService(self) -> Any:
        super().stopService()
        ended = [worker.ended for worker in self.supervisor.workers.values()]
        d: Any = DeferredList(ended) if ended else succeed(None)
        return d.addCallback(lambda _: shutil.rmtree(self.path, ignore_errors=True))


def _read(path: str) -> Optional[Snapshot]:
    try:
        with open(path, encoding="utf-8") as f:
            snapshot: Snapshot = json.load(f)
    except (OSError, ValueError):
        return None
    return snapshot


class WorkerSnapshots:
    """
    The main process's view of the workers' snapshots: those of the live
    workers, read when asked, and the counts of every worker that died,
    kept (L{died}) with the count of restarts.

    @ivar path: the directory of the snapshots.
    @ivar retired: the counts of the workers that died, and the restarts.
    """

    log = Logger()

    def __init__(self, path: str) -> None:
        self.path = path
        self.retired = Tally()

    def _files(self) -> List[str]:
        try:
            names = os.listdir(self.path)
        except OSError:
            return []
        return [os.path.join(self.path, name) for name in names if name.endswith(".json")]

    def __call__(self) -> Iterable[Tuple[Snapshot, bool]]:
        """
        Every snapshot to show: the retired counts, then each live
        worker's (an L{finger.metrics.exposition.Sources}).
        """
        sources: List[Tuple[Snapshot, bool]] = [(self.retired.snapshot(), False)]
        for path in self._files():
            snapshot = _read(path)
            if snapshot is not None:
                sources.append((snapshot, True))
        return sources

    def died(self, pid: int, restarting: bool) -> None:
        """
        A worker ended (L{finger.app.workers.WorkerSupervisor}'s C{died}):
        keep its last counts with the retired ones, drop its file, and
        count its restart.
        """
        path = os.path.join(self.path, f"{pid}.json")
        snapshot = _read(path)
        if snapshot is not None:
            kept = merged([(self.retired.snapshot(), False), (snapshot, False)])
            self.retired.counters.update(_tuples(kept["counters"]))
            self.retired.histograms.update(_tuples(kept["histograms"]))
            try:
                os.remove(path)
            except OSError:
                pass
        if restarting:
            self.retired.add(RESTARTS)


def _tuples(series: Dict[str, Dict[str, Any]]) -> Dict[str, Dict[Tuple[str, ...], Any]]:
    """
    A snapshot's series with their label sets as tuples again.
    """
    return {
        name: {
            tuple(labels.split(" ")) if labels else (): value for labels, value in values.items()
        }
        for name, values in series.items()
    }


class SnapshotWriter(Service):
    """
    In a worker: write the snapshot of its counts to C{directory} once a
    second, and when it stops.
    """

    def __init__(
        self,
        tally: Tally,
        directory: str,
        clock: IReactorTime,
        before: Callable[[], None] = lambda: None,
        pid: Optional[int] = None,
        interval: float = WRITE_INTERVAL,
    ) -> None:
        """
        @param before: called before each snapshot, to read the gauges.
        @param pid: the worker's process id, which names its file; this
            process's if L{None}.
        """
        self.tally = tally
        self.before = before
        self.path = os.path.join(directory, f"{os.getpid() if pid is None else pid}.json")
        self._loop = LoopingCall(self.write)
        self._loop.clock = clock
        self.interval = interval

    def startService(self) -> None:
        super().startService()
        self._loop.start(self.interval, now=True)

    def stopService(self) -> Any:
        if self._loop.running:
            self._loop.stop()
        self.write()
        return super().stopService()

    def write(self) -> None:
        """
        Write the snapshot now, whole or not at all (a new file renamed
        over the old).
        """
        self.before()
        partial = self.path + ".new"
        try:
            with open(partial, "w", encoding="utf-8") as f:
                json.dump(self.tally.snapshot(), f)
            os.replace(partial, self.path)
        except OSError as e:
            # The main process removed the directory: it is stopping.
            SnapshotWriter.log.debug("Cannot write the metrics: {e}", e=e)

    log = Logger()
