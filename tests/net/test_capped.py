"""
Tests for L{finger.net.capped}.
"""

from twisted.trial.unittest import SynchronousTestCase

from finger.net.capped import CappedBuffer


class CappedBufferTests(SynchronousTestCase):
    def test_underTheCap(self) -> None:
        """
        What fits is kept whole, in order, and nothing overflowed.
        """
        buffer = CappedBuffer(10)
        self.assertFalse(buffer.add(b"01234"))
        self.assertFalse(buffer.add(b""))
        self.assertFalse(buffer.add(b"56789"))
        self.assertEqual(buffer.value(), b"0123456789")
        self.assertFalse(buffer.overflowed)

    def test_overTheCap(self) -> None:
        """
        The write that passes the cap says so, once; the first C{limit}
        bytes are kept and the rest dropped.
        """
        buffer = CappedBuffer(10)
        self.assertFalse(buffer.add(b"0123"))
        self.assertTrue(buffer.add(b"456789abc"))
        self.assertTrue(buffer.overflowed)
        self.assertFalse(buffer.add(b"more"))
        self.assertEqual(buffer.value(), b"0123456789")

    def test_firstWriteOverTheCap(self) -> None:
        """
        One write larger than the cap is cut at the cap.
        """
        buffer = CappedBuffer(3)
        self.assertTrue(buffer.add(b"abcdef"))
        self.assertEqual(buffer.value(), b"abc")

    def test_text(self) -> None:
        """
        The text is UTF-8, with a character cut at the cap replaced.
        """
        buffer = CappedBuffer(3)
        buffer.add("zoë".encode("utf-8"))
        self.assertEqual(buffer.text(), "zo\N{REPLACEMENT CHARACTER}")
