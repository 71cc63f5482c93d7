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

And counting in plain words for the lines an operator reads (L{counted}).
"""

import re
from typing import Dict, List

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
deprecated language tag U+E0001.  The other format characters stay:
U+200C ZERO WIDTH NON-JOINER and U+200D ZERO WIDTH JOINER (emoji sequences
and many scripts need them), the soft hyphen, the tag characters of emoji
flags, and the signs some scripts write with.
"""

SEPARATORS = "\u2028\u2029"
"""
The Unicode line and paragraph separators, as the inside of a character
class.
"""

# C0 controls except TAB, DEL, C1 controls, and the deceptive format
# characters.
_CONTROLS = re.compile(f"[\x00-\x08\x0a-\x1f\x7f-\x9f{DECEPTIVE_FORMAT}]")
_SEPARATORS = re.compile(f"[{SEPARATORS}]")


def printableLines(text: str) -> List[str]:
    """
    Split C{text} into lines, dropping every control character but TAB and
    every character of L{DECEPTIVE_FORMAT}.

    Any line break a file or a program writes (CR, LF, CRLF, form feed, NEL)
    ends a line; so the only line breaks on the wire are the ones the caller
    writes between the returned lines.  The Unicode line and paragraph
    separators (U+2028, U+2029) become spaces: they are no line breaks to a
    terminal, and a status (one line) must not become two.
    """
    return [_CONTROLS.sub("", line) for line in _SEPARATORS.sub(" ", text).splitlines()]


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
