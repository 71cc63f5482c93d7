# -*- test-case-name: tests.frontends.web.test_templates -*-
"""
The site's pages: their elements, the XHTML templates they are drawn from
(L{loadTemplates}), and which of them are flattened ahead of time.

A user's page and the unknown user page are asked for far more often than
the rest, so each is flattened once with its slots left open
(L{finger.frontends.web.prerendered}).  The front page is flattened that
way once per user listing (L{Templates.frontPage}), with open slots for
what differs from one request to the next: the link home and the host
name (L{frontPageSlots}).  L{Templates} checks at start-up that this gives
the engine's bytes exactly for awkward samples, and otherwise flattens the
page for every request.
"""

from typing import Dict, List, Optional, Sequence, Tuple, Union
from xml.sax import SAXParseException

from twisted.internet.defer import Deferred, succeed
from twisted.python.failure import Failure
from twisted.python.filepath import FilePath
from twisted.web.iweb import IRequest, ITemplateLoader
from twisted.web.template import (
    Comment,
    Element,
    Flattenable,
    Tag,
    TagLoader,
    XMLFile,
    flattenString,
)

from finger.frontends.web.elements import (
    FINGER_PORT,
    FRONT_PAGE_SLOTS,
    NotFoundElement,
    UserElement,
    UsersElement,
    frontPageSlots,
    shortStatus,
)
from finger.frontends.web.prerendered import (
    Prerendered,
    flattenNow,
    marker,
)
from finger.paths import dataPath

TEMPLATE_FILES = ("users.xhtml", "user.xhtml", "notfound.xhtml")
"""
The files a templates directory must hold.
"""

FORM_FILE = "form.xhtml"
"""
The file a templates directory may hold: the form on a user's page for
setting the status (L{finger.frontends.web.form}); without it no page
offers the form.
"""


class TemplateError(Exception):
    """
    A template is missing or does not work.  The message names the file.
    """


_AWKWARD = ["a<b>&\"c'", "zo\u00eb \u2603", "line one\nline two", ""]


class Templates:
    """
    The loaded templates, one loader per page.

    @ivar users: the front page's loader (C{users.xhtml}).
    @ivar user: a user's page's loader (C{user.xhtml}).
    @ivar notFound: the unknown user page's loader (C{notfound.xhtml}).
    @ivar form: the status form's loader (C{form.xhtml}), or L{None} if
        the directory has none.
    @ivar prerendered: the pages flattened ahead of time, by element
        class; L{None} for a page that must be flattened for every request.
    """

    def __init__(
        self,
        users: ITemplateLoader,
        user: ITemplateLoader,
        notFound: ITemplateLoader,
        form: Optional[ITemplateLoader] = None,
    ) -> None:
        self.users = users
        self.user = user
        self.notFound = notFound
        self.form = form
        self.prerendered: Dict[type, Optional[Prerendered]] = {}
        self._frontPages = isinstance(users, (XMLFile, TagLoader)) and self._checkFrontPage()
        if all(isinstance(loader, (XMLFile, TagLoader)) for loader in (user, notFound)):
            # These loaders give the same template every time.
            self.prerendered[UserElement] = Prerendered.of(
                user, [UserElement(user, a, b, a, b) for a in _AWKWARD for b in _AWKWARD]
            )
            self.prerendered[NotFoundElement] = Prerendered.of(
                notFound, [NotFoundElement(notFound, a, a) for a in _AWKWARD]
            )

    def frontPage(
        self,
        entries: Sequence[Tuple[str, str]],
        total: int,
        listed: bool = True,
        fingerPort: int = FINGER_PORT,
    ) -> Optional[Prerendered]:
        """
        The front page listing C{entries}, flattened now with
        L{FRONT_PAGE_SLOTS} left open, so that each request only fills in
        its L{frontPageSlots}; or L{None} if the front page must be
        flattened for every request (a template whose slots cannot be left
        open, or a value shown that holds a NUL, which holds a slot open).

        @param entries: the users shown, in order, each with their status.
        @param total: how many users there are.
        @param listed: whether listing users is on.
        @param fingerPort: the port the finger server listens on.
        """
        if not self._frontPages:
            return None
        return self._openFrontPage(entries, total, listed, fingerPort)

    def _openFrontPage(
        self,
        entries: Sequence[Tuple[str, str]],
        total: int,
        listed: bool,
        fingerPort: int = FINGER_PORT,
    ) -> Optional[Prerendered]:
        """
        L{frontPage}, whether or not the template was found to allow it.
        """
        if any(
            "\x00" in name or ("\x00" in status and "\x00" in shortStatus(status))
            for name, status in entries
        ):
            return None
        element = UsersElement(
            self.users,
            [name for name, status in entries],
            marker(0),
            host=marker(1),
            example=marker(2),
            statuses=dict(entries),
            total=total,
            listed=listed,
            fingerPort=fingerPort,
        )
        return Prerendered.split(flattenNow(element), FRONT_PAGE_SLOTS)

    def _checkFrontPage(self) -> bool:
        """
        Does L{frontPage} give the engine's bytes, for awkward users, links
        and hosts, listed or not?
        """
        entries = [(name, status) for name in ["alice", "a<b&c"] for status in _AWKWARD]
        for listed in (True, False):
            page = self._openFrontPage(entries, len(entries) + 1, listed)
            if page is None:
                return False
            for home in _AWKWARD:
                for host in _AWKWARD:
                    element = UsersElement(
                        self.users,
                        [name for name, status in entries],
                        home,
                        host=host,
                        statuses=dict(entries),
                        total=len(entries) + 1,
                        listed=listed,
                    )
                    if page.render(frontPageSlots(home, host)) != flattenNow(element):
                        return False
        return True

    def render(self, request: Optional[IRequest], element: Element) -> "Deferred[bytes]":
        """
        Flatten C{element}, one of the pages from these templates.
        """
        page = self.renderNow(element)
        if page is not None:
            return succeed(page)
        return flattenString(request, element)

    def renderNow(self, element: Element) -> Optional[bytes]:
        """
        C{element} flattened at once if its page is prerendered, else
        L{None}.
        """
        page = self.prerendered.get(type(element))
        if page is None:
            return None
        return page.render(element.slots())  # type: ignore[attr-defined]


