# -*- test-case-name: tests.test_tap -*-
"""
The description of a C{twistd websocket} server (L{ServerConfig}), read
from the command line and a TOML configuration file, and the problems found
in them (L{Problems}), every one reported at once.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from dataclasses import dataclass, field
from typing import Any

from ._hub import HubConfig
from ._library import DEPRECATED_NAMES, LIBRARY_BY_NAME
from ._values import ConfigError, parsePath, parseSeconds, parseString, parseStringList, typeName

#: The endpoint used when no C{--listen} is given.
DEFAULT_LISTEN = "tcp:8080"

#: The path the WebSocket application is served on when none is given.
DEFAULT_PATH = "/ws"


class ConfigurationError(SystemExit):
    """
    The configuration has problems: C{twistd} prints one line per problem
    (and not its usage text) and exits with status 1.

    @ivar problems: one message per problem, each naming where the value
        came from (an option, or a file and its key) and what is wrong.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(f"twistd websocket: {problem}" for problem in problems))

    def __str__(self) -> str:
        return str(self.code)


class Problems:
    """
    The problems found so far, so that all of them are reported at once.

    @ivar messages: one message per problem, in the order found.
    @ivar notices: messages about what works but should change (an old
        spelling of an option), for people, not stopping anything.
    """

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.notices: list[str] = []

    def notice(self, where: str, message: str) -> None:
        """
        Record a notice about the value given at C{where}.
        """
        self.notices.append(f"twistd websocket: {where}: {message}")

    def add(self, where: str, message: str) -> None:
        """
        Record a problem of the value given at C{where} (C{"--static"},
        C{"websocket.toml: app[2]: path"}).
        """
        text = f"{where}: {message}" if where else message
        if text not in self.messages:
            self.messages.append(text)

    def parse(self, where: str, parse: Any, value: object, default: Any = None) -> Any:
        """
        Parse C{value}, or record why it cannot be and return C{default}.
        """
        try:
            return parse(value)
        except ConfigError as e:
            self.add(where, str(e))
            return default

    def raiseIfAny(self) -> None:
        """
        @raise ConfigurationError: if any problem was recorded.
        """
        if self.messages:
            raise ConfigurationError(self.messages)


@dataclass
class AppConfig:
    """
    One WebSocket application served by the server.

    @ivar name: the built-in name (C{echo}, C{chat}) or the dotted name of
        the user's factory, protocol class or factory-making callable.
    @ivar path: the path it is served on, or C{"*"} for every path.
    @ivar settings: library option values set for this application only,
        by option name, overriding the server-wide ones.
    @ivar origin: where the application was set, for messages: C{"--app"},
        C{"websocket.toml: app"} or C{"websocket.toml: app[2] (/echo)"}.
    """

    name: str
    path: str
    settings: dict[str, Any] = field(default_factory=dict)
    origin: str = "--app"

    @property
    def nameOrigin(self) -> str:
        """
        Where the application's name was given, for messages.
        """
        return self.origin if self.origin.startswith("--") else f"{self.origin}: name"


@dataclass
class ServerConfig:
    """
    Everything L{makeService} needs, after all parsing and checking.

    @ivar listen: endpoint description strings.
    @ivar apps: the applications, each on its own path.
    @ivar static: a directory served at C{/} beside the applications, or
        C{None}.
    @ivar settings: server-wide library option values, by option name.
    @ivar listenOrigin: where C{listen} came from, for messages.
    @ivar staticOrigin: where C{static} came from, for messages.
    @ivar hub: the hub the applications share (a L{HubConfig}).
    @ivar workers: how many worker processes serve the sockets.
    @ivar workersOrigin: where C{workers} came from, for messages.
    """

    listen: list[str]
    apps: list[AppConfig]
    static: str | None
    settings: dict[str, Any]
    listenOrigin: str = "--listen"
    staticOrigin: str = "--static"
    hub: HubConfig = field(default_factory=HubConfig)
    workers: int = 1
    workersOrigin: str = "--workers"
    drainTimeout: float = 5.0
    health: str | None = None
    metrics: str | None = None
    logFormat: str = "text"


def parseHealthPath(value: object) -> str:
    """
    Parse the health check's path: an absolute path other than C{/}.
    """
    path = parsePath(value)
    if path in ("*", "/"):
        raise ConfigError(f"expected a path such as /healthz, got {path!r}")
    return path


def parseLogFormat(value: object) -> str:
    """
    Parse a log format: C{"text"} (twistd's lines) or C{"json"}.
    """
    text = parseString(value).strip().lower()
    if text not in ("text", "json"):
        raise ConfigError(f"expected 'text' or 'json', got {value!r}")
    return text


