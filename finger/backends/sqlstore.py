# -*- test-case-name: tests.backends.test_sql -*-
"""
Statuses in a database: the blocking half, run in threads by
L{finger.backends.sql} and directly by the one-shot L{finger.app.dbcopy}.
The table is L{finger.backends.sqlschema}'s, and every row read from it is
checked (L{finger.backends.sqlrows}).

Databases
=========

    - C{sqlite:PATH}: Python's L{sqlite3}, in WAL mode with
      C{synchronous=FULL}, so that a commit is on disk before a set is
      acknowledged and readers never wait for the writer.  Other processes'
      changes show in C{PRAGMA data_version}.
    - C{postgresql://user@host:port/dbname} (any libpq connection URI,
      C{?host=/run/postgresql} for a socket directory): psycopg 3, the
      optional C{postgresql} extra.  Each transaction that changes the
      table sends C{NOTIFY finger_status}.  Any role that can connect may
      send that too, with any payload: so a notification is only a hint
      that something may have changed, its payload is never read, and a
      node reads the rows whose C{version} is newer than the newest it has
      (L{Database.changes}).  For that, the writers take turns: each
      transaction that writes locks the table against other writers (not
      readers) first, so that versions become visible in the order they
      were given, and a reader that saw version M has seen, or will never
      see, every version below it.
"""

import os
import sqlite3
from typing import Any, Mapping, Optional

from finger.backends.sqlrows import Changes, Rows, checkRows
from finger.backends.sqlschema import TABLE, DatabaseError, makePostgreSQLTable, makeSQLiteTable

POSTGRESQL_DRIVER_MISSING = (
    "PostgreSQL needs the psycopg 3 driver: pip install 'psycopg[binary]' "
    "(or, in a checkout, .venv/bin/pip install -e '.[postgresql]')"
)
"""
What an operator is told when C{--database} names PostgreSQL and the driver
is not installed.  The package is not on PyPI, so its C{postgresql} extra
is installed from a checkout.
"""

CHANNEL = "finger_status"
"""
The PostgreSQL notification channel that announces changes.
"""

BATCH = 1000
"""
The most changed rows one read of the changes takes; more are read by the
next.
"""

# The same statement on both engines, but for the placeholder.
_UPSERT = (
    f"INSERT INTO {TABLE} (name, status, changed) VALUES (?, ?, CURRENT_TIMESTAMP) "
    "ON CONFLICT (name) DO UPDATE SET status = excluded.status, changed = excluded.changed"
)
_SELECT = f"SELECT name, status FROM {TABLE}"
_DELETE_ALL = f"DELETE FROM {TABLE}"

# PostgreSQL: an update takes a new version too.  Other writers wait for the
# lock; readers do not.
_POSTGRESQL_UPSERT = _UPSERT.replace("?", "%s") + ", version = DEFAULT"
_POSTGRESQL_LOCK = f"LOCK TABLE {TABLE} IN SHARE ROW EXCLUSIVE MODE"
_POSTGRESQL_SELECT = f"SELECT name, status, version FROM {TABLE}"
# One statement, so one snapshot: the lowest and highest versions in the
# table, then the rows changed after a version, oldest first.
_POSTGRESQL_CHANGES = f"""
SELECT NULL::text, NULL::text, min(version), max(version) FROM {TABLE}
UNION ALL
(SELECT name, status, version, NULL FROM {TABLE}
 WHERE version > %s ORDER BY version LIMIT %s)
"""


_LOGIN_REFUSED = (
    "authentication failed",
    "does not exist",
    "no pg_hba.conf entry",
    "no password supplied",
    "password is required",
    "not permitted to log in",
    "permission denied",
)
"""
What libpq's message says when the server answered and refused the login
(a wrong password, an unknown role or database, a host it does not let in):
psycopg gives no SQLSTATE for a failed connection.  A server that is down,
unreachable or not yet accepting connections says none of these.
"""


class Notifications:
    """
    A PostgreSQL connection that listens on L{CHANNEL}, read without
    blocking once it is made: the reactor watches L{fileno}.

    What a notification carries is never read: anyone may send one.
    """

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self._early = 0
        # Whatever psycopg reads while LISTEN runs goes to its handlers.
        connection.add_notify_handler(self._heardEarly)
        connection.execute(f"LISTEN {CHANNEL}")
        connection.pgconn.nonblocking = 1
        # libpq closes its socket when the connection is lost, and the
        # number may be reused at once; the reactor watches a copy of our
        # own, valid until L{close}.
        self._fileno = os.dup(connection.pgconn.socket)

    def _heardEarly(self, notify: object) -> None:
        self._early += 1

    def fileno(self) -> int:
        return self._fileno

    def receive(self) -> int:
        """
        Read what the server sent, without blocking.

        @return: how many notifications arrived.
        @raise Exception: (a psycopg error) if the connection is lost.
        """
        pgconn = self.connection.pgconn
        pgconn.consume_input()
        received, self._early = self._early, 0
        notifies = pgconn.notifies
        while notifies() is not None:
            received += 1
        return received

    def close(self) -> None:
        try:
            self.connection.close()
        finally:
            os.close(self._fileno)


