# -*- test-case-name: tests.test_listing -*-
"""
The user listing, written once: what an empty finger query and the web
front page show, built once per change of the statuses and shared by every
request until the next change.

A listing is the first C{maxListed} users with their statuses (a
L{Snapshot}); a user the back-end no longer knows by the time their status
is asked for is left out, and the first lookup that fails fails the whole.
Each front-end makes its answer from a snapshot once, with
L{Snapshot.view}, and keeps it with the snapshot: the bytes of a finger
listing, the front page flattened with its per-request values left open.

When is a snapshot still good?  A back-end that provides
L{IVersionedFingerService} says: while its L{version
<IVersionedFingerService.version>} is the one read before the snapshot was
built, so a listing asked for after a set, or a reload, has finished shows
it.  Any other back-end's statuses live elsewhere (users' C{~/.plan} files,
a program, another server) and it cannot tell: its snapshot is kept for
L{UNVERSIONED_LIFETIME} seconds, which bounds what listings cost to one
build in that time, however many clients ask.

While a snapshot is built, every listing asked for waits for that one.  A
listing's L{Deferred} may be cancelled (the client left, or the front-end's
timeout came); once every listing waiting for a build is cancelled, so is
the build.
"""

from typing import Any, Callable, Dict, Hashable, List, Optional, Tuple, TypeVar, Union

from twisted.internet.defer import Deferred, FirstError, fail, gatherResults, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.python.failure import Failure

from finger.interfaces import IFingerService, IVersionedFingerService, UnknownUser

_T = TypeVar("_T")

MAX_LISTED = 1000
"""
The most users a listing shows unless a front-end is told otherwise; a
line says how many more there are.
"""

UNVERSIONED_LIFETIME = 1.0
"""
Seconds the listing of a back-end that cannot say when it changed is kept.
"""


class Snapshot:
    """
    What a listing shows at one version of the statuses.

    @ivar entries: the users shown, in the back-end's order, each with
        their status.
    @ivar total: how many users the back-end listed, shown or not.
    """

    def __init__(self, entries: List[Tuple[str, str]], total: int) -> None:
        self.entries = entries
        self.total = total
        self._views: Dict[Hashable, Any] = {}

    @property
    def hidden(self) -> int:
        """
        How many users are not shown.
        """
        return self.total - len(self.entries)

    def view(self, key: Hashable, make: "Callable[[Snapshot], _T]") -> _T:
        """
        What a front-end makes from this snapshot, made once.

        @param key: what tells this view from the others a front-end makes
            of the same snapshot (a verbose listing, a size cap).
        @param make: makes the view from this snapshot the first time it is
            asked for.
        @return: what C{make} returned, then and every time after.
        """
        try:
            return self._views[key]  # type: ignore[no-any-return]
        except KeyError:
            made = self._views[key] = make(self)
            return made


def _firstFailure(reason: Failure) -> Failure:
    """
    The failure of the lookup that failed a listing, rather than the
    L{FirstError} wrapping it, so the log shows the back-end's own error.
    """
    reason.trap(FirstError)
    return reason.value.subFailure  # type: ignore[no-any-return]


def build(service: IFingerService, maxListed: int) -> "Deferred[Snapshot]":
    """
    Ask C{service} for a new L{Snapshot} of its first C{maxListed} users.

    @return: a L{Deferred} firing with the snapshot, or failing as the
        first lookup that failed did; cancelling it cancels the lookups.
    """

    def statuses(users: List[str]) -> "Deferred[Snapshot]":
        def entry(name: str) -> "Deferred[List[Tuple[str, str]]]":
            def gone(reason: Failure) -> List[Tuple[str, str]]:
                # Removed between the list and the lookup.
                reason.trap(UnknownUser)
                return []

            return service.getUser(name).addCallbacks(lambda status: [(name, status)], gone)

        def join(found: List[List[Tuple[str, str]]]) -> Snapshot:
            return Snapshot([pair for one in found for pair in one], len(users))

        everyone = gatherResults([entry(name) for name in users[:maxListed]], consumeErrors=True)
        return everyone.addCallbacks(join, _firstFailure)

    return service.getUsers().addCallback(statuses)


