#!/usr/bin/env python3
"""
What C{--metrics} costs a finger query (issue 22: at most 5% more CPU per
query than without it):

    python bench/metrics.py [--quick] [--repeats 3] [--tools ../shared/tools]

Two copies of the service run at once from the same status file, with
query logging and every limit on (as C{bench/run.py --only finger} runs
it), one with C{--metrics} and one without; C{fingerload} loads them in
turn, run by run, at 1, 16 and 128 concurrent clients (L{run.Bench}'s
C{measureFingers}), and the CPU each used per answered query is compared.
The metrics are scraped once at the end, to check they counted every query
the load generator saw answered.
"""

import argparse
import json
import sys
import urllib.request
from pathlib import Path
from typing import Any, Dict, List

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import run  # noqa: E402


def answeredCount(port: int) -> float:
    """
    C{finger_requests_total} of finger queries answered, from C{/metrics}.
    """
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as page:
        text = page.read().decode("utf-8")
    for line in text.splitlines():
        if line.startswith('finger_requests_total{frontend="finger",outcome="answered"}'):
            return float(line.split()[-1])
    return 0.0


def measure(bench: "run.Bench") -> Dict[str, Any]:
    total = 3000 if bench.quick else 20000
    seconds = 2 if bench.quick else 5
    users = bench.statusFile()
    servers: List[run.FingerServer] = []
    metricsPort = run.freePort()
    for name, extra in (
        ("off", []),
        ("on", ["--metrics", f"tcp:{metricsPort}:interface=127.0.0.1"]),
    ):
        port = run.freePort()
        proc = bench.twistd(
            ["--file", users] + bench.listeners(port) + run.EVERY_LIMIT + extra,
            str(bench.work / f"metrics-{name}.log"),
        )
        servers.append(run.FingerServer(name, port, proc, run.USER, run.EXPECT))
    try:
        for s in servers:
            run.waitForPort(s.port, proc=s.proc)
        run.waitForPort(metricsPort)
        figures = bench.measureFingers(servers, total, seconds)
        counted = answeredCount(metricsPort)
    finally:
        for s in servers:
            run.stop(s.proc)
    answered = sum(
        r["requests"] for c in run.CONCURRENCIES for r in figures["on"][str(c)]["runs"]
    )
    out: Dict[str, Any] = {"figures": figures, "counted": counted, "answered": answered}
    out["cpu_ratio"] = {
        str(c): figures["on"][str(c)]["cpu_us_per_req"] / figures["off"][str(c)]["cpu_us_per_req"]
        for c in run.CONCURRENCIES
    }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="What --metrics costs a finger query.")
    parser.add_argument("--tools", default="../shared/tools")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--twistd", default=str(Path(sys.executable).parent / "twistd"))
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--out", default=None, help="write the figures here as JSON")
    args = parser.parse_args()
    bench = run.Bench(args)
    try:
        bench.buildTools()
        out = measure(bench)
    finally:
        bench.cleanup()
    for conc, ratio in out["cpu_ratio"].items():
        off = out["figures"]["off"][conc]["cpu_us_per_req"]
        on = out["figures"]["on"][conc]["cpu_us_per_req"]
        print(f"c={conc}: {off:.1f} us CPU/query off, {on:.1f} on: ratio {ratio:.3f}")
    # The warm-up queries count too: at least every measured one.
    print(f"counted {out['counted']:.0f} answered queries; the runs answered {out['answered']:.0f}")
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=1, default=str))


if __name__ == "__main__":
    main()
