# -*- test-case-name: tests.app.test_tap -*-
"""
Tests for L{finger.app.tap}: options, L{makeService}, and the whole service on
loopback with real clients.
"""

import os
import socket
from dataclasses import FrozenInstanceError
from typing import Any

from twisted.application.service import IServiceCollection, Service
from twisted.internet import reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.internet.utils import getProcessOutputAndValue
from twisted.python.filepath import FilePath
from twisted.python.usage import UsageError
from twisted.trial.unittest import SynchronousTestCase, TestCase

from finger.app.config import Config
from finger.app.listening import LimitsConfig, Port
from finger.app.setter import SetterConfig
from finger.app.tap import Options, makeService
from finger.backends.file import FileFingerService
from finger.messages import NO_USERS
from finger.net.clients import ClientKey
from finger.net.limits import DEFAULT_MAX_PER_ADDRESS, LimitingFactory
from finger.net.listen import everyAddress
from finger.testing import FaultyService
from tests.frontends.web.helpers import Client
from tests.running import onLoopback
from tests.support import exchange, listeningPort, which


class _ListedService(FaultyService, Service):
    """
    A back-end that counts how often its users are listed, served as the
    back-end of the whole service.
    """


class OptionsTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.path = FilePath(self.mktemp())
        self.path.setContent(b"moshez: happy\n")

    def parse(self, *args: str) -> Options:
        options = Options()
        options.parseOptions(["--file", self.path.path, *args])
        return options

    def test_defaults(self) -> None:
        options = self.parse()
        config = options.config
        self.assertEqual(config.finger.port.description, everyAddress("79"))
        self.assertIsNone(config.finger.port.ipv6)
        assert config.setter is not None
        self.assertEqual(config.setter.port.description, "tcp:1079:interface=127.0.0.1")
        self.assertEqual(config.setter.port.ipv6, r"tcp6:1079:interface=\:\:1")
        self.assertEqual(options["interval"], 30.0)
        self.assertEqual(config.backend.interval, 30.0)
        self.assertEqual(options["timeout"], 60.0)
        self.assertEqual((config.finger.timeout, config.setter.timeout), (60.0, 60.0))
        self.assertFalse(options["no-listing"])
        self.assertTrue(config.finger.listUsers)

    def test_optionsUnchanged(self) -> None:
        """
        Parsing leaves the options as given (coerced by their table) and
        reads them into one frozen L{Config}; nothing is changed after.
        """
        options = self.parse("--setterport", "7980", "--admins", "", "--ircchannels", "")
        self.assertEqual(options["fingerport"], "79")
        self.assertEqual(options["setterport"], "7980")
        self.assertEqual(options["forward-allow"], "")
        self.assertEqual(options["admins"], "")
        self.assertEqual(options["ircchannels"], "")
        self.assertIsInstance(options.config, Config)
        self.assertRaises(FrozenInstanceError, setattr, options.config, "finger", None)
        self.assertRaises(FrozenInstanceError, setattr, options.config.finger, "timeout", 1)

    def test_noSetterConfig(self) -> None:
        """
        No setter with C{--no-setter}, nor with a back-end that cannot set
        statuses; its port is checked all the same.
        """
        self.assertIsNone(self.parse("--no-setter").config.setter)
        self.assertIsNone(self.parse("--backend=proxy", "--proxy-to=h").config.setter)
        error = self.assertRaises(UsageError, self.parse, "--no-setter", "--setterport", "bogus:1")
        self.assertIn("--setterport", str(error))

    def test_defaultFile(self) -> None:
        self.assertEqual(Options()["file"], "/etc/users")
        options = Options()
        options.parseOptions(["-f", self.path.path])
        self.assertEqual(options["file"], self.path.path)

    def test_helpShowsDefaults(self) -> None:
        """
        C{--help} shows every default.
        """
        text = " ".join(str(Options()).split())
        for default in ["/etc/users", "[default: 79]", "[default: 1079]", "30", "60"]:
            self.assertIn(default, text)

    def test_portNumbers(self) -> None:
        """
        A bare port number listens everywhere for finger (IPv6 and IPv4), on
        loopback (127.0.0.1 and ::1) for the setter.
        """
        config = self.parse("--fingerport", "7979", "--setterport", "7980").config
        self.assertEqual(config.finger.port, Port("--fingerport", everyAddress("7979")))
        self.assertEqual(
            config.setter,
            SetterConfig(
                Port(
                    "--setterport",
                    "tcp:7980:interface=127.0.0.1",
                    r"tcp6:7980:interface=\:\:1",
                ),
                60.0,
            ),
        )

    def test_badPort(self) -> None:
        error = self.assertRaises(UsageError, self.parse, "--fingerport", "tcp:seventy-nine")
        self.assertIn("--fingerport", str(error))
        error = self.assertRaises(UsageError, self.parse, "--setterport", "bogus:1")
        self.assertIn("--setterport", str(error))

    def test_badNumbers(self) -> None:
        for option in ["--interval", "--timeout"]:
            for value in ["0", "-1", "soon", "inf", "nan"]:
                self.assertRaises(UsageError, self.parse, option, value)

    def test_directoryAsFile(self) -> None:
        error = self.assertRaises(UsageError, self.parse, "--file", ".")
        self.assertIn("not a regular file", str(error))

    def test_missingFile(self) -> None:
        self.path.remove()
        error = self.assertRaises(UsageError, self.parse)
        self.assertIn(self.path.path, str(error))
        self.assertIn("--file", str(error))

    def test_makeService(self) -> None:
        """
        One L{MultiService} holds the back-end and both listeners.
        """
        top = makeService(self.parse("--interval", "5", "--timeout", "7"))
        self.assertTrue(IServiceCollection.providedBy(top))
        backend = top.getServiceNamed("backend")
        self.assertIsInstance(backend, FileFingerService)
        self.assertEqual(backend.interval, 5)
        finger = top.getServiceNamed("finger").factory.wrappedFactory
        self.assertEqual(finger.timeout, 7)
        self.assertIs(finger.service, backend)
        self.assertIs(top.getServiceNamed("setter").factory.wrappedFactory.service, backend)

    def test_oneListing(self) -> None:
        """
        The finger listener and the web front page share the back-end's one
        user listing: between two changes of the statuses it is built once
        for both, and after a change once more.
        """
        backend = _ListedService(moshez="happy", shawn="alive")
        top = makeService(self.parse(), MemoryReactorClock(), backend=backend)
        finger = top.getServiceNamed("finger").factory.wrappedFactory
        pages = top.getServiceNamed("web").factory.wrappedFactory.resource
        self.assertIs(finger.listing, pages.listing)
        web = Client(pages)

        def both() -> None:
            transport = StringTransport()
            protocol = finger.buildProtocol(None)
            protocol.makeConnection(transport)
            protocol.dataReceived(b"\r\n")
            self.assertIn(b"shawn: ", transport.value())
            self.assertIn(b"200 OK", web.send(b"/").value())

        both()
        both()
        self.assertEqual(backend.listed, 1)
        self.successResultOf(backend.setUser("shawn", "gone fishing"))
        both()
        self.assertEqual(backend.listed, 2)

    def test_limits(self) -> None:
        """
        Every listener is wrapped in the same limits; only finger has a rate
        limit.
        """
        top = makeService(
            self.parse(
                "--max-connections",
                "5",
                "--idle-timeout",
                "6",
                "--max-lifetime",
                "7",
                "--finger-rate",
                "3",
            )
        )
        for name in ["finger", "setter", "web"]:
            limited = top.getServiceNamed(name).factory
            self.assertIsInstance(limited, LimitingFactory)
            self.assertEqual(
                (limited.maxConnections, limited.idleTimeout, limited.maxLifetime), (5, 6, 7)
            )
        limiter = top.getServiceNamed("finger").factory.rateLimiter
        self.assertEqual((limiter.rate, limiter.burst, limiter.limitLoopback), (3, 6, False))
        self.assertIsNone(top.getServiceNamed("setter").factory.rateLimiter)

    def test_limitDefaults(self) -> None:
        options = self.parse()
        self.assertEqual(options["max-connections"], 1024)
        self.assertEqual(options["finger-rate"], 10)
        self.assertEqual(
            options.config.limits,
            LimitsConfig(
                maxConnections=1024,
                maxPerAddress=DEFAULT_MAX_PER_ADDRESS,
                clientKey=ClientKey(64),
                idleTimeout=120.0,
                maxLifetime=600.0,
                fingerRate=10.0,
                limitLoopback=False,
            ),
        )
        top = makeService(self.parse("--finger-rate", "0", "--rate-limit-loopback"))
        self.assertIsNone(top.getServiceNamed("finger").factory.rateLimiter)

    def test_badLimits(self) -> None:
        for option, value in [
            ("--max-connections", "0"),
            ("--finger-rate", "-1"),
            ("--idle-timeout", "0"),
        ]:
            error = self.assertRaises(UsageError, self.parse, option, value)
            self.assertIn(option[2:], str(error))

    def test_auth(self) -> None:
        """
        C{--auth} makes the setter ask for a password; C{--admins} names who
        may set anyone's status.
        """
        top = makeService(
            self.parse("--auth", "memory:moshez:secret:root:toor", "--admins", "root")
        )
        login = top.getServiceNamed("setter").factory.wrappedFactory.login
        self.assertIsNotNone(login)
        self.assertEqual(login.portal.realm.admins, {"root"})
        top = makeService(self.parse())
        self.assertIsNone(top.getServiceNamed("setter").factory.wrappedFactory.login)

    def test_adminsNeedAuth(self) -> None:
        error = self.assertRaises(UsageError, self.parse, "--admins", "root")
        self.assertIn("--auth", str(error))
        error = self.assertRaises(
            UsageError, self.parse, "--auth", "memory:a:b", "--admins", "root,-x"
        )
        self.assertIn("--admins", str(error))

    def test_noSetter(self) -> None:
        top = makeService(self.parse("--no-setter"))
        self.assertRaises(KeyError, top.getServiceNamed, "setter")


