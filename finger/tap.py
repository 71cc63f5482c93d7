# -*- test-case-name: tests.test_tap -*-
"""
C{twistd finger}: the command-line options and L{makeService}, the one place
that knows every front-end.
"""

import codecs
import importlib
import os
from typing import Any, Optional, cast

from twisted.application import service
from twisted.internet.endpoints import serverFromString
from twisted.python import usage

from finger.client import parseHostPort
from finger.fingerd import FingerFactoryFromService
from finger.interfaces import IFingerFactory, IFingerSetterFactory, IFingerSetterService
from finger.listen import ListeningService, portDescription
from finger.localcommand import (
    SEARCH_PATH,
    CommandFingerService,
    CommandNotFound,
    findProgram,
)
from finger.localusers import UID_FLOOR, LocalFingerService
from finger.proxy import FingerForwarder, ProxyFingerService, parseAllowList
from finger.service import FingerService
from finger.setter import FingerSetterFactoryFromService
from finger.statusfile import StatusFileError
from finger.webstatus import WebFingerService, checkPrefix


# --- Back-ends and forwarding (issue 5) -------------------------------------
# Everything that chooses and configures the back-end, and forwarding, is in
# this block; Options and makeService call into it.

BACKENDS = ("file", "local", "command", "web", "proxy")

_backendParameters = [
    [
        "backend",
        None,
        "file",
        "Where statuses come from: file (the --file status file), local "
        "(system accounts and ~/.plan), command (the system's finger "
        "program), web (--web-prefix), or proxy (another finger server, "
        "--proxy-to).",
    ],
    [
        "uid-floor",
        None,
        str(UID_FLOOR),
        "local: the lowest uid answered; system accounts below it are "
        "neither listed nor answered.",
    ],
    [
        "command",
        None,
        "finger",
        f"command: the finger program, a path or a name on {SEARCH_PATH}.",
    ],
    [
        "web-prefix",
        None,
        None,
        "web: the URL a user's name is appended to, such as "
        "https://example.com/~ (required with --backend=web).",
    ],
    [
        "proxy-to",
        None,
        None,
        "proxy: the finger server to ask, host[:port] (required with "
        "--backend=proxy).",
    ],
    [
        "forward-allow",
        None,
        "",
        "Forward user@host queries to these hosts only: a comma-separated "
        "list of host[:port].  Empty: forwarding is off.",
    ],
    [
        "forward-hops",
        None,
        "1",
        "The most hosts a forwarded query may name (user@h1@h2 names two).",
    ],
    [
        "backend-timeout",
        None,
        "5",
        "Seconds a lookup by the command, web or proxy back-end, or a "
        "forwarded query, may take in all (the proxy and forwarding give half "
        "to connecting).  The finger protocol waits 10 seconds at most.",
    ],
    [
        "max-bytes",
        None,
        "16384",
        "The most bytes read from a ~/.plan, the command's output, a web "
        "page or a remote finger server.",
    ],
]


def _number(options: usage.Options, option: str, kind: Any, minimum: float) -> None:
    value = options[option]
    try:
        number = kind(value)
    except ValueError:
        number = None
    if number is None or not number >= minimum or number == float("inf"):
        raise usage.UsageError(
            f"--{option}: {value!r} is not a number of at least {minimum}"
        )
    options[option] = number


def _checkRoot(options: usage.Options) -> None:
    """
    Refuse the local back-end when twistd would run it as root.  The back-end
    checks again when it starts, which also covers a tac without a uid.
    """
    parent = options.parent
    if os.geteuid() != 0 or parent is None or "uid" not in parent:
        return
    uid = parent["uid"]
    if uid is None or uid == 0:
        raise usage.UsageError(
            "--backend=local: twistd runs as root and would read users' files "
            "as root; give twistd --uid and --gid (for example --uid=nobody "
            "--gid=nogroup) so that it drops privileges after binding"
        )


