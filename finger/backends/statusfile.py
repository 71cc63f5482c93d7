# -*- test-case-name: tests.backends.test_statusfile -*-
"""
The status file on disk: read it, and save changes to it durably and
atomically.  Its format is L{finger.backends.statusformat}'s, and the lock a
save holds is L{finger.backends.statuslock}'s.

The status file must be a regular file named by its own path, not a
symbolic link: a save replaces the file it names, so through a link reads
would follow the link while the first save replaced the link itself (and, run
as root, a link to C{/etc/shadow} would be served).  L{read} and L{save}
refuse a link (and anything that is not a regular file) and never follow
one.  A status file that no one may write (C{chmod a-w}), or that this
process may not write, is read-only: L{save} refuses with
L{StatusFileReadOnly} and leaves it alone.

A save writes a temporary file C{.NAME.XXXXXXXX.tmp} next to the status file
C{NAME} and renames it over the file, under the lock of the file
(L{finger.backends.statuslock.lockPath}); one left behind by a process
killed mid-save is removed by L{removeStale}.

These functions do blocking file I/O and are meant to run in a thread; the
service in L{finger.backends.file} decides when.  L{checkSavable} is the
exception: a few system calls on small files that never wait, which the
service makes from the reactor's thread.
"""

import errno
import os
import re
import stat
import tempfile
from typing import Dict, List, Mapping, NamedTuple, Optional, Tuple

from finger.backends.statusformat import Problem, parse, render, update
from finger.backends.statuslock import LOCK_TIMEOUT, LockBusy, locked
from finger.interfaces import StatusesReadOnly, StatusNotSaved
from finger.messages import READ_ONLY
from finger.paths import SAFE_OPEN_FLAGS


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


class StatusFileReadOnly(StatusesReadOnly):
    """
    A save was refused because the status file is read-only.  The message
    is fit for the client; L{path} names the file for the log.

    @ivar path: the status file.
    """

    def __init__(self, path: str) -> None:
        super().__init__(READ_ONLY)
        self.path = path


def _openRegular(path: str) -> Tuple[int, os.stat_result]:
    """
    Open the status file at C{path} for reading, without following a
    symbolic link and without blocking on a FIFO.

    @return: the descriptor and its L{os.stat_result}.
    @raise OSError: with a message saying what is wrong, if it cannot be
        opened, is a symbolic link or is not a regular file.
    """
    try:
        fd = os.open(path, SAFE_OPEN_FLAGS)
    except OSError as e:
        if e.errno == errno.ELOOP and os.path.islink(path):
            raise OSError(
                e.errno,
                "it is a symbolic link, which is refused (give the path of the file itself)",
            ) from e
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "it is not a regular file")
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def _isWritable(path: str, st: os.stat_result) -> bool:
    """
    May this process replace the status file C{path}, whose status is
    C{st}?  Not if its mode lets no one write it (which root could still
    do), nor if this process's user may not write it.
    """
    if not st.st_mode & 0o222:
        return False
    effective = os.access in os.supports_effective_ids
    return os.access(path, os.W_OK, effective_ids=effective)


def fileIdentity(st: os.stat_result) -> Tuple[int, ...]:
    """
    What tells one version of a file from another without reading it.
    """
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def read(path: str) -> Snapshot:
    """
    Read and parse the status file at C{path}.

    @raise StatusFileError: if it cannot be read.
    """
    try:
        fd, st = _openRegular(path)
        with open(fd, "rb") as f:
            identity = fileIdentity(st)
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
        # lstat: a symbolic link put in place of the file is a change, and
        # read refuses it.
        current = fileIdentity(os.lstat(path))
    except OSError as e:
        raise StatusFileError(
            f"cannot read status file {path}: {e.strerror or e}"
        ) from e
    if current == identity:
        return None
    return read(path)


def _openForSave(path: str) -> Optional[Tuple[int, os.stat_result]]:
    """
    Open the status file at C{path} to be read and replaced.

    @return: its descriptor and status, or L{None} if there is no file.
    @raise StatusFileReadOnly: if the file is read-only.
    @raise StatusNotSaved: if it cannot be opened, is a symbolic link or
        is not a regular file.
    """
    try:
        fd, st = _openRegular(path)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise StatusNotSaved(f"cannot read {path}: {e.strerror or e}") from e
    if not _isWritable(path, st):
        os.close(fd)
        raise StatusFileReadOnly(path)
    return fd, st


def save(
    path: str,
    changes: Mapping[str, str],
    fallback: Mapping[str, str],
    identity: Optional[Tuple[int, ...]] = None,
    timeout: float = LOCK_TIMEOUT,
) -> Snapshot:
    """
    Apply C{changes} to the status file at C{path}, durably and atomically.
    A symbolic link, or anything but a regular file, at C{path} is left
    alone, and so is a read-only file.

    The file is read, changed and replaced under its lock
    (L{finger.backends.statuslock}), so that a concurrent save by another
    process is never lost: it is either read here, or it reads what this
    one wrote.  The new contents are
    written to a temporary file in the same directory, flushed to disk,
    given the old file's permissions, and renamed over the old file; then
    the directory is flushed too.  Whenever this process dies, the path
    holds either the old file or the new one.

    @param fallback: the statuses the service serves: what to start from if
        the file has vanished or is empty (truncated), and what it holds if it
        is still the version whose L{fileIdentity} is C{identity}.
    @param timeout: seconds to wait for the lock.
    @return: a L{Snapshot} of what was written; its identity is that of
        the file written, even if another has replaced it since.
    @raise StatusFileReadOnly: if the file is read-only.
    @raise LockBusy: if another holder kept the lock for C{timeout}
        seconds; the file is untouched.
    @raise StatusNotSaved: if anything else failed; the old file is
        untouched.
    """
    checkSavable(path)
    with locked(path, timeout):
        return saveLocked(path, changes, fallback, identity)