class Database:
    """
    Where statuses are kept, and how to talk to it.  Every method but
    L{display} blocks: run it in a thread.

    @ivar display: how logs name the database (no password).
    @ivar url: the URL it was made from.
    """

    display = ""
    url = ""

    #: Whether L{listen} gives a connection that hears of every change;
    #: otherwise L{version} tells when to read the table again.
    notifies = False

    def connect(self) -> Any:
        """
        Open a connection, creating the table if it is missing.
        """
        raise NotImplementedError()

    def load(self, connection: Any) -> Rows:
        """
        Read every row.
        """
        rows = connection.execute(_SELECT).fetchall()
        connection.commit()
        return checkRows(rows)

    def changes(self, connection: Any, since: int, limit: int = BATCH) -> Changes:
        """
        Read the rows changed after version C{since}, if this database
        numbers its changes (it does if it L{notifies}).
        """
        raise NotImplementedError()

    def save(self, connection: Any, changes: Mapping[str, str], replace: bool = False) -> None:
        """
        Store C{changes} in one transaction and commit it.

        @param replace: remove every user not in C{changes} too.
        """
        raise NotImplementedError()

    def version(self, connection: Any) -> Optional[int]:
        """
        A number that changes when another connection commits a change, or
        L{None} if the database announces changes with L{listen} instead.
        """
        return None

    def listen(self) -> Optional[Notifications]:
        """
        A new connection that hears of every change, or L{None} if this
        database has no notifications.
        """
        return None

    def probe(self) -> Optional[str]:
        """
        Try to reach the database once, at start-up, and tell a refusal
        (which trying again will not mend) from a server not reached yet.

        @return: L{None} if it was reached (or this database is not checked
            so: an SQLite file is made by the service, as the user it runs
            as), else why it was not reached.
        @raise DatabaseError: if the server refused the login, or libpq
            found a value of the URL invalid (it checks some only when it
            connects).
        """
        return None

    def close(self, connection: Any) -> None:
        """
        Close C{connection}, ignoring errors: it may be broken already.
        """
        try:
            connection.close()
        except Exception:
            pass


def _surrogateEscaped(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


class SQLiteDatabase(Database):
    """
    An SQLite file, in WAL mode.

    @ivar path: the file.
    @ivar busyTimeout: seconds a transaction waits for another process's.
    """

    def __init__(self, path: str, busyTimeout: float = 5.0) -> None:
        self.path = path
        self.busyTimeout = busyTimeout
        self.url = self.display = f"sqlite:{path}"

    def connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self.path, timeout=self.busyTimeout, isolation_level=None, check_same_thread=False
        )
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")
            makeSQLiteTable(connection)
            # Text that is not UTF-8 (only a program other than this one
            # can store it) is read with lone surrogates, which no name or
            # status may hold, rather than fail the whole read.
            connection.text_factory = _surrogateEscaped
        except BaseException:
            connection.close()
            raise
        return connection

    def load(self, connection: Any) -> Rows:
        return checkRows(connection.execute(_SELECT).fetchall())

    def save(self, connection: Any, changes: Mapping[str, str], replace: bool = False) -> None:
        # IMMEDIATE: take the write lock now, rather than fail to upgrade a
        # read lock later.
        connection.execute("BEGIN IMMEDIATE")
        try:
            if replace:
                connection.execute(_DELETE_ALL)
            connection.executemany(_UPSERT, sorted(changes.items()))
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise

    def version(self, connection: Any) -> Optional[int]:
        return int(connection.execute("PRAGMA data_version").fetchone()[0])


