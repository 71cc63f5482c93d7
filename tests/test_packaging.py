# -*- test-case-name: tests.test_packaging -*-
"""
Tests for the packaging: what a built wheel and sdist hold.

Every build and install runs in a subprocess with a clean environment
(L{tests.support.cleanEnvironment}), so that what C{trial -j} puts in
C{PYTHONPATH} for its workers does not leak into them.
"""

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from typing import List

from twisted.trial.unittest import SynchronousTestCase

from tests.support import CHECKOUT, cleanEnvironment

_SHIPPED = ["finger", "twisted", "templates", "etc", "pyproject.toml", "README.md", "finger.tac"]


def _build(kind: str, where: str) -> str:
    """
    Build a wheel or an sdist from a clean copy of the checkout (so the
    checkout gets no build directories), and return its path.
    """
    source = os.path.join(where, "src")
    os.makedirs(source)
    for name in _SHIPPED:
        path = os.path.join(CHECKOUT, name)
        if os.path.isdir(path):
            shutil.copytree(
                path,
                os.path.join(source, name),
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "dropin.cache"),
            )
        elif os.path.exists(path):
            shutil.copy(path, source)
    # A stray plugin cache must not be shipped even if one is lying around.
    open(os.path.join(source, "twisted", "plugins", "dropin.cache"), "wb").close()
    out = os.path.join(where, "dist")
    script = (
        f"import sys; from setuptools import build_meta as b; print(b.build_{kind}(sys.argv[1]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, out],
        cwd=source,
        env=cleanEnvironment(),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise AssertionError(result.stdout + result.stderr)
    return os.path.join(out, result.stdout.strip().splitlines()[-1])


def _templates() -> List[str]:
    directory = os.path.join(CHECKOUT, "templates")
    return (
        sorted(n for n in os.listdir(directory) if n.endswith(".xhtml"))
        if os.path.isdir(directory)
        else []
    )


class PackagingTests(SynchronousTestCase):
    def setUp(self) -> None:
        try:
            import setuptools
        except ImportError:
            raise self.skipTest("setuptools is not installed (pip install '.[test]')")
        if tuple(int(p) for p in setuptools.__version__.split(".")[:2]) < (77, 0):
            raise self.skipTest("setuptools 77 or later is needed to build")
        self.where = os.path.abspath(self.mktemp())

    def test_wheel(self) -> None:
        """
        The wheel has the package, the plugin, the templates and the sample
        status file, and nothing that would break Twisted's own packages.
        """
        with zipfile.ZipFile(_build("wheel", self.where)) as wheel:
            names = set(wheel.namelist())
        self.assertIn("finger/__init__.py", names)
        self.assertIn("finger/app/tap.py", names)
        self.assertIn("twisted/plugins/finger_plugin.py", names)
        self.assertIn("finger/etc/users.sample", names)
        self.assertIn("finger/frontends/web/static/live.js", names)
        for template in _templates():
            self.assertIn(f"finger/templates/{template}", names)
        self.assertNotIn("twisted/__init__.py", names)
        self.assertNotIn("twisted/plugins/__init__.py", names)
        self.assertFalse([n for n in names if n.endswith("dropin.cache")])
        self.assertFalse([n for n in names if n.startswith("tests/")])

    def test_sdist(self) -> None:
        with tarfile.open(_build("sdist", self.where)) as sdist:
            names = {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}
        for name in [
            "twisted/plugins/finger_plugin.py",
            "etc/users.sample",
            "finger/app/tap.py",
            "README.md",
        ]:
            self.assertIn(name, names)
        for template in _templates():
            self.assertIn(f"templates/{template}", names)
        self.assertNotIn("twisted/__init__.py", names)
        self.assertNotIn("twisted/plugins/__init__.py", names)
        self.assertFalse([n for n in names if n.endswith("dropin.cache")])


class InstalledTests(SynchronousTestCase):
    def test_installedCopyWorks(self) -> None:
        """
        After a non-editable install into a fresh virtualenv, run from
        elsewhere: C{twistd --help} lists C{finger}, C{twistd finger --help}
        works, and the sample status file and templates are found inside
        the installed package.
        """
        try:
            import setuptools  # noqa: F401
        except ImportError:
            raise self.skipTest("setuptools is not installed (pip install '.[test]')")
        where = os.path.abspath(self.mktemp())
        wheel = _build("wheel", where)
        venv = os.path.join(where, "venv")
        subprocess.run([sys.executable, "-m", "venv", venv], env=cleanEnvironment(), check=True)
        install = subprocess.run(
            [os.path.join(venv, "bin", "pip"), "install", "-q", wheel],
            env=cleanEnvironment(),
            capture_output=True,
            text=True,
        )
        if install.returncode != 0:
            raise self.skipTest(
                f"could not install the wheel's dependencies: {install.stderr[-500:]}"
            )
        elsewhere = os.path.join(where, "elsewhere")
        os.makedirs(elsewhere)

        def run(*args: str) -> str:
            result = subprocess.run(
                args,
                cwd=elsewhere,
                env=cleanEnvironment(),
                capture_output=True,
                text=True,
                timeout=120,
            )
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
            return result.stdout

        twistd = os.path.join(venv, "bin", "twistd")
        self.assertIn("finger", run(twistd, "--help"))
        self.assertIn("/etc/users", run(twistd, "finger", "--help"))
        python = os.path.join(venv, "bin", "python")
        located = run(
            python,
            "-c",
            "import finger.paths as p; print(p.dataPath('etc', 'users.sample')); "
            "print(p.dataPath('templates'))",
        ).splitlines()
        for path in located:
            self.assertTrue(path.startswith(venv), path)
        self.assertTrue(os.path.isfile(located[0]))


class RepositoryTests(SynchronousTestCase):
    def test_noPluginCacheCommitted(self) -> None:
        """
        twistd writes C{dropin.cache} next to plugins; it is never committed.
        """
        # In a git worktree, .git is a file naming the repository.
        if not os.path.exists(os.path.join(CHECKOUT, ".git")) or shutil.which("git") is None:
            raise self.skipTest("not a git checkout")
        tracked = subprocess.run(
            ["git", "ls-files"], cwd=CHECKOUT, capture_output=True, text=True, check=True
        ).stdout.splitlines()
        self.assertFalse([n for n in tracked if n.endswith("dropin.cache")])
        self.assertNotIn("twisted/__init__.py", tracked)
        self.assertNotIn("twisted/plugins/__init__.py", tracked)
        ignored = subprocess.run(
            ["git", "check-ignore", "twisted/plugins/dropin.cache"], cwd=CHECKOUT
        )
        self.assertEqual(ignored.returncode, 0)
