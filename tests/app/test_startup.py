# -*- test-case-name: tests.app.test_startup -*-
"""
Tests for what C{twistd finger} says when it cannot start: through the real
command line, in a subprocess, as a first-time user meets it.
"""

import os
import subprocess
from typing import List, Tuple

from twisted.python.usage import UsageError
from twisted.trial.unittest import SynchronousTestCase

from finger.app.tap import Options, usageError
from tests.support import CHECKOUT, TWISTD, cleanEnvironment


def twistd(test: SynchronousTestCase, *arguments: str) -> Tuple[int, str, str]:
    """
    Run C{twistd --nodaemon finger ARGUMENTS} from the checkout, in a new
    directory (so no default file is found by chance), and wait for it.

    @return: its exit status, standard output and standard error.
    """
    where = os.path.abspath(test.mktemp())
    os.makedirs(where)
    process = subprocess.run(
        [*TWISTD, "--nodaemon", "--pidfile=", "finger", *arguments],
        cwd=where,
        env=cleanEnvironment(PYTHONPATH=CHECKOUT),
        capture_output=True,
        timeout=60,
    )
    return process.returncode, process.stdout.decode(), process.stderr.decode()


class UsageErrorTests(SynchronousTestCase):
    """
    A mistake on the command line is told in a line a reason, reasons
    first, then a pointer to C{--help}: not the whole option list.
    """

    def assertRefused(self, arguments: List[str], reasons: List[str]) -> None:
        code, out, err = twistd(self, *arguments)
        self.assertEqual(code, 1, (out, err))
        self.assertEqual(out, "")
        lines = err.splitlines()
        self.assertEqual(len(lines), len(reasons) + 1, err)
        for line, reason in zip(lines, reasons):
            self.assertTrue(line.startswith("twistd finger: "), line)
            self.assertIn(reason, line)
        self.assertEqual(lines[-1], "Run 'twistd finger --help' for the options.")

    def test_missingDefaultFileHidesNothing(self) -> None:
        """
        The missing default C{/etc/users} is reported with, and after, the
        other mistakes.
        """
        self.assertRefused(
            ["--fingerport=abc", "--webport=xyz"],
            ["--fingerport: 'abc'", "--webport: 'xyz'", "--file: the status file /etc/users"],
        )

    def test_coercedOption(self) -> None:
        """
        An option its table refuses is told in the option's own words.
        """
        self.assertRefused(
            ["--timeout=abc"], ["--timeout must be a positive number of seconds, not 'abc'"]
        )
        code, out, err = twistd(self, "--timeout=abc")
        self.assertNotIn("Parameter type enforcement", err)

    def test_missingAuthFile(self) -> None:
        """
        C{--auth file:PATH} naming no file stops start-up, as a missing
        certificate does.
        """
        users = os.path.abspath(self.mktemp())
        with open(users, "w") as f:
            f.write("moshez: happy\n")
        self.assertRefused(
            [f"--file={users}", "--auth", "file:/nonexistent/passwords"],
            ["--auth: the password file /nonexistent/passwords does not exist"],
        )

    def test_helpStillLists(self) -> None:
        """
        C{--help} still lists every option, and exits 0.
        """
        code, out, err = twistd(self, "--help")
        self.assertEqual(code, 0, err)
        self.assertIn("--fingerport", out)
        self.assertIn("--auth", out)


class OptionsTests(SynchronousTestCase):
    """
    L{Options} parsed directly (a tac, a test) raises L{UsageError}.
    """

    def test_authFile(self) -> None:
        users = self.mktemp()
        with open(users, "w") as f:
            f.write("moshez: happy\n")
        options = Options()
        error = self.assertRaises(
            UsageError, options.parseOptions, ["--file", users, "--auth", "file:" + users + "x"]
        )
        self.assertIn("does not exist", str(error))
        passwords = self.mktemp()
        os.makedirs(passwords)
        error = self.assertRaises(
            UsageError, Options().parseOptions, ["--file", users, "--auth", "file:" + passwords]
        )
        self.assertIn("is not a regular file", str(error))
        with open(users + ".passwords", "w") as f:
            f.write("moshez:secret\n")
        options = Options()
        options.parseOptions(["--file", users, "--auth", f"file:{users}.passwords"])
        assert options.config.login is not None
        self.assertEqual(len(options.config.login.checkers), 1)

    def test_allReasons(self) -> None:
        """
        Every role's mistake is reported, one a line.
        """
        error = self.assertRaises(
            UsageError, Options().parseOptions, ["--file=/nonexistent", "--pbport=nonsense"]
        )
        lines = str(error).splitlines()
        self.assertEqual(len(lines), 2)
        self.assertIn("--pbport", lines[0])
        self.assertIn("--file", lines[1])

    def test_usageError(self) -> None:
        self.assertEqual(
            usageError(UsageError("a\nb"), "x"), "x: a\nx: b\nRun 'x --help' for the options.\n"
        )
