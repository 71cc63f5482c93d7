# -*- test-case-name: tests.frontends.web.test_templates -*-
"""
Tests for L{finger.frontends.web.templates}: the page elements, loading and
checking templates, and the pages flattened ahead of time.
"""

import os
import re
import shutil

from twisted.trial.unittest import SynchronousTestCase
from twisted.web.template import TagLoader, flattenString, slot, tags

from finger.frontends.web.elements import (
    LISTED_STATUS_LENGTH,
    NotFoundElement,
    UserElement,
    UsersElement,
    fingerCommand,
    frontPageSlots,
    listCommand,
    shortStatus,
)
from finger.frontends.web.templates import (
    TEMPLATE_FILES,
    TemplateError,
    Templates,
    defaultTemplatesDirectory,
    loadTemplates,
)
from finger.messages import EMPTY_STATUS, STATUS_CUT
from tests.frontends.web.helpers import assertUnlistedFrontPage, flatten, listedStatus
from tests.frontends.web.test_prerendered import AWKWARD
from finger.frontends.web.static import liveScriptURL

_LIVE_SCRIPT_TAG = f'<script defer="defer" src="{liveScriptURL("./")}">'


def _template(render: str, inside: str) -> str:
    """
    A template whose root element is rendered by C{render}, holding
    C{inside}.
    """
    return (
        '<html xmlns:t="http://twistedmatrix.com/ns/twisted.web.template/0.1" '
        f't:render="{render}">{inside}</html>'
    )


class ElementTests(SynchronousTestCase):
    """
    Each page's element, flattened: every value is escaped and every link
    quoted.
    """

    def setUp(self) -> None:
        self.templates = loadTemplates()

    def test_usersEscaped(self) -> None:
        """
        Names are escaped in text and URL-quoted in links.
        """
        html = flatten(
            self, UsersElement(self.templates.users, ["a<b&c", 'x"y', "zoë", "a/b"], "./")
        )
        self.assertIn('<a href="./a%3Cb%26c">a&lt;b&amp;c</a>', html)
        self.assertIn('<a href="./x%22y">x"y</a>', html)
        self.assertIn('<a href="./zo%C3%AB">zoë</a>', html)
        self.assertIn('<a href="./a%2Fb">a/b</a>', html)
        self.assertIn("4 users known here.", html)
        self.assertNotIn("Nobody is known here yet.", html)
        self.assertNotIn("a<b", html)

    def test_usersEmpty(self) -> None:
        """
        With no users the page says so.
        """
        html = flatten(self, UsersElement(self.templates.users, [], "./"))
        self.assertIn("Nobody is known here yet.", html)
        self.assertIn("0 users known here.", html)
        self.assertNotIn("<li>", html)

    def test_oneUser(self) -> None:
        """
        One user is "1 user".
        """
        html = flatten(self, UsersElement(self.templates.users, ["moshez"], "./"))
        self.assertIn("1 user known here.", html)

    def test_userEscaped(self) -> None:
        """
        The name and the status are escaped, in the title and the body;
        control characters are dropped and lines kept.
        """
        html = flatten(
            self,
            UserElement(
                self.templates.user,
                "<b>&",
                "<script>alert('x')</script> & \"q\" café\x1b[2J\nline two",
                "./",
            ),
        )
        self.assertIn("<title>&lt;b&gt;&amp;</title>", html)
        self.assertIn("<h1>&lt;b&gt;&amp;</h1>", html)
        self.assertIn("&lt;script&gt;alert('x')&lt;/script&gt; &amp; \"q\" café[2J\nline two", html)
        self.assertEqual(re.findall(r"<script[^>]*>", html), [_LIVE_SCRIPT_TAG])
        self.assertNotIn("\x1b", html)
        self.assertIn('href="./api/users/%3Cb%3E%26"', html)
        self.assertIn('<a href="./">All users</a>', html)

    def test_userAttributeQuotes(self) -> None:
        """
        A quote in a value that lands in an attribute cannot end it.
        """
        html = flatten(self, UserElement(self.templates.user, "u", "s", '../" onmouseover="x'))
        self.assertIn('href="../&quot; onmouseover=&quot;x"', html)

    def test_notFound(self) -> None:
        """
        The not-found page names the user, escaped.
        """
        html = flatten(self, NotFoundElement(self.templates.notFound, "<i>zoë", "../"))
        self.assertIn("No such user", html)
        self.assertIn("&lt;i&gt;zoë", html)
        self.assertIn('<a href="../">All users</a>', html)

    def test_selfContained(self) -> None:
        """
        The pages load nothing from elsewhere: no scripts but the site's own
        (deferred, from C{static/}, none inline), no external style sheets,
        no images; they have a title and a viewport for phones.
        """
        for element in (
            UsersElement(self.templates.users, ["moshez"], "./"),
            UserElement(self.templates.user, "moshez", "happy", "./"),
            NotFoundElement(self.templates.notFound, "x", "./"),
        ):
            html = flatten(self, element)
            scripts = re.findall(r"<script[^>]*>[^<]*</script>", html)
            expected = [] if isinstance(element, NotFoundElement) else [_LIVE_SCRIPT_TAG + "</script>"]
            self.assertEqual(scripts, expected)
            self.assertEqual(html.count("<script"), len(expected))
            self.assertNotIn("<img", html)
            self.assertNotIn("stylesheet", html)
            self.assertNotIn("http:", html)
            self.assertNotIn("https:", html)
            self.assertIn("<title>", html)
            self.assertIn('name="viewport"', html)
            self.assertIn("<style>", html)


