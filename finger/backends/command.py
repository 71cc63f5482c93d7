# -*- test-case-name: tests.backends.test_command -*-
"""
Statuses from the system's own C{finger} program, as the tutorial's "Run
'finger' Locally" does with C{getProcessOutput}.

The tutorial passes whatever the client sent to the program.  Here the name
must satisfy the user name rule first (so it cannot be an option, and cannot
contain C{@}, which would make the program connect elsewhere), and it is
passed after C{--} in an argument list: no shell ever sees it.  The program
runs with a minimal environment and no standard input; it is killed if it
runs past a timeout, and at most a size cap of its output is kept.

The local accounts back-end's rule holds here too
(L{finger.backends.local.isOrdinaryAccount}): a name the account database
knows as a system account below the uid floor (C{root}, C{daemon}), as
C{nobody}, or as an account whose name breaks the user name rule is an
unknown user, and the program never runs for it, so it cannot tell that
account's home directory and shell.  A name the database does not know is
left to the program.
"""

import os
import pwd
import shutil
from typing import Any, Callable, Dict, Optional, Sequence, Set, TypeVar

from twisted.internet.defer import (
    Deferred,
    fail,
    gatherResults,
    succeed,
)
from twisted.internet.error import ProcessDone, ProcessExitedAlready
from twisted.internet.interfaces import IDelayedCall, IProcessTransport
from twisted.internet.protocol import ProcessProtocol
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.failure import Failure

from finger.backends.asking import AskingFingerService
from finger.net.capped import CappedBuffer
from finger.backends.local import UID_FLOOR, isOrdinaryAccount
from finger.interfaces import UnknownUser

TIMEOUT = 10.0
MAX_OUTPUT_BYTES = 16 * 1024
MAX_ERROR_BYTES = 1024
SEARCH_PATH = "/usr/local/bin:/usr/bin:/bin"

_T = TypeVar("_T")


class CommandNotFound(ValueError):
    """
    The program to run does not exist or is not executable.
    """


class CommandFailed(Exception):
    """
    The program failed: killed by a signal, or exited with an error and no
    output.
    """


class CommandTimedOut(CommandFailed):
    """
    The program ran past the timeout and was killed.
    """


def findProgram(program: str, path: str = SEARCH_PATH) -> str:
    """
    The absolute path of C{program}: itself if it names a path, or where it
    is found on C{path}.

    @raise CommandNotFound: if there is no such executable file.
    """
    if os.sep in program:
        found: Optional[str] = program if os.access(program, os.X_OK) else None
    else:
        found = shutil.which(program, path=path)
    if found is None or not os.path.isfile(found):
        raise CommandNotFound(f"no executable program {program!r} (searched {path})")
    return os.path.abspath(found)


class _OutputProtocol(ProcessProtocol):
    """
    Gather a process's output up to a cap, and say how it ended.
    """

    def __init__(self, maxBytes: int) -> None:
        self.finished: Deferred[str] = Deferred(lambda d: self.kill())
        self.ended: Deferred[None] = Deferred()
        self._out = CappedBuffer(maxBytes)
        self._err = CappedBuffer(MAX_ERROR_BYTES)
        self.timer: Optional[IDelayedCall] = None

    transport: IProcessTransport

    def connectionMade(self) -> None:
        self.transport.closeStdin()

    def outReceived(self, data: bytes) -> None:
        if self._out.add(data):
            self.kill()

    def errReceived(self, data: bytes) -> None:
        # Only its beginning is kept, to say why the program failed.
        self._err.add(data)

    def kill(self) -> None:
        try:
            self.transport.signalProcess("KILL")
        except ProcessExitedAlready:
            pass

    def timedOut(self, timeout: float) -> None:
        self.timer = None
        self.kill()
        # Do not wait for the pipes to close: a child of the program may
        # hold them open.
        self.transport.loseConnection()
        self.finished.errback(
            CommandTimedOut(f"the program ran longer than {timeout} seconds")
        )

    def processEnded(self, reason: Failure) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.ended.callback(None)
        if self.finished.called:
            return
        output = self._out.text()
        error = self._err.text().strip()
        signal = getattr(reason.value, "signal", None)
        if self._out.overflowed:
            # Killed for writing too much: what it wrote is the answer.
            self.finished.callback(output)
        elif signal is not None:
            self.finished.errback(
                CommandFailed(f"killed by signal {signal}: {error!r}")
            )
        elif output.strip():
            self.finished.callback(output)
        elif reason.check(ProcessDone) or "no such user" in error.lower():
            # No output: the program knows no such user.
            self.finished.callback("")
        else:
            self.finished.errback(
                CommandFailed(
                    f"exit status {reason.value.exitCode}, no output: {error!r}"
                )
            )


