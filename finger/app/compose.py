# -*- test-case-name: tests.app.test_tap,tests.app.test_workers -*-
"""
L{makeService}: the finger service, built from a L{Config}.  The one place
that sees every front-end and back-end: each child is built here, with the
settings its constructor takes, and named.
"""

import codecs
import importlib
from typing import Any, Callable, List, Optional

from twisted.application.service import IService, MultiService
from twisted.internet.interfaces import IProtocolFactory
from twisted.protocols.tls import TLSMemoryBIOFactory

from finger.app import finger, setter
from finger.app.backend import makeBackend, makeForwarder
from finger.app.config import Config
from finger.app.irc import makeBot
from finger.app.listening import Listener, Port, listeningService
from finger.app.web import portNumber
from finger.app.login import makeLogin
from finger.app.metrics import ProcessMetrics, WorkersMetrics
from finger.app.notify import backendStatus, makeNotifier, workersStatus
from finger.app.workers import (
    UNSERVED,
    HandOverListener,
    WorkerSupervisor,
    workerEnvironment,
)
from finger.frontends.finger import FingerFactoryFromService
from finger.frontends.pb import FingerPBServerFactory, PerspectiveFingerFromService
from finger.frontends.setter import FingerSetterFactoryFromService
from finger.frontends.web.events import EventStreams
from finger.frontends.web.pages import UserStatusTree
from finger.frontends.web.site import WebSite, busyResponse
from finger.frontends.web.elements import FINGER_PORT
from finger.interfaces import (
    IFingerService,
    IFingerSetterService,
    IOutcomeObserver,
    IStatusChanges,
)
from finger.listing import Listing

MakeListener = Callable[[Any, Listener], IService]
"""
What makes the service of a L{Listener}: L{listeningService} in a single
process, or in a worker of C{--workers} one that adopts the main process's
socket (L{finger.app.worker}).
"""

_CODECS = ("utf-8", "latin-1", "ascii", "idna")
# What the request paths of the front-ends import on first use, found by
# serving one request of each kind in a fresh process and listing the modules
# that appeared (tests/app/test_preload.py does it again on every run):
# email.policy (with email.headerregistry, email.contentmanager and
# email._header_value_parser), which email.message.EmailMessage imports when
# twisted.web parses the Content-Type of a request with a body (an XML-RPC
# POST); idna by hostname checks.
_LAZY_MODULES = ("idna", "email.policy")


def preload() -> None:
    """
    Load now what the service would otherwise load on first use.

    twistd (C{--uid}) and C{finger.tac} drop privileges after binding; from
    then on the process may not be able to read its own Python installation
    (a virtualenv under C{/root} is common), and a codec or module imported
    lazily would fail in the middle of a request: the first XML-RPC call
    failed so.  C{tests/app/test_preload.py} serves a request of every kind
    (finger, setter, web page, JSON, XML-RPC, PB) in a fresh process and
    checks that none imports a module after this.
    """
    for name in _CODECS:
        codecs.lookup(name)
    for module in _LAZY_MODULES:
        try:
            importlib.import_module(module)
        except ImportError:
            pass


