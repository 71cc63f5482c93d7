# -*- test-case-name: tests.frontends.web.test_cors -*-
"""
C{OPTIONS}: what a browser asks before a script on another site reads
WebFinger or the JSON view (a CORS preflight), and what any other path
allows (L{Preflight}).

WebFinger and the JSON view may be read from any origin (RFC 7033 section
5): their answers carry L{ALLOW_ORIGIN}, and a preflight for them is
answered C{204} with the methods and request headers a script may use.
Any other path answers C{204} with its C{Allow} header, and no CORS
headers, so no other site's script may read it.  (C{OPTIONS *} is
twisted.web's own: an empty C{200}.)
"""

from typing import Dict, FrozenSet, Tuple

from twisted.web.iweb import IRequest
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET

ALLOW_ORIGIN = (b"access-control-allow-origin", b"*")
"""
The header that lets a script from any origin read an answer.
"""

PREFLIGHT: Dict[bytes, bytes] = {
    ALLOW_ORIGIN[0]: ALLOW_ORIGIN[1],
    b"access-control-allow-methods": b"GET, HEAD",
    b"access-control-allow-headers": b"Accept, If-None-Match, If-Modified-Since",
    b"access-control-max-age": b"86400",
    b"allow": b"GET, HEAD, OPTIONS",
}
"""
The answer to a preflight for WebFinger or the JSON view.
"""

READ_ONLY = b"GET, HEAD, OPTIONS"
POST_ONLY = b"POST, OPTIONS"


class Preflight(Resource):
    """
    The answer to any C{OPTIONS} request of the site: a C{204}, with
    L{PREFLIGHT} for the paths scripts elsewhere may read, else the
    path's C{Allow}.

    @ivar shared: the paths, as their first segments, that scripts on other
        sites may read; the first segment alone, or with the second.
    @ivar posted: the first segments that take only C{POST}.
    """

    isLeaf = True

    def __init__(
        self, shared: FrozenSet[Tuple[bytes, ...]], posted: FrozenSet[bytes] = frozenset()
    ) -> None:
        super().__init__()
        self.shared = shared
        self.posted = posted

    def render(self, request: IRequest) -> object:
        segments = request.prepath + request.postpath  # type: ignore[attr-defined]
        first = segments[0] if segments else b""
        request.setResponseCode(204)
        if (first,) in self.shared or tuple(segments[:2]) in self.shared:
            for name, value in PREFLIGHT.items():
                request.setHeader(name, value)
        elif first in self.posted:
            request.setHeader(b"allow", POST_ONLY)
        else:
            request.setHeader(b"allow", READ_ONLY)
        # Without a body or its length (RFC 9110 section 8.6: never in a 204).
        request.finish()  # type: ignore[attr-defined]
        return NOT_DONE_YET
