"""
Protocol versions, connection states and the codec's options.
"""

from __future__ import annotations

import enum
import functools
import warnings
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field
from typing import TYPE_CHECKING, Any

from ._state import State

if TYPE_CHECKING:
    from ._extensions import ExtensionFactory

__all__ = ["Version", "VERSION_NAMES", "State", "Options", "CloseCode", "setting"]


class Version(enum.Enum):
    """
    The versions of the WebSocket protocol that clients have spoken.

    The value of each member is its usual label.
    """

    HIXIE75 = "hixie-75"
    HIXIE76 = "hixie-76"
    HYBI07 = "hybi-07"
    HYBI08 = "hybi-08"
    RFC6455 = "rfc6455"

    __hash__ = object.__hash__  # by identity, as State (dict keys, set members)

    @property
    def label(self) -> str:
        """
        The version's label, such as C{"hixie-76"} or C{"rfc6455"}.
        """
        return self.value

    @property
    def isHixie(self) -> bool:
        """
        Whether this is one of the hixie drafts (text frames only, no control
        frames).
        """
        return self in (Version.HIXIE75, Version.HIXIE76)

    @property
    def wireVersion(self) -> int | None:
        """
        The number sent in C{Sec-WebSocket-Version} (7, 8 or 13), or L{None}
        for the hixie drafts, which send none.
        """
        return _WIRE_VERSIONS.get(self)

    @property
    def names(self) -> tuple[str, ...]:
        """
        Every name this version is known by, its label first: the label, the
        other spellings in use (C{"hybi-00"} for hixie-76, C{"hybi-10"} for
        hybi-08) and the wire number.  L{fromLabel} accepts each of them.
        """
        return VERSION_NAMES[self]

    @classmethod
    def fromLabel(cls, label: str) -> Version:
        """
        Look a version up by any of its L{names} or its member name,
        case-insensitively, with C{_} standing for C{-}: C{"rfc6455"},
        C{"13"}, C{"hybi-00"} and C{"HIXIE76"} are all accepted.

        @raise ValueError: for a label that names no version.
        """
        key = label.strip().lower().replace("_", "-")
        version = _BY_NAME.get(key)
        if version is None:
            raise ValueError(
                f"unknown WebSocket version {label!r}; expected one of "
                + ", ".join(v.value for v in cls)
            )
        return version


_WIRE_VERSIONS = {Version.HYBI07: 7, Version.HYBI08: 8, Version.RFC6455: 13}

#: The one table of the names each version is known by, its label first; the
#: wire number, where there is one, comes last.  L{Version.fromLabel}, the
#: C{twistd} options and the documentation all read it.
VERSION_NAMES: dict[Version, tuple[str, ...]] = {
    Version.HIXIE75: ("hixie-75", "hixie75"),
    Version.HIXIE76: ("hixie-76", "hixie76", "hybi-00"),
    Version.HYBI07: ("hybi-07", "hybi07", "7"),
    Version.HYBI08: ("hybi-08", "hybi08", "hybi-10", "8"),
    Version.RFC6455: ("rfc6455", "rfc-6455", "hybi-13", "13"),
}

_BY_NAME: dict[str, Version] = {
    name: version
    for version in Version
    for name in (*VERSION_NAMES[version], version.name.lower())
}


class CloseCode(enum.IntEnum):
    """
    Close codes defined by RFC 6455 section 7.4.1 and the IANA registry.
    """

    NORMAL = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    NO_STATUS = 1005
    ABNORMAL = 1006
    INVALID_DATA = 1007
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    MANDATORY_EXTENSION = 1010
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012
    TRY_AGAIN_LATER = 1013
    BAD_GATEWAY = 1014
    TLS_HANDSHAKE = 1015


def _allVersions() -> frozenset[Version]:
    return frozenset(Version)


