"""
Tests for L{finger.metrics.tally}: requests counted and timed through
the real front-ends, connections refused by the limits, failed logins.
"""

from typing import Any

from twisted.cred import strcred
from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred, fail
from twisted.internet.task import Clock, deferLater
from twisted.internet.testing import StringTransport
from twisted.protocols.basic import LineReceiver
from twisted.internet.protocol import Factory
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from finger.auth.login import SetterLogin
from finger.auth.realm import setterPortal
from finger.backends.memory import MemoryFingerService
from finger.frontends.finger import FingerFactoryFromService
from finger.frontends.setter import FingerSetterFactoryFromService
from finger.interfaces import IOutcomeObserver, StatusNotSaved
from finger.lookup import LOOKUP_TIMEOUT
from finger.net.limits import LimitingFactory
from finger.net.rates import RateLimiter
from finger.testing import FaultyService
from tests.metrics.support import SKIP, sample
from tests.frontends.irc.helpers import BotTestsMixin
from tests.support import connected

PEER = IPv4Address("TCP", "192.0.2.7", 40000)


class _Slow(MemoryFingerService):
    """
    Statuses in memory, each answered C{delay} seconds after it is asked.
    """

    def __init__(self, clock: Clock, delay: float, **users: str) -> None:
        super().__init__(**users)
        self.clock = clock
        self.delay = delay

    def getUser(self, user: str) -> "Deferred[str]":
        answer = super().getUser
        return deferLater(self.clock, self.delay, answer, user)  # type: ignore[arg-type]


class _Unsaving(MemoryFingerService):
    """
    Statuses in memory that cannot be changed.
    """

    def store(self, user: str, status: str) -> "Deferred[None]":
        return fail(StatusNotSaved("the disk is full"))


def _requests(metrics: Any, frontend: str, outcome: str) -> float:
    return sample(metrics, "finger_requests_total", frontend=frontend, outcome=outcome) or 0


class FingerCountingTests(SynchronousTestCase):
    """
    Finger queries, through L{FingerFactoryFromService}, counted by
    outcome and timed.
    """

    skip = SKIP

    def setUp(self) -> None:
        from finger.metrics.tally import Counting, Tally

        self.metrics = Tally()
        self.observer = Counting(self.metrics, "finger")
        self.clock = Clock()

    def query(self, service: Any, line: bytes) -> StringTransport:
        factory = FingerFactoryFromService(service, clock=self.clock, observer=self.observer)
        protocol, transport = connected(factory, PEER)
        protocol.dataReceived(line)
        return transport

    def test_answeredAndUnknown(self) -> None:
        """
        A known user's query counts as answered, an unknown one's as
        unknown, each once, and both are timed.
        """
        service = MemoryFingerService(moshez="happy")
        self.assertEqual(self.query(service, b"moshez\r\n").value(), b"happy\r\n")
        self.query(service, b"nobody\r\n")
        self.query(service, b"moshez\r\n")
        self.assertEqual(_requests(self.metrics, "finger", "answered"), 2)
        self.assertEqual(_requests(self.metrics, "finger", "unknown"), 1)
        self.assertEqual(_requests(self.metrics, "setter", "answered"), 0)
        self.assertEqual(
            sample(
                self.metrics, "finger_request_duration_seconds_count", frontend="finger"
            ),
            3,
        )

    def test_latency(self) -> None:
        """
        A query answered 0.3 seconds after it was asked falls in the
        histogram's bucket of 0.5 seconds, not in the one of 0.25.
        """
        transport = self.query(_Slow(self.clock, 0.3, moshez="happy"), b"moshez\r\n")
        self.assertEqual(transport.value(), b"")
        self.clock.advance(0.3)
        self.assertEqual(transport.value(), b"happy\r\n")
        tally = self.metrics
        name = "finger_request_duration_seconds"
        self.assertAlmostEqual(sample(tally, name + "_sum", frontend="finger"), 0.3)
        self.assertEqual(sample(tally, name + "_bucket", frontend="finger", le="0.25"), 0)
        self.assertEqual(sample(tally, name + "_bucket", frontend="finger", le="0.5"), 1)

    def test_timedOutAndFailed(self) -> None:
        """
        A back-end that does not answer in time counts as timed out; one
        that fails, as failed.
        """
        service = FaultyService(stuck=["slow"], broken=["fire"])
        self.query(service, b"slow\r\n")
        self.clock.advance(LOOKUP_TIMEOUT)
        self.query(service, b"fire\r\n")
        self.flushLoggedErrors(RuntimeError)
        self.assertEqual(_requests(self.metrics, "finger", "timed-out"), 1)
        self.assertEqual(_requests(self.metrics, "finger", "failed"), 1)
        self.assertEqual(_requests(self.metrics, "finger", "answered"), 0)

    def test_cancelled(self) -> None:
        """
        A client that leaves before the back-end answers counts as
        cancelled, not as timed out.
        """
        transport = self.query(FaultyService(stuck=["slow"]), b"slow\r\n")
        transport.loseConnection()
        transport.protocol.connectionLost(None)
        self.clock.advance(LOOKUP_TIMEOUT)
        self.assertEqual(_requests(self.metrics, "finger", "cancelled"), 1)
        self.assertEqual(_requests(self.metrics, "finger", "timed-out"), 0)

    def test_unobserved(self) -> None:
        """
        A factory built without an observer has none, and its queries are
        counted nowhere: another factory's observer hears only its own.
        """
        factory = FingerFactoryFromService(MemoryFingerService(moshez="happy"), clock=self.clock)
        self.assertIsNone(factory.lookup.observer)
        protocol, transport = connected(factory, PEER)
        protocol.dataReceived(b"moshez\r\n")
        self.assertEqual(transport.value(), b"happy\r\n")
        self.assertEqual(_requests(self.metrics, "finger", "answered"), 0)
        self.query(MemoryFingerService(moshez="happy"), b"moshez\r\n")
        self.assertEqual(_requests(self.metrics, "finger", "answered"), 1)


