# -*- test-case-name: tests.app.test_tap_hostile -*-
"""
Hostile input against the whole service (L{finger.app.tap.makeService}) over
real sockets on loopback: random and malformed bytes and floods at every
listener (finger, setter, web, HTTPS, Perspective Broker), what the log
makes of control characters sent by clients, and a back-end that fails or
never answers behind every front-end.

The clients here are plain blocking sockets run in threads, so that a
test can push bytes as fast as the kernel takes them and see exactly when
the server closes the connection.
"""

import os
import random
import socket
import ssl
import xmlrpc.client
import zlib
from typing import Any, Dict, List, Tuple, cast

from twisted.internet import reactor
from twisted.internet.defer import Deferred, ensureDeferred, gatherResults
from twisted.internet.endpoints import clientFromString
from twisted.internet.threads import deferToThread
from twisted.logger import ILogObserver, formatEvent, globalLogPublisher
from twisted.python.filepath import FilePath
from twisted.spread.pb import PBClientFactory
from twisted.trial.unittest import TestCase

from finger.app.tap import Options, makeService
from finger.lookup import LOOKUP_TIMEOUT
from finger.testing import FakeTimeReactor, FaultyService
from tests.certs import selfSigned
from tests.running import onLoopback
from tests.support import controlCharacters, exchange, listeningPort, waitFor

FLOOD_BYTES = 32 * 1024 * 1024
"""
How much each flood tries to send: far more than any listener should ever
hold for one connection, and more than the kernel's socket buffers on
both sides can absorb once the server stops reading.
"""

RSS_GROWTH_LIMIT = 48 * 1024 * 1024
"""
How much the process may grow while every listener is flooded: a generous
bound, below the total the floods send.
"""

_SOCKET_TIMEOUT = 15.0

_LISTENERS = ("finger", "setter", "web", "https", "pb")


def _rss() -> int:
    """
    The resident size of this process, in bytes.
    """
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class _Outcome:
    """
    What a raw client saw.

    @ivar sent: bytes the kernel took from the client before the end.
    @ivar closedEarly: whether the server closed the connection (a reset or
        a broken pipe) before the client sent all it meant to.
    @ivar received: everything the server sent.
    """

    def __init__(self, sent: int, closedEarly: bool, received: bytes) -> None:
        self.sent = sent
        self.closedEarly = closedEarly
        self.received = received

    def __repr__(self) -> str:
        return (
            f"<_Outcome sent={self.sent} closedEarly={self.closedEarly} "
            f"received={self.received[:200]!r}>"
        )


def _connect(port: int, tls: bool) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=_SOCKET_TIMEOUT)
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        sock = context.wrap_socket(sock, server_hostname="localhost")
    return sock


def _readAll(sock: socket.socket) -> bytes:
    received = []
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                break
            received.append(data)
    except (OSError, ssl.SSLError):
        pass
    return b"".join(received)