def _checkBackendOptions(options: usage.Options) -> None:
    """
    Check and convert the back-end and forwarding options.
    """
    backend = options["backend"]
    if backend not in BACKENDS:
        raise usage.UsageError(
            f"--backend: {backend!r} is not one of {', '.join(BACKENDS)}"
        )
    _number(options, "uid-floor", int, 0)
    _number(options, "forward-hops", int, 1)
    _number(options, "backend-timeout", float, 0.001)
    _number(options, "max-bytes", int, 1)
    if backend == "local":
        _checkRoot(options)
    elif backend == "command":
        try:
            options["command"] = findProgram(options["command"])
        except CommandNotFound as e:
            raise usage.UsageError(f"--command: {e}") from None
    elif backend == "web":
        if options["web-prefix"] is None:
            raise usage.UsageError("--web-prefix: required with --backend=web")
        try:
            checkPrefix(options["web-prefix"])
        except ValueError as e:
            raise usage.UsageError(f"--web-prefix: {e}") from None
    elif backend == "proxy":
        if options["proxy-to"] is None:
            raise usage.UsageError("--proxy-to: required with --backend=proxy")
        try:
            options["proxy-to"] = parseHostPort(options["proxy-to"])
        except ValueError as e:
            raise usage.UsageError(f"--proxy-to: {e}") from None
    entries = [e.strip() for e in options["forward-allow"].split(",") if e.strip()]
    try:
        parseAllowList(entries)
        options["forward-allow"] = entries
    except ValueError as e:
        raise usage.UsageError(f"--forward-allow: {e}") from None


def _makeBackend(options: usage.Options, reactor: Any) -> service.Service:
    """
    The back-end the options chose, as a service.
    """
    backend = options["backend"]
    timeout = options["backend-timeout"]
    maxBytes = options["max-bytes"]
    if backend == "local":
        return LocalFingerService(
            reactor, uidFloor=options["uid-floor"], maxBytes=maxBytes
        )
    if backend == "command":
        return CommandFingerService(
            reactor, options["command"], timeout=timeout, maxBytes=maxBytes
        )
    if backend == "web":
        return WebFingerService(
            reactor, options["web-prefix"], timeout=timeout, maxBytes=maxBytes
        )
    if backend == "proxy":
        host, port = options["proxy-to"]
        return ProxyFingerService(
            reactor,
            host,
            port,
            connectTimeout=timeout / 2,
            readTimeout=timeout / 2,
            maxBytes=maxBytes,
        )
    try:
        return FingerService(options["file"], options["interval"], reactor)
    except StatusFileError as e:
        raise usage.UsageError(f"--file: {e}") from None


def _makeForwarder(options: usage.Options, reactor: Any) -> Optional[FingerForwarder]:
    """
    The forwarder for C{user@host} queries, or L{None} if forwarding is off.
    """
    allowed = options["forward-allow"]
    if not allowed:
        return None
    return FingerForwarder(
        reactor,
        allowed,
        maxHops=options["forward-hops"],
        connectTimeout=options["backend-timeout"] / 2,
        readTimeout=options["backend-timeout"] / 2,
        maxBytes=options["max-bytes"],
    )


# --- End of back-ends and forwarding ------------------------------------------

# --- web front-end (issue 3) ---
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.web.resource import IResource
from twisted.web.server import Site

from finger import web  # noqa: F401 (adapter)
from finger.tls import CertificateError, serverOptions
# --- end web front-end ---


def _positive(value: str) -> float:
    number = float(value)
    if not number > 0 or number == float("inf"):
        raise ValueError("must be a positive number of seconds")
    return number


_positive.coerceDoc = "A positive number of seconds."  # type: ignore[attr-defined]


