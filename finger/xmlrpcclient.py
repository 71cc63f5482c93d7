# -*- test-case-name: tests.test_xmlrpcclient -*-
"""
Ask a finger server over XML-RPC, from the command line:

    python -m finger.xmlrpcclient http://localhost:8000/RPC2 moshez
    python -m finger.xmlrpcclient http://localhost:8000/RPC2

With a user name it prints that user's status (or C{No such user}); without
one, every user's name, one a line.  For an HTTPS server with a self-signed
certificate, name the certificate with C{--cafile server.pem}.

This is the tutorial's C{fingerXRclient.py}: a plain blocking script on
Python's L{xmlrpc.client}, because a one-shot command needs no reactor.
"""

import argparse
import http.client
import socket
import ssl
import sys
import xmlrpc.client
from typing import List, Optional, TextIO
from xml.parsers.expat import ExpatError

from finger.text import printableLines


class _TimeoutTransport(xmlrpc.client.Transport):
    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout

    def make_connection(self, host):  # type: ignore[no-untyped-def]
        connection = super().make_connection(host)
        connection.timeout = self.timeout
        return connection


class _TimeoutSafeTransport(xmlrpc.client.SafeTransport):
    def __init__(self, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(context=context)
        self.timeout = timeout

    def make_connection(self, host):  # type: ignore[no-untyped-def]
        connection = super().make_connection(host)
        connection.timeout = self.timeout
        return connection


def serverProxy(
    url: str, cafile: Optional[str] = None, timeout: float = 30.0
) -> xmlrpc.client.ServerProxy:
    """
    A proxy for the finger XML-RPC server at C{url}.

    @param url: C{http://} or C{https://} URL of the server's C{/RPC2}.
    @param cafile: a PEM file of certificates to trust for HTTPS, instead of
        the system's.
    @param timeout: seconds to wait for the server.
    """
    transport: xmlrpc.client.Transport
    if url.lower().startswith("https:"):
        context = ssl.create_default_context(cafile=cafile)
        transport = _TimeoutSafeTransport(timeout, context)
    else:
        transport = _TimeoutTransport(timeout)
    return xmlrpc.client.ServerProxy(url, transport=transport)


def main(argv: Optional[List[str]] = None, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """
    Run the command; return its exit status.
    """
    parser = argparse.ArgumentParser(
        prog="python -m finger.xmlrpcclient",
        description="Ask a finger server for a user's status over XML-RPC.",
    )
    parser.add_argument("url", help="the server's XML-RPC URL, such as http://localhost:8000/RPC2")
    parser.add_argument("user", nargs="?", help="the user to ask about; every user's name if left out")
    parser.add_argument("--cafile", help="a PEM certificate to trust (for a self-signed HTTPS server)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait (default: 30)")
    args = parser.parse_args(argv)

    def fail(message: str) -> int:
        err.write(f"finger.xmlrpcclient: {message}\n")
        return 1

    try:
        proxy = serverProxy(args.url, args.cafile, args.timeout)
        with proxy:
            if args.user is None:
                answer: object = proxy.getUsers()
                lines = [line for name in answer for line in printableLines(str(name))]  # type: ignore[attr-defined]
            else:
                lines = printableLines(str(proxy.getUser(args.user)))
    except xmlrpc.client.Fault as e:
        return fail(f"the server refused: {e.faultString} (fault {e.faultCode})")
    except xmlrpc.client.ProtocolError as e:
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
