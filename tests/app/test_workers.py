# -*- test-case-name: tests.app.test_workers -*-
"""
Tests for C{--workers N} (L{finger.app.workers} and L{finger.app.worker}):
the supervisor's logic with fakes and a L{Clock}, and the whole thing end to
end with real processes on loopback ports.
"""

import os
import re
import signal
import socket
import subprocess
import sys
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

from twisted.application.service import IService
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.error import ProcessDone, ProcessExitedAlready, ProcessTerminated
from twisted.internet.protocol import Protocol, connectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock
from twisted.logger import LogLevel, capturedLogs
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase

from finger.app import tap
from finger.app.listening import Listener
from finger.app.worker import AdoptedListener, UsageError, parseArguments
from finger.app.workers import (
    UNSERVED,
    HandOverListener,
    WorkerProcess,
    WorkersConfig,
    WorkerSupervisor,
    familyName,
    restartDelay,
)
from tests.certs import selfSigned

from tests.support import CHECKOUT, TWISTD, cleanEnvironment, freePort, waitFor
from tests.test_systemd import _LAUNCHER


class FakeProcess:
    """
    What L{FakeProcessReactor.spawnProcess} returns: a process that records
    the signals sent to it and ends when its test says so.
    """

    def __init__(self, protocol: WorkerProcess, pid: int, args: List[str], childFDs: Any) -> None:
        self.protocol = protocol
        self.pid: Optional[int] = pid
        self.args = args
        self.childFDs = childFDs
        self.signals: List[str] = []

    def signalProcess(self, name: str) -> None:
        if self.pid is None:
            raise ProcessExitedAlready()
        self.signals.append(name)

    def end(self, reason: Failure) -> None:
        self.pid = None
        self.protocol.processEnded(reason)


class FakeProcessReactor(Clock):
    """
    A L{Clock} that spawns L{FakeProcess}es.
    """

    def __init__(self) -> None:
        super().__init__()
        self.spawned: List[FakeProcess] = []

    def spawnProcess(  # type: ignore[no-untyped-def]
        self, protocol, executable, args, env=None, childFDs=None
    ):
        process = FakeProcess(protocol, 1000 + len(self.spawned), list(args), childFDs)
        self.spawned.append(process)
        return process


class FakeListener:
    """
    Stands for a L{HandOverListener} that listens on C{fd}.
    """

    required = True
    port = None

    def __init__(self, option: str, fd: int, family: str = "INET") -> None:
        self.option = self.key = option
        self.fd = fd
        self.family = family

    def inheritable(self) -> Tuple[int, str]:
        return self.fd, self.family


KILLED = Failure(ProcessTerminated(signal=9))
DONE = Failure(ProcessDone(0))


class RestartDelayTests(SynchronousTestCase):
    def test_doubles(self) -> None:
        """
        Half a second after the first death, doubling after each death in a
        row, at most thirty seconds.
        """
        self.assertEqual([restartDelay(n) for n in (1, 2, 3, 4)], [0.5, 1.0, 2.0, 4.0])
        self.assertEqual(restartDelay(20), 30.0)


def fakeSupervisor(count: int = 2, **kwargs: Any) -> Tuple[FakeProcessReactor, WorkerSupervisor]:
    """
    A supervisor of C{count} workers on a L{FakeProcessReactor}, with two
    listeners.
    """
    reactor = FakeProcessReactor()
    listeners: Any = [FakeListener("--fingerport", 7), FakeListener("--webport", 9, "INET6")]
    supervisor = WorkerSupervisor(
        reactor, count, ["--workers", str(count)], listeners, executable="python", **kwargs
    )
    return reactor, supervisor


