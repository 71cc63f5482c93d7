# -*- test-case-name: tests.frontends.web.test_prerendered -*-
"""
Pages flattened once, ahead of time, with their slots left open
(L{Prerendered}).

The template engine escapes every value.  A page asked for far more often
than the rest is flattened once with a marker (L{marker}) in every slot,
using only L{flattenString}; the bytes are split at the markers, and a
request only joins the pieces with its values, escaped as the engine
escapes them where each slot sits (in text or in an attribute:
L{escapeText}, L{escapeAttribute}).  A page that cannot be split so, or
does not give the engine's bytes for awkward samples, is not prerendered:
it is flattened for every request.
"""

import re
from typing import Dict, List, Optional, Set, Tuple, Union

from twisted.python.failure import Failure
from twisted.web.iweb import IRequest, ITemplateLoader
from twisted.web.template import Element, Tag, flattenString, renderer


class SlottedElement(Element):
    """
    A page whose one renderer, C{page}, fills the page's slots with fixed
    values.
    """

    def __init__(self, loader: ITemplateLoader, values: Dict[str, str]) -> None:
        super().__init__(loader)
        self.values = values

    def slots(self) -> Dict[str, str]:
        """
        The values of the page's slots.
        """
        return self.values

    @renderer
    def page(self, request: Optional[IRequest], tag: Tag) -> Tag:
        return tag.fillSlots(**self.values)


def escapeText(value: str) -> bytes:
    """
    C{value} as the template engine writes it in text: UTF-8, with C{&},
    C{<} and C{>} as entities.
    """
    return (
        value.encode("utf-8").replace(b"&", b"&amp;").replace(b"<", b"&lt;").replace(b">", b"&gt;")
    )


def escapeAttribute(value: str) -> bytes:
    """
    C{value} as the template engine writes it in an attribute: as in text,
    and C{"} as an entity too.
    """
    return escapeText(value).replace(b'"', b"&quot;")


# A marker holds a NUL, which no XML template can hold, and a double quote,
# which escaping changes in an attribute and leaves alone in text.
_MARKER = re.compile(rb'\x00([0-9]+)(?:(")|&quot;)\x00')


def marker(index: int) -> str:
    """
    The value that holds a slot open: the C{index}th slot named when the
    page is split (L{Prerendered.split}).
    """
    return f'\x00{index}"\x00'


class Prerendered:
    """
    A page the template engine has flattened once, with its slots left
    open: the bytes between the slots, and for each slot its name and
    whether it is inside an attribute.

    @ivar parts: the bytes before, between and after the slots.
    @ivar holes: for each slot, its name and whether it is in an attribute.
    """

    def __init__(self, parts: List[bytes], holes: List[Tuple[str, bool]]) -> None:
        self.parts = parts
        self.holes = holes
        self._kinds: Set[Tuple[str, bool]] = set(holes)

    def render(self, slots: Dict[str, str]) -> bytes:
        """
        The page with C{slots} filled in.
        """
        # A slot may be open in many places (the link home, beside every
        # user of the front page): each value is escaped once.
        values = {
            (name, inAttribute): (escapeAttribute if inAttribute else escapeText)(slots[name])
            for name, inAttribute in self._kinds
        }
        parts = self.parts
        out = [parts[0]]
        write = out.append
        for hole, part in zip(self.holes, parts[1:]):
            write(values[hole])
            write(part)
        return b"".join(out)

    @classmethod
    def split(cls, flat: Optional[bytes], names: List[str]) -> "Optional[Prerendered]":
        """
        Split a page flattened with the marker of C{names[i]} (L{marker})
        as the value of slot C{names[i]}, or L{None} if it cannot be: a
        marker is escaped some other way than in text or in an attribute
        (in a comment, or twice), or C{flat} is L{None}.
        """
        if flat is None:
            return None
        parts, holes, start = [], [], 0
        for match in _MARKER.finditer(flat):
            parts.append(flat[start : match.start()])
            holes.append((names[int(match.group(1))], match.group(2) is None))
            start = match.end()
        parts.append(flat[start:])
        if any(b"\x00" in part for part in parts):
            return None
        return cls(parts, holes)

    @classmethod
    def of(cls, loader: ITemplateLoader, samples: List[SlottedElement]) -> "Optional[Prerendered]":
        """
        Flatten the page C{loader} gives with every slot open, or L{None}
        if it cannot be rendered that way: then it must be flattened for
        every request.

        @param loader: a loader that gives the same template every time.
        @param samples: pages from C{loader}, each with the same slots; the
            result must give the engine's bytes for every one of them.
        """
        names = list(samples[0].slots())
        markers = {name: marker(i) for i, name in enumerate(names)}
        page = cls.split(flattenNow(SlottedElement(loader, markers)), names)
        if page is None:
            return None
        for sample in samples:
            if page.render(sample.slots()) != flattenNow(sample):
                return None
        return page


def flattenNow(element: Element) -> Optional[bytes]:
    """
    Flatten C{element} if that finishes at once, else L{None}: a page
    whose renderers all answer at once is flattened so.
    """
    results: List[Union[bytes, Failure]] = []
    flattenString(None, element).addBoth(results.append)
    if results and isinstance(results[0], bytes):
        return results[0]
    return None