def withoutComments(nodes: List[Flattenable]) -> List[Flattenable]:
    """
    A template's nodes without its comments, at any depth, and without the
    blank text before its first element.
    """
    kept: List[Flattenable] = []
    for node in nodes:
        if isinstance(node, Comment):
            continue
        if isinstance(node, Tag):
            node.children = withoutComments(node.children)
        elif isinstance(node, str) and not node.strip() and not any(
            isinstance(k, Tag) for k in kept
        ):
            continue
        kept.append(node)
    return kept


class TemplateFile(XMLFile):
    """
    An XHTML template file, loaded without its comments: they are notes
    for whoever edits the file (which renderers and slots it has), not
    part of the pages, so no page's source carries them.
    """

    _stripped: Optional[List[Flattenable]] = None

    def load(self) -> List[Flattenable]:
        if self._stripped is None:
            self._stripped = withoutComments(list(super().load()))
        return self._stripped


def defaultTemplatesDirectory() -> str:
    """
    Where the shipped templates are, in a checkout or an installed copy.
    """
    return dataPath("templates")


def loadTemplates(directory: Optional[str] = None) -> Templates:
    """
    Load and check the templates in C{directory}, and L{FORM_FILE} if it
    is there.

    Each file is parsed, then rendered once with sample data, so a missing
    file, malformed XML, or a renderer or slot that the pages do not have is
    found now rather than by the first visitor.

    @param directory: a directory holding L{TEMPLATE_FILES}; the shipped
        templates if L{None}.
    @raise TemplateError: naming the file that is missing or broken.
    """
    base = FilePath(directory if directory is not None else defaultTemplatesDirectory())
    loaders = []
    optional = (FORM_FILE,) if base.child(FORM_FILE).exists() else ()
    for name in TEMPLATE_FILES + optional:
        path = base.child(name)
        try:
            with path.open("r"):
                pass
        except OSError as e:
            raise TemplateError(f"template {path.path}: {e.strerror or e}") from None
        loader = TemplateFile(path)
        try:
            loader.load()
        except SAXParseException as e:
            raise TemplateError(
                f"template {path.path}: not well-formed XML: line {e.getLineNumber()}, "
                f"column {e.getColumnNumber()}: {e.getMessage()}"
            ) from None
        except Exception as e:
            raise TemplateError(f"template {path.path}: {e}") from None
        loaders.append(loader)
    templates = Templates(*loaders)
    samples = [
        (
            TEMPLATE_FILES[0],
            UsersElement(
                templates.users, ["alice", "bob"], "./", statuses={"alice": "Happy"}, total=3
            ),
        ),
        (TEMPLATE_FILES[0], UsersElement(templates.users, [], "./")),
        (TEMPLATE_FILES[0], UsersElement(templates.users, [], "./", listed=False)),
        (TEMPLATE_FILES[1], UserElement(templates.user, "alice", "Happy", "./")),
        (TEMPLATE_FILES[2], NotFoundElement(templates.notFound, "carol", "./")),
    ]
    for name, element in samples:
        results: List[Union[bytes, Failure]] = []
        flattenString(None, element).addBoth(results.append)
        if results and isinstance(results[0], Failure):
            raise TemplateError(
                f"template {base.child(name).path}: cannot be rendered: "
                f"{results[0].getErrorMessage()}"
            )
    return templates
