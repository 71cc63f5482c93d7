"""
Tests for L{finger.frontends.irc.announce} and the bot's announcements
(C{--irc-announce}): one line per change through the send queue, at most
one per user per interval, the latest winning.
"""

from typing import Any, List, Tuple

from twisted.internet.task import Clock
from twisted.logger import capturedLogs
from twisted.trial.unittest import SynchronousTestCase

from finger.backends.memory import MemoryFingerService
from finger.changes import ChangeBatch, StatusChange
from finger.frontends.irc.announce import Announcements
from tests.frontends.irc.helpers import BotTestsMixin


class AnnouncementsTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.service = MemoryFingerService(moshez="Happy")
        self.sent: List[Tuple[str, str]] = []
        self.announcements = Announcements(
            self.service, self.clock, lambda u, s: self.sent.append((u, s)), maxTracked=3
        )
        self.announcements.start()

    def set(self, user: str, status: str) -> None:
        self.successResultOf(self.service.setUser(user, status))

    def test_first(self) -> None:
        """
        A change is announced at once.
        """
        self.set("moshez", "Sad")
        self.assertEqual(self.sent, [("moshez", "Sad")])

    def test_oncePerMinuteLatestWins(self) -> None:
        """
        Changes within the minute after an announcement wait; when it is
        up, the latest is announced, and the next minute starts.
        """
        self.set("moshez", "one")
        self.clock.advance(10)
        self.set("moshez", "two")
        self.set("moshez", "three")
        self.set("zoë", "other user")
        self.assertEqual(self.sent, [("moshez", "one"), ("zoë", "other user")])
        self.clock.advance(49.9)
        self.assertEqual(len(self.sent), 2)
        self.clock.advance(0.1)
        self.assertEqual(self.sent[2:], [("moshez", "three")])
        self.set("moshez", "four")
        self.clock.advance(59)
        self.assertEqual(len(self.sent), 3)
        self.clock.advance(1)
        self.assertEqual(self.sent[3:], [("moshez", "four")])
        self.clock.advance(60)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_backToAnnounced(self) -> None:
        """
        A status that went back to the one announced is not announced again.
        """
        self.set("moshez", "one")
        self.set("moshez", "two")
        self.set("moshez", "one")
        self.clock.advance(60)
        self.assertEqual(self.sent, [("moshez", "one")])

    def test_goneAndIncomplete(self) -> None:
        """
        A user who is gone is not announced, nor an incomplete batch, which
        is logged.
        """
        with capturedLogs() as events:
            self.announcements.changed(ChangeBatch((StatusChange("moshez", None, 0),)))
            self.announcements.changed(ChangeBatch((), complete=False))
        self.assertEqual(self.sent, [])
        self.assertEqual(len(events), 1)

    def test_bounded(self) -> None:
        """
        At most C{maxTracked} users wait out their minute; changes of others
        are dropped meanwhile, logged once.
        """
        with capturedLogs() as events:
            for i in range(5):
                self.set(f"u{i}", "x")
        self.assertEqual([u for u, _ in self.sent], ["u0", "u1", "u2"])
        self.assertEqual(len(events), 1)
        self.clock.advance(60)
        self.set("u4", "y")
        self.assertEqual(self.sent[-1], ("u4", "y"))

    def test_stop(self) -> None:
        self.set("moshez", "one")
        self.set("moshez", "two")
        self.announcements.stop()
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.set("moshez", "three")
        self.assertEqual(self.sent, [("moshez", "one")])


class BotAnnouncementTests(BotTestsMixin, SynchronousTestCase):
    """
    The bot announces changes in its channels.
    """

    settings = {"channels": ["#finger", "#other"], "burst": 1000}

    def setUp(self) -> None:
        super().setUp()
        self.factory = self.makeFactory(announce=self.service)

    def makeFactory(self, *args: Any, **kwargs: Any) -> Any:
        factory = super().makeFactory(*args, **kwargs)
        if factory.announcements is not None:
            factory.announcements.start()
        return factory

    def test_announced(self) -> None:
        """
        A set is announced in every channel, in one line, with control
        characters taken out.
        """
        self.signOn()
        self.sent()
        # A status file edited by hand may hold what a setter refuses.
        announcements = self.factory.announcements
        assert announcements is not None
        announcements.changed(
            ChangeBatch((StatusChange("moshez", "\x02bold\x02 and\tmore\x1b[0m", 0),))
        )
        self.assertEqual(
            self.sent(),
            [
                b"PRIVMSG #finger :moshez is now: bold and more[0m",
                b"PRIVMSG #other :moshez is now: bold and more[0m",
            ],
        )

    def test_oneLine(self) -> None:
        """
        A long status is cut to one IRC line.
        """
        self.signOn()
        self.sent()
        self.successResultOf(self.service.setUser("moshez", "word " * 200))
        lines = self.sent()
        self.assertEqual(len(lines), 2)
        self.assertTrue(lines[0].endswith(b"[...]"), lines[0])
        self.assertLessEqual(len(lines[0]), 512)

    def test_notSignedOn(self) -> None:
        """
        While no bot is signed on, a change is not announced (nor later).
        """
        self.connect()
        self.sent()
        self.successResultOf(self.service.setUser("moshez", "unheard"))
        self.assertEqual([line for line in self.sent() if b"PRIVMSG" in line], [])
        self.receive(":irc.test 001 fingerbot :Welcome")
        self.assertEqual([line for line in self.sent() if b"PRIVMSG" in line], [])

    def test_disconnected(self) -> None:
        """
        Once the bot is gone, announcements go nowhere.
        """
        from twisted.internet.error import ConnectionDone
        from twisted.python.failure import Failure

        self.signOn()
        self.bot.connectionLost(Failure(ConnectionDone()))
        self.assertIsNone(self.factory.bot)
        self.successResultOf(self.service.setUser("moshez", "unheard"))

    def test_queued(self) -> None:
        """
        Announcements go through the send queue at its rate, each (in
        every channel) one turn taken with the replies to askers.
        """
        self.factory = self.makeFactory(announce=self.service, burst=1, lineRate=2.0)
        self.signOn()
        self.clock.pump([1] * 10)
        self.sent()
        self.successResultOf(self.service.setUser("moshez", "first"))
        self.successResultOf(self.service.setUser("shawn", "second"))
        self.receive(":alice!a@h PRIVMSG fingerbot :zoë")
        sent = self.sent()
        for _ in range(5):
            self.clock.advance(2)
            sent += self.sent()
        self.assertEqual(
            sent,
            [
                b"PRIVMSG #finger :moshez is now: first",
                b"PRIVMSG #other :moshez is now: first",
                "PRIVMSG alice :Status of zoë: à Paris ☕".encode("utf-8"),
                b"PRIVMSG #finger :shawn is now: second",
                b"PRIVMSG #other :shawn is now: second",
            ],
        )
