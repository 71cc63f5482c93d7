# -*- test-case-name: tests.metrics.test_tally -*-
"""
The outcomes an L{IOutcomeObserver} hears from a front-end's
L{finger.lookup.LookupPolicy}, such as the counters of C{--metrics}
(L{finger.metrics.tally.Counting}).

The outcomes are short fixed words, fit for a metric's label:

    - a lookup: C{answered}, C{unknown}, C{timed-out}, C{failed}, or
      C{cancelled} when the client left first;
    - a status change: C{saved}, C{refused}, C{not-allowed},
      C{login-failed}, C{not-saved}, C{timed-out} or C{failed}.
"""

from typing import Any, Callable

from twisted.internet.defer import CancelledError, TimeoutError
from twisted.internet.interfaces import IReactorTime
from twisted.python.failure import Failure

from finger.interfaces import IOutcomeObserver, UnknownUser


def outcomeOf(reason: Failure) -> str:
    """
    The outcome of a lookup that did not find what it asked for.
    """
    if reason.check(UnknownUser):
        return "unknown"
    if reason.check(CancelledError):
        return "cancelled"
    if reason.check(TimeoutError):
        return "timed-out"
    return "failed"


CHANGE_OUTCOMES = {
    "saved": "saved",
    "refused": "refused",
    "notAllowed": "not-allowed",
    "loginFailed": "login-failed",
    "notSaved": "not-saved",
    "timedOut": "timed-out",
    "failed": "failed",
}
"""
The outcome of a status change each answer of a front-end's C{SetAnswers}
(L{finger.lookup.SetAnswers}) says, by the name of the method that says it.
"""


class ObservedSetAnswers:
    """
    A front-end's C{SetAnswers} whose every outcome an L{IOutcomeObserver}
    hears too, as the policy calls the method that answers it: each method
    named in L{CHANGE_OUTCOMES} is the front-end's own, after the observer
    hears its outcome.
    """

    def __init__(self, answers: Any, observer: IOutcomeObserver, clock: IReactorTime) -> None:
        self.answers = answers
        self.observer = observer
        self.clock = clock
        self.started = clock.seconds()

    def _heard(self, outcome: str) -> None:
        self.observer.changed(outcome, self.clock.seconds() - self.started)


def _observed(method: str, outcome: str) -> Callable[..., Any]:
    """
    The method C{method} of L{ObservedSetAnswers}: the observer hears
    C{outcome}, then the front-end's own C{method} answers.
    """

    def answer(self: ObservedSetAnswers, *args: Any) -> Any:
        self._heard(outcome)
        return getattr(self.answers, method)(*args)

    answer.__name__ = method
    answer.__qualname__ = f"ObservedSetAnswers.{method}"
    return answer


for _method, _outcome in CHANGE_OUTCOMES.items():
    setattr(ObservedSetAnswers, _method, _observed(_method, _outcome))
del _method, _outcome
