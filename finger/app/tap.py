# -*- test-case-name: tests.app.test_tap -*-
"""
C{twistd finger}: the command-line options and L{makeService}, the one place
that knows every front-end.
"""

import codecs
import importlib
import os
from typing import Any, Callable, Optional, cast

from twisted.application import service
from twisted.application.internet import ClientService
from twisted.cred import strcred
from twisted.cred.credentials import IUsernamePassword
from twisted.internet.endpoints import clientFromString, serverFromString
from twisted.internet.interfaces import IProtocolFactory
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.python import usage

from finger.frontends import irc
from finger.frontends.web import pages, request as webrequest, templates as webtemplates
from finger.frontends.web.webfinger import parseHosts
from finger.net.address import InvalidAddress, checkedClientDescription, parseHostPort
from finger.auth import SetterLogin, setterPortal
from finger.clients.finger import DEFAULT_PORT as FINGER_PORT
from finger.frontends.finger import FingerFactoryFromService
from finger.interfaces import IFingerService, IFingerSetterService
from finger.messages import BUSY
from finger.net.limits import DEFAULT_MAX_PER_ADDRESS, LimitingFactory, RateLimiter
from finger.net.listen import ListeningService, portDescription
from finger.backends.command import (
    SEARCH_PATH,
    CommandFingerService,
    CommandNotFound,
    findProgram,
)
from finger.backends.local import UID_FLOOR, LocalFingerService
from finger.names import InvalidUserName, checkUserName
from finger.frontends.pb import FingerPBServerFactory, PerspectiveFingerFromService
from finger.backends.proxy import ProxyFingerService
from finger.forwarding import FingerForwarder, parseAllowList
from finger.backends.file import FileFingerService
from finger.backends.sql import SQLFingerService
from finger.backends.sqlstore import DatabaseError, openDatabase
from finger.frontends.setter import FingerSetterFactoryFromService
from finger.backends.statusfile import StatusFileError
from finger.net.tls import CertificateError, TLSListener, serverOptions, splitTLSDescription
from finger.backends.http import HTTPFingerService, checkPrefix

_FINGER_BUSY = f"{BUSY}\r\n".encode("ascii")
# The setter's errors go on in lower case after "Error: ".
_SETTER_BUSY = f"Error: {BUSY[:1].lower()}{BUSY[1:]}\r\n".encode("ascii")


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


# Choosing and configuring the back-end, and forwarding: Options and
# makeService call into these.

BACKENDS = ("file", "sql", "local", "command", "web", "proxy")

