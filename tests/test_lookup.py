"""
Tests for L{finger.lookup}: the one policy every front-end asks back-ends
through.
"""

from typing import Any, List, Tuple

from twisted.cred.error import UnauthorizedLogin
from twisted.internet.address import IPv4Address
from twisted.internet.defer import CancelledError, Deferred, fail, succeed
from twisted.internet.task import Clock
from twisted.logger import LogLevel, capturedLogs, formatEvent
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from finger.auth import NotAllowed
from finger.interfaces import StatusesNotAvailable, StatusesReadOnly, StatusNotSaved, UnknownUser
from finger.lookup import (
    LOOKUP_TIMEOUT,
    LookupAnswers,
    LookupPolicy,
    SetAnswers,
    Unsaved,
    firedResult,
)
from finger.messages import INTERNAL_ERROR, LOGIN_FAILED, NOT_ALLOWED, NOT_SAVED, SET_TIMED_OUT
from finger.names import InvalidStatus, InvalidUserName

_Answer = Tuple[str, ...]


class _Answers(LookupAnswers[_Answer]):
    """
    Says each outcome as a tuple naming it, and remembers what it said.
    """

    def __init__(self) -> None:
        self.said: List[_Answer] = []

    def say(self, *answer: str) -> _Answer:
        self.said.append(answer)
        return answer

    def unknown(self, user: str) -> _Answer:
        return self.say("unknown", user)

    def timedOut(self) -> _Answer:
        return self.say("timed out")

    def notAvailable(self) -> _Answer:
        return self.say("not available")

    def failed(self) -> _Answer:
        return self.say("failed")


class _SetAnswers(SetAnswers[_Answer]):
    def saved(self) -> _Answer:
        return ("saved",)

    def refused(self, reason: str) -> _Answer:
        return ("refused", reason)

    def notAllowed(self, reason: str) -> _Answer:
        return ("not allowed", reason)

    def loginFailed(self) -> _Answer:
        return ("login failed",)

    def notSaved(self) -> _Answer:
        return ("not saved",)

    def timedOut(self) -> _Answer:
        return ("timed out",)

    def failed(self) -> _Answer:
        return ("failed",)


def _found(status: str) -> _Answer:
    return ("found", status)


class _Cancellable:
    """
    A back-end's L{Deferred} that records whether it was cancelled.
    """

    def __init__(self) -> None:
        self.cancelled = False
        self.deferred: "Deferred[Any]" = Deferred(self._cancel)

    def _cancel(self, d: "Deferred[Any]") -> None:
        self.cancelled = True


def _problems(events: List[Any]) -> List[Any]:
    """
    The events at warning level or above.
    """
    return [e for e in events if e["log_level"] >= LogLevel.warn]


