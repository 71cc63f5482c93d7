# -*- test-case-name: tests.app.test_notify -*-
"""
Tests for L{finger.app.notify}: reading systemd's variables, the status
line, and the notifier L{finger.app.compose} adds.
"""

import os
from dataclasses import replace
from typing import Any, Dict, List, Optional

from twisted.internet import reactor
from twisted.internet.defer import succeed
from twisted.internet.protocol import DatagramProtocol
from twisted.internet.testing import MemoryReactorClock
from twisted.internet.threads import deferToThread
from twisted.logger import capturedLogs
from twisted.python.usage import UsageError
from twisted.trial.unittest import SynchronousTestCase, TestCase
from zope.interface import implementer

from finger.app import compose, dbcopy
from finger.app.config import Config
from finger.app.notify import NotifyConfig, UserCount, backendStatus, workersStatus
from finger.app.tap import Options
from finger.backends.memory import MemoryFingerService
from finger.interfaces import IReadiness
from finger.net.listen import ListeningService
from finger.net.notify import NotifyService
from tests import postgres
from tests.net.test_notify import ManagerSocket
from tests.running import parseFinger
from tests.support import waitFor


class ConfigTests(SynchronousTestCase):
    def test_none(self) -> None:
        """
        Without C{$NOTIFY_SOCKET} (not under systemd's C{Type=notify}),
        nothing is told.
        """
        self.assertIsNone(NotifyConfig.fromEnvironment({}))
        self.assertIsNone(NotifyConfig.fromEnvironment({"WATCHDOG_USEC": "100"}))

    def test_socketOnly(self) -> None:
        self.assertEqual(
            NotifyConfig.fromEnvironment({"NOTIFY_SOCKET": "/run/systemd/notify"}),
            NotifyConfig("/run/systemd/notify", None, None),
        )

    def test_watchdog(self) -> None:
        """
        The watchdog is pinged every half of C{$WATCHDOG_USEC}, for the
        process C{$WATCHDOG_PID} names; an abstract socket's C{@} is a NUL.
        """
        config = NotifyConfig.fromEnvironment(
            {"NOTIFY_SOCKET": "@notify", "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "77"}
        )
        self.assertEqual(config, NotifyConfig("\0notify", 15.0, 77))

    def test_wrong(self) -> None:
        for environ in [
            {"NOTIFY_SOCKET": "notify"},
            {"NOTIFY_SOCKET": "/n", "WATCHDOG_USEC": "soon"},
            {"NOTIFY_SOCKET": "/n", "WATCHDOG_USEC": "0"},
            {"NOTIFY_SOCKET": "/n", "WATCHDOG_PID": "me"},
        ]:
            self.assertRaises(ValueError, NotifyConfig.fromEnvironment, environ)

    def test_fromOptions(self) -> None:
        """
        L{Config.fromOptions} reads the environment with the options, and
        a wrong variable is a usage error naming it.
        """
        options = parseFinger(self)
        config = Config.fromOptions(
            options, MemoryReactorClock(), environ={"NOTIFY_SOCKET": "/run/n"}
        )
        self.assertEqual(config.notify, NotifyConfig("/run/n"))
        self.assertIsNone(Config.fromOptions(options, MemoryReactorClock(), environ={}).notify)
        error = self.assertRaises(
            UsageError,
            Config.fromOptions,
            options,
            MemoryReactorClock(),
            environ={"NOTIFY_SOCKET": "/n", "WATCHDOG_USEC": "x"},
        )
        self.assertIn("WATCHDOG_USEC", str(error))


@implementer(IReadiness)
class Unreachable(MemoryFingerService):
    why: Optional[str] = "the database is not reachable: connection refused"

    def notReady(self) -> Optional[str]:
        return self.why


class StatusTests(SynchronousTestCase):
    def test_users(self) -> None:
        """
        The status line counts the users in plain words, asking the
        back-end again only when its version changes.
        """
        backend = MemoryFingerService(moshez="happy")
        asked: List[int] = []
        getUsers = backend.getUsers

        def counting() -> Any:
            asked.append(1)
            return getUsers()

        backend.getUsers = counting  # type: ignore[method-assign]
        status = backendStatus(backend)
        self.assertEqual(status(), "Serving 1 user")
        self.assertEqual(status(), "Serving 1 user")
        self.assertEqual(len(asked), 1)
        backend.users = {"moshez": "happy", "zoë": "in Paris"}
        self.assertEqual(status(), "Serving 2 users")
        self.assertEqual(len(asked), 2)

    def test_notReady(self) -> None:
        """
        A back-end that cannot answer says why, after the count.
        """
        backend = Unreachable(moshez="happy")
        status = backendStatus(backend)
        self.assertEqual(
            status(), "Serving 1 user; the database is not reachable: connection refused"
        )
        backend.why = None
        self.assertEqual(status(), "Serving 1 user")

    def test_notCounted(self) -> None:
        """
        A back-end that cannot say when it changes is not counted.
        """

        class Elsewhere:
            def getUsers(self) -> Any:
                return succeed(["a"])

        self.assertIsNone(UserCount(Elsewhere())())
        self.assertEqual(backendStatus(Elsewhere())(), "Serving")

    def test_workers(self) -> None:
        class Supervisor:
            count = 2
            ready = {1}

        self.assertEqual(workersStatus(Supervisor())(), "1 worker of 2 serving")
        Supervisor.ready = {1, 2}
        self.assertEqual(workersStatus(Supervisor())(), "2 workers of 2 serving")


class ComposeTests(SynchronousTestCase):
    def config(self, *argv: str, notify: Optional[NotifyConfig] = None) -> Config:
        options: Options = parseFinger(self, "--fingerport=tcp:79", *argv)
        return replace(options.config, notify=notify)

    def test_noSocket(self) -> None:
        """
        Without C{$NOTIFY_SOCKET}, no notifier.
        """
        top = compose.makeService(self.config(), MemoryReactorClock())
        self.assertNotIn("notify", [s.name for s in top])

    def test_single(self) -> None:
        """
        In a single process the notifier is the last child: it waits for
        the back-end and every listener, and once the service has started
        it tells the socket C{READY=1} with the number of users.
        """
        manager = ManagerSocket(self)
        config = self.config(notify=NotifyConfig(manager.name, 10.0))
        reactor = MemoryReactorClock()
        top = compose.makeService(config, reactor)
        children = list(top)
        notifier = children[-1]
        self.assertEqual(notifier.name, "notify")
        self.assertIsInstance(notifier, NotifyService)
        listeners = [s for s in children if isinstance(s, ListeningService)]
        self.assertEqual(
            [s.name for s in listeners],
            ["finger", "setter", "setter-ipv6", "web", "pb", "pb-ipv6"],
        )
        # Every child before it, of which the back-end and the listeners
        # can say they are not ready.
        self.assertEqual(notifier.waited, children[:-1])
        self.assertIn(top.getServiceNamed("backend"), notifier.waited)
        self.assertEqual(notifier.watchdogInterval, 10.0)
        with capturedLogs():
            top.privilegedStartService()
            top.startService()
        self.assertEqual(manager.receive(), b"WATCHDOG=1")
        self.assertEqual(manager.receive(), b"READY=1\nSTATUS=Serving 1 user")
        with capturedLogs():
            top.stopService()
        self.assertEqual(manager.receive(), b"STOPPING=1\nSTATUS=Stopping")

    def test_workers(self) -> None:
        """
        With C{--workers}, the main process's notifier waits for every
        listener it hands over and for its workers to serve (the
        supervisor).
        """
        config = self.config("--workers=2", notify=NotifyConfig("/run/n"))
        top = compose.makeService(config, MemoryReactorClock())
        children = list(top)
        self.assertEqual([s.name for s in children[-2:]], ["workers", "notify"])
        supervisor, notifier = children[-2:]
        self.assertEqual(notifier.waited, children[:-1])
        self.assertTrue(
            [s for s in children if isinstance(s, ListeningService)], "no listener waited for"
        )


class _Manager(DatagramProtocol):
    """
    systemd's side of the notify socket: the assignments of each datagram.
    """

    def __init__(self) -> None:
        self.received: List[Dict[str, str]] = []

    def datagramReceived(self, data: bytes, addr: Any) -> None:
        self.received.append(
            dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
        )

    def values(self, key: str) -> List[str]:
        return [message[key] for message in self.received if key in message]


class DatabaseReadyTests(TestCase):
    """
    C{--backend=sql} with a real PostgreSQL: C{READY=1} waits for the first
    read of the database, and the status says when it is not reachable,
    before and after.
    """

    timeout = 120

    async def test_readyOnceRead(self) -> None:
        cluster = postgres.clusterFor(self)
        users = os.path.abspath(self.mktemp())
        with open(users, "w") as f:
            f.write("moshez: happy and well\nzoe: away\n")
        await deferToThread(dbcopy.importFile, users, cluster.url)
        await deferToThread(cluster.stop)

        path = os.path.abspath(self.mktemp())
        manager = _Manager()
        port = reactor.listenUNIXDatagram(path, manager)
        self.addCleanup(port.stopListening)
        options = parseFinger(
            self,
            "--backend=sql",
            f"--database={cluster.url}",
            "--fingerport=tcp:0:interface=127.0.0.1",
            "--webport=tcp:0:interface=127.0.0.1",
            "--setterport=tcp:0:interface=127.0.0.1",
            "--no-pb",
        )
        config = replace(options.config, notify=NotifyConfig(path, 0.1))
        top = compose.makeService(config, reactor)
        # Looks at the status every 0.2 seconds rather than 5.
        top.getServiceNamed("notify").statusInterval = 0.2
        top.privilegedStartService()
        top.startService()
        self.addCleanup(top.stopService)

        # Alive (the watchdog), but not ready while the database is down,
        # and the status says why.
        await waitFor(reactor, lambda: len(manager.values("WATCHDOG")) >= 10, "pings")
        self.assertEqual(manager.values("READY"), [])
        starting = manager.values("STATUS")[-1]
        self.assertTrue(
            starting.startswith(
                f"Starting: the status database {config.backend.database.display} "
                "is not reachable: "
            ),
            starting,
        )

        await deferToThread(cluster.start)
        await waitFor(reactor, lambda: manager.values("READY"), "READY=1", timeout=30)
        [ready] = [m for m in manager.received if "READY" in m]
        self.assertEqual(ready["STATUS"], "Serving 2 users")

        # An outage after start-up shows in the status, on one line.
        readyAt = manager.received.index(ready)

        def afterReady() -> List[str]:
            return [m["STATUS"] for m in manager.received[readyAt + 1 :] if "STATUS" in m]

        await deferToThread(cluster.stop)
        await waitFor(
            reactor,
            lambda: any("not reachable" in s for s in afterReady()),
            "the outage in the status",
            timeout=30,
        )
        [outage] = [s for s in afterReady() if "not reachable" in s]
        self.assertTrue(outage.startswith("Serving 2 users; the status database "), outage)
        self.assertEqual(manager.values("READY"), ["1"])
