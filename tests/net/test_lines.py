"""
Tests for L{finger.net.lines}.
"""

from typing import List

from hypothesis import given
from hypothesis import strategies as st
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from finger.net.lines import LineFraming
from tests.support import chunked, propertySettings


class _Recorder(LineFraming):
    """
    Records what it is given; stops after C{stopAfter} lines if set.
    """

    maxLineLength = 8

    def __init__(self, stopAfter: int = 0) -> None:
        self.events: List[object] = []
        self.stopAfter = stopAfter

    def lineArrived(self, line: bytes) -> None:
        self.events.append(line)
        if len(self.events) == self.stopAfter:
            self.stopLines()

    def lineTooLong(self, line: bytes) -> None:
        self.events.append(("too long", line))


class LineFramingTests(SynchronousTestCase):
    def connect(self, stopAfter: int = 0) -> _Recorder:
        protocol = _Recorder(stopAfter)
        protocol.makeConnection(StringTransport())
        return protocol

    def test_endings(self) -> None:
        """
        CRLF and a bare LF both end a line, and neither is delivered; a lone
        CR inside a line stays.
        """
        protocol = self.connect()
        protocol.dataReceived(b"one\r\ntwo\nth\rree\n\n\r\n")
        self.assertEqual(protocol.events, [b"one", b"two", b"th\rree", b"", b""])

    def test_inPieces(self) -> None:
        """
        A line cut anywhere, even between its CR and LF, arrives whole.
        """
        protocol = self.connect()
        for byte in b"one\r\ntwo\n":
            protocol.dataReceived(bytes([byte]))
        self.assertEqual(protocol.events, [b"one", b"two"])

    def test_stopLines(self) -> None:
        """
        After L{LineFraming.stopLines} nothing more is delivered, whether
        it came in the same chunk or later, even at the end of input.
        """
        protocol = self.connect(stopAfter=1)
        protocol.dataReceived(b"one\ntwo\nthr")
        protocol.dataReceived(b"ee\n")
        protocol.finishLines()
        self.assertEqual(protocol.events, [b"one"])

    def test_longestLine(self) -> None:
        """
        A line of C{maxLineLength} bytes is delivered, with either ending.
        """
        protocol = self.connect()
        protocol.dataReceived(b"x" * 8 + b"\r\n" + b"y" * 8 + b"\n")
        self.assertEqual(protocol.events, [b"x" * 8, b"y" * 8])

    def test_longestUnterminated(self) -> None:
        """
        Nine bytes of a line not yet ended may be the longest line and the
        CR of its ending, so they wait.
        """
        protocol = self.connect()
        protocol.dataReceived(b"x" * 8 + b"\r")
        self.assertEqual(protocol.events, [])
        protocol.dataReceived(b"\n")
        self.assertEqual(protocol.events, [b"x" * 8])

    def test_tooLong(self) -> None:
        """
        An ended line over the limit is refused, and nothing after it is
        delivered.
        """
        protocol = self.connect()
        protocol.dataReceived(b"ok\n" + b"x" * 9 + b"\nmore\n")
        protocol.dataReceived(b"still more\n")
        self.assertEqual(protocol.events, [b"ok", ("too long", b"x" * 9)])

    def test_farTooLong(self) -> None:
        """
        A line far over the limit, with more lines after it in the same
        bytes, is refused once, and nothing after it is delivered.
        """
        protocol = self.connect()
        protocol.dataReceived(b"x" * 20 + b"\nmore\n")
        protocol.dataReceived(b"still more\n")
        protocol.finishLines()
        self.assertEqual([event[0] for event in protocol.events], ["too long"])

    def test_tooLongUnterminated(self) -> None:
        """
        A line not ended is refused as soon as it cannot fit any more, so
        a client cannot make the server buffer without limit.
        """
        protocol = self.connect()
        protocol.dataReceived(b"x" * 9)
        self.assertEqual(protocol.events, [])
        protocol.dataReceived(b"y")
        self.assertEqual(protocol.events, [("too long", b"x" * 9 + b"y")])
        protocol.dataReceived(b"\n")
        self.assertEqual(len(protocol.events), 1)

    def test_finishLines(self) -> None:
        """
        At the end of input an unterminated last line is delivered, without
        a CR it ends in; with nothing pending, nothing is.
        """
        protocol = self.connect()
        protocol.dataReceived(b"one\ntwo\r")
        protocol.finishLines()
        protocol.finishLines()
        self.assertEqual(protocol.events, [b"one", b"two"])
        protocol = self.connect()
        protocol.dataReceived(b"one\n")
        protocol.finishLines()
        self.assertEqual(protocol.events, [b"one"])

    def test_finishLinesTooLong(self) -> None:
        """
        An unterminated last line of C{maxLineLength} + 1 bytes that does
        not end in CR is too long.
        """
        protocol = self.connect()
        protocol.dataReceived(b"x" * 9)
        protocol.finishLines()
        self.assertEqual(protocol.events, [("too long", b"x" * 9)])

    @propertySettings()
    @given(
        lines=st.lists(st.binary(max_size=8).map(lambda b: b.replace(b"\n", b"")), max_size=6),
        endings=st.lists(st.sampled_from([b"\n", b"\r\n"]), min_size=6, max_size=6),
        cuts=st.lists(st.integers(0, 200), max_size=6),
    )
    def test_anyCuts(self, lines: List[bytes], endings: List[bytes], cuts: List[int]) -> None:
        """
        However the bytes are cut, the same lines come out.  (A line ending
        in CR and then LF loses that CR, as the CR of a CRLF.)
        """
        data = b"".join(line + ending for line, ending in zip(lines, endings))
        protocol = self.connect()
        for piece in chunked(data, cuts):
            protocol.dataReceived(piece)
        expected = [
            line[:-1] if ending == b"\n" and line.endswith(b"\r") else line
            for line, ending in zip(lines, endings)
        ]
        self.assertEqual(protocol.events, expected)
