# -*- test-case-name: tests.net.test_notify -*-
"""
systemd's notify protocol (C{sd_notify(3)}): telling the service manager
that the service is ready, what it is doing, that it is stopping, and that
its reactor still turns (the watchdog).

The protocol is one datagram of C{KEY=VALUE} lines sent to the C{AF_UNIX}
socket named by C{$NOTIFY_SOCKET} (a path, or an abstract socket written
with a leading C{@}).  It is sent here with a plain non-blocking socket,
about a dozen lines, rather than through python-systemd's C{daemon.notify}:
that is a C extension (Debian's C{python3-systemd}, PyPI's
C{systemd-python}) that needs libsystemd's headers to build from PyPI, a
dependency a stable protocol of one C{sendto} does not justify.  Whatever
fails here (no such socket, the manager's queue full) is logged once and
never stops the service: it serves whether or not anyone listens.

L{NotifyService} sends C{READY=1} once everything it waits for is ready
(every listener listens, the back-end has loaded: each an
L{finger.interfaces.IReadiness}, asked every L{POLL_INTERVAL} seconds from
the reactor until all answer L{None}; meanwhile C{STATUS=Starting: } and
what it waits for), C{STATUS=} lines as the service's summary changes, C{WATCHDOG=1} every half of the watchdog timeout from a
L{LoopingCall} (so a reactor that hangs stops the pings, and systemd
restarts the service), and C{STOPPING=1} when it stops.
"""

import errno
import os
import socket
from typing import Callable, List, Optional, Sequence

from twisted.application.service import Service
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from finger.readiness import notReady

POLL_INTERVAL = 0.1
"""
Seconds between two questions to what is not ready yet.
"""

STATUS_INTERVAL = 5.0
"""
Seconds between two looks at the status summary, once ready; it is sent
only when it changed.
"""


def socketAddress(value: str) -> str:
    """
    The C{AF_UNIX} address C{$NOTIFY_SOCKET} names: a path as it is, an
    abstract socket (C{@name}) with the C{NUL} byte Linux spells it with.

    @raise ValueError: if C{value} is neither a path nor C{@name}.
    """
    if value.startswith("@") and len(value) > 1:
        return "\0" + value[1:]
    if value.startswith("/"):
        return value
    raise ValueError(f"NOTIFY_SOCKET={value!r} is neither an absolute path nor @name")


class NotifySocket:
    """
    Send notify datagrams to the service manager's socket.

    @ivar address: the socket's address, as L{socketAddress} gives it.
    """

    log = Logger()

    def __init__(self, address: str) -> None:
        self.address = address
        self._socket: Optional[socket.socket] = None
        self._failed: Optional[int] = None

    def send(self, *assignments: str) -> bool:
        """
        Send C{assignments} (C{"READY=1"}, C{"STATUS=..."}) in one datagram.

        @return: whether it was sent.  A failure is logged the first time it
            happens, and again only after a send has worked in between.
        """
        data = "\n".join(assignments).encode("utf-8", "replace")
        try:
            if self._socket is None:
                self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                self._socket.setblocking(False)
            self._socket.sendto(data, self.address)
        except OSError as e:
            if e.errno != self._failed:
                self._failed = e.errno
                self.log.warn(
                    "Cannot tell systemd {what} on NOTIFY_SOCKET: {error}",
                    what=assignments[0].split("=", 1)[0],
                    error=os.strerror(e.errno) if e.errno else str(e),
                )
            if e.errno not in (errno.EAGAIN, errno.EWOULDBLOCK):
                self.close()
            return False
        self._failed = None
        return True

    def close(self) -> None:
        """
        Close the socket; a later L{send} opens another.
        """
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def whenReady(
    clock: IReactorTime, waited: Sequence[object], interval: float = POLL_INTERVAL
) -> "Deferred[None]":
    """
    Fire once all of C{waited} are ready (see L{notReady}), asking at once
    and then every C{interval} seconds; cancelling the result stops asking.
    If asking raises, that is logged and the result never fires: the
    service is never called ready, and systemd's start-up timeout says so.
    """

    def stop(_: object) -> None:
        if poll.running:
            poll.stop()

    ready: "Deferred[None]" = Deferred(stop)

    def ask() -> None:
        if notReady(waited) is None:
            poll.stop()
            ready.callback(None)

    poll = LoopingCall(ask)
    poll.clock = clock
    # An error of notReady ends the loop, and fails the loop's Deferred.
    poll.start(interval, now=True).addErrback(
        lambda reason: NotifyService.log.failure("Asking whether the service is ready", reason)
    )
    return ready


