# -*- test-case-name: tests.frontends.test_irc -*-
"""
Tests of the IRC bot as C{twistd finger} runs it: against a real IRC
server (ngircd) on loopback, and its options.  The bot's own tests are in
L{tests.frontends.irc}.
"""

import os
import subprocess
from typing import Any, Dict, List, Optional

from twisted.application.internet import ClientService
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import clientFromString, connectProtocol
from twisted.internet.error import ConnectError, ConnectionDone, ConnectionRefusedError
from twisted.internet.protocol import ProcessProtocol
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.logger import globalLogPublisher
from twisted.protocols.basic import LineReceiver
from twisted.python import usage
from twisted.python.failure import Failure
from twisted.trial.unittest import SkipTest, SynchronousTestCase, TestCase

from finger.app import tap
from finger.backends.memory import MemoryFingerService
from finger.frontends.irc import IRCClientFactoryFromService
from tests.certs import selfSigned
from tests.running import parseFinger, startFinger
from tests.support import CHECKOUT, TWISTD, cleanEnvironment, exchange, freePort, waitFor, which


def _sleep(seconds: float) -> "Deferred[None]":
    from twisted.internet.task import deferLater

    return deferLater(reactor, seconds, lambda: None)


class _Ngircd(ProcessProtocol):
    """
    An ngircd process in the foreground: its output, and when it ended.
    """

    def __init__(self) -> None:
        self.output: List[bytes] = []
        self.ended: "Deferred[None]" = Deferred()

    def outReceived(self, data: bytes) -> None:
        self.output.append(data)

    errReceived = outReceived

    def processEnded(self, reason: Failure) -> None:
        self.ended.callback(None)


class _Tester(LineReceiver):
    """
    A person on IRC, speaking the protocol by hand.
    """

    delimiter = b"\r\n"

    def __init__(self, nickname: str) -> None:
        self.nickname = nickname
        self.lines: List[bytes] = []
        self.closed: "Deferred[None]" = Deferred()

    def connectionMade(self) -> None:
        self.sendLine(b"NICK " + self.nickname.encode())
        self.sendLine(b"USER " + self.nickname.encode() + b" 0 * :finger tests")

    def lineReceived(self, line: bytes) -> None:
        if line.startswith(b"PING "):
            self.sendLine(b"PONG " + line[5:])
        self.lines.append(line)

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        self.closed.callback(None)

    def say(self, target: str, text: str) -> None:
        self.sendLine(f"PRIVMSG {target} :{text}".encode("utf-8"))

    def heard(self, sender: str, suffix: str) -> bool:
        """
        Has a line from C{sender} ending with C{suffix} come?
        """
        prefix = f":{sender}!".encode()
        wanted = suffix.encode("utf-8")
        return any(line.startswith(prefix) and line.endswith(wanted) for line in self.lines)


