# -*- test-case-name: tests.test_text -*-
"""
Making text safe to show: on a terminal at the other end of a connection, and
in a log.

A status comes from a file or a remote service that the reader of a finger
answer does not control.  Control characters in it could move a terminal's
cursor, change its colours or fake extra lines, so they never reach a client:
RFC 1288 section 3.3 asks servers to filter them.
"""

import re
from typing import Dict, List

from twisted.internet.interfaces import IAddress

# C0 controls except TAB, DEL, and C1 controls.
_CONTROLS = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def printableLines(text: str) -> List[str]:
    """
    Split C{text} into lines, dropping every control character but TAB.

    Any line break Python knows (CR, LF, CRLF, form feed, NEL, the Unicode
    line and paragraph separators) ends a line; so the only line breaks on the
    wire are the ones the caller writes between the returned lines.
    """
    return [_CONTROLS.sub("", line) for line in text.splitlines()]


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
