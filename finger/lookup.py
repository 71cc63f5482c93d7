# -*- test-case-name: tests.test_lookup -*-
"""
How every front-end asks a back-end: the one policy.

A front-end hands L{LookupPolicy} the L{Deferred} a back-end returned, and
says how each outcome looks on its own wire; the policy does the rest, the
same way for all of them:

    - the back-end gets L{LOOKUP_TIMEOUT} seconds (or the policy's
      C{timeout}); after that the request is cancelled and the client is
      told it timed out, and one warning is logged;
    - a back-end that fails is logged once, with its traceback, and the
      client is told only that the server failed;
    - a client that leaves first cancels the request (the front-end calls
      C{cancel()} on the L{Deferred} the policy returned), and nothing is
      said or logged.

A back-end that holds its statuses in memory
(L{finger.interfaces.IStatusesAtHand}) is asked through
L{LookupPolicy.answerNow} instead, with the same outcomes, said the same
way, but at once: no L{Deferred}, no timer.

For a lookup the outcomes are I{found}, I{unknown}, I{not available yet}
(a back-end that has not read its statuses since it started, which must not
answer "No such user"), I{timed out} and I{failed} (L{LookupAnswers}); for a status change I{saved}, I{refused},
I{not allowed}, I{login failed}, I{not saved}, I{timed out} and I{failed}
(L{SetAnswers}, which gives every outcome but I{saved} its sentence, so a
front-end says only how an L{Unsaved} reason looks on its wire); a change
made, and one refused for lack of rights, are logged here with who asked.
The L{Deferred} the policy returns never fails, except with
L{CancelledError} after the front-end cancelled it.
"""

from enum import Enum
from typing import Any, Callable, Generic, List, Optional, Tuple, TypedDict, TypeVar, Union

from twisted.cred.error import UnauthorizedLogin
from twisted.internet.defer import CancelledError, Deferred, TimeoutError
from twisted.internet.interfaces import IAddress, IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from finger.auth import NotAllowed
from finger.interfaces import (
    IOutcomeObserver, StatusesNotAvailable, StatusesReadOnly, StatusNotSaved, UnknownUser
)
from finger.messages import (
    INTERNAL_ERROR,
    LOGIN_FAILED,
    NOT_ALLOWED,
    NOT_SAVED,
    SET_TIMED_OUT,
)
from finger.names import InvalidStatus, InvalidUserName
from finger.outcomes import ObservedSetAnswers, outcomeOf
from finger.reactor import orGlobalReactor
from finger.text import formatPeer

_T = TypeVar("_T")
_R = TypeVar("_R")
_R_co = TypeVar("_R_co", covariant=True)

LOOKUP_TIMEOUT = 10.0
"""
Seconds every front-end gives the back-end to answer one request.
"""


class LookupAnswers(Generic[_R_co]):
    """
    What one front-end says for each outcome of a lookup that did not find
    what it asked for.  Subclasses say it on their own wire.
    """

    def unknown(self, user: str) -> _R_co:
        """
        The back-end does not know C{user}.
        """
        raise NotImplementedError()

    def timedOut(self) -> _R_co:
        """
        The back-end did not answer in time.
        """
        raise NotImplementedError()

    def notAvailable(self) -> _R_co:
        """
        The back-end has not read its statuses yet
        (L{StatusesNotAvailable}): L{NOT_AVAILABLE_YET}, as the front-end's
        wire says that asking again later helps.
        """
        raise NotImplementedError()

    def failed(self) -> _R_co:
        """
        The back-end failed; the policy logged why.
        """
        raise NotImplementedError()


class Unsaved(Enum):
    """
    Why a status change did not happen: what a front-end tells apart on its
    wire (an error class, a fault code), beside the sentence that says it.
    """

    REFUSED = "refused"
    NOT_ALLOWED = "not allowed"
    LOGIN_FAILED = "login failed"
    NOT_SAVED = "not saved"
    TIMED_OUT = "timed out"
    FAILED = "failed"


