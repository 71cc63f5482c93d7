# -*- test-case-name: tests.test_interfaces -*-
"""
The interfaces of the finger service and the errors that are part of them.

Text or bytes
=============

The back-ends speak text: every user name and every status that crosses one
of these interfaces is a L{str}.  The wire is bytes; each front-end decodes
what it reads as UTF-8 and encodes what it writes as UTF-8, at its own edge,
and nowhere else.

Unknown users
=============

L{IFingerService.getUser} fails with L{UnknownUser} for a user it does not
know, so that a front-end can tell the two apart (the web answers 404).  The
finger and IRC front-ends show L{finger.messages.NO_SUCH_USER}, the tutorial's answer;
Perspective Broker clients get a remote L{finger.frontends.pb.NoSuchUser} error whose
message is L{finger.messages.NO_SUCH_USER}.  A name
that breaks the rule in L{finger.names} can never be a known user: back-ends
treat it as unknown when asked for it and refuse to store it.
"""

from typing import TYPE_CHECKING, Callable, List, Optional, Tuple

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IProtocolFactory
from zope.interface import Attribute, Interface

from finger.messages import NO_SUCH_USER

if TYPE_CHECKING:
    from finger.changes import ChangeBatch


class UnknownUser(LookupError):
    """
    The back-end does not know this user.

    @ivar user: the name that was asked for.
    """

    def __init__(self, user: str) -> None:
        super().__init__(user)
        self.user = user

    def __str__(self) -> str:
        return f"{NO_SUCH_USER}: {self.user!r}"


class StatusesNotAvailable(Exception):
    """
    The back-end cannot answer yet: it has not read its statuses since it
    started (a database it has not reached yet), so it cannot tell a known
    user from an unknown one.  Every front-end says
    L{finger.messages.NOT_AVAILABLE_YET} in its own way (through
    L{finger.lookup.LookupAnswers.notAvailable}); asking again later helps.
    """


class StatusNotSaved(Exception):
    """
    A status could not be made durable; nothing was changed.

    The message says why, in words fit to show to the person who asked.
    """


class StatusesReadOnly(StatusNotSaved):
    """
    This back-end's statuses cannot be changed at all (a read-only status
    file): trying again later will not help, and the message says why.
    """


class IFingerService(Interface):
    """
    Something that knows the status of users.
    """

    def getUser(user: str) -> "Deferred[str]":
        """
        Look up one user's status.

        @param user: the user's name, matched exactly.
        @return: a L{Deferred} firing with the status (text, possibly several
            lines separated by C{"\\n"}), or failing with L{UnknownUser}, or
            with L{StatusesNotAvailable} while the back-end has not read its
            statuses yet.
        """

    def getUsers() -> "Deferred[List[str]]":
        """
        List the users this service knows.

        @return: a L{Deferred} firing with a list of user names, or failing
            with L{StatusesNotAvailable} while the back-end has not read its
            statuses yet.
        """


class IVersionedFingerService(IFingerService):
    """
    A back-end that can say, cheaply, whether anything it answers with has
    changed: what lets a front-end build the user listing once per change
    of the statuses (L{finger.listing}) rather than once per request.
    Back-ends whose statuses live elsewhere (a program, a web server,
    users' C{~/.plan} files) cannot tell, and do not provide it.
    """

    def version() -> int:
        """
        Which version of the users and their statuses this service answers
        with now.

        @return: a number that is different after any change to the users
            or their statuses, however it came (a set, a reload of a file,
            a change another node announced): equal numbers mean equal
            answers to L{getUsers} and L{getUser}.  It is asked for every
            listing, so it must cost next to nothing.
        """


class IStatusesAtHand(IFingerService):
    """
    A back-end whose statuses are in this process's memory (the memory,
    status-file and SQL back-ends keep a table), so it can answer a lookup
    at once.  The finger query and the user's page ask it this way: an
    answer that is already here needs no L{Deferred}, and a query costs
    little more than a dictionary lookup (the benchmark's bare Twisted
    server).  What it answers is what L{getUser} would fire with.
    """

    def statusNow(user: str) -> Optional[str]:
        """
        C{user}'s status, now.

        @return: what L{getUser} would fire with; or L{None} when the
            back-end cannot answer without waiting (it is still reading its
            statuses for the first time), and must be asked with
            L{getUser}.
        @raise UnknownUser: as L{getUser} fails.
        @raise StatusesNotAvailable: as L{getUser} fails.
        """


class IReadiness(Interface):
    """
    A back-end that can say whether it can answer yet: one that loads its
    statuses when it starts (a status file) or reads them from a server it
    may not reach (a database).  What a readiness probe and systemd's
    C{READY=1} ask; a back-end that does not provide it is always ready.
    """

    def notReady() -> Optional[str]:
        """
        Why this back-end cannot answer now, if it cannot.

        @return: L{None} when its statuses are loaded and it can answer;
            otherwise one line for an operator saying why not (for
            example C{"the database is not reachable: connection
            refused"}).  It is asked often, so it must cost next to
            nothing.
        """


