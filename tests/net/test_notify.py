# -*- test-case-name: tests.net.test_notify -*-
"""
Tests for L{finger.net.notify}: the notify datagrams, and when
L{NotifyService} sends each.
"""

import os
import socket
from typing import List, Optional

from twisted.internet.task import Clock
from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from finger.interfaces import IReadiness
from finger.net.notify import NotifyService, NotifySocket, socketAddress, whenReady
from finger.readiness import notReady


@implementer(IReadiness)
class Waited:
    """
    Something that is not ready until told.
    """

    def __init__(self, why: Optional[str] = "loading") -> None:
        self.why = why
        self.asked = 0

    def notReady(self) -> Optional[str]:
        self.asked += 1
        return self.why


class Recorder(NotifySocket):
    """
    A L{NotifySocket} that keeps what it would send.
    """

    def __init__(self) -> None:
        super().__init__("/nonexistent")
        self.sent: List[List[str]] = []
        self.closed = 0

    def send(self, *assignments: str) -> bool:
        self.sent.append(list(assignments))
        return True

    def close(self) -> None:
        self.closed += 1


class ManagerSocket:
    """
    A real C{AF_UNIX} datagram socket standing in for systemd's.
    """

    def __init__(self, test: SynchronousTestCase, abstract: bool = False) -> None:
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        test.addCleanup(self.socket.close)
        if abstract:
            self.name = f"@finger-test-{os.getpid()}-{id(self)}"
            self.socket.bind("\0" + self.name[1:])
        else:
            directory = test.mktemp()
            os.makedirs(directory)
            self.name = os.path.abspath(os.path.join(directory, "notify"))
            self.socket.bind(self.name)
        self.socket.settimeout(5)

    def receive(self) -> bytes:
        return self.socket.recv(4096)


class AddressTests(SynchronousTestCase):
    def test_path(self) -> None:
        self.assertEqual(socketAddress("/run/systemd/notify"), "/run/systemd/notify")

    def test_abstract(self) -> None:
        """
        C{@name} is an abstract socket, which Linux names with a leading
        NUL byte.
        """
        self.assertEqual(socketAddress("@sd/notify"), "\0sd/notify")

    def test_neither(self) -> None:
        for value in ["relative/path", "@", ""]:
            self.assertRaises(ValueError, socketAddress, value)


class NotifySocketTests(SynchronousTestCase):
    def test_path(self) -> None:
        """
        The assignments go in one datagram, one a line, to a socket named
        by its path.
        """
        manager = ManagerSocket(self)
        sender = NotifySocket(socketAddress(manager.name))
        self.addCleanup(sender.close)
        self.assertTrue(sender.send("READY=1", "STATUS=Serving 1 user"))
        self.assertEqual(manager.receive(), b"READY=1\nSTATUS=Serving 1 user")

    def test_abstract(self) -> None:
        manager = ManagerSocket(self, abstract=True)
        sender = NotifySocket(socketAddress(manager.name))
        self.addCleanup(sender.close)
        self.assertTrue(sender.send("WATCHDOG=1"))
        self.assertEqual(manager.receive(), b"WATCHDOG=1")

    def test_noManager(self) -> None:
        """
        With nobody at the address, a send fails, is logged once however
        often it fails, and never raises; once a send works again, the next
        failure is logged again.
        """
        path = os.path.abspath(self.mktemp())
        sender = NotifySocket(path)
        self.addCleanup(sender.close)
        with capturedLogs() as events:
            self.assertFalse(sender.send("WATCHDOG=1"))
            self.assertFalse(sender.send("WATCHDOG=1"))
        self.assertEqual(len(events), 1)
        self.assertIn("Cannot tell systemd WATCHDOG on NOTIFY_SOCKET", formatEvent(events[0]))
        manager = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(manager.close)
        manager.bind(path)
        self.assertTrue(sender.send("READY=1"))
        self.assertEqual(manager.recv(100), b"READY=1")
        manager.close()
        os.unlink(path)
        with capturedLogs() as events:
            self.assertFalse(sender.send("WATCHDOG=1"))
        self.assertEqual(len(events), 1)


class ReadinessTests(SynchronousTestCase):
    def test_notReady(self) -> None:
        """
        The first reason given is the answer; what does not provide
        L{IReadiness} is ready.
        """
        self.assertIsNone(notReady([object(), Waited(None)]))
        self.assertEqual(notReady([object(), Waited(None), Waited("a"), Waited("b")]), "a")

    def test_whenReady(self) -> None:
        """
        C{whenReady} asks at once, then every interval until all are ready,
        then stops asking.
        """
        clock = Clock()
        waited = Waited()
        d = whenReady(clock, [waited], 0.5)
        self.assertNoResult(d)
        self.assertEqual(waited.asked, 1)
        clock.advance(0.5)
        self.assertEqual(waited.asked, 2)
        waited.why = None
        clock.advance(0.5)
        self.assertIsNone(self.successResultOf(d))
        clock.advance(5)
        self.assertEqual(waited.asked, 3)
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_cancel(self) -> None:
        clock = Clock()
        d = whenReady(clock, [Waited()], 0.5)
        d.cancel()
        self.failureResultOf(d)
        self.assertEqual(clock.getDelayedCalls(), [])


