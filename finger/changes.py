# -*- test-case-name: tests.test_changes -*-
"""
The stream of status changes inside the service: what a back-end that can
change tells its listeners (L{finger.interfaces.IStatusChanges}), and what
the front-ends that relay changes share.

    - L{StatusChange} and L{ChangeBatch}: one user's new status, and the
      changes one set, reload or read of a database brought at once.
    - L{ChangeNotifier}: the listeners of one back-end, each told of every
      batch; a listener that raises is logged and the others are told all
      the same, and the back-end never sees the error.
    - L{compare}: what changed between two tables of statuses, the old and
      the new one a back-end read, so that only real changes are told.
    - L{Backlog}: the last changes, each with an id, so that a client that
      lost its stream can take it up where it left it
      (L{finger.frontends.web.events}).
"""

import os
from collections import deque
from dataclasses import dataclass
from typing import Callable, Deque, Iterable, List, Mapping, Optional, Sequence, Tuple

from twisted.logger import Logger
from zope.interface import implementer

from finger.interfaces import IStatusChanges

MAX_BATCH = 1000
"""
The most changes one batch lists.  A reload that changed more users than
that (a status file replaced with another) is told as an incomplete batch:
a listener takes it to mean "everything may have changed".
"""

BACKLOG = 1000
"""
How many changes a L{Backlog} keeps, by default.
"""


@dataclass(frozen=True)
class StatusChange:
    """
    One user's status changed.

    @ivar user: the user's name.
    @ivar status: the new status, as the back-end answers it (unfiltered:
        each front-end makes it printable its own way); L{None} if the user
        is gone (a line removed from the status file, a row deleted).
    @ivar time: when the back-end learned of it, in seconds since the
        epoch on the back-end's clock.
    """

    user: str
    status: Optional[str]
    time: float


@dataclass(frozen=True)
class ChangeBatch:
    """
    The changes one set, reload or read brought at once, in the order the
    back-end found them.

    @ivar changes: the changes, at most L{MAX_BATCH}.
    @ivar complete: whether they are all the changes; if not, more users
        changed than a batch lists (C{changes} is then empty), and a
        listener should take everything to have changed.
    """

    changes: Tuple[StatusChange, ...]
    complete: bool = True


Listener = Callable[[ChangeBatch], None]
"""
What L{IStatusChanges.subscribe} takes: called with each batch of changes.
"""

Difference = List[Tuple[str, Optional[str]]]
"""
What L{compare} finds: each changed user with their new status, or L{None}
for a user who is gone.
"""


def compare(
    old: Mapping[str, str], new: Mapping[str, str], limit: int = MAX_BATCH
) -> Optional[Difference]:
    """
    What changed from the table C{old} to the table C{new}: users added or
    whose status changed (in C{new}'s order), then users removed.  It reads
    both tables and changes neither, so it may run in a thread while
    neither changes.

    @param limit: the most changes worth listing.
    @return: the changes, or L{None} if there are more than C{limit}.
    """
    found: Difference = []
    missing = object()
    get = old.get
    added = 0
    for user, status in new.items():
        was = get(user, missing)
        if was != status:
            if was is missing:
                added += 1
            found.append((user, status))
            if len(found) > limit:
                return None
    if len(new) - added < len(old):
        # Someone is gone: a user of old is not in new.
        for user in old:
            if user not in new:
                found.append((user, None))
                if len(found) > limit:
                    return None
    return found


@implementer(IStatusChanges)
class ChangeNotifier:
    """
    The listeners of one back-end's changes.

    @ivar now: what tells the time of a change.
    """

    log = Logger()

    def __init__(self, now: Callable[[], float]) -> None:
        self.now = now
        self._listeners: List[Listener] = []

    @property
    def listening(self) -> bool:
        """
        Whether anyone listens: a back-end need not look for changes when
        no one does.
        """
        return bool(self._listeners)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def announce(self, difference: Optional[Difference]) -> None:
        """
        Tell every listener of what changed, if anything did.

        @param difference: what L{compare} found, or L{None} for more
            changes than a batch lists.
        """
        if difference is None:
            batch = ChangeBatch((), complete=False)
        elif not difference:
            return
        else:
            when = self.now()
            batch = ChangeBatch(tuple(StatusChange(u, s, when) for u, s in difference))
        for listener in tuple(self._listeners):
            try:
                listener(batch)
            except Exception:
                self.log.failure("A listener of status changes failed: {listener!r}", listener=listener)


def changedIn(table: Mapping[str, str], updates: Iterable[Tuple[str, str]]) -> Difference:
    """
    The updates that change C{table}: those that set a user's status to
    one it does not already have.
    """
    missing = object()
    get = table.get
    return [(user, status) for user, status in updates if get(user, missing) != status]


class Backlog:
    """
    The last changes of one back-end, each with an id, for clients to take
    up a stream where they left it.

    An id is C{GENERATION-N}: C{N} counts the changes this backlog was
    told of, and C{GENERATION} is drawn at random when it is made, so an
    id given by another process (another worker, another node, this one
    before a restart) is never taken for one of this backlog's.

    @ivar size: how many changes it keeps.
    @ivar generation: what the ids it gives begin with.
    """

    def __init__(self, size: int = BACKLOG, generation: Optional[str] = None) -> None:
        self.size = size
        self.generation = generation if generation is not None else os.urandom(4).hex()
        self._entries: Deque[Tuple[int, StatusChange]] = deque(maxlen=size)
        self._count = 0
        # The changes after this one are all kept.
        self._floor = 0

    @property
    def latest(self) -> str:
        """
        The id of the last change told, or of the start if none was.
        """
        return self._id(self._count)

    def _id(self, number: int) -> str:
        return f"{self.generation}-{number}"

    def add(self, batch: ChangeBatch) -> Optional[List[Tuple[str, StatusChange]]]:
        """
        Keep the changes of C{batch}.

        @return: each change with its id; or L{None} if the batch is
            incomplete or larger than the backlog, which then starts over:
            no id given before can be taken up, and a client must read
            everything again.
        """
        if not batch.complete or len(batch.changes) > self.size:
            self._entries.clear()
            self._count += 1
            self._floor = self._count
            return None
        added = []
        entries = self._entries
        for change in batch.changes:
            if len(entries) == self.size:
                self._floor = entries[0][0]
            self._count += 1
            entries.append((self._count, change))
            added.append((self._id(self._count), change))
        return added

    def since(self, lastId: str) -> Optional[Sequence[Tuple[str, StatusChange]]]:
        """
        The changes after the one whose id is C{lastId}.

        @return: each with its id, oldest first; or L{None} if they are not
            all kept (an id older than the backlog, from another
            generation, or that this backlog never gave).
        """
        generation, _, number = lastId.rpartition("-")
        if generation != self.generation or not (0 < len(number) <= 20 and number.isascii() and number.isdigit()):
            return None
        n = int(number)
        if n < self._floor or n > self._count:
            return None
        return [(self._id(m), change) for m, change in self._entries if m > n]
