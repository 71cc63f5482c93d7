# -*- test-case-name: tests.test_tap -*-
"""
C{twistd finger}: the command-line options and L{makeService}, the one place
that knows every front-end.
"""

import codecs
import importlib
import os
from typing import Any, Callable, Optional, cast

from twisted.application import service
from twisted.cred import strcred
from twisted.cred.credentials import IUsernamePassword
from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import IProtocolFactory
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.python import usage
from twisted.web.resource import IResource
from twisted.web.server import Site

from finger import web
from finger.auth import SetterLogin, setterPortal
from finger.fingerd import FingerFactoryFromService
from finger.interfaces import IFingerFactory, IFingerSetterFactory, IFingerSetterService
from finger.limits import LimitingFactory, RateLimiter
from finger.listen import ListeningService, portDescription
from finger.names import InvalidUserName, checkUserName
from finger.service import FingerService
from finger.setter import FingerSetterFactoryFromService
from finger.statusfile import StatusFileError
from finger.tls import CertificateError, serverOptions

_FINGER_BUSY = b"Server busy; try again later\r\n"
_SETTER_BUSY = b"Error: server busy; try again later\r\n"
_HTTP_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Length: 29\r\nConnection: close\r\n\r\nServer busy; try again later\r\n"
)


def _number(
    option: str, kind: Callable[[str], float], minimum: float, inclusive: bool, doc: str
) -> Callable[[str], float]:
    """
    A coercer for a numeric option that names the option when it refuses a
    value.
    """
    what = doc.rstrip(".").lower()

    def coerce(value: str) -> float:
        try:
            number = kind(value)
        except ValueError:
            number = float("nan")
        if not (number >= minimum if inclusive else number > minimum) or number == float("inf"):
            raise ValueError(f"{option} must be {what}, not {value!r}")
        return number

    coerce.coerceDoc = doc  # type: ignore[attr-defined]
    return coerce


def _seconds(option: str) -> Callable[[str], float]:
    return _number(option, float, 0, False, "A positive number of seconds.")


class Options(usage.Options, strcred.AuthOptionMixin):
    """
    Options for C{twistd finger}.

    Each C{--*port} option takes a port number or an endpoint description
    (C{tcp:79:interface=::}, C{unix:/run/finger.sock}, C{systemd:domain=INET:index=0}).
    A bare port number for the setter listens on 127.0.0.1 only, as its
    default does: anything that changes data stays on loopback unless the
    operator writes out an interface.
    """

    supportedInterfaces = [IUsernamePassword]
    synopsis = "[options]"
    longdesc = (
        "Serve users' statuses from a status file over the finger protocol "
        "(RFC 1288) and let local users set their status on the setter port."
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
            _seconds("--interval"),
        ],
        [
            "timeout",
            None,
            60.0,
            "Seconds a finger or setter client has to send its request, and "
            "that a web client may stay idle.",
            _seconds("--timeout"),
        ],
    ]

    optFlags = [
        [
            "no-listing",
            None,
            "Refuse to list users for an empty finger query (RFC 1288 3.2.2).",
        ],
        ["no-setter", None, "Do not run the status setter."],
    ]

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

    optParameters += [
        [
            "admins",
            None,
            "",
            "With --auth: users (comma-separated) who may set anyone's status.",
        ],
        [
            "max-connections",
            None,
            1024,
            "The most connections each listener has open at once; more are "
            "refused with a short message.",
            _number("--max-connections", int, 1, True, "A positive whole number."),
        ],
        [
            "idle-timeout",
            None,
            120.0,
            "Seconds a connection may pass with no bytes either way.",
            _seconds("--idle-timeout"),
        ],
        [
            "max-lifetime",
            None,
            600.0,
            "Seconds any connection may last.",
            _seconds("--max-lifetime"),
        ],
        [
            "finger-rate",
            None,
            10.0,
            "Finger queries a second each client address may make, in bursts of "
            "twice that; loopback is exempt unless --rate-limit-loopback.",
            _number("--finger-rate", float, 0, True, "Zero (no limit) or a positive number."),
        ],
    ]
    optFlags += [
        ["rate-limit-loopback", None, "Rate-limit finger queries from loopback too."],
    ]

    def postOptions(self) -> None:
        from twisted.internet import reactor

        self["fingerport"] = self._endpoint(reactor, "fingerport", "")
        self["setterport"] = self._endpoint(reactor, "setterport", "127.0.0.1")
        path = self["file"]
        if not os.access(path, os.R_OK):
            reason = "does not exist" if not os.path.exists(path) else "is not readable"
            raise usage.UsageError(f"--file: the status file {path} {reason}")
        self._webPostOptions(reactor)
        try:
            self["admins"] = [
                checkUserName(name.strip()) for name in self["admins"].split(",") if name.strip()
            ]
        except InvalidUserName as e:
            raise usage.UsageError(f"--admins: {e}") from None
        if self["admins"] and not self.get("credCheckers"):
            raise usage.UsageError("--admins: only means something with --auth")

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