class TemplatesTests(SynchronousTestCase):
    """
    L{loadTemplates} finds the shipped templates, takes another directory,
    and refuses broken ones with the file's name.
    """

    def setUp(self) -> None:
        self.directory = self.mktemp()
        shutil.copytree(defaultTemplatesDirectory(), self.directory)

    def path(self, name: str) -> str:
        return os.path.join(self.directory, name)

    def write(self, name: str, text: str) -> None:
        with open(self.path(name), "w", encoding="utf-8") as f:
            f.write(text)

    def assertRefused(self, path: str, *words: str, directory: str = "") -> None:
        """
        Loading the templates of C{directory} (the test's own unless named)
        is a L{TemplateError} that names C{path} and says each of C{words}.
        """
        e = self.assertRaises(TemplateError, loadTemplates, directory or self.directory)
        for said in (path, *words):
            self.assertIn(said, str(e))

    def test_shipped(self) -> None:
        """
        The shipped templates directory holds every template.
        """
        for name in TEMPLATE_FILES:
            self.assertTrue(os.path.isfile(os.path.join(defaultTemplatesDirectory(), name)))
        loadTemplates()

    def test_otherDirectory(self) -> None:
        """
        Templates from another directory are the ones used.
        """
        self.write(
            "user.xhtml",
            _template(
                "page", '<body><p>Custom <t:slot name="name"/>: <t:slot name="status"/></p></body>'
            ),
        )
        templates = loadTemplates(self.directory)
        html = flatten(self, UserElement(templates.user, "a&b", "<ok>", "./"))
        self.assertIn("<p>Custom a&amp;b: &lt;ok&gt;</p>", html)

    def test_missing(self) -> None:
        """
        A missing template is an error naming it.
        """
        os.remove(self.path("notfound.xhtml"))
        self.assertRefused(self.path("notfound.xhtml"), "No such file or directory")

    def test_missingDirectory(self) -> None:
        """
        A directory that does not exist: the first template is named.
        """
        nowhere = self.path("nothere")
        self.assertRefused(os.path.join(nowhere, "users.xhtml"), directory=nowhere)

    def test_unreadable(self) -> None:
        """
        A template that cannot be read (here, a directory) is an error
        naming it.
        """
        os.remove(self.path("user.xhtml"))
        os.mkdir(self.path("user.xhtml"))
        self.assertRefused(self.path("user.xhtml"))

    def test_malformed(self) -> None:
        """
        A template that is not well-formed XML is an error naming it and the
        place.
        """
        self.write("users.xhtml", "<html><body><p>unclosed</body></html>")
        self.assertRefused(self.path("users.xhtml"), "not well-formed XML: line 1")

    def test_unknownRenderer(self) -> None:
        """
        A template that uses a renderer the page does not have is refused.
        """
        self.write("notfound.xhtml", _template("nosuch", ""))
        self.assertRefused(self.path("notfound.xhtml"), "cannot be rendered", "nosuch")

    def test_unknownSlot(self) -> None:
        """
        A template that uses a slot the page does not fill is refused.
        """
        self.write("user.xhtml", _template("page", '<t:slot name="email"/>'))
        self.assertRefused(self.path("user.xhtml"), "email")