class NotifyService(Service):
    """
    Tell systemd about this service: ready, its status, stopping, and alive.

    @ivar sender: where the datagrams go (a L{NotifySocket}).
    @ivar waited: what must be ready before C{READY=1}.
    @ivar status: makes the one-line summary sent as C{STATUS=}.
    @ivar watchdogInterval: seconds between two C{WATCHDOG=1}, or L{None}
        to send none.
    @ivar watchdogPid: the process the watchdog watches, if systemd said
        (C{$WATCHDOG_PID}); another process than this one sends no
        C{WATCHDOG=1}.  Asked when the service starts, after twistd has
        daemonized.
    @ivar ready: whether C{READY=1} was sent.
    """

    log = Logger()

    def __init__(
        self,
        clock: IReactorTime,
        sender: NotifySocket,
        waited: Sequence[object],
        status: Callable[[], str],
        watchdogInterval: Optional[float] = None,
        watchdogPid: Optional[int] = None,
        pollInterval: float = POLL_INTERVAL,
        statusInterval: float = STATUS_INTERVAL,
        getpid: Callable[[], int] = os.getpid,
    ) -> None:
        self.clock = clock
        self.sender = sender
        self.waited = list(waited)
        self.status = status
        self.watchdogInterval = watchdogInterval
        self.watchdogPid = watchdogPid
        self.getpid = getpid
        self.pollInterval = pollInterval
        self.statusInterval = statusInterval
        self.ready = False
        self._lastStatus: Optional[str] = None
        self._loops: List[LoopingCall] = []
        self._polling: Optional[LoopingCall] = None

    def _loop(self, f: Callable[[], None]) -> LoopingCall:
        loop = LoopingCall(f)
        loop.clock = self.clock
        self._loops.append(loop)
        return loop

    def _start(self, loop: LoopingCall, interval: float) -> None:
        loop.start(interval, now=True).addErrback(
            lambda reason: self.log.failure("Telling systemd", reason)
        )

    def startService(self) -> None:
        super().startService()
        self.ready = False
        self._lastStatus = None
        pid = self.watchdogPid
        if self.watchdogInterval is not None and (pid is None or pid == self.getpid()):
            self._start(self._loop(lambda: self._send("WATCHDOG=1")), self.watchdogInterval)
        # Kept before it first runs: the first look may find all ready.
        self._polling = self._loop(self._poll)
        self._start(self._polling, self.pollInterval)

    def _send(self, *assignments: str) -> None:
        self.sender.send(*assignments)

    @staticmethod
    def _oneLine(text: str) -> str:
        # A line break would end the assignment (a database's error message
        # may hold several lines).
        return " ".join(text.split())

    def _poll(self) -> None:
        why = notReady(self.waited)
        if why is None:
            self._ready()
            return
        # What it waits for, for systemctl status while it starts.
        self._sendStatus(f"Starting: {self._oneLine(why)}")

    def _sendStatus(self, summary: str, *also: str) -> None:
        if also or summary != self._lastStatus:
            self._lastStatus = summary
            self._send(*also, f"STATUS={summary}")

    def _ready(self) -> None:
        polling, self._polling = self._polling, None
        if polling is not None:
            self._loops.remove(polling)
            polling.stop()
        self.ready = True
        summary = self._oneLine(self.status())
        self._sendStatus(summary, "READY=1")
        self.log.info("Ready: {summary}", summary=summary)
        self._start(self._loop(self._updateStatus), self.statusInterval)

    def _updateStatus(self) -> None:
        self._sendStatus(self._oneLine(self.status()))

    def stopService(self) -> None:
        super().stopService()
        self._polling = None
        for loop in self._loops:
            if loop.running:
                loop.stop()
        self._loops = []
        self._send("STOPPING=1", "STATUS=Stopping")
        self.sender.close()