class _Build:
    """
    One snapshot being built, and the listings waiting for it.

    @ivar stamp: the version, or the time, it was started at.
    @ivar asked: what the back-end was asked, a L{build}.
    @ivar result: the L{Snapshot} or the L{Failure} it ended with, once it
        has.
    """

    def __init__(self, stamp: float, asked: "Deferred[Snapshot]") -> None:
        self.stamp = stamp
        self.asked = asked
        self.result: "Optional[Union[Snapshot, Failure]]" = None
        self._waiting: "List[Deferred[Snapshot]]" = []

    def wait(self) -> "Deferred[Snapshot]":
        """
        The snapshot, once built.
        """
        if isinstance(self.result, Failure):
            return fail(self.result)
        if self.result is not None:
            return succeed(self.result)
        d: Deferred[Snapshot] = Deferred(self._leave)
        self._waiting.append(d)
        return d

    def _leave(self, d: "Deferred[Snapshot]") -> None:
        self._waiting.remove(d)
        if not self._waiting:
            self.asked.cancel()

    def done(self, result: "Union[Snapshot, Failure]") -> None:
        """
        Hand what the build ended with to every listing waiting for it.
        """
        self.result = result
        waiting, self._waiting = self._waiting, []
        for d in waiting:
            if isinstance(result, Failure):
                d.errback(result)
            else:
                d.callback(result)


class Listing:
    """
    The user listing of one back-end, built once per change of its statuses
    (see the module's docstring for how a change is known).

    @ivar service: the back-end.
    @ivar clock: what the lifetime of an unversioned back-end's listing is
        measured on.
    @ivar maxListed: the most users a listing shows.
    @ivar lifetime: seconds a listing of a back-end that does not provide
        L{IVersionedFingerService} is kept.
    """

    def __init__(
        self,
        service: IFingerService,
        clock: IReactorTime,
        *,
        maxListed: int = MAX_LISTED,
        lifetime: float = UNVERSIONED_LIFETIME,
    ) -> None:
        self.service = service
        self.clock = clock
        self.maxListed = maxListed
        self.lifetime = lifetime
        self._snapshot: Optional[Snapshot] = None
        self._stamp = 0.0
        self._building: Optional[_Build] = None

    def _now(self) -> float:
        """
        What a snapshot started now is stamped with: the back-end's
        version, or for a back-end without one, the time.
        """
        if IVersionedFingerService.providedBy(self.service):
            return self.service.version()  # type: ignore[attr-defined, no-any-return]
        return self.clock.seconds()

    def _fresh(self, stamp: float, now: float) -> bool:
        if IVersionedFingerService.providedBy(self.service):
            return stamp == now
        return 0 <= now - stamp < self.lifetime

    def snapshot(self) -> "Deferred[Snapshot]":
        """
        The listing as the statuses are now.

        @return: a L{Deferred} firing with a L{Snapshot}, at once if one was
            already built for these statuses; or failing as the back-end
            failed.  Cancelling it leaves the build to the other listings
            waiting for it, and cancels it if there are none.
        """
        now = self._now()
        if self._snapshot is not None and self._fresh(self._stamp, now):
            return succeed(self._snapshot)
        building = self._building
        if building is None or not self._fresh(building.stamp, now):
            building = self._start(now)
        return building.wait()

    def _start(self, stamp: float) -> _Build:
        building = _Build(stamp, build(self.service, self.maxListed))
        self._building = building

        def built(snapshot: Snapshot) -> Snapshot:
            if self._building is building:
                self._snapshot, self._stamp = snapshot, stamp
            return snapshot

        def ended(result: "Union[Snapshot, Failure]") -> None:
            if self._building is building:
                self._building = None
            building.done(result)

        building.asked.addCallback(built).addBoth(ended)
        return building
