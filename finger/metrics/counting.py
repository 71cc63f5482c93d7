# -*- test-case-name: tests.metrics.test_counting -*-
"""
The service's metrics (L{Metrics}), and what counts into them: the
outcome of every request (L{Counting}, an L{OutcomeObserver} of the one
lookup policy), the connections each listener refuses (L{Metrics.refused})
and the failed logins (L{Metrics.failedLogin}).

Every label value is one of a few fixed words: never a user name, a status
or a client's address.

Which front-end a request came from is told by the module of its answers'
class (L{frontendOf}): every front-end answers through a C{LookupAnswers}
or C{SetAnswers} class of its own, so no front-end needs to say it.
"""

from typing import Any, Callable, Dict, Optional, Tuple

from twisted.application.service import Service

from finger.lookup import LookupPolicy
from finger.outcomes import OutcomeObserver


class MetricsUnavailable(Exception):
    """
    C{--metrics} was asked for without C{prometheus_client} installed.
    """


def prometheus() -> Any:
    """
    The C{prometheus_client} module.

    @raise MetricsUnavailable: saying how to install it, if it is not.
    """
    try:
        import prometheus_client
    except ImportError:
        raise MetricsUnavailable(
            "--metrics needs prometheus_client: pip install 'finger[metrics]'"
        ) from None
    return prometheus_client


FRONTENDS = ("finger", "setter", "web", "webfinger", "xmlrpc", "pb", "irc")
"""
The values of the C{frontend} label.
"""

# The module of a front-end's answers class, by the longest prefix first.
_MODULES = (
    ("finger.frontends.web.webfinger", "webfinger"),
    ("finger.frontends.web.xmlrpc", "xmlrpc"),
    ("finger.frontends.web.", "web"),
    ("finger.frontends.pb.", "pb"),
    ("finger.frontends.irc.", "irc"),
    ("finger.frontends.setter", "setter"),
    ("finger.frontends.finger", "finger"),
)

LISTENER_FRONTENDS = {"finger": "finger", "setter": "setter", "web": "web", "https": "web", "pb": "pb"}
"""
The front-end each listener's connections are for, by listener name.
"""

LOOKUP_OUTCOMES = ("answered", "unknown", "timed-out", "failed", "cancelled")
REFUSALS = ("max-connections", "max-per-address", "rate-limit")
SET_OUTCOMES = (
    "saved", "refused", "not-allowed", "login-failed", "not-saved", "timed-out", "failed"
)
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


def frontendOf(answers: object) -> str:
    """
    The front-end whose answers C{answers} are, or C{"other"} for answers
    from outside the package (a plug-in front-end).
    """
    module = type(answers).__module__
    for prefix, name in _MODULES:
        if module.startswith(prefix):
            return name
    return "other"


