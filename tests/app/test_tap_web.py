"""
Tests for the web front-end's part of L{finger.app.tap}: its options, and the
whole service on loopback talking to real clients: Twisted's L{Agent},
Python's L{xmlrpc.client}, the XML-RPC client script, HTTPS, and headless
Chromium.

They live apart from C{tests/app/test_tap.py} so that each front-end's tests of
the shared options module can be merged on their own.
"""

import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
import xmlrpc.client
from io import StringIO
from typing import Any, Dict, List, Optional, Tuple

from cryptography.hazmat.primitives.serialization import Encoding
from OpenSSL import SSL
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import clientFromString, connectProtocol
from twisted.internet.protocol import Protocol, connectionDone
from twisted.internet.ssl import Certificate
from twisted.internet.task import LoopingCall
from twisted.internet.threads import deferToThread
from twisted.internet.utils import getProcessOutputAndValue
from twisted.python import usage
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.client import Agent, BrowserLikePolicyForHTTPS, readBody
from twisted.web.http_headers import Headers

from finger.app import tap
from finger.net.listen import everyAddress
from finger.clients import xmlrpc as xmlrpcclient
from finger.frontends.web.site import ABORT_TIMEOUT, rawResponse
from finger.frontends.web.templates import defaultTemplatesDirectory
from finger.frontends.web.xmlrpc import XMLRPCGate
from finger.messages import (
    EMPTY_STATUS,
    HEADERS_TOO_LARGE,
    REQUEST_LINE_TOO_LONG,
    REQUEST_TOO_SLOW,
)
from finger.net.clients import ClientKey
from finger.net.rates import RateLimiter
from tests.certs import selfSigned
from tests.support import CHECKOUT, cleanEnvironment, freePort, which

_STATUSES = (
    "# test users\n"
    "moshez: happy & <well>\n"
    "zoë: in Paris – café\n"
)


def _statusFile(testCase: SynchronousTestCase, statuses: str = _STATUSES) -> str:
    path = testCase.mktemp()
    with open(path, "w", encoding="utf-8") as f:
        f.write(statuses)
    return path


def _certificateFile(testCase: SynchronousTestCase) -> Tuple[str, bytes]:
    certificate, key = selfSigned()
    path = testCase.mktemp()
    with open(path, "wb") as f:
        f.write(key + certificate)
    return path, certificate


