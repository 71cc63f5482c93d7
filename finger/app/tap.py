# -*- test-case-name: tests.app.test_tap -*-
"""
C{twistd finger}: the command-line options, and L{makeService}, which
twistd calls with them.

Each role keeps its option table and the frozen record its options are
read into in a module of its own beside this one (L{finger.app.backend},
L{finger.app.finger}, L{finger.app.setter}, L{finger.app.web},
L{finger.app.pb}, L{finger.app.irc}, L{finger.app.login},
L{finger.app.listening}, L{finger.app.workers}, L{finger.app.metrics}); L{Options} puts the tables
together and, once parsed, reads them into one L{Config}, from which
L{finger.app.compose.makeService} builds the service.
"""

import os
import sys
from typing import List, Optional, Sequence

from twisted.application import service
from twisted.cred import strcred
from twisted.cred.credentials import IUsernamePassword
from twisted.python import usage

from finger.app import (
    backend,
    compose,
    finger,
    irc,
    listening,
    login,
    metrics,
    pb,
    setter,
    web,
    workers,
)
from finger.app.config import Config


class Options(usage.Options, strcred.AuthOptionMixin):
    """
    Options for C{twistd finger}.

    Each C{--*port} option takes a port number or an endpoint description
    (C{tcp:79:interface=\\:\\:}, C{unix:/run/finger.sock}, C{systemd:domain=INET:index=0}).
    A bare port number for the setter or Perspective Broker listens on
    127.0.0.1 and ::1 only, as their defaults do: anything that changes data stays
    on loopback unless the operator writes out an interface.

    @ivar config: what the options say, checked and frozen; there once
        the options are parsed, and the options are never changed after.
    """

    supportedInterfaces = [IUsernamePassword]
    synopsis = "[options]"
    longdesc = (
        "Serve users' statuses from a status file over the finger protocol "
        "(RFC 1288) and let local users set their status on the setter port.  "
        "--backend chooses another source of statuses; only the status file "
        "and the database (--backend=sql) can be set, so the other back-ends "
        "run no setter.  user@host queries "
        "are refused unless --forward-allow names hosts to forward to."
    )

    # In the order --help lists them.
    optParameters = [
        *backend.optParameters,
        *finger.optParameters,
        *setter.optParameters,
        *web.optParameters,
        *login.optParameters,
        *listening.optParameters,
        *pb.optParameters,
        *irc.optParameters,
        *workers.optParameters,
        *metrics.optParameters,
    ]
    optFlags = [
        *backend.optFlags,
        *finger.optFlags,
        *setter.optFlags,
        *web.optFlags,
        *login.optFlags,
        *listening.optFlags,
        *pb.optFlags,
        *irc.optFlags,
        *workers.optFlags,
        *metrics.optFlags,
    ]

    config: Config
    _arguments: Sequence[str] = ()

    def parseOptions(self, options: Optional[List[str]] = None) -> None:
        """
        Parse and check C{options}.

        Run by twistd (as its C{finger} command), a mistake is told in a few
        lines, the reasons first, with a pointer to C{--help}, on standard
        error, and twistd exits with status 1: twistd itself would print
        the whole option list before the one useful line.

        @raise usage.UsageError: for a mistake, when not run by twistd.
        @raise SystemExit: for a mistake, when run by twistd.
        """
        # The command line, for the workers of --workers, which parse it again.
        self._arguments = tuple(sys.argv[1:] if options is None else options)
        try:
            super().parseOptions(options)
        except usage.UsageError as e:
            if not isinstance(self.parent, usage.Options):
                # Not a command of twistd's options.
                raise
            sys.stderr.write(usageError(e))
            raise SystemExit(1) from None

    def opt_auth(self, description: str) -> None:
        """
        Specify an authentication method for the server.
        """
        kind, _, argument = description.partition(":")
        if kind == "file":
            problem = fileProblem(argument)
            if problem is not None:
                raise usage.UsageError(f"--auth: the password file {argument} {problem}")
        super().opt_auth(description)

    def postOptions(self) -> None:
        from twisted.internet import reactor

        self.config = Config.fromOptions(self, reactor, self._arguments)


def fileProblem(path: str) -> Optional[str]:
    """
    What keeps C{path} from being read as a file of settings, or L{None}.
    """
    if not os.path.exists(path):
        return "does not exist"
    if not os.path.isfile(path):
        return "is not a regular file"
    if not os.access(path, os.R_OK):
        return "is not readable"
    return None


def usageError(error: usage.UsageError, command: str = "twistd finger") -> str:
    """
    What a user is told of a mistake on the command line: each reason on a
    line of its own, then where the options are listed.
    """
    reasons = str(error).strip() or "the options are wrong"
    # What twistd's option parser puts before a coercer's own reason.
    reasons = reasons.replace("Parameter type enforcement failed: ", "")
    lines = [f"{command}: {reason}" for reason in reasons.splitlines()]
    return "\n".join([*lines, f"Run '{command} --help' for the options.", ""])


def makeService(
    options: Options, reactor: Optional[object] = None, backend: Optional[service.IService] = None
) -> service.MultiService:
    """
    Build the finger service that parsed C{options} describe (see
    L{finger.app.compose.makeService}).

    @param options: parsed L{Options}.
    @param reactor: the reactor to listen with; the global one if L{None}.
    @param backend: the back-end to serve; the one the options chose if
        L{None}.
    """
    if reactor is None:
        from twisted.internet import reactor as globalReactor

        reactor = globalReactor
    return compose.makeService(options.config, reactor, backend)