class AskTests(SynchronousTestCase):
    """
    L{LookupPolicy.ask}: found, unknown, timed out, failed, cancelled.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.policy = LookupPolicy(self.clock, 5.0)
        self.answers = _Answers()

    def ask(self, d: "Deferred[Any]") -> "Deferred[_Answer]":
        return self.policy.ask(d, _found, self.answers, "192.0.2.1:1234", "a test lookup")

    def test_defaultTimeout(self) -> None:
        self.assertEqual(LookupPolicy(self.clock).timeout, LOOKUP_TIMEOUT)

    def test_foundAtOnce(self) -> None:
        """
        An answer already here is found, and no timer is scheduled for it.
        """
        with capturedLogs() as events:
            result = self.ask(succeed("happy"))
        self.assertEqual(self.successResultOf(result), ("found", "happy"))
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual(self.answers.said, [])
        self.assertEqual(_problems(events), [])

    def test_foundLater(self) -> None:
        """
        An answer that comes within the timeout is found, and its timer is
        cancelled.
        """
        backend: "Deferred[str]" = Deferred()
        result = self.ask(backend)
        self.assertNoResult(result)
        self.clock.advance(4.9)
        backend.callback("late")
        self.assertEqual(self.successResultOf(result), ("found", "late"))
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_unknown(self) -> None:
        """
        A user the back-end does not know is said as such, and it is not
        a problem worth logging.
        """
        with capturedLogs() as events:
            result = self.ask(fail(UnknownUser("nobody")))
        self.assertEqual(self.successResultOf(result), ("unknown", "nobody"))
        self.assertEqual(_problems(events), [])
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_notAvailable(self) -> None:
        """
        A back-end that has not read its statuses yet is said as such, not
        as an unknown user nor as a failure: the back-end logs its outage.
        """
        with capturedLogs() as events:
            result = self.ask(fail(StatusesNotAvailable("not yet")))
        self.assertEqual(self.successResultOf(result), ("not available",))
        self.assertEqual(_problems(events), [])
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_timedOut(self) -> None:
        """
        A back-end that does not answer within the timeout is cancelled,
        the client is told it timed out, and one warning is logged.
        """
        backend = _Cancellable()
        result = self.ask(backend.deferred)
        with capturedLogs() as events:
            self.clock.advance(4.9)
            self.assertNoResult(result)
            self.clock.advance(0.1)
        self.assertEqual(self.successResultOf(result), ("timed out",))
        self.assertTrue(backend.cancelled)
        [warning] = _problems(events)
        self.assertEqual(warning["log_level"], LogLevel.warn)
        self.assertEqual(warning["what"], "a test lookup")
        self.assertEqual(warning["peer"], "192.0.2.1:1234")
        self.assertEqual(warning["timeout"], 5.0)
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_shownOnlyWhenLogged(self) -> None:
        """
        Who asked may be given as an address and what was asked as what
        makes it: neither is made for an answer, and a line logged shows
        them as strings.
        """
        made: List[str] = []

        def what() -> str:
            made.append("what")
            return "a lazy lookup"

        peer = IPv4Address("TCP", "192.0.2.1", 1234)
        answered = self.policy.ask(succeed("fine"), str, _Answers(), peer, what)
        self.assertEqual(self.successResultOf(answered), "fine")
        self.assertEqual(made, [])
        with capturedLogs() as events:
            result = self.policy.ask(Deferred(), str, _Answers(), peer, what)
            self.clock.advance(5)
        self.assertEqual(self.successResultOf(result), ("timed out",))
        [warning] = _problems(events)
        self.assertEqual((warning["peer"], warning["what"]), ("192.0.2.1:1234", "a lazy lookup"))
        self.assertEqual(made, ["what"])

    def test_failed(self) -> None:
        """
        A back-end that fails is logged once, with its error, and the client
        is told only that the server failed.
        """
        result = self.ask(fail(RuntimeError("the database caught fire")))
        self.assertEqual(self.successResultOf(result), ("failed",))
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_cancelledByFrontEnd(self) -> None:
        """
        A front-end whose client left cancels what the policy returned: the
        back-end's request is cancelled, the result fails with
        L{CancelledError}, nothing is said and nothing is logged.
        """
        backend = _Cancellable()
        with capturedLogs() as events:
            result = self.ask(backend.deferred)
            result.cancel()
            self.failureResultOf(result, CancelledError)
            self.clock.advance(10)
        self.assertTrue(backend.cancelled)
        self.assertEqual(self.answers.said, [])
        self.assertEqual(_problems(events), [])
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual(self.flushLoggedErrors(), [])


class _Observer:
    """
    Hears the outcome of every lookup, with the seconds it took.
    """

    def __init__(self) -> None:
        self.heard: List[Tuple[str, float]] = []

    def lookedUp(self, outcome: str, seconds: float) -> None:
        self.heard.append((outcome, seconds))

    def changed(self, outcome: str, seconds: float) -> None:
        raise AssertionError("not a change")


class AnswerNowTests(SynchronousTestCase):
    """
    L{LookupPolicy.answerNow}: a back-end that answers at once, each
    outcome said as L{LookupPolicy.ask} says it, with no L{Deferred} and no
    timer.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.observer = _Observer()
        self.policy = LookupPolicy(self.clock, 5.0, observer=self.observer)
        self.answers = _Answers()

    def answerNow(self, lookup: Any) -> Any:
        with capturedLogs() as events:
            answer = self.policy.answerNow(
                lookup, _found, self.answers, "192.0.2.1:1234", "a test lookup"
            )
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.events = events
        return answer

    def test_found(self) -> None:
        """
        What the back-end found is the answer, and the observer hears it
        was answered.
        """
        self.assertEqual(self.answerNow(lambda: "happy"), (("found", "happy"),))
        self.assertEqual(self.answers.said, [])
        self.assertEqual(self.observer.heard, [("answered", 0.0)])
        self.assertEqual(_problems(self.events), [])

    def test_unknown(self) -> None:
        """
        An unknown user is said by the answers, not logged.
        """

        def lookup() -> str:
            raise UnknownUser("nobody")

        self.assertEqual(self.answerNow(lookup), (("unknown", "nobody"),))
        self.assertEqual(self.observer.heard, [("unknown", 0.0)])
        self.assertEqual(_problems(self.events), [])

    def test_notAvailable(self) -> None:
        """
        A back-end that has not read its statuses yet is said to be not
        available, not logged (the back-end logged why).
        """

        def lookup() -> str:
            raise StatusesNotAvailable("not yet")

        self.assertEqual(self.answerNow(lookup), (("not available",),))
        # Counted as ask counts it: the metrics have no outcome of its own
        # for it.
        self.assertEqual(self.observer.heard, [("failed", 0.0)])
        self.assertEqual(_problems(self.events), [])

    def test_failed(self) -> None:
        """
        A back-end that fails is logged once, with its error, and the
        client is told only that the server failed.
        """

        def lookup() -> str:
            raise RuntimeError("the table caught fire")

        self.assertEqual(self.answerNow(lookup), (("failed",),))
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        self.assertEqual(self.observer.heard, [("failed", 0.0)])

    def test_notAtHand(self) -> None:
        """
        A back-end that cannot answer without waiting: nothing is said or
        heard, and the front-end asks it with L{LookupPolicy.ask}.
        """
        self.assertIsNone(self.answerNow(lambda: None))
        self.assertEqual(self.answers.said, [])
        self.assertEqual(self.observer.heard, [])

    def test_withoutObserver(self) -> None:
        """
        Without an observer, the answers are the same.
        """
        self.policy = LookupPolicy(self.clock, 5.0)
        self.assertEqual(self.answerNow(lambda: "happy"), (("found", "happy"),))
        self.assertEqual(self.observer.heard, [])


