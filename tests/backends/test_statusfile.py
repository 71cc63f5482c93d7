"""
Tests for L{finger.backends.statusfile}.
"""

import fcntl
import os
import random
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from typing import Dict, List, Tuple

from hypothesis import given
from hypothesis import strategies as st
from twisted.python.filepath import FilePath
from twisted.trial.unittest import SkipTest, SynchronousTestCase

from finger.backends import statusfile
from finger.interfaces import StatusNotSaved
from finger.names import InvalidStatus, checkStatus, isValidUserName
from finger.backends.statusfile import (
    Problem,
    StatusFileError,
    StatusFileReadOnly,
    parse,
    update,
)
from finger.messages import READ_ONLY
from tests.support import CHECKOUT, cleanEnvironment, propertySettings

SAMPLE = b"""\
# A comment
moshez: happy and well

shawn:   alive  \r
   # indented comment
no colon here
bad name: x
zo\xc3\xab: in Paris
broken: \xff\xfe
empty:
"""


class ParseTests(SynchronousTestCase):
    def test_entries(self) -> None:
        """
        Users come out in file order with statuses stripped; comments, blank
        lines and CRLF endings are handled.
        """
        statuses, problems = parse(SAMPLE)
        self.assertEqual(
            list(statuses.items()),
            [("moshez", "happy and well"), ("shawn", "alive"), ("zoë", "in Paris"), ("empty", "")],
        )

    def test_problems(self) -> None:
        """
        Each malformed line is reported with its line number and a reason.
        """
        statuses, problems = parse(SAMPLE)
        self.assertEqual([p.lineno for p in problems], [6, 7, 9])
        self.assertIn("':'", problems[0].reason)
        self.assertIn("invalid user name", problems[1].reason)
        self.assertIn("UTF-8", problems[2].reason)

    def test_laterWins(self) -> None:
        statuses, problems = parse(b"a: one\na: two\n")
        self.assertEqual(statuses, {"a": "two"})

    def test_colonInStatus(self) -> None:
        statuses, problems = parse(b"a: at 10:30: lunch\n")
        self.assertEqual(statuses, {"a": "at 10:30: lunch"})

    def test_empty(self) -> None:
        self.assertEqual(parse(b""), ({}, []))


class UpdateTests(SynchronousTestCase):
    def test_replaceKeepsEverythingElse(self) -> None:
        """
        Only the changed user's line changes; comments and malformed lines
        stay byte for byte.
        """
        new, statuses = update(SAMPLE, {"shawn": "asleep"})
        self.assertEqual(new, SAMPLE.replace(b"shawn:   alive  \r", b"shawn: asleep"))
        self.assertEqual(statuses["shawn"], "asleep")
        self.assertEqual(statuses["moshez"], "happy and well")

    def test_append(self) -> None:
        new, statuses = update(b"a: one", {"b": "two", "zoë": "là"})
        self.assertEqual(new, "a: one\nb: two\nzoë: là\n".encode())
        self.assertEqual(statuses, {"a": "one", "b": "two", "zoë": "là"})

    def test_duplicatesCollapse(self) -> None:
        """
        A user that appeared twice keeps one line, the first, with the new
        status.
        """
        new, statuses = update(b"a: one\nb: x\na: two\n", {"a": "three"})
        self.assertEqual(new, b"a: three\nb: x\n")
        self.assertEqual(parse(new)[0], statuses)

    def test_emptyStatus(self) -> None:
        new, statuses = update(b"", {"a": ""})
        self.assertEqual(new, b"a:\n")
        self.assertEqual(parse(new)[0], {"a": ""})


def _referenceParse(data: bytes) -> Tuple[Dict[str, str], List[Problem]]:
    """
    The status file's rule, one line at a time, as the first version of
    L{parse} applied it: the bulk parser must agree with it on every input.
    """
    statuses: Dict[str, str] = {}
    problems: List[Problem] = []
    for lineno, _line, name, status in statusfile._entries(statusfile._decode(data)):
        if name is not None:
            statuses[name] = status
        elif status:
            problems.append(Problem(lineno, status))
    return statuses, problems


