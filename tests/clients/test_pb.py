"""
Tests for L{finger.clients.pb}: its options and output, and the client against
the running service on loopback, as a library and as the command a person
runs.
"""

import io
import os
import subprocess
import sys

from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import serverFromString
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.testing import MemoryReactorClock
from twisted.internet.utils import getProcessOutputAndValue
from twisted.python import usage
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase

import finger
from finger.app import tap
from finger.auth import LOGIN_FAILED
from finger.interfaces import UnknownUser
from finger.clients.pb import NO_TERMINAL, NoPassword, Options, _main, fetch, report, setStatus
from tests.certs import selfSigned
from tests.running import STATUSES, startFinger
from tests.support import cleanEnvironment, exchange, freePort, listeningPort

_checkout = os.path.dirname(os.path.dirname(os.path.abspath(finger.__file__)))


async def _python(*argv: str) -> "tuple[str, str, int]":
    """
    Run a fresh Python on the checkout with C{argv}.

    @return: what it wrote to standard output and to standard error, and
        its exit status.
    """
    env = cleanEnvironment(PYTHONPATH=_checkout)
    out, err, code = await getProcessOutputAndValue(sys.executable, argv, env=env)
    return out.decode("utf-8"), err.decode("utf-8"), code


class OptionsTests(SynchronousTestCase):
    def parse(self, *argv: str) -> Options:
        options = Options()
        options.parseOptions(list(argv))
        return options

    def test_hostAndUser(self) -> None:
        """A host alone means port 8889; a user is optional."""
        options = self.parse("localhost", "moshez")
        self.assertEqual(options["server"], "tcp:host=localhost:port=8889")
        self.assertEqual(options["user"], "moshez")
        self.assertIsNone(self.parse("localhost")["user"])

    def test_addresses(self) -> None:
        """Ports, IPv6 addresses and endpoint descriptions are understood."""
        self.assertEqual(self.parse("[::1]:9000")["server"], "tcp:host=\\:\\:1:port=9000")
        self.assertEqual(self.parse("unix:/run/finger.pb")["server"], "unix:/run/finger.pb")
        self.assertEqual(self.parse("-t", "5", "h")["timeout"], 5.0)

    def test_bad(self) -> None:
        """Bad arguments are usage errors that say what is wrong."""
        for argv in [
            (),
            ("a", "b", "c"),
            ("[nope]:1",),
            ("h:99999",),
            ("nope:x",),
            ("-t", "0", "h"),
        ]:
            self.assertRaises(usage.UsageError, self.parse, *argv)

    def test_set(self) -> None:
        """
        C{--set} needs a USER and logs in as that user unless C{--login}
        names someone else.
        """
        options = self.parse("localhost", "moshez", "--set", "busy")
        self.assertEqual((options["set"], options["login"]), ("busy", "moshez"))
        self.assertNotIn("password", options)
        options = self.parse("-s", "away", "-l", "root", "localhost", "shawn")
        self.assertEqual((options["set"], options["login"]), ("away", "root"))
        for argv, message in [
            (("localhost", "--set", "busy"), "--set: name the USER"),
            (("localhost", "moshez", "--login", "root"), "--login: only means something with --set"),
            (("localhost", "moshez", "--password-file", "p"), "--password-file: only means"),
        ]:
            with self.assertRaises(usage.UsageError) as raised:
                self.parse(*argv)
            self.assertIn(message, str(raised.exception))

    def test_passwordFile(self) -> None:
        """
        C{--password-file} gives the password: the file's first line, without
        its line ending; a file that cannot be read is a usage error.
        """
        path = self.mktemp()
        with open(path, "wb") as f:
            f.write("mot de passe é \r\nsecond line\n".encode())
        options = self.parse("localhost", "moshez", "--set", "x", "--password-file", path)
        self.assertEqual(options["password"], "mot de passe é ")
        with self.assertRaises(usage.UsageError) as raised:
            self.parse("localhost", "moshez", "--set", "x", "--password-file", path + ".missing")
        self.assertIn("--password-file: No such file", str(raised.exception))

    def test_usageExit(self) -> None:
        """A usage error exits with status 2 and says why on standard error."""
        err = io.StringIO()
        with self.assertRaises(SystemExit) as raised:
            _main(reactor, ["[nope]"], io.StringIO(), err).send(None)
        self.assertEqual(raised.exception.code, 2)
        self.assertIn("HOST: '[nope]' is not", err.getvalue())