class Metrics:
    """
    Every metric of one process, in a registry of its own.

    @ivar registry: the C{CollectorRegistry} they are in.
    """

    def __init__(self, database: bool = False) -> None:
        """
        @param database: whether the back-end is a database, whose
            reachability is a metric too.
        """
        client = prometheus()
        # No _created series beside each counter: a scrape's size halves.
        client.disable_created_metrics()
        self.registry = registry = client.CollectorRegistry(auto_describe=True)
        Counter, Gauge, Histogram = client.Counter, client.Gauge, client.Histogram
        self.requests = Counter(
            "finger_requests",
            "Requests, by front-end and outcome (a refused connection is a "
            "refused request).",
            ["frontend", "outcome"],
            registry=registry,
        )
        self.duration = Histogram(
            "finger_request_duration_seconds",
            "Seconds from a request to its answer, by front-end.",
            ["frontend"],
            buckets=BUCKETS,
            registry=registry,
        )
        self.sets = Counter(
            "finger_sets",
            "Status changes, by front-end and outcome (saved, or why not).",
            ["frontend", "outcome"],
            registry=registry,
        )
        self.refusals = Counter(
            "finger_refusals",
            "Connections refused, by listener and limit.",
            ["listener", "reason"],
            registry=registry,
        )
        self.loginFailures = Counter(
            "finger_login_failures",
            "Failed logins to set statuses, by reason.",
            ["reason"],
            registry=registry,
        )
        self.connections = Gauge(
            "finger_connections_open",
            "Connections open, by listener.",
            ["listener"],
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.users = Gauge(
            "finger_backend_users",
            "Users the back-end serves.",
            registry=registry,
            multiprocess_mode="livemax",
        )
        self.lastLoad = Gauge(
            "finger_backend_last_load_timestamp_seconds",
            "When the back-end last read its statuses without error (Unix time).",
            registry=registry,
            multiprocess_mode="livemax",
        )
        self.ready = Gauge(
            "finger_backend_ready",
            "1 if the back-end can answer (/readyz is 200), else 0.",
            registry=registry,
            multiprocess_mode="livemin",
        )
        self.databaseReachable: Optional[Any] = None
        if database:
            self.databaseReachable = Gauge(
                "finger_database_reachable",
                "1 if the database is reachable, else 0 (--backend=sql only).",
                registry=registry,
                multiprocess_mode="livemin",
            )
        self.reloads = Counter(
            "finger_status_file_reloads",
            "Times a changed status file was read again.",
            registry=registry,
        )
        # Each label set made once: labels() costs more than an increment.
        for frontend in FRONTENDS:
            self.duration.labels(frontend)
            for outcome in LOOKUP_OUTCOMES + REFUSALS:
                self.requests.labels(frontend, outcome)
        for name in ("setter", "xmlrpc", "pb"):
            for outcome in SET_OUTCOMES:
                self.sets.labels(name, outcome)
        for reason in LOGIN_FAILURES:
            self.loginFailures.labels(reason)

    def refused(self, listener: str) -> Callable[[str], None]:
        """
        What counts the connections the listener C{listener} refuses
        (L{finger.net.limits.LimitingFactory.refused}): as refusals, and as
        requests of its front-end refused by that limit.
        """
        frontend = LISTENER_FRONTENDS.get(listener, listener)
        refusals = {reason: self.refusals.labels(listener, reason) for reason in REFUSALS}
        requests = {reason: self.requests.labels(frontend, reason) for reason in REFUSALS}

        def refused(reason: str) -> None:
            refusals[reason].inc()
            requests[reason].inc()

        return refused

    def failedLogin(self, reason: str) -> None:
        """
        Count a failed login (L{finger.auth.login.SetterLogin.failed}).
        """
        self.loginFailures.labels(reason).inc()


class Counting(OutcomeObserver):
    """
    Count the outcome of every request, and time it, by front-end.
    """

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self._frontends: Dict[type, str] = {}
        self._lookups: Dict[Tuple[type, str], Tuple[Any, Any]] = {}

    def _frontend(self, answers: object) -> str:
        kind = type(answers)
        frontend = self._frontends.get(kind)
        if frontend is None:
            frontend = self._frontends[kind] = frontendOf(answers)
        return frontend

    def lookedUp(self, answers: object, outcome: str, seconds: float) -> None:
        key = (type(answers), outcome)
        counted: Optional[Tuple[Any, Any]] = self._lookups.get(key)
        if counted is None:
            frontend = self._frontend(answers)
            metrics = self.metrics
            counted = (
                metrics.requests.labels(frontend, outcome),
                metrics.duration.labels(frontend),
            )
            self._lookups[key] = counted
        counter, histogram = counted
        counter.inc()
        histogram.observe(seconds)

    def changed(self, answers: object, outcome: str, seconds: float) -> None:
        frontend = self._frontend(answers)
        metrics = self.metrics
        metrics.sets.labels(frontend, outcome).inc()
        metrics.requests.labels(frontend, _CHANGE_REQUESTS.get(outcome, outcome)).inc()
        metrics.duration.labels(frontend).observe(seconds)


class Observing(Service):
    """
    While running, every request's outcome is counted: L{Counting} is the
    lookup policy's observer (L{LookupPolicy.observer}).
    """

    def __init__(self, counting: Counting) -> None:
        self.counting = counting

    def startService(self) -> None:
        super().startService()
        LookupPolicy.observer = self.counting

    def stopService(self) -> Any:
        if LookupPolicy.observer is self.counting:
            LookupPolicy.observer = None
        return super().stopService()
