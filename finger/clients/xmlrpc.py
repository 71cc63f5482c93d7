# -*- test-case-name: tests.clients.test_xmlrpc -*-
"""
Ask a finger server over XML-RPC, from the command line:

    python -m finger.clients.xmlrpc http://localhost:8000/RPC2 moshez
    python -m finger.clients.xmlrpc http://localhost:8000/RPC2

With a user name it prints that user's status (or C{No such user}); without
one, every user's name, one a line.  For an HTTPS server with a self-signed
certificate, name the certificate with C{--cafile server.pem}.

C{--set STATUS} sets the user's status instead, on a server run with
C{--auth}, over HTTPS only, logged in with HTTP Basic as C{--login} (the user
by default; an admin may set someone else's status)::

    python -m finger.clients.xmlrpc --set "Giving a tutorial" \
        https://localhost:8443/RPC2 moshez
    python -m finger.clients.xmlrpc --set "Out sick" --login root \
        --password-file ~/.finger-password https://localhost:8443/RPC2 shawn

The password comes from the first line of C{--password-file}, or is asked
for without echo.  The script refuses to send a password over C{http://}.

This is the tutorial's C{fingerXRclient.py}: a plain blocking script on
Python's L{xmlrpc.client}, because a one-shot command needs no reactor.
"""

import argparse
import base64
import getpass
import http.client
import socket
import ssl
import sys
import xmlrpc.client
from typing import Callable, List, Optional, TextIO, Tuple
from xml.parsers.expat import ExpatError

from finger.text import printableLines

Credentials = Tuple[str, str]


def _basicAuthorization(credentials: Credentials) -> str:
    name, password = credentials
    token = base64.b64encode(f"{name}:{password}".encode("utf-8")).decode("ascii")
    return "Basic " + token


class _TimeoutTransport(xmlrpc.client.Transport):
    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout

    def make_connection(self, host):  # type: ignore[no-untyped-def]
        connection = super().make_connection(host)
        connection.timeout = self.timeout
        return connection


class _TimeoutSafeTransport(xmlrpc.client.SafeTransport):
    # Credentials go in a header rather than the URL, so that they never show
    # up in an error message (ProtocolError's url keeps a URL's user info).
    def __init__(
        self, timeout: float, context: ssl.SSLContext, credentials: Optional[Credentials]
    ) -> None:
        super().__init__(context=context)
        self.timeout = timeout
        self.credentials = credentials

    def make_connection(self, host):  # type: ignore[no-untyped-def]
        connection = super().make_connection(host)
        connection.timeout = self.timeout
        return connection

    def get_host_info(self, host):  # type: ignore[no-untyped-def]
        host, headers, x509 = super().get_host_info(host)
        if self.credentials is not None:
            # These replace any user info the URL carried.
            headers = [h for h in headers or [] if h[0].lower() != "authorization"] + [
                ("Authorization", _basicAuthorization(self.credentials))
            ]
        return host, headers, x509


def serverProxy(
    url: str,
    cafile: Optional[str] = None,
    timeout: float = 30.0,
    credentials: Optional[Credentials] = None,
) -> xmlrpc.client.ServerProxy:
    """
    A proxy for the finger XML-RPC server at C{url}.

    @param url: C{http://} or C{https://} URL of the server's C{/RPC2}.
    @param cafile: a PEM file of certificates to trust for HTTPS, instead of
        the system's.
    @param timeout: seconds to wait for the server.
    @param credentials: a user name and password to log in with, by HTTP
        Basic authentication.
    @raise ValueError: for credentials with an C{http://} URL: a password is
        never sent unencrypted.
    """
    transport: xmlrpc.client.Transport
    if url.lower().startswith("https:"):
        context = ssl.create_default_context(cafile=cafile)
        transport = _TimeoutSafeTransport(timeout, context, credentials)
    elif credentials is not None:
        raise ValueError("refusing to send a password over plain HTTP; use an https:// URL")
    else:
        transport = _TimeoutTransport(timeout)
    return xmlrpc.client.ServerProxy(url, transport=transport)


def readPassword(path: str) -> str:
    """
    The first line of the file at C{path}, without its line ending.
    """
    with open(path, encoding="utf-8") as f:
        return f.readline().rstrip("\r\n")


def main(
    argv: Optional[List[str]] = None,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
    askPassword: Callable[[str], str] = getpass.getpass,
) -> int:
    """
    Run the command; return its exit status.

    @param askPassword: asks for the password with the given prompt, when
        setting a status without C{--password-file}.
    """
    parser = argparse.ArgumentParser(
        prog="python -m finger.clients.xmlrpc",
        description="Ask a finger server for a user's status over XML-RPC, or set it.",
    )
    parser.add_argument("url", help="the server's XML-RPC URL, such as http://localhost:8000/RPC2")
    parser.add_argument("user", nargs="?", help="the user to ask about; every user's name if left out")
    parser.add_argument("--cafile", help="a PEM certificate to trust (for a self-signed HTTPS server)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait (default: 30)")
    parser.add_argument(
        "--set",
        metavar="STATUS",
        help="set the user's status instead (needs an https:// URL and a password)",
    )
    parser.add_argument(
        "--login", metavar="NAME", help="with --set: log in as NAME (default: the user)"
    )
    parser.add_argument(
        "--password-file",
        metavar="FILE",
        help="with --set: read the password from the first line of FILE (default: ask)",
    )
    args = parser.parse_args(argv)

    def fail(message: str) -> int:
        err.write(f"finger.clients.xmlrpc: {message}\n")
        return 1

    credentials: Optional[Credentials] = None
    if args.set is None:
        if args.login is not None or args.password_file is not None:
            return fail("--login and --password-file only go with --set")
    else:
        if args.user is None:
            return fail("--set needs the user whose status to set")
        if not args.url.lower().startswith("https:"):
            return fail("refusing to send a password over plain HTTP; use an https:// URL")
        login = args.login if args.login is not None else args.user
        try:
            if args.password_file is not None:
                password = readPassword(args.password_file)
            else:
                password = askPassword(f"Password for {login}: ")
        except OSError as e:
            return fail(f"cannot read the password: {e}")
        except (EOFError, KeyboardInterrupt):
            return fail("no password given")
        credentials = (login, password)

    try:
        proxy = serverProxy(args.url, args.cafile, args.timeout, credentials)
        with proxy:
            if args.set is not None:
                proxy.setUser(args.user, args.set)
                lines = [f"status of {args.user} saved"]
            elif args.user is None:
                answer: object = proxy.getUsers()
                lines = [line for name in answer for line in printableLines(str(name))]  # type: ignore[attr-defined]
            else:
                lines = printableLines(str(proxy.getUser(args.user)))
    except xmlrpc.client.Fault as e:
        return fail(f"the server refused: {e.faultString} (fault {e.faultCode})")
    except xmlrpc.client.ProtocolError as e:
        if e.errcode == 401 and credentials is not None:
            return fail("login failed")
        return fail(f"{e.url}: HTTP {e.errcode} {e.errmsg}")
    except ssl.SSLError as e:
        return fail(f"TLS error talking to {args.url}: {e}")
    except (OSError, http.client.HTTPException, socket.timeout) as e:
        return fail(f"cannot talk to {args.url}: {e}")
    except (ValueError, TypeError, ExpatError, xmlrpc.client.ResponseError) as e:
        return fail(f"{args.url}: {e}")
    for line in lines:
        out.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