class StandaloneTests(TestCase):
    """
    The client loads no part of the server: what the two share, the port
    and the remote errors, is in L{finger.pbwire}.
    """

    timeout = 60

    async def test_noServerModules(self) -> None:
        """
        Importing the client, in a Python of its own, imports no module of
        L{finger.frontends}.
        """
        out, err, code = await _python(
            "-c",
            "import sys, finger.clients.pb; "
            "print([m for m in sys.modules if m.startswith('finger.frontends')])",
        )
        self.assertEqual((out, err, code), ("[]\n", "", 0))

    async def test_help(self) -> None:
        """
        C{python -m finger.clients.pb --help} prints its usage and exits
        with status 0.
        """
        out, err, code = await _python("-m", "finger.clients.pb", "--help")
        self.assertEqual((err, code), ("", 0))
        self.assertTrue(out.startswith("Usage: python -m finger.clients.pb [options]"), out)
        self.assertIn("--set=", out)


class ReportTests(SynchronousTestCase):
    def test_status(self) -> None:
        """A status prints line by line, without control characters."""
        out = io.StringIO()
        report("à Paris\x1b[2J ☕\nback soon", out)
        self.assertEqual(out.getvalue(), "à Paris[2J ☕\nback soon\n")

    def test_users(self) -> None:
        """Users print one a line."""
        out = io.StringIO()
        report(["moshez", "zoë", "evil\nname"], out)
        self.assertEqual(out.getvalue(), "moshez\nzoë\nevilname\n")


class ClientIntegrationTests(TestCase):
    """
    The client against the whole service, on loopback.
    """

    timeout = 60

    def setUp(self) -> None:
        self.port = listeningPort(startFinger(self), "pb")
        self.server = f"tcp:host=127.0.0.1:port={self.port}"

    async def test_fetchUser(self) -> None:
        """L{fetch} gets a user's status."""
        self.assertEqual(await fetch(reactor, self.server, "zoë", 10), "à Paris ☕")

    async def test_fetchUsers(self) -> None:
        """L{fetch} with no user lists the users."""
        self.assertEqual(sorted(await fetch(reactor, self.server, None, 10)), ["moshez", "zoë"])

    async def test_fetchUnknown(self) -> None:
        """L{fetch} fails with L{UnknownUser} for an unknown user."""
        with self.assertRaises(UnknownUser):
            await fetch(reactor, self.server, "nobody", 10)

    async def test_unreachable(self) -> None:
        """A server that is not there is reported, with exit status 1."""
        err = io.StringIO()
        closed = freePort()
        with self.assertRaises(SystemExit) as raised:
            await _main(reactor, [f"127.0.0.1:{closed}", "moshez"], io.StringIO(), err)
        self.assertEqual(raised.exception.code, 1)
        self.assertIn(f"cannot reach 127.0.0.1:{closed}", err.getvalue())

    async def test_silentServer(self) -> None:
        """A server that never answers is given up on after the timeout."""
        hungUp: "Deferred[None]" = Deferred()

        class Silent(Protocol):
            def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
                hungUp.callback(None)

        listening = await serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(
            Factory.forProtocol(Silent)
        )
        self.addCleanup(listening.stopListening)
        address = f"127.0.0.1:{listening.getHost().port}"
        err = io.StringIO()
        with self.assertRaises(SystemExit) as raised:
            await _main(reactor, ["-t", "0.2", address, "moshez"], io.StringIO(), err)
        self.assertEqual(raised.exception.code, 1)
        self.assertEqual(err.getvalue(), f"pbclient: no answer from {address} within 0.2 seconds\n")
        # The client hung up.
        await hungUp

    async def runCommand(self, *argv: str) -> "tuple[str, str, int]":
        return await _python("-m", "finger.clients.pb", *argv)

    async def test_command(self) -> None:
        """
        C{python -m finger.clients.pb HOST:PORT USER} prints the status;
        without a user, it lists the users; an unknown user exits with 1.
        """
        address = f"127.0.0.1:{self.port}"
        self.assertEqual(await self.runCommand(address, "moshez"), ("happy and well\n", "", 0))
        out, err, code = await self.runCommand(address)
        self.assertEqual((sorted(out.splitlines()), code), (["moshez", "zoë"], 0))
        self.assertEqual(
            await self.runCommand(address, "nobody"), ("", "pbclient: No such user\n", 1)
        )


