"""
Attacks on XML-RPC at C{/RPC2}, with no login, over plain HTTP (issue 18):

  - entity bombs: 20 bodies of ten nested entities (a "billion laughs"),
    one after another on one keep-alive connection, each timed and costed
    in the service's CPU; then as many as fit in a few seconds, back to
    back, so that the legit client's latency is measured while they land;
  - an introspection flood: C{system.methodSignature(1)} and friends, with
    arguments of the wrong type or count, on one keep-alive connection,
    with the growth of the service's log and how many of its lines are
    tracebacks.

Run from a checkout::

    .venv/bin/python bench/attacks/xmlrpc.py

The targets: under 10 ms of CPU per bomb, the legit finger client's p95
under 50 ms, and no log growth beyond a line per refused request.
"""

import socket
import sys
import time
from pathlib import Path
from typing import List, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import LegitFinger, Service, report  # noqa: E402

BOMBS = 20
SUSTAINED_SECONDS = 3.0
INTROSPECTION_CALLS = 600


def entityBomb(levels: int = 10) -> bytes:
    """
    A call to C{getUser} whose argument is an entity that expands, ten-fold
    at each of C{levels} levels, to a billion elements or so: each one a
    call from expat into the XML-RPC unmarshaller, until expat's
    amplification limit stops it.
    """
    declarations = ['<!ENTITY a0 "<v>lol</v>">']
    for level in range(1, levels):
        declarations.append(f'<!ENTITY a{level} "{f"&a{level - 1};" * 10}">')
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE methodCall [\n'
        + "\n".join(declarations)
        + "\n]>\n<methodCall><methodName>getUser</methodName><params><param><value>"
        f"<string>&a{levels - 1};</string></value></param></params></methodCall>\n"
    ).encode("ascii")


def call(method: str, params: str) -> bytes:
    """
    An XML-RPC call of C{method} with C{params}, already encoded as
    C{<param>} elements.
    """
    return (
        f"<?xml version='1.0'?>\n<methodCall><methodName>{method}</methodName>"
        f"<params>{params}</params></methodCall>\n"
    ).encode("ascii")


INTROSPECTION = [
    call("system.methodSignature", "<param><value><int>1</int></value></param>"),
    call("system.methodHelp", "<param><value><array><data/></array></value></param>"),
    call("system.methodHelp", ""),
    call("system.listMethods", "<param><value><int>1</int></value></param>"),
]


class KeepAlive:
    """
    One HTTP/1.1 connection to the web site, POSTing to C{/RPC2} and reading
    each response whole before the next request.
    """

    def __init__(self, port: int) -> None:
        self.socket = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.buffer = b""

    def close(self) -> None:
        self.socket.close()

    def post(self, body: bytes) -> Tuple[int, bytes]:
        head = (
            b"POST /RPC2 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\n"
            b"Content-Length: %d\r\n\r\n" % (len(body),)
        )
        self.socket.sendall(head + body)
        while b"\r\n\r\n" not in self.buffer:
            self.receive()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        code = int(lines[0].split()[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(self.buffer) < length:
            self.receive()
        answer, self.buffer = self.buffer[:length], self.buffer[length:]
        return code, answer

    def receive(self) -> None:
        chunk = self.socket.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buffer += chunk


def logs(service: Service) -> str:
    """
    All the service's log, the files twistd rotated out (at 1 MB each)
    included, oldest first.
    """
    rotated = sorted(service.work.glob("log.*"), key=lambda path: -int(path.suffix[1:]))
    return "".join(path.read_text(errors="replace") for path in rotated) + service.log()


def bombs(service: Service) -> None:
    body = entityBomb()
    with LegitFinger(service.fingerPort) as legit:
        time.sleep(0.5)
        connection = KeepAlive(service.webPort)
        seconds: List[float] = []
        cpu = service.cpu()
        for _ in range(BOMBS):
            started = time.monotonic()
            code, answer = connection.post(body)
            seconds.append(time.monotonic() - started)
        spent = service.cpu() - cpu
        connection.close()
        time.sleep(0.5)
    report(
        f"xmlrpc entity bombs ({len(body)} bytes each, {BOMBS} on one keep-alive connection)",
        legit,
        service,
        cpu=spent,
        cpu_ms_per_bomb=spent * 1000 / BOMBS,
        slowest_answer_ms=max(seconds) * 1000,
        last_answer=f"{code} {answer[:160]!r}",
    )
    with LegitFinger(service.fingerPort) as legit:
        time.sleep(0.5)
        connection = KeepAlive(service.webPort)
        sent = 0
        cpu = service.cpu()
        deadline = time.monotonic() + SUSTAINED_SECONDS
        while time.monotonic() < deadline:
            connection.post(body)
            sent += 1
        spent = service.cpu() - cpu
        connection.close()
    report(
        f"xmlrpc entity bombs back to back for {SUSTAINED_SECONDS:.0f} s on one connection",
        legit,
        service,
        bombs=sent,
        cpu=spent,
        cpu_ms_per_bomb=spent * 1000 / sent,
        log_lines_per_bomb=f"{logs(service).count('declares a document type') / (sent + BOMBS):.2f}",
    )


def introspection(service: Service) -> None:
    with LegitFinger(service.fingerPort) as legit:
        time.sleep(0.5)
        logBefore = logs(service)
        connection = KeepAlive(service.webPort)
        cpu = service.cpu()
        started = time.monotonic()
        answers = []
        for i in range(INTROSPECTION_CALLS):
            answers.append(connection.post(INTROSPECTION[i % len(INTROSPECTION)]))
        seconds = time.monotonic() - started
        spent = service.cpu() - cpu
        connection.close()
        time.sleep(0.5)
    grown = logs(service)[len(logBefore) :]
    report(
        f"xmlrpc introspection flood ({INTROSPECTION_CALLS} calls with wrong arguments, "
        f"{min(map(len, INTROSPECTION))}-{max(map(len, INTROSPECTION))} bytes each)",
        legit,
        service,
        seconds=seconds,
        cpu=spent,
        log_growth_bytes=len(grown.encode("utf-8")),
        log_lines=grown.count("\n"),
        critical_lines=grown.count("#critical]"),
        traceback_lines=grown.count("Traceback"),
        non_200_answers=sum(1 for code, _ in answers if code != 200),
        faults=sum(1 for _, answer in answers if b"<fault>" in answer),
        first_answer=repr(answers[0][1][:200]),
    )


def main() -> None:
    with Service() as service:
        bombs(service)
    with Service() as service:
        introspection(service)


if __name__ == "__main__":
    main()
