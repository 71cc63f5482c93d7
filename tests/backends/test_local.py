"""
Tests for L{finger.backends.local}.
"""

import os
import pwd
import subprocess
from typing import Any, Dict, List

from twisted.internet import reactor
from twisted.internet.defer import inlineCallbacks
from twisted.internet.endpoints import serverFromString
from twisted.logger import capturedLogs
from twisted.trial.unittest import SkipTest, SynchronousTestCase, TestCase
from zope.interface.verify import verifyObject

from finger.clients.finger import finger
from finger.frontends.finger import FingerFactoryFromService  # noqa: F401 (adapter)
from finger.interfaces import IFingerFactory, IFingerService, IFingerVerboseService, UnknownUser
from finger.backends.local import (
    NO_PLAN,
    LocalFingerService,
    RunningAsRoot,
    readUserFile,
)
from finger.testing import ThreadlessClock
from tests.support import which

_ME = os.getuid()
_OTHER = 4242 if _ME != 4242 else 4243


class FakeAccounts:
    """
    An account database like L{pwd}, kept in memory.
    """

    def __init__(self) -> None:
        self.entries: Dict[str, pwd.struct_passwd] = {}

    def add(
        self, name: str, uid: int, home: str, gecos: str = "", shell: str = "/bin/sh"
    ) -> None:
        self.entries[name] = pwd.struct_passwd(
            (name, "x", uid, uid, gecos, home, shell)
        )

    def getpwnam(self, name: str) -> pwd.struct_passwd:
        return self.entries[name]

    def getpwall(self) -> List[pwd.struct_passwd]:
        return list(self.entries.values())


class ReadUserFileTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.directory = self.mktemp()
        os.mkdir(self.directory)
        self.path = os.path.join(self.directory, ".plan")

    def write(self, data: bytes) -> None:
        with open(self.path, "wb") as f:
            f.write(data)

    def test_regularFile(self) -> None:
        self.write("to do: écrire\n".encode())
        self.assertEqual(readUserFile(self.path, _ME), "to do: écrire\n")

    def test_missing(self) -> None:
        self.assertIsNone(readUserFile(self.path, _ME))

    def test_symlink(self) -> None:
        """
        A symlink is never followed, even to a file the user owns.
        """
        target = os.path.join(self.directory, "real")
        with open(target, "w") as f:
            f.write("secret")
        os.symlink(target, self.path)
        self.assertIsNone(readUserFile(self.path, _ME))
        os.remove(self.path)
        os.symlink("/etc/shadow", self.path)
        self.assertIsNone(readUserFile(self.path, _ME))

    def test_fifo(self) -> None:
        """
        A FIFO with no writer does not block the read; it is refused.
        """
        os.mkfifo(self.path)
        self.assertIsNone(readUserFile(self.path, _ME))

    def test_directory(self) -> None:
        os.mkdir(self.path)
        self.assertIsNone(readUserFile(self.path, _ME))

    def test_wrongOwner(self) -> None:
        """
        A file another user owns (a hard link to it, say) is not read.
        """
        self.write(b"someone else's")
        self.assertIsNone(readUserFile(self.path, _OTHER))
        if _ME == 0:
            os.chown(self.path, _OTHER, _OTHER)
            self.assertIsNone(readUserFile(self.path, 0))
            self.assertEqual(readUserFile(self.path, _OTHER), "someone else's")

    def test_capped(self) -> None:
        self.write(b"x" * 10000)
        self.assertEqual(readUserFile(self.path, _ME, 100), "x" * 100)

    def test_undecodable(self) -> None:
        self.write(b"caf\xe9")
        self.assertEqual(readUserFile(self.path, _ME), "caf\ufffd")


class LocalFingerServiceTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.root = self.mktemp()
        os.mkdir(self.root)
        self.accounts = FakeAccounts()
        self.service = LocalFingerService(
            ThreadlessClock(), self.accounts, uidFloor=_ME, maxBytes=64
        )

    def user(self, name: str, uid: int = _ME, gecos: str = "", **files: bytes) -> str:
        home = os.path.join(self.root, name)
        os.mkdir(home)
        for filename, data in files.items():
            with open(os.path.join(home, "." + filename), "wb") as f:
                f.write(data)
        self.accounts.add(name, uid, home, gecos)
        return home

    def status(self, name: str) -> str:
        return self.successResultOf(self.service.getUser(name))  # type: ignore[no-any-return]

    def test_interfaces(self) -> None:
        self.assertTrue(verifyObject(IFingerService, self.service))
        self.assertTrue(verifyObject(IFingerVerboseService, self.service))

    def test_plan(self) -> None:
        self.user("alice", plan=b"Finish the tutorial.\nThen sleep.\n")
        self.assertEqual(self.status("alice"), "Finish the tutorial.\nThen sleep.")

    def test_noPlan(self) -> None:
        self.user("alice")
        self.assertEqual(self.status("alice"), NO_PLAN)
        self.user("bob", plan=b"  \n")
        self.assertEqual(self.status("bob"), NO_PLAN)

    def test_project(self) -> None:
        self.user("alice", plan=b"the plan", project=b"Twisted\nsecond line\n")
        self.assertEqual(self.status("alice"), "Project: Twisted\nthe plan")

    def test_capped(self) -> None:
        self.user("alice", plan=b"y" * 1000)
        self.assertEqual(self.status("alice"), "y" * 64)

    def test_hostilePlans(self) -> None:
        """
        A symlinked, FIFO or foreign C{.plan} reads as no plan at all, and
        the user is still answered.
        """
        home = self.user("alice")
        os.symlink("/etc/passwd", os.path.join(home, ".plan"))
        os.mkfifo(os.path.join(home, ".project"))
        self.assertEqual(self.status("alice"), NO_PLAN)
        self.user("bob", uid=_ME + 1, plan=b"owned by someone else")
        self.service.uidFloor = 0
        self.assertEqual(self.status("bob"), NO_PLAN)

    def test_unknown(self) -> None:
        for name in ["nobody-at-all", "", "-rf", "a@b", "x" * 100]:
            self.failureResultOf(self.service.getUser(name), UnknownUser)

    def test_noFinger(self) -> None:
        """
        A C{.nofinger} of any kind makes the user unknown, and unlisted.
        """
        self.user("alice", plan=b"secret", nofinger=b"")
        home = self.user("bob", plan=b"secret")
        os.symlink("/nonexistent", os.path.join(home, ".nofinger"))
        self.user("carol", plan=b"open")
        for name in ["alice", "bob"]:
            self.failureResultOf(self.service.getUser(name), UnknownUser)
            self.failureResultOf(self.service.getUserDetails(name), UnknownUser)
        self.assertEqual(self.successResultOf(self.service.getUsers()), ["carol"])

    def test_unsearchableHome(self) -> None:
        """
        A user whose home this process cannot search might have opted out,
        so is unknown.
        """
        notADirectory = os.path.join(self.root, "file")
        open(notADirectory, "w").close()
        self.accounts.add("alice", _ME, notADirectory)
        self.accounts.add("bob", _ME, "/nonexistent\x00")
        for name in ["alice", "bob"]:
            self.failureResultOf(self.service.getUser(name), UnknownUser)

    def test_uidFloor(self) -> None:
        """
        System accounts, below the floor, and C{nobody} are neither
        answered nor listed.
        """
        self.service.uidFloor = 1000
        self.user("daemon", uid=1)
        self.user("nobody", uid=65534)
        self.user("alice", uid=1000)
        for name in ["daemon", "nobody"]:
            self.failureResultOf(self.service.getUser(name), UnknownUser)
        self.assertEqual(self.successResultOf(self.service.getUsers()), ["alice"])

    def test_exactName(self) -> None:
        """
        An account database that matches names loosely (case-insensitive
        NSS modules do) does not make another name an alias.
        """
        self.user("alice")
        self.accounts.entries["ALICE"] = self.accounts.entries["alice"]
        self.failureResultOf(self.service.getUser("ALICE"), UnknownUser)

    def test_details(self) -> None:
        home = self.user(
            "alice",
            gecos="& Liddell,Room 1,,",
            plan=b"one\ntwo\n",
            project=b"Wonderland",
        )
        self.assertEqual(
            self.successResultOf(self.service.getUserDetails("alice")),
            [
                ("Login", "alice"),
                ("Name", "Alice Liddell"),
                ("Directory", home),
                ("Shell", "/bin/sh"),
                ("Project", "Wonderland"),
                ("Plan", "\none\ntwo"),
            ],
        )

    def test_listing(self) -> None:
        self.user("alice")
        self.user("bad:name")
        self.user("bob")
        self.assertEqual(
            self.successResultOf(self.service.getUsers()), ["alice", "bob"]
        )

    def test_startLogsWhatIsServed(self) -> None:
        """
        Starting logs one line saying where statuses come from, with the
        uid floor.
        """
        service = LocalFingerService(ThreadlessClock(), self.accounts, euid=lambda: 1000)
        with capturedLogs() as events:
            service.startService()
        [line] = events
        self.assertEqual(line["uidFloor"], 1000)
        self.assertIn("accounts", line["log_format"])

    def test_refusesRoot(self) -> None:
        """
        The service will not start as root.
        """
        service = LocalFingerService(ThreadlessClock(), self.accounts, euid=lambda: 0)
        self.assertRaises(RunningAsRoot, service.startService)
        self.assertFalse(service.running)
        service = LocalFingerService(
            ThreadlessClock(), self.accounts, euid=lambda: 1000
        )
        service.startService()
        self.assertTrue(service.running)