class SetStatusIntegrationTests(TestCase):
    """
    Setting a status with the client, over PB, against the whole service
    running with C{--auth}, on loopback.
    """

    timeout = 60

    def setUp(self) -> None:
        directory = self.mktemp()
        os.makedirs(directory)
        self.path = os.path.join(directory, "users")
        with open(self.path, "w", encoding="utf-8") as f:
            f.write(STATUSES)
        options = tap.Options()
        options.parseOptions(
            [
                "--file",
                self.path,
                "--auth",
                "memory:moshez:secret",
                "--login-delay=0.01",
                "--pbport",
                "tcp:0:interface=127.0.0.1",
                "--webport",
                "tcp:0:interface=127.0.0.1",
                "--fingerport",
                "tcp:0:interface=127.0.0.1",
                "--setterport",
                "tcp:0:interface=127.0.0.1",
            ]
        )
        top = tap.makeService(options, reactor)
        top.privilegedStartService()
        top.startService()
        self.addCleanup(top.stopService)
        self.top = top
        self.address = f"127.0.0.1:{listeningPort(top, 'pb')}"
        self.server = f"tcp:host=127.0.0.1:port={listeningPort(top, 'pb')}"

    async def runCommand(self, *argv: str) -> "tuple[str, str, int]":
        return await _python("-m", "finger.clients.pb", *argv)

    async def test_command(self) -> None:
        """
        C{python -m finger.clients.pb HOST:PORT USER --set STATUS} with a
        password file sets the status: it reads back over PB and finger,
        and it is in the status file.
        """
        passwordFile = self.mktemp()
        with open(passwordFile, "w") as f:
            f.write("secret\n")
        self.assertEqual(
            await self.runCommand(
                self.address, "moshez", "--set", "Giving a tutorial ☕", "--password-file", passwordFile
            ),
            ("status of moshez saved\n", "", 0),
        )
        self.assertEqual(await fetch(reactor, self.server, "moshez", 10), "Giving a tutorial ☕")
        with open(self.path, encoding="utf-8") as f:
            self.assertIn("moshez: Giving a tutorial ☕\n", f.read())
        fingerPort = listeningPort(self.top, "finger")
        answer = await exchange(reactor, f"tcp:host=127.0.0.1:port={fingerPort}", b"moshez\r\n")
        self.assertEqual(answer, "Giving a tutorial ☕\r\n".encode())

    async def test_prompt(self) -> None:
        """
        Without C{--password-file} the password is asked for, naming who
        logs in.
        """
        prompts = []

        def ask(prompt: str) -> str:
            prompts.append(prompt)
            return "secret"

        out = io.StringIO()
        await _main(reactor, [self.address, "moshez", "--set", "busy"], out, io.StringIO(), ask)
        self.assertEqual(prompts, ["Password for moshez: "])
        self.assertEqual(out.getvalue(), "status of moshez saved\n")
        self.assertEqual(await fetch(reactor, self.server, "moshez", 10), "busy")

    async def test_refused(self) -> None:
        """
        A wrong password, and someone else's status, are refused with exit
        status 1 and the server's reason; nothing changes.
        """
        err = io.StringIO()
        with self.assertRaises(SystemExit) as raised:
            await _main(
                reactor,
                [self.address, "moshez", "--set", "hacked"],
                io.StringIO(),
                err,
                lambda prompt: "wrong",
            )
        self.assertEqual(raised.exception.code, 1)
        self.assertEqual(err.getvalue(), f"pbclient: the server says: {LOGIN_FAILED}\n")
        err = io.StringIO()
        with self.assertRaises(SystemExit) as raised:
            await _main(
                reactor,
                [self.address, "zoë", "--set", "hacked", "--login", "moshez"],
                io.StringIO(),
                err,
                lambda prompt: "secret",
            )
        self.assertEqual(
            err.getvalue(),
            "pbclient: the server says: not allowed: moshez may not set the status of zoë\n",
        )
        self.assertEqual(await fetch(reactor, self.server, "moshez", 10), "happy and well")
        self.assertEqual(await fetch(reactor, self.server, "zoë", 10), "à Paris ☕")

    async def test_withoutAuth(self) -> None:
        """A server without C{--auth} says it offers no login."""
        port = listeningPort(startFinger(self), "pb")
        with self.assertRaises(Exception) as raised:
            await setStatus(
                reactor, f"tcp:host=127.0.0.1:port={port}", "moshez", "x", "moshez", "secret", 10
            )
        self.assertIn("without --auth", str(raised.exception))


