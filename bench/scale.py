"""
Scale harness: one process that runs L{finger.backends.file.FileFingerService} on a
status file of C{--users} users and measures, from the inside:

  - start-up load time (wall and CPU) and RSS above the empty service;
  - the cost of one lookup (C{getUser}) in nanoseconds, and the CPU time
    this process spends per finger query;
  - for each reload of a changed file: its duration, and the longest stall of
    the reactor meanwhile (the lag of a repeating 1 ms timer);
  - finger query latency from C{fingerload} (a separate process) while the
    service is idle and while it reloads back to back.

It prints one JSON object.  C{bench/run.py} starts it pinned to one core with
the load generator pinned to the other.
"""

import argparse
import gc
import json
import os
import random
import sys
import time
from typing import Any, Dict, List

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from twisted.internet import defer, reactor, task  # noqa: E402
from twisted.internet.endpoints import TCP4ServerEndpoint  # noqa: E402
from twisted.internet.utils import getProcessOutput  # noqa: E402

import statusgen  # noqa: E402
import finger.frontends.finger  # noqa: E402,F401  (registers the adapter)
from finger.interfaces import IFingerFactory  # noqa: E402
from finger.backends.file import FileFingerService  # noqa: E402


def rssMiB() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def parseResult(out: bytes) -> Dict[str, float]:
    last = out.decode().strip().splitlines()[-1]
    fields = dict(item.split("=", 1) for item in last.split())
    return {k: float(v) for k, v in fields.items()}


class LagMonitor:
    """
    A repeating timer that records how late each tick fires.
    """

    def __init__(self, interval: float = 0.001) -> None:
        self.interval = interval
        self.worst = 0.0
        self._last = time.perf_counter()
        self._loop = task.LoopingCall(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        lag = now - self._last - self.interval
        if lag > self.worst:
            self.worst = lag
        self._last = now

    def start(self) -> None:
        self.worst = 0.0
        self._last = time.perf_counter()
        self._loop.start(self.interval, now=False)

    def stop(self) -> float:
        self._loop.stop()
        return self.worst


async def reloadOnce(service: FileFingerService, path: str, data: bytes) -> Dict[str, float]:
    """
    Replace the file with C{data} and wait until the service serves it.
    """
    temporary = path + ".new"
    with open(temporary, "wb") as f:
        f.write(data)
    os.replace(temporary, path)
    old = service.users
    monitor = LagMonitor()
    monitor.start()
    await task.deferLater(reactor, 0.02, lambda: None)
    start = time.perf_counter()
    service.check()
    while service.users is old:
        await task.deferLater(reactor, 0.001, lambda: None)
    took = time.perf_counter() - start
    del old
    # What follows the swap (freeing the old table) stalls too, if anything.
    await task.deferLater(reactor, 0.1, lambda: None)
    return {"reload_s": took, "stall_ms": monitor.stop() * 1000}


async def main(args: argparse.Namespace) -> Dict[str, Any]:
    result: Dict[str, Any] = {"users": args.users}
    empty = os.path.join(args.dir, "empty")
    with open(empty, "wb") as f:
        f.write(b"")
    path = os.path.join(args.dir, f"users-{args.users}")
    versions = [statusgen.make(args.users, seed, args.unique) for seed in (1, 2)]
    with open(path, "wb") as f:
        f.write(versions[0])
    result["file_bytes"] = len(versions[0])

    emptyService = FileFingerService(empty, interval=3600, reactor=reactor)
    gc.collect()
    before = rssMiB()
    wall, cpu = time.perf_counter(), time.process_time()
    service = FileFingerService(path, interval=3600, reactor=reactor)
    result["load_s"] = time.perf_counter() - wall
    result["load_cpu_s"] = time.process_time() - cpu
    gc.collect()
    result["rss_above_empty_mib"] = rssMiB() - before
    del emptyService

    names = [f"user{random.randrange(args.users)}" for _ in range(20000)]
    getUser = service.getUser
    start = time.perf_counter()
    for name in names:
        getUser(name)
    result["lookup_ns"] = (time.perf_counter() - start) / len(names) * 1e9

    factory = IFingerFactory(service)
    factory.clock = reactor
    port = await TCP4ServerEndpoint(reactor, 0, backlog=1024, interface="127.0.0.1").listen(
        factory
    )
    portNumber = port.getHost().port

    def load(seconds: float, total: int) -> "defer.Deferred[bytes]":
        return getProcessOutput(
            "taskset",
            ["-c", args.loadcpu, args.fingerload, "-h", "127.0.0.1", "-p", str(portNumber),
             "-c", "1", "-n", str(total), "-d", str(seconds), "-u", "user1", "-q"],
            env=os.environ,
        )

    cpu = time.process_time()
    quiet = parseResult(await load(args.window, 1000000))
    quiet["cpu_us_per_query"] = (time.process_time() - cpu) / max(quiet["ok"], 1) * 1e6
    result["quiet"] = quiet

    # The machine's own noise: the same timer with nothing to do, for as
    # long as a reload of this size takes.
    idle = LagMonitor()
    idle.start()
    await task.deferLater(reactor, max(0.5, 2.0 * args.users / 1e6), lambda: None)
    result["idle_stall_ms"] = idle.stop() * 1000

    reloads: List[Dict[str, float]] = []
    for i in range(args.reloads):
        reloads.append(await reloadOnce(service, path, versions[(i + 1) % 2]))
    result["reloads"] = reloads

    # Queries while the service reloads back to back.
    busy = load(args.window, 1000000)
    finished: List[bytes] = []
    busy.addCallback(finished.append)
    count = 0
    while not finished:
        await reloadOnce(service, path, versions[count % 2])
        count += 1
    result["during_reload"] = parseResult(finished[0])
    result["reloads_during_window"] = count
    await port.stopListening()
    return result


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--fingerload", required=True)
    parser.add_argument("--loadcpu", default="1")
    parser.add_argument("--reloads", type=int, default=3)
    parser.add_argument("--window", type=float, default=2.0)
    parser.add_argument("--unique", action="store_true")
    args = parser.parse_args()
    out: Dict[str, Any] = {}

    async def go() -> None:
        try:
            out.update(await main(args))
        finally:
            reactor.stop()

    reactor.callWhenRunning(lambda: defer.ensureDeferred(go()).addErrback(
        lambda f: (out.update(error=f.getTraceback()), None)))
    reactor.run()
    print(json.dumps(out))


if __name__ == "__main__":
    run()
