# -*- test-case-name: tests.net.test_listen -*-
"""
Listening on endpoint descriptions, failing loudly and clearly.

Twisted's L{StreamServerEndpointService} logs a failure to listen and carries
on without the port.  A daemon that silently lacks its finger port is worse
than one that does not start, so L{ListeningService} stops start-up with one
line saying which port failed and what to do about it.

L{portDescriptions} says where a port option listens: a bare port number on
every address, IPv6 and IPv4 on one socket where the host allows it (else
IPv4, with one log line), or on 127.0.0.1 and, best effort, ::1 for a
listener kept to loopback.

L{ListeningService} is written on Twisted's public service and endpoint
APIs only: it asks the endpoint to listen when the service starts (while
privileges last), and stops listening when it stops.  It is an
L{IReadiness}: not ready until it listens (what systemd's C{READY=1} waits
for, L{finger.net.notify}).

Each listener says where it listens in one line an operator can read, and
one when it stops (L{Announcement}): C{finger on [::]:79}, C{setter on
127.0.0.1:1079 and [::1]:1079} for the two sockets of one option.  Twisted's
own ports also log C{"... starting on 1079"} and C{"(TCP Port 1079
Closed)"}, without the interface, and no public switch turns that off:
L{finger.logs.portChatter} tells those lines apart, for the observers of
L{finger.logs} and the workers' log to drop.
"""

import errno
import re
import socket
from typing import Any, Callable, Dict, Iterable, List, Optional

from twisted.application.service import Service
from twisted.internet.defer import CancelledError, Deferred, succeed
from twisted.internet.endpoints import serverFromString
from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import IAddress, IListeningPort, IProtocolFactory
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from finger.interfaces import IReadiness
from finger.text import formatPeer

_log = Logger()


class ListenFailed(SystemExit, Exception):
    """
    A listener could not start.  The message is the one line to show.

    It is a L{SystemExit}, so the process ends with just the message on
    standard error and a non-zero status, with no traceback to hide it; and
    an L{Exception}, so that twistd still removes its pid file and, when
    daemonizing, passes the message (its first 100 bytes) to the parent.
    """


LOOPBACK = "127.0.0.1"
"""
The interface a role names for a bare port number that stays on loopback;
such a port listens on C{::1} as well.
"""


def dualStack() -> bool:
    """
    Whether one listener on C{::} here takes IPv4 connections too: the host
    can make an IPv6 socket, and such a socket is not IPv6-only unless told
    (on Linux, C{/proc/sys/net/ipv6/bindv6only} is 0).
    """
    try:
        probe = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    except OSError:
        return False
    with probe:
        try:
            return not probe.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY)
        except (OSError, AttributeError):
            return False


def everyAddress(port: str, bothFamilies: Callable[[], bool] = dualStack) -> str:
    """
    The endpoint description of C{port} on every address, IPv6 and IPv4;
    where this host cannot take both on one socket, IPv4 only, and one
    line is logged to say so.

    @param bothFamilies: tells whether this host can (L{dualStack}).
    """
    if bothFamilies():
        return f"tcp6:{port}:interface=\\:\\:"
    _log.warn(
        "Port {port} listens on IPv4 only: this host cannot take IPv6 and IPv4 "
        "connections on one socket",
        port=port,
    )
    return f"tcp:{port}"


def portDescriptions(
    value: str, interface: str = "", bothFamilies: Callable[[], bool] = dualStack
) -> List[str]:
    """
    Turn a port option's value into the endpoint descriptions it listens
    on: the first must listen; any other is tried as well, best effort.

    A bare port number (C{"79"}) listens on every address, IPv6 and IPv4
    (see L{everyAddress}), or on C{interface}; on L{LOOPBACK} it listens on
    C{::1} too.  An endpoint description (C{"tcp:79:interface=\\:\\:1"}) is
    used as written.

    @param interface: the address a bare port number listens on; every
        address if empty.
    @param bothFamilies: tells whether one socket here takes IPv6 and IPv4
        (L{dualStack}).
    """
    if not value.isdigit():
        return [value]
    if not interface:
        return [everyAddress(value, bothFamilies)]
    primary = f"tcp:{value}:interface={interface}"
    if interface == LOOPBACK:
        return [primary, f"tcp6:{value}:interface=\\:\\:1"]
    return [primary]


#: The listen queue asked for when a description names none.  Twisted's
#: default of 50 overflows when a hundred clients connect at once: the kernel
#: drops their SYNs and they retry a second later.  Linux caps it at
#: C{net.core.somaxconn}.
DEFAULT_BACKLOG = 1024

_BACKLOG_TYPES = ("tcp", "tcp6", "ssl", "unix")
_HAS_BACKLOG = re.compile(r"(?:^|(?<!\\):)backlog=")


def withBacklog(description: str, backlog: int = DEFAULT_BACKLOG) -> str:
    """
    Add C{backlog=} to an endpoint description of a type that takes one
    (C{tcp}, C{tcp6}, C{ssl}, C{unix}) and does not say it already.

    Other descriptions (C{systemd:}, which inherits a socket that is already
    listening, or a plugin's) are returned unchanged.
    """
    kind = description.split(":", 1)[0].strip().lower()
    if kind not in _BACKLOG_TYPES or _HAS_BACKLOG.search(description):
        return description
    return f"{description}:backlog={backlog}"


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
        return f"address in use; stop the other server or choose another port with {option}"
    if isinstance(error, CannotListenError) and socketError is not None:
        return f"{socketError}; choose another address with {option}"
    return f"{error}; check {option}"


def _failedMessage(description: str, option: str, reason: Failure) -> str:
    return f"finger: cannot listen on {description} ({option}): {_advice(reason, option)}"