class Options(usage.Options):
    """
    Options for C{twistd finger}.

    Each C{--*port} option takes a port number or an endpoint description
    (C{tcp:79:interface=::}, C{unix:/run/finger.sock}, C{systemd:domain=INET:index=0}).
    A bare port number for the setter listens on 127.0.0.1 only, as its
    default does: anything that changes data stays on loopback unless the
    operator writes out an interface.
    """

    synopsis = "[options]"
    longdesc = (
        "Serve users' statuses from a status file over the finger protocol "
        "(RFC 1288) and let local users set their status on the setter port.  "
        "--backend chooses another source of statuses; only the status file "
        "can be set, so the other back-ends run no setter.  user@host queries "
        "are refused unless --forward-allow names hosts to forward to."
    )

    optParameters = [
        ["file", "f", "/etc/users", "The status file: one 'user: status' per line."],
        [
            "fingerport",
            None,
            "tcp:79",
            "Where the finger protocol listens: a port or an endpoint description.",
        ],
        [
            "setterport",
            None,
            "tcp:1079:interface=127.0.0.1",
            "Where the status setter listens: a port (on 127.0.0.1) or an "
            "endpoint description.",
        ],
        [
            "interval",
            None,
            30.0,
            "Seconds between checks of the status file for changes.",
            _positive,
        ],
        [
            "timeout",
            None,
            60.0,
            "Seconds a finger or setter client has to send its request, and "
            "that a web client may stay idle.",
            _positive,
        ],
    ] + _backendParameters

    optFlags = [
        [
            "no-listing",
            None,
            "Refuse to list users for an empty finger query (RFC 1288 3.2.2).",
        ],
        ["no-setter", None, "Do not run the status setter."],
    ]

    # --- web front-end (issue 3) ---
    optParameters += [
        [
            "webport",
            None,
            "tcp:8000",
            "Where the web site (pages, JSON, XML-RPC at /RPC2) listens: a port "
            "or an endpoint description.",
        ],
        [
            "templates",
            "t",
            web.defaultTemplatesDirectory(),
            "A directory with the page templates: users.xhtml, user.xhtml, "
            "notfound.xhtml.",
        ],
        [
            "sslport",
            None,
            "tcp:443",
            "Where HTTPS listens (with --ssl): a port or a tcp:, unix: or systemd: "
            "endpoint description.",
        ],
        [
            "certificate",
            None,
            "server.pem",
            "PEM file with the HTTPS certificate (then any intermediates); it "
            "may hold the private key too.",
        ],
        [
            "privatekey",
            None,
            None,
            "PEM file with the HTTPS private key, unencrypted [default: the "
            "--certificate file].",
        ],
    ]
    optFlags += [
        ["ssl", "s", "Serve the web site over HTTPS as well, on --sslport."],
    ]
    # --- end web front-end ---

    def postOptions(self) -> None:
        from twisted.internet import reactor

        self["fingerport"] = self._endpoint(reactor, "fingerport", "")
        self["setterport"] = self._endpoint(reactor, "setterport", "127.0.0.1")
        _checkBackendOptions(self)
        path = self["file"]
        if self["backend"] == "file" and not os.access(path, os.R_OK):
            reason = "does not exist" if not os.path.exists(path) else "is not readable"
            raise usage.UsageError(f"--file: the status file {path} {reason}")
        self._webPostOptions(reactor)  # web front-end (issue 3)

    def _endpoint(self, reactor: Any, option: str, interface: str) -> str:
        description = portDescription(self[option], interface)
        try:
            serverFromString(reactor, description)
        except Exception as e:
            raise usage.UsageError(
                f"--{option}: {description!r} is not a port or an endpoint "
                f"description: {e}"
            ) from None
        return description

    # --- web front-end (issue 3) ---
    def _webPostOptions(self, reactor: Any) -> None:
        self["webport"] = self._endpoint(reactor, "webport", "")
        _webTemplates(self)
        if self["ssl"]:
            if self["sslport"].split(":", 1)[0].lower() == "ssl":
                raise usage.UsageError(
                    "--sslport: give where to listen (a port, or a tcp:, unix: or "
                    "systemd: description); the certificate comes from "
                    "--certificate and --privatekey"
                )
            self["sslport"] = self._endpoint(reactor, "sslport", "")
            _webTLS(self)

    # --- end web front-end ---