class IStatusChanges(Interface):
    """
    A back-end whose statuses change while it runs, telling whoever listens
    of each change: a set, an outside edit of the status file (seen through
    inotify or the interval check), a change another node or worker made to
    the database (seen through C{NOTIFY} or C{data_version}).  Only real
    changes are told: the old and new statuses are compared, so a reload
    that changed nothing, or a set to the status a user already has, tells
    nothing.  Each process's back-end watches the file or the database
    itself, so with C{--workers} every worker, and the main process (for
    the IRC bot), hears of every change.

    The memory, status-file and SQL back-ends provide it.  Back-ends whose
    statuses live elsewhere (users' C{~/.plan} files, a program, a web
    server, another finger server) cannot tell when they change and do not
    provide it; they are also the only ones that hide users (C{.nofinger},
    the uid floor), so a hidden user is never told of.  A back-end that
    hides users and provides this must never tell of a hidden one.

    The changes are L{finger.changes.StatusChange} values, told in
    batches (L{finger.changes.ChangeBatch}); the shared machinery is
    L{finger.changes.ChangeNotifier}.
    """

    def subscribe(listener: "Callable[[ChangeBatch], None]") -> "Callable[[], None]":
        """
        Tell C{listener} of every change from now on.

        @param listener: called in the reactor's thread with each
            L{finger.changes.ChangeBatch}, after the back-end answers with
            the new statuses.  It must not block; an exception it raises is
            logged and breaks neither the back-end nor the other listeners.
        @return: what stops telling C{listener}.
        """


class IFingerSetterService(Interface):
    """
    Something that lets a user's status be changed.
    """

    def setUser(user: str, status: str) -> "Deferred[None]":
        """
        Set one user's status.

        @param user: a name that satisfies L{finger.names.checkUserName}.
        @param status: one line of text, without control characters other
            than tab.
        @return: a L{Deferred} that fires once the new status is durable (on
            disk, for a back-end that keeps a file), or fails with
            L{finger.names.InvalidUserName}, L{ValueError} for a status that
            cannot be stored, or L{StatusNotSaved}.  On failure nothing
            changed.
        """


class IFingerFactory(IProtocolFactory):
    """
    A factory for finger protocol (RFC 1288) servers.
    """

    def getUser(user: str) -> "Deferred[str]":
        """
        Look up one user's status, as L{IFingerService.getUser} does.
        """

    def getUsers() -> "Deferred[List[str]]":
        """
        List the users, as L{IFingerService.getUsers} does.
        """


class IFingerSetterFactory(IProtocolFactory):
    """
    A factory for the status setter protocol: a user on one line, a status on
    the next.
    """

    def setUser(user: str, status: str) -> "Deferred[None]":
        """
        Set a status, as L{IFingerSetterService.setUser} does.
        """


class IIRCClientFactory(IProtocolFactory):
    """
    A factory for IRC bots that answer questions about users' statuses.
    """

    nickname = Attribute("The nickname (L{str}) the bot asks for when it signs on.")
    channels = Attribute("The channels (a L{list} of L{str}) it joins once signed on.")
    clock = Attribute("The L{IReactorTime} for the bot's timers and the retry delays.")
    maxDelay = Attribute("The most seconds (L{float}) L{retryDelay} waits.")

    def getUser(user: str) -> "Deferred[str]":
        """
        Look up one user's status, as L{IFingerService.getUser} does.
        """

    def retryDelay(failedAttempts: int) -> float:
        """
        How long to wait before connecting again: a retry policy for
        L{twisted.application.internet.ClientService}.

        @param failedAttempts: how many attempts in a row have failed.
        @return: seconds to wait.
        """


class IPerspectiveFinger(Interface):
    """
    The finger service over Perspective Broker: the methods a remote client
    calls with C{callRemote("getUser", name)} and C{callRemote("getUsers")}.
    """

    def remote_getUser(user: str) -> "Deferred[str]":
        """
        Look up one user's status.

        @return: a L{Deferred} firing with the status, or failing with
            L{finger.frontends.pb.NoSuchUser} (a L{twisted.spread.pb.Error}) for an
            unknown user.
        """

    def remote_getUsers() -> "Deferred[List[str]]":
        """
        List the users.

        @return: a L{Deferred} firing with a list of user names.
        """


class IFingerVerboseService(IFingerService):
    """
    A back-end that knows more about a user than a status, for the verbose
    (C{/W}) finger query.  Front-ends use it when the back-end provides it,
    and show just the login name and the status otherwise.
    """

    def getUserDetails(user: str) -> "Deferred[List[Tuple[str, str]]]":
        """
        Look up what a verbose answer shows about one user.

        @param user: the user's name, matched exactly.
        @return: a L{Deferred} firing with C{(label, value)} pairs in the
            order they are shown, such as C{("Login", "alice")},
            C{("Name", "Alice Liddell")}; a value may span several lines.  It
            fails with L{UnknownUser} exactly when L{getUser} would.
        """


class IFingerForwarder(Interface):
    """
    Something that answers a forwarding query, C{user@host}, by asking
    another finger server (RFC 1288 section 2.4).
    """

    def forward(query: str, verbose: bool) -> "Deferred[str]":
        """
        Answer a forwarding query.

        @param query: the query without its C{/W} switch: C{user@host},
            C{@host}, or C{user@host1@host2}, whose right-most host is the
            one to ask.
        @param verbose: whether the query asked for a verbose answer.
        @return: a L{Deferred} firing with the text to relay to the client:
            the remote answer, L{finger.messages.FORWARDING_DENIED} for a query
            the forwarder's limits refuse, or
            L{finger.messages.COULD_NOT_CONNECT}.  It does not
            fail for any of these.
        """


class IOutcomeObserver(Interface):
    """
    What hears the outcome of every request one front-end makes through its
    L{finger.lookup.LookupPolicy}, such as the counters of C{--metrics}.
    Each observer is built for one front-end, so it knows which without
    being told; a front-end without one (the default) pays nothing.

    The outcomes are short fixed words (L{finger.outcomes}), fit for a
    metric's label.  Both methods are called on the path of every request:
    they must cost next to nothing, and must not fail.
    """

    def lookedUp(outcome: str, seconds: float) -> None:
        """
        A lookup came to C{outcome}, C{seconds} after it was asked.
        """

    def changed(outcome: str, seconds: float) -> None:
        """
        A status change came to C{outcome}, C{seconds} after it was asked;
        one cancelled because its client left is not heard.
        """
