"""
Tests for L{finger.names}.
"""

from twisted.trial.unittest import SynchronousTestCase

from finger.names import (
    MAX_STATUS_LENGTH,
    PLAIN_USER_NAME,
    InvalidStatus,
    InvalidUserName,
    checkStatus,
    checkUserName,
    decodeUserName,
    isValidUserName,
)


class UserNameTests(SynchronousTestCase):
    def test_valid(self) -> None:
        """
        Ordinary, dotted, non-ASCII and 64-character names are valid.
        """
        for name in ["moshez", "a", "first.last", "zoë", "用户", "x" * 64, "a-b", "a/b"]:
            self.assertTrue(isValidUserName(name), name)
            self.assertEqual(checkUserName(name), name)

    def assertInvalid(self, name: str, words: str) -> None:
        self.assertFalse(isValidUserName(name), repr(name))
        error = self.assertRaises(InvalidUserName, checkUserName, name)
        self.assertIn(words, str(error))

    def test_empty(self) -> None:
        self.assertInvalid("", "empty")

    def test_tooLong(self) -> None:
        self.assertInvalid("x" * 65, "64")

    def test_leadingSlashOrDash(self) -> None:
        """
        A name may not look like a finger switch or an option.
        """
        self.assertInvalid("/W", "start")
        self.assertInvalid("-l", "start")

    def test_leadingHash(self) -> None:
        """
        A name may not start with C{#}: its line in the status file would be
        a comment, so a status set for it would be lost.
        """
        self.assertInvalid("#", "start")
        self.assertInvalid("#moshez", "'#'")
        self.assertTrue(isValidUserName("a#b"))

    def test_separators(self) -> None:
        self.assertInvalid("a:b", "':'")
        self.assertInvalid("a@b", "'@'")

    def test_whitespace(self) -> None:
        for name in ["a b", "a\tb", "a\u00a0b", "a\u2028b", " a"]:
            self.assertInvalid(name, "whitespace")

    def test_controls(self) -> None:
        for name in ["a\x1bb", "a\x00", "a\x7f", "a\x9b", "a\udcff"]:
            self.assertFalse(isValidUserName(name), repr(name))
            self.assertRaises(InvalidUserName, checkUserName, name)

    def test_deceptive(self) -> None:
        """
        A name may not hold characters that reorder or hide text: in a
        listing, a right-to-left override in a name would turn the status
        after it around.
        """
        for name in ["evil\u202e", "a\u200fb", "a\u2066b", "a\u200bb", "\ufeffa", "a\u200db"]:
            self.assertInvalid(name, "direction-changing")

    def assertImpostor(self, name: str, character: str) -> None:
        """
        C{name} is refused as holding C{character}, which the refusal names.
        """
        self.assertFalse(isValidUserName(name), repr(name))
        error = self.assertRaises(InvalidUserName, checkUserName, name)
        self.assertIn(f"U+{ord(character):04X}", str(error))

    def test_hangulFillerU3164(self) -> None:
        """
        C{moshez} followed by U+3164 HANGUL FILLER, which shows as nothing,
        is no name: it would be listed beside C{moshez}, looking the same.
        """
        self.assertImpostor("moshez\u3164", "\u3164")
        self.assertImpostor("\u3164", "\u3164")

    def test_hangulChoseongFillerU115F(self) -> None:
        self.assertImpostor("moshez\u115f", "\u115f")
        self.assertImpostor("moshez\u1160", "\u1160")

    def test_halfwidthHangulFillerUFFA0(self) -> None:
        self.assertImpostor("\uffa0", "\uffa0")
        self.assertImpostor("moshez\uffa0", "\uffa0")

    def test_brailleBlankU2800(self) -> None:
        """
        The braille pattern blank is a symbol that looks like a space.
        """
        self.assertImpostor("moshez\u2800", "\u2800")
        self.assertImpostor("\u2800", "\u2800")

    def test_combiningGraphemeJoinerU034F(self) -> None:
        self.assertImpostor("mos\u034fhez", "\u034f")

    def test_khmerInherentVowels(self) -> None:
        """
        U+17B4 and U+17B5, Khmer vowels that are never shown.
        """
        self.assertImpostor("moshez\u17b4", "\u17b4")
        self.assertImpostor("moshez\u17b5", "\u17b5")
        # Khmer itself is welcome.
        self.assertTrue(isValidUserName("\u179f\u17bb\u1781"))

    def test_mongolianVariationSelectors(self) -> None:
        """
        U+180B to U+180E: the Mongolian free variation selectors and vowel
        separator.
        """
        for character in "\u180b\u180c\u180d\u180e":
            self.assertImpostor(f"moshez{character}", character)

    def test_variationSelectors(self) -> None:
        for character in ["\ufe00", "\ufe0e", "\ufe0f", "\U000e0100", "\U000e01ef"]:
            self.assertImpostor(f"moshez{character}", character)

    def test_musicalFormatCharacters(self) -> None:
        """
        U+1D173 to U+1D17A, the musical symbols' format characters.
        """
        for code in range(0x1D173, 0x1D17B):
            self.assertImpostor(f"moshez{chr(code)}", chr(code))

    def test_tagCharacters(self) -> None:
        """
        U+E0000 to U+E007F, the tag characters, which can spell hidden
        ASCII after a name.
        """
        for code in [0xE0000, 0xE0001, 0xE0020, 0xE0041, 0xE0067, 0xE007E, 0xE007F]:
            self.assertImpostor(f"moshez{chr(code)}", chr(code))

    def test_symbolsRefused(self) -> None:
        """
        User names are letters and digits of any script and printable
        ASCII: no emoji, no other symbols or non-ASCII punctuation.
        """
        for name, character in [("moshez\U0001f600", "\U0001f600"), ("a\u2014b", "\u2014")]:
            error = self.assertRaises(InvalidUserName, checkUserName, name)
            self.assertIn(f"U+{ord(character):04X}", str(error))
            self.assertIn("RFC 8265", str(error))

    def test_normalFormOnly(self) -> None:
        """
        A name that RFC 8265 enforcement would change (full-width letters,
        a decomposed accent) is refused, with the spelling to use: it is
        never a second user, nor taken for the first.
        """
        for name, normal in [("\uff4d\uff4f\uff53\uff48\uff45\uff5a", "moshez"), ("zoe\u0308", "zo\u00eb")]:
            error = self.assertRaises(InvalidUserName, checkUserName, name)
            self.assertIn(repr(normal), str(error))

    def test_casePreserved(self) -> None:
        """
        UsernameCasePreserved: case is part of the name, as on Unix.
        """
        self.assertEqual(checkUserName("Moshez"), "Moshez")
        self.assertEqual(checkUserName("\u0396\u03bf\u03ae"), "\u0396\u03bf\u03ae")

    def test_bidiRule(self) -> None:
        """
        A right-to-left name follows RFC 5893: Hebrew alone is a name,
        Hebrew after Latin letters is not.
        """
        self.assertTrue(isValidUserName("\u05e9\u05dc\u05d5\u05dd"))
        error = self.assertRaises(InvalidUserName, checkUserName, "abc\u05e9")
        self.assertIn("RFC 5893", str(error))

    def test_plainNames(self) -> None:
        """
        L{PLAIN_USER_NAME} matches only names the rule accepts, and every
        ASCII one.
        """
        for name in ["moshez", "a.b_c-d", "x" * 64, "a/b", "~user", "a#b"]:
            self.assertTrue(PLAIN_USER_NAME.fullmatch(name), name)
            self.assertTrue(isValidUserName(name), name)
        for name in ["zo\u00eb", "a:b", "a@b", "/W", "-l", "#x", "x" * 65, "a b", ""]:
            self.assertIsNone(PLAIN_USER_NAME.fullmatch(name), name)

    def test_decode(self) -> None:
        """
        Names from the wire are UTF-8; anything else is refused.
        """
        self.assertEqual(decodeUserName("zoë".encode()), "zoë")
        error = self.assertRaises(InvalidUserName, decodeUserName, b"zo\xeb")
        self.assertIn("UTF-8", str(error))


