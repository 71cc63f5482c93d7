# -*- test-case-name: tests.frontends.web.test_xmlrpccalls -*-
"""
Tests for L{finger.frontends.web.xmlrpccalls}: what XML-RPC asks of any
call.  How a call is refused or described through C{/RPC2} is tested with
the resource, in L{tests.frontends.web.test_xmlrpc}.
"""

from twisted.trial.unittest import SynchronousTestCase

from finger.frontends.web.xmlrpccalls import declaresDocumentType
from tests.frontends.web.helpers import billionLaughs, xmlrpcCall


class DeclaresDocumentTypeTests(SynchronousTestCase):
    """
    L{declaresDocumentType} finds a document type declaration the way
    expat, which reads XML-RPC, would read one, and nothing else.
    """

    def test_declared(self) -> None:
        """
        A document type, with or without entities, external or internal,
        after comments, processing instructions and whitespace, is found.
        """
        for prolog in [
            "<!DOCTYPE methodCall>",
            '<?xml version="1.0"?>\n\n  <!DOCTYPE methodCall>',
            '<!DOCTYPE methodCall SYSTEM "http://127.0.0.1:1/evil.dtd">',
            '<!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
            '<!DOCTYPE m [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>',
            "<!-- hello --><?pi data?>\n<!DOCTYPE\tmethodCall\n[]>",
            billionLaughs(),
        ]:
            body = xmlrpcCall("getUser", "moshez", prolog)
            self.assertTrue(declaresDocumentType(body.encode("utf-8")), prolog)

    def test_encodings(self) -> None:
        """
        A declaration in a body in another encoding is found, whether the
        encoding is given by a byte order mark or by the XML declaration.
        """
        body = xmlrpcCall("getUser", "moshez", "<!DOCTYPE methodCall>")
        for encoded in [
            body.encode("utf-16"),
            body.encode("utf-16-be"),
            '<?xml version="1.0" encoding="UTF-16LE"?>'.encode("utf-16-le")
            + body.encode("utf-16-le"),
            b"\xef\xbb\xbf" + body.encode("utf-8"),
            b'<?xml version="1.0" encoding="ISO-8859-1"?>' + body.encode("latin-1"),
        ]:
            self.assertTrue(declaresDocumentType(encoded), encoded)

    def test_notDeclared(self) -> None:
        """
        A body without a declaration is not refused, even if its text, a
        comment or a string in it spells one; nor is one that is not XML,
        which is left to the XML-RPC parser to refuse.
        """
        for body in [
            xmlrpcCall("getUser", "moshez"),
            xmlrpcCall("getUser", "&lt;!DOCTYPE x [&lt;!ENTITY a 'b'>]>"),
            xmlrpcCall("getUser", "<![CDATA[<!DOCTYPE x>]]>"),
            xmlrpcCall("getUser", "moshez", "<!-- <!DOCTYPE x> -->"),
            xmlrpcCall("getUser", "moshez", "<?pi <!DOCTYPE x>?>"),
            "",
            "<not-xml",
            "<a></b><!DOCTYPE x>",
        ]:
            self.assertFalse(declaresDocumentType(body.encode("utf-8")), body)
        self.assertFalse(declaresDocumentType(xmlrpcCall("getUser", "zoë").encode("utf-16")))