def startOnLoopback(testCase: TestCase, path: FilePath, *args: str) -> Any:
    """
    Start C{makeService} on the status file at C{path}, with the finger,
    setter, web and PB listeners on free loopback ports, and C{args}, which
    win over these; stop it when the test ends.

    @return: the started service.
    """
    options = Options()
    options.parseOptions(
        [
            "--file",
            path.path,
            *onLoopback("--fingerport", "--setterport", "--webport", "--pbport"),
            *args,
        ]
    )
    top = makeService(options)
    top.startService()
    testCase.addCleanup(top.stopService)
    return top


class ServiceTests(TestCase):
    """
    The whole service on loopback, with real sockets and clients.
    """

    timeout = 60

    def setUp(self) -> None:
        self.path = FilePath(self.mktemp())
        self.path.setContent(b"# sample\nmoshez: happy and well\nshawn: alive\n")

    def start(self, *args: str) -> object:
        top = startOnLoopback(self, self.path, *args)
        self.fingerPort = listeningPort(top, "finger")
        self.setterPort = listeningPort(top, "setter") if "--no-setter" not in args else None
        return top

    def finger(self, query: bytes) -> "Deferred[bytes]":
        return exchange(reactor, f"tcp:127.0.0.1:{self.fingerPort}", query)

    def set(self, data: bytes, halfClose: bool = False) -> "Deferred[bytes]":
        return exchange(reactor, f"tcp:127.0.0.1:{self.setterPort}", data, halfClose)

    @inlineCallbacks
    def test_queries(self):  # type: ignore[no-untyped-def]
        top = self.start()
        # The tutorial's last versions forgot to start the back-end.
        self.assertTrue(top.getServiceNamed("backend").running)
        self.assertEqual((yield self.finger(b"moshez\r\n")), b"happy and well\r\n")
        self.assertEqual((yield self.finger(b"nobody\n")), b"No such user\r\n")
        self.assertEqual(
            (yield self.finger(b"\r\n")), b"moshez: happy and well\r\nshawn: alive\r\n"
        )
        self.assertEqual(
            (yield self.finger(b"moshez@elsewhere\r\n")), b"Finger forwarding service denied\r\n"
        )

    @inlineCallbacks
    def test_setAndRestart(self):  # type: ignore[no-untyped-def]
        """
        A status set over the setter is answered by finger, is in the file
        when acknowledged, and is still there after a restart.
        """
        top = self.start()
        reply = yield self.set("zoë\r\nà Paris ☕\r\n".encode())
        self.assertEqual(reply, "OK: status of zoë saved\r\n".encode())
        self.assertIn("zoë: à Paris ☕\n".encode(), self.path.getContent())
        self.assertEqual((yield self.finger("zoë\r\n".encode())), "à Paris ☕\r\n".encode())
        yield top.stopService()
        self.start()
        self.assertEqual((yield self.finger("zoë\r\n".encode())), "à Paris ☕\r\n".encode())

    @inlineCallbacks
    def test_setHalfClose(self):  # type: ignore[no-untyped-def]
        self.start()
        reply = yield self.set(b"shawn\nback at 5", halfClose=True)
        self.assertEqual(reply, b"OK: status of shawn saved\r\n")
        self.assertEqual((yield self.finger(b"shawn\r\n")), b"back at 5\r\n")

    @inlineCallbacks
    def test_manySetters(self):  # type: ignore[no-untyped-def]
        """
        Concurrent setters are all acknowledged and all saved.
        """
        self.start()
        from twisted.internet.defer import gatherResults

        replies = yield gatherResults(
            [self.set(f"user{n}\nstatus {n}\n".encode()) for n in range(30)]
        )
        self.assertEqual(replies, [f"OK: status of user{n} saved\r\n".encode() for n in range(30)])
        content = self.path.getContent()
        for n in range(30):
            self.assertIn(f"user{n}: status {n}\n".encode(), content)

    @inlineCallbacks
    def test_noListing(self):  # type: ignore[no-untyped-def]
        self.start("--no-listing")
        self.assertEqual((yield self.finger(b"\r\n")), b"Finger online user list denied\r\n")

    @inlineCallbacks
    def test_netcat(self):  # type: ignore[no-untyped-def]
        """
        C{nc} can query and set, as the README shows.
        """
        nc = which("nc")
        if nc is None:
            raise self.skipTest("nc is not installed (Debian package netcat-openbsd)")
        self.start()
        out, err, code = yield getProcessOutputAndValue(
            "/bin/sh",
            ["-c", f"printf 'shawn\\nswimming\\n' | {nc} -N 127.0.0.1 {self.setterPort}"],
        )
        self.assertEqual(out, b"OK: status of shawn saved\r\n")
        out, err, code = yield getProcessOutputAndValue(
            "/bin/sh", ["-c", f"printf 'shawn\\r\\n' | {nc} -N 127.0.0.1 {self.fingerPort}"]
        )
        self.assertEqual(out, b"swimming\r\n")


