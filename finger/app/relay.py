# -*- test-case-name: tests.app.test_relay -*-
"""
The log of the workers of C{--workers}, carried to the main process.

A worker writes each event as one line of JSON (L{LineLog}, with Twisted's
L{eventAsJSON}) on its standard output; the main process reads the lines
back into events (L{LogRelay}, with L{eventFromJSON}) and publishes them in
its own log with the level, namespace, time and fields the worker gave
them, shown as the worker's (C{[worker 2 (pid 4242)]} in a text log or the
journal): a log pipeline sees the same fields whichever process served, and
no line carries the worker's internals in its text.  A batch of the access
log stays one event.  Whatever a worker writes that is not an event (it
failed before it could log) is relayed a line at a time.

A worker says it serves with an event carrying the field L{READY}.
"""

import sys
from typing import Any, Callable, Dict, Optional

from twisted.internet.interfaces import IReactorTime
from twisted.logger import ILogObserver, Logger, LogLevel, eventAsJSON, eventFromJSON
from zope.interface import implementer

from finger.logs import portChatter

READY = "workerReady"
"""
The field of the event a worker logs once it serves (its back-end loaded):
the main process counts it ready
(L{finger.app.workers.WorkerSupervisor.notReady}).
"""


@implementer(ILogObserver)
class LineLog:
    """
    A worker's log observer: each event as one line of JSON on a stream of
    bytes, the standard error file until L{LineLog.writeTo} gives it the
    standard output transport.  Twisted's own lines about each port
    (L{portChatter}) are left out: the main process says where the
    service listens.
    """

    def __init__(self) -> None:
        self.transport: Any = None

    def writeTo(self, transport: Any) -> None:
        self.transport = transport

    def __call__(self, event: Dict[str, Any]) -> None:
        if portChatter(event):
            return
        data = eventAsJSON(event).encode("utf-8", "replace") + b"\n"
        if self.transport is None:
            sys.stderr.buffer.write(data)
            sys.stderr.buffer.flush()
        else:
            self.transport.write(data)


class LogRelay:
    """
    The main process's side: one worker's output, read back into events.

    @ivar number: the worker's number.
    @ivar pid: its process id, once known.
    """

    def __init__(
        self,
        log: Logger,
        clock: IReactorTime,
        number: int,
        ready: Callable[[], None],
    ) -> None:
        """
        @param log: where the events go (its observer) and the lines that
            are not events are logged.
        @param clock: the time of an event that has none.
        @param ready: called when the worker says it serves.
        """
        self.log = log
        self.clock = clock
        self.number = number
        self.pid: Optional[int] = None
        self.ready = ready
        self._partial: Dict[int, bytes] = {1: b"", 2: b""}

    def received(self, childFD: int, data: bytes) -> None:
        """
        Relay each whole line of C{data}, which came on the worker's
        C{childFD}; keep the rest for later.
        """
        lines = (self._partial.get(childFD, b"") + data).split(b"\n")
        self._partial[childFD] = lines.pop()
        for line in lines:
            self._relay(childFD, line)

    def flush(self) -> None:
        """
        Relay what is left: the worker has ended.
        """
        for childFD, rest in self._partial.items():
            if rest:
                self._relay(childFD, rest)
        self._partial = {}

    def _relay(self, childFD: int, line: bytes) -> None:
        text = line.decode("utf-8", "replace")
        if text.startswith("{"):
            try:
                event = eventFromJSON(text)
            except ValueError:
                event = None
            if isinstance(event, dict):
                event.setdefault("log_level", LogLevel.info)
                event.setdefault("log_time", self.clock.seconds())
                event.update(
                    log_system=f"worker {self.number} (pid {self.pid})",
                    worker=self.number,
                    workerPid=self.pid,
                )
                self.log.observer(event)
                if event.get(READY) is True:
                    self.ready()
                return
        level = LogLevel.error if childFD == 2 else LogLevel.info
        self.log.emit(
            level,
            "worker {number} (pid {pid}): {line}",
            number=self.number,
            pid=self.pid,
            line=text,
        )
