"""
Tests for L{finger.paths}.
"""

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
