# -*- test-case-name: tests.test_options -*-
"""
The options of the Twisted layer, composed with the codec's.

The codec reads only its own settings (L{twisted_ws.codec.Options}); a
connection of the Twisted layer also has timeouts, keepalive, send-buffer
marks and logging (L{ConnectionOptions}), and the server and the client each
have a dataclass for settings of their own (L{ServerOptions},
L{ClientOptions}).  L{Options} inherits all of them, so that it stays the one
flat object users build::

    Options(maxMessageSize=64 * 1024, openTimeout=5.0, pingInterval=30.0)

and, being a L{twisted_ws.codec.Options}, it is what the codec is given.

Every field carries the metadata described in L{twisted_ws.codec.setting}:
the C{twistd websocket} option table, its C{--help} text and the manual's
options page are made from it (L{twisted_ws.twistd._values}).

This module imports nothing from Twisted.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from .codec import Options as CodecOptions

__all__ = ["ClientOptions", "ConnectionOptions", "Options", "ServerOptions"]


def setting(default: Any, *, help: str, value: str, option: str | None = None,
            shown: str | None = None) -> Any:
    """
    A field with the metadata every options field carries (the same keys as
    the codec's fields): C{help}, C{option} (the C{twistd} long option and
    configuration-file key, or L{None}), C{value} (the kind of value, which
    says how it is parsed and in what units) and C{default} (the default as
    shown to people, or L{None} to format the field's default by its kind).
    """
    metadata = {"help": help, "option": option, "value": value, "default": shown}
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class ConnectionOptions:
    """
    The settings of a connection of the Twisted layer, server or client,
    that the codec does not read: it reads no clock and does no I/O.

    @ivar openTimeout: seconds the opening handshake may take, or L{None}
        for no limit.
    @ivar closeTimeout: seconds to wait for the peer's close frame, or for the
        TCP connection to end after the closing handshake, or L{None}.
    @ivar pingInterval: seconds between keepalive pings, or L{None} for no
        keepalive.
    @ivar pingTimeout: seconds to wait for the pong of a keepalive ping before
        closing the connection with 1011, or L{None}.
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
    @ivar tcpNoDelay: turn off Nagle's algorithm on TCP connections, so that
        the tail of a message is not held back waiting for the peer's
        (delayed) acknowledgement of what went before.
    @ivar logConnections: log each connection's closing (at info level, with
        its version, peer, path, close code, duration and byte counts).
        Refused handshakes, protocol errors and timeouts are logged either
        way.
    @ivar logOpenings: with C{logConnections}, also log each connection's
        opening (at debug level).
    """

    openTimeout: float | None = setting(
        10.0,
        option="open-timeout",
        value="seconds",
        help="How long the opening handshake may take before the connection "
        "is dropped.",
    )
    closeTimeout: float | None = setting(
        5.0,
        option="close-timeout",
        value="seconds",
        help="How long to wait for the peer's close frame, and then for the "
        "TCP connection to end, before dropping it.",
    )
    pingInterval: float | None = setting(
        None,
        option="ping-interval",
        value="optional-seconds",
        shown="off",
        help="Send a keepalive ping every this many seconds (RFC 6455 and "
        "hybi only; hixie has no ping).",
    )
    pingTimeout: float | None = setting(
        20.0,
        option="ping-timeout",
        value="seconds",
        help="How long to wait for the pong of a keepalive ping before "
        "closing the connection with 1011.",
    )
    writeHighWater: int = setting(
        1024 * 1024,
        value="size",
        help="Bytes waiting to be sent above which the connection applies "
        "back-pressure (pauses its producer, or stops reading).",
    )
    writeLowWater: int | None = setting(
        None,
        value="size",
        shown="a quarter of writeHighWater",
        help="Bytes waiting to be sent at or below which back-pressure ends.",
    )
    tcpNoDelay: bool = setting(
        True,
        value="bool",
        help="Turn off Nagle's algorithm, so that the tail of a message is "
        "not held back.",
    )
    logConnections: bool = setting(
        True,
        option="quiet",
        value="quiet",
        shown="off: each connection's closing is logged at info level",
        help="Do not log the closing of every connection (refused "
        "handshakes, protocol errors and timeouts are still logged).",
    )
    logOpenings: bool = setting(
        False,
        option="log-openings",
        value="bool",
        help="Also log the opening of every connection, at debug level (the "
        "line logged at its closing names the version, the peer and the "
        "path too, and how long it was open).",
    )

    def _checkConnectionOptions(self) -> None:
        """
        Check the settings of this class.

        @raise ValueError: naming the field and the problem.
        """
        for name in ("openTimeout", "closeTimeout", "pingInterval", "pingTimeout"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"Options.{name} must be positive or None, not {value!r}")
        high = self.writeHighWater
        if not isinstance(high, int) or high <= 0:
            raise ValueError(f"Options.writeHighWater must be a positive integer, not {high!r}")
        low = self.writeLowWater
        if low is not None and (not isinstance(low, int) or not 0 <= low < high):
            raise ValueError(
                f"Options.writeLowWater must be None or an integer from 0 to below "
                f"writeHighWater ({high}), not {low!r}"
            )


@dataclass(frozen=True)
class ServerOptions:
    """
    The settings only a server of the Twisted layer reads.  None yet: the
    server's protocol settings (versions, origins) are the codec's.  A
    setting added here becomes a field of L{Options} at once.
    """

    def _checkServerOptions(self) -> None:
        """
        Check the settings of this class (none yet).
        """


@dataclass(frozen=True)
class ClientOptions:
    """
    The settings only a client of the Twisted layer reads.  None yet; a
    setting added here becomes a field of L{Options} at once.
    """

    def _checkClientOptions(self) -> None:
        """
        Check the settings of this class (none yet).
        """


@dataclass(frozen=True)
class Options(ConnectionOptions, ClientOptions, ServerOptions, CodecOptions):
    """
    Every setting of a WebSocket connection, with safe defaults: those of
    the codec (L{twisted_ws.codec.Options}, which this class extends) and
    those of the Twisted layer (L{ConnectionOptions}, L{ServerOptions},
    L{ClientOptions}), as one flat frozen dataclass.

    Every field is documented in the class that declares it; the manual's
    options page lists them all.
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        self._checkConnectionOptions()
        self._checkServerOptions()
        self._checkClientOptions()

    @classmethod
    def coerce(cls, options: CodecOptions | None) -> Options:
        """
        The options of the Twisted layer for what a caller passed: C{options}
        itself if it is an instance of this class, the defaults for L{None},
        and for a plain L{twisted_ws.codec.Options} one of this class with
        the same codec settings (and the layer settings it was given, by the
        deprecated keywords, or else their defaults).

        @raise TypeError: if C{options} is not options at all.
        """
        if isinstance(options, cls):
            return options
        if options is None:
            return cls()
        if not isinstance(options, CodecOptions):
            raise TypeError(f"expected twisted_ws.Options, not {options!r}")
        # A codec's Options answers the layer's settings it was given by the
        # deprecated keywords, and their defaults otherwise.
        values: dict[str, Any] = {f.name: getattr(options, f.name) for f in fields(cls)}
        return cls(**values)
