# -*- test-case-name: tests.app.test_tap -*-
"""
The finger protocol's options and listener; C{--timeout} is here too, as
the finger query is what it was made for.
"""

from typing import Any, List

from finger.app import backend as backendOptions
from finger.app.coerce import seconds
from finger.app.listening import Assembly, portOption, rateLimiter
from finger.frontends.finger import FingerFactoryFromService
from finger.interfaces import IFingerService
from finger.messages import BUSY

REFUSAL = f"{BUSY}\r\n".encode("ascii")
"""
What a finger client over the connection limits reads.
"""

optParameters: List[List[Any]] = [
    portOption("fingerport", None, "79", "the finger protocol"),
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


ports = {"fingerport": ""}


def addTo(parts: Assembly) -> None:
    """
    Add the finger listener.
    """
    options, reactor = parts.options, parts.reactor
    factory = FingerFactoryFromService(
        IFingerService(parts.backend),
        clock=reactor,
        timeout=options["timeout"],
        listUsers=not options["no-listing"],
        forwarder=backendOptions.makeForwarder(options, reactor),
        accessLog=options["access-log"],
    )
    parts.listen("finger", "fingerport", factory, REFUSAL, rateLimiter(options, reactor))
