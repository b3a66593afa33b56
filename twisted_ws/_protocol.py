"""
The Twisted layer: a byte-level protocol that feeds the codec from
C{dataReceived}, writes what the codec wants sent, owns time (open, close and
keepalive timers on an injected reactor) and flow control, and turns the
codec's events into calls on the application's L{WebSocketProtocol}.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from twisted.internet import error, protocol
from twisted.internet.interfaces import IPushProducer, ISSLTransport
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from .codec import (
    BytesMessage,
    CloseReceived,
    ConnectionFailed,
    ConnectionOpened,
    HandshakeFailed,
    LocalProtocolError,
    Options,
    Ping,
    Pong,
    PreparedMessage,
    RequestReceived,
    ServerConnection,
    State,
    TextMessage,
    Version,
)

if TYPE_CHECKING:
    from twisted.internet.interfaces import IAddress, IDelayedCall, IReactorTime

    from .codec import Connection, HandshakeRequest
    from .codec._extensions import Extension

__all__ = [
    "ConnectionClosed",
    "CleanClose",
    "AbnormalClose",
    "RejectConnection",
    "WebSocketProtocol",
    "WebSocketServerFactory",
    "WebSocketServerConnection",
]

_log = Logger(namespace="twisted_ws")

#: Inside dataReceived, replies are written in one batch at its end, unless
#: one is larger than this many bytes or characters...
_BATCH_BYTES = 16 * 1024
#: ... or more than this many are queued.
_BATCH_ITEMS = 512
#: Output of at most this many pieces adding up to at least this many bytes
#: is written piece by piece instead of joined (see _flush).
_SEPARATE_ITEMS = 16
_SEPARATE_BYTES = 64 * 1024
#: Seconds between looks at the send buffer while back-pressure lasts.
_DRAIN_CHECK = 0.1
#: How much a TCP transport reads at once.
_READ_SIZE = 256 * 1024


class ConnectionClosed(error.ConnectionClosed):
    """
    How a WebSocket connection ended; the value of the L{Failure} given to
    C{connectionLost}.  L{CleanClose} is also a
    L{twisted.internet.error.ConnectionDone} and L{AbnormalClose} a
    L{twisted.internet.error.ConnectionLost}, so C{reason.check(ConnectionDone)}
    works as Twisted applications expect.

    @ivar code: the close code (1000 normal, 1001 going away, 1005 no code
        given, 1006 no closing handshake, 1002/1007/1009 protocol errors, ...).
    @ivar reason: the close reason.
    @ivar wasClean: whether the closing handshake completed.
    @ivar closedByPeer: whether the peer started the closing.
    @ivar cause: the L{twisted_ws.codec.PeerError} that failed the connection,
        the lower-level failure of the TCP connection, or L{None}.
    """

    def __init__(
        self,
        code: int,
        reason: str,
        wasClean: bool,
        closedByPeer: bool,
        cause: object = None,
    ) -> None:
        super().__init__(f"WebSocket closed with code {code}" + (f": {reason}" if reason else ""))
        self.code = code
        self.reason = reason
        self.wasClean = wasClean
        self.closedByPeer = closedByPeer
        self.cause = cause


class CleanClose(ConnectionClosed, error.ConnectionDone):
    """
    The closing handshake completed.
    """


class AbnormalClose(ConnectionClosed, error.ConnectionLost):
    """
    The connection ended without a completed closing handshake: a protocol
    error, a timeout, a rejected handshake, or a dropped TCP connection.
    """


class RejectConnection(Exception):
    """
    Raise from L{WebSocketProtocol.requestReceived} to refuse the opening
    handshake with an HTTP error response.

    @ivar status: the HTTP status, 4xx or 5xx.
    @ivar reason: the response body (plain text).
    @ivar headers: extra response headers as (name, value) pairs.
    """

    def __init__(
        self, status: int = 403, reason: str = "", headers: tuple[tuple[str, str], ...] = ()
    ) -> None:
        super().__init__(status, reason)
        self.status = status
        self.reason = reason
        self.headers = headers


class WebSocketProtocol:
    """
    Base class of WebSocket applications: subclass it and override the
    callbacks you need.  It works the same whichever protocol version the
    peer speaks.

    The callback names are those of C{twisted.web.websocket}, so an
    application written for it moves over by changing an import.

    @ivar transport: the L{WebSocketServerConnection} (the "WebSocket
        transport") this protocol sends through, set by
        L{negotiationStarted}.
    @ivar factory: the factory that built this protocol, if any.
    """

    transport: Any = None
    factory: Any = None

    def negotiationStarted(self, transport: Any) -> None:
        """
        A request arrived and the opening handshake began; C{transport} is
        where messages will be sent.
        """
        self.transport = transport

    def requestReceived(self, request: HandshakeRequest) -> str | None:
        """
        Inspect the opening request before it is accepted.

        @param request: the request: C{method}, C{path}, C{target},
            C{headers} (with C{header(name)}), C{version}, C{origin},
            C{subprotocols} offered and C{extensions} offered; the peer's
            address is C{self.transport.getPeer()}.
        @return: the subprotocol to choose (one the client offered), or
            L{None} for the first of the factory's C{Options.subprotocols}
            that the client offered.  Add response headers with
            C{self.transport.addResponseHeader(name, value)}.
        @raise RejectConnection: to refuse the connection with an HTTP
            status.
        """
        return None

    def negotiationFinished(self) -> None:
        """
        The opening handshake completed: the connection is open.
        """

    def textMessageReceived(self, message: str) -> None:
        """
        A text message arrived.
        """

    def utf8MessageReceived(self, data: bytes) -> None:
        """
        A text message arrived, as its UTF-8 bytes (already checked to be
        valid UTF-8).

        Override this instead of L{textMessageReceived} to get text messages
        undecoded: the connection then never decodes them, which saves the
        work for an application that relays them, hands them to a parser
        that takes bytes (C{json.loads} does), or stores them.  C{data} can
        be passed to L{sendTextMessage} as it is.  This default decodes it
        and calls L{textMessageReceived}.
        """
        self.textMessageReceived(data.decode("utf-8"))

    def bytesMessageReceived(self, data: bytes) -> None:
        """
        A binary message arrived.
        """

    def pongReceived(self, payload: bytes) -> None:
        """
        A pong arrived.
        """

    def pingReceived(self, payload: bytes) -> None:
        """
        A ping arrived (the pong is sent automatically).
        """

    def connectionLost(self, reason: Failure) -> None:
        """
        The connection ended.  C{reason.value} is a L{ConnectionClosed} with
        C{code}, C{reason}, C{wasClean} and C{closedByPeer}.
        """

    # Shortcuts to the transport.

    def sendTextMessage(self, text: str | bytes) -> None:
        """
        Send a text message: a L{str}, or its UTF-8 bytes.
        """
        self.transport.sendTextMessage(text)

    def sendBytesMessage(self, data: bytes) -> None:
        """
        Send a binary message.

        @raise LocalProtocolError: on a hixie connection, which has none.
        """
        self.transport.sendBytesMessage(data)

    def ping(self, payload: bytes = b"") -> None:
        """
        Send a ping.
        """
        self.transport.ping(payload)

    def loseConnection(self, code: int = 1000, reason: str = "") -> None:
        """
        Close the connection with C{code} and C{reason}.
        """
        self.transport.loseConnection(code, reason)


class _NotOpen:
    """
    Stands in for the codec's framer until the connection is open, so that
    sending raises a clear error instead of an L{AttributeError}.
    """

    sendDone = True

    def _refuse(self, *args: object) -> None:
        raise LocalProtocolError("cannot send before the WebSocket connection is open")

    sendText = sendBinary = sendPing = sendPong = _refuse


_NOT_OPEN = _NotOpen()


@implementer(IPushProducer)
class WebSocketConnection(protocol.Protocol):
    """
    The byte-level protocol of one WebSocket connection, server or client,
    and the "WebSocket transport" the application sends through.

    @ivar version: the protocol L{Version}, once known.
    @ivar subprotocol: the negotiated subprotocol or L{None}.
    @ivar extensions: the negotiated extensions.
    @ivar codec: the codec connection.
    """

    # Slots rather than an instance dictionary: a server holds one of these
    # per connection, most of them idle.
    __slots__ = (
        "options",
        "reactor",
        "codec",
        "transport",
        "connected",
        "application",
        "_framer",
        "_inReceive",
        "_openTimer",
        "_closeTimer",
        "_pingTimer",
        "_pongTimer",
        "_drainCheck",
        "_producer",
        "_pull",
        "_pullStreaming",
        "_writePaused",
        "_readPaused",
        "_backpressure",
        "_pending",
        "_lost",
        "_abortReason",
    )

    codec: Connection
    transport: Any
    application: WebSocketProtocol | None

    def __init__(self, options: Options, reactor: IReactorTime) -> None:
        self.options = options
        self.reactor = reactor
        self.transport = None
        self.connected = 0
        self.application = None
        self._framer: Any = _NOT_OPEN
        self._inReceive = False
        self._openTimer: IDelayedCall | None = None
        self._closeTimer: IDelayedCall | None = None
        self._pingTimer: IDelayedCall | None = None
        self._pongTimer: IDelayedCall | None = None
        self._drainCheck: IDelayedCall | None = None
        self._producer: IPushProducer | None = None
        self._pull: IDelayedCall | None = None
        self._pullStreaming = True
        self._writePaused = False
        self._readPaused = False
        self._backpressure = False
        self._pending: list = []
        self._lost = False
        self._abortReason: ConnectionClosed | None = None

    # Public attributes.

    @property
    def version(self) -> Version | None:
        return self.codec.version

    @property
    def subprotocol(self) -> str | None:
        return self.codec.subprotocol

    @property
    def extensions(self) -> tuple[Extension, ...]:
        return self.codec.extensions

    @property
    def request(self) -> HandshakeRequest | None:
        """
        The opening request (server side), or L{None}: see
        L{ServerConnection.request<twisted_ws.codec.ServerConnection.request>}.
        """
        return getattr(getattr(self, "codec", None), "request", None)

    @property
    def isOpen(self) -> bool:
        """
        Whether messages can be sent.
        """
        return self.codec.state is State.OPEN

    def getPeer(self) -> IAddress:
        """
        The peer's address.
        """
        return self.transport.getPeer()

    def getHost(self) -> IAddress:
        """
        This side's address.
        """
        return self.transport.getHost()

    # Receiving.

    def dataReceived(self, data: bytes) -> None:
        codec = self.codec
        self._inReceive = True
        try:
            events = codec.receiveData(data)
            if events:
                self._deliver(events)
        finally:
            self._inReceive = False
        framer = codec._framer
        if framer is not None and framer._received is not None:
            framer._received = None
        self._flush()

    def _holdAfter(self, events: list, event: object) -> None:
        """
        The application paused reading while handling C{event}: hold the
        events that follow it until it resumes.
        """
        for i, candidate in enumerate(events):
            if candidate is event:
                self._pending.extend(events[i + 1 :])
                return

    def _deliver(self, events: list) -> None:
        """
        Deliver C{events} to the application, holding back those that come
        after it paused reading.
        """
        if self._readPaused:
            self._pending.extend(events)
            return
        app = self.application
        try:
            for event in events:
                cls = event.__class__
                if cls is BytesMessage:
                    app.bytesMessageReceived(event.data)  # type: ignore[union-attr]
                elif cls is TextMessage:
                    # The codec decoded the text unless the application asked
                    # for its bytes (see _attachApplication).
                    text = event._data  # type: ignore[union-attr]
                    if text is None:
                        app.utf8MessageReceived(event._utf8)  # type: ignore[union-attr]
                    else:
                        app.textMessageReceived(text)  # type: ignore[union-attr]
                else:
                    self._otherEvent(event)
                    app = self.application
                if self._readPaused:
                    self._holdAfter(events, event)
                    break
        except Exception:
            self._applicationError(Failure())

    def _applicationError(self, failure: Failure) -> None:
        """
        An application callback raised: log it and fail the connection with
        1011 (internal error), after writing what was already sent.
        """
        _log.failure(
            "WebSocket application raised an exception; closing the connection with {peer}",
            failure,
            peer=_peerText(self),
        )
        self._pending = []
        self._abortReason = AbnormalClose(1011, "internal server error", False, False, failure.value)
        codec = self.codec
        if codec.state is State.OPEN:
            codec.close(1011, "internal server error")
        elif codec.state is State.CONNECTING:
            codec.close()
        codec.shouldCloseTransport = True

    def _otherEvent(self, event: object) -> None:
        cls = event.__class__
        app = self.application
        if cls is Pong:
            self._pongArrived()
            if app is not None:
                app.pongReceived(event.data)  # type: ignore[attr-defined]
        elif cls is Ping:
            pingReceived = getattr(app, "pingReceived", None)
            if pingReceived is not None:
                pingReceived(event.data)  # type: ignore[attr-defined]
        elif cls is CloseReceived:
            self._closeStarted()
        elif cls is ConnectionFailed:
            _log.info(
                "WebSocket peer {peer} broke the protocol: {code} {reason}",
                peer=_peerText(self),
                code=event.code,  # type: ignore[attr-defined]
                reason=event.reason,  # type: ignore[attr-defined]
            )
        elif cls is RequestReceived:
            self._requestReceived(event.request)  # type: ignore[attr-defined]
        elif cls is HandshakeFailed:
            _log.info(
                "WebSocket handshake from {peer} failed: {status} {reason}",
                peer=_peerText(self),
                status=event.status,  # type: ignore[attr-defined]
                reason=event.reason,  # type: ignore[attr-defined]
            )
        elif cls is ConnectionOpened:
            self._opened()

    def _requestReceived(self, request: HandshakeRequest) -> None:
        raise NotImplementedError

    def _attachApplication(self, app: WebSocketProtocol) -> None:
        """
        Make C{app} the application of this connection.  An application
        that overrides C{utf8MessageReceived} gets text undecoded, and one
        without that method (not derived from L{WebSocketProtocol}) gets it
        decoded whatever C{Options.decodeText} says.
        """
        self.application = app
        method = getattr(type(app), "utf8MessageReceived", None)
        if method is None:
            self.codec.decodeText = True
        elif method is not WebSocketProtocol.utf8MessageReceived:
            self.codec.decodeText = False

    def _opened(self) -> None:
        """
        The opening handshake completed.
        """
        self._framer = self.codec._framer
        self._cancel("_openTimer")
        if self.options.logConnections:
            _log.debug(
                "WebSocket {version} connection with {peer} opened",
                version=self.codec.version.label if self.codec.version else "?",
                peer=_peerText(self),
            )
        self._schedulePing()
        if self.application is not None:
            self.application.negotiationFinished()

    # Sending.

    def _flush(self) -> None:
        """
        Write what the codec queued; then, unless messages are held for the
        application, the close frame it owes and the end of the TCP
        connection it asks for.

        Many small frames go in one write.  A few large ones are written one
        by one: the transport joins what it buffers anyway, and joining them
        here first would copy every byte once more.
        """
        codec = self.codec
        if codec.closeAnswerPending and not self._pending:
            codec.answerClose()
        out = codec._out
        if out and not self._lost:
            n = len(out)
            if n == 1:
                self.transport.write(out[0])
            elif n <= _SEPARATE_ITEMS and sum(map(len, out)) >= _SEPARATE_BYTES:
                write = self.transport.write
                for item in out:
                    write(item)
            else:
                self.transport.write(b"".join(out))
            out.clear()
        if codec.shouldCloseTransport and not self._pending:
            self._endTransport()

    def sendTextMessage(self, text: str | bytes) -> None:
        """
        Send a text message.

        @param text: the text, or its UTF-8 bytes, such as those given to
            L{WebSocketProtocol.utf8MessageReceived}.  Bytes are checked to
            be valid UTF-8, except those of a long message received in the
            data being handled, which were checked on arrival.
        @raise LocalProtocolError: the connection is not open, or C{text}
            is bytes that are not valid UTF-8.
        """
        self._framer.sendText(text)
        # Inside dataReceived replies are batched into one write, unless they
        # pile up: then the transport must see them to apply back-pressure.
        if not self._inReceive or len(text) > _BATCH_BYTES or len(self.codec._out) > _BATCH_ITEMS:
            self._flush()

    def sendBytesMessage(self, data: bytes) -> None:
        """
        Send a binary message.

        @raise LocalProtocolError: the connection is not open, or speaks a
            hixie version, which has no binary messages.
        """
        self._framer.sendBinary(data)
        if not self._inReceive or len(data) > _BATCH_BYTES or len(self.codec._out) > _BATCH_ITEMS:
            self._flush()

    def sendPreparedMessage(self, message: PreparedMessage) -> None:
        """
        Send a L{PreparedMessage}: a message framed once for many
        connections, as a broadcast does.
        """
        self.codec.sendPreparedMessage(message)
        if not self._inReceive:
            self._flush()

    def ping(self, payload: bytes = b"") -> None:
        """
        Send a ping.

        @raise LocalProtocolError: not open, payload over 125 bytes, or a
            hixie connection.
        """
        self._framer.sendPing(payload)
        if not self._inReceive:
            self._flush()

    def loseConnection(self, code: int = 1000, reason: str = "") -> None:
        """
        Close the connection: start the closing handshake with C{code} and
        C{reason} and end the TCP connection when it completes or the close
        timeout passes.  During the opening handshake this drops the
        connection.
        """
        codec = self.codec
        if codec.state is State.OPEN:
            codec.close(code, reason)
            self._closeStarted()
        elif codec.state is State.CONNECTING:
            codec.close()
        elif self.transport is not None:
            return
        if not self._inReceive:
            self._flush()

    # Producer and consumer.

    @property
    def bufferedAmount(self) -> int:
        """
        Bytes written but not yet handed to the kernel: in the TCP
        transport's buffer and, under TLS, in the TLS layer's.
        """
        size = 0
        transport = self.transport
        for _ in range(3):
            if transport is None:
                break
            buffer = getattr(transport, "dataBuffer", None)
            if buffer is not None:
                size += len(buffer) - getattr(transport, "offset", 0)
                size += getattr(transport, "_tempDataLen", 0)
            pending = getattr(transport, "_appSendBuffer", None)
            if pending:
                size += sum(map(len, pending))
            # A TLS transport wraps the TCP transport that holds the bytes.
            transport = getattr(transport, "transport", None)
        return size

    @property
    def writePaused(self) -> bool:
        """
        Whether the transport's send buffer is above its high-water mark.
        """
        return self._writePaused

    def attachProducer(self, producer: IPushProducer) -> None:
        """
        Attach a push producer: it is paused while the send buffer is above
        C{Options.writeHighWater} and resumed once it is down to
        C{Options.writeLowWater}.
        """
        if self._producer is not None:
            raise RuntimeError("a producer is already attached")
        self._producer = producer
        self._pull = None
        if self._writePaused:
            producer.pauseProducing()

    def detachProducer(self) -> None:
        """
        Detach the producer attached with L{attachProducer}.
        """
        self._producer = None
        if self._pull is not None:
            if self._pull.active():
                self._pull.cancel()
            self._pull = None

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        """
        L{IConsumer}'s way to attach a producer.  A push producer
        (C{streaming} true) is handled as by L{attachProducer}; a pull
        producer is asked for more with C{resumeProducing} each time the
        send buffer is below C{Options.writeHighWater}.
        """
        self.attachProducer(producer)
        if not streaming:
            self._pullStreaming = False
            self._schedulePull()
        else:
            self._pullStreaming = True

    def unregisterProducer(self) -> None:
        """
        The same as L{detachProducer}, under L{IConsumer}'s name.
        """
        self.detachProducer()

    def _schedulePull(self) -> None:
        if self._pull is None and self._producer is not None and not self._writePaused:
            self._pull = self.reactor.callLater(0, self._pullOnce)

    def _pullOnce(self) -> None:
        self._pull = None
        producer = self._producer
        if producer is None or self._writePaused or self._lost:
            return
        producer.resumeProducing()
        if self._producer is producer and not self._pullStreaming:
            self._schedulePull()

    # IPushProducer, registered on the TCP transport: Twisted calls these as
    # its send buffer fills and drains.

    def pauseProducing(self) -> None:
        """
        The transport's send buffer is full by Twisted's measure (which it
        says again on every write while it stays full).  Once it holds more
        than C{Options.writeHighWater}, pause the attached producer, or,
        with none attached, stop reading from the peer, whose messages would
        only make more to send (an echo to a client that never reads).
        """
        if self._writePaused or self.bufferedAmount <= self.options.writeHighWater:
            return
        self._writePaused = True
        self._scheduleDrainCheck()
        if self._producer is not None:
            if self._pullStreaming:
                self._producer.pauseProducing()
        elif not self._backpressure and not self._lost:
            self._backpressure = True
            if not self._readPaused:
                self.transport.pauseProducing()

    def resumeProducing(self) -> None:
        """
        The transport's send buffer drained (or, by L{_checkDrain}, fell to
        C{Options.writeLowWater}): resume the attached producer, or reading.
        """
        if not self._writePaused:
            return
        self._writePaused = False
        self._cancel("_drainCheck")
        if self._producer is not None and not self._pullStreaming:
            self._schedulePull()
            return
        if self._backpressure:
            self._backpressure = False
            if not self._readPaused and not self._lost:
                self.transport.resumeProducing()
        if self._producer is not None:
            self._producer.resumeProducing()

    def _lowWater(self) -> int:
        low = self.options.writeLowWater
        return self.options.writeHighWater // 4 if low is None else low

    def _scheduleDrainCheck(self) -> None:
        if self._drainCheck is None and self._lowWater() > 0 and not self._lost:
            self._drainCheck = self.reactor.callLater(_DRAIN_CHECK, self._checkDrain)

    def _checkDrain(self) -> None:
        """
        While back-pressure lasts, end it once the send buffer is down to
        the low-water mark; Twisted only says when it is empty.
        """
        self._drainCheck = None
        if not self._writePaused or self._lost:
            return
        if self.bufferedAmount <= self._lowWater():
            self.resumeProducing()
        else:
            self._scheduleDrainCheck()

    def stopProducing(self) -> None:
        """
        The transport is going away.
        """
        if self._producer is not None:
            self._producer.stopProducing()

    # Incoming flow control, for the application.

    def pauseReading(self) -> None:
        """
        Stop reading from the socket (the application is slow); messages
        already parsed wait until L{resumeReading}.
        """
        if not self._readPaused:
            self._readPaused = True
            if not self._backpressure:
                self.transport.pauseProducing()

    def resumeReading(self) -> None:
        """
        Deliver the messages held since L{pauseReading} and read from the
        socket again.
        """
        if not self._readPaused:
            return
        self._readPaused = False
        pending, self._pending = self._pending, []
        if pending:
            self._inReceive = True
            try:
                self._deliver(pending)
            finally:
                self._inReceive = False
            self._flush()
        if (
            not self._readPaused
            and not self._backpressure
            and not self._lost
            and not self.codec.shouldCloseTransport
        ):
            self.transport.resumeProducing()

    # Time.

    def _cancel(self, name: str) -> None:
        call = getattr(self, name)
        if call is not None:
            setattr(self, name, None)
            if call.active():
                call.cancel()

    def _startOpenTimer(self) -> None:
        if self.options.openTimeout is not None:
            self._openTimer = self.reactor.callLater(self.options.openTimeout, self._openTimedOut)

    def _openTimedOut(self) -> None:
        self._openTimer = None
        _log.info("WebSocket opening handshake with {peer} timed out", peer=_peerText(self))
        self._abort(1006, "opening handshake timed out")

    def _closeStarted(self) -> None:
        """
        A close frame was sent or received: bound the time until the TCP
        connection ends.
        """
        self._cancel("_pingTimer")
        self._cancel("_pongTimer")
        if self._closeTimer is None and self.options.closeTimeout is not None:
            self._closeTimer = self.reactor.callLater(self.options.closeTimeout, self._closeTimedOut)

    def _closeTimedOut(self) -> None:
        self._closeTimer = None
        if self.codec.state is not State.CLOSED:
            self._abort(1006, "closing handshake timed out")
        else:
            self._abortTransport()

    def _schedulePing(self) -> None:
        interval = self.options.pingInterval
        version = self.codec.version
        if interval is not None and version is not None and not version.isHixie:
            self._pingTimer = self.reactor.callLater(interval, self._sendKeepalive)

    def _sendKeepalive(self) -> None:
        self._pingTimer = None
        if self.codec.state is not State.OPEN:
            return
        self._framer.sendPing(b"keepalive")
        self._flush()
        if self._pongTimer is None and self.options.pingTimeout is not None:
            self._pongTimer = self.reactor.callLater(self.options.pingTimeout, self._pongTimedOut)
        self._schedulePing()

    def _pongArrived(self) -> None:
        self._cancel("_pongTimer")

    def _pongTimedOut(self) -> None:
        self._pongTimer = None
        _log.info("WebSocket peer {peer} missed its keepalive pong", peer=_peerText(self))
        self._abortReason = AbnormalClose(1011, "keepalive ping timeout", False, False)
        self.codec.close(1011, "keepalive ping timeout")
        self._flush()
        self._abortTransport()

    def _abort(self, code: int, reason: str) -> None:
        self._abortReason = AbnormalClose(code, reason, False, False)
        self._abortTransport()

    # Ending.

    def _endTransport(self) -> None:
        if self._lost or self.transport is None:
            return
        transport = self.transport
        transport.loseConnection()
        if ISSLTransport.providedBy(transport):
            # Twisted's TLS layer sends its close_notify and then waits for
            # the peer's, which many clients never send once the WebSocket
            # closing handshake is over.  The WebSocket close already says
            # the data is complete, so end TCP once everything (the close
            # alert included) has been written to it.
            lower = getattr(transport, "transport", None)
            if lower is not None and not getattr(transport, "_appSendBuffer", None):
                lower.loseConnection()
        # loseConnection waits for the send buffer to drain, which a peer
        # that does not read may never let happen.
        if self._closeTimer is None and self.options.closeTimeout is not None:
            self._closeTimer = self.reactor.callLater(self.options.closeTimeout, self._abortTransport)

    def _abortTransport(self) -> None:
        if self._lost or self.transport is None:
            return
        abort = getattr(self.transport, "abortConnection", None)
        if abort is not None:
            abort()
        else:
            self.transport.loseConnection()

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        if self._lost:
            return
        self._lost = True
        for name in ("_openTimer", "_closeTimer", "_pingTimer", "_pongTimer", "_drainCheck", "_pull"):
            self._cancel(name)
        if self._pending:
            # Messages held by pauseReading still reach the application
            # before it learns that the connection is gone.
            pending, self._pending = self._pending, []
            self._readPaused = False
            self._deliver(pending)
        codec = self.codec
        codec.receiveEOF()
        closed: ConnectionClosed
        if self._abortReason is not None and not codec.wasClean:
            closed = self._abortReason
            closed.cause = reason.value
        else:
            cls = CleanClose if codec.wasClean else AbnormalClose
            cause = codec.cause if codec.cause is not None else (
                None if codec.wasClean else reason.value
            )
            closed = cls(
                codec.closeCode if codec.closeCode is not None else 1006,
                codec.closeReason,
                codec.wasClean,
                codec.closedByPeer,
                cause,
            )
        if codec.version is not None and codec._framer is not None and self.options.logConnections:
            _log.info(
                "WebSocket {version} connection with {peer} closed: {code} clean={clean}",
                version=codec.version.label,
                peer=_peerText(self),
                code=closed.code,
                clean=closed.wasClean,
            )
        self._framer = _NOT_OPEN
        if self._producer is not None:
            producer, self._producer = self._producer, None
            producer.stopProducing()
        app = self.application
        if app is not None:
            app.connectionLost(Failure(closed))


def _peerText(conn: WebSocketConnection) -> str:
    try:
        peer = conn.transport.getPeer()
    except Exception:
        return "?"
    host = getattr(peer, "host", None)
    port = getattr(peer, "port", None)
    if host is not None:
        return f"{host}:{port}" if port is not None else str(host)
    return str(peer)


class WebSocketServerConnection(WebSocketConnection):
    """
    The server side of one WebSocket connection: detects the client's
    protocol version, asks the factory for the application protocol, and
    runs it.
    """

    __slots__ = ("factory", "webRequest", "_presetCodec", "_responseHeaders")

    def __init__(self, factory: WebSocketServerFactory, codec: ServerConnection | None = None) -> None:
        super().__init__(factory.options, factory.reactor)
        self.factory = factory
        self.webRequest: Any = None
        self._presetCodec = codec
        self._responseHeaders: list[tuple[str, str]] | None = None

    def connectionMade(self) -> None:
        if self._presetCodec is not None:
            self.codec = self._presetCodec
            self._presetCodec = None
        else:
            secure = ISSLTransport.providedBy(self.transport)
            self.codec = ServerConnection(self.options, secure=secure)
        register = getattr(self.transport, "registerProducer", None)
        if register is not None:
            # Read in larger pieces than Twisted's 64 KiB, for large messages.
            # The same attribute is Twisted's mark for pausing this producer;
            # pauseProducing compares with writeHighWater itself.
            readSize = min(_READ_SIZE, self.options.writeHighWater)
            if self.options.tcpNoDelay:
                self._setNoDelay()
            for transport in (self.transport, getattr(self.transport, "transport", None)):
                if transport is not None and hasattr(transport, "bufferSize"):
                    transport.bufferSize = readSize
            register(self, True)
        self._startOpenTimer()

    def _setNoDelay(self) -> None:
        # On the TCP transport itself, or on the one under TLS.
        for transport in (self.transport, getattr(self.transport, "transport", None)):
            setTcpNoDelay = getattr(transport, "setTcpNoDelay", None)
            if setTcpNoDelay is not None:
                try:
                    setTcpNoDelay(True)
                except OSError:  # pragma: no cover - a socket that refuses it
                    pass
                return

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
        codec = self.codec
        assert isinstance(codec, ServerConnection)
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
        if codec.state is not State.CONNECTING:
            # The application dropped the connection during the handshake.
            return
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
        _log.info(
            "WebSocket handshake from {peer} refused: {status} {reason}",
            peer=_peerText(self),
            status=rejection.status,
            reason=rejection.reason,
        )
        assert isinstance(self.codec, ServerConnection)
        status = rejection.status if 400 <= rejection.status <= 599 else 403
        self.codec.reject(status, rejection.reason, rejection.headers)
        self._abortReason = AbnormalClose(1006, f"handshake refused with HTTP {status}", False, False)


class WebSocketServerFactory(protocol.Factory):
    """
    Builds WebSocket server connections; listen with it on any Twisted
    server endpoint (C{tcp:}, C{ssl:} for wss, C{unix:})::

        factory = WebSocketServerFactory(Echo, Options(maxMessageSize=2**20))
        serverFromString(reactor, "tcp:8080").listen(factory)

    @ivar protocol: the application's L{WebSocketProtocol} subclass.
    @ivar options: the L{Options} of every connection.
    @ivar reactor: the reactor whose clock the timers use.
    """

    protocol: Any = WebSocketProtocol
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
