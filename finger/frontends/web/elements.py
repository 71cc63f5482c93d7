# -*- test-case-name: tests.frontends.web.test_templates -*-
"""
The elements that fill the templates: the front page (L{UsersElement}), a
user's page (L{UserElement}) and the page of a user not found
(L{NotFoundElement}), with what they show: a status cut to one line, the
finger command for a user.
"""

import re
import shlex
from typing import Dict, List, Optional, Union

from twisted.web.iweb import IRequest, ITemplateLoader
from twisted.web.template import Element, Tag, renderer

from finger.frontends.web.prerendered import SlottedElement
from finger.frontends.web.request import displayStatus, userPath
from finger.frontends.web.static import liveScriptURL
from finger.frontends.web.webfinger import webfingerPath
from finger.messages import EMPTY_STATUS, MORE_USERS_NOT_SHOWN, STATUS_CUT
from finger.text import counted, printableLines, visibleControls


LISTED_STATUS_LENGTH = 80
"""
The most characters of a status the front page shows beside a name.
"""


def shortStatus(status: str, limit: int = LISTED_STATUS_LENGTH) -> str:
    """
    A status on one line of at most C{limit} characters: its first line,
    cut with L{STATUS_CUT} if it is longer or if more lines follow.
    """
    lines = printableLines(status)
    first = lines[0] if lines else ""
    if len(first) > limit:
        return first[: limit - 1].rstrip() + STATUS_CUT
    if any(lines[1:]):
        return first + " " + STATUS_CUT
    return first


# What a shell takes as one plain word: letters (of any script), digits, and
# a few signs.
_SHELL_SAFE = re.compile(r"[\w@%+=:,./\[\]-]+")


FINGER_PORT = 79
"""
The finger protocol's own port (RFC 1288).
"""


def fingerCommand(user: str, host: str, port: int = FINGER_PORT) -> str:
    """
    The command that fingers C{user} (or lists the users, if C{user} is
    empty) at C{host}, quoted for a shell if it needs to be.  On another
    port than L{FINGER_PORT}, which the usual C{finger} client cannot
    reach, it is this project's client, C{pyfinger USER@HOST:PORT}.
    """
    if port == FINGER_PORT:
        command, target = "finger", f"{user}@{host}"
    else:
        command = "pyfinger"
        target = f"{user}@[{host}]:{port}" if ":" in host else f"{user}@{host}:{port}"
    return command + " " + (target if _SHELL_SAFE.fullmatch(target) else shlex.quote(target))


def listCommand(host: str, port: int = FINGER_PORT) -> str:
    """
    The command that lists the users at C{host}, as L{fingerCommand}
    writes it, but never quoted: C{host} is a name the site serves (or a
    marker holding a slot open, which must stay whole).
    """
    if port == FINGER_PORT:
        return "finger @" + host
    return f"pyfinger @[{host}]:{port}" if ":" in host else f"pyfinger @{host}:{port}"


FRONT_PAGE_SLOTS = ["home", "host", "example"]
"""
The front page's values that differ from one request to the next: the
slots L{Templates.frontPage} leaves open.
"""


def frontPageSlots(home: str, host: str, fingerPort: int = FINGER_PORT) -> Dict[str, str]:
    """
    The values of L{FRONT_PAGE_SLOTS} for one request.

    @param home: the relative link to the site's root.
    @param host: the host name the site serves.
    @param fingerPort: the port the finger server listens on.
    """
    return {"home": home, "host": host, "example": fingerCommand("USER", host, fingerPort)}


