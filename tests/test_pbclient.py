"""
Tests for L{finger.pbclient}: its options and output, and the client against
the running service on loopback, as a library and as the command a person
runs.
"""

import io
import os
import sys

from twisted.internet import reactor
from twisted.internet.endpoints import serverFromString
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.defer import Deferred
from twisted.internet.utils import getProcessOutputAndValue
from twisted.python.failure import Failure
from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase, TestCase

import finger
from finger.interfaces import UnknownUser
from finger.pbclient import Options, _main, fetch, report
from tests.running import startFinger
from tests.support import freePort, listeningPort

_checkout = os.path.dirname(os.path.dirname(os.path.abspath(finger.__file__)))


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

    def test_usageExit(self) -> None:
        """A usage error exits with status 2 and says why on standard error."""
        err = io.StringIO()
        with self.assertRaises(SystemExit) as raised:
            _main(reactor, ["[nope]"], io.StringIO(), err).send(None)
        self.assertEqual(raised.exception.code, 2)
        self.assertIn("HOST: '[nope]' is not", err.getvalue())


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
        env = dict(os.environ, PYTHONPATH=_checkout)
        out, err, code = await getProcessOutputAndValue(
            sys.executable, ["-m", "finger.pbclient", *argv], env=env
        )
        return out.decode("utf-8"), err.decode("utf-8"), code

    async def test_command(self) -> None:
        """
        C{python -m finger.pbclient HOST:PORT USER} prints the status;
        without a user, it lists the users; an unknown user exits with 1.
        """
        address = f"127.0.0.1:{self.port}"
        self.assertEqual(await self.runCommand(address, "moshez"), ("happy and well\n", "", 0))
        out, err, code = await self.runCommand(address)
        self.assertEqual((sorted(out.splitlines()), code), (["moshez", "zoë"], 0))
        self.assertEqual(
            await self.runCommand(address, "nobody"), ("", "pbclient: No such user\n", 1)
        )