class FrontPageTests(SynchronousTestCase):
    """
    L{Templates.frontPage}: the front page flattened once per listing, with
    the per-request values left open, gives the engine's bytes.
    """

    ENTRIES = [
        (name, status)
        for name, status in zip(
            ["moshez", "a<b", "zo\u00eb", "x"], AWKWARD[1:] + ["plain"]
        )
    ]

    def assertSameAsEngine(self, templates: Templates, listed: bool = True) -> None:
        page = templates.frontPage(self.ENTRIES, 7, listed)
        self.assertIsNotNone(page)
        assert page is not None
        for home in ["./", "../", 'a"<&>']:
            for host in AWKWARD:
                element = UsersElement(
                    templates.users,
                    [name for name, status in self.ENTRIES],
                    home,
                    host=host,
                    statuses=dict(self.ENTRIES),
                    total=7,
                    listed=listed,
                )
                self.assertEqual(
                    page.render(frontPageSlots(home, host)),
                    self.successResultOf(flattenString(None, element)),
                )

    def test_shipped(self) -> None:
        """
        The shipped front page, listed or not.
        """
        templates = loadTemplates()
        self.assertSameAsEngine(templates)
        self.assertSameAsEngine(templates, listed=False)

    def test_slotsEverywhere(self) -> None:
        """
        Per-request slots in text and in attributes, alone and inside other
        values (the link of every user starts with the link home).
        """
        page = tags.html(
            tags.p(slot("host"), title=slot("host")),
            tags.code(slot("finger"), slot("example"), **{"data-x": slot("example")}),
            tags.a(href=slot("json"), render="listed"),
            tags.li(tags.a(slot("name"), href=slot("href")), slot("status"), render="user"),
            tags.p(render="more"),
            render="page",
        )
        loader = TagLoader(page)
        templates = Templates(loader, loader, loader)
        self.assertSameAsEngine(templates)

    def test_tagInAttribute(self) -> None:
        """
        A slot the engine escapes twice (inside a tag inside an attribute)
        cannot be left open: the front page is flattened for every request.
        """
        page = tags.html(tags.a("x", title=tags.b(slot("host"))), render="page")
        loader = TagLoader(page)
        templates = Templates(loader, loader, loader)
        self.assertIsNone(templates.frontPage(self.ENTRIES, 7))

    def test_nul(self) -> None:
        """
        A value shown that holds a NUL, which holds a slot open, is never
        left in a page with its slots open.
        """
        templates = loadTemplates()
        self.assertIsNone(templates.frontPage([("a\x000\"\x00b", "happy")], 1))


class PublicAPITests(SynchronousTestCase):
    """
    The web front-end, the pre-rendered pages included, uses only Twisted's
    public API, so that an upgrade cannot break it unseen.
    """

    def test_noPrivateImports(self) -> None:
        """
        No module of L{finger.frontends.web} imports from a private module
        of Twisted or zope (one whose dotted name has a part starting with
        C{_}).
        """
        import finger.frontends.web

        private = re.compile(r"^\s*(?:from|import)\s+(?:twisted|zope)\.(?:\w+\.)*_\w*", re.M)
        directory = os.path.dirname(os.path.abspath(finger.frontends.web.__file__))
        modules = [name for name in os.listdir(directory) if name.endswith(".py")]
        self.assertIn("templates.py", modules)
        for name in modules:
            with open(os.path.join(directory, name), encoding="utf-8") as f:
                self.assertEqual(private.findall(f.read()), [], name)


