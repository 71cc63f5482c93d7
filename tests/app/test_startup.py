# -*- test-case-name: tests.app.test_startup -*-
"""
Tests for what C{twistd finger} says when it cannot start: through the real
command line, in a subprocess, as a first-time user meets it.
"""

import os
import subprocess
from typing import List, Tuple

from twisted.python.reflect import qual

from twisted.internet import reactor
from twisted.internet.threads import deferToThread
from twisted.python.usage import UsageError
from twisted.spread import pb
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.client import Agent, readBody
from twisted.web.xmlrpc import Fault, Proxy

from finger.app import dbcopy
from finger.app.tap import Options, usageError
from finger.clients.pb import fetch
from finger.messages import NOT_AVAILABLE_YET
from finger.pbwire import NotAvailable
from finger.frontends.web.xmlrpc import NOT_AVAILABLE
from tests import postgres
from tests.running import startFinger
from tests.support import CHECKOUT, TWISTD, cleanEnvironment, exchange, listeningPort, waitFor


def twistd(test: SynchronousTestCase, *arguments: str) -> Tuple[int, str, str]:
    """
    Run C{twistd --nodaemon finger ARGUMENTS} from the checkout, in a new
    directory (so no default file is found by chance), and wait for it.

    @return: its exit status, standard output and standard error.
    """
    where = os.path.abspath(test.mktemp())
    os.makedirs(where)
    process = subprocess.run(
        [*TWISTD, "--nodaemon", "--pidfile=", "finger", *arguments],
        cwd=where,
        env=cleanEnvironment(PYTHONPATH=CHECKOUT),
        capture_output=True,
        timeout=60,
    )
    return process.returncode, process.stdout.decode(), process.stderr.decode()


class UsageErrorTests(SynchronousTestCase):
    """
    A mistake on the command line is told in a line a reason, reasons
    first, then a pointer to C{--help}: not the whole option list.
    """

    def assertRefused(self, arguments: List[str], reasons: List[str]) -> None:
        code, out, err = twistd(self, *arguments)
        self.assertEqual(code, 1, (out, err))
        self.assertEqual(out, "")
        lines = err.splitlines()
        self.assertEqual(len(lines), len(reasons) + 1, err)
        for line, reason in zip(lines, reasons):
            self.assertTrue(line.startswith("twistd finger: "), line)
            self.assertIn(reason, line)
        self.assertEqual(lines[-1], "Run 'twistd finger --help' for the options.")

    def test_missingDefaultFileHidesNothing(self) -> None:
        """
        The missing default C{/etc/users} is reported with, and after, the
        other mistakes.
        """
        self.assertRefused(
            ["--fingerport=abc", "--webport=xyz"],
            ["--fingerport: 'abc'", "--webport: 'xyz'", "--file: the status file /etc/users"],
        )

    def test_coercedOption(self) -> None:
        """
        An option its table refuses is told in the option's own words.
        """
        self.assertRefused(
            ["--timeout=abc"], ["--timeout must be a positive number of seconds, not 'abc'"]
        )
        code, out, err = twistd(self, "--timeout=abc")
        self.assertNotIn("Parameter type enforcement", err)

    def test_missingAuthFile(self) -> None:
        """
        C{--auth file:PATH} naming no file stops start-up, as a missing
        certificate does.
        """
        users = os.path.abspath(self.mktemp())
        with open(users, "w") as f:
            f.write("moshez: happy\n")
        self.assertRefused(
            [f"--file={users}", "--auth", "file:/nonexistent/passwords"],
            ["--auth: the password file /nonexistent/passwords does not exist"],
        )

    def test_helpStillLists(self) -> None:
        """
        C{--help} still lists every option, and exits 0.
        """
        code, out, err = twistd(self, "--help")
        self.assertEqual(code, 0, err)
        self.assertIn("--fingerport", out)
        self.assertIn("--auth", out)


class OptionsTests(SynchronousTestCase):
    """
    L{Options} parsed directly (a tac, a test) raises L{UsageError}.
    """

    def test_authFile(self) -> None:
        users = self.mktemp()
        with open(users, "w") as f:
            f.write("moshez: happy\n")
        options = Options()
        error = self.assertRaises(
            UsageError, options.parseOptions, ["--file", users, "--auth", "file:" + users + "x"]
        )
        self.assertIn("does not exist", str(error))
        passwords = self.mktemp()
        os.makedirs(passwords)
        error = self.assertRaises(
            UsageError, Options().parseOptions, ["--file", users, "--auth", "file:" + passwords]
        )
        self.assertIn("is not a regular file", str(error))
        with open(users + ".passwords", "w") as f:
            f.write("moshez:secret\n")
        options = Options()
        options.parseOptions(["--file", users, "--auth", f"file:{users}.passwords"])
        assert options.config.login is not None
        self.assertEqual(len(options.config.login.checkers), 1)

    def test_allReasons(self) -> None:
        """
        Every role's mistake is reported, one a line.
        """
        error = self.assertRaises(
            UsageError, Options().parseOptions, ["--file=/nonexistent", "--pbport=nonsense"]
        )
        lines = str(error).splitlines()
        self.assertEqual(len(lines), 2)
        self.assertIn("--pbport", lines[0])
        self.assertIn("--file", lines[1])

    def test_usageError(self) -> None:
        self.assertEqual(
            usageError(UsageError("a\nb"), "x"), "x: a\nx: b\nRun 'x --help' for the options.\n"
        )


