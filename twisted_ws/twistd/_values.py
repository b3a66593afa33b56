# -*- test-case-name: tests.test_tap -*-
"""
Values of C{twistd websocket} options: the parsers of each kind of value
(sizes, durations, version lists, ...) and how each kind is shown.

Each parser takes the raw value (a string from the command line, or any
TOML value) and returns the converted value or raises L{ConfigError}.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from twisted_ws.codec import Version

#: A path value meaning "every path" (the default of the echo application).
EVERY_PATH = "*"


class ConfigError(Exception):
    """
    A value given for a setting is not acceptable; the message says why,
    without naming the setting (the caller adds that).
    """


_SIZE = re.compile(r"^\s*(\d+)\s*([kmg]i?b?|b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def typeName(value: object) -> str:
    """
    Name the TOML type of C{value} for a message: C{"an integer"}, ...
    """
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
            raise ConfigError(f"expected a size in bytes such as 1048576 or 16MiB, got {value!r}")
        unit = (match.group(2) or "").lower()[:1]
        number = int(match.group(1)) * _UNITS[unit]
    else:
        raise ConfigError(f"expected a size in bytes, got {typeName(value)}")
    if number <= 0:
        raise ConfigError(f"must be a positive number of bytes, got {number}")
    return number


def formatSize(number: int) -> str:
    """
    Show a size as people write it: C{"1 MiB"}, C{"64 KiB"}, C{"1000"}.
    """
    for suffix, unit in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if number >= unit and number % unit == 0:
            return f"{number // unit} {suffix}"
    return str(number)


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
        raise ConfigError(f"expected a number of seconds, got {typeName(value)}")
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
                raise ConfigError(f"expected a list of strings, found {typeName(item)}")
        return tuple(value)
    raise ConfigError(f"expected a string or a list of strings, got {typeName(value)}")


def parseOrigins(value: object) -> tuple[str | None, ...]:
    """
    Parse one allowed origin or a list of them, where C{none} (in any case)
    stands for requests that carry no Origin header at all (clients that are
    not browsers).
    """
    return tuple(
        None if origin.strip().lower() == "none" else origin for origin in parseStringList(value)
    )


def versionChoices() -> str:
    """
    The version names C{--protocol-versions} takes, for help texts and
    messages: C{"hixie-75, hixie-76 (hybi-00), ..., rfc6455 (13), all"}.
    """
    shown = []
    for version in Version:
        bare = version.label.replace("-", "")
        others = [name for name in version.names[1:] if name.replace("-", "") != bare]
        shown.append(f"{version.label} ({', '.join(others)})" if others else version.label)
    return ", ".join(shown) + ", all"


def _versionItems(value: object) -> list[str]:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",")]
    if not isinstance(value, list):
        raise ConfigError(f"expected a list of version names, got {typeName(value)}")
    items = []
    for item in value:
        if isinstance(item, int) and not isinstance(item, bool):
            item = str(item)
        if not isinstance(item, str):
            raise ConfigError(f"expected version names, found {typeName(item)}")
        items.append(item.strip())
    return items


def parseVersions(value: object) -> tuple[str, ...]:
    """
    Parse protocol versions: a comma-separated string or a list of any of
    the names of L{twisted_ws.Version.names}, or C{all}.

    @return: the canonical labels, in the order given, without repeats.
    """
    labels: list[str] = []
    for item in _versionItems(value):
        if item.lower() == "all":
            candidates = [version.label for version in Version]
        else:
            try:
                candidates = [Version.fromLabel(item).label]
            except ValueError:
                raise ConfigError(
                    f"unknown protocol version {item!r} (known: {versionChoices()})"
                ) from None
        labels.extend(c for c in candidates if c not in labels)
    if not labels:
        raise ConfigError("at least one protocol version is needed")
    return tuple(labels)


#: Protocol version names accepted by C{--protocol-versions}, mapped to the
#: label of the L{twisted_ws.Version} they stand for (made from the codec's
#: one table of names, L{twisted_ws.Version.names}).
VERSION_ALIASES: dict[str, str] = {name: version.label for version in Version for name in version.names}


def parseBool(value: object) -> bool:
    """
    Parse a boolean (C{true}/C{false} in TOML).
    """
    if isinstance(value, bool):
        return value
    raise ConfigError(f"expected true or false, got {typeName(value)}")


def parseString(value: object) -> str:
    """
    Accept a string only.
    """
    if isinstance(value, str):
        return value
    raise ConfigError(f"expected a string, got {typeName(value)}")


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


def _parseWholeNumber(value: object, what: str, low: int, high: int) -> int:
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise ConfigError(f"expected {what} from {low} to {high}, got {value!r}") from None
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigError(f"expected {what} from {low} to {high}, got {typeName(value)}")
    if not low <= value <= high:
        raise ConfigError(f"expected {what} from {low} to {high}, got {value}")
    return value


def parseWindowBits(value: object) -> int:
    """
    Parse a deflate window size in bits, 9 to 15 (zlib cannot compress with
    an 8-bit window).
    """
    return _parseWholeNumber(value, "a window size in bits", 9, 15)


def parseCompressionLevel(value: object) -> int:
    """
    Parse a zlib compression level: 0 to 9, or -1 for zlib's default (6).
    """
    return _parseWholeNumber(value, "a compression level", -1, 9)


def parseMemLevel(value: object) -> int:
    """
    Parse a zlib memLevel, 1 to 9.
    """
    return _parseWholeNumber(value, "a memLevel", 1, 9)


def parseSizeOrZero(value: object) -> int:
    """
    Parse a size in bytes as L{parseSize} does, where C{0} is allowed.
    """
    if (isinstance(value, int) and not isinstance(value, bool) and value == 0) or (
        isinstance(value, str) and value.strip() == "0"
    ):
        return 0
    return parseSize(value)


def _formatSeconds(value: Any) -> str:
    if value is None:
        return "none"
    return f"{value:g}"


def _formatSize(value: Any) -> str:
    return "none" if value is None else formatSize(value)


def _formatOnOff(value: Any) -> str:
    return "on" if value else "off"


@dataclass(frozen=True)
class Kind:
    """
    A kind of option value, as named by the C{value} key of an options
    field's metadata.

    @ivar parse: converts a raw value; raises L{ConfigError}.
    @ivar metavar: what the value is called in C{--help}, or L{None} for a
        flag (an option that takes no value on the command line).
    @ivar units: a sentence on how the value is written, for help texts,
        or C{""}.
    @ivar show: formats a default for people.
    @ivar repeatable: whether the option may be given several times (the
        values accumulate; the file takes a list).
    """

    parse: Callable[[object], Any]
    metavar: str | None
    units: str
    show: Callable[[Any], str]
    repeatable: bool = False

    @property
    def flag(self) -> bool:
        """
        Whether the option takes no value on the command line.
        """
        return self.metavar is None


#: Every kind of option value, by the name the fields' metadata uses.
KINDS: dict[str, Kind] = {
    "size": Kind(parseSize, "SIZE", "In bytes, or with a suffix: KiB, MiB, GiB.", _formatSize),
    "seconds": Kind(parseSeconds, "SECONDS", "In seconds.", _formatSeconds),
    "optional-seconds": Kind(
        parseOptionalSeconds, "SECONDS", "In seconds; 0 or 'off' for none.", _formatSeconds
    ),
    "versions": Kind(parseVersions, "LIST", "Comma-separated: " + versionChoices() + ".", str),
    "origins": Kind(
        parseOrigins,
        "ORIGIN",
        "Repeat for several; 'none' also accepts requests without an Origin header.",
        str,
        repeatable=True,
    ),
    "strings": Kind(parseStringList, "NAME", "Repeat for several.", str, repeatable=True),
    "compression": Kind(parseBool, None, "", _formatOnOff),
    "quiet": Kind(parseBool, None, "", _formatOnOff),
    "window-bits": Kind(parseWindowBits, "BITS", "From 9 to 15.", str),
    "compression-level": Kind(
        parseCompressionLevel, "LEVEL", "From 0 (store) to 9 (best); -1 for zlib's default (6).", str
    ),
    "mem-level": Kind(parseMemLevel, "LEVEL", "From 1 to 9.", str),
    "size-or-zero": Kind(
        parseSizeOrZero, "SIZE", "In bytes, or with a suffix: KiB, MiB, GiB; 0 for none.", formatSize
    ),
    "bool": Kind(parseBool, None, "", _formatOnOff),
}
