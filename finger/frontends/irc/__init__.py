# -*- test-case-name: tests.frontends.irc -*-
"""
The IRC bot: it signs on to an IRC server, joins channels, and answers
questions about users' statuses.

Send it a private message naming a user, or address it in a channel it
joined::

    /msg fingerbot moshez
    <fingerbot> Status of moshez: happy and well

    <alice> fingerbot: moshez
    <fingerbot> alice: Status of moshez: happy and well

An unknown user gets L{finger.messages.NO_SUCH_USER}.  The bot only answers a message that is
one word (the user name) after its address: anything else, any channel
chatter not addressed to it, and every C{NOTICE}, is ignored.  Each asker
gets a few questions at once, then one every few seconds; the rest are
ignored, so that two bots can never keep each other talking.  Text is UTF-8
both ways (a line that is not UTF-8 is read as Latin-1); control characters,
IRC colour and bold codes among them, never reach the channel.  A status
longer than one IRC line is split at spaces where it can be, never inside a
character, into at most C{maxReplyLines} lines; the last line of a longer
one ends with L{finger.messages.CUT_SHORT}.

The bot is built to stay connected: run it under
L{twisted.application.internet.ClientService} with the factory's
L{IRCClientFactoryFromService.retryDelay} as its retry policy, and it comes
back with back-off after the server goes away.  It picks another nickname
when its own is taken, and takes its own back once it is free again; it
answers the server's C{PING}s, sends its own C{PING} to notice a dead link,
and spaces out what it sends so that a burst of questions cannot get it
thrown off for flooding, taking askers in turns so that one asker's many
questions do not hold up everyone else's answers.

One module per job:

    - L{finger.frontends.irc.text}: which names IRC allows, which messages
      are questions, and how a reply is cut into IRC lines;
    - L{finger.frontends.irc.pacing}: the fair send queue under its rate
      limit, and each asker's question rate;
    - L{finger.frontends.irc.bot}: L{IRCReplyBot}, the client protocol;
    - L{finger.frontends.irc.announce}: which status changes the bot
      announces in its channels with C{--irc-announce} (C{moshez is now:
      ...}), at most one per user a minute, the latest winning;
    - L{finger.frontends.irc.factory}: L{IRCClientFactoryFromService}, its
      settings, its reconnection back-off, and the adapter from
      L{finger.interfaces.IFingerService} to
      L{finger.interfaces.IIRCClientFactory}.
"""

from finger.frontends.irc.bot import IRCReplyBot
from finger.frontends.irc.factory import DEFAULT_PORT, IRCClientFactoryFromService
from finger.frontends.irc.pacing import MAX_ASKERS
from finger.frontends.irc.text import (
    MAX_LINE_BYTES,
    MAX_NICKNAME_LENGTH,
    ircLower,
    isValidChannel,
    isValidNickname,
    splitUTF8,
)

__all__ = [
    "DEFAULT_PORT",
    "MAX_ASKERS",
    "MAX_LINE_BYTES",
    "MAX_NICKNAME_LENGTH",
    "IRCClientFactoryFromService",
    "IRCReplyBot",
    "ircLower",
    "isValidChannel",
    "isValidNickname",
    "splitUTF8",
]
