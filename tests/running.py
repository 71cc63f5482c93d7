# -*- test-case-name: tests.clients.test_pb,tests.frontends.test_irc,tests.frontends.test_pb -*-
"""
Running the whole service, as C{twistd finger} builds it, on loopback ports
for integration tests.
"""

import os
import socket
import subprocess
from typing import Any, List

from twisted.application.service import IService
from twisted.trial.unittest import SynchronousTestCase, TestCase

from finger.app import tap
from tests.support import CHECKOUT, TWISTD, cleanEnvironment, waitFor

STATUSES = "moshez: happy and well\nzoë: à Paris ☕\n"

LOOPBACK = "tcp:0:interface=127.0.0.1"
"""
An endpoint on a free loopback port.
"""


def onLoopback(*options: str) -> List[str]:
    """
    The arguments that put the listener of each of C{options} (such as
    C{"--webport"}) on a free loopback port (L{LOOPBACK}).
    """
    return [word for option in options for word in (option, LOOPBACK)]


def startFinger(testCase: TestCase, *args: str, setter: bool = False) -> IService:
    """
    Start C{makeService} with a status file holding L{STATUSES}, every
    listener on a free loopback port (see L{tests.support.listeningPort}),
    no setter (unless C{setter}: then it too, on a free loopback port), a
    failed login (with C{--auth}) answered at once rather than after the
    real delay, and C{args}, which win over these; stop it when the test
    ends.

    @return: the started service.
    """
    from twisted.internet import reactor

    directory = testCase.mktemp()
    os.makedirs(directory)
    path = os.path.join(directory, "users")
    with open(path, "w", encoding="utf-8") as f:
        f.write(STATUSES)
    argv: List[str] = [
        "--file",
        path,
        *onLoopback("--fingerport", "--webport", "--pbport"),
        *(onLoopback("--setterport") if setter else ["--no-setter"]),
        "--login-delay=0.01",
        *args,
    ]
    options = tap.Options()
    options.parseOptions(argv)
    top: Any = tap.makeService(options, reactor)
    top.privilegedStartService()
    top.startService()
    testCase.addCleanup(top.stopService)
    return top  # type: ignore[no-any-return]


def parseFinger(testCase: SynchronousTestCase, *argv: str) -> tap.Options:
    """
    C{twistd finger}'s options, parsed from C{argv} after a C{--file} naming
    a new status file of one user, for the tests of how C{makeService}
    wires a front-end.
    """
    path = testCase.mktemp()
    with open(path, "w") as f:
        f.write("moshez: happy\n")
    options = tap.Options()
    options.parseOptions(["--file", path, *argv])
    return options


async def spawnFinger(
    testCase: TestCase, directory: str, setterPort: int, *args: str, timeout: float = 30
) -> "subprocess.Popen[bytes]":
    """
    Run C{twistd finger} as its own process in C{directory}, logging to
    C{directory}/twistd.log, with finger and the web site on free loopback ports,
    no PB, the setter on 127.0.0.1:C{setterPort}, and C{args}; wait until
    the setter listens, and stop the process (SIGTERM, then SIGKILL after
    10 s) when the test ends.
    """
    from twisted.internet import reactor

    log = os.path.join(directory, "twistd.log")
    process = subprocess.Popen(
        TWISTD
        + ["--nodaemon", "--pidfile=", "--logfile", log, "finger", "--no-pb"]
        + onLoopback("--fingerport", "--webport")
        + ["--setterport", f"tcp:{setterPort}:interface=127.0.0.1", *args],
        cwd=directory,
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

    testCase.addCleanup(stop)

    def listening() -> bool:
        if process.poll() is not None:
            testCase.fail(f"twistd exited with {process.returncode}; see {log}")
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", setterPort)) == 0

    await waitFor(reactor, listening, "the setter to listen", timeout=timeout)
    return process


def statusDirectory(testCase: TestCase, statuses: str = "moshez: happy and well\n") -> str:
    """
    Make a directory for a test's service, with a status file C{users}
    holding C{statuses}.

    @return: the directory's absolute path.
    """
    directory = os.path.abspath(testCase.mktemp())
    os.makedirs(directory)
    with open(os.path.join(directory, "users"), "w", encoding="utf-8") as f:
        f.write(statuses)
    return directory
