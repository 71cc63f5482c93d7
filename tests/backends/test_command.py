"""
Tests for L{finger.backends.command}.
"""

import os
from typing import Any, List, Optional

from twisted.internet import reactor
from twisted.internet.defer import CancelledError, inlineCallbacks
from twisted.internet.endpoints import serverFromString
from twisted.internet.error import ProcessDone, ProcessExitedAlready, ProcessTerminated
from twisted.logger import capturedLogs
from twisted.python.failure import Failure
from twisted.trial.unittest import SkipTest, SynchronousTestCase, TestCase
from zope.interface.verify import verifyObject

from finger.clients.finger import finger
from finger.frontends.finger import FingerFactoryFromService  # noqa: F401 (adapter)
from finger.interfaces import IFingerFactory, IFingerService, UnknownUser
from finger.backends.command import (
    CommandFailed,
    CommandFingerService,
    CommandNotFound,
    CommandTimedOut,
    findProgram,
)
from tests.backends.test_local import FakeAccounts
from finger.testing import ThreadlessClock
from tests.support import fakeProgram, which


def _accounts(*names: str) -> FakeAccounts:
    """
    An account database where each of C{names} is an ordinary account.
    """
    accounts = FakeAccounts()
    for name in names:
        accounts.add(name, 1000, f"/home/{name}")
    return accounts



class _FakeProcess:
    def __init__(self) -> None:
        self.signals: List[str] = []
        self.stdinClosed = False
        self.lost = False
        self.exited = False

    def closeStdin(self) -> None:
        self.stdinClosed = True

    def signalProcess(self, signal: str) -> None:
        if self.exited:
            raise ProcessExitedAlready()
        self.signals.append(signal)

    def loseConnection(self) -> None:
        self.lost = True


class _FakeProcessReactor(ThreadlessClock):
    """
    A clock that records the processes it is asked to spawn (and runs
    "threaded" work at once).
    """

    def __init__(self) -> None:
        super().__init__()
        self.spawned: List[Any] = []

    def spawnProcess(
        self,
        protocol: Any,
        executable: str,
        args: Any,
        env: Any = None,
        path: Optional[str] = None,
        **kw: Any,
    ) -> _FakeProcess:
        process = _FakeProcess()
        self.spawned.append((protocol, executable, args, env, path, process))
        protocol.makeConnection(process)
        return process


class FindProgramTests(SynchronousTestCase):
    def test_found(self) -> None:
        path = fakeProgram(self, "exit 0\n")
        self.assertEqual(findProgram(path), path)
        self.assertEqual(findProgram("fakefinger", os.path.dirname(path)), path)

    def test_missing(self) -> None:
        """
        A missing program is a clear error.
        """
        error = self.assertRaises(
            CommandNotFound, findProgram, "no-such-finger-program"
        )
        self.assertIn("no-such-finger-program", str(error))
        self.assertRaises(CommandNotFound, findProgram, "/nonexistent/finger")
        self.assertRaises(CommandNotFound, findProgram, "/etc/passwd")
        self.assertRaises(CommandNotFound, findProgram, "/")


class CommandServiceTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.reactor = _FakeProcessReactor()
        self.program = fakeProgram(self, "exit 0\n")
        self.service = CommandFingerService(
            self.reactor, self.program, timeout=5, maxBytes=10
        )

    def spawn(self, user: str = "moshez") -> Any:
        d = self.service.getUser(user)
        protocol, executable, args, env, path, process = self.reactor.spawned[-1]
        return d, protocol, process

    def test_interface(self) -> None:
        self.assertTrue(verifyObject(IFingerService, self.service))

    def test_argv(self) -> None:
        """
        The name comes after C{--} in an argument list, with a minimal
        environment and no standard input.
        """
        d, protocol, process = self.spawn("zoë")
        [(_, executable, args, env, path, _)] = self.reactor.spawned
        self.assertEqual(executable, self.program)
        self.assertEqual(args, [self.program, "--", "zoë"])
        self.assertEqual(sorted(env), ["LANG", "PATH"])
        self.assertEqual(path, "/")
        self.assertTrue(process.stdinClosed)

    def test_arguments(self) -> None:
        service = CommandFingerService(self.reactor, self.program, arguments=["-m"])
        service.getUser("moshez")
        self.assertEqual(
            self.reactor.spawned[-1][2], [self.program, "-m", "--", "moshez"]
        )

    def test_refusedNames(self) -> None:
        """
        Option-like, forwarding and otherwise invalid names never reach the
        program.
        """
        for name in ["-l", "--help", "a@evil.com", "", "a b", "/W", "x\n"]:
            self.failureResultOf(self.service.getUser(name), UnknownUser)
        self.assertEqual(self.reactor.spawned, [])

    def test_systemAccountsUnknown(self) -> None:
        """
        Accounts below the uid floor (C{root}, C{daemon}) and C{nobody} are
        unknown users: the program never runs for them, so it never shows
        their home and shell.  Ordinary accounts, and names the account
        database does not know, are left to the program.
        """
        accounts = _accounts("alice")
        accounts.add("root", 0, "/root")
        accounts.add("daemon", 1, "/usr/sbin")
        accounts.add("nobody", 65534, "/nonexistent")
        accounts.add("edge", 999, "/home/edge")
        service = CommandFingerService(self.reactor, self.program, accounts=accounts)
        self.assertEqual(service.uidFloor, 1000)
        for name in ["root", "daemon", "nobody", "edge"]:
            self.failureResultOf(service.getUser(name), UnknownUser)
        self.assertEqual(self.reactor.spawned, [])
        service.getUser("alice")
        service.getUser("mallory")
        self.assertEqual([s[2][-1] for s in self.reactor.spawned], ["alice", "mallory"])
        lower = CommandFingerService(self.reactor, self.program, accounts=accounts, uidFloor=0)
        lower.getUser("root")
        self.assertEqual([s[2][-1] for s in self.reactor.spawned], ["alice", "mallory", "root"])

    def test_looseAccountDatabase(self) -> None:
        """
        An account database that matches names loosely (case-insensitive
        NSS modules do) cannot be used to reach a system account under
        another spelling; nor does a failing database let a name through.
        """
        accounts = _accounts("alice")
        accounts.add("root", 0, "/root")
        accounts.entries["ROOT"] = accounts.entries["root"]
        service = CommandFingerService(self.reactor, self.program, accounts=accounts)
        self.failureResultOf(service.getUser("ROOT"), UnknownUser)

        class Failing:
            def getpwnam(self, name: str) -> None:
                raise OSError("the directory server is down")

        service = CommandFingerService(self.reactor, self.program, accounts=Failing())
        self.failureResultOf(service.getUser("alice"), UnknownUser)
        self.assertEqual(self.reactor.spawned, [])

    def test_startLogsWhatIsServed(self) -> None:
        """
        Starting logs one line naming the program and the uid floor.
        """
        with capturedLogs() as events:
            self.service.startService()
        [line] = events
        self.assertEqual(line["program"], self.program)
        self.assertEqual(line["uidFloor"], 1000)

    def test_output(self) -> None:
        d, protocol, process = self.spawn()
        protocol.outReceived(b"Login: ")
        protocol.outReceived("é\n".encode())
        protocol.processEnded(Failure(ProcessDone(0)))
        self.assertEqual(self.successResultOf(d), "Login: é\n")
        self.assertEqual(self.reactor.getDelayedCalls(), [])

    def test_noOutput(self) -> None:
        d, protocol, process = self.spawn()
        protocol.errReceived(b"finger: moshez: no such user.\n")
        protocol.processEnded(Failure(ProcessDone(0)))
        self.failureResultOf(d, UnknownUser)
        d, protocol, process = self.spawn()
        protocol.errReceived(b"finger: moshez: no such user\n")
        protocol.processEnded(Failure(ProcessTerminated(1)))
        self.failureResultOf(d, UnknownUser)

    def test_failed(self) -> None:
        d, protocol, process = self.spawn()
        protocol.errReceived(b"segfault")
        protocol.processEnded(Failure(ProcessTerminated(2)))
        failure = self.failureResultOf(d, CommandFailed)
        self.assertIn("segfault", failure.getErrorMessage())
        d, protocol, process = self.spawn()
        protocol.outReceived(b"half")
        protocol.processEnded(Failure(ProcessTerminated(signal=9)))
        self.failureResultOf(d, CommandFailed)

    def test_capped(self) -> None:
        """
        Output past the cap kills the program; the output up to the cap is
        the answer.
        """
        d, protocol, process = self.spawn()
        protocol.outReceived(b"0123456789abc")
        self.assertEqual(process.signals, ["KILL"])
        protocol.outReceived(b"more")
        protocol.processEnded(Failure(ProcessTerminated(signal=9)))
        self.assertEqual(self.successResultOf(d), "0123456789")

    def test_timeout(self) -> None:
        """
        A program that runs too long is killed and the lookup fails at once.
        """
        d, protocol, process = self.spawn()
        self.reactor.advance(4.9)
        self.assertNoResult(d)
        self.reactor.advance(0.1)
        self.assertEqual(process.signals, ["KILL"])
        self.assertTrue(process.lost)
        self.failureResultOf(d, CommandTimedOut)
        stopped = self.service.stopService()
        self.assertNoResult(stopped)
        protocol.processEnded(Failure(ProcessTerminated(signal=9)))
        self.successResultOf(stopped)

    def test_cancel(self) -> None:
        d, protocol, process = self.spawn()
        d.cancel()
        self.assertEqual(process.signals, ["KILL"])
        process.exited = True
        protocol.processEnded(Failure(ProcessTerminated(signal=9)))
        self.failureResultOf(d, CancelledError)
        self.assertEqual(self.reactor.getDelayedCalls(), [])

    def test_concurrency(self) -> None:
        """
        At most C{maxConcurrent} programs run at once; the others wait, and
        a waiting lookup that is cancelled never runs.
        """
        service = CommandFingerService(self.reactor, self.program, maxConcurrent=1)
        first = service.getUser("alice")
        second = service.getUser("bob")
        third = service.getUser("carol")
        self.assertEqual(len(self.reactor.spawned), 1)
        third.cancel()
        self.failureResultOf(third, CancelledError)
        protocol = self.reactor.spawned[0][0]
        protocol.outReceived(b"alice's plan")
        protocol.processEnded(Failure(ProcessDone(0)))
        self.assertEqual(self.successResultOf(first), "alice's plan")
        self.assertEqual([s[2][-1] for s in self.reactor.spawned], ["alice", "bob"])
        self.reactor.spawned[1][0].processEnded(Failure(ProcessDone(0)))
        self.failureResultOf(second, UnknownUser)
        self.assertEqual(len(self.reactor.spawned), 2)

    def test_spawnFails(self) -> None:
        def broken(*a: Any, **kw: Any) -> None:
            raise OSError("too many processes")

        self.reactor.spawnProcess = broken  # type: ignore[method-assign]
        self.failureResultOf(self.service.getUser("moshez"), CommandFailed)

    def test_getUsers(self) -> None:
        self.assertEqual(self.successResultOf(self.service.getUsers()), [])


