# -*- test-case-name: tests.test_support -*-
"""
Plumbing shared by the tests: free ports, real clients, real processes and
their environment, polling.  Fakes that users of the package may want too
(failing back-ends, reactors with fake time or threads) are in
L{finger.testing}.
"""

import os
import shutil
import socket
import stat
import sys
from typing import Any, Callable, Dict, List, Optional, Tuple

from twisted.internet.defer import Deferred, fail
from twisted.internet.endpoints import (
    clientFromString,
    connectProtocol,
    serverFromString,
)
from twisted.internet.interfaces import IAddress
from twisted.internet.protocol import Factory, Protocol, connectionDone
from twisted.internet.task import deferLater
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from finger.backends.memory import MemoryFingerService

CHECKOUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
"""
The directory holding the C{finger} package these tests test.
"""

TWISTD = [sys.executable, "-c", "from twisted.scripts.twistd import run; run()"]
"""
The command that runs this Python's twistd, whether or not its script is on
C{PATH}.
"""

_LEAKY = (
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "PYTHONUSERBASE",
    "PYTHONSAFEPATH",
    "PYTHONEXECUTABLE",
    "VIRTUAL_ENV",
    "__PYVENV_LAUNCHER__",
)


def cleanEnvironment(**extra: str) -> Dict[str, str]:
    """
    This process's environment without what would change where a Python
    started from it finds its modules, with C{extra} added.

    C{trial -j} sets C{PYTHONPATH} to its own C{sys.path} for its workers:
    passed on, it would make a fresh virtualenv's pip believe Twisted is
    installed there already, and make a subprocess import the checkout
    under C{-j} but the installed package without it.  Give every Python
    subprocess this environment, and C{PYTHONPATH=CHECKOUT} in C{extra}
    where it should run the checkout.
    """
    env = {key: value for key, value in os.environ.items() if key not in _LEAKY}
    env.update(extra)
    return env


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
        transport: Any = self.transport
        transport.write(self.data)
        if self.halfClose:
            transport.loseWriteConnection()

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


def connected(factory: Factory, peer: Optional[IAddress] = None) -> Tuple[Any, StringTransport]:
    """
    A protocol of C{factory} for a client at C{peer}, connected to a
    L{StringTransport} (whose C{protocol} it is then), and the transport.
    Without a C{peer}, C{buildProtocol} is given L{None} and the transport
    a made-up address.
    """
    transport = StringTransport(peerAddress=peer)
    protocol: Any = factory.buildProtocol(peer)  # type: ignore[arg-type]
    protocol.makeConnection(transport)
    transport.protocol = protocol
    return protocol, transport


class HeldSetterService(MemoryFingerService):
    """
    A back-end whose saves wait until the test fires them, as a status file
    waits for the disk.

    @ivar saving: the saves asked for, in order, each firing when the test
        fires it (and only then storing its status).
    """

    def __init__(self, **users: str) -> None:
        super().__init__(**users)
        self.saving: List["Deferred[None]"] = []

    def setUser(self, user: str, status: str) -> "Deferred[None]":
        d: "Deferred[None]" = Deferred()

        def save(result: None) -> None:
            self.users[user] = status

        d.addCallback(save)
        self.saving.append(d)
        return d


class FailingSetterService(MemoryFingerService):
    """
    A back-end that answers lookups from memory but fails every save with
    C{error}, as a status file on a full disk (L{StatusNotSaved}) or a
    broken one (anything else) would.
    """

    def __init__(self, error: Exception, **users: str) -> None:
        super().__init__(**users)
        self.error = error

    def setUser(self, user: str, status: str) -> "Deferred[None]":
        return fail(self.error)


def assertAbortedAt(
    testCase: Any, clock: Any, transport: StringTransport, deadline: float, tick: float = 0.1
) -> None:
    """
    The connection over C{transport} is not aborted while C{clock} is still
    C{tick} short of C{deadline}, and is aborted (C{abortConnection} sets
    C{transport.disconnected}) when C{clock} reaches C{deadline}.  The clock
    is advanced to C{deadline}.
    """
    clock.advance(deadline - tick - clock.seconds())
    testCase.assertFalse(transport.disconnected, f"aborted before {deadline} s")
    clock.advance(deadline - clock.seconds())
    testCase.assertTrue(transport.disconnected, f"not aborted at {deadline} s")


class OneRequestClient:
    """
    A mixin for the tests of a front-end whose clients send one request a
    connection (finger, the setter): each test connects a protocol of the
    factory that L{makeFactory} builds to a L{StringTransport}, and sends
    it bytes.

    @ivar service: the back-end a test serves unless it names another.
    @ivar factory: the factory of the last connection.
    @ivar protocol: the protocol of the last connection.
    @ivar transport: the transport of the last connection.
    """

    service: Any

    def makeFactory(self, service: Any, **settings: Any) -> Factory:
        """
        The front-end's factory serving C{service}, with C{settings}.
        """
        raise NotImplementedError()

    def connect(self, service: Any = None, **settings: Any) -> StringTransport:
        self.factory = self.makeFactory(service or self.service, **settings)
        self.protocol, self.transport = connected(self.factory)
        return self.transport

    def send(self, data: bytes, service: Any = None, halfClose: bool = False) -> bytes:
        """
        Connect, send C{data}, and return what the server wrote back.  With
        C{halfClose}, the client then shuts its side (C{readConnectionLost}),
        as C{nc -N} does, before the server's answer is read.
        """
        transport = self.connect(service)
        if data:
            self.protocol.dataReceived(data)
        if halfClose:
            self.protocol.readConnectionLost()
        return transport.value()