def _listen(
    top: service.MultiService,
    name: str,
    options: Options,
    reactor: Any,
    factory: IProtocolFactory,
    refusal: bytes,
    rateLimiter: Optional[RateLimiter] = None,
) -> None:
    """
    Add a listener called C{name} on the C{--<name>port} option's endpoint,
    under the limits every listener has.
    """
    option = f"--{'ssl' if name == 'https' else name}port"
    limited = LimitingFactory(
        factory,
        reactor,
        refusal,
        maxConnections=options["max-connections"],
        idleTimeout=options["idle-timeout"],
        maxLifetime=options["max-lifetime"],
        rateLimiter=rateLimiter,
    )
    listener = ListeningService(reactor, options[option[2:]], limited, option)
    listener.setName(name)
    listener.setServiceParent(top)


def _addWeb(
    top: service.MultiService,
    backend: Any,
    options: Options,
    reactor: Any,
    login: Optional[SetterLogin] = None,
) -> None:
    """
    Add the web site's listeners to C{top}: HTTP on C{--webport} and, with
    C{--ssl}, HTTPS on C{--sslport}.  With a C{login} (C{--auth}), XML-RPC
    offers setUser over HTTPS.
    """
    root = cast(web.UserStatusTree, IResource(backend))
    root.templates = _webTemplates(options)
    if login is not None:
        root.offerSetting(login)
    site = Site(root, timeout=options["timeout"], reactor=reactor)
    _listen(top, "web", options, reactor, site, _HTTP_BUSY)
    if options["ssl"]:
        tlsFactory = TLSMemoryBIOFactory(_webTLS(options), False, site)
        _listen(top, "https", options, reactor, tlsFactory, b"")


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
    Build the finger service: the status file back-end and every listener,
    under one L{service.MultiService}.

    @param options: parsed L{Options}.
    @param reactor: the reactor to listen with; the global one if L{None}.
    """
    if reactor is None:
        from twisted.internet import reactor as globalReactor

        reactor = globalReactor
    preload()
    top = service.MultiService()
    try:
        backend = FingerService(options["file"], options["interval"], reactor)
    except StatusFileError as e:
        raise usage.UsageError(f"--file: {e}") from None
    backend.setName("backend")
    backend.setServiceParent(top)

    fingerFactory = cast(FingerFactoryFromService, IFingerFactory(backend))
    fingerFactory.clock = reactor
    fingerFactory.timeout = options["timeout"]
    fingerFactory.listUsers = not options["no-listing"]
    rate = options["finger-rate"]
    rateLimiter = (
        RateLimiter(reactor, rate, 2 * rate, options["rate-limit-loopback"]) if rate else None
    )
    _listen(top, "finger", options, reactor, fingerFactory, _FINGER_BUSY, rateLimiter)

    login = None
    if options.get("credCheckers") and IFingerSetterService.providedBy(backend):
        portal = setterPortal(backend, options["credCheckers"], options["admins"])
        login = SetterLogin(portal, reactor)

    if not options["no-setter"]:
        setterFactory = cast(FingerSetterFactoryFromService, IFingerSetterFactory(backend))
        setterFactory.clock = reactor
        setterFactory.timeout = options["timeout"]
        setterFactory.login = login
        _listen(top, "setter", options, reactor, setterFactory, _SETTER_BUSY)

    _addWeb(top, backend, options, reactor, login)
    return top
