"""
Tests for L{finger.backends.statusformat}.
"""

import random
from typing import Dict, List, Tuple

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from finger.backends import statusformat
from finger.backends.statusformat import Problem, parse, render, update
from finger.names import InvalidStatus, checkStatus, isValidUserName
from tests.support import propertySettings

SAMPLE = b"""\
# A comment
moshez: happy and well

shawn:   alive  \r
   # indented comment
no colon here
bad name: x
zo\xc3\xab: in Paris
broken: \xff\xfe
empty:
"""


class ParseTests(SynchronousTestCase):
    def test_entries(self) -> None:
        """
        Users come out in file order with statuses stripped; comments, blank
        lines and CRLF endings are handled.
        """
        statuses, problems = parse(SAMPLE)
        self.assertEqual(
            list(statuses.items()),
            [("moshez", "happy and well"), ("shawn", "alive"), ("zoë", "in Paris"), ("empty", "")],
        )

    def test_problems(self) -> None:
        """
        Each malformed line is reported with its line number and a reason.
        """
        statuses, problems = parse(SAMPLE)
        self.assertEqual([p.lineno for p in problems], [6, 7, 9])
        self.assertIn("':'", problems[0].reason)
        self.assertIn("invalid user name", problems[1].reason)
        self.assertIn("UTF-8", problems[2].reason)

    def test_laterWins(self) -> None:
        statuses, problems = parse(b"a: one\na: two\n")
        self.assertEqual(statuses, {"a": "two"})

    def test_colonInStatus(self) -> None:
        statuses, problems = parse(b"a: at 10:30: lunch\n")
        self.assertEqual(statuses, {"a": "at 10:30: lunch"})

    def test_empty(self) -> None:
        self.assertEqual(parse(b""), ({}, []))

    def test_impostorNamesSkipped(self) -> None:
        """
        A line whose name breaks RFC 8265 (an invisible Hangul filler after
        C{moshez}, a braille blank, a tag character) is skipped and
        reported with the reason; it is never a second C{moshez}.
        """
        data = "moshez: real\nmoshez\u3164: impostor\n\u2800: blank\nmoshez\U000e0041: tag\n"
        statuses, problems = parse(data.encode("utf-8"))
        self.assertEqual(statuses, {"moshez": "real"})
        self.assertEqual([p.lineno for p in problems], [2, 3, 4])
        self.assertIn("U+3164 HANGUL FILLER", problems[0].reason)
        self.assertIn("U+2800", problems[1].reason)
        self.assertIn("U+E0041", problems[2].reason)

    def test_invisibleStatusTextDropped(self) -> None:
        """
        A status loses its invisible characters (hidden tag text, a Hangul
        filler) as it is read; an emoji sequence keeps its joiner and the
        flag of England its tags.
        """
        hidden = "".join(chr(0xE0000 + ord(c)) for c in "secret")
        england = "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"
        family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
        data = (
            f"moshez: on holiday{hidden}\nshawn: \u3164 \u3164\nzo\u00eb: {england} {family}\n"
        )
        statuses, problems = parse(data.encode("utf-8"))
        self.assertEqual(
            statuses, {"moshez": "on holiday", "shawn": "", "zo\u00eb": f"{england} {family}"}
        )
        self.assertEqual(problems, [])

    def test_manyNonASCIINames(self) -> None:
        """
        A file of more than one piece, with names in other scripts and
        impostors among them, reads the same as line by line.
        """
        lines = []
        for number in range(4000):
            lines.append(f"\u7528\u6237{number}: \u2615\ufe0f {number}x\ufe0f")
            lines.append(f"user{number}\u3164: hidden")
        data = "\n".join(lines).encode("utf-8")
        self.assertGreater(len(data), statusformat.CHUNK_BYTES)
        statuses, problems = parse(data)
        self.assertEqual(len(statuses), 4000)
        self.assertEqual(statuses["\u7528\u62373999"], "\u2615\ufe0f 3999x")
        self.assertEqual([p.lineno for p in problems], list(range(2, 8001, 2)))
        new, _ = update(data, {"\u7528\u62370": "x"}, statuses)
        self.assertEqual(parse(new)[0]["\u7528\u62370"], "x")
        self.assertIn("user0\u3164: hidden".encode("utf-8"), new)


