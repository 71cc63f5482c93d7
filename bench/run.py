#!/usr/bin/env python3
"""
The finger benchmark: one command runs everything and writes
C{bench/report.md} and C{bench/report.json}.

    python bench/run.py [--quick] [--tools ../shared/tools] [--repeats 3]

Every figure is a ratio against a reference measured in the same run (the C
ceiling server, a bare Twisted finger server (C{bench/barefinger.tac}),
pyfingerd 0.5.1 from PyPI, Debian's in.fingerd, nginx, a bare twisted.web
resource (C{bench/bareweb.tac}), the service's own figure at another size or
concurrency, or the issue's absolute target), and each is the median of
C{--repeats} runs.  Servers run pinned to core 0 and load
generators to core 1 (C{taskset}).  See the README's "Benchmarks" section.
"""

import argparse
import glob
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
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple, Union

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
CONCURRENCIES = (1, 16, 128)
# The targets hold "with logging and every limit on".  By default
# loopback clients are exempt from the per-client limits, and the load comes
# from 127.0.0.1: so apply them to loopback too, at a rate and a count the
# load stays under, and every query pays for the checks without being refused.
EVERY_LIMIT = ["--rate-limit-loopback", "--finger-rate", "1000000", "--web-rate", "1000000",
               "--max-per-address", "1024"]
PYFINGERD = "pyfingerd==0.5.1"
UTMP = "/var/run/utmp"


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


class FingerServer(NamedTuple):
    """
    A finger server to measure: where it listens, its process, and the
    query it is asked with the substring its answer must hold.
    """

    name: str
    port: int
    proc: subprocess.Popen
    user: str
    expect: str

    @property
    def pid(self) -> int:
        return self.proc.pid


