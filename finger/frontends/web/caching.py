# -*- test-case-name: tests.frontends.web.test_caching -*-
"""
What caches and browsers are told about the site's answers: an entity tag
for each (L{entityTag}), made once where the answer is made once (a
user's page is kept with its tag), and a conditional C{GET} whose
C{If-None-Match} names the answer's tag is a C{304} (L{conditional}).

There is no C{Last-Modified}: no back-end says when a status changed, and
a date this process made up (when it first saw a status) would differ from
one worker, or one restart, to the next, so a cache asking
C{If-Modified-Since} could be told a changed page had not changed.  An
C{If-Modified-Since} alone is therefore answered in full; clients that
keep an entity tag send C{If-None-Match}, which wins over it anyway (RFC
9110 section 13.2.2).

Statuses change at any time, so every answer may be stored but must be
checked again before it is reused (L{REVALIDATE}); an answer that says the
back-end could not be asked is not stored at all (L{NO_STORE}).
"""

from hashlib import blake2b
from typing import Optional

from twisted.web.iweb import IRequest

from finger.frontends.web.request import Response

REVALIDATE = b"no-cache"
"""
The C{Cache-Control} of the pages, the JSON view and WebFinger: a cache may
keep an answer, and must ask (conditionally) before it reuses it.
"""

NO_STORE = b"no-store"
"""
The C{Cache-Control} of an answer that a cache must not keep.
"""

NOT_MODIFIED = 304


def entityTag(body: bytes) -> bytes:
    """
    The strong entity tag of an answer with C{body}: a digest of it, so
    equal answers have equal tags in every worker and after a restart.
    """
    return b'"' + blake2b(body, digest_size=12).hexdigest().encode("ascii") + b'"'


def _opaque(tag: bytes) -> bytes:
    """
    An entity tag without its weakness mark, for the weak comparison
    C{If-None-Match} uses.
    """
    tag = tag.strip()
    return tag[2:] if tag[:2] == b"W/" else tag


def matches(ifNoneMatch: bytes, tag: bytes) -> bool:
    """
    Does an C{If-None-Match} value (C{*} or entity tags separated by
    commas) name C{tag}, weakly compared (RFC 9110 section 13.1.2)?
    """
    if ifNoneMatch.strip() == b"*":
        return True
    if tag[1:-1] not in ifNoneMatch:
        return False
    opaque = _opaque(tag)
    return any(_opaque(candidate) == opaque for candidate in ifNoneMatch.split(b","))


def conditional(
    request: IRequest, response: Response, tag: bytes, cacheControl: bytes = REVALIDATE
) -> Response:
    """
    Tag C{response} to C{request} with C{tag} and C{cacheControl}; if the
    request's C{If-None-Match} names the tag, the same response as a
    C{304}, which is sent without its body but with the length the body
    would have had.
    """
    request.setHeader(b"etag", tag)
    request.setHeader(b"cache-control", cacheControl)
    condition = request.getHeader(b"if-none-match")
    if condition is not None and response[0] == 200 and matches(condition, tag):
        return (NOT_MODIFIED, response[1], response[2])
    return response


def tagged(request: IRequest, response: Response, tag: Optional[bytes] = None) -> Response:
    """
    L{conditional} for a response made for this request alone: a C{200}
    is tagged (with C{tag}, or a digest of its body) and may be answered
    with a C{304}; any other code is only told how long to be kept.
    """
    if response[0] != 200:
        request.setHeader(b"cache-control", NO_STORE if response[0] >= 500 else REVALIDATE)
        return response
    return conditional(request, response, tag if tag is not None else entityTag(response[2]))
