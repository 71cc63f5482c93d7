# -*- test-case-name: tests.test_testing -*-
"""
Fakes for testing code that uses this package, as L{treq.testing} is for
treq: back-ends that fail or never answer, and reactors whose time and
threads a test controls.

Writing a front-end of your own?  Build it on a L{FaultyService} and a
L{ThreadlessClock} to see what a client is told when the back-end fails,
or does not answer before the timeout, without waiting and without
threads::

    clock = ThreadlessClock()
    service = FaultyService(stuck=["stuck"], moshez="happy and well")
    protocol = MyFactory(service, clock=clock).buildProtocol(None)
    ...  # ask about "stuck" over a StringTransport
    clock.advance(LOOKUP_TIMEOUT)
    self.assertEqual(service.cancelled, ["stuck"])

The tests of this package use these same fakes.
"""

from typing import Any, Callable, Iterable, List, Optional

from twisted.internet.defer import Deferred, fail
from twisted.internet.interfaces import IDelayedCall
from twisted.internet.task import Clock
from twisted.python.failure import Failure
from zope.interface import directlyProvides, implementer, providedBy

from finger.backends.memory import MemoryFingerService
from finger.interfaces import IFingerService, StatusesNotAvailable
from finger.messages import NOT_AVAILABLE_YET

__all__ = [
    "BrokenService",
    "FaultyService",
    "FakeTimeReactor",
    "HeldThreadsClock",
    "SynchronousThreadPool",
    "ThreadlessClock",
]


class SynchronousThreadPool:
    """
    Enough of a L{twisted.python.threadpool.ThreadPool} for
    L{twisted.internet.threads.deferToThreadPool}: "threaded" work runs at
    once, in the calling thread, and its result (or its exception) is
    handed to the callback as a real pool would hand it.
    """

    def callInThreadWithCallback(
        self, onResult: Callable[[bool, Any], None], f: Callable[..., Any], *a: Any, **kw: Any
    ) -> None:
        """
        Call C{f(*a, **kw)} now, then C{onResult(True, result)}, or
        C{onResult(False, failure)} if it raised.
        """
        try:
            result = f(*a, **kw)
        except BaseException:
            onResult(False, Failure())
        else:
            onResult(True, result)


class _HeldThreadPool(SynchronousThreadPool):
    """
    A L{SynchronousThreadPool} that keeps each job until told to run it.

    @ivar held: the jobs not run yet, oldest first.
    """

    def __init__(self) -> None:
        self.held: List[Callable[[], None]] = []

    def callInThreadWithCallback(
        self, onResult: Callable[[bool, Any], None], f: Callable[..., Any], *a: Any, **kw: Any
    ) -> None:
        run = super().callInThreadWithCallback
        self.held.append(lambda: run(onResult, f, *a, **kw))


class ThreadlessClock(Clock):
    """
    A L{Clock} that is also enough of an
    L{IReactorThreads<twisted.internet.interfaces.IReactorThreads>} for
    C{deferToThreadPool(reactor, reactor.getThreadPool(), ...)}: work "in a
    thread" runs immediately, in the test's thread, so tests of back-ends
    that read files in threads stay deterministic.
    """

    def __init__(self) -> None:
        super().__init__()
        self.pool: SynchronousThreadPool = SynchronousThreadPool()

    def getThreadPool(self) -> SynchronousThreadPool:
        """
        The pool "threaded" work goes to.
        """
        return self.pool

    def callFromThread(self, f: Callable[..., Any], *a: Any, **kw: Any) -> None:
        """
        Call C{f} now: there is no other thread to come back from.
        """
        f(*a, **kw)


class HeldThreadsClock(ThreadlessClock):
    """
    A L{ThreadlessClock} whose "threaded" work waits until the test calls
    L{runOne}, so that a test sees what happens while work is under way (a
    second save arriving while the first is on its way to the disk, a
    client leaving before a lookup ends).
    """

    def __init__(self) -> None:
        super().__init__()
        self.heldPool = _HeldThreadPool()
        self.pool = self.heldPool

    @property
    def held(self) -> int:
        """
        How many jobs wait to run.
        """
        return len(self.heldPool.held)

    def runOne(self) -> None:
        """
        Run the oldest waiting job and deliver its result.

        @raise IndexError: if no job waits.
        """
        self.heldPool.held.pop(0)()


