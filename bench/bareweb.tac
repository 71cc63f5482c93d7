"""
The web benchmark's reference: a bare twisted.web resource answering every
GET with the bytes of one file, under twistd with its log file, as the
service runs (no templates, no back-end, no limits, no extra headers).

    BODY=FILE PORT=N twistd -n --pidfile= -l LOG -y bench/bareweb.tac
"""

import os

from twisted.application import service, strports
from twisted.web.resource import Resource
from twisted.web.server import Site

with open(os.environ["BODY"], "rb") as f:
    BODY = f.read()


class Bare(Resource):
    isLeaf = True

    def render_GET(self, request):  # type: ignore[no-untyped-def]
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
        return BODY


application = service.Application("bareweb")
strports.service(
    f"tcp:{os.environ['PORT']}:interface=127.0.0.1", Site(Bare())
).setServiceParent(application)
