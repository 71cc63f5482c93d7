# -*- test-case-name: tests.frontends.irc.test_factory -*-
"""
The IRC bot's factory, L{IRCClientFactoryFromService}: every setting of
the bot, the lookup policy its questions go through, how long it waits
before coming back after the server went away, and the adapter from
L{IFingerService} to L{IIRCClientFactory}.
"""

import random
from typing import TYPE_CHECKING, Callable, Optional, Sequence

from twisted.application.internet import backoffPolicy
from twisted.internet.defer import Deferred
from twisted.internet.protocol import Factory
from twisted.python import components
from zope.interface import implementer

from finger.frontends.irc.announce import INTERVAL, Announcements
from finger.frontends.irc.bot import IRCReplyBot
from finger.interfaces import IFingerService, IIRCClientFactory, IStatusChanges
from finger.lookup import LookupPolicy, LookupSettings

if TYPE_CHECKING:
    from typing_extensions import Unpack

DEFAULT_PORT = 6667
"""
The IRC server's port when C{--ircserver} names none.
"""


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
    @ivar announcements: the changes the bot announces in its channels
        (L{finger.frontends.irc.announce}), or L{None} if it announces none.
    @ivar bot: the bot signed on now, if one is.
    """

    protocol = IRCReplyBot  # type: ignore[assignment]
    noisy = False

    def __init__(
        self,
        service: IFingerService,
        *,
        nickname: str = "fingerbot",
        channels: Sequence[str] = (),
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
        announce: Optional[IStatusChanges] = None,
        announceInterval: float = INTERVAL,
        **settings: "Unpack[LookupSettings]",
    ) -> None:
        """
        @param service: where the statuses come from.
        @param announce: the back-end whose changes the bot announces in
            its channels; L{None} to announce none.
        @param announceInterval: the fewest seconds between two
            announcements of one user.
        @param settings: how the back-end is asked (L{LookupSettings}): a
            question not answered within C{lookupTimeout} gets
            L{TIMED_OUT}, as in the finger protocol; the C{clock} (the
            global reactor if L{None}) keeps every other time of the bot
            too; the C{observer} is the metrics' count of the C{irc}
            front-end.

        The other parameters set the attributes of the same name.
        """
        self.service = service
        self.nickname = nickname
        self.channels = list(channels)
        self.policy = LookupPolicy.fromSettings(**settings)
        self.clock = self.policy.clock
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
        self.bot: Optional[IRCReplyBot] = None
        self.announcements: Optional[Announcements] = None
        if announce is not None:
            self.announcements = Announcements(
                announce, self.clock, self._announce, interval=announceInterval
            )

    def _announce(self, user: str, status: str) -> None:
        """
        Have the bot signed on now, if one is, announce a change; while
        none is, announcements are lost.
        """
        if self.bot is not None:
            self.bot.announce(user, status)

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
