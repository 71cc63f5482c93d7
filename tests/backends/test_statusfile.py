"""
Tests for L{finger.backends.statusfile}.
"""

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

from twisted.python.filepath import FilePath
from twisted.trial.unittest import SynchronousTestCase

from finger.backends import statusfile
from finger.backends.statusfile import StatusFileError, StatusFileReadOnly
from finger.backends.statusformat import parse
from finger.interfaces import StatusNotSaved
from finger.messages import READ_ONLY
from tests.support import CHECKOUT, cleanEnvironment


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
