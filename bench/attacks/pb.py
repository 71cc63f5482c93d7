#!/usr/bin/env python3
"""
Issue 18's Perspective Broker attacks, measured against one service while a
legit finger client asks every 0.1 s:

1. bytes that are not PB: 60 clients each send 1 MiB of C{0x80} (empty
   lists, each one a Banana item) without choosing a dialect;
2. slow decoding: 20 clients choose the C{pb} dialect properly, then each
   sends two messages of many small items before two large strings, the
   shape that makes Banana copy its whole buffer once per item;
3. memory: 600 connections that choose the dialect and then hold an
   unfinished 1 MiB message, without logging in; and 600 that hold one just
   short of 8 KiB, what a connection may send before it logs in.

For each it prints the service's CPU seconds, the legit client's latency
and the service's memory growth.  Targets: finger p95 < 100 ms, < 0.5 s of
CPU for the whole attack, RSS < +50 MiB for each 600 connections.

    python bench/attacks/pb.py

It talks to loopback only and stops the service on the way out.
"""

import socket
import sys
import threading
import time
from pathlib import Path
from typing import List

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import LegitFinger, Service, report  # noqa: E402

DIALECT = b"\x02\x82pb"
"""
What a PB client sends first: the string C{pb}, naming its dialect.
"""

MiB = 1 << 20


def b128(n: int) -> bytes:
    """
    Banana's number prefix: base 128, least significant digit first.
    """
    out = bytearray()
    while True:
        out.append(n & 0x7F)
        n >>= 7
        if not n:
            return bytes(out)


def slowMessage(small: int = 4000, large: int = 520_000) -> bytes:
    """
    One list of C{small} one-byte numbers and then two strings of C{large}
    bytes: about 1 MiB, within the old limits (4096 items, 1 MiB).
    """
    strings = (b128(large) + b"\x82" + b"x" * large) * 2
    return b128(small + 2) + b"\x80" + b"\x01\x81" * small + strings


def unfinishedMessage(size: int = MiB - 64) -> bytes:
    """
    The start of a two-item list whose first item is a string of C{size}
    bytes, all but its last byte sent.
    """
    return b"\x02\x80" + b128(size) + b"\x82" + b"x" * (size - 1)


def sendAndWait(port: int, payload: bytes, wait: float = 5.0) -> None:
    """
    Send C{payload}, then read until the server closes or C{wait} passes.
    """
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(payload)
            s.settimeout(wait)
            try:
                while s.recv(65536):
                    pass
            except OSError:
                pass
    except OSError:
        pass


def inThreads(count: int, port: int, payload: bytes) -> None:
    threads = [threading.Thread(target=sendAndWait, args=(port, payload)) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def notPB(service: Service) -> float:
    assert service.pbPort is not None
    cpu = service.cpu()
    inThreads(60, service.pbPort, b"\x80" * MiB)
    return service.cpu() - cpu


def slowDecode(service: Service) -> float:
    assert service.pbPort is not None
    cpu = service.cpu()
    message = slowMessage()
    inThreads(20, service.pbPort, DIALECT + message + message)
    return service.cpu() - cpu


def holding(service: Service, size: int, count: int = 600) -> "tuple[float, float, int]":
    """
    Open C{count} connections that each choose the dialect and send all but
    the last byte of a message C{size} bytes long.

    @return: CPU seconds, the RSS growth in MiB, and how many of the
        connections the server still held once all were sent.
    """
    assert service.pbPort is not None
    cpu = service.cpu()
    before = service.rss()
    payload = DIALECT + unfinishedMessage(size)
    sockets: List[socket.socket] = []
    try:
        for _ in range(count):
            s = socket.create_connection(("127.0.0.1", service.pbPort), timeout=2)
            sockets.append(s)
            try:
                s.sendall(payload)
            except OSError:
                pass
            s.setblocking(False)
        # Let the server read what it will.
        time.sleep(3)
        grown = service.rss() - before
        open_ = sum(stillOpen(s) for s in sockets)
    finally:
        for s in sockets:
            s.close()
    return service.cpu() - cpu, grown, open_


def stillOpen(s: socket.socket) -> bool:
    """
    Whether the server still holds the connection: it has not closed it,
    once what it sent is read.
    """
    try:
        while s.recv(65536):
            pass
    except BlockingIOError:
        return True
    except OSError:
        pass
    return False


def watched(legit: LegitFinger, started: float, least: float = 3.0) -> None:
    """
    Let the legit client ask for C{least} seconds in all, so that its
    figures have enough answers to mean something.
    """
    time.sleep(max(0.0, started + least - time.monotonic()))


def main() -> None:
    with Service(pb=True) as service:
        total = 0.0
        with LegitFinger(service.fingerPort) as legit:
            started = time.monotonic()
            spent = notPB(service)
            watched(legit, started)
        total += spent
        report("60 clients x 1 MiB of 0x80 (not PB)", legit, service, cpu=spent)
        with LegitFinger(service.fingerPort) as legit:
            started = time.monotonic()
            spent = slowDecode(service)
            watched(legit, started)
        total += spent
        report("20 clients x 2 slow-decode messages after the pb dialect", legit, service,
               cpu=spent)
        with LegitFinger(service.fingerPort) as legit:
            spent, grown, held = holding(service, MiB - 64)
        total += spent
        report("600 unauthenticated connections holding an unfinished 1 MiB message", legit,
               service, cpu=spent, rss_growth_mib=grown, connections_still_held=held)
        with LegitFinger(service.fingerPort) as legit:
            # Just within the new limit on what a connection may send before
            # it logs in (8 KiB): the most each may make the server hold.
            spent, grown, held = holding(service, 8192 - len(DIALECT) - 8)
        total += spent
        report("600 unauthenticated connections holding an unfinished 8 KiB message", legit,
               service, cpu=spent, rss_growth_mib=grown, connections_still_held=held)
        print(f"== whole attack: {total:.3f} CPU seconds")


if __name__ == "__main__":
    main()
