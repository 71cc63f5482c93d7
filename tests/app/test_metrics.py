"""
Tests for C{--metrics} (L{finger.app.metrics}): its option, and the whole
service on loopback scraped before and after a known mix of requests, in
one process and with C{--workers}.
"""

import os
import signal
import sys
from typing import Any, Dict, List, Tuple

from twisted.internet import reactor
from twisted.internet.defer import Deferred, DeferredList
from twisted.internet.task import deferLater
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Protocol
from twisted.internet.testing import MemoryReactorClock
from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.client import Agent, readBody
from zope.interface.verify import verifyObject

from finger.app.compose import makeService
from finger.clients.pb import setStatus
from finger.frontends.web.webfinger import WEBFINGER, WELL_KNOWN
from finger.interfaces import IOutcomeObserver
from finger.lookup import LookupPolicy
from tests.app.test_workers import Pool, _alive, _query
from tests.metrics.support import SKIP, samples
from tests.running import LOOPBACK, parseFinger, startFinger
from tests.support import connected, exchange, freePort, listeningPort, waitFor

Samples = Dict[Any, float]


async def scrape(port: int, path: bytes = b"/metrics") -> Tuple[int, bytes]:
    """
    GET C{path} from the metrics listener on C{port}: the code and body.
    """
    agent = Agent(reactor)
    response = await agent.request(b"GET", b"http://127.0.0.1:%d%s" % (port, path))
    return response.code, await readBody(response)


async def metrics(port: int) -> Samples:
    code, body = await scrape(port)
    assert code == 200, (code, body)
    return samples(body.decode("utf-8"))


async def settled(port: int, name: Any) -> float:
    """
    The value of the sample C{name} once two scrapes 1.5 seconds apart
    (longer than a worker takes to write its counts) agree.
    """
    last = None
    while True:
        value = (await metrics(port)).get(name, 0.0)
        if value == last:
            return value
        last = value
        await deferLater(reactor, 1.5, lambda: None)


def key(name: str, **labels: str) -> Any:
    return (name, tuple(sorted(labels.items())))


def moved(before: Samples, after: Samples, prefix: str) -> Dict[Any, float]:
    """
    The samples whose name starts with C{prefix} that changed, and by how
    much.
    """
    return {
        k: after[k] - before.get(k, 0.0)
        for k in after
        if k[0].startswith(prefix) and after[k] != before.get(k, 0.0)
    }


class OptionTests(SynchronousTestCase):
    skip = SKIP

    def test_off(self) -> None:
        """
        Without C{--metrics} there are none.
        """
        self.assertIsNone(parseFinger(self).config.metrics)

    def test_barePort(self) -> None:
        """
        A bare port listens on loopback only, IPv4 and IPv6.
        """
        port = parseFinger(self, "--metrics", "9179").config.metrics.port  # type: ignore[union-attr]
        self.assertEqual(port.description, "tcp:9179:interface=127.0.0.1")
        self.assertEqual(port.ipv6, "tcp6:9179:interface=\\:\\:1")

    def test_description(self) -> None:
        port = parseFinger(self, "--metrics", "tcp:9179").config.metrics.port  # type: ignore[union-attr]
        self.assertEqual((port.description, port.ipv6), ("tcp:9179", None))

    def test_wrong(self) -> None:
        with self.assertRaises(usage.UsageError) as raised:
            parseFinger(self, "--metrics", "nonsense:1")
        self.assertIn("--metrics", str(raised.exception))

    def test_missingLibrary(self) -> None:
        """
        Without C{prometheus_client}, C{--metrics} is one clear error that
        says how to install it.
        """
        installed = sys.modules["prometheus_client"]
        self.addCleanup(sys.modules.__setitem__, "prometheus_client", installed)
        # Importing it now raises ImportError.
        sys.modules["prometheus_client"] = None  # type: ignore[assignment]
        with self.assertRaises(usage.UsageError) as raised:
            parseFinger(self, "--metrics", "9179")
        self.assertEqual(
            str(raised.exception),
            "--metrics needs prometheus_client: pip install 'finger[metrics]'",
        )


