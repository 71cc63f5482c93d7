# -*- test-case-name: tests.app.test_tap -*-
"""
The finger protocol's options and L{FingerConfig}; C{--timeout} is here
too, as the finger query is what it was made for.
"""

from dataclasses import dataclass
from typing import Any, List, Optional

from twisted.python import usage

from finger.app.coerce import seconds
from finger.app.listening import Port, portRow, readPort
from finger.messages import BUSY

REFUSAL = f"{BUSY}\r\n".encode("ascii")
"""
What a finger client over the connection limits reads.
"""

optParameters: List[List[Any]] = [
    portRow("fingerport", None, "79", "the finger protocol"),
    [
        "timeout",
        None,
        60.0,
        "Seconds a finger or setter client has to send its request, and a "
        "web client each request (line, headers and body; the TLS handshake "
        "too, and an idle keep-alive the next request).",
        seconds("--timeout"),
    ],
    ["access-log", None, None, "A file to append the finger access log to [default: the log]."],
]

optFlags: List[List[Any]] = [
    ["no-listing", None, "Refuse to list users for an empty finger query (RFC 1288 3.2.2)."],
]


@dataclass(frozen=True)
class FingerConfig:
    """
    The finger listener's settings.

    @ivar port: C{--fingerport}.
    @ivar timeout: C{--timeout}, the seconds a client has to send its query.
    @ivar listUsers: whether an empty query lists users (not C{--no-listing}).
    @ivar accessLog: C{--access-log}, or L{None} for the log.
    """

    port: Port
    timeout: float
    listUsers: bool
    accessLog: Optional[str]

    @classmethod
    def fromOptions(cls, options: usage.Options, reactor: Any) -> "FingerConfig":
        """
        Check and read the finger options.

        @param reactor: the reactor C{--fingerport} is checked against.
        """
        return cls(
            port=readPort("fingerport", options["fingerport"], reactor),
            timeout=options["timeout"],
            listUsers=not options["no-listing"],
            accessLog=options["access-log"],
        )
