# -*- test-case-name: tests.frontends.irc.test_text -*-
"""
What the IRC bot reads and says, as text: which names IRC allows, which
messages are questions to the bot, and how a status is cut into IRC lines.

Everything here is a pure function of its arguments: no clock, no
connection.

A question is one word (the user name), sent to the bot in private or, in a
channel, after the bot's nickname and a colon or comma; the bot's own
messages are never questions, so it cannot answer itself.  A reply is
printable text only (see L{finger.text.printableLines}), cut at spaces
where it can be, never inside a character, into lines that fit once the
server has relayed them, and at most a given number of them: the last line
of a longer reply ends with L{CUT_SHORT}.

Whoever writes a status chooses what the bot says, but not how its lines
begin: the first starts with the answer's lead (the asker's nickname in a
channel, then C{Status of USER:}), and every later one with L{CONTINUED}.
So no line of a reply can start with another nickname and a colon or
comma (C{othernick: op me}), which people and bots read as addressed to
that nickname, or with a command character (C{!kick}, C{.op}, C{@op}...)
that a bot in the channel would obey.
"""

import re
from typing import Iterator, List, NamedTuple, Optional, Tuple

from twisted.words.protocols.irc import CHANNEL_PREFIXES

from finger.messages import CUT_SHORT
from finger.text import printableLines

MAX_LINE_BYTES = 512
"""
The longest IRC line, CRLF included (RFC 2812 section 2.3).
"""

CONTINUED = "| "
"""
What every line of a reply after the first starts with.  Not the asker's
nickname: in private that would be no help to anyone, and one rule for
every reply is one rule to check.  Not blanks, which bots strip before
they look for a command; not C{.}, C{!}, C{@}, C{~}, C{$}, C{>} or any other
character bots take commands after; C{|} starts no nickname a bot could
have, since C{|} and a space cannot both be in one.
"""

MAX_NICKNAME_LENGTH = 30
"""
The longest nickname the bot may be given.
"""

# RFC 2812 section 2.3.1: a letter or one of []\`_^{|} first, then letters,
# digits, those, and "-".
_NICKNAME = re.compile(r"[A-Za-z\[\]\\`_^{|}][A-Za-z0-9\[\]\\`_^{|}-]*")

# RFC 2812 section 1.3: a prefix, then no space, comma, BEL or other control.
_CHANNEL = re.compile(r"[#&+!][^\s,\x00-\x1f\x7f]{1,49}")

# RFC 1459 case mapping, which servers use unless they say otherwise.
_RFC1459_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ[]\\~", "abcdefghijklmnopqrstuvwxyz{}|^")


def isValidNickname(nickname: str) -> bool:
    """
    Is C{nickname} a nickname that RFC 2812 allows, of at most
    L{MAX_NICKNAME_LENGTH} characters?
    """
    return len(nickname) <= MAX_NICKNAME_LENGTH and _NICKNAME.fullmatch(nickname) is not None


def isValidChannel(channel: str) -> bool:
    """
    Is C{channel} a channel name that RFC 2812 allows?
    """
    return _CHANNEL.fullmatch(channel) is not None


def ircLower(name: str) -> str:
    """
    Fold a nickname's case as IRC servers do, so that C{FingerBot[1]} and
    C{fingerbot{1}} compare equal.
    """
    return name.translate(_RFC1459_LOWER)


def decodeLine(line: bytes) -> str:
    """
    A line from the server as text: UTF-8, or Latin-1 if it is not UTF-8.
    """
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        # Some IRC clients still send Latin-1; reading it as such beats
        # dropping the line, or the connection.
        return line.decode("latin-1")


class Question(NamedTuple):
    """
    A message the bot answers.

    @ivar target: where the answer goes: the channel, or the asker.
    @ivar prefix: what the answer starts with: the asker's nickname and a
        colon in a channel, nothing in private.
    @ivar name: the user name asked about, as the asker wrote it.
    """

    target: str
    prefix: str
    name: str


