"""
Tests for L{finger.xmlrpcclient}, the command-line XML-RPC client, against
small servers on loopback.  Its use against the real finger service is tested
in L{tests.test_tap_web}.
"""

from io import StringIO
from typing import List, Tuple

from twisted.internet import reactor
from twisted.internet.endpoints import serverFromString
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web import xmlrpc
from twisted.web.resource import Resource
from twisted.web.server import Site

from finger.xmlrpcclient import main
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
        self.assertTrue(err.startswith(f"finger.xmlrpcclient: cannot talk to {url}: "), err)
        self.assertEqual(err.count("\n"), 1)

    def test_badURL(self) -> None:
        """
        A URL that is not HTTP: one line saying so.
        """
        code, out, err = _run("ftp://example/RPC2")
        self.assertEqual((code, out), (1, ""))
        self.assertIn("unsupported XML-RPC protocol", err)
