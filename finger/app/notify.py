# -*- test-case-name: tests.app.test_notify -*-
"""
Telling systemd how the service is doing, when it runs as a C{Type=notify}
unit: L{NotifyConfig} reads what systemd puts in the environment
(C{$NOTIFY_SOCKET}, C{$WATCHDOG_USEC}, C{$WATCHDOG_PID}) once, with the
rest of the configuration, and L{makeNotifier} builds the
L{finger.net.notify.NotifyService} that L{finger.app.compose} adds last,
after every listener, so that by the time it asks they have all tried to
listen.

With C{--workers}, the main process is the one that notifies
(C{NotifyAccess=main}): it is the process systemd started and watches, it
owns the listening sockets, and it knows when every worker has come up (a
worker says so in its log, L{finger.app.workers.WorkerSupervisor.notReady}),
so its C{READY=1} means the whole service serves.  Letting the workers
notify (C{NotifyAccess=all}) would let the first worker's C{READY=1} speak
for all of them, and any worker's C{WATCHDOG=1} keep a service alive whose
main process had hung; the workers are not given C{$NOTIFY_SOCKET}.
"""

from dataclasses import dataclass
from typing import Any, Callable, List, Mapping, Optional

from twisted.internet.defer import Deferred

from finger.interfaces import IFingerService, IVersionedFingerService
from finger.net.notify import NotifyService, NotifySocket, socketAddress
from finger.readiness import notReady
from finger.text import counted

ENVIRONMENT = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")
"""
What systemd tells a C{Type=notify} service in its environment; the
workers of C{--workers} are not told (see the module's docstring).
"""


@dataclass(frozen=True)
class NotifyConfig:
    """
    Where and how often to tell systemd.

    @ivar address: the notify socket's address (C{$NOTIFY_SOCKET}).
    @ivar watchdogInterval: seconds between two C{WATCHDOG=1}: half of
        C{$WATCHDOG_USEC}; L{None} without a watchdog.
    @ivar watchdogPid: the process the watchdog is for (C{$WATCHDOG_PID}),
        or L{None} for this one; another process sends no C{WATCHDOG=1}.
    """

    address: str
    watchdogInterval: Optional[float] = None
    watchdogPid: Optional[int] = None

    @classmethod
    def fromEnvironment(cls, environ: Mapping[str, str]) -> "Optional[NotifyConfig]":
        """
        Read systemd's variables: L{None} without C{$NOTIFY_SOCKET}.

        @raise ValueError: naming the variable that is wrong.
        """
        value = environ.get("NOTIFY_SOCKET", "")
        if not value:
            return None
        address = socketAddress(value)
        interval: Optional[float] = None
        usec = environ.get("WATCHDOG_USEC", "")
        if usec:
            if not usec.isdigit() or int(usec) == 0:
                raise ValueError(f"WATCHDOG_USEC={usec!r} is not a positive whole number")
            interval = int(usec) / 2e6
        pid = environ.get("WATCHDOG_PID", "")
        if pid and not pid.isdigit():
            raise ValueError(f"WATCHDOG_PID={pid!r} is not a process id")
        return cls(address, interval, int(pid) if pid else None)


class UserCount:
    """
    How many users a back-end serves, asked again only when its
    L{IVersionedFingerService.version} changes: the count in a status line
    costs nothing while nothing changes.  Back-ends that cannot say when
    they change (a program, a web server) are not counted.
    """

    def __init__(self, backend: object) -> None:
        self.backend = IVersionedFingerService(backend, None)
        self.count: Optional[int] = None
        self._version: Optional[int] = None

    def __call__(self) -> Optional[int]:
        """
        The last count known, after asking again if the users changed.
        """
        backend = self.backend
        if backend is None:
            return None
        version = backend.version()
        if version != self._version:
            self._version = version
            d: "Deferred[Any]" = IFingerService(backend).getUsers()
            d.addCallback(self._counted).addErrback(lambda _: None)
        return self.count

    def _counted(self, users: List[str]) -> None:
        self.count = len(users)


def backendStatus(backend: object) -> Callable[[], str]:
    """
    The status line of a process serving C{backend}: how many users, and
    why it cannot answer if it cannot (the database is not reachable).
    """
    users = UserCount(backend)

    def status() -> str:
        count = users()
        line = "Serving" if count is None else f"Serving {counted(count, 'user')}"
        why = notReady([backend])
        return line if why is None else f"{line}; {why}"

    return status


def workersStatus(supervisor: Any) -> Callable[[], str]:
    """
    The status line of the main process of C{--workers}: how many of its
    workers serve (a L{finger.app.workers.WorkerSupervisor}).
    """

    def status() -> str:
        return f"{counted(len(supervisor.ready), 'worker')} of {supervisor.count} serving"

    return status


def makeNotifier(
    config: NotifyConfig,
    reactor: Any,
    waited: List[object],
    status: Callable[[], str],
) -> NotifyService:
    """
    The service that tells systemd: C{READY=1} once all of C{waited} are
    ready, C{STATUS=} lines from C{status}, C{WATCHDOG=1}, C{STOPPING=1}.
    """
    return NotifyService(
        reactor,
        NotifySocket(config.address),
        waited,
        status,
        watchdogInterval=config.watchdogInterval,
        watchdogPid=config.watchdogPid,
    )
