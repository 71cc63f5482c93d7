# -*- test-case-name: tests.test_paths -*-
"""
Files on disk: finding the ones that ship beside the code, and opening the
ones someone else controls.

An installed copy keeps the templates and the sample status file inside the
package (C{finger/templates}, C{finger/etc}); a checkout keeps them at its
top level (C{templates/}, C{etc/}).  Either way, L{dataPath} finds them.

A user's C{~/.plan}, a status file and its lock file may be replaced by
anyone who may write their directory; L{SAFE_OPEN_FLAGS} is how every back-end
opens them.
"""

import os

_package = os.path.dirname(os.path.abspath(__file__))


def dataPath(*segments: str) -> str:
    """
    The path of a shipped data file or directory, such as
    C{dataPath("etc", "users.sample")}.
    """
    installed = os.path.join(_package, *segments)
    if os.path.exists(installed):
        return installed
    return os.path.join(os.path.dirname(_package), *segments)


SAFE_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
)
"""
How a file someone else controls is opened for reading: never through a
symbolic link, never blocking on a FIFO, never as a controlling terminal.
"""
