# -*- test-case-name: tests.frontends.web.test_api -*-
"""
Tests for L{finger.frontends.web.api}: the JSON view under C{/api}.
"""

import json
from typing import Optional

from twisted.trial.unittest import SynchronousTestCase
from twisted.web.resource import IResource

from finger.frontends.web.api import JSON, jsonBody
from finger.messages import NO_SUCH_USER
from tests.frontends.web.helpers import Client, Response, assertLeavingCancels, sampleService


class APITests(SynchronousTestCase):
    """
    C{/api/users} and C{/api/users/USER}, over an in-memory connection.
    """

    def setUp(self) -> None:
        self.client = Client(IResource(sampleService()))

    def get(self, path: bytes, accept: Optional[bytes] = None) -> Response:
        return self.client.request(path, {b"Accept": accept} if accept else None)

    def test_api(self) -> None:
        """
        C{/api/users} and C{/api/users/USER} are JSON whatever the client
        accepts.
        """
        code, headers, body = self.get(b"/api/users")
        self.assertEqual(code, 200)
        self.assertEqual(headers[b"content-type"], b"application/json; charset=utf-8")
        self.assertIn("zoë", json.loads(body)["users"])
        code, headers, body = self.get(b"/api/users/")
        self.assertIn("zoë", json.loads(body)["users"])
        code, headers, body = self.get(b"/api/users/moshez")
        self.assertEqual(json.loads(body), {"user": "moshez", "status": "happy & <well>"})
        code, headers, body = self.get(b"/api/users/nobody")
        self.assertEqual(code, 404)
        self.assertEqual(json.loads(body), {"error": NO_SUCH_USER, "user": "nobody"})
        code, headers, body = self.get(b"/api/users/%FF")
        self.assertEqual(code, 404)
        self.assertEqual(json.loads(body)["error"], NO_SUCH_USER)
        code, headers, body = self.get(b"/api/users/moshez/x")
        self.assertEqual(code, 404)

    def test_apiUnknownPath(self) -> None:
        """
        Any other path under C{/api} is a JSON 404.
        """
        for path in (b"/api", b"/api/", b"/api/nothing", b"/api/nothing/more"):
            code, headers, body = self.get(path)
            self.assertEqual(code, 404, path)
            self.assertEqual(json.loads(body), {"error": "Not found"})

    def test_jsonBody(self) -> None:
        """
        JSON bodies are UTF-8 on one line, non-ASCII characters as they are.
        """
        self.assertEqual(jsonBody({"user": "zo\u00eb"}), '{"user": "zo\u00eb"}\n'.encode("utf-8"))
        self.assertEqual(JSON, b"application/json; charset=utf-8")

    def test_clientGoesAway(self) -> None:
        """
        If the client disconnects before the back-end answers, the lookup is
        cancelled and nothing is logged as an error.
        """
        assertLeavingCancels(
            self,
            [
                lambda client: client.send(b"/api/users/moshez"),
                lambda client: client.send(b"/api/users"),
            ],
            ["moshez", "*"],
        )


class UnknownNameTests(SynchronousTestCase):
    """
    The JSON 404 shows the asked name only with its control and invisible
    characters made visible.
    """

    def test_visible(self) -> None:
        client = Client(IResource(sampleService()))
        for path, accept, shown in [
            (b"/api/users/mo%E2%80%AEshez", None, "mo<U+202E>shez"),
            (b"/api/users/mo%1B%5B2Jshez", None, "mo^[[2Jshez"),
            (b"/mo%C2%9Bshez", b"application/json", "moM-^[shez"),
        ]:
            code, headers, body = client.request(path, {b"Accept": accept} if accept else None)
            self.assertEqual((code, headers[b"cache-control"]), (404, b"no-cache"))
            self.assertEqual(json.loads(body), {"error": NO_SUCH_USER, "user": shown})
            for raw in [b"\x1b", "\u202e".encode("utf-8"), "\u009b".encode("utf-8")]:
                self.assertNotIn(raw, body)
