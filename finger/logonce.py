# -*- test-case-name: tests.test_logonce -*-
"""
A line logged once while what it says lasts.

A condition that may hold for every request in a row (the connections are
full, the IRC queue is dropping replies, the status file is read-only) is
worth one line when it begins, not one a request: a flood must not become a
flood of log lines too.  L{LogOnce} logs the first line and then keeps
quiet until its owner says the condition is L{over <LogOnce.over>}.
"""

from twisted.logger import Logger, LogLevel


class LogOnce:
    """
    Log a line when a condition begins, and no other until it is over.

    @ivar logged: whether a line was logged since the condition began.
    """

    logged = False

    def __init__(self, log: Logger) -> None:
        """
        @param log: the logger the line goes to: its owner's, so the line
            keeps the owner's namespace and source.
        """
        self._log = log

    def emit(self, level: LogLevel, format: str, **kwargs: object) -> None:
        """
        Log C{format} with C{kwargs} at C{level}, as L{Logger.emit} does,
        unless a line was logged since the condition began.
        """
        if not self.logged:
            self.logged = True
            self._log.emit(level, format, **kwargs)

    def warn(self, format: str, **kwargs: object) -> None:
        """
        L{emit} a warning.
        """
        self.emit(LogLevel.warn, format, **kwargs)

    def error(self, format: str, **kwargs: object) -> None:
        """
        L{emit} an error.
        """
        self.emit(LogLevel.error, format, **kwargs)

    def over(self) -> None:
        """
        The condition is over: the next line is logged again.
        """
        self.logged = False
