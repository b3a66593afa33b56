"""
The server side: L{WebSocketServerFactory}, which listens on any Twisted
server endpoint, and the L{WebSocketServerConnection} it builds for each
client, which runs the opening handshake and the application it asks the
factory for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from twisted.internet import protocol
from twisted.internet.interfaces import ISSLTransport
from twisted.logger import Logger
from twisted.python.failure import Failure

from . import Options
from ._app import WebSocketProtocol
from ._errors import AbnormalClose, RejectConnection
from ._logevents import INFO, emit
from ._metrics import utf8Size
from ._readscope import READS
from ._transport import _BATCH_BYTES, _BATCH_ITEMS, WebSocketConnection
from .codec import (
    ConnectionClosedError,
    LocalProtocolError,
    ServerConnection,
    State,
    messageTotals,
)

if TYPE_CHECKING:
    from twisted.internet.interfaces import IAddress, IReactorTime

    from .codec import HandshakeRequest

__all__ = ["WebSocketServerConnection", "WebSocketServerFactory"]

_log = Logger(namespace="twisted_ws")


class WebSocketServerConnection(WebSocketConnection):
    """
    The server side of one WebSocket connection: detects the client's
    protocol version, asks the factory for the application protocol, and
    runs it.

    @ivar factory: the L{WebSocketServerFactory}.
    @ivar webRequest: through L{twisted_ws.WebSocketResource}, the
        C{twisted.web} request of the opening handshake, while the handshake
        is under way (L{None} after it, so that the request is not kept for
        the life of the connection).
    """

    __slots__ = ("factory", "webRequest", "_presetCodec", "_responseHeaders")

    def __init__(
        self, factory: WebSocketServerFactory, codec: ServerConnection | None = None
    ) -> None:
        super().__init__(factory.options, factory.reactor)
        self.factory = factory
        self.webRequest: Any = None
        self._presetCodec = codec
        self._responseHeaders: list[tuple[str, str]] | None = None
        stats = getattr(factory, "stats", None)
        if stats is not None:
            self._stats = stats

    def __new__(
        cls, factory: WebSocketServerFactory, codec: ServerConnection | None = None
    ) -> WebSocketServerConnection:
        # The connections of a factory that counts are made counting ones
        # from the start: switching an instance's class after __init__ would
        # leave its attributes laid out for the other class, and every
        # method lookup on it would then miss Python's caches (2 % of a
        # 16-byte echo, by callgrind).
        if cls is WebSocketServerConnection and getattr(factory, "stats", None) is not None:
            cls = _CountedServerConnection
        return super().__new__(cls)

    def connectionMade(self) -> None:
        connections = getattr(self.factory, "connections", None)
        if connections is not None:
            connections[self] = None
        super().connectionMade()

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        connections = getattr(self.factory, "connections", None)
        if connections is not None:
            connections.pop(self, None)
        super().connectionLost(reason)

    def _buildCodec(self) -> ServerConnection:
        codec, self._presetCodec = self._presetCodec, None
        if codec is None:
            codec = ServerConnection(self.options, secure=ISSLTransport.providedBy(self.transport))
        return codec

    @property
    def request(self) -> HandshakeRequest | None:
        """
        The opening request, or L{None} before it arrived: see
        L{ServerConnection.request<twisted_ws.codec.ServerConnection.request>}.
        """
        return getattr(getattr(self, "codec", None), "request", None)

    def addResponseHeader(self, name: str, value: str) -> None:
        """
        Add a header to the 101 response; call it from
        L{WebSocketProtocol.requestReceived}.
        """
        if self.codec.state is not State.CONNECTING:
            raise LocalProtocolError("response headers can only be added during the handshake")
        if self._responseHeaders is None:
            self._responseHeaders = []
        self._responseHeaders.append((name, value))

    def _requestReceived(self, request: HandshakeRequest) -> None:
        try:
            self._answerRequest(request)
        except Exception:
            failure = Failure()
            if self.codec.state is not State.CONNECTING:
                # negotiationFinished raised, once the connection was open.
                self._applicationError(failure)
                return
            # The application failed during the handshake: the client gets
            # an HTTP 500, not a dropped connection.
            _log.failure(
                "WebSocket application raised an exception during the handshake with {peer}",
                failure,
                peer=self._peerText(),
            )
            self._reject(RejectConnection(500, "the server failed to answer the handshake"))
        finally:
            self.webRequest = None
            self._responseHeaders = None

    def _answerRequest(self, request: HandshakeRequest) -> None:
        """
        Ask the factory and the application whether, and how, to accept
        C{request}, and answer it.
        """
        try:
            app = self.factory.buildWebSocketProtocol(request, self)
        except RejectConnection as e:
            return self._reject(e)
        if app is None:
            return self._reject(RejectConnection(503, "the server refused the connection"))
        self._attachApplication(app)
        app.negotiationStarted(self)
        requestReceived = getattr(app, "requestReceived", None)
        try:
            subprotocol = requestReceived(request) if requestReceived is not None else None
        except RejectConnection as e:
            return self._reject(e)
        codec = self.codec
        if codec.state is not State.CONNECTING:
            # The application dropped the connection during the handshake.
            return
        assert isinstance(codec, ServerConnection)
        try:
            events = codec.accept(subprotocol, self._responseHeaders or ())
        except LocalProtocolError as e:
            _log.failure("application chose an invalid handshake answer", Failure(e))
            return self._reject(RejectConnection(500, "the server failed to answer the handshake"))
        self._responseHeaders = None
        self._opened()
        if events:
            self._deliver(events)

    def _reject(self, rejection: RejectConnection) -> None:
        emit(
            INFO,
            "WebSocket handshake from {peer} refused: {status} {reason}",
            {
                "wsEvent": "handshake_failed",
                "peer": self._peerText(),
                "path": self._pathText(),
                "status": rejection.status,
                "reason": rejection.reason,
            },
        )
        codec = self.codec
        assert isinstance(codec, ServerConnection)
        status = rejection.status if 400 <= rejection.status <= 599 else 403
        if self._stats is not None:
            self._stats.handshakeFailed(status)
        codec.reject(status, rejection.reason, rejection.headers)
        self._abortReason = AbnormalClose(
            1006, f"handshake refused with HTTP {status}", False, False
        )


class _CountedServerConnection(WebSocketServerConnection):
    """
    A server connection whose factory counts (L{twisted_ws._metrics}): it
    counts the messages it sends as well.  Connections of factories that do
    not count never pay for it.

    The two message sends repeat the bodies of
    L{twisted_ws._transport.WebSocketConnection}'s with the count added,
    rather than counting and calling them: on the echo path a second call
    frame per message costs more than the counting itself.
    """

    __slots__ = ()

    def sendTextMessage(self, text: str | bytes) -> None:
        codec = self.codec
        try:
            codec.sender.sendText(text)
        except ConnectionClosedError as e:
            return self._sendRefused(e)
        size = len(text)
        # utf8Size's own test, inline: most text is bytes or ASCII, whose
        # size is its length, and a call per message is what this avoids.
        self._stats.textSentSizes.append(
            size if text.__class__ is bytes or text.isascii() else utf8Size(text)  # type: ignore[union-attr]
        )
        if size <= _BATCH_BYTES and (self._inReceive or READS.holding(self)):
            batched = self._batched + 1
            if batched <= _BATCH_ITEMS:
                self._batched = batched
                return
        self._flush()

    def sendBytesMessage(self, data: bytes) -> None:
        codec = self.codec
        try:
            codec.sender.sendBinary(data)
        except ConnectionClosedError as e:
            return self._sendRefused(e)
        size = len(data)
        self._stats.binarySentSizes.append(size)
        if size <= _BATCH_BYTES and (self._inReceive or READS.holding(self)):
            batched = self._batched + 1
            if batched <= _BATCH_ITEMS:
                self._batched = batched
                return
        self._flush()

    def _flush(self, now: bool = False) -> None:
        self._stats.foldIfLong()
        _flush(self, now)

    def _deliver(self, events: Sequence[Any]) -> None:
        # Messages are counted as they arrive, in one compiled pass per
        # read; those held while the application paused reading reach it
        # later through _deliverHeld, uncounted.
        text, textBytes, binary, binaryBytes = messageTotals(events)
        if text or binary:
            self._stats.received(text, textBytes, binary, binaryBytes)
        _deliver(self, events)

    def sendPreparedMessage(self, message: Any) -> None:
        data = message.data
        if data.__class__ is str:
            self._stats.sentText(data)
        else:
            self._stats.sentBytes(data)
        super().sendPreparedMessage(message)


_flush = WebSocketServerConnection._flush
_deliver = WebSocketServerConnection._deliver


class WebSocketServerFactory(protocol.Factory):
    """
    Builds WebSocket server connections; listen with it on any Twisted
    server endpoint (C{tcp:}, C{ssl:} for wss, C{unix:})::

        factory = WebSocketServerFactory(Echo, Options(maxMessageSize=2**20))
        serverFromString(reactor, "tcp:8080").listen(factory)

    @ivar protocol: the application's L{WebSocketProtocol} subclass.
    @ivar options: the L{Options} of every connection.
    @ivar reactor: the reactor whose clock the timers use.
    @ivar connections: the open connections (from TCP connect to TCP
        close), for L{twisted_ws._drain.drainConnections}: the keys of a
        dict, which takes about half the memory of a set per connection.
    @ivar stats: a L{twisted_ws._metrics.ConnectionStats} the connections
        count into, or L{None} (the default) for no counting.
    """

    protocol: Any = WebSocketProtocol
    stats: Any = None
    options: Options

    def __init__(
        self,
        protocol: type[WebSocketProtocol] | None = None,
        options: Options | None = None,
        reactor: IReactorTime | None = None,
    ) -> None:
        if protocol is not None:
            self.protocol = protocol
        self.options = options if options is not None else Options()
        if reactor is None:
            from twisted.internet import reactor as _reactor

            reactor = _reactor  # type: ignore[assignment]
        self.reactor = reactor
        self.connections: dict[WebSocketServerConnection, None] = {}

    def buildProtocol(self, addr: IAddress) -> WebSocketServerConnection:  # type: ignore[override]
        """
        Build the byte-level protocol of one incoming connection.
        """
        return WebSocketServerConnection(self)

    def buildWebSocketProtocol(
        self, request: HandshakeRequest, connection: WebSocketServerConnection
    ) -> WebSocketProtocol | None:
        """
        Build the application protocol for an opening request.  Override to
        choose a protocol by path, or raise L{RejectConnection} to refuse.
        """
        app = self.protocol()
        app.factory = self
        return app
