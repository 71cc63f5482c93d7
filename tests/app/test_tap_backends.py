# -*- test-case-name: tests.app.test_tap_backends -*-
"""
Tests for the back-end and forwarding options of L{finger.app.tap}, and for each
back-end started by L{finger.app.tap.makeService} and asked through the finger
protocol on loopback.
"""

import json
import os
import pwd
from typing import Any, Dict, List, Optional

from twisted.application.service import IServiceCollection
from twisted.internet import reactor
from twisted.internet.defer import inlineCallbacks
from twisted.internet.endpoints import serverFromString
from twisted.python import usage
from twisted.trial.unittest import SkipTest, SynchronousTestCase, TestCase
from twisted.web.client import Agent, readBody
from twisted.web.resource import Resource
from twisted.web.server import Site
from twisted.web.static import Data

from finger.clients.finger import finger
from finger.messages import COULD_NOT_CONNECT, FORWARDING_DENIED, NO_SUCH_USER
from finger.backends.command import CommandFingerService
from finger.backends.local import LocalFingerService, RunningAsRoot
from finger.backends.proxy import ProxyFingerService
from finger.backends.file import FileFingerService
from finger.app.tap import Options, makeService
from finger.backends.http import HTTPFingerService
from tests.support import fakeProgram, freePort, listeningPort, which


def _parse(argv: List[str], parent: Optional[Dict[str, Any]] = None) -> Options:
    options = Options()
    options.parent = parent  # type: ignore[assignment]
    options.parseOptions(argv)
    return options


class BackendOptionsTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.users = os.path.abspath(self.mktemp())
        with open(self.users, "w") as f:
            f.write("moshez: happy\n")

    def assertUsageError(self, argv: List[str], option: str, **kw: Any) -> None:
        error = self.assertRaises(usage.UsageError, _parse, argv, **kw)
        self.assertIn(option, str(error))

    def test_defaults(self) -> None:
        """
        By default: the status file, and no forwarding.
        """
        options = _parse(["--file", self.users])
        self.assertEqual(options["backend"], "file")
        self.assertEqual(options["forward-hops"], 1)
        self.assertEqual(options["uid-floor"], 1000)
        self.assertEqual(options["backend-timeout"], 5.0)
        self.assertEqual(options["max-bytes"], 16384)
        config = options.config.backend
        self.assertEqual(
            (config.kind, config.file, config.forwardAllow, config.forwardHops),
            ("file", self.users, (), 1),
        )
        self.assertEqual((config.uidFloor, config.timeout, config.maxBytes), (1000, 5.0, 16384))
        self.assertTrue(config.canSet)

    def test_helpShowsDefaults(self) -> None:
        text = " ".join(str(Options()).split())
        for default in ["[default: file]", "[default: 1000]", "[default: finger]"]:
            self.assertIn(default, text)

    def test_badValues(self) -> None:
        """
        A bad value is a usage error naming the option.
        """
        for argv, option in [
            (["--backend=ldap"], "--backend"),
            (["--uid-floor=-1"], "--uid-floor"),
            (["--uid-floor=x"], "--uid-floor"),
            (["--forward-hops=0"], "--forward-hops"),
            (["--backend-timeout=0"], "--backend-timeout"),
            (["--backend-timeout=inf"], "--backend-timeout"),
            (["--max-bytes=0"], "--max-bytes"),
            (["--forward-allow=good.example,bad host"], "--forward-allow"),
            (["--forward-allow=h:99999"], "--forward-allow"),
            (["--backend=web"], "--web-prefix"),
            (["--backend=web", "--web-prefix=ftp://x/"], "--web-prefix"),
            (["--backend=proxy"], "--proxy-to"),
            (["--backend=proxy", "--proxy-to=h:x"], "--proxy-to"),
            (["--backend=command", "--command=no-such-finger-program"], "--command"),
        ]:
            self.assertUsageError(argv + ["--file", self.users], option)

    def test_fileOnlyForFileBackend(self) -> None:
        """
        The status file is not needed by the other back-ends.
        """
        options = _parse(
            [
                "--backend=web",
                "--web-prefix=https://example.com/~",
                "--file=/nonexistent",
            ]
        )
        self.assertEqual(options.config.backend.webPrefix, "https://example.com/~")
        self.assertFalse(options.config.backend.canSet)

    def test_converted(self) -> None:
        options = _parse(
            [
                "--backend=proxy",
                "--proxy-to=[::1]:7979",
                "--forward-allow= a.example , b.example:7979,",
                "--forward-hops=2",
            ]
        )
        config = options.config.backend
        self.assertEqual(config.proxyTo, ("::1", 7979))
        self.assertEqual(config.forwardAllow, ("a.example", "b.example:7979"))
        self.assertEqual(config.forwardHops, 2)

    def test_localAsRoot(self) -> None:
        """
        Under twistd, the local back-end is refused when twistd would stay
        root; with --uid it is accepted.  Outside twistd (a tac) the
        back-end's own check at start-up decides.
        """
        if os.geteuid() == 0:
            for uid in [None, 0]:
                self.assertUsageError(["--backend=local"], "--backend=local", parent={"uid": uid})
        _parse(["--backend=local"], parent={"uid": 65534})
        _parse(["--backend=local"])

    def test_backendChosen(self) -> None:
        """
        makeService builds the chosen back-end, and a setter only for the
        status file.
        """
        script = fakeProgram(self, "exit 0\n")
        for argv, kind, setter in [
            (["--file", self.users], FileFingerService, True),
            (["--backend=local"], LocalFingerService, False),
            (["--backend=command", f"--command={script}"], CommandFingerService, False),
            (["--backend=web", "--web-prefix=http://h/~"], HTTPFingerService, False),
            (["--backend=proxy", "--proxy-to=h"], ProxyFingerService, False),
        ]:
            top = makeService(_parse(argv, parent={"uid": 65534}), reactor)
            self.assertIsInstance(top.getServiceNamed("backend"), kind)
            names = {s.name for s in IServiceCollection(top)}
            self.assertEqual("setter" in names, setter, argv)
            self.assertIn("finger", names)


