# -*- test-case-name: tests.frontends.irc.test_bot -*-
"""
The IRC bot itself, L{IRCReplyBot}: the client protocol that signs on,
keeps its nickname and its link, and answers questions.  Its settings are
its factory's (L{finger.frontends.irc.factory}).

What a question is and how a reply is cut into lines is
L{finger.frontends.irc.text}'s; how fast the bot talks and listens,
L{finger.frontends.irc.pacing}'s; what a lookup becomes, and cancelling
those of a connection that is gone, L{finger.lookup}'s.
"""

from contextlib import contextmanager
from typing import TYPE_CHECKING, Callable, Iterator, List, Optional

from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.protocols.policies import TimeoutMixin
from twisted.python.failure import Failure
from twisted.words.protocols import irc

import finger
from finger.frontends.irc.pacing import AskerRates, SendQueue
from finger.frontends.irc.text import (
    MAX_LINE_BYTES,
    decodeLine,
    ircLower,
    lineBudget,
    readQuestion,
    replyLines,
)
from finger.lookup import LookupAnswers
from finger.pending import Pending
from finger.messages import (
    INTERNAL_ERROR,
    NO_SUCH_USER,
    NOT_AVAILABLE_YET,
    NOW,
    STATUS_OF,
    TIMED_OUT,
)
from finger.names import isValidUserName
from finger.text import printableLines

if TYPE_CHECKING:
    from finger.frontends.irc.factory import IRCClientFactoryFromService


class _IRCAnswers(LookupAnswers[str]):
    """
    What the bot says, after C{Status of NAME:}, when a lookup finds no
    status.
    """

    def unknown(self, user: str) -> str:
        return NO_SUCH_USER

    def timedOut(self) -> str:
        return TIMED_OUT

    def notAvailable(self) -> str:
        return NOT_AVAILABLE_YET

    def failed(self) -> str:
        return INTERNAL_ERROR


_ANSWERS = _IRCAnswers()

ANNOUNCER = " announcements"
"""
Who announcements are queued for, taking turns with the askers: a name no
nickname can be.
"""


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
    _signedOnAt: Optional[float] = None
    _collecting: Optional[List[str]] = None

    def __init__(self) -> None:
        self._collisions = 0
        # Twisted's IRCClient keeps these too, privately: the bot keeps its
        # own, from the public hooks.
        self._attempted = ""
        self._signedOn = False
        self._mayRegain = True
        self._askedWhetherFree = False
        self._pending = Pending()

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
        factory = self.factory
        self.nickname = factory.nickname
        self.heartbeatInterval = factory.heartbeatInterval  # type: ignore[assignment]
        # IRCClient.sendLine writes at once when its lineRate is None.
        self._outgoing = SendQueue(
            self.clock,
            super().sendLine,
            lineRate=factory.lineRate,
            burst=factory.burst,
            maxLines=factory.maxQueuedLines,
            maxPerAsker=factory.maxQueuedPerAsker,
        )
        self._askers = AskerRates(self.clock, factory.askerBurst, factory.askerInterval)
        self.setTimeout(self.factory.idleTimeout)
        super().connectionMade()

    def dataReceived(self, data: bytes) -> None:
        self.resetTimeout()
        super().dataReceived(data)

    def lineReceived(self, line: bytes) -> None:
        super().lineReceived(decodeLine(line))

    def timeoutConnection(self) -> None:
        self.log.warn(
            "Nothing heard from the IRC server in {seconds} seconds; reconnecting",
            seconds=self.factory.idleTimeout,
        )
        self.transport.abortConnection()  # type: ignore[union-attr]

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        if self.factory.bot is self:
            self.factory.bot = None
        self._pending.leave()
        self.setTimeout(None)
        self._outgoing.stop()
        self._stopRegaining()
        super().connectionLost(reason)
        self.factory.sessionEnded(self._signedOnAt)
        self.log.info("Disconnected from the IRC server: {reason}", reason=reason.getErrorMessage())

    def signedOn(self) -> None:
        self._signedOn = True
        self._signedOnAt = self.clock.seconds()
        self.log.info("Signed on to IRC as {nickname}", nickname=self.nickname)
        self.factory.bot = self
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
        Queue a line for the server, which it gets when the rate limit
        allows.
        """
        if self._pending.gone:
            return
        if self._collecting is not None:
            self._collecting.append(line)
            return
        self._outgoing.add(None, [line])

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

    @property
    def queued(self) -> int:
        """
        How many lines wait to be sent.
        """
        return self._outgoing.lines

    def _roomFor(self, asker: str, lines: int) -> bool:
        """
        Is there room in the queue for C{lines} more lines of reply to
        C{asker}?  See L{SendQueue.roomFor}.
        """
        return self._outgoing.roomFor(ircLower(asker), lines)

    # Questions and answers

    def _mayAsk(self, asker: str) -> bool:
        """
        May C{asker} ask a question now?  Each asker may ask C{askerBurst}
        at once, then one every C{askerInterval} seconds (see
        L{AskerRates}).
        """
        return self._askers.mayAsk(ircLower(asker), asker)

    def privmsg(self, user: str, channel: str, message: str) -> None:
        asker = user.split("!", 1)[0]
        question = readQuestion(self.nickname, asker, channel, message)
        if question is not None and self._mayAsk(asker):
            self._answer(asker, *question)

    def _answer(self, asker: str, target: str, prefix: str, name: str) -> None:
        shown = "".join(printableLines(name))
        lead = prefix + STATUS_OF.format(user=shown)
        if not isValidUserName(name):
            self._reply(asker, target, lead, NO_SUCH_USER)
            return
        lookup = self.factory.policy.ask(
            self.factory.getUser(name),
            str,
            _ANSWERS,
            f"{asker!r} on IRC",
            f"the status of {shown!r}",
        )

        def reply(status: Optional[str]) -> None:
            if status is not None:
                self._reply(asker, target, lead, status)

        self._pending.track(lookup).addCallback(reply)

    def _reply(self, asker: str, target: str, lead: str, status: str) -> None:
        if self._pending.gone:
            return
        lines = self.formatReply(target, lead, status)
        if self._roomFor(asker, len(lines)):
            with self._oneReply(asker):
                for line in lines:
                    self.msg(target, line, length=MAX_LINE_BYTES)

    def formatReply(self, target: str, lead: str, status: str) -> List[str]:
        """
        The lines of a reply: C{lead} and the status's first line, then its
        other lines, each split to fit one IRC line as the server relays it
        to C{target}, at most the factory's C{maxReplyLines} lines in all.
        """
        nicknameLength = max(self.supported.getFeature("NICKLEN") or 9, len(self.nickname))
        budget = lineBudget(target, nicknameLength)
        return replyLines(lead, status, budget, self.factory.maxReplyLines)

    # Announcements (--irc-announce)

    def announce(self, user: str, status: str) -> None:
        """
        Say in each channel, in one line, that C{user}'s status is now
        C{status}: through the send queue, as one turn taken with the
        replies to askers, and dropped if the queue is full.
        """
        if self._pending.gone:
            return
        lead = NOW.format(user="".join(printableLines(user)))
        nicknameLength = max(self.supported.getFeature("NICKLEN") or 9, len(self.nickname))
        channels = self.factory.channels
        if not self._roomFor(ANNOUNCER, len(channels)):
            return
        # One turn for the announcement in every channel.
        with self._oneReply(ANNOUNCER):
            for channel in channels:
                [line] = replyLines(lead, status, lineBudget(channel, nicknameLength), 1)
                self.msg(channel, line, length=MAX_LINE_BYTES)

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
