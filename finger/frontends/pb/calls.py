# -*- test-case-name: tests.frontends.pb.test_root -*-
"""
Which methods a PB client may call on the server's objects, and with what
arguments: a method marked with L{remote} takes calls that fit its
signature; any other call is a L{finger.pbwire.BadCall} for the client,
counted by its broker, where Twisted would log a traceback naming what the
client sent.
"""

import functools
import inspect
from typing import Any, Callable, TypeVar

from twisted.spread import pb

from finger.frontends.pb.broker import badCall


_RemoteMethod = TypeVar("_RemoteMethod", bound=Callable[..., Any])


def remote(method: _RemoteMethod) -> _RemoteMethod:
    """
    Mark a method of a L{Checked} object as one a client may call, and
    check the arguments of each call against its signature: arguments it
    does not take are a L{BadCall} for the caller, where Twisted's own call
    would raise L{TypeError} and log a traceback.
    """
    signature = inspect.signature(method)
    name = method.__name__.split("_", 1)[1]

    @functools.wraps(method)
    def checked(self: "Checked", *args: Any, **kw: Any) -> Any:
        try:
            signature.bind(self, *args, **kw)
        except TypeError as e:
            raise badCall(self.broker, f"{name}: {e}") from None
        return method(self, *args, **kw)

    checked.remotelyCallable = True  # type: ignore[attr-defined]
    return checked  # type: ignore[return-value]


class Checked:
    """
    An object a client calls through Twisted's call path, whose methods
    are each marked with L{remote}: a call to anything else is a
    L{BadCall}, where Twisted would log a traceback.

    @ivar broker: the connection it serves.
    """

    broker: pb.Broker

    def checkMethod(self, prefix: str, message: str) -> None:
        """
        Refuse a call to C{message} unless C{prefix + message} is a method
        marked with L{remote}.

        @raise BadCall: otherwise.
        """
        method = getattr(self, prefix + message, None) if message.isidentifier() else None
        if not getattr(method, "remotelyCallable", False):
            raise badCall(self.broker, f"no such method: {message!r}")


class CheckedReferenceable(Checked, pb.Referenceable):
    """
    A L{pb.Referenceable} whose C{remote_} methods are marked with
    L{remote}.
    """

    def remoteMessageReceived(self, broker: pb.Broker, message: str, args: Any, kw: Any) -> Any:
        self.checkMethod("remote_", message)
        return super().remoteMessageReceived(broker, message, args, kw)
