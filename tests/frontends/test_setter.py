"""
Tests for L{finger.frontends.setter}.
"""

from typing import Any, List

from hypothesis import given
from hypothesis import strategies as st
from twisted.internet.testing import StringTransport
from twisted.logger import LogLevel, capturedLogs
from twisted.python.filepath import FilePath
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from finger.interfaces import IFingerSetterFactory, StatusNotSaved
from finger.backends.file import FileFingerService
from finger.backends.memory import MemoryFingerService
from finger.frontends.setter import MAX_LINE_LENGTH, FingerSetterFactoryFromService
from finger.lookup import LOOKUP_TIMEOUT
from finger.names import MAX_STATUS_LENGTH
from finger.testing import HeldThreadsClock, ThreadlessClock
from tests.support import (
    FailingSetterService,
    HeldSetterService,
    OneRequestClient,
    chunked,
    connected,
    controlCharacters,
    propertySettings,
)


class FingerSetterProtocolTests(OneRequestClient, SynchronousTestCase):
    def setUp(self) -> None:
        self.service = MemoryFingerService(moshez="happy")
        self.clock = ThreadlessClock()

    def makeFactory(self, service: Any, **settings: Any) -> FingerSetterFactoryFromService:
        return FingerSetterFactoryFromService(service, clock=self.clock, **settings)

    def test_adapter(self) -> None:
        """
        The adapter is the factory with its default settings, keeping time
        with the global reactor.
        """
        from twisted.internet import reactor

        factory = IFingerSetterFactory(self.service)
        self.assertIsInstance(factory, FingerSetterFactoryFromService)
        self.assertTrue(verifyObject(IFingerSetterFactory, factory))
        settings = (factory.service, factory.clock, factory.timeout, factory.login)
        self.assertEqual(settings, (self.service, reactor, 60.0, None))
        self.assertEqual((factory.lookup.clock, factory.lookupTimeout), (reactor, LOOKUP_TIMEOUT))

    def test_set(self) -> None:
        """
        A user and a status on two lines set the status; one line confirms
        it and the server closes.
        """
        self.assertEqual(
            self.send(b"moshez\r\nGiving a tutorial now, sorry!\r\n"),
            b"OK: status of moshez saved\r\n",
        )
        self.assertTrue(self.transport.disconnecting)
        self.assertEqual(self.service.users["moshez"], "Giving a tutorial now, sorry!")

    def test_linesInPieces(self) -> None:
        transport = self.connect()
        self.protocol.dataReceived(b"mosh")
        self.protocol.dataReceived(b"ez\nbu")
        self.assertEqual(transport.value(), b"")
        self.protocol.dataReceived(b"sy\n")
        self.assertEqual(transport.value(), b"OK: status of moshez saved\r\n")
        self.assertEqual(self.service.users["moshez"], "busy")

    def test_utf8(self) -> None:
        self.assertEqual(
            self.send("zoë\nà Paris ☕\n".encode()), "OK: status of zoë saved\r\n".encode()
        )
        self.assertEqual(self.service.users["zoë"], "à Paris ☕")

    def test_blanksStripped(self) -> None:
        self.send(b"  moshez \t\n  out to lunch  \r\n")
        self.assertEqual(self.service.users["moshez"], "out to lunch")

    def test_emptyStatus(self) -> None:
        self.assertEqual(self.send(b"moshez\n\n"), b"OK: status of moshez saved\r\n")
        self.assertEqual(self.service.users["moshez"], "")

    def test_halfClose(self) -> None:
        """
        A client may send both lines and half-close; an unterminated second
        line counts.
        """
        transport = self.connect()
        self.protocol.dataReceived(b"moshez\nback soon")
        self.assertEqual(transport.value(), b"")
        self.protocol.readConnectionLost()
        self.assertEqual(transport.value(), b"OK: status of moshez saved\r\n")
        self.assertEqual(self.service.users["moshez"], "back soon")

    def test_halfCloseAfterTwoLines(self) -> None:
        self.assertEqual(
            self.send(b"moshez\nback soon\n", halfClose=True), b"OK: status of moshez saved\r\n"
        )

    def test_oneLineOnly(self) -> None:
        """
        Fewer than two lines change nothing and get a one-line error.
        """
        self.assertEqual(
            self.send(b"moshez\n", halfClose=True),
            b"Error: expected a user name and a status, on two lines\r\n",
        )
        self.assertEqual(self.service.users["moshez"], "happy")
        self.assertTrue(self.transport.disconnecting)

    def test_nothing(self) -> None:
        self.assertTrue(self.send(b"", halfClose=True).startswith(b"Error: "))

    def test_invalidName(self) -> None:
        """
        An empty or invalid name is refused at once, saying why.
        """
        for line, reason in [
            (b"\n", b"empty"),
            (b"a:b\n", b"':'"),
            (b"-rf\n", b"start"),
            (b"a b\n", b"whitespace"),
            (b"\xff\n", b"UTF-8"),
        ]:
            reply = self.send(line)
            self.assertTrue(reply.startswith(b"Error: invalid user name: "), reply)
            self.assertIn(reason, reply)
            self.assertTrue(self.transport.disconnecting)
        self.assertEqual(list(self.service.users), ["moshez"])

    def test_invalidStatus(self) -> None:
        self.assertEqual(
            self.send(b"moshez\n\x1b[2Jhi\n"),
            b"Error: invalid status: a status may not contain control characters\r\n",
        )
        self.assertEqual(
            self.send(b"moshez\n\xff\n"), b"Error: invalid status: a status must be UTF-8 text\r\n"
        )
        self.assertEqual(self.service.users["moshez"], "happy")

    def test_longLine(self) -> None:
        """
        A line longer than L{MAX_LINE_LENGTH} bytes is refused, ended or
        not, and changes nothing; one of exactly that many bytes is taken.
        """
        self.assertEqual(
            self.send(b"moshez\n" + b"x" * (MAX_LINE_LENGTH + 1) + b"\n"),
            b"Error: line too long\r\n",
        )
        self.assertEqual(self.send(b"x" * (2 * MAX_LINE_LENGTH)), b"Error: line too long\r\n")
        self.assertTrue(self.transport.disconnecting)
        self.assertEqual(self.service.users["moshez"], "happy")
        # The longest status there is, padded with blanks (which are
        # stripped) to the longest line.
        longest = "\U0001f600".encode() * MAX_STATUS_LENGTH
        line = b" " * (MAX_LINE_LENGTH - len(longest)) + longest
        self.assertEqual(len(line), MAX_LINE_LENGTH)
        self.assertEqual(
            self.send(b"moshez\n" + line + b"\r\n"),
            b"OK: status of moshez saved\r\n",
        )

    def test_longestStatusFits(self) -> None:
        """
        Every status that PB and XML-RPC accept fits on a setter line:
        L{MAX_STATUS_LENGTH} characters, whether of 1, 2 or 4 UTF-8 bytes,
        as a 1000-character status (once refused as too long) does.
        """
        for status in [
            "x" * 1000,
            "x" * MAX_STATUS_LENGTH,
            "é" * MAX_STATUS_LENGTH,
            "\U0001f600" * MAX_STATUS_LENGTH,
        ]:
            self.assertEqual(
                self.send(b"moshez\n" + status.encode() + b"\n"),
                b"OK: status of moshez saved\r\n",
            )
            self.assertEqual(self.service.users["moshez"], status)
        tooLong = f"a status is at most {MAX_STATUS_LENGTH} characters"
        self.assertEqual(
            self.send(b"moshez\n" + b"x" * (MAX_STATUS_LENGTH + 1) + b"\n"),
            b"Error: invalid status: " + tooLong.encode() + b"\r\n",
        )

    def test_saveFails(self) -> None:
        """
        A failed save is reported without server details.
        """
        reply = self.send(b"a\nb\n", FailingSetterService(StatusNotSaved("cannot save /etc/users")))
        self.assertEqual(reply, b"Error: the status could not be saved; try again later\r\n")

    def test_unexpectedFailure(self) -> None:
        reply = self.send(b"a\nb\n", FailingSetterService(RuntimeError("boom")))
        self.assertEqual(reply, b"Error: internal error in server\r\n")
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_saveTimesOut(self) -> None:
        """
        A save the back-end does not confirm within the factory's
        C{lookupTimeout} gets an error saying it may not have been saved,
        and the delay is logged once.
        """
        service = HeldSetterService()
        factory = FingerSetterFactoryFromService(service, clock=self.clock, lookupTimeout=3)
        transport = StringTransport()
        protocol = factory.buildProtocol(None)
        protocol.makeConnection(transport)
        protocol.dataReceived(b"moshez\nbusy\n")
        with capturedLogs() as events:
            self.clock.advance(2.9)
            self.assertEqual(transport.value(), b"")
            self.clock.advance(0.1)
        self.assertEqual(
            transport.value(),
            b"Error: the server timed out; the status may not have been saved\r\n",
        )
        self.assertTrue(transport.disconnecting)
        self.assertTrue(service.saving[0].called)
        self.assertEqual(len([e for e in events if "no answer" in e["log_format"]]), 1)
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_halfCloseLongLine(self) -> None:
        """
        An unterminated last line over the limit is refused at a half-close.
        """
        reply = self.send(b"moshez\n" + b"x" * (MAX_LINE_LENGTH + 1), halfClose=True)
        self.assertEqual(reply, b"Error: line too long\r\n")
        self.assertEqual(self.service.users["moshez"], "happy")

    def test_timeout(self) -> None:
        transport = self.connect()
        self.protocol.dataReceived(b"moshez\n")
        self.clock.advance(60)
        self.assertTrue(transport.disconnected)
        self.assertEqual(self.service.users["moshez"], "happy")

    def test_extraDataIgnored(self) -> None:
        self.assertEqual(self.send(b"moshez\nbusy\nmore\nlines\n"), b"OK: status of moshez saved\r\n")
        self.assertEqual(self.service.users["moshez"], "busy")


class DurabilityTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.path = FilePath(self.mktemp())
        self.path.setContent(b"moshez: happy\n")
        self.clock = HeldThreadsClock()
        factory = FingerSetterFactoryFromService(
            FileFingerService(self.path.path, reactor=self.clock), clock=self.clock
        )
        self.transport = StringTransport()
        self.protocol = factory.buildProtocol(None)
        self.protocol.makeConnection(self.transport)
        self.protocol.dataReceived(b"moshez\nsaving\n")

    def test_acknowledgedOnlyOnceOnDisk(self) -> None:
        """
        With the status file back-end, the confirmation is written only
        after the file holds the new status.
        """
        self.assertEqual(self.transport.value(), b"")
        self.clock.runOne()
        self.assertEqual(self.path.getContent(), b"moshez: saving\n")
        self.assertEqual(self.transport.value(), b"OK: status of moshez saved\r\n")

    def test_clientLeavesDuringSave(self) -> None:
        """
        A client that goes away while its status is saved does not stop
        the save, and nothing is written to the closed connection.
        """
        self.protocol.connectionLost(None)
        self.clock.runOne()
        self.assertEqual(self.path.getContent(), b"moshez: saving\n")
        self.assertEqual(self.transport.value(), b"")


class AuthenticatedSetterTests(SynchronousTestCase):
    """
    The setter with C{--auth}: user, password and status on three lines.
    """

    def setUp(self) -> None:
        from twisted.cred.checkers import InMemoryUsernamePasswordDatabaseDontUse

        from finger.auth import SetterLogin, setterPortal

        self.service = MemoryFingerService(moshez="happy", shawn="alive")
        self.clock = ThreadlessClock()
        checker = InMemoryUsernamePasswordDatabaseDontUse(moshez=b"secret", root=b"toor")
        self.factory = FingerSetterFactoryFromService(
            self.service,
            clock=self.clock,
            login=SetterLogin(setterPortal(self.service, [checker], ["root"]), self.clock),
        )

    def send(self, data: bytes) -> StringTransport:
        self.transport = StringTransport()
        protocol = self.factory.buildProtocol(None)
        protocol.makeConnection(self.transport)
        protocol.dataReceived(data)
        self.protocol = protocol
        return self.transport

    def test_ownStatus(self) -> None:
        transport = self.send(b"moshez\nsecret\nbusy  \n")
        self.assertEqual(transport.value(), b"OK: status of moshez saved\r\n")
        self.assertEqual(self.service.users["moshez"], "busy")

    def test_passwordAsTyped(self) -> None:
        """
        The password line is taken exactly, blanks included.
        """
        transport = self.send(b"moshez\n secret\nbusy\n")
        self.clock.advance(10)
        self.assertEqual(transport.value(), b"Error: login failed\r\n")

    def test_twoLinesAreNotEnough(self) -> None:
        """
        Without a password nothing changes: the old two-line form is not
        accepted.
        """
        transport = self.send(b"moshez\nbusy\n")
        self.protocol.readConnectionLost()
        self.clock.advance(10)
        self.assertEqual(
            transport.value(),
            b"Error: expected a user name, a password and a status, on three lines\r\n",
        )
        self.assertEqual(self.service.users["moshez"], "happy")

    def test_wrongPassword(self) -> None:
        """
        A wrong password is refused with a generic message, after a delay.
        """
        transport = self.send(b"moshez\nguess\nhacked\n")
        self.assertEqual(transport.value(), b"")
        self.clock.advance(2)
        self.assertEqual(transport.value(), b"Error: login failed\r\n")
        self.assertEqual(self.service.users["moshez"], "happy")

    def test_someoneElse(self) -> None:
        with capturedLogs() as events:
            transport = self.send(b"shawn moshez\nsecret\nhacked\n")
        [warning] = [e for e in events if e["log_level"] >= LogLevel.warn]
        self.assertEqual((warning["login"], warning["user"]), ("moshez", "shawn"))
        self.assertEqual(
            transport.value(), b"Error: not allowed: moshez may not set the status of shawn\r\n"
        )
        self.assertEqual(self.service.users["shawn"], "alive")

    def test_adminSetsAnyone(self) -> None:
        transport = self.send(b"shawn root\ntoor\nout sick\n")
        self.assertEqual(transport.value(), b"OK: status of shawn saved\r\n")
        self.assertEqual(self.service.users["shawn"], "out sick")

    def test_invalidLogin(self) -> None:
        transport = self.send(b"shawn -root\n")
        self.assertTrue(transport.value().startswith(b"Error: invalid user name"))

    def test_leavingCancelsLogin(self) -> None:
        """
        A client that leaves while its login waits for its turn gives up
        its place in the queue at once: the login is never checked, nothing
        is saved, and nothing is logged as an error.  So connections that
        are reset cannot fill the login queues.
        """
        login = self.factory.login
        assert login is not None
        with capturedLogs():
            first = self.send(b"moshez\nguess\nhacked\n")
            second = self.send(b"moshez\nsecret\nhacked\n")
        [turns] = login.turns.values()
        self.assertEqual(turns.pending, 2)
        self.protocol.connectionLost(None)
        self.assertEqual(turns.pending, 1)
        self.clock.advance(2)
        self.assertEqual(first.value(), b"Error: login failed\r\n")
        self.assertEqual(second.value(), b"")
        self.assertEqual(login.turns, {})
        self.assertEqual(self.service.users["moshez"], "happy")
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_leavingAfterLogin(self) -> None:
        """
        A client that leaves once its login succeeded does not stop its
        save; one that leaves while its failed login waits out the delay
        keeps its turn until then, so leaving early gains nothing.
        """
        service = HeldSetterService()
        from finger.auth import SetterLogin, setterPortal
        from twisted.cred.checkers import InMemoryUsernamePasswordDatabaseDontUse

        checker = InMemoryUsernamePasswordDatabaseDontUse(moshez=b"secret")
        login = SetterLogin(setterPortal(service, [checker], []), self.clock)
        self.factory = FingerSetterFactoryFromService(service, clock=self.clock, login=login)
        self.send(b"moshez\nsecret\nbusy\n")
        self.protocol.connectionLost(None)
        [saving] = service.saving
        self.assertNoResult(saving)
        saving.callback(None)
        with capturedLogs():
            self.send(b"moshez\nguess\nhacked\n")
        self.protocol.connectionLost(None)
        self.assertEqual(len(login.turns), 1)
        self.clock.advance(2)
        self.assertEqual(login.turns, {})
        self.assertEqual(self.flushLoggedErrors(), [])