class OptionsTests(SynchronousTestCase):
    """
    The web options: defaults, checks, and clear errors.
    """

    def setUp(self) -> None:
        self.file = _statusFile(self)

    def parse(self, *args: str) -> tap.Options:
        options = tap.Options()
        options.parseOptions(["--file", self.file, *args])
        return options

    def assertUsageError(self, args: List[str], *fragments: str) -> str:
        e = self.assertRaises(usage.UsageError, self.parse, *args)
        for fragment in fragments:
            self.assertIn(fragment, str(e))
        return str(e)

    def test_defaults(self) -> None:
        """
        The web listens on port 8000; HTTPS is off, and would use port 443
        and C{server.pem}; the shipped templates are used.
        """
        options = self.parse()
        self.assertEqual(options.config.web.port.description, everyAddress("8000"))
        self.assertFalse(options["ssl"])
        self.assertIsNone(options.config.web.https)
        self.assertEqual(options["sslport"], "443")
        self.assertEqual(options["certificate"], "server.pem")
        self.assertIsNone(options["privatekey"])
        self.assertEqual(options["templates"], defaultTemplatesDirectory())

    def test_helpShowsDefaults(self) -> None:
        """
        C{--help} shows every web option with its default.
        """
        text = " ".join(str(tap.Options()).split())
        for fragment in (
            "--webport=",
            "[default: 8000]",
            "-t, --templates=",
            "-s, --ssl",
            "--sslport=",
            "[default: 443]",
            "--certificate=",
            "[default: server.pem]",
            "--privatekey=",
            "[default: the --certificate file]",
        ):
            self.assertIn(fragment, text)

    def test_ports(self) -> None:
        """
        A bare port number means TCP on every address, IPv6 and IPv4.
        """
        path, _ = _certificateFile(self)
        options = self.parse("--webport", "8080", "-s", "--sslport", "8443", "--certificate", path)
        web = options.config.web
        assert web.https is not None
        self.assertEqual(web.port.description, everyAddress("8080"))
        self.assertEqual(web.https.port.description, everyAddress("8443"))

    def test_badWebport(self) -> None:
        """
        A C{--webport} that is neither a port nor an endpoint is an error
        naming the option.
        """
        self.assertUsageError(["--webport", "nonsense:1"], "--webport", "nonsense:1")

    def test_badSslport(self) -> None:
        """
        A bad C{--sslport} is an error naming the option; so is an C{ssl:}
        description whose key file is missing, or that would change the TLS
        settings.
        """
        path, _ = _certificateFile(self)
        self.assertUsageError(["-s", "--certificate", path, "--sslport", "nonsense:1"], "--sslport")
        missing = os.path.abspath(self.mktemp())
        self.assertUsageError(
            ["-s", "--certificate", path, "--sslport", f"ssl:443:privateKey={missing}"],
            "--sslport",
            f"cannot read the certificate file {missing}",
        )
        self.assertUsageError(
            ["-s", "--sslport", f"ssl:443:privateKey={path}:sslmethod=TLSv1_METHOD"],
            "--sslport",
            "TLS 1.2",
        )
        self.assertUsageError(["-s", "--sslport", f"ssl:nonsense:privateKey={path}"], "--sslport")

    def test_sslDescription(self) -> None:
        """
        Twisted's own C{ssl:} description is taken: it listens over TCP,
        with the certificate and key from its C{privateKey=} and
        C{certKey=} files, and no C{--certificate} is needed.
        """
        certificate, key = selfSigned()
        certificatePath, keyPath = os.path.abspath(self.mktemp()), os.path.abspath(self.mktemp())
        for path, data in ((certificatePath, certificate), (keyPath, key)):
            with open(path, "wb") as f:
                f.write(data)
        options = self.parse(
            "--ssl",
            "--certificate", "/nonexistent.pem",
            "--sslport", f"ssl:8443:privateKey={keyPath}:certKey={certificatePath}",
        )
        https = options.config.web.https
        assert https is not None
        self.assertEqual(https.port.description, "tcp:8443")
        self.assertEqual(
            https.tlsOptions.certificate.to_cryptography().public_bytes(Encoding.PEM),
            certificate,
        )
        # TLS 1.2 at least, which Twisted's own ssl: listener does not ask.
        disabled = https.tlsOptions.getContext().set_options(0)
        self.assertTrue(disabled & SSL.OP_NO_TLSv1_1)

    def test_templates(self) -> None:
        """
        C{--templates} (C{-t}) takes another directory; a missing template
        is an error naming the file.
        """
        options = self.parse("-t", defaultTemplatesDirectory())
        self.assertEqual(options["templates"], defaultTemplatesDirectory())
        missing = self.mktemp()
        os.mkdir(missing)
        self.assertUsageError(
            ["--templates", missing], "--templates", os.path.join(missing, "users.xhtml")
        )

    def test_malformedTemplate(self) -> None:
        """
        A malformed template stops start-up with its name.
        """
        directory = self.mktemp()
        os.mkdir(directory)
        for name in os.listdir(defaultTemplatesDirectory()):
            with open(os.path.join(defaultTemplatesDirectory(), name), "rb") as f:
                data = f.read()
            with open(os.path.join(directory, name), "wb") as f:
                f.write(data)
        with open(os.path.join(directory, "user.xhtml"), "w") as f:
            f.write("<html><p></html>")
        self.assertUsageError(
            ["-t", directory], "--templates", os.path.join(directory, "user.xhtml"), "not well-formed"
        )

    def test_certificateOnlyWithSSL(self) -> None:
        """
        Without C{--ssl}, the certificate is not read.
        """
        self.parse("--certificate", "/nonexistent.pem")

    def test_missingCertificate(self) -> None:
        """
        C{--ssl} with a missing certificate is an error naming the option and
        the file.
        """
        path = os.path.abspath(self.mktemp())
        self.assertUsageError(
            ["--ssl", "--certificate", path],
            f"--certificate: cannot read the certificate file {path}",
        )

    def test_missingKey(self) -> None:
        """
        C{--ssl} with a missing private key names C{--privatekey}.
        """
        path, certificate = _certificateFile(self)
        key = os.path.abspath(self.mktemp())
        self.assertUsageError(
            ["--ssl", "--certificate", path, "--privatekey", key],
            f"--privatekey: cannot read the private key file {key}",
        )


class WebRateOptionsTests(SynchronousTestCase):
    """
    C{--web-rate}: one limiter for the site, on HTTP and HTTPS, built from
    the options every per-client limit shares.
    """

    def makeService(self, *args: str) -> Any:
        options = tap.Options()
        options.parseOptions(["--file", _statusFile(self), *args])
        return tap.makeService(options)

    def site(self, top: Any, name: str = "web") -> Any:
        factory = top.getServiceNamed(name).factory.wrappedFactory
        return factory.wrappedFactory if name == "https" else factory

    def test_default(self) -> None:
        """
        By default each client may make 20 requests a second, in bursts of
        40; loopback is exempt; HTTP and HTTPS share the one limiter.
        """
        path, _ = _certificateFile(self)
        top = self.makeService("--ssl", "--certificate", path)
        limiter = self.site(top).rateLimiter
        self.assertIsInstance(limiter, RateLimiter)
        self.assertEqual((limiter.rate, limiter.burst), (20.0, 40.0))
        self.assertFalse(limiter.limitLoopback)
        self.assertEqual(limiter.clientKey, ClientKey(64))
        self.assertIs(self.site(top, "https"), self.site(top))
        self.assertIsNone(top.getServiceNamed("web").factory.rateLimiter)

    def test_options(self) -> None:
        """
        C{--web-rate} sets the rate; C{--rate-limit-loopback} and
        C{--ipv6-prefix} apply to it as to every per-client limit.
        """
        top = self.makeService(
            "--web-rate", "2.5", "--rate-limit-loopback", "--ipv6-prefix", "48"
        )
        limiter = self.site(top).rateLimiter
        self.assertEqual((limiter.rate, limiter.burst), (2.5, 5.0))
        self.assertTrue(limiter.limitLoopback)
        self.assertEqual(limiter.clientKey, ClientKey(48))

    def test_off(self) -> None:
        """
        C{--web-rate 0} turns the limit off.
        """
        self.assertIsNone(self.site(self.makeService("--web-rate", "0")).rateLimiter)

    def test_timeout(self) -> None:
        """
        C{--timeout} is the time each web request has.
        """
        self.assertEqual(self.site(self.makeService("--timeout", "7")).requestTimeout, 7.0)

    def test_badRate(self) -> None:
        """
        A negative or non-numeric rate is an error naming the option.
        """
        for value in ("-1", "fast", "inf"):
            options = tap.Options()
            e = self.assertRaises(
                usage.UsageError,
                options.parseOptions,
                ["--file", _statusFile(self), "--web-rate", value],
            )
            self.assertIn("--web-rate", str(e))

    def test_help(self) -> None:
        """
        C{--help} shows C{--web-rate} with its default.
        """
        text = " ".join(str(tap.Options()).split())
        self.assertIn("--web-rate=", text)
        self.assertIn("--web-rate=", text)
        self.assertRegex(text, r"--web-rate=\S* .*\[default: 20")


