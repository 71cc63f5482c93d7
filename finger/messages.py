# -*- test-case-name: tests.test_messages -*-
"""
Every sentence a client of this server may read, each defined once.

Front-ends choose how a sentence travels (a finger line, an C{Error:} line
of the setter, an HTTP body, a remote PB error, an IRC notice); the words
are the same everywhere, so a person who meets one on two front-ends meets
the same sentence.
"""

NO_SUCH_USER = "No such user"
"""
About a user nobody knows: the tutorial's answer.
"""

INTERNAL_ERROR = "Internal error in server"
"""
The back-end failed; the details go to the log, not to the client.
"""

TIMED_OUT = "Server timed out; try again later"
"""
The back-end did not answer in time.
"""

BUSY = "Server busy; try again later"
"""
A listener refused a connection: it has as many as it may hold.
"""

NOT_SAVED = "the status could not be saved; try again later"
"""
A status change that was not made durable; nothing changed.
"""

READ_ONLY = "statuses cannot be changed here: the status file is read-only"
"""
A status change refused because the status file is read-only (no one may
write it, or this server may not): trying again will not help.
"""

SET_TIMED_OUT = "the server timed out; the status may not have been saved"
"""
A status change that the back-end did not confirm in time.
"""

LOGIN_FAILED = "login failed"
"""
A wrong name or password: which of the two is never said.
"""

FORWARDING_DENIED = "Finger forwarding service denied"
"""
The answer to a C{user@host} query this server will not forward (RFC 1288
section 3.2.1): forwarding is off, or the query breaks its limits.
"""

FORWARDING_BUSY = "Finger forwarding service busy, try again later"
"""
A forwarded query refused because enough are already under way.
"""

COULD_NOT_CONNECT = "Could not connect to remote host"
"""
The answer to a forwarded query when the remote host did not answer.
"""

LISTING_DENIED = "Finger online user list denied"
"""
The answer to an empty finger query when listing is off (RFC 1288 3.2.2).
"""

QUERY_TOO_LONG = "Query too long"
"""
The answer to a finger query over the length limit.
"""

ANSWER_TRUNCATED = "(answer truncated)"
"""
The last line of an answer that was cut at its size limit.
"""

CUT_SHORT = " [...]"
"""
What ends a status or a line that was cut to fit.
"""

NO_LOGIN = (
    "logging in is not offered: this server runs without --auth, or with a back-end "
    "that cannot set statuses"
)
"""
A Perspective Broker login on a server that lets nobody log in.
"""

NO_CHALLENGE_LOGIN = (
    "logging in over Perspective Broker is not offered: this server's passwords cannot "
    "be checked by challenge-response"
)
"""
A Perspective Broker login on a server whose checkers need the password
itself (C{--auth unix}), which PB's challenge-response never sends.
"""

NO_ANONYMOUS_LOGIN = "anonymous login is not offered: call getUser and getUsers on the root object"
"""
A Perspective Broker client asked to log in anonymously: the root object
answers anonymous clients without a login.
"""

LOGIN_UNDER_WAY = "a login on this connection is under way; wait for its answer"
"""
A second password guess on a connection whose first has not been answered.
"""

CHALLENGE_ANSWERED = "this challenge was answered already; log in again"
"""
A second answer to one Perspective Broker login challenge.
"""

MORE_USERS_NOT_SHOWN = "({count} more users not shown)"
"""
The last line of a finger listing cut at its length limit; C{count} is how
many users it leaves out.
"""

STATUS_SAVED = "status of {user} saved"
"""
A status change made durable, for C{user}.
"""

LINE_TOO_LONG = "line too long"
"""
A line of a line-based protocol over its length limit.
"""

INVALID_USER_NAME = "invalid user name"
"""
Begins the refusal of a user name that breaks the rule; the rule's own
words follow after a colon.
"""

INVALID_STATUS = "invalid status"
"""
Begins the refusal of a status that cannot be stored; why follows after a
colon.
"""

STATUS_NOT_UTF8 = "a status must be UTF-8 text"
"""
Why a status that is not UTF-8 is refused.
"""

NOT_ALLOWED = "not allowed"
"""
Begins the refusal of a change the one who logged in may not make; why
follows after a colon.
"""

EXPECTED_TWO_LINES = "expected a user name and a status, on two lines"
"""
A setter client that stopped before sending both lines.
"""

EXPECTED_THREE_LINES = "expected a user name, a password and a status, on three lines"
"""
A setter client that stopped before sending all three lines, with
authentication on.
"""

STATUS_OF = "Status of {user}: "
"""
How the IRC bot begins an answer: C{STATUS_OF.format(user=name)}, then the
user's status.
"""

NOW = "{user} is now: "
"""
How the IRC bot begins an announcement of a change (C{--irc-announce}):
C{NOW.format(user=name)}, then the user's new status.
"""

BODY_TOO_LARGE = "Request body too large"
"""
The answer to an HTTP request whose body is over the web site's limit.
"""

NOT_FOUND = "Not found"
"""
The answer to a web path that names nothing, where no user was asked for.
"""

