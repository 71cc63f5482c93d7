"""
Tests for L{finger.reactor}.
"""

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from finger.reactor import orGlobalReactor


class OrGlobalReactorTests(SynchronousTestCase):
    def test_clockGiven(self) -> None:
        """
        A clock that was given is the one used.
        """
        clock = Clock()
        self.assertIs(orGlobalReactor(clock), clock)

    def test_none(self) -> None:
        """
        L{None} means the global reactor, as for a front-end or a back-end
        built with its defaults.
        """
        from twisted.internet import reactor

        self.assertIs(orGlobalReactor(None), reactor)
