"""
twisted_ws: WebSocket for Twisted, with one API over every version of the
protocol that clients have spoken (hixie-75, hixie-76, hybi-07, hybi-08 and
RFC 6455), built on the sans-I/O codec in L{twisted_ws.codec}.
"""

from ._protocol import (
    AbnormalClose,
    CleanClose,
    ConnectionClosed,
    RejectConnection,
    WebSocketConnection,
    WebSocketProtocol,
    WebSocketServerConnection,
    WebSocketServerFactory,
)
from ._resource import WebSocketResource
from ._wrapping import MessageTransport, WrappingWebSocketFactory
from .codec import LocalProtocolError, Options, PreparedMessage, Version

__all__ = [
    "AbnormalClose",
    "CleanClose",
    "ConnectionClosed",
    "LocalProtocolError",
    "MessageTransport",
    "Options",
    "PreparedMessage",
    "RejectConnection",
    "Version",
    "WebSocketConnection",
    "WebSocketProtocol",
    "WebSocketResource",
    "WebSocketServerConnection",
    "WebSocketServerFactory",
    "WrappingWebSocketFactory",
]