# --- web front-end (issue 3) ---
def _webTemplates(options: Options) -> "web.Templates":
    try:
        return web.loadTemplates(options["templates"])
    except web.TemplateError as e:
        raise usage.UsageError(f"--templates: {e}") from None


def _webTLS(options: Options) -> Any:
    try:
        return serverOptions(options["certificate"], options["privatekey"])
    except CertificateError as e:
        option = "--privatekey" if options["privatekey"] and e.path == options["privatekey"] else "--certificate"
        raise usage.UsageError(f"{option}: {e}") from None


def _addWeb(top: service.MultiService, backend: Any, options: Options, reactor: Any) -> None:
    """
    Add the web site's listeners to C{top}: HTTP on C{--webport} and, with
    C{--ssl}, HTTPS on C{--sslport}.
    """
    root = IResource(backend)
    root.templates = _webTemplates(options)  # type: ignore[attr-defined]
    site = Site(root, timeout=options["timeout"], reactor=reactor)
    webService = ListeningService(reactor, options["webport"], site, "--webport")
    webService.setName("web")
    webService.setServiceParent(top)
    if options["ssl"]:
        tlsFactory = TLSMemoryBIOFactory(_webTLS(options), False, site)
        httpsService = ListeningService(reactor, options["sslport"], tlsFactory, "--sslport")
        httpsService.setName("https")
        httpsService.setServiceParent(top)


# --- end web front-end ---


_CODECS = ("utf-8", "latin-1", "ascii", "idna")
_LAZY_MODULES = ("idna",)


def preload() -> None:
    """
    Load now what the service would otherwise load on first use.

    twistd (C{--uid}) and C{finger.tac} drop privileges after binding; from
    then on the process may not be able to read its own Python installation
    (a virtualenv under C{/root} is common), and a codec or module imported
    lazily would fail in the middle of a request.
    """
    for name in _CODECS:
        codecs.lookup(name)
    for module in _LAZY_MODULES:
        try:
            importlib.import_module(module)
        except ImportError:
            pass


def makeService(options: Options, reactor: Optional[Any] = None) -> service.MultiService:
    """
    Build the finger service: the back-end the options chose and every
    listener, under one L{service.MultiService}.  The setter runs only with
    a back-end that can set statuses (the status file).

    @param options: parsed L{Options}.
    @param reactor: the reactor to listen with; the global one if L{None}.
    """
    if reactor is None:
        from twisted.internet import reactor as globalReactor

        reactor = globalReactor
    preload()
    top = service.MultiService()
    backend = _makeBackend(options, reactor)
    backend.setName("backend")
    backend.setServiceParent(top)

    fingerFactory = cast(FingerFactoryFromService, IFingerFactory(backend))
    fingerFactory.clock = reactor
    fingerFactory.timeout = options["timeout"]
    fingerFactory.listUsers = not options["no-listing"]
    fingerFactory.forwarder = _makeForwarder(options, reactor)
    fingerService = ListeningService(
        reactor, options["fingerport"], fingerFactory, "--fingerport"
    )
    fingerService.setName("finger")
    fingerService.setServiceParent(top)

    if not options["no-setter"] and IFingerSetterService.providedBy(backend):
        setterFactory = cast(FingerSetterFactoryFromService, IFingerSetterFactory(backend))
        setterFactory.clock = reactor
        setterFactory.timeout = options["timeout"]
        setterService = ListeningService(
            reactor, options["setterport"], setterFactory, "--setterport"
        )
        setterService.setName("setter")
        setterService.setServiceParent(top)

    _addWeb(top, backend, options, reactor)
    return top
