# -*- test-case-name: tests.frontends.test_irc -*-
"""
Tests for L{finger.frontends.irc}: the bot's replies, its rate limit, its
turns between askers and keepalives (on a L{Clock}), its nicknames, and its
reconnection under L{ClientService}.
"""

import os
from typing import Any, Dict, List, Optional

from twisted.application.internet import ClientService
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import clientFromString, connectProtocol
from twisted.internet.error import ConnectError, ConnectionDone, ConnectionRefusedError
from twisted.internet.protocol import ProcessProtocol
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.logger import capturedLogs, globalLogPublisher
from twisted.protocols.basic import LineReceiver
from twisted.python import usage
from twisted.python.failure import Failure
from twisted.trial.unittest import SkipTest, SynchronousTestCase, TestCase
from zope.interface.verify import verifyObject

from finger.app import tap
from finger.lookup import LOOKUP_TIMEOUT
from finger.interfaces import IIRCClientFactory
from finger.messages import CUT_SHORT, INTERNAL_ERROR, NO_SUCH_USER, TIMED_OUT
from finger.frontends.irc import (
    MAX_ASKERS,
    MAX_LINE_BYTES,
    IRCClientFactoryFromService,
    IRCReplyBot,
    ircLower,
    isValidChannel,
    isValidNickname,
    splitUTF8,
)
from finger.backends.memory import MemoryFingerService
from tests.certs import selfSigned
from tests.running import startFinger
from finger.testing import BrokenService, FaultyService
from tests.support import freePort, waitFor, which


def _relayed(nick: str, line: bytes) -> bytes:
    """
    A line as the server relays it to others: with the longest prefix the
    bot's replies are budgeted for (a 9-character nick, a 10-character user
    name and a 63-character host name).
    """
    return b":" + b"n" * 9 + b"!" + b"u" * 10 + b"@" + b"h" * 63 + b" " + line + b"\r\n"


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


class BotTestsMixin:
    """
    Set up a bot on a L{StringTransport} with a L{Clock}.

    @cvar settings: the factory's settings for every test of the class.
    """

    # Tests of replies are not about the rate limit.
    settings: Dict[str, Any] = {"channels": ["#finger"], "burst": 1000}

    def setUp(self) -> None:
        self.service = MemoryFingerService(
            moshez="happy and well", shawn="alive", **{"zoë": "à Paris ☕"}
        )
        self.clock = Clock()
        self.factory = self.makeFactory()

    def makeFactory(
        self, service: Optional[MemoryFingerService] = None, **settings: Any
    ) -> IRCClientFactoryFromService:
        """
        A factory on the test's clock, with the class's C{settings} and then
        C{settings}.
        """
        return IRCClientFactoryFromService(
            self.service if service is None else service,
            clock=self.clock,
            **{**self.settings, **settings},
        )

    def connect(self) -> IRCReplyBot:
        self.transport = StringTransport()
        self.bot = self.factory.buildProtocol(None)
        self.bot.makeConnection(self.transport)
        return self.bot

    def receive(self, *lines: str) -> None:
        self.bot.dataReceived(b"".join(line.encode("utf-8") + b"\r\n" for line in lines))

    def sent(self) -> List[bytes]:
        """
        The lines sent since the last call, without their CRLF.
        """
        value = self.transport.value()
        self.transport.clear()
        self.assertTrue(value == b"" or value.endswith(b"\r\n"), value)
        return value.split(b"\r\n")[:-1]

    def signOn(self) -> None:
        self.connect()
        self.receive(":irc.test 001 fingerbot :Welcome to the test network")
        self.sent()


