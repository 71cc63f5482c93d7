# -*- test-case-name: tests.frontends.test_setter -*-
"""
The status setter protocol: a user name on the first line, the new status on
the second, as a person types them into C{nc} or C{telnet}::

    $ nc localhost 1079
    moshez
    Giving a tutorial now, sorry!
    OK: status of moshez saved

After the second line the server saves the status and answers with one line
starting C{OK:} once it is durable, or C{Error:} and the reason; then it
closes.  A client may also send both lines and half-close its side.  Lines end
in CRLF or LF and are at most L{MAX_LINE_LENGTH} bytes; leading and trailing
blanks are ignored.  An empty or invalid name is refused as soon as its line
arrives.

With authentication on (C{twistd finger --auth ...}), a password comes
between the two lines, and the first line may name who logs in, after the
user, for an admin setting someone else's status::

    $ nc localhost 1079            $ nc localhost 1079
    moshez                         shawn moshez
    moshez's password              moshez's password
    Giving a tutorial now, sorry!  Out sick today
    OK: status of moshez saved     OK: status of shawn saved

A wrong name or password gets C{Error: login failed}, after a delay.
"""

from typing import List, Optional, Tuple

from twisted.cred.error import UnauthorizedLogin
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import (
    IDelayedCall,
    IHalfCloseableProtocol,
    IReactorTime,
    ITCPTransport,
)
from twisted.internet.protocol import Protocol, ServerFactory
from twisted.logger import Logger
from twisted.protocols.policies import TimeoutMixin
from twisted.python import components
from twisted.python.failure import Failure
from zope.interface import implementer

from finger.auth import LOGIN_FAILED, NotAllowed, SetterLogin
from finger.interfaces import IFingerSetterFactory, IFingerSetterService, StatusNotSaved
from finger.names import InvalidStatus, InvalidUserName, checkStatus, decodeUserName
from finger.text import formatPeer

MAX_LINE_LENGTH = 512


