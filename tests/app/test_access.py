# -*- test-case-name: tests.app.test_access -*-
"""
Tests for L{finger.app.access}: whether the user twistd drops privileges to
can run the workers, and what C{twistd finger --workers} says when not.
"""

import os
import pwd
import shutil
import site
import subprocess
import sys
from typing import Tuple

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from finger.app.access import blockedAs, describeBlocked, firstBlocked, workerNeeds
from tests.support import CHECKOUT, cleanEnvironment


def _nobody() -> Tuple[int, int]:
    """
    The ids of C{nobody}, for tests that need root to take them.
    """
    if os.geteuid() != 0:
        raise SkipTest("taking another user's ids needs root")
    try:
        entry = pwd.getpwnam("nobody")
    except KeyError:
        raise SkipTest("there is no user nobody") from None
    return entry.pw_uid, entry.pw_gid


def _openDirectory(test: SynchronousTestCase) -> str:
    """
    A new directory anyone may enter (trial's temporary directories are
    made only for their owner).
    """
    top = os.path.abspath(test.mktemp())
    os.makedirs(top)
    os.chmod(top, 0o755)
    os.chmod(os.path.dirname(top), 0o755)
    return top


class BlockedTests(SynchronousTestCase):
    def closedDirectory(self) -> str:
        """
        A directory only root may enter, holding a readable file C{inside}.
        """
        top = _openDirectory(self)
        closed = os.path.join(top, "closed")
        os.makedirs(closed)
        os.chmod(closed, 0o700)
        with open(os.path.join(closed, "inside"), "w") as f:
            f.write("x")
        os.chmod(os.path.join(closed, "inside"), 0o755)
        return closed

    def test_closedDirectory(self) -> None:
        """
        A file under a directory the user may not enter is blocked there,
        though the file itself is readable by anyone.
        """
        uid, gid = _nobody()
        closed = self.closedDirectory()
        inside = os.path.join(closed, "inside")
        self.assertEqual(blockedAs(uid, gid, [(inside, os.R_OK)]), (inside, closed))
        # Root, in this process, may.
        self.assertEqual(firstBlocked(inside, os.R_OK), os.path.realpath(inside))

    def test_throughLink(self) -> None:
        """
        A link from an open place to a closed one is followed.
        """
        uid, gid = _nobody()
        closed = self.closedDirectory()
        link = os.path.join(_openDirectory(self), "link")
        os.symlink(os.path.join(closed, "inside"), link)
        self.assertEqual(blockedAs(uid, gid, [(link, os.R_OK)]), (link, closed))

    def test_readable(self) -> None:
        """
        What everyone may read is not blocked.
        """
        uid, gid = _nobody()
        shell = shutil.which("sh") or "/bin/sh"
        self.assertIsNone(blockedAs(uid, gid, [(shell, os.X_OK), ("/etc/passwd", os.R_OK)]))

    def test_describe(self) -> None:
        needed = workerNeeds("/usr/bin/python")
        line = describeBlocked(0, "/usr/bin/python", "/usr", needed)
        self.assertIn("cannot enter /usr, on the way to /usr/bin/python", line)
        self.assertIn("the Python that runs them", line)
        self.assertNotIn("\n", line)


class TwistdTests(SynchronousTestCase):
    """
    C{twistd --uid nobody finger --workers 2} with a Python nobody cannot
    read: one line and exit status 1, before any worker is started.
    """

    def test_unreadablePython(self) -> None:
        _nobody()
        top = _openDirectory(self)
        closed = os.path.join(top, "closed")
        os.makedirs(closed)
        os.chmod(closed, 0o700)
        python = os.path.join(closed, "python")
        os.symlink(sys.executable, python)
        users = os.path.join(top, "users")
        with open(users, "w") as f:
            f.write("moshez: happy\n")
        loopback = "tcp:0:interface=127.0.0.1"
        process = subprocess.run(
            [
                python,
                "-c",
                "from twisted.scripts.twistd import run; run()",
                "--nodaemon",
                "--pidfile=",
                "--uid=nobody",
                "finger",
                f"--file={users}",
                "--workers=2",
                *[f"--{port}port={loopback}" for port in ("finger", "setter", "web", "pb")],
            ],
            cwd=top,
            # The venv's packages: a link to its Python outside it finds none.
            env=cleanEnvironment(
                PYTHONPATH=os.pathsep.join([CHECKOUT, *site.getsitepackages()])
            ),
            capture_output=True,
            timeout=60,
        )
        err = process.stderr.decode()
        self.assertEqual(process.returncode, 1, err)
        lines = err.splitlines()
        self.assertEqual(len(lines), 2, err)
        self.assertTrue(
            lines[0].startswith(
                f"twistd finger: --workers: the workers run as nobody (--uid), who cannot "
                f"enter {closed}, on the way to {python}, the Python that runs them: "
            ),
            lines[0],
        )
        self.assertNotIn("Traceback", err)
