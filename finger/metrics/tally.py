# -*- test-case-name: tests.metrics.test_tally -*-
"""
The counts of one process (L{Tally}), and what counts into them: the
outcome of every request (L{Counting}, the L{IOutcomeObserver} each
front-end's lookup policy is built with), the connections each listener
refuses (L{Tally.refused}) and the failed logins (L{Tally.failedLogin}).

Counting is plain Python: an add to a number in a dictionary, a few
tenths of a microsecond a request.  C{prometheus_client}'s own counters
and histograms take a lock for each add, several microseconds a request
all told, which is most of what C{--metrics} may cost a finger query
(5%); they are made only when the metrics are read
(L{finger.metrics.exposition}), from a L{Tally.snapshot}.

Every label value is one of a few fixed words: never a user name, a
status or a client's address.  Which front-end a request came from is the
one its L{Counting} was built for (L{finger.app.compose} builds one for
each front-end).
"""

from bisect import bisect_left
from typing import Any, Callable, Dict, List, Optional, Tuple

from zope.interface import implementer

from finger.interfaces import IOutcomeObserver
from finger.outcomes import CHANGE_OUTCOMES

Labels = Tuple[str, ...]

FRONTENDS = ("finger", "setter", "web", "webfinger", "xmlrpc", "pb", "irc")
"""
The values of the C{frontend} label.
"""

LISTENER_FRONTENDS = {
    "finger": "finger",
    "setter": "setter",
    "web": "web",
    "https": "web",
    "pb": "pb",
}
"""
The front-end each listener's connections are for, by listener name.
"""

LOOKUP_OUTCOMES = ("answered", "unknown", "timed-out", "failed", "cancelled")
REFUSALS = ("max-connections", "max-per-address", "rate-limit")
SET_OUTCOMES = tuple(CHANGE_OUTCOMES.values())
SETTERS = ("setter", "xmlrpc", "pb")
LOGIN_FAILURES = ("wrong", "budget", "queue", "error")

