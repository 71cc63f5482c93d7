# -*- test-case-name: tests.app.test_tap -*-
"""
C{twistd finger}: the command-line options and L{makeService}, the one place
that sees every front-end and back-end.

Each role keeps its own option table, its checks and what it builds in a
module of its own beside this one (L{finger.app.backend},
L{finger.app.finger}, L{finger.app.setter}, L{finger.app.web},
L{finger.app.pb}, L{finger.app.irc}, L{finger.app.login},
L{finger.app.listening}); L{Options} puts the tables together.
"""

import codecs
import importlib
import sys
from typing import Any, List, Mapping, Optional

from twisted.application import service
from twisted.cred import strcred
from twisted.cred.credentials import IUsernamePassword
from twisted.python import usage

from finger.app import backend as backendModule
from finger.app import finger, irc, listening, login, pb, setter, web, workers

_ROLES: List[Any] = [backendModule, finger, setter, web, login, listening, pb, irc, workers]
"""
The modules whose options L{Options} takes, in the order C{--help} lists
them and their checks run.
"""


class Options(usage.Options, strcred.AuthOptionMixin):
    """
    Options for C{twistd finger}.

    Each C{--*port} option takes a port number or an endpoint description
    (C{tcp:79:interface=\\:\\:}, C{unix:/run/finger.sock}, C{systemd:domain=INET:index=0}).
    A bare port number for the setter or Perspective Broker listens on
    127.0.0.1 and ::1 only, as their defaults do: anything that changes data stays
    on loopback unless the operator writes out an interface.
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

    optParameters = [row for role in _ROLES for row in role.optParameters]
    optFlags = [row for role in _ROLES for row in role.optFlags]

    loadedTemplates: Any = None
    tlsOptions: Any = None
    # The ::1 listener of each port option given as a bare number on
    # loopback (finger.app.listening.endpointOption); replaced, never changed.
    ipv6Loopback: Mapping[str, str] = {}
    argv: List[str] = []
    makeListener: Any = None

    def parseOptions(self, options: Optional[List[str]] = None) -> None:
        # Kept for the workers of --workers, which parse the same command line.
        self.argv = list(sys.argv[1:] if options is None else options)
        super().parseOptions(options)

    def postOptions(self) -> None:
        from twisted.internet import reactor

        for role in _ROLES:
            for option, interface in getattr(role, "ports", {}).items():
                listening.endpointOption(self, reactor, option, interface)
            check = getattr(role, "checkOptions", None)
            if check is not None:
                check(self, reactor)


_CODECS = ("utf-8", "latin-1", "ascii", "idna")
# What the request paths of the front-ends import on first use, found by
# serving one request of each kind in a fresh process and listing the modules
# that appeared (tests/app/test_preload.py does it again on every run):
# email.policy (with email.headerregistry, email.contentmanager and
# email._header_value_parser), which email.message.EmailMessage imports when
# twisted.web parses the Content-Type of a request with a body (an XML-RPC
# POST); idna by hostname checks.
_LAZY_MODULES = ("idna", "email.policy")


def preload() -> None:
    """
    Load now what the service would otherwise load on first use.

    twistd (C{--uid}) and C{finger.tac} drop privileges after binding; from
    then on the process may not be able to read its own Python installation
    (a virtualenv under C{/root} is common), and a codec or module imported
    lazily would fail in the middle of a request: the first XML-RPC call
    failed so.  C{tests/app/test_preload.py} serves a request of every kind
    (finger, setter, web page, JSON, XML-RPC, PB) in a fresh process and
    checks that none imports a module after this.
    """
    for name in _CODECS:
        codecs.lookup(name)
    for module in _LAZY_MODULES:
        try:
            importlib.import_module(module)
        except ImportError:
            pass


def makeService(
    options: Options, reactor: Optional[Any] = None, backend: Optional[service.IService] = None
) -> service.MultiService:
    """
    Build the finger service: the back-end and every listener, under one
    L{service.MultiService}.  The setter runs only with a back-end that can
    set statuses.

    @param options: parsed L{Options}.
    @param reactor: the reactor to listen with; the global one if L{None}.
    @param backend: the back-end to serve; the one the options chose if
        L{None}.
    """
    if reactor is None:
        from twisted.internet import reactor as globalReactor

        reactor = globalReactor
    preload()
    top = service.MultiService()
    supervisor = workers.makeSupervisor(options, reactor)
    if backend is None:
        backend = backendModule.makeBackend(options, reactor)
    backend.setName("backend")
    if supervisor is None or options["ircserver"] is not None:
        backend.setServiceParent(top)
    parts = listening.Assembly(
        top, backend, options, reactor, login.makeLogin(backend, options, reactor)
    )
    for role in _ROLES:
        addTo = getattr(role, "addTo", None)
        if addTo is not None:
            addTo(parts)
    if supervisor is not None:
        # After the listeners: they listen before it starts the workers.
        supervisor.setServiceParent(top)
    return top
