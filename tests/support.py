"""
Fakes and helpers shared by the tests.
"""

import os
import shutil
import socket
import stat
from typing import Any, Callable, List, Optional

from twisted.internet.defer import Deferred, fail
from twisted.internet.endpoints import (
    clientFromString,
    connectProtocol,
    serverFromString,
)
from twisted.internet.protocol import Protocol, connectionDone
from twisted.internet.task import Clock, deferLater
from twisted.python.failure import Failure
from zope.interface import implementer

from finger.interfaces import IFingerService


class _SynchronousThreadPool:
    """
    Runs "threaded" work at once, in the calling thread.
    """

    def callInThreadWithCallback(
        self, onResult: Callable[[bool, Any], None], f: Callable[..., Any], *a: Any, **kw: Any
    ) -> None:
        try:
            result = f(*a, **kw)
        except BaseException:
            onResult(False, Failure())
        else:
            onResult(True, result)


class ThreadlessClock(Clock):
    """
    A L{Clock} that is also enough of an L{IReactorThreads} for
    C{deferToThreadPool}: work "in a thread" runs immediately, so tests stay
    deterministic.
    """

    def __init__(self) -> None:
        super().__init__()
        self._pool = _SynchronousThreadPool()

    def getThreadPool(self) -> _SynchronousThreadPool:
        return self._pool

    def callFromThread(self, f: Callable[..., Any], *a: Any, **kw: Any) -> None:
        f(*a, **kw)


class _HeldThreadPool(_SynchronousThreadPool):
    def __init__(self) -> None:
        self.held: List[Callable[[], None]] = []

    def callInThreadWithCallback(
        self, onResult: Callable[[bool, Any], None], f: Callable[..., Any], *a: Any, **kw: Any
    ) -> None:
        run = super().callInThreadWithCallback
        self.held.append(lambda: run(onResult, f, *a, **kw))


class HeldThreadsClock(ThreadlessClock):
    """
    A L{ThreadlessClock} whose "threaded" work waits until the test calls
    L{runOne}, so tests can see what happens while work is under way.
    """

    def __init__(self) -> None:
        super().__init__()
        self._pool = _HeldThreadPool()

    @property
    def held(self) -> int:
        """
        How many jobs wait to run.
        """
        return len(self._pool.held)

    def runOne(self) -> None:
        """
        Run the oldest waiting job and deliver its result.
        """
        self._pool.held.pop(0)()


def which(program: str) -> Optional[str]:
    """
    Where C{program} is installed, looking in the sbin directories too.
    """
    path = os.environ.get("PATH", "") + ":/usr/sbin:/sbin:/usr/local/sbin"
    return shutil.which(program, path=path)


def freePort(host: str = "127.0.0.1") -> int:
    """
    A TCP port that nothing listens on right now, for programs that cannot
    be told to use port 0.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class _Exchange(Protocol):
    def __init__(self, data: bytes, halfClose: bool) -> None:
        self.data = data
        self.halfClose = halfClose
        self.received: List[bytes] = []
        self.done: "Deferred[bytes]" = Deferred()

    def connectionMade(self) -> None:
        self.transport.write(self.data)
        if self.halfClose:
            self.transport.loseWriteConnection()

    def dataReceived(self, data: bytes) -> None:
        self.received.append(data)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.done.callback(b"".join(self.received))


def exchange(
    reactor: Any, description: str, data: bytes, halfClose: bool = False, timeout: float = 10
) -> "Deferred[bytes]":
    """
    Connect to C{description} (a client endpoint description), send
    C{data}, and fire with everything received until the server closes.
    """
    endpoint = clientFromString(reactor, description)
    protocol = _Exchange(data, halfClose)
    d = connectProtocol(endpoint, protocol)
    d.addCallback(lambda _: protocol.done)
    d.addTimeout(timeout, reactor)
    return d


def listeningPort(top: Any, name: str) -> int:
    """
    The port number the listener service C{name} under C{top} listens on.
    """
    return top.getServiceNamed(name).port.getHost().port


def propertySettings(**overrides: Any) -> Any:
    """
    The settings of every property-based test: deterministic (the same
    examples on every run, no example database), with no per-example
    deadline, so that CI is fast and a failure is reproducible.
    """
    from hypothesis import HealthCheck, settings

    values: dict = dict(
        max_examples=200,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    values.update(overrides)
    return settings(**values)


def chunked(data: bytes, cuts: List[int]) -> List[bytes]:
    """
    Cut C{data} into pieces at the offsets C{cuts} (taken modulo its length),
    as a network might deliver it.
    """
    points = sorted({cut % (len(data) + 1) for cut in cuts} | {0, len(data)})
    return [data[a:b] for a, b in zip(points, points[1:])] or [b""]


def controlCharacters(text: str, allowed: str = "") -> List[str]:
    """
    The C0 and C1 control characters and DELs in C{text}, but those in
    C{allowed}: what no client should see from the server but the CRLF that
    ends a line, and what no log line should hold.
    """
    return [c for c in text if (ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F) and c not in allowed]


@implementer(IFingerService)
class BrokenService:
    """
    A back-end whose every answer fails, as a database on fire would.
    """

    def getUser(self, user: str) -> "Deferred[str]":
        return fail(RuntimeError("the database caught fire"))

    def getUsers(self) -> "Deferred[List[str]]":
        return fail(RuntimeError("the database caught fire"))


def fakeProgram(test: Any, body: str) -> str:
    """
    Write an executable shell script with C{body} in a fresh directory of
    C{test}'s, and return its path.
    """
    directory = os.path.abspath(test.mktemp())
    os.mkdir(directory)
    path = os.path.join(directory, "fakefinger")
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + body)
    os.chmod(path, stat.S_IRWXU)
    return path


async def listenOnLoopback(test: Any, reactor: Any, factory: Any) -> int:
    """
    Listen with C{factory} on a free port of 127.0.0.1 until C{test} ends,
    and return the port number.
    """
    port = await serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(factory)
    test.addCleanup(port.stopListening)
    return port.getHost().port  # type: ignore[no-any-return]


async def waitFor(
    reactor: Any,
    check: Callable[[], Any],
    what: str,
    timeout: float = 10.0,
    interval: float = 0.05,
) -> Any:
    """
    Poll C{check} until it returns something true, as integration tests
    wait for a real server or process to reach a state.

    @param reactor: the reactor to wait on.
    @param check: called every C{interval} seconds; it may return a
        L{Deferred} or a coroutine.
    @param what: what is awaited, for the failure message.
    @return: the first true value C{check} returned.
    @raise AssertionError: if C{timeout} seconds pass first.
    """
    deadline = reactor.seconds() + timeout
    while True:
        result = check()
        if isinstance(result, Deferred) or hasattr(result, "__await__"):
            result = await result
        if result:
            return result
        if reactor.seconds() >= deadline:
            raise AssertionError(f"gave up after {timeout} seconds waiting for {what}")
        await deferLater(reactor, interval, lambda: None)
