"""
A real PostgreSQL server for integration tests: made with C{initdb} in a
temporary directory, run by an unprivileged user on a free loopback port,
stopped and removed when the test ends.

The cluster is made once per test run (C{initdb} is the slow part) and
copied for each test, so a test that stops the server or fills the table
leaves nothing behind for the next.
"""

import atexit
import os
import pwd
import shutil
import subprocess
import tempfile
from typing import Any, Callable, List, Optional

from twisted.trial.unittest import SkipTest

from tests.support import freePort

BINARIES = [
    "/usr/lib/postgresql/17/bin",
    "/usr/lib/postgresql/16/bin",
    "/usr/lib/postgresql/15/bin",
    "/usr/lib/postgresql/14/bin",
    "/usr/lib/postgresql/13/bin",
]
"""
Where Debian installs the server programs, newest first; C{$PATH} is tried
after these.
"""

USER = "postgres"
"""
Who runs the server when the tests run as root (PostgreSQL refuses root).
"""


def _program(name: str) -> Optional[str]:
    for directory in BINARIES:
        path = os.path.join(directory, name)
        if os.access(path, os.X_OK):
            return path
    return shutil.which(name)


def missing() -> Optional[str]:
    """
    Why PostgreSQL tests cannot run here, or L{None} if they can.
    """
    for name in ("initdb", "pg_ctl"):
        if _program(name) is None:
            return f"PostgreSQL's {name} is not installed (Debian: apt install postgresql)"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install '.[postgresql]')"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(USER)
        except KeyError:
            return f"running as root, and there is no {USER!r} user to run PostgreSQL"
    return None


def _asOwner() -> List[str]:
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
    if runuser is None:
        return ["su", USER, "-s", "/bin/sh", "-c"]
    return [runuser, "-u", USER, "--"]


def _run(argv: List[str]) -> None:
    prefix = _asOwner()
    if prefix and prefix[0] == "su":
        argv = prefix + [" ".join(_quote(a) for a in argv)]
    else:
        argv = prefix + argv
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd="/")
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{result.stdout}{result.stderr}")


def _quote(arg: str) -> str:
    return "'" + arg.replace("'", "'\\''") + "'"


def _chown(path: str) -> None:
    if os.geteuid() == 0:
        entry = pwd.getpwnam(USER)
        os.chown(path, entry.pw_uid, entry.pw_gid)


_template: List[str] = []


def _makeTemplate() -> str:
    """
    Run C{initdb} once per process, into a directory removed at exit.
    """
    if not _template:
        top = tempfile.mkdtemp(prefix="finger-pg-template-")
        atexit.register(shutil.rmtree, top, True)
        os.chmod(top, 0o755)
        data = os.path.join(top, "data")
        os.mkdir(data, 0o700)
        _chown(data)
        _run(
            [
                _program("initdb") or "initdb",
                "-D", data,
                "-U", "finger",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-sync",
            ]
        )
        _template.append(data)
    return _template[0]


class Cluster:
    """
    One PostgreSQL server, running as long as a test needs it.

    @ivar url: a libpq URI for its C{postgres} database, as user C{finger}.
    """

    def __init__(self, top: str) -> None:
        self.top = top
        self.data = os.path.join(top, "data")
        self.port = freePort()
        self.log = os.path.join(top, "server.log")
        self.url = f"postgresql://finger@127.0.0.1:{self.port}/postgres"

    def urlAs(self, role: str) -> str:
        """
        A libpq URI for the C{postgres} database, as C{role} (the server
        trusts every local connection: no password).
        """
        return self.url.replace("finger@", f"{role}@", 1)

    def start(self) -> None:
        """
        Start the server and wait until it takes connections.
        """
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={self.top} -c fsync=on"
        )
        _run([_program("pg_ctl") or "pg_ctl", "-D", self.data, "-l", self.log, "-o", options,
              "-w", "-t", "60", "start"])

    def stop(self, mode: str = "fast") -> None:
        """
        Stop the server; C{fast} ends every session at once.
        """
        _run([_program("pg_ctl") or "pg_ctl", "-D", self.data, "-m", mode, "-w", "stop"])

    def running(self) -> bool:
        return os.path.exists(os.path.join(self.data, "postmaster.pid"))

    def query(self, sql: str, *args: Any, role: Optional[str] = None) -> List[Any]:
        """
        Run one statement on a new connection (as C{role}, or the superuser
        C{finger}), and return its rows.
        """
        import psycopg

        url = self.url if role is None else self.urlAs(role)
        with psycopg.connect(url, autocommit=True) as connection:
            cursor = connection.execute(sql, args or None)
            return cursor.fetchall() if cursor.description else []


def clusterFor(testCase: Any) -> Cluster:
    """
    Start a PostgreSQL server of its own for C{testCase} (L{startCluster}),
    or skip the test, saying what is L{missing}.
    """
    why = missing()
    if why is not None:
        raise SkipTest(why)
    return startCluster(testCase.addCleanup)


def startCluster(addCleanup: Callable[..., None]) -> Cluster:
    """
    Start a PostgreSQL server of its own for one test; it is stopped and
    removed when the test ends.  Call L{missing} first.
    """
    template = _makeTemplate()
    top = tempfile.mkdtemp(prefix="finger-pg-")
    os.chmod(top, 0o755)
    _chown(top)
    cluster = Cluster(top)
    addCleanup(shutil.rmtree, top, True)
    _run(["cp", "-a", template, cluster.data])
    cluster.start()

    def stop() -> None:
        if cluster.running():
            cluster.stop("immediate")

    addCleanup(stop)
    return cluster
