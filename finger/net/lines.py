# -*- test-case-name: tests.net.test_lines -*-
"""
Line framing for the line-based front-ends (finger and the setter):
L{twisted.protocols.basic.LineReceiver}, told what these protocols accept.

People type these protocols into C{nc} and C{telnet}, and RFC 1288 clients
send CRLF, so a line ends in CRLF or in a bare LF: the delimiter is LF, and
the CR before it is dropped.  A line is at most L{LineFraming.maxLineLength}
bytes, not counting its ending; a longer one ends the framing, ended or
not, so a client cannot make the server buffer without limit.

Two things LineReceiver leaves to its user are said here once: a protocol
of one request stops taking lines when it has what it needs (L{stopLines}:
the line buffer is cleared and the rest is raw data, dropped), and a client
that half-closes its side after an unterminated last line (C{printf 'moshez'
| nc -N host 79}) expects that line to count (L{finishLines}, from
L{LineReceiver.clearLineBuffer}).
"""

from twisted.protocols.basic import LineReceiver


class LineFraming(LineReceiver):
    """
    Deliver lines ending in CRLF or LF to L{lineArrived}, without their
    ending.

    Subclasses override L{lineArrived} and L{lineTooLong}, and call
    L{stopLines} when they want no more lines (a protocol of one query, or
    one that has answered).

    @cvar maxLineLength: the most bytes of one line, without its ending.
        LineReceiver's own limit, C{MAX_LENGTH}, follows it: one more, as
        LineReceiver counts the CR of a CRLF as part of the line.
    """

    delimiter = b"\n"
    maxLineLength = 512
    MAX_LENGTH = maxLineLength + 1

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        cls.MAX_LENGTH = cls.maxLineLength + 1

    def lineArrived(self, line: bytes) -> None:
        """
        One line arrived, without its CRLF or LF.
        """
        raise NotImplementedError()

    def lineTooLong(self, line: bytes) -> None:
        """
        A line longer than L{maxLineLength} arrived, or began to: C{line}
        is what came of it.  No line is delivered after this one.
        """
        raise NotImplementedError()

    def lineReceived(self, line: bytes) -> None:
        if line[-1:] == b"\r":
            line = line[:-1]
        if len(line) > self.maxLineLength:
            self.lineLengthExceeded(line)
        else:
            self.lineArrived(line)

    def lineLengthExceeded(self, line: bytes) -> None:
        self.stopLines()
        self.lineTooLong(line)

    def rawDataReceived(self, data: bytes) -> None:
        """
        Bytes after L{stopLines}: dropped.
        """

    def stopLines(self) -> None:
        """
        Deliver no more lines: whatever arrived or arrives after the line
        being delivered is dropped.
        """
        self.clearLineBuffer()
        self.setRawMode()

    def finishLines(self) -> None:
        """
        The peer will send nothing more (it half-closed its side): deliver
        an unterminated last line, if any bytes of one arrived, as though it
        had ended.
        """
        if self.line_mode:
            rest = self.clearLineBuffer()
            if rest:
                self.lineReceived(rest)
