# -*- test-case-name: tests.frontends.web -*-
"""
The web front-end: user pages, a JSON view of the same data, and XML-RPC.

L{UserStatusTree} is the site's root, an adapter from L{IFingerService} to
L{IResource}; serve it with L{site.WebSite}, which reads each request
within its deadline, at its client's rate, with its body capped.  One
module per job:

    - L{finger.frontends.web.site}: the site, the cap on each request's
      body, and the access log line;
    - L{finger.frontends.web.channel}: reading each connection (the
      whole-request deadline, the per-client rate, the caps on the request
      line and headers), and the one writer of raw HTTP responses (the
      408, 413, 414, 429, 431 and the busy refusal);
    - L{finger.frontends.web.request}: naming users in URLs and answering
      through the lookup policy;
    - L{finger.frontends.web.templates}: loading and checking the
      templates;
    - L{finger.frontends.web.elements}: the elements that fill them;
    - L{finger.frontends.web.prerendered}: pages flattened ahead of time,
      their slots left open;
    - L{finger.frontends.web.pages}: the root and the front page;
    - L{finger.frontends.web.userpage}: a user's page;
    - L{finger.frontends.web.api}: the JSON view under C{/api};
    - L{finger.frontends.web.xmlrpc}: XML-RPC at C{/RPC2}, with its login
      gate for C{setUser};
    - L{finger.frontends.web.xmlrpccalls}: what XML-RPC asks of any call
      (no document type, the right arguments), and introspection;
    - L{finger.frontends.web.webfinger}: WebFinger, over HTTPS only;
    - L{finger.frontends.web.origin}: the host names the site answers for
      and where its absolute URLs point (C{--public-url}, trusted
      proxies), never the request's C{Host} header;
    - L{finger.frontends.web.caching}: entity tags and C{304}s;
    - L{finger.frontends.web.cors}: C{OPTIONS}, and the CORS preflight of
      WebFinger and the JSON view;
    - L{finger.frontends.web.static}: the site's own script under
      C{/static/}, which keeps the pages up to date;
    - L{finger.frontends.web.form}: the form on users' pages for setting
      a status (over HTTPS, with logins), and
      L{finger.frontends.web.sessions}: its browsers' sessions.

The HTML comes from the XHTML files in a templates directory; the template
engine escapes every value.  Statuses lose their control characters (see
L{finger.text.printableLines}) before they are shown in any form.
"""

from finger.frontends.web.pages import UserStatus, UserStatusTree
from finger.frontends.web.xmlrpc import UserStatusXR

__all__ = ["UserStatus", "UserStatusTree", "UserStatusXR"]
