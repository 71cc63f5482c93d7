"""
Attacks on the web site (issue 18, "one client must not be able to take the
reactor"), each against a real service on loopback:

    - pipeline: one connection pipelines C{GET /moshez} for 10 seconds
      (with C{--rate-limit-loopback}, so loopback is limited); prints the
      requests answered, the service's CPU and the legit finger client's
      latency (target: p95 under 50 ms);
    - slow: with C{--timeout 5}, a POST body at 1 byte every 2 seconds
      (with C{Content-Length}, and chunked), an idle keep-alive, a silent TLS
      client and a half-sent ClientHello; prints when the server closed each
      (target: within 10 seconds);
    - long: a 16.5 KiB request line, and 17 KiB of headers, over HTTP and
      HTTPS; prints the answer's status and when the server closed (target:
      a 4xx, closed within 5 seconds).

Run from a checkout::

    .venv/bin/python bench/attacks/web.py [pipeline|slow|long ...]
"""

import select
import socket
import ssl
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent.parent))

from harness import LegitFinger, Service, freePort, report  # noqa: E402

from tests.certs import selfSigned  # noqa: E402

WATCH = 45.0
"""
The longest a slow client is watched before it is counted as still open.
"""


def pipeline() -> None:
    """
    One connection that writes C{GET /moshez} requests as fast as the server
    reads them, for 10 seconds, and counts the answers.
    """
    request = b"GET /moshez HTTP/1.1\r\nHost: x\r\n\r\n"
    batch = request * 256
    with Service(["--rate-limit-loopback"]) as service:
        with LegitFinger(service.fingerPort) as legit:
            cpu = service.cpu()
            s = socket.create_connection(("127.0.0.1", service.webPort))
            s.setblocking(False)
            answered, tail, sent = 0, b"", 0
            pending = batch
            started = time.monotonic()
            closed = False
            while time.monotonic() - started < 10 and not closed:
                readable, writable, _ = select.select([s], [s] if pending else [], [], 0.1)
                if readable:
                    try:
                        data = s.recv(1 << 16)
                    except OSError:
                        data = b""
                    if not data:
                        closed = True
                        break
                    seen = tail + data
                    answered += seen.count(b"HTTP/1.1 ")
                    tail = seen[-8:]
                    # A status line split across reads is counted once.
                    answered -= tail.count(b"HTTP/1.1 ")
                if writable:
                    try:
                        n = s.send(pending)
                    except BlockingIOError:
                        n = 0
                    except OSError:
                        closed = True
                        break
                    sent += n
                    pending = pending[n:] or batch
            answered += tail.count(b"HTTP/1.1 ")
            elapsed = time.monotonic() - started
            s.close()
            spent = service.cpu() - cpu
        report(
            "one connection pipelining GET /moshez for 10 s (--rate-limit-loopback)",
            legit,
            service,
            requests_sent=sent // len(request),
            requests_answered=answered,
            answered_per_second=answered / elapsed,
            server_closed=closed,
            service_cpu_seconds=spent,
            service_cpu_share=spent / elapsed,
        )


def certificate(work: Path) -> str:
    """
    A self-signed certificate and its key, in one PEM file under C{work}.
    """
    cert, key = selfSigned()
    path = work / "server.pem"
    path.write_bytes(key + cert)
    return str(path)


def clientHello() -> bytes:
    """
    The ClientHello a TLS client sends first.
    """
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing)
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def insecure() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def watch(sock: socket.socket, started: float, limit: float = WATCH) -> Tuple[Optional[float], bytes]:
    """
    Read from C{sock} until the server closes it or C{limit} seconds after
    C{started}.

    @return: seconds after C{started} when it closed (L{None} if it did
        not), and what the server said.
    """
    received = b""
    while True:
        left = started + limit - time.monotonic()
        if left <= 0:
            return None, received
        sock.settimeout(left)
        try:
            data = sock.recv(65536)
        except socket.timeout:
            return None, received
        except (OSError, ssl.SSLError):
            return time.monotonic() - started, received
        if not data:
            return time.monotonic() - started, received
        received += data


def trickle(sock: socket.socket, data: bytes, interval: float, stop: threading.Event) -> None:
    """
    Send C{data} one byte every C{interval} seconds until C{stop} is set or
    the socket fails.
    """
    for i in range(len(data)):
        if stop.wait(interval):
            return
        try:
            sock.send(data[i : i + 1])
        except OSError:
            return


def status(received: bytes) -> str:
    line = received.split(b"\r\n", 1)[0]
    return line.decode("latin-1") if line else "nothing"


