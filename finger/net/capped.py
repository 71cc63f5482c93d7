# -*- test-case-name: tests.net.test_capped -*-
"""
Reading what another party sends, up to a size cap.

Nothing read from another party is trusted to be small: the web server's
body (L{finger.backends.http}), the finger program's output
(L{finger.backends.command}) and a remote finger server's answer
(L{finger.clients.finger}) are kept up to a cap, and the source is stopped
once it sends more.  L{CappedBuffer} is that cap, once: each reader feeds it
what arrives and, when it says the cap was passed, stops its own source
(stops the body's producer, kills the program, aborts the connection) and
decides what the answer is (an error, or what was kept).
"""

from typing import List


class CappedBuffer:
    """
    The first L{limit} bytes a source sent; what comes beyond them is
    dropped.

    @ivar limit: the most bytes kept.
    @ivar overflowed: whether the source sent more than L{limit} bytes.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.overflowed = False
        self._chunks: List[bytes] = []
        self._size = 0

    def add(self, data: bytes) -> bool:
        """
        Keep what of C{data} fits under the cap.

        @return: whether C{data} passed the cap: L{True} once, for the
            bytes that passed it, when the caller should stop the source.
            What comes after that is dropped, and gives L{False}.
        """
        if self.overflowed:
            return False
        room = self.limit - self._size
        self._chunks.append(data[:room])
        self._size += len(data)
        if self._size > self.limit:
            self.overflowed = True
            return True
        return False

    def value(self) -> bytes:
        """
        The bytes kept: all that was sent, or its first L{limit} bytes.
        """
        return b"".join(self._chunks)

    def text(self) -> str:
        """
        The bytes kept, decoded as UTF-8, undecodable bytes (a character
        cut at the cap among them) replaced.
        """
        return self.value().decode("utf-8", "replace")