class SettingOptionsTests(SynchronousTestCase):
    """
    C{--auth} reaches XML-RPC: the web site logs in through the setter's own
    L{finger.auth.SetterLogin}.
    """

    def gate(self, top: Any) -> XMLRPCGate:
        site = top.getServiceNamed("web").factory.wrappedFactory
        gate = site.resource.children[b"RPC2"]
        assert isinstance(gate, XMLRPCGate)
        return gate

    def makeService(self, *args: str) -> Any:
        options = tap.Options()
        options.parseOptions(["--file", _statusFile(self), *args])
        return tap.makeService(options)

    def test_sameLogin(self) -> None:
        """
        With C{--auth}, C{/RPC2} and the setter share one login, admins
        included.
        """
        top = self.makeService("--auth", "memory:moshez:secret:root:toor", "--admins", "root")
        login = self.gate(top).login
        self.assertIsNotNone(login)
        self.assertIs(login, top.getServiceNamed("setter").factory.wrappedFactory.login)
        assert login is not None
        self.assertEqual(login.portal.realm.admins, {"root"})  # type: ignore[attr-defined]

    def test_noSetter(self) -> None:
        """
        C{--no-setter} turns off the setter's port, not XML-RPC's setUser.
        """
        top = self.makeService("--auth", "memory:moshez:secret", "--no-setter")
        self.assertIsNotNone(self.gate(top).login)

    def test_withoutAuth(self) -> None:
        """
        Without C{--auth}, XML-RPC has no login.
        """
        self.assertIsNone(self.gate(self.makeService()).login)


class TwistdTests(TestCase):
    """
    C{twistd finger} itself, for what only the real command shows.
    """

    def test_startupError(self) -> "Deferred[None]":
        """
        A missing certificate stops C{twistd finger --ssl} with a message
        naming the file, and no traceback.
        """
        missing = os.path.abspath(self.mktemp())
        d = getProcessOutputAndValue(
            sys.executable,
            [
                "-c", "from twisted.scripts.twistd import run; run()",
                "-n", "--pidfile=", "finger",
                "--file", _statusFile(self), "--ssl", "--certificate", missing,
            ],
            env=cleanEnvironment(PYTHONPATH=CHECKOUT),
        )

        def check(result: Tuple[bytes, bytes, int]) -> None:
            out, err, code = result
            self.assertNotEqual(code, 0)
            self.assertIn(f"cannot read the certificate file {missing}".encode(), out + err)
            self.assertNotIn(b"Traceback", out + err)

        return d.addCallback(check)


class OwnTemplatesTests(TestCase):
    """
    C{--templates DIR} is all the site reads: an installed copy whose shipped
    templates are missing or broken still starts with its own.
    """

    def test_shippedTemplatesAbsent(self) -> "Deferred[None]":
        """
        With a copy of the package that has no shipped templates anywhere,
        C{makeService} builds the service from C{--templates DIR}.
        """
        root = os.path.abspath(self.mktemp())
        package = os.path.dirname(os.path.dirname(os.path.abspath(tap.__file__)))
        shutil.copytree(
            package,
            os.path.join(root, "finger"),
            ignore=shutil.ignore_patterns("templates", "__pycache__"),
        )
        own = os.path.join(root, "own")
        shutil.copytree(defaultTemplatesDirectory(), own)
        script = (
            "import os, sys\n"
            "from finger.app import tap\n"
            "from finger.frontends.web.templates import defaultTemplatesDirectory\n"
            "assert tap.__file__.startswith(sys.argv[1]), tap.__file__\n"
            "assert not os.path.exists(defaultTemplatesDirectory())\n"
            "options = tap.Options()\n"
            "options.parseOptions(sys.argv[2:])\n"
            "tap.makeService(options)\n"
            "print('built')\n"
        )
        d = getProcessOutputAndValue(
            sys.executable,
            ["-c", script, root, "--file", _statusFile(self), "--templates", own],
            env=cleanEnvironment(PYTHONPATH=root),
        )

        def check(result: Tuple[bytes, bytes, int]) -> None:
            out, err, code = result
            self.assertEqual((out, code), (b"built\n", 0), err.decode("utf-8", "replace"))

        return d.addCallback(check)