def slowBody(port: int, chunked: bool) -> Tuple[Optional[float], bytes]:
    body = b"<?xml version='1.0'?><methodCall><methodName>getUsers</methodName></methodCall>"
    if chunked:
        head = b"Transfer-Encoding: chunked\r\n\r\n"
        rest = b"".join(b"1\r\n%s\r\n" % (body[i : i + 1],) for i in range(len(body))) + b"0\r\n\r\n"
    else:
        head = b"Content-Length: %d\r\n\r\n" % (len(body),)
        rest = body
    sock = socket.create_connection(("127.0.0.1", port))
    started = time.monotonic()
    sock.sendall(b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n" + head)
    stop = threading.Event()
    sender = threading.Thread(target=trickle, args=(sock, rest, 2.0, stop), daemon=True)
    sender.start()
    try:
        return watch(sock, started)
    finally:
        stop.set()
        sock.close()


def idleKeepAlive(port: int) -> Tuple[Optional[float], bytes]:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(b"GET /moshez HTTP/1.1\r\nHost: x\r\n\r\n")
    sock.settimeout(10)
    first = sock.recv(65536)
    # Closing time is counted from the answer: the keep-alive's idle time.
    try:
        closed, more = watch(sock, time.monotonic())
    finally:
        sock.close()
    return closed, first + more


def silentTLS(port: int) -> Tuple[Optional[float], bytes]:
    sock = socket.create_connection(("127.0.0.1", port))
    try:
        return watch(sock, time.monotonic())
    finally:
        sock.close()


def halfHello(port: int) -> Tuple[Optional[float], bytes]:
    hello = clientHello()
    sock = socket.create_connection(("127.0.0.1", port))
    started = time.monotonic()
    sock.sendall(hello[: len(hello) // 2])
    try:
        return watch(sock, started)
    finally:
        sock.close()


def slow() -> None:
    """
    Slow bodies, an idle keep-alive and slow TLS handshakes, with
    C{--timeout 5}.
    """
    sslPort = freePort()
    pem = certificate(Path(tempfile.mkdtemp(prefix="finger-attack-cert-")))
    extra = ["--timeout", "5", "--ssl", "--sslport", f"tcp:{sslPort}:interface=127.0.0.1",
             "--certificate", pem]
    with Service(extra) as service:
        clients: Dict[str, Callable[[], Tuple[Optional[float], bytes]]] = {
            "slow body, Content-Length, 1 byte / 2 s": lambda: slowBody(service.webPort, False),
            "slow body, chunked, 1 byte / 2 s": lambda: slowBody(service.webPort, True),
            "idle keep-alive after an answer": lambda: idleKeepAlive(service.webPort),
            "silent TLS client": lambda: silentTLS(sslPort),
            "half a TLS ClientHello": lambda: halfHello(sslPort),
        }
        results: Dict[str, Tuple[Optional[float], bytes]] = {}

        def run(name: str) -> None:
            results[name] = clients[name]()

        with LegitFinger(service.fingerPort) as legit:
            cpu = service.cpu()
            threads = [threading.Thread(target=run, args=(name,)) for name in clients]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            spent = service.cpu() - cpu
        figures: Dict[str, object] = {}
        for name in clients:
            closed, received = results[name]
            when = f"closed after {closed:.1f} s" if closed is not None else f"still open at {WATCH:.0f} s"
            last = received.rsplit(b"HTTP/1.1 ", 1)[-1][:3].decode("latin-1") if received else ""
            figures[name] = f"{when}; last status {last or 'none'}"
        report("slow clients with --timeout 5", legit, service, service_cpu_seconds=spent, **figures)


def longHead(port: int, tls: bool, head: bytes) -> Tuple[Optional[float], bytes]:
    raw = socket.create_connection(("127.0.0.1", port))
    sock = insecure().wrap_socket(raw) if tls else raw
    started = time.monotonic()
    try:
        sock.sendall(head)
        return watch(sock, started, 30.0)
    finally:
        sock.close()


def long() -> None:
    """
    A 16.5 KiB request line and 17 KiB of headers, over HTTP and HTTPS.
    """
    sslPort = freePort()
    pem = certificate(Path(tempfile.mkdtemp(prefix="finger-attack-cert-")))
    line = b"GET /" + b"a" * (16 * 1024 + 512) + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    headers = b"GET / HTTP/1.1\r\nHost: x\r\n" + (b"X-Pad: " + b"b" * 1000 + b"\r\n") * 17 + b"\r\n"
    extra = ["--ssl", "--sslport", f"tcp:{sslPort}:interface=127.0.0.1", "--certificate", pem]
    with Service(extra) as service:
        with LegitFinger(service.fingerPort) as legit:
            figures: Dict[str, object] = {}
            for name, port, tls in (("HTTP", service.webPort, False), ("HTTPS", sslPort, True)):
                for what, head in (("16.5 KiB request line", line), ("17 KiB of headers", headers)):
                    closed, received = longHead(port, tls, head)
                    when = f"closed after {closed:.2f} s" if closed is not None else "still open at 30 s"
                    figures[f"{what} over {name}"] = f"answer: {status(received)}; {when}"
        report("request line and headers over the limit", legit, service, **figures)


ATTACKS = {"pipeline": pipeline, "slow": slow, "long": long}


def main(argv: List[str]) -> None:
    for name in argv or list(ATTACKS):
        ATTACKS[name]()


if __name__ == "__main__":
    main(sys.argv[1:])
