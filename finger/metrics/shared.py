# -*- test-case-name: tests.metrics.test_shared -*-
"""
C{--metrics} with C{--workers}: the main process serves the counts of the
whole service, every worker's together.

Each worker counts into files of a directory the main process makes
(C{prometheus_client}'s multiprocess mode, chosen by the
C{PROMETHEUS_MULTIPROC_DIR} variable of the workers' environment), and the
main process sums the files when it is scraped (L{WorkersCollector}).
Why files, rather than the workers sending their counts to the main
process over the pipes that carry their logs: a count is an add to a
memory-mapped file, with no message per request or per second, a scrape
sees every count made until then, and the counts of a worker that died
stay in the sums, so a restart never makes a counter go back.  The
gauges of a worker that died are removed (C{mark_process_dead}); its
counters are kept.

The main process counts only the restarts of the workers, in its own
registry.
"""

import os
import secrets
import shutil
import tempfile
from typing import Any, Callable, Iterable, List, Optional

from twisted.application.service import Service
from twisted.internet.defer import DeferredList, succeed


VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
"""
The environment variable that puts C{prometheus_client} in a worker in
multiprocess mode, naming the directory of its files.
"""


def sharedPath(parent: Optional[str] = None) -> str:
    """
    A new path for a L{SharedDirectory}, in C{parent} or the temporary
    directory; nothing is made there yet.
    """
    return os.path.join(parent or tempfile.gettempdir(), f"finger-metrics-{secrets.token_hex(8)}")


class SharedDirectory(Service):
    """
    The directory the workers count into: made when the service starts
    (after twistd drops privileges, so that the workers may write in it;
    before the workers start) and removed, with the counts, once the
    workers have stopped.

    @ivar path: where it is.
    @ivar supervisor: the L{finger.app.workers.WorkerSupervisor} whose
        workers count into it.
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


def workerDied(path: str, restarts: Any) -> Callable[[int, bool], None]:
    """
    What hears that a worker ended (L{finger.app.workers.WorkerSupervisor}'s
    C{died}): its gauges are dropped from the directory at C{path}, and its
    restart counted in the counter C{restarts}.
    """
    from prometheus_client import multiprocess

    def died(pid: int, restarting: bool) -> None:
        if os.path.isdir(path):
            multiprocess.mark_process_dead(pid, path)
        if restarting:
            restarts.inc()

    return died


class WorkersCollector:
    """
    The metrics of every worker, summed from the files in a
    L{SharedDirectory}, as a C{prometheus_client} collector.
    """

    def __init__(self, path: str) -> None:
        self.path = path

    def collect(self) -> Iterable[Any]:
        if not os.path.isdir(self.path):
            return []
        from prometheus_client import multiprocess

        return list(multiprocess.MultiProcessCollector(None, self.path).collect())

    def notReady(self) -> Optional[str]:
        """
        Why the service cannot answer yet, from what the workers said
        last (each worker's C{finger_backend_ready}, the least of them).
        """
        ready: List[float] = []
        reachable: List[float] = []
        for metric in self.collect():
            for sample in metric.samples:
                if sample.name == "finger_backend_ready":
                    ready.append(sample.value)
                elif sample.name == "finger_database_reachable":
                    reachable.append(sample.value)
        if not ready:
            return "no worker is serving yet"
        if reachable and min(reachable) < 1:
            return "a worker cannot reach the database"
        if min(ready) < 1:
            return "a worker's back-end is not ready"
        return None
