# -*- test-case-name: tests.test_tap -*-
"""
The library options of C{twistd websocket} (those that set a field of
L{twisted_ws.Options}), made from the fields' metadata: the option table,
the C{--help} texts, and the L{twisted_ws.Options} built from parsed values.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from twisted_ws._options import Options as LibraryOptions
from twisted_ws.codec import DeflateFrame, PerMessageDeflate, Version

from ._values import KINDS, ConfigError, Kind

#: The built-in applications, by the name C{--app} knows them by.
BUILTIN_APPS = {"echo": "twisted_ws.apps.echo", "chat": "twisted_ws.apps.chat"}

#: Old spellings of options, by the name they stand for: each still works,
#: with a message saying to use the new name.
DEPRECATED_NAMES = {"versions": "protocol-versions"}


@dataclass(frozen=True)
class LibraryOption:
    """
    One option of the library (a field of L{twisted_ws.Options}) as it is
    spelled on the command line and in the configuration file.

    @ivar name: the long option and configuration key, e.g. C{max-message-size}.
    @ivar field: the L{twisted_ws.Options} field it sets.
    @ivar value: the name of the kind of its value, a key of L{KINDS}.
    @ivar help: what it does.
    @ivar default: the default as shown, the built-in applications' own
        included.
    """

    name: str
    field: str
    value: str
    help: str
    default: str

    @property
    def kind(self) -> Kind:
        """
        The kind of its value: how it is parsed, shown and repeated.
        """
        return KINDS[self.value]

    @property
    def parse(self) -> Callable[[object], Any]:
        """
        Convert a raw value; raises L{ConfigError}.
        """
        return self.kind.parse

    @property
    def repeatable(self) -> bool:
        """
        Whether the option may be given several times (the values add up).
        """
        return self.kind.repeatable

    @property
    def flag(self) -> bool:
        """
        Whether the option takes no value on the command line.
        """
        return self.kind.flag

    @property
    def helpText(self) -> str:
        """
        The C{--help} text: what it does, the units, and the default.
        """
        units = f" {self.kind.units}" if self.kind.units else ""
        return f"{self.help}{units} [default: {self.default}]"


def appDefaults() -> dict[str, dict[str, Any]]:
    """
    The option values each built-in application prefers, by application
    name and then by L{twisted_ws.Options} field.
    """
    return {
        name: dict(getattr(import_module(module), "defaultOptions", {}))
        for name, module in BUILTIN_APPS.items()
    }


def _shownDefault(f: dataclasses.Field[Any], kind: Kind, apps: dict[str, dict[str, Any]]) -> str:
    shown = f.metadata["default"]
    if shown is None:
        default = f.default_factory() if f.default is dataclasses.MISSING else f.default  # type: ignore[misc,operator]
        shown = kind.show(default)
    own = [f"{app} {kind.show(values[f.name])}" for app, values in apps.items() if f.name in values]
    return f"{shown} ({', '.join(own)})" if own else shown


def fieldsWithoutOption() -> list[dataclasses.Field[Any]]:
    """
    The fields of L{twisted_ws.Options} that have no option: they belong to
    the application rather than to the deployment.
    """
    return [f for f in dataclasses.fields(LibraryOptions) if f.metadata["option"] is None]


#: The options that say how C{--compression} and C{--deflate-frame}
#: compress: they all make the C{extensions} field together, and come right
#: after C{--compression} in the table.
COMPRESSION_OPTIONS: tuple[LibraryOption, ...] = (
    LibraryOption(
        "compression-no-context-takeover", "extensions", "bool",
        "Compress and decompress every message with an empty window on both "
        "sides (server_no_context_takeover and client_no_context_takeover), "
        "so that a connection keeps no compression context between messages: "
        "less memory per connection, a lower ratio, and a broadcast "
        "compressed once for all such connections.",
        "off",
    ),
    LibraryOption(
        "compression-window-bits", "extensions", "window-bits",
        "The largest deflate window, as server_max_window_bits and (where the "
        "client allows) client_max_window_bits, and the window the server "
        "compresses with: each bit less halves the window's memory.  Without "
        "it none is announced and the server compresses with a 12-bit window.",
        "none",
    ),
    LibraryOption(
        "compression-level", "extensions", "compression-level",
        "zlib's compression level for what the server sends.",
        "-1",
    ),
    LibraryOption(
        "compression-mem-level", "extensions", "mem-level",
        "zlib's memLevel for what the server sends: its compressor's hash "
        "tables take 2 ** (memLevel + 9) bytes.",
        "5",
    ),
    LibraryOption(
        "compression-min-size", "extensions", "size-or-zero",
        "Messages shorter than this are sent uncompressed.",
        "0",
    ),
    LibraryOption(
        "deflate-frame", "extensions", "bool",
        "Also accept the hybi-era per-frame compression (x-webkit-deflate-frame "
        "and deflate-frame) from old clients that do not offer "
        "permessage-deflate; the compression options above apply to it too.",
        "off",
    ),
)

#: The two tokens of the hybi-era per-frame extension that C{--deflate-frame}
#: accepts, one L{DeflateFrame} each.
DEFLATE_FRAME_NAMES = ("x-webkit-deflate-frame", "deflate-frame")

#: The names of the options that make the C{extensions} field.
COMPRESSION_NAMES = frozenset({"compression"} | {option.name for option in COMPRESSION_OPTIONS})


def libraryOptions() -> tuple[LibraryOption, ...]:
    """
    Make the library options from the metadata of L{twisted_ws.Options}'s
    fields, in field order, with L{COMPRESSION_OPTIONS} after
    C{--compression}.
    """
    apps = appDefaults()
    table = []
    for f in dataclasses.fields(LibraryOptions):
        name = f.metadata["option"]
        if name is None:
            continue
        value = f.metadata["value"]
        shown = _shownDefault(f, KINDS[value], apps)
        table.append(LibraryOption(name, f.name, value, f.metadata["help"], shown))
        if name == "compression":
            table.extend(COMPRESSION_OPTIONS)
    return tuple(table)


LIBRARY_OPTIONS: tuple[LibraryOption, ...] = libraryOptions()

LIBRARY_BY_NAME = {option.name: option for option in LIBRARY_OPTIONS}


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
        "permessage-deflate is not available in this version of twisted_ws; leave compression off"
    )


def compressionFactories(settings: dict[str, Any]) -> tuple[Any, ...]:
    """
    The extension factories for the compression options among C{settings}:
    a L{twisted_ws.codec.PerMessageDeflate} for C{compression}, then, for
    C{deflate-frame}, a L{twisted_ws.codec.DeflateFrame} for each of its
    two names, all tuned by the other compression options.

    @param settings: option values by option name; the names not in
        L{COMPRESSION_NAMES} are ignored.
    @raise ConfigError: if a tuning option is given and neither kind of
        compression is.
    """
    permessage = bool(settings.get("compression"))
    perFrame = bool(settings.get("deflate-frame"))
    tuning = [
        name for name in sorted(COMPRESSION_NAMES - {"compression", "deflate-frame"})
        if name in settings
    ]
    if not (permessage or perFrame):
        # Turning compression off explicitly (an application's own table
        # may) leaves the server-wide tuning without effect; tuning given
        # with no compression at all is a mistake.
        if tuning and "compression" not in settings and "deflate-frame" not in settings:
            raise ConfigError(
                f"{', '.join('--' + name for name in tuning)} needs --compression or --deflate-frame"
            )
        return ()
    noContext = bool(settings.get("compression-no-context-takeover"))
    bits = settings.get("compression-window-bits")
    common = {
        "compressionLevel": settings.get("compression-level", -1),
        "memLevel": settings.get("compression-mem-level", 5),
        "minSize": settings.get("compression-min-size", 0),
    }
    factories: list[Any] = []
    if permessage:
        factories.append(PerMessageDeflate(
            serverNoContextTakeover=noContext,
            clientNoContextTakeover=noContext,
            serverMaxWindowBits=bits,
            clientMaxWindowBits=bits,
            localMaxWindowBits=12 if bits is None else bits,
            **common,
        ))
    if perFrame:
        for name in DEFLATE_FRAME_NAMES:
            factories.append(DeflateFrame(
                name,
                noContextTakeover=noContext,
                maxWindowBits=bits,
                localNoContextTakeover=noContext,
                localMaxWindowBits=12 if bits is None else bits,
                **common,
            ))
    return tuple(factories)


def _fieldValue(option: LibraryOption, value: Any) -> Any:
    """
    The L{twisted_ws.Options} field value for a parsed option value.
    """
    if option.value == "versions":
        return frozenset(Version.fromLabel(label) for label in value)
    if option.value == "compression":
        return compressionExtensions() if value else ()
    if option.value == "quiet":
        return not value
    return value


def makeLibraryOptions(settings: dict[str, Any], defaults: dict[str, Any]) -> LibraryOptions:
    """
    Build a L{twisted_ws.Options} from option values.

    @param settings: library option values by option name (e.g.
        C{max-message-size}), as parsed by L{LIBRARY_OPTIONS}.
    @param defaults: values by L{twisted_ws.Options} field that apply
        unless C{settings} sets the same field.
    @raise ConfigError: if the values do not make valid options.
    """
    kwargs = dict(defaults)
    for name, value in settings.items():
        option = LIBRARY_BY_NAME[name]
        if name not in COMPRESSION_NAMES:
            kwargs[option.field] = _fieldValue(option, value)
    if COMPRESSION_NAMES.intersection(settings):
        kwargs["extensions"] = compressionFactories(settings)
    try:
        return LibraryOptions(**kwargs)
    except (TypeError, ValueError) as e:
        raise ConfigError(str(e)) from None