class UpdateTests(SynchronousTestCase):
    def test_replaceKeepsEverythingElse(self) -> None:
        """
        Only the changed user's line changes; comments and malformed lines
        stay byte for byte.
        """
        new, statuses = update(SAMPLE, {"shawn": "asleep"})
        self.assertEqual(new, SAMPLE.replace(b"shawn:   alive  \r", b"shawn: asleep"))
        self.assertEqual(statuses["shawn"], "asleep")
        self.assertEqual(statuses["moshez"], "happy and well")

    def test_append(self) -> None:
        new, statuses = update(b"a: one", {"b": "two", "zoë": "là"})
        self.assertEqual(new, "a: one\nb: two\nzoë: là\n".encode())
        self.assertEqual(statuses, {"a": "one", "b": "two", "zoë": "là"})

    def test_duplicatesCollapse(self) -> None:
        """
        A user that appeared twice keeps one line, the first, with the new
        status.
        """
        new, statuses = update(b"a: one\nb: x\na: two\n", {"a": "three"})
        self.assertEqual(new, b"a: three\nb: x\n")
        self.assertEqual(parse(new)[0], statuses)

    def test_emptyStatus(self) -> None:
        new, statuses = update(b"", {"a": ""})
        self.assertEqual(new, b"a:\n")
        self.assertEqual(parse(new)[0], {"a": ""})


class RenderTests(SynchronousTestCase):
    def test_render(self) -> None:
        """
        L{render} gives one line per user, in order, which L{parse} reads
        back, and what L{update} gives for the same users in an empty file.
        """
        statuses = {"moshez": "happy and well", "zoë": "à Paris", "empty": ""}
        data = render(statuses)
        self.assertEqual(data, "moshez: happy and well\nzoë: à Paris\nempty:\n".encode())
        self.assertEqual(list(parse(data)[0].items()), list(statuses.items()))
        self.assertEqual(update(b"", statuses)[0], data)
        self.assertEqual(render({}), b"")


def _referenceParse(data: bytes) -> Tuple[Dict[str, str], List[Problem]]:
    """
    The status file's rule, one line at a time, as the first version of
    L{parse} applied it: the bulk parser must agree with it on every input.
    """
    statuses: Dict[str, str] = {}
    problems: List[Problem] = []
    for lineno, _line, name, status in statusformat._entries(statusformat._decode(data)):
        if name is not None:
            statuses[name] = status
        elif status:
            problems.append(Problem(lineno, status))
    return statuses, problems


def _referenceUpdate(data: bytes, changes: Dict[str, str]) -> Tuple[bytes, Dict[str, str]]:
    """
    L{update} one line at a time, as its first version did.
    """
    lines: List[str] = []
    statuses: Dict[str, str] = {}
    done = set()
    for _lineno, line, name, status in statusformat._entries(statusformat._decode(data)):
        if name is not None:
            if name in changes:
                if name in done:
                    continue
                done.add(name)
                status = changes[name]
                line = statusformat._format(name, status)
            statuses[name] = status
        lines.append(line)
    if lines and lines[-1] == "":
        lines.pop()
    for name, status in changes.items():
        if name not in done:
            lines.append(statusformat._format(name, status))
            statuses[name] = status
    text = "".join(line + "\n" for line in lines)
    return text.encode("utf-8", "surrogateescape"), statuses


_PIECES = [
    "moshez", "zo\u00eb", "a", "b", "#x", "/W", "-n", "x@y", "\u00a0", " ", "\t", "\r",
    ":", ": ", "  ", "status", "10:30", "\u2003", "\x1c", "\x0b", "#", "\x85", "\x7f",
    "a" * 64, "b" * 65,
]
_RAW = [b"\xff", b"\xc3", b"\xed\xa0\x80"]


def _randomFile(rng: random.Random) -> bytes:
    lines = []
    for _ in range(rng.randrange(40)):
        text = "".join(rng.choice(_PIECES) for _ in range(rng.randrange(6)))
        raw = text.encode("utf-8")
        if rng.random() < 0.1:
            cut = rng.randrange(len(raw) + 1)
            raw = raw[:cut] + rng.choice(_RAW) + raw[cut:]
        lines.append(raw)
    data = b"\n".join(lines)
    if rng.random() < 0.5:
        data += b"\n"
    return data


