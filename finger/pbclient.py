# -*- test-case-name: tests.test_pbclient -*-
"""
Ask a finger service over Perspective Broker, from the command line::

    python -m finger.pbclient localhost moshez        # moshez's status
    python -m finger.pbclient localhost               # the users, one a line
    python -m finger.pbclient '[::1]:8889' moshez
    python -m finger.pbclient tcp:host=example.org:port=8889

The server is named as L{finger.address} describes (a host, C{host:port},
C{[IPv6 address]:port}, or a client endpoint description); the port is 8889
unless given.  A status is printed one line per line, with control
characters removed.  The exit status is 0 on success, 1 for an unknown user
or a server that cannot be reached or does not answer within C{--timeout}
seconds (the reason goes to standard error), and 2 for a usage error.
"""

import sys
from typing import Any, List, Optional, TextIO, Union

from twisted.internet.defer import Deferred, TimeoutError, ensureDeferred
from twisted.internet.endpoints import clientFromString
from twisted.python import usage
from twisted.python.reflect import qual
from twisted.spread import pb

from finger.address import InvalidAddress, clientDescription
from finger.interfaces import NO_SUCH_USER, UnknownUser
from finger.pb import DEFAULT_PORT, NoSuchUser
from finger.text import printableLines


def _positive(value: str) -> float:
    number = float(value)
    if not 0 < number < float("inf"):
        raise ValueError("must be a positive number of seconds")
    return number


class Options(usage.Options):
    """
    Options for C{python -m finger.pbclient}.
    """

    synopsis = "HOST[:PORT] [USER]"
    longdesc = (
        "Print USER's status, or list the users, from a finger service's "
        f"Perspective Broker port (default {DEFAULT_PORT})."
    )
    optParameters = [
        ["timeout", "t", 30.0, "Seconds to wait for the server.", _positive],
    ]

    def getSynopsis(self) -> str:
        return "Usage: python -m finger.pbclient [options] " + self.synopsis

    def parseArgs(self, server: str, user: Optional[str] = None) -> None:  # type: ignore[override]
        from twisted.internet import reactor

        self["address"] = server
        try:
            self["server"] = clientDescription(server, DEFAULT_PORT)
            clientFromString(reactor, self["server"])
        except (InvalidAddress, ValueError, TypeError, KeyError) as e:
            raise usage.UsageError(
                f"HOST: {server!r} is not a host, host:port, [IPv6 address]:port "
                f"or client endpoint description: {e}"
            ) from None
        self["user"] = user


async def fetch(
    reactor: Any, description: str, user: Optional[str], timeout: float
) -> Union[str, List[str]]:
    """
    Connect to a finger service's PB port and ask for one user's status or,
    if C{user} is L{None}, the list of users.

    @param reactor: the reactor to connect with.
    @param description: a client endpoint description.
    @param timeout: seconds to wait for the whole exchange.
    @return: the status, or the list of user names.
    @raise UnknownUser: if the server does not know C{user}.
    @raise pb.RemoteError: if the server failed otherwise; its message is
        the server's.
    @raise twisted.internet.defer.TimeoutError: if the server is too slow.
    """
    factory = pb.PBClientFactory()
    brokers: List[pb.Broker] = []

    async def ask() -> Union[str, List[str]]:
        brokers.append(await clientFromString(reactor, description).connect(factory))
        root = await factory.getRootObject()
        if user is None:
            return await root.callRemote("getUsers")  # type: ignore[no-any-return]
        try:
            return await root.callRemote("getUser", user)  # type: ignore[no-any-return]
        except pb.RemoteError as e:
            remoteType = e.remoteType
            if isinstance(remoteType, bytes):
                remoteType = remoteType.decode("utf-8", "replace")
            if remoteType == qual(NoSuchUser):
                raise UnknownUser(user) from None
            raise

    # On timeout, cancelling this cancels whatever it waits for, a
    # connection attempt included.
    asking = ensureDeferred(ask())
    asking.addTimeout(timeout, reactor)
    try:
        return await asking
    finally:
        for broker in brokers:
            await _hangUp(broker)


async def _hangUp(broker: pb.Broker) -> None:
    """
    Close a PB connection and wait until it is closed.
    """
    if broker.disconnected:
        return
    closed: "Deferred[None]" = Deferred()
    broker.notifyOnDisconnect(lambda: closed.callback(None))
    broker.transport.loseConnection()  # type: ignore[union-attr]
    await closed


def report(answer: Union[str, List[str]], out: TextIO) -> None:
    """
    Print a status or a list of users, without control characters.
    """
    lines = (
        printableLines(answer)
        if isinstance(answer, str)
        else ["".join(printableLines(name)) for name in answer]
    )
    for line in lines:
        out.write(line + "\n")


def _describe(error: Exception, server: str, timeout: float) -> str:
    if isinstance(error, UnknownUser):
        return NO_SUCH_USER
    if isinstance(error, TimeoutError):
        return f"no answer from {server} within {timeout:g} seconds"
    if isinstance(error, pb.RemoteError):
        # Its message is what the server said.
        message = error.args[0] if error.args else ""
        if isinstance(message, bytes):
            message = message.decode("utf-8", "replace")
        return "the server says: " + " ".join(printableLines(str(message)))
    return f"cannot reach {server}: " + " ".join(printableLines(str(error) or repr(error)))


async def _main(reactor: Any, argv: List[str], out: TextIO, err: TextIO) -> None:
    options = Options()
    try:
        options.parseOptions(argv)
    except usage.UsageError as e:
        err.write(f"{options.getSynopsis()}\npbclient: {e}\n")
        raise SystemExit(2) from None
    try:
        answer = await fetch(reactor, options["server"], options["user"], options["timeout"])
    except Exception as e:
        err.write(f"pbclient: {_describe(e, options['address'], options['timeout'])}\n")
        raise SystemExit(1) from None
    report(answer, out)


def main(reactor: Any, *argv: str) -> "Deferred[None]":
    """
    The command: C{task.react(main, sys.argv[1:])}.
    """
    return ensureDeferred(_main(reactor, list(argv), sys.stdout, sys.stderr))


if __name__ == "__main__":
    from twisted.internet.task import react

    react(main, sys.argv[1:])
