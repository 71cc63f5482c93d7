# -*- test-case-name: tests.frontends.test_pb -*-
"""
Perspective Broker's options and listener.
"""

from typing import Any, List, Optional

from twisted.application import service
from twisted.python import usage

from finger.app.listening import endpointOption, listen
from finger.auth import SetterLogin
from finger.frontends.pb import FingerPBServerFactory, PerspectiveFingerFromService

optParameters: List[List[Any]] = [
    [
        "pbport",
        "p",
        "tcp:8889:interface=127.0.0.1",
        "Where Perspective Broker listens: a port (on 127.0.0.1) or an endpoint description.",
    ],
]

optFlags: List[List[Any]] = [
    ["no-pb", None, "Do not serve Perspective Broker."],
]


def checkOptions(options: usage.Options, reactor: Any) -> None:
    """
    Check C{--pbport}; a bare port number means loopback.
    """
    endpointOption(options, reactor, "pbport", "127.0.0.1")


def addTo(
    top: service.MultiService,
    backend: Any,
    options: usage.Options,
    reactor: Any,
    login: Optional[SetterLogin],
) -> None:
    """
    Add Perspective Broker's listener to C{top} (unless C{--no-pb}); given a
    C{login} (C{--auth}), clients may log in to set statuses.
    """
    if options["no-pb"]:
        return
    root = PerspectiveFingerFromService(backend, clock=reactor, login=login)
    listen(top, "pb", "pbport", options, reactor, FingerPBServerFactory(root, clock=reactor), b"")
