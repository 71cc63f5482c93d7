# -*- test-case-name: tests.app.test_tap_web -*-
"""
The web site's options and listeners: HTTP, and HTTPS with C{--ssl}.
"""

from typing import TYPE_CHECKING, Any, List, Optional

from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.python import usage

from finger.app.coerce import number
from finger.app.listening import Assembly, endpointOption, portOption, rateLimiter
from finger.frontends.web import pages, templates
from finger.frontends.web.site import MAX_WAIT, WebSite, busyResponse
from finger.frontends.web.webfinger import parseHosts
from finger.net.tls import CertificateError, TLSListener, serverOptions, splitTLSDescription

if TYPE_CHECKING:
    from finger.app.tap import Options

optParameters: List[List[Any]] = [
    portOption("webport", None, "8000", "the web site (pages, JSON, XML-RPC at /RPC2)"),
    [
        "templates",
        "t",
        templates.defaultTemplatesDirectory(),
        "A directory with the page templates: users.xhtml, user.xhtml, notfound.xhtml.",
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

ports = {"webport": ""}


def checkOptions(options: "Options", reactor: Any) -> None:
    """
    Check the web options, and load what the site needs once, here: the
    templates (C{options.loadedTemplates}) and, with C{--ssl}, the TLS
    settings (C{options.tlsOptions}).
    """
    try:
        options.loadedTemplates = templates.loadTemplates(options["templates"])
    except templates.TemplateError as e:
        raise usage.UsageError(f"--templates: {e}") from None
    options.tlsOptions = None
    if not options["ssl"]:
        return
    listener = None
    if options["sslport"].split(":", 1)[0].strip().lower() == "ssl":
        try:
            listener = splitTLSDescription(options["sslport"])
        except ValueError as e:
            raise usage.UsageError(f"--sslport: {e}") from None
        options["sslport"] = listener.listen
    endpointOption(options, reactor, "sslport")
    options.tlsOptions = _tlsSettings(options, listener)


def _tlsSettings(options: "Options", listener: Optional[TLSListener]) -> Any:
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


def addTo(parts: Assembly) -> None:
    """
    Add the web site's listeners: HTTP on C{--webport} and, with C{--ssl},
    HTTPS on C{--sslport}, one site whose clients are held to one
    C{--web-rate} on both.  Given a login (C{--auth}), XML-RPC offers
    setUser over HTTPS.
    """
    options, reactor = parts.options, parts.reactor
    root = pages.UserStatusTree(
        parts.backend,
        templates=options.loadedTemplates,
        clock=reactor,
        login=parts.login,
        listUsers=not options["no-listing"],
        webfingerHosts=options["webfinger-hosts"],
    )
    # The limits own idle and lifetime timing (finger.net.limits); the site
    # only times each request, and keeps its clients to their rate.
    site = WebSite(
        root,
        clock=reactor,
        requestTimeout=options["timeout"],
        idleTimeout=None,
        rateLimiter=rateLimiter(options, reactor, "web-rate"),
    )
    parts.listen("web", "webport", site, busyResponse())
    if options["ssl"]:
        tlsFactory = TLSMemoryBIOFactory(options.tlsOptions, False, site, clock=reactor)
        parts.listen("https", "sslport", tlsFactory, b"")
