# -*- test-case-name: tests.backends.test_file -*-
"""
Watching the status file's directory for changes, with inotify where there
is one: what tells L{finger.backends.file.FileFingerService} that another
process, or a person, changed the file.
"""

import os
from typing import Any, Callable

from twisted.internet.interfaces import IReactorFDSet
from twisted.python.filepath import FilePath

try:
    # Imported now, not when first watching: a server that dropped its
    # privileges may no longer be able to read its Python installation.
    from twisted.internet import inotify
except ImportError:  # Not Linux.
    inotify = None  # type: ignore[assignment]

Watch = Callable[[Any, str, Callable[[str], None]], Callable[[], None]]
"""
How a directory is watched: C{watch(reactor, directory, changed)} calls
C{changed(name)} when the file C{name} in C{directory} may have new
contents, and returns what stops watching; it raises L{WatchUnavailable}
if it cannot watch.
"""


class WatchUnavailable(Exception):
    """
    A directory cannot be watched for changes here; the message says why.
    """


def watchDirectory(
    reactor: Any, directory: str, changed: Callable[[str], None]
) -> Callable[[], None]:
    """
    Watch C{directory} with inotify: call C{changed(name)} when a file in
    it is written and closed, or renamed into it.

    A directory, not a file, is watched: a save renames a new file over
    the old one, and a watch on the old one would see no more.

    @param reactor: an L{IReactorFDSet} provider, which reads the events.
    @return: a function that stops watching.
    @raise WatchUnavailable: if this system or C{reactor} cannot watch.
    """
    if not IReactorFDSet.providedBy(reactor):
        raise WatchUnavailable("the reactor cannot watch file descriptors")
    if inotify is None:
        raise WatchUnavailable("this system has no inotify")
    try:
        notifier = inotify.INotify(reactor=reactor)
    except (inotify.INotifyError, OSError) as e:
        raise WatchUnavailable(f"inotify cannot start ({e})") from e
    wanted = inotify.IN_CLOSE_WRITE | inotify.IN_MOVED_TO

    def event(ignored: object, path: FilePath[bytes], mask: int) -> None:
        if mask & wanted:
            changed(os.fsdecode(path.basename()))

    try:
        notifier.watch(FilePath(directory), mask=wanted, callbacks=[event])
    except inotify.INotifyError as e:
        notifier.loseConnection()
        raise WatchUnavailable(f"inotify cannot watch {directory} ({e})") from e
    notifier.startReading()
    return notifier.loseConnection
