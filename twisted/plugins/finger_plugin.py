"""
The C{twistd finger} plugin.  It only names L{finger.app.tap}; nothing is
imported until twistd runs the plugin.
"""

from twisted.application.service import ServiceMaker

finger = ServiceMaker(
    "finger",
    "finger.app.tap",
    "A finger daemon (RFC 1288) with a status setter, web pages, XML-RPC, "
    "Perspective Broker and an IRC bot.",
    "finger",
)