def makeService(
    config: Config,
    reactor: Any,
    backend: Optional[IService] = None,
    listen: MakeListener = listeningService,
) -> MultiService:
    """
    Build the finger service: the back-end and every listener, under one
    L{MultiService}.  The setter runs only with a back-end that can set
    statuses.  With C{--workers}, build the main process instead
    (L{makeMainOfWorkers}).

    @param config: what to build.
    @param reactor: the reactor to listen, connect and keep time with.
    @param backend: the back-end to serve; the one C{config} chose if
        L{None}.
    @param listen: what makes the service of each listener.
    """
    preload()
    if config.workers is not None:
        return makeMainOfWorkers(config, reactor, backend)
    top = MultiService()
    if backend is None:
        backend = makeBackend(config.backend, reactor)
    backend.setName("backend")
    backend.setServiceParent(top)
    # With --metrics, each front-end's requests, the limits and the login
    # count into the metrics.
    metrics = None
    if config.metrics is not None:
        metrics = ProcessMetrics(config.metrics, reactor, database=config.backend.kind == "sql")

    def observer(frontend: str) -> Optional[IOutcomeObserver]:
        # What counts the outcomes of the front-end's requests, by its name
        # in the metrics; nothing without --metrics.
        return metrics.observer(frontend) if metrics is not None else None

    limits = config.limits
    login = makeLogin(
        config.login,
        backend,
        reactor,
        limits.clientKey,
        failed=metrics.failedLogin if metrics is not None else None,
    )
    # One user listing for the back-end: an empty finger query and the web
    # front page show it, and it is built once per change for both.
    listing = Listing(IFingerService(backend), reactor)

    def serve(
        name: str, port: Port, factory: IProtocolFactory, refusal: bytes, rate: float = 0
    ) -> None:
        # Every listener is held to the limits; a connection over them is
        # told the refusal, and a client over its rate (if any) waits.
        refused = metrics.refused(name) if metrics is not None else None
        limited = limits.limit(
            factory, reactor, refusal, limits.rateLimiter(rate, reactor), refused=refused
        )
        if metrics is not None:
            metrics.watch(name, limited)
        for serviceName, listener in port.listeners(name, limited):
            child = listen(reactor, listener)
            child.setName(serviceName)
            child.setServiceParent(top)

    fingerFactory = FingerFactoryFromService(
        IFingerService(backend),
        clock=reactor,
        timeout=config.finger.timeout,
        listUsers=config.finger.listUsers,
        forwarder=makeForwarder(config.backend, reactor),
        accessLog=config.finger.accessLog,
        listing=listing,
        observer=observer("finger"),
    )
    serve("finger", config.finger.port, fingerFactory, finger.REFUSAL, limits.fingerRate)

    if config.setter is not None and IFingerSetterService.providedBy(backend):
        setterFactory = FingerSetterFactoryFromService(
            IFingerSetterService(backend),
            clock=reactor,
            timeout=config.setter.timeout,
            login=login,
            observer=observer("setter"),
        )
        serve("setter", config.setter.port, setterFactory, setter.REFUSAL)

    web = config.web
    pages = UserStatusTree(
        IFingerService(backend),
        templates=web.templates,
        clock=reactor,
        login=login,
        listUsers=web.listUsers,
        webfingerHosts=web.webfingerHosts,
        listing=listing,
        publicURL=web.publicURL,
        trustedProxies=web.trustedProxies,
        # A port the description does not name (systemd:) is taken to be
        # HTTPS's own.
        httpsPort=None if web.https is None else portNumber(web.https.port) or 443,
        fingerPort=portNumber(config.finger.port) or FINGER_PORT,
        events=makeEvents(config, backend, reactor),
        observer=observer("web"),
        xmlrpcObserver=observer("xmlrpc"),
        webfingerObserver=observer("webfinger"),
    )
    # The limits own idle and lifetime timing (finger.net.limits); the site
    # only times each request, and keeps its clients to one rate, over HTTP
    # and HTTPS together.
    site = WebSite(
        pages,
        clock=reactor,
        requestTimeout=web.requestTimeout,
        idleTimeout=None,
        rateLimiter=limits.rateLimiter(web.rate, reactor),
    )
    serve("web", web.port, site, busyResponse())
    if web.https is not None:
        https = TLSMemoryBIOFactory(web.https.tlsOptions, False, site, clock=reactor)
        serve("https", web.https.port, https, b"")

    if config.pb is not None:
        perspective = PerspectiveFingerFromService(
            IFingerService(backend), clock=reactor, login=login, observer=observer("pb")
        )
        serve("pb", config.pb.port, FingerPBServerFactory(perspective, clock=reactor), b"")

    if config.irc.server is not None:
        bot = makeBot(config.irc, IFingerService(backend), reactor, observer=observer("irc"))
        bot.setName("irc")
        bot.setServiceParent(top)

    if metrics is not None:
        metrics.addTo(top, backend, listen)

    if config.notify is not None:
        # Last: it starts once every listener has tried to listen, and
        # says STOPPING=1 before anything stops.  It waits for every child
        # that can say it is not ready (IReadiness): the back-end and each
        # listener.
        notifier = makeNotifier(config.notify, reactor, list(top), backendStatus(backend))
        notifier.setName("notify")
        notifier.setServiceParent(top)
    return top


