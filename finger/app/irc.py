# -*- test-case-name: tests.frontends.test_irc -*-
"""
The IRC bot's options, L{IRCConfig}, and the L{ClientService} that keeps
the bot connected.
"""

from dataclasses import dataclass
from typing import Any, List, Optional, Tuple

from twisted.application.internet import ClientService
from twisted.internet.endpoints import clientFromString
from twisted.python import usage

from finger.app.coerce import seconds
from finger.frontends import irc
from finger.interfaces import IFingerService, IStatusChanges
from finger.net.address import InvalidAddress, checkedClientDescription

optParameters: List[List[Any]] = [
    [
        "ircserver",
        None,
        None,
        "The IRC server the bot joins: a host (port 6667), host:port, "
        "[IPv6 address]:port, or a client endpoint description "
        "(tls:irc.example.org:6697).  No bot unless given.",
    ],
    ["ircnick", "n", "fingerbot", "The IRC bot's nickname."],
    [
        "ircchannels",
        None,
        None,
        "Channels for the IRC bot to join, separated by commas ('#a,#b').  "
        "None unless given: the bot answers private messages.",
    ],
    [
        "ircretry",
        None,
        60.0,
        "The most seconds between attempts to reconnect to the IRC server.",
        seconds("--ircretry"),
    ],
]

optFlags: List[List[Any]] = [
    [
        "irc-announce",
        None,
        "Have the IRC bot announce each status change in its channels "
        "('moshez is now: ...'), at most once a minute for each user.  Needs "
        "--ircchannels and a back-end whose statuses change here (file or sql); "
        "refused with --no-listing.",
    ],
]


@dataclass(frozen=True)
class IRCConfig:
    """
    The IRC bot's settings.

    @ivar server: C{--ircserver} as a client endpoint description, or
        L{None} for no bot.
    @ivar nickname: C{--ircnick}.
    @ivar channels: C{--ircchannels}, each checked.
    @ivar maxDelay: C{--ircretry}, the most seconds between attempts to
        reconnect.
    @ivar announce: C{--irc-announce}.
    """

    server: Optional[str]
    nickname: str
    channels: Tuple[str, ...]
    maxDelay: float
    announce: bool = False

    @classmethod
    def fromOptions(cls, options: usage.Options, reactor: Any) -> "IRCConfig":
        """
        Check and read the nickname, the channels and the server's address.

        @param reactor: the reactor C{--ircserver} is checked against.
        """
        nickname = options["ircnick"]
        if not irc.isValidNickname(nickname):
            raise usage.UsageError(
                f"--ircnick: {nickname!r} is not an IRC nickname: a letter "
                "or one of []\\`_^{|} first, then letters, digits, those and '-', "
                f"at most {irc.MAX_NICKNAME_LENGTH} characters"
            )
        channels = tuple(
            c.strip() for c in (options["ircchannels"] or "").split(",") if c.strip()
        )
        for channel in channels:
            if not irc.isValidChannel(channel):
                raise usage.UsageError(
                    f"--ircchannels: {channel!r} is not a channel name: it starts "
                    "with #, &, + or ! and has no spaces, commas or control characters"
                )
        server = options["ircserver"]
        if server is None and channels:
            raise usage.UsageError("--ircchannels: needs --ircserver")
        announce = bool(options["irc-announce"])
        if announce and not channels:
            raise usage.UsageError("--irc-announce: needs --ircchannels to announce in")
        if announce and options["no-listing"]:
            raise usage.UsageError(
                "--irc-announce: it would tell the channels who is there, which "
                "--no-listing keeps private"
            )
        if server is not None:
            try:
                server = checkedClientDescription(server, irc.DEFAULT_PORT, reactor)
            except InvalidAddress as e:
                raise usage.UsageError(f"--ircserver: {e}") from None
        return cls(
            server=server,
            nickname=nickname,
            channels=channels,
            maxDelay=options["ircretry"],
            announce=announce,
        )


class BotService(ClientService):
    """
    The L{ClientService} that keeps the bot connected, and, with
    C{--irc-announce}, has its factory listen to the back-end's changes
    while it runs.
    """

    def __init__(self, endpoint: Any, factory: irc.IRCClientFactoryFromService, **kw: Any) -> None:
        super().__init__(endpoint, factory, **kw)
        self.announcements = factory.announcements

    def startService(self) -> None:
        super().startService()
        if self.announcements is not None:
            self.announcements.start()

    def stopService(self) -> Any:
        if self.announcements is not None:
            self.announcements.stop()
        return super().stopService()


def makeBot(config: IRCConfig, backend: IFingerService, reactor: Any) -> ClientService:
    """
    The IRC bot, kept connected to C{config.server} by a L{ClientService}.

    @param config: the bot's settings, with a server.
    @param backend: the back-end the bot answers from (and, with
        C{--irc-announce}, whose changes it announces).
    @param reactor: the reactor to connect and keep time with.
    @raise usage.UsageError: with C{--irc-announce}, for a back-end whose
        statuses do not change here.
    """
    if config.server is None:
        raise ValueError("no --ircserver, no bot")
    announce = None
    if config.announce:
        announce = IStatusChanges(backend, None)
        if announce is None:
            raise usage.UsageError(
                "--irc-announce: this back-end cannot tell when a status changes "
                "(use --backend=file or sql)"
            )
    factory = irc.IRCClientFactoryFromService(
        backend,
        nickname=config.nickname,
        channels=config.channels,
        clock=reactor,
        maxDelay=config.maxDelay,
        announce=announce,
    )
    return BotService(
        clientFromString(reactor, config.server),
        factory,
        retryPolicy=factory.retryDelay,
        clock=reactor,
    )
