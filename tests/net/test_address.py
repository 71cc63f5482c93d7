"""
Tests for L{finger.net.address}.
"""

from twisted.internet.testing import MemoryReactor
from twisted.trial.unittest import SynchronousTestCase

from finger.net.address import InvalidAddress, checkedClientDescription, clientDescription


class ClientDescriptionTests(SynchronousTestCase):
    def test_host(self) -> None:
        """A value without a colon is a host on the default port."""
        self.assertEqual(
            clientDescription("irc.example.org", 6667), "tcp:host=irc.example.org:port=6667"
        )
        self.assertEqual(clientDescription("127.0.0.1", 8889), "tcp:host=127.0.0.1:port=8889")

    def test_hostPort(self) -> None:
        """One colon followed by digits is a host and a port."""
        self.assertEqual(clientDescription("localhost:7000", 6667), "tcp:host=localhost:port=7000")

    def test_ipv6(self) -> None:
        """IPv6 addresses, bare or in brackets, have their colons escaped."""
        self.assertEqual(clientDescription("[::1]:7000", 6667), r"tcp:host=\:\:1:port=7000")
        self.assertEqual(
            clientDescription("[2001:db8::1]", 6667), r"tcp:host=2001\:db8\:\:1:port=6667"
        )
        self.assertEqual(clientDescription("::1", 6667), r"tcp:host=\:\:1:port=6667")

    def test_endpoint(self) -> None:
        """Anything else is an endpoint description, passed on as it is."""
        for value in ["tls:irc.example.org:6697", "unix:/run/irc.sock", "tcp:host=h:port=1"]:
            self.assertEqual(clientDescription(value, 6667), value)

    def test_invalid(self) -> None:
        """Bad brackets, empty hosts and ports out of range are refused."""
        for value in [
            "[irc.example.org]:6667",
            "[::1",
            "[::1]:",
            "[::1]x",
            ":6667",
            "h:0",
            "h:65536",
            "",
            "a b",
        ]:
            self.assertRaises(InvalidAddress, clientDescription, value, 6667)


class CheckedClientDescriptionTests(SynchronousTestCase):
    def test_checked(self) -> None:
        """
        A value that makes no endpoint is refused, saying what was expected.
        """
        reactor = MemoryReactor()
        self.assertEqual(
            checkedClientDescription("irc.example.org", 6667, reactor),
            "tcp:host=irc.example.org:port=6667",
        )
        for bad in ["tls:", "bogus:x", "[::1"]:
            error = self.assertRaises(
                InvalidAddress, checkedClientDescription, bad, 6667, reactor
            )
            self.assertIn("is not a host, host:port", str(error))
