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
one word (the user name) after its address: anything else, any channel
chatter not addressed to it, and every C{NOTICE}, is ignored.  Each asker
gets a few questions at once, then one every few seconds; the rest are
ignored, so that two bots can never keep each other talking.  Text is UTF-8
both ways (a line that is not UTF-8 is read as Latin-1); control characters,
IRC colour and bold codes among them, never reach the channel.  A status
longer than one IRC line is split at spaces where it can be, never inside a
character, into at most C{maxReplyLines} lines; the last line of a longer
one ends with L{CUT_SHORT}.

The bot is built to stay connected: run it under
L{twisted.application.internet.ClientService} with the factory's
L{IRCClientFactoryFromService.retryDelay} as its retry policy, and it comes
back with back-off after the server goes away.  It picks another nickname
when its own is taken, and takes its own back once it is free again; it
answers the server's C{PING}s, sends its own C{PING} to notice a dead link,
and spaces out what it sends so that a burst of questions cannot get it
thrown off for flooding, taking askers in turns so that one asker's many
questions do not hold up everyone else's answers.
"""

import random
import re
from collections import deque
from contextlib import contextmanager
from typing import Callable, Deque, Dict, Iterator, List, Optional, Sequence, Set

from twisted.application.internet import backoffPolicy
from twisted.internet.defer import CancelledError, Deferred
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
from finger.interfaces import IFingerService, IIRCClientFactory
from finger.lookup import LOOKUP_TIMEOUT, LookupAnswers, LookupPolicy, orGlobalReactor
from finger.messages import CUT_SHORT, INTERNAL_ERROR, NO_SUCH_USER, STATUS_OF, TIMED_OUT
from finger.names import isValidUserName
from finger.net.buckets import TokenBucket
from finger.text import printableLines

DEFAULT_PORT = 6667


MAX_LINE_BYTES = 512
"""
The longest IRC line, CRLF included (RFC 2812 section 2.3).
"""

MAX_ASKERS = 1000
"""
The most askers whose question rate the bot remembers at once; past it, it
forgets those who have been quiet long enough, then the oldest.
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


class _IRCAnswers(LookupAnswers[str]):
    """
    What the bot says, after C{Status of NAME:}, when a lookup finds no
    status.
    """

    def unknown(self, user: str) -> str:
        return NO_SUCH_USER

    def timedOut(self) -> str:
        return TIMED_OUT

    def failed(self) -> str:
        return INTERNAL_ERROR


_ANSWERS = _IRCAnswers()


class _TakingTurns:
    """
    Lines waiting to be sent, grouped into replies and taken in turns: one
    whole reply from each asker in turn, so that one asker's many questions
    do not hold up everyone else's answers.  The bot's own lines to the
    server (asker L{None}) take their turn like anyone's.

    @ivar lines: how many lines wait, for all askers.
    """

    def __init__(self) -> None:
        self._replies: Dict[Optional[str], Deque[Deque[str]]] = {}
        self._turns: Deque[Optional[str]] = deque()
        self.lines = 0

    def add(self, asker: Optional[str], lines: Sequence[str]) -> None:
        """
        Queue one reply to C{asker}, after the ones already waiting for it.
        """
        if not lines:
            return
        if asker not in self._replies:
            self._replies[asker] = deque()
            self._turns.append(asker)
        self._replies[asker].append(deque(lines))
        self.lines += len(lines)

    def waiting(self, asker: Optional[str]) -> int:
        """
        @return: how many lines wait for C{asker}.
        """
        return sum(len(reply) for reply in self._replies.get(asker, ()))

    def pop(self) -> str:
        """
        Take the next line: the current reply's next, or, once it is all
        sent, the first line of the next asker's reply.
        """
        asker = self._turns[0]
        replies = self._replies[asker]
        line = replies[0].popleft()
        self.lines -= 1
        if not replies[0]:
            replies.popleft()
            self._turns.popleft()
            if replies:
                self._turns.append(asker)
            else:
                del self._replies[asker]
        return line

    def clear(self) -> None:
        """
        Forget every line.
        """
        self._replies.clear()
        self._turns.clear()
        self.lines = 0