class SetterCountingTests(SynchronousTestCase):
    """
    Status changes through the setter, counted by outcome as sets and as
    requests; failed logins counted by reason.
    """

    skip = SKIP

    def setUp(self) -> None:
        from finger.metrics.tally import Counting, Tally

        self.metrics = Tally()
        self.observer = Counting(self.metrics, "setter")
        self.clock = Clock()
        self.service = MemoryFingerService(moshez="happy")

    def send(self, lines: bytes, login: Any = None) -> StringTransport:
        factory = FingerSetterFactoryFromService(
            self.service, clock=self.clock, login=login, observer=self.observer
        )
        protocol, transport = connected(factory, PEER)
        protocol.dataReceived(lines)
        return transport

    def sets(self, outcome: str) -> float:
        return sample(
            self.metrics, "finger_sets_total", frontend="setter", outcome=outcome
        )

    def test_savedAndNotSaved(self) -> None:
        """
        A status saved counts as saved, and as an answered request; one the
        back-end could not keep counts as not saved, and as a failed
        request.
        """
        self.assertEqual(self.send(b"moshez\nbusy\n").value(), b"OK: status of moshez saved\r\n")
        self.service = _Unsaving()
        self.assertTrue(self.send(b"moshez\nbusy\n").value().startswith(b"Error:"))
        self.assertEqual(self.sets("saved"), 1)
        self.assertEqual(self.sets("not-saved"), 1)
        self.assertEqual(_requests(self.metrics, "setter", "answered"), 1)
        self.assertEqual(_requests(self.metrics, "setter", "failed"), 1)

    def test_loginFailed(self) -> None:
        """
        A wrong password counts as a set whose login failed, and as a
        failed login with the reason C{wrong}.
        """
        checker = strcred.makeChecker("memory:moshez:secret")
        login = SetterLogin(
            setterPortal(self.service, [checker], []),
            self.clock,
            failed=self.metrics.failedLogin,
        )
        transport = self.send(b"moshez\nguess\nhacked\n", login)
        self.clock.advance(10)
        self.assertEqual(transport.value(), b"Error: login failed\r\n")
        self.send(b"shawn moshez\nsecret\nhacked\n", login)
        self.assertEqual(self.sets("login-failed"), 1)
        self.assertEqual(self.sets("not-allowed"), 1)
        self.assertEqual(
            sample(self.metrics, "finger_login_failures_total", reason="wrong"), 1
        )
        self.assertEqual(self.service.users["moshez"], "happy")


