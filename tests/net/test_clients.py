"""
Tests for L{finger.net.clients}: who counts as one client.
"""

from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.trial.unittest import SynchronousTestCase

from finger.net.clients import ClientKey


class ClientKeyTests(SynchronousTestCase):
    def test_ipv4(self) -> None:
        """
        An IPv4 client is its address, whatever its port.
        """
        key = ClientKey()
        self.assertEqual(key(IPv4Address("TCP", "192.0.2.1", 1)), "192.0.2.1")
        self.assertEqual(key(IPv4Address("TCP", "192.0.2.1", 2)), key("192.0.2.1"))
        self.assertNotEqual(key("192.0.2.1"), key("192.0.2.2"))

    def test_ipv6Network(self) -> None:
        """
        Every address of one IPv6 /64 (and any zone) is one client; the next
        /64 is another.
        """
        key = ClientKey()
        self.assertEqual(key(IPv6Address("TCP", "2001:db8:1:2::1", 1)), "2001:db8:1:2::/64")
        self.assertEqual(key("2001:db8:1:2:ffff::1%eth0"), "2001:db8:1:2::/64")
        self.assertNotEqual(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"))

    def test_prefix(self) -> None:
        """
        The prefix is configurable: a /48 groups what a /64 keeps apart, and
        /128 makes every address a client.
        """
        self.assertEqual(ClientKey(48)("2001:db8:1:2::1"), ClientKey(48)("2001:db8:1:3::1"))
        self.assertNotEqual(ClientKey(128)("2001:db8::1"), ClientKey(128)("2001:db8::2"))
        self.assertRaises(ValueError, ClientKey, 0)
        self.assertRaises(ValueError, ClientKey, 129)

    def test_mapped(self) -> None:
        """
        An IPv4-mapped IPv6 address is the IPv4 client it maps.
        """
        self.assertEqual(ClientKey()("::ffff:192.0.2.1"), "192.0.2.1")

    def test_noHost(self) -> None:
        """
        A peer without an IP address is its own client, and local.
        """
        key = ClientKey()
        self.assertEqual(key(UNIXAddress(None)), key(UNIXAddress(None)))
        self.assertNotEqual(key(UNIXAddress(None)), key("192.0.2.1"))
        self.assertTrue(key.isLocal(UNIXAddress(None)))

    def test_isLocal(self) -> None:
        """
        Loopback, in either family or mapped, is local; other addresses are
        not.
        """
        key = ClientKey()
        for host in ("127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1", "localhost"):
            self.assertTrue(key.isLocal(host), host)
        for host in ("192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1"):
            self.assertFalse(key.isLocal(IPv6Address("TCP", host, 1)), host)

    def test_limited(self) -> None:
        """
        Under a per-client cap, a peer counts as its client; loopback is
        exempt unless loopback is limited too, and a Unix socket always is.
        """
        key = ClientKey()
        remote = IPv6Address("TCP", "2001:db8:1:2::5", 79)
        loopback = IPv4Address("TCP", "127.0.0.1", 79)
        self.assertEqual(key.limited(remote, False), "2001:db8:1:2::/64")
        self.assertIsNone(key.limited(loopback, False))
        self.assertEqual(key.limited(loopback, True), "127.0.0.1")
        self.assertIsNone(key.limited(UNIXAddress(b"/tmp/s"), True))
