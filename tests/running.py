# -*- test-case-name: tests.clients.test_pb,tests.frontends.test_irc -*-
"""
Running the whole service, as C{twistd finger} builds it, on loopback ports
for integration tests.
"""

import os
from typing import Any, List

from twisted.application.service import IService
from twisted.trial.unittest import TestCase

from finger.app import tap

STATUSES = "moshez: happy and well\nzoë: à Paris ☕\n"


def startFinger(testCase: TestCase, *args: str) -> IService:
    """
    Start C{makeService} with a status file holding L{STATUSES}, every
    listener on a free loopback port (see L{tests.support.listeningPort}),
    no setter, a failed login (with C{--auth}) answered at once rather than
    after the real delay, and C{args}, which win over these; stop it when
    the test ends.

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
        "--fingerport",
        "tcp:0:interface=127.0.0.1",
        "--webport",
        "tcp:0:interface=127.0.0.1",
        "--pbport",
        "tcp:0:interface=127.0.0.1",
        "--no-setter",
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
