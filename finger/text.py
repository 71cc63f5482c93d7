# -*- test-case-name: tests.test_text -*-
"""
Making text safe to show: on a terminal at the other end of a connection, and
in a log.

A status comes from a file or a remote service that the reader of a finger
answer does not control.  Control characters in it could move a terminal's
cursor, change its colours or fake extra lines, so they never reach a client:
RFC 1288 section 3.3 asks servers to filter them.  Nor do the Unicode
characters that lie about text: bidirectional controls such as U+202E
RIGHT-TO-LEFT OVERRIDE, which make a terminal or a browser show characters in
another order than they were sent, and invisible format characters; and the
line and paragraph separators U+2028 and U+2029 never become line breaks.

Nor does invisible text: every default-ignorable code point (L{IGNORABLE}:
Hangul fillers, variation selectors, tag characters and the like, which a
reader never sees but a program reading the status does) is dropped, except
where it joins an emoji sequence or a script needs it (L{withoutInvisible}).

And counting in plain words for the lines an operator reads (L{counted},
L{Count}).
"""

import re
import unicodedata
from typing import Dict, List

from precis_i18n.unicode import UnicodeData
from twisted.internet.interfaces import IAddress

DECEPTIVE_FORMAT = (
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
    "\u180e\u200b\u2060-\u2064\u206a-\u206f\ufeff\ufff9-\ufffb\U000e0001"
)
"""
The format characters (Unicode category Cf) no text from this server may
hold, as the inside of a regular expression's character class: the
bidirectional marks, embeddings, overrides and isolates (U+061C, U+200E,
U+200F, U+202A to U+202E, U+2066 to U+2069), which reorder what a reader
sees; the invisible ones (U+180E, U+200B ZERO WIDTH SPACE, U+2060 to U+2064,
U+FEFF), the deprecated format controls U+206A to U+206F, the interlinear
annotation characters U+FFF9 to U+FFFB, which can hide text, and the
deprecated language tag U+E0001.  A setter refuses a status that holds
one.  The other format characters are not refused: the invisible ones
among them (the joiners, the soft hyphen, tag characters) are dropped by
L{withoutInvisible} unless they join an emoji sequence or a script needs
them, and the signs some scripts write with stay.
"""

SEPARATORS = "\u2028\u2029"
"""
The Unicode line and paragraph separators, as the inside of a character
class.
"""

IGNORABLE = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f"
    "\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff"
)
"""
Unicode's default-ignorable code points (the C{Default_Ignorable_Code_Point}
property of C{DerivedCoreProperties.txt}, Unicode 14.0: 4174 code points, the
same set precis-i18n's C{UnicodeData.default_ignorable} gives; a test checks
every code point against it), as the inside of a character class.  Neither
the standard library's C{unicodedata} nor precis-i18n offers the set itself,
and asking precis-i18n about each of the 1.1 million code points at start-up
would take half a second.  They are the characters a renderer shows as
nothing at all: soft hyphen, combining grapheme joiner, the Hangul fillers
(U+115F, U+1160, U+3164, U+FFA0), Khmer inherent vowels (U+17B4, U+17B5),
Mongolian variation selectors and vowel separator (U+180B to U+180F), the
zero-width and bidirectional format characters, variation selectors
(U+FE00 to U+FE0F, U+E0100 to U+E01EF), musical format characters (U+1D173
to U+1D17A), shorthand format controls, tag characters (U+E0000 to
U+E007F) and the code points reserved as ignorable.
"""

# C0 controls except TAB, DEL, C1 controls, and the deceptive format
# characters.
_CONTROLS = re.compile(f"[\x00-\x08\x0a-\x1f\x7f-\x9f{DECEPTIVE_FORMAT}]")
_SEPARATORS = re.compile(f"[{SEPARATORS}]")


_IGNORABLE = re.compile(f"[{IGNORABLE}]")

_ZWNJ, _ZWJ = "\u200c", "\u200d"
_PRESENTATION = "\ufe0e\ufe0f"
_TAG_BASE = "\U0001f3f4"
_CANCEL_TAG = "\U000e007f"

# An emoji tag sequence (UTS #51, ED-14a) as it is used: the black flag, a
# subdivision code in tag letters and digits (a region and one to four
# letters or digits, CLDR's unicode_subdivision_id, as in "gbeng" for
# England), and CANCEL TAG.  Anything longer is a hiding place for text.
_TAG_SEQUENCE = re.compile(
    "\U0001f3f4[\U000e0061-\U000e007a]{2}[\U000e0030-\U000e0039\U000e0061-\U000e007a]{1,4}"
    "\U000e007f"
)