class PostgreSQLDatabase(Database):
    """
    A PostgreSQL database, through psycopg 3.

    @ivar conninfo: the libpq connection URI.
    @ivar timeout: seconds to connect, and to wait for an answer on a
        connection whose peer went silent.
    """

    notifies = True

    def __init__(self, conninfo: str, timeout: float = 5.0) -> None:
        try:
            import psycopg
            from psycopg.conninfo import conninfo_to_dict
        except ImportError:
            raise DatabaseError(
                POSTGRESQL_DRIVER_MISSING
            ) from None
        self._psycopg = psycopg
        try:
            params = conninfo_to_dict(conninfo)
        except psycopg.Error as e:
            raise DatabaseError(f"not a libpq connection URI: {e}") from None
        self.url = self.conninfo = conninfo
        self.timeout = timeout
        host = str(params.get("host", "")) or "localhost"
        port = f":{params['port']}" if params.get("port") else ""
        user = f"{params['user']}@" if params.get("user") else ""
        self.display = f"postgresql://{user}{host}{port}/{params.get('dbname', '')}"

    def _connect(self, autocommit: bool) -> Any:
        seconds = max(2, int(self.timeout + 0.999))
        return self._psycopg.connect(
            self.conninfo,
            autocommit=autocommit,
            connect_timeout=seconds,
            # Notice a peer that went away without closing (TCP only).
            keepalives=1,
            keepalives_idle=max(1, seconds // 2),
            keepalives_interval=1,
            keepalives_count=3,
            tcp_user_timeout=seconds * 1000,
        )

    def connect(self) -> Any:
        connection = self._connect(autocommit=False)
        try:
            makePostgreSQLTable(connection, self._psycopg.errors.InsufficientPrivilege)
        except BaseException:
            self.close(connection)
            raise
        return connection

    def load(self, connection: Any) -> Rows:
        rows = connection.execute(_POSTGRESQL_SELECT).fetchall()
        connection.commit()
        return checkRows(rows)

    def changes(self, connection: Any, since: int, limit: int = BATCH) -> Changes:
        result = connection.execute(_POSTGRESQL_CHANGES, (since, limit)).fetchall()
        connection.commit()
        low: Optional[int] = None
        high: Optional[int] = None
        changed = []
        for name, status, version, highest in result:
            if name is None:
                low, high = version, highest
            else:
                changed.append((name, status, version))
        rows = checkRows(changed)
        return Changes(rows._replace(version=rows.version or since), len(changed) >= limit, low, high)

    def save(self, connection: Any, changes: Mapping[str, str], replace: bool = False) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute(_POSTGRESQL_LOCK)
                if replace:
                    cursor.execute(_DELETE_ALL)
                cursor.executemany(_POSTGRESQL_UPSERT, sorted(changes.items()))
                # A hint, to every node: read what changed.
                cursor.execute(f"NOTIFY {CHANNEL}")
            connection.commit()
        except BaseException:
            try:
                connection.rollback()
            except Exception:
                pass
            raise

    def probe(self) -> Optional[str]:
        try:
            self._connect(autocommit=True).close()
        except self._psycopg.Error as e:
            reason = " ".join(str(e).split())
            if any(words in reason for words in _LOGIN_REFUSED):
                raise DatabaseError(f"{self.display} refused the login: {reason}") from None
            if "invalid " in reason:
                # libpq checks some values only when it connects.
                raise DatabaseError(f"not a usable libpq connection URI: {reason}") from None
            return reason
        return None

    def listen(self) -> Notifications:
        connection = self._connect(autocommit=True)
        try:
            return Notifications(connection)
        except BaseException:
            self.close(connection)
            raise


def openDatabase(url: str, timeout: float = 5.0) -> Database:
    """
    The database a C{--database} URL names.

    @param url: C{sqlite:PATH} or C{postgresql://...} (C{postgres://} too).
    @param timeout: seconds to wait for the database before giving up.
    @raise DatabaseError: if C{url} is neither, or PostgreSQL's driver is
        not installed.
    """
    scheme, colon, rest = url.partition(":")
    if colon and scheme == "sqlite":
        path = rest[2:] if rest.startswith("//") else rest
        if not path or path == ":memory:":
            raise DatabaseError("sqlite: needs the path of a file, as in sqlite:/var/lib/finger.db")
        return SQLiteDatabase(path, busyTimeout=timeout)
    if colon and scheme in ("postgresql", "postgres"):
        return PostgreSQLDatabase(url, timeout=timeout)
    raise DatabaseError(
        f"{url!r} is neither sqlite:PATH nor postgresql://user@host:port/dbname"
    )


class Session:
    """
    One connection to a L{Database}, made when first needed and made again
    after any error.  Use it from one thread at a time.
    """

    def __init__(self, database: Database) -> None:
        self.database = database
        self.connection: Optional[Any] = None
        self._version: Optional[int] = None

    def _connection(self) -> Any:
        if self.connection is None:
            self.connection = self.database.connect()
            self._version = None
        return self.connection

    def _run(self, f: Any, *args: Any) -> Any:
        connection = self._connection()
        try:
            return f(connection, *args)
        except BaseException:
            self.close()
            raise

    def load(self) -> Rows:
        """
        Read every row.
        """

        def load(connection: Any) -> Rows:
            # The version first: a change committed while the rows are read
            # shows at the next L{changed}.
            self._version = self.database.version(connection)
            return self.database.load(connection)

        return self._run(load)  # type: ignore[no-any-return]

    def changes(self, since: int, limit: int = BATCH) -> Changes:
        """
        Read the rows changed after version C{since} (see
        L{Database.changes}).
        """
        return self._run(self.database.changes, since, limit)  # type: ignore[no-any-return]

    def save(self, changes: Mapping[str, str], replace: bool = False) -> None:
        """
        Store C{changes} durably, in one transaction.
        """
        self._run(self.database.save, changes, replace)

    def changed(self) -> bool:
        """
        Did another connection commit a change since the last call (or was
        the connection made again since)?
        """
        version = self._run(self.database.version)
        changed = version is None or version != self._version
        self._version = version
        return changed

    def close(self) -> None:
        """
        Close the connection, if there is one.
        """
        connection, self.connection = self.connection, None
        if connection is not None:
            self.database.close(connection)