class CommandFingerService(AskingFingerService):
    """
    Run a finger program for each user: C{program [arguments] -- user}.

    A name the account database knows as an account that is not ordinary
    (see L{finger.backends.local.isOrdinaryAccount}) is an unknown user
    without running anything.  An empty output means the user does not exist, as
    does a failure whose error output says C{no such user}.  The list of
    users is empty (see L{AskingFingerService}).

    Stopping the service waits for the programs still running.

    @ivar program: the absolute path of the program.
    @ivar uidFloor: the lowest uid the program is asked about.
    """

    log = Logger()

    def __init__(
        self,
        reactor: Any,
        program: str = "finger",
        arguments: Sequence[str] = (),
        timeout: float = TIMEOUT,
        maxBytes: int = MAX_OUTPUT_BYTES,
        environment: Optional[Dict[str, str]] = None,
        maxConcurrent: int = 4,
        accounts: Any = pwd,
        uidFloor: int = UID_FLOOR,
    ) -> None:
        """
        @param reactor: an L{IReactorProcess} and L{IReactorTime} provider.
        @param program: the program: a path, or a name found on
            L{SEARCH_PATH}.
        @param arguments: arguments to put before C{--} and the user name.
        @param timeout: seconds the program may run.
        @param maxBytes: the most bytes of output kept; the program is killed
            once it writes more.
        @param environment: the program's whole environment; by default only
            C{PATH} and C{LANG=C.UTF-8}.
        @param maxConcurrent: the most programs running at once; further
            lookups wait their turn (and give up with the client).
        @param accounts: the account database: anything with the
            C{getpwnam} of the L{pwd} module.  It is asked in the reactor's
            thread pool, so C{reactor} must also provide L{IReactorThreads}.
        @param uidFloor: the lowest uid the program is asked about; users
            below it (system accounts) are unknown.

        @raise CommandNotFound: if the program cannot be found.
        """
        super().__init__(maxConcurrent)
        self.program = findProgram(program)
        self.arguments = list(arguments)
        self._reactor = reactor
        self._timeout = timeout
        self._maxBytes = maxBytes
        if environment is None:
            environment = {"PATH": SEARCH_PATH, "LANG": "C.UTF-8"}
        self._environment = environment
        self._running: Set[Deferred[None]] = set()
        self._accounts = accounts
        self.uidFloor = uidFloor

    def startService(self) -> None:
        """
        Start, saying which program answers.
        """
        super().startService()
        self.log.info(
            "Serving statuses from the program {program} (accounts from uid {uidFloor} up)",
            program=self.program,
            uidFloor=self.uidFloor,
        )

    def _inThread(self, f: Callable[..., _T], *args: object) -> "Deferred[_T]":
        return deferToThreadPool(self._reactor, self._reactor.getThreadPool(), f, *args)

    def ask(self, user: str) -> "Deferred[str]":
        def checked(hidden: bool) -> "Deferred[str]":
            if hidden:
                raise UnknownUser(user)
            return self.inTurn(self._run, user)

        return self._inThread(self._hidden, user).addCallback(checked)

    def _hidden(self, user: str) -> bool:
        """
        Is C{user} an account this server does not answer for?  It may
        block (the account database may be on the network): it runs in a
        thread.
        """
        try:
            entry = self._accounts.getpwnam(user)
        except KeyError:
            # No such account: the program will say so.
            return False
        except (OSError, ValueError):
            # The database failed: say nothing rather than too much.
            return True
        return not isOrdinaryAccount(entry, self.uidFloor)

    def _run(self, user: str) -> "Deferred[str]":
        protocol = _OutputProtocol(self._maxBytes)
        argv = [self.program, *self.arguments, "--", user]
        try:
            self._reactor.spawnProcess(
                protocol, self.program, argv, env=self._environment, path="/"
            )
        except Exception as e:
            return fail(CommandFailed(f"cannot run {self.program}: {e}"))
        protocol.timer = self._reactor.callLater(
            self._timeout, protocol.timedOut, self._timeout
        )
        self._running.add(protocol.ended)
        protocol.ended.addBoth(lambda _: self._running.discard(protocol.ended))

        def answer(output: str) -> str:
            if not output.strip():
                raise UnknownUser(user)
            return output

        return protocol.finished.addCallback(answer)

    def stopService(self) -> "Deferred[None]":
        """
        Stop; the result fires once every program started has ended.
        """
        super().stopService()
        running = list(self._running)
        if not running:
            return succeed(None)
        return gatherResults(running).addCallback(lambda _: None)
