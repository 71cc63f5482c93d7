# -*- test-case-name: tests.frontends.test_pb -*-
"""
Perspective Broker's options and L{PBConfig}.
"""

from dataclasses import dataclass
from typing import Any, List, Optional

from twisted.python import usage

from finger.app.listening import Port, portRow, readPort
from finger.net.listen import LOOPBACK

optParameters: List[List[Any]] = [
    portRow("pbport", "p", "8889", "Perspective Broker", True),
]

optFlags: List[List[Any]] = [
    ["no-pb", None, "Do not serve Perspective Broker."],
]


@dataclass(frozen=True)
class PBConfig:
    """
    Perspective Broker's listener.

    @ivar port: C{--pbport}; logged-in clients set statuses, so a bare port
        number listens on loopback only (127.0.0.1 and ::1).
    """

    port: Port

    @classmethod
    def fromOptions(cls, options: usage.Options, reactor: Any) -> "Optional[PBConfig]":
        """
        Check and read C{--pbport}: L{None} with C{--no-pb} (the port is
        checked all the same).

        @param reactor: the reactor C{--pbport} is checked against.
        """
        port = readPort("pbport", options["pbport"], reactor, LOOPBACK)
        if options["no-pb"]:
            return None
        return cls(port=port)
