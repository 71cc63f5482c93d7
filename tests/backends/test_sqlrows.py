"""
Tests for L{finger.backends.sqlrows}.
"""

from twisted.trial.unittest import SynchronousTestCase

from finger.backends.sqlrows import InvalidRow, checkRow, checkRows


class RowTests(SynchronousTestCase):
    """
    The check of rows.
    """

    def test_checkRow(self) -> None:
        """
        A row is what a setter stores: a name by the name rule, a status
        that L{finger.names.checkStatus} accepts, both text.
        """
        self.assertEqual(checkRow("zoë", "à Paris"), ("zoë", "à Paris"))
        self.assertEqual(checkRow("moshez", ""), ("moshez", ""))
        for name, status in [
            ("-x", "ok"),
            ("a b", "ok"),
            (b"moshez", "ok"),
            (None, "ok"),
            ("moshez", None),
            ("moshez", 42),
            ("moshez", b"bytes"),
            ("moshez", ["list"]),
            ("moshez", "x" * 1025),
            ("moshez", "two\nlines"),
            ("moshez", "\x1b[2J"),
            ("moshez", "\u202eevil"),
            ("moshez", "\udcff"),
        ]:
            self.assertRaises(InvalidRow, checkRow, name, status)

    def test_impostorNames(self) -> None:
        """
        A row whose name breaks RFC 8265 (an invisible character after
        C{moshez}) is bad, with the character named.
        """
        for name, code in [
            ("moshez\u3164", "U+3164"),
            ("moshez\u115f", "U+115F"),
            ("\uffa0", "U+FFA0"),
            ("\u2800", "U+2800"),
            ("mos\u034fhez", "U+034F"),
            ("moshez\U000e0067", "U+E0067"),
        ]:
            error = self.assertRaises(InvalidRow, checkRow, name, "ok")
            self.assertIn(code, str(error))
        rows = checkRows([("moshez", "real"), ("moshez\u3164", "impostor")])
        self.assertEqual(rows.statuses, {"moshez": "real"})
        self.assertEqual(len(rows.bad), 1)

    def test_invisibleStatus(self) -> None:
        """
        A row's status loses its invisible characters, emoji sequences kept.
        """
        hidden = "".join(chr(0xE0000 + ord(c)) for c in "secret")
        self.assertEqual(checkRow("moshez", "away" + hidden), ("moshez", "away"))
        self.assertEqual(checkRow("moshez", "a\u3164b\ufe0f"), ("moshez", "ab"))
        self.assertEqual(checkRow("moshez", "\u2764\ufe0f"), ("moshez", "\u2764\ufe0f"))

    def test_checkRows(self) -> None:
        """
        L{checkRows} keeps the good rows, reports the bad, and gives the
        newest version among them all.
        """
        rows = checkRows([("moshez", "Happy", 3), ("-x", "bad", 7), ("zoë", None, 5)])
        self.assertEqual(rows.statuses, {"moshez": "Happy"})
        self.assertEqual([(row.name, row.reason) for row in rows.bad],
                         [("'-x'", "a user name may not start with '/', '-' or '#'"),
                          ("'zoë'", "the status is not text but NoneType")])
        self.assertEqual(rows.version, 7)
        self.assertEqual(rows.bad[0].key, checkRows([("-x", "bad")]).bad[0].key)
        self.assertNotEqual(rows.bad[0].key, checkRows([("-x", "other")]).bad[0].key)
