#!/usr/bin/env python3
"""
The finger benchmark: one command runs everything and writes
C{bench/report.md} and C{bench/report.json}.

    python bench/run.py [--quick] [--tools ../shared/tools] [--repeats 3]

Every figure is a ratio against a reference measured in the same run (the C
ceiling server, Debian's in.fingerd, nginx, the service's own figure at
another size or concurrency, or the issue's absolute target), and each is the
median of C{--repeats} runs.  Servers run pinned to core 0 and load
generators to core 1 (C{taskset}).  See the README's "Benchmarks" section.
"""

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

HERE = Path(__file__).resolve().parent
CHECKOUT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(CHECKOUT))
import statusgen  # noqa: E402
import sql as sqlbench  # noqa: E402
import workers as workersbench  # noqa: E402

SERVER_CPU = "0"
LOAD_CPU = "1"
CLK_TCK = os.sysconf("SC_CLK_TCK")
USER, EXPECT = "moshez", "Happy and well"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def median(values: List[float]) -> float:
    return statistics.median(values) if values else float("nan")


def freePort() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def waitForPort(port: int, timeout: float = 20.0, proc: Optional[subprocess.Popen] = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def cpuSeconds(pid: int, children: bool = False) -> float:
    """
    utime + stime of a process (all its threads) from /proc/PID/stat, with
    its reaped children's if C{children}.
    """
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state); utime is field 14.
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / CLK_TCK