def _referenceUpdate(data: bytes, changes: Dict[str, str]) -> Tuple[bytes, Dict[str, str]]:
    """
    L{update} one line at a time, as its first version did.
    """
    lines: List[str] = []
    statuses: Dict[str, str] = {}
    done = set()
    for _lineno, line, name, status in statusfile._entries(statusfile._decode(data)):
        if name is not None:
            if name in changes:
                if name in done:
                    continue
                done.add(name)
                status = changes[name]
                line = statusfile._format(name, status)
            statuses[name] = status
        lines.append(line)
    if lines and lines[-1] == "":
        lines.pop()
    for name, status in changes.items():
        if name not in done:
            lines.append(statusfile._format(name, status))
            statuses[name] = status
    text = "".join(line + "\n" for line in lines)
    return text.encode("utf-8", "surrogateescape"), statuses


_PIECES = [
    "moshez", "zo\u00eb", "a", "b", "#x", "/W", "-n", "x@y", "\u00a0", " ", "\t", "\r",
    ":", ": ", "  ", "status", "10:30", "\u2003", "\x1c", "\x0b", "#", "\x85", "\x7f",
    "a" * 64, "b" * 65,
]
_RAW = [b"\xff", b"\xc3", b"\xed\xa0\x80"]


def _randomFile(rng: random.Random) -> bytes:
    lines = []
    for _ in range(rng.randrange(40)):
        text = "".join(rng.choice(_PIECES) for _ in range(rng.randrange(6)))
        raw = text.encode("utf-8")
        if rng.random() < 0.1:
            cut = rng.randrange(len(raw) + 1)
            raw = raw[:cut] + rng.choice(_RAW) + raw[cut:]
        lines.append(raw)
    data = b"\n".join(lines)
    if rng.random() < 0.5:
        data += b"\n"
    return data


class BulkParserTests(SynchronousTestCase):
    """
    L{parse} and L{update} work on many lines at once, a piece of the file
    at a time; they must mean exactly what the line-by-line rule means.
    """

    def setUp(self) -> None:
        self.patch(statusfile, "CHUNK_BYTES", 7)

    def test_sameAsLineByLine(self) -> None:
        """
        On many generated files (names valid and not, comments, blanks,
        CR, Unicode blanks, undecodable bytes, duplicates), with pieces cut
        at every few bytes, L{parse} gives what the line-by-line rule gives,
        in the same order.
        """
        rng = random.Random(1288)
        for size in (0, 7, 1 << 16):
            self.patch(statusfile, "CHUNK_BYTES", size)
            for _ in range(300):
                data = _randomFile(rng)
                statuses, problems = parse(data)
                expected, expectedProblems = _referenceParse(data)
                self.assertEqual(list(statuses.items()), list(expected.items()), data)
                self.assertEqual(problems, expectedProblems, data)

    def test_updateSameAsLineByLine(self) -> None:
        """
        L{update} gives the bytes and statuses the line-by-line rule gives.
        """
        rng = random.Random(79)
        for size in (0, 7, 1 << 16):
            self.patch(statusfile, "CHUNK_BYTES", size)
            for _ in range(300):
                data = _randomFile(rng)
                names = list(_referenceParse(data)[0])
                changes = {
                    name: rng.choice(["", "new", "at 10:30: lunch"])
                    for name in rng.sample(names, min(len(names), rng.randrange(3)))
                }
                if rng.random() < 0.5:
                    changes["newcomer"] = "hello"
                expectedNew, expectedStatuses = _referenceUpdate(data, changes)
                for known in (None, _referenceParse(data)[0]):
                    new, statuses = update(data, changes, known)
                    self.assertEqual(new, expectedNew, (data, changes))
                    self.assertEqual(list(statuses.items()), list(expectedStatuses.items()))

    def test_lineNumbersAcrossPieces(self) -> None:
        """
        Line numbers count from the start of the file, not of a piece.
        """
        data = b"a: 1\n" * 10 + b"bad line\n" + b"b: 2\n" * 10 + b"x y: 3\n"
        self.assertEqual([p.lineno for p in parse(data)[1]], [11, 22])

    def test_sharedStatuses(self) -> None:
        """
        Users with the same status share one string.
        """
        statuses, _ = parse(b"a: on vacation\nb: on vacation\n")
        self.assertIs(statuses["a"], statuses["b"])


