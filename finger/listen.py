# -*- test-case-name: tests.test_listen -*-
"""
Listening on endpoint descriptions, failing loudly and clearly.

Twisted's L{StreamServerEndpointService} logs a failure to listen and carries
on without the port.  A daemon that silently lacks its finger port is worse
than one that does not start, so L{ListeningService} stops start-up with one
line saying which port failed and what to do about it.
"""

import errno
from typing import Any, Optional

from twisted.application.internet import StreamServerEndpointService
from twisted.internet.endpoints import serverFromString
from twisted.internet.error import CannotListenError
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IListeningPort, IProtocolFactory
from twisted.python.failure import Failure


class ListenFailed(SystemExit, Exception):
    """
    A listener could not start.  The message is the one line to show.

    It is a L{SystemExit}, so the process ends with just the message on
    standard error and a non-zero status, with no traceback to hide it; and
    an L{Exception}, so that twistd still removes its pid file and, when
    daemonizing, passes the message (its first 100 bytes) to the parent.
    """


def portDescription(value: str, interface: str = "") -> str:
    """
    Turn a port option's value into an endpoint description.

    @param value: a port number (C{"79"}) or an endpoint description
        (C{"tcp:79:interface=\\:\\:"}).
    @param interface: the address a bare port number listens on; all
        addresses if empty.
    """
    if value.isdigit():
        return f"tcp:{value}" + (f":interface={interface}" if interface else "")
    return value


def _advice(reason: Failure, option: str) -> str:
    error = reason.value
    socketError = getattr(error, "socketError", None)
    code = getattr(socketError, "errno", None)
    if code in (errno.EACCES, errno.EPERM):
        return (
            "permission denied; ports below 1024 need root or "
            f"CAP_NET_BIND_SERVICE, or choose another port with {option}"
        )
    if code == errno.EADDRINUSE:
        return (
            "address in use; stop the other server or choose another port "
            f"with {option}"
        )
    if isinstance(error, CannotListenError) and socketError is not None:
        return f"{socketError}; choose another address with {option}"
    return f"{error}; check {option}"


class ListeningService(StreamServerEndpointService):
    """
    Listen on an endpoint description; refuse to start if that fails.

    @ivar option: the command-line option that chose the description, named
        in the error.
    @ivar port: the L{IListeningPort} once listening, else L{None}.
    """

    port: Optional[IListeningPort] = None

    def __init__(
        self, reactor: Any, description: str, factory: IProtocolFactory, option: str
    ) -> None:
        super().__init__(serverFromString(reactor, description), factory)
        self.description = description
        self.option = option

    def privilegedStartService(self) -> None:
        self._raiseSynchronously = True
        try:
            super().privilegedStartService()
        except Exception:
            self._waitingForPort = None
            self.running = False
            raise ListenFailed(
                f"finger: cannot listen on {self.description} ({self.option}): "
                f"{_advice(Failure(), self.option)}"
            ) from None
        self._waitingForPort.addCallback(self._listening)

    def _listening(self, port: IListeningPort) -> IListeningPort:
        self.port = port
        return port

    def stopService(self) -> "Deferred[None]":
        self.port = None
        return super().stopService()
