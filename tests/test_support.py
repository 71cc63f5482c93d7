# -*- test-case-name: tests.test_support -*-
"""
Tests for L{tests.support}: the polling helper and the environment of
subprocesses, which every integration test relies on.
"""

import os
from typing import List

from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from tests.support import cleanEnvironment, waitFor


class CleanEnvironmentTests(SynchronousTestCase):
    def test_pythonPathDropped(self) -> None:
        """
        What C{trial -j} sets for its workers does not reach subprocesses;
        the rest of the environment does.
        """
        self.patch(os, "environ", {"PYTHONPATH": "/elsewhere", "VIRTUAL_ENV": "/v", "HOME": "/h"})
        self.assertEqual(cleanEnvironment(), {"HOME": "/h"})

    def test_extra(self) -> None:
        self.patch(os, "environ", {"PYTHONPATH": "/elsewhere"})
        self.assertEqual(cleanEnvironment(PYTHONPATH="/checkout"), {"PYTHONPATH": "/checkout"})


class WaitForTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.checks: List[float] = []

    def wait(self, answers: List[object], **kw: float) -> "Deferred[object]":
        def check() -> object:
            self.checks.append(self.clock.seconds())
            return answers.pop(0)

        return Deferred.fromCoroutine(waitFor(self.clock, check, "the answer", **kw))

    def test_firstTrueValue(self) -> None:
        """
        C{check} is called every C{interval} seconds until it returns
        something true, which C{waitFor} returns.
        """
        d = self.wait([0, None, "yes", "unused"], interval=0.5)
        self.assertNoResult(d)
        self.clock.advance(0.5)
        self.assertNoResult(d)
        self.clock.advance(0.5)
        self.assertEqual(self.successResultOf(d), "yes")
        self.assertEqual(self.checks, [0, 0.5, 1.0])

    def test_awaitsDeferreds(self) -> None:
        """
        A L{Deferred} returned by C{check} is waited for.
        """
        d = self.wait([succeed(False), succeed(7)], interval=1)
        self.clock.advance(1)
        self.assertEqual(self.successResultOf(d), 7)

    def test_awaitsCoroutines(self) -> None:
        async def answer() -> str:
            return "from a coroutine"

        d = self.wait([answer()])
        self.assertEqual(self.successResultOf(d), "from a coroutine")

    def test_givesUp(self) -> None:
        """
        After C{timeout} seconds it fails with an L{AssertionError} that
        says what it waited for.
        """
        d = self.wait([False] * 100, timeout=2, interval=1)
        self.clock.advance(1)
        self.clock.advance(1)
        failure = self.failureResultOf(d, AssertionError)
        self.assertIn("the answer", str(failure.value))
        self.assertEqual(self.checks, [0, 1, 2])