class FrontPageElementTests(SynchronousTestCase):
    """
    The front page's statuses and heading, and a user's page's ways to
    look them up.
    """

    def setUp(self) -> None:
        self.templates = loadTemplates()

    def test_shortStatus(self) -> None:
        """
        A status on the front page is one line without control characters,
        cut with an ellipsis when it is long or has more lines.
        """
        self.assertEqual(shortStatus("happy"), "happy")
        self.assertEqual(shortStatus(""), "")
        self.assertEqual(shortStatus("\n\nlater"), " " + STATUS_CUT)
        self.assertEqual(shortStatus("one\ntwo"), "one " + STATUS_CUT)
        self.assertEqual(shortStatus("one\n\n"), "one")
        self.assertEqual(shortStatus("a\x1b[2Jb\u202ec"), "a[2Jbc")
        self.assertEqual(shortStatus("x" * LISTED_STATUS_LENGTH), "x" * LISTED_STATUS_LENGTH)
        self.assertEqual(
            shortStatus("x" * (LISTED_STATUS_LENGTH + 1)),
            "x" * (LISTED_STATUS_LENGTH - 1) + STATUS_CUT,
        )
        self.assertEqual(shortStatus("ab  cd", 4), "ab" + STATUS_CUT)
        cut = shortStatus("word " * 40)
        self.assertEqual(len(cut), LISTED_STATUS_LENGTH)
        self.assertTrue(cut.endswith("word" + STATUS_CUT))

    def test_statusesEscaped(self) -> None:
        """
        Statuses and the host are escaped like names.
        """
        html = flatten(
            self,
            UsersElement(
                self.templates.users,
                ["a"],
                "./",
                host="<h>",
                statuses={"a": '<script>x</script> & "q"'},
            ),
        )
        self.assertIn(listedStatus("a", '&lt;script&gt;x&lt;/script&gt; &amp; "q"'), html)
        self.assertIn("<title>Finger at &lt;h&gt;</title>", html)
        self.assertIn("<h1>Finger at &lt;h&gt;</h1>", html)
        self.assertEqual(re.findall(r"<script[^>]*>", html), [_LIVE_SCRIPT_TAG])

    def test_more(self) -> None:
        """
        With more users than shown, a line says how many more.
        """
        html = flatten(self, UsersElement(self.templates.users, ["a"], "./", total=3))
        self.assertIn("3 users known here.", html)
        self.assertIn('<p class="more" data-live-more="">(2 more users not shown)</p>', html)
        html = flatten(self, UsersElement(self.templates.users, ["a"], "./"))
        self.assertNotIn("more users", html)

    def test_unlisted(self) -> None:
        """
        With listing off the page says so, and how to ask for someone.
        """
        html = flatten(
            self, UsersElement(self.templates.users, [], "./", host="h.example", listed=False)
        )
        assertUnlistedFrontPage(self, html, "h.example")
        self.assertNotIn("Nobody is known here yet.", html)

    def test_lookUp(self) -> None:
        """
        A user's page shows the finger command, quoted for a shell where it
        must be, and a relative link to the user's WebFinger answer.
        """
        html = flatten(self, UserElement(self.templates.user, "zoë", "s", "../", "h.example"))
        self.assertIn('<code class="finger">finger zoë@h.example</code>', html)
        self.assertIn(
            'href="../.well-known/webfinger?resource=acct%3Azo%25C3%25AB%40h.example"', html
        )
        self.assertIn('<code class="acct">acct:zoë@h.example</code>', html)
        html = flatten(self, UserElement(self.templates.user, "a;b$(x)", "s", "./", "h"))
        self.assertIn("finger 'a;b$(x)@h'", html)
        self.assertEqual(fingerCommand("it's", "h"), "finger 'it'\"'\"'s@h'")

    def test_prerenderedWithHosts(self) -> None:
        """
        The pre-rendered user page gives the engine's bytes whatever the
        host.
        """
        templates = loadTemplates()
        self.assertIsNotNone(templates.prerendered[UserElement])
        for host in AWKWARD:
            for user in AWKWARD:
                element = UserElement(templates.user, user, "s", "./", host)
                self.assertEqual(
                    self.successResultOf(templates.render(None, element)),
                    self.successResultOf(flattenString(None, element)),
                )


