# -*- test-case-name: tests.app.test_tap -*-
"""
The status setter's options and listener.
"""

from typing import Any, List

from finger.app.listening import Assembly, portOption
from finger.frontends.setter import FingerSetterFactoryFromService
from finger.interfaces import IFingerSetterService
from finger.messages import BUSY
from finger.net.listen import LOOPBACK

# The setter's errors go on in lower case after "Error: ".
REFUSAL = f"Error: {BUSY[:1].lower()}{BUSY[1:]}\r\n".encode("ascii")
"""
What a setter client over the connection limits reads.
"""

optParameters: List[List[Any]] = [
    portOption("setterport", None, "1079", "the status setter", True),
]

optFlags: List[List[Any]] = [
    ["no-setter", None, "Do not run the status setter."],
]


# A bare port number listens on loopback only (127.0.0.1 and ::1).
ports = {"setterport": LOOPBACK}


def addTo(parts: Assembly) -> None:
    """
    Add the setter's listener, unless C{--no-setter} or the back-end cannot
    set statuses.
    """
    if parts.options["no-setter"] or not IFingerSetterService.providedBy(parts.backend):
        return
    factory = FingerSetterFactoryFromService(
        parts.backend, clock=parts.reactor, timeout=parts.options["timeout"], login=parts.login
    )
    parts.listen("setter", "setterport", factory, REFUSAL)
