# -*- test-case-name: tests.test_setter -*-
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
"""

from typing import List, Optional

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import ITCPTransport, IDelayedCall, IHalfCloseableProtocol, IReactorTime
from twisted.internet.protocol import Protocol, ServerFactory
from twisted.logger import Logger
from twisted.protocols.policies import TimeoutMixin
from twisted.python import components
from twisted.python.failure import Failure
from zope.interface import implementer

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
        self._lines.append(line.strip(b" \t"))
        if len(self._lines) == 1:
            try:
                decodeUserName(self._lines[0])
            except InvalidUserName as e:
                self._reply(f"Error: invalid user name: {e}")
        else:
            self._save(*self._lines)

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
            self._reply("Error: expected a user name and a status, on two lines")

    def writeConnectionLost(self) -> None:
        pass

    def _save(self, rawUser: bytes, rawStatus: bytes) -> None:
        self._done = True
        self.setTimeout(None)
        user = decodeUserName(rawUser)
        try:
            status = checkStatus(rawStatus.decode("utf-8"))
        except UnicodeDecodeError:
            self._reply("Error: invalid status: a status must be UTF-8 text")
            return
        except InvalidStatus as e:
            self._reply(f"Error: invalid status: {e}")
            return
        peer = formatPeer(self.transport.getPeer())
        self._saving = self.factory.setUser(user, status)

        def saved(result: None) -> None:
            self.log.info("Status of {user!r} set by {peer}", user=user, peer=peer)
            self._reply(f"OK: status of {user} saved")

        def failed(reason: Failure) -> None:
            if reason.check(StatusNotSaved):
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
    """

    protocol = FingerSetterProtocol  # type: ignore[assignment]
    noisy = False
    timeout: float = 60.0

    def __init__(self, service: IFingerSetterService) -> None:
        self.service = service
        from twisted.internet import reactor

        self.clock: IReactorTime = reactor  # type: ignore[assignment]

    def setUser(self, user: str, status: str) -> "Deferred[None]":
        return self.service.setUser(user, status)


components.registerAdapter(
    FingerSetterFactoryFromService, IFingerSetterService, IFingerSetterFactory
)