def setting(
    default: Any = MISSING,
    *,
    help: str,
    option: str | None = None,
    value: str,
    shown: str | None = None,
    factory: Callable[[], Any] | None = None,
) -> Any:
    """
    A field of an options dataclass, with the metadata that the C{twistd}
    option table, its C{--help} text and the options page of the manual are
    made from.

    The metadata is a plain mapping (so that reading it needs nothing from
    this module) with the keys:
      - C{help}: what the setting does, in a sentence or two;
      - C{option}: its C{twistd} long option and configuration-file key, or
        L{None} for a setting that belongs to the application rather than to
        the deployment;
      - C{value}: the kind of value (C{size}, C{seconds}, C{optional-seconds},
        C{versions}, C{strings}, C{bool}, ...), which says how a value is
        parsed and what units it takes;
      - C{default}: the default as shown to people, or L{None} to show the
        field's default formatted by its kind.

    @param default: the field's default.
    @param factory: a callable making the default, for a mutable default.
    """
    metadata = {"help": help, "option": option, "value": value, "default": shown}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


#: The settings of a connection that the codec does not read and that moved
#: to L{twisted_ws.Options}, with their defaults there.  The codec's L{Options}
#: still accepts them, with a L{DeprecationWarning}, for one release, and
#: answers them when read, so that code handing one to the Twisted layer keeps
#: working.  (C{tests.test_options} checks these defaults against the
#: layer's.)  A setting the layer gained later is listed too, so that the
#: codec's L{Options} handed to the layer answers it with its default.
MOVED_TO_LAYER: dict[str, Any] = {
    "openTimeout": 10.0,
    "closeTimeout": 5.0,
    "pingInterval": None,
    "pingTimeout": 20.0,
    "writeHighWater": 1024 * 1024,
    "writeLowWater": None,
    "tcpNoDelay": True,
    "logConnections": True,
    "logOpenings": False,
}


