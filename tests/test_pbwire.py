"""
Tests for L{finger.pbwire}: the remote errors keep the names they travel
under, whichever module defines them.
"""

from typing import Any, List

from twisted.internet.task import Clock
from twisted.python.reflect import namedAny, qual
from twisted.spread import pb
from twisted.test.iosim import connectedServerAndClient
from twisted.trial.unittest import SynchronousTestCase

from finger import pbwire
from finger.backends.memory import MemoryFingerService
from finger.frontends.pb import FingerPBServerFactory, PerspectiveFingerFromService

_ERRORS = [
    pbwire.BadCall,
    pbwire.BadRequest,
    pbwire.LoginNotOffered,
    pbwire.LoginRefused,
    pbwire.NoSuchUser,
    pbwire.NotAvailable,
    pbwire.NotSaved,
    pbwire.PermissionDenied,
]


class WireNameTests(SynchronousTestCase):
    def test_names(self) -> None:
        """
        Every remote error is named, as PB sends its name, as it was when
        L{finger.frontends.pb} defined it, and that name finds the class.
        """
        self.assertEqual(
            sorted(name for name in pbwire.__all__ if name[0].isupper() and "_" not in name),
            sorted(error.__name__ for error in _ERRORS),
        )
        for error in _ERRORS:
            self.assertTrue(issubclass(error, pb.Error), error)
            self.assertEqual(qual(error), f"finger.frontends.pb.{error.__name__}")
            self.assertIs(namedAny(qual(error)), error)

    def test_sent(self) -> None:
        """
        What a client receives for an unknown user, and for a malformed
        call, names the errors so.
        """
        clock = Clock()
        factory = FingerPBServerFactory(
            PerspectiveFingerFromService(MemoryFingerService(), clock=clock), clock=clock
        )
        clientFactory = pb.PBClientFactory()
        client, server, pump = connectedServerAndClient(
            lambda: factory.buildProtocol(None), lambda: clientFactory.buildProtocol(None)
        )
        roots: List[Any] = []
        clientFactory.getRootObject().addCallback(roots.append)
        pump.flush()
        unknown = roots[0].callRemote("getUser", "nobody")
        malformed = roots[0].callRemote("nonsense")
        pump.flush()
        failure = self.failureResultOf(unknown)
        self.assertEqual(failure.type, b"finger.frontends.pb.NoSuchUser")
        self.assertEqual(failure.parents[:2], ["finger.frontends.pb.NoSuchUser", qual(pb.Error)])
        failure = self.failureResultOf(malformed)
        self.assertEqual(failure.type, b"finger.frontends.pb.BadCall")
        self.assertIn("finger.frontends.pb.BadRequest", failure.parents)
