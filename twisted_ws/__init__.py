"""
twisted_ws: WebSocket for Twisted, with one API over every version of the
protocol that clients have spoken (hixie-75, hixie-76, hybi-07, hybi-08 and
RFC 6455), built on the sans-I/O codec in L{twisted_ws.codec}.

The Twisted layer is imported on first use of one of its names, so that
C{import twisted_ws.codec} loads nothing from Twisted.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._client import (
        HandshakeRejected,
        OpenTimeout,
        RedirectError,
        TLSError,
        WebSocketClientConnection,
        WebSocketClientEndpoint,
        WebSocketClientFactory,
    )
    from ._options import Options
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
    from ._proxy import ProxyError
    from ._reconnecting import webSocketClientService
    from ._resource import WebSocketResource
    from ._url import InvalidURL, WebSocketURL
    from ._wrapping import MessageTransport, WrappingWebSocketFactory
    from .codec import LocalProtocolError, PreparedMessage, Version

_WHERE = {
    "AbnormalClose": "._errors",
    "CleanClose": "._errors",
    "ConnectionClosed": "._errors",
    "RejectConnection": "._errors",
    "WebSocketConnection": "._transport",
    "WebSocketProtocol": "._app",
    "WebSocketServerConnection": "._server",
    "WebSocketServerFactory": "._server",
    "WebSocketResource": "._resource",
    "HandshakeRejected": "._client",
    "OpenTimeout": "._client",
    "RedirectError": "._client",
    "TLSError": "._client",
    "WebSocketClientConnection": "._client",
    "WebSocketClientEndpoint": "._client",
    "WebSocketClientFactory": "._client",
    "InvalidURL": "._url",
    "WebSocketURL": "._url",
    "webSocketClientService": "._reconnecting",
    "ProxyError": "._proxy",
    "MessageTransport": "._wrapping",
    "WrappingWebSocketFactory": "._wrapping",
    "LocalProtocolError": ".codec",
    "Options": "._options",
    "PreparedMessage": ".codec",
    "Version": ".codec",
}

__all__ = [
    "AbnormalClose",
    "CleanClose",
    "ConnectionClosed",
    "HandshakeRejected",
    "InvalidURL",
    "LocalProtocolError",
    "MessageTransport",
    "OpenTimeout",
    "Options",
    "PreparedMessage",
    "ProxyError",
    "RedirectError",
    "RejectConnection",
    "TLSError",
    "Version",
    "WebSocketClientConnection",
    "WebSocketClientEndpoint",
    "WebSocketClientFactory",
    "WebSocketConnection",
    "WebSocketProtocol",
    "WebSocketResource",
    "WebSocketServerConnection",
    "WebSocketServerFactory",
    "WebSocketURL",
    "WrappingWebSocketFactory",
    "webSocketClientService",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'twisted_ws' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