class _Running:
    """
    The whole finger service, started from options on loopback ports.
    """

    def __init__(
        self,
        testCase: TestCase,
        *args: str,
        statuses: str = _STATUSES,
        sslport: str = "tcp:{}:interface=127.0.0.1",
    ) -> None:
        self.webPort = freePort()
        self.sslPort = freePort()
        self.file = _statusFile(testCase, statuses)
        options = tap.Options()
        options.parseOptions(
            [
                "--file", self.file,
                "--fingerport", "tcp:0:interface=127.0.0.1",
                "--pbport", "tcp:0:interface=127.0.0.1",
                "--no-setter",
                "--webport", f"tcp:{self.webPort}:interface=127.0.0.1",
                "--sslport", sslport.format(self.sslPort),
                "--pbport", "tcp:0:interface=127.0.0.1",
                *args,
            ]
        )
        self.service = tap.makeService(options, reactor)
        self.service.privilegedStartService()
        self.service.startService()
        testCase.addCleanup(self.service.stopService)
        self.http = f"http://127.0.0.1:{self.webPort}"
        self.https = f"https://127.0.0.1:{self.sslPort}"


async def _get(
    agent: Agent, url: str, headers: Optional[Dict[bytes, List[bytes]]] = None
) -> Tuple[int, Headers, bytes]:
    response = await agent.request(b"GET", url.encode("ascii"), Headers(headers or {}))
    body = await readBody(response)
    return response.code, response.headers, body


def _setUser(url: str, status: str, context: Optional[ssl.SSLContext] = None) -> object:
    """
    Call C{setUser("moshez", status)} over XML-RPC at C{url}, blocking (run
    it in a thread).

    @return: what the call returned, or the L{xmlrpc.client.Fault} it
        raised.
    """
    with xmlrpc.client.ServerProxy(url, context=context) as proxy:
        try:
            return proxy.setUser("moshez", status)
        except xmlrpc.client.Fault as f:
            return f


