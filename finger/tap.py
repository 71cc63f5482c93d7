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

from finger.fingerd import FingerFactoryFromService
from finger.interfaces import IFingerFactory, IFingerSetterFactory
from finger.listen import ListeningService, portDescription
from finger.service import FingerService
from finger.setter import FingerSetterFactoryFromService
from finger.statusfile import StatusFileError

# --- web front-end (issue 3) ---
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.web.resource import IResource
from twisted.web.server import Site

from finger import web  # noqa: F401 (adapter)
from finger.tls import CertificateError, serverOptions
# --- end web front-end ---

# --- IRC bot and Perspective Broker (issue 4) ---
from twisted.application.internet import ClientService  # noqa: E402
from twisted.internet.endpoints import clientFromString  # noqa: E402
from twisted.spread.pb import PBServerFactory  # noqa: E402

from finger import irc  # noqa: E402 (and its adapter)
from finger.address import InvalidAddress, clientDescription  # noqa: E402
from finger.interfaces import IIRCClientFactory, IPerspectiveFinger  # noqa: E402
from finger.pb import PerspectiveFingerFromService  # noqa: E402, F401 (adapter)
# --- end IRC bot and Perspective Broker ---


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
    ]

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

    # --- IRC bot and Perspective Broker (issue 4) ---
    optParameters += [
        [
            "pbport",
            "p",
            "tcp:8889",
            "Where Perspective Broker listens: a port or an endpoint description.",
        ],
        [
            "ircserver",
            None,
            None,
            "The IRC server the bot joins: a host (port 6667), host:port, "
            "[IPv6 address]:port, or a client endpoint description "
            "(tls:irc.example.org:6697).  No bot unless given.",
        ],
        ["ircnick", "n", "fingerbot", "The IRC bot's nickname."],
        [
            "ircchannels",
            None,
            None,
            "Channels for the IRC bot to join, separated by commas ('#a,#b').  "
            "None unless given: the bot answers private messages.",
        ],
        [
            "ircretry",
            None,
            60.0,
            "The most seconds between attempts to reconnect to the IRC server.",
            _positive,
        ],
    ]
    optFlags += [
        ["no-pb", None, "Do not serve Perspective Broker."],
    ]
    # --- end IRC bot and Perspective Broker ---

    def postOptions(self) -> None:
        from twisted.internet import reactor

        self["fingerport"] = self._endpoint(reactor, "fingerport", "")
        self["setterport"] = self._endpoint(reactor, "setterport", "127.0.0.1")
        path = self["file"]
        if not os.access(path, os.R_OK):
            reason = "does not exist" if not os.path.exists(path) else "is not readable"
            raise usage.UsageError(f"--file: the status file {path} {reason}")
        self._webPostOptions(reactor)  # web front-end (issue 3)
        self._ircAndPBPostOptions(reactor)  # IRC bot and Perspective Broker (issue 4)

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

    # --- IRC bot and Perspective Broker (issue 4) ---
    def _ircAndPBPostOptions(self, reactor: Any) -> None:
        self["pbport"] = self._endpoint(reactor, "pbport", "")
        if not irc.isValidNickname(self["ircnick"]):
            raise usage.UsageError(
                f"--ircnick: {self['ircnick']!r} is not an IRC nickname: a letter "
                "or one of []\\`_^{|} first, then letters, digits, those and '-', "
                f"at most {irc.MAX_NICKNAME_LENGTH} characters"
            )
        channels = [c.strip() for c in (self["ircchannels"] or "").split(",") if c.strip()]
        for channel in channels:
            if not irc.isValidChannel(channel):
                raise usage.UsageError(
                    f"--ircchannels: {channel!r} is not a channel name: it starts "
                    "with #, &, + or ! and has no spaces, commas or control characters"
                )
        self["ircchannels"] = channels
        server = self["ircserver"]
        if server is None:
            if channels:
                raise usage.UsageError("--ircchannels: needs --ircserver")
            return
        try:
            description = clientDescription(server, irc.DEFAULT_PORT)
            clientFromString(reactor, description)
        except (InvalidAddress, ValueError, TypeError, KeyError) as e:
            raise usage.UsageError(
                f"--ircserver: {server!r} is not a host, host:port, [IPv6 "
                f"address]:port or client endpoint description: {e}"
            ) from None
        self["ircserver"] = description

    # --- end IRC bot and Perspective Broker ---


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


# --- IRC bot and Perspective Broker (issue 4) ---
def _addIRCAndPB(
    top: service.MultiService, backend: Any, options: Options, reactor: Any
) -> None:
    """
    Add Perspective Broker's listener on C{--pbport} (unless C{--no-pb})
    and, with C{--ircserver}, the IRC bot, kept connected by a
    L{ClientService}, to C{top}.
    """
    if not options["no-pb"]:
        pbService = ListeningService(
            reactor,
            options["pbport"],
            PBServerFactory(IPerspectiveFinger(backend)),
            "--pbport",
        )
        pbService.setName("pb")
        pbService.setServiceParent(top)
    if options["ircserver"] is not None:
        ircFactory = IIRCClientFactory(backend)
        ircFactory.nickname = options["ircnick"]
        ircFactory.channels = options["ircchannels"]
        ircFactory.clock = reactor
        ircFactory.maxDelay = options["ircretry"]
        ircService = ClientService(
            clientFromString(reactor, options["ircserver"]),
            ircFactory,
            retryPolicy=ircFactory.retryDelay,
            clock=reactor,
        )
        ircService.setName("irc")
        ircService.setServiceParent(top)


# --- end IRC bot and Perspective Broker ---


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
    fingerService = ListeningService(
        reactor, options["fingerport"], fingerFactory, "--fingerport"
    )
    fingerService.setName("finger")
    fingerService.setServiceParent(top)

    if not options["no-setter"]:
        setterFactory = cast(FingerSetterFactoryFromService, IFingerSetterFactory(backend))
        setterFactory.clock = reactor
        setterFactory.timeout = options["timeout"]
        setterService = ListeningService(
            reactor, options["setterport"], setterFactory, "--setterport"
        )
        setterService.setName("setter")
        setterService.setServiceParent(top)

    _addWeb(top, backend, options, reactor)
    _addIRCAndPB(top, backend, options, reactor)  # issue 4
    return top