class RealProcessTests(TestCase):
    """
    Real programs: a fake finger script, and the system's finger.
    """

    timeout = 20

    def service(self, body: str, **kw: Any) -> CommandFingerService:
        service = CommandFingerService(reactor, fakeProgram(self, body), **kw)
        service.startService()
        self.addCleanup(service.stopService)
        return service

    @inlineCallbacks
    def test_script(self) -> Any:
        service = self.service(
            'if [ "$1" != "--" ]; then echo "no --" >&2; exit 2; fi\n'
            'if [ "$2" = alice ]; then printf "Plan of %s\\033[2J\\n" "$2"; fi\n'
        )
        status = yield service.getUser("alice")
        self.assertEqual(status, "Plan of alice\x1b[2J\n")
        with self.assertRaises(UnknownUser):
            yield service.getUser("bob")

    @inlineCallbacks
    def test_hangs(self) -> Any:
        service = self.service("exec sleep 60\n", timeout=0.3)
        with self.assertRaises(CommandTimedOut):
            yield service.getUser("alice")

    @inlineCallbacks
    def test_floods(self) -> Any:
        service = self.service(
            "while :; do echo yyyyyyyyyyyyyyy; done\n", maxBytes=1000
        )
        status = yield service.getUser("alice")
        self.assertEqual(len(status), 1000)

    @inlineCallbacks
    def test_throughFinger(self) -> Any:
        """
        Through the finger protocol on loopback.
        """
        service = self.service('echo "Login: $2"; echo "No Plan."\n')
        port = yield serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(
            IFingerFactory(service)
        )
        self.addCleanup(port.stopListening)
        answer = yield finger("alice", "127.0.0.1", port.getHost().port)
        self.assertEqual(answer, "Login: alice\r\nNo Plan.\r\n")
        answer = yield finger("-l", "127.0.0.1", port.getHost().port)
        self.assertEqual(answer, "No such user\r\n")

    @inlineCallbacks
    def test_systemFinger(self) -> Any:
        """
        The system's finger program, asked about root and a name nobody has.
        """
        if which("finger") is None:
            raise SkipTest("the finger program is not installed (Debian: finger)")
        service = CommandFingerService(reactor, "finger", uidFloor=0)
        status = yield service.getUser("root")
        self.assertIn("Login: root", status)
        with self.assertRaises(UnknownUser):
            yield service.getUser("no-such-user-here")

    @inlineCallbacks
    def test_rootUnknownByDefault(self) -> Any:
        """
        With the real account database and the default uid floor, C{root}
        is an unknown user and no program runs.
        """
        program = fakeProgram(self, 'echo "Login: $2"\n')
        service = CommandFingerService(reactor, program)
        with self.assertRaises(UnknownUser):
            yield service.getUser("root")
