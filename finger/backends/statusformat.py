# -*- test-case-name: tests.backends.test_statusformat -*-
"""
The status file's format: one C{user: status} line per user, in UTF-8.

Blank lines and lines starting with C{#} are comments.  A line that is not a
comment, has no C{:}, names an invalid user (L{finger.names}: RFC 8265, so
C{moshez\u3164} is no user) or is not UTF-8 is malformed: it is reported
with its line number and skipped, and the other lines still count.  When a
user appears twice, the later line wins.  A status loses its invisible
characters (L{finger.text.withoutInvisible}), as a setter's does.

L{parse} reads the statuses out of a file's bytes; L{update} changes some
users' lines and keeps every other line as it was, comments and malformed
lines included.  Both work on bytes in memory, and never touch a disk: the
file itself, and how it is saved, are L{finger.backends.statusfile}'s.
They take time in proportion to the file, and are meant to run in a
thread.
"""

import itertools
import operator
import re
from typing import Callable, Dict, Iterator, List, Mapping, NamedTuple, Optional, Tuple

from finger.names import PLAIN_USER_NAME, InvalidUserName, checkUserName, isValidUserName
from finger.text import IGNORABLE, withoutInvisible


class Problem(NamedTuple):
    """
    A malformed line.
    """

    lineno: int
    reason: str


_SURROGATE = re.compile("[\ud800-\udfff]")
_IGNORABLE = re.compile(f"[{IGNORABLE}]")


def _visible(status: str) -> str:
    """
    A status as the file's reader keeps it: without invisible characters,
    and stripped again once they are gone.
    """
    if _IGNORABLE.search(status) is None:
        return status
    return withoutInvisible(status).strip()


def _entries(text: str, first: int = 1) -> Iterator[Tuple[int, str, Optional[str], str]]:
    """
    Walk the lines of a status file.

    @return: for each line, its number, the line itself (without its line
        ending), the user it names (L{None} for a comment or a malformed
        line), and the status, or the reason a malformed line is malformed
        (empty for a comment).
    """
    for lineno, line in enumerate(text.split("\n"), first):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            yield lineno, line, None, ""
            continue
        name, colon, status = stripped.partition(":")
        name = name.rstrip()
        status = status.strip()
        if not colon:
            yield lineno, line, None, "no ':' between user and status"
            continue
        try:
            checkUserName(name)
        except InvalidUserName as e:
            yield lineno, line, None, f"invalid user name {name!r}: {e}"
            continue
        if _SURROGATE.search(status) is not None:
            yield lineno, line, None, "status is not UTF-8"
        else:
            yield lineno, line, name, _visible(status)


def _decode(data: bytes) -> str:
    # Undecodable bytes become lone surrogates, which the name rule and the
    # status check reject, so only the lines holding them are lost.
    return data.decode("utf-8", "surrogateescape")


#: Lines are handled this many bytes at a time (cut at a line end).  Every
#: step over a piece is one call into C; between pieces the thread that
#: parses gives the interpreter back, so a reactor running beside it in the
#: same process is never held up for long.
CHUNK_BYTES = 1 << 16

# A valid name never starts with "#" (which would make its line a comment).
# A line whose text before its first ":" is a valid name, once stripped,
# names a user; any other line is a comment or malformed and is classified
# by L{_entries}, one line at a time.  Most names are plain ASCII, which one
# call into C checks; the others are asked about one by one.
_PLAIN_NAME = PLAIN_USER_NAME.fullmatch
_first = operator.itemgetter(0)
_second = operator.itemgetter(1)
_third = operator.itemgetter(2)
_colons = itertools.repeat(":")


class _Piece(NamedTuple):
    """
    Some consecutive lines of a status file, split up.

    @ivar lineno: the number of the first line.
    @ivar lines: the lines, without their line endings.
    @ivar users: the index in C{lines} of each line that names a user (all
        lines if L{None}).
    @ivar names: the user each such line names.
    @ivar statuses: the status it gives.
    @ivar problems: the malformed lines among C{lines}.
    """

    lineno: int
    lines: List[str]
    users: Optional[List[int]]
    names: List[str]
    statuses: List[str]
    problems: List[Problem]


def _pieces(
    data: bytes, only: Optional[Callable[[str], bool]] = None
) -> Iterator[_Piece]:
    """
    Split the bytes of a status file into L{_Piece}s of about
    L{CHUNK_BYTES}, with the meaning of every line worked out as L{_entries}
    does, but one call into C for all the lines of a piece where it can.

    @param only: if given, the pieces need only name the users for whom it
        is true, and give no statuses and no problems.
    """
    position, size, lineno = 0, len(data), 1
    while True:
        end = data.find(b"\n", position + CHUNK_BYTES)
        last = end == -1
        if last:
            end = size
        raw = data[position:end]
        lines = _decode(raw).split("\n")
        if not raw.isascii() and _SURROGATE.search("".join(lines)) is not None:
            # Undecodable bytes here: the careful way, line by line.
            yield _slowPiece(lineno, lines)
        elif only is not None:
            yield _namesPiece(lineno, lines, only)
        else:
            yield _fastPiece(lineno, lines, raw.isascii())
        if last:
            return
        lineno += len(lines)
        position = end + 1