class TLSIntegrationTests(TestCase):
    """
    PB over TLS, as the README advises across an untrusted network.
    """

    timeout = 60

    async def test_setOverTLS(self) -> None:
        """
        With C{--pbport ssl:...}, the client sets a status over
        C{tls:host=...:trustRoots=...}.
        """
        directory = os.path.abspath(self.mktemp())
        os.makedirs(os.path.join(directory, "roots"))
        certificate, key = selfSigned()
        for name, data in [("cert.pem", certificate), ("key.pem", key), ("roots/ca.pem", certificate)]:
            with open(os.path.join(directory, name), "wb") as f:
                f.write(data)
        top = startFinger(
            self,
            "--auth",
            "memory:moshez:secret",
            "--pbport",
            f"ssl:0:interface=127.0.0.1:privateKey={directory}/key.pem:certKey={directory}/cert.pem",
        )
        port = listeningPort(top, "pb")
        server = f"tls:host=localhost:port={port}:trustRoots={directory}/roots"
        await setStatus(reactor, server, "moshez", "encrypted", "moshez", "secret", 10)
        self.assertEqual(await fetch(reactor, server, "moshez", 10), "encrypted")


class NoTerminalTests(SynchronousTestCase):
    """
    C{--set} with no terminal and no password file.
    """

    def test_noTerminal(self) -> None:
        """
        Run without a controlling terminal (as from cron or a pipe), C{--set}
        without C{--password-file} says a password is needed and how to give
        it, and connects to nothing.
        """
        port = freePort()
        process = subprocess.run(
            [sys.executable, "-m", "finger.clients.pb", f"127.0.0.1:{port}", "moshez", "--set", "x"],
            env=cleanEnvironment(PYTHONPATH=_checkout),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            start_new_session=True,
            timeout=60,
        )
        self.assertEqual(process.returncode, 2)
        self.assertEqual(process.stdout, b"")
        self.assertEqual(process.stderr.decode(), f"pbclient: {NO_TERMINAL}\n")

    def test_endOfInput(self) -> None:
        """
        A terminal that gives no password (end of input) is told so.
        """

        def ask(prompt: str) -> str:
            raise NoPassword("no password given")

        err = io.StringIO()
        argv = ["127.0.0.1", "moshez", "--set", "x"]
        with self.assertRaises(SystemExit) as raised:
            # It asks before it connects: the first step raises.
            _main(MemoryReactorClock(), argv, io.StringIO(), err, ask).send(None)
        self.assertEqual(raised.exception.code, 2)
        self.assertEqual(err.getvalue(), "pbclient: no password given\n")
