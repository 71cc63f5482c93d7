# -*- test-case-name: tests.frontends.web.test_static -*-
"""
The site's own static files under C{/static/}: the script that keeps the
pages up to date (L{LIVE_SCRIPT}, C{live.js}).

Each file is read once, when the site is built, and served from memory
with an C{ETag} of its contents.  The pages link to it by a versioned URL
(L{StaticFiles.url}: C{static/live.js?v=DIGEST}); an answer to that URL
may be cached for a year (C{immutable}), since a new version has a new
URL.  Any other URL of the file (a page from an older template, a hand-
typed address) is answered C{no-cache}, so it is checked again each time
(and answered C{304 Not Modified} while it has not changed).
"""

import hashlib
import os
from typing import Dict, Optional, Tuple

from twisted.web.iweb import IRequest
from twisted.web.resource import IResource, Resource

from finger.frontends.web.request import plainText
from finger.messages import NOT_FOUND

STATIC_PATH = b"static"
"""
The first path segment of the static files (so no user called C{static}
has an HTML page, as none called C{api} does).
"""

LIVE_SCRIPT = "live.js"
"""
The script that updates the pages as statuses change.
"""

DIRECTORY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
"""
Where the shipped static files are, in a checkout or an installed copy.
"""

_TYPES = {".js": b"text/javascript; charset=utf-8"}

IMMUTABLE = b"public, max-age=31536000, immutable"
REVALIDATE = b"no-cache"


class StaticFile(Resource):
    """
    One file, from memory.

    @ivar body: its contents.
    @ivar contentType: its C{Content-Type}.
    @ivar version: the digest its versioned URL carries.
    @ivar etag: its C{ETag}: the digest, quoted.
    """

    isLeaf = True

    def __init__(self, body: bytes, contentType: bytes) -> None:
        super().__init__()
        self.body = body
        self.contentType = contentType
        self.version = hashlib.sha256(body).hexdigest()[:20]
        self.etag = b'"' + self.version.encode("ascii") + b'"'

    def render_GET(self, request: IRequest) -> bytes:
        if request.postpath:
            return _notFound(request)
        versioned = request.args.get(b"v") == [self.version.encode("ascii")]  # type: ignore[attr-defined]
        request.setHeader(b"cache-control", IMMUTABLE if versioned else REVALIDATE)
        request.setHeader(b"content-type", self.contentType)
        if request.setETag(self.etag):
            # The client has it: http.CACHED, with an empty body.
            return b""
        return self.body


def _notFound(request: IRequest) -> bytes:
    code, contentType, body = plainText(404, NOT_FOUND)
    request.setResponseCode(code)
    request.setHeader(b"content-type", contentType)
    return body


class StaticFiles(Resource):
    """
    C{/static/}: the files of L{DIRECTORY} named in C{names}; anything else
    is a 404.
    """

    def __init__(self, names: Tuple[str, ...] = (LIVE_SCRIPT,), directory: str = DIRECTORY) -> None:
        """
        @raise OSError: if a file cannot be read (the site must not start
            without its script).
        """
        super().__init__()
        self.files: Dict[str, StaticFile] = {}
        for name in names:
            with open(os.path.join(directory, name), "rb") as f:
                body = f.read()
            contentType = _TYPES.get(os.path.splitext(name)[1], b"application/octet-stream")
            self.files[name] = StaticFile(body, contentType)
            self.putChild(name.encode("ascii"), self.files[name])

    def url(self, name: str, home: str) -> str:
        """
        The versioned link to file C{name} from a page whose link to the
        site's root is C{home}.
        """
        return f"{home}{STATIC_PATH.decode('ascii')}/{name}?v={self.files[name].version}"

    def getChild(self, path: bytes, request: IRequest) -> IResource:
        return _Missing()

    def render_GET(self, request: IRequest) -> bytes:
        return _notFound(request)


class _Missing(Resource):
    isLeaf = True

    def render_GET(self, request: IRequest) -> bytes:
        return _notFound(request)


def liveScriptURL(home: str, files: Optional[StaticFiles] = None) -> str:
    """
    The versioned link to L{LIVE_SCRIPT} from a page whose link to the
    site's root is C{home}.
    """
    return (files if files is not None else shippedFiles()).url(LIVE_SCRIPT, home)


_shipped: Optional[StaticFiles] = None


def shippedFiles() -> StaticFiles:
    """
    The shipped static files, read once.
    """
    global _shipped
    if _shipped is None:
        _shipped = StaticFiles()
    return _shipped