def _environment(pid: int) -> Dict[str, str]:
    with open(f"/proc/{pid}/environ", "rb") as f:
        entries = f.read().split(b"\0")
    return dict(e.decode("utf-8", "replace").partition("=")[::2] for e in entries if e)


class _Held(Protocol):
    """
    A connection that sends nothing, and notes what it is told.
    """

    def __init__(self) -> None:
        self.received = b""

    def dataReceived(self, data: bytes) -> None:
        self.received += data


class ObserverTests(SynchronousTestCase):
    """
    L{makeService} builds every front-end with what counts its requests,
    bound to its own name in the metrics; without C{--metrics}, with
    nothing.
    """

    skip = SKIP

    def build(self, *args: str) -> Tuple[Any, List[Tuple[str, LookupPolicy]]]:
        """
        The service of C{args}, with the bot, and the lookup policy of each
        of its front-ends, by the name the metrics give it.
        """
        options = parseFinger(self, "--ircserver", "irc.example.org", *args)
        top = makeService(options.config, MemoryReactorClock())

        def factory(name: str) -> Any:
            return top.getServiceNamed(name).factory.wrappedFactory

        tree = factory("web").resource
        return top, [
            ("finger", factory("finger").lookup),
            ("setter", factory("setter").lookup),
            ("web", tree.policy),
            ("web", tree.children[b"api"].children[b"users"].policy),
            ("xmlrpc", tree.children[b"RPC2"].policy),
            ("webfinger", tree.children[WELL_KNOWN].children[WEBFINGER].policy),
            ("pb", factory("pb").root.lookup),
            ("irc", top.getServiceNamed("irc").factory.policy),
        ]

    def test_everyFrontend(self) -> None:
        """
        Each front-end's observer counts under the front-end's own name,
        into the counts the metrics listener serves; together they are
        every front-end the metrics name.
        """
        from finger.metrics.tally import FRONTENDS

        top, policies = self.build("--metrics", LOOPBACK)
        self.assertEqual({name for name, _ in policies}, set(FRONTENDS))
        for name, policy in policies:
            observer = policy.observer
            self.assertTrue(verifyObject(IOutcomeObserver, observer))
            self.assertEqual(observer.frontend, name)  # type: ignore[union-attr]
            observer.lookedUp("answered", 0.001)  # type: ignore[union-attr]
        protocol, transport = connected(top.getServiceNamed("metrics").factory)
        protocol.dataReceived(b"GET /metrics HTTP/1.0\r\n\r\n")
        head, _, body = transport.value().partition(b"\r\n\r\n")
        self.assertIn(b" 200 ", head)
        counted = samples(body.decode("utf-8"))
        answered = {
            frontend: key("finger_requests_total", frontend=frontend, outcome="answered")
            for frontend in FRONTENDS
        }
        self.assertEqual(
            {frontend: counted[answered[frontend]] for frontend in FRONTENDS},
            {frontend: 2 if frontend == "web" else 1 for frontend in FRONTENDS},
        )

    def test_botOfWorkers(self) -> None:
        """
        With C{--workers}, the IRC bot runs in the main process: its
        questions are counted there, under C{irc}, and served with the
        workers' counts.
        """
        options = parseFinger(
            self, "--workers", "2", "--ircserver", "irc.example.org", "--metrics", LOOPBACK
        )
        top = makeService(options.config, MemoryReactorClock())
        observer = top.getServiceNamed("irc").factory.policy.observer
        self.assertEqual(observer.frontend, "irc")
        observer.lookedUp("unknown", 0.001)
        protocol, transport = connected(top.getServiceNamed("metrics").factory)
        protocol.dataReceived(b"GET /metrics HTTP/1.0\r\n\r\n")
        counted = samples(transport.value().partition(b"\r\n\r\n")[2].decode("utf-8"))
        self.assertEqual(
            counted[key("finger_requests_total", frontend="irc", outcome="unknown")], 1
        )
        self.assertEqual(
            counted[key("finger_requests_total", frontend="finger", outcome="unknown")], 0
        )

    def test_off(self) -> None:
        """
        Without C{--metrics}, no front-end has an observer.
        """
        _, policies = self.build()
        self.assertEqual(
            [(name, p.observer) for name, p in policies],
            [(name, None) for name, _ in policies],
        )


