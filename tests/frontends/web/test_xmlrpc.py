# -*- test-case-name: tests.frontends.web.test_xmlrpc -*-
"""
Tests for L{finger.frontends.web.xmlrpc}: XML-RPC at C{/RPC2}, and
C{setUser} behind its login gate, called with L{xmlrpc.client}'s own
encoding over an in-memory connection.
"""

import base64
import xmlrpc.client
from typing import Dict, List, Tuple

from twisted.cred.checkers import (
    ICredentialsChecker,
    InMemoryUsernamePasswordDatabaseDontUse,
)
from twisted.cred.credentials import IUsernamePassword
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import capturedLogs, formatEvent
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.resource import IResource
from zope.interface import implementer

from finger.auth import FAILED_LOGIN_DELAY, SetterLogin, setterPortal
from finger.backends.memory import MemoryFingerService
from finger.frontends.web.pages import UserStatusTree
from finger.frontends.web.site import MAX_BODY_BYTES
from finger.frontends.web.xmlrpc import (
    INVALID_PARAMS,
    INVALID_REQUEST,
    NEEDS_HTTPS,
    NEEDS_LOGIN,
    NOT_ALLOWED,
    NOT_SAVED,
    XMLRPCGate,
)
from finger.interfaces import IFingerService, IFingerSetterService, StatusNotSaved, UnknownUser
from finger.messages import (
    INTERNAL_ERROR,
    LISTING_DENIED,
    NO_SUCH_USER,
    SETTING_NEEDS_AUTH,
    SETTING_NEEDS_HTTPS,
    SETTING_NEEDS_LOGIN,
    SET_TIMED_OUT,
    XMLRPC_DOCUMENT_TYPE,
    XMLRPC_NOT_A_CALL,
)
from tests.frontends.web.helpers import (
    Client,
    assertLeavingCancels,
    billionLaughs,
    sampleService,
    xmlrpcCall,
)
from finger.testing import BrokenService


class _AskedService(MemoryFingerService):
    """
    A back-end that records the names it is asked about.
    """

    def __init__(self, **users: str) -> None:
        super().__init__(**users)
        self.asked: List[str] = []

    def getUser(self, user: str) -> "Deferred[str]":
        self.asked.append(user)
        return super().getUser(user)


