# -*- test-case-name: tests.frontends.web.test_cors -*-
"""
Tests for L{finger.frontends.web.cors}: C{OPTIONS} on every path of the
site, a CORS preflight for WebFinger and the JSON view.
"""

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from finger.frontends.web.cors import PREFLIGHT
from finger.frontends.web.pages import SECURITY_HEADERS, UserStatusTree
from tests.frontends.web.helpers import Client, sampleService

_PREFLIGHT = {
    b"Origin": b"https://elsewhere.example",
    b"Access-Control-Request-Method": b"GET",
    b"Access-Control-Request-Headers": b"accept",
}


class PreflightTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.client = Client(UserStatusTree(sampleService(), clock=Clock()))

    def test_shared(self) -> None:
        """
        A preflight for WebFinger or anything under C{/api} is a C{204}
        without a body or a length, allowing any origin to C{GET} and
        C{HEAD}, with the headers a script may send.
        """
        for path in [
            b"/.well-known/webfinger?resource=acct%3Amoshez%40localhost",
            b"/api/users",
            b"/api/users/moshez",
            b"/api",
            b"/api/nothing/here",
        ]:
            raw = self.client.send(path, _PREFLIGHT, b"OPTIONS").value()
            code, headers, body = Client.parse(raw)
            self.assertEqual((code, body), (204, b""), path)
            self.assertNotIn(b"content-length", headers)
            self.assertEqual(headers[b"access-control-allow-origin"], b"*")
            self.assertEqual(headers[b"access-control-allow-methods"], b"GET, HEAD")
            self.assertIn(b"Accept", headers[b"access-control-allow-headers"])
            self.assertIn(b"If-None-Match", headers[b"access-control-allow-headers"])
            for name, value in PREFLIGHT.items():
                self.assertEqual(headers[name], value, name)
            self.assertEqual(headers[b"x-content-type-options"], SECURITY_HEADERS[b"x-content-type-options"])

    def test_otherPaths(self) -> None:
        """
        Any other path answers C{OPTIONS} with its C{Allow}, and no CORS
        headers: scripts elsewhere may not read it.
        """
        for path, allow in [
            (b"/", b"GET, HEAD, OPTIONS"),
            (b"/moshez", b"GET, HEAD, OPTIONS"),
            (b"/.well-known/host-meta", b"GET, HEAD, OPTIONS"),
            (b"/RPC2", b"POST, OPTIONS"),
        ]:
            code, headers, body = self.client.request(path, _PREFLIGHT, b"OPTIONS")
            self.assertEqual((code, body, headers[b"allow"]), (204, b"", allow), path)
            self.assertNotIn(b"access-control-allow-origin", headers)

    def test_apiAnswersShared(self) -> None:
        """
        The JSON view's answers, found or not, may be read by any origin;
        the pages may not.
        """
        for path in [b"/api/users", b"/api/users/moshez", b"/api/users/nobody", b"/api/x"]:
            code, headers, body = self.client.request(path)
            self.assertEqual(headers[b"access-control-allow-origin"], b"*", path)
        code, headers, body = self.client.request(b"/moshez")
        self.assertNotIn(b"access-control-allow-origin", headers)
