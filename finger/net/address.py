# -*- test-case-name: tests.net.test_address -*-
"""
The one grammar for naming a server: what a person types for the finger
client, C{--proxy-to}, C{--forward-allow}, C{--ircserver} and the PB client.

A value is told apart by its shape, in this order:

    [2001:db8::1]:6697      an IPv6 address in brackets, with or without
    [::1]                   a port
    ::1                     a bare IPv6 address, on the default port
    irc.example.org         a host name or IPv4 address (no colon), on the
                            default port
    irc.example.org:6668    a host and a port: one colon, then only digits
    tls:irc.example.org:6697
                            anything else is a Twisted client endpoint
                            description, used as it is, where one is
                            allowed (L{clientDescription}); elsewhere
                            (L{parseHostPort}) it is an error

So C{NAME:DIGITS} always means a host and a port; a Unix socket whose path
is all digits must be written C{unix:path=6667}.  A port is a number from 1
to 65535; a host is not empty and has no spaces.
"""

import re
from typing import Any, Optional, Tuple

from twisted.internet.abstract import isIPv6Address
from twisted.internet.endpoints import clientFromString, quoteStringArgument

_BRACKETED = re.compile(r"\[([^\]]*)\](?::([0-9]+))?")
_HOST_PORT = re.compile(r"([^:]+):([0-9]+)")


class InvalidAddress(ValueError):
    """
    A server address cannot be understood.  The message says why.
    """


def _checked(host: str, port: str) -> Tuple[str, int]:
    number = int(port)
    if not 0 < number < 65536:
        raise InvalidAddress(f"port {port} is not between 1 and 65535")
    if not host or any(c.isspace() for c in host):
        raise InvalidAddress(f"{host!r} is not a host name or address")
    return host, number


def _hostAndPort(value: str, defaultPort: int) -> Optional[Tuple[str, int]]:
    """
    The host and port C{value} names, or L{None} if it has the shape of
    nothing but an endpoint description.

    @raise InvalidAddress: if it has the shape of a host, but a bad one.
    """
    if value.startswith("["):
        bracketed = _BRACKETED.fullmatch(value)
        if bracketed is None or not isIPv6Address(bracketed.group(1)):
            raise InvalidAddress(f"{value!r} is not [IPv6 address] or [IPv6 address]:port")
        return _checked(bracketed.group(1), bracketed.group(2) or str(defaultPort))
    if isIPv6Address(value):
        return _checked(value, str(defaultPort))
    if value.startswith(":"):
        raise InvalidAddress(f"{value!r} names no host")
    if ":" not in value:
        return _checked(value, str(defaultPort))
    hostPort = _HOST_PORT.fullmatch(value)
    if hostPort is not None:
        return _checked(hostPort.group(1), hostPort.group(2))
    return None


def parseHostPort(value: str, defaultPort: int) -> Tuple[str, int]:
    """
    Split a server address that names a host (any form above but an
    endpoint description) into a host and a port.

    @param value: what the person typed.
    @param defaultPort: the port for a value that names none.
    @raise InvalidAddress: for anything else, or a port out of range.
    """
    hostPort = _hostAndPort(value, defaultPort)
    if hostPort is None:
        raise InvalidAddress(
            f"{value!r} is not a host, host:port, [IPv6 address] or [IPv6 address]:port"
        )
    return hostPort


def clientDescription(value: str, defaultPort: int) -> str:
    """
    Turn a server address, as described above, into a client endpoint
    description for L{twisted.internet.endpoints.clientFromString}.

    @param value: what the person typed.
    @param defaultPort: the port for a value that names none.
    @raise InvalidAddress: for a bracketed value that is not an IPv6 address
        with an optional port, an empty host, or a port out of range.  An
        endpoint description is not checked here: C{clientFromString} does
        that.
    """
    hostPort = _hostAndPort(value, defaultPort)
    if hostPort is None:
        return value
    host, port = hostPort
    return f"tcp:host={quoteStringArgument(host)}:port={port}"


def checkedClientDescription(value: str, defaultPort: int, reactor: Any) -> str:
    """
    L{clientDescription}, with the endpoint description also checked by
    C{clientFromString}, as the options of a server or a client want it.

    @raise InvalidAddress: saying what the value should have been and why it
        is not.
    """
    try:
        description = clientDescription(value, defaultPort)
        clientFromString(reactor, description)
    except (ValueError, TypeError, KeyError) as e:
        raise InvalidAddress(
            f"{value!r} is not a host, host:port, [IPv6 address]:port or client "
            f"endpoint description: {e}"
        ) from None
    return description
