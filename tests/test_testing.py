# -*- test-case-name: tests.test_testing -*-
"""
Tests for L{finger.testing}: the fakes must behave as what they stand for,
or the tests that use them prove nothing.
"""

from typing import Any, List

from twisted.internet.defer import CancelledError
from twisted.internet.interfaces import IReactorTCP, IReactorTime
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock
from twisted.internet.threads import deferToThreadPool
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from finger.interfaces import IFingerService, IFingerSetterService, UnknownUser
from finger.testing import (
    BrokenService,
    FakeTimeReactor,
    FaultyService,
    HeldThreadsClock,
    SynchronousThreadPool,
    ThreadlessClock,
)


def _boom() -> None:
    raise ValueError("boom")


class SynchronousThreadPoolTests(SynchronousTestCase):
    def test_result(self) -> None:
        """
        The work runs at once and its result goes to the callback, flagged
        a success.
        """
        results: List[Any] = []
        SynchronousThreadPool().callInThreadWithCallback(
            lambda ok, result: results.append((ok, result)), lambda a, b: a + b, 1, b=2
        )
        self.assertEqual(results, [(True, 3)])

    def test_exception(self) -> None:
        """
        An exception goes to the callback as a L{Failure}, flagged a
        failure, rather than up to the caller.
        """
        results: List[Any] = []
        SynchronousThreadPool().callInThreadWithCallback(
            lambda ok, result: results.append((ok, result)), _boom
        )
        [(ok, failure)] = results
        self.assertFalse(ok)
        self.assertIsInstance(failure, Failure)
        self.assertTrue(failure.check(ValueError))


class ThreadlessClockTests(SynchronousTestCase):
    def test_deferToThreadPool(self) -> None:
        """
        C{deferToThreadPool} on a L{ThreadlessClock} has its result at once,
        and its failure as a failure.
        """
        clock = ThreadlessClock()
        d = deferToThreadPool(clock, clock.getThreadPool(), lambda: "done")  # type: ignore[arg-type]
        self.assertEqual(self.successResultOf(d), "done")
        d = deferToThreadPool(clock, clock.getThreadPool(), _boom)  # type: ignore[arg-type]
        self.failureResultOf(d, ValueError)

    def test_stillAClock(self) -> None:
        clock = ThreadlessClock()
        called: List[float] = []
        clock.callLater(5, lambda: called.append(clock.seconds()))
        clock.advance(5)
        self.assertEqual(called, [5])


class HeldThreadsClockTests(SynchronousTestCase):
    def test_heldUntilRun(self) -> None:
        """
        Each job waits until L{HeldThreadsClock.runOne}, which runs the
        oldest first and delivers its result.
        """
        clock = HeldThreadsClock()
        first = deferToThreadPool(clock, clock.getThreadPool(), lambda: 1)  # type: ignore[arg-type]
        second = deferToThreadPool(clock, clock.getThreadPool(), _boom)  # type: ignore[arg-type]
        self.assertEqual(clock.held, 2)
        self.assertNoResult(first)
        clock.runOne()
        self.assertEqual(self.successResultOf(first), 1)
        self.assertNoResult(second)
        self.assertEqual(clock.held, 1)
        clock.runOne()
        self.failureResultOf(second, ValueError)
        self.assertEqual(clock.held, 0)
        self.assertRaises(IndexError, clock.runOne)


class BrokenServiceTests(SynchronousTestCase):
    def test_everythingFails(self) -> None:
        service = BrokenService()
        self.assertTrue(verifyObject(IFingerService, service))
        self.failureResultOf(service.getUser("moshez"), RuntimeError)
        self.failureResultOf(service.getUsers(), RuntimeError)


class FaultyServiceTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.service = FaultyService(stuck=["stuck"], broken=["broken"], moshez="happy")

    def test_interfaces(self) -> None:
        self.assertTrue(verifyObject(IFingerService, self.service))
        self.assertTrue(verifyObject(IFingerSetterService, self.service))

    def test_others(self) -> None:
        """
        Users neither stuck nor broken are answered from memory.
        """
        self.assertEqual(self.successResultOf(self.service.getUser("moshez")), "happy")
        self.failureResultOf(self.service.getUser("nobody"), UnknownUser)
        self.assertEqual(self.successResultOf(self.service.getUsers()), ["moshez"])

    def test_broken(self) -> None:
        self.failureResultOf(self.service.getUser("broken"), RuntimeError)

    def test_stuck(self) -> None:
        """
        A stuck lookup never answers; cancelling it is recorded.
        """
        d = self.service.getUser("stuck")
        self.assertNoResult(d)
        self.assertEqual(self.service.cancelled, [])
        d.cancel()
        self.failureResultOf(d, CancelledError)
        self.assertEqual(self.service.cancelled, ["stuck"])

    def test_stuckListing(self) -> None:
        """
        With C{stuckListing}, the list never comes; cancelling it is
        recorded as C{"*"}.
        """
        service = FaultyService(stuckListing=True, moshez="happy")
        d = service.getUsers()
        self.assertNoResult(d)
        d.cancel()
        self.failureResultOf(d, CancelledError)
        self.assertEqual(service.cancelled, ["*"])

    def test_asked(self) -> None:
        for user in ["moshez", "stuck", "broken", "nobody"]:
            self.service.getUser(user).addErrback(lambda f: None)
        self.assertEqual(self.service.asked, ["moshez", "stuck", "broken", "nobody"])


class FakeTimeReactorTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.real = MemoryReactorClock()
        self.clock = Clock()
        self.reactor = FakeTimeReactor(self.real, self.clock)

    def test_timeIsTheClock(self) -> None:
        """
        Timers go to the clock, not to the real reactor, and run when the
        test advances it.
        """
        called: List[float] = []
        self.reactor.callLater(3, lambda: called.append(self.reactor.seconds()))
        self.assertEqual(self.real.getDelayedCalls(), [])
        self.assertEqual(len(self.reactor.getDelayedCalls()), 1)
        self.real.advance(3)
        self.assertEqual(called, [])
        self.reactor.advance(3)
        self.assertEqual(called, [3])
        self.assertEqual(self.clock.seconds(), 3)

    def test_ioIsReal(self) -> None:
        """
        Listening goes to the real reactor.
        """
        self.reactor.listenTCP(79, None)  # type: ignore[attr-defined]
        self.assertEqual(self.real.tcpServers[0][0], 79)

    def test_interfaces(self) -> None:
        """
        It provides what the real reactor provides, so that code checking
        for a reactor interface takes it.
        """
        self.assertTrue(IReactorTCP.providedBy(self.reactor))
        self.assertTrue(verifyObject(IReactorTime, self.reactor))

    def test_defaultClock(self) -> None:
        reactor = FakeTimeReactor(self.real)
        self.assertEqual(reactor.seconds(), 0)
        reactor.advance(2)
        self.assertEqual(reactor.clock.seconds(), 2)