class IRCServerIntegrationTests(TestCase):
    """
    The bot, run by C{makeService} with C{--ircserver 127.0.0.1:PORT},
    against a real IRC server (Debian's ngircd) on loopback.
    """

    timeout = 90

    def setUp(self) -> None:
        self.ngircd = which("ngircd")
        if self.ngircd is None:
            raise SkipTest(
                "ngircd is not installed (apt-get install ngircd); "
                "it is the IRC server this test needs"
            )
        self.port = freePort()
        self.directory = os.path.abspath(self.mktemp())
        os.makedirs(self.directory)
        # ngircd started as root runs as nobody: let it write its pid file.
        os.chmod(self.directory, 0o777)
        self.tlsPort = freePort()
        self.roots = os.path.join(self.directory, "roots")
        os.makedirs(self.roots)
        cert, key = selfSigned()
        with open(os.path.join(self.directory, "key.pem"), "wb") as f:
            f.write(key)
        with open(os.path.join(self.directory, "cert.pem"), "wb") as f:
            f.write(cert)
        with open(os.path.join(self.roots, "cert.pem"), "wb") as f:
            f.write(cert)
        # Readable by nobody too: a throwaway key for a throwaway server.
        os.chmod(os.path.join(self.directory, "key.pem"), 0o644)
        self.config = os.path.join(self.directory, "ngircd.conf")
        with open(self.config, "w") as f:
            f.write(
                "[Global]\n"
                "Name = irc.finger.test\n"
                "Info = finger tests\n"
                "AdminInfo1 = finger tests\n"
                "AdminInfo2 = loopback only\n"
                "AdminEMail = root@localhost\n"
                # 127.0.0.2 too: an address the certificate does not name.
                "Listen = 127.0.0.1,127.0.0.2\n"
                f"Ports = {self.port}\n"
                "MotdPhrase = finger tests\n"
                f"PidFile = {self.directory}/ngircd.pid\n"
                "[Limits]\n"
                "MaxConnectionsIP = 0\n"
                "[Options]\n"
                "DNS = no\n"
                "Ident = no\n"
                "PAM = no\n"
                "[SSL]\n"
                f"CertFile = {self.directory}/cert.pem\n"
                f"KeyFile = {self.directory}/key.pem\n"
                f"Ports = {self.tlsPort}\n"
            )
        self.server: Optional[_Ngircd] = None

    async def startServer(self) -> None:
        """
        Start ngircd and wait until it accepts connections.
        """
        self.server = _Ngircd()
        reactor.spawnProcess(
            self.server, self.ngircd, [self.ngircd, "-n", "-f", self.config], env=os.environ
        )
        self.addCleanup(self.stopServer, self.server)
        server = self.server

        async def accepts() -> Optional[_Tester]:
            try:
                return await self.connectTester("probe")
            except ConnectError:
                if server.ended.called:
                    raise AssertionError("ngircd ended") from None
                return None

        try:
            probe = await waitFor(reactor, accepts, "ngircd to start", timeout=15, interval=0.1)
        except AssertionError as e:
            output = b"".join(server.output).decode("utf-8", "replace")
            self.fail(f"ngircd did not start ({e}):\n{output}")
        probe.transport.loseConnection()
        await probe.closed

    async def stopServer(self, server: _Ngircd) -> None:
        if not server.ended.called:
            server.transport.signalProcess("TERM")
            await server.ended

    async def connectTester(self, nickname: str) -> _Tester:
        tester = _Tester(nickname)
        endpoint = clientFromString(reactor, f"tcp:host=127.0.0.1:port={self.port}:timeout=5")
        await connectProtocol(endpoint, tester)
        return tester

    async def ask(
        self, tester: _Tester, target: str, text: str, reply: str, bot: str = "fingerbot"
    ) -> None:
        """
        Say C{text} to C{target} every half second until C{reply} comes
        from C{bot}: the bot may still be signing on.
        """

        def answered() -> bool:
            if tester.heard(bot, reply):
                return True
            tester.say(target, text)
            return False

        try:
            await waitFor(reactor, answered, f"{reply!r} from {bot}", timeout=20, interval=0.5)
        except AssertionError as e:
            heard = b"\n".join(tester.lines).decode("utf-8", "replace")
            self.fail(f"no {reply!r} from the bot ({e}); the tester heard:\n{heard}")

    async def answersAs(self, tester: _Tester, bot: str) -> None:
        """
        Ask C{bot} about moshez in private until it answers C{tester}.
        """
        reply = f"PRIVMSG {tester.nickname} :Status of moshez: happy and well"
        await self.ask(tester, bot, "moshez", reply, bot=bot)

    async def test_answersAndComesBack(self) -> None:
        """
        The bot answers a private message and a channel message addressed to
        it; when the server restarts, the bot comes back and answers again.
        """
        await self.startServer()
        startFinger(
            self,
            "--no-pb",
            "--ircserver",
            f"127.0.0.1:{self.port}",
            "--ircchannels",
            "#finger",
            "--ircretry",
            "1",
        )
        tester = await self.connectTester("tester")
        await self.answersAs(tester, "fingerbot")
        tester.sendLine(b"JOIN #finger")
        await self.ask(
            tester,
            "#finger",
            "fingerbot: zoë",
            "PRIVMSG #finger :tester: Status of zoë: à Paris ☕",
        )

        assert self.server is not None
        await self.stopServer(self.server)
        await tester.closed
        await self.startServer()
        again = await self.connectTester("again")
        await self.answersAs(again, "fingerbot")
        again.transport.loseConnection()
        await again.closed

    async def test_announces(self) -> None:
        """
        With C{--irc-announce}, a set is announced in the channel, once.
        """
        await self.startServer()
        top: Any = startFinger(
            self,
            "--no-pb",
            "--ircserver",
            f"127.0.0.1:{self.port}",
            "--ircchannels",
            "#finger",
            "--irc-announce",
        )
        tester = await self.connectTester("tester")
        tester.sendLine(b"JOIN #finger")
        await waitFor(
            reactor,
            lambda: any(b"JOIN" in line and line.startswith(b":fingerbot!") for line in tester.lines),
            "the bot to join #finger",
            timeout=20,
            interval=0.1,
        )
        backend = top.getServiceNamed("backend")
        await backend.setUser("moshez", "announced on IRC")
        announcement = b"PRIVMSG #finger :moshez is now: announced on IRC"

        def announced() -> int:
            return sum(line.endswith(announcement) for line in tester.lines)

        await waitFor(reactor, announced, "the announcement", timeout=10, interval=0.05)
        # A second set within the minute waits for it; nothing is said twice.
        await backend.setUser("moshez", "and again")
        await _sleep(1.5)
        self.assertEqual(announced(), 1)
        self.assertFalse([line for line in tester.lines if line.endswith(b"and again")])
        tester.transport.loseConnection()
        await tester.closed

    async def test_announcesUnderWorkers(self) -> None:
        """
        Under C{--workers}, a set through the setter (which a worker
        serves) is announced by the bot, which the main process runs with
        a back-end of its own watching the same status file.
        """
        await self.startServer()
        path = os.path.join(self.directory, "users")
        with open(path, "w") as f:
            f.write("moshez: happy and well\n")
        setterPort = freePort()
        process = subprocess.Popen(
            TWISTD
            + ["--nodaemon", "--pidfile=", "--logfile", os.path.join(self.directory, "log")]
            + ["finger", "--file", path, "--workers", "2", "--no-pb"]
            + ["--fingerport", "tcp:0:interface=127.0.0.1"]
            + ["--webport", "tcp:0:interface=127.0.0.1"]
            + ["--setterport", f"tcp:{setterPort}:interface=127.0.0.1"]
            + ["--ircserver", f"127.0.0.1:{self.port}", "--ircchannels", "#finger"]
            + ["--irc-announce"],
            cwd=self.directory,
            env=cleanEnvironment(PYTHONPATH=CHECKOUT),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def stop() -> None:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

        self.addCleanup(stop)
        tester = await self.connectTester("tester")
        tester.sendLine(b"JOIN #finger")
        await waitFor(
            reactor,
            lambda: any(b"JOIN" in line and line.startswith(b":fingerbot!") for line in tester.lines),
            "the bot to join #finger",
            timeout=30,
            interval=0.1,
        )
        answer = await exchange(
            reactor, f"tcp:127.0.0.1:{setterPort}", b"moshez\nset through a worker\n", timeout=10
        )
        self.assertIn(b"saved", answer)
        announcement = b"PRIVMSG #finger :moshez is now: set through a worker"
        await waitFor(
            reactor,
            lambda: any(line.endswith(announcement) for line in tester.lines),
            "the announcement",
            timeout=10,
        )
        await _sleep(1)
        self.assertEqual(sum(line.endswith(announcement) for line in tester.lines), 1)
        tester.transport.loseConnection()
        await tester.closed

    async def test_nicknameCollision(self) -> None:
        """
        A second bot asking for a nickname in use signs on as C{fingerbo1},
        within ngircd's nine characters, and answers under that name.
        """
        await self.startServer()
        for _ in range(2):
            startFinger(self, "--no-pb", "--ircserver", f"127.0.0.1:{self.port}")
        tester = await self.connectTester("tester")
        await self.answersAs(tester, "fingerbo1")
        await self.answersAs(tester, "fingerbot")
        tester.transport.loseConnection()
        await tester.closed

    async def test_regainsNickname(self) -> None:
        """
        A bot that finds its nickname taken signs on as C{fingerbo1}, asks
        the server (with C{ISON}) whether its own is free, and takes it back
        once whoever had it leaves.
        """
        await self.startServer()
        squatter = await self.connectTester("fingerbot")
        await waitFor(
            reactor,
            lambda: any(b" 001 fingerbot " in line for line in squatter.lines),
            "the squatter to sign on",
        )
        factory = IRCClientFactoryFromService(
            MemoryFingerService(moshez="happy and well"), clock=reactor, regainInterval=0.5
        )
        bot = ClientService(
            clientFromString(reactor, f"tcp:host=127.0.0.1:port={self.port}"),
            factory,
            retryPolicy=factory.retryDelay,
            clock=reactor,
        )
        bot.startService()
        self.addCleanup(bot.stopService)
        tester = await self.connectTester("tester")
        await self.answersAs(tester, "fingerbo1")
        squatter.transport.loseConnection()
        await squatter.closed
        await self.answersAs(tester, "fingerbot")
        tester.transport.loseConnection()
        await tester.closed

    async def test_tls(self) -> None:
        """
        With C{--ircserver tls:HOST:PORT}, the bot connects over TLS,
        checking the server's certificate and host name: it signs on when
        they match, and not when the name does not.
        """
        events: List[Dict[str, Any]] = []
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)
        await self.startServer()
        startFinger(
            self,
            "--no-pb",
            "-n",
            "wrongbot",
            "--ircserver",
            f"tls:127.0.0.2:{self.tlsPort}:trustRoots={self.roots}",
            "--ircretry",
            "1",
        )
        startFinger(
            self,
            "--no-pb",
            "--ircserver",
            f"tls:localhost:{self.tlsPort}:trustRoots={self.roots}",
            "--ircretry",
            "1",
        )
        tester = await self.connectTester("tester")
        await self.ask(tester, "fingerbot", "zoë", "PRIVMSG tester :Status of zoë: à Paris ☕")

        def refused() -> bool:
            return any(
                "Mismatch" in str(event.get("reason", ""))
                for event in events
                if event.get("log_format", "").startswith("Disconnected from the IRC")
            )

        await waitFor(reactor, refused, "the bot to refuse 127.0.0.2", interval=0.2)
        self.assertFalse(
            [e for e in events if e.get("nickname") == "wrongbot"], "wrongbot signed on"
        )
        tester.transport.loseConnection()
        await tester.closed