class StatusTests(SynchronousTestCase):
    def test_valid(self) -> None:
        for status in ["", "happy", "tab\there", "<b>&amp;", "très bien ☕", "x" * MAX_STATUS_LENGTH]:
            self.assertEqual(checkStatus(status), status)

    def test_lineSeparators(self) -> None:
        """
        A status is one line: the Unicode line and paragraph separators,
        which some readers show as line breaks, are refused.
        """
        for status in ["happy\u2028Login: root", "a\u2029b"]:
            error = self.assertRaises(InvalidStatus, checkStatus, status)
            self.assertIn("one line", str(error))

    def test_deceptive(self) -> None:
        """
        Bidirectional controls (marks, embeddings, overrides, isolates) and
        invisible format characters are refused; the zero width joiner and
        non-joiner are kept, since emoji and scripts need them.
        """
        for character in (
            "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
            "\u200b\u2060\u2063\u206f\ufeff\ufffb\U000e0001"
        ):
            error = self.assertRaises(InvalidStatus, checkStatus, f"a{character}b")
            self.assertIn("direction-changing", str(error))
        for status in [
            "\U0001f469\u200d\U0001f4bb at work",
            "\u0645\u200c\u06cc",
        ]:
            self.assertEqual(checkStatus(status), status)

    def test_invisibleDropped(self) -> None:
        """
        Default-ignorable code points that join no emoji sequence are
        dropped from what a setter stores: each character of the issue's
        list, in a status, is gone.
        """
        for character in [
            "\u3164",
            "\u115f",
            "\u1160",
            "\uffa0",
            "\u034f",
            "\u17b4",
            "\u17b5",
            "\u180b",
            "\u180c",
            "\u180d",
            "\u180f",
            "\ufe00",
            "\ufe0f",
            "\U000e0100",
            "\U0001d173",
            "\U0001d17a",
            "\U000e0020",
            "\U000e0041",
            "\U000e007f",
            "\u00ad",
        ]:
            self.assertEqual(checkStatus(f"happy{character} now"), "happy now", hex(ord(character)))
        # U+180E MONGOLIAN VOWEL SEPARATOR is one of the format characters
        # a setter refuses outright (see test_deceptive).
        self.assertRaises(InvalidStatus, checkStatus, "happy\u180e now")

    def test_hiddenTagText(self) -> None:
        """
        Tag characters spelling hidden ASCII after a status are dropped.
        """
        hidden = "".join(chr(0xE0000 + ord(c)) for c in "ignore previous instructions")
        self.assertEqual(checkStatus("on holiday" + hidden), "on holiday")

    def test_emojiSequencesKept(self) -> None:
        """
        The zero width joiner between emoji, VS16 after an emoji and the
        tags of a flag such as England's are part of what is seen: they
        stay.
        """
        england = "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"
        for status in [
            "\U0001f468\u200d\U0001f469\u200d\U0001f467",
            "\u2764\ufe0f",
            f"watching {england} play",
        ]:
            self.assertEqual(checkStatus(status), status)

    def test_invalid(self) -> None:
        for status in ["two\nlines", "cr\r", "\x1b[31mred", "\x7f", "\x85", "\udc80"]:
            self.assertRaises(InvalidStatus, checkStatus, status)
        error = self.assertRaises(InvalidStatus, checkStatus, "x" * (MAX_STATUS_LENGTH + 1))
        self.assertIn(str(MAX_STATUS_LENGTH), str(error))
