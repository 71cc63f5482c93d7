"""
What the IRC bot's tests share: a bot on a L{StringTransport} with a
L{Clock}.
"""

from typing import Any, Dict, List, Optional

from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from finger.backends.memory import MemoryFingerService
from finger.frontends.irc import IRCClientFactoryFromService, IRCReplyBot


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

    def assertAnswers(self, asked: str, answer: str, nick: str = "alice") -> None:
        """
        A bot just signed on answers C{nick}'s private message C{asked} with
        one private message to C{nick}, C{answer}.
        """
        self.signOn()
        self.receive(f":{nick}!{nick}@example.org PRIVMSG fingerbot :{asked}")
        self.assertEqual(self.sent(), [f"PRIVMSG {nick} :{answer}".encode("utf-8")])
