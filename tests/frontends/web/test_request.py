# -*- test-case-name: tests.frontends.web.test_request -*-
"""
Tests for L{finger.frontends.web.request}: the helpers every part of the
site uses.
"""

import json
from typing import Callable, List, Tuple

from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.resource import Resource
from twisted.web.server import Request

from finger.backends.memory import MemoryFingerService
from finger.frontends.web.pages import UserStatusTree
from finger.frontends.web.request import (
    Answer,
    WebAnswers,
    displayStatus,
    plainText,
    serve,
    userName,
    userPath,
)
from finger.lookup import LookupPolicy
from finger.messages import INTERNAL_ERROR
from tests.frontends.web.helpers import Client


class HelperTests(SynchronousTestCase):
    """
    How users are named in URLs and statuses shown.
    """

    def test_userPath(self) -> None:
        """
        A user's path segment is percent-encoded UTF-8, with C{/} and every
        other reserved character quoted.
        """
        self.assertEqual(userPath("zoë"), "zo%C3%AB")
        self.assertEqual(userPath("a/b"), "a%2Fb")
        self.assertEqual(userPath('a"b<c>?#&%'), "a%22b%3Cc%3E%3F%23%26%25")

    def test_dotNames(self) -> None:
        """
        The users C{.} and C{..} get a segment that no browser takes for a
        path step (the URL standard reads C{%2E} as C{.} too), and that
        L{userName} reads back; no other name reads as them.
        """
        self.assertEqual(userPath("."), ".@")
        self.assertEqual(userPath(".."), "..@")
        self.assertEqual(userPath("..."), "...")
        self.assertEqual(userName(b".@"), (".", True))
        self.assertEqual(userName(b"..@"), ("..", True))
        # What the percent-decoded path gives for /%2E, from a client that
        # does not remove dot segments.
        self.assertEqual(userName(b"."), (".", True))
        self.assertEqual(userName(b"...@"), ("...@", False))
        self.assertEqual(userName(b"@"), ("@", False))

    def test_dotNamePages(self) -> None:
        """
        The users list links C{.} and C{..} to their pages, and the pages
        and the JSON view show them.
        """
        client = Client(
            UserStatusTree(MemoryFingerService(**{".": "one", "..": "two"}), clock=Clock())
        )
        code, headers, body = client.request(b"/")
        self.assertIn(b'<a href="./.@">.</a>', body)
        self.assertIn(b'<a href="./..@">..</a>', body)
        code, headers, body = client.request(b"/.@")
        self.assertEqual(code, 200)
        self.assertIn(b"<h1>.</h1>", body)
        self.assertIn(b'href="./api/users/.@"', body)
        code, headers, body = client.request(b"/..@")
        self.assertIn(b"<h1>..</h1>", body)
        code, headers, body = client.request(b"/api/users/..@")
        self.assertEqual(json.loads(body), {"user": "..", "status": "two"})

    def test_displayStatus(self) -> None:
        """
        Control characters go; lines stay.
        """
        self.assertEqual(displayStatus("red\x1b[31m\r\nnext\x00"), "red[31m\nnext")

    def test_userName(self) -> None:
        """
        A URL path segment is a user name if it is UTF-8 and follows the
        naming rule; otherwise it is still shown, with what is not UTF-8
        replaced.
        """
        self.assertEqual(userName("zo\u00eb".encode("utf-8")), ("zo\u00eb", True))
        self.assertEqual(userName(b"a b"), ("a b", False))
        self.assertEqual(userName(b"x\xff"), ("x\ufffd", False))


class _Served(Resource):
    """
    A resource that answers through L{serve}, from what C{answer} gives it
    and through C{found}.
    """

    isLeaf = True

    def __init__(
        self, answer: "Callable[[], Deferred[str]]", found: "Callable[[str], Answer]"
    ) -> None:
        super().__init__()
        self.answer = answer
        self.found = found
        self.policy = LookupPolicy(Clock())

    def render_GET(self, request: Request) -> object:
        return serve(request, self.policy, self.answer, self.found, WebAnswers())


class ServeTests(SynchronousTestCase):
    """
    L{serve} answers the same whether the back-end answered at once or
    later.
    """

    def _both(self, found: "Callable[[str], Answer]") -> List[Tuple[int, bytes]]:
        """
        The code and body of a request answered at once, and of one
        answered later.
        """
        now = Client(_Served(lambda: succeed("happy"), found))
        later: "Deferred[str]" = Deferred()
        client = Client(_Served(lambda: later, found))
        transport = client.send(b"/")
        self.assertEqual(transport.value(), b"")
        later.callback("happy")
        results = []
        for raw in (now.send(b"/").value(), transport.value()):
            code, headers, body = Client.parse(raw)
            results.append((code, body))
        return results

    def test_found(self) -> None:
        results = self._both(lambda status: plainText(200, status))
        self.assertEqual(results, [(200, b"happy\n")] * 2)

    def test_unmadeResponse(self) -> None:
        """
        A response that cannot be written is logged, once a request, and
        answered with a plain C{500}.
        """
        results = self._both(lambda status: (200, b""))  # type: ignore[arg-type,return-value]
        self.assertEqual(results, [(500, (INTERNAL_ERROR + "\n").encode("utf-8"))] * 2)
        self.assertEqual(len(self.flushLoggedErrors(ValueError)), 2)
