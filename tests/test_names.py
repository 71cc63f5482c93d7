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

    def test_invalid(self) -> None:
        for status in ["two\nlines", "cr\r", "\x1b[31mred", "\x7f", "\x85", "\udc80"]:
            self.assertRaises(InvalidStatus, checkStatus, status)
        error = self.assertRaises(InvalidStatus, checkStatus, "x" * (MAX_STATUS_LENGTH + 1))
        self.assertIn(str(MAX_STATUS_LENGTH), str(error))