class SaveKnownTests(SynchronousTestCase):
    def test_unchangedFileUsesKnownStatuses(self) -> None:
        """
        When the file is still the version the caller read, L{statusfile.save}
        takes the statuses it was given instead of reading them again; when
        the file changed behind the caller's back, it reads them from the file.
        """
        path = FilePath(self.mktemp())
        path.setContent(b"a: one\nb: two\n")
        snapshot = statusfile.read(path.path)
        saved = statusfile.save(path.path, {"b": "new"}, snapshot.statuses, snapshot.identity)
        self.assertEqual(list(saved.statuses.items()), [("a", "one"), ("b", "new")])
        self.assertEqual(path.getContent(), b"a: one\nb: new\n")
        self.assertEqual(saved.statuses, statusfile.read(path.path).statuses)

        # Someone edits the file; the stale identity no longer matches.
        stale = saved.identity
        path.setContent(b"a: edited\nb: new\nc: three\n")
        again = statusfile.save(path.path, {"a": "mine"}, saved.statuses, stale)
        self.assertEqual(
            list(again.statuses.items()), [("a", "mine"), ("b", "new"), ("c", "three")]
        )


class DisposeTests(SynchronousTestCase):
    def test_dispose(self) -> None:
        """
        L{statusfile.dispose} empties a table, whatever its size and step.
        """
        for size in (0, 1, 5, 10000):
            table = {f"u{i}": "x" for i in range(size)}
            statusfile.dispose(table, step=3)
            self.assertEqual(table, {})


class ReadTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.path = FilePath(self.mktemp())
        self.path.setContent(b"a: one\n")

    def test_read(self) -> None:
        snapshot = statusfile.read(self.path.path)
        self.assertEqual(snapshot.statuses, {"a": "one"})
        self.assertEqual(snapshot.problems, [])

    def test_missing(self) -> None:
        """
        The error names the path and the reason.
        """
        self.path.remove()
        error = self.assertRaises(StatusFileError, statusfile.read, self.path.path)
        self.assertIn(self.path.path, str(error))
        self.assertIn("No such file", str(error))

    def test_symlinkRefused(self) -> None:
        """
        A status file that is a symbolic link is refused, even to a
        readable file: saves would replace the link while reads follow it.
        """
        link = FilePath(self.mktemp())
        os.symlink(self.path.path, link.path)
        error = self.assertRaises(StatusFileError, statusfile.read, link.path)
        self.assertIn(link.path, str(error))
        self.assertIn("symbolic link", str(error))

    def test_notRegularRefused(self) -> None:
        """
        A FIFO is refused at once (no read blocks on it waiting for a
        writer), and so is a directory.
        """
        fifo = self.mktemp()
        os.mkfifo(fifo)
        error = self.assertRaises(StatusFileError, statusfile.read, fifo)
        self.assertIn("not a regular file", str(error))
        self.assertRaises(StatusFileError, statusfile.read, self.path.parent().path)

    def test_symlinkIsAChange(self) -> None:
        """
        A link put in place of the file is a change, so it is noticed (and
        refused by the read), even if it points to the very same file.
        """
        identity = statusfile.read(self.path.path).identity
        real = FilePath(self.mktemp())
        os.rename(self.path.path, real.path)
        os.symlink(real.path, self.path.path)
        self.assertRaises(StatusFileError, statusfile.readIfChanged, self.path.path, identity)

    def test_readIfChanged(self) -> None:
        identity = statusfile.read(self.path.path).identity
        self.assertIsNone(statusfile.readIfChanged(self.path.path, identity))
        self.path.setContent(b"a: two\nb: three\n")
        snapshot = statusfile.readIfChanged(self.path.path, identity)
        assert snapshot is not None
        self.assertEqual(snapshot.statuses, {"a": "two", "b": "three"})


class SaveTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.directory = FilePath(self.mktemp())
        self.directory.makedirs()
        self.path = self.directory.child("users")
        self.path.setContent(b"# keep me\na: one\n")
        self.path.chmod(0o640)

    def test_save(self) -> None:
        """
        The new file has the change, the old comments and the old
        permissions, and no temporary file is left behind.
        """
        snapshot = statusfile.save(self.path.path, {"b": "two"}, {})
        self.assertEqual(self.path.getContent(), b"# keep me\na: one\nb: two\n")
        self.assertEqual(snapshot.statuses, {"a": "one", "b": "two"})
        self.assertEqual(os.stat(self.path.path).st_mode & 0o777, 0o640)
        self.assertEqual(sorted(self.directory.listdir()), [".users.lock", "users"])
        self.assertEqual(snapshot.identity, statusfile.read(self.path.path).identity)

    def test_vanished(self) -> None:
        """
        If the file was deleted, it is written anew from the last statuses
        known.
        """
        self.path.remove()
        statusfile.save(self.path.path, {"b": "two"}, {"a": "one"})
        self.assertEqual(self.path.getContent(), b"a: one\nb: two\n")

    def test_unwritableDirectory(self) -> None:
        """
        When the directory cannot be written, the save fails with a message
        naming it, and the file is untouched.
        """

        def refused(**kwargs: object) -> None:
            raise PermissionError(13, "Permission denied")

        self.patch(tempfile, "mkstemp", refused)
        error = self.assertRaises(StatusNotSaved, statusfile.save, self.path.path, {"a": "x"}, {})
        self.assertIn(self.directory.path, str(error))
        self.assertEqual(self.path.getContent(), b"# keep me\na: one\n")

    def test_symlinkNotReplaced(self) -> None:
        """
        A save through a symbolic link fails: the link stays a link and the
        file it points to is untouched.
        """
        link = self.directory.child("link")
        os.symlink(self.path.path, link.path)
        error = self.assertRaises(StatusNotSaved, statusfile.save, link.path, {"a": "x"}, {})
        self.assertIn("symbolic link", str(error))
        self.assertTrue(link.islink())
        self.assertEqual(self.path.getContent(), b"# keep me\na: one\n")
        self.assertEqual(sorted(self.directory.listdir()), ["link", "users"])

    def test_readOnly(self) -> None:
        """
        A file no one may write is not replaced, even by root: the save
        fails with L{StatusFileReadOnly}, whose message is fit for the
        client.
        """
        self.path.chmod(0o444)
        error = self.assertRaises(
            StatusFileReadOnly, statusfile.save, self.path.path, {"a": "x"}, {}
        )
        self.assertIsInstance(error, StatusNotSaved)
        self.assertEqual(str(error), READ_ONLY)
        self.assertEqual(error.path, self.path.path)
        self.assertEqual(self.path.getContent(), b"# keep me\na: one\n")
        self.assertEqual(os.stat(self.path.path).st_mode & 0o777, 0o444)

    def test_removeStale(self) -> None:
        """
        L{statusfile.removeStale} removes the temporary files a save names
        as it does, and nothing else: not other files' temporaries, not
        similar names, not a directory or a link with such a name.
        """
        stale = []
        for _ in range(2):
            fd, name = tempfile.mkstemp(dir=self.directory.path, prefix=".users.", suffix=".tmp")
            os.close(fd)
            stale.append(name)
        others = [
            ".users.tmp",
            ".users.toolong12.tmp",
            ".other.abcdefgh.tmp",
            "users.bak",
            ".users.abcdefgh.tmp.old",
            "x.users.abcdefgh.tmp",
        ]
        for name in others:
            self.directory.child(name).setContent(b"keep")
        self.directory.child(".users.direc_ry.tmp").makedirs()
        os.symlink(self.path.path, self.directory.child(".users.linklink.tmp").path)
        removed, failed = statusfile.removeStale(self.path.path)
        self.assertEqual(sorted(removed), sorted(stale))
        self.assertEqual(failed, [])
        self.assertEqual(
            sorted(self.directory.listdir()),
            sorted(others + ["users", ".users.lock", ".users.direc_ry.tmp", ".users.linklink.tmp"]),
        )

    def test_writeFails(self) -> None:
        """
        A failed write (here, a full disk) removes the temporary file and
        leaves the old file as it was.
        """

        def full(fd: int) -> None:
            raise OSError(28, "No space left on device")

        self.patch(os, "fsync", full)
        error = self.assertRaises(StatusNotSaved, statusfile.save, self.path.path, {"a": "x"}, {})
        self.assertIn("No space left", str(error))
        self.assertEqual(self.path.getContent(), b"# keep me\na: one\n")
        self.assertEqual(sorted(self.directory.listdir()), [".users.lock", "users"])