class ChangeTests(SynchronousTestCase):
    """
    L{LookupPolicy.change}: each outcome of a status change.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.policy = LookupPolicy(self.clock, 5.0)

    def change(self, d: "Deferred[Any]") -> _Answer:
        with capturedLogs() as events:
            result = self.policy.change(d, _SetAnswers(), "192.0.2.1:1234", "a test change")
            self.clock.advance(5)
        self.events = events
        return self.successResultOf(result)

    def test_saved(self) -> None:
        self.assertEqual(self.change(succeed(None)), ("saved",))
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual(_problems(self.events), [])

    def test_savedLater(self) -> None:
        backend: "Deferred[None]" = Deferred()
        result = self.policy.change(backend, _SetAnswers(), "192.0.2.1:1234")
        self.clock.advance(4)
        backend.callback(None)
        self.assertEqual(self.successResultOf(result), ("saved",))
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_refused(self) -> None:
        """
        A name or a status that breaks a rule is refused, saying which rule.
        """
        self.assertEqual(
            self.change(fail(InvalidUserName("a user name may not be empty"))),
            ("refused", "a user name may not be empty"),
        )
        self.assertEqual(
            self.change(fail(InvalidStatus("a status is at most 1024 characters"))),
            ("refused", "a status is at most 1024 characters"),
        )
        self.assertEqual(_problems(self.events), [])

    def test_notAllowed(self) -> None:
        self.assertEqual(
            self.change(fail(NotAllowed("moshez may not set the status of shawn"))),
            ("not allowed", "moshez may not set the status of shawn"),
        )

    def test_loginFailed(self) -> None:
        self.assertEqual(self.change(fail(UnauthorizedLogin("login failed"))), ("login failed",))
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_notSaved(self) -> None:
        """
        A status the back-end could not make durable is said as not saved;
        the back-end logged why, so the policy does not.
        """
        self.assertEqual(self.change(fail(StatusNotSaved("disk full"))), ("not saved",))
        self.assertEqual(_problems(self.events), [])
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_readOnly(self) -> None:
        """
        Statuses that cannot be changed at all are said as not allowed, with
        the back-end's reason, not as a save to try again later.
        """
        self.assertEqual(
            self.change(fail(StatusesReadOnly("the status file is read-only"))),
            ("not allowed", "the status file is read-only"),
        )
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_timedOut(self) -> None:
        """
        A change not confirmed in time is cancelled, said as timed out, and
        logged once as a warning.
        """
        backend = _Cancellable()
        self.assertEqual(self.change(backend.deferred), ("timed out",))
        self.assertTrue(backend.cancelled)
        [warning] = _problems(self.events)
        self.assertEqual(warning["log_level"], LogLevel.warn)
        self.assertEqual(warning["what"], "a test change")
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_failed(self) -> None:
        self.assertEqual(self.change(fail(RuntimeError("boom"))), ("failed",))
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)


class _Unsaved(SetAnswers[_Answer]):
    """
    Says only how a change that did not happen looks, as front-ends do.
    """

    def saved(self) -> _Answer:
        return ("saved",)

    def unsaved(self, why: Unsaved, sentence: str) -> _Answer:
        return (why.value, sentence)


class SetAnswersTests(SynchronousTestCase):
    """
    L{SetAnswers} gives each outcome of a change its one sentence, so a
    front-end says only how each reason looks on its wire.
    """

    def test_sentences(self) -> None:
        answers = _Unsaved()
        self.assertEqual(
            [
                answers.refused("a user name may not be empty"),
                answers.notAllowed("moshez may not set the status of shawn"),
                answers.loginFailed(),
                answers.notSaved(),
                answers.timedOut(),
                answers.failed(),
            ],
            [
                ("refused", "a user name may not be empty"),
                ("not allowed", f"{NOT_ALLOWED}: moshez may not set the status of shawn"),
                ("login failed", LOGIN_FAILED),
                ("not saved", NOT_SAVED),
                ("timed out", SET_TIMED_OUT),
                ("failed", INTERNAL_ERROR),
            ],
        )

    def test_throughPolicy(self) -> None:
        """
        The policy's outcomes reach L{SetAnswers.unsaved} with their
        reasons.
        """
        policy = LookupPolicy(Clock())
        result = policy.change(fail(NotAllowed("moshez may not")), _Unsaved(), "192.0.2.1:1234")
        self.assertEqual(
            self.successResultOf(result), ("not allowed", "not allowed: moshez may not")
        )


class ChangeLogTests(SynchronousTestCase):
    """
    L{LookupPolicy.change} logs who set whose status, and who was refused
    for lack of rights, for every front-end.
    """

    def change(self, d: "Deferred[Any]") -> List[Any]:
        policy = LookupPolicy(Clock())
        with capturedLogs() as events:
            result = policy.change(
                d, _SetAnswers(), "192.0.2.1:1234", "a test change", user="shawn", login="root"
            )
        self.successResultOf(result)
        return [e for e in events if e.get("log_namespace") == "finger.lookup.LookupPolicy"]

    def test_saved(self) -> None:
        [event] = self.change(succeed(None))
        self.assertEqual(event["log_level"], LogLevel.info)
        self.assertEqual(
            formatEvent(event),
            "Status of 'shawn' set by 'root' from 192.0.2.1:1234 (a test change)",
        )

    def test_notAllowed(self) -> None:
        [event] = self.change(fail(NotAllowed("root may not set the status of shawn")))
        self.assertEqual(event["log_level"], LogLevel.warn)
        self.assertEqual((event["login"], event["user"]), ("root", "shawn"))
        self.assertIn("may not set", formatEvent(event))

    def test_othersNotLogged(self) -> None:
        """
        A refused name, a failed login and a status not saved are not
        logged by the policy: the client is told, and the login and the
        back-end log their own.
        """
        for reason in [
            InvalidUserName("a user name may not be empty"),
            UnauthorizedLogin("login failed"),
            StatusNotSaved("disk full"),
        ]:
            self.assertEqual(self.change(fail(reason)), [])


class FiredResultTests(SynchronousTestCase):
    """
    L{firedResult} takes what a L{Deferred} already came to, and leaves one
    still waiting as it was.
    """

    def test_succeeded(self) -> None:
        d = succeed("happy")
        self.assertEqual(firedResult(d), ("happy",))
        self.assertIsNone(self.successResultOf(d))

    def test_failed(self) -> None:
        """
        A failure is taken from the L{Deferred}, so it is not logged as
        unhandled.
        """
        d: "Deferred[str]" = fail(UnknownUser("nobody"))
        result = firedResult(d)
        assert result is not None
        reason = result[0]
        assert isinstance(reason, Failure)
        self.assertTrue(reason.check(UnknownUser))
        self.assertIsNone(self.successResultOf(d))

    def test_waiting(self) -> None:
        d: "Deferred[str]" = Deferred()
        self.assertIsNone(firedResult(d))
        d.callback("later")
        self.assertEqual(self.successResultOf(d), "later")

    def test_paused(self) -> None:
        """
        A L{Deferred} that fired but waits for another has no result yet.
        """
        inner: "Deferred[str]" = Deferred()
        d = succeed(None).addCallback(lambda _: inner)
        self.assertIsNone(firedResult(d))
        inner.callback("later")
        self.assertEqual(self.successResultOf(d), "later")

    def test_runningCallbacks(self) -> None:
        """
        Asked from one of the L{Deferred}'s own callbacks, where a callback
        added does not run at once, L{firedResult} has no result and the
        chain goes on as it was.
        """
        d: "Deferred[str]" = Deferred()
        seen: List[object] = []

        def look(result: str) -> str:
            seen.append(firedResult(d))
            return result

        d.addCallback(look)
        d.callback("now")
        self.assertEqual(seen, [None])
        self.assertEqual(self.successResultOf(d), "now")