class BulkParserTests(SynchronousTestCase):
    """
    L{parse} and L{update} work on many lines at once, a piece of the file
    at a time; they must mean exactly what the line-by-line rule means.
    """

    def setUp(self) -> None:
        self.patch(statusformat, "CHUNK_BYTES", 7)

    def test_sameAsLineByLine(self) -> None:
        """
        On many generated files (names valid and not, comments, blanks,
        CR, Unicode blanks, undecodable bytes, duplicates), with pieces cut
        at every few bytes, L{parse} gives what the line-by-line rule gives,
        in the same order.
        """
        rng = random.Random(1288)
        for size in (0, 7, 1 << 16):
            self.patch(statusformat, "CHUNK_BYTES", size)
            for _ in range(300):
                data = _randomFile(rng)
                statuses, problems = parse(data)
                expected, expectedProblems = _referenceParse(data)
                self.assertEqual(list(statuses.items()), list(expected.items()), data)
                self.assertEqual(problems, expectedProblems, data)

    def test_updateSameAsLineByLine(self) -> None:
        """
        L{update} gives the bytes and statuses the line-by-line rule gives.
        """
        rng = random.Random(79)
        for size in (0, 7, 1 << 16):
            self.patch(statusformat, "CHUNK_BYTES", size)
            for _ in range(300):
                data = _randomFile(rng)
                names = list(_referenceParse(data)[0])
                changes = {
                    name: rng.choice(["", "new", "at 10:30: lunch"])
                    for name in rng.sample(names, min(len(names), rng.randrange(3)))
                }
                if rng.random() < 0.5:
                    changes["newcomer"] = "hello"
                expectedNew, expectedStatuses = _referenceUpdate(data, changes)
                for known in (None, _referenceParse(data)[0]):
                    new, statuses = update(data, changes, known)
                    self.assertEqual(new, expectedNew, (data, changes))
                    self.assertEqual(list(statuses.items()), list(expectedStatuses.items()))

    def test_lineNumbersAcrossPieces(self) -> None:
        """
        Line numbers count from the start of the file, not of a piece.
        """
        data = b"a: 1\n" * 10 + b"bad line\n" + b"b: 2\n" * 10 + b"x y: 3\n"
        self.assertEqual([p.lineno for p in parse(data)[1]], [11, 22])

    def test_sharedStatuses(self) -> None:
        """
        Users with the same status share one string.
        """
        statuses, _ = parse(b"a: on vacation\nb: on vacation\n")
        self.assertIs(statuses["a"], statuses["b"])


_names = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12
).filter(isValidUserName)
# What a setter stores (checkStatus drops invisible characters), as a
# status file keeps it (stripped).
_statuses = (
    st.text(max_size=40)
    .map(str.strip)
    .filter(lambda s: _isStorable(s))
    .map(checkStatus)
    .filter(lambda s: s == s.strip())
)


def _isStorable(status: str) -> bool:
    try:
        checkStatus(status)
    except InvalidStatus:
        return False
    return True


_filePieces = st.sampled_from(
    [b"moshez", b"shawn", b"zo\xc3\xab", b":", b": ", b" ", b"\t", b"#", b"\n", b"\r\n",
     b"\r", b"\xff", b"\xed\xa0\x80", b"\x00", b"@", b"/", b"-", b"\xc2\x85", b"\xe2\x80\xa8"]
)
_fileData = st.one_of(
    st.binary(max_size=200),
    st.lists(st.one_of(_filePieces, st.binary(max_size=6)), max_size=30).map(b"".join),
)


class StatusFilePropertyTests(SynchronousTestCase):
    """
    Whatever bytes a status file holds, it is read without an exception,
    and setting statuses in it touches only their lines.
    """

    @propertySettings()
    @given(data=_fileData)
    def test_parseAnyBytes(self, data: bytes) -> None:
        statuses, problems = parse(data)
        for name, status in statuses.items():
            self.assertTrue(isValidUserName(name), name)
            self.assertEqual(status, status.strip())
            self.assertNotIn("\n", status)
        for problem in problems:
            self.assertTrue(1 <= problem.lineno <= data.count(b"\n") + 1)

    @propertySettings()
    @given(data=_fileData, changes=st.dictionaries(_names, _statuses, max_size=4))
    def test_updateKeepsOtherLines(self, data: bytes, changes: Dict[str, str]) -> None:
        new, statuses = update(data, changes)

        def others(content: bytes) -> List[bytes]:
            lines = content.split(b"\n")
            if lines[-1] == b"":
                lines.pop()
            return [line for line in lines if not set(parse(line)[0]) & set(changes)]

        self.assertEqual(others(new), others(data))
        if changes:
            self.assertTrue(new.endswith(b"\n"))
        old, _ = parse(data)
        expected = dict(old)
        expected.update(changes)
        self.assertEqual(parse(new)[0], expected)
        self.assertEqual(statuses, expected)
