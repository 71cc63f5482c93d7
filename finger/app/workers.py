# -*- test-case-name: tests.app.test_workers -*-
"""
C{--workers N}: several processes share every listening socket.

The main process listens as a single process does (endpoint descriptions,
so C{systemd:} socket activation keeps working), before twistd drops
privileges; it then stops accepting on those sockets itself and, once
privileges are dropped, starts N workers with C{spawnProcess}, giving each
the listening sockets as file descriptors.  It builds no front-end, as it
serves nothing on the sockets, and a back-end only for the IRC bot, which
runs once, in the main process (L{finger.app.compose.makeMainOfWorkers}).
Each worker (L{finger.app.worker}) parses the same command line, builds its
own back-end and every front-end but the IRC bot, and adopts the sockets with
C{adoptStreamPort}; the kernel hands each new connection to one of the
workers accepting on the socket.

L{WorkerSupervisor} starts the workers, relays their log events into the main
process's log (L{finger.app.relay}), restarts a worker that dies after a back-off delay, and stops
them all (C{SIGTERM}, then C{SIGKILL} after a grace period) when the main
process stops.
"""

import os
import pwd
import socket
import sys
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

from twisted.application.internet import backoffPolicy
from twisted.application.service import Service
from twisted.internet.defer import Deferred, DeferredList, succeed
from twisted.internet.error import ProcessExitedAlready
from twisted.internet.interfaces import IDelayedCall, IProcessTransport
from twisted.internet.protocol import Factory, ProcessProtocol, Protocol
from twisted.logger import Logger
from twisted.python import usage
from twisted.python.failure import Failure
from zope.interface import implementer

from finger.app.access import blockedAs, describeBlocked, workerNeeds
from finger.app.coerce import positive
from finger.app.listening import Listener
from finger.app.notify import ENVIRONMENT as NOTIFY_VARIABLES
from finger.app.relay import LogRelay
from finger.interfaces import IReadiness
from finger.net.listen import ListeningService

optParameters: List[List[Any]] = [
    [
        "workers",
        None,
        1,
        "Processes that serve the listeners, sharing their sockets; the IRC "
        "bot runs once, in the main process.  1 serves everything in one process.",
        positive("--workers"),
    ],
]

optFlags: List[List[Any]] = []

WORKER_MODULE = "finger.app.worker"
"""
The module a worker process runs (C{python -m}).
"""

FAMILIES = {"INET": socket.AF_INET, "INET6": socket.AF_INET6, "UNIX": socket.AF_UNIX}
"""
The address families a listening socket handed to a worker may have, by
the names the worker's command line uses.
"""

_SYSTEMD_VARIABLES = ("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", *NOTIFY_VARIABLES)

_PORT_OPTIONS = ("fingerport", "setterport", "webport", "sslport", "pbport")


@dataclass(frozen=True)
class WorkersConfig:
    """
    C{--workers} above 1: how many workers, and what they are told.

    @ivar count: C{--workers}.
    @ivar arguments: the command line each worker parses, as C{twistd
        finger} was given it; a C{systemd:} port option, which a worker
        cannot parse (it inherits no sockets from systemd), is replaced by
        a loopback one, as the worker adopts the main process's socket
        whatever the description.
    """

    count: int
    arguments: Tuple[str, ...]

    @classmethod
    def fromOptions(
        cls, options: usage.Options, arguments: Sequence[str]
    ) -> "Optional[WorkersConfig]":
        """
        Read C{--workers}: L{None} for one process.

        @param arguments: the command line C{options} were parsed from.
        """
        if options["workers"] <= 1:
            return None
        _checkDroppedUser(options)
        replaced = [
            f"--{option}=tcp:0:interface=127.0.0.1"
            for option in _PORT_OPTIONS
            if options[option].split(":", 1)[0].strip().lower() == "systemd"
        ]
        return cls(count=options["workers"], arguments=(*arguments, *replaced))


