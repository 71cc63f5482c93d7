# -*- test-case-name: tests.app.test_tap_web -*-
"""
The web site's options and L{WebConfig}: HTTP, and HTTPS with C{--ssl}.
"""

import os
import re
from dataclasses import dataclass
from typing import Any, List, Optional, Tuple

from twisted.internet.ssl import CertificateOptions
from twisted.python import usage

from finger.app.coerce import number, positive, seconds
from finger.app.listening import Port, portRow, readPort
from finger.frontends.web import events, form, templates
from finger.frontends.web.site import MAX_WAIT
from finger.frontends.web.origin import (
    Network,
    PublicURL,
    parseHosts,
    parseProxies,
    parsePublicURL,
)
from finger.net.tls import CertificateError, TLSListener, serverOptions, splitTLSDescription

optParameters: List[List[Any]] = [
    portRow("webport", None, "8000", "the web site (pages, JSON, XML-RPC at /RPC2)"),
    [
        "templates",
        "t",
        templates.defaultTemplatesDirectory(),
        "A directory with the page templates: users.xhtml, user.xhtml, notfound.xhtml, "
        "and form.xhtml (without it no page offers the form for setting a status).",
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
        "public-url",
        None,
        None,
        "The site's address as the world reaches it, such as "
        "https://finger.example.com/ or https://example.com/finger behind a "
        "proxy with a path prefix: every absolute URL (WebFinger's links) "
        "begins with it, and its host is a name WebFinger answers for.  An "
        "https:// URL without --ssl says a proxy in front ends TLS, and "
        "WebFinger is answered over the plain HTTP it forwards "
        "[default: a name of --webfinger-hosts or the machine's, never the "
        "request's Host header].",
        parsePublicURL,
    ],
    [
        "trusted-proxies",
        None,
        None,
        "With --public-url: the addresses and networks of the proxies whose "
        "X-Forwarded-Proto and X-Forwarded-Host are believed, separated by "
        "commas (127.0.0.1,10.0.0.0/8); a forwarded host must be one the "
        "site serves.",
        parseProxies,
    ],
    [
        "web-rate",
        None,
        20.0,
        "Web requests a second each client may make, over HTTP and HTTPS "
        "together, in bursts of twice that; a request over the rate waits "
        f"its turn, or is refused (429) if that is more than {MAX_WAIT:g} "
        "seconds away.  Loopback is exempt unless --rate-limit-loopback.",
        number("--web-rate", float, 0, True, "Zero (no limit) or a positive number."),
    ],
    [
        "sslport",
        None,
        "443",
        "Where HTTPS listens (with --ssl): a port, a tcp:, unix: or systemd: "
        "endpoint description, or an ssl: one whose privateKey= and certKey= "
        "then stand for --privatekey and --certificate.",
    ],
    [
        "certificate",
        None,
        "server.pem",
        "PEM file with the HTTPS certificate (then any intermediates); it may hold the private key too.",
    ],
    [
        "privatekey",
        None,
        None,
        "PEM file with the HTTPS private key, unencrypted [default: the --certificate file].",
    ],
]

optFlags: List[List[Any]] = [
    ["ssl", "s", "Serve the web site over HTTPS as well, on --sslport."],
]

# -- the stream of status changes at /api/events ------------------------------

optParameters += [
    [
        "events-max",
        None,
        events.MAX_STREAMS,
        "The most event streams (/api/events) open at once; more are answered 503.",
        positive("--events-max"),
    ],
    [
        "events-per-client",
        None,
        events.MAX_PER_CLIENT,
        "The most event streams open at once from one client (see "
        "--ipv6-prefix); loopback is exempt unless --rate-limit-loopback.",
        positive("--events-per-client"),
    ],
    [
        "events-heartbeat",
        None,
        events.HEARTBEAT,
        "Seconds between the comment lines that keep a quiet event stream "
        "open (at most half of --idle-timeout is used).",
        seconds("--events-heartbeat"),
    ],
]


@dataclass(frozen=True)
class EventsConfig:
    """
    The stream of status changes at C{/api/events}.

    @ivar maxStreams: C{--events-max}.
    @ivar maxPerClient: C{--events-per-client}.
    @ivar heartbeat: C{--events-heartbeat}.
    """

    maxStreams: int = events.MAX_STREAMS
    maxPerClient: int = events.MAX_PER_CLIENT
    heartbeat: float = events.HEARTBEAT

    @classmethod
    def fromOptions(cls, options: usage.Options) -> "EventsConfig":
        """
        Read the event stream's options.
        """
        return cls(
            maxStreams=options["events-max"],
            maxPerClient=options["events-per-client"],
            heartbeat=options["events-heartbeat"],
        )


