"""
Tests for L{finger.backends.statuslock}.
"""

import fcntl
import os
import stat
from typing import List

from twisted.internet.defer import CancelledError
from twisted.internet.task import Clock
from twisted.python.filepath import FilePath
from twisted.trial.unittest import SkipTest, SynchronousTestCase

from finger.backends import statusfile, statuslock
from finger.backends.statusfile import StatusFileReadOnly
from finger.interfaces import StatusNotSaved


class _StatusFileTestCase(SynchronousTestCase):
    """
    A status file C{users}, alone in its directory, and where its lock file
    goes.
    """

    def setUp(self) -> None:
        self.directory = FilePath(self.mktemp())
        self.directory.makedirs()
        self.path = self.directory.child("users")
        self.path.setContent(b"a: one\n")
        self.lock = self.directory.child(".users.lock")


class LockTests(_StatusFileTestCase):
    """
    Saves of one status file hold an exclusive lock on its lock file.
    """

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
        self.assertEqual(statuslock.lockPath("/srv/finger/users"), "/srv/finger/.users.lock")
        self.assertEqual(statuslock.lockPath("users"), ".users.lock")

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
    Enough of the C{time} module for L{statuslock.locked}'s waits: time passes
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


class OwnedLockTests(_StatusFileTestCase):
    """
    The lock belongs to the server: made 0600, its mode tightened when
    found looser, and waited for only until a deadline, so that whoever
    else holds it (another user, a stuck script) delays a save by the
    deadline and no more.
    """

    def setUp(self) -> None:
        super().setUp()
        self.time = _FakeTime()
        self.patch(statuslock, "time", self.time)

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
        lock = statuslock.StatusFileLock(self.path.path)
        self.assertTrue(lock.acquire())
        lock.release()
        self.assertEqual(self.mode(), 0o600)
        assert lock.warning is not None
        self.assertIn(self.lock.path, lock.warning)
        self.assertIn("0644", lock.warning)
        again = statuslock.StatusFileLock(self.path.path)
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
        lock = statuslock.StatusFileLock(self.path.path)
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
        L{statuslock.StatusFileLock.acquire} says at once whether it got the
        lock; once released, it may be taken again.
        """
        self.hold()
        lock = statuslock.StatusFileLock(self.path.path)
        self.addCleanup(lock.release)
        self.assertFalse(lock.acquire())
        self.assertFalse(lock.acquire())
        other = statuslock.StatusFileLock(self.path.path)
        self.addCleanup(other.release)
        self.assertFalse(other.acquire())
        self.assertEqual(self.time.slept, [])

    def test_heldLockSaveFails(self) -> None:
        """
        While another holder keeps even a shared lock, a save tries again
        until its timeout, more and more rarely, then fails with
        L{statuslock.LockBusy}, naming the lock file, and leaves the status
        file alone.
        """
        statusfile.save(self.path.path, {"b": "two"}, {})
        before = self.path.getContent()
        self.hold()
        error = self.assertRaises(
            statuslock.LockBusy, statusfile.save, self.path.path, {"a": "x"}, {}, timeout=0.2
        )
        self.assertIsInstance(error, StatusNotSaved)
        self.assertEqual(error.lock, self.lock.path)
        self.assertIn(self.lock.path, str(error))
        self.assertIn(self.path.path, str(error))
        self.assertAlmostEqual(sum(self.time.slept), 0.2)
        first, most = statuslock.LOCK_RETRY
        self.assertEqual(self.time.slept[:2], [first, first * 2])
        self.assertLessEqual(max(self.time.slept), most)
        self.assertEqual(self.path.getContent(), before)

    def test_defaultTimeout(self) -> None:
        """
        Without a timeout, a save waits L{statuslock.LOCK_TIMEOUT} seconds.
        """
        self.hold(fcntl.LOCK_EX)
        self.assertRaises(statuslock.LockBusy, statusfile.save, self.path.path, {"a": "x"}, {})
        self.assertAlmostEqual(sum(self.time.slept), statuslock.LOCK_TIMEOUT)

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


class WaitForLockTests(SynchronousTestCase):
    """
    L{statuslock.waitForLock} tries a lock on a clock, never in a thread.
    """

    def setUp(self) -> None:
        self.path = FilePath(self.mktemp())
        self.path.setContent(b"")
        self.lock = statuslock.StatusFileLock(self.path.path)
        self.addCleanup(self.lock.release)
        self.clock = Clock()

    def hold(self) -> None:
        fd = os.open(self.lock.path, os.O_RDONLY | os.O_CREAT, 0o600)
        self.addCleanup(os.close, fd)
        fcntl.flock(fd, fcntl.LOCK_SH)

    def opened(self) -> int:
        """
        How many descriptors of this process are open on the lock file.
        """
        lock = os.stat(self.lock.path)
        count = 0
        for name in os.listdir("/proc/self/fd"):
            try:
                other = os.stat(f"/proc/self/fd/{name}")
                count += (other.st_dev, other.st_ino) == (lock.st_dev, lock.st_ino)
            except OSError:
                pass
        return count

    def test_free(self) -> None:
        """
        A free lock is taken at once.
        """
        self.successResultOf(statuslock.waitForLock(self.lock, self.clock, 1.0))
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_retriesUntilTheDeadline(self) -> None:
        """
        A held lock is tried again, more and more rarely, and given up at
        exactly the deadline; the lock file is closed then.
        """
        self.hold()
        tries = []
        acquire = self.lock.acquire

        def counted() -> bool:
            tries.append(self.clock.seconds())
            return acquire()

        self.patch(self.lock, "acquire", counted)
        d = statuslock.waitForLock(self.lock, self.clock, 2.0)
        self.clock.pump([0.001] * 2500)
        failure = self.failureResultOf(d, statuslock.LockBusy)
        self.assertIn(self.lock.path, failure.getErrorMessage())
        first, most = statuslock.LOCK_RETRY
        gaps = [round(b - a, 6) for a, b in zip(tries, tries[1:])]
        self.assertEqual(gaps[:2], [first, first * 2])
        self.assertLessEqual(max(gaps), most + 0.001)
        self.assertAlmostEqual(tries[-1], 2.0, places=2)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        if os.path.isdir("/proc/self/fd"):
            # The test's own, and no other.
            self.assertEqual(self.opened(), 1)

    def test_cancel(self) -> None:
        """
        Cancelling stops trying and closes the lock file.
        """
        self.hold()
        d = statuslock.waitForLock(self.lock, self.clock, 10.0)
        self.clock.advance(1)
        d.cancel()
        self.failureResultOf(d, CancelledError)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        if os.path.isdir("/proc/self/fd"):
            # The test's own, and no other.
            self.assertEqual(self.opened(), 1)
