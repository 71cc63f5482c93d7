# -*- test-case-name: tests.frontends.pb -*-
"""
The finger service over Perspective Broker, Twisted's remote object
protocol, so that Twisted programs can ask for statuses with a method call::

    factory = pb.PBClientFactory()
    endpoint.connect(factory)
    root = await factory.getRootObject()
    status = await root.callRemote("getUser", "moshez")   # "happy and well"
    users = await root.callRemote("getUsers")             # ["moshez", ...]

Results are plain L{str} and L{list}.  Asking for an unknown user fails
remotely with L{NoSuchUser}, whose message is L{NO_SUCH_USER}; the client
sees a failure for which C{failure.check(NoSuchUser)} is true, so a user
whose status happens to read "No such user" is still told apart.  A name
that is not a L{str} fails with L{BadRequest}.  The tutorial's service
answered the string C{"No such user"} instead; a remote error says the same
thing without ambiguity.  How long the back-end may take, and what a client
hears when it fails, is L{finger.lookup}'s policy.

Serve it with L{FingerPBServerFactory}, whose L{FingerBroker} bounds what a
client may send and the work it causes, at Twisted's own hooks: a client
whose first bytes do not choose PB's dialect is dropped at the first wrong
byte; one that has not logged in may send L{MAX_BYTES_BEFORE_LOGIN} bytes
(a login is a few hundred) and L{MAX_MESSAGES_BEFORE_LOGIN} messages;
messages are bounded in length, items and depth; Banana decodes at most
L{DECODE_BYTES} of one connection's input in one turn of the reactor; and a
connection may send L{BYTES_PER_SECOND} bytes a second.  A client that
breaks a limit is dropped with one line in the log, not a traceback.

Setting a status
================

With C{twistd finger --auth ...}, a client may also log in, in the standard
PB way, with the same names, passwords and admins as the setter
(L{finger.auth}), and set a status through the avatar it gets back::

    avatar = await factory.login(UsernamePassword(b"moshez", b"secret"))
    await avatar.callRemote("setUser", "moshez", "Giving a tutorial")

Twisted's own PB login checks the password: the root object hands the
C{login} call to the root object of a L{Portal} (C{pb.IPBRoot(portal)}),
whose checker is the setter's L{SetterLogin}.

The avatar also answers C{getUser} and C{getUsers}.  C{setUser} answers once
the status is durable.  A user may set only their own status unless they are
an admin (L{PermissionDenied} otherwise); a wrong name or password fails with
L{LoginRefused} (message L{LOGIN_FAILED}, which a client may also catch as
L{twisted.cred.error.UnauthorizedLogin}) only after the login's delay, and
is logged (a connection has one login under way at a time, and a challenge
takes one answer, so guesses do not run in parallel on one connection); an
invalid name or status fails with L{BadRequest} saying why; a save that did
not happen with L{NotSaved}.  Without C{--auth}, or when the C{--auth}
checkers cannot check PB's challenge-response (C{--auth unix} cannot),
logging in fails at once with L{LoginNotOffered}.

PB's login sends no password: the server sends a random challenge and the
client answers with an MD5 digest of it and the password.  Anyone who sees
both may still guess the password offline, so PB listens on loopback unless
told otherwise (C{--pbport}); serve it over TLS (C{--pbport ssl:...}) where
that matters.

Run C{python -m finger.clients.pb} for a client a person can use.

Where each part lives
=====================

  - L{finger.pbwire}: the port, and the remote errors, which the client
    imports too; they keep their names in this package, as they travel by
    name;
  - L{finger.frontends.pb.limits}: what a client may send (L{BrokerLimits});
  - L{finger.frontends.pb.broker}: the connections (L{FingerBroker}) and
    their factory (L{FingerPBServerFactory});
  - L{finger.frontends.pb.calls}: which methods a client may call;
  - L{finger.frontends.pb.root}: the root and its lookups
    (L{PerspectiveFingerFromService}, the adapter);
  - L{finger.frontends.pb.login}: logging in, and the avatar that sets
    statuses (L{SetterPerspective}).
"""

from finger.frontends.pb.broker import FingerBroker, FingerPBServerFactory
from finger.frontends.pb.limits import (
    BURST_BYTES,
    BYTES_PER_SECOND,
    DECODE_BYTES,
    MAX_BAD_CALLS,
    MAX_BYTES_BEFORE_LOGIN,
    MAX_DEPTH,
    MAX_ITEMS,
    MAX_ITEMS_BEFORE_LOGIN,
    MAX_MESSAGE_BYTES,
    MAX_MESSAGES_BEFORE_LOGIN,
    BrokerLimits,
)
from finger.frontends.pb.login import SetterPerspective
from finger.frontends.pb.root import PerspectiveFingerFromService
from finger.lookup import LOOKUP_TIMEOUT
from finger.messages import NOT_SAVED, TIMED_OUT
from finger.pbwire import (
    DEFAULT_PORT,
    BadCall,
    BadRequest,
    LoginNotOffered,
    LoginRefused,
    NoSuchUser,
    NotAvailable,
    NotSaved,
    PermissionDenied,
)

__all__ = [
    "DEFAULT_PORT",
    "LOOKUP_TIMEOUT",
    "BURST_BYTES",
    "BYTES_PER_SECOND",
    "DECODE_BYTES",
    "MAX_BAD_CALLS",
    "MAX_BYTES_BEFORE_LOGIN",
    "MAX_DEPTH",
    "MAX_ITEMS",
    "MAX_ITEMS_BEFORE_LOGIN",
    "MAX_MESSAGE_BYTES",
    "MAX_MESSAGES_BEFORE_LOGIN",
    "NOT_SAVED",
    "TIMED_OUT",
    "BadCall",
    "BadRequest",
    "BrokerLimits",
    "FingerBroker",
    "FingerPBServerFactory",
    "LoginNotOffered",
    "LoginRefused",
    "NoSuchUser",
    "NotAvailable",
    "NotSaved",
    "PermissionDenied",
    "PerspectiveFingerFromService",
    "SetterPerspective",
]
