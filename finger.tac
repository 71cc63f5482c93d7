# -*- test-case-name: tests.test_tac -*-
"""
The finger service as a twistd application file:

    sudo twistd -ny finger.tac

As root it binds the finger port (79), then drops to the unprivileged user
and group named below (C{nobody}/C{nogroup}), like the tutorial's
C{Application("finger", uid, gid)}.

Where the statuses live: the setter must keep working after the drop, so the
status file is not C{etc/users.sample} itself but a copy in a state directory
that the unprivileged user owns: C{/var/lib/finger/users} when started as
root, C{~/.local/state/finger/users} otherwise.  The copy is made from
C{etc/users.sample} on the first start and kept across restarts.

Settings come from these environment variables, with the defaults shown:

    FINGER_STATE_DIR   /var/lib/finger (root), ~/.local/state/finger (others)
    FINGER_USER        nobody       the user to run as after binding (root only)
    FINGER_GROUP       nogroup      its group
    FINGER_PORT        79           the finger listener
    FINGER_SETTER_PORT 1079         the setter, on loopback
    FINGER_WEB_PORT    8000         the web site (pages, JSON, XML-RPC)
    FINGER_PB_PORT     (8889)       Perspective Broker (read only)

Each is a port or an endpoint description, as C{twistd finger}'s C{--*port}
options take them: a bare port listens on every address, IPv6 and IPv4, but
the setter's and Perspective Broker's on 127.0.0.1 and ::1 only; a
description is used as written.  Perspective Broker's default here is port
8889 on every address, as it serves no logins.

For anything else, use C{twistd finger} and its options.
"""

import grp
import os
import pwd
import shutil
import sys

from twisted.application import service

_here = os.path.dirname(os.path.abspath(__file__))
if os.path.isdir(os.path.join(_here, "finger")) and _here not in sys.path:
    # Run from a checkout: use the package next to this file.
    sys.path.insert(0, _here)

from finger.app import tap  # noqa: E402
from finger.net.listen import everyAddress  # noqa: E402
from finger.paths import dataPath  # noqa: E402

_root = os.getuid() == 0
if _root:
    _defaultState = "/var/lib/finger"
else:
    _defaultState = os.path.join(
        os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state"),
        "finger",
    )
stateDirectory = os.environ.get("FINGER_STATE_DIR", _defaultState)
statusFile = os.path.join(stateDirectory, "users")
sample = dataPath("etc", "users.sample")

uid = gid = None
if _root:
    uid = pwd.getpwnam(os.environ.get("FINGER_USER", "nobody")).pw_uid
    gid = grp.getgrnam(os.environ.get("FINGER_GROUP", "nogroup")).gr_gid

os.makedirs(stateDirectory, mode=0o755, exist_ok=True)
if not os.path.exists(statusFile):
    shutil.copyfile(sample, statusFile)
    os.chmod(statusFile, 0o644)
if _root:
    # The dropped user writes the file, and the temporary files beside it.
    os.chown(stateDirectory, uid, gid)
    os.chown(statusFile, uid, gid)

# Read only here (no --auth), so not kept to loopback as twistd finger keeps it.
pbPort = os.environ.get("FINGER_PB_PORT")
if pbPort is None:
    pbPort = everyAddress("8889")

options = tap.Options()
options.parseOptions(
    [
        "--file",
        statusFile,
        "--fingerport",
        os.environ.get("FINGER_PORT", "79"),
        "--setterport",
        os.environ.get("FINGER_SETTER_PORT", "1079"),
        "--webport",
        os.environ.get("FINGER_WEB_PORT", "8000"),
        "--pbport",
        pbPort,
    ]
)

application = service.Application("finger", uid=uid, gid=gid)
tap.makeService(options).setServiceParent(service.IServiceCollection(application))
