"""
Protocol versions, connection states and the codec's options.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._state import State

if TYPE_CHECKING:
    from ._extensions import ExtensionFactory

__all__ = ["Version", "State", "Options", "CloseCode"]


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

    @classmethod
    def fromLabel(cls, label: str) -> Version:
        """
        Look a version up by its label, its wire number or its member name,
        case-insensitively: C{"rfc6455"}, C{"13"}, C{"hybi-00"} and
        C{"HIXIE76"} are all accepted.

        @raise ValueError: for a label that names no version.
        """
        key = label.strip().lower().replace("_", "-")
        for version in cls:
            if key in (version.value, version.name.lower(), str(version.wireVersion)):
                return version
        aliases = {
            "hybi-00": cls.HIXIE76,
            "hixie75": cls.HIXIE75,
            "hixie76": cls.HIXIE76,
            "hybi07": cls.HYBI07,
            "hybi08": cls.HYBI08,
            "hybi-10": cls.HYBI08,
            "rfc-6455": cls.RFC6455,
        }
        if key in aliases:
            return aliases[key]
        raise ValueError(
            f"unknown WebSocket version {label!r}; expected one of "
            + ", ".join(v.value for v in cls)
        )


_WIRE_VERSIONS = {Version.HYBI07: 7, Version.HYBI08: 8, Version.RFC6455: 13}


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


@dataclass(frozen=True)
class Options:
    """
    Every setting of a WebSocket connection, with safe defaults.

    The codec reads the protocol settings; the Twisted layer also reads the
    timeouts and the flow-control marks (the codec reads no clock).

    @ivar versions: the protocol versions a server accepts.
    @ivar allowedOrigins: L{None} to accept any C{Origin}; otherwise the
        origins a server accepts, compared case-insensitively, where C{*}
        matches any run of characters (C{"https://*.example.com"}) and a
        L{None} entry admits requests that carry no C{Origin} at all.
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
    @ivar openTimeout: seconds the opening handshake may take.
    @ivar closeTimeout: seconds to wait for the peer's close frame, or for the
        TCP connection to end after the closing handshake.
    @ivar pingInterval: seconds between keepalive pings, or L{None} for no
        keepalive.
    @ivar pingTimeout: seconds to wait for the pong of a keepalive ping before
        closing the connection with 1011.
    @ivar writeHighWater: bytes buffered for sending above which the
        connection applies back-pressure: an attached producer is paused (or,
        with none attached, the connection stops reading from its peer) until
        the buffer has drained.
    @ivar writeLowWater: bytes buffered for sending at or below which that
        back-pressure ends, or L{None} for a quarter of C{writeHighWater}.
        Twisted itself reports only an empty buffer; while back-pressure
        lasts the connection looks at the buffer every 0.1 s as well, so
        that sending resumes before the socket runs dry.  0 waits for the
        empty buffer alone.
    @ivar logConnections: log each connection's opening (at debug level) and
        closing (at info level, with its version, peer and close code).
        Refused handshakes, protocol errors and timeouts are logged either
        way.
    @ivar tcpNoDelay: turn off Nagle's algorithm on TCP connections, so that
        the tail of a message is not held back waiting for the peer's
        (delayed) acknowledgement of what went before.
    """

    versions: frozenset[Version] = field(default_factory=_allVersions)
    allowedOrigins: tuple[str | None, ...] | None = None
    subprotocols: tuple[str, ...] = ()
    extensions: tuple[ExtensionFactory, ...] = ()
    maxHeaderSize: int = 16 * 1024
    maxFrameSize: int = 1024 * 1024
    maxMessageSize: int = 1024 * 1024
    fragmentSize: int | None = None
    autoPong: bool = True
    decodeText: bool = True
    openTimeout: float | None = 10.0
    closeTimeout: float | None = 5.0
    pingInterval: float | None = None
    pingTimeout: float | None = 20.0
    writeHighWater: int = 1024 * 1024
    writeLowWater: int | None = None
    tcpNoDelay: bool = True
    logConnections: bool = True

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
        for name in ("openTimeout", "closeTimeout", "pingInterval", "pingTimeout"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"Options.{name} must be positive or None, not {value!r}")
        if not isinstance(self.writeHighWater, int) or self.writeHighWater <= 0:
            raise ValueError(f"Options.writeHighWater must be a positive integer, not {self.writeHighWater!r}")
        low = self.writeLowWater
        if low is not None and (not isinstance(low, int) or not 0 <= low < self.writeHighWater):
            raise ValueError(
                f"Options.writeLowWater must be None or an integer from 0 to below "
                f"writeHighWater ({self.writeHighWater}), not {low!r}"
            )
        for proto in self.subprotocols:
            if not proto or any(c in proto for c in ' ,;"\t\r\n'):
                raise ValueError(f"Options.subprotocols holds an invalid token {proto!r}")
