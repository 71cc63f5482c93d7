# -*- test-case-name: tests.clients.test_finger -*-
"""
A finger client (RFC 1288): a library function, L{finger}, and a command
for people::

    python -m finger.clients.finger moshez@example.com
    python -m finger.clients.finger -l moshez@example.com:7979     # verbose (/W)
    python -m finger.clients.finger /W moshez@[::1]:7979
    pyfinger @example.com                                   # list the users

The answer of a remote server is not trusted: the client gives up on a
server that does not accept the connection within a connect timeout, or does
not finish its answer within a read timeout, and reads at most a size cap.
The command shows control characters in the answer as the BSD finger client
does (C{^[}), so a hostile answer cannot drive the terminal.

The command is installed as C{pyfinger}, not C{finger}, so that it never
shadows the system's finger client.
"""

import sys
from typing import IO, Any, Optional, Sequence, Tuple

from twisted.internet.defer import Deferred, fail
from twisted.internet.endpoints import HostnameEndpoint, connectProtocol
from twisted.internet.error import TimeoutError
from twisted.internet.interfaces import IReactorTime, ITCPTransport
from twisted.internet.protocol import Protocol
from twisted.python import usage
from twisted.python.failure import Failure

from finger.net.address import parseHostPort
from finger.net.capped import CappedBuffer
from finger.text import visibleControls

DEFAULT_PORT = 79
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0
MAX_ANSWER_BYTES = 64 * 1024
MAX_QUERY_BYTES = 512


class AnswerTooLong(Exception):
    """
    The server sent more than the size cap; the client stopped reading.

    @ivar partial: the text of the answer up to the cap.
    @ivar limit: the cap, in bytes.
    """

    def __init__(self, partial: str, limit: int) -> None:
        super().__init__(f"answer longer than {limit} bytes")
        self.partial = partial
        self.limit = limit


class AnswerTimedOut(Exception):
    """
    The server did not finish its answer within the read timeout.
    """


def buildQuery(user: str, verbose: bool = False) -> bytes:
    """
    The query line to send, with its CRLF.

    @param user: what to ask about: C{"moshez"}, C{""} for the list of
        users, or C{"moshez@otherhost"} to ask the server to forward.
    @param verbose: ask for a verbose answer (C{/W}).

    @raise ValueError: if C{user} contains a line break or a NUL, or the
        query would be longer than L{MAX_QUERY_BYTES}.
    """
    if any(c in user for c in "\r\n\x00"):
        raise ValueError("a finger query may not contain a line break or NUL")
    query = (("/W " if verbose else "") + user).encode("utf-8")
    if len(query) > MAX_QUERY_BYTES:
        raise ValueError(f"a finger query is at most {MAX_QUERY_BYTES} bytes")
    return query + b"\r\n"


class FingerClientProtocol(Protocol):
    """
    Send one query and gather the answer until the server closes.

    @ivar finished: a L{Deferred} firing with the answer (decoded as UTF-8,
        undecodable bytes replaced), or failing with L{AnswerTooLong} or
        L{AnswerTimedOut}.  Cancelling it aborts the connection.
    """

    transport: ITCPTransport

    def __init__(
        self, query: bytes, clock: IReactorTime, readTimeout: float, maxBytes: int
    ) -> None:
        self._query = query
        self._clock = clock
        self._readTimeout = readTimeout
        self._answer = CappedBuffer(maxBytes)
        self._failure: Optional[Failure] = None
        self.finished: Deferred[str] = Deferred(lambda d: self._abort())

    def connectionMade(self) -> None:
        self.finished.addTimeout(self._readTimeout, self._clock, onTimeoutCancel=self._timedOut)
        self.transport.write(self._query)

    def dataReceived(self, data: bytes) -> None:
        if self._answer.add(data):
            self._failure = Failure(AnswerTooLong(self._answer.text(), self._answer.limit))
            self._abort()

    def _timedOut(self, result: object, timeout: float) -> Failure:
        """
        The answer did not come within the read timeout: C{finished} was
        cancelled (which aborted the connection), and fails with
        L{AnswerTimedOut} instead.
        """
        return Failure(AnswerTimedOut(f"no complete answer within {timeout} seconds"))

    def _abort(self) -> None:
        if self.transport is not None:
            self.transport.abortConnection()

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        if self.finished.called:
            # Cancelled, or timed out.
            return
        if self._failure is not None:
            self.finished.errback(self._failure)
        else:
            # However the server closed, what it sent is its answer.
            self.finished.callback(self._answer.text())