def fingerOnce(port: int, user: str) -> str:
    """
    A server's answer to one query, as text.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(user.encode("ascii") + b"\r\n")
        with s.makefile("rb") as answer:
            return answer.read().decode("utf-8", "replace")


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
        self.madeUtmp = False
        self.pyfingerdVersion = ""

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
        if self.madeUtmp and os.path.exists(UTMP) and os.path.getsize(UTMP) == 0:
            os.unlink(UTMP)
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

    def fingerRun(self, port: int, pid: int, children: bool, conc: int, total: int,
                  seconds: float, user: str, expect: Optional[str]) -> Dict[str, Any]:
        """
        One C{fingerload} run against one server: its figures and the CPU
        the server used per answered query.
        """
        overflows = listenOverflows()
        cpu = cpuSeconds(pid, children)
        r = self.fingerload(port, conc, total, seconds, user, expect)
        if children:
            time.sleep(0.2)  # let inetd reap the last handlers
        cpuUsed = cpuSeconds(pid, children) - cpu
        done = max(r.get("ok", 0), 1)
        return {
            "req_per_s": r.get("req_per_s", 0.0),
            "p50_ms": r.get("p50_ms"), "p99_ms": r.get("p99_ms"),
            "max_ms": r.get("max_ms"),
            "errors": r.get("errors", 0.0),
            "requests": r.get("ok", 0.0),
            "cpu_us_per_req": cpuUsed / done * 1e6,
            "listen_overflows": listenOverflows() - overflows,
            "rss_mib": rssMiB(pid),
        }

    def summary(self, name: str, conc: int, runs: List[Dict[str, Any]]) -> Dict[str, Any]:
        """
        The medians of one server's runs at one concurrency, with the runs.
        """
        med: Dict[str, Any] = {k: median([run[k] for run in runs]) for k in runs[0]}
        med["runs"] = runs
        log(f"finger {name} c={conc}: {med['req_per_s']:.0f} req/s, "
            f"{med['cpu_us_per_req']:.1f} us CPU/req, p99 {med['p99_ms']} ms, "
            f"overflows {med['listen_overflows']}")
        return med

    def measureFinger(self, name: str, port: int, pid: int, children: bool,
                      user: str, expect: Optional[str], total: int, seconds: float) -> Dict[str, Any]:
        """
        One server at concurrency 1, 16 and 128, C{repeats} times each.
        """
        figures: Dict[str, Any] = {}
        self.fingerload(port, 4, min(total, 200), 2, user, expect)  # warm up
        for conc in CONCURRENCIES:
            runs = [self.fingerRun(port, pid, children, conc, total, seconds, user, expect)
                    for _ in range(self.repeats)]
            figures[str(conc)] = self.summary(name, conc, runs)
        return figures

    def measureFingers(self, servers: List[FingerServer], total: int,
                       seconds: float) -> Dict[str, Dict[str, Any]]:
        """
        Several servers, all running at once (idle while another is
        loaded), at concurrency 1, 16 and 128, C{repeats} times each,
        taking turns run by run: so a ratio between two of them compares
        runs made seconds apart, whatever else the machine was doing.
        """
        for s in servers:
            self.fingerload(s.port, 4, min(total, 200), 2, s.user, s.expect)  # warm up
        figures: Dict[str, Dict[str, Any]] = {s.name: {} for s in servers}
        for conc in CONCURRENCIES:
            runs: Dict[str, List[Dict[str, Any]]] = {s.name: [] for s in servers}
            for _ in range(self.repeats):
                for s in servers:
                    runs[s.name].append(self.fingerRun(s.port, s.pid, False, conc, total,
                                                       seconds, s.user, s.expect))
            for s in servers:
                figures[s.name][str(conc)] = self.summary(s.name, conc, runs[s.name])
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

    def listeners(self, finger: int, web: Optional[int] = None) -> List[str]:
        """
        The service's listener options: finger on C{finger}, the web site on
        C{web} (or a free port), the setter and PB on free ports, all on
        loopback; the defaults (8000 and 8889 on every address) would clash
        with a second copy running beside it.
        """
        return ["--fingerport", f"tcp:{finger}:interface=127.0.0.1",
                "--setterport", f"tcp:{freePort()}:interface=127.0.0.1",
                "--pbport", f"tcp:{freePort()}:interface=127.0.0.1",
                "--webport", f"tcp:{web or freePort()}:interface=127.0.0.1"]

    def fingerServers(self) -> None:
        total = 3000 if self.quick else 20000
        seconds = 2 if self.quick else 5
        out: Dict[str, Any] = {}
        users = self.statusFile()
        servers: List[FingerServer] = []
        # The C ceiling.
        port = freePort()
        proc = self.start([self.ceiling, str(port), "127.0.0.1"], stdout=subprocess.DEVNULL)
        servers.append(FingerServer("ceiling", port, proc, USER, EXPECT))
        # Bare Twisted: tutorial stage 8 under twistd with its log file.
        port = freePort()
        proc = self.start(
            [self.args.twistd, "-n", "--pidfile=", "-l", str(self.work / "barefinger.log"),
             "-y", str(HERE / "barefinger.tac")],
            env=dict(os.environ, FILE=users, PORT=str(port)), cwd=str(self.work))
        servers.append(FingerServer("bare", port, proc, USER, EXPECT))
        # The service: query logging (to its log file), timeouts and every
        # limit on; then as shipped, where loopback is exempt from the
        # per-client limits.
        logs = {}
        for name, limits in (("finger", EVERY_LIMIT), ("finger-exempt", [])):
            port = freePort()
            logs[name] = str(self.work / f"{name}.log")
            proc = self.twistd(["--file", users] + self.listeners(port) + limits, logs[name])
            servers.append(FingerServer(name, port, proc, USER, EXPECT))
        # pyfingerd 0.5.1 from PyPI, answering from the system's accounts.
        pyfingerd = self.pyfingerd()
        if isinstance(pyfingerd, str):
            out["pyfingerd"] = {"unavailable": pyfingerd}
        else:
            servers.append(pyfingerd)
        try:
            answers = {}
            for s in servers:
                waitForPort(s.port, proc=s.proc)
                answers[s.name] = fingerOnce(s.port, s.user)
            out["answers"] = answers
            out.update(self.measureFingers(servers, total, seconds))
        finally:
            for s in servers:
                stop(s.proc)
        for name, logfile in logs.items():
            # twistd's log file is rotated every megabyte: count them all.
            lines = 0
            for path in [logfile] + sorted(glob.glob(glob.escape(logfile) + ".*")):
                with open(path, errors="replace") as f:
                    lines += sum(1 for line in f if "Finger query from" in line)
            out[f"{name}_logged_queries"] = lines
            out[f"{name}_answered_queries"] = sum(
                run["requests"] for c in CONCURRENCIES for run in out[name][str(c)]["runs"])
        out["every_limit"] = " ".join(EVERY_LIMIT)
        if "pyfingerd" in answers:
            out["pyfingerd_version"] = self.pyfingerdVersion

        # Debian's in.fingerd under a private openbsd-inetd.
        out["in.fingerd"] = self.inetdFinger(seconds)
        self.results["finger"] = out

    def pyfingerd(self) -> Union[FingerServer, str]:
        """
        Start pyfingerd 0.5.1 on a free loopback port, installed from PyPI
        into a virtualenv of its own in the work directory (or the one
        C{--pyfingerd} names), with its log (every query at level INFO)
        in a file.

        @return: the server, or why it could not run.
        """
        exe = self.args.pyfingerd
        if not exe:
            venv = self.work / "pyfingerd-venv"
            log(f"pyfingerd: installing {PYFINGERD} into {venv}")
            for argv in ([sys.executable, "-m", "venv", str(venv)],
                         [str(venv / "bin" / "pip"), "install", "-q", PYFINGERD]):
                try:
                    done = subprocess.run(argv, capture_output=True, text=True, timeout=600)
                except (OSError, subprocess.TimeoutExpired) as e:
                    return f"could not install {PYFINGERD}: {e}"
                if done.returncode:
                    errors = [line for line in done.stderr.splitlines()
                              if line.strip() and not line.startswith("WARNING:")]
                    why = errors[-1] if errors else f"exit status {done.returncode}"
                    log(f"pyfingerd: not measured: {' '.join(argv[:3])} failed: {why}")
                    return f"could not install {PYFINGERD} ({' '.join(argv[:3])}): {why}"
            exe = str(venv / "bin" / "pyfingerd")
        version = subprocess.run([exe, "--version"], capture_output=True, text=True)
        self.pyfingerdVersion = version.stdout.strip()
        # pyfingerd reads the logins of the system's utmp on every query
        # (refreshed once a second) and fails every query without one.
        if not os.path.exists(UTMP):
            try:
                os.close(os.open(UTMP, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
            except OSError as e:
                log(f"pyfingerd: not measured: no {UTMP}, and it cannot be made: {e}")
                return f"{UTMP} is missing and could not be created ({e}); pyfingerd needs one"
            self.madeUtmp = True
            log(f"pyfingerd: made an empty {UTMP} (removed at the end)")
        port = freePort()
        with open(self.work / "pyfingerd.log", "wb") as logfile:
            proc = self.start([exe, "--binds", f"127.0.0.1:{port}", "--loglevel", "info"],
                              stdout=logfile, stderr=subprocess.STDOUT, cwd=str(self.work))
        return FingerServer("pyfingerd", port, proc, "root", "Login name: root")

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

    def wrk(self, port: int, path: str, seconds: int, pid: Optional[int] = None) -> Dict[str, float]:
        """
        C{wrk -t1 -c16} on one URL: requests a second, non-2xx answers and,
        given the server's process, the CPU it used per request.
        """
        cpu = cpuSeconds(pid) if pid else 0.0
        out = subprocess.run(
            ["taskset", "-c", LOAD_CPU, "wrk", "-t1", "-c16", f"-d{seconds}s",
             f"http://127.0.0.1:{port}{path}"],
            capture_output=True, text=True, timeout=seconds + 30,
        ).stdout
        rps = re.search(r"Requests/sec:\s*([\d.]+)", out)
        errors = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
        done = re.search(r"(\d+) requests in", out)
        figures = {"req_per_s": float(rps.group(1)) if rps else 0.0,
                   "non_2xx": float(errors.group(1)) if errors else 0.0}
        if pid:
            requests = max(int(done.group(1)) if done else 0, 1)
            figures["cpu_us_per_req"] = (cpuSeconds(pid) - cpu) / requests * 1e6
        return figures

    def nginx(self, root: Path) -> Optional[FingerServer]:
        """
        A private nginx serving C{root} on a free loopback port, if nginx
        is installed.
        """
        if not shutil.which("nginx"):
            return None
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
        proc = self.start(["nginx", "-c", str(conf)], stderr=subprocess.DEVNULL)
        return FingerServer("nginx", nport, proc, USER, "")

    def web(self) -> None:
        if not self.hasWeb():
            log("web: front-end not available")
            self.results["web"] = {"unavailable": "web front-end not available "
                                   "(twistd finger --help shows no --webport)"}
            return
        if not shutil.which("wrk"):
            self.results["web"] = {"unavailable": "wrk not installed "
                                   "(apt-get install -y wrk nginx)"}
            return
        import urllib.request

        seconds = 2 if self.quick else 4
        web = freePort()
        # As the finger targets: query logging and every limit on.
        proc = self.twistd(["--file", self.statusFile()] + self.listeners(freePort(), web)
                           + EVERY_LIMIT, str(self.work / "web.log"))
        waitForPort(web, proc=proc)
        body = urllib.request.urlopen(f"http://127.0.0.1:{web}/{USER}").read()
        root = self.work / "www"
        root.mkdir()
        os.chmod(root, 0o755)
        (root / USER).write_bytes(body)
        os.chmod(root / USER, 0o644)
        nginx = self.nginx(root)
        # The reference the issue names: a bare twisted.web resource giving
        # the same bytes, under twistd with a log file like the service.
        bport = freePort()
        bare = self.start(
            [self.args.twistd, "-n", "--pidfile=", "-l", str(self.work / "bareweb.log"),
             "-y", str(HERE / "bareweb.tac")],
            env=dict(os.environ, BODY=str(root / USER), PORT=str(bport)), cwd=str(self.work))
        try:
            waitForPort(bport, proc=bare)
            servers: List[Tuple[str, int, Optional[int]]] = [
                ("finger", web, proc.pid), ("bare", bport, bare.pid)]
            if nginx:
                waitForPort(nginx.port, proc=nginx.proc)
                # nginx answers from a worker process, not the one started.
                servers.append(("nginx", nginx.port, None))
            for _, p, _ in servers:
                self.wrk(p, f"/{USER}", 1)
            runs: Dict[str, List[Dict[str, float]]] = {name: [] for name, _, _ in servers}
            for _ in range(self.repeats):
                for name, p, pid in servers:
                    runs[name].append(self.wrk(p, f"/{USER}", seconds, pid))
            rps = {name: [r["req_per_s"] for r in rs] for name, rs in runs.items()}
            result: Dict[str, Any] = {
                "bytes": len(body), "every_limit": " ".join(EVERY_LIMIT),
                "finger_req_per_s": median(rps["finger"]), "finger_runs": rps["finger"],
                "bare_req_per_s": median(rps["bare"]), "bare_runs": rps["bare"],
                "finger_cpu_us_per_req": median([r["cpu_us_per_req"] for r in runs["finger"]]),
                "bare_cpu_us_per_req": median([r["cpu_us_per_req"] for r in runs["bare"]]),
                "finger_non_2xx": sum(r["non_2xx"] for r in runs["finger"]),
            }
            if nginx:
                result["nginx_req_per_s"] = median(rps["nginx"])
                result["nginx_runs"] = rps["nginx"]
            else:
                result["nginx_unavailable"] = "nginx not installed (apt-get install -y nginx)"
            self.results["web"] = result
            log(f"web: /{USER} {result['finger_req_per_s']:.0f} req/s "
                f"({result['finger_cpu_us_per_req']:.0f} us CPU/req), bare twisted.web "
                f"{result['bare_req_per_s']:.0f} req/s ({result['bare_cpu_us_per_req']:.0f} us), "
                f"nginx {result.get('nginx_req_per_s', float('nan')):.0f} req/s")
        finally:
            stop(bare)
            if nginx:
                stop(nginx.proc)
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
    parser.add_argument("--pyfingerd", default=None,
                        help="a pyfingerd executable to measure (default: install "
                        f"{PYFINGERD} from PyPI into a virtualenv in the work directory)")
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