_backendParameters = [
    [
        "backend",
        None,
        "file",
        "Where statuses come from: file (the --file status file), sql (the "
        "--database), local (system accounts and ~/.plan), command (the system's finger "
        "program), web (--web-prefix), or proxy (another finger server, "
        "--proxy-to).",
    ],
    [
        "database",
        None,
        None,
        "sql: where statuses are kept: sqlite:PATH (one machine) or "
        "postgresql://user@host:port/dbname, a libpq URI (several machines; "
        "needs finger[postgresql]).  Required with --backend=sql.",
    ],
    [
        "uid-floor",
        None,
        UID_FLOOR,
        "local and command: the lowest uid answered; system accounts below "
        "it are neither listed nor answered.",
        _number("--uid-floor", int, 0, True, "A whole number, zero or more."),
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
        1,
        "The most hosts a forwarded query may name (user@h1@h2 names two).",
        _number("--forward-hops", int, 1, True, "A positive whole number."),
    ],
    [
        "backend-timeout",
        None,
        5.0,
        "Seconds a lookup by the command, web or proxy back-end, a set on the "
        "sql back-end, or a forwarded query, may take in all (the proxy and "
        "forwarding give half to connecting).  The finger protocol waits 10 seconds at most.",
        _seconds("--backend-timeout"),
    ],
    [
        "max-bytes",
        None,
        16384,
        "The most bytes read from a ~/.plan, the command's output, a web "
        "page or a remote finger server.",
        _number("--max-bytes", int, 1, True, "A positive whole number."),
    ],
]


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
    if backend == "local":
        _checkRoot(options)
    elif backend == "sql":
        if options["database"] is None:
            raise usage.UsageError("--database: required with --backend=sql")
        try:
            options["database"] = openDatabase(options["database"], options["backend-timeout"])
        except DatabaseError as e:
            raise usage.UsageError(f"--database: {e}") from None
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
            options["proxy-to"] = parseHostPort(options["proxy-to"], FINGER_PORT)
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
    if backend == "sql":
        return SQLFingerService(options["database"], reactor=reactor, timeout=timeout)
    if backend == "local":
        return LocalFingerService(
            reactor, uidFloor=options["uid-floor"], maxBytes=maxBytes
        )
    if backend == "command":
        return CommandFingerService(
            reactor,
            options["command"],
            timeout=timeout,
            maxBytes=maxBytes,
            uidFloor=options["uid-floor"],
        )
    if backend == "web":
        return HTTPFingerService(
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
        return FileFingerService(options["file"], options["interval"], reactor)
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


class Options(usage.Options, strcred.AuthOptionMixin):
    """
    Options for C{twistd finger}.

    Each C{--*port} option takes a port number or an endpoint description
    (C{tcp:79:interface=\\:\\:}, C{unix:/run/finger.sock}, C{systemd:domain=INET:index=0}).
    A bare port number for the setter or Perspective Broker listens on
    127.0.0.1 only, as their defaults do: anything that changes data stays on loopback unless the
    operator writes out an interface.
    """

    supportedInterfaces = [IUsernamePassword]
    synopsis = "[options]"
    longdesc = (
        "Serve users' statuses from a status file over the finger protocol "
        "(RFC 1288) and let local users set their status on the setter port.  "
        "--backend chooses another source of statuses; only the status file "
        "and the database (--backend=sql) can be set, so the other back-ends "
        "run no setter.  user@host queries "
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
            _seconds("--interval"),
        ],
        [
            "timeout",
            None,
            60.0,
            "Seconds a finger or setter client has to send its request, and a "
            "web client each request's line and headers.",
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
            webtemplates.defaultTemplatesDirectory(),
            "A directory with the page templates: users.xhtml, user.xhtml, "
            "notfound.xhtml.",
        ],
        [
            "webfinger-hosts",
            None,
            None,
            "The host names WebFinger answers for (acct:USER@HOST) and the pages "
            "name, separated by commas [default: the name each request was sent "
            "to, and the machine's own names].",
            parseHosts,
        ],
        [
            "sslport",
            None,
            "tcp:443",
            "Where HTTPS listens (with --ssl): a port, a tcp:, unix: or systemd: "
            "endpoint description, or an ssl: one whose privateKey= and certKey= "
            "then stand for --privatekey and --certificate.",
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
            "login-delay",
            None,
            2.0,
            "With --auth: seconds before a failed login is answered.",
            _number("--login-delay", float, 0, True, "Zero or a positive number of seconds."),
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
            "max-per-address",
            None,
            DEFAULT_MAX_PER_ADDRESS,
            "The most connections each listener has open at once from one "
            "client address; loopback is exempt unless --rate-limit-loopback.",
            _number("--max-per-address", int, 1, True, "A positive whole number."),
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
        ["access-log", None, None, "A file to append the finger access log to [default: the log]."],
    ]
    optFlags += [
        [
            "rate-limit-loopback",
            None,
            "Apply the per-address limits (--finger-rate, --max-per-address) to "
            "loopback clients too.",
        ],
    ]

    optParameters += [
        [
            "pbport",
            "p",
            "tcp:8889:interface=127.0.0.1",
            "Where Perspective Broker listens: a port (on 127.0.0.1) or an endpoint description.",
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
            _seconds("--ircretry"),
        ],
    ]
    optFlags += [
        ["no-pb", None, "Do not serve Perspective Broker."],
    ]

    optParameters += _backendParameters

    def postOptions(self) -> None:
        from twisted.internet import reactor

        self["fingerport"] = self._endpoint(reactor, "fingerport", "")
        self["setterport"] = self._endpoint(reactor, "setterport", "127.0.0.1")
        _checkBackendOptions(self)
        path = self["file"]
        if self["backend"] == "file":
            if not os.path.exists(path):
                reason = "does not exist"
            elif not os.path.isfile(path):
                reason = "is not a regular file"
            elif not os.access(path, os.R_OK):
                reason = "is not readable"
            else:
                reason = ""
            if reason:
                raise usage.UsageError(f"--file: the status file {path} {reason}")
        self._webPostOptions(reactor)
        self._ircAndPBPostOptions(reactor)
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
        # Loaded (and checked) once, here, for makeService to use.
        self.loadedTemplates = _webTemplates(self)
        self.tlsOptions: Any = None
        if self["ssl"]:
            listener = None
            if self["sslport"].split(":", 1)[0].strip().lower() == "ssl":
                try:
                    listener = splitTLSDescription(self["sslport"])
                except ValueError as e:
                    raise usage.UsageError(f"--sslport: {e}") from None
                self["sslport"] = listener.listen
            self["sslport"] = self._endpoint(reactor, "sslport", "")
            self.tlsOptions = _webTLS(self, listener)

    def _ircAndPBPostOptions(self, reactor: Any) -> None:
        self["pbport"] = self._endpoint(reactor, "pbport", "127.0.0.1")
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
            self["ircserver"] = checkedClientDescription(server, irc.DEFAULT_PORT, reactor)
        except InvalidAddress as e:
            raise usage.UsageError(f"--ircserver: {e}") from None


def _webTemplates(options: Options) -> webtemplates.Templates:
    try:
        return webtemplates.loadTemplates(options["templates"])
    except webtemplates.TemplateError as e:
        raise usage.UsageError(f"--templates: {e}") from None


def _webTLS(options: Options, listener: Optional[TLSListener] = None) -> Any:
    """
    The HTTPS listener's TLS settings, from the files an C{ssl:}
    C{--sslport} names, else from C{--certificate} and C{--privatekey}.
    """
    if listener is not None and listener.certificate is not None:
        try:
            return serverOptions(listener.certificate, listener.privateKey)
        except CertificateError as e:
            raise usage.UsageError(f"--sslport: {e}") from None
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
        maxPerAddress=options["max-per-address"],
        limitLoopback=options["rate-limit-loopback"],
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
    root = pages.UserStatusTree(
        backend,
        templates=options.loadedTemplates,
        clock=reactor,
        login=login,
        listUsers=not options["no-listing"],
        webfingerHosts=options["webfinger-hosts"],
    )
    site = webrequest.WebSite(
        root, clock=reactor, headTimeout=options["timeout"], idleTimeout=None
    )
    _listen(top, "web", options, reactor, site, webrequest.busyResponse())
    if options["ssl"]:
        tlsFactory = TLSMemoryBIOFactory(options.tlsOptions, False, site)
        _listen(top, "https", options, reactor, tlsFactory, b"")


def _addIRCAndPB(
    top: service.MultiService,
    backend: Any,
    options: Options,
    reactor: Any,
    login: Optional[SetterLogin] = None,
) -> None:
    """
    Add Perspective Broker's listener on C{--pbport} (unless C{--no-pb}),
    which lets clients log in to set statuses given a C{login} (C{--auth}),
    and, with C{--ircserver}, the IRC bot, kept connected by a
    L{ClientService}, to C{top}.
    """
    if not options["no-pb"]:
        pbRoot = PerspectiveFingerFromService(backend, clock=reactor, login=login)
        _listen(top, "pb", options, reactor, FingerPBServerFactory(pbRoot, clock=reactor), b"")
    if options["ircserver"] is not None:
        ircFactory = irc.IRCClientFactoryFromService(
            backend,
            nickname=options["ircnick"],
            channels=options["ircchannels"],
            clock=reactor,
            maxDelay=options["ircretry"],
        )
        ircService = ClientService(
            clientFromString(reactor, options["ircserver"]),
            ircFactory,
            retryPolicy=ircFactory.retryDelay,
            clock=reactor,
        )
        ircService.setName("irc")
        ircService.setServiceParent(top)


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

    fingerFactory = FingerFactoryFromService(
        IFingerService(backend),
        clock=reactor,
        timeout=options["timeout"],
        listUsers=not options["no-listing"],
        forwarder=_makeForwarder(options, reactor),
        accessLog=options["access-log"],
    )
    rate = options["finger-rate"]
    rateLimiter = (
        RateLimiter(reactor, rate, 2 * rate, options["rate-limit-loopback"]) if rate else None
    )
    _listen(top, "finger", options, reactor, fingerFactory, _FINGER_BUSY, rateLimiter)

    login = None
    if options.get("credCheckers") and IFingerSetterService.providedBy(backend):
        portal = setterPortal(backend, options["credCheckers"], options["admins"])
        login = SetterLogin(portal, reactor, delay=options["login-delay"])

    if not options["no-setter"] and IFingerSetterService.providedBy(backend):
        setterFactory = FingerSetterFactoryFromService(
            backend, clock=reactor, timeout=options["timeout"], login=login
        )
        _listen(top, "setter", options, reactor, setterFactory, _SETTER_BUSY)

    _addWeb(top, backend, options, reactor, login)
    _addIRCAndPB(top, backend, options, reactor, login)
    return top
