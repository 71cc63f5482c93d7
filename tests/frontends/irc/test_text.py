# -*- test-case-name: tests.frontends.irc.test_text -*-
"""
Tests for L{finger.frontends.irc.text}: the names IRC allows, which
messages are questions, and how a reply is cut into lines.
"""

from twisted.trial.unittest import SynchronousTestCase

from finger.frontends.irc.text import (
    CONTINUED,
    MAX_LINE_BYTES,
    Question,
    decodeLine,
    ircLower,
    isValidChannel,
    isValidNickname,
    lineBudget,
    readQuestion,
    replyLines,
    splitUTF8,
)
from finger.messages import CUT_SHORT


class SplitTests(SynchronousTestCase):
    def test_short(self) -> None:
        """A text that fits is one piece."""
        self.assertEqual(list(splitUTF8("happy", 10)), ["happy"])

    def test_atSpaces(self) -> None:
        """Pieces end at spaces, which are dropped."""
        self.assertEqual(list(splitUTF8("one two three", 8)), ["one two", "three"])

    def test_notAtAnEarlySpace(self) -> None:
        """A space early in a piece is not worth a short piece."""
        self.assertEqual(list(splitUTF8("a bcdefghij", 8)), ["a bcdefg", "hij"])

    def test_neverInsideACharacter(self) -> None:
        """Without a space, a piece ends after the last whole character that fits."""
        pieces = list(splitUTF8("☕☕☕", 7))
        self.assertEqual(pieces, ["☕☕", "☕"])
        for piece in pieces:
            self.assertLessEqual(len(piece.encode("utf-8")), 7)


class NamesTests(SynchronousTestCase):
    def test_nicknames(self) -> None:
        """Nicknames follow RFC 2812."""
        for good in ["fingerbot", "a", "[bot]", "bot-2", "x" * 30]:
            self.assertTrue(isValidNickname(good), good)
        for bad in ["", "2bot", "bot bot", "bot:", "-bot", "x" * 31, "zoë"]:
            self.assertFalse(isValidNickname(bad), bad)

    def test_channels(self) -> None:
        """Channels start with a prefix and hold no space, comma or control."""
        for good in ["#finger", "&local", "#zoë", "+x"]:
            self.assertTrue(isValidChannel(good), good)
        for bad in ["finger", "#", "#a b", "#a,b", "#a\x07", "#" + "x" * 50]:
            self.assertFalse(isValidChannel(bad), bad)

    def test_caseMapping(self) -> None:
        """IRC folds []\\~ with {}|^."""
        self.assertEqual(ircLower("Bot[1]\\~"), "bot{1}|^")


class QuestionTests(SynchronousTestCase):
    def test_private(self) -> None:
        """A private message of one word is a question, answered to the asker."""
        self.assertEqual(
            readQuestion("fingerbot", "alice", "fingerbot", " moshez "),
            Question("alice", "", "moshez"),
        )

    def test_channel(self) -> None:
        """
        In a channel, only a message addressed to the bot, in any case,
        after a colon or comma, is a question, answered in the channel.
        """
        for message in ["fingerbot: moshez", "FingerBot,moshez"]:
            self.assertEqual(
                readQuestion("fingerbot", "alice", "#finger", message),
                Question("#finger", "alice: ", "moshez"),
                message,
            )
        for message in ["moshez", "fingerbots: moshez", "fingerbot moshez", "fingerbot:"]:
            self.assertIsNone(readQuestion("fingerbot", "alice", "#finger", message), message)

    def test_notQuestions(self) -> None:
        """Many words, none, or the bot's own message: no question."""
        for asker, message in [("alice", "hello there"), ("alice", "  "), ("FingerBot", "x")]:
            self.assertIsNone(readQuestion("fingerbot", asker, "fingerbot", message), message)

    def test_latin1(self) -> None:
        """A line that is not UTF-8 is read as Latin-1."""
        self.assertEqual(decodeLine("zoë".encode("utf-8")), "zoë")
        self.assertEqual(decodeLine("zoë".encode("latin-1")), "zoë")


class ReplyLinesTests(SynchronousTestCase):
    def test_budget(self) -> None:
        """
        A line's budget leaves room for the longest prefix the server adds,
        the command, the target and CRLF.
        """
        relayed = f":{'n' * 9}!{'u' * 10}@{'h' * 63} PRIVMSG #finger :"
        self.assertEqual(lineBudget("#finger", 9), MAX_LINE_BYTES - 2 - len(relayed))
        self.assertEqual(lineBudget("#finger", 30), lineBudget("#finger", 9) - 21)

    def test_lines(self) -> None:
        """
        The lead goes before the first line; each status line is a line,
        and every line after the first starts with L{CONTINUED}.
        """
        self.assertEqual(
            replyLines("Status of x: ", "one\ntwo\x07\n\nthree", 100, 4),
            ["Status of x: one", "| two", "| ", "| three"],
        )
        self.assertEqual(replyLines("Status of x: ", "", 100, 4), ["Status of x: "])

    def test_cutShort(self) -> None:
        """Past the limit, the last line shown ends with L{CUT_SHORT}, within the budget."""
        lines = replyLines("", "a\nb\nc", 20, 2)
        self.assertEqual(lines, ["a", "| b" + CUT_SHORT])
        for line in replyLines("", "x" * 100, 20, 2):
            self.assertLessEqual(len(line.encode("utf-8")), 20)

    def test_continuedFits(self) -> None:
        """
        A continued line, marker included, fits the budget, and the pieces
        without their markers are the whole text.
        """
        words = " ".join(f"w\u00f6rd{i}" for i in range(200))
        lines = replyLines("Status of x: ", words, 60, 100)
        for line in lines:
            self.assertLessEqual(len(line.encode("utf-8")), 60)
        self.assertTrue(all(line.startswith(CONTINUED) for line in lines[1:]))
        self.assertEqual(
            " ".join([lines[0]] + [line[len(CONTINUED) :] for line in lines[1:]]),
            "Status of x: " + words,
        )

    def test_noLineAddressesAnother(self) -> None:
        """
        Whatever the status, no line of a reply after the first starts with
        a nickname and a colon or comma, or with a command character: not
        a status line of its own (C{othernick: hi}), nor the piece a long
        line is cut before (C{!cmd}).
        """
        lead = "alice: Status of x: "
        for status in [
            "hello\nothernick: hi",
            "hello\nothernick, hi",
            "hello\n!kick bob",
            "hello\n.op mallory",
            "hello\n   @op mallory",
            "hello\n\u3164othernick: hi",
            "x" * 25 + " !cmd now",
            "x" * 25 + " othernick: hi",
            "x" * 25 + " othernick, hi",
        ]:
            lines = replyLines(lead, status, 50, 10)
            self.assertGreater(len(lines), 1, status)
            self.assertTrue(lines[0].startswith(lead))
            for line in lines[1:]:
                self.assertTrue(line.startswith(CONTINUED), line)
                self.assertNotRegex(line, r"^[^\s:,]+[:,]")
                self.assertNotRegex(line, r"^\s*[!.@~$>+&%?;`'^]")

    def test_markerIsSafe(self) -> None:
        """
        L{CONTINUED} is no command character, no nickname a bot could have
        (IRC allows no space in one), and not blank.
        """
        self.assertFalse(isValidNickname(CONTINUED.rstrip(" ") + " "))
        self.assertNotIn(CONTINUED[:1], "!.@~$>+&%?;`'^#/\\- \t")
        self.assertEqual(CONTINUED, CONTINUED.encode("ascii").decode("ascii"))
