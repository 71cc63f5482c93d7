# -*- test-case-name: tests.clients.test_pb -*-
"""
Ask a finger service over Perspective Broker, from the command line::

    python -m finger.clients.pb localhost moshez        # moshez's status
    python -m finger.clients.pb localhost               # the users, one a line
    python -m finger.clients.pb '[::1]:8889' moshez
    python -m finger.clients.pb tcp:host=example.org:port=8889

Set a status on a server that runs with C{--auth}, logging in as the user
or, with C{--login}, as an admin; the password is asked for, or read from
the first line of C{--password-file}::

    python -m finger.clients.pb localhost moshez --set "Giving a tutorial"
    python -m finger.clients.pb localhost shawn --set "Out sick" --login root

The server is named as L{finger.net.address} describes (a host, C{host:port},
C{[IPv6 address]:port}, or a client endpoint description); the port is 8889
unless given.  A status is printed one line per line, with control
characters removed.  The exit status is 0 on success, 1 for an unknown user,
a refused login or status, or a server that cannot be reached or does not
answer within C{--timeout} seconds (the reason goes to standard error), and
2 for a usage error, or a C{--set} with neither a terminal to ask for the
password on nor C{--password-file}.
"""

import getopt
import getpass
import os
import sys
from typing import Any, Awaitable, Callable, List, Optional, TextIO, TypeVar, Union

from twisted.cred.credentials import UsernamePassword
from twisted.internet.defer import Deferred, TimeoutError, ensureDeferred
from twisted.internet.endpoints import clientFromString
from twisted.python import usage
from twisted.python.reflect import qual
from twisted.spread import pb

from finger.net.address import InvalidAddress, checkedClientDescription
from finger.interfaces import UnknownUser
from finger.messages import NO_SUCH_USER
from finger.pbwire import DEFAULT_PORT, NoSuchUser
from finger.text import printableLines

T = TypeVar("T")


def _positive(value: str) -> float:
    number = float(value)
    if not 0 < number < float("inf"):
        raise ValueError("must be a positive number of seconds")
    return number


class Options(usage.Options):
    """
    Options for C{python -m finger.clients.pb}.
    """

    synopsis = "HOST[:PORT] [USER]"
    longdesc = (
        "Print USER's status, or list the users, from a finger service's "
        f"Perspective Broker port (default {DEFAULT_PORT}); with --set, log "
        "in and set USER's status (the server needs --auth)."
    )
    optParameters = [
        ["timeout", "t", 30.0, "Seconds to wait for the server.", _positive],
        ["set", "s", None, "Set USER's status to this."],
        ["login", "l", None, "With --set: log in as this user [default: USER]."],
        [
            "password-file",
            None,
            None,
            "With --set: read the password from the first line of this file "
            "[default: ask for it].",
        ],
    ]

    def getSynopsis(self) -> str:
        return "Usage: python -m finger.clients.pb [options] " + self.synopsis

    def parseOptions(self, options: Optional[List[str]] = None) -> None:
        """
        Parse the command line, letting options come after HOST and USER
        too (C{HOST USER --set STATUS}), as people write them.  No host or
        user name starts with C{-}, so nothing is taken for what it is not.
        """
        if options is None:
            options = sys.argv[1:]
        try:
            found, arguments = getopt.gnu_getopt(options, self.shortOpt, self.longOpt)
        except getopt.GetoptError as e:
            raise usage.UsageError(str(e)) from None
        ordered: List[str] = []
        for option, value in found:
            if option.startswith("--"):
                takesValue = option[2:] + "=" in self.longOpt
                ordered.append(f"{option}={value}" if takesValue else option)
            else:
                ordered.extend([option, value] if option[1] + ":" in self.shortOpt else [option])
        super().parseOptions(ordered + ["--"] + arguments)

    def parseArgs(self, server: str, user: Optional[str] = None) -> None:  # type: ignore[override]
        from twisted.internet import reactor

        self["address"] = server
        try:
            self["server"] = checkedClientDescription(server, DEFAULT_PORT, reactor)
        except InvalidAddress as e:
            raise usage.UsageError(f"HOST: {e}") from None
        self["user"] = user

    def postOptions(self) -> None:
        if self["set"] is None:
            for option in ("login", "password-file"):
                if self[option] is not None:
                    raise usage.UsageError(f"--{option}: only means something with --set")
            return
        if self["user"] is None:
            raise usage.UsageError("--set: name the USER whose status to set")
        if self["login"] is None:
            self["login"] = self["user"]
        if self["password-file"] is not None:
            try:
                with open(self["password-file"], "rb") as f:
                    line = f.readline()
            except OSError as e:
                raise usage.UsageError(f"--password-file: {e.strerror}: {e.filename}") from None
            try:
                self["password"] = line.rstrip(b"\r\n").decode("utf-8")
            except UnicodeDecodeError:
                raise usage.UsageError("--password-file: the password is not UTF-8") from None


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

    async def ask(factory: pb.PBClientFactory) -> Union[str, List[str]]:
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

    return await _exchange(reactor, description, timeout, ask)


