"""
L{WebSocketResource}: WebSocket on a path of a C{twisted.web} site, sharing
the port with ordinary pages, for every protocol version.
"""

from __future__ import annotations

from typing import Any

from twisted.logger import Logger
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request

from ._protocol import (
    WebSocketProtocol,
    WebSocketServerConnection,
    WebSocketServerFactory,
)
from ._webupgrade import upgradeChannel
from .codec import HandshakeFailed, HandshakeRequest, Options, ServerConnection
from .codec._handshake import _REASONS, errorHeaders

__all__ = ["WebSocketResource"]

_log = Logger(namespace="twisted_ws")


class _AdaptedFactory(WebSocketServerFactory):
    """
    Wraps a factory in the style of C{twisted.web.websocket}, whose
    C{buildProtocol} takes the C{twisted.web} request.
    """

    def __init__(self, wrapped: Any, options: Options | None, reactor: Any) -> None:
        super().__init__(WebSocketProtocol, options, reactor)
        self.wrapped = wrapped
        self.webRequest: Request | None = None

    def buildWebSocketProtocol(
        self, request: HandshakeRequest, connection: WebSocketServerConnection
    ) -> WebSocketProtocol | None:
        app = self.wrapped.buildProtocol(connection.webRequest)
        if app is not None and getattr(app, "factory", None) is None:
            try:
                app.factory = self.wrapped
            except AttributeError:  # pragma: no cover - a protocol with slots
                pass
        return app


class WebSocketResource(Resource):
    """
    A resource that speaks WebSocket, of any version, on its path of a
    C{twisted.web} site::

        root = Resource()
        root.putChild(b"ws", WebSocketResource(WebSocketServerFactory(Chat)))
        site = Site(root)

    @param factory: a L{WebSocketServerFactory}, or any object with a
        C{buildProtocol(request)} method that returns a
        L{WebSocketProtocol} as C{twisted.web.websocket} expects.
    @param options: L{Options} for a factory of the second kind.
    """

    isLeaf = True

    def __init__(self, factory: Any, options: Options | None = None, reactor: Any = None) -> None:
        super().__init__()
        if isinstance(factory, WebSocketServerFactory):
            self.factory = factory
        else:
            if reactor is None:
                from twisted.internet import reactor as _reactor

                reactor = _reactor
            self.factory = _AdaptedFactory(factory, options, reactor)

    def render(self, request: Request) -> bytes | int:  # type: ignore[override]
        """
        Answer a WebSocket opening request of any version, or an error.
        """
        headers = [
            (name.decode("iso-8859-1"), value.decode("iso-8859-1"))
            for name, values in request.requestHeaders.getAllRawHeaders()
            for value in values
        ]
        codec = ServerConnection(self.factory.options, secure=request.isSecure())
        method = request.method.decode("iso-8859-1")
        target = request.uri.decode("iso-8859-1")
        version = request.clientproto.decode("iso-8859-1")
        events = codec.receiveRequest(method, target, version, headers)
        if events and isinstance(events[0], HandshakeFailed):
            failed = events[0]
            _log.info(
                "WebSocket handshake for {target} failed: {status} {reason}",
                target=target,
                status=failed.status,
                reason=failed.reason,
            )

            status = failed.status or 400
            request.setResponseCode(status, _REASONS.get(status, "Error").encode("ascii"))
            request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
            for name, value in errorHeaders(status, self.factory.options.versions):
                request.setHeader(name.encode("ascii"), value.encode("ascii"))
            return (failed.reason + "\n").encode("utf-8")
        connection = WebSocketServerConnection(self.factory, codec)
        connection.webRequest = request
        upgradeChannel(request.channel, connection)
        if events:
            connection._deliver(events)
            connection._flush()
        return NOT_DONE_YET
