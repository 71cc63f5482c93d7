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
log shippers, with the fields a pipeline indexes on top (L{record}): C{time},
C{level}, C{text}, C{namespace}, and C{frontend}, C{peer} and C{outcome}
where the event has them; an access-log batch becomes one object a request.
Writing to a file is twistd's own C{--logfile=PATH}, which rotates the file
when it reaches 1 MB and on C{SIGUSR1}.

Both leave out Twisted's own line for each port it starts and stops
(L{portChatter}): the service says where it listens itself.
"""

import json as jsonModule
import re
import sys
import time
from typing import IO, Any, Dict, Iterator, Optional

from twisted.logger import (
    FileLogObserver,
    FilteringLogObserver,
    ILogFilterPredicate,
    ILogObserver,
    LogEvent,
    LogLevel,
    PredicateResult,
    formatEvent,
)
from zope.interface import provider

# What twisted.internet.tcp and unix ports log, unconditionally, when they
# start and stop listening: "<factory> starting on 79", "(TCP Port 79
# Closed)".  finger.net.listen says it instead, with the address.
_PORT_CHATTER = re.compile(r"^(?:.* starting on \S+|\((?:TCP|UNIX|UDP) Port \S+ Closed\))$")


def portChatter(event: LogEvent) -> bool:
    """
    Whether C{event} is one of the lines Twisted's ports log as they start
    and stop listening, which name the port without its address; the
    service logs its own line for each listener (L{finger.net.listen}).
    """
    if event.get("log_namespace") != "log_legacy":
        return False
    return bool(_PORT_CHATTER.match(formatEvent(event)))


@provider(ILogFilterPredicate)
def _withoutPortChatter(event: LogEvent) -> PredicateResult:
    return PredicateResult.no if portChatter(event) else PredicateResult.maybe

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
    return FilteringLogObserver(
        FileLogObserver(outFile or sys.stdout, _formatForJournal), [_withoutPortChatter]
    )


def isoTime(seconds: float) -> str:
    """
    A time stamp for a log pipeline: UTC, ISO 8601, to the millisecond.
    """
    whole = int(seconds)
    milliseconds = int((seconds - whole) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{milliseconds:03d}Z"


# The front-end an event comes from, by the first of its namespace's
# prefixes found here.
_FRONTENDS = (
    ("finger.frontends.web.xmlrpc", "xmlrpc"),
    ("finger.frontends.web.webfinger", "webfinger"),
    ("finger.frontends.web", "web"),
    ("finger.frontends.finger", "finger"),
    ("finger.frontends.setter", "setter"),
    ("finger.frontends.pb", "pb"),
    ("finger.frontends.irc", "irc"),
)

# The lines of the access log (finger.accesslog): a finger query, as
# finger.frontends.finger writes it, and a web request in the combined log
# format, as finger.frontends.web.site writes it.
_FINGER_LINE = re.compile(r"^(?P<time>\S+) Finger query from (?P<peer>\S+): (?P<query>.*)$")
_WEB_LINE = re.compile(
    r'^"(?P<peer>[^"]*)" \S+ \S+ \S+ \S+ "(?P<request>(?:[^"\\]|\\.)*)" (?P<status>\d+) '
)

# Twisted's own bookkeeping in an event (beside the log_ keys), which a
# pipeline has no use for: what twisted.python.log adds.
_LEGACY = {"format", "message", "isError", "failure", "system", "time"}


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


def frontendOf(namespace: str) -> Optional[str]:
    """
    The front-end (C{finger}, C{web}, C{xmlrpc}, ...) whose module logged in
    C{namespace}, if any.
    """
    for prefix, name in _FRONTENDS:
        if namespace == prefix or namespace.startswith(prefix + "."):
            return name
    return None


def record(event: LogEvent) -> Dict[str, Any]:
    """
    The object L{json} writes for C{event}: C{time} (UTC, ISO 8601),
    C{level}, C{namespace}, C{system} (C{worker 2 (pid 4242)} for a
    worker's event), C{text} (the event formatted, with its traceback),
    C{frontend}, C{peer} and C{outcome} where the event has them (the
    front-end from the module that logged it), then the event's own fields.
    """
    level = event.get("log_level", LogLevel.info)
    namespace = event.get("log_namespace") or "-"
    text = formatEvent(event)
    failure = event.get("log_failure")
    if failure is not None:
        text = f"{text}\n{failure.getTraceback()}"
    line: Dict[str, Any] = {
        "time": isoTime(event.get("log_time") or time.time()),
        "level": level.name,
        "namespace": namespace,
        "text": text,
    }
    system = event.get("log_system")
    if system and system != "-":
        line["system"] = system
    frontend = event.get("frontend") or frontendOf(namespace)
    if frontend:
        line["frontend"] = frontend
    for key, value in event.items():
        if not key.startswith("log_") and key not in _LEGACY and key not in line:
            line[key] = _jsonable(value)
    return line


def accessRecords(event: LogEvent) -> Iterator[Dict[str, Any]]:
    """
    One record for each line of a batch of the access log: its own time,
    the front-end, the peer, and the query (finger) or the request and its
    HTTP status (web).
    """
    base = record(event)
    base.pop("lines", None)
    base.pop("text", None)
    for text in event["lines"]:
        line = dict(base, text=text)
        finger = _FINGER_LINE.match(text)
        web = _WEB_LINE.match(text)
        if finger is not None:
            line.update(frontend="finger", peer=finger["peer"], query=finger["query"])
        elif web is not None:
            line.update(
                frontend="web",
                peer=web["peer"],
                request=web["request"],
                status=int(web["status"]),
            )
        yield line


def _formatAsJSON(event: LogEvent) -> Optional[str]:
    if portChatter(event):
        return None
    if event.get("log_namespace") == "finger.access" and isinstance(event.get("lines"), list):
        records = list(accessRecords(event))
    else:
        records = [record(event)]
    return "".join(
        jsonModule.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in records
    )


def json(outFile: Optional[IO[str]] = None) -> ILogObserver:
    """
    An observer writing each event as one JSON object per line (see
    L{record}), to standard output unless C{outFile} is given.
    """
    return FileLogObserver(outFile or sys.stdout, _formatAsJSON)