class XMLRPCTests(SynchronousTestCase):
    """
    XML-RPC at C{/RPC2}, called with L{xmlrpc.client}'s own encoding.
    """

    def setUp(self) -> None:
        self.client = Client(IResource(sampleService()))

    def test_getUser(self) -> None:
        """
        C{getUser} returns the status, non-ASCII included.
        """
        self.assertEqual(self.client.rpc("getUser", "moshez"), "happy & <well>")
        self.assertEqual(self.client.rpc("getUser", "zoë"), "in Paris – café")

    def test_getUserUnknown(self) -> None:
        """
        An unknown user, or a name that cannot be one, is "No such user".
        """
        self.assertEqual(self.client.rpc("getUser", "nobody"), NO_SUCH_USER)
        self.assertEqual(self.client.rpc("getUser", ""), NO_SUCH_USER)
        self.assertEqual(self.client.rpc("getUser", "a b"), NO_SUCH_USER)

    def test_getUsers(self) -> None:
        """
        C{getUsers} lists every user.
        """
        self.assertEqual(
            sorted(self.client.rpc("getUsers")),  # type: ignore[call-overload]
            sorted(["moshez", "zoë", "a/b", "RPC2"]),
        )

    def test_getUsersUnlisted(self) -> None:
        """
        With listing off (C{--no-listing}), C{getUsers} is refused as the
        finger protocol refuses an empty query; C{getUser} still answers.
        """
        client = Client(UserStatusTree(sampleService(), listUsers=False))
        self.assertFault(client.rpc("getUsers"), NOT_ALLOWED, LISTING_DENIED)
        self.assertEqual(client.rpc("getUser", "moshez"), "happy & <well>")

    def test_controlCharacters(self) -> None:
        """
        A status's control characters, which XML cannot carry, are dropped.
        """
        service = sampleService()
        service.users["moshez"] = "bell\x07 and escape\x1b"
        client = Client(IResource(service))
        self.assertEqual(client.rpc("getUser", "moshez"), "bell and escape")

    def assertFault(self, result: object, code: int, message: str) -> None:
        self.assertIsInstance(result, xmlrpc.client.Fault)
        assert isinstance(result, xmlrpc.client.Fault)
        self.assertEqual((result.faultCode, result.faultString), (code, message))

    def test_wrongArguments(self) -> None:
        """
        Wrong argument counts or types are faults that say what is expected.
        """
        expected = "getUser takes one argument, a user name (a string); got "
        self.assertFault(self.client.rpc("getUser"), -32602, expected + "none")
        self.assertFault(self.client.rpc("getUser", 7), -32602, expected + "1 argument (int)")
        self.assertFault(
            self.client.rpc("getUser", "a", "b"),
            -32602,
            expected + "2 arguments (string, string)",
        )
        self.assertFault(self.client.rpc("getUser", ["x"]), -32602, expected + "1 argument (array)")
        self.assertFault(
            self.client.rpc("getUser", {"a": 1}), -32602, expected + "1 argument (struct)"
        )
        self.assertFault(
            self.client.rpc("getUsers", 1.5),
            -32602,
            "getUsers takes no arguments; got 1 argument (double)",
        )
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_unknownMethod(self) -> None:
        """
        An unknown method is a fault.
        """
        self.assertFault(
            self.client.rpc("deleteUser", "a"), -32601, "procedure deleteUser not found"
        )

    def test_noSetUser(self) -> None:
        """
        Without a login (C{--auth}), C{setUser} does not exist, even over
        HTTPS; the fault says what it would take, and
        C{system.listMethods} does not list it.
        """
        for client in [self.client, Client(IResource(sampleService()), secure=True)]:
            self.assertFault(client.rpc("setUser", "moshez", "sad"), -32601, SETTING_NEEDS_AUTH)
            self.assertNotIn("setUser", client.rpc("system.listMethods"))  # type: ignore[operator]

    def test_garbage(self) -> None:
        """
        A body that is not XML-RPC is a fault, not a 500.
        """
        code, headers, body = self.client.request(b"/RPC2", {}, b"POST", b"<not-xml-rpc")
        self.assertEqual(code, 200)
        with self.assertRaises(xmlrpc.client.Fault) as caught:
            xmlrpc.client.loads(body)
        self.assertIn("Can't deserialize input", caught.exception.faultString)

    def test_backendFailure(self) -> None:
        """
        A failing back-end is a fault saying "Internal error in server"; the
        failure is logged.
        """
        client = Client(IResource(BrokenService()))
        self.assertFault(client.rpc("getUser", "moshez"), -32603, INTERNAL_ERROR)
        self.assertFault(client.rpc("getUsers"), -32603, INTERNAL_ERROR)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 2)

    def test_clientGoesAway(self) -> None:
        """
        If the caller disconnects before the back-end answers, the lookup is
        cancelled and nothing is logged as an error.
        """
        assertLeavingCancels(
            self,
            [
                lambda client: client.rpcSend("getUser", "moshez"),
                lambda client: client.rpcSend("getUsers"),
            ],
            ["moshez", "*"],
        )

    def test_introspection(self) -> None:
        """
        C{system.listMethods} and C{system.methodHelp} describe the methods.
        """
        methods = self.client.rpc("system.listMethods")
        self.assertIn("getUser", methods)  # type: ignore[operator]
        self.assertIn("getUsers", methods)  # type: ignore[operator]
        self.assertEqual(
            self.client.rpc("system.methodHelp", "getUser"),
            'getUser(name): the status of the user called name, or "No such user".',
        )

    def test_introspectionDescribesItself(self) -> None:
        """
        The introspection methods are listed, and describe themselves with
        their signatures and help.
        """
        methods = self.client.rpc("system.listMethods")
        for name in ["system.listMethods", "system.methodHelp", "system.methodSignature"]:
            self.assertIn(name, methods)  # type: ignore[operator]
            self.assertTrue(self.client.rpc("system.methodSignature", name))
            help = self.client.rpc("system.methodHelp", name)
            self.assertIn(name, help)  # type: ignore[operator]
        self.assertEqual(
            self.client.rpc("system.methodSignature", "system.methodHelp"), [["string", "string"]]
        )

    def test_introspectionWrongArguments(self) -> None:
        """
        Introspection with wrong argument types or counts is a fault that
        says what is expected, and nothing is logged as an error.
        """
        name = "takes one argument, a method name (a string); got"
        calls: List[Tuple[str, Tuple[object, ...], str]] = [
            ("system.methodSignature", (1,), f"{name} 1 argument (int)"),
            ("system.methodSignature", (), f"{name} none"),
            ("system.methodHelp", (["getUser"],), f"{name} 1 argument (array)"),
            ("system.methodHelp", ("getUser", "getUsers"), f"{name} 2 arguments (string, string)"),
            ("system.methodHelp", (b"x",), f"{name} 1 argument (base64)"),
            ("system.listMethods", (1,), "takes no arguments; got 1 argument (int)"),
        ]
        with capturedLogs() as events:
            for method, args, expected in calls:
                self.assertFault(
                    self.client.rpc(method, *args), INVALID_PARAMS, f"{method} {expected}"
                )
        self.assertEqual(self.flushLoggedErrors(), [])
        self.assertEqual([e for e in events if e["log_level"].name in ("error", "critical")], [])

    def test_introspectionUnknownMethod(self) -> None:
        """
        Introspection about a method that does not exist is the unknown
        method fault.
        """
        for name in ["deleteUser", "system.nothing", "nothing.getUser", "", "system."]:
            result = self.client.rpc("system.methodHelp", name)
            self.assertIsInstance(result, xmlrpc.client.Fault, name)
            self.assertEqual(result.faultCode, -32601)  # type: ignore[attr-defined]
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_notACall(self) -> None:
        """
        XML-RPC that is not a call (a response, or a call without a method
        name) is a fault, not a 500 with a traceback in the log.
        """
        for body in [
            b"<methodCall><params/></methodCall>",
            xmlrpc.client.dumps(("moshez",), methodresponse=True).encode("utf-8"),
        ]:
            self.assertFault(self.post(self.client, body), INVALID_REQUEST, XMLRPC_NOT_A_CALL)
        self.assertEqual(self.flushLoggedErrors(), [])

    def post(self, client: Client, body: bytes) -> object:
        """
        POST C{body} to C{/RPC2}; the result or fault it is answered with.
        """
        return client.rpcResult(
            client.send(b"/RPC2", {b"Content-Type": b"text/xml"}, b"POST", body).value()
        )

    def test_entityBomb(self) -> None:
        """
        A "billion laughs" is refused with a fault saying document types
        are not accepted, before its entities are expanded: the method is
        never called, and one line is logged, with the caller's address and
        no traceback.
        """
        service = _AskedService(moshez="happy")
        client = Client(IResource(service))
        with capturedLogs() as events:
            result = self.post(client, xmlrpcCall("getUser", "&lol9;", billionLaughs()).encode("utf-8"))
        self.assertFault(result, INVALID_REQUEST, XMLRPC_DOCUMENT_TYPE)
        self.assertEqual(service.asked, [])
        [event] = [e for e in events if "document type" in formatEvent(e)]
        self.assertEqual(event["log_level"].name, "info")
        self.assertEqual(event["peer"], "127.0.0.1:5000")
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_entityBombUTF16(self) -> None:
        """
        A "billion laughs" in UTF-16 is refused as well.
        """
        body = xmlrpcCall("getUser", "&lol9;", billionLaughs())
        body = body.replace('version="1.0"', 'version="1.0" encoding="UTF-16"')
        result = self.post(self.client, body.encode("utf-16"))
        self.assertFault(result, INVALID_REQUEST, XMLRPC_DOCUMENT_TYPE)

    def test_entityNotExpanded(self) -> None:
        """
        An entity that would expand to a user's name is never expanded:
        the back-end is never asked about the name.
        """
        service = _AskedService(moshez="happy")
        client = Client(IResource(service))
        body = xmlrpcCall("getUser", "&who;", '<!DOCTYPE methodCall [<!ENTITY who "moshez">]>')
        result = self.post(client, body.encode("utf-8"))
        self.assertFault(result, INVALID_REQUEST, XMLRPC_DOCUMENT_TYPE)
        self.assertEqual(service.asked, [])
        self.assertEqual(self.post(client, xmlrpcCall("getUser", "moshez").encode("utf-8")), "happy")
        self.assertEqual(service.asked, ["moshez"])

    def test_documentType(self) -> None:
        """
        A document type without entities, or naming an external one (the
        way to read the server's files), is refused too.
        """
        for prolog in [
            "<!DOCTYPE methodCall>",
            '<!DOCTYPE methodCall SYSTEM "file:///etc/passwd">',
            '<!DOCTYPE methodCall [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
        ]:
            body = xmlrpcCall("getUser", "&x;" if "ENTITY" in prolog else "moshez", prolog)
            self.assertFault(
                self.post(self.client, body.encode("utf-8")), INVALID_REQUEST, XMLRPC_DOCUMENT_TYPE
            )

    def test_deepArrays(self) -> None:
        """
        Arrays nested as deeply as the largest body allows are wrong
        arguments, a fault like any other; nothing is logged as an error.
        """
        depth = (MAX_BODY_BYTES - 200) // len("<array><data><value></value></data></array>")
        value = "<array><data><value>" * depth + "</value></data></array>" * depth
        body = (
            "<methodCall><methodName>getUser</methodName><params><param><value>"
            f"{value}</value></param></params></methodCall>"
        ).encode("ascii")
        self.assertLessEqual(len(body), MAX_BODY_BYTES)
        self.assertFault(
            self.post(self.client, body),
            INVALID_PARAMS,
            "getUser takes one argument, a user name (a string); got 1 argument (array)",
        )
        self.assertEqual(self.flushLoggedErrors(), [])