SETTING_NEEDS_AUTH = (
    "procedure setUser not found: setting statuses over XML-RPC needs the "
    "server to run with --auth and a back-end that can set statuses"
)
"""
XML-RPC's C{setUser} on a server that offers no way to log in.
"""

SETTING_NEEDS_HTTPS = (
    "setUser needs HTTPS: statuses are set only over an encrypted connection, "
    "and credentials sent over plain HTTP are ignored"
)
"""
XML-RPC's C{setUser} over plain HTTP.
"""

SETTING_NEEDS_LOGIN = "setUser needs a user name and password (HTTP Basic authentication)"
"""
XML-RPC's C{setUser} over HTTPS without credentials.
"""

DATABASE_UNREACHABLE = "the status database is unreachable; try again later"
"""
Why a status change failed while the database back-end cannot reach its
database (front-ends show L{NOT_SAVED}; this is what the log says).
"""

NOT_AVAILABLE_YET = "Statuses are not available yet; try again later"
"""
A back-end that has not yet read its statuses (a database not reached since
the service started) cannot say who is known: any lookup, or listing, gets
this rather than a "No such user" that would be a lie.
"""

NO_USERS = "No users"
"""
A finger listing when nobody has a status: a line, rather than an answer of
no bytes at all that looks like a broken server.
"""

REQUEST_TOO_SLOW = "Request not received in time"
"""
The answer to a web client whose request (its line, headers and body) did
not all arrive within the server's time for it.
"""

REQUEST_LINE_TOO_LONG = "Request line too long"
"""
The answer to a web client whose request line (the method, the URL and the
protocol) is over the web site's limit.
"""

HEADERS_TOO_LARGE = "Request headers too large"
"""
The answer to a web client whose request headers are over the web site's
limit.
"""

TOO_MANY_REQUESTS = "Too many requests; try again later"
"""
The answer to a web client whose requests come faster than its rate
(C{--web-rate}) for longer than the server will make them wait.
"""

TOO_MANY_STREAMS = "Too many open event streams; try again later"
"""
The answer (C{503}) to a request for C{/api/events} over the open streams'
caps, in all or from one client.
"""

STATUS_CUT = "\u2026"
"""
What ends a status shortened to one line of the web site's front page.
"""

WEBFINGER_NO_RESOURCE = "resource missing: ask for /.well-known/webfinger?resource=acct:USER@HOST"
"""
A WebFinger request without its one C{resource} parameter.
"""

WEBFINGER_BAD_RESOURCE = "resource malformed: give acct:USER@HOST or the URL of a user's page"
"""
A WebFinger request whose C{resource} is no URI this server can read.
"""

WEBFINGER_NOT_SERVED = "This server does not answer for that host"
"""
A WebFinger request about an account or a page on a host this server is
not.
"""

WEBFINGER_UNKNOWN_RESOURCE = "Nothing is known here about that resource"
"""
A WebFinger request about a URI that names no user of this server.
"""

WEBFINGER_HTTPS_ONLY = (
    "WebFinger is answered over HTTPS only, and this server has no HTTPS; "
    "ask its operator for the https:// address"
)
"""
A WebFinger request over plain HTTP to a server without HTTPS (RFC 7033
section 4: a JRD must not be served over plain HTTP).
"""

EMPTY_STATUS = "No status set."
"""
What a user's page shows in place of an empty status.
"""

TWO_HOSTS = "Bad request: more than one Host header"
"""
A web request with two C{Host} headers, which could name the site one way
to a cache and another to the server (RFC 9112 section 3.2).
"""

XMLRPC_DOCUMENT_TYPE = (
    "XML-RPC requests may not declare a document type or entities (<!DOCTYPE ...>); "
    "send the call without one"
)
"""
An XML-RPC request whose body declares a document type: refused before any
of it is read, since XML-RPC has no use for one and its entities are how a
small body is made to cost a great deal.
"""

XMLRPC_NOT_A_CALL = "not an XML-RPC call: expected a methodCall with a methodName"
"""
An XML-RPC request whose body is XML-RPC, but not a call: a response, or a
call without a method name.
"""

FORM_NEEDS_AUTH = (
    "statuses cannot be set from this site: this server runs without --auth, or with a "
    "back-end that cannot set statuses"
)
"""
A form sent to a user's page on a server that lets nobody log in.
"""

FORM_NEEDS_HTTPS = (
    "statuses are set from this site only over HTTPS: a password is never taken over "
    "plain HTTP"
)
"""
A form sent to a user's page over plain HTTP.
"""

FORM_FOREIGN_ORIGIN = "refused: this form may only be sent from this site's own pages"
"""
A form whose C{Origin} is missing or another site's: a cross-site request.
"""

FORM_BAD_TOKEN = (
    "refused: the form's token is missing or wrong; reload the page and try again"
)
"""
A form of a logged-in browser without its session's token: a cross-site
request, or a page older than its session.
"""

FORM_NOT_LOGGED_IN = "not logged in, or the session has expired; log in and try again"
"""
A form that sets a status from a browser without a live session.
"""

FORM_MALFORMED = (
    "the form is malformed: expected application/x-www-form-urlencoded UTF-8 fields, "
    "each once"
)
"""
A form whose body is not the fields the page's forms send.
"""