def rssMiB(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def listenOverflows() -> int:
    with open("/proc/net/netstat") as f:
        lines = f.read().splitlines()
    for header, values in zip(lines[::2], lines[1::2]):
        if header.startswith("TcpExt:"):
            table = dict(zip(header.split()[1:], values.split()[1:]))
            return int(table["ListenOverflows"])
    return 0


def parseFields(text: str) -> Dict[str, float]:
    last = text.strip().splitlines()[-1]
    out = {}
    for item in last.split():
        key, _, value = item.partition("=")
        try:
            out[key] = float(value)
        except ValueError:
            pass
    return out


def stop(proc: Optional[subprocess.Popen]) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.quick = args.quick
        self.repeats = args.repeats
        self.work = Path(tempfile.mkdtemp(prefix="finger-bench-"))
        os.chmod(self.work, 0o755)
        self.build = self.work / "tools"
        self.procs: List[subprocess.Popen] = []
        self.results: Dict[str, Any] = {}

    # -- tools ------------------------------------------------------------

    def buildTools(self) -> None:
        tools = Path(self.args.tools)
        if not tools.is_absolute():
            tools = (CHECKOUT / tools).resolve()
        sources = [tools / "fingerload.c", tools / "ceiling_fingerd.c"]
        missing = [str(s) for s in sources if not s.exists()]
        if missing:
            sys.exit(
                f"bench: the C tools are missing: {', '.join(missing)}\n"
                f"bench: pass --tools DIR (default ../shared/tools next to the checkout)"
            )
        cc = os.environ.get("CC", "cc")
        self.build.mkdir()
        self.loadgen = str(self.build / "fingerload")
        self.ceiling = str(self.build / "ceiling_fingerd")
        for source, out, extra in [
            (sources[0], self.loadgen, ["-lm"]),
            (sources[1], self.ceiling, []),
        ]:
            subprocess.run([cc, "-O2", "-Wall", "-o", out, str(source)] + extra, check=True)
        self.results["tools"] = str(tools)

    def start(self, argv: List[str], **kw: Any) -> subprocess.Popen:
        proc = subprocess.Popen(["taskset", "-c", SERVER_CPU] + argv, **kw)
        self.procs.append(proc)
        return proc

    def cleanup(self) -> None:
        for proc in reversed(self.procs):
            stop(proc)
        if not self.args.keep:
            shutil.rmtree(self.work, ignore_errors=True)

    # -- finger -----------------------------------------------------------

    def fingerload(self, port: int, conc: int, total: int, seconds: float,
                   user: str, expect: Optional[str]) -> Dict[str, float]:
        argv = ["taskset", "-c", LOAD_CPU, self.loadgen, "-h", "127.0.0.1", "-p", str(port),
                "-c", str(conc), "-n", str(total), "-d", str(seconds), "-u", user, "-q"]
        if expect:
            argv += ["-e", expect]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30)
        return parseFields(out.stdout)

    def measureFinger(self, name: str, port: int, pid: int, children: bool,
                      user: str, expect: Optional[str], total: int, seconds: float) -> Dict[str, Any]:
        """
        One server at concurrency 1, 16 and 128, C{repeats} times each.
        """
        figures: Dict[str, Any] = {}
        self.fingerload(port, 4, min(total, 200), 2, user, expect)  # warm up
        for conc in (1, 16, 128):
            runs = []
            for _ in range(self.repeats):
                overflows = listenOverflows()
                cpu = cpuSeconds(pid, children)
                r = self.fingerload(port, conc, total, seconds, user, expect)
                if children:
                    time.sleep(0.2)  # let inetd reap the last handlers
                cpuUsed = cpuSeconds(pid, children) - cpu
                done = max(r.get("ok", 0), 1)
                runs.append({
                    "req_per_s": r.get("req_per_s", 0.0),
                    "p50_ms": r.get("p50_ms"), "p99_ms": r.get("p99_ms"),
                    "max_ms": r.get("max_ms"),
                    "errors": r.get("errors", 0.0),
                    "requests": r.get("ok", 0.0),
                    "cpu_us_per_req": cpuUsed / done * 1e6,
                    "listen_overflows": listenOverflows() - overflows,
                    "rss_mib": rssMiB(pid),
                })
            med = {k: median([run[k] for run in runs]) for k in runs[0]}
            med["runs"] = runs
            figures[str(conc)] = med
            log(f"finger {name} c={conc}: {med['req_per_s']:.0f} req/s, "
                f"{med['cpu_us_per_req']:.1f} us CPU/req, p99 {med['p99_ms']} ms, "
                f"overflows {med['listen_overflows']}")
        return figures

    def statusFile(self) -> str:
        path = self.work / "users"
        path.write_bytes(
            b"# benchmark status file\nmoshez: Happy and well\nshawn: alive\n"
            + statusgen.make(1000)
        )
        return str(path)

    def twistd(self, extra: List[str], logfile: str) -> subprocess.Popen:
        env = dict(os.environ, PYTHONPATH=str(CHECKOUT))
        argv = [self.args.twistd, "-n", "--pidfile=", "-l", logfile, "finger"] + extra
        return self.start(argv, env=env, cwd=str(self.work))

    def fingerServers(self) -> None:
        total = 3000 if self.quick else 20000
        seconds = 2 if self.quick else 5
        out: Dict[str, Any] = {}
        # The C ceiling.
        port = freePort()
        proc = self.start([self.ceiling, str(port), "127.0.0.1"], stdout=subprocess.DEVNULL)
        waitForPort(port, proc=proc)
        out["ceiling"] = self.measureFinger("ceiling", port, proc.pid, False, USER, EXPECT,
                                            total, seconds)
        stop(proc)

        # The service as shipped: query logging (to a file) and timeouts on.
        port, setter = freePort(), freePort()
        logfile = str(self.work / "finger.log")
        proc = self.twistd(["--file", self.statusFile(),
                            "--fingerport", f"tcp:{port}:interface=127.0.0.1",
                            "--setterport", f"tcp:{setter}:interface=127.0.0.1"], logfile)
        waitForPort(port, proc=proc)
        out["finger"] = self.measureFinger("finger", port, proc.pid, False, USER, EXPECT,
                                           total, seconds)
        stop(proc)
        with open(logfile, errors="replace") as f:
            out["finger_logged_queries"] = sum(1 for line in f if "Finger query from" in line)

        # Debian's in.fingerd under a private openbsd-inetd.
        out["in.fingerd"] = self.inetdFinger(seconds)
        self.results["finger"] = out

    def inetdFinger(self, seconds: float) -> Dict[str, Any]:
        inetd, fingerd = shutil.which("inetd") or "/usr/sbin/inetd", "/usr/sbin/in.fingerd"
        if not (os.path.exists(inetd) and os.path.exists(fingerd)):
            log("in.fingerd: not installed (apt-get install fingerd openbsd-inetd)")
            return {"unavailable": "fingerd/openbsd-inetd not installed "
                    "(apt-get install -y fingerd openbsd-inetd)"}
        port = freePort()
        conf = self.work / "inetd.conf"
        conf.write_text(f"127.0.0.1:{port} stream tcp nowait root {fingerd} in.fingerd\n")
        proc = self.start([inetd, "-i", "-R", "1000000", str(conf)],
                          stderr=subprocess.DEVNULL)
        try:
            waitForPort(port, proc=proc)
            # in.fingerd answers for system accounts: root exists everywhere.
            total = 500 if self.quick else 2000
            return self.measureFinger("in.fingerd", port, proc.pid, True, "root", "root",
                                      total, seconds)
        finally:
            stop(proc)

    # -- web --------------------------------------------------------------

    def hasWeb(self) -> bool:
        env = dict(os.environ, PYTHONPATH=str(CHECKOUT))
        out = subprocess.run([self.args.twistd, "finger", "--help"], capture_output=True,
                             text=True, env=env, cwd=str(self.work))
        return "--webport" in out.stdout

    def wrk(self, port: int, path: str, seconds: int) -> Dict[str, float]:
        out = subprocess.run(
            ["taskset", "-c", LOAD_CPU, "wrk", "-t1", "-c16", f"-d{seconds}s",
             f"http://127.0.0.1:{port}{path}"],
            capture_output=True, text=True, timeout=seconds + 30,
        ).stdout
        rps = re.search(r"Requests/sec:\s*([\d.]+)", out)
        errors = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
        return {"req_per_s": float(rps.group(1)) if rps else 0.0,
                "non_2xx": float(errors.group(1)) if errors else 0.0}

    def web(self) -> None:
        if not self.hasWeb():
            log("web: front-end not available")
            self.results["web"] = {"unavailable": "web front-end not available "
                                   "(twistd finger --help shows no --webport)"}
            return
        if not (shutil.which("wrk") and shutil.which("nginx")):
            self.results["web"] = {"unavailable": "wrk or nginx not installed "
                                   "(apt-get install -y wrk nginx)"}
            return
        import urllib.request

        seconds = 2 if self.quick else 4
        port, web, setter = freePort(), freePort(), freePort()
        proc = self.twistd(["--file", self.statusFile(),
                            "--fingerport", f"tcp:{port}:interface=127.0.0.1",
                            "--setterport", f"tcp:{setter}:interface=127.0.0.1",
                            "--webport", f"tcp:{web}:interface=127.0.0.1"],
                           str(self.work / "web.log"))
        waitForPort(web, proc=proc)
        body = urllib.request.urlopen(f"http://127.0.0.1:{web}/{USER}").read()
        root = self.work / "www"
        root.mkdir()
        os.chmod(root, 0o755)
        (root / USER).write_bytes(body)
        os.chmod(root / USER, 0o644)
        nport = freePort()
        conf = self.work / "nginx.conf"
        w = self.work
        conf.write_text(f"""
worker_processes 1;
daemon off;
pid {w}/nginx.pid;
error_log {w}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
    access_log {w}/nginx-access.log;
    client_body_temp_path {w}/nginx-body;
    proxy_temp_path {w}/nginx-proxy;
    fastcgi_temp_path {w}/nginx-fastcgi;
    uwsgi_temp_path {w}/nginx-uwsgi;
    scgi_temp_path {w}/nginx-scgi;
    server {{
        listen 127.0.0.1:{nport};
        root {root};
        location / {{ default_type text/html; }}
    }}
}}
""")
        nginx = self.start(["nginx", "-c", str(conf)], stderr=subprocess.DEVNULL)
        # The reference the issue names: a bare twisted.web resource giving
        # the same bytes, under twistd with a log file like the service.
        bport = freePort()
        bare = self.start(
            [self.args.twistd, "-n", "--pidfile=", "-l", str(self.work / "bareweb.log"),
             "-y", str(HERE / "bareweb.tac")],
            env=dict(os.environ, BODY=str(root / USER), PORT=str(bport)), cwd=str(self.work))
        try:
            waitForPort(nport, proc=nginx)
            waitForPort(bport, proc=bare)
            for port in (web, nport, bport):
                self.wrk(port, f"/{USER}", 1)
            finger, static, bareRuns = [], [], []
            for _ in range(self.repeats):
                finger.append(self.wrk(web, f"/{USER}", seconds)["req_per_s"])
                static.append(self.wrk(nport, f"/{USER}", seconds)["req_per_s"])
                bareRuns.append(self.wrk(bport, f"/{USER}", seconds)["req_per_s"])
            self.results["web"] = {
                "bytes": len(body), "finger_req_per_s": median(finger),
                "nginx_req_per_s": median(static), "finger_runs": finger, "nginx_runs": static,
                "bare_req_per_s": median(bareRuns), "bare_runs": bareRuns,
            }
            log(f"web: /{USER} {median(finger):.0f} req/s, nginx {median(static):.0f} req/s, "
                f"bare twisted.web {median(bareRuns):.0f} req/s")
        finally:
            stop(bare)
            stop(nginx)
            stop(proc)

    # -- scale ------------------------------------------------------------

    def scale(self) -> None:
        sizes = [1000, 100000, 1000000]
        out: Dict[str, Any] = {}
        for users in sizes:
            runs = []
            for _ in range(self.repeats):
                d = self.work / f"scale-{users}"
                d.mkdir(exist_ok=True)
                argv = ["taskset", "-c", SERVER_CPU, sys.executable, str(HERE / "scale.py"),
                        "--users", str(users), "--dir", str(d), "--fingerload", self.loadgen,
                        "--loadcpu", LOAD_CPU, "--reloads", "1" if self.quick else "3",
                        "--window", "1" if self.quick else "2"]
                if self.args.unique:
                    argv.append("--unique")
                result = json.loads(subprocess.run(
                    argv, capture_output=True, text=True, check=True, timeout=600,
                    env=dict(os.environ, PYTHONPATH=str(CHECKOUT))).stdout)
                if "error" in result:
                    raise RuntimeError(result["error"])
                runs.append(result)
            summary = {
                "file_bytes": runs[0]["file_bytes"],
                "load_s": median([r["load_s"] for r in runs]),
                "load_cpu_s": median([r["load_cpu_s"] for r in runs]),
                "rss_above_empty_mib": median([r["rss_above_empty_mib"] for r in runs]),
                "lookup_ns": median([r["lookup_ns"] for r in runs]),
                "reload_s": median([median([x["reload_s"] for x in r["reloads"]]) for r in runs]),
                "reload_stall_ms": median([max(x["stall_ms"] for x in r["reloads"]) for r in runs]),
                "reload_stall_each_ms": [x["stall_ms"] for r in runs for x in r["reloads"]],
                "idle_stall_ms": median([r["idle_stall_ms"] for r in runs]),
                "query_cpu_us": median([r["quiet"]["cpu_us_per_query"] for r in runs]),
                "quiet_p50_ms": median([r["quiet"]["p50_ms"] for r in runs]),
                "quiet_p99_ms": median([r["quiet"]["p99_ms"] for r in runs]),
                "quiet_max_ms": median([r["quiet"]["max_ms"] for r in runs]),
                "reload_p50_ms": median([r["during_reload"]["p50_ms"] for r in runs]),
                "reload_p99_ms": median([r["during_reload"]["p99_ms"] for r in runs]),
                "reload_max_ms": median([r["during_reload"]["max_ms"] for r in runs]),
                "runs": runs,
            }
            out[str(users)] = summary
            log(f"scale {users}: load {summary['load_s']:.3f} s, "
                f"+{summary['rss_above_empty_mib']:.0f} MiB, reload {summary['reload_s']:.3f} s, "
                f"stall {summary['reload_stall_ms']:.1f} ms, lookup {summary['lookup_ns']:.0f} ns")
        self.results["scale"] = out

    # -- setter -----------------------------------------------------------

    def setter(self) -> None:
        users = 100000
        path = self.work / "setter-users"
        seconds = 2 if self.quick else 4
        out: Dict[str, Any] = {"users": users, "by_clients": {}}
        for clients in (64, 256):
            runs = []
            for _ in range(self.repeats):
                path.write_bytes(statusgen.make(users))
                port, setter = freePort(), freePort()
                proc = self.twistd(["--file", str(path),
                                    "--fingerport", f"tcp:{port}:interface=127.0.0.1",
                                    "--setterport", f"tcp:{setter}:interface=127.0.0.1"],
                                   str(self.work / "setter.log"))
                try:
                    waitForPort(setter, proc=proc)
                    result = json.loads(subprocess.run(
                        ["taskset", "-c", LOAD_CPU, sys.executable, str(HERE / "setload.py"),
                         "--port", str(setter), "--clients", str(clients),
                         "--seconds", str(seconds), "--users", str(users)],
                        capture_output=True, text=True, check=True, timeout=seconds + 60,
                    ).stdout)
                finally:
                    stop(proc)
                # Every acknowledged set is in the file.
                from finger.backends import statusfile

                statuses, _ = statusfile.parse(path.read_bytes())
                last = result.pop("last")
                result["durable_check"] = all(statuses.get(u) == s for u, s in last.items())
                runs.append(result)
            out["by_clients"][str(clients)] = {
                "clients": clients,
                "sets_per_s": median([r["sets_per_s"] for r in runs]),
                "p99_ms": median([r["p99_ms"] or float("nan") for r in runs]),
                "errors": sum(r["errors"] for r in runs),
                "durable_check": all(r["durable_check"] for r in runs),
                "runs": runs,
            }
            log(f"setter, {clients} clients: "
                f"{out['by_clients'][str(clients)]['sets_per_s']:.0f} sets/s")
        self.results["setter"] = out


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the finger benchmark.")
    parser.add_argument("--tools", default="../shared/tools",
                        help="directory with fingerload.c and ceiling_fingerd.c "
                        "(relative to the checkout; default ../shared/tools)")
    parser.add_argument("--quick", action="store_true", help="shorter runs, fewer reloads")
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--only", action="append",
                        choices=["finger", "web", "scale", "setter", "sql", "workers"],
                        help="run only these parts (repeatable)")
    parser.add_argument("--unique", action="store_true",
                        help="scale files give every user a status of its own")
    parser.add_argument("--twistd", default=str(Path(sys.executable).parent / "twistd"))
    parser.add_argument("--out", default=str(HERE), help="where report.md/json go")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    if not shutil.which("taskset"):
        sys.exit("bench: taskset (util-linux) is needed to pin server and load")
    bench = Bench(args)
    started = time.time()
    try:
        bench.buildTools()
        parts: Dict[str, Callable[[], None]] = {
            "finger": bench.fingerServers, "web": bench.web,
            "scale": bench.scale, "setter": bench.setter,
            "sql": lambda: sqlbench.run(bench),
            "workers": lambda: workersbench.run(bench),
        }
        for name, part in parts.items():
            if args.only and name not in args.only:
                continue
            log(f"running {name}")
            part()
    finally:
        bench.cleanup()
    results = bench.results
    results["meta"] = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(started)),
        "seconds": round(time.time() - started, 1),
        "quick": args.quick, "repeats": args.repeats,
        "python": platform.python_version(), "machine": platform.machine(),
        "cpus": os.cpu_count(), "commit": gitCommit(),
        "load_average": os.getloadavg(),
    }
    import report

    report.write(results, Path(args.out))
    log(f"wrote {Path(args.out) / 'report.md'} and report.json")


def gitCommit() -> str:
    try:
        return subprocess.run(["git", "-C", str(CHECKOUT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True).stdout.strip()
    except OSError:
        return "unknown"


if __name__ == "__main__":
    main()
