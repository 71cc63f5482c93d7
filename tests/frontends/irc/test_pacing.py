# -*- test-case-name: tests.frontends.irc.test_pacing -*-
"""
Tests for L{finger.frontends.irc.pacing}, through the bot on a L{Clock}:
its rate limit, the turns askers take, the queue's bounds, and each
asker's question rate.
"""

from typing import Dict, List

from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import capturedLogs
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from finger.backends.memory import MemoryFingerService
from finger.frontends.irc import MAX_ASKERS, IRCClientFactoryFromService, IRCReplyBot
from finger.frontends.irc.pacing import TakingTurns
from tests.frontends.irc.helpers import BotTestsMixin


class TakingTurnsTests(SynchronousTestCase):
    def test_turns(self) -> None:
        """
        Askers take turns, one whole reply each; the bot's own lines (asker
        L{None}) take theirs too.
        """
        turns = TakingTurns()
        turns.add("alice", ["a1", "a2"])
        turns.add("alice", ["a3"])
        turns.add(None, ["PONG"])
        turns.add("bob", [])
        turns.add("bob", ["b1"])
        self.assertEqual((turns.lines, turns.waiting("alice"), turns.waiting("carol")), (5, 3, 0))
        self.assertEqual([turns.pop() for _ in range(5)], ["a1", "a2", "PONG", "b1", "a3"])
        self.assertEqual(turns.lines, 0)
        turns.add("alice", ["a4"])
        turns.clear()
        self.assertEqual((turns.lines, turns.waiting("alice")), (0, 0))


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
        self.assertIsNone(self.bot._outgoing._pumping)

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
                b"PRIVMSG #finger :| two",
                b"PRIVMSG #finger :| three",
                b"PRIVMSG #finger :| four",
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

    def test_botsDoNotAnswerEachOther(self) -> None:
        """
        Two bots whose statuses end in a one-word line (a question, to the
        other) do not answer each other: that line is a continuation, which
        starts with L{finger.frontends.irc.text.CONTINUED}, so it is never
        a one-word question.  (Were it one, each bot takes only a few
        questions at a time from one asker: see L{RateTests}.)
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
        relayed: List[bytes] = []
        for _ in range(60):
            clock.advance(1)
            for nick, transport in transports.items():
                lines = transport.value().split(b"\r\n")[:-1]
                transport.clear()
                for line in lines:
                    command, target = (line.decode().split(" ") + [""])[:2]
                    if command == "PRIVMSG" and target in bots:
                        relayed.append(line)
                        bots[target].lineReceived(f":{nick}!b@example.org ".encode() + line)
        self.assertEqual(
            relayed,
            [b"PRIVMSG bbot :Status of ping: the ball", b"PRIVMSG bbot :| pong"],
        )