def _fastPiece(lineno: int, lines: List[str], ascii: bool) -> _Piece:
    parts = list(map(str.partition, lines, _colons))
    names = list(map(str.strip, map(_first, parts)))
    users: Optional[List[int]] = None
    problems: List[Problem] = []
    if not (all(map(_second, parts)) and all(map(_PLAIN_NAME, names))):
        good = list(map(isValidUserName, names))
        good = list(map(operator.and_, good, map(bool, map(_second, parts))))
        users = list(itertools.compress(range(len(lines)), good))
        for index in itertools.compress(range(len(lines)), map(operator.not_, good)):
            for number, _line, _name, reason in _entries(lines[index], lineno + index):
                if reason:
                    problems.append(Problem(number, reason))
        parts = list(itertools.compress(parts, good))
        names = list(itertools.compress(names, good))
    statuses = list(map(str.strip, map(_third, parts)))
    if not ascii:
        statuses = list(map(_visible, statuses))
    return _Piece(lineno, lines, users, names, statuses, problems)


def _namesPiece(lineno: int, lines: List[str], only: Callable[[str], bool]) -> _Piece:
    parts = list(map(str.partition, lines, _colons))
    names = list(map(str.strip, map(_first, parts)))
    users = [
        index
        for index in itertools.compress(range(len(lines)), map(only, names))
        if parts[index][1] and isValidUserName(names[index])
    ]
    return _Piece(lineno, lines, users, [names[i] for i in users], [], [])


def _slowPiece(lineno: int, lines: List[str]) -> _Piece:
    users: List[int] = []
    names: List[str] = []
    statuses: List[str] = []
    problems: List[Problem] = []
    for index, line in enumerate(lines):
        for number, _line, name, status in _entries(line, lineno + index):
            if name is not None:
                users.append(index)
                names.append(name)
                statuses.append(status)
            elif status:
                problems.append(Problem(number, status))
    return _Piece(lineno, lines, users, names, statuses, problems)


def _shared(cache: Dict[str, str], statuses: List[str]) -> Iterator[str]:
    """
    The same statuses, with equal ones made one object: many users share a
    status, and a million copies of "on vacation" cost memory for nothing.
    """
    return map(cache.setdefault, statuses, statuses)


def parse(data: bytes) -> Tuple[Dict[str, str], List[Problem]]:
    """
    Read the users out of the bytes of a status file.

    @return: the statuses by user, and the malformed lines.
    """
    statuses: Dict[str, str] = {}
    problems: List[Problem] = []
    cache: Dict[str, str] = {}
    for piece in _pieces(data):
        statuses.update(zip(piece.names, _shared(cache, piece.statuses)))
        problems.extend(piece.problems)
    return statuses, problems


def update(
    data: bytes, changes: Mapping[str, str], known: Optional[Mapping[str, str]] = None
) -> Tuple[bytes, Dict[str, str]]:
    """
    Set some users' statuses in the bytes of a status file.

    Each changed user's first line is rewritten and any later lines for the
    same user are dropped; users the file did not have are added at the end.
    Every other line, comments and malformed lines included, is kept as it
    was.

    @param known: what L{parse} gives for C{data}, if the caller has it: then
        only the changed users' lines are looked for.
    @return: the new bytes and the statuses they hold.
    """
    kept: List[str] = []
    statuses: Dict[str, str] = {}
    cache: Dict[str, str] = {}
    done = set()
    isChanged = changes.__contains__
    for piece in _pieces(data, None if known is None else isChanged):
        lines = piece.lines
        hits = list(itertools.compress(range(len(piece.names)), map(isChanged, piece.names)))
        if hits:
            lines = list(lines)
            dropped = []
            for hit in hits:
                index = hit if piece.users is None else piece.users[hit]
                name = piece.names[hit]
                if name in done:
                    dropped.append(index)
                    continue
                done.add(name)
                lines[index] = _format(name, changes[name])
            for index in reversed(dropped):
                del lines[index]
        kept.extend(lines)
        statuses.update(zip(piece.names, _shared(cache, piece.statuses)))
    if kept and kept[-1] == "":
        # What followed the last newline; the new text ends with one anyway.
        kept.pop()
    for name, status in changes.items():
        if name not in done:
            kept.append(_format(name, status))
    # Changed users keep their place (their first line); new ones come last,
    # as in the file.
    if known is not None:
        statuses = dict(known)
    statuses.update(changes)
    text = "\n".join(kept) + "\n" if kept else ""
    return text.encode("utf-8", "surrogateescape"), statuses


def _format(name: str, status: str) -> str:
    return f"{name}: {status}" if status else f"{name}:"


def render(statuses: Mapping[str, str]) -> bytes:
    """
    The bytes of a status file that holds C{statuses}, one line each, in
    their order.
    """
    return b"".join(
        (_format(name, status) + "\n").encode("utf-8", "surrogateescape")
        for name, status in statuses.items()
    )
