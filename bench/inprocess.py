#!/usr/bin/env python3
"""
The Python work of one finger query and of one web C{/USER} request, with
no network: the service as C{makeService} builds it (every limit on, as
C{bench/run.py} runs it) beside the bare references of C{bench/run.py}, each
driven over L{StringTransport}s in this process.

    python bench/inprocess.py [--queries 5000] [--profile finger|web]

A query on the wire costs this plus what the kernel and the reactor spend
on its connection, which is the same for the service and the bare server;
so this is the part of C{bench/run.py}'s ratio that is the service's own,
measured without the noise of a shared machine: each figure is the best
of several runs.  The finger query is asked on a fresh connection, with 16
connections open at once (as C{fingerload -c 16}); the web request on one
kept-alive connection, as C{wrk} asks.  With C{--profile}, the functions
that one of them spends the most time in are printed instead (cProfile).
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# bench/profile.py would stand in for the standard library's profile, which
# cProfile imports: this folder is searched last.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))
sys.path.append(str(HERE))

import argparse  # noqa: E402
import cProfile  # noqa: E402
import gc  # noqa: E402
import os  # noqa: E402
import pstats  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any, Callable, Dict, List, Tuple  # noqa: E402

from twisted.application.service import Service  # noqa: E402
from twisted.internet import reactor  # noqa: E402
from twisted.internet.address import IPv4Address  # noqa: E402
from twisted.internet.error import ConnectionDone  # noqa: E402
from twisted.internet.testing import StringTransport  # noqa: E402
from twisted.protocols.basic import LineReceiver  # noqa: E402
from twisted.internet.protocol import ServerFactory  # noqa: E402
from twisted.python.failure import Failure  # noqa: E402
from twisted.web.resource import Resource  # noqa: E402
from twisted.web.server import Site  # noqa: E402

from finger.app.compose import makeService  # noqa: E402
from finger.app.tap import Options  # noqa: E402

import statusgen  # noqa: E402
from run import EVERY_LIMIT, USER  # noqa: E402

PEER = IPv4Address("TCP", "127.0.0.1", 40000)
DONE = Failure(ConnectionDone())
REQUEST = f"GET /{USER} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: wrk\r\n\r\n".encode()


class BareFinger(LineReceiver):
    """
    The bare Twisted finger server of C{bench/barefinger.tac}.
    """

    def lineReceived(self, line: bytes) -> None:
        self.transport.write(self.factory.users.get(line, b"No such user") + b"\r\n")
        self.transport.loseConnection()


class BareResource(Resource):
    """
    The bare twisted.web resource of C{bench/bareweb.tac}.
    """

    isLeaf = True

    def __init__(self, body: bytes) -> None:
        super().__init__()
        self.body = body

    def render_GET(self, request: Any) -> bytes:
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
        return self.body


def serviceFactories(work: Path) -> Dict[str, Any]:
    """
    The factories of the finger and web listeners, as C{makeService} builds
    them from the command line C{bench/run.py} gives the service.
    """
    users = work / "users"
    users.write_bytes(f"{USER}: Happy and well\n".encode() + statusgen.make(1000))
    options = Options()
    options.parseOptions(
        ["--file", str(users)]
        + ["--fingerport", "tcp:79", "--setterport", "tcp:1079", "--webport", "tcp:8000"]
        + ["--pbport", "tcp:8889"]
        + EVERY_LIMIT
    )
    factories: Dict[str, Any] = {}

    def listen(reactor: Any, listener: Any) -> Service:
        # Nothing listens: the factory is what is measured.
        factories.setdefault(listener.option, listener.factory)
        return Service()

    makeService(options.config, reactor, listen=listen).startService()
    # The status file is read in the thread pool: wait for it.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        reactor.iterate(0.01)  # type: ignore[attr-defined]
        answer = queries(factories["--fingerport"], 1, 1)
        if b"Happy" in answer:
            break
    return factories


def queries(factory: Any, count: int, concurrency: int = 16) -> bytes:
    """
    Ask C{factory} C{count} finger queries, each on a connection of its
    own, C{concurrency} connections open at once.

    @return: the last answer.
    """

    def connect() -> Tuple[Any, StringTransport]:
        protocol = factory.buildProtocol(PEER)
        transport = StringTransport(peerAddress=PEER)
        protocol.makeConnection(transport)
        return protocol, transport

    open_ = [connect() for _ in range(concurrency)]
    for i in range(count):
        protocol, transport = open_[i % concurrency]
        protocol.dataReceived(USER.encode() + b"\r\n")
        protocol.connectionLost(DONE)
        open_[i % concurrency] = connect()
    for protocol, _ in open_:
        protocol.connectionLost(DONE)
    return transport.value()


def requests(factory: Any, count: int) -> bytes:
    """
    Ask C{factory} C{count} web requests on one kept-alive connection.

    @return: the start of the last response.
    """
    protocol = factory.buildProtocol(PEER)
    transport = StringTransport(peerAddress=PEER)
    protocol.makeConnection(transport)
    last = b""
    for i in range(count):
        protocol.dataReceived(REQUEST)
        if i % 100 == 99 or i == count - 1:
            last = transport.value()[-4096:]
            transport.clear()
    protocol.connectionLost(DONE)
    return last


def best(run: Callable[[], object], count: int, rounds: int = 7) -> float:
    """
    The least CPU microseconds one of C{count} requests took, over
    C{rounds} runs.
    """
    figures: List[float] = []
    for _ in range(rounds):
        gc.collect()
        start = time.process_time()
        run()
        figures.append((time.process_time() - start) / count * 1e6)
    return min(figures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--queries", type=int, default=5000)
    parser.add_argument("--profile", choices=["finger", "web"])
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="finger-inprocess-"))
    os.chdir(work)
    factories = serviceFactories(work)
    finger, web = factories["--fingerport"], factories["--webport"]
    body = requests(web, 1).split(b"\r\n\r\n", 1)[1]
    bareFinger = ServerFactory.forProtocol(BareFinger)
    bareFinger.users = {USER.encode(): b"Happy and well"}  # type: ignore[attr-defined]
    bareWeb = Site(BareResource(body))
    n = args.queries
    if args.profile:
        what = "queries(finger, n)" if args.profile == "finger" else "requests(web, n)"
        profiler = cProfile.Profile()
        profiler.runctx(what, globals(), {"finger": finger, "web": web, "n": n})
        pstats.Stats(profiler).sort_stats("tottime").print_stats(args.top)
        return
    figures = {
        "finger": best(lambda: queries(finger, n), n),
        "bare Twisted finger": best(lambda: queries(bareFinger, n), n),
        "web /USER": best(lambda: requests(web, n), n),
        "bare twisted.web": best(lambda: requests(bareWeb, n), n),
    }
    for name, us in figures.items():
        print(f"{name:22s} {us:7.1f} us of Python a request")
    print(
        f"the service's own: finger {figures['finger'] - figures['bare Twisted finger']:.1f} us "
        f"a query, web {figures['web /USER'] - figures['bare twisted.web']:.1f} us a request"
    )


if __name__ == "__main__":
    main()