class LockTests(SynchronousTestCase):
    """
    Saves of one status file hold an exclusive lock on its lock file.
    """

    def setUp(self) -> None:
        self.directory = FilePath(self.mktemp())
        self.directory.makedirs()
        self.path = self.directory.child("users")
        self.path.setContent(b"a: one\n")
        self.lock = self.directory.child(".users.lock")

    def isLocked(self) -> bool:
        """
        Does someone hold the lock?  Asked through a descriptor of our own:
        C{flock} locks of two descriptors conflict even in one process.
        """
        fd = os.open(self.lock.path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

    def test_lockPath(self) -> None:
        """
        The lock file of C{NAME} is C{.NAME.lock} in the same directory.
        """
        self.assertEqual(statusfile.lockPath("/srv/finger/users"), "/srv/finger/.users.lock")
        self.assertEqual(statusfile.lockPath("users"), ".users.lock")

    def test_heldFromReadToRename(self) -> None:
        """
        The lock is held while the file is read and merged and while the new
        one is renamed over it, and let go once the save returns.
        """
        seen = []
        update, replace = statusfile.update, os.replace

        def checkedUpdate(*args: object, **kwargs: object) -> object:
            seen.append(("update", self.isLocked()))
            return update(*args, **kwargs)  # type: ignore[arg-type]

        def checkedReplace(*args: str) -> None:
            seen.append(("replace", self.isLocked()))
            replace(*args)

        self.patch(statusfile, "update", checkedUpdate)
        self.patch(os, "replace", checkedReplace)
        statusfile.save(self.path.path, {"b": "two"}, {})
        self.assertEqual(seen, [("update", True), ("replace", True)])
        self.assertFalse(self.isLocked())
        self.assertEqual(self.path.getContent(), b"a: one\nb: two\n")

    def test_lockKeptAndReused(self) -> None:
        """
        The lock file stays after a save (removing it could let two savers
        lock two different files), and later saves use it.
        """
        statusfile.save(self.path.path, {"b": "two"}, {})
        inode = os.stat(self.lock.path).st_ino
        statusfile.save(self.path.path, {"c": "three"}, {})
        self.assertEqual(os.stat(self.lock.path).st_ino, inode)
        self.assertEqual(self.path.getContent(), b"a: one\nb: two\nc: three\n")

    def test_lockFileNotRegular(self) -> None:
        """
        A symbolic link or a FIFO in place of the lock file is not followed
        nor waited on: the save fails, naming it, and the file is untouched.
        """
        target = self.directory.child("elsewhere")
        os.symlink(target.path, self.lock.path)
        error = self.assertRaises(StatusNotSaved, statusfile.save, self.path.path, {"a": "x"}, {})
        self.assertIn(self.lock.path, str(error))
        self.assertFalse(target.exists())
        self.lock.remove()
        os.mkfifo(self.lock.path)
        error = self.assertRaises(StatusNotSaved, statusfile.save, self.path.path, {"a": "x"}, {})
        self.assertIn(self.lock.path, str(error))
        self.assertEqual(self.path.getContent(), b"a: one\n")

    def test_readOnlyMakesNoLock(self) -> None:
        """
        A save refused because the file is read-only makes no lock file:
        the directory of a read-only file may well be read-only too.
        """
        self.path.chmod(0o444)
        self.assertRaises(StatusFileReadOnly, statusfile.save, self.path.path, {"a": "x"}, {})
        self.assertEqual(self.directory.listdir(), ["users"])

    def test_removeStaleUnderLock(self) -> None:
        """
        Stale temporary files are removed under the lock, so never one of a
        save another process has under way; with none, no lock is made.
        """
        self.assertEqual(statusfile.removeStale(self.path.path), ([], []))
        self.assertEqual(self.directory.listdir(), ["users"])
        stale = self.directory.child(".users.abcdefgh.tmp")
        stale.setContent(b"half")
        locked = []
        unlink = os.unlink

        def checkedUnlink(path: str) -> None:
            locked.append(self.isLocked())
            unlink(path)

        self.patch(os, "unlink", checkedUnlink)
        self.assertEqual(statusfile.removeStale(self.path.path), ([stale.path], []))
        self.assertEqual(locked, [True])
        self.assertEqual(sorted(self.directory.listdir()), [".users.lock", "users"])

    def test_removeStaleWithoutLock(self) -> None:
        """
        When no lock file can be made, stale temporary files are removed all
        the same.
        """
        stale = self.directory.child(".users.abcdefgh.tmp")
        stale.setContent(b"half")
        self.lock.makedirs()
        self.assertEqual(statusfile.removeStale(self.path.path), ([stale.path], []))


class _FakeTime:
    """
    Enough of the C{time} module for L{statusfile}'s waits: time passes
    only when slept.

    @ivar slept: each sleep's seconds.
    """

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: List[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class OwnedLockTests(SynchronousTestCase):
    """
    The lock belongs to the server: made 0600, its mode tightened when
    found looser, and waited for only until a deadline, so that whoever
    else holds it (another user, a stuck script) delays a save by the
    deadline and no more.
    """

    def setUp(self) -> None:
        self.directory = FilePath(self.mktemp())
        self.directory.makedirs()
        self.path = self.directory.child("users")
        self.path.setContent(b"a: one\n")
        self.lock = self.directory.child(".users.lock")
        self.time = _FakeTime()
        self.patch(statusfile, "time", self.time)

    def hold(self, mode: int = fcntl.LOCK_SH) -> None:
        """
        Hold the lock as someone else would: through another open file
        description (flock locks of two conflict even in one process), until
        the test ends.
        """
        fd = os.open(self.lock.path, os.O_RDONLY | os.O_CREAT, 0o600)
        self.addCleanup(os.close, fd)
        fcntl.flock(fd, mode)

    def mode(self) -> int:
        return stat.S_IMODE(os.stat(self.lock.path).st_mode)

    def test_madePrivate(self) -> None:
        """
        The lock file is made with mode 0600, whatever the umask, so that no
        other user can open it, and so none can hold it.
        """
        old = os.umask(0)
        try:
            statusfile.save(self.path.path, {"b": "two"}, {})
        finally:
            os.umask(old)
        self.assertEqual(self.mode(), 0o600)
        self.assertEqual(os.stat(self.lock.path).st_uid, os.stat(self.path.path).st_uid)

    def test_looserTightened(self) -> None:
        """
        A lock file of this process's user with a looser mode (one made
        before the lock was private) is made 0600, and that is said.
        """
        self.lock.setContent(b"")
        self.lock.chmod(0o644)
        lock = statusfile.StatusFileLock(self.path.path)
        self.assertTrue(lock.acquire())
        lock.release()
        self.assertEqual(self.mode(), 0o600)
        assert lock.warning is not None
        self.assertIn(self.lock.path, lock.warning)
        self.assertIn("0644", lock.warning)
        again = statusfile.StatusFileLock(self.path.path)
        self.assertTrue(again.acquire())
        again.release()
        self.assertIsNone(again.warning)

    def test_othersReported(self) -> None:
        """
        A lock file another user owns cannot be made private: it is used all
        the same (removing it could let two savers lock two files), and the
        warning names it and its owner.
        """
        self.lock.setContent(b"")
        self.lock.chmod(0o644)
        owner = os.stat(self.lock.path).st_uid
        self.patch(os, "geteuid", lambda: owner + 1)
        lock = statusfile.StatusFileLock(self.path.path)
        self.assertTrue(lock.acquire())
        lock.release()
        assert lock.warning is not None
        self.assertIn(self.lock.path, lock.warning)
        self.assertIn(f"uid {owner},", lock.warning)
        self.assertEqual(self.mode(), 0o644)

    def test_rootGivesItToTheStatusFilesOwner(self) -> None:
        """
        Run as root, a save makes the lock file belong to the status file's
        owner, as it keeps the status file's: a server that drops its
        privileges to that user still locks the file after root saved it.
        """
        if os.geteuid() != 0:
            raise SkipTest("giving a file away needs root")
        os.chown(self.path.path, 65534, 65534)
        self.lock.setContent(b"")
        self.lock.chmod(0o666)
        statusfile.save(self.path.path, {"b": "two"}, {})
        self.assertEqual(os.stat(self.lock.path).st_uid, 65534)
        self.assertEqual(self.mode(), 0o600)
        self.assertEqual(os.stat(self.path.path).st_uid, 65534)

    def test_acquireNeverWaits(self) -> None:
        """
        L{statusfile.StatusFileLock.acquire} says at once whether it got the
        lock; once released, it may be taken again.
        """
        self.hold()
        lock = statusfile.StatusFileLock(self.path.path)
        self.addCleanup(lock.release)
        self.assertFalse(lock.acquire())
        self.assertFalse(lock.acquire())
        other = statusfile.StatusFileLock(self.path.path)
        self.addCleanup(other.release)
        self.assertFalse(other.acquire())
        self.assertEqual(self.time.slept, [])

    def test_heldLockSaveFails(self) -> None:
        """
        While another holder keeps even a shared lock, a save tries again
        until its timeout, more and more rarely, then fails with
        L{statusfile.LockBusy}, naming the lock file, and leaves the status
        file alone.
        """
        statusfile.save(self.path.path, {"b": "two"}, {})
        before = self.path.getContent()
        self.hold()
        error = self.assertRaises(
            statusfile.LockBusy, statusfile.save, self.path.path, {"a": "x"}, {}, timeout=0.2
        )
        self.assertIsInstance(error, StatusNotSaved)
        self.assertEqual(error.lock, self.lock.path)
        self.assertIn(self.lock.path, str(error))
        self.assertIn(self.path.path, str(error))
        self.assertAlmostEqual(sum(self.time.slept), 0.2)
        first, most = statusfile.LOCK_RETRY
        self.assertEqual(self.time.slept[:2], [first, first * 2])
        self.assertLessEqual(max(self.time.slept), most)
        self.assertEqual(self.path.getContent(), before)

    def test_defaultTimeout(self) -> None:
        """
        Without a timeout, a save waits L{statusfile.LOCK_TIMEOUT} seconds.
        """
        self.hold(fcntl.LOCK_EX)
        self.assertRaises(statusfile.LockBusy, statusfile.save, self.path.path, {"a": "x"}, {})
        self.assertAlmostEqual(sum(self.time.slept), statusfile.LOCK_TIMEOUT)

    def test_removeStaleLeavesThemWhileHeld(self) -> None:
        """
        Stale temporary files are left alone, and that is said, naming the
        lock, when the lock stays held: one may be a save under way.
        """
        stale = self.directory.child(".users.abcdefgh.tmp")
        stale.setContent(b"half")
        self.hold()
        removed, failed = statusfile.removeStale(self.path.path, timeout=0.5)
        self.assertEqual(removed, [])
        self.assertEqual(len(failed), 1)
        self.assertIn(self.lock.path, failed[0])
        self.assertTrue(stale.exists())
        self.assertAlmostEqual(sum(self.time.slept), 0.5)


_SETTER = textwrap.dedent(
    """
    import sys
    from finger.backends import statusfile
    path, prefix, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    snapshot = statusfile.read(path)
    print("ready", flush=True)
    sys.stdin.readline()
    for n in range(count):
        user = prefix + str(n)
        # As the service saves: from the statuses and identity of its own
        # last save, which another process's save has made stale.
        snapshot = statusfile.save(path, {user: "set"}, snapshot.statuses, snapshot.identity)
        print(user, flush=True)
    """
)


class SeveralProcessesTests(SynchronousTestCase):
    def test_concurrentSavesAllKept(self) -> None:
        """
        Two processes setting many users of one status file at once: in the
        end, the file holds every set either acknowledged, and the other
        lines.
        """
        path = FilePath(self.mktemp())
        path.setContent(b"# shared\nold: one\n")
        env = cleanEnvironment(PYTHONPATH=CHECKOUT)
        processes = [
            subprocess.Popen(
                [sys.executable, "-c", _SETTER, path.path, prefix, "150"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=env,
            )
            for prefix in ("a", "b")
        ]
        for process in processes:
            assert process.stdout is not None
            self.assertEqual(process.stdout.readline(), b"ready\n")
        for process in processes:
            assert process.stdin is not None
            process.stdin.write(b"go\n")
            process.stdin.close()
        acknowledged = []
        for process in processes:
            assert process.stdout is not None
            acknowledged.extend(process.stdout.read().decode().split())
            process.stdout.close()
            self.assertEqual(process.wait(), 0)
        self.assertEqual(len(acknowledged), 300)
        statuses, problems = parse(path.getContent())
        self.assertEqual(problems, [])
        self.assertEqual(statuses, dict({"old": "one"}, **{user: "set" for user in acknowledged}))
        self.assertTrue(path.getContent().startswith(b"# shared\nold: one\n"))


_SAVER = textwrap.dedent(
    """
    import sys
    from finger.backends import statusfile
    path = sys.argv[1]
    n = 0
    while True:
        n += 1
        statusfile.save(path, {"u%d" % (n % 500): "status %d " % n + "x" * 200}, {})
        if n == 3:
            print("ready", flush=True)
    """
)


class KillTests(SynchronousTestCase):
    def test_killDuringSaves(self) -> None:
        """
        However often a saving process is killed with SIGKILL, the file is
        always a whole version: every line well formed, nothing torn.
        """
        path = FilePath(self.mktemp())
        lines = [f"u{n}: initial" for n in range(500)]
        path.setContent(("\n".join(lines) + "\n").encode())
        env = cleanEnvironment(PYTHONPATH=CHECKOUT)
        for attempt in range(8):
            process = subprocess.Popen(
                [sys.executable, "-c", _SAVER, path.path], stdout=subprocess.PIPE, env=env
            )
            assert process.stdout is not None
            self.assertEqual(process.stdout.readline(), b"ready\n")
            # Let it run for a varying while, then kill it mid-flight.
            time.sleep(0.005 * attempt)
            process.send_signal(signal.SIGKILL)
            process.wait()
            process.stdout.close()
            statuses, problems = parse(path.getContent())
            self.assertEqual(problems, [])
            self.assertEqual(sorted(statuses), sorted(f"u{n}" for n in range(500)))
        # Whatever temporary files the killed saves left, they are found.
        statusfile.removeStale(path.path)
        self.assertEqual(
            sorted(path.parent().listdir()), sorted([path.basename(), f".{path.basename()}.lock"])
        )


_names = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12
).filter(isValidUserName)
_statuses = st.text(max_size=40).map(str.strip).filter(
    lambda s: _isStorable(s)
)


def _isStorable(status: str) -> bool:
    try:
        checkStatus(status)
    except InvalidStatus:
        return False
    return True


_filePieces = st.sampled_from(
    [b"moshez", b"shawn", b"zo\xc3\xab", b":", b": ", b" ", b"\t", b"#", b"\n", b"\r\n",
     b"\r", b"\xff", b"\xed\xa0\x80", b"\x00", b"@", b"/", b"-", b"\xc2\x85", b"\xe2\x80\xa8"]
)
_fileData = st.one_of(
    st.binary(max_size=200),
    st.lists(st.one_of(_filePieces, st.binary(max_size=6)), max_size=30).map(b"".join),
)


class StatusFilePropertyTests(SynchronousTestCase):
    """
    Whatever bytes a status file holds, it is read without an exception,
    and setting statuses in it touches only their lines.
    """

    @propertySettings()
    @given(data=_fileData)
    def test_parseAnyBytes(self, data: bytes) -> None:
        statuses, problems = parse(data)
        for name, status in statuses.items():
            self.assertTrue(isValidUserName(name), name)
            self.assertEqual(status, status.strip())
            self.assertNotIn("\n", status)
        for problem in problems:
            self.assertTrue(1 <= problem.lineno <= data.count(b"\n") + 1)

    @propertySettings()
    @given(data=_fileData, changes=st.dictionaries(_names, _statuses, max_size=4))
    def test_updateKeepsOtherLines(self, data: bytes, changes: Dict[str, str]) -> None:
        new, statuses = update(data, changes)

        def others(content: bytes) -> List[bytes]:
            lines = content.split(b"\n")
            if lines[-1] == b"":
                lines.pop()
            return [line for line in lines if not set(parse(line)[0]) & set(changes)]

        self.assertEqual(others(new), others(data))
        if changes:
            self.assertTrue(new.endswith(b"\n"))
        old, _ = parse(data)
        expected = dict(old)
        expected.update(changes)
        self.assertEqual(parse(new)[0], expected)
        self.assertEqual(statuses, expected)
