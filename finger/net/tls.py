# -*- test-case-name: tests.net.test_tls -*-
"""
TLS for the HTTPS listener: a certificate and key read from PEM files, and
nothing older than TLS 1.2.

The certificate file may hold a chain (the server's certificate first, then
the intermediates, as in a C{fullchain.pem}); the key may be in the same file,
as in the tutorial's C{server.pem}.
"""

from typing import Optional

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from OpenSSL import SSL, crypto
from twisted.internet.ssl import CertificateOptions, TLSVersion


class CertificateError(Exception):
    """
    A certificate or key cannot be used.  The message names the file.

    @ivar path: the file at fault.
    """

    def __init__(self, message: str, path: str) -> None:
        super().__init__(message)
        self.path = path


def _read(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise CertificateError(
            f"cannot read the {what} {path}: {e.strerror or e}", path
        ) from None


def serverOptions(certificatePath: str, keyPath: Optional[str] = None) -> CertificateOptions:
    """
    TLS settings for a server, from PEM files.

    @param certificatePath: a PEM file with the server's certificate, then
        any intermediate certificates.
    @param keyPath: a PEM file with the unencrypted private key; the
        certificate file if L{None}.
    @raise CertificateError: if a file is missing or unreadable, holds no
        certificate or key, or the key does not match the certificate.
    """
    if keyPath is None:
        keyPath = certificatePath
    certificateData = _read(certificatePath, "certificate file")
    keyData = certificateData if keyPath == certificatePath else _read(keyPath, "private key file")
    try:
        chain = x509.load_pem_x509_certificates(certificateData)
    except ValueError:
        raise CertificateError(
            f"the certificate file {certificatePath} holds no PEM certificate", certificatePath
        ) from None
    try:
        key = serialization.load_pem_private_key(keyData, password=None)
    except TypeError:
        raise CertificateError(
            f"the private key in {keyPath} is encrypted; give an unencrypted key", keyPath
        ) from None
    except Exception as e:
        raise CertificateError(
            f"the private key file {keyPath} holds no usable PEM private key ({e})", keyPath
        ) from None
    try:
        options = CertificateOptions(
            privateKey=crypto.PKey.from_cryptography_key(key),  # type: ignore[arg-type]
            certificate=crypto.X509.from_cryptography(chain[0]),
            extraCertChain=[crypto.X509.from_cryptography(c) for c in chain[1:]],
            raiseMinimumTo=TLSVersion.TLSv1_2,
        )
        # Build the context now, so a key that does not match the
        # certificate stops start-up instead of every handshake.
        options.getContext()
    except (SSL.Error, ValueError, TypeError) as e:
        raise CertificateError(
            f"the private key in {keyPath} does not fit the certificate in "
            f"{certificatePath}, or cannot be used ({e})", keyPath
        ) from None
    return options
