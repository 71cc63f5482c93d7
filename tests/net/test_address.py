"""
Tests for L{finger.net.address}.
"""

from twisted.internet.testing import MemoryReactor
from twisted.trial.unittest import SynchronousTestCase

from finger.net.address import (
    InvalidAddress,
    checkedClientDescription,
    clientDescription,
    parseHostPort,
)


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
            error = self.assertRaises(InvalidAddress, checkedClientDescription, bad, 6667, reactor)
            self.assertIn("is not a host, host:port", str(error))


class ParseHostPortTests(SynchronousTestCase):
    """
    L{parseHostPort}: the same grammar, for a host and a port only (the
    finger client, C{--proxy-to}, C{--forward-allow}).
    """

    def test_hostPort(self) -> None:
        self.assertEqual(parseHostPort("example.com", 79), ("example.com", 79))
        self.assertEqual(parseHostPort("example.com:7979", 79), ("example.com", 7979))
        self.assertEqual(parseHostPort("[::1]:7979", 79), ("::1", 7979))
        self.assertEqual(parseHostPort("[::1]", 79), ("::1", 79))
        self.assertEqual(parseHostPort("::1", 79), ("::1", 79))
        self.assertEqual(parseHostPort("h", 1079), ("h", 1079))

    def test_badHostPort(self) -> None:
        for text in [
            "",
            ":79",
            "h:",
            "h:0",
            "h:65536",
            "h:x",
            "[::1",
            "[::1]x",
            "[::1]:",
        ]:
            self.assertRaises(ValueError, parseHostPort, text, 79)

    def test_oneGrammar(self) -> None:
        """
        Every value L{parseHostPort} accepts means the same host and port to
        L{clientDescription}; every value it refuses for a bad host or port,
        L{clientDescription} refuses too.
        """
        for value, description in [
            ("h", "tcp:host=h:port=79"),
            ("h:7", "tcp:host=h:port=7"),
            ("10.0.0.1:7979", "tcp:host=10.0.0.1:port=7979"),
            ("[::1]", r"tcp:host=\:\:1:port=79"),
            ("[2001:db8::1]:7", r"tcp:host=2001\:db8\:\:1:port=7"),
        ]:
            host, port = parseHostPort(value, 79)
            self.assertEqual(clientDescription(value, 79), description)
            self.assertEqual(
                clientDescription(f"[{host}]:{port}" if ":" in host else f"{host}:{port}", 79),
                description,
            )
        for value in ["", ":79", "h:0", "h:65536", "[::1", "[::1]x", "[::1]:", "a b", "[h]:7"]:
            self.assertRaises(InvalidAddress, parseHostPort, value, 79)
            self.assertRaises(InvalidAddress, clientDescription, value, 79)

    def test_noEndpointDescription(self) -> None:
        """
        Where only a host and a port will do, an endpoint description is
        refused, saying what was expected.
        """
        error = self.assertRaises(InvalidAddress, parseHostPort, "tls:h:6697", 79)
        self.assertIn("is not a host, host:port", str(error))
