# -*- test-case-name: tests.app.test_dbcopy -*-
"""
Tests for the C{finger-db} command line (L{finger.app.dbcopy}); the copies
themselves are tested with the SQL back-end, in L{tests.backends.test_sql}.
"""

import os
import subprocess
import sys
from typing import Tuple

from twisted.trial.unittest import SynchronousTestCase

from finger.backends.sqlstore import POSTGRESQL_DRIVER_MISSING
from tests.support import CHECKOUT, cleanEnvironment


def fingerDB(*arguments: str, path: str = CHECKOUT) -> Tuple[int, str, str]:
    """
    Run C{finger-db ARGUMENTS} as its script does, on the checkout (or on
    C{path}).

    @return: its exit status, standard output and standard error.
    """
    process = subprocess.run(
        [sys.executable, "-c", "from finger.app.dbcopy import main; main()", *arguments],
        env=cleanEnvironment(PYTHONPATH=path),
        capture_output=True,
        timeout=60,
    )
    return process.returncode, process.stdout.decode(), process.stderr.decode()


class CommandLineTests(SynchronousTestCase):
    def test_help(self) -> None:
        """
        C{--help} names the program and its commands, and each command's
        help its own arguments.
        """
        code, out, err = fingerDB("--help")
        self.assertEqual(code, 0, err)
        self.assertTrue(out.startswith("Usage: finger-db import|export "), out)
        self.assertIn("import ", out)
        self.assertIn("export ", out)
        code, out, err = fingerDB("import", "--help")
        self.assertEqual(code, 0, err)
        self.assertTrue(
            out.startswith("Usage: finger-db import [--replace] STATUSFILE DATABASE\n"), out
        )
        code, out, err = fingerDB("export", "--help")
        self.assertTrue(out.startswith("Usage: finger-db export DATABASE STATUSFILE\n"), out)
        self.assertNotIn("Twisted", out)

    def test_usageErrors(self) -> None:
        """
        A mistake is told first, with a pointer to C{--help}: not the whole
        usage.
        """
        for arguments, lines in [
            ((), ["finger-db: give a command: import or export", "Run 'finger-db --help'"]),
            (("import", "x"), ["finger-db: Wrong number of arguments.", "Run 'finger-db import --help'"]),
            (("bogus",), ["finger-db: Unknown command: bogus", "Run 'finger-db --help'"]),
        ]:
            code, out, err = fingerDB(*arguments)
            self.assertEqual(code, 1)
            self.assertEqual(out, "")
            got = err.splitlines()
            self.assertEqual(len(got), 2, err)
            for line, start in zip(got, lines):
                self.assertTrue(line.startswith(start), (line, start))

    def test_driverMissing(self) -> None:
        """
        Without psycopg, a PostgreSQL URL is refused with the install
        command that works: the driver's own package, as this one is not on
        PyPI.
        """
        hide = os.path.abspath(self.mktemp())
        os.makedirs(os.path.join(hide, "psycopg"))
        with open(os.path.join(hide, "psycopg", "__init__.py"), "w") as f:
            f.write("raise ImportError('hidden by the test')\n")
        users = os.path.abspath(self.mktemp())
        with open(users, "w") as f:
            f.write("moshez: happy\n")
        code, out, err = fingerDB(
            "import", users, "postgresql://nobody@127.0.0.1/x", path=f"{hide}:{CHECKOUT}"
        )
        self.assertEqual(code, 1)
        self.assertEqual(err, f"finger-db: {POSTGRESQL_DRIVER_MISSING}\n")
        self.assertIn("pip install 'psycopg[binary]'", POSTGRESQL_DRIVER_MISSING)
        self.assertNotIn("finger[", POSTGRESQL_DRIVER_MISSING)
