# -*- test-case-name: tests.net.test_tls -*-
"""
TLS for the HTTPS listener: a certificate and key read from PEM files, and
nothing older than TLS 1.2.

The certificate file may hold a chain (the server's certificate first, then
the intermediates, as in a C{fullchain.pem}); the key may be in the same file,
as in the tutorial's C{server.pem}.

Twisted's own C{ssl:} server description (what C{twistd web --listen} takes)
is read by L{splitTLSDescription} as a C{tcp:} listener and the files it
names, so that the TLS settings are always L{serverOptions}'s.
"""

from typing import Dict, List, NamedTuple, Optional, Tuple

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from OpenSSL import SSL, crypto
from twisted.internet.endpoints import quoteStringArgument
from twisted.internet.ssl import CertificateOptions, TLSVersion

DEFAULT_KEY_FILE = "server.pem"
"""
The key file of an C{ssl:} description that names only C{certKey=}, as for
Twisted.
"""


class TLSListener(NamedTuple):
    """
    An C{ssl:} description, read: where to listen, and the files.

    @ivar listen: a C{tcp:} server endpoint description.
    @ivar certificate: the file with the certificate (and chain), or
        L{None} if the description named no file.
    @ivar privateKey: the file with the private key, or L{None} if the
        description named no file.
    """

    listen: str
    certificate: Optional[str]
    privateKey: Optional[str]


# The parameters of an ssl: description that only say where to listen.
_LISTEN_PARAMETERS = ("interface", "backlog")
_REFUSED_PARAMETERS = {
    "sslmethod": "sslmethod= is not taken: the server speaks TLS 1.2 or later",
    "extraCertChain": (
        "extraCertChain= is not taken: put the intermediate certificates after "
        "the certificate in the certKey= file"
    ),
    "dhParameters": "dhParameters= is not taken: the server uses elliptic-curve key exchange",
}


def _fields(description: str) -> List[Tuple[Optional[str], str]]:
    """
    The colon-separated fields of an endpoint description, unescaped, as
    C{(name, value)} pairs, with no name for a positional field.
    """
    fields: List[Tuple[Optional[str], str]] = []
    name: Optional[str] = None
    current: List[str] = []
    escaped = False
    for c in description + ":":
        if escaped:
            current.append(c)
            escaped = False
        elif c == "\\":
            escaped = True
        elif c == "=" and name is None:
            name = "".join(current)
            current = []
        elif c == ":":
            fields.append((name, "".join(current)))
            name, current = None, []
        else:
            current.append(c)
    return fields


def splitTLSDescription(description: str) -> TLSListener:
    """
    Read Twisted's C{ssl:} server endpoint description
    (C{ssl:443:privateKey=key.pem:certKey=cert.pem}, with C{interface=} and
    C{backlog=} if wanted) as a C{tcp:} description and its files.

    As for Twisted, C{certKey=} defaults to the C{privateKey=} file, and
    C{privateKey=} to L{DEFAULT_KEY_FILE}; a description that names
    neither leaves both files to the caller (L{None}).

    @raise ValueError: if C{description} is not an C{ssl:} description
        with a port, or has a parameter that would change the TLS settings.
    """
    (_, kind), *fields = _fields(description)
    if kind.strip().lower() != "ssl":
        raise ValueError(f"{description!r} is not an ssl: description")
    named: Dict[str, str] = {}
    positional: List[str] = []
    for name, value in fields:
        if name is None:
            positional.append(value)
        elif name in named:
            raise ValueError(f"{description!r} gives {name} twice")
        elif name in _REFUSED_PARAMETERS:
            raise ValueError(_REFUSED_PARAMETERS[name])
        else:
            named[name] = value
    if len(positional) > 1:
        raise ValueError(
            f"{description!r}: give the port first, then privateKey=, certKey=, "
            "interface= and backlog= by name"
        )
    if positional:
        named.setdefault("port", positional[0])
    port = named.pop("port", "")
    if not port:
        raise ValueError(f"{description!r} gives no port")
    privateKey = named.pop("privateKey", None)
    certificate = named.pop("certKey", None)
    unknown = sorted(set(named) - set(_LISTEN_PARAMETERS))
    if unknown:
        raise ValueError(
            f"{description!r}: {', '.join(unknown)} is not a parameter of an ssl: description"
        )
    listen = "tcp:" + quoteStringArgument(port)
    for name in _LISTEN_PARAMETERS:
        if name in named:
            listen += f":{name}={quoteStringArgument(named[name])}"
    if privateKey is None and certificate is None:
        return TLSListener(listen, None, None)
    if privateKey is None:
        privateKey = DEFAULT_KEY_FILE
    return TLSListener(listen, certificate or privateKey, privateKey)


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
        raise CertificateError(f"cannot read the {what} {path}: {e.strerror or e}", path) from None


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
            f"{certificatePath}, or cannot be used ({e})",
            keyPath,
        ) from None
    return options
