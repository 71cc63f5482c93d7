# -*- test-case-name: tests.app.test_tap_backends -*-
"""
Choosing and configuring the back-end, and forwarding: their options, the
checks of those options (L{BackendConfig}), and the objects they build.
"""

import os
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple, Type, TypeVar

from twisted.application import service
from twisted.python import usage

from finger.app.coerce import number, positive, seconds
from finger.backends.command import SEARCH_PATH, CommandFingerService, CommandNotFound, findProgram
from finger.backends.file import FileFingerService
from finger.backends.http import HTTPFingerService, checkPrefix
from finger.backends.local import UID_FLOOR, LocalFingerService
from finger.backends.proxy import ProxyFingerService
from finger.backends.sql import SQLFingerService
from finger.backends.sqlstore import Database, DatabaseError, openDatabase
from finger.backends.statusfile import StatusFileError
from finger.clients.finger import DEFAULT_PORT as FINGER_PORT
from finger.forwarding import FingerForwarder, RemoteFinger, parseAllowList
from finger.interfaces import IFingerSetterService
from finger.net.address import parseHostPort

_CLASSES: Dict[str, type] = {
    "file": FileFingerService,
    "sql": SQLFingerService,
    "local": LocalFingerService,
    "command": CommandFingerService,
    "web": HTTPFingerService,
    "proxy": ProxyFingerService,
}
"""
The class of each back-end C{--backend} names.
"""

BACKENDS = tuple(_CLASSES)

LOGIN_NAMES_ONLY = ("-m",)
"""
What the command back-end's program is given before C{--} and the name:
finger's C{-m}, match login names only.  Without it the system's finger
also matches real names (C{finger Mailing} shows the C{list} account), which
would show system accounts that the uid floor hides.
"""

optParameters: List[List[Any]] = [
    ["file", "f", "/etc/users", "The status file: one 'user: status' per line."],
    [
        "interval",
        None,
        30.0,
        "Seconds between checks of the status file for changes.",
        seconds("--interval"),
    ],
    [
        "backend",
        None,
        "file",
        "Where statuses come from: file (the --file status file), sql (the "
        "--database), local (system accounts and ~/.plan), command (the system's finger "
        "program), web (--web-prefix), or proxy (another finger server, "
        "--proxy-to).",
    ],
    [
        "database",
        None,
        None,
        "sql: where statuses are kept: sqlite:PATH (one machine) or "
        "postgresql://user@host:port/dbname, a libpq URI (several machines; "
        "needs the psycopg 3 driver: pip install 'psycopg[binary]', or the "
        "postgresql extra of a checkout).  Required with --backend=sql.",
    ],
    [
        "uid-floor",
        None,
        UID_FLOOR,
        "local and command: the lowest uid answered; system accounts below "
        "it are neither listed nor answered.",
        number("--uid-floor", int, 0, True, "A whole number, zero or more."),
    ],
    [
        "command",
        None,
        "finger",
        f"command: the finger program, a path or a name on {SEARCH_PATH}; it is "
        "run as PROGRAM -m -- USER (login names only).",
    ],
    [
        "web-prefix",
        None,
        None,
        "web: the URL a user's name is appended to, such as "
        "https://example.com/~ (required with --backend=web).",
    ],
    [
        "proxy-to",
        None,
        None,
        "proxy: the finger server to ask, host[:port] (required with --backend=proxy).",
    ],
    [
        "forward-allow",
        None,
        "",
        "Forward user@host queries to these hosts only: a comma-separated "
        "list of host[:port].  Empty: forwarding is off.",
    ],
    [
        "forward-hops",
        None,
        1,
        "The most hosts a forwarded query may name (user@h1@h2 names two).",
        positive("--forward-hops"),
    ],
    [
        "backend-timeout",
        None,
        5.0,
        "Seconds a lookup by the command, web or proxy back-end, a set on the "
        "sql back-end, a set's wait for the status file's lock, or a forwarded query, "
        "may take in all (the proxy and "
        "forwarding give half to connecting).  The finger protocol waits 10 seconds at most.",
        seconds("--backend-timeout"),
    ],
    [
        "max-bytes",
        None,
        16384,
        "The most bytes read from a ~/.plan, the command's output, a web "
        "page or a remote finger server.",
        positive("--max-bytes"),
    ],
]