@implementer(ICredentialsChecker)
class _RecordingChecker:
    """
    A checker that records every credentials it is asked about, and passes
    them on to a real one.
    """

    credentialInterfaces = (IUsernamePassword,)

    def __init__(self, checker: ICredentialsChecker) -> None:
        self.checker = checker
        self.asked: List[bytes] = []

    def requestAvatarId(self, credentials: IUsernamePassword) -> "Deferred[bytes]":
        self.asked.append(credentials.username)
        return self.checker.requestAvatarId(credentials)  # type: ignore[no-any-return]


@implementer(IFingerService, IFingerSetterService)
class _HeldSetter:
    """
    A back-end whose saves wait until the test fires them.
    """

    def __init__(self) -> None:
        self.saves: List[Tuple[str, str, "Deferred[None]"]] = []

    def getUser(self, user: str) -> "Deferred[str]":
        return fail(UnknownUser(user))

    def getUsers(self) -> "Deferred[List[str]]":
        return succeed([])

    def setUser(self, user: str, status: str) -> "Deferred[None]":
        d: "Deferred[None]" = Deferred()
        self.saves.append((user, status, d))
        return d


def _basic(name: str, password: str) -> Dict[bytes, bytes]:
    token = base64.b64encode(f"{name}:{password}".encode("utf-8"))
    return {b"Authorization": b"Basic " + token}


