# -*- test-case-name: tests.test_tap -*-
"""
The services of C{twistd websocket}: one listening service per endpoint,
and the applications' own services, under one parent.
"""

from __future__ import annotations

import errno
from typing import Any

from twisted.application import service
from twisted.application.internet import StreamServerEndpointService
from twisted.internet import endpoints
from twisted.internet.error import CannotListenError
from twisted.logger import Logger

from twisted_ws._twistedinternals import raiseListenErrorsSynchronously

from ._values import EVERY_PATH
from ._workersocket import workerEndpoint

_log = Logger()


def listenFailure(description: str, error: BaseException) -> str:
    """
    The one line that says why C{twistd} cannot listen on an endpoint.
    """
    socketError = getattr(error, "socketError", None)
    if isinstance(error, CannotListenError) and getattr(socketError, "errno", None) == errno.EADDRINUSE:
        return (
            f"twistd websocket: port {error.port} is in use: pass --listen tcp:PORT "
            "to listen on another port"
        )
    return f"twistd websocket: cannot listen on {description!r}: {error}"


class ListeningService(StreamServerEndpointService):
    """
    Listen on one endpoint; a failure to listen (the port is taken, say)
    stops C{twistd} with one line that says so, instead of a traceback.

    @ivar description: the endpoint's description string, for messages.
    """

    def __init__(self, description: str, endpoint: Any, factory: Any) -> None:
        super().__init__(endpoint, factory)
        self.description = description
        raiseListenErrorsSynchronously(self)

    def privilegedStartService(self) -> None:
        try:
            super().privilegedStartService()
        except Exception as e:
            raise SystemExit(listenFailure(self.description, e)) from None


class ServerService(service.MultiService):
    """
    The parent of every service of the server: its ports first, then the
    applications' own services.  It says what it serves once the ports are
    open, not before.

    @ivar apps: the applications (L{AppConfig}s), for the log line.
    @ivar appServices: the parent of the applications' own services.
    @ivar logObserver: the log observer C{twistd} should log to (the JSON
        one of C{--log-format json}), or L{None} for its own.
    """

    def __init__(self, apps: list[Any]) -> None:
        super().__init__()
        self.apps = apps
        self.appServices = service.MultiService()
        self.logObserver: Any = None

    def setServiceParent(self, parent: Any) -> None:
        # twistd logs to the ILogObserver component of its application, if
        # it has one (and no --logger was given).
        if self.logObserver is not None and hasattr(parent, "setComponent"):
            from twisted.logger import ILogObserver

            parent.setComponent(ILogObserver, self.logObserver)
        super().setServiceParent(parent)

    def startService(self) -> None:
        super().startService()
        for app in self.apps:
            path = "every path" if app.path == EVERY_PATH else app.path
            _log.info("serving {name} on {path}", name=app.name, path=path)


def checkEndpoints(config: Any, reactor: Any, problems: Any) -> None:
    """
    Parse every endpoint description of a L{ServerConfig} now, recording
    in C{problems} the ones that do not parse, so that a bad one stops
    C{twistd} before it starts.
    """
    extra = [config.metrics] if getattr(config, "metrics", None) else []
    for description in [*config.listen, *extra]:
        try:
            endpoints.serverFromString(reactor, description)
        except Exception as e:
            problems.add(f"{config.listenOrigin} {description!r}", str(e) or type(e).__name__)


def listen(parent: ServerService, reactor: Any, descriptions: list[str], factory: Any) -> None:
    """
    Add one L{ListeningService} per endpoint to C{parent}, all with one
    factory, and then the applications' own services, so that they start
    after the ports are open.
    """
    for description in descriptions:
        endpoint = workerEndpoint(reactor, description) or endpoints.serverFromString(
            reactor, description)
        ListeningService(description, endpoint, factory).setServiceParent(parent)
    parent.appServices.setServiceParent(parent)
