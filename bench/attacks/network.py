#!/usr/bin/env python3
"""
One IPv6 /64 pretending to be a thousand clients (issue 18).

The script gives the loopback interface 1,000 addresses of one /64
(2001:db8:f:1::/64, a documentation prefix, on C{lo} only) and one address
of another /64 for the legit client, starts the service on C{::1} with
C{--rate-limit-loopback}, then:

  1. asks finger queries as fast as it can from all 1,000 addresses for
     C{--seconds} seconds, and counts the answers against what the /64 as a
     whole may have: C{--finger-rate} x time + burst;
  2. opens 1,100 idle connections from 1,100 addresses of the /64 to the
     finger and web listeners, and counts how many the service keeps open
     (at most C{--max-per-address} each), while the legit client, from its
     own /64, is still served by both.

It needs root (to add the addresses with C{ip}) and removes them again.

    python bench/attacks/network.py [--seconds 10]
"""

import argparse
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import List

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import LegitFinger, Service, exchange, fingerOnce, report  # noqa: E402

ATTACK = "2001:db8:f:1::"
LEGIT = "2001:db8:f:2::1"
RATE = 10.0
MAX_PER_ADDRESS = 32


def addresses(count: int) -> List[str]:
    return [f"{ATTACK}{n:x}" for n in range(1, count + 1)]


def ipBatch(verb: str, hosts: List[str]) -> None:
    commands = "".join(f"addr {verb} {host}/128 dev lo\n" for host in hosts)
    subprocess.run(["ip", "-6", "-force", "-batch", "-"], input=commands.encode(),
                   check=verb == "add", stderr=subprocess.DEVNULL)


def flood(port: int, sources: List[str], until: float, answered: List[int],
          refused: List[int]) -> None:
    i = 0
    while time.monotonic() < until:
        source = sources[i % len(sources)]
        i += 1
        try:
            answer = fingerOnce(port, b"moshez", timeout=5, host="::1", source=source)
        except OSError:
            refused.append(1)
            continue
        (answered if b"Happy" in answer else refused).append(1)


def hold(port: int, sources: List[str]) -> List[socket.socket]:
    held = []
    for source in sources:
        s = socket.socket(socket.AF_INET6)
        s.bind((source, 0))
        s.settimeout(5)
        try:
            s.connect(("::1", port))
        except OSError:
            s.close()
            continue
        held.append(s)
    return held


def stillOpen(sockets: List[socket.socket]) -> int:
    """
    How many of C{sockets} the server has not closed (nor refused with a
    message and a close).
    """
    time.sleep(1.0)
    count = 0
    for s in sockets:
        s.setblocking(False)
        try:
            data = s.recv(4096)
        except BlockingIOError:
            count += 1
            continue
        except OSError:
            continue
        if data and not data.lower().startswith((b"server busy", b"http/1.1 503")):
            count += 1
    return count


def webOnce(port: int, source: str) -> bytes:
    return exchange(port, b"GET /moshez HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                    timeout=10, host="::1", source=source)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=40)
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("network.py needs root: it adds addresses to lo with ip(8)")
    sources = addresses(1100)
    ipBatch("add", sources + [LEGIT])
    try:
        extra = ["--rate-limit-loopback", "--finger-rate", str(RATE),
                 "--max-per-address", str(MAX_PER_ADDRESS)]
        with Service(extra, host="::1") as service:
            with LegitFinger(service.fingerPort, host="::1", source=LEGIT) as legit:
                answered: List[int] = []
                refused: List[int] = []
                cpu = service.cpu()
                until = time.monotonic() + args.seconds
                threads = [
                    threading.Thread(target=flood, args=(service.fingerPort, sources[:1000][i::args.threads],
                                                         until, answered, refused))
                    for i in range(args.threads)
                ]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                spent = service.cpu() - cpu
            report("1,000 addresses of one /64 asking finger queries", legit, service,
                   seconds=args.seconds, answered=len(answered), refused=len(refused),
                   allowed=int(RATE * args.seconds + 2 * RATE), cpu_seconds=spent)

            with LegitFinger(service.fingerPort, host="::1", source=LEGIT) as legit:
                fingerHeld = hold(service.fingerPort, sources)
                webHeld = hold(service.webPort, sources)
                fingerOpen, webOpen = stillOpen(fingerHeld), stillOpen(webHeld)
                web = webOnce(service.webPort, LEGIT)
                time.sleep(1)
                for s in fingerHeld + webHeld:
                    s.close()
            report("1,100 addresses of one /64 holding connections", legit, service,
                   finger_connections_held=fingerOpen, web_connections_held=webOpen,
                   max_per_address=MAX_PER_ADDRESS,
                   legit_web=web.split(b"\r\n", 1)[0].decode(errors="replace"))
    finally:
        ipBatch("del", sources + [LEGIT])


if __name__ == "__main__":
    main()