def _send(
    port: int,
    data: bytes,
    tls: bool = False,
    chunk: int = 65536,
    total: int = 0,
    head: bytes = b"",
    wait: bool = True,
    halfClose: bool = True,
) -> _Outcome:
    """
    Connect, send C{head}, then C{data} again and again until C{total} bytes
    (or C{data} once if C{total} is 0), then half-close (if C{halfClose}:
    an HTTP server takes it for the client leaving) and read until the
    server closes.  Over TLS, which has no half-close, read until the
    server closes if C{wait}, else end the session.  Runs in a thread.
    """
    sock = _connect(port, tls)
    sent = 0
    closedEarly = False
    try:
        try:
            if head:
                sock.sendall(head)
            if total:
                # Whole copies of data, so a chunked body stays well-formed.
                block = data * max(1, chunk // len(data))
                while sent < total:
                    sock.sendall(block)
                    sent += len(block)
            else:
                sock.sendall(data)
                sent = len(data)
            if not isinstance(sock, ssl.SSLSocket):
                if halfClose:
                    sock.shutdown(socket.SHUT_WR)
            elif not wait:
                # TLS has no half-close: end the session with a close alert
                # and wait for the server's.
                sock.unwrap()
                return _Outcome(sent, closedEarly, b"")
        except socket.timeout:
            # The server stopped reading but kept the connection open.
            pass
        except OSError:
            # Reset, broken pipe, not connected, a TLS alert: the server
            # closed the connection.
            closedEarly = True
        received = _readAll(sock)
    finally:
        sock.close()
    return _Outcome(sent, closedEarly, received)


def _hostileInputs(seed: int) -> List[bytes]:
    """
    Random bytes of many lengths, and the malformed inputs that break
    parsers: NULs, lone CRs, high bytes, escape sequences, half a UTF-8
    character, a line of nothing but separators.
    """
    rng = random.Random(seed)
    inputs = [rng.randbytes(n) for n in (1, 7, 64, 511, 512, 513, 600, 4096, 70000)]
    inputs += [
        b"\x00" * 1000,
        b"\r" * 1000,
        b"\n" * 1000,
        b"\xff\xfe" * 300,
        b"\x1b[2J\x1b]0;owned\x07\r\n",
        b"\xe2\x82",
        b"@@@@@@@@\r\n",
        b"/W /W /W\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 1000 + b"\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + rng.randbytes(200),
        b"\x80" * 100,
        b"\x05\x80\x0f\x81",
    ]
    return inputs


class HostileListenersTests(TestCase):
    """
    Every listener of the running service, attacked with hostile bytes over
    real loopback sockets.
    """

    timeout = 240

    def setUp(self) -> None:
        self.events: List[Dict[str, Any]] = []
        observer = cast(ILogObserver, self.events.append)
        globalLogPublisher.addObserver(observer)
        self.addCleanup(globalLogPublisher.removeObserver, observer)
        self.start()

    def start(self, *args: str) -> None:
        """
        Start the whole service, every listener on a loopback port.
        """
        path = FilePath(self.mktemp())
        path.setContent(b"# sample\nmoshez: happy and well\nshawn: alive\n")
        certificate, key = selfSigned()
        pem = FilePath(self.mktemp())
        pem.setContent(key + certificate)
        options = Options()
        options.parseOptions(
            [
                "--file",
                path.path,
                *onLoopback("--fingerport", "--setterport", "--webport", "--pbport", "--sslport"),
                "--ssl",
                "--certificate",
                pem.path,
                *args,
            ]
        )
        self.top = makeService(options, reactor)
        self.top.privilegedStartService()
        self.top.startService()
        self.addCleanup(self.top.stopService)
        self.ports: Dict[str, int] = {name: listeningPort(self.top, name) for name in _LISTENERS}

    def send(self, name: str, data: bytes, **kw: Any) -> "Deferred[_Outcome]":
        """
        Send C{data} to the listener C{name}; C{"https"} speaks TLS, and
        C{"https-raw"} sends the bytes to the HTTPS port without it.
        """
        port = self.ports[name.split("-")[0]]
        return deferToThread(_send, port, data, tls=name == "https", **kw)

    async def assertServing(self) -> None:
        """
        A normal request on every listener gets its normal answer.
        """
        finger = await exchange(reactor, f"tcp:127.0.0.1:{self.ports['finger']}", b"moshez\r\n")
        self.assertEqual(finger, b"happy and well\r\n")
        setter = await exchange(
            reactor, f"tcp:127.0.0.1:{self.ports['setter']}", b"shawn\r\nstill alive\r\n"
        )
        self.assertEqual(setter, b"OK: status of shawn saved\r\n")
        request = b"GET /api/users/moshez HTTP/1.0\r\nHost: localhost\r\n\r\n"
        for name in ("web", "https"):
            outcome = await self.send(name, request)
            self.assertTrue(outcome.received.startswith(b"HTTP/1.0 200 "), (name, outcome))
            self.assertIn(b'"status": "happy and well"', outcome.received)
        factory = PBClientFactory()
        connecting = clientFromString(reactor, f"tcp:127.0.0.1:{self.ports['pb']}").connect(factory)
        broker = await connecting.addTimeout(10, reactor)
        try:
            root = await factory.getRootObject().addTimeout(10, reactor)
            status = await root.callRemote("getUser", "moshez").addTimeout(10, reactor)
            self.assertEqual(status, "happy and well")
        finally:
            broker.transport.loseConnection()

    async def test_randomAndMalformed(self) -> None:
        """
        Random and malformed bytes at every listener: each connection is
        answered or closed, nothing is logged as an unhandled error, and
        every listener still answers a normal request.
        """
        for name in _LISTENERS + ("https-raw",):
            for data in _hostileInputs(seed=zlib.crc32(name.encode("ascii"))):
                outcome = await self.send(name, data, wait=name != "https")
                self.assertLessEqual(len(outcome.received), 1 << 20, (name, data[:40]))
        await self.assertServing()
        self.assertEqual(self.flushLoggedErrors(), [])

    async def test_floods(self) -> None:
        """
        Several megabytes without a line end, and an HTTP body far over the
        limit: the server closes each connection long before the flood is
        sent, stays up, answers normally afterwards, and the process does
        not grow by anything like what was sent.
        """
        before = _rss()
        floods: List[Tuple[str, bytes, bytes]] = [
            ("finger", b"", b"x"),
            ("setter", b"", b"x"),
            ("setter", b"moshez\r\n", b"y"),
            ("web", b"", b"A"),
            ("web", b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: ", b"h"),
            (
                "web",
                b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (FLOOD_BYTES,),
                b"<",
            ),
            (
                "web",
                b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
                b"8000\r\n" + b"z" * 0x8000 + b"\r\n",
            ),
            ("https-raw", b"", b"\x16"),
            ("https-raw", b"\x16\x03\x01\xff\xff", b"\x01"),
            (
                "https",
                b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
                b"8000\r\n" + b"z" * 0x8000 + b"\r\n",
            ),
            ("pb", b"", b"\x01"),
            ("pb", b"", b"\x7f\x80" * 7),
        ]
        for name, head, data in floods:
            outcome = await self.send(name, data, head=head, total=FLOOD_BYTES)
            self.assertTrue(outcome.closedEarly, (name, head, outcome))
            self.assertLess(outcome.sent, FLOOD_BYTES // 2, (name, head, outcome))
        await self.assertServing()
        growth = _rss() - before
        self.assertLess(growth, RSS_GROWTH_LIMIT, f"grew by {growth} bytes")
        self.assertEqual(self.flushLoggedErrors(), [])

    async def test_logsHaveNoControlCharacters(self) -> None:
        """
        Control characters sent by clients (escape sequences, CR, LF, NUL,
        DEL, C1 controls) in finger queries, setter names, passwords and
        statuses, HTTP paths, headers and bodies, and PB calls never reach
        the log as such: every logged line, tracebacks included, holds no
        control character but the line feeds between its lines.
        """
        nasty = b"\x1b[2J\x1b]0;owned\x07\rforged\nline\x00\x7f\xc2\x9b\xc2\x85\x9b"
        finger = [
            nasty + b"\r\n",
            b"/W " + nasty + b"\r\n",
            nasty + b"@" + nasty + b"\r\n",
            nasty * 40 + b"\r\n",
            nasty,
        ]
        setter = [
            nasty + b"\nstatus\n",
            b"moshez\n" + nasty + b"\n",
            b"zo\xc3\xab\u2028\n" + nasty + b"\n",
            nasty * 40,
        ]
        quoted = "".join(f"%{b:02X}" for b in nasty).encode("ascii")
        web = [
            b"GET /" + nasty + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            b"GET /" + quoted + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            b"GET /api/users/" + quoted + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: "
            + nasty.replace(b"\n", b"")
            + b"\r\nReferer: \x1b[31m\x7f\r\nConnection: close\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\nX-\x1b[31m: y\r\n\r\n",
            b"\x1b[31mGET / HTTP/1.1\r\nHost: x\r\n\r\n",
            b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s"
            % (len(nasty), nasty),
            b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 99999999\r\n\r\n",
        ]
        call = (
            b"<?xml version='1.0'?><methodCall><methodName>\x1b[2J&#27;&#x9b;</methodName>"
            b"<params><param><value><string>&#27;]0;owned&#7;</string></value></param>"
            b"</params></methodCall>"
        )
        web.append(
            b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: text/xml\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(call), call)
        )
        for data in finger:
            await self.send("finger", data)
        for data in setter:
            await self.send("setter", data)
        for data in web:
            await self.send("web", data)
            await self.send("https", data)
        for data in (nasty, b"\x01\x80" * 40 + nasty):
            await self.send("pb", data)

        factory = PBClientFactory()
        connecting = clientFromString(reactor, f"tcp:127.0.0.1:{self.ports['pb']}").connect(factory)
        broker = await connecting.addTimeout(10, reactor)
        try:
            root = await factory.getRootObject().addTimeout(10, reactor)
            for name in (nasty.decode("latin-1"), "\x1b[31m", "a\x85b"):
                try:
                    await root.callRemote("getUser", name).addTimeout(10, reactor)
                except Exception:
                    pass
            try:
                await root.callRemote("\x1b[2J\x00evil").addTimeout(10, reactor)
            except Exception:
                pass
        finally:
            broker.transport.loseConnection()

        # The setter with --auth: names, passwords and statuses.
        self.start("--auth", "memory:moshez:secret", "--login-delay=0.01")
        oneLine = nasty.replace(b"\n", b"")
        for data in (
            b"moshez\n" + oneLine + b"\nstatus\n",
            b"moshez\n" + oneLine + b"\n" + oneLine + b"\n",
            nasty + b" moshez\nsecret\nstatus\n",
            b"moshez " + nasty + b"\nsecret\nstatus\n",
            b"moshez\nsecret\n" + nasty + b"\n",
        ):
            await self.send("setter", data)

        # The access logs, finger's and the web's, write their lines within
        # a second.
        def accessLogged() -> bool:
            lines = [line for event in self.events for line in event.get("lines", [])]
            return any("Finger query" in line for line in lines) and any(
                '"POST /RPC2' in line for line in lines
            )

        await waitFor(reactor, accessLogged, "the access logs")
        self.assertCleanLog()
        self.flushLoggedErrors()

    def assertCleanLog(self) -> None:
        logged = []
        for event in self.events:
            text = formatEvent(event)
            failure = event.get("log_failure")
            if failure is not None:
                text += "\n" + failure.getTraceback()
            logged.append(text)
            self.assertEqual(controlCharacters(text, "\n"), [], text)
        # The traffic was logged, escaped.
        self.assertTrue(any("\\x1b[2J" in text for text in logged), logged)


class FaultsTests(TestCase):
    """
    A back-end that fails or never answers, behind every front-end of the
    running service: each client gets an error or timeout answer, each
    failure is logged once, and other clients are served meanwhile.

    The service does real I/O but keeps time on a L{FakeTimeReactor}, so
    lookups time out when the test says, not after seconds of waiting.
    """

    timeout = 60

    def setUp(self) -> None:
        self.backend = FaultyService(stuck=["stuck"], broken=["broken"], moshez="happy and well")
        self.reactor = FakeTimeReactor(reactor)
        path = FilePath(self.mktemp())
        path.setContent(b"moshez: unused\n")
        options = Options()
        options.parseOptions(
            [
                "--file",
                path.path,
                *onLoopback("--fingerport", "--webport", "--pbport"),
                "--no-setter",
            ]
        )
        self.top = makeService(options, self.reactor, backend=self.backend)
        self.top.privilegedStartService()
        self.top.startService()
        self.addCleanup(self.top.stopService)
        self.ports = {name: listeningPort(self.top, name) for name in ("finger", "web", "pb")}

    def finger(self, query: bytes) -> "Deferred[bytes]":
        return exchange(reactor, f"tcp:127.0.0.1:{self.ports['finger']}", query)

    def get(self, path: bytes) -> "Deferred[_Outcome]":
        request = b"GET " + path + b" HTTP/1.0\r\nHost: localhost\r\n\r\n"
        return deferToThread(_send, self.ports["web"], request, halfClose=False)

    def rpc(self, *args: str) -> "Deferred[_Outcome]":
        call = xmlrpc.client.dumps(args, "getUser").encode("utf-8")
        request = (
            b"POST /RPC2 HTTP/1.0\r\nHost: localhost\r\nContent-Type: text/xml\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(call), call)
        )
        return deferToThread(_send, self.ports["web"], request, halfClose=False)

    async def pbRoot(self) -> Any:
        factory = PBClientFactory()
        endpoint = clientFromString(reactor, f"tcp:127.0.0.1:{self.ports['pb']}")
        broker = await endpoint.connect(factory).addTimeout(10, reactor)
        self.addCleanup(broker.transport.loseConnection)
        return await factory.getRootObject().addTimeout(10, reactor)

    async def pbError(self, root: Any, user: str) -> str:
        try:
            await root.callRemote("getUser", user).addTimeout(10, reactor)
        except Exception as e:
            return str(e)
        self.fail(f"getUser({user!r}) succeeded")

    async def test_stuck(self) -> None:
        root = await self.pbRoot()
        stuck: List["Deferred[Any]"] = [
            self.finger(b"stuck\r\n"),
            self.get(b"/stuck"),
            self.get(b"/api/users/stuck"),
            self.rpc("stuck"),
            ensureDeferred(self.pbError(root, "stuck")),
        ]
        done: List[int] = []

        def answered(result: object, index: int) -> object:
            done.append(index)
            return result

        for index, d in enumerate(stuck):
            d.addBoth(answered, index)
        # Meanwhile every front-end answers others.
        self.assertEqual(await self.finger(b"moshez\r\n"), b"happy and well\r\n")
        page = await self.get(b"/api/users/moshez")
        self.assertIn(b'"status": "happy and well"', page.received)
        self.assertIn(b"happy and well", (await self.rpc("moshez")).received)
        self.assertEqual(await root.callRemote("getUser", "moshez"), "happy and well")
        # All of that before any stuck lookup timed out: every one is still
        # under way, and no client has its answer.
        await waitFor(
            reactor,
            lambda: self.backend.asked.count("stuck") == len(stuck),
            "every stuck lookup to reach the back-end",
        )
        self.assertEqual(self.backend.cancelled, [])
        self.assertEqual(done, [])

        self.reactor.advance(LOOKUP_TIMEOUT)
        finger, page, api, rpc, pbError = await gatherResults(stuck)
        self.assertEqual(finger, b"Server timed out; try again later\r\n")
        for response in (page, api):
            self.assertTrue(response.received.startswith(b"HTTP/1.0 503 "), response)
            self.assertTrue(
                response.received.endswith(b"\r\n\r\nServer timed out; try again later\n")
            )
        self.assertIn(b"Server timed out; try again later", rpc.received)
        self.assertIn(b"faultCode", rpc.received)
        self.assertEqual(pbError, "Server timed out; try again later")
        self.assertEqual(sorted(self.backend.cancelled), ["stuck"] * len(stuck))
        self.assertEqual(self.flushLoggedErrors(), [])

    async def test_broken(self) -> None:
        root = await self.pbRoot()
        self.assertEqual(await self.finger(b"broken\r\n"), b"Internal error in server\r\n")
        page = await self.get(b"/broken")
        self.assertTrue(page.received.startswith(b"HTTP/1.0 500 "), page)
        self.assertTrue(page.received.endswith(b"\r\n\r\nInternal error in server\n"))
        rpc = await self.rpc("broken")
        self.assertIn(b"Internal error in server", rpc.received)
        self.assertEqual(await self.pbError(root, "broken"), "Internal error in server")
        # Logged once for each of the four requests, and the service goes on.
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 4)
        self.assertEqual(await self.finger(b"moshez\r\n"), b"happy and well\r\n")
