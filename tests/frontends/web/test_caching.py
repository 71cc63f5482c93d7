# -*- test-case-name: tests.frontends.web.test_caching -*-
"""
Tests for L{finger.frontends.web.caching}: entity tags and conditional
requests.
"""

from typing import Dict

from twisted.trial.unittest import SynchronousTestCase
from twisted.web.test.requesthelper import DummyRequest

from finger.frontends.web.caching import (
    NO_STORE,
    REVALIDATE,
    conditional,
    entityTag,
    matches,
    tagged,
)

OK = (200, b"text/plain", b"hello\n")


def _request(headers: Dict[bytes, bytes]) -> DummyRequest:
    request = DummyRequest([b""])
    for name, value in headers.items():
        request.requestHeaders.setRawHeaders(name, [value])
    return request


class EntityTagTests(SynchronousTestCase):
    def test_tag(self) -> None:
        """
        A tag is a quoted digest of the body: equal bodies, equal tags.
        """
        tag = entityTag(b"hello\n")
        self.assertEqual(tag, entityTag(b"hello\n"))
        self.assertNotEqual(tag, entityTag(b"hello"))
        self.assertTrue(tag.startswith(b'"') and tag.endswith(b'"'))
        self.assertEqual(len(tag), 26)

    def test_matches(self) -> None:
        """
        C{If-None-Match} names tags separated by commas, weak or strong,
        or C{*}.
        """
        tag = b'"abc"'
        for value in [b'"abc"', b'W/"abc"', b'"x", "abc"', b' "x" ,W/"abc" ', b"*"]:
            self.assertTrue(matches(value, tag), value)
        for value in [b'"abcd"', b'"ab"', b"abc", b'"x"', b""]:
            self.assertFalse(matches(value, tag), value)


class ConditionalTests(SynchronousTestCase):
    def test_noCondition(self) -> None:
        """
        Without C{If-None-Match}, the response is as it was, tagged and
        marked to be checked again before reuse.
        """
        request = _request({})
        self.assertEqual(conditional(request, OK, b'"t"'), OK)
        self.assertEqual(request.responseHeaders.getRawHeaders(b"etag"), [b'"t"'])
        self.assertEqual(request.responseHeaders.getRawHeaders(b"cache-control"), [REVALIDATE])

    def test_notModified(self) -> None:
        """
        A tag named is a C{304}; the body is kept, for its length (the
        server sends none).
        """
        request = _request({b"if-none-match": b'"t"'})
        self.assertEqual(conditional(request, OK, b'"t"'), (304, OK[1], OK[2]))
        request = _request({b"if-none-match": b'"u"'})
        self.assertEqual(conditional(request, OK, b'"t"'), OK)

    def test_tagged(self) -> None:
        """
        L{tagged} tags a C{200} with its body's digest; other answers are
        never a C{304}, and an error is not to be stored.
        """
        tag = entityTag(OK[2])
        request = _request({b"if-none-match": tag})
        self.assertEqual(tagged(request, OK)[0], 304)
        missing = (404, b"text/plain", b"no\n")
        request = _request({b"if-none-match": b"*"})
        self.assertEqual(tagged(request, missing), missing)
        self.assertIsNone(request.responseHeaders.getRawHeaders(b"etag"))
        self.assertEqual(request.responseHeaders.getRawHeaders(b"cache-control"), [REVALIDATE])
        request = _request({})
        tagged(request, (503, b"text/plain", b"later\n"))
        self.assertEqual(request.responseHeaders.getRawHeaders(b"cache-control"), [NO_STORE])