class IRCReplyBot(irc.IRCClient, TimeoutMixin):
    """
    Answer private messages and channel messages addressed to the bot with
    users' statuses.

    Everything it sends goes through one queue: up to the factory's C{burst}
    lines at once, then one every C{lineRate} seconds, taking askers in
    turns.

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
    _regaining: Optional[LoopingCall] = None
    _pumping: Optional[IDelayedCall] = None
    _signedOnAt: Optional[float] = None
    _collecting: Optional[List[str]] = None
    _gone = False

    def __init__(self) -> None:
        self._outgoing = _TakingTurns()
        self._collisions = 0
        self._dropping = False
        # Twisted's IRCClient keeps these too, privately: the bot keeps its
        # own, from the public hooks.
        self._attempted = ""
        self._signedOn = False
        self._mayRegain = True
        self._askedWhetherFree = False
        self._askers: Dict[str, TokenBucket] = {}
        self._throttled: Set[str] = set()
        self._pending: Set["Deferred[str]"] = set()

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
        self._lineBucket = TokenBucket(self.clock, 1 / self.factory.lineRate, self.factory.burst)
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
        self._stopRegaining()
        for pending in list(self._pending):
            pending.cancel()
        super().connectionLost(reason)
        self.factory.sessionEnded(self._signedOnAt)
        self.log.info("Disconnected from the IRC server: {reason}", reason=reason.getErrorMessage())

    def signedOn(self) -> None:
        self._signedOn = True
        self._signedOnAt = self.clock.seconds()
        self.log.info("Signed on to IRC as {nickname}", nickname=self.nickname)
        for channel in self.factory.channels:
            self.join(channel)
        if self._mayRegain and not self._hasOwnNickname():
            self._regaining = LoopingCall(self._askWhetherNicknameIsFree)
            self._regaining.clock = self.clock
            self._regaining.start(self.factory.regainInterval, now=False)

    def joined(self, channel: str) -> None:
        self.log.info("Joined {channel}", channel=channel)

    # Nicknames

    def setNick(self, nickname: str) -> None:
        self._attempted = nickname
        super().setNick(nickname)

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
        if self._signedOn:
            # Only a nickname asked for while signing on needs another try
            # now; the bot asks for its own again later.
            return
        super().irc_ERR_NICKNAMEINUSE(prefix, params)

    # "Nick/channel is temporarily unavailable": the same remedy.
    irc_ERR_UNAVAILRESOURCE = irc_ERR_NICKNAMEINUSE

    def irc_ERR_ERRONEUSNICKNAME(self, prefix: str, params: List[str]) -> None:
        if self._signedOn:
            return
        if ircLower(self._attempted) == ircLower(self.factory.nickname):
            # The server will never take it: asking again would be in vain.
            self._mayRegain = False
        if self._attempted == self.erroneousNickFallback:
            self.log.error(
                "The IRC server refuses the nickname {nickname}", nickname=self._attempted
            )
            self.transport.loseConnection()  # type: ignore[union-attr]
            return
        super().irc_ERR_ERRONEUSNICKNAME(prefix, params)

    def _hasOwnNickname(self) -> bool:
        return ircLower(self.nickname) == ircLower(self.factory.nickname)

    def _askWhetherNicknameIsFree(self) -> None:
        if not self._askedWhetherFree:
            # One question at a time: a slow server does not get a backlog.
            self._askedWhetherFree = True
            self.sendLine(f"ISON {self.factory.nickname}")

    def irc_RPL_ISON(self, prefix: str, params: List[str]) -> None:
        """
        The server says which of the nicknames the bot asked about are in
        use: when its own is not, the bot takes it back.
        """
        self._askedWhetherFree = False
        online = {ircLower(nickname) for nickname in params[-1].split()}
        if not self._hasOwnNickname() and ircLower(self.factory.nickname) not in online:
            self.setNick(self.factory.nickname)

    def nickChanged(self, nick: str) -> None:
        super().nickChanged(nick)
        if self._hasOwnNickname():
            self._stopRegaining()
            self.log.info("Took back the nickname {nickname}", nickname=nick)

    def _stopRegaining(self) -> None:
        if self._regaining is not None:
            self._regaining.stop()
            self._regaining = None

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
        if self._collecting is not None:
            self._collecting.append(line)
            return
        self._outgoing.add(None, [line])
        if self._pumping is None:
            self._pump()

    @contextmanager
    def _oneReply(self, asker: str) -> Iterator[None]:
        """
        Queue every line sent inside as one reply to C{asker}, which takes
        its turn with other askers' replies.
        """
        self._collecting = []
        try:
            yield
        finally:
            lines, self._collecting = self._collecting, None
        self._outgoing.add(ircLower(asker), lines)
        if self._pumping is None:
            self._pump()

    def _pump(self) -> None:
        self._pumping = None
        while self._outgoing.lines and not self._gone:
            if not self._lineBucket.take():
                self._pumping = self.clock.callLater(self._lineBucket.delay(), self._pump)
                return
            # IRCClient.sendLine writes at once when lineRate is None.
            super().sendLine(self._outgoing.pop())
        self._dropping = False

    @property
    def queued(self) -> int:
        """
        How many lines wait to be sent.
        """
        return self._outgoing.lines

    def _roomFor(self, asker: str, lines: int) -> bool:
        """
        Is there room in the queue for C{lines} more lines of reply to
        C{asker}?  There is not when the queue holds C{maxQueuedLines}, or
        C{asker} already has C{maxQueuedPerAsker} lines waiting; then the
        reply is dropped (and that logged once, until the queue drains)
        rather than letting a flood of questions grow the queue without end.
        """
        waiting = self._outgoing.waiting(ircLower(asker))
        if self.queued + lines <= self.factory.maxQueuedLines and (
            waiting == 0 or waiting + lines <= self.factory.maxQueuedPerAsker
        ):
            return True
        if not self._dropping:
            self._dropping = True
            self.log.warn("Too many questions at once; dropping replies until the queue drains")
        return False

    # Questions and answers

    def _mayAsk(self, asker: str) -> bool:
        """
        May C{asker} ask a question now?  Each asker may ask C{askerBurst}
        at once, then one every C{askerInterval} seconds; past that, the
        bot ignores them (and logs that once), so that another bot that
        answers the bot's answers soon stops being answered.
        """
        key = ircLower(asker)
        bucket = self._askers.get(key)
        if bucket is None:
            self._forgetAskers()
            bucket = TokenBucket(
                self.clock, 1 / self.factory.askerInterval, self.factory.askerBurst
            )
            self._askers[key] = bucket
        if bucket.take():
            return True
        if key not in self._throttled:
            self._throttled.add(key)
            self.log.warn("Too many questions from {asker!r}; ignoring some", asker=asker)
        return False

    def _forgetAskers(self) -> None:
        """
        Make room for one more asker: forget those whose rate limit is back
        to its start, then, if that is not enough, the oldest.
        """
        if len(self._askers) < MAX_ASKERS:
            return
        for key, bucket in list(self._askers.items()):
            if bucket.full():
                del self._askers[key]
                self._throttled.discard(key)
        while len(self._askers) >= MAX_ASKERS:
            key = next(iter(self._askers))
            del self._askers[key]
            self._throttled.discard(key)

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
        if self._mayAsk(asker):
            self._answer(asker, target, prefix, words[0])

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

    def _answer(self, asker: str, target: str, prefix: str, name: str) -> None:
        shown = "".join(printableLines(name))
        if not isValidUserName(name):
            self._reply(asker, target, prefix + STATUS_OF.format(user=shown), NO_SUCH_USER)
            return
        lookup = self.factory.policy.ask(
            self.factory.getUser(name),
            str,
            _ANSWERS,
            f"{asker!r} on IRC",
            f"the status of {shown!r}",
        )

        def reply(status: str) -> None:
            self._pending.discard(lookup)
            self._reply(asker, target, prefix + STATUS_OF.format(user=shown), status)

        def cancelled(reason: Failure) -> None:
            self._pending.discard(lookup)
            reason.trap(CancelledError)

        if not lookup.called:
            self._pending.add(lookup)
        lookup.addCallbacks(reply, cancelled)

    def _reply(self, asker: str, target: str, lead: str, status: str) -> None:
        if self._gone:
            return
        lines = self.formatReply(target, lead, status)
        if self._roomFor(asker, len(lines)):
            with self._oneReply(asker):
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
                    room = budget - len(CUT_SHORT.encode("utf-8"))
                    pieces[-1] = last[:room].decode("utf-8", "ignore") + CUT_SHORT
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
        asker = user.split("!", 1)[0]
        for tag, data in messages[:1]:
            if tag not in ("VERSION", "PING") or ircLower(asker) == ircLower(self.nickname):
                continue
            if self._mayAsk(asker) and self._roomFor(asker, 1):
                if tag == "PING" and data is not None:
                    data = "".join(printableLines(data))[:32]
                with self._oneReply(asker):
                    super().ctcpQuery(user, channel, [(tag, data)])


@implementer(IIRCClientFactory)
class IRCClientFactoryFromService(Factory):
    """
    Build L{IRCReplyBot}s that answer from an L{IFingerService}.

    Every setting is a keyword argument of the constructor, and an attribute
    of the same name; C{IIRCClientFactory(service)} gives a factory with the
    defaults.

    @ivar nickname: the nickname to ask for.
    @ivar channels: the channels to join.
    @ivar clock: the L{IReactorTime} for rate limiting, keepalives, lookup
        timeouts and retries.
    @ivar policy: the L{LookupPolicy} every question goes through.
    @ivar lineRate: seconds between lines sent, once the burst is used up.
    @ivar burst: lines that may be sent at once after a quiet spell.
    @ivar maxQueuedLines: the most lines waiting to be sent; replies that
        do not fit are dropped.
    @ivar maxQueuedPerAsker: the most lines waiting to be sent to one
        asker; a reply that does not fit is dropped, unless it is the only
        one for that asker.
    @ivar askerBurst: questions one asker may ask at once.
    @ivar askerInterval: seconds between one asker's questions, once their
        burst is used up; questions asked sooner are ignored.
    @ivar maxReplyLines: the most lines one reply takes.
    @ivar heartbeatInterval: seconds between the bot's own C{PING}s.
    @ivar idleTimeout: seconds of silence from the server after which the
        link is taken for dead and dropped; more than C{heartbeatInterval},
        since a live server answers the bot's C{PING}.
    @ivar regainInterval: seconds between asking the server (C{ISON})
        whether C{nickname} is free again, while the bot goes by another.
    @ivar initialDelay: seconds before the first retry.
    @ivar maxDelay: the most seconds between retries (plus up to a second
        of jitter).
    @ivar stableAfter: seconds a session must last, signed on, for the
        next disconnection to start the back-off afresh.
    @ivar jitter: returns the random part of each retry delay, in seconds.
    """

    protocol = IRCReplyBot  # type: ignore[assignment]
    noisy = False

    def __init__(
        self,
        service: IFingerService,
        *,
        nickname: str = "fingerbot",
        channels: Sequence[str] = (),
        clock: Optional[IReactorTime] = None,
        lookupTimeout: float = LOOKUP_TIMEOUT,
        maxReplyLines: int = 4,
        lineRate: float = 1.0,
        burst: int = 4,
        maxQueuedLines: int = 40,
        maxQueuedPerAsker: int = 12,
        askerBurst: int = 5,
        askerInterval: float = 5.0,
        heartbeatInterval: float = 120.0,
        idleTimeout: float = 300.0,
        regainInterval: float = 60.0,
        jitter: Callable[[], float] = random.random,
        initialDelay: float = 1.0,
        maxDelay: float = 60.0,
        stableAfter: float = 60.0,
    ) -> None:
        """
        @param service: where the statuses come from.
        @param lookupTimeout: seconds the back-end has to answer a question
            before the asker is told L{TIMED_OUT}, as in the finger
            protocol.
        @param clock: L{None} for the global reactor.

        The other parameters set the attributes of the same name.
        """
        self.service = service
        self.nickname = nickname
        self.channels = list(channels)
        self.clock = orGlobalReactor(clock)
        self.policy = LookupPolicy(self.clock, lookupTimeout)
        self.maxReplyLines = maxReplyLines
        # What the bot sends, and to whom first.
        self.lineRate, self.burst = lineRate, burst
        self.maxQueuedLines, self.maxQueuedPerAsker = maxQueuedLines, maxQueuedPerAsker
        self.askerBurst, self.askerInterval = askerBurst, askerInterval
        # The link, and the nickname on it.
        self.heartbeatInterval, self.idleTimeout = heartbeatInterval, idleTimeout
        self.regainInterval = regainInterval
        # Coming back.
        self.jitter, self.initialDelay = jitter, initialDelay
        self.maxDelay, self.stableAfter = maxDelay, stableAfter
        self.shortSessions = 0

    @property
    def lookupTimeout(self) -> float:
        """
        Seconds the back-end has to answer a question.
        """
        return self.policy.timeout

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


components.registerAdapter(IRCClientFactoryFromService, IFingerService, IIRCClientFactory)
