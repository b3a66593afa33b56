"""
The events that a connection's C{receiveData} returns.

Events are small read-only records.  They are plain classes with
C{__slots__} rather than frozen dataclasses because one of them is created
for every message on the hot path, and a frozen dataclass (or any guard
against assignment) costs about twice as much to build.  Treat their
attributes as read-only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._accel import speedups

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ._errors import PeerError
    from ._extensions import Extension
    from ._handshake import HandshakeRequest
    from ._options import Version

__all__ = [
    "Event",
    "RequestReceived",
    "ConnectionOpened",
    "HandshakeFailed",
    "TextMessage",
    "BytesMessage",
    "Ping",
    "Pong",
    "CloseReceived",
    "ConnectionFailed",
    "messageTotals",
]


class Event:
    """
    Base class of the codec's events: equality, hashing and C{repr} by
    fields.
    """

    __slots__: tuple[str, ...] = ()

    def _fieldNames(self) -> tuple[str, ...]:
        return getattr(self, "_fields", self.__slots__)  # type: ignore[no-any-return]

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self._fieldNames())

    def __hash__(self) -> int:
        return hash((type(self),) + tuple(_hashable(getattr(self, n)) for n in self._fieldNames()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._fieldNames())
        return f"{type(self).__name__}({fields})"


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    return value



class RequestReceived(Event):
    """
    Server side: a complete and valid opening request arrived.  The caller
    answers it with C{conn.accept(...)} or C{conn.reject(...)}.

    @ivar request: the L{HandshakeRequest}.
    """

    __slots__ = ("request",)
    request: HandshakeRequest

    def __init__(self, request: HandshakeRequest) -> None:
        self.request = request


class ConnectionOpened(Event):
    """
    Client side: the server accepted the opening handshake.

    @ivar version: the protocol L{Version} spoken.
    @ivar subprotocol: the subprotocol the server chose, or L{None}.
    @ivar extensions: the negotiated extensions, as a tuple.
    @ivar headers: the response's headers as (name, value) pairs.
    """

    __slots__ = ("version", "subprotocol", "extensions", "headers")
    version: Version
    subprotocol: str | None
    extensions: tuple[Extension, ...]
    headers: list[tuple[str, str]]

    def __init__(
        self,
        version: Version,
        subprotocol: str | None,
        extensions: tuple[Extension, ...],
        headers: list[tuple[str, str]],
    ) -> None:
        self.version = version
        self.subprotocol = subprotocol
        self.extensions = extensions
        self.headers = headers


class HandshakeFailed(Event):
    """
    The opening handshake failed.  On a server, an HTTP error response is
    queued in C{dataToSend()}; on a client, the server's answer was not
    acceptable.  Either way the caller closes the TCP connection.

    @ivar status: the HTTP status sent (server) or received (client; L{None}
        when the response was malformed).
    @ivar reason: what was wrong, readable.
    @ivar error: the L{PeerError} describing it.
    """

    __slots__ = ("status", "reason", "error")
    status: int | None
    reason: str
    error: PeerError

    def __init__(self, status: int | None, reason: str, error: PeerError) -> None:
        self.status = status
        self.reason = reason
        self.error = error


class TextMessage(Event):
    """
    A complete text message, already checked to be valid UTF-8.

    Both forms of the message are at hand: C{data}, the text, and C{utf8},
    the bytes it arrived as.  A connection whose C{decodeText} is off (see
    C{Options.decodeText}) does not decode messages itself: C{data} is then
    decoded the first time it is read, so that an application that relays
    the bytes never pays for the decoding.

    @ivar data: the message, decoded from UTF-8.
    @ivar utf8: the message's UTF-8 bytes.
    """

    __slots__ = ("_data", "utf8")
    _fields = ("data",)
    utf8: bytes

    def __init__(self, data: str | None = None, utf8: bytes | None = None) -> None:
        if utf8 is None:
            if data is None:
                raise TypeError("TextMessage needs its text or its UTF-8 bytes")
            utf8 = data.encode("utf-8")
        self._data = data
        # A plain attribute, always set: an I/O layer reads it per message.
        self.utf8 = utf8

    @property
    def isDecoded(self) -> bool:
        """
        Whether the text was decoded already (by the connection, or by a
        read of C{data}).  L{False} means that reading C{data} now decodes
        C{utf8}.
        """
        return self._data is not None

    @property
    def data(self) -> str:
        data = self._data
        if data is None:
            data = self._data = self.utf8.decode("utf-8")
        return data


class BytesMessage(Event):
    """
    A complete binary message (the name C{BinaryMessage} is deprecated).

    @ivar data: the message's bytes.
    """

    __slots__ = ("data",)
    data: bytes

    def __init__(self, data: bytes) -> None:
        self.data = data


class Ping(Event):
    """
    A ping arrived.  With C{Options.autoPong} (the default) the pong answering
    it is already queued.

    @ivar data: the ping's application data.
    """

    __slots__ = ("data",)
    data: bytes

    def __init__(self, data: bytes) -> None:
        self.data = data


class Pong(Event):
    """
    A pong arrived.

    @ivar data: the pong's application data.
    """

    __slots__ = ("data",)
    data: bytes

    def __init__(self, data: bytes) -> None:
        self.data = data


class CloseReceived(Event):
    """
    The peer sent a close frame (or, on hixie-76, its closing handshake).
    The reply, if one is due, is already queued.

    @ivar code: the close code (1005 when the frame carried none).
    @ivar reason: the close reason.
    """

    __slots__ = ("code", "reason")
    code: int
    reason: str

    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason


class ConnectionFailed(Event):
    """
    The peer broke the protocol (or the codec failed internally, code 1011)
    and the connection failed: a close frame
    with C{code} is queued (where the version has close frames) and the
    caller should close the TCP connection once it is written.

    @ivar code: the close code sent, such as 1002, 1007 or 1009.
    @ivar reason: what was wrong, readable.
    """

    __slots__ = ("code", "reason")
    code: int
    reason: str

    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason


def _messageTotals(events: Sequence[Any]) -> tuple[int, int, int, int]:
    text = textBytes = binary = binaryBytes = 0
    for event in events:
        cls = event.__class__
        if cls is BytesMessage:
            binary += 1
            binaryBytes += len(event.data)
        elif cls is TextMessage:
            text += 1
            textBytes += len(event.utf8)
    return text, textBytes, binary, binaryBytes


def messageTotals(events: Sequence[Any]) -> tuple[int, int, int, int]:
    """
    Add up the messages in a sequence of events, such as C{receiveData}
    returns:
    what a layer that counts its traffic needs once per read.

    @return: C{(text, textBytes, binary, binaryBytes)}: the number of
        L{TextMessage} events and the UTF-8 bytes of their text, and the
        number of L{BytesMessage} events and their bytes.  Other events
        are not counted.
    """
    if _compiled is not None:
        return _compiled(events, BytesMessage, TextMessage)  # type: ignore[no-any-return]
    return _messageTotals(events)


_compiled = getattr(speedups, "messageTotals", None)

#: Former names, kept for one release (see L{twisted_ws.codec.__getattr__}).
DEPRECATED_NAMES = {"BinaryMessage": "BytesMessage", "ProtocolError": "ConnectionFailed"}


def __getattr__(name: str) -> Any:
    new = DEPRECATED_NAMES.get(name)
    if new is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import warnings

    warnings.warn(
        f"twisted_ws.codec.{name} is deprecated; use {new}", DeprecationWarning, stacklevel=2
    )
    return globals()[new]
