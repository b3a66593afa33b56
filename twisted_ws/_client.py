# -*- test-case-name: tests.test_client -*-
"""
The client side of the Twisted layer: L{WebSocketClientEndpoint}, which
connects an application protocol to a C{ws://} or C{wss://} URL over any
protocol version, and L{WebSocketClientConnection}, the connection it runs.

The names and arguments are those of C{twisted.web.websocket}'s client
(C{WebSocketClientEndpoint.new(reactor, url, tlsPolicy, connectTimeout,
bindAddress)}, C{connect(factory)} with a factory whose C{buildProtocol(url)}
makes the protocol), so an application written for it moves over by
changing an import.

This module gathers the client's names; they live in
L{twisted_ws._clientendpoint} (the endpoint, the factory, the stream
endpoint of each URL), L{twisted_ws._clientattempt} (one C{connect}: its
deadline, cancellation and redirects), L{twisted_ws._clientconnection} (the
connection) and L{twisted_ws._clienterrors} (how C{connect} fails).
"""

from __future__ import annotations

from ._clientconnection import WebSocketClientConnection
from ._clientendpoint import (
    StandardEndpointFactory,
    WebSocketClientEndpoint,
    WebSocketClientFactory,
)
from ._clienterrors import (
    BODY_LIMIT,
    REDIRECT_STATUSES,
    HandshakeRejected,
    OpenTimeout,
    RedirectError,
    TLSError,
)
from ._url import InvalidURL

__all__ = [
    "BODY_LIMIT",
    "REDIRECT_STATUSES",
    "HandshakeRejected",
    "InvalidURL",
    "OpenTimeout",
    "RedirectError",
    "StandardEndpointFactory",
    "TLSError",
    "WebSocketClientConnection",
    "WebSocketClientEndpoint",
    "WebSocketClientFactory",
]