@dataclass(frozen=True)
class HTTPSConfig:
    """
    The HTTPS listener's settings (C{--ssl}).

    @ivar port: C{--sslport}, as a C{tcp:} (or other) description.
    @ivar tlsOptions: the TLS settings, from the files an C{ssl:}
        C{--sslport} names, else from C{--certificate} and C{--privatekey};
        loaded once, here.
    """

    port: Port
    tlsOptions: CertificateOptions

    @classmethod
    def fromOptions(cls, options: usage.Options, reactor: Any) -> "Optional[HTTPSConfig]":
        """
        Check and read the HTTPS options: L{None} without C{--ssl}.

        @param reactor: the reactor C{--sslport} is checked against.
        """
        if not options["ssl"]:
            return None
        value = options["sslport"]
        listener = None
        if value.split(":", 1)[0].strip().lower() == "ssl":
            try:
                listener = splitTLSDescription(value)
            except ValueError as e:
                raise usage.UsageError(f"--sslport: {e}") from None
            value = listener.listen
        port = readPort("sslport", value, reactor)
        return cls(port=port, tlsOptions=_tlsSettings(options, listener))


def _tlsSettings(options: usage.Options, listener: Optional[TLSListener]) -> CertificateOptions:
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
        key = options["privatekey"]
        option = "--privatekey" if key and e.path == key else "--certificate"
        raise usage.UsageError(f"{option}: {e}") from None


@dataclass(frozen=True)
class WebConfig:
    """
    The web site's settings: one site, served over HTTP and, with C{--ssl},
    HTTPS, whose clients are held to one C{--web-rate} on both.

    @ivar port: C{--webport}.
    @ivar templates: the page templates of C{--templates}, loaded once, here.
    @ivar webfingerHosts: C{--webfinger-hosts}, or L{None} for the name
        each request was sent to and the machine's own names.
    @ivar rate: C{--web-rate}; 0 for no limit.
    @ivar requestTimeout: C{--timeout}, the seconds a client has for each
        request.
    @ivar listUsers: whether the front page lists users (not
        C{--no-listing}).
    @ivar https: the HTTPS listener, or L{None} without C{--ssl}.
    @ivar publicURL: C{--public-url}, or L{None}.
    @ivar trustedProxies: C{--trusted-proxies}: empty unless given.
    @ivar events: the stream of status changes at C{/api/events}.
    """

    port: Port
    templates: templates.Templates
    webfingerHosts: Optional[Tuple[str, ...]]
    rate: float
    requestTimeout: float
    listUsers: bool
    https: Optional[HTTPSConfig]
    publicURL: Optional[PublicURL] = None
    trustedProxies: Tuple[Network, ...] = ()
    events: EventsConfig = EventsConfig()

    @classmethod
    def fromOptions(cls, options: usage.Options, reactor: Any) -> "WebConfig":
        """
        Check and read the web options, and load what the site needs once:
        the templates and, with C{--ssl}, the TLS settings.

        @param reactor: the reactor the ports are checked against.
        """
        port = readPort("webport", options["webport"], reactor)
        try:
            loaded = templates.loadTemplates(options["templates"])
            form.checkTemplate(
                loaded.form, os.path.join(options["templates"], templates.FORM_FILE)
            )
        except templates.TemplateError as e:
            raise usage.UsageError(f"--templates: {e}") from None
        hosts = options["webfinger-hosts"]
        proxies = options["trusted-proxies"]
        if proxies is not None and options["public-url"] is None:
            raise usage.UsageError(
                "--trusted-proxies needs --public-url: the forwarded headers are "
                "believed only for a site whose public address is given"
            )
        return cls(
            port=port,
            templates=loaded,
            webfingerHosts=None if hosts is None else tuple(hosts),
            rate=options["web-rate"],
            requestTimeout=options["timeout"],
            listUsers=not options["no-listing"],
            https=HTTPSConfig.fromOptions(options, reactor),
            publicURL=options["public-url"],
            trustedProxies=tuple(proxies or ()),
            events=EventsConfig.fromOptions(options),
        )


# The port number of a tcp:, tcp6: or ssl: endpoint description: its first
# argument, or its port= argument.
_TCP_PORT = re.compile(r"^(?:tcp6?|ssl):(?:(?:.*?(?<!\\):)?port=)?([0-9]+)(?::|$)")


def portNumber(port: Port) -> Optional[int]:
    """
    The TCP port C{port} listens on, if its description says (a
    C{systemd:} or C{unix:} one does not), and is not C{0} (any free
    port).
    """
    match = _TCP_PORT.match(port.description)
    if match is None:
        return None
    number = int(match.group(1))
    return number or None