class SupervisorTests(SynchronousTestCase):
    supervisor = staticmethod(fakeSupervisor)

    def test_starts(self) -> None:
        """
        Starting starts C{count} workers, each given the listening sockets
        from file descriptor 3 on, named with their options and families,
        then the main process's arguments; stdin, stdout and stderr are
        pipes.
        """
        reactor, supervisor = self.supervisor(3)
        with capturedLogs() as events:
            supervisor.startService()
        self.assertEqual(len(reactor.spawned), 3)
        for process in reactor.spawned:
            self.assertEqual(
                process.args,
                [
                    "python",
                    "-m",
                    "finger.app.worker",
                    "--listen",
                    "fingerport=3:INET",
                    "--listen",
                    "webport=4:INET6",
                    "--",
                    "--workers",
                    "3",
                ],
            )
            self.assertEqual(process.childFDs, {0: "w", 1: "r", 2: "r", 3: 7, 4: 9})
        self.assertEqual(sorted(supervisor.workers), [1, 2, 3])
        lines = [e["log_format"].format(**e) for e in events]
        self.assertIn("Worker 2 started (pid 1001)", lines)

    def test_restartAfterDelay(self) -> None:
        """
        A worker that dies is restarted after L{restartDelay}, not before;
        one line says it died and one that it was restarted.
        """
        reactor, supervisor = self.supervisor()
        supervisor.startService()
        with capturedLogs() as events:
            reactor.spawned[0].end(KILLED)
            reactor.advance(0.49)
            self.assertEqual(len(reactor.spawned), 2)
            reactor.advance(0.01)
        self.assertEqual(len(reactor.spawned), 3)
        self.assertEqual(reactor.spawned[2].args, reactor.spawned[0].args)
        self.assertIs(supervisor.workers[1], reactor.spawned[2].protocol)
        lines = [e["log_format"].format(**e) for e in events]
        self.assertEqual(
            lines,
            [
                "Worker 1 (pid 1000) died (killed by signal 9); restarting it in 0.5 s",
                "Worker 1 restarted (pid 1002) after 0.5 s",
            ],
        )
        self.assertEqual(events[0]["log_level"], LogLevel.warn)

    def test_backOff(self) -> None:
        """
        A worker that keeps dying soon after starting waits longer each time;
        once one has run for C{stableAfter} seconds, the delay is short again.
        """
        reactor, supervisor = self.supervisor(1, stableAfter=10.0)
        supervisor.startService()
        delays = []
        for _ in range(3):
            before = reactor.seconds()
            reactor.spawned[-1].end(DONE)
            count = len(reactor.spawned)
            while len(reactor.spawned) == count:
                reactor.advance(0.25)
            delays.append(reactor.seconds() - before)
        self.assertEqual(delays, [0.5, 1.0, 2.0])
        reactor.advance(10)
        reactor.spawned[-1].end(DONE)
        reactor.advance(0.5)
        self.assertEqual(len(reactor.spawned), 5)

    def test_stop(self) -> None:
        """
        Stopping sends C{SIGTERM} to every worker, C{SIGKILL} to those still
        running after the grace period, and fires once all have ended; none
        is restarted.
        """
        reactor, supervisor = self.supervisor(2, grace=5.0)
        supervisor.startService()
        first, second = reactor.spawned
        d = supervisor.stopService()
        self.assertEqual([first.signals, second.signals], [["TERM"], ["TERM"]])
        first.end(DONE)
        self.assertNoResult(d)
        reactor.advance(5)
        self.assertEqual(second.signals, ["TERM", "KILL"])
        second.end(KILLED)
        self.successResultOf(d)
        reactor.advance(60)
        self.assertEqual(len(reactor.spawned), 2)

    def test_stopCancelsRestart(self) -> None:
        """
        A worker waiting to be restarted is not restarted once stopped.
        """
        reactor, supervisor = self.supervisor(2)
        supervisor.startService()
        reactor.spawned[0].end(KILLED)
        d = supervisor.stopService()
        reactor.spawned[1].end(DONE)
        self.successResultOf(d)
        reactor.advance(60)
        self.assertEqual(len(reactor.spawned), 2)

    def test_stopsWithoutKill(self) -> None:
        """
        Workers that end within the grace period are not killed, and no
        timer is left behind.
        """
        reactor, supervisor = self.supervisor(1)
        supervisor.startService()
        d = supervisor.stopService()
        reactor.spawned[0].end(DONE)
        self.successResultOf(d)
        self.assertEqual(reactor.getDelayedCalls(), [])
        self.assertEqual(reactor.spawned[0].signals, ["TERM"])


