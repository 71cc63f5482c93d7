# -*- test-case-name: tests.test_accesslog -*-
"""
Access logs: one line for every request a front-end answers, written in
batches.

A finger query or a web request is cheap to answer; logging it as an event
of its own through L{twisted.logger} (an event dictionary, the observers,
a format string, a time stamp, a write and a flush) used to cost as much as
the answer.  An L{AccessLog} keeps the lines in memory instead, each
stamped with the second it was made in, and hands them on together: at
most L{FLUSH_INTERVAL} seconds after the first of them, as soon as
L{MAX_PENDING} are waiting, and when the front-end stops (L{AccessLog.stop},
from its factory's C{stopFactory}), as twisted.web's own access log does
with its file.  The timer runs only while the front-end listens
(L{AccessLog.start}, from C{startFactory}), and only while lines wait.

Where the lines go is the writer's choice:

    - L{LogWriter} (the default): the logging system, one event per
      batch, in the C{finger.access} namespace.  So they go wherever
      twistd's log goes (C{--logfile}, C{--logger=finger.logs.journal},
      ...), each line of the batch on its own line;
    - L{FileWriter}: a file of its own, one line per request, appended.

Only lines are kept here: whatever a line shows from a client must already
be escaped (L{finger.text.escapeForLog}), so nobody can forge lines.
"""

import time
from typing import Callable, List, Optional, TextIO

from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger

FLUSH_INTERVAL = 1.0
"""
The most seconds a line waits before it is written.
"""

MAX_PENDING = 1000
"""
The most lines kept before they are written, however recent.
"""

Writer = Callable[[List[str]], None]
"""
Takes a batch of lines, oldest first, without line endings.
"""


class LogWriter:
    """
    Write each batch of access lines as one event of the logging system.

    The event's C{lines} field holds the batch's lines; its text is
    C{"Access log:"} followed by each line on a line of its own.
    """

    def __init__(self, log: Optional[Logger] = None) -> None:
        """
        @param log: where the events go; a L{Logger} in the C{finger.access}
            namespace if L{None}.
        """
        self.log = log if log is not None else Logger(namespace="finger.access")

    def __call__(self, lines: List[str]) -> None:
        self.log.info("Access log:\n{text}", text="\n".join(lines), lines=lines)


class FileWriter:
    """
    Write each batch of access lines to a text file, one line per request,
    with one write and one flush a batch.
    """

    def __init__(self, file: TextIO) -> None:
        """
        @param file: a text file open for writing (appending, usually).
        """
        self.file = file

    @classmethod
    def open(cls, path: str) -> "FileWriter":
        """
        Append to the file at C{path}, made if it does not exist.  Open it
        before privileges are dropped, as twistd opens its own log.
        """
        return cls(open(path, "a", encoding="utf-8", newline="\n"))

    def __call__(self, lines: List[str]) -> None:
        self.file.write("\n".join(lines) + "\n")
        self.file.flush()


def logTime(seconds: float) -> str:
    """
    The time stamp of an access line: UTC, to the second, in ISO 8601.
    """
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


class AccessLog:
    """
    Access lines kept in memory and written in batches.

    @ivar clock: what time stamps and the flush timer are measured on.
    @ivar writer: where the batches go.
    @ivar interval: the most seconds a line waits to be written.
    @ivar maxPending: the most lines waiting before they are written.
    """

    def __init__(
        self,
        clock: IReactorTime,
        writer: Optional[Writer] = None,
        *,
        interval: float = FLUSH_INTERVAL,
        maxPending: int = MAX_PENDING,
        timeFormat: Callable[[float], str] = logTime,
    ) -> None:
        """
        @param writer: where the batches go; the logging system
            (L{LogWriter}) if L{None}.
        @param timeFormat: makes the time stamp L{now} gives from seconds
            since the epoch.
        """
        self.timeFormat = timeFormat
        self.clock = clock
        self.writer: Writer = writer if writer is not None else LogWriter()
        self.interval = interval
        self.maxPending = maxPending
        self.pending: List[str] = []
        self.running = False
        self.flushCall: Optional[IDelayedCall] = None
        self.stampSecond = -1
        self.stamp = ""

    def now(self) -> str:
        """
        The time stamp for a line made now, in C{timeFormat}, made once a
        second.
        """
        second = int(self.clock.seconds())
        if second != self.stampSecond:
            self.stampSecond = second
            self.stamp = self.timeFormat(second)
        return self.stamp

    def add(self, line: str) -> None:
        """
        Log C{line}, which holds no line break and begins, usually, with
        L{now}.
        """
        pending = self.pending
        pending.append(line)
        if len(pending) >= self.maxPending:
            self.flush()
        elif self.flushCall is None and self.running:
            self.flushCall = self.clock.callLater(self.interval, self.flush)

    def start(self) -> None:
        """
        Write each line within C{interval} seconds from now on: the
        front-end's listener started.  Until then, and after L{stop}, lines
        are written only when C{maxPending} are waiting, or on L{flush}.
        """
        self.running = True
        if self.pending and self.flushCall is None:
            self.flushCall = self.clock.callLater(self.interval, self.flush)

    def stop(self) -> None:
        """
        Write the lines waiting, and keep no timer: the front-end's
        listener stopped.
        """
        self.running = False
        self.flush()

    def flush(self) -> None:
        """
        Write the lines waiting, if any, now.
        """
        if self.flushCall is not None:
            if self.flushCall.active():
                self.flushCall.cancel()
            self.flushCall = None
        if self.pending:
            lines, self.pending = self.pending, []
            self.writer(lines)