_setterPieces = st.sampled_from(
    [b"moshez", b"shawn", b"root moshez", b"moshez shawn", b"zo\xc3\xab", b"secret", b"toor",
     b"busy", b"\n", b"\r\n", b"\r", b" ", b"\t", b"#x", b"/W", b"-l", b"a:b", b"a@b",
     b"\x00", b"\x1b[2J", b"\x7f", b"\xc2\x9b", b"\xff", b"\xe2\x80\xa8", b"moshez\nsecret\n"]
)
_setterData = st.one_of(
    st.binary(max_size=64),
    st.lists(st.one_of(_setterPieces, st.binary(max_size=6)), max_size=12).map(b"".join),
    st.tuples(st.integers(MAX_LINE_LENGTH - 2, MAX_LINE_LENGTH + 3), _setterPieces).map(
        lambda t: b"moshez\n" + b"x" * t[0] + t[1]
    ),
    # Well-formed requests with a twist: what an honest or guessing client
    # sends.
    st.tuples(
        st.sampled_from([b"moshez", b" shawn ", b"root moshez", b"moshez root", b"zo\xc3\xab"]),
        st.sampled_from([b"\n", b"\r\n", b"\n\n"]),
        st.sampled_from([b"secret", b"secret", b"toor", b"wrong", b""]),
        st.sampled_from([b"\n", b"\r\n"]),
        st.one_of(st.binary(max_size=12), st.text(max_size=12).map(str.encode)),
        st.sampled_from([b"\n", b"\r\n", b""]),
    ).map(b"".join),
)