optFlags: List[List[Any]] = []


def _checkRoot(options: usage.Options) -> None:
    """
    Refuse the local back-end when twistd would run it as root.  The back-end
    checks again when it starts, which also covers a tac without a uid.
    """
    parent = options.parent
    if os.geteuid() != 0 or parent is None or "uid" not in parent:
        return
    uid = parent["uid"]
    if uid is None or uid == 0:
        raise usage.UsageError(
            "--backend=local: twistd runs as root and would read users' files "
            "as root; give twistd --uid and --gid (for example --uid=nobody "
            "--gid=nogroup) so that it drops privileges after binding"
        )


def _probed(url: str, timeout: float) -> Database:
    """
    The database C{url} names, once it did not refuse the login.

    @raise DatabaseError: for a URL that names no usable database, or a
        server that refused the login.
    """
    database = openDatabase(url, timeout)
    database.probe()
    return database


def _checkStatusFile(path: str) -> None:
    if not os.path.exists(path):
        reason = "does not exist"
    elif not os.path.isfile(path):
        reason = "is not a regular file"
    elif not os.access(path, os.R_OK):
        reason = "is not readable"
    else:
        return
    raise usage.UsageError(f"--file: the status file {path} {reason}")


_REQUIRED = {"sql": "database", "web": "web-prefix", "proxy": "proxy-to"}
"""
The option each back-end cannot do without.
"""

_T = TypeVar("_T")


def _read(
    options: usage.Options, option: str, read: Callable[[Any], _T], *errors: Type[Exception]
) -> _T:
    """
    What C{read} makes of the value of C{--option}, or a usage error with
    the reason, naming the option.
    """
    try:
        return read(options[option])
    except errors as e:
        raise usage.UsageError(f"--{option}: {e}") from None


def _allowList(value: str) -> Tuple[str, ...]:
    """
    The hosts C{--forward-allow} names, checked.
    """
    entries = tuple(entry.strip() for entry in value.split(",") if entry.strip())
    parseAllowList(entries)
    return entries


@dataclass(frozen=True)
class BackendConfig:
    """
    The back-end and forwarding options, checked: what L{makeBackend} and
    L{makeForwarder} build from.

    @ivar kind: C{--backend}, one of L{BACKENDS}.
    @ivar file: C{--file}, the status file (checked with C{--backend=file}).
    @ivar interval: C{--interval}.
    @ivar database: C{--database}, opened, with C{--backend=sql}; else
        L{None}.
    @ivar uidFloor: C{--uid-floor}.
    @ivar command: C{--command}, found on the search path, with
        C{--backend=command}.
    @ivar webPrefix: C{--web-prefix}, checked, with C{--backend=web}.
    @ivar proxyTo: C{--proxy-to} as a host and a port, with
        C{--backend=proxy}.
    @ivar timeout: C{--backend-timeout}.
    @ivar maxBytes: C{--max-bytes}.
    @ivar forwardAllow: C{--forward-allow}, the hosts forwarded to; empty
        when forwarding is off.
    @ivar forwardHops: C{--forward-hops}.
    """

    kind: str
    file: str
    interval: float
    database: Optional[Database]
    uidFloor: int
    command: str
    webPrefix: Optional[str]
    proxyTo: Optional[Tuple[str, int]]
    timeout: float
    maxBytes: int
    forwardAllow: Tuple[str, ...]
    forwardHops: int

    @classmethod
    def fromOptions(cls, options: usage.Options) -> "BackendConfig":
        """
        Check and read the back-end and forwarding options.

        @raise usage.UsageError: naming the option that is wrong.
        """
        kind = options["backend"]
        if kind not in BACKENDS:
            raise usage.UsageError(f"--backend: {kind!r} is not one of {', '.join(BACKENDS)}")
        required = _REQUIRED.get(kind)
        if required is not None and options[required] is None:
            raise usage.UsageError(f"--{required}: required with --backend={kind}")
        timeout = options["backend-timeout"]
        database = webPrefix = proxyTo = None
        command = options["command"]
        if kind == "file":
            _checkStatusFile(options["file"])
        elif kind == "local":
            _checkRoot(options)
        elif kind == "sql":
            # A malformed URL or a refused login stops start-up; a server not
            # reached yet does not (the back-end keeps trying).
            database = _read(options, "database", lambda url: _probed(url, timeout), DatabaseError)
        elif kind == "command":
            command = _read(options, "command", findProgram, CommandNotFound)
        elif kind == "web":
            webPrefix = _read(options, "web-prefix", checkPrefix, ValueError)
        elif kind == "proxy":
            proxyTo = _read(
                options, "proxy-to", lambda to: parseHostPort(to, FINGER_PORT), ValueError
            )
        return cls(
            kind=kind,
            file=options["file"],
            interval=options["interval"],
            database=database,
            uidFloor=options["uid-floor"],
            command=command,
            webPrefix=webPrefix,
            proxyTo=proxyTo,
            timeout=timeout,
            maxBytes=options["max-bytes"],
            forwardAllow=_read(options, "forward-allow", _allowList, ValueError),
            forwardHops=options["forward-hops"],
        )

    @property
    def canSet(self) -> bool:
        """
        Whether the back-end this chooses can set statuses, as its class
        declares (L{IFingerSetterService}); only those run a setter.
        """
        return backendCanSet(self.kind)