class ReplyTests(BotTestsMixin, SynchronousTestCase):
    def test_interface(self) -> None:
        """The adapter provides L{IIRCClientFactory}."""
        factory = IIRCClientFactory(self.service)
        self.assertIsInstance(factory, IRCClientFactoryFromService)
        self.assertTrue(verifyObject(IIRCClientFactory, factory))

    def test_adapterDefaults(self) -> None:
        """
        The adapter is the factory with its default settings: as
        C{twistd finger} without options would build it.
        """
        factory = IIRCClientFactory(self.service)
        self.assertEqual(
            (factory.nickname, factory.channels, factory.maxDelay, factory.lookupTimeout),
            ("fingerbot", [], 60.0, LOOKUP_TIMEOUT),
        )
        self.assertEqual((factory.burst, factory.lineRate, factory.maxQueuedLines), (4, 1.0, 40))

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
        self.signOn()
        self.receive(":alice!al@example.org PRIVMSG fingerbot :moshez")
        self.assertEqual(self.sent(), [b"PRIVMSG alice :Status of moshez: happy and well"])

    def test_privateMessageSpaces(self) -> None:
        """Blanks around the name do not matter."""
        self.signOn()
        self.receive(":alice!al@example.org PRIVMSG fingerbot :  shawn ")
        self.assertEqual(self.sent(), [b"PRIVMSG alice :Status of shawn: alive"])

    def test_unknownUser(self) -> None:
        """An unknown user gets the back-end's answer for unknown users."""
        self.signOn()
        self.receive(":alice!al@example.org PRIVMSG fingerbot :nobody")
        self.assertEqual(self.sent(), [f"PRIVMSG alice :Status of nobody: {NO_SUCH_USER}".encode()])

    def test_invalidName(self) -> None:
        """A name that breaks the name rule is unknown, and never reaches the back-end."""
        self.signOn()
        self.receive(":alice!al@example.org PRIVMSG fingerbot :/W")
        self.assertEqual(self.sent(), [b"PRIVMSG alice :Status of /W: No such user"])

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
        self.signOn()
        self.receive(":zoë!z@example.org PRIVMSG fingerbot :zoë")
        self.assertEqual(self.sent(), ["PRIVMSG zoë :Status of zoë: à Paris ☕".encode("utf-8")])

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
                b"PRIVMSG alice :second",
                b"PRIVMSG alice :third",
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
        for line in sent:
            self.assertLessEqual(len(_relayed("fingerbot", line)), MAX_LINE_BYTES)
            self.assertTrue(line.startswith(b"PRIVMSG #finger :"), line)
            texts.append(line[len(b"PRIVMSG #finger :") :].decode("utf-8"))
        self.assertEqual(" ".join(texts), "alice: Status of long: " + " ".join(words))

    def test_longWordSplit(self) -> None:
        """A status with no spaces is split between characters, never inside one."""
        self.service.users["cups"] = "☕" * 300
        self.signOn()
        self.receive(":alice!al@example.org PRIVMSG fingerbot :cups")
        sent = self.sent()
        self.assertEqual(len(sent), 3)
        prefix = b"PRIVMSG alice :"
        joined = "".join(line[len(prefix) :].decode("utf-8") for line in sent)
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
                b"PRIVMSG alice :line 1",
                b"PRIVMSG alice :line 2" + CUT_SHORT.encode(),
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


