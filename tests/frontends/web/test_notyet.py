# -*- test-case-name: tests.frontends.web.test_notyet -*-
"""
The web site, the JSON view and XML-RPC when the back-end has not read its
statuses yet (L{finger.interfaces.StatusesNotAvailable}): a C{503} that says
when to ask again, or a fault, and never "No such user".
"""

import xmlrpc.client

from twisted.trial.unittest import SynchronousTestCase
from twisted.web.resource import IResource

from finger.frontends.web.request import RETRY_AFTER
from finger.frontends.web.xmlrpc import NOT_AVAILABLE
from finger.messages import NOT_AVAILABLE_YET, NO_SUCH_USER
from finger.testing import NotYetService
from tests.frontends.web.helpers import Client


class NotYetTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.client = Client(IResource(NotYetService()))

    def test_pages(self) -> None:
        """
        A user's page, the listing and the JSON API answer C{503} with
        C{Retry-After} and the sentence.
        """
        for path in [b"/moshez", b"/", b"/api/users", b"/api/users/moshez"]:
            code, headers, body = self.client.request(path)
            self.assertEqual(code, 503, path)
            self.assertEqual(headers[b"retry-after"], RETRY_AFTER)
            self.assertIn(NOT_AVAILABLE_YET.encode(), body)
            self.assertNotIn(NO_SUCH_USER.encode(), body)
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_xmlrpc(self) -> None:
        """
        XML-RPC's lookups are faults saying so.
        """
        for call in [("getUser", "moshez"), ("getUsers",)]:
            result = self.client.rpc(*call)
            assert isinstance(result, xmlrpc.client.Fault), result
            self.assertEqual((result.faultCode, result.faultString), (NOT_AVAILABLE, NOT_AVAILABLE_YET))
