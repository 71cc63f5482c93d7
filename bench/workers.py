"""
Worker processes' figures (issue 15), run by C{bench/run.py --only workers}:

    - total CPU per finger query (the main process and every worker, from
      C{/proc/PID/stat}) with 1, 2 and 4 workers, at 16 concurrent clients,
      as a ratio to one worker (target: within 10%);
    - the share of the queries each worker answered (from the log lines
      the main process relays, which carry the worker's pid; target: each
      within 25% of an even share);
    - p99 latency at 128 concurrent clients.

All the service's processes run on the server core (C{taskset} is inherited
by the workers) and the load generator on the other: on a 2-core machine
this measures the cost of sharing the sockets, not the gain in throughput
(see C{bench/ANALYSIS.md}).
"""

import re
import time
from collections import Counter
from typing import Any, Dict, List

COUNTS = (1, 2, 4)
_STARTED = re.compile(r"Worker (\d+) (?:started|restarted) \(pid (\d+)\)")
# A worker's lines, as the main process relays them into its log.
_WORKER = re.compile(r"\[worker \d+ \(pid (\d+)\)\] ")
_SERVING = re.compile(r"\[worker \d+ \(pid (\d+)\)\] Ready: serving ")


def _answeredBy(log: str) -> "Counter[int]":
    """
    How many queries each worker pid logged: a worker's access log comes in
    batches, one event naming the worker with its queries on the indented
    lines under it.
    """
    answered: "Counter[int]" = Counter()
    pid = None
    for line in log.splitlines():
        if not line.startswith("\t"):
            worker = _WORKER.search(line)
            pid = int(worker.group(1)) if worker else None
        if pid is not None and "Finger query from " in line:
            answered[pid] += 1
    return answered


def _read(path: str) -> str:
    with open(path, errors="replace") as f:
        return f.read()


def _workerPids(logfile: str) -> List[int]:
    latest = {int(number): int(pid) for number, pid in _STARTED.findall(_read(logfile))}
    return sorted(latest.values())


def _waitServing(logfile: str, count: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(set(_SERVING.findall(_read(logfile)))) >= count:
            return
        time.sleep(0.05)
    raise RuntimeError(f"{count} workers did not start: see {logfile}")


def measure(bench: Any, workers: int, total: int, seconds: float) -> Dict[str, Any]:
    """
    One C{--workers} count: CPU per query at c=16, p99 at c=128, and each
    worker's share of the queries.
    """
    import run

    port, setter = run.freePort(), run.freePort()
    logfile = str(bench.work / f"workers-{workers}.log")
    proc = bench.twistd(
        [
            "--file",
            bench.statusFile(),
            "--workers",
            str(workers),
            "--fingerport",
            f"tcp:{port}:interface=127.0.0.1",
            "--setterport",
            f"tcp:{setter}:interface=127.0.0.1",
            "--no-pb",
            "--webport",
            "tcp:0:interface=127.0.0.1",
        ],
        logfile,
    )
    run.waitForPort(port, proc=proc)
    if workers > 1:
        _waitServing(logfile, workers)
    pids = [proc.pid] + (_workerPids(logfile) if workers > 1 else [])

    def cpu() -> float:
        return sum(run.cpuSeconds(pid) for pid in pids)

    bench.fingerload(port, 4, min(total, 200), 2, run.USER, run.EXPECT)  # warm up
    figures: Dict[str, Any] = {"pids": pids}
    for conc in (16, 128):
        runs = []
        for _ in range(bench.repeats):
            before = cpu()
            r = bench.fingerload(port, conc, total, seconds, run.USER, run.EXPECT)
            # The relayed log lines are the main process's work too.
            time.sleep(0.3)
            used = cpu() - before
            done = max(r.get("ok", 0), 1)
            runs.append(
                {
                    "req_per_s": r.get("req_per_s", 0.0),
                    "p99_ms": r.get("p99_ms"),
                    "errors": r.get("errors", 0.0),
                    "cpu_us_per_req": used / done * 1e6,
                }
            )
        med: Dict[str, Any] = {k: run.median([x[k] for x in runs]) for k in runs[0]}
        med["runs"] = runs
        figures[str(conc)] = med
        run.log(
            f"workers={workers} c={conc}: {med['req_per_s']:.0f} req/s, "
            f"{med['cpu_us_per_req']:.1f} us CPU/req, p99 {med['p99_ms']} ms"
        )
    run.stop(proc)
    if workers > 1:
        answered = _answeredBy(_read(logfile))
        count = sum(answered.values())
        figures["shares"] = {
            str(pid): answered.get(pid, 0) / count if count else 0.0 for pid in pids[1:]
        }
    else:
        figures["shares"] = {str(proc.pid): 1.0}
    return figures


def run(bench: Any) -> None:
    """
    Measure 1, 2 and 4 workers into C{bench.results["workers"]}.
    """
    total = 3000 if bench.quick else 20000
    seconds = 2 if bench.quick else 5
    bench.results["workers"] = {
        str(n): measure(bench, n, total, seconds) for n in COUNTS
    }


def _imbalance(shares: Dict[str, float]) -> float:
    """
    The largest departure of a worker's share from an even share, as a
    fraction of the even share.
    """
    even = 1 / len(shares)
    return max(abs(share - even) / even for share in shares.values())


def targets(r: Dict[str, Any]) -> List[Any]:
    """
    The report's target rows for worker processes.
    """
    rows: List[Any] = []
    w = r.get("workers")
    if not w or "1" not in w:
        return rows
    base = w["1"]["16"]["cpu_us_per_req"]
    for n, figures in w.items():
        if n == "1":
            continue
        ratio = figures["16"]["cpu_us_per_req"] / base
        rows.append(
            (
                f"--workers {n}: total CPU per query within 10% of one worker (c=16)",
                f"{figures['16']['cpu_us_per_req']:.1f} us = {ratio:.2f}x",
                "1.10x",
                ratio <= 1.10,
            )
        )
        imbalance = _imbalance(figures["shares"])
        rows.append(
            (
                f"--workers {n}: each worker's share of queries within 25% of even",
                f"largest departure {imbalance:.0%}",
                "25%",
                imbalance <= 0.25,
            )
        )
    return rows


def markdown(r: Dict[str, Any]) -> List[str]:
    """
    The report's section for worker processes.
    """
    w = r.get("workers")
    if not w:
        return []
    base = w["1"]["16"]["cpu_us_per_req"] if "1" in w else float("nan")
    out = [
        "",
        "## Worker processes",
        "",
        "Every process of the service on the server core, the load on the other: the cost "
        "of sharing the sockets, not the gain on more cores (see ANALYSIS.md).  CPU is the "
        "main process's and every worker's, per query, at 16 clients; p99 at 128 clients; "
        "shares from the log lines each worker relays.",
        "",
        "| workers | CPU us/query | x 1 worker | req/s c=16 | p99 ms c=128 | errors | shares |",
        "|---|---|---|---|---|---|---|",
    ]
    for n, f in w.items():
        shares = ", ".join(f"{share:.0%}" for share in f["shares"].values())
        out.append(
            f"| {n} | {f['16']['cpu_us_per_req']:.1f} | {f['16']['cpu_us_per_req'] / base:.2f} | "
            f"{f['16']['req_per_s']:.0f} | {f['128']['p99_ms']} | "
            f"{f['16']['errors'] + f['128']['errors']:.0f} | {shares} |"
        )
    return out