class ServiceTests(TestCase):
    """
    The running service, over HTTP on loopback, with real clients.
    """

    def setUp(self) -> None:
        self.running = _Running(self)
        self.agent = Agent(reactor)

    async def test_pages(self) -> None:
        """
        The front page links every user; a user's page, a non-ASCII name
        included, shows the status; an unknown user is a 404.
        """
        code, headers, body = await _get(self.agent, self.running.http + "/")
        self.assertEqual(code, 200)
        self.assertEqual(headers.getRawHeaders(b"content-type"), [b"text/html; charset=utf-8"])
        self.assertEqual(headers.getRawHeaders(b"x-content-type-options"), [b"nosniff"])
        self.assertIn('<a href="./zo%C3%AB">zoë</a>', body.decode("utf-8"))

        code, headers, body = await _get(self.agent, self.running.http + "/zo%C3%AB")
        self.assertEqual(code, 200)
        self.assertIn("in Paris – café", body.decode("utf-8"))

        code, headers, body = await _get(self.agent, self.running.http + "/moshez")
        self.assertIn("happy &amp; &lt;well&gt;", body.decode("utf-8"))

        code, headers, body = await _get(self.agent, self.running.http + "/nobody")
        self.assertEqual(code, 404)
        self.assertIn(b"No such user", body)

    async def test_json(self) -> None:
        """
        JSON by C{Accept} and at C{/api/users/USER}.
        """
        code, headers, body = await _get(
            self.agent, self.running.http + "/moshez", {b"accept": [b"application/json"]}
        )
        self.assertEqual(json.loads(body), {"user": "moshez", "status": "happy & <well>"})
        code, headers, body = await _get(self.agent, self.running.http + "/api/users/zo%C3%AB")
        self.assertEqual(json.loads(body), {"user": "zoë", "status": "in Paris – café"})

    async def test_xmlrpc(self) -> None:
        """
        Python's L{xmlrpc.client} gets statuses and the user list, and a
        fault for wrong arguments.
        """
        url = self.running.http + "/RPC2"

        def call() -> Tuple[object, object, object, object]:
            with xmlrpc.client.ServerProxy(url) as proxy:
                try:
                    proxy.getUser(1, 2)
                except xmlrpc.client.Fault as f:
                    fault: object = f
                return proxy.getUser("zoë"), proxy.getUser("nobody"), proxy.getUsers(), fault

        status, unknown, users, fault = await deferToThread(call)
        self.assertEqual(status, "in Paris – café")
        self.assertEqual(unknown, "No such user")
        self.assertEqual(sorted(users), ["moshez", "zoë"])  # type: ignore[call-overload]
        assert isinstance(fault, xmlrpc.client.Fault)
        self.assertEqual(fault.faultCode, -32602)

    async def test_xmlrpcClient(self) -> None:
        """
        The client script prints a status, or the users.
        """
        url = self.running.http + "/RPC2"

        def run(*args: str) -> Tuple[int, str, str]:
            out, err = StringIO(), StringIO()
            code = xmlrpcclient.main([url, *args], out, err)
            return code, out.getvalue(), err.getvalue()

        self.assertEqual(await deferToThread(run, "moshez"), (0, "happy & <well>\n", ""))
        self.assertEqual(await deferToThread(run, "nobody"), (0, "No such user\n", ""))
        code, out, err = await deferToThread(run)
        self.assertEqual((code, sorted(out.splitlines())), (0, ["moshez", "zoë"]))

    async def test_xmlrpcClientCommand(self) -> None:
        """
        C{python -m finger.clients.xmlrpc URL USER} works as a command.
        """
        out, err, code = await getProcessOutputAndValue(
            sys.executable,
            ["-bb", "-m", "finger.clients.xmlrpc", self.running.http + "/RPC2", "zoë"],
            env=cleanEnvironment(PYTHONPATH=CHECKOUT, PYTHONIOENCODING="utf-8"),
        )
        self.assertEqual((out.decode("utf-8"), err, code), ("in Paris – café\n", b"", 0))

    async def test_chromium(self) -> None:
        """
        Headless Chromium shows a user's page with the status in its DOM.
        """
        dom = await _chromium(self, self.running.http + "/zo%C3%AB")
        self.assertIn("<h1>zoë</h1>", dom)
        self.assertIn(
            f'id="status" class="status" data-live-user="zoë" data-live-empty="{EMPTY_STATUS}">'
            "in Paris – café</p>",
            dom,
        )

    async def test_emptyStatusAndNoComments(self) -> None:
        """
        Chromium shows a sentence, not an empty box, for a user whose
        status is empty; no page's source carries the templates' comments.
        """
        running = _Running(self, statuses="quiet:\nmoshez: happy\n")
        dom = await _chromium(self, running.http + "/quiet")
        self.assertIn(
            f'id="status" class="status empty" data-live-user="quiet" '
            f'data-live-empty="{EMPTY_STATUS}">{EMPTY_STATUS}</p>',
            dom,
        )
        for path in ["/", "/moshez", "/quiet", "/nobody"]:
            code, headers, body = await _get(self.agent, running.http + path)
            self.assertNotIn(b"<!--", body, path)
            self.assertNotIn(b"Renderer", body, path)

    async def test_dotUsers(self) -> None:
        """
        The users C{.} and C{..} are linked from the front page so that
        Chromium, resolving each link against the page's URL, reaches their
        pages, not the site's root.
        """
        running = _Running(self, statuses=".: one dot\n..: two dots\n")
        code, headers, body = await _get(self.agent, running.http + "/")
        anchors = re.findall(r'<a href="([^"]*)">([^<]*)</a>', body.decode())
        links = {name: href for href, name in anchors}
        for name, status in ((".", "one dot"), ("..", "two dots")):
            dom = await _chromium(self, running.http + "/" + links[name])
            self.assertIn(f"<h1>{name}</h1>", dom)
            self.assertIn(
                f'id="status" class="status" data-live-user="{name}" '
                f'data-live-empty="{EMPTY_STATUS}">{status}</p>',
                dom,
            )


class _Trickle(Protocol):
    """
    A client that sends the start of a request's head, then one more byte
    of a header every C{interval} seconds, C{count} at most, and collects
    what the server says until it closes.
    """

    def __init__(self, interval: float, count: int) -> None:
        self.interval = interval
        self.left = count
        self.received: List[bytes] = []
        self.done: "Deferred[bytes]" = Deferred()
        self.loop = LoopingCall(self.trickle)
        self.loop.clock = reactor  # type: ignore[assignment]

    def connectionMade(self) -> None:
        transport: Any = self.transport
        transport.write(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        self.loop.start(self.interval, now=False)

    def trickle(self) -> None:
        transport: Any = self.transport
        if self.left:
            self.left -= 1
            transport.write(b"x")

    def dataReceived(self, data: bytes) -> None:
        self.received.append(data)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.loop.stop()
        self.done.callback(b"".join(self.received))


class SlowClientTests(TestCase):
    """
    C{--timeout} bounds how long a web client may take to send its
    request, however it paces its bytes.
    """

    async def test_trickledHeaders(self) -> None:
        """
        A client that sends a header byte more often than C{--timeout}
        (so the idle timeout never fires) is answered C{408} and closed
        before its head is complete.
        """
        running = _Running(self, "--timeout", "0.5")
        client = _Trickle(interval=0.1, count=100)
        endpoint = clientFromString(reactor, f"tcp:127.0.0.1:{running.webPort}")
        await connectProtocol(endpoint, client)
        received = await client.done
        self.assertEqual(received, rawResponse(408, b"Request Timeout", REQUEST_TOO_SLOW))


def _exchange(
    port: int, send: bytes = b"", tls: bool = False, then: bytes = b"", every: float = 0.0,
    limit: float = 30.0,
) -> Tuple[Optional[float], bytes]:
    """
    Connect to C{port} on loopback (over TLS, trusting anything, if C{tls}),
    send C{send}, then the bytes of C{then} one every C{every} seconds, and
    read until the server closes or C{limit} seconds have passed; in a
    thread.

    @return: seconds from the connection to the server's close (L{None} if
        it did not), and what the server sent.
    """
    raw = socket.create_connection(("127.0.0.1", port))
    sock: socket.socket = raw
    if tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        sock = context.wrap_socket(raw)
    started = time.monotonic()
    received = b""
    try:
        sock.sendall(send)
        left = list(then)
        nextByte = started + every
        while True:
            now = time.monotonic()
            if now - started > limit:
                return None, received
            if left and now >= nextByte:
                sock.sendall(bytes([left.pop(0)]))
                nextByte += every
            wait = min(nextByte - now if left else limit, started + limit - now)
            sock.settimeout(max(0.01, wait))
            try:
                data = sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return time.monotonic() - started, received
            if not data:
                return time.monotonic() - started, received
            received += data
    finally:
        sock.close()


def _clientHello() -> bytes:
    """
    The first flight of a TLS client.
    """
    context = ssl.create_default_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname="localhost")
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


