"""
Tests that C{docs/tutorial.md} stays true to the tutorial and to the code:
every stage of "The Evolution of Finger" has its section, and every file,
module, class and test the document names exists.

The tutorial's text is not part of the repository, so its stage names are
written out here.
"""

import importlib
import os
import re
from typing import List, Set

from twisted.trial.unittest import SynchronousTestCase

_checkout = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_TUTORIAL = os.path.join(_checkout, "docs", "tutorial.md")

STAGES = [
    "Introduction",
    "Refuse Connections",
    "Do Nothing",
    "Drop Connections",
    "Read Username, Drop Connections",
    "Read Username, Output Error, Drop Connections",
    "Output From Empty Factory",
    "Output from Non-empty Factory",
    "Use Deferreds",
    "Run 'finger' Locally",
    "Read Status from the Web",
    "Use Application",
    "twistd",
    "Setting Message By Local Users",
    "Use Services to Make Dependencies Sane",
    "Read Status File",
    "Announce on Web, Too",
    "Announce on IRC, Too",
    "Add XML-RPC Support",
    "Write Readable Code",
    "Write Maintainable Code",
    "Advantages of Latest Version",
    "Another Back-end",
    "Yet Another Back-end: Doing the Standard Thing",
    "Aspect-Oriented Programming",
    "Use Woven",
    "Use Perspective Broker",
    "Support HTTPS",
    "Finger Proxy",
    "Organization",
    "Easy Configuration",
    "Plugins",
    "OS Integration",
]
"""
The tutorial's table of contents, in order.
"""

# `finger/...`, `tests/...`, `etc/...`, `templates/...` and `twisted/plugins/...`
# paths in backquotes.
_PATH = re.compile(r"`((?:finger|tests|etc|templates|twisted/plugins)/[\w./<>-]*)`")
# Dotted names in backquotes: finger.module.Name... and tests.test_x.Class.test_y.
_DOTTED = re.compile(r"`((?:finger|tests)\.[A-Za-z_][\w.]*)(?:\([^`]*\))?`")
_FILE_SUFFIXES = (".py", ".tac", ".md", ".sample", ".xhtml", ".pem", ".service", ".socket")


def _text() -> str:
    with open(_TUTORIAL, encoding="utf-8") as f:
        return f.read()


def _resolves(name: str) -> bool:
    """
    Does C{name} name an importable module, or an attribute reached from one?
    """
    parts = name.split(".")
    for split in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        try:
            for attribute in parts[split:]:
                obj = getattr(obj, attribute)
        except AttributeError:
            return False
        return True
    return False


class TutorialDocumentTests(SynchronousTestCase):
    def test_everyStage(self) -> None:
        """
        Every stage of the tutorial has a numbered section, in the
        tutorial's order.
        """
        headings = re.findall(r"^## (\d+)\. (.+)$", _text(), re.MULTILINE)
        self.assertEqual(headings, [(str(n), stage) for n, stage in enumerate(STAGES, 1)])

    def test_everyStageInSummary(self) -> None:
        """
        The summary table has a row for every stage.
        """
        rows = re.findall(r"^\| (\d+) \| ([^|]+) \|", _text(), re.MULTILINE)
        self.assertEqual(
            [(int(n), stage.strip()) for n, stage in rows], list(enumerate(STAGES, 1))
        )

    def test_pathsExist(self) -> None:
        """
        Every file or directory of the checkout that the document names
        exists.
        """
        paths: Set[str] = set(_PATH.findall(_text()))
        self.assertTrue(paths)
        missing = [
            path
            for path in sorted(paths)
            if "<" not in path and not os.path.exists(os.path.join(_checkout, path))
        ]
        self.assertEqual(missing, [])

    def test_namesResolve(self) -> None:
        """
        Every module, class, function and test named with a dotted name
        exists, so each test the document cites can be run with trial.
        """
        names = {
            name
            for name in _DOTTED.findall(_text())
            if not name.endswith(_FILE_SUFFIXES)
        }
        self.assertTrue(any(name.startswith("tests.") for name in names))
        missing: List[str] = [name for name in sorted(names) if not _resolves(name)]
        self.assertEqual(missing, [])
