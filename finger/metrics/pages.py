# -*- test-case-name: tests.metrics.test_pages -*-
"""
The resources of the C{--metrics} listener (L{operationsSite}):

    - C{/metrics}: every metric in the Prometheus text format;
    - C{/healthz}: C{200 ok} whenever the process and its reactor answer,
      for a load balancer's or Kubernetes' liveness probe;
    - C{/readyz}: C{200 ready} when the back-end can answer (its statuses
      loaded and, for a database, the database reachable), else C{503}
      with one line saying why not, for a readiness probe.

Each is answered at once, from the reactor: a process whose reactor is
stuck answers none of them, which is what a liveness probe must notice.
"""

from typing import Callable, Optional

from twisted.internet.interfaces import IReactorTime
from twisted.web.resource import Resource
from twisted.web.server import Request, Site

from finger.metrics.exposition import prometheus

NotReady = Callable[[], Optional[str]]
"""
Says why the service cannot answer, or L{None} when it can.
"""

TEXT = b"text/plain; charset=utf-8"


class MetricsPage(Resource):
    """
    C{/metrics}: what C{collect} gathers, in the text format.
    """

    def __init__(self, registry: object, before: Callable[[], None] = lambda: None) -> None:
        """
        @param registry: a C{prometheus_client} registry, or anything with
            its C{collect} method.
        @param before: called before each page, to read the gauges.
        """
        super().__init__()
        client = prometheus()
        self.generate = client.generate_latest
        self.contentType = client.CONTENT_TYPE_LATEST.encode("ascii")
        self.registry = registry
        self.before = before

    def render_GET(self, request: Request) -> bytes:
        self.before()
        request.setHeader(b"content-type", self.contentType)
        return self.generate(self.registry)  # type: ignore[no-any-return]


class Health(Resource):
    """
    C{/healthz}: the reactor answers.
    """

    def render_GET(self, request: Request) -> bytes:
        request.setHeader(b"content-type", TEXT)
        return b"ok\n"


class Readiness(Resource):
    """
    C{/readyz}: C{200} when the service can answer, else C{503} and why.
    """

    def __init__(self, notReady: NotReady) -> None:
        super().__init__()
        self.notReady = notReady

    def render_GET(self, request: Request) -> bytes:
        request.setHeader(b"content-type", TEXT)
        request.setHeader(b"cache-control", b"no-store")
        why = self.notReady()
        if why is None:
            return b"ready\n"
        request.setResponseCode(503)
        line = " ".join(why.split()) or "not ready"
        return f"not ready: {line}\n".encode("utf-8", "replace")


def operationsSite(
    registry: object,
    notReady: NotReady,
    clock: IReactorTime,
    before: Callable[[], None] = lambda: None,
) -> Site:
    """
    The site of the C{--metrics} listener: C{/metrics}, C{/healthz} and
    C{/readyz}; anything else is a C{404}.

    @param registry: what C{/metrics} shows (see L{MetricsPage}).
    @param notReady: what C{/readyz} asks.
    @param clock: the reactor the site keeps time with.
    @param before: called before each C{/metrics} page.
    """
    root = Resource()
    root.putChild(b"metrics", MetricsPage(registry, before))
    root.putChild(b"healthz", Health())
    root.putChild(b"readyz", Readiness(notReady))
    site = _Site(root, timeout=60, reactor=clock)
    site.displayTracebacks = False
    return site


class _Site(Site):
    """
    A site that logs no request: a scrape every few seconds is not news.
    """

    noisy = False

    def log(self, request: object) -> None:
        pass