class SetAnswers(Generic[_R]):
    """
    What one front-end says for each outcome of a status change.

    Every outcome but L{saved} has one sentence, from L{finger.messages},
    whatever the wire: by default each method hands L{unsaved} the reason
    and that sentence, so a front-end says only how a refusal looks on its
    wire.  A front-end may still override any one outcome.
    """

    def saved(self) -> _R:
        """
        The status is durable.
        """
        raise NotImplementedError()

    def unsaved(self, why: Unsaved, sentence: str) -> _R:
        """
        The status was not set, for reason C{why}; C{sentence} tells the
        client, in lower case as it may follow a colon.
        """
        raise NotImplementedError()

    def refused(self, reason: str) -> _R:
        """
        The name or the status breaks a rule; C{reason} says which, in
        words fit for the client.
        """
        return self.unsaved(Unsaved.REFUSED, reason)

    def notAllowed(self, reason: str) -> _R:
        """
        The one who logged in may not set this status; C{reason} says so
        in words fit for the client.
        """
        return self.unsaved(Unsaved.NOT_ALLOWED, f"{NOT_ALLOWED}: {reason}")

    def loginFailed(self) -> _R:
        """
        The name or the password was wrong.
        """
        return self.unsaved(Unsaved.LOGIN_FAILED, LOGIN_FAILED)

    def notSaved(self) -> _R:
        """
        The back-end could not make the status durable; nothing changed.
        """
        return self.unsaved(Unsaved.NOT_SAVED, NOT_SAVED)

    def timedOut(self) -> _R:
        """
        The back-end did not confirm the change in time.
        """
        return self.unsaved(Unsaved.TIMED_OUT, SET_TIMED_OUT)

    def failed(self) -> _R:
        """
        The back-end failed; the policy logged why.
        """
        return self.unsaved(Unsaved.FAILED, INTERNAL_ERROR)


Peer = Union[str, IAddress]
"""
Who asked, as a log shows it: a string, or an address that is shown only
when a line is logged (L{formatPeer}), so a request that is answered pays
nothing for it.
"""

What = Union[str, Callable[[], str]]
"""
What was asked, as a log shows it: a string, or what makes one, called only
when a line is logged.
"""


def _shown(peer: Peer, what: What) -> Tuple[str, str]:
    """
    C{peer} and C{what} as a log line shows them.
    """
    return (
        peer if isinstance(peer, str) else formatPeer(peer),
        what if isinstance(what, str) else what(),
    )


def firedResult(d: "Deferred[_T]") -> "Optional[Tuple[Union[_T, Failure]]]":
    """
    What C{d} has already come to, taken from it: for an answer already here
    (a back-end in memory), so that a front-end can use it at once instead
    of adding callbacks to wait for it.

    @return: a 1-tuple of C{d}'s result (a L{Failure} if it failed), after
        which C{d} holds L{None}; or L{None} if C{d} has not fired yet (or
        cannot run callbacks now), and C{d} is as it was.
    """
    if not d.called or d.paused:
        return None
    box: "List[Union[_T, Failure]]" = []
    now = True

    def take(result: "Union[_T, Failure]") -> object:
        if now:
            box.append(result)
            return None
        # Not run at once after all: leave the result for whoever waits.
        return result

    d.addBoth(take)
    now = False
    return (box[0],) if box else None


class LookupSettings(TypedDict, total=False):
    """
    How a front-end asks its back-end: the keyword arguments of its
    constructor that make its L{LookupPolicy}, taken as
    C{**settings: Unpack[LookupSettings]} and handed to
    L{LookupPolicy.fromSettings}, where each is declared, with its default,
    once.
    """

    clock: Optional[IReactorTime]
    lookupTimeout: float
    observer: Optional[IOutcomeObserver]


