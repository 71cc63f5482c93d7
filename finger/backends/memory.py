# -*- test-case-name: tests.backends.test_file -*-
"""
Statuses kept in memory, as the tutorial's first back-ends keep them, and what
every back-end that answers from a table in memory shares (L{StatusTable}):
the rule it follows when it answers a lookup, and the checks before a change.
"""

import time
from typing import Callable, Dict, List, Optional

from twisted.application import service
from twisted.internet.defer import Deferred, execute, fail, succeed
from zope.interface import implementer

from finger.changes import ChangeBatch, ChangeNotifier, Difference, changedIn
from finger.interfaces import (
    IFingerService,
    IFingerSetterService,
    IStatusChanges,
    IStatusesAtHand,
    IVersionedFingerService,
    UnknownUser,
)
from finger.messages import CUT_SHORT
from finger.names import checkStatus, checkUserName

MAX_ANSWER_LENGTH = 4096
"""
The most characters of a status any lookup gives.  A setter cannot store
more than L{finger.names.MAX_STATUS_LENGTH}, but the status file is edited
by hand, and no front-end should relay a megabyte line.
"""


def statusIn(statuses: Dict[str, str], user: str) -> str:
    """
    The status of C{user} in a table, cut to L{MAX_ANSWER_LENGTH}
    characters.

    @raise UnknownUser: if the table has no C{user}.
    """
    try:
        status = statuses[user]
    except KeyError:
        raise UnknownUser(user) from None
    if len(status) > MAX_ANSWER_LENGTH:
        status = status[: MAX_ANSWER_LENGTH - len(CUT_SHORT)] + CUT_SHORT
    return status


def answerFrom(statuses: Dict[str, str], user: str) -> "Deferred[str]":
    """
    Answer a lookup of C{user} from a table: the status, cut to
    L{MAX_ANSWER_LENGTH} characters, or L{UnknownUser} (L{statusIn}).
    """
    return execute(statusIn, statuses, user)


def dispose(statuses: Dict[str, str], step: int = 4096) -> None:
    """
    Empty a table of statuses that nothing else uses any more, C{step}
    entries at a time, so that a thread doing it lets others run in between:
    freeing a million entries at once would hold up the reactor, running
    beside it in the same process, for tens of milliseconds.
    """
    popitem = statuses.popitem
    while statuses:
        for _ in range(min(step, len(statuses))):
            popitem()


@implementer(
    IFingerService, IFingerSetterService, IVersionedFingerService, IStatusChanges, IStatusesAtHand
)
class StatusTable(service.Service):
    """
    A back-end that answers from a table of statuses in memory, however it
    fills and keeps the table (the process's memory, a status file, a
    database): lookups by L{answerFrom}, or at once (L{IStatusesAtHand}),
    the list of users from the table's names, a change checked against the naming rules before the back-end
    stores it, a L{version} that counts the table's changes, and the
    listeners of its changes (L{IStatusChanges}), whom the back-end tells
    with L{announce}.

    @ivar users: the table, user name to status.  A back-end may replace it
        whole, which counts as a change; nothing else should change it but
        L{store}, and a back-end that changes it in place says so with
        L{changed}.
    """

    _users: Dict[str, str]
    _version = 0
    _notifier: Optional[ChangeNotifier] = None

    @property
    def users(self) -> Dict[str, str]:
        return self._users

    @users.setter
    def users(self, table: Dict[str, str]) -> None:
        self._users = table
        self.changed()

    def changed(self) -> None:
        """
        The table changed in place: the next L{version} is a new one.
        """
        self._version += 1

    def version(self) -> int:
        return self._version

    def changeTime(self) -> float:
        """
        The time a change is told with: the back-end's clock.
        """
        return time.time()

    @property
    def notifier(self) -> ChangeNotifier:
        """
        The listeners of this back-end's changes.
        """
        notifier = self._notifier
        if notifier is None:
            notifier = self._notifier = ChangeNotifier(self.changeTime)
        return notifier

    @property
    def listening(self) -> bool:
        """
        Whether anyone listens to this back-end's changes: when no one
        does, it need not look for them.
        """
        return self._notifier is not None and self._notifier.listening

    def subscribe(self, listener: Callable[[ChangeBatch], None]) -> Callable[[], None]:
        return self.notifier.subscribe(listener)

    def announce(self, difference: Optional[Difference]) -> None:
        """
        Tell the listeners what changed (see L{ChangeNotifier.announce}).
        """
        if self._notifier is not None:
            self._notifier.announce(difference)

    def getUser(self, user: str) -> "Deferred[str]":
        return answerFrom(self._users, user)

    def statusNow(self, user: str) -> Optional[str]:
        return statusIn(self._users, user)

    def _waitForGetUser(self, user: str) -> Optional[str]:
        # The statusNow of a table that answers lookups its own way.
        return None

    def __init_subclass__(cls, **kwargs: object) -> None:
        """
        A table that answers lookups its own way (its C{getUser} is its
        own) answers them only that way, unless it says how to answer at
        once too (its own C{statusNow}).
        """
        super().__init_subclass__(**kwargs)  # type: ignore[arg-type]
        if "getUser" in cls.__dict__ and "statusNow" not in cls.__dict__:
            cls.statusNow = StatusTable._waitForGetUser  # type: ignore[method-assign]

    def getUsers(self) -> "Deferred[List[str]]":
        return succeed(list(self._users))

    def setUser(self, user: str, status: str) -> "Deferred[None]":
        try:
            user, status = checkUserName(user), checkStatus(status)
        except ValueError:
            return fail()
        return self.store(user, status)

    def store(self, user: str, status: str) -> "Deferred[None]":
        """
        Keep C{status} as C{user}'s, both already checked.

        @return: a L{Deferred} that fires once the status is kept as long
            as the back-end keeps statuses.
        """
        raise NotImplementedError()


class MemoryFingerService(StatusTable):
    """
    Statuses kept in memory: they are lost when the process ends.

    C{MemoryFingerService(moshez="Happy and well")}, or
    C{MemoryFingerService(**{"zoë": "in Paris"})} for names that are not
    Python identifiers.
    """

    def __init__(self, **users: str) -> None:
        self.users = {
            checkUserName(name): checkStatus(status) for name, status in users.items()
        }

    def store(self, user: str, status: str) -> "Deferred[None]":
        difference = changedIn(self.users, [(user, status)])
        self.users[user] = status
        self.changed()
        self.announce(difference)
        return succeed(None)