@dataclass(frozen=True)
class Options:
    """
    The settings the codec reads, with safe defaults.

    The Twisted layer's settings (timeouts, keepalive, send-buffer marks,
    logging) are in L{twisted_ws.Options}, a subclass of this one that users
    of the Twisted layer build instead; the codec accepts one as it accepts
    this class.

    @ivar versions: the protocol versions a server accepts.
    @ivar allowedOrigins: L{None} to accept any C{Origin}; otherwise the
        origins a server accepts, compared case-insensitively, where C{*}
        matches any run of characters (C{"https://*.example.com"}).  With a
        list, a request that carries no origin header (C{Origin}, or
        C{Sec-WebSocket-Origin} on hybi-07/08) is refused with 403 "no
        Origin header" unless the list holds L{None}, as websockets does:
        browsers always send one, so a missing origin is a program that is
        not a browser, which the server admits only if told to.  A refused
        origin gets 403 "origin 'https://x' is not allowed".
    @ivar subprotocols: the subprotocols this side supports, most preferred
        first.
    @ivar extensions: extension factories (such as permessage-deflate), in
        order of preference.
    @ivar maxHeaderSize: the largest opening-handshake header block accepted,
        in bytes (a larger one gets HTTP 431).
    @ivar maxFrameSize: the largest frame payload accepted, in bytes (a larger
        one closes with 1009).
    @ivar maxMessageSize: the largest message accepted, in bytes after
        decompression (a larger one closes with 1009).
    @ivar fragmentSize: when set, outgoing messages larger than this many
        bytes are sent as several frames of at most this size.
    @ivar autoPong: answer each ping with a pong automatically.
    @ivar decodeText: decode each text message into a L{str} as it
        completes.  Off, text is still checked to be valid UTF-8 as it
        arrives (1007 on the first invalid byte), and the
        L{TextMessage<twisted_ws.codec.TextMessage>} carries its UTF-8
        bytes, decoding them only if its C{data} is read: the cheaper
        choice for an application that relays or parses bytes.  A
        connection's C{decodeText} attribute starts with this value; a
        change to it applies from the next data received.
    """

    versions: frozenset[Version] = setting(
        factory=_allVersions,
        option="protocol-versions",
        value="versions",
        shown="all",
        help="The protocol versions accepted; a client asking for another "
        "gets HTTP 426 with the versions the server speaks.",
    )
    allowedOrigins: tuple[str | None, ...] | None = setting(
        None,
        option="allowed-origin",
        value="origins",
        shown="any origin",
        help="An Origin accepted in the opening handshake, such as "
        "https://example.com, where * matches any run of characters "
        "(https://*.example.com); other origins get HTTP 403.",
    )
    subprotocols: tuple[str, ...] = setting(
        (),
        option="subprotocol",
        value="strings",
        shown="none",
        help="A subprotocol the server supports, most preferred first; the "
        "first one the client also offers is chosen.",
    )
    extensions: tuple[ExtensionFactory, ...] = setting(
        (),
        option="compression",
        value="compression",
        shown="off",
        help="Offer permessage-deflate compression (RFC 7692) to the clients "
        "that ask for it.",
    )
    maxHeaderSize: int = setting(
        16 * 1024,
        value="size",
        help="The largest opening-handshake head accepted (a larger one gets "
        "HTTP 431).",
    )
    maxFrameSize: int = setting(
        1024 * 1024,
        option="max-frame-size",
        value="size",
        help="The largest frame payload accepted; a larger one closes the "
        "connection with 1009.",
    )
    maxMessageSize: int = setting(
        1024 * 1024,
        option="max-message-size",
        value="size",
        help="The largest message accepted, counted after decompression; a "
        "larger one closes the connection with 1009.",
    )
    fragmentSize: int | None = setting(
        None,
        value="size",
        shown="none",
        help="Send messages larger than this as several frames of at most "
        "this size.",
    )
    autoPong: bool = setting(True, value="bool", help="Answer each ping with a pong.")
    decodeText: bool = setting(
        True,
        value="bool",
        help="Decode each text message into a str as it completes (off, text "
        "is still checked to be UTF-8 and handed over as its bytes).",
    )

    def __post_init__(self) -> None:
        versions: Any = self.versions
        if not isinstance(versions, frozenset):
            object.__setattr__(self, "versions", frozenset(versions))
        for name in ("subprotocols", "extensions"):
            value = getattr(self, name)
            if not isinstance(value, tuple):
                object.__setattr__(self, name, tuple(value))
        if self.allowedOrigins is not None and not isinstance(self.allowedOrigins, tuple):
            object.__setattr__(self, "allowedOrigins", tuple(self.allowedOrigins))
        if not self.versions:
            raise ValueError("Options.versions must name at least one version")
        for version in self.versions:
            if not isinstance(version, Version):
                raise TypeError(f"Options.versions holds {version!r}, which is not a Version")
        for name in ("maxHeaderSize", "maxFrameSize", "maxMessageSize"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"Options.{name} must be a positive integer, not {value!r}")
        if self.fragmentSize is not None and self.fragmentSize <= 0:
            raise ValueError(f"Options.fragmentSize must be positive, not {self.fragmentSize!r}")
        for proto in self.subprotocols:
            if not proto or any(c in proto for c in ' ,;"\t\r\n'):
                raise ValueError(f"Options.subprotocols holds an invalid token {proto!r}")


_dataclassInit = Options.__init__


@functools.wraps(_dataclassInit)
def _init(self: Options, *args: Any, **kwargs: Any) -> None:
    moved = {name: kwargs.pop(name) for name in list(kwargs) if name in MOVED_TO_LAYER}
    _dataclassInit(self, *args, **kwargs)
    if moved:
        warnings.warn(
            f"twisted_ws.codec.Options({', '.join(moved)}=...) is deprecated: the codec "
            "does not read these settings; build a twisted_ws.Options instead",
            DeprecationWarning,
            stacklevel=2,
        )
        object.__setattr__(self, "_movedSettings", moved)


Options.__init__ = _init  # type: ignore[method-assign]


def _movedSetting(name: str) -> property:
    """
    A read-only attribute that answers the setting C{name}, which moved to
    L{twisted_ws.Options}, with the value this instance was given for it
    (deprecated) or its default there.  (Properties, not C{__getattr__}: a
    class with C{__getattr__} makes every attribute read on its instances
    slower, and the codec reads its options on every connection.)
    """

    def get(self: Options) -> Any:
        return self.__dict__.get("_movedSettings", {}).get(name, MOVED_TO_LAYER[name])

    return property(get, doc=f"The layer's C{{{name}}} (deprecated here).")


# Set after the class is made, so that a type checker flags these reads.
for _name in MOVED_TO_LAYER:
    setattr(Options, _name, _movedSetting(_name))
del _name