def showAddress(address: IAddress) -> str:
    """
    Show where a port listens: C{127.0.0.1:1079}, C{[::]:79}, or a UNIX
    socket's path.
    """
    if getattr(address, "host", None) is not None:
        return formatPeer(address)
    name = getattr(address, "name", None)
    if isinstance(name, bytes):
        name = name.decode("utf-8", "replace")
    return str(name) if name is not None else str(address)


class Announcement:
    """
    The lines that say where one front-end listens: one when its listeners
    have started, naming the address of each that listens, and one when
    they have all stopped.  The listeners of one option (127.0.0.1 and ::1)
    share one, so the front-end is named once.

    @ivar name: the front-end, as the lines name it (C{"setter"}).
    """

    log = Logger()

    def __init__(self, name: str) -> None:
        self.name = name
        self._members: List[object] = []
        self._started: Dict[int, Optional[str]] = {}
        self._stopping = 0

    def expect(self, member: object) -> None:
        """
        Count C{member} among the listeners to wait for before the line.
        """
        self._members.append(member)

    def started(self, member: object, address: Optional[str]) -> None:
        """
        C{member} has started, listening on C{address} (L{None} if it went
        on without listening); say where once every member has.
        """
        self._started[id(member)] = address
        if len(self._started) < len(self._members):
            return
        self._say("{name} on {addresses}", (self._started.get(id(m)) for m in self._members))

    def stopping(self) -> None:
        """
        A member has begun to stop.
        """
        self._stopping += 1

    def stopped(self) -> None:
        """
        A member has stopped listening; say so once every one has.
        """
        self._stopping -= 1
        if self._stopping or not self._started:
            return
        started, self._started = self._started, {}
        self._say("{name} stopped listening on {addresses}", started.values())

    def _say(self, format: str, addresses: Iterable[Optional[str]]) -> None:
        """
        Log C{format} with the addresses listened on, if there were any.
        """
        where = [a for a in addresses if a]
        if where:
            self.log.info(
                format, name=self.name, addresses=" and ".join(where), listening=where
            )


@implementer(IReadiness)
class ListeningService(Service):
    """
    Listen on an endpoint description; refuse to start if that fails.

    A description without C{backlog=} gets L{DEFAULT_BACKLOG} (see
    L{withBacklog}); errors name the description as it was given.

    @ivar endpoint: the L{IStreamServerEndpoint} listened on.
    @ivar factory: the factory for its connections.
    @ivar description: the description as it was given.
    @ivar option: the command-line option that chose the description, named
        in the error.
    @ivar port: the L{IListeningPort} once listening, else L{None}.
    @ivar required: whether start-up stops when it cannot listen; if not,
        one line is logged and the service goes on without this listener.
    @ivar announcement: what says where it listens, or L{None} to say
        nothing.
    """

    log = Logger()
    port: Optional[IListeningPort] = None
    _gaveUp = False

    def __init__(
        self,
        reactor: Any,
        description: str,
        factory: IProtocolFactory,
        option: str,
        required: bool = True,
        announcement: Optional[Announcement] = None,
    ) -> None:
        self.endpoint = serverFromString(reactor, withBacklog(description))
        self.factory = factory
        self.description = description
        self.option = option
        self.required = required
        self.announcement = announcement
        if announcement is not None:
            announcement.expect(self)
        self._listening: "Optional[Deferred[Optional[IListeningPort]]]" = None

    def notReady(self) -> Optional[str]:
        """
        Why this listener cannot take connections yet, if it cannot: it is
        ready once it listens, or once it has gone on without listening
        (a listener that is not L{required}).
        """
        if self.port is not None or self._gaveUp:
            return None
        return f"not listening on {self.description} ({self.option}) yet"

    def privilegedStartService(self) -> None:
        """
        Start listening, before twistd drops privileges.

        @raise ListenFailed: if the endpoint could not listen at once and
            it is L{required}.
        """
        super().privilegedStartService()
        failed: List[Failure] = []
        starting = True

        def listening(port: IListeningPort) -> IListeningPort:
            self.port = port
            return port

        def notListening(reason: Failure) -> None:
            if reason.check(CancelledError) and not self.running:
                # stopService gave up waiting.
                return
            if not self.required:
                self._gaveUp = True
                self.log.warn(
                    "finger: going on without {description} ({option}): {error}",
                    description=self.description,
                    option=self.option,
                    error=reason.value,
                )
            elif starting:
                # Still in this call: the caller hears of it.
                failed.append(reason)
            else:
                self.log.critical(
                    "{line}", line=_failedMessage(self.description, self.option, reason)
                )

        d = self.endpoint.listen(self.factory).addCallbacks(listening, notListening)
        starting = False
        if failed:
            raise ListenFailed(_failedMessage(self.description, self.option, failed[0]))
        self._listening = d

    def startService(self) -> None:
        super().startService()
        if self._listening is None:
            self.privilegedStartService()
        if self.announcement is not None:
            port = self.port
            self.announcement.started(self, None if port is None else showAddress(port.getHost()))

    def stopService(self) -> "Deferred[None]":
        """
        Stop listening.

        @return: a L{Deferred} that fires once the port is closed.
        """
        super().stopService()
        listening, self._listening = self._listening, None
        self.port = None
        self._gaveUp = False
        if listening is None:
            return succeed(None)
        # An endpoint still on its way to listening gives up.
        listening.cancel()
        announcement = self.announcement
        if announcement is not None:
            announcement.stopping()

        def stop(port: Optional[IListeningPort]) -> object:
            return None if port is None else port.stopListening()

        def stopped(_: object) -> None:
            if announcement is not None:
                announcement.stopped()

        return listening.addCallback(stop).addCallback(stopped)
