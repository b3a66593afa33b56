"""
A sans-I/O WebSocket codec for every version of the protocol that clients
have spoken: hixie-75, hixie-76 (hybi-00), hybi-07, hybi-08 (and -10) and
RFC 6455, server and client side.

Bytes go in (C{receiveData}), events come out, and the bytes to send
accumulate until C{dataToSend()}.  The codec does no I/O, reads no clock,
and imports nothing from Twisted, so a server or client on any event loop,
or on plain sockets, can be built on it::

    conn = ServerConnection(Options())
    for event in conn.receiveData(sock.recv(65536)):
        if isinstance(event, RequestReceived):
            conn.accept()
        elif isinstance(event, TextMessage):
            conn.sendTextMessage(event.data)
    sock.sendall(conn.dataToSend())
"""

from ._client import ClientConnection
from ._connection import Connection
from ._deflate import DeflateExtension, encodeForKey, encodeShared, sharedEncodingKeyOf
from ._deflateframe import DeflateFrame, DeflateFrameExtension
from ._errors import (
    ConnectionClosedError,
    HandshakeError,
    InvalidAccept,
    InvalidChallenge,
    InvalidHeader,
    InvalidStatus,
    LocalProtocolError,
    NegotiationError,
    PeerError,
    WebSocketError,
)
from ._events import (
    BytesMessage,
    CloseReceived,
    ConnectionFailed,
    ConnectionOpened,
    Event,
    HandshakeFailed,
    Ping,
    Pong,
    RequestReceived,
    TextMessage,
    messageTotals,
)
from ._extensions import Extension, ExtensionFactory, formatExtension, parseExtensions
from ._handshake import HandshakeRequest, acceptKey, hixie76Challenge, hixie76KeyNumber
from ._hybi import isValidCloseCode
from ._mask import mask
from ._options import CloseCode, Options, Version
from ._permessagedeflate import PerMessageDeflate, PerMessageDeflateExtension
from ._prepared import PreparedMessage
from ._server import ServerConnection
from ._state import HandshakeStep, State

__all__ = [
    "BytesMessage",
    "ClientConnection",
    "CloseCode",
    "CloseReceived",
    "Connection",
    "ConnectionClosedError",
    "ConnectionFailed",
    "ConnectionOpened",
    "DeflateExtension",
    "DeflateFrame",
    "DeflateFrameExtension",
    "Event",
    "messageTotals",
    "Extension",
    "ExtensionFactory",
    "HandshakeError",
    "HandshakeFailed",
    "HandshakeRequest",
    "HandshakeStep",
    "InvalidAccept",
    "InvalidChallenge",
    "InvalidHeader",
    "InvalidStatus",
    "LocalProtocolError",
    "NegotiationError",
    "Options",
    "PeerError",
    "PerMessageDeflate",
    "PerMessageDeflateExtension",
    "Ping",
    "Pong",
    "PreparedMessage",
    "RequestReceived",
    "ServerConnection",
    "State",
    "TextMessage",
    "Version",
    "WebSocketError",
    "acceptKey",
    "encodeForKey",
    "encodeShared",
    "formatExtension",
    "hixie76Challenge",
    "hixie76KeyNumber",
    "isValidCloseCode",
    "mask",
    "parseExtensions",
    "sharedEncodingKeyOf",
]


def __getattr__(name: str) -> object:
    # Former names, kept for one release with a DeprecationWarning.
    from . import _events

    new = _events.DEPRECATED_NAMES.get(name)
    if new is not None:
        import warnings

        warnings.warn(
            f"twisted_ws.codec.{name} is deprecated; use {new}", DeprecationWarning, stacklevel=2
        )
        return getattr(_events, new)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