class ArgumentsTests(SynchronousTestCase):
    def test_parse(self) -> None:
        """
        C{--listen OPTION=FD:FAMILY} pairs, then the arguments after C{--}.
        """
        sockets, rest = parseArguments(
            ["--listen", "fingerport=3:INET", "--listen", "webport=4:UNIX", "--", "--workers", "2"]
        )
        self.assertEqual(
            sockets, {"--fingerport": (3, socket.AF_INET), "--webport": (4, socket.AF_UNIX)}
        )
        self.assertEqual(rest, ["--workers", "2"])

    def test_refused(self) -> None:
        """
        A malformed C{--listen} or a missing C{--} is refused.
        """
        for argv in (["--listen", "fingerport=x:INET", "--"], ["--listen", "f=3:IPX", "--"], []):
            self.assertRaises(UsageError, parseArguments, argv)


class HandOverTests(TestCase):
    def listening(self) -> HandOverListener:
        """
        A L{HandOverListener} listening on a free loopback port until the
        test ends.
        """
        unused: Any = None
        listener = HandOverListener(
            reactor, Listener("tcp:0:interface=127.0.0.1", unused, "--fingerport", "--fingerport")
        )
        listener.privilegedStartService()
        self.addCleanup(listener.stopService)
        return listener

    def test_handOver(self) -> None:
        """
        L{HandOverListener} listens, but does not accept: it gives its
        socket's descriptor and family for workers to adopt.
        """
        listener = self.listening()
        fd, family = listener.inheritable()
        self.assertEqual(family, "INET")
        with socket.socket(fileno=os.dup(fd)) as s:
            port: Any = listener.port
            self.assertEqual(s.getsockname()[1], port.getHost().port)

    def test_familyName(self) -> None:
        """
        IPv4, IPv6 and UNIX addresses are handed over; nothing else.
        """
        from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress

        self.assertEqual(familyName(IPv4Address("TCP", "127.0.0.1", 1)), "INET")
        self.assertEqual(familyName(IPv6Address("TCP", "::1", 1)), "INET6")
        self.assertEqual(familyName(UNIXAddress(b"/x")), "UNIX")
        self.assertRaises(ValueError, familyName, object())

    def test_adopted(self) -> None:
        """
        L{AdoptedListener} serves a socket that is already listening.
        """
        listener = self.listening()
        fd, _ = listener.inheritable()

        class Hello(Protocol):
            def connectionMade(self) -> None:
                self.transport.write(b"hello")  # type: ignore[union-attr]
                self.transport.loseConnection()  # type: ignore[union-attr]

        from twisted.internet.protocol import Factory

        adopted = AdoptedListener(reactor, fd, socket.AF_INET, Factory.forProtocol(Hello))
        adopted.startService()
        self.addCleanup(adopted.stopService)
        port = listener.port.getHost().port  # type: ignore[union-attr]
        return _query(port, b"").addCallback(lambda r: self.assertEqual(r[1], b"hello"))


