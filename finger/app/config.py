# -*- test-case-name: tests.app.test_tap -*-
"""
L{Config}: what C{twistd finger}'s command line says, checked once and
frozen, one record per role.  L{finger.app.tap.Options} makes it when it
parses; L{finger.app.compose.makeService} builds the service from it.
"""

import os
from dataclasses import dataclass
from typing import Any, Callable, List, Mapping, Optional, Sequence, TypeVar

from twisted.python import usage

from finger.app.backend import BackendConfig, backendCanSet
from finger.app.finger import FingerConfig
from finger.app.irc import IRCConfig
from finger.app.listening import LimitsConfig
from finger.app.login import LoginConfig
from finger.app.notify import NotifyConfig
from finger.app.metrics import MetricsConfig
from finger.app.pb import PBConfig
from finger.app.setter import SetterConfig
from finger.app.web import WebConfig
from finger.app.workers import WorkersConfig

_T = TypeVar("_T")


@dataclass(frozen=True)
class Config:
    """
    The whole configuration of the finger service.

    @ivar backend: the back-end and forwarding.
    @ivar finger: the finger listener.
    @ivar setter: the setter's listener, or L{None} with C{--no-setter} or
        a back-end that cannot set statuses.
    @ivar web: the web site, over HTTP and, with C{--ssl}, HTTPS.
    @ivar pb: Perspective Broker's listener, or L{None} with C{--no-pb}.
    @ivar irc: the IRC bot; it runs only with C{--ircserver}.
    @ivar limits: the limits every listener is held to.
    @ivar login: how clients log in to set statuses, or L{None} when
        setting needs no password (no C{--auth}).
    @ivar workers: with C{--workers} above 1, the worker processes; else
        L{None}.
    @ivar notify: under systemd's C{Type=notify}, where to tell it the
        service is ready and alive; else L{None}.
    @ivar metrics: with C{--metrics}, where the metrics are served; else
        L{None}.
    """

    backend: BackendConfig
    finger: FingerConfig
    setter: Optional[SetterConfig]
    web: WebConfig
    pb: Optional[PBConfig]
    irc: IRCConfig
    limits: LimitsConfig
    login: Optional[LoginConfig]
    workers: Optional[WorkersConfig]
    notify: Optional[NotifyConfig] = None
    metrics: Optional[MetricsConfig] = None

    @classmethod
    def fromOptions(
        cls,
        options: usage.Options,
        reactor: Any,
        arguments: Sequence[str] = (),
        environ: Optional[Mapping[str, str]] = None,
    ) -> "Config":
        """
        Check the parsed options and read them, loading once what the
        service needs from files (templates, TLS certificates) and opening
        the database; C{options} is left as it was.

        @param reactor: the reactor the endpoint descriptions are checked
            against; nothing listens or connects.
        @param arguments: the command line C{options} were parsed from, for
            the workers of C{--workers}.
        @param environ: where systemd's variables are read
            (C{$NOTIFY_SOCKET}); this process's environment if L{None}.
        @raise usage.UsageError: naming each option that is wrong, one a
            line.
        """
        errors: List[str] = []

        def check(read: Callable[[], _T]) -> Optional[_T]:
            try:
                return read()
            except usage.UsageError as e:
                errors.append(str(e))
                return None

        # Every role is checked, so that one mistake (a missing default
        # status file) does not hide the others; the back-end last, as it
        # may open a database.
        canSet = backendCanSet(options["backend"])
        finger = check(lambda: FingerConfig.fromOptions(options, reactor))
        setter = check(lambda: SetterConfig.fromOptions(options, reactor, canSet))
        web = check(lambda: WebConfig.fromOptions(options, reactor))
        login = check(lambda: LoginConfig.fromOptions(options))
        limits = check(lambda: LimitsConfig.fromOptions(options))
        pb = check(lambda: PBConfig.fromOptions(options, reactor))
        irc = check(lambda: IRCConfig.fromOptions(options, reactor))
        workers = check(lambda: WorkersConfig.fromOptions(options, arguments))

        def readNotify() -> Optional[NotifyConfig]:
            try:
                return NotifyConfig.fromEnvironment(os.environ if environ is None else environ)
            except ValueError as e:
                raise usage.UsageError(str(e)) from None

        notify = check(readNotify)
        metrics = check(lambda: MetricsConfig.fromOptions(options, reactor))
        backend = check(lambda: BackendConfig.fromOptions(options))
        if errors:
            raise usage.UsageError("\n".join(errors))
        assert backend is not None and finger is not None and web is not None
        assert limits is not None and irc is not None
        return cls(
            backend=backend,
            finger=finger,
            setter=setter,
            web=web,
            pb=pb,
            irc=irc,
            limits=limits,
            login=login,
            workers=workers,
            notify=notify,
            metrics=metrics,
        )
