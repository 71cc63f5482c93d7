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

DATABASE_UNREACHABLE = "the status database is unreachable; try again later"
"""
Why a status change failed while the database back-end cannot reach its
database (front-ends show L{NOT_SAVED}; this is what the log says).
"""
