# -*- test-case-name: tests.app.test_tap -*-
"""
The status setter's options and L{SetterConfig}.
"""

from dataclasses import dataclass
from typing import Any, List, Optional

from twisted.python import usage

from finger.app.listening import Port, portRow, readPort
from finger.messages import BUSY
from finger.net.listen import LOOPBACK

# The setter's errors go on in lower case after "Error: ".
REFUSAL = f"Error: {BUSY[:1].lower()}{BUSY[1:]}\r\n".encode("ascii")
"""
What a setter client over the connection limits reads.
"""

optParameters: List[List[Any]] = [
    portRow("setterport", None, "1079", "the status setter", True),
]

optFlags: List[List[Any]] = [
    ["no-setter", None, "Do not run the status setter."],
]


@dataclass(frozen=True)
class SetterConfig:
    """
    The setter listener's settings.

    @ivar port: C{--setterport}; a bare port number listens on loopback
        only (127.0.0.1 and ::1).
    @ivar timeout: C{--timeout}, the seconds a client has to send its line.
    """

    port: Port
    timeout: float

    @classmethod
    def fromOptions(
        cls, options: usage.Options, reactor: Any, canSet: bool
    ) -> "Optional[SetterConfig]":
        """
        Check and read the setter options: L{None} with C{--no-setter} or
        when the back-end cannot set statuses (C{--setterport} is checked
        all the same).

        @param reactor: the reactor C{--setterport} is checked against.
        @param canSet: whether the chosen back-end can set statuses.
        """
        port = readPort("setterport", options["setterport"], reactor, LOOPBACK)
        if options["no-setter"] or not canSet:
            return None
        return cls(port=port, timeout=options["timeout"])
