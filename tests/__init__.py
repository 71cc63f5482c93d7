"""
Tests for the finger service.
"""

import warnings

# The suite runs under python -bb, where comparing bytes with text is an
# error.  Two places in Twisted itself compare them, whatever a caller
# passes:
#   - twisted.web's cache of header names (http_headers._NameEncoder) is
#     keyed by both: Request.write names Transfer-Encoding as text for a
#     chunked response (the event stream), while a request's headers arrive
#     as bytes, and the two keys hash alike, so which test runs first
#     decides whether a later one errs inside twisted.web;
#   - twisted.internet.unix asks whether a path is abstract with
#     path[:1] in (b"\0", "\0"), for the notify tests' datagram socket.
# Only BytesWarnings raised in those two modules are let through; ours
# still fail a test.  (The module is a path when trial re-emits a warning
# it caught, a dotted name otherwise.)
warnings.filterwarnings(
    "ignore",
    category=BytesWarning,
    module=r".*twisted[./](web[./]http_headers|internet[./]unix)$",
)