def backendCanSet(kind: str) -> bool:
    """
    Whether the back-end C{--backend} names can set statuses, as its class
    declares (L{IFingerSetterService}); only those run a setter.  A name
    that is not a back-end cannot (L{BackendConfig} refuses it).
    """
    cls = _CLASSES.get(kind)
    return cls is not None and IFingerSetterService.implementedBy(cls)


def makeBackend(config: BackendConfig, reactor: Any) -> service.Service:
    """
    The back-end C{config} chose, as a service.

    @raise usage.UsageError: if the status file cannot be read.
    """
    kind, timeout, maxBytes = config.kind, config.timeout, config.maxBytes
    if kind == "sql":
        assert config.database is not None
        return SQLFingerService(config.database, reactor=reactor, timeout=timeout)
    if kind == "local":
        return LocalFingerService(reactor, uidFloor=config.uidFloor, maxBytes=maxBytes)
    if kind == "command":
        return CommandFingerService(
            reactor,
            config.command,
            arguments=LOGIN_NAMES_ONLY,
            timeout=timeout,
            maxBytes=maxBytes,
            uidFloor=config.uidFloor,
        )
    if kind == "web":
        assert config.webPrefix is not None
        return HTTPFingerService(reactor, config.webPrefix, timeout=timeout, maxBytes=maxBytes)
    if kind == "proxy":
        assert config.proxyTo is not None
        host, port = config.proxyTo
        return ProxyFingerService(host, port, remote=remoteFinger(config, reactor))
    try:
        return FileFingerService(
            config.file, interval=config.interval, reactor=reactor, lockTimeout=timeout
        )
    except StatusFileError as e:
        raise usage.UsageError(f"--file: {e}") from None


def makeForwarder(config: BackendConfig, reactor: Any) -> Optional[FingerForwarder]:
    """
    The forwarder for C{user@host} queries, or L{None} if forwarding is off.
    """
    if not config.forwardAllow:
        return None
    return FingerForwarder(
        config.forwardAllow, remote=remoteFinger(config, reactor), maxHops=config.forwardHops
    )


def remoteFinger(config: BackendConfig, reactor: Any) -> RemoteFinger:
    """
    How the proxy back-end and the forwarder ask other finger servers:
    half of C{--timeout} to connect, the other half for the answer, and at
    most C{--max-bytes} of it.
    """
    return RemoteFinger(
        reactor,
        connectTimeout=config.timeout / 2,
        readTimeout=config.timeout / 2,
        maxBytes=config.maxBytes,
    )
