# -*- test-case-name: tests.app.test_tap -*-
"""
The status setter's options and listener.
"""

from typing import Any, List, Optional

from twisted.application import service
from twisted.python import usage

from finger.app.listening import endpointOption, listen
from finger.auth import SetterLogin
from finger.frontends.setter import FingerSetterFactoryFromService
from finger.interfaces import IFingerSetterService
from finger.messages import BUSY

# The setter's errors go on in lower case after "Error: ".
REFUSAL = f"Error: {BUSY[:1].lower()}{BUSY[1:]}\r\n".encode("ascii")
"""
What a setter client over the connection limits reads.
"""

optParameters: List[List[Any]] = [
    [
        "setterport",
        None,
        "tcp:1079:interface=127.0.0.1",
        "Where the status setter listens: a port (on 127.0.0.1) or an endpoint description.",
    ],
]

optFlags: List[List[Any]] = [
    ["no-setter", None, "Do not run the status setter."],
]


def checkOptions(options: usage.Options, reactor: Any) -> None:
    """
    Check C{--setterport}; a bare port number means loopback.
    """
    endpointOption(options, reactor, "setterport", "127.0.0.1")


def addTo(
    top: service.MultiService,
    backend: Any,
    options: usage.Options,
    reactor: Any,
    login: Optional[SetterLogin],
) -> None:
    """
    Add the setter's listener to C{top}, unless C{--no-setter} or the
    back-end cannot set statuses.
    """
    if options["no-setter"] or not IFingerSetterService.providedBy(backend):
        return
    factory = FingerSetterFactoryFromService(
        backend, clock=reactor, timeout=options["timeout"], login=login
    )
    listen(top, "setter", "setterport", options, reactor, factory, REFUSAL)