# The characters with Unicode's Emoji property (emoji-data.txt, Unicode
# 14.0) that are not in category So: keycap bases, a few punctuation marks,
# arrows and squares in category Sm, and the skin tone modifiers.  Every
# other emoji is a symbol of category So.
_EMOJI_NOT_SO = re.compile(
    "[#*0-9\u203c\u2049\u2139\u2194\u25fb-\u25fe\u2934\u2935\u3030\u303d"
    "\U0001f3fb-\U0001f3ff]"
)
_MODIFIERS = "\U0001f3fb\U0001f3fc\U0001f3fd\U0001f3fe\U0001f3ff"

_UNICODE = UnicodeData()
_VIRAMA = 9  # the canonical combining class of a virama (RFC 5892, A.1)
_JOINING_WINDOW = 16


def _isEmoji(character: str) -> bool:
    return (
        unicodedata.category(character) == "So" or _EMOJI_NOT_SO.match(character) is not None
    )


def _endsEmoji(last: str) -> bool:
    """
    Is C{last}, the last character kept, the end of an emoji: the emoji
    itself, its presentation selector, its skin tone, or its tags' end?
    """
    return bool(last) and (last in _PRESENTATION or last == _CANCEL_TAG or _isEmoji(last))


def _joins(character: str) -> bool:
    """
    Might C{character} be a joining letter, or a mark that joining looks
    through?  Nothing before U+0300 is (nor a joiner or another ignorable
    code point), which is quick to tell.
    """
    return character >= "\u0300" and _IGNORABLE.match(character) is None


def _keep(text: str, index: int, last: str) -> bool:
    """
    Does the default-ignorable character at C{text[index]} stay, after
    C{last}, the last character kept (empty if none)?
    """
    character = text[index]
    after = text[index + 1 : index + 2]
    before = text[index - 1] if index else ""
    if character == _ZWJ:
        if _endsEmoji(last) and after and _isEmoji(after) and after not in _MODIFIERS:
            return True
        # RFC 5892 appendix A.2: after a virama (Indic scripts).
        return bool(before) and unicodedata.combining(before) == _VIRAMA
    if character == _ZWNJ:
        # RFC 5892 appendix A.1: after a virama, or between letters that
        # would otherwise join (Persian, Arabic, Syriac...).
        if before and unicodedata.combining(before) == _VIRAMA:
            return True
        if not (before and _joins(before) and _joins(after)):
            return False
        # Looked at within a window: the rule walks over combining marks,
        # and a long line of them must not cost time in its square.
        start = max(0, index - _JOINING_WINDOW)
        window = text[start : index + _JOINING_WINDOW + 1]
        return _UNICODE.valid_jointype(window, index - start)
    if character in _PRESENTATION:
        # Text or emoji presentation, right after an emoji (UTS #51 ED-8a,
        # ED-9a).
        return bool(last) and last not in _MODIFIERS and _isEmoji(last)
    return False


def withoutInvisible(text: str) -> str:
    """
    C{text} without its default-ignorable code points (L{IGNORABLE}),
    except where they join an emoji sequence or a script needs them:

      - U+200D ZERO WIDTH JOINER between two emoji (C{👩‍💻}), or after a
        virama (RFC 5892 appendix A.2);
      - U+200C ZERO WIDTH NON-JOINER after a virama or between letters
        that would otherwise join (RFC 5892 appendix A.1: Persian writes
        it every day);
      - U+FE0E and U+FE0F, the text and emoji presentation selectors,
        right after an emoji (C{❤️});
      - the tag characters of an emoji tag sequence: the black flag
        U+1F3F4, a subdivision code such as C{gbeng} in tag letters, and
        U+E007F CANCEL TAG (the flag of England).

    Everything else in L{IGNORABLE} goes: a Hangul filler, a variation
    selector after a letter, a tag character outside such a flag.  Text
    without any default-ignorable code point comes back as it is, at the
    cost of one search; otherwise the time is in proportion to the
    default-ignorable code points it holds.
    """
    # Every default-ignorable code point is past ASCII, and CPython knows
    # whether a string is ASCII without looking at it.
    if text.isascii() or _IGNORABLE.search(text) is None:
        return text
    pieces: List[str] = []
    last = ""
    position = 0
    for found in _IGNORABLE.finditer(text):
        index = found.start()
        if index < position:
            # Inside a flag's tags, kept whole below.
            continue
        if index > position:
            pieces.append(text[position:index])
            last = text[index - 1]
        position = index + 1
        if last == _TAG_BASE and index and text[index - 1] == _TAG_BASE:
            tagged = _TAG_SEQUENCE.match(text, index - 1)
            if tagged is not None:
                pieces.append(text[index : tagged.end()])
                last, position = _CANCEL_TAG, tagged.end()
                continue
        if _keep(text, index, last):
            pieces.append(text[index])
            last = text[index]
    pieces.append(text[position:])
    return "".join(pieces)