class RateTests(BotTestsMixin, SynchronousTestCase):
    settings = {"burst": 4, "lineRate": 2.0}

    def ask(self, count: int, asker: str = "alice", user: str = "moshez") -> None:
        for _ in range(count):
            self.receive(f":{asker}!a@example.org PRIVMSG fingerbot :{user}")

    def test_burstThenRate(self) -> None:
        """
        Up to C{burst} lines go at once, then one every C{lineRate} seconds,
        in order.
        """
        self.connect()
        self.assertEqual(len(self.sent()), 2)  # NICK and USER
        self.receive(":irc.test 001 fingerbot :Welcome")
        self.ask(5)
        self.assertEqual(len(self.sent()), 2)
        self.assertEqual(self.bot.queued, 3)
        self.clock.advance(1.9)
        self.assertEqual(self.sent(), [])
        self.clock.advance(0.1)
        self.assertEqual(len(self.sent()), 1)
        self.clock.advance(2.0)
        self.assertEqual(len(self.sent()), 1)
        self.receive("PING :irc.test")
        self.clock.advance(2.0)
        self.clock.advance(2.0)
        self.assertEqual(
            self.sent(),
            [b"PRIVMSG alice :Status of moshez: happy and well", b"PONG irc.test"],
        )
        self.assertEqual(self.bot.queued, 0)
        self.assertIsNone(self.bot._pumping)

    def test_refill(self) -> None:
        """After a quiet spell, the full burst is available again."""
        self.connect()
        self.receive(":irc.test 001 fingerbot :Welcome")
        self.sent()
        self.clock.advance(100)
        self.ask(6)
        self.assertEqual(len(self.sent()), 4)

    def test_flood(self) -> None:
        """
        A flood of questions does not grow the queue past
        C{maxQueuedLines}: the replies that do not fit are dropped, and the
        drop logged once.
        """
        self.connect()
        self.receive(":irc.test 001 fingerbot :Welcome")
        with capturedLogs() as events:
            # From many askers: each one's share of the queue is smaller.
            for i in range(200):
                self.ask(1, asker=f"user{i % 50}")
        self.assertEqual(self.bot.queued, self.factory.maxQueuedLines)
        warnings = [e for e in events if "dropping" in e["log_format"]]
        self.assertEqual(len(warnings), 1)
        # Once the queue drains, questions are answered again.
        self.clock.pump([self.factory.lineRate] * self.factory.maxQueuedLines)
        self.sent()
        self.assertEqual(self.bot.queued, 0)
        self.ask(1)
        self.clock.advance(self.factory.lineRate)
        self.assertEqual(self.sent(), [b"PRIVMSG alice :Status of moshez: happy and well"])

    def test_connectionLostStopsTimers(self) -> None:
        """When the connection goes, so do the queue and every timer."""
        self.connect()
        self.receive(":irc.test 001 fingerbot :Welcome")
        self.ask(10)
        self.bot.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual(self.bot.queued, 0)
        self.ask(1)
        self.assertEqual(self.bot.queued, 0)

    def test_turns(self) -> None:
        """
        Askers take turns: one asker's many questions do not hold up
        another's answer behind all of theirs.
        """
        self.signOn()
        self.ask(5, "alice", "moshez")
        self.ask(1, "bob", "shawn")
        self.assertEqual(self.sent(), [b"PRIVMSG alice :Status of moshez: happy and well"] * 2)
        self.clock.advance(self.factory.lineRate * 2)
        self.assertEqual(
            self.sent(),
            [
                b"PRIVMSG alice :Status of moshez: happy and well",
                b"PRIVMSG bob :Status of shawn: alive",
            ],
        )
        self.clock.advance(self.factory.lineRate * 2)
        self.assertEqual(self.sent(), [b"PRIVMSG alice :Status of moshez: happy and well"] * 2)

    def test_replyKeptWhole(self) -> None:
        """A turn is one whole reply: its lines are never interleaved with another's."""
        self.service.users["long"] = "one\ntwo\nthree\nfour"
        self.signOn()
        self.receive(":alice!a@example.org PRIVMSG #finger :fingerbot: long")
        self.receive(":bob!b@example.org PRIVMSG #finger :fingerbot: shawn")
        self.clock.advance(self.factory.lineRate * 10)
        self.assertEqual(
            self.sent(),
            [
                b"PRIVMSG #finger :alice: Status of long: one",
                b"PRIVMSG #finger :two",
                b"PRIVMSG #finger :three",
                b"PRIVMSG #finger :four",
                b"PRIVMSG #finger :bob: Status of shawn: alive",
            ],
        )

    def test_askerShare(self) -> None:
        """
        No asker has more than C{maxQueuedPerAsker} lines waiting: their
        other replies are dropped, and others' still find room.
        """
        self.factory = self.makeFactory(maxQueuedPerAsker=2)
        self.signOn()
        self.ask(5, "alice", "moshez")
        self.ask(1, "bob", "shawn")
        self.assertEqual(len(self.sent()), 2)
        self.assertEqual(self.bot.queued, 3)
        self.clock.advance(self.factory.lineRate * 10)
        self.assertEqual(
            self.sent(),
            [
                b"PRIVMSG alice :Status of moshez: happy and well",
                b"PRIVMSG bob :Status of shawn: alive",
                b"PRIVMSG alice :Status of moshez: happy and well",
            ],
        )

    def test_askerRate(self) -> None:
        """
        An asker may ask C{askerBurst} questions at once, then one every
        C{askerInterval} seconds; the others are ignored, and that logged
        once.  Other askers are not held to the first one's rate.
        """
        self.factory = self.makeFactory(burst=1000)
        self.signOn()
        with capturedLogs() as events:
            self.ask(self.factory.askerBurst + 3, "alice", "moshez")
        self.assertEqual(len(self.sent()), self.factory.askerBurst)
        warnings = [e for e in events if "Too many questions from" in e["log_format"]]
        self.assertEqual(len(warnings), 1)
        self.ask(1, "bob", "shawn")
        self.assertEqual(self.sent(), [b"PRIVMSG bob :Status of shawn: alive"])
        self.clock.advance(self.factory.askerInterval)
        self.ask(2, "alice", "moshez")
        self.assertEqual(self.sent(), [b"PRIVMSG alice :Status of moshez: happy and well"])

    def test_askersForgotten(self) -> None:
        """
        The bot remembers the rates of at most L{MAX_ASKERS} askers: past
        that, it forgets the oldest, so a flood of nicknames cannot grow
        its memory without end.
        """
        self.factory = self.makeFactory(burst=10 * MAX_ASKERS)
        self.signOn()
        self.ask(self.factory.askerBurst, "alice", "moshez")
        self.ask(1, "alice", "moshez")
        self.assertEqual(len(self.sent()), self.factory.askerBurst)
        for i in range(MAX_ASKERS):
            self.ask(1, f"user{i}", "shawn")
        self.assertEqual(len(self.sent()), MAX_ASKERS)
        self.ask(1, "alice", "moshez")
        self.assertEqual(self.sent(), [b"PRIVMSG alice :Status of moshez: happy and well"])