def checkSavable(path: str) -> None:
    """
    Refuse what can never be saved, before making the lock file: a link,
    or a read-only file in a directory this process may not write.

    @raise StatusFileReadOnly: if the status file at C{path} is read-only.
    @raise StatusNotSaved: if it is a symbolic link or not a regular file.
    """
    opened = _openForSave(path)
    if opened is not None:
        os.close(opened[0])


def saveLocked(
    path: str,
    changes: Mapping[str, str],
    fallback: Mapping[str, str],
    identity: Optional[Tuple[int, ...]] = None,
) -> Snapshot:
    """
    L{save}, for a caller that holds the lock (a
    L{finger.backends.statuslock.StatusFileLock} it acquired) and has
    called L{checkSavable}.
    """
    directory = os.path.dirname(os.path.abspath(path))
    opened = _openForSave(path)
    st: Optional[os.stat_result] = None
    old = b""
    if opened is not None:
        fd, st = opened
        try:
            with open(fd, "rb") as f:
                old = f.read()
        except OSError as e:
            raise StatusNotSaved(f"cannot read {path}: {e.strerror or e}") from e
    if not old:
        old = render(fallback)
    unchanged = st is not None and identity is not None and fileIdentity(st) == identity
    new, statuses = update(old, changes, fallback if unchanged else None)
    try:
        fd, temporary = tempfile.mkstemp(
            dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp"
        )
    except OSError as e:
        raise StatusNotSaved(f"cannot write in {directory}: {e.strerror or e}") from e
    try:
        with os.fdopen(fd, "wb") as f:
            try:
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
            # The file written, as it is now that it has its name (a rename
            # changes its ctime), whatever is at the path by now.
            written = fileIdentity(os.fstat(f.fileno()))
        _syncDirectory(directory)
    except OSError as e:
        raise StatusNotSaved(f"cannot save {path}: {e.strerror or e}") from e
    return Snapshot(statuses, [], written)


def _temporaryPattern(path: str) -> "re.Pattern[str]":
    """
    The names L{save} gives its temporary files next to C{path}: those of
    C{tempfile.mkstemp} with the prefix and suffix L{save} passes it.
    """
    return re.compile(r"\.%s\.[a-z0-9_]{8}\.tmp" % (re.escape(os.path.basename(path)),))


def removeStale(path: str, timeout: float = 1.0) -> Tuple[List[str], List[str]]:
    """
    Remove the temporary files a save of the status file at C{path} left
    behind when its process was killed: regular files next to it named as
    L{save} names them, and nothing else (not the lock file, which stays).

    If there are any, they are removed under the lock (L{finger.backends.statuslock.lockPath}), so
    that the temporary file of a save another process has under way is
    never taken for a stale one; this may wait up to C{timeout} seconds
    for that save to end, and if the lock is still held then, the files
    are left for another time.  Call it only when no save of this file by
    this process is under way (at start-up).

    @return: the paths removed, and a message for each that could not be.
    """
    directory = os.path.dirname(os.path.abspath(path))
    try:
        found = _temporaries(path)
    except OSError as e:
        return [], [f"cannot list {directory}: {e.strerror or e}"]
    if not found:
        return [], []
    try:
        with locked(path, timeout):
            return _removeTemporaries(path)
    except LockBusy as e:
        return [], [f"{e}: {len(found)} temporary files of interrupted saves left for now"]
    except StatusNotSaved:
        # No lock can be had (the directory may not be written): then no
        # other process can have saved, either.
        return _removeTemporaries(path)


def _temporaries(path: str) -> List[str]:
    """
    The paths of the files next to the status file at C{path} named as
    L{save} names its temporary files, sorted.

    @raise OSError: if the directory cannot be listed.
    """
    directory = os.path.dirname(os.path.abspath(path))
    isTemporary = _temporaryPattern(path).fullmatch
    names = sorted(filter(isTemporary, os.listdir(directory)))
    return [os.path.join(directory, name) for name in names]


def _removeTemporaries(path: str) -> Tuple[List[str], List[str]]:
    """
    L{removeStale}, once no save can be under way.
    """
    removed: List[str] = []
    failed: List[str] = []
    try:
        found = _temporaries(path)
    except OSError as e:
        return [], [f"cannot list {os.path.dirname(os.path.abspath(path))}: {e.strerror or e}"]
    for temporary in found:
        try:
            if stat.S_ISREG(os.lstat(temporary).st_mode):
                os.unlink(temporary)
                removed.append(temporary)
        except OSError as e:
            failed.append(f"cannot remove {temporary}: {e.strerror or e}")
    return removed, failed


def _syncDirectory(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