class LookupPolicy:
    """
    Ask back-ends with a timeout, and turn each outcome into an answer.

    @ivar clock: the L{IReactorTime} the timeouts run on.
    @ivar timeout: seconds a back-end has to answer.
    @ivar observer: what hears the outcome of every request, built for the
        front-end whose policy this is (L{IOutcomeObserver}); or L{None},
        the default, when nothing listens and the policy costs no more.
    """

    log = Logger()

    def __init__(
        self,
        clock: IReactorTime,
        timeout: float = LOOKUP_TIMEOUT,
        *,
        observer: Optional[IOutcomeObserver] = None,
    ) -> None:
        self.clock = clock
        self.timeout = timeout
        self.observer = observer

    @classmethod
    def fromSettings(
        cls,
        *,
        clock: Optional[IReactorTime] = None,
        lookupTimeout: float = LOOKUP_TIMEOUT,
        observer: Optional[IOutcomeObserver] = None,
    ) -> "LookupPolicy":
        """
        The policy of a front-end built with L{LookupSettings}.

        @param clock: what the timeouts run on; the global reactor if
            L{None}, for a front-end built with its defaults.
        @param lookupTimeout: seconds the back-end has to answer.
        @param observer: what hears the outcome of every request (the
            metrics' count of the front-end); L{None} for nothing.
        """
        return cls(orGlobalReactor(clock), lookupTimeout, observer=observer)

    def _limit(self, d: "Deferred[_T]") -> "Deferred[_T]":
        if not d.called or d.paused:
            # An answer already here (a table in memory) cannot time out:
            # skip scheduling and cancelling a timer.
            d.addTimeout(self.timeout, self.clock)
        return d

    def _unanswered(
        self,
        reason: Failure,
        answers: "Union[LookupAnswers[_R], SetAnswers[_R]]",
        peer: Peer,
        what: What,
    ) -> _R:
        """
        The answer when the back-end timed out or failed (logged once
        here), or C{reason} itself when the front-end cancelled.
        """
        if reason.check(CancelledError):
            return reason  # type: ignore[return-value]
        peer, what = _shown(peer, what)
        if reason.check(TimeoutError):
            self.log.warn(
                "Back-end gave no answer to {what} for {peer} within {timeout} seconds",
                what=what,
                peer=peer,
                timeout=self.timeout,
                outcome="timed out",
            )
            return answers.timedOut()
        self.log.failure(
            "Back-end failed: {what} for {peer}", reason, what=what, peer=peer, outcome="failed"
        )
        return answers.failed()

    def _notFound(
        self, reason: Failure, answers: LookupAnswers[_R], peer: Peer, what: What
    ) -> _R:
        """
        The answer to a lookup that did not find what it asked for, for
        C{reason}.
        """
        if reason.check(UnknownUser):
            return answers.unknown(reason.value.user)
        if reason.check(StatusesNotAvailable):
            # The back-end logged why; not a failure of this request.
            return answers.notAvailable()
        return self._unanswered(reason, answers, peer, what)

    def ask(
        self,
        d: "Deferred[_T]",
        found: Callable[[_T], _R],
        answers: LookupAnswers[_R],
        peer: Peer,
        what: What = "lookup",
    ) -> "Deferred[_R]":
        """
        Wait for a back-end's answer to a lookup, and say what it means.

        @param d: what the back-end returned (from C{getUser}, C{getUsers}
            or C{getUserDetails}).
        @param found: makes the answer from what the back-end found.
        @param answers: makes the answer for every other outcome.
        @param peer: who asked, as the log shows it (L{Peer}: an address is
            shown only if a line is logged).
        @param what: what was asked, as the log shows it (L{What}).
        @return: a L{Deferred} firing with the answer; cancelling it
            cancels the lookup, and then it fails with L{CancelledError}.
        """

        def otherwise(reason: Failure) -> _R:
            return self._notFound(reason, answers, peer, what)

        observer = self.observer
        if observer is None:
            return self._limit(d).addCallbacks(found, otherwise)
        clock = self.clock
        started = clock.seconds()

        def answered(result: _T) -> _R:
            answer = found(result)
            observer.lookedUp("answered", clock.seconds() - started)
            return answer

        def notAnswered(reason: Failure) -> _R:
            try:
                return otherwise(reason)
            finally:
                # Heard too when the answer is raised (PB's remote errors).
                observer.lookedUp(outcomeOf(reason), clock.seconds() - started)

        return self._limit(d).addCallbacks(answered, notAnswered)

    def answerNow(
        self,
        lookup: Callable[[], Optional[_T]],
        found: Callable[[_T], _R],
        answers: LookupAnswers[_R],
        peer: Peer,
        what: What = "lookup",
    ) -> "Optional[Tuple[_R]]":
        """
        Say what a back-end's answer means when it can answer at once
        (L{finger.interfaces.IStatusesAtHand}): as L{ask} would, but now,
        with no L{Deferred} and no timer, since nothing is waited for.

        @param lookup: asks the back-end (C{statusNow}):
            what it found, or L{None} if it cannot answer without waiting.
        @param found: makes the answer from what the back-end found.
        @param answers: makes the answer for every other outcome.
        @param peer: who asked, as the log shows it (L{Peer}).
        @param what: what was asked, as the log shows it (L{What}).
        @return: a 1-tuple of the answer; or L{None} if C{lookup} returned
            L{None}, and the back-end must be asked with L{ask}.
        """
        observer = self.observer
        started = self.clock.seconds() if observer is not None else 0.0
        try:
            result = lookup()
        except Exception:
            reason = Failure()
            try:
                return (self._notFound(reason, answers, peer, what),)
            finally:
                if observer is not None:
                    observer.lookedUp(outcomeOf(reason), self.clock.seconds() - started)
        if result is None:
            return None
        answer = found(result)
        if observer is not None:
            observer.lookedUp("answered", self.clock.seconds() - started)
        return (answer,)

    def change(
        self,
        d: "Deferred[Any]",
        answers: SetAnswers[_R],
        peer: Peer,
        what: What = "status change",
        *,
        user: Optional[str] = None,
        login: Optional[str] = None,
    ) -> "Deferred[_R]":
        """
        Wait for a back-end to confirm a status change (a login first, if
        C{d} includes one), and say what it means.

        A change made is logged, and so is one refused because C{login}
        may not set C{user}'s status: who set what, from where, is the
        policy's to log, not each front-end's.

        @param d: what C{setUser}, or a login followed by C{setUser},
            returned.
        @param answers: makes the answer for each outcome.
        @param peer: who asked, as the log shows it (L{Peer}).
        @param what: what was asked, as the log shows it (L{What}).
        @param user: whose status is set, as the log shows it.
        @param login: who logged in to set it, as the log shows it.
        @return: a L{Deferred} firing with the answer.
        """

        # Every change made is logged: show who asked now.
        peer, what = _shown(peer, what)
        who = {"user": user, "login": login, "peer": peer, "what": what}

        observer = self.observer
        if observer is not None:
            answers = ObservedSetAnswers(answers, observer, self.clock)  # type: ignore[assignment]

        def saved(result: object) -> _R:
            self.log.info(
                "Status of {user!r} set by {login!r} from {peer} ({what})", outcome="saved", **who
            )
            return answers.saved()

        def otherwise(reason: Failure) -> _R:
            if reason.check(UnauthorizedLogin):
                return answers.loginFailed()
            if reason.check(NotAllowed):
                self.log.warn(
                    "{login!r} from {peer} may not set the status of {user!r} ({what})",
                    outcome="not allowed",
                    **who,
                )
                return answers.notAllowed(reason.getErrorMessage())
            if reason.check(InvalidUserName, InvalidStatus):
                return answers.refused(reason.getErrorMessage())
            if reason.check(StatusesReadOnly):
                return answers.notAllowed(reason.getErrorMessage())
            if reason.check(StatusNotSaved):
                # The back-end logged the details; they are not the client's
                # business.
                return answers.notSaved()
            return self._unanswered(reason, answers, peer, what)

        return self._limit(d).addCallbacks(saved, otherwise)
