"""
Tests for L{finger.messages}: every sentence a client may read, once.
"""

import ast
from typing import Dict

from twisted.trial.unittest import SynchronousTestCase

from finger import messages


def _sentences() -> Dict[str, str]:
    return {
        name: value
        for name, value in vars(messages).items()
        if name.isupper() and not name.startswith("_")
    }


class MessagesTests(SynchronousTestCase):
    def test_text(self) -> None:
        """
        Every message is text that fits on one line of any front-end: no
        line break or other control character.
        """
        sentences = _sentences()
        self.assertGreater(len(sentences), 10)
        for name, value in sentences.items():
            self.assertIsInstance(value, str, name)
            self.assertTrue(value.strip(), name)
            self.assertFalse(
                [c for c in value if ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0], name
            )

    def test_eachOnce(self) -> None:
        """
        No sentence is defined under two names: a client meets one wording
        for one thing.
        """
        byValue: Dict[str, str] = {}
        for name, value in _sentences().items():
            self.assertNotIn(value, byValue, f"{name} repeats {byValue.get(value)}")
            byValue[value] = name

    def test_documented(self) -> None:
        """
        Each message has a docstring in the module saying when a client
        reads it.
        """
        with open(messages.__file__, encoding="utf-8") as f:
            body = ast.parse(f.read()).body
        documented = {
            target.id
            for statement, following in zip(body, body[1:])
            if isinstance(statement, ast.Assign)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
            for target in statement.targets
            if isinstance(target, ast.Name)
        }
        self.assertEqual(sorted(set(_sentences()) - documented), [])