def makeEvents(config: Config, backend: object, reactor: Any) -> Optional[EventStreams]:
    """
    The stream of status changes at C{/api/events}, for a back-end that
    can change (L{IStatusChanges}) and a site that lists its users; else
    L{None}: with C{--no-listing} no change is ever told.  The heartbeat
    comes at least twice within C{--idle-timeout}.
    """
    changes = IStatusChanges(backend, None)
    if changes is None or not config.web.listUsers:
        return None
    settings, limits = config.web.events, config.limits
    return EventStreams(
        changes,
        reactor,
        heartbeat=min(settings.heartbeat, limits.idleTimeout / 2),
        maxStreams=settings.maxStreams,
        maxPerClient=settings.maxPerClient,
        clientKey=limits.clientKey,
        limitLoopback=limits.limitLoopback,
    )


def makeMainOfWorkers(
    config: Config, reactor: Any, backend: Optional[IService] = None
) -> MultiService:
    """
    Build the main process of C{--workers}: it listens on every port, hands
    the sockets to the workers it supervises and serves nothing on them
    itself, so it builds no front-end; it runs the IRC bot, and the
    back-end only for the bot.  Each worker (L{finger.app.worker}) builds
    its own back-end and front-ends from the same command line.

    @param config: what to build, with C{config.workers}.
    @param reactor: the reactor to listen, connect, spawn and keep time with.
    @param backend: the bot's back-end; the one C{config} chose if L{None}.
    """
    assert config.workers is not None
    top = MultiService()
    handedOver: List[HandOverListener] = []

    def handOver(name: str, port: Port) -> None:
        for serviceName, listener in port.listeners(name, UNSERVED):
            child = HandOverListener(reactor, listener)
            child.setName(serviceName)
            child.setServiceParent(top)
            handedOver.append(child)

    handOver("finger", config.finger.port)
    if config.setter is not None:
        handOver("setter", config.setter.port)
    handOver("web", config.web.port)
    if config.web.https is not None:
        handOver("https", config.web.https.port)
    if config.pb is not None:
        handOver("pb", config.pb.port)

    # With --metrics, the workers count into files this process sums, with
    # the bot's counts.
    metrics = WorkersMetrics(config.metrics, reactor) if config.metrics is not None else None

    if config.irc.server is not None:
        if backend is None:
            backend = makeBackend(config.backend, reactor)
        backend.setName("backend")
        backend.setServiceParent(top)
        bot = makeBot(
            config.irc,
            IFingerService(backend),
            reactor,
            observer=metrics.observer("irc") if metrics is not None else None,
        )
        bot.setName("irc")
        bot.setServiceParent(top)
    # Last: the listeners listen before it starts the workers.
    supervisor = WorkerSupervisor(
        reactor,
        config.workers.count,
        config.workers.arguments,
        handedOver,
        environment=workerEnvironment(**metrics.environment) if metrics is not None else None,
        died=metrics.died if metrics is not None else (lambda pid, restarting: None),
    )
    if metrics is not None:
        metrics.addTo(top, supervisor, listeningService)
    supervisor.setName("workers")
    supervisor.setServiceParent(top)

    if config.notify is not None:
        # READY=1 once every listener listens and every worker has said it
        # serves (NotifyAccess=main: see finger.app.notify).
        notifier = makeNotifier(config.notify, reactor, list(top), workersStatus(supervisor))
        notifier.setName("notify")
        notifier.setServiceParent(top)
    return top
