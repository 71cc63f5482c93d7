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