class IRCOptionsTests(SynchronousTestCase):
    """
    The IRC options of C{twistd finger}, and how L{tap.makeService} wires
    the bot.
    """

    def parse(self, *argv: str) -> tap.Options:
        return parseFinger(self, *argv)

    def assertUsageError(self, option: str, *argv: str) -> None:
        with self.assertRaises(usage.UsageError) as raised:
            self.parse(*argv)
        self.assertTrue(str(raised.exception).startswith(option), raised.exception)

    def test_defaults(self) -> None:
        """No bot unless asked; its defaults show in C{--help}."""
        options = self.parse()
        self.assertIsNone(options["ircserver"])
        self.assertEqual(options["ircnick"], "fingerbot")
        self.assertEqual(options.config.irc.channels, ())
        self.assertEqual(options["ircretry"], 60.0)
        help = str(tap.Options())
        self.assertIn("[default: fingerbot]", help)
        self.assertIn("port 6667", help)
        self.assertIn("[default: 60.0]", help)

    def test_servers(self) -> None:
        """A host, host:port, [IPv6]:port or endpoint description."""
        for value, description in [
            ("irc.example.org", "tcp:host=irc.example.org:port=6667"),
            ("127.0.0.1:6668", "tcp:host=127.0.0.1:port=6668"),
            ("[::1]:7000", "tcp:host=\\:\\:1:port=7000"),
            ("::1", "tcp:host=\\:\\:1:port=6667"),
            ("tls:irc.example.org:6697", "tls:irc.example.org:6697"),
        ]:
            self.assertEqual(self.parse("--ircserver", value).config.irc.server, description)

    def test_badServers(self) -> None:
        """A server that cannot be understood is a usage error naming the option."""
        for value in ["[irc]:1", "[::1", "irc:0", "irc:65536", "nope:x:y", "tcp:host=h"]:
            self.assertUsageError("--ircserver", "--ircserver", value)

    def test_nickname(self) -> None:
        """C{-n} sets the nickname, which must be one IRC allows."""
        self.assertEqual(self.parse("-n", "fbot")["ircnick"], "fbot")
        for bad in ["", "1bot", "finger bot", "zoë"]:
            self.assertUsageError("--ircnick", "--ircnick", bad)

    def test_channels(self) -> None:
        """Channels are a comma-separated list of channel names."""
        options = self.parse("--ircserver", "irc", "--ircchannels", "#a, &b,,")
        self.assertEqual(options.config.irc.channels, ("#a", "&b"))
        self.assertUsageError("--ircchannels", "--ircserver", "irc", "--ircchannels", "#a,b")
        self.assertUsageError("--ircchannels", "--ircchannels", "#a")

    def test_retry(self) -> None:
        """C{--ircretry} is a positive number of seconds."""
        self.assertEqual(self.parse("--ircretry", "2.5")["ircretry"], 2.5)
        self.assertRaises(usage.UsageError, self.parse, "--ircretry", "0")

    def test_makeService(self) -> None:
        """
        With C{--ircserver}, L{tap.makeService} runs the bot under a
        L{ClientService} on the reactor it is given, with the options'
        settings.
        """
        memory = MemoryReactorClock()
        options = self.parse(
            "--ircserver",
            "irc.example.org:6668",
            "-n",
            "fbot",
            "--ircchannels",
            "#a,#b",
            "--ircretry",
            "5",
        )
        top = tap.makeService(options, memory)
        [client] = [s for s in top if isinstance(s, ClientService)]
        client.startService()
        self.addCleanup(client.stopService)
        host, port, factory, timeout, bindAddress = memory.tcpClients[0]
        self.assertEqual((host, port), ("irc.example.org", 6668))
        bot = factory.buildProtocol(None)
        transport = StringTransport()
        bot.makeConnection(transport)
        self.assertTrue(transport.value().startswith(b"NICK fbot\r\n"))
        transport.clear()
        bot.dataReceived(b":irc.example.org 001 fbot :Welcome\r\n")
        self.assertEqual(transport.value(), b"JOIN #a\r\nJOIN #b\r\n")
        # Retries come at most --ircretry seconds (and a second of jitter)
        # apart, on the reactor makeService was given.
        bot.connectionLost(Failure(ConnectionDone()))
        for attempt in range(2, 12):
            memory.advance(6.0)
            self.assertEqual(len(memory.tcpClients), attempt)
            connector = memory.connectors[-1]
            memory.tcpClients[-1][2].clientConnectionFailed(
                connector, Failure(ConnectionRefusedError())
            )

    def test_announce(self) -> None:
        """
        C{--irc-announce} is off by default; it needs channels to announce
        in, and a back-end whose statuses change here, and is refused with
        C{--no-listing}, which keeps who is there private.
        """
        self.assertFalse(self.parse().config.irc.announce)
        self.assertUsageError("--irc-announce", "--ircserver", "irc", "--irc-announce")
        self.assertUsageError(
            "--irc-announce",
            *("--ircserver", "irc", "--ircchannels", "#a", "--irc-announce", "--no-listing"),
        )
        options = self.parse("--ircserver", "irc", "--ircchannels", "#a", "--irc-announce")
        self.assertTrue(options.config.irc.announce)
        memory = MemoryReactorClock()
        top = tap.makeService(options, memory)
        [client] = [s for s in top if isinstance(s, ClientService)]
        client.startService()
        self.addCleanup(client.stopService)
        bot = memory.tcpClients[0][2].buildProtocol(None)
        transport = StringTransport()
        bot.makeConnection(transport)
        bot.dataReceived(b":irc.example.org 001 fingerbot :Welcome\r\n")
        transport.clear()
        # What the back-end tells its listeners of a change.
        top.getServiceNamed("backend").announce([("moshez", "Announced")])
        self.assertEqual(transport.value(), b"PRIVMSG #a :moshez is now: Announced\r\n")
        web = self.parse(
            "--ircserver",
            "irc",
            "--ircchannels",
            "#a",
            "--irc-announce",
            "--backend",
            "web",
            "--web-prefix",
            "https://example.com/~",
        )
        with self.assertRaises(usage.UsageError) as raised:
            tap.makeService(web, MemoryReactorClock())
        self.assertIn("--irc-announce", str(raised.exception))

    def test_noBot(self) -> None:
        """Without C{--ircserver}, there is no bot."""
        top = tap.makeService(self.parse(), MemoryReactorClock())
        self.assertEqual([s for s in top if isinstance(s, ClientService)], [])
