#!/usr/bin/env python3
"""
Issue 18, "listings cost 300x a lookup": what one user listing (an empty
finger query, RFC 1288 section 2.5.2) and one web front page (C{GET /}) cost
the service, with 1,200 users of 4 KB statuses.

    python bench/attacks/listing.py [--users 1200] [--status-bytes 4096]
                                    [--seconds 10] [--rate 10]

Three phases, each beside a legit finger client asking every 0.1 s:

    1. listings one after another (each waits for the last), to measure
       the CPU one listing costs;
    2. empty queries from one address paced at C{--finger-rate} (the
       default 10 a second), to measure the share of the CPU one address
       staying within the limit takes.  The pacing is the script's own: with
       C{--rate-limit-loopback} the legit client, also on 127.0.0.1, would
       share the attacker's allowance;
    3. C{GET /} one after another, the CPU per front page.

The statuses do not change while it runs: a listing built once per change
should cost next to nothing after the first.
"""

import argparse
import os
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import LegitFinger, Service, fingerOnce, report  # noqa: E402


def statuses(users: int, size: int) -> dict:
    """
    C{users} users, each with a status of C{size} characters of its own.
    """
    table = {}
    for i in range(users):
        head = f"user{i:05d} is working on something <&> "
        table[f"user{i:05d}"] = (head + "x" * size)[:size]
    return table


def getPage(port: int, path: bytes = b"/") -> bytes:
    """
    One HTTP/1.0 C{GET}, read to the end.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(b"GET " + path + b" HTTP/1.0\r\nHost: localhost\r\n\r\n")
        chunks = []
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    answer = b"".join(chunks)
    if answer[:12] not in (b"HTTP/1.0 200", b"HTTP/1.1 200"):
        raise SystemExit(f"GET {path!r} answered {answer[:80]!r}")
    return answer


def backToBack(service: Service, seconds: float, once) -> tuple:
    """
    Call C{once()} again and again for C{seconds}.

    @return: how many calls, and the service's CPU seconds per call.
    """
    cpu = service.cpu()
    count = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        once()
        count += 1
    return count, (service.cpu() - cpu) / max(count, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=1200)
    parser.add_argument("--status-bytes", type=int, default=4096)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=10.0, help="--finger-rate")
    args = parser.parse_args()

    users = statuses(args.users, args.status_bytes)
    print(f"{args.users} users of {args.status_bytes}-character statuses; "
          f"{os.cpu_count()} CPUs")

    # 1. CPU per listing, back to back: no rate limit, or it would refuse
    # most of them.
    with Service(["--finger-rate", "0"], users=users) as service:
        first = service.cpu()
        answer = fingerOnce(service.fingerPort, b"")
        firstCost = service.cpu() - first
        assert b"user00000" in answer, answer[:200]
        with LegitFinger(service.fingerPort, b"user00001", b"working") as legit:
            count, perListing = backToBack(
                service, args.seconds, lambda: fingerOnce(service.fingerPort, b""))
        report("listings back to back", legit, service, listings=count,
               first_listing_cpu_ms=firstCost * 1000, cpu_ms_per_listing=perListing * 1000,
               listing_bytes=len(answer))

        # 3. CPU per front page, on the same service.
        first = service.cpu()
        page = getPage(service.webPort)
        firstCost = service.cpu() - first
        with LegitFinger(service.fingerPort, b"user00001", b"working") as legit:
            count, perPage = backToBack(service, args.seconds, lambda: getPage(service.webPort))
        report("front pages back to back", legit, service, pages=count,
               first_page_cpu_ms=firstCost * 1000, cpu_ms_per_page=perPage * 1000,
               page_bytes=len(page))

    # 2. One address at the finger rate limit, asking for listings.
    with Service(["--finger-rate", str(args.rate)], users=users) as service:
        with LegitFinger(service.fingerPort, b"user00001", b"working") as legit:
            cpu = service.cpu()
            started = time.monotonic()
            answered = refused = 0
            interval = 1 / args.rate
            while time.monotonic() - started < args.seconds:
                sent = time.monotonic()
                answer = fingerOnce(service.fingerPort, b"")
                if b"user00000" in answer:
                    answered += 1
                else:
                    refused += 1
                time.sleep(max(0.0, interval - (time.monotonic() - sent)))
            elapsed = time.monotonic() - started
            spent = service.cpu() - cpu
        report(f"empty queries at --finger-rate {args.rate:g}", legit, service,
               answered=answered, refused=refused,
               cpu_share_of_one_core=f"{100 * spent / elapsed:.1f}%",
               cpu_ms_per_listing=1000 * spent / max(answered, 1))


if __name__ == "__main__":
    main()
