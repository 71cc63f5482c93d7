# -*- test-case-name: tests.backends.test_sql -*-
"""
Statuses in a database: the blocking half, run in threads by
L{finger.backends.sql} and directly by the one-shot L{finger.app.dbcopy}.

Schema
======

One table, created when it is missing::

    CREATE TABLE finger_status (
        name    TEXT PRIMARY KEY,            -- a name allowed by finger.names
        status  TEXT NOT NULL,               -- one line, as the setter stores it
        changed TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP  -- last change
    )

(C{TIMESTAMPTZ} on PostgreSQL.)  Rows whose name breaks the rule in
L{finger.names} are ignored when read, as the status file skips such lines.

Databases
=========

    - C{sqlite:PATH}: Python's L{sqlite3}, in WAL mode with
      C{synchronous=FULL}, so that a commit is on disk before a set is
      acknowledged and readers never wait for the writer.
    - C{postgresql://user@host:port/dbname} (any libpq connection URI,
      C{?host=/run/postgresql} for a socket directory): psycopg 3, the
      optional C{postgresql} extra.  Each change is announced with
      C{NOTIFY finger_status}; the payload is a JSON list of C{[name,
      status]} pairs, or empty for "read everything again".
"""

import json
import os
import sqlite3
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Tuple

from finger.names import isValidUserName

TABLE = "finger_status"
"""
The table that holds the statuses.
"""

CHANNEL = "finger_status"
"""
The PostgreSQL notification channel that announces changes.
"""

MAX_PAYLOAD = 7900
"""
The most bytes of one notification payload (PostgreSQL allows 8000).
"""

_SQLITE_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    name TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    changed TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
)
"""

_POSTGRESQL_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    name TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    changed TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP
)
"""

# The same statements on both engines, but for the placeholder.
_UPSERT = (
    f"INSERT INTO {TABLE} (name, status, changed) VALUES (?, ?, CURRENT_TIMESTAMP) "
    "ON CONFLICT (name) DO UPDATE SET status = excluded.status, changed = excluded.changed"
)
_SELECT = f"SELECT name, status FROM {TABLE}"
_DELETE_ALL = f"DELETE FROM {TABLE}"

BULK = 256
"""
More changes than this in one transaction are announced as "read everything
again" rather than one by one.
"""

# Taken while creating the table, so that nodes starting together do not
# race on PostgreSQL's catalog: any constant will do.
_SCHEMA_LOCK = 0x66696E67


class DatabaseError(Exception):
    """
    A database URL cannot be used.  The message says why.
    """


def payloads(changes: Mapping[str, str]) -> Iterator[str]:
    """
    Announce C{changes} in notification payloads of at most L{MAX_PAYLOAD}
    bytes each: JSON lists of C{[name, status]} pairs.
    """
    chunk: List[Tuple[str, str]] = []
    size = 2
    for pair in changes.items():
        cost = len(json.dumps(pair, ensure_ascii=False).encode("utf-8")) + 1
        if chunk and size + cost > MAX_PAYLOAD:
            yield json.dumps(chunk, ensure_ascii=False)
            chunk, size = [], 2
        chunk.append(pair)
        size += cost
    if chunk:
        yield json.dumps(chunk, ensure_ascii=False)


def parsePayload(payload: str) -> Optional[Dict[str, str]]:
    """
    Read a notification payload.

    @return: the changes it announces, or L{None} for "read everything
        again" (an empty or unreadable payload).
    """
    try:
        pairs = json.loads(payload) if payload else None
        if pairs is None:
            return None
        return {name: status for name, status in pairs if isValidUserName(name)}
    except (ValueError, TypeError):
        return None


def _table(rows: Iterable[Tuple[str, str]]) -> Dict[str, str]:
    return {name: status for name, status in rows if isValidUserName(name)}


class Notifications:
    """
    A PostgreSQL connection that listens on L{CHANNEL}, read without
    blocking once it is made: the reactor watches L{fileno}.
    """

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self._early: List[str] = []
        # Whatever psycopg reads while LISTEN runs goes to its handlers.
        connection.add_notify_handler(lambda n: self._early.append(n.payload))
        connection.execute(f"LISTEN {CHANNEL}")
        connection.pgconn.nonblocking = 1
        # libpq closes its socket when the connection is lost, and the
        # number may be reused at once; the reactor watches a copy of our
        # own, valid until L{close}.
        self._fileno = os.dup(connection.pgconn.socket)

    def fileno(self) -> int:
        return self._fileno

    def receive(self) -> List[str]:
        """
        Read what the server sent, without blocking.

        @return: the payloads of the notifications that arrived.
        @raise Exception: (a psycopg error) if the connection is lost.
        """
        pgconn = self.connection.pgconn
        pgconn.consume_input()
        received, self._early = self._early, []
        while True:
            notify = pgconn.notifies()
            if notify is None:
                return received
            received.append(notify.extra.decode("utf-8", "replace"))

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

    def load(self, connection: Any) -> Dict[str, str]:
        """
        Read every status.
        """
        rows = connection.execute(_SELECT).fetchall()
        connection.commit()
        return _table(rows)

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

    def close(self, connection: Any) -> None:
        """
        Close C{connection}, ignoring errors: it may be broken already.
        """
        try:
            connection.close()
        except Exception:
            pass


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
            connection.execute(_SQLITE_SCHEMA)
        except BaseException:
            connection.close()
            raise
        return connection

    def load(self, connection: Any) -> Dict[str, str]:
        return _table(connection.execute(_SELECT).fetchall())

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
                "PostgreSQL needs psycopg 3: pip install 'finger[postgresql]'"
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
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            connection.execute(_POSTGRESQL_SCHEMA)
            connection.commit()
        except BaseException:
            self.close(connection)
            raise
        return connection

    def save(self, connection: Any, changes: Mapping[str, str], replace: bool = False) -> None:
        try:
            with connection.cursor() as cursor:
                if replace:
                    cursor.execute(_DELETE_ALL)
                # Sorted, so that two nodes' batches lock rows in one order
                # and never deadlock.
                cursor.executemany(_UPSERT.replace("?", "%s"), sorted(changes.items()))
                # A bulk change (an import) asks for a full read instead.
                bulk = replace or len(changes) > BULK
                for payload in [""] if bulk else payloads(changes):
                    cursor.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))
            connection.commit()
        except BaseException:
            try:
                connection.rollback()
            except Exception:
                pass
            raise

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

    def load(self) -> Dict[str, str]:
        """
        Read every status.
        """

        def load(connection: Any) -> Dict[str, str]:
            # The version first: a change committed while the rows are read
            # shows at the next L{changed}.
            self._version = self.database.version(connection)
            return self.database.load(connection)

        return self._run(load)  # type: ignore[no-any-return]

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
