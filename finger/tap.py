# -*- test-case-name: tests.test_tap -*-
"""
C{twistd finger}: the command-line options and L{makeService}, the one place
that knows every front-end.
"""

import codecs
import importlib
import os
from typing import Any, Optional, cast

from twisted.application import service
from twisted.internet.endpoints import serverFromString
from twisted.python import usage

from finger.fingerd import FingerFactoryFromService
from finger.interfaces import IFingerFactory, IFingerSetterFactory
from finger.listen import ListeningService, portDescription
from finger.service import FingerService
from finger.setter import FingerSetterFactoryFromService
from finger.statusfile import StatusFileError


def _positive(value: str) -> float:
    number = float(value)
    if not number > 0 or number == float("inf"):
        raise ValueError("must be a positive number of seconds")
    return number


_positive.coerceDoc = "A positive number of seconds."  # type: ignore[attr-defined]


class Options(usage.Options):
    """
    Options for C{twistd finger}.

    Each C{--*port} option takes a port number or an endpoint description
    (C{tcp:79:interface=::}, C{unix:/run/finger.sock}, C{systemd:domain=INET:index=0}).
    A bare port number for the setter listens on 127.0.0.1 only, as its
    default does: anything that changes data stays on loopback unless the
    operator writes out an interface.
    """

    synopsis = "[options]"
    longdesc = (
        "Serve users' statuses from a status file over the finger protocol "
        "(RFC 1288) and let local users set their status on the setter port."
    )

    optParameters = [
        ["file", "f", "/etc/users", "The status file: one 'user: status' per line."],
        [
            "fingerport",
            None,
            "tcp:79",
            "Where the finger protocol listens: a port or an endpoint description.",
        ],
        [
            "setterport",
            None,
            "tcp:1079:interface=127.0.0.1",
            "Where the status setter listens: a port (on 127.0.0.1) or an "
            "endpoint description.",
        ],
        [
            "interval",
            None,
            30.0,
            "Seconds between checks of the status file for changes.",
            _positive,
        ],
        [
            "timeout",
            None,
            60.0,
            "Seconds a finger or setter client has to send its request.",
            _positive,
        ],
    ]

    optFlags = [
        [
            "no-listing",
            None,
            "Refuse to list users for an empty finger query (RFC 1288 3.2.2).",
        ],
        ["no-setter", None, "Do not run the status setter."],
    ]

    def postOptions(self) -> None:
        from twisted.internet import reactor

        self["fingerport"] = self._endpoint(reactor, "fingerport", "")
        self["setterport"] = self._endpoint(reactor, "setterport", "127.0.0.1")
        path = self["file"]
        if not os.access(path, os.R_OK):
            reason = "does not exist" if not os.path.exists(path) else "is not readable"
            raise usage.UsageError(f"--file: the status file {path} {reason}")

    def _endpoint(self, reactor: Any, option: str, interface: str) -> str:
        description = portDescription(self[option], interface)
        try:
            serverFromString(reactor, description)
        except Exception as e:
            raise usage.UsageError(
                f"--{option}: {description!r} is not a port or an endpoint "
                f"description: {e}"
            ) from None
        return description


_CODECS = ("utf-8", "latin-1", "ascii", "idna")
_LAZY_MODULES = ("idna",)


def preload() -> None:
    """
    Load now what the service would otherwise load on first use.

    twistd (C{--uid}) and C{finger.tac} drop privileges after binding; from
    then on the process may not be able to read its own Python installation
    (a virtualenv under C{/root} is common), and a codec or module imported
    lazily would fail in the middle of a request.
    """
    for name in _CODECS:
        codecs.lookup(name)
    for module in _LAZY_MODULES:
        try:
            importlib.import_module(module)
        except ImportError:
            pass


def makeService(options: Options, reactor: Optional[Any] = None) -> service.MultiService:
    """
    Build the finger service: the status file back-end and every listener,
    under one L{service.MultiService}.

    @param options: parsed L{Options}.
    @param reactor: the reactor to listen with; the global one if L{None}.
    """
    if reactor is None:
        from twisted.internet import reactor as globalReactor

        reactor = globalReactor
    preload()
    top = service.MultiService()
    try:
        backend = FingerService(options["file"], options["interval"], reactor)
    except StatusFileError as e:
        raise usage.UsageError(f"--file: {e}") from None
    backend.setName("backend")
    backend.setServiceParent(top)

    fingerFactory = cast(FingerFactoryFromService, IFingerFactory(backend))
    fingerFactory.clock = reactor
    fingerFactory.timeout = options["timeout"]
    fingerFactory.listUsers = not options["no-listing"]
    fingerService = ListeningService(
        reactor, options["fingerport"], fingerFactory, "--fingerport"
    )
    fingerService.setName("finger")
    fingerService.setServiceParent(top)

    if not options["no-setter"]:
        setterFactory = cast(FingerSetterFactoryFromService, IFingerSetterFactory(backend))
        setterFactory.clock = reactor
        setterFactory.timeout = options["timeout"]
        setterService = ListeningService(
            reactor, options["setterport"], setterFactory, "--setterport"
        )
        setterService.setName("setter")
        setterService.setServiceParent(top)
    return top
