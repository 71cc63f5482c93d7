# -*- test-case-name: tests.frontends.irc.test_announce -*-
"""
Which status changes the IRC bot announces in its channels, and when
(C{--irc-announce}): L{Announcements}.

A channel hears at most one announcement per user per L{INTERVAL}: the
first change is announced at once, and the changes that come within the
minute after it wait, the latest replacing the others, to be announced
when the minute is up (unless it is the status just announced).  A user
who is gone is not announced; neither is a batch of changes too large to
list (a status file replaced with another): that is logged.  At most
C{maxTracked} users are waiting out their minute at once; changes of
others are dropped meanwhile, and that is logged once, so a flood of
changes costs bounded memory (and the bot's send queue drops what does
not fit, as it does for replies).

Back-ends that can change never hide users (see
L{finger.interfaces.IStatusChanges}), so a hidden user is never announced.
"""

from typing import Callable, Dict, Optional, Tuple

from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger

from finger.changes import ChangeBatch
from finger.interfaces import IStatusChanges
from finger.logonce import LogOnce

INTERVAL = 60.0
"""
The fewest seconds between two announcements of one user.
"""

MAX_TRACKED = 1000
"""
The most users waiting out their interval at once.
"""


class Announcements:
    """
    The changes of one back-end, paced for announcing: C{send(user,
    status)} is called for each announcement due.

    @ivar interval: the fewest seconds between two announcements of one
        user.
    @ivar maxTracked: the most users waiting out their interval at once.
    """

    log = Logger()

    def __init__(
        self,
        changes: IStatusChanges,
        clock: IReactorTime,
        send: Callable[[str, str], None],
        *,
        interval: float = INTERVAL,
        maxTracked: int = MAX_TRACKED,
    ) -> None:
        """
        @param changes: the back-end whose changes are announced, once
            L{start}ed.
        @param clock: what the intervals are measured on.
        @param send: announces one user's new status.
        """
        self.clock = clock
        self.send = send
        self.interval = interval
        self.maxTracked = maxTracked
        # Users announced within the interval: when it ends, and the
        # status announced.
        self._recent: Dict[str, Tuple[IDelayedCall, str]] = {}
        # The latest status of each of them, if it changed since.
        self._waiting: Dict[str, str] = {}
        self._full = LogOnce(self.log)
        self.changes = changes
        self._unsubscribe: Optional[Callable[[], None]] = None

    def start(self) -> None:
        """
        Listen to the back-end's changes.
        """
        if self._unsubscribe is None:
            self._unsubscribe = self.changes.subscribe(self.changed)

    def changed(self, batch: ChangeBatch) -> None:
        """
        Announce the changes of C{batch}, or have them wait their turn.
        """
        if not batch.complete:
            self.log.warn("Too many statuses changed at once to announce them on IRC")
            return
        for change in batch.changes:
            if change.status is not None:
                self._offer(change.user, change.status)

    def _offer(self, user: str, status: str) -> None:
        recent = self._recent.get(user)
        if recent is not None:
            self._waiting[user] = status
            return
        if len(self._recent) >= self.maxTracked:
            self._full.warn(
                "Over {count} users changed their status within {interval} seconds: "
                "not announcing more on IRC until fewer have",
                count=self.maxTracked,
                interval=self.interval,
            )
            return
        self._full.over()
        self._announce(user, status)

    def _announce(self, user: str, status: str) -> None:
        call = self.clock.callLater(self.interval, self._intervalOver, user)
        self._recent[user] = (call, status)
        self.send(user, status)

    def _intervalOver(self, user: str) -> None:
        _, announced = self._recent.pop(user)
        status: Optional[str] = self._waiting.pop(user, None)
        if status is not None and status != announced:
            self._announce(user, status)

    def stop(self) -> None:
        """
        Listen no more, and forget what waits.
        """
        if self._unsubscribe is not None:
            unsubscribe, self._unsubscribe = self._unsubscribe, None
            unsubscribe()
        for call, _ in self._recent.values():
            if call.active():
                call.cancel()
        self._recent.clear()
        self._waiting.clear()
