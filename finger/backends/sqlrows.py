# -*- test-case-name: tests.backends.test_sqlrows -*-
"""
What a row of the status table may hold, and what a read of it found.

Nothing read from the table is believed without checking: a row whose name
breaks the rule in L{finger.names}, or whose status is not text a setter
could have stored (L{finger.names.checkStatus}: one line, at most
L{finger.names.MAX_STATUS_LENGTH} characters), is left out of what a read
returns and reported (L{BadRow}), as the status file skips a malformed
line.  L{finger.app.dbcopy} checks what it copies with L{checkRow} too.
"""

from typing import Any, Dict, Iterable, List, NamedTuple, Optional, Sequence, Set, Tuple

from twisted.logger import Logger

from finger.names import checkStatus, checkUserName
from finger.text import Count


class InvalidRow(ValueError):
    """
    A row of the table holds something no setter could have stored.  The
    message says what.
    """


def checkRow(name: object, status: object) -> Tuple[str, str]:
    """
    Return a row's name and status if they are what a setter stores: a name
    that satisfies the user name rule and a status that
    L{finger.names.checkStatus} accepts, both text.

    @raise InvalidRow: saying what is wrong.
    """
    if not isinstance(name, str):
        raise InvalidRow(f"the name is not text but {type(name).__name__}")
    if not isinstance(status, str):
        raise InvalidRow(f"the status is not text but {type(status).__name__}")
    try:
        return checkUserName(name), checkStatus(status)
    except ValueError as e:
        raise InvalidRow(str(e)) from None


def _display(value: object) -> str:
    """
    Show a value read from the table in a log line: escaped and short.
    """
    shown = repr(value)
    return shown if len(shown) <= 80 else shown[:77] + "..."


class BadRow(NamedTuple):
    """
    A row left out of a read.

    @ivar name: the row's name, as a log may show it (escaped, cut short).
    @ivar reason: what is wrong with it.
    @ivar key: the same for the same row, to tell whether it was reported.
    """

    name: str
    reason: str
    key: int


LOGGED_BAD_ROWS = 10
"""
The most bad rows of one read logged one by one; the rest are counted.
"""


class BadRowLog:
    """
    The bad rows a node has logged (by L{BadRow.key}), so that each is
    logged once however often it is read again.
    """

    log = Logger()

    def __init__(self, database: str) -> None:
        """
        @param database: the database, as the log names it.
        """
        self.database = database
        self.logged: Set[int] = set()

    def read(self, bad: List[BadRow], whole: bool = False) -> None:
        """
        Log the rows of C{bad} not logged before, at most L{LOGGED_BAD_ROWS}
        of them one by one, and remember them all as logged.

        @param whole: whether C{bad} are the bad rows of the whole table, so
            that rows no longer among them are forgotten (and logged again
            if they go bad again).
        """
        logged = self.logged
        if whole:
            self.logged = set()
        new = 0
        for row in bad:
            known = row.key in logged
            self.logged.add(row.key)
            if known:
                continue
            new += 1
            if new <= LOGGED_BAD_ROWS:
                self.log.warn(
                    "Skipped a row of {database}: name {name}: {reason}",
                    database=self.database,
                    name=row.name,
                    reason=row.reason,
                )
        if new > LOGGED_BAD_ROWS:
            self.log.warn(
                "Skipped {count} of {database}",
                database=self.database,
                count=Count(new - LOGGED_BAD_ROWS, "more bad row"),
            )


class Rows(NamedTuple):
    """
    What a read of the table found.

    @ivar statuses: the good rows, user name to status.
    @ivar bad: the rows left out.
    @ivar version: the newest version among the rows read (good or bad), or
        0 if there were none or the database has no versions.
    """

    statuses: Dict[str, str]
    bad: List[BadRow]
    version: int = 0


class Changes(NamedTuple):
    """
    What L{finger.backends.sqlstore.Database.changes} found.

    @ivar rows: the rows changed after the version asked for, at most
        C{limit} of them, oldest first; their C{version} is the newest.
    @ivar more: whether there may be more changed rows than were read.
    @ivar low: the lowest version in the table, or L{None} if it is empty.
    @ivar high: the highest version in the table, or L{None} if it is empty.
    """

    rows: Rows
    more: bool
    low: Optional[int]
    high: Optional[int]


def checkRows(rows: Iterable[Sequence[Any]]) -> Rows:
    """
    Check rows of C{(name, status)} or C{(name, status, version)} with
    L{checkRow}.
    """
    statuses: Dict[str, str] = {}
    bad: List[BadRow] = []
    version = 0
    for row in rows:
        name, status = row[0], row[1]
        if len(row) > 2 and row[2] is not None and row[2] > version:
            version = row[2]
        try:
            name, status = checkRow(name, status)
        except InvalidRow as e:
            bad.append(BadRow(_display(name), str(e), hash(repr((name, status)))))
        else:
            statuses[name] = status
    return Rows(statuses, bad, version)
