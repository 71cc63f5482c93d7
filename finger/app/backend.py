# -*- test-case-name: tests.app.test_tap_backends -*-
"""
Choosing and configuring the back-end, and forwarding: their options, the
checks of those options, and the objects they build.
"""

import os
from typing import Any, Callable, List, Optional, Type

from twisted.application import service
from twisted.python import usage

from finger.app.coerce import number, positive, seconds
from finger.backends.command import SEARCH_PATH, CommandFingerService, CommandNotFound, findProgram
from finger.backends.file import FileFingerService
from finger.backends.http import HTTPFingerService, checkPrefix
from finger.backends.local import UID_FLOOR, LocalFingerService
from finger.backends.proxy import ProxyFingerService
from finger.backends.sql import SQLFingerService
from finger.backends.sqlstore import DatabaseError, openDatabase
from finger.backends.statusfile import StatusFileError
from finger.clients.finger import DEFAULT_PORT as FINGER_PORT
from finger.forwarding import FingerForwarder, parseAllowList
from finger.net.address import parseHostPort

BACKENDS = ("file", "sql", "local", "command", "web", "proxy")

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
        "needs finger[postgresql]).  Required with --backend=sql.",
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


def _convert(
    options: usage.Options, option: str, convert: Callable[[Any], Any], *errors: Type[Exception]
) -> None:
    """
    Replace the value of C{--option} by what C{convert} makes of it, or
    refuse it with the reason, naming the option.
    """
    try:
        options[option] = convert(options[option])
    except errors as e:
        raise usage.UsageError(f"--{option}: {e}") from None


def _allowList(value: str) -> List[str]:
    """
    The hosts C{--forward-allow} names, checked.
    """
    entries = [entry.strip() for entry in value.split(",") if entry.strip()]
    parseAllowList(entries)
    return entries


def checkOptions(options: usage.Options, reactor: Any) -> None:
    """
    Check and convert the back-end and forwarding options.
    """
    backend = options["backend"]
    if backend not in BACKENDS:
        raise usage.UsageError(f"--backend: {backend!r} is not one of {', '.join(BACKENDS)}")
    required = _REQUIRED.get(backend)
    if required is not None and options[required] is None:
        raise usage.UsageError(f"--{required}: required with --backend={backend}")
    if backend == "file":
        _checkStatusFile(options["file"])
    elif backend == "local":
        _checkRoot(options)
    elif backend == "sql":
        _convert(options, "database", lambda url: openDatabase(url, options["backend-timeout"]), DatabaseError)
    elif backend == "command":
        _convert(options, "command", findProgram, CommandNotFound)
    elif backend == "web":
        _convert(options, "web-prefix", checkPrefix, ValueError)
    elif backend == "proxy":
        _convert(options, "proxy-to", lambda to: parseHostPort(to, FINGER_PORT), ValueError)
    _convert(options, "forward-allow", _allowList, ValueError)


def makeBackend(options: usage.Options, reactor: Any) -> service.Service:
    """
    The back-end the options chose, as a service.
    """
    backend = options["backend"]
    timeout = options["backend-timeout"]
    maxBytes = options["max-bytes"]
    if backend == "sql":
        return SQLFingerService(options["database"], reactor=reactor, timeout=timeout)
    if backend == "local":
        return LocalFingerService(reactor, uidFloor=options["uid-floor"], maxBytes=maxBytes)
    if backend == "command":
        return CommandFingerService(
            reactor,
            options["command"],
            arguments=LOGIN_NAMES_ONLY,
            timeout=timeout,
            maxBytes=maxBytes,
            uidFloor=options["uid-floor"],
        )
    if backend == "web":
        return HTTPFingerService(reactor, options["web-prefix"], timeout=timeout, maxBytes=maxBytes)
    if backend == "proxy":
        host, port = options["proxy-to"]
        return ProxyFingerService(
            reactor,
            host,
            port,
            connectTimeout=timeout / 2,
            readTimeout=timeout / 2,
            maxBytes=maxBytes,
        )
    try:
        return FileFingerService(
            options["file"], interval=options["interval"], reactor=reactor, lockTimeout=timeout
        )
    except StatusFileError as e:
        raise usage.UsageError(f"--file: {e}") from None


def makeForwarder(options: usage.Options, reactor: Any) -> Optional[FingerForwarder]:
    """
    The forwarder for C{user@host} queries, or L{None} if forwarding is off.
    """
    allowed = options["forward-allow"]
    if not allowed:
        return None
    return FingerForwarder(
        reactor,
        allowed,
        maxHops=options["forward-hops"],
        connectTimeout=options["backend-timeout"] / 2,
        readTimeout=options["backend-timeout"] / 2,
        maxBytes=options["max-bytes"],
    )