def _port79Free() -> bool:
    with socket.socket() as s:
        # As Twisted does, so a connection in TIME_WAIT does not count.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", 79))
        except OSError:
            return False
    return True


class FingerClientTests(TestCase):
    """
    Debian's C{finger} client against the service on port 79.
    """

    timeout = 60

    @inlineCallbacks
    def test_finger(self):  # type: ignore[no-untyped-def]
        client = which("finger")
        if client is None:
            raise self.skipTest("the finger client is not installed (Debian package finger)")
        if os.geteuid() != 0:
            raise self.skipTest("the finger client only uses port 79, which needs root")
        if not _port79Free():
            raise self.skipTest("port 79 on 127.0.0.1 is in use")
        path = FilePath(self.mktemp())
        path.setContent("moshez: happy and well\nzoë: \x1b[31mred alert\n".encode())
        startOnLoopback(self, path, "--fingerport", "tcp:79:interface=127.0.0.1", "--no-setter")

        out, err, code = yield getProcessOutputAndValue(client, ["moshez@127.0.0.1"])
        self.assertEqual(code, 0, err)
        self.assertIn(b"happy and well", out)

        out, err, code = yield getProcessOutputAndValue(client, ["-l", "moshez@127.0.0.1"])
        self.assertIn(b"Login: moshez", out)
        self.assertIn(b"Status: happy and well", out)

        out, err, code = yield getProcessOutputAndValue(client, ["nobody@127.0.0.1"])
        self.assertIn(b"No such user", out)

        out, err, code = yield getProcessOutputAndValue(client, ["zoë@127.0.0.1"])
        self.assertIn(b"red alert", out)
        self.assertNotIn(b"\x1b", out)

    @inlineCallbacks
    def test_emptyListing(self):  # type: ignore[no-untyped-def]
        """
        A listing of nobody is a sentence, not an answer of no bytes that
        looks like a broken server.
        """
        client = which("finger")
        if client is None:
            raise self.skipTest("the finger client is not installed (Debian package finger)")
        if os.geteuid() != 0:
            raise self.skipTest("the finger client only uses port 79, which needs root")
        if not _port79Free():
            raise self.skipTest("port 79 on 127.0.0.1 is in use")
        path = FilePath(self.mktemp())
        path.setContent(b"")
        startOnLoopback(self, path, "--fingerport", "tcp:79:interface=127.0.0.1", "--no-setter")
        out, err, code = yield getProcessOutputAndValue(client, ["@127.0.0.1"])
        self.assertEqual(code, 0, err)
        self.assertEqual(out.strip().splitlines()[-1], NO_USERS.encode())