class DatabaseAtStartTests(TestCase):
    """
    C{--backend=sql} with a real PostgreSQL: a server not reached yet is not
    a start-up error, and every front-end says the statuses are not
    available yet until the first read; a malformed URL or a refused login
    stops start-up.
    """

    timeout = 120

    def setUp(self) -> None:
        self.cluster = postgres.clusterFor(self)

    async def test_notAvailableYet(self) -> None:
        """
        With the database stopped before the node starts, finger, the web,
        XML-RPC and PB say the statuses are not available yet (never "No
        such user"); once the database is started, the real answers come.
        """
        users = os.path.abspath(self.mktemp())
        with open(users, "w") as f:
            f.write("moshez: happy and well\n")
        await deferToThread(dbcopy.importFile, users, self.cluster.url)
        await deferToThread(self.cluster.stop)
        top = startFinger(self, "--backend=sql", f"--database={self.cluster.url}")
        finger = f"tcp:127.0.0.1:{listeningPort(top, 'finger')}"
        web = f"http://127.0.0.1:{listeningPort(top, 'web')}"
        pbServer = f"tcp:host=127.0.0.1:port={listeningPort(top, 'pb')}"
        notYet = NOT_AVAILABLE_YET.encode() + b"\r\n"

        backend = top.getServiceNamed("backend")
        await waitFor(reactor, lambda: "not reachable" in (backend.notReady() or ""), "an outage")
        self.assertEqual(await exchange(reactor, finger, b"moshez\r\n"), notYet)
        self.assertEqual(await exchange(reactor, finger, b"\r\n"), notYet)
        self.assertEqual(await exchange(reactor, finger, b"nobody\r\n"), notYet)

        agent = Agent(reactor)
        for path in [b"/moshez", b"/", b"/api/users"]:
            response = await agent.request(b"GET", web.encode() + path)
            body = await readBody(response)
            self.assertEqual(response.code, 503, path)
            self.assertEqual(response.headers.getRawHeaders(b"retry-after"), [b"5"])
            self.assertIn(NOT_AVAILABLE_YET.encode(), body)

        proxy = Proxy((web + "/RPC2").encode())
        for call in [("getUser", "moshez"), ("getUsers",)]:
            try:
                await proxy.callRemote(*call)
            except Fault as fault:
                self.assertEqual((fault.faultCode, fault.faultString), (NOT_AVAILABLE, NOT_AVAILABLE_YET))
            else:
                self.fail(f"{call} did not fail")

        with self.assertRaises(pb.RemoteError) as raised:
            await fetch(reactor, pbServer, "moshez", 10)
        self.assertEqual(raised.exception.remoteType, qual(NotAvailable).encode())
        self.assertEqual(raised.exception.args[0], NOT_AVAILABLE_YET)

        await deferToThread(self.cluster.start)

        async def answered() -> bool:
            return await exchange(reactor, finger, b"moshez\r\n") == b"happy and well\r\n"

        await waitFor(reactor, answered, "the first read", timeout=30)
        self.assertIsNone(backend.notReady())
        self.assertEqual(await exchange(reactor, finger, b"nobody\r\n"), b"No such user\r\n")
        response = await agent.request(b"GET", web.encode() + b"/api/users")
        self.assertEqual(response.code, 200)
        self.assertIn(b"moshez", await readBody(response))
        self.assertEqual(await proxy.callRemote("getUser", "moshez"), "happy and well")
        self.assertEqual(await fetch(reactor, pbServer, "moshez", 10), "happy and well")

    def test_refusedLogin(self) -> None:
        """
        A login the server refuses (a role it does not know) stops start-up
        with one line, as a malformed URL does.
        """
        users = os.path.abspath(self.mktemp())
        with open(users, "w") as f:
            f.write("")
        for url, reason in [
            (self.cluster.urlAs("nosuchrole"), 'refused the login: '),
            ("postgresql://finger@127.0.0.1/x?bogus=1", "not a libpq connection URI"),
            ("postgresql://finger@127.0.0.1:notaport/x", "not a usable libpq connection URI"),
        ]:
            code, out, err = twistd(self, "--backend=sql", f"--database={url}")
            self.assertEqual(code, 1, err)
            lines = err.splitlines()
            self.assertEqual(len(lines), 2, err)
            self.assertTrue(lines[0].startswith("twistd finger: --database: "), err)
            self.assertIn(reason, lines[0])