def _checkDroppedUser(options: usage.Options) -> None:
    """
    Refuse C{--workers} when twistd drops privileges (C{--uid}) to a user
    who cannot read the Python that runs the workers, or the packages they
    import: each worker would die with a traceback, and be restarted to die
    again.
    """
    parent = getattr(options, "parent", None)
    if os.geteuid() != 0 or parent is None or "uid" not in parent:
        return
    uid, gid = parent["uid"], parent.get("gid")
    if uid is None or uid == 0:
        return
    if gid is None:
        try:
            gid = pwd.getpwuid(uid).pw_gid
        except KeyError:
            gid = os.getegid()
    needed = workerNeeds()
    try:
        blocked = blockedAs(uid, gid, needed)
    except OSError as e:
        raise usage.UsageError(f"--workers: {e}") from None
    if blocked is not None:
        path, where = blocked
        raise usage.UsageError("--workers: " + describeBlocked(uid, path, where, needed))


def workerEnvironment(**extra: str) -> Dict[str, str]:
    """
    The environment of the workers: this process's, without systemd's
    socket-activation variables, and with C{extra}.
    """
    environment = {key: value for key, value in os.environ.items() if key not in _SYSTEMD_VARIABLES}
    environment.update(extra)
    return environment


_backOff = backoffPolicy(initialDelay=0.5, maxDelay=30.0, factor=2.0, jitter=lambda: 0.0)


def restartDelay(deaths: int) -> float:
    """
    How long to wait before restarting a worker that died C{deaths} times in
    a row without running long: half a second, doubled for each death after
    the first, and at most 30 seconds (Twisted's L{backoffPolicy}, as the
    IRC bot and the database back-end reconnect).
    """
    return float(_backOff(max(0, deaths - 1)))


def familyName(address: object) -> str:
    """
    The name (a key of L{FAMILIES}) of the family of a listening port's
    address.

    @raise ValueError: for an address that is not TCP over IPv4 or IPv6, or
        a UNIX socket.
    """
    kind = type(address).__name__
    names = {"IPv4Address": "INET", "IPv6Address": "INET6", "UNIXAddress": "UNIX"}
    if kind not in names:
        raise ValueError(f"cannot hand a listener on {address!r} to workers")
    return names[kind]


UNSERVED = Factory.forProtocol(Protocol)
"""
The factory of every listener of the main process: it never accepts, so
this serves nobody; the workers build their own front-ends.
"""
UNSERVED.noisy = False


class HandOverListener(ListeningService):
    """
    A listener of the main process: it listens as L{ListeningService} does,
    then stops accepting, so that only the workers it hands its socket to
    accept connections.

    The main process serves nothing on it, so the listener's factory is not
    kept: the workers build their own.
    """

    def __init__(self, reactor: Any, listener: Listener) -> None:
        """
        @param listener: what to listen on; a listener that is not required
            and could not listen hands nothing over.
        """
        super().__init__(
            reactor,
            listener.description,
            UNSERVED,
            listener.option,
            listener.required,
            listener.announcement,
        )
        self.key = listener.key

    def privilegedStartService(self) -> None:
        super().privilegedStartService()
        port: Any = self.port
        if port is not None:
            port.stopReading()

    def inheritable(self) -> Tuple[int, str]:
        """
        The listening socket's file descriptor and family name.

        @raise RuntimeError: if the listener is not listening.
        """
        port: Any = self.port
        if port is None:
            raise RuntimeError(f"{self.option}: not listening, nothing to hand to workers")
        return port.fileno(), familyName(port.getHost())


