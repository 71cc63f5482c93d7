"""
Tests for L{finger.clients.xmlrpc}, the command-line XML-RPC client, against
small servers on loopback.  Its use against the real finger service is tested
in L{tests.app.test_tap_web}.
"""

import base64
from io import StringIO
from typing import List, Tuple

from twisted.internet import reactor
from twisted.internet.endpoints import serverFromString
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web import xmlrpc
from twisted.web.resource import Resource
from twisted.web.server import Site

from finger.clients.xmlrpc import main, readPassword, serverProxy
from tests.support import freePort


def _run(*args: str) -> Tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    code = main(list(args), out, err)
    return code, out.getvalue(), err.getvalue()


class _Hostile(xmlrpc.XMLRPC):
    """
    A server whose answers try to reach the user's terminal with the C1
    controls that XML lets through (C{\\x9b} is an 8-bit CSI).
    """

    def xmlrpc_getUser(self, name: str) -> str:
        return "fine\x9b2J\x85second line"

    def xmlrpc_getUsers(self) -> List[str]:
        return ["a\x9b31m", "b"]


class ServerTests(TestCase):
    """
    The client against a small Twisted XML-RPC server.
    """

    async def listen(self) -> None:
        root = Resource()
        root.putChild(b"RPC2", _Hostile())
        port = await serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(Site(root))
        self.addCleanup(port.stopListening)
        self.url = f"http://127.0.0.1:{port.getHost().port}/RPC2"

    async def test_controlCharacters(self) -> None:
        """
        Control characters from the server never reach the terminal.
        """
        await self.listen()
        code, out, err = await deferToThread(_run, self.url, "x")
        self.assertEqual((code, out, err), (0, "fine2J\nsecond line\n", ""))
        code, out, err = await deferToThread(_run, self.url)
        self.assertEqual((code, out, err), (0, "a31m\nb\n", ""))

    async def test_notFound(self) -> None:
        """
        A URL where no XML-RPC server is: one line with the HTTP error.
        """
        await self.listen()
        url = self.url.replace("/RPC2", "/elsewhere")
        code, out, err = await deferToThread(_run, url, "x")
        self.assertEqual((code, out), (1, ""))
        self.assertIn("HTTP 404", err)
        self.assertEqual(err.count("\n"), 1)


class ErrorTests(SynchronousTestCase):
    """
    Errors that need no server.
    """

    def test_refused(self) -> None:
        """
        Nothing listening: one line saying so, exit status 1.
        """
        url = f"http://127.0.0.1:{freePort()}/RPC2"
        code, out, err = _run(url, "moshez")
        self.assertEqual((code, out), (1, ""))
        self.assertTrue(err.startswith(f"finger.clients.xmlrpc: cannot talk to {url}: "), err)
        self.assertEqual(err.count("\n"), 1)

    def test_badURL(self) -> None:
        """
        A URL that is not HTTP: one line saying so.
        """
        code, out, err = _run("ftp://example/RPC2")
        self.assertEqual((code, out), (1, ""))
        self.assertIn("unsupported XML-RPC protocol", err)


class SetTests(SynchronousTestCase):
    """
    C{--set}: the checks made before anything is sent.
    """

    def run_(self, *args: str, password: str = "secret") -> Tuple[int, str, str]:
        self.prompts: List[str] = []

        def ask(prompt: str) -> str:
            self.prompts.append(prompt)
            return password

        out, err = StringIO(), StringIO()
        code = main(list(args), out, err, askPassword=ask)
        return code, out.getvalue(), err.getvalue()

    def test_plainHTTPRefused(self) -> None:
        """
        No password is asked for or sent over C{http://}.
        """
        url = f"http://127.0.0.1:{freePort()}/RPC2"
        self.assertEqual(
            self.run_("--set", "busy", url, "moshez"),
            (
                1,
                "",
                (
                    "finger.clients.xmlrpc: refusing to send a password over plain HTTP; "
                    "use an https:// URL\n"
                ),
            ),
        )
        self.assertEqual(self.prompts, [])
        self.assertRaises(ValueError, serverProxy, url, credentials=("moshez", "secret"))

    def test_needsUser(self) -> None:
        code, out, err = self.run_("--set", "busy", "https://localhost/RPC2")
        self.assertEqual((code, out), (1, ""))
        self.assertIn("--set needs the user", err)

    def test_loginOnlyWithSet(self) -> None:
        code, out, err = self.run_("--login", "root", "https://localhost/RPC2", "moshez")
        self.assertEqual((code, out), (1, ""))
        self.assertIn("--login and --password-file only go with --set", err)

    def test_passwordFile(self) -> None:
        """
        The password is the first line of C{--password-file}, without its
        line ending; a missing file is one line saying so.
        """
        path = self.mktemp()
        with open(path, "w", encoding="utf-8") as f:
            f.write("mot de passe\r\nsecond line\n")
        self.assertEqual(readPassword(path), "mot de passe")
        missing = self.mktemp()
        code, out, err = self.run_(
            "--set", "busy", "--password-file", missing, "https://localhost/RPC2", "moshez"
        )
        self.assertEqual((code, out), (1, ""))
        self.assertIn("cannot read the password", err)
        self.assertEqual(self.prompts, [])

    def test_noPassword(self) -> None:
        """
        End of input at the password prompt gives up without sending.
        """

        def eof(prompt: str) -> str:
            raise EOFError()

        out, err = StringIO(), StringIO()
        code = main(["--set", "x", "https://localhost/RPC2", "moshez"], out, err, askPassword=eof)
        self.assertEqual((code, err.getvalue()), (1, "finger.clients.xmlrpc: no password given\n"))

    def test_basicHeader(self) -> None:
        """
        The credentials go in an HTTP Basic header, UTF-8, not in the URL.
        """
        proxy = serverProxy("https://localhost/RPC2", credentials=("zoë", "là:x"))
        transport = proxy._ServerProxy__transport  # type: ignore[attr-defined]
        host, headers, _ = transport.get_host_info("localhost")
        self.assertEqual(host, "localhost")
        self.assertEqual(
            headers, [("Authorization", "Basic " + base64.b64encode("zoë:là:x".encode()).decode())]
        )
        host, headers, _ = transport.get_host_info("a:b@localhost")
        self.assertEqual(host, "localhost")
        self.assertEqual(len(headers), 1)
        self.assertNotIn(base64.b64encode(b"a:b").decode(), headers[0][1])