class ServiceTests(TestCase):
    """
    The real service, in this process, on loopback.
    """

    skip = SKIP
    timeout = 60
    maxDiff = None

    def start(self, *args: str) -> Tuple[Any, int]:
        top = startFinger(self, "--metrics", LOOPBACK, *args)
        return top, listeningPort(top, "metrics")

    async def test_mix(self) -> None:
        """
        Scraped before and after a known mix of finger queries, unknown
        users, connections refused over C{--max-per-address}, web pages,
        sets and failed logins over PB, each counter moved by exactly as
        much, and no other.
        """
        top, port = self.start(
            "--auth",
            "memory:moshez:secret",
            "--max-per-address",
            "2",
            "--rate-limit-loopback",
            "--finger-rate",
            "0",
        )
        finger = f"tcp:127.0.0.1:{listeningPort(top, 'finger')}"
        pb = f"tcp:host=127.0.0.1:port={listeningPort(top, 'pb')}"
        web = listeningPort(top, "web")
        before = await metrics(port)

        for _ in range(5):
            self.assertEqual(await exchange(reactor, finger, b"moshez\r\n"), b"happy and well\r\n")
        for _ in range(3):
            self.assertEqual(await exchange(reactor, finger, b"nobody\r\n"), b"No such user\r\n")
        held: List[_Held] = []
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", listeningPort(top, "finger"))
        for _ in range(5):
            protocol = await connectProtocol(endpoint, _Held())
            self.addCleanup(protocol.transport.abortConnection)
            held.append(protocol)
        await waitFor(
            reactor, lambda: all(p.received for p in held[2:]), "the refusals", timeout=10
        )
        self.assertEqual([p.received for p in held[:2]], [b"", b""])
        # Reset, not closed: a finger client that closes has sent an empty
        # query, which is answered with the listing.
        for protocol in held:
            protocol.transport.abortConnection()
        agent = Agent(reactor)
        response = await agent.request(b"GET", b"http://127.0.0.1:%d/moshez" % (web,))
        await readBody(response)
        self.assertEqual(response.code, 200)
        await setStatus(reactor, pb, "moshez", "busy", "moshez", "secret", 10)
        with self.assertRaises(Exception):
            await setStatus(reactor, pb, "moshez", "hacked", "moshez", "guess", 10)

        after = await metrics(port)
        self.assertEqual(
            moved(before, after, "finger_requests_total"),
            {
                key("finger_requests_total", frontend="finger", outcome="answered"): 5,
                key("finger_requests_total", frontend="finger", outcome="unknown"): 3,
                key("finger_requests_total", frontend="finger", outcome="max-per-address"): 3,
                key("finger_requests_total", frontend="web", outcome="answered"): 1,
                key("finger_requests_total", frontend="pb", outcome="answered"): 1,
            },
        )
        self.assertEqual(
            moved(before, after, "finger_refusals_total"),
            {key("finger_refusals_total", listener="finger", reason="max-per-address"): 3},
        )
        self.assertEqual(
            moved(before, after, "finger_sets_total"),
            {key("finger_sets_total", frontend="pb", outcome="saved"): 1},
        )
        self.assertEqual(
            moved(before, after, "finger_login_failures_total"),
            {key("finger_login_failures_total", reason="wrong"): 1},
        )
        durations = moved(before, after, "finger_request_duration_seconds_count")
        self.assertEqual(
            durations,
            {
                key("finger_request_duration_seconds_count", frontend="finger"): 8,
                key("finger_request_duration_seconds_count", frontend="web"): 1,
                key("finger_request_duration_seconds_count", frontend="pb"): 1,
            },
        )
        self.assertEqual(after[key("finger_backend_users")], 2)
        self.assertEqual(after[key("finger_backend_ready")], 1)
        self.assertNotIn(key("finger_database_reachable"), after)

    async def test_probes(self) -> None:
        """
        C{/healthz} and C{/readyz} answer 200 on the metrics listener of a
        service whose back-end is loaded.
        """
        top, port = self.start()
        self.assertEqual(await scrape(port, b"/healthz"), (200, b"ok\n"))
        self.assertEqual(await scrape(port, b"/readyz"), (200, b"ready\n"))


