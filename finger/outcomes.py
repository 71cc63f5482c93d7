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

from typing import Any

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


class ObservedSetAnswers:
    """
    A front-end's C{SetAnswers} whose every outcome an L{IOutcomeObserver}
    hears too, as the policy calls the method that answers it.
    """

    def __init__(self, answers: Any, observer: IOutcomeObserver, clock: IReactorTime) -> None:
        self.answers = answers
        self.observer = observer
        self.clock = clock
        self.started = clock.seconds()

    def _heard(self, outcome: str) -> None:
        self.observer.changed(outcome, self.clock.seconds() - self.started)

    def saved(self) -> Any:
        self._heard("saved")
        return self.answers.saved()

    def refused(self, reason: str) -> Any:
        self._heard("refused")
        return self.answers.refused(reason)

    def notAllowed(self, reason: str) -> Any:
        self._heard("not-allowed")
        return self.answers.notAllowed(reason)

    def loginFailed(self) -> Any:
        self._heard("login-failed")
        return self.answers.loginFailed()

    def notSaved(self) -> Any:
        self._heard("not-saved")
        return self.answers.notSaved()

    def timedOut(self) -> Any:
        self._heard("timed-out")
        return self.answers.timedOut()

    def failed(self) -> Any:
        self._heard("failed")
        return self.answers.failed()
