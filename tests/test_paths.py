"""
Tests for L{finger.paths}.
"""

import errno
import os

from twisted.trial.unittest import SynchronousTestCase

from finger import paths


class DataPathTests(SynchronousTestCase):
    def test_checkout(self) -> None:
        """
        In a checkout, the data files are found at its top level.
        """
        sample = paths.dataPath("etc", "users.sample")
        self.assertTrue(os.path.isfile(sample))
        with open(sample) as f:
            self.assertIn("moshez: happy and well", f.read())
        self.assertTrue(os.path.isfile(os.path.join(paths.dataPath("templates"), "user.xhtml")))

    def test_installed(self) -> None:
        """
        An installed copy keeps them inside the package, and they win.
        """
        package = self.mktemp()
        os.makedirs(os.path.join(package, "etc"))
        open(os.path.join(package, "etc", "users.sample"), "w").close()
        self.patch(paths, "_package", package)
        self.assertEqual(
            paths.dataPath("etc", "users.sample"), os.path.join(package, "etc", "users.sample")
        )


class SafeOpenFlagsTests(SynchronousTestCase):
    """
    L{paths.SAFE_OPEN_FLAGS} open a file someone else controls for reading
    and nothing more.
    """

    def setUp(self) -> None:
        self.directory = self.mktemp()
        os.makedirs(self.directory)

    def test_regularFile(self) -> None:
        """
        A regular file is opened for reading.
        """
        path = os.path.join(self.directory, "plan")
        with open(path, "wb") as f:
            f.write(b"hello")
        fd = os.open(path, paths.SAFE_OPEN_FLAGS)
        self.addCleanup(os.close, fd)
        self.assertEqual(os.read(fd, 10), b"hello")
        self.assertRaises(OSError, os.write, fd, b"x")

    def test_symbolicLink(self) -> None:
        """
        A symbolic link is not followed.
        """
        target = os.path.join(self.directory, "target")
        open(target, "w").close()
        link = os.path.join(self.directory, "link")
        os.symlink(target, link)
        error = self.assertRaises(OSError, os.open, link, paths.SAFE_OPEN_FLAGS)
        self.assertEqual(error.errno, errno.ELOOP)

    def test_fifo(self) -> None:
        """
        A FIFO with no writer is opened at once, not waited on.
        """
        fifo = os.path.join(self.directory, "fifo")
        os.mkfifo(fifo)
        fd = os.open(fifo, paths.SAFE_OPEN_FLAGS)
        os.close(fd)
