# -*- test-case-name: tests.frontends.irc.test_bot -*-
"""
Tests for L{finger.frontends.irc.bot}: the bot's replies, its nicknames
and its keepalives, on a L{StringTransport} with a L{Clock}.
"""

from twisted.internet.error import ConnectionDone
from twisted.logger import capturedLogs
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from finger.frontends.irc import MAX_LINE_BYTES
from finger.messages import CUT_SHORT, INTERNAL_ERROR, NO_SUCH_USER, NOT_AVAILABLE_YET, TIMED_OUT
from finger.testing import BrokenService, FaultyService, NotYetService
from tests.frontends.irc.helpers import BotTestsMixin


def _relayed(nick: str, line: bytes) -> bytes:
    """
    A line as the server relays it to others: with the longest prefix the
    bot's replies are budgeted for (a 9-character nick, a 10-character user
    name and a 63-character host name).
    """
    return b":" + b"n" * 9 + b"!" + b"u" * 10 + b"@" + b"h" * 63 + b" " + line + b"\r\n"


class ReplyTests(BotTestsMixin, SynchronousTestCase):
    def test_register(self) -> None:
        """The bot signs on with its nickname, then joins its channels."""
        self.factory = self.makeFactory(nickname="fbot")
        self.connect()
        sent = self.sent()
        self.assertEqual(sent[0], b"NICK fbot")
        self.assertTrue(sent[1].startswith(b"USER fbot "), sent)
        self.receive(":irc.test 001 fbot :Welcome")
        self.assertEqual(self.sent(), [b"JOIN #finger"])
        self.assertEqual(self.bot.nickname, "fbot")

    def test_privateMessage(self) -> None:
        """A private message naming a user gets that user's status."""
        self.assertAnswers("moshez", "Status of moshez: happy and well")

    def test_privateMessageSpaces(self) -> None:
        """Blanks around the name do not matter."""
        self.assertAnswers("  shawn ", "Status of shawn: alive")

    def test_unknownUser(self) -> None:
        """An unknown user gets the back-end's answer for unknown users."""
        self.assertAnswers("nobody", f"Status of nobody: {NO_SUCH_USER}")

    def test_invalidName(self) -> None:
        """A name that breaks the name rule is unknown, and never reaches the back-end."""
        self.assertAnswers("/W", "Status of /W: No such user")

    def test_controlCharactersInName(self) -> None:
        """Colour codes and other controls in a name are not echoed."""
        self.signOn()
        self.bot.lineReceived(b":alice!al@example.org PRIVMSG fingerbot :\x0304mos\x02hez\x1b")
        self.assertEqual(self.sent(), [b"PRIVMSG alice :Status of 04moshez: No such user"])

    def test_backendFailure(self) -> None:
        """A back-end failure is logged, and the asker told only that it happened."""
        self.service = BrokenService()
        self.factory = self.makeFactory()
        self.signOn()
        with capturedLogs() as events:
            self.receive(":alice!al@example.org PRIVMSG fingerbot :moshez")
        self.assertEqual(
            self.sent(), [f"PRIVMSG alice :Status of moshez: {INTERNAL_ERROR}".encode()]
        )
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        self.assertTrue(any("Back-end failed" in e["log_format"] for e in events))

    def test_notAvailableYet(self) -> None:
        """
        A back-end that has not read its statuses yet is said so, not as an
        unknown user, and nothing is logged as a failure.
        """
        self.service = NotYetService()
        self.factory = self.makeFactory()
        self.signOn()
        self.receive(":alice!al@example.org PRIVMSG fingerbot :moshez")
        self.assertEqual(
            self.sent(), [f"PRIVMSG alice :Status of moshez: {NOT_AVAILABLE_YET}".encode()]
        )
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_backendNeverAnswers(self) -> None:
        """
        A back-end that never answers is given C{lookupTimeout} seconds, then
        the asker is told so and one warning is logged; others are answered
        meanwhile.
        """
        self.service = FaultyService(stuck=["stuck"], moshez="happy")
        self.factory = self.makeFactory()
        self.signOn()
        with capturedLogs() as events:
            self.receive(":alice!al@example.org PRIVMSG fingerbot :stuck")
            self.clock.advance(self.factory.lookupTimeout - 1)
            self.receive(":bob!b@example.org PRIVMSG fingerbot :moshez")
            self.assertEqual(self.sent(), [b"PRIVMSG bob :Status of moshez: happy"])
            self.clock.advance(1)
        self.assertEqual(self.sent(), [f"PRIVMSG alice :Status of stuck: {TIMED_OUT}".encode()])
        self.assertEqual(self.service.cancelled, ["stuck"])
        self.assertEqual([e["log_level"].name for e in events], ["warn"])
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_manyWordsIgnored(self) -> None:
        """
        A message that is not one word is not a question: no answer, so that
        two bots can never keep each other talking.
        """
        self.signOn()
        self.receive(
            ":alice!al@example.org PRIVMSG fingerbot :hello there",
            ":otherbot!b@example.org PRIVMSG fingerbot :Status of moshez: happy",
            ":alice!al@example.org PRIVMSG fingerbot :   ",
        )
        self.assertEqual(self.sent(), [])

    def test_channelAddressed(self) -> None:
        """
        In a channel, the bot answers a message addressed to it, in the
        channel, addressed to the asker.
        """
        self.signOn()
        self.receive(
            ":alice!al@example.org PRIVMSG #finger :fingerbot: moshez",
            ":bob!b@example.org PRIVMSG #finger :FingerBot,shawn",
        )
        self.assertEqual(
            self.sent(),
            [
                b"PRIVMSG #finger :alice: Status of moshez: happy and well",
                b"PRIVMSG #finger :bob: Status of shawn: alive",
            ],
        )

    def test_channelChatterIgnored(self) -> None:
        """Channel messages not addressed to the bot get no answer."""
        self.signOn()
        self.receive(
            ":alice!al@example.org PRIVMSG #finger :moshez",
            ":alice!al@example.org PRIVMSG #finger :fingerbots: moshez",
            ":alice!al@example.org PRIVMSG #finger :fingerbot moshez",
            ":alice!al@example.org PRIVMSG #finger :fingerbot: what is moshez doing",
            ":alice!al@example.org PRIVMSG #finger :tell fingerbot: moshez",
            ":alice!al@example.org NOTICE fingerbot :moshez",
        )
        self.assertEqual(self.sent(), [])

    def test_ownMessagesIgnored(self) -> None:
        """The bot never answers itself."""
        self.signOn()
        self.receive(":fingerbot!f@example.org PRIVMSG #finger :fingerbot: moshez")
        self.assertEqual(self.sent(), [])

    def test_utf8(self) -> None:
        """Names and statuses travel as UTF-8."""
        self.assertAnswers("zoë", "Status of zoë: à Paris ☕", nick="zoë")

    def test_latin1(self) -> None:
        """A line that is not UTF-8 is read as Latin-1, not dropped and not fatal."""
        self.signOn()
        self.bot.dataReceived(b":zoe!z@example.org PRIVMSG fingerbot :zo\xeb\r\n")
        self.assertEqual(self.sent(), ["PRIVMSG zoe :Status of zoë: à Paris ☕".encode("utf-8")])
        self.assertFalse(self.transport.disconnecting)

    def test_controlCharactersInStatus(self) -> None:
        """Control characters in a status never reach IRC; its lines become messages."""
        self.service.users["mallory"] = "\x1b[31mred\x03 \x02bold\x07\nsecond\rthird"
        self.signOn()
        self.receive(":alice!al@example.org PRIVMSG fingerbot :mallory")
        self.assertEqual(
            self.sent(),
            [
                b"PRIVMSG alice :Status of mallory: [31mred bold",
                b"PRIVMSG alice :| second",
                b"PRIVMSG alice :| third",
            ],
        )

    def test_longStatusSplit(self) -> None:
        """
        A long status is split into lines that fit in 512 bytes as the server
        relays them, at spaces, and nothing is lost.
        """
        words = ["wörd☕%d" % i for i in range(100)]
        self.service.users["long"] = " ".join(words)
        self.signOn()
        self.receive(":alice!al@example.org PRIVMSG #finger :fingerbot: long")
        sent = self.sent()
        self.assertGreater(len(sent), 1)
        self.assertLessEqual(len(sent), self.factory.maxReplyLines)
        texts = []
        for index, line in enumerate(sent):
            self.assertLessEqual(len(_relayed("fingerbot", line)), MAX_LINE_BYTES)
            start = b"PRIVMSG #finger :" + (b"| " if index else b"")
            self.assertTrue(line.startswith(start), line)
            texts.append(line[len(start) :].decode("utf-8"))
        self.assertEqual(" ".join(texts), "alice: Status of long: " + " ".join(words))

    def test_longWordSplit(self) -> None:
        """A status with no spaces is split between characters, never inside one."""
        self.service.users["cups"] = "☕" * 300
        self.signOn()
        self.receive(":alice!al@example.org PRIVMSG fingerbot :cups")
        sent = self.sent()
        self.assertEqual(len(sent), 3)
        prefixes = [b"PRIVMSG alice :", b"PRIVMSG alice :| ", b"PRIVMSG alice :| "]
        for prefix, line in zip(prefixes, sent):
            self.assertTrue(line.startswith(prefix), line)
        joined = "".join(
            line[len(prefix) :].decode("utf-8") for prefix, line in zip(prefixes, sent)
        )
        self.assertEqual(joined, "Status of cups: " + "☕" * 300)
        for line in sent:
            self.assertLessEqual(len(_relayed("fingerbot", line)), MAX_LINE_BYTES)

    def test_longStatusTruncated(self) -> None:
        """Past C{maxReplyLines} lines, the reply is cut and marked."""
        self.service.users["huge"] = "\n".join("line %d" % i for i in range(10))
        self.factory = self.makeFactory(maxReplyLines=3)
        self.signOn()
        self.receive(":alice!al@example.org PRIVMSG fingerbot :huge")
        self.assertEqual(
            self.sent(),
            [
                b"PRIVMSG alice :Status of huge: line 0",
                b"PRIVMSG alice :| line 1",
                b"PRIVMSG alice :| line 2" + CUT_SHORT.encode(),
            ],
        )

    def test_longLineTruncated(self) -> None:
        """A truncated last line still fits, marker included."""
        self.service.users["huge"] = "ü" * 2000
        self.signOn()
        self.receive(":alice!al@example.org PRIVMSG fingerbot :huge")
        sent = self.sent()
        self.assertEqual(len(sent), self.factory.maxReplyLines)
        self.assertTrue(sent[-1].endswith(CUT_SHORT.encode()))
        for line in sent:
            line.decode("utf-8")
            self.assertLessEqual(len(_relayed("fingerbot", line)), MAX_LINE_BYTES)

    def test_ctcpVersion(self) -> None:
        """CTCP VERSION is answered; other CTCP queries are not."""
        self.signOn()
        self.receive(
            ":alice!al@example.org PRIVMSG fingerbot :\x01VERSION\x01",
            ":alice!al@example.org PRIVMSG fingerbot :\x01USERINFO\x01",
            ":alice!al@example.org PRIVMSG fingerbot :\x01DCC SEND x 1 2 3\x01",
        )
        sent = self.sent()
        self.assertEqual(len(sent), 1)
        self.assertTrue(sent[0].startswith(b"NOTICE alice :\x01VERSION finger:"), sent)

    def test_serverPing(self) -> None:
        """The bot answers the server's PING."""
        self.signOn()
        self.receive("PING :irc.test")
        self.assertEqual(self.sent(), [b"PONG irc.test"])

    def test_noticesNeverAnswered(self) -> None:
        """
        A notice is never answered, however much it looks like a question:
        bots answer each other's notices with nothing, so none loops.
        """
        self.signOn()
        for target, text in [
            ("fingerbot", "moshez"),
            ("#finger", "fingerbot: moshez"),
            ("fingerbot", "\x01VERSION\x01"),
        ]:
            self.receive(f":alice!al@example.org NOTICE {target} :{text}")
            self.assertEqual(self.sent(), [], text)

    def test_leavingCancelsLookups(self) -> None:
        """
        When the connection goes, lookups still under way are cancelled,
        their timeouts with them, and nothing is logged as an error.
        """
        self.service = FaultyService(stuck=["stuck"], moshez="happy")
        self.factory = self.makeFactory()
        self.signOn()
        self.receive(":alice!al@example.org PRIVMSG fingerbot :stuck")
        self.bot.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(self.service.cancelled, ["stuck"])
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual(self.sent(), [])
        self.assertEqual(self.flushLoggedErrors(), [])