# A change's outcome as a request's: the client was told the answer, or the
# back-end could not keep it (finger_sets_total tells them apart).
_CHANGE_REQUESTS = {
    "saved": "answered",
    "refused": "answered",
    "not-allowed": "answered",
    "login-failed": "answered",
    "not-saved": "failed",
}

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""
The latency histogram's buckets, in seconds: an answer from memory takes
well under a millisecond, one from a slow back-end up to the lookup
timeout.
"""

REQUESTS = "finger_requests"
DURATION = "finger_request_duration_seconds"
SETS = "finger_sets"
REFUSED = "finger_refusals"
LOGINS = "finger_login_failures"
RELOADS = "finger_status_file_reloads"
RESTARTS = "finger_worker_restarts"
CONNECTIONS = "finger_connections_open"
USERS = "finger_backend_users"
LAST_LOAD = "finger_backend_last_load_timestamp_seconds"
READY = "finger_backend_ready"
REACHABLE = "finger_database_reachable"

COUNTERS: Dict[str, Tuple[str, Labels]] = {
    REQUESTS: (
        "Requests, by front-end and outcome (a refused connection is a refused request).",
        ("frontend", "outcome"),
    ),
    SETS: (
        "Status changes, by front-end and outcome (saved, or why not).",
        ("frontend", "outcome"),
    ),
    REFUSED: ("Connections refused, by listener and limit.", ("listener", "reason")),
    LOGINS: ("Failed logins to set statuses, by reason.", ("reason",)),
    RELOADS: ("Times a changed status file was read again.", ()),
    RESTARTS: ("Workers restarted after they died (--workers).", ()),
}
"""
Every counter: its help and its labels.
"""

HISTOGRAMS: Dict[str, Tuple[str, Labels]] = {
    DURATION: ("Seconds from a request to its answer, by front-end.", ("frontend",)),
}

GAUGES: Dict[str, Tuple[str, Labels, Callable[[List[float]], float]]] = {
    CONNECTIONS: ("Connections open, by listener.", ("listener",), sum),
    USERS: ("Users the back-end serves.", (), max),
    LAST_LOAD: ("When the back-end last read its statuses without error (Unix time).", (), max),
    READY: ("1 if the back-end can answer (/readyz is 200), else 0.", (), min),
    REACHABLE: ("1 if the database is reachable, else 0 (--backend=sql only).", (), min),
}
"""
Every gauge: its help, its labels, and how the values of several workers
make one (the open connections of all, the readiness of the least ready).
"""

ZEROS: Dict[str, List[Labels]] = {
    REQUESTS: [(f, o) for f in FRONTENDS for o in LOOKUP_OUTCOMES + REFUSALS],
    SETS: [(f, o) for f in SETTERS for o in SET_OUTCOMES],
    LOGINS: [(reason,) for reason in LOGIN_FAILURES],
    DURATION: [(f,) for f in FRONTENDS],
}
"""
The series shown, at 0, before anything is counted in them, so that a
rate over them starts from the service's start.
"""


class Tally:
    """
    The counts of one process.

    @ivar counters: by counter name, each label set's count.
    @ivar histograms: by histogram name, each label set's observations
        per bucket of L{BUCKETS} and above them, then their sum.
    @ivar gauges: by gauge name, each label set's value, as last read.
    @ivar notReady: why the back-end cannot answer, as last read, if it
        cannot.
    """

    def __init__(self) -> None:
        self.counters: Dict[str, Dict[Labels, float]] = {name: {} for name in COUNTERS}
        self.histograms: Dict[str, Dict[Labels, List[float]]] = {name: {} for name in HISTOGRAMS}
        self.gauges: Dict[str, Dict[Labels, float]] = {}
        self.notReady: Optional[str] = None

    def add(self, name: str, labels: Labels = (), amount: float = 1) -> None:
        """
        Add C{amount} to the counter C{name}'s series C{labels}.
        """
        series = self.counters[name]
        series[labels] = series.get(labels, 0) + amount

    def observe(self, name: str, labels: Labels, value: float) -> None:
        """
        Count C{value} in the histogram C{name}'s series C{labels}.
        """
        series = self.histograms[name]
        counts = series.get(labels)
        if counts is None:
            counts = series[labels] = [0.0] * (len(BUCKETS) + 2)
        counts[bisect_left(BUCKETS, value)] += 1
        counts[-1] += value

    def set(self, name: str, value: float, labels: Labels = ()) -> None:
        """
        Set the gauge C{name}'s series C{labels} to C{value}.
        """
        self.gauges.setdefault(name, {})[labels] = value

    def refused(self, listener: str) -> Callable[[str], None]:
        """
        What counts the connections the listener C{listener} refuses
        (L{finger.net.limits.LimitingFactory.refused}): as refusals, and as
        requests of its front-end refused by that limit.
        """
        frontend = LISTENER_FRONTENDS.get(listener, listener)
        for reason in REFUSALS:
            self.counters[REFUSED].setdefault((listener, reason), 0)

        def refused(reason: str) -> None:
            self.add(REFUSED, (listener, reason))
            self.add(REQUESTS, (frontend, reason))

        return refused

    def failedLogin(self, reason: str) -> None:
        """
        Count a failed login (L{finger.auth.login.SetterLogin.failed}).
        """
        self.add(LOGINS, (reason,))

    def snapshot(self) -> Dict[str, Any]:
        """
        Every count and reading, as JSON can hold them: each label set as
        its values joined by spaces (no label value holds one).
        """
        return {
            "counters": {
                name: {" ".join(labels): value for labels, value in series.items()}
                for name, series in self.counters.items()
            },
            "histograms": {
                name: {" ".join(labels): counts for labels, counts in series.items()}
                for name, series in self.histograms.items()
            },
            "gauges": {
                name: {" ".join(labels): value for labels, value in series.items()}
                for name, series in self.gauges.items()
            },
            "notReady": self.notReady,
        }


@implementer(IOutcomeObserver)
class Counting:
    """
    Count the outcome of every request of one front-end in a L{Tally}, and
    time it.

    @ivar tally: the counts.
    @ivar frontend: the front-end, one of L{FRONTENDS}: the C{frontend}
        label of everything counted here.
    """

    def __init__(self, tally: Tally, frontend: str) -> None:
        """
        @raise ValueError: if C{frontend} is not one of L{FRONTENDS}, so
            that the label's values stay the few the metrics define.
        """
        if frontend not in FRONTENDS:
            raise ValueError(f"not a front-end of the metrics: {frontend!r}")
        self.tally = tally
        self.frontend = frontend
        self._requests = tally.counters[REQUESTS]
        self._durations = tally.histograms[DURATION]
        self._series = (frontend,)

    def lookedUp(self, outcome: str, seconds: float) -> None:
        # The hot path of every request: what Tally.add and Tally.observe
        # do, without their calls.
        requests = self._requests
        key = (self.frontend, outcome)
        requests[key] = requests.get(key, 0) + 1
        counts = self._durations.get(self._series)
        if counts is None:
            counts = self._durations[self._series] = [0.0] * (len(BUCKETS) + 2)
        counts[bisect_left(BUCKETS, seconds)] += 1
        counts[-1] += seconds

    def changed(self, outcome: str, seconds: float) -> None:
        frontend = self.frontend
        tally = self.tally
        tally.add(SETS, (frontend, outcome))
        tally.add(REQUESTS, (frontend, _CHANGE_REQUESTS.get(outcome, outcome)))
        tally.observe(DURATION, self._series, seconds)
