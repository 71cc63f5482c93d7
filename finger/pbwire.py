# -*- test-case-name: tests.test_pbwire -*-
"""
What the finger service's Perspective Broker server and its clients agree
on: the port, and the remote errors the server answers with.

Both sides import this module, and nothing else of each other: the server
(L{finger.frontends.pb}) raises these errors, the client
(L{finger.clients.pb}) tells them apart, and a client loads no part of the
server.

A remote error travels by name.  PB sends a failure as the fully qualified
name of its exception class (L{twisted.python.reflect.qual}) and those of
the classes it inherits from; a client's C{failure.check(NoSuchUser)}
compares them with the name of its own class.  These errors were first
defined in L{finger.frontends.pb}, and clients know them by that name, so
each keeps it: its C{__module__} is L{WIRE_MODULE}, where the server still
exports it, whatever module defines it.  Renaming one would break every
client that checks for it.
"""

from twisted.cred.error import UnauthorizedLogin
from twisted.spread import pb

__all__ = [
    "DEFAULT_PORT",
    "WIRE_MODULE",
    "BadCall",
    "BadRequest",
    "LoginNotOffered",
    "LoginRefused",
    "NoSuchUser",
    "NotAvailable",
    "NotSaved",
    "PermissionDenied",
]

DEFAULT_PORT = 8889
"""
The port the server listens on, and the client connects to, unless told
otherwise.
"""

WIRE_MODULE = "finger.frontends.pb"
"""
The module the errors' wire names are in: where the server defined them
first, and still exports them.
"""


class NoSuchUser(pb.Error):
    """
    The service does not know this user.  Sent to the PB client, which sees
    it as a remote failure.
    """

    __module__ = WIRE_MODULE


class BadRequest(pb.Error):
    """
    A remote call's arguments are not what the method takes, or a name or
    status that cannot be stored.  The message says why.
    """

    __module__ = WIRE_MODULE


class BadCall(BadRequest):
    """
    A malformed call: an unknown method, arguments the method does not take,
    or arguments the server cannot read.  A client sees a L{BadRequest}; the
    server counts these, and drops a connection that makes too many.
    """

    __module__ = WIRE_MODULE


class LoginRefused(pb.Error, UnauthorizedLogin):
    """
    Wrong name or password; the message is always
    L{finger.messages.LOGIN_FAILED}.  It is an L{UnauthorizedLogin} too, so
    a client that checks for that, as PB clients do, recognises it.
    """

    __module__ = WIRE_MODULE


class LoginNotOffered(pb.Error):
    """
    This server does not let anyone log in over PB.
    """

    __module__ = WIRE_MODULE


class PermissionDenied(pb.Error):
    """
    The logged-in user may not set this user's status.
    """

    __module__ = WIRE_MODULE


class NotSaved(pb.Error):
    """
    The status could not be made durable; nothing changed.
    """

    __module__ = WIRE_MODULE


class NotAvailable(pb.Error):
    """
    The service cannot answer yet: it has not read its statuses since it
    started (L{finger.interfaces.StatusesNotAvailable}); the message is
    L{finger.messages.NOT_AVAILABLE_YET}.  Asking again later helps.
    """

    __module__ = WIRE_MODULE