_givenSetterInput = given(
    data=_setterData,
    cuts=st.lists(st.integers(0, 2000), max_size=6),
    halfClose=st.booleans(),
)
"""
What a setter client may send: the bytes, where the transport cuts them, and
whether the client half-closes after them.
"""



class FingerSetterPropertyTests(SynchronousTestCase):
    """
    Whatever bytes a setter client sends, however cut up, with or without
    authentication, it gets at most one reply line, C{OK:} or C{Error:},
    and nothing is stored unless the reply is C{OK:}.
    """

    def check(self, data: bytes, cuts: List[int], halfClose: bool, auth: bool) -> None:
        from twisted.cred.checkers import InMemoryUsernamePasswordDatabaseDontUse

        from finger.auth import SetterLogin, setterPortal

        service = MemoryFingerService(moshez="happy", shawn="alive")
        before = dict(service.users)
        clock = ThreadlessClock()
        login = None
        if auth:
            checker = InMemoryUsernamePasswordDatabaseDontUse(moshez=b"secret", root=b"toor")
            login = SetterLogin(setterPortal(service, [checker], ["root"]), clock)
        factory = FingerSetterFactoryFromService(service, clock=clock, login=login)
        protocol, transport = connected(factory)
        with capturedLogs():
            for piece in chunked(data, cuts):
                protocol.dataReceived(piece)
            if halfClose:
                protocol.readConnectionLost()
            # Past the delay after a failed login.
            clock.advance(10)
        output = transport.value()
        changed = {name for name in set(before) | set(service.users)
                   if before.get(name) != service.users.get(name)}
        if output == b"":
            self.assertFalse(halfClose)
            self.assertFalse(transport.disconnecting)
            self.assertEqual(changed, set())
        else:
            self.assertTrue(output.endswith(b"\r\n"))
            line = output[:-2].decode("utf-8")
            self.assertNotIn("\n", line)
            self.assertNotIn("\r", line)
            self.assertEqual(controlCharacters(line), [])
            self.assertTrue(transport.disconnecting)
            if line.startswith("OK: "):
                self.assertEqual(len(changed), 1)
                (user,) = changed
                self.assertEqual(line, f"OK: status of {user} saved")
            else:
                self.assertTrue(line.startswith("Error: "), line)
                self.assertEqual(changed, set())
        self.assertEqual(self.flushLoggedErrors(), [])
        protocol.connectionLost(None)

    @propertySettings()
    @_givenSetterInput
    def test_anyBytes(self, data: bytes, cuts: List[int], halfClose: bool) -> None:
        self.check(data, cuts, halfClose, auth=False)

    @propertySettings()
    @_givenSetterInput
    def test_anyBytesWithAuth(self, data: bytes, cuts: List[int], halfClose: bool) -> None:
        self.check(data, cuts, halfClose, auth=True)