class WorkerProcess(ProcessProtocol):
    """
    One worker, as its supervisor sees it: its log (on its standard output
    and error) goes into the main process's log (L{LogRelay}), and its end
    is reported to the supervisor.

    @ivar number: the worker's number, from 1.
    @ivar pid: the process's id, once started.
    @ivar ended: fires once the process has ended.
    @ivar reason: why it ended, once it has.
    """

    log = Logger(namespace="finger.worker")

    def __init__(self, supervisor: "WorkerSupervisor", number: int) -> None:
        self.supervisor = supervisor
        self.number = number
        self.ended: "Deferred[None]" = Deferred()
        self.reason: Optional[Failure] = None
        self.relay = LogRelay(
            self.log, supervisor.reactor, number, lambda: supervisor.workerReady(self)
        )

    @property
    def pid(self) -> Optional[int]:
        return self.relay.pid

    @pid.setter
    def pid(self, pid: Optional[int]) -> None:
        self.relay.pid = pid

    def childDataReceived(self, childFD: int, data: bytes) -> None:
        self.relay.received(childFD, data)

    def processEnded(self, reason: Failure) -> None:
        self.relay.flush()
        self.reason = reason
        self.supervisor.workerEnded(self, reason)
        self.ended.callback(None)


def _why(reason: Failure) -> str:
    signal = getattr(reason.value, "signal", None)
    if signal is not None:
        return f"killed by signal {signal}"
    return f"exited with status {getattr(reason.value, 'exitCode', None)}"