class NicknameTests(BotTestsMixin, SynchronousTestCase):
    # Keepalives are not what these tests are about.
    settings = {**BotTestsMixin.settings, "heartbeatInterval": 3600.0, "idleTimeout": 7200.0}

    def test_collision(self) -> None:
        """A nickname in use is numbered, within nine characters."""
        self.connect()
        self.sent()
        self.receive(":irc.test 433 * fingerbot :Nickname is already in use")
        self.assertEqual(self.sent(), [b"NICK fingerbo1"])
        self.receive(":irc.test 433 * fingerbo1 :Nickname is already in use")
        self.assertEqual(self.sent(), [b"NICK fingerbo2"])
        self.receive(":irc.test 001 fingerbo2 :Welcome")
        self.sent()
        self.assertEqual(self.bot.nickname, "fingerbo2")
        self.receive(":alice!al@example.org PRIVMSG #finger :fingerbo2: shawn")
        self.assertEqual(self.sent(), [b"PRIVMSG #finger :alice: Status of shawn: alive"])

    def test_shortNickname(self) -> None:
        """A short nickname gets a number added."""
        self.factory = self.makeFactory(nickname="fb")
        self.connect()
        self.sent()
        self.receive(":irc.test 433 * fb :Nickname is already in use")
        self.assertEqual(self.sent(), [b"NICK fb1"])

    def test_unavailable(self) -> None:
        """A nickname that is temporarily unavailable is treated the same."""
        self.connect()
        self.sent()
        self.receive(":irc.test 437 * fingerbot :Nick/channel is temporarily unavailable")
        self.assertEqual(self.sent(), [b"NICK fingerbo1"])

    def test_erroneous(self) -> None:
        """
        A nickname the server refuses falls back to C{fingerbot}; if that is
        refused too, the bot gives up on this connection.
        """
        self.factory = self.makeFactory(nickname="verylongnickname")
        self.connect()
        self.sent()
        self.receive(":irc.test 432 * verylongnickname :Erroneous nickname")
        self.assertEqual(self.sent(), [b"NICK fingerbot"])
        self.assertFalse(self.transport.disconnecting)
        self.receive(":irc.test 432 * fingerbot :Erroneous nickname")
        self.assertTrue(self.transport.disconnecting)

    def signOnAsSecond(self) -> None:
        """
        Sign on as C{fingerbo1}: C{fingerbot} is taken.
        """
        self.connect()
        self.receive(":irc.test 433 * fingerbot :Nickname is already in use")
        self.receive(":irc.test 001 fingerbo1 :Welcome")
        self.sent()

    def test_regain(self) -> None:
        """
        A bot that signed on under another nickname asks every
        C{regainInterval} seconds whether its own is free, takes it back
        once it is, and then stops asking.
        """
        self.signOnAsSecond()
        self.clock.advance(self.factory.regainInterval)
        self.assertEqual(self.sent(), [b"ISON fingerbot"])
        self.receive(":irc.test 303 fingerbo1 :FingerBot")
        self.assertEqual(self.sent(), [])
        self.clock.advance(self.factory.regainInterval)
        self.assertEqual(self.sent(), [b"ISON fingerbot"])
        with capturedLogs() as events:
            self.receive(":irc.test 303 fingerbo1 :")
            self.assertEqual(self.sent(), [b"NICK fingerbot"])
            self.receive(":fingerbo1!f@example.org NICK :fingerbot")
        self.assertEqual(self.bot.nickname, "fingerbot")
        self.assertTrue(any("Took back" in e["log_format"] for e in events))
        self.receive(":alice!al@example.org PRIVMSG #finger :fingerbot: shawn")
        self.assertEqual(self.sent(), [b"PRIVMSG #finger :alice: Status of shawn: alive"])
        self.clock.advance(self.factory.regainInterval * 3)
        self.assertNotIn(b"ISON fingerbot", self.sent())

    def test_regainLost(self) -> None:
        """
        When someone else takes the nickname between the answer to C{ISON}
        and the bot's C{NICK}, the bot keeps the one it has, and asks again
        later.
        """
        self.signOnAsSecond()
        self.clock.advance(self.factory.regainInterval)
        self.receive(":irc.test 303 fingerbo1 :")
        self.assertEqual(self.sent(), [b"ISON fingerbot", b"NICK fingerbot"])
        self.receive(":irc.test 433 fingerbo1 fingerbot :Nickname is already in use")
        self.assertEqual(self.sent(), [])
        self.assertEqual(self.bot.nickname, "fingerbo1")
        self.clock.advance(self.factory.regainInterval)
        self.assertEqual(self.sent(), [b"ISON fingerbot"])

    def test_oneQuestionAtATime(self) -> None:
        """
        The bot does not ask C{ISON} again before the server answered: a
        slow server does not get a backlog of questions.
        """
        self.signOnAsSecond()
        self.clock.advance(self.factory.regainInterval)
        self.assertEqual(self.sent(), [b"ISON fingerbot"])
        self.clock.advance(self.factory.regainInterval)
        self.assertEqual(self.sent(), [])
        self.receive(":irc.test 303 fingerbo1 :fingerbot")
        self.clock.advance(self.factory.regainInterval)
        self.assertEqual(self.sent(), [b"ISON fingerbot"])

    def test_ownNicknameNotAskedFor(self) -> None:
        """A bot that has its own nickname never asks whether it is free."""
        self.signOn()
        self.clock.advance(self.factory.regainInterval * 3)
        self.assertNotIn(b"ISON fingerbot", self.sent())

    def test_refusedNicknameNotAskedFor(self) -> None:
        """A bot never asks again for a nickname the server refused as erroneous."""
        self.factory = self.makeFactory(nickname="verylongnickname")
        self.connect()
        self.receive(":irc.test 432 * verylongnickname :Erroneous nickname")
        self.receive(":irc.test 001 fingerbot :Welcome")
        self.sent()
        self.clock.advance(self.factory.regainInterval * 3)
        self.assertNotIn(b"ISON verylongnickname", self.sent())

    def test_regainStopsWithTheConnection(self) -> None:
        """When the connection goes, the bot stops asking for its nickname."""
        self.signOnAsSecond()
        self.bot.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(self.clock.getDelayedCalls(), [])


class KeepaliveTests(BotTestsMixin, SynchronousTestCase):
    def test_ping(self) -> None:
        """Once signed on, the bot pings the server every C{heartbeatInterval} seconds."""
        self.signOn()
        self.clock.advance(self.factory.heartbeatInterval)
        self.assertEqual(self.sent(), [b"PING irc.test"])

    def test_deadLink(self) -> None:
        """A server silent for C{idleTimeout} seconds is taken for gone."""
        self.signOn()
        self.clock.advance(self.factory.idleTimeout - 1)
        self.receive("PING :irc.test")
        self.clock.advance(self.factory.idleTimeout - 1)
        self.assertFalse(self.transport.disconnecting)
        with capturedLogs() as events:
            self.clock.advance(1)
        self.assertTrue(self.transport.disconnecting)
        self.assertTrue(any("Nothing heard" in e["log_format"] for e in events))
