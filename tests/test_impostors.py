"""
Issue 19's impostor names and hidden status text, at every way there is to
set a status: the setter protocol, XML-RPC and PB refuse each name and
store each status without its invisible characters, through the one rule
in L{finger.names}.  (Reading them from a status file or a database row is
tested in L{tests.backends.test_statusformat} and
L{tests.backends.test_sqlrows}.)
"""

import base64
import xmlrpc.client
from typing import Any, Dict, List, Tuple

from twisted.internet.task import Clock
from twisted.spread import pb
from twisted.cred.credentials import UsernamePassword
from twisted.test.iosim import connectedServerAndClient
from twisted.trial.unittest import SynchronousTestCase

from finger.auth import SetterLogin, setterPortal
from finger.backends.memory import MemoryFingerService
from finger.frontends.pb import (
    BadRequest,
    FingerPBServerFactory,
    PerspectiveFingerFromService,
)
from finger.frontends.setter import FingerSetterFactoryFromService
from finger.frontends.web.pages import UserStatusTree
from finger.frontends.web.xmlrpc import INVALID_PARAMS
from tests.frontends.pb.helpers import checker
from tests.frontends.web.helpers import Client
from tests.support import connected

IMPOSTORS: List[str] = [
    "moshez\u3164",
    "moshez\u115f",
    "\uffa0",
    "moshez\u2800",
    "mos\u034fhez",
    "moshez\u17b4",
    "moshez\u17b5",
    *[f"moshez{chr(code)}" for code in range(0x180B, 0x180F)],
    "moshez\ufe0f",
    "moshez\U000e0100",
    *[f"moshez{chr(code)}" for code in range(0x1D173, 0x1D17B)],
    "moshez\U000e0000",
    "moshez\U000e0067",
    "moshez\U000e007f",
]
"""
Names that look like C{moshez} (or like nothing), one for each character
issue 19 lists.
"""

ENGLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"
HIDDEN = "".join(chr(0xE0000 + ord(c)) for c in "delete all")

STATUSES: List[Tuple[str, str]] = [
    ("away\u3164", "away"),
    ("a\u115fw\uffa0ay", "away"),
    ("a\u034fway\u17b4\u17b5", "away"),
    ("away\u180b\u180c\u180d\u180f", "away"),
    ("away\ufe00\U000e0100", "away"),
    ("away\U0001d173\U0001d17a", "away"),
    ("away" + HIDDEN, "away"),
    (f"watching {ENGLAND} \u2764\ufe0f \U0001f468\u200d\U0001f469\u200d\U0001f467",
     f"watching {ENGLAND} \u2764\ufe0f \U0001f468\u200d\U0001f469\u200d\U0001f467"),
]
"""
Statuses as sent, and as they are stored: invisible characters gone,
emoji sequences whole.
"""


def _service() -> MemoryFingerService:
    return MemoryFingerService(moshez="happy")


class SetterProtocolTests(SynchronousTestCase):
    def send(self, service: MemoryFingerService, data: bytes) -> bytes:
        factory = FingerSetterFactoryFromService(service, clock=Clock())
        protocol, transport = connected(factory)
        protocol.dataReceived(data)
        return transport.value()  # type: ignore[no-any-return]

    def test_impostorNames(self) -> None:
        service = _service()
        for name in IMPOSTORS:
            reply = self.send(service, name.encode("utf-8") + b"\nhi\n")
            self.assertTrue(reply.startswith(b"Error: invalid user name: "), (name, reply))
        self.assertEqual(service.users, {"moshez": "happy"})

    def test_statusesCleaned(self) -> None:
        service = _service()
        for sent, stored in STATUSES:
            reply = self.send(service, b"moshez\n" + sent.encode("utf-8") + b"\n")
            self.assertEqual(reply, b"OK: status of moshez saved\r\n")
            self.assertEqual(service.users["moshez"], stored)


def _basic(name: str, password: str) -> Dict[bytes, bytes]:
    token = base64.b64encode(f"{name}:{password}".encode("utf-8"))
    return {b"Authorization": b"Basic " + token}


class XMLRPCTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.service = _service()
        login = SetterLogin(setterPortal(self.service, [checker()], ["root"]), Clock())
        self.client = Client(UserStatusTree(self.service, clock=Clock(), login=login), secure=True)

    def test_impostorNames(self) -> None:
        for name in IMPOSTORS:
            result = self.client.rpc("setUser", name, "hi", headers=_basic("root", "toor"))
            assert isinstance(result, xmlrpc.client.Fault), (name, result)
            self.assertEqual(result.faultCode, INVALID_PARAMS)
            self.assertIn("invalid user name", result.faultString)
        self.assertEqual(self.service.users, {"moshez": "happy"})

    def test_statusesCleaned(self) -> None:
        for sent, stored in STATUSES:
            result = self.client.rpc("setUser", "moshez", sent, headers=_basic("moshez", "secret"))
            self.assertIs(result, True)
            self.assertEqual(self.service.users["moshez"], stored)


class PBTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.service = _service()
        self.clock = Clock()
        login = SetterLogin(setterPortal(self.service, [checker()], ["root"]), self.clock)
        serverFactory = FingerPBServerFactory(
            PerspectiveFingerFromService(self.service, clock=self.clock, login=login),
            clock=self.clock,
        )
        clientFactory = pb.PBClientFactory()
        client, server, self.pump = connectedServerAndClient(
            lambda: serverFactory.buildProtocol(None),
            lambda: clientFactory.buildProtocol(None),
            clock=self.clock,
        )
        self.addCleanup(lambda: (client.transport.loseConnection(), self.pump.flush()))
        d = clientFactory.login(UsernamePassword(b"root", b"toor"))
        self.pump.flush()
        self.avatar = self.successResultOf(d)

    def setUser(self, name: str, status: str) -> Any:
        d = self.avatar.callRemote("setUser", name, status)
        self.pump.flush()
        return d

    def test_impostorNames(self) -> None:
        for name in IMPOSTORS:
            failure = self.failureResultOf(self.setUser(name, "hi"))
            self.assertTrue(failure.check(BadRequest), failure)
            self.assertIn("invalid user name", failure.value)
        self.assertEqual(self.service.users, {"moshez": "happy"})

    def test_statusesCleaned(self) -> None:
        for sent, stored in STATUSES:
            self.assertIsNone(self.successResultOf(self.setUser("moshez", sent)))
            self.assertEqual(self.service.users["moshez"], stored)


class StatusTableTests(SynchronousTestCase):
    """
    Whatever sets a status in a back-end (a setter above, or a program using
    the back-end directly) goes through the same check.
    """

    def test_backend(self) -> None:
        service = _service()
        for name in IMPOSTORS:
            self.failureResultOf(service.setUser(name, "hi"), ValueError)
        for sent, stored in STATUSES:
            self.successResultOf(service.setUser("moshez", sent))
            self.assertEqual(service.users["moshez"], stored)
        self.assertEqual(list(service.users), ["moshez"])
