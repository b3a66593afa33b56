"""
L{WebSocketResource}: WebSocket on a path of a C{twisted.web} site, sharing
the port with ordinary pages, for every protocol version.
"""

from __future__ import annotations

from typing import Any

from twisted.logger import Logger
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request

from . import Options
from ._app import WebSocketProtocol
from ._server import WebSocketServerConnection, WebSocketServerFactory
from ._twistedinternals import forgetChannelRequest
from ._webupgrade import upgradeChannel
from .codec import HandshakeFailed, HandshakeRequest, ServerConnection

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
            return _errorResponse(request, codec.dataToSend())
        # twisted.web read as the request's body whatever its
        # Content-Length announced (hixie-76's key3, from some clients): the
        # connection gets it first, as it would over a plain port.
        content = request.content
        body = b""
        if content is not None:
            content.seek(0)
            body = content.read()
        connection = WebSocketServerConnection(self.factory, codec)
        # Kept for the factory during the handshake only (see
        # WebSocketServerConnection.webRequest); the channel, which lives as
        # long as the connection, forgets it.
        connection.webRequest = request
        channel = request.channel
        forgetChannelRequest(channel, request)
        upgradeChannel(channel, connection, body)
        if events:
            connection._deliver(events)
            connection._flush()
        return NOT_DONE_YET


def _errorResponse(request: Request, response: bytes) -> bytes:
    """
    Answer C{request} with the HTTP error C{response} the codec built (its
    status, its headers but those twisted.web writes itself, its body).

    @return: the body.
    """
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    _, status, phrase = lines[0].split(b" ", 2)
    request.setResponseCode(int(status), phrase)
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.lower() not in (b"content-length", b"connection"):
            request.setHeader(name, value.strip())
    return body
