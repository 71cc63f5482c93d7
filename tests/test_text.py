"""
Tests for L{finger.text}.
"""

from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.logger import eventAsJSON, eventFromJSON, formatEvent
from twisted.trial.unittest import SynchronousTestCase

import json
import re

from precis_i18n.unicode import UnicodeData

from finger.text import (
    IGNORABLE,
    Count,
    counted,
    escapeForLog,
    formatPeer,
    printableLines,
    withoutInvisible,
)

ENGLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"


class IgnorableTests(SynchronousTestCase):
    def test_sameAsPrecis(self) -> None:
        """
        L{IGNORABLE} holds exactly the code points precis-i18n calls default
        ignorable, for every code point there is.
        """
        ours = re.compile(f"[{IGNORABLE}]")
        unicode = UnicodeData()
        differ = [
            code
            for code in range(0x110000)
            if (ours.match(chr(code)) is not None) != unicode.default_ignorable(code)
        ]
        self.assertEqual(differ, [])

    def test_unicodeData(self) -> None:
        """
        The set is Unicode 14.0's: 4174 code points, every format character
        (category Cf) that is no visible sign among them.
        """
        import unicodedata

        ours = re.compile(f"[{IGNORABLE}]")
        self.assertEqual(sum(1 for c in range(0x110000) if ours.match(chr(c))), 4174)
        for code in [0x200B, 0x2060, 0xFEFF, 0x1BCA0, 0x1D173, 0xE0001]:
            self.assertEqual(unicodedata.category(chr(code)), "Cf")
            self.assertIsNotNone(ours.match(chr(code)))
        # Format characters that are seen: the Arabic number signs and the
        # interlinear annotation characters.
        for code in [0x0600, 0x06DD, 0xFFF9, 0x110BD]:
            self.assertIsNone(ours.match(chr(code)), hex(code))


