# -*- test-case-name: tests.app.test_access -*-
"""
Whether the user twistd drops privileges to (C{--uid}, C{--gid}) can run
the workers of C{--workers}: read the Python that runs them and the modules
they import.  Checked once, when the options are read, before anything
forks, so that a Python under a directory only root may enter (a pyenv
Python under C{/root}) is one line at start-up rather than a worker that
dies with a traceback, again and again.

The kernel decides, not a reading of permission bits: a child process takes
the user's ids and groups, as twistd will, and asks L{os.access} about each
path (so ACLs and every directory on the way, symbolic links followed,
count), then reports the first it cannot reach.
"""

import os
import pwd
import sys
from typing import Iterable, List, Optional, Sequence, Tuple

import finger
import twisted

Needed = Tuple[str, int]
"""
A path and the L{os.access} mode a worker needs on it.
"""


def workerNeeds(executable: str = sys.executable) -> List[Needed]:
    """
    What a worker process needs to start: the Python that runs it, the
    standard library, and the C{finger} and C{twisted} packages.
    """
    return [
        (executable, os.X_OK),
        (os.__file__, os.R_OK),
        (os.path.join(os.path.dirname(finger.__file__), "app", "worker.py"), os.R_OK),
        (twisted.__file__, os.R_OK),
    ]


def firstBlocked(path: str, mode: int) -> str:
    """
    Where the path C{path} is blocked for this process: the first directory
    on the way to it (its real path, links resolved) that cannot be
    entered, or C{path}'s real path itself.
    """
    real = os.path.realpath(path)
    parts = real.split(os.sep)
    for end in range(2, len(parts)):
        directory = os.sep.join(parts[:end])
        if not os.access(directory, os.X_OK):
            return directory
    return real


def _groups(uid: int, gid: int) -> List[int]:
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        return [gid]
    return os.getgrouplist(name, gid)


def blockedAs(uid: int, gid: int, needed: Iterable[Needed]) -> Optional[Tuple[str, str]]:
    """
    The first of C{needed} that user C{uid} (group C{gid}, and the groups
    the user is in) cannot use, asked of the kernel in a child process that
    takes those ids.  Only root can ask.

    @return: L{None} if every path is usable; else the path and where it is
        blocked (L{firstBlocked}).
    @raise OSError: if the child cannot be made or cannot take the ids.
    """
    needed = list(needed)
    # Asked before forking: the name service may take locks a thread holds.
    groups = _groups(uid, gid)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child reports through the pipe)
        status = 1
        try:
            os.close(read)
            os.setgroups(groups)
            os.setgid(gid)
            os.setuid(uid)
            answer = ""
            for path, mode in needed:
                if not os.access(path, mode):
                    answer = f"{path}\0{firstBlocked(path, mode)}"
                    break
            os.write(write, b"ok\0" + answer.encode("utf-8", "surrogateescape"))
            status = 0
        finally:
            os._exit(status)
    os.close(write)
    try:
        chunks = []
        while True:
            chunk = os.read(read, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read)
        os.waitpid(pid, 0)
    reply = b"".join(chunks).decode("utf-8", "surrogateescape")
    if not reply.startswith("ok\0"):
        raise OSError(f"cannot take the ids {uid}:{gid} to check what they may read")
    answer = reply[len("ok\0") :]
    if not answer:
        return None
    path, blocked = answer.split("\0", 1)
    return path, blocked


def describeBlocked(uid: int, path: str, blocked: str, needed: Sequence[Needed]) -> str:
    """
    One line for the operator: who cannot use what, and the ways out.
    """
    try:
        who = pwd.getpwuid(uid).pw_name
    except KeyError:
        who = f"uid {uid}"
    what = "the Python that runs them" if path == needed[0][0] else "a module they import"
    if os.path.isdir(blocked):
        where = f"enter {blocked}, on the way to {path}, {what}"
    else:
        where = f"read {blocked}, {what}"
    return (
        f"the workers run as {who} (--uid), who cannot {where}: install "
        f"finger with a Python {who} can read (such as /usr/bin/python3 -m venv "
        "/opt/finger), or run without --workers"
    )