class RequestLimitTests(TestCase):
    """
    The whole service on loopback, with C{--timeout 0.5}: every part of a
    web request, and a TLS handshake, must arrive in time, over HTTP and
    HTTPS; a request line or headers over the limit are answered and
    closed.
    """

    deadline = 0.5

    def setUp(self) -> None:
        path, _ = _certificateFile(self)
        self.running = _Running(
            self, "--timeout", str(self.deadline), "--ssl", "--certificate", path
        )

    async def exchange(self, *args: Any, **kwargs: Any) -> Tuple[Optional[float], bytes]:
        return await deferToThread(_exchange, *args, **kwargs)

    def assertClosedBy(self, closed: Optional[float], seconds: float) -> None:
        self.assertIsNotNone(closed, "still open")
        assert closed is not None
        self.assertLess(closed, seconds)

    async def test_slowBody(self) -> None:
        """
        A POST body sent a byte at a time, with C{Content-Length} or
        chunked, is answered C{408} and closed at the deadline.
        """
        head = b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n"
        for framing, body in (
            (b"Content-Length: 100\r\n\r\n", b"x" * 100),
            (b"Transfer-Encoding: chunked\r\n\r\n", b"1\r\nx\r\n" * 20),
        ):
            closed, received = await self.exchange(
                self.running.webPort, head + framing, then=body, every=0.1
            )
            self.assertEqual(received, rawResponse(408, b"Request Timeout", REQUEST_TOO_SLOW))
            self.assertClosedBy(closed, 5)

    async def test_idleKeepAlive(self) -> None:
        """
        A keep-alive connection that sends no next request is closed at the
        deadline, with nothing more said.
        """
        closed, received = await self.exchange(
            self.running.webPort, b"GET /moshez HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        self.assertTrue(received.startswith(b"HTTP/1.1 200 "), received)
        self.assertEqual(received.count(b"HTTP/1.1 "), 1)
        self.assertClosedBy(closed, 5)

    async def test_silentTLS(self) -> None:
        """
        A client that never begins its TLS handshake is closed at the
        deadline (and the short wait for a clean close), not held until the
        idle timeout.
        """
        closed, received = await self.exchange(self.running.sslPort)
        self.assertEqual(received, b"")
        self.assertClosedBy(closed, self.deadline + ABORT_TIMEOUT + 2)

    async def test_halfClientHello(self) -> None:
        """
        A client that sends half its ClientHello is closed the same way.
        """
        hello = _clientHello()
        closed, received = await self.exchange(self.running.sslPort, hello[: len(hello) // 2])
        self.assertEqual(received, b"")
        self.assertClosedBy(closed, self.deadline + ABORT_TIMEOUT + 2)

    async def test_slowHTTPS(self) -> None:
        """
        Over HTTPS, a request too slow is answered C{408} and closed.
        """
        closed, received = await self.exchange(
            self.running.sslPort, b"GET / HTTP/1.1\r\n", tls=True, then=b"Host: x", every=0.1
        )
        self.assertEqual(received, rawResponse(408, b"Request Timeout", REQUEST_TOO_SLOW))
        self.assertClosedBy(closed, 5)

    async def test_longHead(self) -> None:
        """
        A 16.5 KiB request line is answered C{414}, and 17 KiB of headers
        C{431}, then the connection is closed, over HTTP and HTTPS.
        """
        line = b"GET /" + b"a" * (16 * 1024 + 512) + b" HTTP/1.1\r\nHost: x\r\n\r\n"
        headers = b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: %s\r\n" % (b"b" * 1000,) * 17
        for port, tls in ((self.running.webPort, False), (self.running.sslPort, True)):
            closed, received = await self.exchange(port, line, tls=tls)
            self.assertEqual(received, rawResponse(414, b"URI Too Long", REQUEST_LINE_TOO_LONG))
            self.assertClosedBy(closed, 5)
            closed, received = await self.exchange(port, headers + b"\r\n", tls=tls)
            self.assertEqual(
                received,
                rawResponse(431, b"Request Header Fields Too Large", HEADERS_TOO_LARGE),
            )
            self.assertClosedBy(closed, 5)


class WebRateTests(TestCase):
    """
    C{--web-rate} on the running service: a client pipelining over HTTPS
    is served at its rate.
    """

    async def test_pipelinedHTTPS(self) -> None:
        """
        With C{--rate-limit-loopback}, 16 requests pipelined on one HTTPS
        connection at 4 a second are answered a burst of 8 at once, the
        rest one each 0.25 seconds: all 16, in 2 seconds, not at once.
        """
        path, _ = _certificateFile(self)
        running = _Running(
            self, "--ssl", "--certificate", path, "--rate-limit-loopback", "--web-rate", "4"
        )
        requests = b"GET /moshez HTTP/1.1\r\nHost: x\r\n\r\n" * 15
        last = b"GET /moshez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        started = time.monotonic()
        closed, received = await deferToThread(
            _exchange, running.sslPort, requests + last, tls=True
        )
        self.assertEqual(received.count(b"HTTP/1.1 200 "), 16)
        self.assertIsNotNone(closed)
        self.assertGreater(time.monotonic() - started, 1.9)


async def _chromium(testCase: TestCase, url: str) -> str:
    """
    The DOM headless Chromium makes of C{url}, after parsing the URL as a
    browser does; the test is skipped without Chromium.
    """
    chromium = which("chromium")
    if chromium is None:
        raise testCase.skipTest("chromium is not installed (apt-get install chromium)")
    profile = os.path.abspath(testCase.mktemp())

    def browse() -> "subprocess.CompletedProcess[bytes]":
        return subprocess.run(
            [
                chromium, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", f"--user-data-dir={profile}", url,
            ],
            capture_output=True,
            timeout=90,
            check=False,
        )

    result = await deferToThread(browse)
    testCase.assertEqual(result.returncode, 0, result.stderr[-2000:])
    return result.stdout.decode("utf-8")


class _HTTPSPage:
    """
    What every HTTPS listener must serve, whichever way its certificate was
    given: mixed into a L{TestCase} whose C{setUp} sets C{running} and an
    C{agent} that trusts it.
    """

    running: "_Running"
    agent: Agent
    assertEqual: Any
    assertIn: Any

    async def test_page(self) -> None:
        """
        A user's page over HTTPS, checked against the certificate.
        """
        code, headers, body = await _get(self.agent, self.running.https + "/zo%C3%AB")
        self.assertEqual(code, 200)
        self.assertIn("in Paris – café", body.decode("utf-8"))


class HTTPSTests(_HTTPSPage, TestCase):
    """
    C{--ssl}: the same site over HTTPS, with a certificate made here.
    """

    def setUp(self) -> None:
        path, certificate = _certificateFile(self)
        self.certificateFile = path
        self.running = _Running(self, "--ssl", "--certificate", path)
        trust = Certificate.loadPEM(certificate)
        self.agent = Agent(reactor, contextFactory=BrowserLikePolicyForHTTPS(trustRoot=trust))

    async def test_xmlrpcClient(self) -> None:
        """
        The client script talks to HTTPS with C{--cafile}.
        """
        url = self.running.https + "/RPC2"

        def run() -> Tuple[int, str, str]:
            out, err = StringIO(), StringIO()
            code = xmlrpcclient.main(["--cafile", self.certificateFile, url, "moshez"], out, err)
            return code, out.getvalue(), err.getvalue()

        self.assertEqual(await deferToThread(run), (0, "happy & <well>\n", ""))

    async def test_untrusted(self) -> None:
        """
        Without the certificate, the client script refuses the server and
        says so on one line.
        """
        url = self.running.https + "/RPC2"

        def run() -> Tuple[int, str, str]:
            out, err = StringIO(), StringIO()
            code = xmlrpcclient.main([url, "moshez"], out, err)
            return code, out.getvalue(), err.getvalue()

        code, out, err = await deferToThread(run)
        self.assertEqual((code, out), (1, ""))
        self.assertIn("certificate verify failed", err)
        self.assertEqual(err.count("\n"), 1)


class SSLDescriptionTests(_HTTPSPage, TestCase):
    """
    C{--sslport ssl:...}: Twisted's TLS description, its files supplying
    the certificate, with the server's own TLS settings.
    """

    def setUp(self) -> None:
        certificate, key = selfSigned()
        self.certificatePath = os.path.abspath(self.mktemp())
        keyPath = os.path.abspath(self.mktemp())
        for path, data in ((self.certificatePath, certificate), (keyPath, key)):
            with open(path, "wb") as f:
                f.write(data)
        self.running = _Running(
            self,
            "--ssl",
            sslport=f"ssl:{{}}:privateKey={keyPath}:certKey={self.certificatePath}"
            ":interface=127.0.0.1",
        )
        trust = Certificate.loadPEM(certificate)
        self.agent = Agent(reactor, contextFactory=BrowserLikePolicyForHTTPS(trustRoot=trust))


class XMLRPCSettingTests(TestCase):
    """
    C{setUser} over XML-RPC with C{--auth} and C{--ssl}: Python's
    L{xmlrpc.client} and the client script against the running service.
    """

    def setUp(self) -> None:
        path, _ = _certificateFile(self)
        self.certificateFile = path
        self.running = _Running(
            self,
            "--ssl", "--certificate", path,
            "--auth", "memory:moshez:secret:root:toor",
            "--admins", "root",
            "--login-delay", "0.01",
        )
        self.context = ssl.create_default_context(cafile=path)

    def proxy(self, url: str) -> xmlrpc.client.ServerProxy:
        return xmlrpc.client.ServerProxy(url, context=self.context)

    def statusFile(self) -> str:
        with open(self.running.file, encoding="utf-8") as f:
            return f.read()

    async def test_setUser(self) -> None:
        """
        Over HTTPS, logged in with HTTP Basic, a user sets their status:
        C{True}, then C{getUser} (over HTTPS and HTTP) and the status file
        have it.
        """
        https = self.running.https.replace("https://", "https://moshez:secret@") + "/RPC2"

        def call() -> Tuple[object, object, object]:
            with self.proxy(https) as proxy, self.proxy(self.running.http + "/RPC2") as plain:
                return proxy.setUser("moshez", "new status – ok"), proxy.getUser("moshez"), plain.getUser("moshez")

        saved, status, plainStatus = await deferToThread(call)
        self.assertIs(saved, True)
        self.assertEqual(status, "new status – ok")
        self.assertEqual(plainStatus, "new status – ok")
        self.assertIn("moshez: new status – ok\n", self.statusFile())

    async def test_notAllowed(self) -> None:
        """
        A user who is not an admin gets a fault for someone else's status;
        an admin may set it.
        """
        base = self.running.https + "/RPC2"

        def call() -> Tuple[object, object]:
            with self.proxy(base.replace("https://", "https://moshez:secret@")) as proxy:
                try:
                    proxy.setUser("zoë", "hacked")
                except xmlrpc.client.Fault as f:
                    fault: object = f
            with self.proxy(base.replace("https://", "https://root:toor@")) as proxy:
                return fault, proxy.setUser("zoë", "away")

        fault, saved = await deferToThread(call)
        assert isinstance(fault, xmlrpc.client.Fault)
        self.assertEqual(fault.faultCode, 403)
        self.assertIs(saved, True)
        self.assertIn("zoë: away\n", self.statusFile())

    async def test_plainHTTP(self) -> None:
        """
        Over plain HTTP, C{setUser} is a fault saying it needs HTTPS, with
        or without credentials; nothing changes.
        """
        url = self.running.http.replace("http://", "http://moshez:secret@") + "/RPC2"

        fault = await deferToThread(_setUser, url, "over http")
        assert isinstance(fault, xmlrpc.client.Fault)
        self.assertEqual(fault.faultCode, 426)
        self.assertIn("setUser needs HTTPS", fault.faultString)
        self.assertNotIn("over http", self.statusFile())

    def run_(self, *args: str) -> Tuple[int, str, str]:
        out, err = StringIO(), StringIO()
        code = xmlrpcclient.main(
            ["--cafile", self.certificateFile, *args], out, err, askPassword=lambda prompt: "secret"
        )
        return code, out.getvalue(), err.getvalue()

    async def test_clientScript(self) -> None:
        """
        C{--set} sets a status, with the password asked for or read from
        C{--password-file}, and as an admin with C{--login}.
        """
        url = self.running.https + "/RPC2"
        self.assertEqual(
            await deferToThread(self.run_, "--set", "on the phone", url, "moshez"),
            (0, "status of moshez saved\n", ""),
        )
        self.assertIn("moshez: on the phone\n", self.statusFile())
        passwordFile = self.mktemp()
        with open(passwordFile, "w") as f:
            f.write("toor\n")
        self.assertEqual(
            await deferToThread(
                self.run_, "--set", "out", "--login", "root", "--password-file", passwordFile,
                url, "zoë",
            ),
            (0, "status of zoë saved\n", ""),
        )
        self.assertIn("zoë: out\n", self.statusFile())

    async def test_clientScriptLoginFailed(self) -> None:
        """
        A wrong password: one line saying the login failed, exit status 1,
        nothing changed.
        """
        passwordFile = self.mktemp()
        with open(passwordFile, "w") as f:
            f.write("wrong\n")
        url = self.running.https + "/RPC2"
        result = await deferToThread(
            self.run_, "--set", "hacked", "--password-file", passwordFile, url, "moshez"
        )
        self.assertEqual(result, (1, "", "finger.clients.xmlrpc: login failed\n"))
        self.assertNotIn("hacked", self.statusFile())

    async def test_withoutAuth(self) -> None:
        """
        Without C{--auth}, even over HTTPS, there is no C{setUser}.
        """
        path, _ = _certificateFile(self)
        running = _Running(self, "--ssl", "--certificate", path)
        context = ssl.create_default_context(cafile=path)
        url = running.https.replace("https://", "https://moshez:secret@") + "/RPC2"

        fault = await deferToThread(_setUser, url, "x", context)
        assert isinstance(fault, xmlrpc.client.Fault)
        self.assertEqual(fault.faultCode, -32601)
        self.assertIn("--auth", fault.faultString)
