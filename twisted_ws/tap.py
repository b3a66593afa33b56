# -*- test-case-name: tests.test_tap -*-
"""
Support for C{twistd websocket}: turn command-line options or a TOML
configuration file into a service that serves WebSocket applications.

With no options, C{twistd -n websocket} serves the chat demo on C{tcp:8080}:
the WebSocket endpoint at C{/ws} and the demo page at C{/}, both through one
L{twisted.web.server.Site}.

Every mistake in the options or the configuration file (an unknown key, a
value of the wrong type, an endpoint string that does not parse, an
application that cannot be imported) is reported as a
L{twisted.python.usage.UsageError} from L{Options.postOptions}, which
C{twistd} prints before it exits with status 1.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module, resources
from typing import Any

from twisted.application import service
from twisted.application.internet import StreamServerEndpointService
from twisted.internet import endpoints
from twisted.internet.interfaces import IProtocolFactory
from twisted.logger import Logger
from twisted.python import usage
from twisted.python.reflect import namedAny
from twisted.web import resource, server, static

_log = Logger()

#: The endpoint used when no C{--listen} is given.
DEFAULT_LISTEN = "tcp:8080"

#: The path the WebSocket application is served on when none is given.
DEFAULT_PATH = "/ws"

#: A path value meaning "every path" (the default of the echo application).
EVERY_PATH = "*"

#: The built-in applications, by the name C{--app} knows them by.
BUILTIN_APPS = {"echo": "twisted_ws.apps.echo", "chat": "twisted_ws.apps.chat"}

#: Protocol version labels accepted by C{--versions}, mapped to the label of
#: L{twisted_ws.Version} they stand for.
VERSION_ALIASES = {
    "hixie-75": "hixie-75",
    "hixie75": "hixie-75",
    "hixie-76": "hixie-76",
    "hixie76": "hixie-76",
    "hybi-00": "hixie-76",
    "hybi-07": "hybi-07",
    "hybi07": "hybi-07",
    "7": "hybi-07",
    "hybi-08": "hybi-08",
    "hybi08": "hybi-08",
    "8": "hybi-08",
    "rfc6455": "rfc6455",
    "rfc-6455": "rfc6455",
    "hybi-13": "rfc6455",
    "13": "rfc6455",
}


class ConfigError(Exception):
    """
    A value given for a setting is not acceptable; the message says why,
    without naming the setting (the caller adds that).
    """


# --- value converters -------------------------------------------------------
#
# Each takes the raw value (a string from the command line, or any TOML value)
# and returns the converted value or raises ConfigError.

_SIZE = re.compile(r"^\s*(\d+)\s*([kmg]i?b?|b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def _typeName(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def parseSize(value: object) -> int:
    """
    Parse a size in bytes: an integer, or a string such as C{"65536"},
    C{"64KiB"}, C{"16M"} or C{"1GiB"} (binary multiples).

    @raise ConfigError: if C{value} is not a positive size.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str):
        match = _SIZE.match(value)
        if match is None:
            raise ConfigError(
                f"expected a size in bytes such as 1048576 or 16MiB, got {value!r}"
            )
        unit = (match.group(2) or "").lower()[:1]
        number = int(match.group(1)) * _UNITS[unit]
    else:
        raise ConfigError(f"expected a size in bytes, got {_typeName(value)}")
    if number <= 0:
        raise ConfigError(f"must be a positive number of bytes, got {number}")
    return number