class TwoBotsTests(SynchronousTestCase):
    """
    Two bots on one network, relayed to each other in memory.
    """

    def test_botsStopAnsweringEachOther(self) -> None:
        """
        Two bots whose answers end in a one-word line (a question, to the
        other) soon stop answering each other: each takes only a few
        questions at a time from one asker.
        """
        clock = Clock()
        service = MemoryFingerService()
        service.users.update(ping="the ball\npong", pong="the ball\nping")
        bots: Dict[str, IRCReplyBot] = {}
        transports: Dict[str, StringTransport] = {}
        for nick in ["abot", "bbot"]:
            factory = IRCClientFactoryFromService(service, nickname=nick, clock=clock)
            bots[nick] = factory.buildProtocol(None)
            transports[nick] = StringTransport()
            bots[nick].makeConnection(transports[nick])
            bots[nick].dataReceived(f":irc.test 001 {nick} :Welcome\r\n".encode())
        # The spark: abot hears a question from bbot.
        bots["abot"].dataReceived(b":bbot!b@example.org PRIVMSG abot :ping\r\n")
        relayed: List[float] = []
        for _ in range(600):
            clock.advance(1)
            for nick, transport in transports.items():
                lines = transport.value().split(b"\r\n")[:-1]
                transport.clear()
                for line in lines:
                    command, target = (line.decode().split(" ") + [""])[:2]
                    if command == "PRIVMSG" and target in bots:
                        relayed.append(clock.seconds())
                        bots[target].lineReceived(f":{nick}!b@example.org ".encode() + line)
        self.assertGreater(len(relayed), 4)
        self.assertLess(relayed[-1], 120)


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


