# -*- test-case-name: tests.net.test_lines -*-
"""
Line framing for the line-based front-ends (finger and the setter).

People type these protocols into C{nc} and C{telnet}, and RFC 1288 clients
send CRLF, so a line ends in CRLF or in a bare LF.  A line is at most
C{maxLineLength} bytes, not counting its ending; a longer one ends the
framing, ended or not, so a client cannot make the server buffer without
limit.

L{twisted.protocols.basic.LineOnlyReceiver} does most of this, but a client
that half-closes its side after an unterminated last line (C{printf 'moshez'
| nc -N host 79}) expects that line to count, and LineOnlyReceiver keeps the
unterminated rest to itself.  L{LineFraming} offers it publicly, as
L{LineFraming.finishLines}.
"""

from twisted.internet.protocol import Protocol


class LineFraming(Protocol):
    """
    Split received bytes into lines ending in CRLF or LF, and deliver each
    to L{lineReceived} without its ending.

    Subclasses override L{lineReceived} and L{lineLengthExceeded}, and call
    L{stopLines} when they want no more lines (a protocol of one query, or
    one that has answered).

    @cvar maxLineLength: the most bytes of one line, without its ending.
    """

    maxLineLength = 512

    _rest = b""
    _stopped = False

    def lineReceived(self, line: bytes) -> None:
        """
        One line arrived, without its CRLF or LF.
        """
        raise NotImplementedError()

    def lineLengthExceeded(self, line: bytes) -> None:
        """
        A line longer than L{maxLineLength} arrived, or began to: C{line}
        is what came of it.  No line is delivered after this one.
        """
        raise NotImplementedError()

    def stopLines(self) -> None:
        """
        Deliver no more lines: whatever arrived or arrives after the line
        being delivered is dropped.
        """
        self._stopped = True
        self._rest = b""

    def dataReceived(self, data: bytes) -> None:
        if self._stopped:
            return
        buffer = self._rest + data if self._rest else data
        start = 0
        end = buffer.find(b"\n")
        while end != -1:
            line = buffer[start : end - 1 if end > start and buffer[end - 1] == 13 else end]
            start = end + 1
            if len(line) > self.maxLineLength:
                self.stopLines()
                self.lineLengthExceeded(line)
                return
            self.lineReceived(line)
            if self._stopped:
                return
            end = buffer.find(b"\n", start)
        rest = buffer[start:] if start else buffer
        # One byte more than a line may hold: the CR of its ending.
        if len(rest) > self.maxLineLength + 1:
            self.stopLines()
            self.lineLengthExceeded(rest)
            return
        self._rest = rest

    def finishLines(self) -> None:
        """
        The peer will send nothing more (it half-closed its side): deliver
        an unterminated last line, if any bytes of one arrived, as though it
        had ended.
        """
        if self._stopped or not self._rest:
            return
        rest = self._rest
        self._rest = b""
        line = rest[:-1] if rest.endswith(b"\r") else rest
        if len(line) > self.maxLineLength:
            self.stopLines()
            self.lineLengthExceeded(line)
        else:
            self.lineReceived(line)
