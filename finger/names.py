# -*- test-case-name: tests.test_names -*-
"""
The one rule for user names, and the rule for a status a setter may store,
used by every front-end and back-end.

A user name is 1 to 64 characters of text with no whitespace, no control
characters, none of the format characters that reorder or hide text
(L{finger.text.DECEPTIVE_FORMAT}), no C{:} (it separates name and status in the status file) and no
C{@} (it means forwarding in a finger query), and it does not start with
C{/} (a finger switch such as C{/W}), C{-} (a command-line option) or C{#}
(the status file would read its line as a comment).
"""

import re

from finger.text import DECEPTIVE_FORMAT, SEPARATORS

MAX_USER_NAME_LENGTH = 64
MAX_STATUS_LENGTH = 1024

# \s covers Unicode whitespace; the ranges are C0, DEL and C1 controls, and
# lone surrogates (what undecodable bytes become under "surrogateescape").
USER_NAME = re.compile(
    r"(?![/#-])[^\s:@\x00-\x1f\x7f-\x9f\ud800-\udfff%s]{1,%d}"
    % (DECEPTIVE_FORMAT, MAX_USER_NAME_LENGTH)
)
"""
The user name rule as a regular expression, for code that checks many names
at once with its C{fullmatch}.
"""

_DECEPTIVE = re.compile(f"[{DECEPTIVE_FORMAT}]")
_INVISIBLE_REASON = (
    "a {what} may not contain invisible or direction-changing characters "
    "(such as U+202E RIGHT-TO-LEFT OVERRIDE)"
)


class InvalidUserName(ValueError):
    """
    A name breaks the user name rule.  The message says how.
    """


def isValidUserName(name: str) -> bool:
    """
    Does C{name} satisfy the user name rule?
    """
    return USER_NAME.fullmatch(name) is not None


def checkUserName(name: str) -> str:
    """
    Return C{name} unchanged if it satisfies the user name rule.

    @raise InvalidUserName: with a message saying which part of the rule the
        name breaks.
    """
    if isValidUserName(name):
        return name
    if not name:
        reason = "a user name may not be empty"
    elif len(name) > MAX_USER_NAME_LENGTH:
        reason = f"a user name is at most {MAX_USER_NAME_LENGTH} characters"
    elif name[0] in "/-#":
        reason = "a user name may not start with '/', '-' or '#'"
    elif ":" in name or "@" in name:
        reason = "a user name may not contain ':' or '@'"
    elif any(c.isspace() for c in name):
        reason = "a user name may not contain whitespace"
    elif _DECEPTIVE.search(name) is not None:
        reason = _INVISIBLE_REASON.format(what="user name")
    else:
        reason = "a user name may not contain control characters"
    raise InvalidUserName(reason)


def decodeUserName(raw: bytes) -> str:
    """
    Decode a user name read from the wire and check it.

    @raise InvalidUserName: if C{raw} is not UTF-8 or breaks the rule.
    """
    try:
        name = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidUserName("a user name must be UTF-8 text") from None
    return checkUserName(name)


class InvalidStatus(ValueError):
    """
    A status cannot be stored.  The message says why.
    """


_STATUS_CONTROLS = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\ud800-\udfff]")
_STATUS_BREAKS = re.compile(f"[{SEPARATORS}]")


def checkStatus(status: str) -> str:
    """
    Return C{status} unchanged if a setter may store it: one line of at most
    L{MAX_STATUS_LENGTH} characters with no control characters but tab, no
    line or paragraph separator (U+2028, U+2029), and none of the format
    characters that reorder or hide text (L{finger.text.DECEPTIVE_FORMAT}).

    @raise InvalidStatus: saying what is wrong.
    """
    if len(status) > MAX_STATUS_LENGTH:
        raise InvalidStatus(f"a status is at most {MAX_STATUS_LENGTH} characters")
    if _STATUS_CONTROLS.search(status) is not None:
        raise InvalidStatus("a status may not contain control characters")
    if _STATUS_BREAKS.search(status) is not None:
        raise InvalidStatus("a status is one line: no line or paragraph separators")
    if _DECEPTIVE.search(status) is not None:
        raise InvalidStatus(_INVISIBLE_REASON.format(what="status"))
    return status
