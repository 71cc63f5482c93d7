# -*- test-case-name: tests.net.test_tls -*-
"""
Tests for L{finger.net.tls}: certificates and keys from PEM files, TLS 1.2 or
later only, and Twisted's C{ssl:} descriptions read as a TCP listener and
those files.
"""

import os
from typing import Optional

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from OpenSSL import SSL
from twisted.internet.ssl import CertificateOptions
from twisted.trial.unittest import SynchronousTestCase

from finger.net.tls import (
    CertificateError,
    TLSListener,
    serverOptions,
    splitTLSDescription,
)
from tests.certs import selfSigned


def _handshake(client: SSL.Context, server: SSL.Context) -> Optional[SSL.Error]:
    """
    Run a TLS handshake between two contexts in memory.

    @return: the server's error, or L{None} if the handshake completed.
    """
    c = SSL.Connection(client, None)
    c.set_connect_state()
    s = SSL.Connection(server, None)
    s.set_accept_state()
    done = {"client": False, "server": False}
    for _ in range(20):
        for name, conn, peer in (("client", c, s), ("server", s, c)):
            if not done[name]:
                try:
                    conn.do_handshake()
                    done[name] = True
                except SSL.WantReadError:
                    pass
                except SSL.Error as e:
                    if name == "server":
                        return e
                    raise
            try:
                data = conn.bio_read(65536)
            except SSL.WantReadError:
                continue
            peer.bio_write(data)
        if done["client"] and done["server"]:
            return None
    raise AssertionError("the handshake did not finish")


class ServerOptionsTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.directory = self.mktemp()
        os.mkdir(self.directory)
        self.certificate, self.key = selfSigned()

    def write(self, name: str, data: bytes) -> str:
        path = os.path.join(self.directory, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def test_combinedFile(self) -> None:
        """
        One PEM file holding the key and the certificate, like the
        tutorial's C{server.pem}, is enough.
        """
        path = self.write("server.pem", self.key + self.certificate)
        options = serverOptions(path)
        self.assertIsInstance(options, CertificateOptions)

    def test_separateFiles(self) -> None:
        """
        The key may be in a file of its own.
        """
        options = serverOptions(
            self.write("cert.pem", self.certificate), self.write("key.pem", self.key)
        )
        self.assertIsInstance(options, CertificateOptions)

    def test_chain(self) -> None:
        """
        Certificates after the first in the certificate file are sent as the
        chain.
        """
        other, _ = selfSigned("intermediate")
        options = serverOptions(
            self.write("fullchain.pem", self.certificate + other),
            self.write("key.pem", self.key),
        )
        self.assertEqual(len(options.extraCertChain), 1)

    def test_tls12Minimum(self) -> None:
        """
        A client that speaks TLS 1.1 at most is refused; TLS 1.2 works.

        OpenSSL's security level may refuse old versions by itself, so both
        sides lower it to 0 here: the refusal then comes from the minimum
        version that L{serverOptions} sets.
        """
        server = serverOptions(self.write("server.pem", self.key + self.certificate))
        serverContext = server.getContext()
        serverContext.set_cipher_list(b"DEFAULT:@SECLEVEL=0")
        disabled = serverContext.set_options(0)
        self.assertTrue(disabled & SSL.OP_NO_TLSv1)
        self.assertTrue(disabled & SSL.OP_NO_TLSv1_1)
        self.assertFalse(disabled & SSL.OP_NO_TLSv1_2)
        old = SSL.Context(SSL.TLS_METHOD)
        old.set_cipher_list(b"DEFAULT:@SECLEVEL=0")
        old.set_min_proto_version(SSL.TLS1_VERSION)
        old.set_max_proto_version(SSL.TLS1_1_VERSION)
        error = _handshake(old, serverContext)
        self.assertIsNotNone(error)
        self.assertIn("protocol", str(error))

        modern = SSL.Context(SSL.TLS_METHOD)
        modern.set_max_proto_version(SSL.TLS1_2_VERSION)
        self.assertIsNone(_handshake(modern, serverContext))

    def test_missingCertificate(self) -> None:
        """
        A missing certificate file is an error naming the file.
        """
        path = os.path.join(self.directory, "nothere.pem")
        e = self.assertRaises(CertificateError, serverOptions, path)
        self.assertIn(path, str(e))
        self.assertIn("No such file or directory", str(e))
        self.assertEqual(e.path, path)

    def test_unreadableCertificate(self) -> None:
        """
        A certificate "file" that cannot be read (here, a directory) is an
        error naming it.
        """
        e = self.assertRaises(CertificateError, serverOptions, self.directory)
        self.assertIn(self.directory, str(e))
        self.assertIn("cannot read the certificate file", str(e))

    def test_missingKey(self) -> None:
        """
        A missing key file is an error naming the key file.
        """
        key = os.path.join(self.directory, "key.pem")
        e = self.assertRaises(
            CertificateError, serverOptions, self.write("c.pem", self.certificate), key
        )
        self.assertIn(f"cannot read the private key file {key}", str(e))
        self.assertEqual(e.path, key)

    def test_noCertificate(self) -> None:
        """
        A file without a PEM certificate is an error naming it.
        """
        path = self.write("server.pem", self.key)
        e = self.assertRaises(CertificateError, serverOptions, path)
        self.assertEqual(str(e), f"the certificate file {path} holds no PEM certificate")

    def test_noKey(self) -> None:
        """
        A certificate file without a key, and no key file, is an error
        naming the file.
        """
        path = self.write("server.pem", self.certificate)
        e = self.assertRaises(CertificateError, serverOptions, path)
        self.assertIn(f"the private key file {path} holds no usable PEM private key", str(e))

    def test_encryptedKey(self) -> None:
        """
        An encrypted key cannot be used by a daemon; the error says so.
        """
        key = serialization.load_pem_private_key(self.key, None)
        encrypted = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
        keyPath = self.write("key.pem", encrypted)
        e = self.assertRaises(
            CertificateError, serverOptions, self.write("c.pem", self.certificate), keyPath
        )
        self.assertIn("is encrypted", str(e))

    def test_mismatchedKey(self) -> None:
        """
        A key that is not the certificate's is refused now, not at every
        handshake.
        """
        other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        keyPath = self.write("key.pem", other)
        e = self.assertRaises(
            CertificateError, serverOptions, self.write("c.pem", self.certificate), keyPath
        )
        self.assertIn("does not fit the certificate", str(e))


class SplitTLSDescriptionTests(SynchronousTestCase):
    """
    L{splitTLSDescription} reads Twisted's C{ssl:} server endpoint
    description as where to listen over TCP and which files hold the
    certificate and key, so that the TLS settings stay L{serverOptions}'s.
    """

    def test_keyAndCertificate(self) -> None:
        """
        C{privateKey=} names the key, C{certKey=} the certificate.
        """
        self.assertEqual(
            splitTLSDescription("ssl:443:privateKey=key.pem:certKey=cert.pem"),
            TLSListener("tcp:443", "cert.pem", "key.pem"),
        )

    def test_oneFile(self) -> None:
        """
        As for Twisted, the certificate is in the key's file unless
        C{certKey=} says otherwise; the port may be given by name.
        """
        self.assertEqual(
            splitTLSDescription("ssl:port=8443:privateKey=server.pem"),
            TLSListener("tcp:8443", "server.pem", "server.pem"),
        )

    def test_keyFromCertificateFile(self) -> None:
        """
        C{certKey=} alone: the key is looked for in Twisted's default,
        C{server.pem}.
        """
        self.assertEqual(
            splitTLSDescription("ssl:443:certKey=cert.pem"),
            TLSListener("tcp:443", "cert.pem", "server.pem"),
        )

    def test_noFiles(self) -> None:
        """
        A description that names no file leaves the files to the caller.
        """
        self.assertEqual(splitTLSDescription("SSL:443"), TLSListener("tcp:443", None, None))

    def test_interfaceAndBacklog(self) -> None:
        """
        C{interface=} and C{backlog=} carry over to the TCP description,
        escaped again; escaped colons in paths are read.
        """
        self.assertEqual(
            splitTLSDescription("ssl:443:interface=\\:\\::backlog=5:privateKey=C\\:\\\\key.pem"),
            TLSListener("tcp:443:interface=\\:\\::backlog=5", "C:\\key.pem", "C:\\key.pem"),
        )

    def test_refused(self) -> None:
        """
        What would change the TLS settings, or cannot be told apart, is
        refused with the reason.
        """
        for description, fragment in (
            ("tcp:443", "not an ssl: description"),
            ("ssl:", "no port"),
            ("ssl:privateKey=key.pem", "no port"),
            ("ssl:443:key.pem", "by name"),
            ("ssl:443:sslmethod=TLSv1_METHOD", "sslmethod"),
            ("ssl:443:extraCertChain=chain.pem", "after the certificate"),
            ("ssl:443:dhParameters=dh.pem", "dhParameters"),
            ("ssl:443:privateKey=a.pem:privateKey=b.pem", "privateKey twice"),
        ):
            e = self.assertRaises(ValueError, splitTLSDescription, description)
            self.assertIn(fragment, str(e), description)