class ReconnectTests(SynchronousTestCase):
    """
    The bot under L{ClientService}, on a L{MemoryReactorClock}.
    """

    def setUp(self) -> None:
        self.reactor = MemoryReactorClock()
        self.factory = IRCClientFactoryFromService(
            MemoryFingerService(moshez="happy"),
            clock=self.reactor,
            jitter=lambda: 0.0,
            maxDelay=10.0,
        )
        self.service = ClientService(
            clientFromString(self.reactor, "tcp:host=127.0.0.1:port=6667"),
            self.factory,
            retryPolicy=self.factory.retryDelay,
            clock=self.reactor,
        )
        self.service.startService()
        self.addCleanup(self.service.stopService)

    def attempts(self) -> int:
        return len(self.reactor.tcpClients)

    def accept(self, signOn: bool = True) -> StringTransport:
        """
        Complete the latest connection attempt, and sign on.
        """
        host, port, factory, timeout, bindAddress = self.reactor.tcpClients[-1]
        self.assertEqual((host, port), ("127.0.0.1", 6667))
        self.protocol = factory.buildProtocol(None)
        transport = StringTransport()
        self.protocol.makeConnection(transport)
        if signOn:
            self.protocol.dataReceived(b":irc.test 001 fingerbot :Welcome\r\n")
        return transport

    def refuse(self) -> None:
        connector = self.reactor.connectors[-1]
        host, port, factory, timeout, bindAddress = self.reactor.tcpClients[-1]
        factory.clientConnectionFailed(connector, Failure(ConnectionRefusedError()))

    def lose(self) -> None:
        self.protocol.connectionLost(Failure(ConnectionDone()))

    def waitsFor(self, delay: float) -> None:
        """
        The next attempt comes C{delay} seconds from now, and not before.
        """
        before = self.attempts()
        self.reactor.advance(delay - 0.01)
        self.assertEqual(self.attempts(), before)
        self.reactor.advance(0.01)
        self.assertEqual(self.attempts(), before + 1)

    def test_backoff(self) -> None:
        """Failed attempts are retried with growing delays, up to C{maxDelay}."""
        self.assertEqual(self.attempts(), 1)
        delays = []
        for i in range(8):
            self.refuse()
            delays.append(self.factory.retryDelay(i + 1))
            self.waitsFor(delays[-1])
        self.assertEqual(delays[:3], [1.5, 2.25, 3.375])
        self.assertEqual(delays[-1], 10.0)

    def test_reconnectAfterLongSession(self) -> None:
        """
        After a session that lasted, the bot comes back after the first
        delay and signs on again.
        """
        self.accept()
        self.reactor.advance(self.factory.stableAfter)
        self.lose()
        self.waitsFor(1.5)
        transport = self.accept(signOn=False)
        self.assertIn(b"NICK fingerbot\r\n", transport.value())

    def test_shortSessionsBackOff(self) -> None:
        """
        A server that accepts the bot and drops it at once is retried with
        growing delays too, though each TCP connection succeeded.
        """
        self.accept(signOn=False)
        self.lose()
        self.waitsFor(2.25)
        self.accept()
        self.lose()
        self.waitsFor(3.375)
        self.accept()
        self.reactor.advance(self.factory.stableAfter)
        self.lose()
        self.waitsFor(1.5)


class _Ngircd(ProcessProtocol):
    """
    An ngircd process in the foreground: its output, and when it ended.
    """

    def __init__(self) -> None:
        self.output: List[bytes] = []
        self.ended: "Deferred[None]" = Deferred()

    def outReceived(self, data: bytes) -> None:
        self.output.append(data)

    errReceived = outReceived

    def processEnded(self, reason: Failure) -> None:
        self.ended.callback(None)


class _Tester(LineReceiver):
    """
    A person on IRC, speaking the protocol by hand.
    """

    delimiter = b"\r\n"

    def __init__(self, nickname: str) -> None:
        self.nickname = nickname
        self.lines: List[bytes] = []
        self.closed: "Deferred[None]" = Deferred()

    def connectionMade(self) -> None:
        self.sendLine(b"NICK " + self.nickname.encode())
        self.sendLine(b"USER " + self.nickname.encode() + b" 0 * :finger tests")

    def lineReceived(self, line: bytes) -> None:
        if line.startswith(b"PING "):
            self.sendLine(b"PONG " + line[5:])
        self.lines.append(line)

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        self.closed.callback(None)

    def say(self, target: str, text: str) -> None:
        self.sendLine(f"PRIVMSG {target} :{text}".encode("utf-8"))

    def heard(self, sender: str, suffix: str) -> bool:
        """
        Has a line from C{sender} ending with C{suffix} come?
        """
        prefix = f":{sender}!".encode()
        wanted = suffix.encode("utf-8")
        return any(line.startswith(prefix) and line.endswith(wanted) for line in self.lines)