class UsersElement(Element):
    """
    The front page: what the site is and which host it serves, then every
    user, linked to their page, beside the first line of their status; or,
    with listing off, only how to look someone up.
    """

    def __init__(
        self,
        loader: ITemplateLoader,
        users: List[str],
        home: str,
        *,
        host: str = "localhost",
        statuses: Optional[Dict[str, str]] = None,
        total: Optional[int] = None,
        listed: bool = True,
        example: Optional[str] = None,
        fingerPort: int = FINGER_PORT,
    ) -> None:
        """
        @param users: the names to show, in order.
        @param home: the relative link to the site's root.
        @param host: the host name the site serves.
        @param statuses: each user's status; none shown for a user missing
            here.
        @param total: how many users there are, if more than C{users}.
        @param listed: whether listing users is on.
        @param example: the command shown for fingering someone; by
            default L{fingerCommand} for C{USER} at C{host}.
        @param fingerPort: the port the finger server listens on.
        """
        super().__init__(loader)
        self.users = users
        self.home = home
        self.host = host
        self.statuses = statuses if statuses is not None else {}
        self.total = len(users) if total is None else total
        self.listUsers = listed
        self.fingerPort = fingerPort
        self.example = (
            example if example is not None else fingerCommand("USER", host, fingerPort)
        )

    @renderer
    def page(self, request: Optional[IRequest], tag: Tag) -> Tag:
        return tag.fillSlots(
            home=self.home,
            json=self.home + "api/users",
            count=counted(self.total, "user"),
            host=self.host,
            finger=listCommand(self.host, self.fingerPort),
            example=self.example,
            script=liveScriptURL(self.home),
            cut=STATUS_CUT,
            limit=str(LISTED_STATUS_LENGTH),
        )

    @renderer
    def user(self, request: Optional[IRequest], tag: Tag) -> List[Tag]:
        return [
            tag.clone().fillSlots(
                name=name,
                href=self.home + userPath(name),
                status=shortStatus(self.statuses.get(name, "")),
            )
            for name in self.users
        ]

    @renderer
    def more(self, request: Optional[IRequest], tag: Tag) -> Union[Tag, str]:
        hidden = self.total - len(self.users)
        return tag(MORE_USERS_NOT_SHOWN.format(count=hidden)) if hidden > 0 else ""

    @renderer
    def empty(self, request: Optional[IRequest], tag: Tag) -> Union[Tag, str]:
        return "" if self.users or not self.listUsers else tag

    @renderer
    def listed(self, request: Optional[IRequest], tag: Tag) -> Union[Tag, str]:
        return tag if self.listUsers else ""

    @renderer
    def unlisted(self, request: Optional[IRequest], tag: Tag) -> Union[Tag, str]:
        return "" if self.listUsers else tag


class UserElement(SlottedElement):
    """
    One user's page: their name and status (or L{EMPTY_STATUS}, if it is
    empty), and how to finger them and look them up with WebFinger at
    C{host}.
    """

    def __init__(
        self,
        loader: ITemplateLoader,
        user: str,
        status: str,
        home: str,
        host: str = "localhost",
        fingerPort: int = FINGER_PORT,
    ) -> None:
        shown = displayStatus(status)
        empty = not shown.strip()
        super().__init__(
            loader,
            {
                "name": user,
                "status": EMPTY_STATUS if empty else shown,
                "statusClass": "status empty" if empty else "status",
                "emptyStatus": EMPTY_STATUS,
                "home": home,
                "json": home + "api/users/" + userPath(user),
                "host": host,
                "finger": fingerCommand(user, host, fingerPort),
                "acct": f"acct:{user}@{host}",
                "webfinger": home + webfingerPath(user, host),
                "script": liveScriptURL(home),
            },
        )
        self.user = user
        self.status = status
        self.home = home
        self.host = host


class NotFoundElement(SlottedElement):
    """
    The page for a user nobody knows, showing the name asked for with its
    control and invisible characters made visible (L{visibleControls}):
    a right-to-left override or an escape in a URL is never sent back as
    it is.
    """

    def __init__(self, loader: ITemplateLoader, user: str, home: str) -> None:
        super().__init__(loader, {"name": visibleControls(user), "home": home})
        self.user = user
        self.home = home


# Slot values that exercise every kind of escaping.
