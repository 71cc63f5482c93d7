#!/usr/bin/env python3
"""
Issue 18, measured: can logins be used to lock a user out?

One service with the setter and C{--auth memory:moshez:secret}, then two
attacks on the setter, each beside a legit user who sets moshez's status
with the right password once a second from 127.0.0.1:

    - I{guessing}: an attacker at 127.0.0.2 (another client) sends a wrong
      password for moshez every 0.3 s, each on its own connection, and
      waits for each answer as a patient attacker would;
    - I{table filling}: connections from thousands of other loopback
      addresses (127.1.x.y) each send a login for an account nobody uses,
      several per address, and are reset right after; the legit user, whom
      nobody guesses at, logs in meanwhile.

The script prints, for each, the legit user's success ratio and login
latency, the attacker's figures, and the legit finger client's latency
(the harness's). C{--rate-limit-loopback} is not given: loopback is then
exempt from the per-connection limits, so what is measured is the login
layer alone (which, unlike those limits, never exempts loopback).

    python bench/attacks/logins.py [--tries 15] [--fill-addresses 2000]

It talks to loopback only and stops the service on the way out.
"""

import argparse
import socket
import sys
import threading
import time
from pathlib import Path
from typing import List, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import LegitFinger, Service, percentile, report  # noqa: E402

LEGIT = "127.0.0.1"
ATTACKER = "127.0.0.2"


def setStatus(
    port: int, source: str, user: bytes, password: bytes, status: bytes, timeout: float = 30.0
) -> Tuple[bytes, float]:
    """
    Set a status over the setter protocol with a login, from C{source}.

    @return: the server's answer line and the seconds it took.
    """
    started = time.monotonic()
    try:
        with socket.create_connection(
            ("127.0.0.1", port), timeout=timeout, source_address=(source, 0)
        ) as s:
            s.sendall(user + b"\r\n" + password + b"\r\n" + status + b"\r\n")
            chunks = []
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                chunks.append(chunk)
        answer = b"".join(chunks).strip()
    except OSError as e:
        answer = f"({e.__class__.__name__})".encode()
    return answer, time.monotonic() - started


class LegitSetter:
    """
    The real moshez: C{tries} logins with the right password, one a
    second (or as soon as the one before was answered, if it took longer).
    """

    def __init__(self, port: int, tries: int, timeout: float = 10.0) -> None:
        self.port, self.tries, self.timeout = port, tries, timeout
        self.answers: List[Tuple[bytes, float]] = []

    def run(self) -> None:
        for i in range(self.tries):
            started = time.monotonic()
            self.answers.append(
                setStatus(self.port, LEGIT, b"moshez", b"secret", f"Happy, here {i}".encode(),
                          self.timeout)
            )
            time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))

    def figures(self) -> dict:
        ok = [t for answer, t in self.answers if answer.startswith(b"OK:")]
        latencies = [t * 1000 for _, t in self.answers]
        refusals = sorted({a.decode(errors="replace") for a, _ in self.answers
                           if not a.startswith(b"OK:")})
        return {
            "legit logins that got in": f"{len(ok)}/{len(self.answers)}",
            "legit login latency p50/p95/max ms": (
                f"{percentile(latencies, 0.5):.0f} / {percentile(latencies, 0.95):.0f} / "
                f"{max(latencies, default=float('nan')):.0f}"
            ),
            "legit refusals seen": "; ".join(refusals) or "none",
        }