#: The operations settings: file key (and long option) to parser and
#: L{ServerConfig} attribute.
OPERATIONS = {
    "drain-timeout": (parseSeconds, "drainTimeout"),
    "health": (parseHealthPath, "health"),
    "metrics": (parseString, "metrics"),
    "log-format": (parseLogFormat, "logFormat"),
}

_SERVER_KEYS = {"listen", "app", "path", "static", "hub", "workers"} | set(OPERATIONS)
_KNOWN = set(LIBRARY_BY_NAME) | set(DEPRECATED_NAMES)


def parseSettings(table: dict[str, Any], where: str, problems: Problems) -> dict[str, Any]:
    """
    Parse the library options of a table of the file, by option name; an
    old spelling (L{DEPRECATED_NAMES}) counts as the new one.
    """
    settings: dict[str, Any] = {}
    for key, value in table.items():
        name = DEPRECATED_NAMES.get(key, key)
        if name != key:
            problems.notice(f"{where}{key}", f"deprecated; use {name!r}")
        option = LIBRARY_BY_NAME.get(name)
        if option is not None:
            parsed = problems.parse(f"{where}{key}", option.parse, value, _FAILED)
            if parsed is not _FAILED:
                settings[name] = parsed
    return settings


_FAILED = object()


def _checkKeys(table: dict[str, Any], known: set[str], where: str, problems: Problems) -> None:
    for key in table:
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(sorted(known))}"
            problems.add(where.rstrip(": "), f"unknown key {key!r} ({hint})")


def _readToml(path: str, problems: Problems) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except OSError as e:
        problems.add(path, f"cannot read the configuration file: {e.strerror or e}")
    except tomllib.TOMLDecodeError as e:
        problems.add(path, f"not valid TOML: {e}")
    return None


def _parseAppTable(table: Any, index: int, path: str, problems: Problems) -> AppConfig | None:
    """
    Parse the C{index}-th (1-based) C{[[app]]} table of the file.
    """
    here = f"{path}: app[{index}]"
    if not isinstance(table, dict):
        problems.add(f"{path}: app", f"expected tables ([[app]]), found {typeName(table)}")
        return None
    appPath = None
    if "path" in table:
        appPath = problems.parse(f"{here}: path", parsePath, table["path"])
        if appPath is not None:
            here = f"{here} ({appPath})"
    _checkKeys(table, {"name", "path"} | _KNOWN, f"{here}: ", problems)
    settings = parseSettings(table, f"{here}: ", problems)
    if "name" not in table:
        problems.add(here, "key 'name' is missing")
        return None
    name = problems.parse(f"{here}: name", parseString, table["name"])
    if name is None:
        return None
    return AppConfig(name, appPath or "", settings, origin=here)


def _parseApps(data: dict[str, Any], path: str, result: dict[str, Any], problems: Problems) -> None:
    app = data.get("app")
    if isinstance(app, str):
        result["app"] = app
    elif isinstance(app, list):
        apps = [_parseAppTable(table, n, path, problems) for n, table in enumerate(app, 1)]
        result["apps"] = [a for a in apps if a is not None]
    elif app is not None:
        problems.add(f"{path}: app", f"expected a name or [[app]] tables, got {typeName(app)}")


def parseConfigFile(path: str, problems: Problems | None = None) -> dict[str, Any]:
    """
    Read a TOML configuration file.

    The keys are the long command-line options: C{listen} (a string or a
    list of endpoint strings), C{app} (a name, or an array of tables each
    with C{name} and C{path} and optional library options of its own),
    C{path}, C{static}, and every library option (C{max-message-size},
    C{allowed-origin}, ...).

    @param problems: where to record the problems found; without it, the
        first problem is raised.
    @return: a dict with the keys C{listen}, C{apps} (a list of
        L{AppConfig}), C{app} (a name), C{path}, C{static} and C{settings},
        holding only what the file sets.
    @raise ConfigurationError: if C{problems} is not given and the file has
        any.
    """
    mine = problems is None
    found = Problems() if problems is None else problems
    result: dict[str, Any] = {"settings": {}}
    data = _readToml(path, found)
    if data is not None:
        _checkKeys(data, _SERVER_KEYS | _KNOWN, f"{path}: ", found)
        result["settings"] = parseSettings(data, f"{path}: ", found)
        for key, parse in (("listen", parseStringList), ("path", parsePath), ("static", parseString)):
            if key in data:
                value = found.parse(f"{path}: {key}", parse, data[key])
                if value is not None:
                    result[key] = list(value) if key == "listen" else value
        _parseApps(data, path, result, found)
        from ._workers import parseScalingKeys

        parseScalingKeys(data, path, result, found)
        for key, (parseOperation, _) in OPERATIONS.items():
            if key in data:
                parsed = found.parse(f"{path}: {key}", parseOperation, data[key], _FAILED)
                if parsed is not _FAILED:
                    result.setdefault("operations", {})[key] = parsed
    if mine:
        found.raiseIfAny()
    return result