def finger(
    user: str,
    host: str,
    port: int = DEFAULT_PORT,
    *,
    verbose: bool = False,
    reactor: Optional[Any] = None,
    connectTimeout: float = CONNECT_TIMEOUT,
    readTimeout: float = READ_TIMEOUT,
    maxBytes: int = MAX_ANSWER_BYTES,
) -> "Deferred[str]":
    """
    Ask a finger server about a user.

    @param user: the user (C{""} lists the users; C{"u@h2"} asks C{host} to
        forward to C{h2}).
    @param host: the server's host name or address.
    @param port: the server's port.
    @param verbose: ask for a verbose answer (C{/W}).
    @param reactor: an L{IReactorTCP} and L{IReactorTime} provider; the
        global reactor if L{None}.
    @param connectTimeout: seconds to wait for the connection.
    @param readTimeout: seconds from connecting to the end of the answer.
    @param maxBytes: the most bytes of answer to read.

    @return: a L{Deferred} firing with the server's answer as it was sent
        (line endings and control characters included), or failing with
        L{ValueError} for a query that cannot be sent, the connection error,
        L{AnswerTimedOut}, L{AnswerTooLong}, or
        L{twisted.internet.error.TimeoutError} if connecting timed out or the
        whole took longer than both timeouts together (a slow name lookup).
        Cancelling it gives up.
    """
    if reactor is None:
        from twisted.internet import reactor as globalReactor

        reactor = globalReactor
    try:
        query = buildQuery(user, verbose)
    except ValueError:
        return fail()
    protocol = FingerClientProtocol(query, reactor, readTimeout, maxBytes)
    endpoint = HostnameEndpoint(reactor, host, port, timeout=connectTimeout)
    d = connectProtocol(endpoint, protocol)
    d.addCallback(lambda _: protocol.finished)

    def timedOut(result: object, timeout: float) -> object:
        # However the cancelled step failed (a cancelled connection attempt
        # fails with ConnectingCancelledError, not CancelledError), the
        # lookup as a whole timed out.
        if isinstance(result, Failure):
            return Failure(TimeoutError(f"no answer from {host} within {timeout} seconds"))
        return result

    # A last bound on the whole lookup, name resolution included.
    return d.addTimeout(connectTimeout + readTimeout, reactor, onTimeoutCancel=timedOut)


def parseTarget(target: str) -> Tuple[str, str, int]:
    """
    Split a command-line target, C{user@host[:port]}, at its right-most
    C{@}: C{"u@h1@h2:7979"} asks C{h2} on port 7979 about C{"u@h1"}.  A
    target without C{@} asks C{localhost}.

    @return: the user part, the host and the port.
    @raise ValueError: if the host part is malformed (L{finger.net.address}
        says what it may be).
    """
    user, at, hostPort = target.rpartition("@")
    if not at:
        return target, "localhost", DEFAULT_PORT
    host, port = parseHostPort(hostPort, DEFAULT_PORT)
    return user, host, port


class ClientOptions(usage.Options):
    """
    Options for C{python -m finger.clients.finger}.
    """

    synopsis = "Usage: pyfinger [-l] [/W] [user]@host[:port] ..."
    longdesc = (
        "Ask finger servers (RFC 1288) about users.  Control characters in "
        "the answers are shown as ^X, as the BSD finger client shows them."
    )
    optFlags = [["long", "l", "Ask for a verbose answer (/W)."]]
    optParameters = [
        [
            "connect-timeout",
            None,
            CONNECT_TIMEOUT,
            "Seconds to wait for a connection.",
            float,
        ],
        ["timeout", "t", READ_TIMEOUT, "Seconds to wait for the answer.", float],
        [
            "max-bytes",
            None,
            MAX_ANSWER_BYTES,
            "The most bytes of an answer to show.",
            int,
        ],
    ]

    def parseArgs(self, *arguments: str) -> None:
        targets = list(arguments)
        if targets and targets[0] in ("/W", "/w"):
            self["long"] = True
            targets.pop(0)
        if not targets:
            raise usage.UsageError("name a target: user@host[:port]")
        self["targets"] = []
        for target in targets:
            try:
                self["targets"].append(parseTarget(target))
                buildQuery(self["targets"][-1][0])
            except ValueError as e:
                raise usage.UsageError(str(e)) from None

    def postOptions(self) -> None:
        for option in ("connect-timeout", "timeout", "max-bytes"):
            if not self[option] > 0:
                raise usage.UsageError(f"--{option}: must be positive")


async def _run(reactor: Any, options: ClientOptions, out: IO[str], err: IO[str]) -> int:
    status = 0
    targets = options["targets"]
    for user, host, port in targets:
        if len(targets) > 1:
            out.write(f"[{host}]\n")
        try:
            answer = await finger(
                user,
                host,
                port,
                verbose=options["long"],
                reactor=reactor,
                connectTimeout=options["connect-timeout"],
                readTimeout=options["timeout"],
                maxBytes=options["max-bytes"],
            )
        except AnswerTooLong as e:
            out.write(visibleControls(e.partial))
            err.write(f"pyfinger: {host}: answer cut after {e.limit} bytes\n")
            status = 1
        except Exception as e:
            err.write(f"pyfinger: {host}:{port}: {e}\n")
            status = 1
        else:
            out.write(visibleControls(answer))
            if answer and not answer.endswith("\n"):
                out.write("\n")
        out.flush()
    return status


def run(
    reactor: Any,
    argv: Sequence[str],
    out: IO[str] = sys.stdout,
    err: IO[str] = sys.stderr,
) -> "Deferred[int]":
    """
    Run the command with arguments C{argv} (without the program name).

    @return: a L{Deferred} firing with the exit status: 0 if every target
        answered, 1 if one did not, 2 for bad arguments.
    """
    options = ClientOptions()
    try:
        options.parseOptions(list(argv))
    except usage.UsageError as e:
        err.write(f"pyfinger: {e}\n{options.getUsage()}")
        return Deferred.fromCoroutine(_constant(2))
    return Deferred.fromCoroutine(_run(reactor, options, out, err))


async def _constant(value: int) -> int:
    return value


def main(argv: Optional[Sequence[str]] = None) -> None:
    """
    The C{pyfinger} console script and C{python -m finger.clients.finger}.
    """
    from twisted.internet.task import react

    arguments = sys.argv[1:] if argv is None else argv

    async def command(reactor: Any) -> None:
        status = await run(reactor, arguments)
        if status:
            raise SystemExit(status)

    react(lambda reactor: Deferred.fromCoroutine(command(reactor)))


if __name__ == "__main__":
    main()
