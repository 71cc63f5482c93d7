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

A wrong name or password gets C{Error: login failed}, after a delay.  A save
(with the login before it) that is not confirmed within the factory's
C{lookupTimeout} gets an C{Error:} saying it may not have been saved.  A
client that leaves before its login is answered gives the login up (one
waiting for its turn is never checked); once logged in, its save goes on
without it.
"""

from typing import TYPE_CHECKING, List, Optional, Tuple

from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.interfaces import IHalfCloseableProtocol, ITCPTransport
from twisted.internet.protocol import connectionDone
from twisted.logger import Logger
from twisted.python import components
from twisted.python.failure import Failure
from zope.interface import implementer

from finger.auth import SetterLogin
from finger.interfaces import IFingerSetterFactory, IFingerSetterService
from finger.lookup import SetAnswers, Unsaved
from finger.messages import (
    EXPECTED_THREE_LINES,
    EXPECTED_TWO_LINES,
    INVALID_STATUS,
    INVALID_USER_NAME,
    LINE_TOO_LONG,
    STATUS_NOT_UTF8,
    STATUS_SAVED,
)
from finger.names import (
    MAX_STATUS_LENGTH,
    MAX_USER_NAME_LENGTH,
    InvalidStatus,
    InvalidUserName,
    checkStatus,
    decodeUserName,
)
from finger.net.limits import LimitedConnection
from finger.net.lines import LineFraming
from finger.onerequest import RequestFactory, RequestSettings
from finger.text import formatPeer

if TYPE_CHECKING:
    from typing_extensions import Unpack

MAX_LINE_LENGTH = 4 * (MAX_STATUS_LENGTH + MAX_USER_NAME_LENGTH)
"""
The most bytes of one line: room for the longest status a setter may store
(L{MAX_STATUS_LENGTH} characters of up to 4 UTF-8 bytes each) and for a
name, so every status that PB and XML-RPC accept fits on a line too.
"""


def _error(sentence: str) -> str:
    """
    A setter's refusal: C{Error:} and the sentence, begun in lower case as
    the sentence goes on after the colon.
    """
    return f"Error: {sentence[:1].lower()}{sentence[1:]}"


class _SetterAnswers(SetAnswers[str]):
    """
    How each outcome of one status change looks on the setter's wire: one
    C{OK:} or C{Error:} line.
    """

    def __init__(self, user: str) -> None:
        self.user = user

    def saved(self) -> str:
        return "OK: " + STATUS_SAVED.format(user=self.user)

    def unsaved(self, why: Unsaved, sentence: str) -> str:
        return _error(sentence)


@implementer(IHalfCloseableProtocol)
class FingerSetterProtocol(LimitedConnection, LineFraming):
    """
    Take a user and a status, save it, and say whether that worked.
    """

    log = Logger()
    transport: ITCPTransport  # type: ignore[assignment]
    factory: "FingerSetterFactoryFromService"
    maxLineLength = MAX_LINE_LENGTH

    _done = False
    _loggingIn: "Optional[Deferred[IFingerSetterService]]" = None

    def __init__(self) -> None:
        self._lines: List[bytes] = []

    def connectionMade(self) -> None:
        # The lines' deadline: one timer serves every connection.
        self.factory.deadlines.add(self, self.factory.timeout, self.timeoutConnection)

    def lineTooLong(self, line: bytes) -> None:
        self._reply(_error(LINE_TOO_LONG))

    def lineArrived(self, line: bytes) -> None:
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
                self._reply(_error(f"{INVALID_USER_NAME}: {e}"))
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
        self.finishLines()
        if not self._done:
            if self.factory.login is not None:
                self._reply(_error(EXPECTED_THREE_LINES))
            else:
                self._reply(_error(EXPECTED_TWO_LINES))

    def writeConnectionLost(self) -> None:
        pass

    def _save(self) -> None:
        self._done = True
        self.stopLines()
        self.factory.deadlines.discard(self)
        user, login = self._names(self._lines[0])
        try:
            status = checkStatus(self._lines[-1].decode("utf-8"))
        except UnicodeDecodeError:
            self._reply(_error(f"{INVALID_STATUS}: {STATUS_NOT_UTF8}"))
            return
        except InvalidStatus as e:
            self._reply(_error(f"{INVALID_STATUS}: {e}"))
            return
        peer = formatPeer(self.transport.getPeer())
        saving: "Deferred[None]"
        if self.factory.login is None:
            saving = self.factory.setUser(user, status)
        else:
            password = self._lines[1].decode("utf-8", "replace")
            self._loggingIn = self.factory.login.login(login, password, self.transport.getPeer())

            def loggedIn(setter: IFingerSetterService) -> "Deferred[None]":
                return setter.setUser(user, status)

            saving = self._loggingIn.addCallback(loggedIn)
        # A save under way goes on if the client leaves: the client asked
        # for it, even if it does not stay for the answer.  A login that
        # has not been answered yet is cancelled (see connectionLost).
        what = f"setting the status of {user!r}"
        answers = _SetterAnswers(user)
        self.factory.lookup.change(
            saving, answers, peer, what, user=user, login=login
        ).addCallback(self._reply).addErrback(lambda reason: reason.trap(CancelledError))

    def _reply(self, line: str) -> None:
        self._done = True
        self.stopLines()
        self.factory.deadlines.discard(self)
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

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """
        The client left.  A login of its that waits for its turn gives up
        its place, so connections that are reset cannot fill the login
        queues (L{SetterLogin}); a save under way goes on.
        """
        self.connected = False
        self._done = True
        self.factory.deadlines.discard(self)
        if self._loggingIn is not None and not self._loggingIn.called:
            self._loggingIn.cancel()
        super().connectionLost(reason)


@implementer(IFingerSetterFactory)
class FingerSetterFactoryFromService(RequestFactory):
    """
    Serve the setter protocol from an L{IFingerSetterService}.

    Every setting is a keyword argument of the constructor: C{login}, and
    the L{RequestSettings}, whose C{observer} hears the outcome of every
    change (the metrics' count of the C{setter} front-end).  The adapter
    (C{IFingerSetterFactory(service)}) is this class with the defaults.

    @ivar service: the L{IFingerSetterService} that saves statuses.
    @ivar timeout: seconds a client has to send its lines.
    @ivar deadlines: the clients' deadlines for their lines, on the clock.
    @ivar login: a L{SetterLogin} when sets need a password, else L{None}.
    @ivar clock: the L{IReactorTime} for timeouts; the global reactor
        unless the constructor is given one.
    @ivar lookupTimeout: seconds the back-end (and the login) has to
        confirm a change before the client is told it timed out.
    @ivar lookup: the L{LookupPolicy} of every change, built with C{clock},
        C{lookupTimeout} and C{observer}.
    """

    protocol = FingerSetterProtocol  # type: ignore[assignment]

    def __init__(
        self,
        service: IFingerSetterService,
        *,
        login: Optional[SetterLogin] = None,
        **settings: "Unpack[RequestSettings]",
    ) -> None:
        super().__init__(**settings)
        self.service = service
        self.login = login

    def setUser(self, user: str, status: str) -> "Deferred[None]":
        return self.service.setUser(user, status)


components.registerAdapter(
    FingerSetterFactoryFromService, IFingerSetterService, IFingerSetterFactory
)