class XMLRPCSettingTests(SynchronousTestCase):
    """
    C{setUser} over XML-RPC with a login (C{--auth}): HTTP Basic over HTTPS,
    through the setter's L{SetterLogin}, admins and delay.
    """

    def setUp(self) -> None:
        self.service = MemoryFingerService(moshez="happy", shawn="alive", **{"zoë": "là"})
        checker = InMemoryUsernamePasswordDatabaseDontUse(moshez=b"secret", root=b"toor")
        checker.addUser("zoë".encode(), "mot de passe".encode())
        self.checker = _RecordingChecker(checker)
        self.clock = Clock()
        self.login = SetterLogin(setterPortal(self.service, [self.checker], ["root"]), self.clock)
        self.tree = UserStatusTree(self.service, clock=self.clock, login=self.login)
        self.https = Client(self.tree, secure=True)
        self.http = Client(self.tree)

    def assertFault(self, result: object, code: int, message: str) -> None:
        self.assertIsInstance(result, xmlrpc.client.Fault)
        assert isinstance(result, xmlrpc.client.Fault)
        self.assertEqual((result.faultCode, result.faultString), (code, message))

    def test_gate(self) -> None:
        """
        C{/RPC2} is an L{XMLRPCGate} with the login.
        """
        gate = self.tree.children[b"RPC2"]
        assert isinstance(gate, XMLRPCGate)
        self.assertIs(gate.login, self.login)

    def test_ownStatus(self) -> None:
        """
        A user logged in over HTTPS sets their own status: C{True}, and the
        back-end has it; it is logged with who and from where.
        """
        with capturedLogs() as events:
            result = self.https.rpc("setUser", "moshez", "busy", headers=_basic("moshez", "secret"))
        self.assertIs(result, True)
        self.assertEqual(self.service.users["moshez"], "busy")
        [event] = [e for e in events if "over XML-RPC" in formatEvent(e)]
        self.assertEqual(
            (event["user"], event["login"], event["peer"]), ("moshez", "moshez", "127.0.0.1:5000")
        )

    def test_utf8(self) -> None:
        """
        A UTF-8 name and password log in; a non-ASCII status is set.
        """
        result = self.https.rpc("setUser", "zoë", "à Paris", headers=_basic("zoë", "mot de passe"))
        self.assertIs(result, True)
        self.assertEqual(self.service.users["zoë"], "à Paris")

    def test_readingStillWorks(self) -> None:
        """
        A logged-in user can read too.
        """
        headers = _basic("moshez", "secret")
        self.assertEqual(self.https.rpc("getUser", "shawn", headers=headers), "alive")
        self.assertIn("setUser", self.https.rpc("system.listMethods", headers=headers))  # type: ignore[operator]

    def test_notAllowed(self) -> None:
        """
        A user who is not an admin may not set someone else's status: a
        fault saying so, nothing changed, and a warning in the log.
        """
        with capturedLogs() as events:
            result = self.https.rpc(
                "setUser", "shawn", "hacked", headers=_basic("moshez", "secret")
            )
        self.assertFault(result, NOT_ALLOWED, "not allowed: moshez may not set the status of shawn")
        self.assertEqual(self.service.users["shawn"], "alive")
        self.assertTrue(any("may not set" in e.get("log_format", "") for e in events))

    def test_admin(self) -> None:
        """
        An admin sets anyone's status.
        """
        result = self.https.rpc("setUser", "shawn", "away", headers=_basic("root", "toor"))
        self.assertIs(result, True)
        self.assertEqual(self.service.users["shawn"], "away")

    def test_anonymousHTTPS(self) -> None:
        """
        Over HTTPS without credentials, reading works and C{setUser} is a
        fault saying it needs a login.
        """
        self.assertEqual(self.https.rpc("getUser", "moshez"), "happy")
        self.assertEqual(sorted(self.https.rpc("getUsers")), ["moshez", "shawn", "zoë"])  # type: ignore[call-overload]
        self.assertFault(self.https.rpc("setUser", "moshez", "x"), NEEDS_LOGIN, SETTING_NEEDS_LOGIN)
        self.assertEqual(self.service.users["moshez"], "happy")

    def test_plainHTTP(self) -> None:
        """
        Over plain HTTP, C{setUser} is a fault saying it needs HTTPS, even
        with good credentials, which are never checked; reading works, even
        with wrong credentials, and answers at once.
        """
        self.assertFault(
            self.http.rpc("setUser", "moshez", "x", headers=_basic("moshez", "secret")),
            NEEDS_HTTPS,
            SETTING_NEEDS_HTTPS,
        )
        self.assertFault(self.http.rpc("setUser", "moshez", "x"), NEEDS_HTTPS, SETTING_NEEDS_HTTPS)
        self.assertEqual(
            self.http.rpc("getUser", "moshez", headers=_basic("moshez", "wrong")), "happy"
        )
        self.assertIn("setUser", self.http.rpc("system.listMethods"))  # type: ignore[operator]
        self.assertEqual(self.checker.asked, [])
        self.assertEqual(self.service.users["moshez"], "happy")

    def test_wrongPassword(self) -> None:
        """
        A wrong password or an unknown name over HTTPS is a 401 with a Basic
        challenge, only after the login delay, and is logged without the
        password.
        """
        for name, password in [("moshez", "wrong"), ("nobody", "secret")]:
            with capturedLogs() as events:
                transport = self.https.rpcSend("setUser", name, "x", headers=_basic(name, password))
            self.assertEqual(transport.value(), b"")
            self.clock.advance(FAILED_LOGIN_DELAY - 0.1)
            self.assertEqual(transport.value(), b"")
            self.clock.advance(0.1)
            code, headers, body = Client.parse(transport.value())
            self.assertEqual(code, 401)
            self.assertEqual(headers[b"www-authenticate"], b'basic realm="finger"')
            self.assertNotIn(password.encode(), body)
            [event] = [e for e in events if "Failed login" in e.get("log_format", "")]
            self.assertEqual((event["name"], event["peer"]), (name, "127.0.0.1:5000"))
            self.assertNotIn(password, repr(event))
        self.assertEqual(self.service.users["moshez"], "happy")
        self.assertEqual(self.checker.asked, [b"moshez", b"nobody"])

    def test_malformedAuthorization(self) -> None:
        """
        An C{Authorization} header that is not HTTP Basic, or not decodable,
        is a 401 at once: no password was checked.
        """
        for value in [b"Bearer abc", b"Basic !!!", b"Basic " + base64.b64encode(b"nocolon")]:
            code, _, _ = self.https.request(b"/RPC2", {b"Authorization": value}, b"POST", b"<x/>")
            self.assertEqual(code, 401, value)
        self.assertEqual(self.checker.asked, [])

    def test_invalidArguments(self) -> None:
        """
        Wrong arguments, an invalid name or an invalid status are faults
        saying why; nothing changes.
        """
        headers = _basic("root", "toor")
        self.assertFault(
            self.https.rpc("setUser", "moshez", headers=headers),
            INVALID_PARAMS,
            "setUser takes two arguments, a user name and a status (strings); "
            "got 1 argument (string)",
        )
        self.assertFault(
            self.https.rpc("setUser", "moshez", 3, headers=headers),
            INVALID_PARAMS,
            "setUser takes two arguments, a user name and a status (strings); "
            "got 2 arguments (string, int)",
        )
        self.assertFault(
            self.https.rpc("setUser", "a b", "x", headers=headers),
            INVALID_PARAMS,
            "invalid user name: a user name may not contain whitespace",
        )
        self.assertFault(
            self.https.rpc("setUser", "moshez", "two\nlines", headers=headers),
            INVALID_PARAMS,
            "invalid status: a status may not contain control characters",
        )
        self.assertEqual(self.service.users["moshez"], "happy")

    def test_trueOnlyWhenDurable(self) -> None:
        """
        C{True} comes only once the back-end's save has fired.
        """
        held = _HeldSetter()
        login = SetterLogin(setterPortal(held, [self.checker], []), self.clock)
        tree = UserStatusTree(held, clock=self.clock, login=login)
        client = Client(tree, secure=True)
        transport = client.rpcSend("setUser", "moshez", "busy", headers=_basic("moshez", "secret"))
        [(user, status, d)] = held.saves
        self.assertEqual((user, status), ("moshez", "busy"))
        self.assertEqual(transport.value(), b"")
        d.callback(None)
        self.assertIs(client.rpcResult(transport.value()), True)

    def test_notSaved(self) -> None:
        """
        A save that fails with L{StatusNotSaved} is a fault saying to try
        again later, without the back-end's details; any other failure is
        an internal error, logged.
        """
        held = _HeldSetter()
        login = SetterLogin(setterPortal(held, [self.checker], []), self.clock)
        tree = UserStatusTree(held, clock=self.clock, login=login)
        client = Client(tree, secure=True)
        headers = _basic("moshez", "secret")
        transport = client.rpcSend("setUser", "moshez", "busy", headers=headers)
        held.saves[0][2].errback(StatusNotSaved("disk full at /secret/path"))
        self.assertFault(
            client.rpcResult(transport.value()),
            NOT_SAVED,
            "the status could not be saved; try again later",
        )
        transport = client.rpcSend("setUser", "moshez", "busy", headers=headers)
        held.saves[1][2].errback(RuntimeError("the disk is on fire"))
        self.assertFault(client.rpcResult(transport.value()), -32603, INTERNAL_ERROR)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_saveTimesOut(self) -> None:
        """
        A save the back-end does not confirm within the tree's
        C{lookupTimeout} is a fault saying the status may not have been
        saved; the save is cancelled and a warning logged.
        """
        held = _HeldSetter()
        login = SetterLogin(setterPortal(held, [self.checker], []), self.clock)
        tree = UserStatusTree(held, clock=self.clock, login=login, lookupTimeout=3.0)
        client = Client(tree, secure=True)
        with capturedLogs() as events:
            transport = client.rpcSend(
                "setUser", "moshez", "busy", headers=_basic("moshez", "secret")
            )
            self.clock.advance(2.9)
            self.assertEqual(transport.value(), b"")
            self.clock.advance(0.1)
        self.assertFault(client.rpcResult(transport.value()), NOT_SAVED, SET_TIMED_OUT)
        self.assertEqual(len([e for e in events if e["log_level"].name == "warn"]), 1)
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_everyMethodWrongArguments(self) -> None:
        """
        Every method, called with arguments of the wrong type or number by
        someone allowed to call it, answers the wrong-arguments fault, and
        nothing is logged as an error.
        """
        headers = _basic("root", "toor")
        methods = self.https.rpc("system.listMethods", headers=headers)
        assert isinstance(methods, list)
        self.assertEqual(
            sorted(methods),
            [
                "getUser",
                "getUsers",
                "setUser",
                "system.listMethods",
                "system.methodHelp",
                "system.methodSignature",
            ],
        )
        wrong: List[Tuple[object, ...]] = [({},), (1, 2.5, b"x"), (["a"], "b"), (True,)]
        for method in methods:
            for args in wrong:
                result = self.https.rpc(method, *args, headers=headers)
                assert isinstance(result, xmlrpc.client.Fault), (method, args, result)
                self.assertEqual(result.faultCode, INVALID_PARAMS, (method, args))
        self.assertEqual(self.service.users["moshez"], "happy")
        self.assertEqual(self.flushLoggedErrors(), [])

    def sendLogin(self, name: str, password: str, status: str) -> Tuple[object, "StringTransport"]:
        """
        Begin a C{setUser(name, status)} over HTTPS, logged in as C{name};
        return the connection's protocol and transport.
        """
        protocol, transport = self.https.connect()
        call = xmlrpc.client.dumps((name, status), "setUser").encode("utf-8")
        [(key, value)] = _basic(name, password).items()
        head = b"POST /RPC2 HTTP/1.0\r\nContent-Length: %d\r\n%s: %s\r\n\r\n" % (
            len(call),
            key,
            value,
        )
        protocol.dataReceived(head + call)  # type: ignore[attr-defined]
        return protocol, transport

    def test_queuedLoginCancelled(self) -> None:
        """
        A login waiting for its turn (behind a failed one for the same
        account) whose caller goes away is cancelled: it leaves the queue
        unchecked, its call is never made, and nothing is logged as an
        error.
        """
        _, first = self.sendLogin("moshez", "wrong", "x")
        protocol, second = self.sendLogin("moshez", "secret", "gone")
        self.assertEqual(self.checker.asked, [b"moshez"])
        protocol.connectionLost(Failure(ConnectionError("gone")))  # type: ignore[attr-defined]
        self.clock.advance(FAILED_LOGIN_DELAY)
        self.assertEqual(Client.parse(first.value())[0], 401)
        self.assertEqual(second.value(), b"")
        self.assertEqual(self.checker.asked, [b"moshez"])
        self.assertEqual(self.service.users["moshez"], "happy")
        self.assertEqual(self.login.turns, {})
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_failedLoginLeft(self) -> None:
        """
        A caller who goes away while a failed login waits out its delay
        gets nothing, and nothing is logged as an error; the login keeps its
        turn until the delay is over, so the next guess waits as long.
        """
        protocol, first = self.sendLogin("moshez", "wrong", "x")
        protocol.connectionLost(Failure(ConnectionError("gone")))  # type: ignore[attr-defined]
        _, second = self.sendLogin("moshez", "secret", "busy")
        self.clock.advance(FAILED_LOGIN_DELAY - 0.1)
        self.assertEqual((first.value(), second.value()), (b"", b""))
        self.assertEqual(self.checker.asked, [b"moshez"])
        self.clock.advance(0.1)
        self.assertIs(self.https.rpcResult(second.value()), True)
        self.assertEqual(first.value(), b"")
        self.assertEqual(self.service.users["moshez"], "busy")
        self.assertEqual(self.login.turns, {})
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_introspection(self) -> None:
        """
        C{system.methodHelp} describes C{setUser}.
        """
        self.assertIn("HTTPS", self.https.rpc("system.methodHelp", "setUser"))  # type: ignore[operator]
        self.assertEqual(
            self.https.rpc("system.methodSignature", "setUser"),
            [["boolean", "string", "string"]],
        )