class NotifyServiceTests(SynchronousTestCase):
    def service(
        self, *waited: object, watchdog: Optional[float] = None, pid: Optional[int] = None
    ) -> "tuple[Clock, Recorder, NotifyService, List[str]]":
        clock = Clock()
        sender = Recorder()
        summaries = ["Serving 1 user"]
        service = NotifyService(
            clock,
            sender,
            list(waited),
            lambda: summaries[-1],
            watchdogInterval=watchdog,
            watchdogPid=pid,
            pollInterval=0.1,
            statusInterval=5,
            getpid=lambda: 1234,
        )
        return clock, sender, service, summaries

    def test_readyOnceAllAre(self) -> None:
        """
        C{READY=1}, with the status, is sent once every waited thing is
        ready, and only once; meanwhile the status says what it waits for,
        each time that changes.
        """
        backend, listener = Waited("loading"), Waited("not listening")
        clock, sender, service, _ = self.service(backend, listener)
        with capturedLogs() as events:
            service.startService()
            clock.advance(0.1)
            self.assertEqual(sender.sent, [["STATUS=Starting: loading"]])
            backend.why = None
            clock.advance(0.1)
            clock.advance(0.1)
            self.assertEqual(sender.sent[1:], [["STATUS=Starting: not listening"]])
            listener.why = None
            clock.advance(0.1)
        self.assertEqual(sender.sent[2:], [["READY=1", "STATUS=Serving 1 user"]])
        self.assertTrue(service.ready)
        self.assertEqual([e["summary"] for e in events], ["Serving 1 user"])
        clock.advance(1)
        self.assertEqual(len(sender.sent), 3)
        asked = backend.asked
        clock.advance(10)
        self.assertEqual(backend.asked, asked)

    def test_readyAtOnce(self) -> None:
        """
        All ready when it starts: C{READY=1} at once, and no more asking.
        """
        waited = Waited(None)
        clock, sender, service, _ = self.service(waited)
        with capturedLogs():
            service.startService()
        self.assertEqual(sender.sent, [["READY=1", "STATUS=Serving 1 user"]])
        clock.advance(10)
        self.assertEqual(waited.asked, 1)
        self.assertEqual(len(sender.sent), 1)

    def test_status(self) -> None:
        """
        Once ready, the status is sent again when it changes, looked at
        every C{statusInterval} seconds.
        """
        clock, sender, service, summaries = self.service()
        with capturedLogs():
            service.startService()
        self.assertEqual(sender.sent, [["READY=1", "STATUS=Serving 1 user"]])
        clock.advance(5)
        self.assertEqual(len(sender.sent), 1)
        summaries.append("Serving 2 users; the database is not reachable:\n  refused")
        clock.advance(4)
        self.assertEqual(len(sender.sent), 1)
        clock.advance(1)
        # On one line, whatever the reason held.
        self.assertEqual(
            sender.sent[1:], [["STATUS=Serving 2 users; the database is not reachable: refused"]]
        )

    def test_watchdog(self) -> None:
        """
        C{WATCHDOG=1} goes at start and every interval from then on,
        whether or not the service is ready yet; it stops when the service
        stops, which says C{STOPPING=1}.
        """
        clock, sender, service, _ = self.service(Waited(), watchdog=2.5)
        service.startService()
        self.assertEqual(sender.sent, [["WATCHDOG=1"], ["STATUS=Starting: loading"]])
        clock.pump([2.5] * 4)
        self.assertEqual([m for m in sender.sent if m == ["WATCHDOG=1"]], [["WATCHDOG=1"]] * 5)
        service.stopService()
        self.assertEqual(sender.sent[-1], ["STOPPING=1", "STATUS=Stopping"])
        self.assertEqual(sender.closed, 1)
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_watchdogForAnotherProcess(self) -> None:
        """
        A C{$WATCHDOG_PID} naming another process: no C{WATCHDOG=1}.
        """
        clock, sender, service, _ = self.service(watchdog=1.0, pid=99)
        with capturedLogs():
            service.startService()
        clock.advance(3)
        self.assertNotIn(["WATCHDOG=1"], sender.sent)
        clock, sender, service, _ = self.service(watchdog=1.0, pid=1234)
        with capturedLogs():
            service.startService()
        self.assertIn(["WATCHDOG=1"], sender.sent)
        service.stopService()

    def test_stopBeforeReady(self) -> None:
        """
        Stopped before it was ready: it stops asking, and says STOPPING=1
        without READY=1.
        """
        clock, sender, service, _ = self.service(Waited())
        service.startService()
        service.stopService()
        self.assertEqual(
            sender.sent, [["STATUS=Starting: loading"], ["STOPPING=1", "STATUS=Stopping"]]
        )
        self.assertEqual(clock.getDelayedCalls(), [])
