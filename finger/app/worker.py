# -*- test-case-name: tests.app.test_workers -*-
"""
A worker process of C{twistd finger --workers N}:
C{python -m finger.app.worker --listen OPTION=FD:FAMILY ... -- ARGUMENTS}.

L{finger.app.workers.WorkerSupervisor} starts it with the listening sockets
of the main process as file descriptors (C{--listen fingerport=3:INET}) and
the main process's C{twistd finger} arguments after C{--}.  It builds the
same service as a single process would, but the IRC bot, and adopts the
sockets instead of listening.  It logs to its standard output, one line of
JSON an event (L{finger.app.relay.LineLog}), which the main process puts in
its log with the event's fields; once its back-end can answer it logs that
it serves (L{finger.app.relay.READY}).  It stops on C{SIGTERM}, and when its
standard input closes, which is when the main process is gone.
"""

import os
import sys
from dataclasses import replace
from typing import Any, Dict, List, Optional, Sequence, Tuple

from twisted.application.service import Service
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IListeningPort, IProtocolFactory
from twisted.internet.protocol import Protocol, connectionDone
from twisted.internet.stdio import StandardIO
from twisted.logger import Logger, globalLogBeginner
from twisted.python.failure import Failure

from finger.app import compose, tap
from finger.metrics import shared
from finger.app.listening import Listener
from finger.app.relay import READY, LineLog
from finger.app.workers import FAMILIES
from finger.net.notify import whenReady


class UsageError(Exception):
    """
    The worker's own command line is wrong.
    """


def parseArguments(argv: Sequence[str]) -> Tuple[Dict[str, Tuple[int, int]], List[str]]:
    """
    Split a worker's command line into its sockets and the C{twistd finger}
    arguments.

    @return: the inherited sockets as C{{"--option": (fd, family)}}, and
        the arguments after C{--}.
    @raise UsageError: if the command line is not C{--listen
        OPTION=FD:FAMILY ... -- ARGUMENTS}.
    """
    sockets: Dict[str, Tuple[int, int]] = {}
    rest = list(argv)
    while rest and rest[0] == "--listen" and len(rest) > 1:
        option, _, where = rest[1].partition("=")
        fd, _, family = where.partition(":")
        if not option or not fd.isdigit() or family not in FAMILIES:
            raise UsageError(f"--listen {rest[1]!r}: expected OPTION=FD:FAMILY")
        sockets[f"--{option}"] = (int(fd), FAMILIES[family])
        del rest[:2]
    if not rest or rest[0] != "--":
        raise UsageError("usage: --listen OPTION=FD:FAMILY ... -- ARGUMENTS")
    return sockets, rest[1:]


class AdoptedListener(Service):
    """
    Serve a listening socket inherited as a file descriptor.

    @ivar port: the L{IListeningPort} while running, else L{None}.
    """

    port: Optional[IListeningPort] = None

    def __init__(self, reactor: Any, fd: int, family: int, factory: IProtocolFactory) -> None:
        self.reactor = reactor
        self.fd = fd
        self.family = family
        self.factory = factory

    def startService(self) -> None:
        super().startService()
        self.port = self.reactor.adoptStreamPort(self.fd, self.family, self.factory)

    def stopService(self) -> "Optional[Deferred[None]]":
        super().stopService()
        port, self.port = self.port, None
        return None if port is None else port.stopListening()


class _MainWatch(Protocol):
    """
    The worker's standard input: the main process writes nothing; the pipe
    closes when it ends, and then the worker stops.
    """

    def __init__(self, reactor: Any) -> None:
        self.reactor = reactor

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if self.reactor.running:
            self.reactor.stop()


def main(argv: Optional[Sequence[str]] = None, reactor: Any = None) -> None:
    """
    Run a worker until it is told to stop.
    """
    if reactor is None:
        from twisted.internet import reactor
    log = LineLog()
    globalLogBeginner.beginLoggingTo([log], redirectStandardIO=False)
    sockets, arguments = parseArguments(sys.argv[1:] if argv is None else argv)

    def adopt(reactor: Any, listener: Listener) -> Service:
        if listener.key not in sockets:
            if not listener.required:
                # The main process could not listen there (no IPv6).
                return Service()
            raise UsageError(f"{listener.option}: the main process gave no socket")
        fd, family = sockets[listener.key]
        return AdoptedListener(reactor, fd, family, listener.factory)

    options = tap.Options()
    options.parseOptions(arguments)
    # A single process as far as it knows, with the main process's sockets;
    # the bot runs once, in the main process.
    config = replace(
        options.config,
        workers=None,
        irc=replace(options.config.irc, server=None),
        notify=None,
    )
    if config.metrics is not None:
        # It counts; the main process serves the counts of every worker.
        directory = os.environ.get(shared.VARIABLE)
        config = replace(config, metrics=replace(config.metrics, port=None, directory=directory))
    top = compose.makeService(config, reactor, listen=adopt)
    log.writeTo(StandardIO(_MainWatch(reactor), reactor=reactor))
    top.privilegedStartService()

    # The options whose sockets it serves, each once (not its -ipv6 twin).
    served = ", ".join(sorted({key.removesuffix("-ipv6") for key in sockets}))

    def serving(_: object) -> None:
        Logger(namespace="finger.worker").info(
            "Ready: serving {listeners}", listeners=served, **{READY: True}
        )

    def start() -> None:
        top.startService()
        whenReady(reactor, [top.getServiceNamed("backend")]).addCallback(serving)

    reactor.callWhenRunning(start)
    reactor.addSystemEventTrigger("before", "shutdown", top.stopService)
    reactor.run()


if __name__ == "__main__":
    main()
