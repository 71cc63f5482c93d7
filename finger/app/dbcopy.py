# -*- test-case-name: tests.backends.test_sql,tests.app.test_dbcopy -*-
"""
C{finger-db}: copy statuses between a status file and a database, once.

    finger-db import /etc/users sqlite:/var/lib/finger/users.db
    finger-db import --replace /etc/users postgresql://finger@db/finger
    finger-db export postgresql://finger@db/finger /etc/users

C{import} sets every user of the status file in the database, in one
transaction (with C{--replace}, users the file does not name are removed
too); running nodes hear of it at once (PostgreSQL) or within their poll
interval (SQLite).  C{export} sets every user of the database in the status
file, written atomically and durably as the setter writes it; comments and
other users' lines are kept.  The file is read and written with
L{finger.backends.statusfile}.

Both copy only what a setter could have stored
(L{finger.backends.sqlrows.checkRow}), as the nodes serve only that: a
status file line whose status is not one (longer than
L{finger.names.MAX_STATUS_LENGTH}, or with control characters) and a bad
row of the database are reported and skipped.
"""

import sys
from typing import List, Optional

from twisted.python import usage

from finger.backends import statusfile
from finger.backends.sqlrows import InvalidRow, checkRow
from finger.backends.sqlstore import DatabaseError, Session, openDatabase
from finger.text import counted


PROGRAM = "finger-db"

DATABASES = (
    "A DATABASE is sqlite:PATH or postgresql://user@host:port/dbname (a libpq "
    "URI; PostgreSQL needs the psycopg 3 driver)."
)


class _Options(usage.Options):
    """
    What every command of C{finger-db} shares: its own synopsis, and
    finger's version.
    """

    synopsis = ""

    def opt_version(self) -> None:
        """
        Display finger's version and exit.
        """
        from finger import __version__

        print(f"{PROGRAM} (finger) {__version__}")
        sys.exit(0)

    def getSynopsis(self) -> str:
        return str(self.synopsis)


class ImportOptions(_Options):
    synopsis = f"Usage: {PROGRAM} import [--replace] STATUSFILE DATABASE"
    longdesc = (
        "Set every user of STATUSFILE in DATABASE, in one transaction; running "
        f"nodes hear of it.  {DATABASES}"
    )
    optFlags = [["replace", None, "Remove the users the status file does not name."]]

    def parseArgs(self, statusFile: str, database: str) -> None:  # type: ignore[override]
        self["file"] = statusFile
        self["database"] = database


class ExportOptions(_Options):
    synopsis = f"Usage: {PROGRAM} export DATABASE STATUSFILE"
    longdesc = (
        "Set every user of DATABASE in STATUSFILE (made if missing), written "
        f"atomically; comments and other users' lines are kept.  {DATABASES}"
    )

    def parseArgs(self, database: str, statusFile: str) -> None:  # type: ignore[override]
        self["database"] = database
        self["file"] = statusFile


class Options(_Options):
    synopsis = f"Usage: {PROGRAM} import|export ARGUMENTS  (see {PROGRAM} COMMAND --help)"
    longdesc = "Copy statuses between a status file and a database, once."
    subCommands = [
        ["import", None, ImportOptions, "Copy a status file into a database."],
        ["export", None, ExportOptions, "Copy a database into a status file."],
    ]

    def postOptions(self) -> None:
        if self.subCommand is None:
            raise usage.UsageError("give a command: import or export")


def _usageError(options: usage.Options, error: usage.UsageError) -> str:
    """
    The reason first, then where the usage is: not the whole of it.
    """
    command = PROGRAM
    sub = getattr(options, "subCommand", None)
    if sub is not None:
        command += f" {sub}"
    return f"{PROGRAM}: {error}\nRun '{command} --help' for the usage."


def importFile(path: str, url: str, replace: bool = False) -> int:
    """
    Set every user of the status file at C{path} in the database at C{url}.

    @return: how many users were copied.
    @raise statusfile.StatusFileError: if the file cannot be read.
    @raise DatabaseError: if C{url} names no usable database.
    """
    snapshot = statusfile.read(path)
    for problem in snapshot.problems:
        print(f"{path}:{problem.lineno}: {problem.reason}; line skipped", file=sys.stderr)
    statuses = {}
    for name, status in snapshot.statuses.items():
        try:
            checkRow(name, status)
        except InvalidRow as e:
            print(f"{path}: user {name}: {e}; line skipped", file=sys.stderr)
        else:
            statuses[name] = status
    session = Session(openDatabase(url))
    try:
        session.save(statuses, replace=replace)
    finally:
        session.close()
    return len(statuses)


def exportFile(url: str, path: str) -> int:
    """
    Set every user of the database at C{url} in the status file at C{path}
    (made if missing).

    @return: how many users were copied.
    @raise DatabaseError: if C{url} names no usable database.
    @raise finger.interfaces.StatusNotSaved: if the file cannot be written.
    """
    session = Session(openDatabase(url))
    try:
        rows = session.load()
    finally:
        session.close()
    for row in rows.bad:
        print(
            f"{session.database.display}: row {row.name}: {row.reason}; skipped",
            file=sys.stderr,
        )
    statusfile.save(path, rows.statuses, {})
    return len(rows.statuses)


def main(argv: Optional[List[str]] = None) -> None:
    """
    The C{finger-db} command.
    """
    options = Options()
    try:
        options.parseOptions(sys.argv[1:] if argv is None else argv)
    except usage.UsageError as e:
        sys.exit(_usageError(options, e))
    sub = options.subOptions
    try:
        if options.subCommand == "import":
            count = importFile(sub["file"], sub["database"], sub["replace"])
            print(f"finger-db: {counted(count, 'user')} copied from {sub['file']}")
        else:
            count = exportFile(sub["database"], sub["file"])
            print(f"finger-db: {counted(count, 'user')} copied to {sub['file']}")
    except (DatabaseError, statusfile.StatusFileError) as e:
        sys.exit(f"finger-db: {e}")
    except Exception as e:
        # The driver's errors (sqlite3.Error, psycopg.Error) and
        # StatusNotSaved: their message says what went wrong.
        sys.exit(f"finger-db: {type(e).__name__}: {e}")


if __name__ == "__main__":
    main()
