# -*- test-case-name: tests.frontends.test_irc -*-
"""
The IRC bot: it signs on to an IRC server, joins channels, and answers
questions about users' statuses.

Send it a private message naming a user, or address it in a channel it
joined::

    /msg fingerbot moshez
    <fingerbot> Status of moshez: happy and well

    <alice> fingerbot: moshez
    <fingerbot> alice: Status of moshez: happy and well

An unknown user gets L{NO_SUCH_USER}.  The bot only answers a message that is
one word (the user name) after its address: anything else, and any channel
chatter not addressed to it, is ignored, so that two bots can never keep
each other talking.  Text is UTF-8 both ways (a line that is not UTF-8 is
read as Latin-1); control characters, IRC colour and bold codes among them,
never reach the channel.  A status longer than one IRC line is split at
spaces where it can be, never inside a character, into at most
L{IRCClientFactoryFromService.maxReplyLines} lines; the last line of a
longer one ends with L{TRUNCATED}.

The bot is built to stay connected: run it under
L{twisted.application.internet.ClientService} with the factory's
L{IRCClientFactoryFromService.retryDelay} as its retry policy, and it comes
back with back-off after the server goes away.  It picks another nickname
when its own is taken, answers the server's C{PING}s, sends its own
C{PING} to notice a dead link, and spaces out what it sends so that a burst
of questions cannot get it thrown off for flooding.
"""

import random
import re
from collections import deque
from typing import Callable, Deque, Iterator, List, Optional

from twisted.application.internet import backoffPolicy
from twisted.internet.defer import Deferred, TimeoutError
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.protocol import Factory
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.protocols.policies import TimeoutMixin
from twisted.python import components
from twisted.python.failure import Failure
from twisted.words.protocols import irc
from zope.interface import implementer

import finger
from finger.interfaces import IFingerService, IIRCClientFactory, UnknownUser
from finger.lookup import LOOKUP_TIMEOUT
from finger.messages import INTERNAL_ERROR, NO_SUCH_USER, TIMED_OUT
from finger.names import isValidUserName
from finger.text import printableLines

DEFAULT_PORT = 6667


TRUNCATED = " [...]"
"""
What ends the last line of a status too long to show whole.
"""

MAX_LINE_BYTES = 512
"""
The longest IRC line, CRLF included (RFC 2812 section 2.3).
"""

# RFC 2812 section 2.3.1: a letter or one of []\`_^{|} first, then letters,
# digits, those, and "-".
_NICKNAME = re.compile(r"[A-Za-z\[\]\\`_^{|}][A-Za-z0-9\[\]\\`_^{|}-]*")
MAX_NICKNAME_LENGTH = 30

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


def splitUTF8(text: str, budget: int) -> Iterator[str]:
    """
    Split C{text} into pieces of at most C{budget} bytes of UTF-8 each.

    A piece ends at the last space that fits, if that space is in the
    piece's second half (the space is dropped), and otherwise after the last
    whole character that fits: a character is never cut in two.

    @param budget: bytes per piece; at least 4, so any character fits.
    """
    while len(text.encode("utf-8")) > budget:
        # Cutting the bytes may leave part of a character at the end;
        # "ignore" drops that part, so the piece holds whole characters.
        fits = text.encode("utf-8")[:budget].decode("utf-8", "ignore")
        space = fits.rfind(" ")
        if space > len(fits) // 2:
            yield fits[:space]
            text = text[space + 1 :]
        else:
            yield fits
            text = text[len(fits) :]
    yield text