@implementer(IHalfCloseableProtocol)
class FingerSetterProtocol(Protocol, TimeoutMixin):
    """
    Take a user and a status, save it, and say whether that worked.
    """

    log = Logger()
    transport: ITCPTransport  # type: ignore[assignment]
    factory: "FingerSetterFactoryFromService"

    _buffer = b""
    _done = False
    _saving: Optional["Deferred[None]"] = None

    def __init__(self) -> None:
        self._lines: List[bytes] = []

    def callLater(self, period: float, func) -> IDelayedCall:  # type: ignore[no-untyped-def]
        return self.factory.clock.callLater(period, func)

    def connectionMade(self) -> None:
        self.setTimeout(self.factory.timeout)

    def dataReceived(self, data: bytes) -> None:
        if self._done:
            return
        self._buffer += data
        while not self._done:
            end = self._buffer.find(b"\n")
            if end == -1:
                if len(self._buffer) > MAX_LINE_LENGTH + 1:
                    self._reply("Error: line too long")
                return
            line, self._buffer = self._buffer[:end], self._buffer[end + 1 :]
            if line.endswith(b"\r"):
                line = line[:-1]
            self._lineReceived(line)

    def _lineReceived(self, line: bytes) -> None:
        if len(line) > MAX_LINE_LENGTH:
            self._reply("Error: line too long")
            return
        authenticating = self.factory.login is not None
        if authenticating and len(self._lines) == 1:
            # The password, exactly as typed.
            self._lines.append(line)
        else:
            self._lines.append(line.strip(b" \t"))
        if len(self._lines) == 1:
            try:
                self._names(self._lines[0])
            except InvalidUserName as e:
                self._reply(f"Error: invalid user name: {e}")
        elif len(self._lines) == (3 if authenticating else 2):
            self._save()

    def _names(self, line: bytes) -> Tuple[str, str]:
        """
        The user whose status is set and the user who logs in, from the
        first line.
        """
        words = line.split(None, 1)
        if self.factory.login is not None and len(words) == 2:
            return decodeUserName(words[0]), decodeUserName(words[1])
        name = decodeUserName(line)
        return name, name

    def readConnectionLost(self) -> None:
        """
        The client sent all it will send.  An unterminated last line counts.
        """
        if self._done:
            return
        if self._buffer:
            line, self._buffer = self._buffer, b""
            self._lineReceived(line[:-1] if line.endswith(b"\r") else line)
        if not self._done:
            if self.factory.login is not None:
                self._reply(
                    "Error: expected a user name, a password and a status, on three lines"
                )
            else:
                self._reply("Error: expected a user name and a status, on two lines")

    def writeConnectionLost(self) -> None:
        pass

    def _save(self) -> None:
        self._done = True
        self.setTimeout(None)
        user, login = self._names(self._lines[0])
        try:
            status = checkStatus(self._lines[-1].decode("utf-8"))
        except UnicodeDecodeError:
            self._reply("Error: invalid status: a status must be UTF-8 text")
            return
        except InvalidStatus as e:
            self._reply(f"Error: invalid status: {e}")
            return
        peer = formatPeer(self.transport.getPeer())
        if self.factory.login is None:
            self._saving = self.factory.setUser(user, status)
        else:
            password = self._lines[1].decode("utf-8", "replace")
            self._saving = self.factory.login.login(
                login, password, self.transport.getPeer()
            ).addCallback(lambda setter: setter.setUser(user, status))

        def saved(result: None) -> None:
            self.log.info(
                "Status of {user!r} set by {login!r} from {peer}",
                user=user,
                login=login,
                peer=peer,
            )
            self._reply(f"OK: status of {user} saved")

        def failed(reason: Failure) -> None:
            if reason.check(UnauthorizedLogin):
                self._reply(f"Error: {LOGIN_FAILED}")
            elif reason.check(NotAllowed):
                self.log.warn(
                    "{login!r} from {peer} may not set the status of {user!r}",
                    login=login,
                    peer=peer,
                    user=user,
                )
                self._reply(f"Error: not allowed: {reason.getErrorMessage()}")
            elif reason.check(StatusNotSaved):
                # The service logged the details; the path is not the
                # client's business.
                self._reply("Error: the status could not be saved; try again later")
            elif reason.check(InvalidUserName, InvalidStatus):
                self._reply(f"Error: {reason.getErrorMessage()}")
            else:
                self.log.failure("Setting the status of {user!r} failed", reason, user=user)
                self._reply("Error: internal error in server")

        self._saving.addCallbacks(saved, failed)

    def _reply(self, line: str) -> None:
        self._done = True
        self._buffer = b""
        self.setTimeout(None)
        if self.connected:
            self.transport.write(line.encode("utf-8") + b"\r\n")
            self.transport.loseConnection()

    def timeoutConnection(self) -> None:
        self._done = True
        self.log.info(
            "Setter connection from {peer} timed out",
            peer=formatPeer(self.transport.getPeer()),
        )
        self.transport.abortConnection()

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        # A save under way goes on: the client asked for it, even if it did
        # not stay for the answer.
        self.connected = False
        self._done = True
        self.setTimeout(None)


@implementer(IFingerSetterFactory)
class FingerSetterFactoryFromService(ServerFactory):
    """
    Serve the setter protocol from an L{IFingerSetterService}.

    @ivar timeout: seconds a client has to send both lines.
    @ivar clock: the L{IReactorTime} for timeouts.
    @ivar login: a L{SetterLogin} when sets need a password, else L{None}.
    """

    protocol = FingerSetterProtocol  # type: ignore[assignment]
    noisy = False
    timeout: float = 60.0
    login: Optional[SetterLogin] = None

    def __init__(self, service: IFingerSetterService) -> None:
        self.service = service
        from twisted.internet import reactor

        self.clock: IReactorTime = reactor  # type: ignore[assignment]

    def setUser(self, user: str, status: str) -> "Deferred[None]":
        return self.service.setUser(user, status)


components.registerAdapter(
    FingerSetterFactoryFromService, IFingerSetterService, IFingerSetterFactory
)
