# -*- test-case-name: tests.frontends.web.test_prerendered -*-
"""
Tests for L{finger.frontends.web.prerendered}: pages flattened once with
their slots left open give the template engine's bytes.
"""

from typing import List

from twisted.trial.unittest import SynchronousTestCase
from twisted.web.iweb import ITemplateLoader
from twisted.web.template import Tag, TagLoader, flattenString, slot, tags
from zope.interface import implementer

from finger.frontends.web.prerendered import (
    Prerendered,
    SlottedElement,
    escapeAttribute,
    escapeText,
    flattenNow,
    marker,
)
from finger.frontends.web.elements import NotFoundElement, UserElement
from finger.frontends.web.templates import Templates, loadTemplates

AWKWARD = [
    "moshez",
    "a<b>&\"c' &amp; &#65;",
    "zo\u00eb \u2603 \U0001f600",
    "one\ntwo\r\nthree\x00\x1b[31m",
    "\x00\x00",
    "",
]
"""
Slot values that exercise every kind of escaping.
"""


class SplitTests(SynchronousTestCase):
    """
    L{Prerendered.split} and L{Prerendered.render}, on their own.
    """

    def test_escaping(self) -> None:
        """
        Text is escaped as the engine escapes it; an attribute's double
        quotes too.
        """
        self.assertEqual(escapeText('a<b>&"c'), b'a&lt;b&gt;&amp;"c')
        self.assertEqual(escapeAttribute('a<b>&"c'), b"a&lt;b&gt;&amp;&quot;c")

    def test_splitAtMarkers(self) -> None:
        """
        A page flattened with markers in its slots is split at them, and
        each value is escaped as its place needs.
        """
        page = tags.p(tags.a(slot("name"), href=slot("home")), slot("name"), render="page")
        element = SlottedElement(TagLoader(page), {"name": marker(0), "home": marker(1)})
        split = Prerendered.split(flattenNow(element), ["name", "home"])
        assert split is not None
        values = {"name": "a<\"b", "home": "x\"y"}
        self.assertEqual(
            split.render(values),
            self.successResultOf(flattenString(None, SlottedElement(TagLoader(page), values))),
        )
        self.assertEqual(split.holes, [("home", True), ("name", False), ("name", False)])

    def test_notSplit(self) -> None:
        """
        Nothing to split, or a marker the engine wrote some other way (in a
        comment), gives L{None}.
        """
        self.assertIsNone(Prerendered.split(None, ["name"]))
        self.assertIsNone(Prerendered.split(b"<!--\x000\x00-->", ["name"]))


class PrerenderedTests(SynchronousTestCase):
    """
    L{Templates.render} gives the same bytes as flattening the page with the
    template engine, whatever the values and wherever the slots are.
    """

    def notFound(self) -> TagLoader:
        return TagLoader(
            tags.p(tags.a(slot("name"), href=slot("home")), slot("name"), render="page")
        )

    def assertSameAsEngine(self, templates: Templates) -> None:
        for a in AWKWARD:
            for b in AWKWARD:
                for element in [
                    UserElement(templates.user, a, b, "../" + a),
                    NotFoundElement(templates.notFound, a, b),
                ]:
                    self.assertEqual(
                        self.successResultOf(templates.render(None, element)),
                        self.successResultOf(flattenString(None, element)),
                    )

    def test_shipped(self) -> None:
        """
        The shipped pages are flattened once, with their slots left open,
        and give the engine's bytes.
        """
        templates = loadTemplates()
        self.assertIsNotNone(templates.prerendered[UserElement])
        self.assertIsNotNone(templates.prerendered[NotFoundElement])
        self.assertSameAsEngine(templates)

    def test_slotsInAttributes(self) -> None:
        """
        Slots in attributes, in content and in both, each escaped as the
        engine escapes them there.
        """
        page = tags.html(
            tags.a(slot("name"), title=slot("status"), href=slot("json")),
            tags.p(slot("status"), slot("home"), **{"data-x": slot("name")}),
            render="page",
        )
        templates = Templates(TagLoader(page), TagLoader(page), self.notFound())
        self.assertIsNotNone(templates.prerendered[UserElement])
        self.assertSameAsEngine(templates)

    def test_tagInAttribute(self) -> None:
        """
        A slot inside a tag inside an attribute is escaped twice by the
        engine; such a page is not prerendered, and still comes out right.
        """
        page = tags.html(tags.a("x", title=tags.b(slot("name"))), slot("status"), render="page")
        templates = Templates(TagLoader(page), TagLoader(page), self.notFound())
        self.assertIsNone(templates.prerendered[UserElement])
        self.assertSameAsEngine(templates)

    def test_otherLoader(self) -> None:
        """
        A loader that might change what it loads is flattened every time.
        """

        @implementer(ITemplateLoader)
        class Loader:
            def load(self) -> List[Tag]:
                return [tags.p(slot("name"), tags.a(href=slot("home")), render="page")]

        templates = Templates(Loader(), Loader(), Loader())
        self.assertEqual(templates.prerendered, {})
        self.assertSameAsEngine(templates)
