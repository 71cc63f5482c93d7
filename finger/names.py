# -*- test-case-name: tests.test_names -*-
"""
The one rule for user names, and the rule for a status a setter may store,
used by every front-end and back-end.

A user name is 1 to 64 characters of text with no whitespace, no control
characters, no C{:} (it separates name and status in the status file) and no
C{@} (it means forwarding in a finger query), and it does not start with
C{/} (a finger switch such as C{/W}), C{-} (a command-line option) or C{#}
(the status file would read its line as a comment).
"""

import re

MAX_USER_NAME_LENGTH = 64
MAX_STATUS_LENGTH = 1024

# \s covers Unicode whitespace; the ranges are C0, DEL and C1 controls, and
# lone surrogates (what undecodable bytes become under "surrogateescape").
_USER_NAME = re.compile(
    r"(?![/#-])[^\s:@\x00-\x1f\x7f-\x9f\ud800-\udfff]{1,%d}" % (MAX_USER_NAME_LENGTH,)
)


class InvalidUserName(ValueError):
    """
    A name breaks the user name rule.  The message says how.
    """


def isValidUserName(name: str) -> bool:
    """
    Does C{name} satisfy the user name rule?
    """
    return _USER_NAME.fullmatch(name) is not None


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


_STATUS_FORBIDDEN = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\ud800-\udfff]")


def checkStatus(status: str) -> str:
    """
    Return C{status} unchanged if a setter may store it: one line of at most
    L{MAX_STATUS_LENGTH} characters with no control characters but tab.

    @raise InvalidStatus: saying what is wrong.
    """
    if len(status) > MAX_STATUS_LENGTH:
        raise InvalidStatus(f"a status is at most {MAX_STATUS_LENGTH} characters")
    if _STATUS_FORBIDDEN.search(status) is not None:
        raise InvalidStatus("a status may not contain control characters")
    return status