class FirstTimeUserTests(SynchronousTestCase):
    """
    What a first-time reader of the pages sees: a sentence for an empty
    status, no developer comments in the source, the asked name shown
    safely, and a finger hint that works on another port.
    """

    def setUp(self) -> None:
        self.templates = loadTemplates()

    def test_emptyStatus(self) -> None:
        """
        An empty status (or one of blank lines) shows L{EMPTY_STATUS},
        marked so the style can tell it apart; a status never does.
        """
        for status in ["", "\n\n", " \x1b "]:
            html = flatten(self, UserElement(self.templates.user, "u", status, "./"))
            self.assertIn(
                f'class="status empty" data-live-user="u" '
                f'data-live-empty="{EMPTY_STATUS}">{EMPTY_STATUS}</p>',
                html,
                repr(status),
            )
            rendered = self.successResultOf(
                self.templates.render(None, UserElement(self.templates.user, "u", status, "./"))
            )
            self.assertEqual(rendered.decode("utf-8"), html)
        html = flatten(self, UserElement(self.templates.user, "u", "busy", "./"))
        self.assertIn(
            f'class="status" data-live-user="u" data-live-empty="{EMPTY_STATUS}">busy</p>', html
        )
        # Only the script's attribute holds the sentence, for a status that
        # becomes empty while the page is open.
        self.assertEqual(html.count(EMPTY_STATUS), 1)

    def test_noComments(self) -> None:
        """
        The templates' comments are dropped when they are loaded: no page
        carries them, in any position.
        """
        self.assertIn("<!--", open(os.path.join(defaultTemplatesDirectory(), "user.xhtml")).read())
        for element in [
            UsersElement(self.templates.users, ["a"], "./"),
            UserElement(self.templates.user, "a", "s", "./"),
            NotFoundElement(self.templates.notFound, "a", "./"),
        ]:
            html = flatten(self, element)
            self.assertNotIn("<!--", html)
            self.assertTrue(html.startswith("<html"), html[:40])
        directory = self.mktemp()
        shutil.copytree(defaultTemplatesDirectory(), directory)
        path = os.path.join(directory, "notfound.xhtml")
        with open(path, encoding="utf-8") as f:
            text = f.read()
        with open(path, "w", encoding="utf-8") as f:
            f.write(text.replace("<h1>", "<!-- inner --><h1><!-- nested -->"))
        templates = loadTemplates(directory)
        page = self.successResultOf(
            templates.render(None, NotFoundElement(templates.notFound, "a", "./"))
        )
        self.assertNotIn(b"<!--", page)
        self.assertIn(b"<h1>No such user</h1>", page)

    def test_notFoundNameVisible(self) -> None:
        """
        The unknown user page shows the asked name's control and invisible
        characters made visible, never as they are.
        """
        for name, shown in [
            ("mo\u202eshez", "mo&lt;U+202E&gt;shez"),
            ("mo\x1b[2Jshez", "mo^[[2Jshez"),
            ("\u200bx\x9b", "&lt;U+200B&gt;xM-^["),
        ]:
            html = flatten(self, NotFoundElement(self.templates.notFound, name, "./"))
            self.assertIn(f'<strong class="name">{shown}</strong>', html)
            self.assertNotIn(name, html)
            rendered = self.successResultOf(
                self.templates.render(None, NotFoundElement(self.templates.notFound, name, "./"))
            )
            self.assertEqual(rendered.decode("utf-8"), html)

    def test_fingerPort(self) -> None:
        """
        On a port other than 79, the hint is this project's client, which
        takes a port (the usual C{finger} cannot); the front page's too,
        and prerendered pages give the engine's bytes.
        """
        self.assertEqual(fingerCommand("zoë", "h"), "finger zoë@h")
        self.assertEqual(fingerCommand("zoë", "h", 7979), "pyfinger zoë@h:7979")
        self.assertEqual(fingerCommand("u", "::1", 7979), "pyfinger u@[::1]:7979")
        self.assertEqual(fingerCommand("it's", "h", 7979), "pyfinger 'it'\"'\"'s@h:7979'")
        self.assertEqual(listCommand("h"), "finger @h")
        self.assertEqual(listCommand("h", 7979), "pyfinger @h:7979")
        html = flatten(self, UserElement(self.templates.user, "u", "s", "./", "h", 7979))
        self.assertIn('<code class="finger">pyfinger u@h:7979</code>', html)
        rendered = self.successResultOf(
            self.templates.render(None, UserElement(self.templates.user, "u", "s", "./", "h", 7979))
        )
        self.assertEqual(rendered.decode("utf-8"), html)
        entries = [("moshez", "happy")]
        for listed in (True, False):
            page = self.templates.frontPage(entries, 1, listed, 7979)
            assert page is not None
            for host in AWKWARD:
                element = UsersElement(
                    self.templates.users,
                    ["moshez"],
                    "./",
                    host=host,
                    statuses=dict(entries),
                    total=1,
                    listed=listed,
                    fingerPort=7979,
                )
                self.assertEqual(
                    page.render(frontPageSlots("./", host, 7979)),
                    self.successResultOf(flattenString(None, element)),
                )
        html = page.render(frontPageSlots("./", "h", 7979)).decode("utf-8")
        self.assertIn("<code>pyfinger USER@h:7979</code>", html)
