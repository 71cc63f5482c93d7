"""
The stream of status changes at C{/api/events} on the real service, read
by a real client (C{curl -N}): over HTTP and HTTPS, a set through the setter
reaches an open stream within a second; with C{--workers}, every worker's
streams hear it; with PostgreSQL, a set on one node reaches a stream open
on another.
"""

import json
import os
import time
from typing import Any, Dict, List, Optional

from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.protocol import ProcessProtocol
from twisted.python.failure import Failure
from twisted.trial.unittest import SkipTest, TestCase

from finger.backends.sql import SQLFingerService
from tests import postgres
from tests.certs import selfSigned
from tests.running import spawnFinger, startFinger, statusDirectory
from tests.support import (
    exchange,
    freePort,
    listeningPort,
    waitFor,
    which,
)


class Curl(ProcessProtocol):
    """
    C{curl -N} reading an event stream: what it printed so far, and when
    each status event arrived.
    """

    def __init__(self) -> None:
        self.output = b""
        self.ended: "Deferred[None]" = Deferred()
        self.arrivals: List[float] = []

    def outReceived(self, data: bytes) -> None:
        self.output += data
        self.arrivals.extend([time.monotonic()] * data.count(b"event: status"))

    def processEnded(self, reason: Failure) -> None:
        self.ended.callback(None)

    def statuses(self) -> List[Dict[str, Any]]:
        """
        The data of every C{status} event read so far.
        """
        found = []
        for block in self.output.decode("utf-8", "replace").split("\n\n"):
            lines = block.split("\n")
            if "event: status" in lines:
                data = [line[len("data: ") :] for line in lines if line.startswith("data: ")]
                found.append(json.loads(data[0]))
        return found

    def opened(self) -> bool:
        return b"retry: " in self.output


def curl(testCase: TestCase, url: str, *options: str) -> Curl:
    """
    Start C{curl -N URL}; stop it when the test ends.
    """
    program = which("curl")
    if program is None:
        raise SkipTest("curl is not installed (apt-get install curl); it reads the stream")
    reader = Curl()
    process = reactor.spawnProcess(  # type: ignore[attr-defined]
        reader, program, [program, "-sN", *options, url], env=os.environ
    )

    async def stop() -> None:
        if not reader.ended.called:
            process.signalProcess("KILL")
            await reader.ended

    testCase.addCleanup(stop)
    return reader


class LiveServiceTests(TestCase):
    """
    C{twistd finger}, run as a process, with the setter on loopback.
    """

    timeout = 60

    def setUp(self) -> None:
        self.directory = statusDirectory(self)
        self.path = os.path.join(self.directory, "users")
        self.log = os.path.join(self.directory, "twistd.log")
        self.setterPort = freePort()
        self.webPort = freePort()

    async def start(self, *extra: str) -> None:
        await spawnFinger(
            self,
            self.directory,
            self.setterPort,
            "--file",
            self.path,
            "--webport",
            f"tcp:{self.webPort}:interface=127.0.0.1",
            *extra,
        )

    async def set(self, user: str, status: str) -> float:
        """
        Set a status through the setter; return when it was sent.
        """
        sent = time.monotonic()
        answer = await exchange(
            reactor, f"tcp:127.0.0.1:{self.setterPort}", f"{user}\n{status}\n".encode()
        )
        self.assertIn(b"saved", answer)
        return sent

    async def readersHear(self, readers: List[Curl], status: str) -> None:
        """
        Set moshez's status once every reader is open; each must read the
        event within a second of the set.
        """
        await waitFor(reactor, lambda: all(r.opened() for r in readers), "the streams to open")
        sent = await self.set("moshez", status)
        wanted = {"user": "moshez", "status": status}
        await waitFor(
            reactor,
            lambda: all(wanted in r.statuses() for r in readers),
            "every stream to hear the set",
            timeout=5,
        )
        for reader in readers:
            self.assertEqual(reader.statuses().count(wanted), 1)
            self.assertLess(reader.arrivals[-1] - sent, 1.0)

    async def test_http(self) -> None:
        """
        A set through the setter reaches a stream read by C{curl -N} over
        HTTP within a second; an outside edit of the file, too.
        """
        await self.start()
        reader = curl(self, f"http://127.0.0.1:{self.webPort}/api/events")
        await self.readersHear([reader], "streamed")
        with open(self.path, "a") as f:
            f.write("zoë: edited by hand\n")
        await waitFor(
            reactor,
            lambda: {"user": "zoë", "status": "edited by hand"} in reader.statuses(),
            "the edit on the stream",
            timeout=5,
        )

    async def test_https(self) -> None:
        """
        The same over HTTPS.
        """
        certificate, key = selfSigned()
        pem = os.path.join(self.directory, "server.pem")
        with open(pem, "wb") as f:
            f.write(key + certificate)
        ca = os.path.join(self.directory, "ca.pem")
        with open(ca, "wb") as f:
            f.write(certificate)
        sslPort = freePort()
        await self.start(
            "--ssl", "--sslport", f"tcp:{sslPort}:interface=127.0.0.1", "--certificate", pem
        )
        reader = curl(self, f"https://localhost:{sslPort}/api/events", "--cacert", ca)
        await self.readersHear([reader], "over TLS")

    async def test_workers(self) -> None:
        """
        With C{--workers 2}, streams open on whichever worker took them all
        hear a set, within a second.
        """
        await self.start("--workers", "2")
        readers = [curl(self, f"http://127.0.0.1:{self.webPort}/api/events") for _ in range(6)]
        await self.readersHear(readers, "every worker")


class PostgreSQLTests(TestCase):
    """
    Two nodes on one PostgreSQL database.
    """

    timeout = 60

    def setUp(self) -> None:
        self.cluster = postgres.clusterFor(self)

    async def test_otherNode(self) -> None:
        """
        A set on node A reaches a stream open on node B (a whole service)
        within a second.
        """
        nodeA = SQLFingerService(self.cluster.url, reactor=reactor, timeout=3.0)
        nodeA.startService()
        self.addCleanup(nodeA.stopService)
        await nodeA.getUsers()
        nodeB = startFinger(self, "--backend", "sql", "--database", self.cluster.url)
        # Once node B has read the table: a change before that is in what
        # it reads, and no change to it.
        await nodeB.getServiceNamed("backend").getUsers()
        port = listeningPort(nodeB, "web")
        reader = curl(self, f"http://127.0.0.1:{port}/api/events")
        await waitFor(reactor, reader.opened, "the stream to open")
        sent = time.monotonic()
        await nodeA.setUser("moshez", "set on node A")
        wanted: Optional[Dict[str, Any]] = {"user": "moshez", "status": "set on node A"}
        await waitFor(reactor, lambda: wanted in reader.statuses(), "node B's stream", timeout=5)
        self.assertLess(reader.arrivals[-1] - sent, 1.0)