class WorkersTests(TestCase):
    """
    C{--workers 2}: the main process serves the counts of both.
    """

    skip = SKIP
    timeout = 180

    async def test_everyQueryCounted(self) -> None:
        """
        400 queries, whichever worker answered each, count as 400; a
        worker killed and restarted takes none of the counts with it, and
        its restart is counted.
        """
        port = freePort()
        pool = Pool(self, 2, "--metrics", f"tcp:{port}:interface=127.0.0.1")
        await pool.ready(2)

        async def ready() -> bool:
            return (await scrape(port, b"/readyz"))[0] == 200

        await waitFor(reactor, ready, "/readyz")
        answered = key("finger_requests_total", frontend="finger", outcome="answered")
        # Each worker writes its counts once a second: wait for them to
        # settle after the queries that found the workers ready.
        before = await settled(port, answered)

        async def query() -> None:
            _, answer = await _query(pool.fingerport, b"moshez\r\n")
            self.assertEqual(answer, b"happy\r\n")

        for _ in range(40):
            await DeferredList(
                [Deferred.fromCoroutine(query()) for _ in range(10)], fireOnOneErrback=True
            )
        self.assertEqual(await settled(port, answered) - before, 400)
        after = await metrics(port)
        self.assertEqual(after[key("finger_worker_restarts_total")], 0)
        self.assertEqual(after[key("finger_backend_users")], 1)

        victim = sorted(pool.workers())[0]
        os.kill(victim, signal.SIGKILL)
        await waitFor(reactor, lambda: len(pool.workers()) == 3, "a new worker", timeout=30)
        later = await metrics(port)
        # The dead worker's counts stay, none is counted twice.
        self.assertEqual(later[answered], after[answered])
        self.assertEqual(later[key("finger_worker_restarts_total")], 1)

        # The workers' directory goes when the service stops.
        live = [pid for pid in pool.workers() if _alive(pid)]
        directory = _environment(live[0])["FINGER_METRICS_DIRECTORY"]
        self.assertTrue(os.path.isdir(directory))
        pool.process.terminate()
        await waitFor(reactor, lambda: pool.process.poll() is not None, "the end", timeout=60)
        self.assertFalse(os.path.exists(directory))


class PostgreSQLReadinessTests(TestCase):
    """
    C{/readyz} under C{--backend=sql}, on a real PostgreSQL that the test
    stops and starts again.
    """

    skip = SKIP
    timeout = 120

    def setUp(self) -> None:
        from tests import postgres

        self.cluster = postgres.clusterFor(self)

    async def test_databaseStopped(self) -> None:
        """
        C{/readyz} turns 503, saying why, within 5 seconds of the database
        stopping, and 200 again within 15 seconds of its start; so does
        C{finger_database_reachable}.
        """
        top = startFinger(
            self, "--backend", "sql", "--database", self.cluster.url, "--metrics", LOOPBACK
        )
        port = listeningPort(top, "metrics")
        reachable = key("finger_database_reachable")

        async def ready(code: int) -> bool:
            return (await scrape(port, b"/readyz"))[0] == code

        await waitFor(reactor, lambda: ready(200), "/readyz 200", timeout=15)
        self.assertEqual((await metrics(port))[reachable], 1)
        self.cluster.stop()
        await waitFor(reactor, lambda: ready(503), "/readyz 503", timeout=5)
        code, body = await scrape(port, b"/readyz")
        self.assertTrue(body.startswith(b"not ready: "), body)
        self.assertEqual(body.count(b"\n"), 1)
        self.assertEqual((await metrics(port))[reachable], 0)
        self.cluster.start()
        await waitFor(reactor, lambda: ready(200), "/readyz 200 again", timeout=15)
        self.assertEqual((await metrics(port))[reachable], 1)
