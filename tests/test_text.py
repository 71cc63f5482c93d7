"""
Tests for L{finger.text}.
"""

from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.trial.unittest import SynchronousTestCase

from finger.text import counted, escapeForLog, formatPeer, printableLines


class PrintableLinesTests(SynchronousTestCase):
    def test_lineBreaks(self) -> None:
        """
        Every kind of line break a file or program writes ends a line and
        none survives inside one.  (Issue 12: the Unicode line separator
        U+2028 used to end a line here too; it no longer does, see
        L{test_separatorsAreNoLineBreaks}.)
        """
        self.assertEqual(
            printableLines("a\r\nb\nc\rd\x0ce\x85f\ng"),
            ["a", "b", "c", "d", "e", "f", "g"],
        )

    def test_separatorsAreNoLineBreaks(self) -> None:
        """
        The Unicode line and paragraph separators never become line breaks,
        so a one-line status cannot forge a second line (a C{/W} answer's
        C{Login:} line, say); they are shown as spaces.
        """
        self.assertEqual(
            printableLines("happy\u2028Login: root\u2029Shell: /bin/sh"),
            ["happy Login: root Shell: /bin/sh"],
        )

    def test_deceptiveFormatDropped(self) -> None:
        """
        Bidirectional controls and invisible format characters are dropped;
        the zero width joiner and non-joiner, which emoji and scripts need,
        stay.
        """
        for character in (
            "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
            "\u200b\u2060\u2064\u206a\ufeff\ufff9\U000e0001"
        ):
            self.assertEqual(printableLines(f"a{character}b"), ["ab"], hex(ord(character)))
        self.assertEqual(printableLines("\u202egnp.exe"), ["gnp.exe"])
        family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
        self.assertEqual(
            printableLines(family + " \u0645\u200c\u06cc"), [family + " \u0645\u200c\u06cc"]
        )

    def test_controlsDropped(self) -> None:
        """
        C0 controls other than tab, DEL and C1 controls are removed.
        """
        self.assertEqual(
            printableLines("\x1b[2Jred\x07\x00\x7f\x9b\ttab"), ["[2Jred\ttab"]
        )

    def test_textKept(self) -> None:
        self.assertEqual(printableLines("très bien ☕ <&>"), ["très bien ☕ <&>"])

    def test_empty(self) -> None:
        self.assertEqual(printableLines(""), [])


class EscapeForLogTests(SynchronousTestCase):
    def test_escaped(self) -> None:
        """
        Controls, non-ASCII bytes and backslashes are escaped; quotes are not.
        """
        self.assertEqual(
            escapeForLog(b"a\x1b[31m\r\n\xc3\xa9\\'\""), "a\\x1b[31m\\r\\n\\xc3\\xa9\\\\'\""
        )


class FormatPeerTests(SynchronousTestCase):
    def test_addresses(self) -> None:
        self.assertEqual(formatPeer(IPv4Address("TCP", "127.0.0.1", 79)), "127.0.0.1:79")
        self.assertEqual(formatPeer(IPv6Address("TCP", "::1", 79)), "[::1]:79")
        self.assertIn("sock", formatPeer(UNIXAddress("/tmp/sock")))


class VisibleControlsTests(SynchronousTestCase):
    def test_bsdNotation(self) -> None:
        """
        Controls are shown as BSD finger shows them.
        """
        from finger.text import visibleControls

        self.assertEqual(visibleControls("a\x1b[31mb\x07\x00\x7f"), "a^[[31mb^G^@^?")
        self.assertEqual(visibleControls("\x9b2J\x85"), "M-^[2JM-^E")

    def test_keeps(self) -> None:
        from finger.text import visibleControls

        self.assertEqual(visibleControls("a\tb\r\nc\nzoë ☕"), "a\tb\nc\nzoë ☕")
        self.assertEqual(visibleControls("fake\rline"), "fake^Mline")

    def test_invisibleUnicode(self) -> None:
        from finger.text import visibleControls

        self.assertEqual(visibleControls("a\u202eb\u200bc"), "a<U+202E>b<U+200B>c")


class CountedTests(SynchronousTestCase):
    def test_plainWords(self) -> None:
        self.assertEqual(
            [counted(n, "user") for n in (0, 1, 2)], ["0 users", "1 user", "2 users"]
        )
        self.assertEqual(counted(1, "more bad row"), "1 more bad row")
        self.assertEqual(counted(3, "child", "children"), "3 children")