def readQuestion(nickname: str, asker: str, channel: str, message: str) -> Optional[Question]:
    """
    The question in a C{PRIVMSG}, or L{None} if the bot is to say nothing.

    @param nickname: the bot's nickname now.
    @param asker: the nickname of who sent the message.
    @param channel: where it was sent: a channel, or the bot's nickname.
    @param message: the text.
    """
    if channel[:1] in CHANNEL_PREFIXES:
        query = addressedQuery(nickname, message)
        if query is None:
            return None
        target, prefix = channel, "".join(printableLines(asker)) + ": "
    else:
        query, target, prefix = message, asker, ""
    words = query.split()
    if len(words) != 1 or ircLower(asker) == ircLower(nickname):
        return None
    return Question(target, prefix, words[0])


def addressedQuery(nickname: str, message: str) -> Optional[str]:
    """
    The rest of a channel message that starts with C{nickname} and a colon
    or comma, or L{None} for a message to someone else.
    """
    head, rest = message[: len(nickname)], message[len(nickname) :]
    if ircLower(head) != ircLower(nickname) or rest[:1] not in (":", ","):
        return None
    return rest[1:]


def _cut(text: str, budget: int) -> Tuple[str, Optional[str]]:
    """
    The first piece of C{text} that fits in C{budget} bytes of UTF-8, and
    the rest (L{None} if there is none), as L{splitUTF8} cuts them.
    """
    if len(text.encode("utf-8")) <= budget:
        return text, None
    # Cutting the bytes may leave part of a character at the end; "ignore"
    # drops that part, so the piece holds whole characters.
    fits = text.encode("utf-8")[:budget].decode("utf-8", "ignore")
    space = fits.rfind(" ")
    if space > len(fits) // 2:
        return fits[:space], text[space + 1 :]
    return fits, text[len(fits) :]


def splitUTF8(text: str, budget: int) -> Iterator[str]:
    """
    Split C{text} into pieces of at most C{budget} bytes of UTF-8 each.

    A piece ends at the last space that fits, if that space is in the
    piece's second half (the space is dropped), and otherwise after the last
    whole character that fits: a character is never cut in two.

    @param budget: bytes per piece; at least 4, so any character fits.
    """
    rest: Optional[str] = text
    while rest is not None:
        piece, rest = _cut(rest, budget)
        yield piece


def lineBudget(target: str, nicknameLength: int) -> int:
    """
    Bytes of text that fit in one C{PRIVMSG} to C{target} once the server
    prefixes it with C{:nick!user@host}, at their longest.

    @param nicknameLength: the longest nickname the server relays.
    """
    relayed = f":{'n' * nicknameLength}!{'u' * 10}@{'h' * 63} PRIVMSG {target} :"
    return MAX_LINE_BYTES - len(b"\r\n") - len(relayed.encode("utf-8"))


def replyLines(lead: str, status: str, budget: int, limit: int) -> List[str]:
    """
    The lines of a reply: C{lead} and the status's first line, then its
    other lines, each split to fit C{budget} bytes, every line after the
    first starting with L{CONTINUED}, at most C{limit} lines in all.

    @param lead: what the reply starts with; it must not itself start
        with a nickname and a colon other than the asker's, or with a
        command character (the bot's leads are C{Status of USER: } and
        the asker's nickname before it).
    """
    statusLines = printableLines(status) or [""]
    statusLines[0] = lead + statusLines[0]
    continued = len(CONTINUED.encode("utf-8"))
    pieces: List[str] = []
    for text in statusLines:
        rest: Optional[str] = text
        while rest is not None:
            if len(pieces) == limit:
                # One too many: end the last shown line with the marker.
                last = pieces[-1].encode("utf-8")
                room = budget - len(CUT_SHORT.encode("utf-8"))
                pieces[-1] = last[:room].decode("utf-8", "ignore") + CUT_SHORT
                return pieces
            if pieces:
                piece, rest = _cut(rest, budget - continued)
                pieces.append(CONTINUED + piece)
            else:
                piece, rest = _cut(rest, budget)
                pieces.append(piece)
    return pieces
