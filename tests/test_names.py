"""
Tests for L{finger.names}.
"""

from twisted.trial.unittest import SynchronousTestCase

from finger.names import (
    MAX_STATUS_LENGTH,
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
        for name in ["evil\u202e", "a\u200fb", "a\u2066b", "a\u200bb", "\ufeffa"]:
            self.assertInvalid(name, "direction-changing")
        self.assertTrue(isValidUserName("a\u200db"))

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
            "soft\u00adhyphen",
        ]:
            self.assertEqual(checkStatus(status), status)

    def test_invalid(self) -> None:
        for status in ["two\nlines", "cr\r", "\x1b[31mred", "\x7f", "\x85", "\udc80"]:
            self.assertRaises(InvalidStatus, checkStatus, status)
        error = self.assertRaises(InvalidStatus, checkStatus, "x" * (MAX_STATUS_LENGTH + 1))
        self.assertIn(str(MAX_STATUS_LENGTH), str(error))