async def setStatus(
    reactor: Any,
    description: str,
    user: str,
    status: str,
    login: str,
    password: str,
    timeout: float,
) -> None:
    """
    Log in to a finger service's PB port and set a user's status.

    @param reactor: the reactor to connect with.
    @param description: a client endpoint description.
    @param login: the name to log in as: C{user}, or an admin's.
    @param timeout: seconds to wait for the whole exchange.
    @return: once the server says the status is durable.
    @raise pb.RemoteError: if the server refused the login or the status;
        its message is the server's.
    @raise twisted.internet.defer.TimeoutError: if the server is too slow.
    """

    async def ask(factory: pb.PBClientFactory) -> None:
        credentials = UsernamePassword(login.encode("utf-8"), password.encode("utf-8"))
        avatar = await factory.login(credentials)
        await avatar.callRemote("setUser", user, status)

    await _exchange(reactor, description, timeout, ask)


async def _exchange(
    reactor: Any,
    description: str,
    timeout: float,
    ask: Callable[[pb.PBClientFactory], Awaitable[T]],
) -> T:
    """
    Connect, C{ask}, and hang up, all within C{timeout} seconds.
    """
    factory = pb.PBClientFactory()
    brokers: List[pb.Broker] = []

    async def connectAndAsk() -> T:
        brokers.append(await clientFromString(reactor, description).connect(factory))
        return await ask(factory)

    # On timeout, cancelling this cancels whatever it waits for, a
    # connection attempt included.
    asking = ensureDeferred(connectAndAsk())
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


class NoPassword(Exception):
    """
    A password is needed and nothing gives it: no C{--password-file}, and
    no terminal to ask on (or the one asked gave none).
    """


NO_TERMINAL = (
    "setting a status needs a password, and there is no terminal to ask for it on: "
    "give --password-file FILE, whose first line is the password"
)


def askOnTerminal(prompt: str) -> str:
    """
    Ask for a password on the controlling terminal, without echo.

    @raise NoPassword: if there is no terminal (a cron job, a pipe, a
        service), rather than read standard input with a warning, or if the
        person at the terminal ends the input.
    """
    try:
        os.close(os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY))
    except OSError:
        raise NoPassword(NO_TERMINAL) from None
    try:
        return getpass.getpass(prompt)
    except EOFError:
        raise NoPassword("no password given") from None


async def _main(
    reactor: Any,
    argv: List[str],
    out: TextIO,
    err: TextIO,
    askPassword: Callable[[str], str] = askOnTerminal,
) -> None:
    options = Options()
    try:
        options.parseOptions(argv)
    except usage.UsageError as e:
        err.write(f"{options.getSynopsis()}\npbclient: {e}\n")
        raise SystemExit(2) from None
    try:
        if options["set"] is None:
            answer = await fetch(reactor, options["server"], options["user"], options["timeout"])
        else:
            password = options.get("password")
            if password is None:
                try:
                    password = askPassword(f"Password for {options['login']}: ")
                except NoPassword as e:
                    err.write(f"pbclient: {e}\n")
                    raise SystemExit(2) from None
            await setStatus(
                reactor,
                options["server"],
                options["user"],
                options["set"],
                options["login"],
                password,
                options["timeout"],
            )
            answer = f"status of {options['user']} saved"
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