class IRCServerIntegrationTests(TestCase):
    """
    The bot, run by C{makeService} with C{--ircserver 127.0.0.1:PORT},
    against a real IRC server (Debian's ngircd) on loopback.
    """

    timeout = 90

    def setUp(self) -> None:
        self.ngircd = which("ngircd")
        if self.ngircd is None:
            raise SkipTest(
                "ngircd is not installed (apt-get install ngircd); "
                "it is the IRC server this test needs"
            )
        self.port = freePort()
        self.directory = os.path.abspath(self.mktemp())
        os.makedirs(self.directory)
        # ngircd started as root runs as nobody: let it write its pid file.
        os.chmod(self.directory, 0o777)
        self.tlsPort = freePort()
        self.roots = os.path.join(self.directory, "roots")
        os.makedirs(self.roots)
        cert, key = selfSigned()
        with open(os.path.join(self.directory, "key.pem"), "wb") as f:
            f.write(key)
        with open(os.path.join(self.directory, "cert.pem"), "wb") as f:
            f.write(cert)
        with open(os.path.join(self.roots, "cert.pem"), "wb") as f:
            f.write(cert)
        # Readable by nobody too: a throwaway key for a throwaway server.
        os.chmod(os.path.join(self.directory, "key.pem"), 0o644)
        self.config = os.path.join(self.directory, "ngircd.conf")
        with open(self.config, "w") as f:
            f.write(
                "[Global]\n"
                "Name = irc.finger.test\n"
                "Info = finger tests\n"
                "AdminInfo1 = finger tests\n"
                "AdminInfo2 = loopback only\n"
                "AdminEMail = root@localhost\n"
                # 127.0.0.2 too: an address the certificate does not name.
                "Listen = 127.0.0.1,127.0.0.2\n"
                f"Ports = {self.port}\n"
                "MotdPhrase = finger tests\n"
                f"PidFile = {self.directory}/ngircd.pid\n"
                "[Limits]\n"
                "MaxConnectionsIP = 0\n"
                "[Options]\n"
                "DNS = no\n"
                "Ident = no\n"
                "PAM = no\n"
                "[SSL]\n"
                f"CertFile = {self.directory}/cert.pem\n"
                f"KeyFile = {self.directory}/key.pem\n"
                f"Ports = {self.tlsPort}\n"
            )
        self.server: Optional[_Ngircd] = None

    async def startServer(self) -> None:
        """
        Start ngircd and wait until it accepts connections.
        """
        self.server = _Ngircd()
        reactor.spawnProcess(
            self.server, self.ngircd, [self.ngircd, "-n", "-f", self.config], env=os.environ
        )
        self.addCleanup(self.stopServer, self.server)
        server = self.server

        async def accepts() -> Optional[_Tester]:
            try:
                return await self.connectTester("probe")
            except ConnectError:
                if server.ended.called:
                    raise AssertionError("ngircd ended") from None
                return None

        try:
            probe = await waitFor(reactor, accepts, "ngircd to start", timeout=15, interval=0.1)
        except AssertionError as e:
            output = b"".join(server.output).decode("utf-8", "replace")
            self.fail(f"ngircd did not start ({e}):\n{output}")
        probe.transport.loseConnection()
        await probe.closed

    async def stopServer(self, server: _Ngircd) -> None:
        if not server.ended.called:
            server.transport.signalProcess("TERM")
            await server.ended

    async def connectTester(self, nickname: str) -> _Tester:
        tester = _Tester(nickname)
        endpoint = clientFromString(reactor, f"tcp:host=127.0.0.1:port={self.port}:timeout=5")
        await connectProtocol(endpoint, tester)
        return tester

    async def ask(
        self, tester: _Tester, target: str, text: str, reply: str, bot: str = "fingerbot"
    ) -> None:
        """
        Say C{text} to C{target} every half second until C{reply} comes
        from C{bot}: the bot may still be signing on.
        """

        def answered() -> bool:
            if tester.heard(bot, reply):
                return True
            tester.say(target, text)
            return False

        try:
            await waitFor(reactor, answered, f"{reply!r} from {bot}", timeout=20, interval=0.5)
        except AssertionError as e:
            heard = b"\n".join(tester.lines).decode("utf-8", "replace")
            self.fail(f"no {reply!r} from the bot ({e}); the tester heard:\n{heard}")

    async def answersAs(self, tester: _Tester, bot: str) -> None:
        """
        Ask C{bot} about moshez in private until it answers C{tester}.
        """
        reply = f"PRIVMSG {tester.nickname} :Status of moshez: happy and well"
        await self.ask(tester, bot, "moshez", reply, bot=bot)

    async def test_answersAndComesBack(self) -> None:
        """
        The bot answers a private message and a channel message addressed to
        it; when the server restarts, the bot comes back and answers again.
        """
        await self.startServer()
        startFinger(
            self,
            "--no-pb",
            "--ircserver",
            f"127.0.0.1:{self.port}",
            "--ircchannels",
            "#finger",
            "--ircretry",
            "1",
        )
        tester = await self.connectTester("tester")
        await self.answersAs(tester, "fingerbot")
        tester.sendLine(b"JOIN #finger")
        await self.ask(
            tester,
            "#finger",
            "fingerbot: zoë",
            "PRIVMSG #finger :tester: Status of zoë: à Paris ☕",
        )

        assert self.server is not None
        await self.stopServer(self.server)
        await tester.closed
        await self.startServer()
        again = await self.connectTester("again")
        await self.answersAs(again, "fingerbot")
        again.transport.loseConnection()
        await again.closed

    async def test_nicknameCollision(self) -> None:
        """
        A second bot asking for a nickname in use signs on as C{fingerbo1},
        within ngircd's nine characters, and answers under that name.
        """
        await self.startServer()
        for _ in range(2):
            startFinger(self, "--no-pb", "--ircserver", f"127.0.0.1:{self.port}")
        tester = await self.connectTester("tester")
        await self.answersAs(tester, "fingerbo1")
        await self.answersAs(tester, "fingerbot")
        tester.transport.loseConnection()
        await tester.closed

    async def test_regainsNickname(self) -> None:
        """
        A bot that finds its nickname taken signs on as C{fingerbo1}, asks
        the server (with C{ISON}) whether its own is free, and takes it back
        once whoever had it leaves.
        """
        await self.startServer()
        squatter = await self.connectTester("fingerbot")
        await waitFor(
            reactor,
            lambda: any(b" 001 fingerbot " in line for line in squatter.lines),
            "the squatter to sign on",
        )
        factory = IRCClientFactoryFromService(
            MemoryFingerService(moshez="happy and well"), clock=reactor, regainInterval=0.5
        )
        bot = ClientService(
            clientFromString(reactor, f"tcp:host=127.0.0.1:port={self.port}"),
            factory,
            retryPolicy=factory.retryDelay,
            clock=reactor,
        )
        bot.startService()
        self.addCleanup(bot.stopService)
        tester = await self.connectTester("tester")
        await self.answersAs(tester, "fingerbo1")
        squatter.transport.loseConnection()
        await squatter.closed
        await self.answersAs(tester, "fingerbot")
        tester.transport.loseConnection()
        await tester.closed

    async def test_tls(self) -> None:
        """
        With C{--ircserver tls:HOST:PORT}, the bot connects over TLS,
        checking the server's certificate and host name: it signs on when
        they match, and not when the name does not.
        """
        events: List[Dict[str, Any]] = []
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)
        await self.startServer()
        startFinger(
            self,
            "--no-pb",
            "-n",
            "wrongbot",
            "--ircserver",
            f"tls:127.0.0.2:{self.tlsPort}:trustRoots={self.roots}",
            "--ircretry",
            "1",
        )
        startFinger(
            self,
            "--no-pb",
            "--ircserver",
            f"tls:localhost:{self.tlsPort}:trustRoots={self.roots}",
            "--ircretry",
            "1",
        )
        tester = await self.connectTester("tester")
        await self.ask(tester, "fingerbot", "zoë", "PRIVMSG tester :Status of zoë: à Paris ☕")

        def refused() -> bool:
            return any(
                "Mismatch" in str(event.get("reason", ""))
                for event in events
                if event.get("log_format", "").startswith("Disconnected from the IRC")
            )

        await waitFor(reactor, refused, "the bot to refuse 127.0.0.2", interval=0.2)
        self.assertFalse(
            [e for e in events if e.get("nickname") == "wrongbot"], "wrongbot signed on"
        )
        tester.transport.loseConnection()
        await tester.closed


