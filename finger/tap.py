# -*- test-case-name: tests.test_tap -*-
"""
C{twistd finger}: the command-line options and L{makeService}, the one place
that knows every front-end.
"""

import os
from typing import Any, Optional

from twisted.application import service
from twisted.internet.endpoints import serverFromString
from twisted.python import usage

from finger.fingerd import FingerFactoryFromService  # noqa: F401 (adapter)
from finger.interfaces import IFingerFactory, IFingerSetterFactory
from finger.listen import ListeningService, portDescription
from finger.service import FingerService
from finger.setter import FingerSetterFactoryFromService  # noqa: F401 (adapter)
from finger.statusfile import StatusFileError

# IRC bot and Perspective Broker (issue 4):
from twisted.application.internet import ClientService  # noqa: E402
from twisted.internet.endpoints import clientFromString  # noqa: E402
from twisted.spread.pb import PBServerFactory  # noqa: E402

from finger import irc  # noqa: E402 (and its adapter)
from finger.address import InvalidAddress, clientDescription  # noqa: E402
from finger.interfaces import IIRCClientFactory, IPerspectiveFinger  # noqa: E402
from finger.pb import PerspectiveFingerFromService  # noqa: E402, F401 (adapter)


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
        # IRC bot and Perspective Broker (issue 4):
        [
            "ircserver",
            None,
            None,
            "The IRC server the bot joins: a host (port 6667), host:port, "
            "[IPv6 address]:port, or a client endpoint description "
            "(tls:irc.example.org:6697).  No bot unless given.",
        ],
        ["ircnick", "n", "fingerbot", "The IRC bot's nickname."],
        [
            "ircchannels",
            None,
            None,
            "Channels for the IRC bot to join, separated by commas ('#a,#b').  "
            "None unless given: the bot answers private messages.",
        ],
        [
            "ircretry",
            None,
            60.0,
            "The most seconds between attempts to reconnect to the IRC server.",
            _positive,
        ],
        [
            "pbport",
            "p",
            "tcp:8889",
            "Where Perspective Broker listens: a port or an endpoint description.",
        ],
    ]

    optFlags = [
        [
            "no-listing",
            None,
            "Refuse to list users for an empty finger query (RFC 1288 3.2.2).",
        ],
        ["no-setter", None, "Do not run the status setter."],
        # IRC bot and Perspective Broker (issue 4):
        ["no-pb", None, "Do not serve Perspective Broker."],
    ]

    def postOptions(self) -> None:
        from twisted.internet import reactor

        self["fingerport"] = self._endpoint(reactor, "fingerport", "")
        self["setterport"] = self._endpoint(reactor, "setterport", "127.0.0.1")
        self._checkIRCAndPB(reactor)  # issue 4
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
            )
        return description

    # IRC bot and Perspective Broker (issue 4) -------------------------------

    def _checkIRCAndPB(self, reactor: Any) -> None:
        self["pbport"] = self._endpoint(reactor, "pbport", "")
        if not irc.isValidNickname(self["ircnick"]):
            raise usage.UsageError(
                f"--ircnick: {self['ircnick']!r} is not an IRC nickname: a letter "
                "or one of []\\`_^{|} first, then letters, digits, those and '-', "
                f"at most {irc.MAX_NICKNAME_LENGTH} characters"
            )
        channels = [c.strip() for c in (self["ircchannels"] or "").split(",") if c.strip()]
        for channel in channels:
            if not irc.isValidChannel(channel):
                raise usage.UsageError(
                    f"--ircchannels: {channel!r} is not a channel name: it starts "
                    "with #, &, + or ! and has no spaces, commas or control characters"
                )
        self["ircchannels"] = channels
        server = self["ircserver"]
        if server is None:
            if channels:
                raise usage.UsageError("--ircchannels: needs --ircserver")
            return
        try:
            description = clientDescription(server, irc.DEFAULT_PORT)
            clientFromString(reactor, description)
        except (InvalidAddress, ValueError, TypeError, KeyError) as e:
            raise usage.UsageError(
                f"--ircserver: {server!r} is not a host, host:port, [IPv6 "
                f"address]:port or client endpoint description: {e}"
            ) from None
        self["ircserver"] = description


def _addIRCAndPB(
    top: service.MultiService, backend: Any, options: Options, reactor: Any
) -> None:
    """
    Serve Perspective Broker and run the IRC bot, as the options say.
    """
    if not options["no-pb"]:
        ListeningService(
            reactor,
            options["pbport"],
            PBServerFactory(IPerspectiveFinger(backend)),
            "--pbport",
        ).setServiceParent(top)
    if options["ircserver"] is not None:
        ircFactory = IIRCClientFactory(backend)
        ircFactory.nickname = options["ircnick"]
        ircFactory.channels = options["ircchannels"]
        ircFactory.clock = reactor
        ircFactory.maxDelay = options["ircretry"]
        ClientService(
            clientFromString(reactor, options["ircserver"]),
            ircFactory,
            retryPolicy=ircFactory.retryDelay,
            clock=reactor,
        ).setServiceParent(top)


# End of IRC bot and Perspective Broker -------------------------------------


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
    top = service.MultiService()
    try:
        backend = FingerService(options["file"], options["interval"], reactor)
    except StatusFileError as e:
        raise usage.UsageError(f"--file: {e}") from None
    backend.setServiceParent(top)

    fingerFactory = IFingerFactory(backend)
    fingerFactory.clock = reactor
    fingerFactory.timeout = options["timeout"]
    fingerFactory.listUsers = not options["no-listing"]
    ListeningService(
        reactor, options["fingerport"], fingerFactory, "--fingerport"
    ).setServiceParent(top)

    if not options["no-setter"]:
        setterFactory = IFingerSetterFactory(backend)
        setterFactory.clock = reactor
        setterFactory.timeout = options["timeout"]
        ListeningService(
            reactor, options["setterport"], setterFactory, "--setterport"
        ).setServiceParent(top)
    _addIRCAndPB(top, backend, options, reactor)  # issue 4
    return top
