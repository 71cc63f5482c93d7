# -*- test-case-name: tests.test_statusfile -*-
"""
The status file: one C{user: status} line per user, in UTF-8.

Blank lines and lines starting with C{#} are comments.  A line that is not a
comment, has no C{:}, names an invalid user or is not UTF-8 is malformed: it is
reported with its line number and skipped, and the other lines still count.
When a user appears twice, the later line wins.

These functions do blocking file I/O and are meant to run in a thread; the
service in L{finger.service} decides when.
"""

import os
import re
import tempfile
from typing import Dict, Iterator, List, Mapping, NamedTuple, Optional, Tuple

from finger.interfaces import StatusNotSaved
from finger.names import isValidUserName


class Problem(NamedTuple):
    """
    A malformed line.
    """

    lineno: int
    reason: str


class Snapshot(NamedTuple):
    """
    What a status file said when it was read.

    @ivar statuses: user name to status, in file order.
    @ivar problems: the malformed lines.
    @ivar identity: L{fileIdentity} of the file that was read.
    @ivar empty: whether the file had no bytes at all.
    """

    statuses: Dict[str, str]
    problems: List[Problem]
    identity: Tuple[int, ...]
    empty: bool = False


class StatusFileError(Exception):
    """
    A status file could not be read.  The message names the path.
    """


def fileIdentity(st: os.stat_result) -> Tuple[int, ...]:
    """
    What tells one version of a file from another without reading it.
    """
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _entries(text: str) -> Iterator[Tuple[int, str, Optional[str], str]]:
    """
    Walk the lines of a status file.

    @return: for each line, its number, the line itself (without its line
        ending), the user it names (L{None} for a comment or a malformed
        line), and the status, or the reason a malformed line is malformed
        (empty for a comment).
    """
    for lineno, line in enumerate(text.split("\n"), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            yield lineno, line, None, ""
            continue
        name, colon, status = stripped.partition(":")
        name = name.rstrip()
        status = status.strip()
        if not colon:
            yield lineno, line, None, "no ':' between user and status"
        elif not isValidUserName(name):
            yield lineno, line, None, f"invalid user name {name!r}"
        elif _SURROGATE.search(status) is not None:
            yield lineno, line, None, "status is not UTF-8"
        else:
            yield lineno, line, name, status


def _decode(data: bytes) -> str:
    # Undecodable bytes become lone surrogates, which the name rule and the
    # status check reject, so only the lines holding them are lost.
    return data.decode("utf-8", "surrogateescape")


def parse(data: bytes) -> Tuple[Dict[str, str], List[Problem]]:
    """
    Read the users out of the bytes of a status file.

    @return: the statuses by user, and the malformed lines.
    """
    statuses: Dict[str, str] = {}
    problems: List[Problem] = []
    for lineno, _line, name, status in _entries(_decode(data)):
        if name is not None:
            statuses[name] = status
        elif status:
            problems.append(Problem(lineno, status))
    return statuses, problems


def read(path: str) -> Snapshot:
    """
    Read and parse the status file at C{path}.

    @raise StatusFileError: if it cannot be read.
    """
    try:
        with open(path, "rb") as f:
            identity = fileIdentity(os.fstat(f.fileno()))
            data = f.read()
    except OSError as e:
        raise StatusFileError(
            f"cannot read status file {path}: {e.strerror or e}"
        ) from e
    statuses, problems = parse(data)
    return Snapshot(statuses, problems, identity, not data)


def readIfChanged(path: str, identity: Tuple[int, ...]) -> Optional[Snapshot]:
    """
    Read the status file at C{path} unless it is still the version whose
    L{fileIdentity} is C{identity}.

    @return: a new L{Snapshot}, or L{None} if the file did not change.
    @raise StatusFileError: if it cannot be read.
    """
    try:
        current = fileIdentity(os.stat(path))
    except OSError as e:
        raise StatusFileError(
            f"cannot read status file {path}: {e.strerror or e}"
        ) from e
    if current == identity:
        return None
    return read(path)


def update(data: bytes, changes: Mapping[str, str]) -> Tuple[bytes, Dict[str, str]]:
    """
    Set some users' statuses in the bytes of a status file.

    Each changed user's first line is rewritten and any later lines for the
    same user are dropped; users the file did not have are added at the end.
    Every other line, comments and malformed lines included, is kept as it
    was.

    @return: the new bytes and the statuses they hold.
    """
    lines: List[str] = []
    statuses: Dict[str, str] = {}
    done = set()
    for _lineno, line, name, status in _entries(_decode(data)):
        if name is not None:
            if name in changes:
                if name in done:
                    continue
                done.add(name)
                status = changes[name]
                line = _format(name, status)
            statuses[name] = status
        lines.append(line)
    if lines and lines[-1] == "":
        # What followed the last newline; the new text ends with one anyway.
        lines.pop()
    for name, status in changes.items():
        if name not in done:
            lines.append(_format(name, status))
            statuses[name] = status
    text = "".join(line + "\n" for line in lines)
    return text.encode("utf-8", "surrogateescape"), statuses


def _format(name: str, status: str) -> str:
    return f"{name}: {status}" if status else f"{name}:"


def save(path: str, changes: Mapping[str, str], fallback: Mapping[str, str]) -> Snapshot:
    """
    Apply C{changes} to the status file at C{path}, durably and atomically.

    The new contents are written to a temporary file in the same directory,
    flushed to disk, given the old file's permissions, and renamed over the
    old file; then the directory is flushed too.  Whenever this process dies,
    the path holds either the old file or the new one.

    @param fallback: the statuses to start from if the file has vanished or
        is empty (truncated): they are what the service still serves.
    @return: a L{Snapshot} of what was written.
    @raise StatusNotSaved: if anything failed; the old file is untouched.
    """
    directory = os.path.dirname(os.path.abspath(path))
    try:
        with open(path, "rb") as f:
            st: Optional[os.stat_result] = os.fstat(f.fileno())
            old = f.read()
    except FileNotFoundError:
        st = None
        old = b""
    except OSError as e:
        raise StatusNotSaved(f"cannot read {path}: {e.strerror or e}") from e
    if not old:
        old = b"".join(
            (_format(name, status) + "\n").encode("utf-8", "surrogateescape")
            for name, status in fallback.items()
        )
    new, statuses = update(old, changes)
    try:
        fd, temporary = tempfile.mkstemp(
            dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp"
        )
    except OSError as e:
        raise StatusNotSaved(f"cannot write in {directory}: {e.strerror or e}") from e
    try:
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(new)
                f.flush()
                if st is not None:
                    os.fchmod(f.fileno(), st.st_mode & 0o7777)
                    if os.geteuid() == 0:
                        os.fchown(f.fileno(), st.st_uid, st.st_gid)
                else:
                    os.fchmod(f.fileno(), 0o644)
                os.fsync(f.fileno())
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
        _syncDirectory(directory)
        identity = fileIdentity(os.stat(path))
    except OSError as e:
        raise StatusNotSaved(f"cannot save {path}: {e.strerror or e}") from e
    return Snapshot(statuses, [], identity)


def _syncDirectory(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