def printableLines(text: str) -> List[str]:
    """
    Split C{text} into lines, dropping every control character but TAB,
    every character of L{DECEPTIVE_FORMAT}, and the other invisible ones
    (L{withoutInvisible}).

    Any line break a file or a program writes (CR, LF, CRLF, form feed, NEL)
    ends a line; so the only line breaks on the wire are the ones the caller
    writes between the returned lines.  The Unicode line and paragraph
    separators (U+2028, U+2029) become spaces: they are no line breaks to a
    terminal, and a status (one line) must not become two.
    """
    return [
        withoutInvisible(_CONTROLS.sub("", line))
        for line in _SEPARATORS.sub(" ", text).splitlines()
    ]


_LOG_ESCAPES: Dict[int, str] = {
    byte: ("\\\\" if byte == 0x5C else chr(byte) if 0x20 <= byte < 0x7F else f"\\x{byte:02x}")
    for byte in range(256)
}
_LOG_ESCAPES.update({0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"})


def escapeForLog(data: bytes) -> str:
    """
    Show bytes read from a client in a log line, with every non-printable or
    non-ASCII byte escaped, so a hostile query cannot forge log lines or
    smuggle terminal controls to whoever reads the log.
    """
    return data.decode("latin-1").translate(_LOG_ESCAPES)


def formatPeer(address: IAddress) -> str:
    """
    Show a peer's address as C{host:port}, or whatever the address offers.
    """
    host = getattr(address, "host", None)
    port = getattr(address, "port", None)
    if host is None:
        return str(address)
    if ":" in host:
        return f"[{host}]:{port}"
    return f"{host}:{port}"


def _visibleCharacter(character: str) -> str:
    code = ord(character)
    if code < 0x20:
        return "^" + chr(code | 0x40)
    if code == 0x7F:
        return "^?"
    if code < 0xA0:
        # C1 controls, as BSD shows a control with the meta bit set.
        return "M-^" + chr((code - 0x80) | 0x40)
    # Other invisible or reordering characters (format characters such as
    # U+202E RIGHT-TO-LEFT OVERRIDE, separators, unassigned code points).
    return f"<U+{code:04X}>"


def visibleControls(text: str) -> str:
    """
    Make every control character in C{text} visible, as the BSD finger
    client does: C{ESC} becomes C{^[}, C{DEL} C{^?}, a C1 control such as
    U+009B C{M-^[}; any other character that is not printable (a bidi
    override, a zero-width character) becomes C{<U+XXXX>}.  Line feeds and
    tabs stay; a CRLF becomes a line feed, and a lone CR shows as C{^M}.
    """
    return "".join(
        character
        if character in "\n\t" or character.isprintable()
        else _visibleCharacter(character)
        for character in text.replace("\r\n", "\n")
    )


def counted(count: int, noun: str, plural: str = "") -> str:
    """
    C{count} things in plain words: C{"1 user"}, C{"2 users"},
    C{"0 users"}.

    @param plural: the noun for other counts than one; C{noun} with an
        C{s} if empty.
    """
    return f"{count} {noun}" if count == 1 else f"{count} {plural or noun + 's'}"


class Count(int):
    """
    A number of things, for a log event: a number in the event's fields
    (its C{repr}, and in JSON), and words in its text: C{"{count}"}
    formats, and C{str} shows, C{"1 user"}, C{"2 users"} (C{str} too, as
    L{twisted.logger} flattens an event's fields with it before a worker
    sends the event to the main process).
    """

    noun: str
    plural: str

    def __new__(cls, count: int, noun: str, plural: str = "") -> "Count":
        self = super().__new__(cls, count)
        self.noun = noun
        self.plural = plural
        return self

    def __str__(self) -> str:
        return counted(int(self), self.noun, self.plural)

    def __format__(self, spec: str) -> str:
        return format(int(self), spec) if spec else str(self)
