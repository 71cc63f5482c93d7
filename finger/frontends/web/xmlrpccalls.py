# -*- test-case-name: tests.frontends.web.test_xmlrpccalls -*-
"""
XML-RPC as a protocol, whatever its methods do: which bodies are read as
calls at all, how a method checks its arguments, the faults that say what
is wrong with a call, and the introspection methods that say what each
method takes.

Before a call is read, its body is checked for a document type declaration
(L{declaresDocumentType}): XML-RPC has no use for one, and its entities are
how a small body is made to cost a great deal of CPU (a "billion laughs")
or to read files and URLs (an external entity), so one is refused with the
fault L{INVALID_REQUEST} and never read further.

Faults use the codes of the fault code interoperability specification.
"""

from typing import Any, Callable, List, Tuple
from xml.parsers import expat
from xmlrpc.client import Binary, DateTime, Fault

from twisted.web import xmlrpc

from finger.names import InvalidStatus, InvalidUserName
from finger.text import counted

INVALID_REQUEST = -32600
"""
The XML-RPC fault code for a request that is XML but not an XML-RPC call
this server reads: one that declares a document type, or is not a call.
"""

NOT_FOUND = -32601
"""
The XML-RPC fault code for a method that does not exist.
"""

INVALID_PARAMS = -32602
"""
The XML-RPC fault code for wrong arguments.
"""

FAILURE = -32603
"""
The XML-RPC fault code for an error in the server, or a body that is not
XML-RPC.
"""


def declaresDocumentType(body: bytes) -> bool:
    """
    Does an XML document declare a document type (C{<!DOCTYPE ...>}, with
    or without an internal subset of entities) before its root element?

    It is read by expat, as L{xmlrpc.client.loads} reads it (so the same
    encodings, byte order marks, comments and processing instructions), and
    only up to the start of its root element, after which no declaration
    may come.  Reading stops where the declaration's name ends, before its
    internal subset, so no entity in it is ever declared, expanded or
    fetched.  A document that is not well-formed before that is left for
    L{xmlrpc.client.loads} to refuse.
    """
    parser = expat.ParserCreate()

    def declared(*ignored: object) -> None:
        raise _DocumentTypeDeclared()

    def rootStarts(*ignored: object) -> None:
        raise _PrologEnded()

    parser.StartDoctypeDeclHandler = declared
    parser.EntityDeclHandler = declared
    parser.StartElementHandler = rootStarts
    try:
        parser.Parse(body, True)
    except _DocumentTypeDeclared:
        return True
    except (_PrologEnded, expat.ExpatError):
        pass
    return False


class _DocumentTypeDeclared(Exception):
    """
    L{declaresDocumentType} found a document type declaration.
    """


class _PrologEnded(Exception):
    """
    L{declaresDocumentType} reached the root element.
    """


def checkStrings(method: str, expected: str, args: Tuple[Any, ...], count: int) -> Tuple[str, ...]:
    """
    Check that a method was called with C{count} strings.

    @param method: the method's name, as the fault says it.
    @param expected: what it takes, as the fault says it.
    @return: C{args}.
    @raise Fault: L{INVALID_PARAMS}, saying what C{method} takes and what
        it got, if C{args} are not C{count} strings.
    """
    if len(args) != count or not all(isinstance(a, str) for a in args):
        raise Fault(INVALID_PARAMS, f"{method} takes {expected}; got {_describeArguments(args)}")
    return args


def checkArgument(rule: Callable[[str], object], value: str, what: str) -> None:
    """
    Apply a naming rule (L{finger.names.checkUserName},
    L{finger.names.checkStatus}) to an argument.

    @param what: what the argument is, as the fault says it.
    @raise Fault: L{INVALID_PARAMS}, saying C{what} and why, if C{rule}
        refuses C{value}.
    """
    try:
        rule(value)
    except (InvalidUserName, InvalidStatus) as e:
        raise Fault(INVALID_PARAMS, f"{what}: {e}") from None


def _describeArguments(args: Tuple[Any, ...]) -> str:
    if not args:
        return "none"
    kinds = ", ".join(_XMLRPC_TYPES.get(type(a), type(a).__name__) for a in args)
    return f"{counted(len(args), 'argument')} ({kinds})"


_XMLRPC_TYPES = {
    str: "string",
    int: "int",
    bool: "boolean",
    float: "double",
    list: "array",
    dict: "struct",
    bytes: "base64",
    Binary: "base64",
    DateTime: "dateTime.iso8601",
    type(None): "nil",
}


class Introspection(xmlrpc.XMLRPCIntrospection):
    """
    C{system.listMethods}, C{system.methodHelp} and
    C{system.methodSignature}: Twisted's, once their arguments are checked,
    so that wrong ones are a fault saying what is expected rather than a
    traceback in the log; an unknown C{system.} method is the same fault
    as any other unknown method.
    """

    NOT_FOUND = NOT_FOUND
    FAILURE = FAILURE

    def xmlrpc_listMethods(self, *args: Any) -> List[str]:
        checkStrings("system.listMethods", "no arguments", args, 0)
        return super().xmlrpc_listMethods()  # type: ignore[no-any-return]

    xmlrpc_listMethods.signature = [["array"]]  # type: ignore[attr-defined]
    xmlrpc_listMethods.help = (  # type: ignore[attr-defined]
        "system.listMethods(): the names of every method."
    )

    def xmlrpc_methodHelp(self, *args: Any) -> str:
        [name] = checkStrings("system.methodHelp", "one argument, a method name (a string)", args, 1)
        return super().xmlrpc_methodHelp(name)  # type: ignore[no-any-return]

    xmlrpc_methodHelp.signature = [["string", "string"]]  # type: ignore[attr-defined]
    xmlrpc_methodHelp.help = (  # type: ignore[attr-defined]
        "system.methodHelp(name): what the method called name does."
    )

    def xmlrpc_methodSignature(self, *args: Any) -> object:
        [name] = checkStrings(
            "system.methodSignature", "one argument, a method name (a string)", args, 1
        )
        return super().xmlrpc_methodSignature(name)

    xmlrpc_methodSignature.signature = [  # type: ignore[attr-defined]
        ["array", "string"],
        ["string", "string"],
    ]
    xmlrpc_methodSignature.help = (  # type: ignore[attr-defined]
        "system.methodSignature(name): the types the method called name takes and "
        "returns, as a list of [return type, argument types...]; an empty string "
        "if they are not given."
    )
