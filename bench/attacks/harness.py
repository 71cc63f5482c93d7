"""
What every attack script under bench/attacks/ shares: a real service started
with twistd on free loopback ports, a legit finger client asking every 0.1 s
beside the attack, and the service's CPU and memory.

An attack script does::

    with Service(["--rate-limit-loopback"]) as service:
        with LegitFinger(service.fingerPort) as legit:
            cpu = service.cpu()
            ... attack service.webPort / service.pbPort ...
            spent = service.cpu() - cpu
        report("xmlrpc entity bombs", legit, service, cpu=spent)

It talks to loopback only, stops the service on the way out, and removes
its temporary directory (set C{FINGER_ATTACK_KEEP=1} to keep it, with the
service's log).
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

CHECKOUT = Path(__file__).resolve().parent.parent.parent
TICK = os.sysconf("SC_CLK_TCK")


def freePort() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: Sequence[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class Service:
    """
    C{twistd -n finger} on free loopback ports, with a status file of
    C{users} (name -> status) in a temporary directory.

    @ivar fingerPort: where finger listens; C{webPort} the web site;
        C{setterPort} and C{pbPort} are L{None} unless asked for.
    """

    def __init__(
        self,
        extra: Sequence[str] = (),
        users: Optional[Dict[str, str]] = None,
        setter: bool = False,
        pb: bool = False,
        statusFile: Optional[str] = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.work = Path(tempfile.mkdtemp(prefix="finger-attack-"))
        self.fingerPort = freePort()
        self.webPort = freePort()
        self.setterPort = freePort() if setter else None
        self.pbPort = freePort() if pb else None
        if statusFile is None:
            path = self.work / "users"
            with open(path, "w") as f:
                for name, status in (users or {"moshez": "Happy and well"}).items():
                    f.write(f"{name}: {status}\n")
            statusFile = str(path)
        self.statusFile = statusFile
        self.host = host
        kind, interface = ("tcp6", host.replace(":", "\\:")) if ":" in host else ("tcp", host)

        def at(port: Optional[int]) -> str:
            return f"{kind}:{port}:interface={interface}"

        argv = [str(Path(sys.executable).parent / "twistd"), "-n", "--pidfile=",
                "-l", str(self.work / "log"), "finger", "--file", statusFile,
                "--fingerport", at(self.fingerPort)]
        argv += ["--webport", at(self.webPort)]
        argv += (["--setterport", at(self.setterPort)] if setter
                 else ["--no-setter"])
        argv += (["--pbport", at(self.pbPort)] if pb
                 else ["--no-pb"])
        self.argv = argv + list(extra)
        self.process: Optional[subprocess.Popen] = None

    def __enter__(self) -> "Service":
        env = dict(os.environ, PYTHONPATH=str(CHECKOUT))
        self.process = subprocess.Popen(self.argv, env=env, cwd=str(self.work))
        deadline = time.monotonic() + 30
        while True:
            try:
                fingerOnce(self.fingerPort, b"", host=self.host)
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the service did not start; see {self.work / 'log'}")
                time.sleep(0.1)
        time.sleep(0.3)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if not os.environ.get("FINGER_ATTACK_KEEP"):
            shutil.rmtree(self.work, ignore_errors=True)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def cpu(self) -> float:
        """
        @return: CPU seconds (user and system) the service has used so far.
        """
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK

    def rss(self) -> float:
        """
        @return: the service's resident memory in MiB.
        """
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def log(self) -> str:
        return (self.work / "log").read_text(errors="replace")


def exchange(port: int, request: bytes, timeout: float = 30.0, host: str = "127.0.0.1",
             source: Optional[str] = None) -> bytes:
    """
    Send C{request} to C{host}:C{port}, from C{source} if given, and read
    the answer until the server closes.
    """
    sourceAddress = None if source is None else (source, 0)
    with socket.create_connection((host, port), timeout=timeout,
                                  source_address=sourceAddress) as s:
        s.sendall(request)
        chunks = []
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def fingerOnce(port: int, query: bytes = b"moshez", timeout: float = 30.0,
               host: str = "127.0.0.1", source: Optional[str] = None) -> bytes:
    """
    Ask a finger server at C{host} one query, from C{source} if given.
    """
    return exchange(port, query + b"\r\n", timeout, host, source)


class LegitFinger:
    """
    A polite finger client asking for C{query} every C{interval} seconds in
    a thread, from C{source} (the system's choice if L{None}) to C{host},
    while the attack runs.  It records each
    answer's time, and counts answers that did not come or did not hold
    C{expect}.
    """

    def __init__(self, port: int, query: bytes = b"moshez", expect: bytes = b"Happy",
                 interval: float = 0.1, host: str = "127.0.0.1",
                 source: Optional[str] = None) -> None:
        self.port, self.query, self.expect, self.interval = port, query, expect, interval
        self.host, self.source = host, source
        self.latencies: List[float] = []
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                answer = fingerOnce(self.port, self.query, host=self.host,
                                    source=self.source)
                if self.expect not in answer:
                    self.failures += 1
            except OSError:
                self.failures += 1
            self.latencies.append(time.monotonic() - started)
            self._stop.wait(self.interval)

    def __enter__(self) -> "LegitFinger":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(60)

    def summary(self) -> str:
        ms = [x * 1000 for x in self.latencies]
        return (f"legit finger: {len(ms)} answers, p50 {percentile(ms, 0.5):.1f} ms, "
                f"p95 {percentile(ms, 0.95):.1f} ms, max {max(ms, default=float('nan')):.1f} ms, "
                f"{self.failures} failed")


def report(title: str, legit: LegitFinger, service: Service, **figures: object) -> None:
    """
    Print one attack's result: its own figures, the legit client's
    latency, and the service's memory now.
    """
    print(f"== {title}")
    for name, value in figures.items():
        if isinstance(value, float):
            value = f"{value:.3f}"
        print(f"   {name}: {value}")
    print(f"   {legit.summary()}")
    print(f"   service RSS now: {service.rss():.0f} MiB")
