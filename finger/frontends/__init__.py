"""
The front-ends: each adapts a back-end (L{finger.interfaces.IFingerService})
to one way of reaching it, and registers its adapter right under its class.

    - L{finger.frontends.finger}: the finger protocol (RFC 1288);
    - L{finger.frontends.setter}: the two-line status setter;
    - L{finger.frontends.web}: pages, JSON and XML-RPC over HTTP(S);
    - L{finger.frontends.irc}: the IRC bot;
    - L{finger.frontends.pb}: Perspective Broker.

A front-end never imports another front-end.
"""
