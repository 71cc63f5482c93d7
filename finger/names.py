# -*- test-case-name: tests.test_names -*-
"""
The one rule for user names, and the rule for a status a setter may store,
used by every front-end and back-end.

User names are identifiers, and RFC 8265 (PRECIS) is the rule the field
has for them.  A user name is a string the C{UsernameCasePreserved} profile
accepts and leaves as it is, as precis-i18n (the maintained implementation)
enforces it: letters and digits of any script, and printable ASCII; no
spaces, symbols, controls, or code points that are invisible or default
ignorable (Hangul fillers such as U+3164, braille blank, combining grapheme
joiner, Khmer inherent vowels, Mongolian variation selectors, variation
selectors, musical format characters, tag characters, zero-width and
bidirectional format characters); no compatibility characters; right-to-left
names follow the bidi rule of RFC 5893.  So C{moshez\\u3164} can never be
listed beside C{moshez}, looking the same.

Why the case-preserving profile rather than C{UsernameCaseMapped}: this
service has always told C{Moshez} from C{moshez}, as Unix does for the
accounts C{--backend=local} reads, as the status file and the database's
primary key do.  Mapping case would merge two users that exist today, or
(were mapped spellings refused) make one of them unreachable.  The case of
a name stays part of it, as it is everywhere else on the system.

A name must already be in the form the profile gives it (its enforcement
would not change it): C{ｍｏｓｈｅｚ} in full-width letters, or C{zoë} with a
combining diaeresis, is refused, with the form to write instead, rather than
quietly taken for another user.  So names are compared as they are, code
point for code point, everywhere, and two names that PRECIS holds equal are
never two users.

On top of the profile, the rules of this service stay: 1 to 64 characters,
no C{:} (it separates name and status in the status file) and no C{@} (it
means forwarding in a finger query), and no C{/} (a finger switch such as
C{/W}), C{-} (a command-line option) or C{#} (the status file would read
the line as a comment) first.
"""

import functools
import re
import unicodedata
from typing import Optional

from precis_i18n import get_profile

from finger.text import DECEPTIVE_FORMAT, IGNORABLE, SEPARATORS, withoutInvisible

MAX_USER_NAME_LENGTH = 64
MAX_STATUS_LENGTH = 1024

PLAIN_USER_NAME = re.compile(r"(?![/#-])[!-9;-?A-~]{1,%d}" % (MAX_USER_NAME_LENGTH,))
"""
The ASCII user names, as a regular expression, for code that checks many
names at once with its C{fullmatch}: a name it matches satisfies the rule
(the profile takes printable ASCII as it is); one it does not match may
still be a valid name in another script, for L{isValidUserName} to decide.
"""

_PROFILE = get_profile("UsernameCasePreserved")
_DECEPTIVE = re.compile(f"[{DECEPTIVE_FORMAT}]")
_INVISIBLE_REASON = (
    "a {what} may not contain invisible or direction-changing characters "
    "(such as U+202E RIGHT-TO-LEFT OVERRIDE)"
)
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_INVISIBLE_CHARACTER = re.compile(f"[{IGNORABLE}{DECEPTIVE_FORMAT}]")

# What precis-i18n's reasons (after "DISALLOWED/") mean to whoever chose the
# name.
_INVISIBLE = {
    "precis_ignorable_properties",
    "old_hangul_jamo",
    "zero_width_joiner",
    "zero_width_nonjoiner",
}
_NOT_IN_NAMES = "user names are letters, digits and ASCII punctuation (RFC 8265)"


class InvalidUserName(ValueError):
    """
    A name breaks the user name rule.  The message says how.
    """


def _describe(character: str) -> str:
    code = ord(character)
    return f"U+{code:04X} {unicodedata.name(character, 'unassigned')}"


@functools.lru_cache(maxsize=4096)
def _profileProblem(name: str) -> Optional[str]:
    """
    Why the profile refuses C{name} or would change it, or L{None} if it
    takes it as it is.  Only for names that are not plain ASCII, of at most
    L{MAX_USER_NAME_LENGTH} characters; cached, since the same names are
    asked about again and again.
    """
    try:
        enforced = _PROFILE.enforce(name)
    except UnicodeEncodeError as e:
        rule = e.reason.partition("/")[2] or e.reason
        # The character as the profile saw it, after its width mapping.
        seen = e.object if isinstance(e.object, str) else name
        character = seen[e.start] if 0 <= e.start < len(seen) else ""
        if rule == "bidi_rule":
            return (
                "a user name with right-to-left letters must follow the bidi rule of "
                "RFC 5893 (no left-to-right letters mixed in, no digit first)"
            )
        if rule == "spaces" or (character and character.isspace()):
            return "a user name may not contain whitespace"
        if rule == "controls" or _CONTROLS.match(character):
            return "a user name may not contain control characters"
        if rule in _INVISIBLE or _DECEPTIVE.match(character):
            return (
                "a user name may not contain invisible or direction-changing "
                f"characters ({_describe(character)})"
            )
        if character:
            return f"a user name may not contain {_describe(character)}: {_NOT_IN_NAMES}"
        return f"not a user name by RFC 8265 ({e.reason})"
    if enforced != name:
        return f"a user name must be written in its normal form (RFC 8265), here {enforced!r}"
    return None


def _problem(name: str) -> Optional[str]:
    """
    Why C{name} breaks the user name rule, or L{None} if it does not.
    """
    if PLAIN_USER_NAME.fullmatch(name) is not None:
        return None
    if not name:
        return "a user name may not be empty"
    if len(name) > MAX_USER_NAME_LENGTH:
        return f"a user name is at most {MAX_USER_NAME_LENGTH} characters"
    if name[0] in "/-#":
        return "a user name may not start with '/', '-' or '#'"
    if ":" in name or "@" in name:
        return "a user name may not contain ':' or '@'"
    if any(c.isspace() for c in name):
        return "a user name may not contain whitespace"
    if _CONTROLS.search(name) is not None:
        return "a user name may not contain control characters"
    invisible = _INVISIBLE_CHARACTER.search(name)
    if invisible is not None:
        return (
            "a user name may not contain invisible or direction-changing "
            f"characters ({_describe(invisible.group())})"
        )
    return _profileProblem(name)


def isValidUserName(name: str) -> bool:
    """
    Does C{name} satisfy the user name rule?
    """
    return _problem(name) is None


def checkUserName(name: str) -> str:
    """
    Return C{name} unchanged if it satisfies the user name rule.

    @raise InvalidUserName: with a message saying which part of the rule the
        name breaks.
    """
    reason = _problem(name)
    if reason is not None:
        raise InvalidUserName(reason)
    return name


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
    Return the status a setter stores for C{status}: C{status} without its
    invisible characters (L{finger.text.withoutInvisible}: default-ignorable
    code points such as U+3164 HANGUL FILLER, variation selectors or tag
    characters go, unless they join an emoji sequence).

    C{status} must be one line of at most L{MAX_STATUS_LENGTH} characters
    with no control characters but tab, no line or paragraph separator
    (U+2028, U+2029), and none of the format characters that reorder or hide
    text (L{finger.text.DECEPTIVE_FORMAT}): these are refused, so whoever
    set it learns why, rather than dropped.

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
    return withoutInvisible(status)
