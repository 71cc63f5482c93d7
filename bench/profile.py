#!/usr/bin/env python3
"""
Profile the running service under load: where a finger query or a web
request spends its CPU, and which system calls it makes.

    python bench/profile.py finger [--queries 20000] [--strace]
    python bench/profile.py web [--seconds 5]

The service runs under C{twistd --profile} (cProfile) with its log in a
file, as C{bench/run.py} runs it; the load is C{fingerload} at concurrency
16 (finger) or C{wrk} with 16 connections on C{/moshez} (web).  The top
entries by own time and by cumulative time are printed.  With C{--strace},
the service runs unprofiled under C{strace -c -f} instead, and the system
calls per query are printed.
"""

import argparse
import os
import pstats
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHECKOUT = HERE.parent
sys.path.insert(0, str(HERE))
from run import LOAD_CPU, SERVER_CPU, freePort, waitForPort  # noqa: E402
import statusgen  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description="Profile the finger service under load.")
    parser.add_argument("what", choices=["finger", "web"])
    parser.add_argument("--queries", type=int, default=20000)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--strace", action="store_true", help="count system calls instead")
    parser.add_argument("--tools", default=str(CHECKOUT.parent / "shared" / "tools"))
    parser.add_argument("--twistd", default=str(Path(sys.executable).parent / "twistd"))
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--extra", action="append", default=[], help="more twistd finger options")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="finger-profile-"))
    users = work / "users"
    users.write_bytes(b"moshez: Happy and well\n" + statusgen.make(1000))
    loadgen = work / "fingerload"
    subprocess.run(
        ["cc", "-O2", "-o", str(loadgen), str(Path(args.tools) / "fingerload.c"), "-lm"],
        check=True,
    )
    port, setter, web = freePort(), freePort(), freePort()
    stats = work / "profile.stats"
    argv = ["taskset", "-c", SERVER_CPU]
    if args.strace:
        argv += ["strace", "-c", "-f", "-o", str(work / "strace.txt")]
    argv += [args.twistd, "-n", "--pidfile=", "-l", str(work / "finger.log")]
    if not args.strace:
        argv += ["--profile", str(stats), "--profiler", "cprofile", "--savestats"]
    argv += ["finger", "--file", str(users)]
    argv += ["--fingerport", f"tcp:{port}:interface=127.0.0.1"]
    argv += ["--setterport", f"tcp:{setter}:interface=127.0.0.1"]
    argv += ["--webport", f"tcp:{web}:interface=127.0.0.1"] + args.extra
    proc = subprocess.Popen(argv, env=dict(os.environ, PYTHONPATH=str(CHECKOUT)), cwd=str(work))
    try:
        waitForPort(web, proc=proc)
        if args.what == "finger":
            out = subprocess.run(
                [
                    "taskset",
                    "-c",
                    LOAD_CPU,
                    str(loadgen),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    "-c",
                    "16",
                    "-n",
                    str(args.queries),
                    "-u",
                    "moshez",
                    "-e",
                    "Happy",
                    "-q",
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            done = int(re.search(r"ok=(\d+)", out).group(1))
        else:
            out = subprocess.run(
                [
                    "taskset",
                    "-c",
                    LOAD_CPU,
                    "wrk",
                    "-t1",
                    "-c16",
                    f"-d{args.seconds}s",
                    f"http://127.0.0.1:{web}/moshez",
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            done = int(re.search(r"(\d+) requests in", out).group(1))
        print(out.strip().splitlines()[-1])
    finally:
        # strace -f would pass the signal on; send it to twistd itself.
        target = proc.pid
        if args.strace:
            time.sleep(0.5)
            children = subprocess.run(
                ["pgrep", "-P", str(proc.pid)], capture_output=True, text=True
            ).stdout.split()
            target = int(children[0]) if children else proc.pid
        os.kill(target, signal.SIGTERM)
        proc.wait(30)
    if args.strace:
        print(f"system calls per request ({done} requests):")
        for line in (work / "strace.txt").read_text().splitlines():
            fields = line.split()
            if len(fields) >= 5 and fields[3].isdigit():
                print(f"  {fields[-1]:<16} {int(fields[3]) / done:8.2f}")
        return
    print(f"{done} requests; per-request microseconds by function:")
    profile = pstats.Stats(str(stats))
    for sort in ("tottime", "cumulative"):
        print(f"\n== by {sort} ==")
        rows = sorted(
            profile.stats.items(), key=lambda kv: kv[1][2 if sort == "tottime" else 3], reverse=True
        )
        for (path, line, name), (cc, nc, tt, ct, callers) in rows[: args.top]:
            where = f"{Path(path).name}:{line}({name})"
            print(
                f"  {tt / done * 1e6:8.2f} own {ct / done * 1e6:8.2f} cum "
                f"{nc / done:6.2f} calls  {where}"
            )


if __name__ == "__main__":
    main()