class Guesser:
    """
    An attacker at L{ATTACKER} sending a wrong password for moshez every
    C{interval} seconds, each on a connection of its own that waits for its
    answer.
    """

    def __init__(self, port: int, interval: float = 0.3) -> None:
        self.port, self.interval = port, interval
        self.answers: List[Tuple[bytes, float]] = []
        self.stop = threading.Event()
        self.threads: List[threading.Thread] = []
        self.lock = threading.Lock()

    def guess(self, n: int) -> None:
        result = setStatus(self.port, ATTACKER, b"moshez", f"guess{n}".encode(), b"hacked")
        with self.lock:
            self.answers.append(result)

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            thread = threading.Thread(target=self.guess, args=(n,), daemon=True)
            thread.start()
            self.threads.append(thread)
            n += 1
            self.stop.wait(self.interval)

    def join(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(60)

    def figures(self) -> dict:
        latencies = [t * 1000 for _, t in self.answers]
        return {
            "attacker guesses sent": len(self.answers),
            "attacker answer latency p50/max ms": (
                f"{percentile(latencies, 0.5):.0f} / {max(latencies, default=float('nan')):.0f}"
            ),
        }


def wholeLog(service: Service) -> str:
    """
    The service's log, rotated files included (twistd rotates at 1 MB).
    """
    files = sorted(service.work.glob("log*"), key=lambda p: p.stat().st_mtime)
    return "".join(p.read_text(errors="replace") for p in files)


def guessing(tries: int) -> None:
    with Service(setter=True, extra=["--auth", "memory:moshez:secret"]) as service:
        assert service.setterPort is not None
        with LegitFinger(service.fingerPort) as legit:
            guesser = Guesser(service.setterPort)
            attack = threading.Thread(target=guesser.run, daemon=True)
            attack.start()
            time.sleep(3.0)  # let the guesses pile up first
            user = LegitSetter(service.setterPort, tries)
            cpu = service.cpu()
            user.run()
            spent = service.cpu() - cpu
            guesser.join()
        lines = wholeLog(service).splitlines()
        attempted = f"'moshez' from {ATTACKER}:"
        checked = sum("Failed login" in line and attempted in line for line in lines)
        unchecked = sum("unchecked" in line and attempted in line for line in lines)
        report(
            f"wrong password for moshez every 0.3 s from {ATTACKER}; "
            f"the right one once a second from {LEGIT}",
            legit,
            service,
            **user.figures(),
            **guesser.figures(),
            **{"attacker guesses checked / refused unchecked": f"{checked} / {unchecked}"},
            cpu=spent,
        )


def address(i: int) -> str:
    return f"127.1.{i // 250}.{i % 250 + 1}"


def resetAfterLogin(port: int, source: str, account: bytes) -> Optional[socket.socket]:
    try:
        s = socket.socket()
        s.setblocking(True)
        s.settimeout(5)
        s.bind((source, 0))
        s.connect(("127.0.0.1", port))
        s.sendall(account + b"\r\nwrong\r\nhacked\r\n")
        return s
    except OSError:
        return None


def reset(sockets: List[Optional[socket.socket]]) -> None:
    for s in sockets:
        if s is None:
            continue
        # SO_LINGER with a zero timeout: close() sends a reset.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()


class Filler:
    """
    Logins from C{addresses} loopback addresses, C{perAddress} each (each
    for an account of its own), sent in batches of connections that are
    reset once the server has read them; over and over, until stopped.
    """

    def __init__(self, port: int, addresses: int, perAddress: int, batch: int = 500) -> None:
        self.port, self.addresses, self.perAddress, self.batch = (
            port, addresses, perAddress, batch)
        self.stop = threading.Event()
        self.sent = 0
        self.failed = 0
        self.rounds = 0

    def run(self) -> None:
        jobs = [(a, j) for j in range(self.perAddress) for a in range(self.addresses)]
        while not self.stop.is_set():
            for start in range(0, len(jobs), self.batch):
                if self.stop.is_set():
                    return
                sockets = [
                    resetAfterLogin(self.port, address(a), f"r{self.rounds}a{a}n{j}".encode())
                    for a, j in jobs[start:start + self.batch]
                ]
                self.sent += sum(s is not None for s in sockets)
                self.failed += sum(s is None for s in sockets)
                time.sleep(0.2)  # the server reads the lines and queues the logins
                reset(sockets)
            self.rounds += 1


def tableFilling(tries: int, addresses: int, perAddress: int) -> None:
    with Service(setter=True, extra=["--auth", "memory:moshez:secret"]) as service:
        assert service.setterPort is not None
        with LegitFinger(service.fingerPort) as legit:
            filler = Filler(service.setterPort, addresses, perAddress)
            fill = threading.Thread(target=filler.run, daemon=True)
            cpu = service.cpu()
            fill.start()
            time.sleep(5.0)  # let the table fill
            user = LegitSetter(service.setterPort, tries)
            user.run()
            filler.stop.set()
            fill.join(120)
            spent = service.cpu() - cpu
        log = wholeLog(service)
        report(
            f"logins for {addresses} x {perAddress} unused accounts from {addresses} "
            f"addresses, reset after sending; moshez (nobody guesses at it) logs in "
            f"once a second from {LEGIT}",
            legit,
            service,
            **user.figures(),
            **{
                "filler logins sent": filler.sent,
                "filler connections refused": filler.failed,
                "logins refused unchecked (log lines)": log.count("unchecked"),
                "of which moshez's from 127.0.0.1": sum(
                    "unchecked" in line and "'moshez' from 127.0.0.1" in line
                    for line in log.splitlines()
                ),
            },
            cpu=spent,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tries", type=int, default=15, help="legit logins per attack")
    parser.add_argument("--fill-tries", type=int, default=10)
    parser.add_argument("--fill-addresses", type=int, default=2000)
    parser.add_argument("--fill-per-address", type=int, default=5)
    parser.add_argument("--only", choices=["guessing", "filling"])
    args = parser.parse_args()
    if args.only in (None, "guessing"):
        guessing(args.tries)
    if args.only in (None, "filling"):
        tableFilling(args.fill_tries, args.fill_addresses, args.fill_per_address)


if __name__ == "__main__":
    main()