def defaultPath(name: str) -> str:
    """
    The path an application is served on when none is given: every path
    for the echo application, L{DEFAULT_PATH} for the others.
    """
    return "*" if name == "echo" else DEFAULT_PATH


@dataclass
class CommandLine:
    """
    What the command line of C{twistd websocket} says, before it is merged
    with the configuration file.

    @ivar listen: the C{--listen} endpoints, in order.
    @ivar app: C{--app}, or L{None}.
    @ivar path: C{--path}, or L{None}.
    @ivar static: C{--static}, or L{None}.
    @ivar config: C{--config}, or L{None}.
    @ivar hub: C{--hub}, or L{None}.
    @ivar workers: C{--workers}, or L{None}.
    @ivar settings: library option values by option name.
    @ivar operations: the operations options given (C{--health}, ...), by
        L{OPERATIONS} key, as given.
    """

    listen: list[str] = field(default_factory=list)
    app: str | None = None
    path: str | None = None
    static: str | None = None
    config: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    hub: str | None = None
    workers: str | None = None
    operations: dict[str, Any] = field(default_factory=dict)


def _chooseApps(cli: CommandLine, fromFile: dict[str, Any], problems: Problems) -> list[AppConfig]:
    cliPath = None if cli.path is None else problems.parse("--path", parsePath, cli.path, "")
    if cli.app is not None:
        return [AppConfig(cli.app, cliPath or fromFile.get("path") or defaultPath(cli.app))]
    if "apps" in fromFile:
        if cliPath is not None:
            problems.add("--path", f"{cli.config} has [[app]] tables; give each its path there")
        apps: list[AppConfig] = fromFile["apps"]
        for app in apps:
            app.path = app.path or defaultPath(app.name)
        return apps
    name = fromFile.get("app", "chat")
    origin = f"{cli.config}: app" if "app" in fromFile else "--app"
    return [AppConfig(name, cliPath or fromFile.get("path") or defaultPath(name), origin=origin)]


def _checkPaths(apps: list[AppConfig], problems: Problems) -> None:
    seen: dict[str, str] = {}
    for app in apps:
        if app.path in seen:
            problems.add(app.origin, f"path {app.path!r} is already used by {seen[app.path]}")
        else:
            seen[app.path] = app.origin


def mergeConfig(cli: CommandLine, problems: Problems) -> ServerConfig:
    """
    Merge the command line with the configuration file it names (the
    command line wins), recording every problem found in C{problems}.
    """
    fromFile: dict[str, Any] = {"settings": {}}
    if cli.config is not None:
        fromFile = parseConfigFile(cli.config, problems)
    settings = dict(fromFile["settings"])
    settings.update(cli.settings)
    apps = _chooseApps(cli, fromFile, problems)
    _checkPaths(apps, problems)
    config = ServerConfig(list(cli.listen or fromFile.get("listen") or [DEFAULT_LISTEN]), apps,
                          cli.static if cli.static is not None else fromFile.get("static"), settings)
    if not cli.listen and "listen" in fromFile:
        config.listenOrigin = f"{cli.config}: listen"
    if cli.static is None and "static" in fromFile:
        config.staticOrigin = f"{cli.config}: static"
    if config.static is not None and not os.path.isdir(config.static):
        problems.add(config.staticOrigin, f"{config.static!r} is not a directory")
    from ._workers import mergeScaling

    mergeScaling(cli, fromFile, config, problems)
    _mergeOperations(cli, fromFile, config, problems)
    return config


def _mergeOperations(
    cli: CommandLine, fromFile: dict[str, Any], config: ServerConfig, problems: Problems
) -> None:
    """
    Set the operations settings of C{config}: the command line's, else the
    file's; check that the health check's path is free.
    """
    values = dict(fromFile.get("operations", {}))
    for key, raw in cli.operations.items():
        parse = OPERATIONS[key][0]
        value = problems.parse(f"--{key}", parse, raw, _FAILED)
        if value is not _FAILED:
            values[key] = value
    for key, value in values.items():
        setattr(config, OPERATIONS[key][1], value)
    if config.health is not None:
        for app in config.apps:
            if app.path == config.health:
                problems.add("--health", f"path {config.health!r} is already used by {app.origin}")