class CountingTests(SynchronousTestCase):
    """
    L{Counting} is an L{IOutcomeObserver} built for one front-end, under
    whose name it counts whatever it hears.
    """

    skip = SKIP

    def test_interface(self) -> None:
        from finger.metrics.tally import Counting, Tally

        verifyObject(IOutcomeObserver, Counting(Tally(), "irc"))

    def test_frontend(self) -> None:
        """
        What an observer hears is counted under its own front-end, and
        only there.
        """
        from finger.metrics.tally import Counting, Tally

        tally = Tally()
        Counting(tally, "irc").lookedUp("unknown", 0.002)
        Counting(tally, "pb").changed("login-failed", 0.3)
        self.assertEqual(_requests(tally, "irc", "unknown"), 1)
        self.assertEqual(_requests(tally, "pb", "answered"), 1)
        self.assertEqual(
            sample(tally, "finger_sets_total", frontend="pb", outcome="login-failed"), 1
        )
        self.assertEqual(
            sample(tally, "finger_request_duration_seconds_count", frontend="irc"), 1
        )
        self.assertEqual(_requests(tally, "finger", "unknown"), 0)

    def test_unknownFrontend(self) -> None:
        """
        An observer for a front-end the metrics do not name cannot be
        built: the C{frontend} label keeps its few values.
        """
        from finger.metrics.tally import Counting, Tally

        self.assertRaises(ValueError, Counting, Tally(), "gopher")


class _Held(LineReceiver):
    pass


class RefusalTests(SynchronousTestCase):
    """
    Connections the limits refuse are counted by listener and reason, and
    as requests of the listener's front-end refused by that limit.
    """

    skip = SKIP

    def setUp(self) -> None:
        from finger.metrics.tally import Tally

        self.metrics = Tally()
        self.clock = Clock()

    def limits(self, name: str, **settings: Any) -> LimitingFactory:
        return LimitingFactory(
            Factory.forProtocol(_Held),
            self.clock,
            b"busy\r\n",
            refused=self.metrics.refused(name),
            **settings,
        )

    def refusals(self, listener: str, reason: str) -> float:
        return sample(
            self.metrics, "finger_refusals_total", listener=listener, reason=reason
        )

    def test_maxConnections(self) -> None:
        limits = self.limits("finger", maxConnections=1)
        connected(limits, PEER)
        _, refused = connected(limits, PEER)
        self.assertEqual(refused.value(), b"busy\r\n")
        self.assertEqual(self.refusals("finger", "max-connections"), 1)
        self.assertEqual(_requests(self.metrics, "finger", "max-connections"), 1)

    def test_maxPerAddress(self) -> None:
        limits = self.limits("setter", maxPerAddress=2)
        for _ in range(4):
            connected(limits, PEER)
        self.assertEqual(self.refusals("setter", "max-per-address"), 2)
        self.assertEqual(_requests(self.metrics, "setter", "max-per-address"), 2)

    def test_rateLimit(self) -> None:
        """
        A refusal on the HTTPS listener is a web request's.
        """
        limits = self.limits("https", rateLimiter=RateLimiter(self.clock, 1, 1))
        connected(limits, PEER)
        connected(limits, PEER)
        self.assertEqual(self.refusals("https", "rate-limit"), 1)
        self.assertEqual(_requests(self.metrics, "web", "rate-limit"), 1)
        self.assertEqual(self.refusals("https", "max-connections"), 0)


_XMLRPC = (
    b"<?xml version='1.0'?><methodCall><methodName>getUser</methodName>"
    b"<params><param><value><string>nobody</string></value></param></params></methodCall>"
)


