"""
The database back-end's figures (issue 13), run by C{bench/run.py --only sql}:

    - propagation of a set from one node to another over PostgreSQL, p50
      and p99 over C{--sets} sets (target: p99 under 100 ms);
    - durable sets per second with 64 concurrent setter clients, SQLite and
      PostgreSQL against the status file (target: 1000/s on PostgreSQL);
    - finger CPU per query with each back-end, as a ratio to the file
      (target: within 10%).

C{python bench/sql.py propagation URL --sets N} is the propagation probe on
its own: two nodes in one process, one reactor; it prints JSON.
"""

import argparse
import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List

HERE = Path(__file__).resolve().parent
sys.path.insert(1, str(HERE.parent))


def propagation(url: str, sets: int) -> Dict[str, Any]:
    """
    Set a status on node A, and time until node B serves it.
    """
    from twisted.internet import reactor, task
    from twisted.internet.defer import Deferred

    from finger.backends.sql import SQLFingerService

    delays: List[float] = []

    async def main() -> None:
        a = SQLFingerService(url, reactor=reactor)
        b = SQLFingerService(url, reactor=reactor)
        a.startService()
        b.startService()
        await a.getUsers()
        await b.getUsers()
        for n in range(sets):
            status = f"propagation {n} {time.time()}"
            start = time.perf_counter()
            await a.setUser("bench", status)
            while True:
                try:
                    if await b.getUser("bench") == status:
                        break
                except Exception:
                    pass
                await task.deferLater(reactor, 0.0002, lambda: None)
            delays.append(time.perf_counter() - start)
        await a.stopService()
        await b.stopService()

    result: List[Any] = []
    d = Deferred.fromCoroutine(main())
    d.addBoth(result.append).addBoth(lambda _: reactor.stop())
    reactor.run()
    if result and result[0] is not None:
        raise SystemExit(f"propagation failed: {result[0]}")
    delays.sort()
    return {
        "sets": len(delays),
        "p50_ms": delays[len(delays) // 2] * 1000,
        "p99_ms": delays[int(len(delays) * 0.99)] * 1000,
        "max_ms": delays[-1] * 1000,
    }


def run(bench: Any) -> None:
    """
    Measure everything, into C{bench.results["sql"]}.
    """
    import run as runner  # bench/run.py: helpers and the C load generator

    from finger.app import dbcopy
    from finger.backends import statusfile
    from tests import postgres

    out: Dict[str, Any] = {"notes": []}
    cleanups: List[Callable[[], None]] = []

    def addCleanup(f: Callable[..., None], *args: Any) -> None:
        cleanups.append(lambda: f(*args))

    why = postgres.missing()
    try:
        cluster = None if why else postgres.startCluster(addCleanup)
        if why:
            out["notes"].append(f"PostgreSQL not measured: {why}")
        statusFile = bench.statusFile()
        databases = {"file": None, "sqlite": f"sqlite:{bench.work / 'bench.db'}"}
        if cluster is not None:
            databases["postgresql"] = cluster.url
        for name, url in databases.items():
            if url is not None:
                dbcopy.importFile(statusFile, url, replace=True)

        if cluster is not None:
            runner.log("sql: propagation between two nodes over PostgreSQL")
            sets = 200 if bench.quick else 500
            out["propagation"] = json.loads(subprocess.run(
                ["taskset", "-c", runner.SERVER_CPU, sys.executable, __file__, "propagation",
                 cluster.url, "--sets", str(sets)],
                capture_output=True, text=True, check=True, timeout=300,
            ).stdout)

        seconds = 2 if bench.quick else 4
        out["setter"] = {}
        out["finger"] = {}
        for name, url in databases.items():
            backend = (
                ["--file", statusFile] if url is None else ["--backend=sql", f"--database={url}"]
            )
            port, setter = runner.freePort(), runner.freePort()
            proc = bench.twistd(backend + [
                "--fingerport", f"tcp:{port}:interface=127.0.0.1",
                "--setterport", f"tcp:{setter}:interface=127.0.0.1",
                "--webport", f"tcp:{runner.freePort()}:interface=127.0.0.1", "--no-pb",
            ], str(bench.work / f"sql-{name}.log"))
            try:
                runner.waitForPort(port, proc=proc)
                runner.waitForPort(setter, proc=proc)
                finger = bench.measureFinger(f"sql-{name}", port, proc.pid, False, runner.USER,
                                             runner.EXPECT, 3000 if bench.quick else 20000,
                                             seconds)
                out["finger"][name] = finger["16"]["cpu_us_per_req"]
                result = json.loads(subprocess.run(
                    ["taskset", "-c", runner.LOAD_CPU, sys.executable, str(HERE / "setload.py"),
                     "--port", str(setter), "--clients", "64", "--seconds", str(seconds),
                     "--users", "1000"],
                    capture_output=True, text=True, check=True, timeout=seconds + 60,
                ).stdout)
            finally:
                runner.stop(proc)
            last = result.pop("last")
            if url is None:
                stored, _ = statusfile.parse(Path(statusFile).read_bytes())
            elif name == "sqlite":
                with sqlite3.connect(url[len("sqlite:"):]) as connection:
                    stored = dict(connection.execute("SELECT name, status FROM finger_status"))
            else:
                assert cluster is not None
                stored = dict(cluster.query("SELECT name, status FROM finger_status"))
            result["durable_check"] = all(stored.get(u) == s for u, s in last.items())
            out["setter"][name] = result
            runner.log(f"sql: {name}: {result['sets_per_s']:.0f} durable sets/s (64 clients), "
                       f"{out['finger'][name]:.1f} us CPU per finger query")
    finally:
        for cleanup in reversed(cleanups):
            cleanup()
    bench.results["sql"] = out


def targets(r: Dict[str, Any]) -> List[Any]:
    """
    The report's target rows for the database back-end.
    """
    rows: List[Any] = []
    sql = r.get("sql")
    if not sql:
        return rows
    p = sql.get("propagation")
    if p:
        rows.append((
            "a set reaches another node over PostgreSQL: p99 under 100 ms",
            f"p50 {p['p50_ms']:.1f} ms, p99 {p['p99_ms']:.1f} ms over {p['sets']} sets",
            "100 ms", p["p99_ms"] < 100,
        ))
    setter = sql.get("setter", {})
    pg = setter.get("postgresql")
    if pg:
        rows.append((
            ">= 1000 durable sets/s on PostgreSQL, 64 clients",
            f"{pg['sets_per_s']:.0f} sets/s = {pg['sets_per_s'] / 1000:.2f}x target",
            "1000 sets/s", pg["sets_per_s"] >= 1000 and pg["durable_check"],
        ))
    cpu = sql.get("finger", {})
    for name in ("sqlite", "postgresql"):
        if name in cpu and cpu.get("file"):
            ratio = cpu[name] / cpu["file"]
            rows.append((
                f"finger CPU per query on {name} within 10% of the file",
                f"{ratio:.2f}x ({cpu[name]:.1f} vs {cpu['file']:.1f} us)",
                "file back-end", ratio <= 1.10,
            ))
    return rows


def markdown(r: Dict[str, Any]) -> List[str]:
    """
    The report's section for the database back-end.
    """
    sql = r.get("sql")
    if not sql:
        return []
    out = [
        "",
        "## Database back-end",
        "",
        "64 concurrent setter clients (`bench/setload.py`) on 1k users; a set counts when "
        "answered `OK:`, only after its commit.  Finger CPU per query at 16 concurrent "
        "clients, as a ratio to the file back-end.",
        "",
        "| back-end | durable sets/s | x file | p99 ms | errors | every acknowledged set stored | "
        "finger CPU us/query | x file |",
        "|---|---|---|---|---|---|---|---|",
    ]
    setter, cpu = sql.get("setter", {}), sql.get("finger", {})
    base = setter.get("file", {}).get("sets_per_s")
    for name, row in setter.items():
        ratio = row["sets_per_s"] / base if base else float("nan")
        cpuRatio = cpu[name] / cpu["file"] if cpu.get("file") else float("nan")
        out.append(
            f"| {name} | {row['sets_per_s']:.0f} | {ratio:.2f} | "
            f"{row['p99_ms'] or float('nan'):.1f} | "
            f"{row['errors']} | {'yes' if row['durable_check'] else 'NO'} | {cpu[name]:.1f} | "
            f"{cpuRatio:.2f} |"
        )
    p = sql.get("propagation")
    if p:
        out += ["", f"Propagation node to node over PostgreSQL ({p['sets']} sets, set committed "
                f"on A until B serves it): p50 {p['p50_ms']:.2f} ms, p99 {p['p99_ms']:.2f} ms, "
                f"max {p['max_ms']:.2f} ms."]
    out += [f"- {n}" for n in sql.get("notes", [])]
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("what", choices=["propagation"])
    parser.add_argument("url")
    parser.add_argument("--sets", type=int, default=200)
    args = parser.parse_args()
    print(json.dumps(propagation(args.url, args.sets)))