class RealAccountTests(TestCase):
    """
    Through the finger protocol on loopback, with a real account created for
    the test (as root) or the fake database.
    """

    timeout = 20

    def realUser(self) -> Any:
        if os.getuid() != 0 or which("useradd") is None:
            raise SkipTest("creating an account needs root and useradd")
        name = f"fgt{os.getpid() % 100000}"
        home = os.path.abspath(self.mktemp())
        os.makedirs(os.path.dirname(home), exist_ok=True)
        subprocess.run(
            [
                which("useradd"),
                "-m",
                "-d",
                home,
                "-c",
                "Finger Test",
                "-s",
                "/bin/sh",
                name,
            ],
            check=True,
            capture_output=True,
        )
        self.addCleanup(
            subprocess.run, [which("userdel"), "-r", name], capture_output=True
        )
        entry = pwd.getpwnam(name)
        plan = os.path.join(home, ".plan")
        with open(plan, "w") as f:
            f.write("Testing finger.\x1b[2J\n")
        os.chown(plan, entry.pw_uid, entry.pw_gid)
        return entry

    @inlineCallbacks
    def serve(self, service: LocalFingerService) -> Any:
        port = yield serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(
            IFingerFactory(service)
        )
        self.addCleanup(port.stopListening)
        return port.getHost().port

    @inlineCallbacks
    def test_realAccount(self) -> Any:
        entry = self.realUser()
        service = LocalFingerService(reactor, uidFloor=entry.pw_uid, euid=lambda: 1000)
        port = yield self.serve(service)
        answer = yield finger(entry.pw_name, "127.0.0.1", port)
        self.assertEqual(answer, "Testing finger.[2J\r\n")
        answer = yield finger(entry.pw_name, "127.0.0.1", port, verbose=True)
        self.assertEqual(
            answer,
            f"Login: {entry.pw_name}\r\nName: Finger Test\r\n"
            f"Directory: {entry.pw_dir}\r\nShell: /bin/sh\r\n"
            "Plan: \r\nTesting finger.[2J\r\n",
        )
        answer = yield finger("root", "127.0.0.1", port)
        self.assertEqual(answer, "No such user\r\n")

    @inlineCallbacks
    def test_fakeAccounts(self) -> Any:
        root = self.mktemp()
        os.makedirs(os.path.join(root, "alice"))
        with open(os.path.join(root, "alice", ".plan"), "w") as f:
            f.write("Down the rabbit hole.")
        accounts = FakeAccounts()
        accounts.add("alice", _ME, os.path.join(root, "alice"))
        service = LocalFingerService(reactor, accounts, uidFloor=0, euid=lambda: 1000)
        port = yield self.serve(service)
        answer = yield finger("alice", "127.0.0.1", port)
        self.assertEqual(answer, "Down the rabbit hole.\r\n")
        answer = yield finger("", "127.0.0.1", port)
        self.assertEqual(answer, "alice: Down the rabbit hole.\r\n")
