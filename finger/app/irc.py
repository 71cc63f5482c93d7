# -*- test-case-name: tests.frontends.test_irc -*-
"""
The IRC bot's options, and the L{ClientService} that keeps it connected.
"""

from typing import Any, List

from twisted.application.internet import ClientService
from twisted.internet.endpoints import clientFromString
from twisted.python import usage

from finger.app.coerce import seconds
from finger.app.listening import Assembly
from finger.frontends import irc
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

optFlags: List[List[Any]] = []


def checkOptions(options: usage.Options, reactor: Any) -> None:
    """
    Check the nickname, the channels and the server's address.
    """
    if not irc.isValidNickname(options["ircnick"]):
        raise usage.UsageError(
            f"--ircnick: {options['ircnick']!r} is not an IRC nickname: a letter "
            "or one of []\\`_^{|} first, then letters, digits, those and '-', "
            f"at most {irc.MAX_NICKNAME_LENGTH} characters"
        )
    channels = [c.strip() for c in (options["ircchannels"] or "").split(",") if c.strip()]
    for channel in channels:
        if not irc.isValidChannel(channel):
            raise usage.UsageError(
                f"--ircchannels: {channel!r} is not a channel name: it starts "
                "with #, &, + or ! and has no spaces, commas or control characters"
            )
    options["ircchannels"] = channels
    server = options["ircserver"]
    if server is None:
        if channels:
            raise usage.UsageError("--ircchannels: needs --ircserver")
        return
    try:
        options["ircserver"] = checkedClientDescription(server, irc.DEFAULT_PORT, reactor)
    except InvalidAddress as e:
        raise usage.UsageError(f"--ircserver: {e}") from None


def addTo(parts: Assembly) -> None:
    """
    With C{--ircserver}, add the bot, kept connected by a L{ClientService}.
    """
    options, reactor = parts.options, parts.reactor
    if options["ircserver"] is None:
        return
    factory = irc.IRCClientFactoryFromService(
        parts.backend,
        nickname=options["ircnick"],
        channels=options["ircchannels"],
        clock=reactor,
        maxDelay=options["ircretry"],
    )
    bot = ClientService(
        clientFromString(reactor, options["ircserver"]),
        factory,
        retryPolicy=factory.retryDelay,
        clock=reactor,
    )
    bot.setName("irc")
    bot.setServiceParent(parts.top)
