# -*- test-case-name: tests.frontends.test_pb -*-
"""
Perspective Broker's options and listener.
"""

from typing import Any, List

from finger.app.listening import Assembly, portOption
from finger.frontends.pb import FingerPBServerFactory, PerspectiveFingerFromService
from finger.net.listen import LOOPBACK

optParameters: List[List[Any]] = [
    portOption("pbport", "p", "8889", "Perspective Broker", True),
]

optFlags: List[List[Any]] = [
    ["no-pb", None, "Do not serve Perspective Broker."],
]


# Logged-in clients set statuses: a bare port number listens on loopback.
ports = {"pbport": LOOPBACK}


def addTo(parts: Assembly) -> None:
    """
    Add Perspective Broker's listener (unless C{--no-pb}); given a login
    (C{--auth}), clients may log in to set statuses.
    """
    if parts.options["no-pb"]:
        return
    root = PerspectiveFingerFromService(parts.backend, clock=parts.reactor, login=parts.login)
    parts.listen("pb", "pbport", FingerPBServerFactory(root, clock=parts.reactor), b"")