_FIRE = "the database caught fire"


@implementer(IFingerService)
class BrokenService:
    """
    A back-end whose every answer fails with L{RuntimeError}, as a database
    on fire would: what a front-end must turn into an "internal error"
    answer and one logged traceback.
    """

    def getUser(self, user: str) -> "Deferred[str]":
        return fail(RuntimeError(_FIRE))

    def getUsers(self) -> "Deferred[List[str]]":
        return fail(RuntimeError(_FIRE))


@implementer(IFingerService)
class NotYetService:
    """
    A back-end that has not read its statuses yet, as a database back-end
    that has not reached its database since it started: every answer fails
    with L{StatusesNotAvailable}, which a front-end must say as
    L{finger.messages.NOT_AVAILABLE_YET}, not as an unknown user.
    """

    def getUser(self, user: str) -> "Deferred[str]":
        return fail(StatusesNotAvailable(NOT_AVAILABLE_YET))

    def getUsers(self) -> "Deferred[List[str]]":
        return fail(StatusesNotAvailable(NOT_AVAILABLE_YET))


class FaultyService(MemoryFingerService):
    """
    A L{MemoryFingerService} with faults where a test wants them: a lookup
    of a user in C{stuck} never answers (until it is cancelled, as a
    front-end's timeout or a client leaving cancels it), and a lookup of a
    user in C{broken} fails with L{RuntimeError}.  Everyone else is
    answered from memory at once, so a test can check that other clients
    are served while some lookups hang.  With C{stuckListing}, the list of
    users never comes either.

    @ivar asked: every user looked up, in order.
    @ivar listed: how many times the list of users was asked for.
    @ivar cancelled: every stuck user whose lookup was cancelled, in order,
        and C{"*"} for each cancelled listing.
    """

    def __init__(
        self,
        stuck: Iterable[str] = (),
        broken: Iterable[str] = (),
        stuckListing: bool = False,
        **users: str,
    ) -> None:
        """
        @param stuck: users whose lookups never answer.
        @param broken: users whose lookups fail.
        @param stuckListing: whether listing the users never answers.
        @param users: the statuses of everyone else, as for
            L{MemoryFingerService}.
        """
        super().__init__(**users)
        self.stuck = set(stuck)
        self.broken = set(broken)
        self.stuckListing = stuckListing
        self.asked: List[str] = []
        self.listed = 0
        self.cancelled: List[str] = []

    def getUser(self, user: str) -> "Deferred[str]":
        self.asked.append(user)
        if user in self.stuck:
            return Deferred(lambda d: self.cancelled.append(user))
        if user in self.broken:
            return fail(RuntimeError(_FIRE))
        return super().getUser(user)

    def getUsers(self) -> "Deferred[List[str]]":
        self.listed += 1
        if self.stuckListing:
            return Deferred(lambda d: self.cancelled.append("*"))
        return super().getUsers()


class FakeTimeReactor:
    """
    A real reactor whose time is a L{Clock}: listening, connecting and
    threads go to the real reactor, so clients talk to the code under test
    over real sockets, while every timer the code sets through this
    reactor (lookup timeouts, idle timeouts, retries) waits until the test
    advances the clock.

    Pass it where the code takes a reactor (C{makeService(options,
    FakeTimeReactor(reactor))}); objects the real reactor creates (ports,
    connections) keep the real reactor, and with it real time, for their
    own workings.

    @ivar reactor: the reactor doing the I/O.
    @ivar clock: the time the code under test sees.
    """

    def __init__(self, reactor: Any, clock: Optional[Clock] = None) -> None:
        self.reactor = reactor
        self.clock = Clock() if clock is None else clock
        directlyProvides(self, providedBy(reactor))

    def seconds(self) -> float:
        return self.clock.seconds()

    def callLater(self, delay: float, f: Callable[..., Any], *a: Any, **kw: Any) -> IDelayedCall:
        return self.clock.callLater(delay, f, *a, **kw)

    def getDelayedCalls(self) -> List[IDelayedCall]:
        return self.clock.getDelayedCalls()  # type: ignore[return-value]

    def advance(self, amount: float) -> None:
        """
        Move time on by C{amount} seconds, running what falls due.
        """
        self.clock.advance(amount)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.reactor, name)
