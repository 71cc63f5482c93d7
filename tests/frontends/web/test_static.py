"""
Tests for L{finger.frontends.web.static}: the site's own script, served
from memory with an ETag, cached for a year only at its versioned URL.
"""

import hashlib
import os
import re

from twisted.trial.unittest import SynchronousTestCase
from twisted.web.resource import IResource

from finger.backends.memory import MemoryFingerService
from finger.frontends.web.pages import RESERVED, SECURITY_HEADERS
from finger.frontends.web.static import (
    DIRECTORY,
    IMMUTABLE,
    LIVE_SCRIPT,
    REVALIDATE,
    STATIC_PATH,
    StaticFiles,
    liveScriptURL,
)
from finger.messages import NOT_FOUND
from tests.frontends.web.helpers import Client


class StaticTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.client = Client(IResource(MemoryFingerService(moshez="happy", static="s")))
        with open(os.path.join(DIRECTORY, LIVE_SCRIPT), "rb") as f:
            self.script = f.read()
        self.version = hashlib.sha256(self.script).hexdigest()[:20]

    def test_versioned(self) -> None:
        """
        The script at its versioned URL is cached for a year, with its
        ETag, as JavaScript, with the site's security headers.
        """
        code, headers, body = self.client.request(b"/static/live.js?v=" + self.version.encode())
        self.assertEqual(code, 200)
        self.assertEqual(body, self.script)
        self.assertEqual(headers[b"content-type"], b"text/javascript; charset=utf-8")
        self.assertEqual(headers[b"cache-control"], IMMUTABLE)
        self.assertEqual(headers[b"etag"], b'"' + self.version.encode() + b'"')
        for name, value in SECURITY_HEADERS.items():
            self.assertEqual(headers[name], value)

    def test_unversioned(self) -> None:
        """
        At any other URL it is checked again each time.
        """
        for path in (b"/static/live.js", b"/static/live.js?v=old"):
            code, headers, body = self.client.request(path)
            self.assertEqual((code, body), (200, self.script))
            self.assertEqual(headers[b"cache-control"], REVALIDATE)

    def test_notModified(self) -> None:
        """
        A browser that has this version is told so, without the body.
        """
        etag = b'"' + self.version.encode() + b'"'
        code, headers, body = self.client.request(b"/static/live.js", {b"If-None-Match": etag})
        self.assertEqual((code, body), (304, b""))
        code, headers, body = self.client.request(
            b"/static/live.js", {b"If-None-Match": b'"other"'}
        )
        self.assertEqual((code, body), (200, self.script))

    def test_head(self) -> None:
        code, headers, body = self.client.request(b"/static/live.js", method=b"HEAD")
        self.assertEqual((code, body), (200, b""))
        self.assertEqual(headers[b"content-length"], b"%d" % (len(self.script),))

    def test_missing(self) -> None:
        """
        Nothing else is under C{/static/}; a user called C{static} has no
        page (as one called C{api} has none), but their JSON is there.
        """
        for path in (b"/static/", b"/static", b"/static/nope.js", b"/static/live.js/x",
                     b"/static/../etc/passwd", b"/static/%2e%2e/pages.py"):
            code, headers, body = self.client.request(path)
            self.assertEqual((code, body), (404, NOT_FOUND.encode() + b"\n"), path)
        self.assertIn(STATIC_PATH, RESERVED)
        code, headers, body = self.client.request(b"/api/users/static")
        self.assertEqual(code, 200)

    def test_pagesLinkIt(self) -> None:
        """
        The pages load the script from its versioned URL, relative to
        themselves, deferred.
        """
        for path, home in ((b"/", "./"), (b"/moshez", "./")):
            code, headers, body = self.client.request(path)
            scripts = re.findall(rb"<script[^>]*>", body)
            self.assertEqual(
                scripts,
                [f'<script defer="defer" src="{home}static/live.js?v={self.version}">'.encode()],
            )
        self.assertEqual(liveScriptURL("../"), f"../static/live.js?v={self.version}")

    def test_ownDirectory(self) -> None:
        """
        L{StaticFiles} serves the files it was given from a directory, and
        fails at once if one is missing.
        """
        directory = self.mktemp()
        os.mkdir(directory)
        with open(os.path.join(directory, "a.js"), "wb") as f:
            f.write(b"1;")
        files = StaticFiles(("a.js",), directory)
        self.assertEqual(files.files["a.js"].body, b"1;")
        self.assertRaises(OSError, StaticFiles, ("b.js",), directory)


class ScriptTests(SynchronousTestCase):
    """
    What can be checked of the script without a browser (the browser tests
    are in L{tests.app.test_tap_live}).
    """

    def setUp(self) -> None:
        with open(os.path.join(DIRECTORY, LIVE_SCRIPT), encoding="utf-8") as f:
            self.source = f.read()

    def test_textOnly(self) -> None:
        """
        The script never inserts HTML: no innerHTML, outerHTML,
        insertAdjacentHTML, document.write or eval.
        """
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                     "new Function"):
            self.assertNotIn(sink, self.source)
        self.assertIn(".textContent = ", self.source)

    def test_sameSite(self) -> None:
        """
        It connects only to the site itself, relative to its own URL.
        """
        self.assertNotIn("http:", self.source)
        self.assertNotIn("https:", self.source)
        self.assertIn('new URL("../api/events", script.src)', self.source)