class WebCountingTests(SynchronousTestCase):
    """
    Requests to the web site, through L{WebSite} over a
    L{StringTransport}: pages, WebFinger and XML-RPC told apart.
    """

    skip = SKIP

    def setUp(self) -> None:
        from finger.frontends.web.pages import UserStatusTree
        from finger.frontends.web.site import WebSite

        from finger.metrics.tally import Counting, Tally

        self.metrics = Tally()
        clock = Clock()
        service = MemoryFingerService(moshez="happy")
        from finger.frontends.web.origin import parsePublicURL

        # WebFinger is answered over HTTPS only: here a TLS proxy in front.
        tree = UserStatusTree(
            service,
            clock=clock,
            webfingerHosts=["example.com"],
            publicURL=parsePublicURL("https://example.com/"),
            observer=Counting(self.metrics, "web"),
            xmlrpcObserver=Counting(self.metrics, "xmlrpc"),
            webfingerObserver=Counting(self.metrics, "webfinger"),
        )
        self.site = WebSite(tree, clock=clock, idleTimeout=None)

    def request(self, head: bytes, body: bytes = b"") -> bytes:
        protocol, transport = connected(self.site, PEER)
        if body:
            head += b"\r\nContent-Type: text/xml\r\nContent-Length: %d" % (len(body),)
        protocol.dataReceived(head + b"\r\nHost: example.com\r\n\r\n" + body)
        return transport.value()

    def test_frontends(self) -> None:
        """
        A page found and one not, a WebFinger answer and an XML-RPC lookup
        of nobody are each counted under their own front-end; the JSON view
        counts as the pages do, under C{web}.
        """
        self.assertIn(b" 200 ", self.request(b"GET /moshez HTTP/1.0"))
        self.assertIn(b" 404 ", self.request(b"GET /nobody HTTP/1.0"))
        self.assertIn(
            b" 200 ",
            self.request(
                b"GET /.well-known/webfinger?resource=acct:moshez@example.com HTTP/1.0"
            ),
        )
        self.assertIn(b"No such user", self.request(b"POST /RPC2 HTTP/1.0", _XMLRPC))
        self.assertIn(b" 200 ", self.request(b"GET /api/users/moshez HTTP/1.0"))
        self.assertEqual(_requests(self.metrics, "web", "answered"), 2)
        self.assertEqual(_requests(self.metrics, "web", "unknown"), 1)
        self.assertEqual(_requests(self.metrics, "webfinger", "answered"), 1)
        self.assertEqual(_requests(self.metrics, "xmlrpc", "unknown"), 1)


class IRCCountingTests(BotTestsMixin, SynchronousTestCase):
    """
    Questions to the IRC bot, through L{IRCClientFactoryFromService}
    built with an observer, counted under C{irc}.
    """

    skip = SKIP

    def setUp(self) -> None:
        from finger.metrics.tally import Counting, Tally

        self.metrics = Tally()
        self.settings = {**self.settings, "observer": Counting(self.metrics, "irc")}
        super().setUp()

    def test_answeredAndUnknown(self) -> None:
        self.signOn()
        self.receive(":alice!al@example.org PRIVMSG fingerbot :moshez")
        self.receive(":alice!al@example.org PRIVMSG fingerbot :nobody")
        self.assertEqual(len(self.sent()), 2)
        self.assertEqual(_requests(self.metrics, "irc", "answered"), 1)
        self.assertEqual(_requests(self.metrics, "irc", "unknown"), 1)
        self.assertEqual(
            sample(self.metrics, "finger_request_duration_seconds_count", frontend="irc"), 2
        )


class PBCountingTests(SynchronousTestCase):
    """
    Lookups over PB, through L{PerspectiveFingerFromService} built with an
    observer, counted under C{pb}.
    """

    skip = SKIP

    def test_answeredAndUnknown(self) -> None:
        from finger.frontends.pb import NoSuchUser, PerspectiveFingerFromService
        from finger.metrics.tally import Counting, Tally

        metrics = Tally()
        root = PerspectiveFingerFromService(
            MemoryFingerService(moshez="happy"), clock=Clock(), observer=Counting(metrics, "pb")
        )
        self.assertEqual(self.successResultOf(root.getUser("moshez", "?")), "happy")
        self.failureResultOf(root.getUser("nobody", "?"), NoSuchUser)
        self.assertEqual(_requests(metrics, "pb", "answered"), 1)
        self.assertEqual(_requests(metrics, "pb", "unknown"), 1)
