# -*- test-case-name: tests.test_logs -*-
"""
Log observers for C{twistd --logger}, fitting the system the service runs
on:

    twistd --nodaemon --logger=finger.logs.journal finger ...   # systemd
    twistd --nodaemon --logger=finger.logs.json finger ...      # JSON lines

Under systemd, standard output goes to the journal, which stamps the time
itself: L{journal} writes one plain line per event, prefixed with the
event's priority as C{sd-daemon(3)} describes (C{<3>} for errors, and so on),
so C{journalctl -p err} works.  L{json} writes one JSON object per line, for
log shippers.  Writing to a file is twistd's own C{--logfile=PATH}, which
rotates the file when it reaches 1 MB and on C{SIGUSR1}.
"""

import sys
from typing import IO, Optional

from twisted.logger import (
    FileLogObserver,
    ILogObserver,
    LogEvent,
    LogLevel,
    formatEvent,
    jsonFileLogObserver,
)

# sd-daemon(3) priorities.
_PRIORITIES = {
    LogLevel.debug: 7,
    LogLevel.info: 6,
    LogLevel.warn: 4,
    LogLevel.error: 3,
    LogLevel.critical: 2,
}


def _formatForJournal(event: LogEvent) -> Optional[str]:
    priority = _PRIORITIES.get(event.get("log_level", LogLevel.info), 6)
    system = event.get("log_system") or event.get("log_namespace") or "-"
    text = formatEvent(event)
    failure = event.get("log_failure")
    if failure is not None:
        text = f"{text}\n{failure.getTraceback()}"
    # Each line becomes its own journal entry; all of them keep the priority.
    return "".join(
        f"<{priority}>[{system}] {line}\n" for line in text.rstrip("\n").split("\n")
    )


def journal(outFile: Optional[IO[str]] = None) -> ILogObserver:
    """
    An observer writing plain lines with C{sd-daemon(3)} priority prefixes and
    no time stamps, to standard output unless C{outFile} is given.
    """
    return FileLogObserver(outFile or sys.stdout, _formatForJournal)


def json(outFile: Optional[IO[str]] = None) -> ILogObserver:
    """
    An observer writing each event as one JSON object per line, to standard
    output unless C{outFile} is given.
    """
    return jsonFileLogObserver(outFile or sys.stdout, recordSeparator="")
