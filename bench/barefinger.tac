"""
The finger benchmark's floor for Twisted: the finger server of the
tutorial's stage 8 ("Output from Non-empty Factory"), a C{LineReceiver}
answering from a dict held by its factory, run under twistd with its log
file as the service runs.

    FILE=USERS PORT=N twistd -n --pidfile= -l LOG -y bench/barefinger.tac

The dict is read once, at start-up, from the status file the service is
given (C{user: status} lines; blank lines and C{#} comments skipped), so
both answer the same bytes (C{moshez} -> C{Happy and well}).  What a
Twisted program can reach with public APIs, and nothing more: no access
log (twistd's log gets only its start-up and shutdown lines), no limits
(connection caps, per-client rates, timeouts), no C{Deferred}, no
reloading, no listing, no validation of the query.  C{bench/run.py}
compares the service, with its logging and every limit on, against it.
"""

import os
from typing import Dict

from twisted.application import service, strports
from twisted.internet import protocol
from twisted.protocols import basic


def readStatuses(path: str) -> Dict[bytes, bytes]:
    """
    The statuses of a status file, by user name.
    """
    users = {}
    with open(path, "rb") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith(b"#"):
                continue
            name, colon, status = line.partition(b":")
            if colon:
                users[name.strip()] = status.strip()
    return users


class FingerProtocol(basic.LineReceiver):
    def lineReceived(self, user: bytes) -> None:
        self.transport.write(self.factory.getUser(user) + b"\r\n")
        self.transport.loseConnection()


class FingerFactory(protocol.ServerFactory):
    protocol = FingerProtocol

    def __init__(self, users: Dict[bytes, bytes]) -> None:
        self.users = users

    def getUser(self, user: bytes) -> bytes:
        return self.users.get(user, b"No such user")


application = service.Application("barefinger")
strports.service(
    f"tcp:{os.environ['PORT']}:interface=127.0.0.1",
    FingerFactory(readStatuses(os.environ["FILE"])),
).setServiceParent(application)