class MakeServiceTests(SynchronousTestCase):
    def build(self, *args: str) -> Any:
        path = self.mktemp()
        with open(path, "w") as f:
            f.write("moshez: happy\n")
        options = tap.Options()
        options.parseOptions(["--file", path, *args])
        return options, IService(tap.makeService(options, MemoryReactorClock()))

    def test_oneWorker(self) -> None:
        """
        C{--workers 1}, the default, is the single process as before: no
        supervisor, the back-end and the listeners in this process.
        """
        _, top = self.build()
        self.assertRaises(KeyError, top.getServiceNamed, "workers")
        top.getServiceNamed("backend")
        top.getServiceNamed("finger")

    def test_supervisor(self) -> None:
        """
        With C{--workers 3}, every listener hands its socket to the
        supervisor, which runs three workers with the same arguments; no
        back-end runs here without an IRC bot.
        """
        options, top = self.build("--workers", "3")
        supervisor = top.getServiceNamed("workers")
        self.assertEqual(supervisor.count, 3)
        self.assertEqual(
            [listener.key for listener in supervisor.listeners],
            [
                "--fingerport",
                "--setterport",
                "--setterport-ipv6",
                "--webport",
                "--pbport",
                "--pbport-ipv6",
            ],
        )
        for listener in supervisor.listeners:
            self.assertIsInstance(listener, HandOverListener)
        self.assertEqual(supervisor.arguments, ["--file", options["file"], "--workers", "3"])
        self.assertEqual(list(top)[-1], supervisor)
        self.assertRaises(KeyError, top.getServiceNamed, "backend")

    def test_nothingServedInMain(self) -> None:
        """
        The main process builds no front-end: its listeners serve nothing,
        and it reads no status file.
        """
        path = self.mktemp()
        with open(path, "w") as f:
            f.write("moshez: happy\n")
        certificate, key = selfSigned()
        pem = self.mktemp()
        with open(pem, "wb") as f:
            f.write(key + certificate)
        options = tap.Options()
        options.parseOptions(["--file", path, "--workers", "2", "--ssl", "--certificate", pem])
        os.remove(path)
        top = IService(tap.makeService(options, MemoryReactorClock()))
        names = [service.name for service in top]
        self.assertEqual(
            names,
            ["finger", "setter", "setter-ipv6", "web", "https", "pb", "pb-ipv6", "workers"],
        )
        for name in names[:-1]:
            self.assertIs(top.getServiceNamed(name).factory, UNSERVED)

    def test_systemdPorts(self) -> None:
        """
        A worker is told a loopback port instead of a C{systemd:} one: it
        inherits no sockets from systemd, and adopts the main process's.
        """
        config = WorkersConfig.fromOptions(
            {
                "workers": 2,
                "fingerport": "systemd:domain=INET:index=0",
                "setterport": "1079",
                "webport": " SYSTEMD:domain=INET6:index=1",
                "sslport": "443",
                "pbport": "8889",
            },
            ["--workers=2"],
        )
        self.assertEqual(
            config,
            WorkersConfig(
                2,
                (
                    "--workers=2",
                    "--fingerport=tcp:0:interface=127.0.0.1",
                    "--webport=tcp:0:interface=127.0.0.1",
                ),
            ),
        )
        self.assertIsNone(WorkersConfig.fromOptions({"workers": 1}, ["--workers=1"]))

    def test_ircInMain(self) -> None:
        """
        The IRC bot and its back-end run once, in the main process.
        """
        _, top = self.build("--workers", "2", "--ircserver", "irc.example.org")
        top.getServiceNamed("irc")
        top.getServiceNamed("backend")


class _Query(Protocol):
    def __init__(self, line: bytes) -> None:
        self.line = line
        self.received: List[bytes] = []
        self.done: "Deferred[Tuple[int, bytes]]" = Deferred()

    def connectionMade(self) -> None:
        self.local = self.transport.getHost().port  # type: ignore[union-attr]
        if self.line:
            self.transport.write(self.line)  # type: ignore[union-attr]

    def dataReceived(self, data: bytes) -> None:
        self.received.append(data)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.done.callback((self.local, b"".join(self.received)))


def _query(port: int, line: bytes) -> "Deferred[Tuple[int, bytes]]":
    """
    Send C{line} to C{port} on loopback; fire with the client's own port
    (which the server logs) and everything received.
    """
    protocol = _Query(line)
    d = connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port), protocol)
    d.addCallback(lambda _: protocol.done)
    d.addTimeout(10, reactor)
    return d


_STARTED = re.compile(r"Worker (\d+) (?:started|restarted) \(pid (\d+)\)")
_SERVING = re.compile(r"\[worker \d+ \(pid (\d+)\)\] Ready: serving --")
_WORKER = re.compile(r"\[worker \d+ \(pid (\d+)\)\] ")
_QUERY = re.compile(r"Finger query from 127\.0\.0\.1:(\d+):")