class IRCOptionsTests(SynchronousTestCase):
    """
    The IRC options of C{twistd finger}, and how L{tap.makeService} wires
    the bot.
    """

    def parse(self, *argv: str) -> tap.Options:
        path = self.mktemp()
        with open(path, "w") as f:
            f.write("moshez: happy\n")
        options = tap.Options()
        options.parseOptions(["--file", path, *argv])
        return options

    def assertUsageError(self, option: str, *argv: str) -> None:
        with self.assertRaises(usage.UsageError) as raised:
            self.parse(*argv)
        self.assertTrue(str(raised.exception).startswith(option), raised.exception)

    def test_defaults(self) -> None:
        """No bot unless asked; its defaults show in C{--help}."""
        options = self.parse()
        self.assertIsNone(options["ircserver"])
        self.assertEqual(options["ircnick"], "fingerbot")
        self.assertEqual(options.config.irc.channels, ())
        self.assertEqual(options["ircretry"], 60.0)
        help = str(tap.Options())
        self.assertIn("[default: fingerbot]", help)
        self.assertIn("port 6667", help)
        self.assertIn("[default: 60.0]", help)

    def test_servers(self) -> None:
        """A host, host:port, [IPv6]:port or endpoint description."""
        for value, description in [
            ("irc.example.org", "tcp:host=irc.example.org:port=6667"),
            ("127.0.0.1:6668", "tcp:host=127.0.0.1:port=6668"),
            ("[::1]:7000", "tcp:host=\\:\\:1:port=7000"),
            ("::1", "tcp:host=\\:\\:1:port=6667"),
            ("tls:irc.example.org:6697", "tls:irc.example.org:6697"),
        ]:
            self.assertEqual(self.parse("--ircserver", value).config.irc.server, description)

    def test_badServers(self) -> None:
        """A server that cannot be understood is a usage error naming the option."""
        for value in ["[irc]:1", "[::1", "irc:0", "irc:65536", "nope:x:y", "tcp:host=h"]:
            self.assertUsageError("--ircserver", "--ircserver", value)

    def test_nickname(self) -> None:
        """C{-n} sets the nickname, which must be one IRC allows."""
        self.assertEqual(self.parse("-n", "fbot")["ircnick"], "fbot")
        for bad in ["", "1bot", "finger bot", "zoë"]:
            self.assertUsageError("--ircnick", "--ircnick", bad)

    def test_channels(self) -> None:
        """Channels are a comma-separated list of channel names."""
        options = self.parse("--ircserver", "irc", "--ircchannels", "#a, &b,,")
        self.assertEqual(options.config.irc.channels, ("#a", "&b"))
        self.assertUsageError("--ircchannels", "--ircserver", "irc", "--ircchannels", "#a,b")
        self.assertUsageError("--ircchannels", "--ircchannels", "#a")

    def test_retry(self) -> None:
        """C{--ircretry} is a positive number of seconds."""
        self.assertEqual(self.parse("--ircretry", "2.5")["ircretry"], 2.5)
        self.assertRaises(usage.UsageError, self.parse, "--ircretry", "0")

    def test_makeService(self) -> None:
        """
        With C{--ircserver}, L{tap.makeService} runs the bot under a
        L{ClientService} on the reactor it is given, with the options'
        settings.
        """
        memory = MemoryReactorClock()
        options = self.parse(
            "--ircserver",
            "irc.example.org:6668",
            "-n",
            "fbot",
            "--ircchannels",
            "#a,#b",
            "--ircretry",
            "5",
        )
        top = tap.makeService(options, memory)
        [client] = [s for s in top if isinstance(s, ClientService)]
        client.startService()
        self.addCleanup(client.stopService)
        host, port, factory, timeout, bindAddress = memory.tcpClients[0]
        self.assertEqual((host, port), ("irc.example.org", 6668))
        bot = factory.buildProtocol(None)
        transport = StringTransport()
        bot.makeConnection(transport)
        self.assertTrue(transport.value().startswith(b"NICK fbot\r\n"))
        transport.clear()
        bot.dataReceived(b":irc.example.org 001 fbot :Welcome\r\n")
        self.assertEqual(transport.value(), b"JOIN #a\r\nJOIN #b\r\n")
        # Retries come at most --ircretry seconds (and a second of jitter)
        # apart, on the reactor makeService was given.
        bot.connectionLost(Failure(ConnectionDone()))
        for attempt in range(2, 12):
            memory.advance(6.0)
            self.assertEqual(len(memory.tcpClients), attempt)
            connector = memory.connectors[-1]
            memory.tcpClients[-1][2].clientConnectionFailed(
                connector, Failure(ConnectionRefusedError())
            )

    def test_noBot(self) -> None:
        """Without C{--ircserver}, there is no bot."""
        top = tap.makeService(self.parse(), MemoryReactorClock())
        self.assertEqual([s for s in top if isinstance(s, ClientService)], [])