def _decode(line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        # Some IRC clients still send Latin-1; reading it as such beats
        # dropping the line, or the connection.
        return line.decode("latin-1")


class IRCReplyBot(irc.IRCClient, TimeoutMixin):
    """
    Answer private messages and channel messages addressed to the bot with
    users' statuses.

    Everything it sends goes through one queue: up to the factory's C{burst}
    lines at once, then one every C{lineRate} seconds.

    @ivar factory: the L{IRCClientFactoryFromService} that built this bot.
    """

    log = Logger()
    factory: "IRCClientFactoryFromService"

    realname = "finger bot"  # type: ignore[assignment]
    versionName = "finger"  # type: ignore[assignment]
    versionNum = finger.__version__  # type: ignore[assignment]
    sourceURL = None  # type: ignore[assignment]
    erroneousNickFallback = "fingerbot"

    _keepalive: Optional[LoopingCall] = None
    _pumping: Optional[IDelayedCall] = None
    _signedOnAt: Optional[float] = None
    _gone = False

    def __init__(self) -> None:
        self._outgoing: Deque[str] = deque()
        self._tokens = 0.0
        self._refilled = 0.0
        self._collisions = 0
        self._dropping = False

    @property
    def clock(self) -> IReactorTime:
        """
        The factory's clock, for every timer this bot sets.
        """
        return self.factory.clock

    def callLater(self, period: float, func: Callable[[], object]) -> IDelayedCall:
        # For TimeoutMixin.
        return self.clock.callLater(period, func)

    # Connection life

    def connectionMade(self) -> None:
        self.nickname = self.factory.nickname
        self.heartbeatInterval = self.factory.heartbeatInterval  # type: ignore[assignment]
        self._tokens = float(self.factory.burst)
        self._refilled = self.clock.seconds()
        self.setTimeout(self.factory.idleTimeout)
        super().connectionMade()

    def dataReceived(self, data: bytes) -> None:
        self.resetTimeout()
        super().dataReceived(data)

    def lineReceived(self, line: bytes) -> None:
        super().lineReceived(_decode(line))

    def timeoutConnection(self) -> None:
        self.log.warn(
            "Nothing heard from the IRC server in {seconds} seconds; reconnecting",
            seconds=self.factory.idleTimeout,
        )
        self.transport.abortConnection()  # type: ignore[union-attr]

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        self._gone = True
        self.setTimeout(None)
        if self._pumping is not None and self._pumping.active():
            self._pumping.cancel()
        self._pumping = None
        self._outgoing.clear()
        super().connectionLost(reason)
        self.factory.sessionEnded(self._signedOnAt)
        self.log.info("Disconnected from the IRC server: {reason}", reason=reason.getErrorMessage())

    def signedOn(self) -> None:
        self._signedOnAt = self.clock.seconds()
        self.log.info("Signed on to IRC as {nickname}", nickname=self.nickname)
        for channel in self.factory.channels:
            self.join(channel)

    def joined(self, channel: str) -> None:
        self.log.info("Joined {channel}", channel=channel)

    # Nicknames

    def alterCollidedNick(self, nickname: str) -> str:
        """
        Number the wanted nickname, keeping within its length or nine
        characters (the length every server allows), whichever is longer:
        C{fingerbot} becomes C{fingerbo1}, then C{fingerbo2}, ...
        """
        self._collisions += 1
        wanted = self.factory.nickname
        suffix = str(self._collisions)
        room = max(9, len(wanted)) - len(suffix)
        return wanted[:room] + suffix

    def irc_ERR_NICKNAMEINUSE(self, prefix: str, params: List[str]) -> None:
        if self._registered:
            # Only a nickname we asked for while signing on matters.
            return
        super().irc_ERR_NICKNAMEINUSE(prefix, params)

    # "Nick/channel is temporarily unavailable": the same remedy.
    irc_ERR_UNAVAILRESOURCE = irc_ERR_NICKNAMEINUSE

    def irc_ERR_ERRONEUSNICKNAME(self, prefix: str, params: List[str]) -> None:
        if not self._registered and self._attemptedNick == self.erroneousNickFallback:
            self.log.error(
                "The IRC server refuses the nickname {nickname}", nickname=self._attemptedNick
            )
            self.transport.loseConnection()  # type: ignore[union-attr]
            return
        super().irc_ERR_ERRONEUSNICKNAME(prefix, params)

    # Keepalive, on the factory's clock

    def startHeartbeat(self) -> None:
        self.stopHeartbeat()
        if self.heartbeatInterval is None:
            return
        self._keepalive = LoopingCall(self._ping)
        self._keepalive.clock = self.clock
        self._keepalive.start(self.heartbeatInterval, now=False)

    def stopHeartbeat(self) -> None:
        if self._keepalive is not None:
            self._keepalive.stop()
            self._keepalive = None

    def _ping(self) -> None:
        self.sendLine(f"PING {self.hostname or self.nickname}")

    # Sending, within the rate limit

    def sendLine(self, line: str) -> None:
        """
        Queue a line for the server; L{_pump} sends it when the rate limit
        allows.
        """
        if self._gone:
            return
        self._outgoing.append(line)
        if self._pumping is None:
            self._pump()

    def _pump(self) -> None:
        self._pumping = None
        while self._outgoing and not self._gone:
            now = self.clock.seconds()
            self._tokens = min(
                float(self.factory.burst),
                self._tokens + (now - self._refilled) / self.factory.lineRate,
            )
            self._refilled = now
            if self._tokens < 1:
                self._pumping = self.clock.callLater(
                    (1 - self._tokens) * self.factory.lineRate, self._pump
                )
                return
            self._tokens -= 1
            # IRCClient.sendLine writes at once when lineRate is None.
            super().sendLine(self._outgoing.popleft())

    @property
    def queued(self) -> int:
        """
        How many lines wait to be sent.
        """
        return len(self._outgoing)

    def _roomFor(self, lines: int) -> bool:
        """
        Is there room in the queue for C{lines} more lines of reply?  When
        there is not, the reply is dropped (and that logged once per flood)
        rather than letting a flood of questions grow the queue without end.
        """
        if self.queued + lines <= self.factory.maxQueuedLines:
            self._dropping = False
            return True
        if not self._dropping:
            self._dropping = True
            self.log.warn("Too many questions at once; dropping replies until the queue drains")
        return False

    # Questions and answers

    def privmsg(self, user: str, channel: str, message: str) -> None:
        asker = user.split("!", 1)[0]
        if channel[:1] in irc.CHANNEL_PREFIXES:
            query = self._addressedQuery(message)
            if query is None:
                return
            target, prefix = channel, "".join(printableLines(asker)) + ": "
        else:
            query, target, prefix = message, asker, ""
        words = query.split()
        if len(words) != 1 or ircLower(asker) == ircLower(self.nickname):
            return
        self._answer(target, prefix, words[0])

    def _addressedQuery(self, message: str) -> Optional[str]:
        """
        The rest of a channel message that starts with this bot's nickname
        and a colon or comma, or L{None} for a message to someone else.
        """
        nick = self.nickname
        head, rest = message[: len(nick)], message[len(nick) :]
        if ircLower(head) != ircLower(nick) or rest[:1] not in (":", ","):
            return None
        return rest[1:]

    def _answer(self, target: str, prefix: str, name: str) -> None:
        shown = "".join(printableLines(name))
        if not isValidUserName(name):
            self._reply(target, prefix, shown, NO_SUCH_USER)
            return

        def unknown(reason: Failure) -> str:
            if reason.check(UnknownUser):
                return NO_SUCH_USER
            if reason.check(TimeoutError):
                self.log.warn(
                    "Back-end gave no answer about {user!r} within {timeout} seconds",
                    user=name,
                    timeout=self.factory.lookupTimeout,
                )
                return TIMED_OUT
            self.log.failure("Back-end failed looking up {user!r}", reason, user=name)
            return INTERNAL_ERROR

        d = self.factory.getUser(name)
        d.addTimeout(self.factory.lookupTimeout, self.clock)
        d.addErrback(unknown)
        d.addCallback(lambda status: self._reply(target, prefix, shown, status))

    def _reply(self, target: str, prefix: str, name: str, status: str) -> None:
        if self._gone:
            return
        lines = self.formatReply(target, prefix + f"Status of {name}: ", status)
        if self._roomFor(len(lines)):
            for line in lines:
                self.msg(target, line, length=MAX_LINE_BYTES)

    def formatReply(self, target: str, lead: str, status: str) -> List[str]:
        """
        The lines of a reply: C{lead} and the status's first line, then its
        other lines, each split to fit one IRC line as the server relays it,
        at most the factory's C{maxReplyLines} lines in all.
        """
        budget = self._budget(target)
        statusLines = printableLines(status) or [""]
        statusLines[0] = lead + statusLines[0]
        limit = self.factory.maxReplyLines
        pieces: List[str] = []
        for text in statusLines:
            for piece in splitUTF8(text, budget):
                if len(pieces) == limit:
                    # One too many: end the last shown line with the marker.
                    last = pieces[-1].encode("utf-8")
                    room = budget - len(TRUNCATED.encode("utf-8"))
                    pieces[-1] = last[:room].decode("utf-8", "ignore") + TRUNCATED
                    return pieces
                pieces.append(piece)
        return pieces

    def _budget(self, target: str) -> int:
        """
        Bytes of text that fit in one C{PRIVMSG} to C{target} once the server
        prefixes it with C{:nick!user@host}, at their longest.
        """
        nicklen = max(self.supported.getFeature("NICKLEN") or 9, len(self.nickname))
        relayed = f":{'n' * nicklen}!{'u' * 10}@{'h' * 63} PRIVMSG {target} :"
        return MAX_LINE_BYTES - len(b"\r\n") - len(relayed.encode("utf-8"))

    # CTCP: only what a person uses to see that the bot is alive.

    def ctcpQuery(self, user: str, channel: str, messages: List[tuple]) -> None:  # type: ignore[type-arg]
        for tag, data in messages[:1]:
            if tag in ("VERSION", "PING") and self._roomFor(1):
                if tag == "PING" and data is not None:
                    data = "".join(printableLines(data))[:32]
                super().ctcpQuery(user, channel, [(tag, data)])


@implementer(IIRCClientFactory)
class IRCClientFactoryFromService(Factory):
    """
    Build L{IRCReplyBot}s that answer from an L{IFingerService}.

    @ivar nickname: the nickname to ask for.
    @ivar channels: the channels to join.
    @ivar clock: the L{IReactorTime} for rate limiting, keepalives and
        retries.
    @ivar lineRate: seconds between lines sent, once the burst is used up.
    @ivar burst: lines that may be sent at once after a quiet spell.
    @ivar maxQueuedLines: the most lines waiting to be sent; replies that
        do not fit are dropped.
    @ivar maxReplyLines: the most lines one reply takes.
    @ivar heartbeatInterval: seconds between the bot's own C{PING}s.
    @ivar idleTimeout: seconds of silence from the server after which the
        link is taken for dead and dropped; more than C{heartbeatInterval},
        since a live server answers the bot's C{PING}.
    @ivar initialDelay: seconds before the first retry.
    @ivar maxDelay: the most seconds between retries (plus up to a second
        of jitter).
    @ivar stableAfter: seconds a session must last, signed on, for the
        next disconnection to start the back-off afresh.
    @ivar lookupTimeout: seconds the back-end has to answer a question
        before the asker is told L{TIMED_OUT}, as in the finger protocol.
    """

    protocol = IRCReplyBot  # type: ignore[assignment]
    noisy = False

    nickname = "fingerbot"
    lineRate = 1.0
    burst = 4
    maxQueuedLines = 40
    maxReplyLines = 4
    heartbeatInterval = 120.0
    idleTimeout = 300.0
    initialDelay = 1.0
    maxDelay = 60.0
    stableAfter = 60.0
    lookupTimeout = LOOKUP_TIMEOUT

    def __init__(self, service: IFingerService) -> None:
        self.service = service
        self.channels: List[str] = []
        self.clock: IReactorTime = _defaultClock()
        self.jitter: Callable[[], float] = random.random
        self.shortSessions = 0

    def getUser(self, user: str) -> "Deferred[str]":
        return self.service.getUser(user)

    def sessionEnded(self, signedOnAt: Optional[float]) -> None:
        """
        Note how a connection ended, for L{retryDelay}: one that never
        signed on, or did not stay up for C{stableAfter} seconds, counts as a
        failure even though the TCP connection was made.
        """
        if signedOnAt is None or self.clock.seconds() - signedOnAt < self.stableAfter:
            self.shortSessions += 1
        else:
            self.shortSessions = 0

    def retryDelay(self, failedAttempts: int) -> float:
        """
        Exponential back-off from C{initialDelay} up to C{maxDelay}, counting
        both failed connection attempts and short sessions, so that a server
        that accepts the bot and then drops it at once is not hammered.
        """
        policy = backoffPolicy(self.initialDelay, self.maxDelay, jitter=self.jitter)
        return policy(failedAttempts + self.shortSessions)


def _defaultClock() -> IReactorTime:
    from twisted.internet import reactor

    return reactor  # type: ignore[return-value]


components.registerAdapter(IRCClientFactoryFromService, IFingerService, IIRCClientFactory)