class Pool:
    """
    C{twistd finger --workers N} running in a real process, its log in a
    file.
    """

    def __init__(
        self,
        test: TestCase,
        workers: int,
        *args: str,
        sockets: Sequence[socket.socket] = (),
    ) -> None:
        """
        @param sockets: listening sockets to pass as systemd does, named
            C{finger} and C{setter}, instead of loopback ports.
        """
        where = os.path.abspath(test.mktemp())
        os.makedirs(where)
        self.users = os.path.join(where, "users")
        with open(self.users, "w") as f:
            f.write("moshez: happy\n")
        self.logfile = os.path.join(where, "twistd.log")
        launcher: List[str] = [sys.executable, "-c"]
        if sockets:
            self.fingerport, self.setterport = (s.getsockname()[1] for s in sockets)
            fingerport = "systemd:domain=INET:name=finger"
            setterport = "systemd:domain=INET:name=setter"
            fds = ",".join(str(s.fileno()) for s in sockets)
            launcher = [sys.executable, "-c", _LAUNCHER, fds, "finger:setter", "-c"]
        else:
            self.fingerport = freePort()
            self.setterport = freePort()
            fingerport = f"tcp:{self.fingerport}:interface=127.0.0.1"
            setterport = f"tcp:{self.setterport}:interface=127.0.0.1"
        self.process = subprocess.Popen(
            [
                *launcher,
                TWISTD[2],
                "--nodaemon",
                "--pidfile=",
                f"--logfile={self.logfile}",
                "finger",
                f"--workers={workers}",
                f"--file={self.users}",
                f"--fingerport={fingerport}",
                f"--setterport={setterport}",
                "--webport=tcp:0:interface=127.0.0.1",
                "--no-pb",
                *args,
            ],
            cwd=where,
            env=cleanEnvironment(PYTHONPATH=CHECKOUT),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=[s.fileno() for s in sockets],
        )
        for s in sockets:
            # Only the service holds them now, as under systemd.
            s.close()
        test.addCleanup(self.stop)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)
        for pid in self.workers():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def log(self) -> str:
        try:
            with open(self.logfile, encoding="utf-8") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def workers(self) -> Dict[int, int]:
        """
        The latest pid of each worker, by number, from the log.
        """
        return {int(pid): int(number) for number, pid in _STARTED.findall(self.log())}

    def serving(self) -> Set[int]:
        """
        The pids of the workers that said they serve.
        """
        return {int(pid) for pid in _SERVING.findall(self.log())}

    def answeredBy(self) -> Dict[int, int]:
        """
        The worker pid that logged each client port's query.  A worker's
        access log comes in batches: one event naming the worker, its
        queries on the indented lines under it.
        """
        byPort: Dict[int, int] = {}
        pid = None
        for line in self.log().splitlines():
            if not line.startswith("\t"):
                worker = _WORKER.search(line)
                pid = int(worker.group(1)) if worker else None
            query = _QUERY.search(line)
            if query and pid is not None:
                byPort[int(query.group(1))] = pid
        return byPort

    async def ready(self, count: int) -> None:
        async def answers() -> bool:
            try:
                _, answer = await _query(self.fingerport, b"moshez\r\n")
            except Exception:
                return False
            return answer == b"happy\r\n" and len(self.serving()) >= count

        await waitFor(reactor, answers, "the workers to answer", timeout=30)

    async def queryUntil(self, line: bytes, answer: bytes, pids: Set[int]) -> List[bytes]:
        """
        Query on fresh connections until each of C{pids} answered C{answer};
        return every answer.
        """
        seen: Dict[int, bytes] = {}
        answers: List[bytes] = []

        def covered() -> bool:
            byPid = self.answeredBy()
            return pids <= {byPid[p] for p, a in seen.items() if a == answer and p in byPid}

        async def allAnswered() -> bool:
            local, got = await _query(self.fingerport, line)
            answers.append(got)
            seen[local] = got
            # A worker's log line may come a moment after its answer: the
            # next round finds it.
            return covered()

        await waitFor(reactor, allAnswered, f"{sorted(pids)} to answer {answer!r}", timeout=60)
        return answers


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _parent(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


class EndToEndTests(TestCase):
    timeout = 120

    async def test_severalWorkersAnswer(self) -> None:
        """
        Three worker processes, children of the main process, share the
        finger port: queries on fresh connections all succeed and are
        answered by each of them.
        """
        pool = Pool(self, 3)
        await pool.ready(3)
        workers = set(pool.workers())
        self.assertEqual(len(workers), 3)
        self.assertEqual({_parent(pid) for pid in workers}, {pool.process.pid})
        answers = await pool.queryUntil(b"moshez\r\n", b"happy\r\n", workers)
        self.assertEqual(set(answers), {b"happy\r\n"})
        # Their lines in the main process's log: the worker's own text,
        # shown as the worker's, without its namespace or Twisted's port
        # lines.
        lines = [line for line in pool.log().splitlines() if "[worker " in line]
        self.assertEqual(
            len([line for line in lines if "] Serving 1 user from the status file " in line]), 3
        )
        self.assertEqual(
            [
                line
                for line in lines
                if "log_legacy" in line or "finger.backends" in line or "starting on" in line
            ],
            [],
        )

    async def test_setSeenByAll(self) -> None:
        """
        A status set on the shared setter port (one worker saves it) is
        answered by every worker.
        """
        pool = Pool(self, 3)
        await pool.ready(3)
        _, reply = await _query(pool.setterport, b"moshez\nworking hard\n")
        self.assertEqual(reply, b"OK: status of moshez saved\r\n")
        await pool.queryUntil(b"moshez\r\n", b"working hard\r\n", set(pool.workers()))

    async def test_killedWorkerReplaced(self) -> None:
        """
        A worker killed with C{SIGKILL} is logged and replaced; the queries
        made meanwhile all succeed, and the new worker answers too.
        """
        pool = Pool(self, 2)
        await pool.ready(2)
        victim, survivor = sorted(pool.workers())
        os.kill(victim, signal.SIGKILL)
        answers = []
        for _ in range(30):
            answers.append((await _query(pool.fingerport, b"moshez\r\n"))[1])
        self.assertEqual(set(answers), {b"happy\r\n"})
        await waitFor(reactor, lambda: len(pool.workers()) == 3, "a new worker", timeout=30)
        self.assertIn("died (killed by signal 9)", pool.log())
        replacement = (set(pool.workers()) - {victim, survivor}).pop()
        self.assertFalse(_alive(victim))
        await pool.queryUntil(b"moshez\r\n", b"happy\r\n", {replacement, survivor})

    async def test_stopStopsAll(self) -> None:
        """
        Stopping the main process (C{SIGTERM}) stops every worker.
        """
        pool = Pool(self, 3)
        await pool.ready(3)
        workers = list(pool.workers())
        pool.process.terminate()
        # Generous: on a loaded machine twistd's shutdown and the workers'
        # take a while; the supervisor's own grace before SIGKILL is 10 s.
        await waitFor(reactor, lambda: pool.process.poll() is not None, "the end", timeout=60)
        self.assertEqual([pid for pid in workers if _alive(pid)], [])
        self.assertEqual(pool.log().count(" stopped: exited with status 0"), 3)

    async def test_mainKilled(self) -> None:
        """
        Workers whose main process is killed (C{SIGKILL}: it cannot stop
        them) stop by themselves.
        """
        pool = Pool(self, 2)
        await pool.ready(2)
        workers = list(pool.workers())
        pool.process.kill()
        pool.process.wait(30)
        await waitFor(
            reactor, lambda: not any(_alive(pid) for pid in workers), "the workers to end"
        )

    async def test_socketActivation(self) -> None:
        """
        Sockets passed by systemd (C{systemd:} descriptions) are shared by
        the workers as the main process's own would be.
        """
        sockets = []
        for _ in range(2):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            s.listen(128)
            sockets.append(s)
        pool = Pool(self, 2, sockets=sockets)
        await pool.ready(2)
        _, reply = await _query(pool.setterport, b"moshez\nactivated\n")
        self.assertEqual(reply, b"OK: status of moshez saved\r\n")
        await pool.queryUntil(b"moshez\r\n", b"activated\r\n", set(pool.workers()))