class MakeServiceLoopbackTests(TestCase):
    """
    Each back-end, started by makeService, answers through the finger
    protocol on loopback.
    """

    timeout = 30

    def start(self, argv: List[str]) -> int:
        """
        Start makeService with C{argv}, finger and the web on free loopback
        ports; stop it when the test ends.

        @return: the finger port; the web port is then in C{self.webPort}.
        """
        options = _parse(
            argv
            + [
                "--fingerport",
                "tcp:0:interface=127.0.0.1",
                "--webport",
                "tcp:0:interface=127.0.0.1",
                "--no-setter",
                "--no-pb",
            ]
        )
        top = makeService(options, reactor)
        top.privilegedStartService()
        top.startService()
        self.addCleanup(top.stopService)
        self.webPort = listeningPort(top, "web")
        return listeningPort(top, "finger")

    def statusFile(self) -> str:
        path = os.path.abspath(self.mktemp())
        with open(path, "w") as f:
            f.write("moshez: happy and well\n")
        return path

    @inlineCallbacks
    def test_command(self) -> Any:
        """
        The program is asked for the user after C{-m} (login names only)
        and C{--}.
        """
        script = fakeProgram(self, 'echo "Plan of $3 ($1 $2)"\n')
        port = self.start(["--backend=command", f"--command={script}"])
        answer = yield finger("alice", "127.0.0.1", port)
        self.assertEqual(answer, "Plan of alice (-m --)\r\n")

    @inlineCallbacks
    def test_commandRealNames(self) -> Any:
        """
        The system's finger program is asked about login names only: a word
        of a system account's real name (C{finger Mailing} shows Debian's
        C{list} account) is no user, so the uid floor cannot be got round.
        """
        program = which("finger")
        if program is None:
            raise SkipTest("Debian's finger client (package finger) is not installed")
        words = [
            word
            for entry in pwd.getpwall()
            if 0 < entry.pw_uid < 1000
            for word in entry.pw_gecos.split(",")[0].split()
            if word.isalpha() and word.lower() != entry.pw_name
        ]
        if not words:
            raise SkipTest("no system account here has a real name to match")
        port = self.start(["--backend=command", f"--command={program}"])
        answer = yield finger(words[0], "127.0.0.1", port)
        self.assertEqual(answer, f"{NO_SUCH_USER}\r\n")

    @inlineCallbacks
    def test_commandThroughWeb(self) -> Any:
        """
        A back-end other than the status file works through the web
        front-end too.
        """
        script = fakeProgram(self, '[ "$3" = alice ] && echo "Plan of $3"\nexit 0\n')
        self.start(["--backend=command", f"--command={script}"])
        webPort = self.webPort
        agent = Agent(reactor)
        response = yield agent.request(
            b"GET", f"http://127.0.0.1:{webPort}/api/users/alice".encode("ascii")
        )
        self.assertEqual(response.code, 200)
        body = yield readBody(response)
        self.assertEqual(json.loads(body), {"user": "alice", "status": "Plan of alice"})
        response = yield agent.request(
            b"GET", f"http://127.0.0.1:{webPort}/api/users/bob".encode("ascii")
        )
        yield readBody(response)
        self.assertEqual(response.code, 404)

    @inlineCallbacks
    def test_web(self) -> Any:
        root = Resource()
        root.putChild(b"~alice", Data(b"on the web", "text/plain"))
        web = yield serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(Site(root))
        self.addCleanup(web.stopListening)
        port = self.start(
            ["--backend=web", f"--web-prefix=http://127.0.0.1:{web.getHost().port}/~"]
        )
        answer = yield finger("alice", "127.0.0.1", port)
        self.assertEqual(answer, "on the web\r\n")
        answer = yield finger("bob", "127.0.0.1", port)
        self.assertEqual(answer, "No such user\r\n")

    @inlineCallbacks
    def test_forwarding(self) -> Any:
        """
        A second instance forwards to the first, on another loopback port,
        only when allowed.
        """
        first = self.start(["--file", self.statusFile()])
        second = self.start(["--file", self.statusFile(), f"--forward-allow=127.0.0.1:{first}"])
        answer = yield finger("moshez@127.0.0.1", "127.0.0.1", second)
        self.assertEqual(answer, "happy and well\r\n")
        answer = yield finger("moshez@localhost", "127.0.0.1", second)
        self.assertEqual(answer, FORWARDING_DENIED + "\r\n")
        answer = yield finger("moshez@127.0.0.1@127.0.0.1", "127.0.0.1", second)
        self.assertEqual(answer, FORWARDING_DENIED + "\r\n")
        answer = yield finger("moshez@127.0.0.1", "127.0.0.1", first)
        self.assertEqual(answer, FORWARDING_DENIED + "\r\n")

    @inlineCallbacks
    def test_forwardingUnreachable(self) -> Any:
        port = self.start(["--file", self.statusFile(), f"--forward-allow=127.0.0.1:{freePort()}"])
        answer = yield finger("moshez@127.0.0.1", "127.0.0.1", port)
        self.assertEqual(answer, COULD_NOT_CONNECT + "\r\n")

    @inlineCallbacks
    def test_proxy(self) -> Any:
        first = self.start(["--file", self.statusFile()])
        proxy = self.start(["--backend=proxy", f"--proxy-to=127.0.0.1:{first}"])
        answer = yield finger("moshez", "127.0.0.1", proxy)
        self.assertEqual(answer, "happy and well\r\n")

    def test_localRefusesRoot(self) -> None:
        """
        Run as root (as by a tac without a uid), the local back-end stops
        start-up.
        """
        if os.geteuid() != 0:
            raise self.skipTest("only root can check that root is refused")
        options = _parse(
            [
                "--backend=local",
                "--fingerport",
                "tcp:0:interface=127.0.0.1",
                "--webport",
                "tcp:0:interface=127.0.0.1",
                "--no-pb",
            ]
        )
        top = makeService(options, reactor)
        top.privilegedStartService()
        self.addCleanup(top.stopService)
        self.assertRaises(RunningAsRoot, top.startService)