def parseSeconds(value: object) -> float:
    """
    Parse a positive duration in seconds.

    @raise ConfigError: if C{value} is not a positive number.
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise ConfigError(f"expected a number of seconds, got {value!r}") from None
    else:
        raise ConfigError(f"expected a number of seconds, got {_typeName(value)}")
    if not number > 0 or number == float("inf"):
        raise ConfigError(f"must be a positive number of seconds, got {value!r}")
    return number


def parseOptionalSeconds(value: object) -> float | None:
    """
    Parse a duration in seconds where C{0}, C{"off"} or C{"none"} turn the
    feature off (C{None}).
    """
    if isinstance(value, str) and value.strip().lower() in ("off", "none", "no", "0"):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0:
        return None
    return parseSeconds(value)


def parseStringList(value: object) -> tuple[str, ...]:
    """
    Parse one string or a list of strings.
    """
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        for item in value:
            if not isinstance(item, str):
                raise ConfigError(f"expected a list of strings, found {_typeName(item)}")
        return tuple(value)
    raise ConfigError(f"expected a string or a list of strings, got {_typeName(value)}")


def parseVersions(value: object) -> tuple[str, ...]:
    """
    Parse protocol versions: a comma-separated string or a list of labels
    (C{hixie-75}, C{hixie-76}, C{hybi-07}, C{hybi-08}, C{rfc6455}, or the
    wire numbers C{7}, C{8}, C{13}).

    @return: the canonical labels, in the order given, without repeats.
    """
    if isinstance(value, str):
        items = [item.strip() for item in value.split(",")]
    elif isinstance(value, list):
        items = []
        for item in value:
            if isinstance(item, int) and not isinstance(item, bool):
                item = str(item)
            if not isinstance(item, str):
                raise ConfigError(f"expected version names, found {_typeName(item)}")
            items.append(item.strip())
    else:
        raise ConfigError(f"expected a list of version names, got {_typeName(value)}")
    labels: list[str] = []
    for item in items:
        if item.lower() == "all":
            candidates = ["hixie-75", "hixie-76", "hybi-07", "hybi-08", "rfc6455"]
        else:
            label = VERSION_ALIASES.get(item.lower())
            if label is None:
                known = "hixie-75, hixie-76, hybi-07, hybi-08, rfc6455, all"
                raise ConfigError(f"unknown protocol version {item!r} (known: {known})")
            candidates = [label]
        labels.extend(c for c in candidates if c not in labels)
    if not labels:
        raise ConfigError("at least one protocol version is needed")
    return tuple(labels)


def parseBool(value: object) -> bool:
    """
    Parse a boolean (C{true}/C{false} in TOML).
    """
    if isinstance(value, bool):
        return value
    raise ConfigError(f"expected true or false, got {_typeName(value)}")


def parseString(value: object) -> str:
    """
    Accept a string only.
    """
    if isinstance(value, str):
        return value
    raise ConfigError(f"expected a string, got {_typeName(value)}")


def parsePath(value: object) -> str:
    """
    Parse the path a WebSocket application is served on: C{"*"} (every path)
    or an absolute path such as C{"/ws"} or C{"/chat/rooms"}.
    """
    path = parseString(value).strip()
    if path == EVERY_PATH:
        return path
    if not path.startswith("/"):
        raise ConfigError(f"expected a path starting with '/' (or '*' for every path), got {path!r}")
    if "?" in path or "#" in path:
        raise ConfigError(f"a path cannot hold a query or a fragment: {path!r}")
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    return path


# --- library options ----------------------------------------------------------


@dataclass(frozen=True)
class LibraryOption:
    """
    One option of the library (a field of L{twisted_ws.Options}) as it is
    spelled on the command line and in the configuration file.

    @ivar name: the long option and configuration key, e.g. C{max-message-size}.
    @ivar field: the L{twisted_ws.Options} field it sets.
    @ivar parse: converts a raw value; raises L{ConfigError}.
    @ivar repeatable: whether the option may be given several times on the
        command line (the values accumulate).
    @ivar flag: whether the option takes no value on the command line.
    @ivar help: the help text.
    """

    name: str
    field: str
    parse: Callable[[object], Any]
    help: str
    repeatable: bool = False
    flag: bool = False


LIBRARY_OPTIONS: tuple[LibraryOption, ...] = (
    LibraryOption(
        "versions", "versions", parseVersions,
        "Protocol versions to accept, comma-separated: hixie-75, hixie-76, "
        "hybi-07, hybi-08, rfc6455 or all. [default: all]",
    ),
    LibraryOption(
        "allowed-origin", "allowedOrigins", parseStringList,
        "An Origin accepted in the opening handshake, e.g. "
        "https://example.com; repeat for several. [default: any origin]",
        repeatable=True,
    ),
    LibraryOption(
        "subprotocol", "subprotocols", parseStringList,
        "A subprotocol the server supports, in order of preference; repeat "
        "for several. [default: the application's]",
        repeatable=True,
    ),
    LibraryOption(
        "max-message-size", "maxMessageSize", parseSize,
        "Largest message accepted, in bytes after decompression (suffixes "
        "KiB, MiB, GiB allowed). [default: the application's, 1 MiB; 32 MiB for echo]",
    ),
    LibraryOption(
        "max-frame-size", "maxFrameSize", parseSize,
        "Largest frame payload accepted, in bytes. [default: the application's]",
    ),
    LibraryOption(
        "open-timeout", "openTimeout", parseSeconds,
        "Seconds allowed for the opening handshake. [default: 10]",
    ),
    LibraryOption(
        "close-timeout", "closeTimeout", parseSeconds,
        "Seconds to wait for the peer's close frame before dropping the "
        "connection. [default: 5]",
    ),
    LibraryOption(
        "ping-interval", "pingInterval", parseOptionalSeconds,
        "Send a keepalive ping every this many seconds; 0 or 'off' "
        "sends none. [default: off]",
    ),
    LibraryOption(
        "ping-timeout", "pingTimeout", parseSeconds,
        "Seconds to wait for the pong of a keepalive ping before dropping "
        "the connection. [default: 20]",
    ),
    LibraryOption(
        "quiet", "logConnections", lambda value: not parseBool(value),
        "Do not log every connection's opening and closing (refused "
        "handshakes and protocol errors are still logged).",
        flag=True,
    ),
    LibraryOption(
        "compression", "compression", parseBool,
        "Offer permessage-deflate compression (RFC 7692) to clients that ask for it.",
        flag=True,
    ),
)

_LIBRARY_BY_NAME = {option.name: option for option in LIBRARY_OPTIONS}


# --- the server description ---------------------------------------------------


@dataclass
class AppConfig:
    """
    One WebSocket application served by the server.

    @ivar name: the built-in name (C{echo}, C{chat}) or the dotted name of
        the user's factory, protocol class or factory-making callable.
    @ivar path: the path it is served on, or L{EVERY_PATH}.
    @ivar settings: library option values set for this application only,
        by option name, overriding the server-wide ones.
    @ivar origin: where the application was set, for messages.
    """

    name: str
    path: str
    settings: dict[str, Any] = field(default_factory=dict)
    origin: str = "--app"


@dataclass
class ServerConfig:
    """
    Everything L{makeService} needs, after all parsing and checking.

    @ivar listen: endpoint description strings.
    @ivar apps: the applications, each on its own path.
    @ivar static: a directory served at C{/} beside the applications, or
        C{None}.
    @ivar settings: server-wide library option values, by option name.
    """

    listen: list[str]
    apps: list[AppConfig]
    static: str | None
    settings: dict[str, Any]


# --- application loading --------------------------------------------------------


@dataclass
class LoadedApp:
    """
    An application resolved to something that can build a factory.

    @ivar makeFactory: a callable taking a L{twisted_ws.Options} and
        returning a protocol factory.
    @ivar defaults: option values (by L{twisted_ws.Options} field) that the
        application prefers over the library defaults.
    @ivar demoPage: whether this is the chat application, whose page is
        served at C{/} when no C{--static} is given.
    """

    makeFactory: Callable[[Any], IProtocolFactory]
    defaults: dict[str, Any]
    demoPage: bool = False


def loadApp(name: str) -> LoadedApp:
    """
    Resolve an application name.

    A built-in name (C{echo}, C{chat}) names a module of L{twisted_ws.apps}
    with a C{makeFactory(options)} function and a C{defaultOptions} dict.

    Otherwise C{name} is C{package.module.Attribute} or
    C{package.module:Attribute}, naming one of:
      - a L{twisted_ws.WebSocketProtocol} subclass, served by a
        L{twisted_ws.WebSocketServerFactory} built with the options;
      - a protocol factory instance, served as it is (library options from
        the command line do not reach it);
      - any other callable, called with a L{twisted_ws.Options} and
        returning a protocol factory.

    @raise ConfigError: if the name cannot be imported or names something
        of another kind.
    """
    if name in BUILTIN_APPS:
        module = import_module(BUILTIN_APPS[name])
        return LoadedApp(
            module.makeFactory, dict(getattr(module, "defaultOptions", {})), name == "chat"
        )
    if ":" in name:
        moduleName, _, attribute = name.partition(":")
        try:
            module = import_module(moduleName)
        except Exception as e:
            raise ConfigError(f"cannot import module {moduleName!r}: {e}") from None
        try:
            obj = namedAny(f"{moduleName}.{attribute}") if attribute else None
        except Exception:
            obj = None
        if obj is None:
            try:
                obj = getattr(module, attribute)
            except AttributeError:
                raise ConfigError(f"module {moduleName!r} has no attribute {attribute!r}") from None
    else:
        if "." not in name:
            raise ConfigError(
                f"{name!r} is not a built-in application ({', '.join(BUILTIN_APPS)}) "
                "nor a dotted name such as mypackage.module.Factory"
            )
        try:
            obj = namedAny(name)
        except Exception as e:
            raise ConfigError(f"cannot import {name!r}: {e}") from None

    from twisted_ws import WebSocketProtocol, WebSocketServerFactory

    if isinstance(obj, type) and issubclass(obj, WebSocketProtocol):
        protocolClass = obj

        def makeFactory(options: Any) -> IProtocolFactory:
            return WebSocketServerFactory(protocolClass, options=options)

        return LoadedApp(makeFactory, {})
    if IProtocolFactory.providedBy(obj):
        return LoadedApp(lambda options: obj, {})
    if callable(obj):
        return LoadedApp(obj, dict(getattr(obj, "defaultOptions", {})))
    raise ConfigError(
        f"{name!r} is {_typeName(obj)}, not a WebSocketProtocol subclass, "
        "a protocol factory, or a callable returning one"
    )


def compressionExtensions() -> tuple[Any, ...]:
    """
    The extension factories that turn on permessage-deflate, if the codec
    has them.

    @raise ConfigError: if this build of the codec has no permessage-deflate.
    """
    for moduleName, attribute in (
        ("twisted_ws.codec", "PerMessageDeflate"),
        ("twisted_ws.codec.deflate", "PerMessageDeflate"),
        ("twisted_ws.codec.extensions", "PerMessageDeflate"),
    ):
        try:
            module = import_module(moduleName)
        except ImportError:
            continue
        factory = getattr(module, attribute, None)
        if factory is not None:
            return (factory(),)
    raise ConfigError(
        "permessage-deflate is not available in this version of twisted_ws; "
        "leave compression off"
    )


def makeLibraryOptions(settings: dict[str, Any], defaults: dict[str, Any]) -> Any:
    """
    Build a L{twisted_ws.Options} from option values.

    @param settings: library option values by option name (e.g.
        C{max-message-size}), as parsed by L{LIBRARY_OPTIONS}.
    @param defaults: values by L{twisted_ws.Options} field that apply
        unless C{settings} sets the same field.
    """
    from twisted_ws import Options as LibraryOptions
    from twisted_ws import Version

    kwargs = dict(defaults)
    for name, value in settings.items():
        option = _LIBRARY_BY_NAME[name]
        if option.field == "versions":
            byLabel = {version.label: version for version in Version}
            kwargs["versions"] = frozenset(byLabel[label] for label in value)
        elif option.field == "compression":
            if value:
                kwargs["extensions"] = compressionExtensions()
            else:
                kwargs.pop("extensions", None)
        else:
            kwargs[option.field] = value
    try:
        return LibraryOptions(**kwargs)
    except (TypeError, ValueError) as e:
        raise ConfigError(str(e)) from None


# --- configuration file ---------------------------------------------------------

_TOP_KEYS = {"listen", "app", "path", "static"} | set(_LIBRARY_BY_NAME)
_APP_KEYS = {"name", "path"} | set(_LIBRARY_BY_NAME)


def _parseSettings(table: dict[str, Any], where: str) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for key, value in table.items():
        option = _LIBRARY_BY_NAME.get(key)
        if option is None:
            continue
        try:
            settings[key] = option.parse(value)
        except ConfigError as e:
            raise ConfigError(f"{where}key {key!r}: {e}") from None
    return settings


def _checkKeys(table: dict[str, Any], known: set[str], where: str) -> None:
    for key in table:
        if key not in known:
            raise ConfigError(
                f"{where}unknown key {key!r} (known keys: {', '.join(sorted(known))})"
            )


def parseConfigFile(path: str) -> dict[str, Any]:
    """
    Read a TOML configuration file.

    The keys are the long command-line options: C{listen} (a string or a
    list of endpoint strings), C{app} (a name, or an array of tables each
    with C{name} and C{path} and optional library options of its own),
    C{path}, C{static}, and every library option (C{max-message-size},
    C{allowed-origin}, ...).

    @return: a dict with the keys C{listen}, C{apps} (a list of
        L{AppConfig} or C{None}), C{app} (a name or C{None}), C{path},
        C{static} and C{settings}, holding only what the file sets.
    @raise ConfigError: naming the file, the key and the problem.
    """
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e.strerror or e}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    where = f"{path}: "
    _checkKeys(data, _TOP_KEYS, where)
    result: dict[str, Any] = {"settings": _parseSettings(data, where)}
    try:
        if "listen" in data:
            try:
                result["listen"] = list(parseStringList(data["listen"]))
            except ConfigError as e:
                raise ConfigError(f"key 'listen': {e}") from None
        if "path" in data:
            try:
                result["path"] = parsePath(data["path"])
            except ConfigError as e:
                raise ConfigError(f"key 'path': {e}") from None
        if "static" in data:
            try:
                result["static"] = parseString(data["static"])
            except ConfigError as e:
                raise ConfigError(f"key 'static': {e}") from None
        app = data.get("app")
        if isinstance(app, str):
            result["app"] = app
        elif isinstance(app, list):
            apps = []
            for index, table in enumerate(app):
                here = f"{where}app[{index}]: "
                if not isinstance(table, dict):
                    raise ConfigError(
                        f"key 'app': expected tables ([[app]]), found {_typeName(table)}"
                    )
                _checkKeys(table, _APP_KEYS, here)
                if "name" not in table:
                    raise ConfigError(f"{here}key 'name' is missing")
                try:
                    name = parseString(table["name"])
                except ConfigError as e:
                    raise ConfigError(f"{here}key 'name': {e}") from None
                try:
                    appPath = parsePath(table["path"]) if "path" in table else None
                except ConfigError as e:
                    raise ConfigError(f"{here}key 'path': {e}") from None
                apps.append(
                    AppConfig(
                        name,
                        appPath or "",
                        _parseSettings(table, here),
                        origin=f"{path}: app[{index}]",
                    )
                )
            result["apps"] = apps
        elif app is not None:
            raise ConfigError(
                f"key 'app': expected a name or [[app]] tables, got {_typeName(app)}"
            )
    except ConfigError as e:
        message = str(e)
        if not message.startswith(where):
            message = where + message
        raise ConfigError(message) from None
    return result


# --- command-line options -------------------------------------------------------


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
        "given on the command line win over the file."
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
    ]

    def __init__(self) -> None:
        super().__init__()
        self["listen"] = []
        self["settings"] = {}
        self["server"] = None
        self._reactor: Any = None

    def opt_listen(self, description: str) -> None:
        self["listen"].append(description)

    opt_listen.__doc__ = (
        "An endpoint to listen on: tcp:8080, tcp:8080:interface=127.0.0.1, "
        "ssl:8443:privateKey=key.pem:certKey=cert.pem (wss), unix:/run/ws.sock, "
        "...; repeat for several. [default: tcp:8080]"
    )

    opt_l = opt_listen

    def postOptions(self) -> None:
        """
        Merge the configuration file (if any) with the command line, check
        everything, and store the result as C{self["server"]}.

        @raise usage.UsageError: naming the option or key and the problem.
        """
        try:
            self["server"] = self._buildServerConfig()
        except ConfigError as e:
            raise usage.UsageError(str(e)) from None

    def _buildServerConfig(self) -> ServerConfig:
        fromFile: dict[str, Any] = {"settings": {}}
        if self["config"] is not None:
            fromFile = parseConfigFile(self["config"])

        listen = self["listen"] or fromFile.get("listen") or [DEFAULT_LISTEN]
        static = self["static"] if self["static"] is not None else fromFile.get("static")
        settings = dict(fromFile["settings"])
        settings.update(self["settings"])

        cliPath = None
        if self["path"] is not None:
            try:
                cliPath = parsePath(self["path"])
            except ConfigError as e:
                raise ConfigError(f"--path: {e}") from None

        if self["app"] is not None:
            name = self["app"]
            path = cliPath or fromFile.get("path") or _defaultPath(name)
            apps = [AppConfig(name, path)]
        elif fromFile.get("apps"):
            if cliPath is not None:
                raise ConfigError(
                    "--path: the configuration file has several [[app]] tables; "
                    "give each its path there"
                )
            apps = fromFile["apps"]
            for app in apps:
                app.path = app.path or _defaultPath(app.name)
        else:
            name = fromFile.get("app", "chat")
            origin = f"{self['config']}: app" if "app" in fromFile else "--app"
            path = cliPath or fromFile.get("path") or _defaultPath(name)
            apps = [AppConfig(name, path, origin=origin)]

        seen: dict[str, str] = {}
        for app in apps:
            if app.path in seen:
                raise ConfigError(
                    f"{app.origin}: path {app.path!r} is already used by {seen[app.path]}"
                )
            seen[app.path] = app.origin
        if static is not None and not os.path.isdir(static):
            raise ConfigError(f"--static: {static!r} is not a directory")

        if settings.get("compression") or any(a.settings.get("compression") for a in apps):
            try:
                compressionExtensions()
            except ConfigError as e:
                raise ConfigError(f"--compression: {e}") from None

        config = ServerConfig(list(listen), apps, static, settings)
        self._checkEndpoints(config.listen)
        self._checkApps(config)
        return config

    def _checkEndpoints(self, descriptions: list[str]) -> None:
        """
        Parse every endpoint description now, so that a bad one stops
        C{twistd} before it starts.
        """
        reactor = self._reactor if self._reactor is not None else _globalReactor()
        for description in descriptions:
            try:
                endpoints.serverFromString(reactor, description)
            except Exception as e:
                detail = str(e) or type(e).__name__
                raise ConfigError(f"--listen {description!r}: {detail}") from None

    def _checkApps(self, config: ServerConfig) -> None:
        """
        Load every application and build its options once, so that import
        errors and bad option combinations stop C{twistd} before it starts.
        """
        for app in config.apps:
            try:
                loaded = loadApp(app.name)
            except ConfigError as e:
                raise ConfigError(f"{app.origin} {app.name!r}: {e}") from None
            settings = dict(config.settings)
            settings.update(app.settings)
            try:
                makeLibraryOptions(settings, loaded.defaults)
            except ConfigError as e:
                raise ConfigError(f"{app.origin} {app.name!r}: {e}") from None


def _libraryHandler(option: LibraryOption) -> Callable[..., None]:
    """
    Make the C{opt_} method of a library option: it parses the value and
    stores it in C{self["settings"]} under the option's name.
    """
    if option.flag:

        def handler(self: Options) -> None:
            self["settings"][option.name] = option.parse(True)

    else:

        def handler(self: Options, value: str) -> None:  # type: ignore[misc]
            try:
                parsed = option.parse(value)
            except ConfigError as e:
                raise usage.UsageError(f"--{option.name}: {e}") from None
            if option.repeatable:
                parsed = self["settings"].get(option.name, ()) + parsed
            self["settings"][option.name] = parsed

    handler.__doc__ = option.help
    handler.__name__ = "opt_" + option.name.replace("-", "_")
    return handler


for _option in LIBRARY_OPTIONS:
    setattr(Options, "opt_" + _option.name.replace("-", "_"), _libraryHandler(_option))
del _option


def _defaultPath(name: str) -> str:
    """
    The path an application is served on when none is given.
    """
    return EVERY_PATH if name == "echo" else DEFAULT_PATH


# --- building the service -------------------------------------------------------


def demoDirectory() -> str:
    """
    The directory holding the chat demo page.
    """
    return str(resources.files("twisted_ws.apps").joinpath("static"))


def _isUpgrade(request: Any) -> bool:
    """
    Whether a request asks for a WebSocket (an C{Upgrade: websocket} header,
    in any case, as every protocol version sends it).
    """
    upgrade = request.getHeader(b"upgrade") or b""
    return upgrade.strip().lower() == b"websocket"


class _UpgradeFallback(resource.Resource):
    """
    A root resource that hands every WebSocket request whose path has no
    application of its own to one application, and everything else to
    another resource (the static files).

    @ivar inner: the resource for other requests.
    @ivar webSocket: the application's (leaf) L{twisted_ws.WebSocketResource}.
    """

    def __init__(self, inner: resource.Resource, webSocket: resource.Resource) -> None:
        super().__init__()
        self.inner = inner
        self.webSocket = webSocket

    def getChildWithDefault(self, name: bytes, request: Any) -> Any:
        if name in self.inner.children:
            return self.inner.children[name]
        if _isUpgrade(request):
            return self.webSocket
        return self.inner.getChildWithDefault(name, request)

    def render(self, request: Any) -> Any:
        if _isUpgrade(request):
            return self.webSocket.render(request)
        return self.inner.render(request)


def _putAt(root: resource.Resource, path: str, child: resource.Resource) -> None:
    """
    Put C{child} at C{path} below C{root}, making plain intermediate
    resources as needed.
    """
    segments = [segment.encode("utf-8") for segment in path.strip("/").split("/")]
    node = root
    for segment in segments[:-1]:
        nextNode = node.children.get(segment)
        if nextNode is None:
            nextNode = resource.Resource()
            node.putChild(segment, nextNode)
        node = nextNode
    node.putChild(segments[-1], child)


def makeFactories(config: ServerConfig) -> list[tuple[AppConfig, LoadedApp, Any]]:
    """
    Build the protocol factory of every application.

    @return: (application, loaded application, factory) triples.
    """
    built = []
    for app in config.apps:
        loaded = loadApp(app.name)
        settings = dict(config.settings)
        settings.update(app.settings)
        options = makeLibraryOptions(settings, loaded.defaults)
        built.append((app, loaded, loaded.makeFactory(options)))
    return built


def makeRootFactory(config: ServerConfig) -> IProtocolFactory:
    """
    The factory that each endpoint listens with.

    A single application on every path, with no static files, is served by
    its own factory straight on the endpoint (the fastest path, used by the
    conformance tests and benchmarks). Anything else is a
    L{twisted.web.server.Site} with each application's
    L{twisted_ws.WebSocketResource} at its path.
    """
    from twisted_ws import WebSocketResource

    built = makeFactories(config)
    if len(built) == 1 and built[0][0].path == EVERY_PATH and config.static is None:
        return built[0][2]

    root: resource.Resource
    if config.static is not None:
        root = static.File(config.static)
    elif any(loaded.demoPage for _, loaded, _ in built):
        root = static.File(demoDirectory())
        chatPath = next(app.path for app, loaded, _ in built if loaded.demoPage)
        settings = json.dumps({"path": chatPath}).encode("utf-8")
        root.putChild(b"config.json", static.Data(settings, "application/json"))
    else:
        root = resource.Resource()

    everywhere = None
    for app, _, factory in built:
        webSocket = WebSocketResource(factory)
        if app.path == EVERY_PATH:
            everywhere = webSocket
        elif app.path == "/":
            root = _UpgradeFallback(root, webSocket)
        else:
            _putAt(root, app.path, webSocket)
    if everywhere is not None:
        root = _UpgradeFallback(root, everywhere)
    site = server.Site(root)
    site.displayTracebacks = False
    return site


class _ListeningService(StreamServerEndpointService):
    """
    Listen on one endpoint; a failure to listen (e.g. the port is taken)
    stops C{twistd} with a one-line message instead of a traceback.
    """

    def __init__(self, description: str, endpoint: Any, factory: Any) -> None:
        super().__init__(endpoint, factory)
        self.description = description
        self._raiseSynchronously = True

    def privilegedStartService(self) -> None:
        try:
            super().privilegedStartService()
        except Exception as e:
            _log.critical("cannot listen on {description}: {error}",
                          description=self.description, error=e)
            raise SystemExit(f"twistd websocket: cannot listen on {self.description!r}: {e}") from None


def _globalReactor() -> Any:
    """
    The global reactor, imported only when needed (twistd has installed the
    one it was asked for by then).
    """
    from twisted.internet import reactor

    return reactor


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
    factory = makeRootFactory(serverConfig)
    top = service.MultiService()
    for description in serverConfig.listen:
        endpoint = endpoints.serverFromString(reactor, description)
        _ListeningService(description, endpoint, factory).setServiceParent(top)
    for app in serverConfig.apps:
        _log.info("serving {name} on {path}", name=app.name,
                  path="every path" if app.path == EVERY_PATH else app.path)
    return top


__all__ = ["Options", "makeService", "ServerConfig", "AppConfig", "LIBRARY_OPTIONS"]

