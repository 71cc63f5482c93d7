"""
Tests for L{finger.metrics.pages}: C{/metrics}, C{/healthz} and
C{/readyz}, asked over HTTP through a L{StringTransport}.
"""

import subprocess
import sys
from typing import Any, List, Optional, Tuple

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from tests.metrics.support import SKIP, samples
from tests.support import CHECKOUT, cleanEnvironment, connected


def get(site: Any, path: bytes) -> Tuple[int, bytes, bytes]:
    """
    Ask C{site} for C{path} over HTTP/1.0: the status code, the headers
    and the body of the answer.
    """
    protocol, transport = connected(site)
    protocol.dataReceived(b"GET " + path + b" HTTP/1.0\r\nHost: localhost\r\n\r\n")
    head, _, body = transport.value().partition(b"\r\n\r\n")
    status, _, headers = head.partition(b"\r\n")
    return int(status.split()[1]), headers.lower(), body


class PagesTests(SynchronousTestCase):
    skip = SKIP

    def setUp(self) -> None:
        from finger.metrics.pages import operationsSite
        from finger.metrics.tally import Tally
        from tests.metrics.support import registry

        self.metrics = Tally()
        self.why: Optional[str] = None
        self.sampled: List[int] = []
        self.site = operationsSite(
            registry(self.metrics),
            lambda: self.why,
            Clock(),
            before=lambda: self.sampled.append(1),
        )

    def test_metrics(self) -> None:
        """
        C{/metrics} is the registry in the text format, which
        C{prometheus_client.parser} reads back, after the gauges are read.
        """
        self.metrics.refused("finger")("rate-limit")
        self.metrics.failedLogin("wrong")
        code, headers, body = get(self.site, b"/metrics")
        self.assertEqual(code, 200)
        self.assertIn(b"content-type: text/plain; version=", headers)
        self.assertEqual(self.sampled, [1])
        values = samples(body.decode("utf-8"))
        key = ("finger_refusals_total", (("listener", "finger"), ("reason", "rate-limit")))
        self.assertEqual(values[key], 1)
        self.assertEqual(values[("finger_login_failures_total", (("reason", "wrong"),))], 1)
        self.assertEqual(
            values[("finger_requests_total", (("frontend", "finger"), ("outcome", "rate-limit")))],
            1,
        )
        # No _created series.
        self.assertNotIn(b"_created", body)

    def test_healthz(self) -> None:
        self.assertEqual(get(self.site, b"/healthz")[::2], (200, b"ok\n"))

    def test_readyz(self) -> None:
        """
        C{/readyz} is 200 when nothing says the service is not ready, and
        503 with the reason, on one line, when something does.
        """
        self.assertEqual(get(self.site, b"/readyz")[::2], (200, b"ready\n"))
        self.why = "the database is not reachable:\nconnection refused"
        code, headers, body = get(self.site, b"/readyz")
        self.assertEqual(code, 503)
        self.assertIn(b"cache-control: no-store", headers)
        self.assertEqual(
            body, b"not ready: the database is not reachable: connection refused\n"
        )

    def test_elsewhere(self) -> None:
        """
        Any other path is a 404.
        """
        self.assertEqual(get(self.site, b"/")[0], 404)
        self.assertEqual(get(self.site, b"/metrics/more")[0], 404)


_SCRAPE = """
import sys
from twisted.internet.task import Clock
from finger.metrics.exposition import TallyCollector, prometheus, registryOf
from finger.metrics.pages import operationsSite
from finger.metrics.tally import Tally
from tests.metrics.test_pages import get

prometheus()
tally = Tally()
site = operationsSite(
    registryOf(TallyCollector(lambda: [(tally.snapshot(), True)])), lambda: None, Clock()
)
before = set(sys.modules)
assert get(site, b"/metrics")[0] == 200
print(sorted(set(sys.modules) - before))
"""


class PreloadTests(SynchronousTestCase):
    skip = SKIP

    def test_nothingImportedOnScrape(self) -> None:
        """
        Once C{--metrics} is read (which imports C{prometheus_client}), a
        scrape imports no module: twistd may have dropped the privileges
        to read the installation by then.  In a fresh process, so that no
        other test imported it first.
        """
        result = subprocess.run(
            [sys.executable, "-c", _SCRAPE],
            capture_output=True,
            text=True,
            cwd=CHECKOUT,
            env=cleanEnvironment(PYTHONPATH=CHECKOUT),
            timeout=60,
        )
        self.assertEqual((result.stdout, result.returncode), ("[]\n", 0), result.stderr)
