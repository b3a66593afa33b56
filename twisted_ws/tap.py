# -*- test-case-name: tests.test_tap -*-
"""
Support for C{twistd websocket}: turn command-line options or a TOML
configuration file into a service that serves WebSocket applications.

With no options, C{twistd -n websocket} serves the chat demo on C{tcp:8080}:
the WebSocket endpoint at C{/ws} and the demo page at C{/}, both through one
L{twisted.web.server.Site}.

Every problem in the options or the configuration file (an unknown key, a
value of the wrong type, an endpoint string that does not parse, an
application that cannot be imported) is found before anything listens and
reported at once, one line each, by the L{ConfigurationError} that
L{Options.postOptions} raises: C{twistd} prints it and exits with status 1.

The pieces live in L{twisted_ws.twistd}: option values (C{_values}), the
library options made from L{twisted_ws.Options}' fields (C{_library}), the
configuration (C{_config}), the applications (C{_apps}), the resource tree
(C{_site}) and the services (C{_services}).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
from collections.abc import Callable
from typing import Any, TextIO

from twisted.application import service
from twisted.internet import endpoints
from twisted.python import usage

from twisted_ws._drain import DrainService, DrainState
from twisted_ws.twistd._apps import AppContext, BuiltApp, LoadedApp, buildApps, checkApps, loadApp
from twisted_ws.twistd._config import (
    DEFAULT_LISTEN,
    DEFAULT_PATH,
    OPERATIONS,
    AppConfig,
    CommandLine,
    ConfigurationError,
    Problems,
    ServerConfig,
    mergeConfig,
    parseConfigFile,
)
from twisted_ws.twistd._library import (
    BUILTIN_APPS,
    LIBRARY_OPTIONS,
    LibraryOption,
    compressionExtensions,
    makeLibraryOptions,
)
from twisted_ws.twistd._services import ListeningService, ServerService, checkEndpoints, listen
from twisted_ws.twistd._site import demoDirectory
from twisted_ws.twistd._site import makeRootFactory as _makeRoot
from twisted_ws.twistd._textlog import textObserver
from twisted_ws.twistd._values import EVERY_PATH, VERSION_ALIASES, ConfigError
from twisted_ws.twistd._workers import (
    WORKER_ENV,
    ParentWatch,
    WorkersService,
    checkWorkers,
    isWorker,
)


class Options(usage.Options):
    """
    The options of C{twistd websocket}.

    After L{parseOptions}, C{self["server"]} holds the checked
    L{ServerConfig}.
    """

    synopsis = "[websocket options]"

    longdesc = (
        "Serve WebSocket applications on one or more endpoints. With no "
        "options: the chat demo on tcp:8080, its page at / and the WebSocket "
        "at /ws. Settings can also come from a TOML file (--config); options "
        "given on the command line win over the file. Your own application "
        "is imported from the current directory or PYTHONPATH."
    )

    optParameters = [
        [
            "app", "a", None,
            "The application: 'echo', 'chat', or your own as "
            "package.module.Factory or package.module:ProtocolClass. [default: chat]",
        ],
        [
            "path", "p", None,
            "The path the application's WebSocket is served on; '*' for every "
            "path. [default: /ws; every path for echo]",
        ],
        ["static", "s", None, "A directory of files served at / beside the WebSocket."],
        ["config", "c", None, "Read settings from this TOML file."],
        [
            "hub", None, None,
            "The pub/sub hub the applications share: memory: (this process only) or "
            "redis://[:PASSWORD@]HOST:PORT/DB (rediss:// for TLS; needs the redis extra). "
            "[default: memory:]",
        ],
        [
            "workers", None, None,
            "Serve the listening sockets with this many worker processes (with an "
            "app on a hub, the hub must be on Redis). [default: 1]",
        ],
        [
            "health", None, None,
            "Answer plain HTTP GETs of this path (say /healthz) with 200, and "
            "with 503 once the server is draining.",
        ],
        [
            "drain-timeout", None, None,
            "On stopping, how long to wait (seconds) for the connections, closed "
            "with 1001, to finish their closing handshakes. [default: 5]",
        ],
        [
            "metrics", None, None,
            "Serve Prometheus metrics at /metrics on this endpoint, such as "
            "tcp:9100:interface=127.0.0.1 (needs prometheus_client). "
            "[default: $TWISTED_WS_METRICS, else none]",
        ],
        ["log-format", None, None, "'text' (twistd's lines) or 'json' (one JSON object a line)."],
    ]

    def __init__(self) -> None:
        super().__init__()
        self["listen"] = []
        self["settings"] = {}
        self["server"] = None
        self.problems = Problems()
        self.stderr: TextIO = sys.stderr
        self._reactor: Any = None

    def opt_listen(self, description: str) -> None:
        self["listen"].append(description)

    opt_listen.__doc__ = (
        "An endpoint to listen on: tcp:8080, tcp:8080:interface=127.0.0.1, "
        "ssl:8443:privateKey=key.pem:certKey=cert.pem (wss), unix:/run/ws.sock, "
        "...; repeat for several. [default: tcp:8080]"
    )

    opt_l = opt_listen

    def opt_versions(self, value: str) -> None:
        """
        Deprecated: use --protocol-versions.
        """
        self.problems.notice("--versions", "deprecated (it is one letter from twistd's own "
                             "--version); use --protocol-versions")
        self.opt_protocol_versions(value)  # type: ignore[attr-defined]

    def postOptions(self) -> None:
        """
        Merge the configuration file (if any) with the command line, check
        everything, and store the result as C{self["server"]}.

        @raise ConfigurationError: naming every problem, each with the
            option or the file and key it is in.
        """
        cli = CommandLine(list(self["listen"]), self["app"], self["path"], self["static"],
                          self["config"], dict(self["settings"]))
        cli.hub, cli.workers = self["hub"], self["workers"]
        for key in OPERATIONS:
            if self[key] is not None:
                cli.operations[key] = self[key]
        if "metrics" not in cli.operations and os.environ.get("TWISTED_WS_METRICS"):
            cli.operations["metrics"] = os.environ["TWISTED_WS_METRICS"]
        config = mergeConfig(cli, self.problems)
        checkEndpoints(config, self._reactor if self._reactor is not None else _globalReactor(),
                       self.problems)
        checkApps(config, self.problems)
        checkWorkers(config, self._reactor if self._reactor is not None else _globalReactor(),
                     self.problems)
        if config.metrics is not None and importlib.util.find_spec("prometheus_client") is None:
            self.problems.add("--metrics", "needs prometheus_client: pip install twisted_ws[metrics]")
        for notice in self.problems.notices:
            self.stderr.write(notice + "\n")
        self.problems.raiseIfAny()
        self["server"] = config


def _libraryHandler(option: LibraryOption) -> Callable[..., None]:
    """
    Make the C{opt_} method of a library option: it parses the value and
    stores it in C{self["settings"]} under the option's name, or records
    the problem.
    """
    if option.flag:

        def handler(self: Options) -> None:
            self["settings"][option.name] = option.parse(True)

    else:

        def handler(self: Options, value: str) -> None:  # type: ignore[misc]
            try:
                parsed = option.parse(value)
            except ConfigError as e:
                self.problems.add(f"--{option.name}", str(e))
                return
            if option.repeatable:
                parsed = self["settings"].get(option.name, ()) + parsed
            self["settings"][option.name] = parsed

    handler.__doc__ = option.helpText
    handler.__name__ = "opt_" + option.name.replace("-", "_")
    return handler


for _option in LIBRARY_OPTIONS:
    setattr(Options, "opt_" + _option.name.replace("-", "_"), _libraryHandler(_option))
del _option


def _globalReactor() -> Any:
    """
    The global reactor, imported only when needed (twistd has installed the
    one it was asked for by then).
    """
    from twisted.internet import reactor

    return reactor


def makeFactories(config: ServerConfig, reactor: Any = None) -> list[BuiltApp]:
    """
    Build the protocol factory of every application (see
    L{twisted_ws.twistd._apps.buildApps}).
    """
    return buildApps(config, reactor)


def makeRootFactory(config: ServerConfig, reactor: Any = None) -> Any:
    """
    The factory each endpoint listens with, for a L{ServerConfig} (see
    L{twisted_ws.twistd._site.makeRootFactory}).
    """
    return _makeRoot(buildApps(config, reactor), config.static)


def makeService(config: Options, reactor: Any = None) -> service.IService:
    """
    Build the C{twistd websocket} service from parsed L{Options}.

    @param config: parsed options; C{config["server"]} is the
        L{ServerConfig}.
    @param reactor: the reactor the endpoints are made with; the global one
        by default.
    """
    if reactor is None:
        reactor = _globalReactor()
    serverConfig = config["server"]
    if serverConfig is None:
        raise usage.UsageError("options were not parsed")
    if serverConfig.workers > 1 and not isWorker():
        return WorkersService(serverConfig, reactor, twistdOptions=getattr(config, "parent", None),
                              logObserver=jsonObserver(config) if serverConfig.logFormat == "json"
                              else None)
    top = ServerService(serverConfig.apps)
    if isWorker():
        ParentWatch(reactor).setServiceParent(top)
    built = buildApps(serverConfig, reactor, top.appServices)
    factories = [b.factory for b in built if hasattr(b.factory, "connections")]
    if serverConfig.metrics is not None:
        from twisted_ws._metrics import enableStats
        from twisted_ws.metrics import makeRegistry, metricsSite

        stats = [enableStats(f, b.config.name) for b in built for f in [b.factory] if f in factories]
        # The server's one hub, as the applications on it hold it (factory.hub).
        hubs = {id(h): h for b in built if (h := getattr(b.factory, "hub", None)) is not None}
        description = workerMetricsEndpoint(serverConfig.metrics, workerIndex())
        endpoint = endpoints.serverFromString(reactor, description)
        ListeningService(description, endpoint, metricsSite(makeRegistry(stats, hubs.values()))
                         ).setServiceParent(top)
    state = DrainState()
    root = _makeRoot(built, serverConfig.static, serverConfig.health, state)
    listen(top, reactor, serverConfig.listen, root)
    # Added last, so stopped first: it closes the connections while the
    # ports stop listening.
    DrainService(factories, serverConfig.drainTimeout, reactor, state).setServiceParent(top)
    if serverConfig.logFormat == "json":
        top.logObserver = jsonObserver(config)
    else:
        top.logObserver = textObserver(config)
    return top


def workerIndex() -> int | None:
    """
    The index (from 1) of this process among C{--workers}, or L{None} when
    it is not a worker.
    """
    if not isWorker():
        return None
    try:
        return int(json.loads(os.environ[WORKER_ENV])["index"])
    except (KeyError, TypeError, ValueError):
        return None


_TCP_PORT = re.compile(r"^(tcp6?:)(\d+)(:.*)?$")


def workerMetricsEndpoint(description: str, index: int | None) -> str:
    """
    The metrics endpoint of worker C{index}: each worker serves its own
    figures, worker 1 on the port given, worker 2 on the next one, and so
    on (port 0 stays 0; other kinds of endpoint are used as given).
    """
    match = _TCP_PORT.match(description)
    if index is None or match is None or int(match.group(2)) == 0:
        return description
    return f"{match.group(1)}{int(match.group(2)) + index - 1}{match.group(3) or ''}"


def jsonObserver(config: Any) -> Any:
    """
    The JSON log observer of C{--log-format json}: one JSON object a line
    (L{twisted.logger.jsonFileLogObserver}), to twistd's log file (rotated
    as twistd rotates it), or to standard output when it logs there (C{-n}
    with no C{--logfile}, or C{--logfile -}).
    """
    from twisted.logger import jsonFileLogObserver
    from twisted.python.logfile import LogFile

    # Options parsed outside twistd have no parent: log to standard output.
    parent: Any = getattr(config, "parent", None)
    if not hasattr(parent, "get"):
        parent = {}
    logfile = parent.get("logfile")
    nodaemon = parent.get("nodaemon", True)
    # One object a line, with no record separator before it: what log
    # shippers read as JSON lines.
    if logfile == "-" or (not logfile and nodaemon):
        return jsonFileLogObserver(sys.stdout, recordSeparator="")
    out = LogFile.fromFullPath(logfile or "twistd.log")
    return jsonFileLogObserver(out, recordSeparator="")  # type: ignore[arg-type]


__all__ = [
    "AppConfig",
    "AppContext",
    "BUILTIN_APPS",
    "ConfigError",
    "ConfigurationError",
    "DEFAULT_LISTEN",
    "DEFAULT_PATH",
    "EVERY_PATH",
    "LIBRARY_OPTIONS",
    "LoadedApp",
    "Options",
    "ServerConfig",
    "VERSION_ALIASES",
    "compressionExtensions",
    "demoDirectory",
    "loadApp",
    "makeFactories",
    "makeLibraryOptions",
    "makeRootFactory",
    "makeService",
    "parseConfigFile",
]