class WithoutInvisibleTests(SynchronousTestCase):
    def test_plainText(self) -> None:
        """
        Text with no default-ignorable code point comes back as it was.
        """
        for text in ["", "happy", "zo\u00eb \u2615", "\u05e9\u05dc\u05d5\u05dd", "\u2800\u2801"]:
            self.assertIs(withoutInvisible(text), text)

    def test_dropped(self) -> None:
        """
        Each invisible character of issue 19's list is dropped, between
        letters and after an emoji alike (where it joins nothing).
        """
        for code in [
            0x3164, 0x115F, 0x1160, 0xFFA0, 0x034F, 0x17B4, 0x17B5, 0x180B, 0x180C, 0x180D,
            0x180E, 0x180F, 0xFE00, 0xFE01, 0xFE0E, 0xFE0F, 0xE0100, 0xE01EF, 0x1D173,
            0x1D174, 0x1D175, 0x1D176, 0x1D177, 0x1D178, 0x1D179, 0x1D17A, 0xE0000, 0xE0001,
            0xE0020, 0xE0041, 0xE0067, 0xE007E, 0xE007F, 0x200B, 0x200D, 0x2060, 0xFEFF,
            0x00AD, 0x2065, 0xFFF0, 0xE0FFF,
        ]:
            character = chr(code)
            self.assertEqual(withoutInvisible(f"a{character}b"), "ab", hex(code))
            self.assertEqual(withoutInvisible(f"{character}"), "", hex(code))

    def test_zeroWidthJoinerBetweenEmoji(self) -> None:
        """
        U+200D between emoji makes one picture (family, rainbow flag, a
        technologist with a skin tone): it stays; a ZWJ at either end, or
        with a letter on one side, goes.
        """
        for sequence in [
            "\U0001f468\u200d\U0001f469\u200d\U0001f467",
            "\U0001f3f3\ufe0f\u200d\U0001f308",
            "\U0001f469\U0001f3fd\u200d\U0001f4bb",
            "\u2764\ufe0f\u200d\U0001f525",
        ]:
            self.assertEqual(withoutInvisible(f"x {sequence} y"), f"x {sequence} y")
        self.assertEqual(withoutInvisible("\U0001f468\u200d"), "\U0001f468")
        self.assertEqual(withoutInvisible("\u200d\U0001f468"), "\U0001f468")
        self.assertEqual(withoutInvisible("a\u200d\U0001f468"), "a\U0001f468")
        self.assertEqual(withoutInvisible("\U0001f468\u200da"), "\U0001f468a")

    def test_presentationSelectorAfterEmoji(self) -> None:
        """
        VS16 (and VS15) right after an emoji chooses how it looks: it
        stays; after a letter, or doubled, it goes.
        """
        for sequence in ["\u2764\ufe0f", "\u263a\ufe0e", "#\ufe0f\u20e3", "\u2194\ufe0f"]:
            self.assertEqual(withoutInvisible(sequence), sequence)
        self.assertEqual(withoutInvisible("a\ufe0f"), "a")
        self.assertEqual(withoutInvisible("\u2764\ufe0f\ufe0f"), "\u2764\ufe0f")
        self.assertEqual(withoutInvisible("\U0001f44d\U0001f3fd\ufe0f"), "\U0001f44d\U0001f3fd")

    def test_flagTagSequence(self) -> None:
        """
        The tags of an emoji tag sequence (England's flag: the black flag,
        "gbeng" in tag letters, CANCEL TAG) stay; tags anywhere else, or a
        flag whose tags are no subdivision code, lose their tags.
        """
        self.assertEqual(withoutInvisible(f"go {ENGLAND}!"), f"go {ENGLAND}!")
        wales = "\U0001f3f4\U000e0067\U000e0062\U000e0077\U000e006c\U000e0073\U000e007f"
        self.assertEqual(withoutInvisible(ENGLAND + wales), ENGLAND + wales)
        tags = ENGLAND[1:]
        self.assertEqual(withoutInvisible("a" + tags), "a")
        hidden = "".join(chr(0xE0000 + ord(c)) for c in "run rm -rf now")
        self.assertEqual(withoutInvisible("\U0001f3f4" + hidden + "\U000e007f"), "\U0001f3f4")
        # Unterminated: no CANCEL TAG.
        self.assertEqual(withoutInvisible(ENGLAND[:-1]), "\U0001f3f4")

    def test_scriptsKeepJoiners(self) -> None:
        """
        The joiners that scripts need stay, as RFC 5892's context rules
        allow them: ZWNJ in Persian between letters that would join, ZWJ
        and ZWNJ after a Devanagari virama.
        """
        for text in [
            "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",
            "\u0915\u094d\u200d\u0937",
            "\u0915\u094d\u200c\u0937",
        ]:
            self.assertEqual(withoutInvisible(text), text)
        self.assertEqual(withoutInvisible("a\u200cb"), "ab")


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

    def test_invisibleDropped(self) -> None:
        """
        What a front-end shows loses the invisible characters too, emoji
        sequences kept.
        """
        self.assertEqual(
            printableLines("moshez\u3164: a\ufe0fb\U000e0041\nc" + ENGLAND),
            ["moshez: ab", "c" + ENGLAND],
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

    def test_count(self) -> None:
        """
        A L{Count} is a number in an event's fields and words in its text.
        """
        count = Count(1, "user")
        self.assertEqual(count, 1)
        self.assertEqual(json.dumps({"count": count}), '{"count": 1}')
        self.assertEqual(formatEvent({"log_format": "Serving {count}", "count": count}),
                         "Serving 1 user")
        self.assertEqual(f"{Count(2, 'more bad row')}", "2 more bad rows")
        self.assertEqual(f"{Count(2, 'user'):>3}", "  2")
        self.assertEqual((str(count), repr(count)), ("1 user", "1"))
        # Through JSON, as a worker's events reach the main process.
        relayed = eventFromJSON(eventAsJSON({"log_format": "Serving {count}", "count": count}))
        self.assertEqual(formatEvent(relayed), "Serving 1 user")
        self.assertEqual(relayed["count"], 1)