@implementer(IReadiness)
class WorkerSupervisor(Service):
    """
    Start C{count} workers, restart any that dies, stop them all when
    stopped.

    A worker that dies is restarted after L{restartDelay} of the number of
    times it died in a row, counting only deaths within C{stableAfter}
    seconds of its start; one line is logged when it dies and one when it
    is restarted.

    @ivar workers: the live workers by number.
    @ivar ready: the numbers of the live workers that have said they serve.
    @ivar listeners: the listeners whose sockets the workers adopt.
    """

    log = Logger(namespace="finger.worker")

    def __init__(
        self,
        reactor: Any,
        count: int,
        arguments: Sequence[str],
        listeners: Sequence[HandOverListener],
        *,
        executable: str = sys.executable,
        environment: Optional[Dict[str, str]] = None,
        grace: float = 10.0,
        stableAfter: float = 10.0,
        delay: Callable[[int], float] = restartDelay,
        died: Callable[[int, bool], None] = lambda pid, restarting: None,
    ) -> None:
        """
        @param reactor: an L{IReactorProcess} and L{IReactorTime} provider.
        @param count: how many workers to run.
        @param arguments: the command line each worker's options come from
            (what C{twistd finger} was given).
        @param listeners: the listeners whose sockets the workers adopt;
            they listen by the time the supervisor starts.
        @param executable: the Python that runs the workers.
        @param environment: the workers' environment; this process's,
            without systemd's socket-activation variables, if L{None}.
        @param grace: seconds a stopping worker has between C{SIGTERM} and
            C{SIGKILL}.
        @param stableAfter: seconds after which a worker's death no longer
            counts towards a longer restart delay.
        @param delay: the restart delay for a number of deaths in a row.
        @param died: told the process id of every worker that ends, and
            whether it will be restarted (C{--metrics} counts restarts).
        """
        self.reactor = reactor
        self.count = count
        self.arguments = list(arguments)
        self.listeners = list(listeners)
        self.executable = executable
        self.environment = workerEnvironment() if environment is None else environment
        self.grace = grace
        self.stableAfter = stableAfter
        self.delay = delay
        self.died = died
        self.workers: Dict[int, WorkerProcess] = {}
        self.ready: Set[int] = set()
        self._transports: Dict[int, IProcessTransport] = {}
        self._started: Dict[int, float] = {}
        self._deaths: Dict[int, int] = {}
        self._restarts: Dict[int, IDelayedCall] = {}

    def command(self) -> Tuple[List[str], Dict[int, Any]]:
        """
        A worker's command line and the file descriptors it is given: its
        standard input (which closes when this process ends), output and
        error as pipes, then the listening sockets from 3 on, each named on
        the command line with its option and family.
        """
        childFDs: Dict[int, Any] = {0: "w", 1: "r", 2: "r"}
        args = [self.executable, "-m", WORKER_MODULE]
        listening = [
            listener
            for listener in self.listeners
            if listener.required or listener.port is not None
        ]
        for childFD, listener in enumerate(listening, 3):
            fd, family = listener.inheritable()
            childFDs[childFD] = fd
            args += ["--listen", f"{listener.key.lstrip('-')}={childFD}:{family}"]
        return args + ["--", *self.arguments], childFDs

    def startService(self) -> None:
        super().startService()
        for number in range(1, self.count + 1):
            self._start(number)

    def _start(self, number: int, after: Optional[float] = None) -> None:
        self._restarts.pop(number, None)
        args, childFDs = self.command()
        worker = WorkerProcess(self, number)
        transport = self.reactor.spawnProcess(
            worker, self.executable, args, env=self.environment, childFDs=childFDs
        )
        worker.pid = transport.pid
        self.workers[number] = worker
        self._transports[number] = transport
        self._started[number] = self.reactor.seconds()
        if after is None:
            self.log.info("Worker {number} started (pid {pid})", number=number, pid=worker.pid)
        else:
            self.log.info(
                "Worker {number} restarted (pid {pid}) after {delay:.1f} s",
                number=number,
                pid=worker.pid,
                delay=after,
            )

    def workerReady(self, worker: WorkerProcess) -> None:
        """
        C{worker} said it serves.
        """
        if self.workers.get(worker.number) is worker:
            self.ready.add(worker.number)

    def notReady(self) -> Optional[str]:
        """
        How many workers do not serve yet, if any (L{IReadiness}).
        """
        missing = self.count - len(self.ready)
        if not missing:
            return None
        return f"{missing} of {self.count} workers not serving yet"

    def workerEnded(self, worker: WorkerProcess, reason: Failure) -> None:
        """
        A worker ended: restart it if this supervisor is running, after a
        delay that grows while it keeps dying soon after starting.
        """
        number = worker.number
        if self.workers.get(number) is not worker:
            return
        del self.workers[number]
        self.ready.discard(number)
        del self._transports[number]
        started = self._started.pop(number)
        if worker.pid is not None:
            self.died(worker.pid, bool(self.running))
        if not self.running:
            self.log.info(
                "Worker {number} (pid {pid}) stopped: {why}",
                number=number,
                pid=worker.pid,
                why=_why(reason),
            )
            return
        if self.reactor.seconds() - started >= self.stableAfter:
            self._deaths[number] = 0
        self._deaths[number] = deaths = self._deaths.get(number, 0) + 1
        delay = self.delay(deaths)
        self.log.warn(
            "Worker {number} (pid {pid}) died ({why}); restarting it in {delay:.1f} s",
            number=number,
            pid=worker.pid,
            why=_why(reason),
            delay=delay,
        )
        self._restarts[number] = self.reactor.callLater(delay, self._start, number, delay)

    def stopService(self) -> "Deferred[None]":
        """
        Stop every worker: C{SIGTERM} now, C{SIGKILL} to any still running
        after the grace period.

        @return: a L{Deferred} that fires once all have ended.
        """
        super().stopService()
        for restart in self._restarts.values():
            restart.cancel()
        self._restarts.clear()
        workers = list(self.workers.values())
        if not workers:
            return succeed(None)
        for number in list(self._transports):
            self._signal(number, "TERM")
        kill = self.reactor.callLater(self.grace, self._killAll)
        ended = DeferredList([worker.ended for worker in workers])

        def done(_: object) -> None:
            if kill.active():
                kill.cancel()

        return ended.addCallback(done)

    def _killAll(self) -> None:
        for number, worker in list(self.workers.items()):
            self.log.warn(
                "Worker {number} (pid {pid}) did not stop within {grace} s; killing it",
                number=number,
                pid=worker.pid,
                grace=self.grace,
            )
            self._signal(number, "KILL")

    def _signal(self, number: int, signal: str) -> None:
        try:
            self._transports[number].signalProcess(signal)
        except (ProcessExitedAlready, KeyError):
            pass
