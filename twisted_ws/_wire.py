"""
The byte-level half of a WebSocket connection: the Twisted L{Protocol} whose
C{dataReceived} feeds the codec, which delivers the codec's events to the
application, writes the chunks the codec queues, and ends the TCP
connection when the codec says so.

The application-facing half (sending, closing, pausing) is
L{twisted_ws._transport.WebSocketConnection}, a subclass; how the
connection ends is in L{twisted_ws._ending}, a base; time is in
L{twisted_ws._timers}, send-side back-pressure in L{twisted_ws._flow}.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from twisted.logger import Logger
from twisted.python.failure import Failure

from ._app import WebSocketProtocol
from ._ending import ConnectionEnding
from ._errors import ConnectionClosed
from ._flow import SendFlow, TransportProducer
from ._logevents import DEBUG, emit
from ._readscope import READS
from ._timers import ConnectionTimers
from ._twistedinternals import lowerTransport, setReadSize, writeNow
from .codec import (
    BytesMessage,
    CloseReceived,
    ConnectionFailed,
    ConnectionOpened,
    HandshakeFailed,
    Ping,
    Pong,
    RequestReceived,
    State,
    TextMessage,
)

if TYPE_CHECKING:
    from twisted.internet.interfaces import IReactorTime

    from . import Options
    from .codec import Connection, HandshakeRequest

__all__ = ["WireProtocol"]

_log = Logger(namespace="twisted_ws")

#: Output of at most this many chunks adding up to at least this many bytes
#: is written chunk by chunk instead of joined (see L{WireProtocol._flush}).
_SEPARATE_ITEMS = 16
_SEPARATE_BYTES = 64 * 1024
#: How much a TCP transport reads at once (at most; see connectionMade).
_READ_SIZE = 256 * 1024


class WireProtocol(ConnectionEnding):
    """
    Feeds the codec from the TCP connection and the application from the
    codec.

    @ivar options: the connection's L{Options}.
    @ivar reactor: the L{IReactorTime} its timers use.
    @ivar codec: the codec connection (a subclass builds it in
        L{_buildCodec}).
    @ivar application: the application's protocol, once there is one.
    """

    # Slots rather than an instance dictionary: a server holds one of these
    # per connection, most of them idle, which hold no timers object, no
    # SendFlow and no list of held events (see _timers, _flow, _hold).
    __slots__ = (
        "options",
        "reactor",
        "codec",
        "transport",
        "connected",
        "application",
        "_timers",
        "_sendFlow",
        "_state",
        "_inReceive",
        "_readPaused",
        "_backpressure",
        "_pending",
        "_wantUtf8",
        "_lost",
        "_abortReason",
        "_endAfterFlush",
        "_batched",
        "_stats",
        "_openedAt",
        "_bytesIn",
        "_bytesOut",
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
        self._timers: ConnectionTimers | None = None
        self._sendFlow: SendFlow | None = None
        self._state = State.CONNECTING
        self._inReceive = False
        self._readPaused = False
        self._backpressure = False
        self._pending: Sequence[Any] = ()
        self._wantUtf8 = False
        self._lost = False
        self._abortReason: ConnectionClosed | None = None
        self._endAfterFlush = False
        self._batched = 0
        #: The L{twisted_ws._metrics.ConnectionStats} counted into, if any.
        self._stats: Any = None
        #: When the opening handshake completed (L{None} if it never did).
        self._openedAt: float | None = None
        self._bytesIn = 0
        self._bytesOut = 0

    @property
    def _flow(self) -> SendFlow:
        """The send-side flow control, made on first use."""
        flow = self._sendFlow
        if flow is None:
            flow = self._sendFlow = SendFlow(self)
            if self._lost:
                flow._stopped = True
        return flow

    def _timersToArm(self) -> ConnectionTimers:
        """The connection's timers, made if it has none."""
        return ConnectionTimers.of(self)

    def _buildCodec(self) -> Connection:
        """
        Build the codec connection; called by L{connectionMade}.
        """
        raise NotImplementedError

    def connectionMade(self) -> None:
        self.codec = self._buildCodec()
        transport = self.transport
        register = getattr(transport, "registerProducer", None)
        if register is not None:
            if self.options.tcpNoDelay:
                _setNoDelay(transport)
            # Read in larger pieces than Twisted's 64 KiB, for large
            # messages; the same attribute is Twisted's mark for pausing the
            # producer, and SendFlow compares with writeHighWater itself.
            setReadSize(transport, min(_READ_SIZE, self.options.writeHighWater))
            register(TransportProducer(self), True)
        ConnectionTimers.of(self).connectionMade()

    # Receiving.

    def dataReceived(self, data: bytes) -> None:
        self._bytesIn += len(data)
        self._inReceive = True
        reads = READS
        reads.depth += 1
        codec = self.codec
        try:
            events = codec.receiveData(data)
            if events:
                self._deliver(events)
        finally:
            self._inReceive = False
            reads.depth -= 1
        codec.releaseReceivedText()
        self._flush(True)
        if reads.held and not reads.depth:
            reads.release()

    def _deliver(self, events: Sequence[Any]) -> None:
        """
        Deliver C{events} to the application, holding back those that come
        after it paused reading.
        """
        if self._readPaused:
            self._hold(events)
            return
        app = self.application
        utf8 = self._wantUtf8
        try:
            for event in events:
                cls = event.__class__
                if cls is BytesMessage:
                    app.bytesMessageReceived(event.data)  # type: ignore[union-attr]
                elif cls is TextMessage:
                    if utf8:
                        app.utf8MessageReceived(event.utf8)  # type: ignore[union-attr]
                    else:
                        app.textMessageReceived(event.data)  # type: ignore[union-attr]
                else:
                    self._otherEvent(event)
                    app = self.application
                    utf8 = self._wantUtf8
                if self._readPaused:
                    self._holdAfter(events, event)
                    break
        except Exception:
            self._applicationError(Failure())

    #: Delivers the events held while the application paused reading.  A
    #: connection that counts what it receives counts in L{_deliver}, as
    #: events arrive, and not again here.
    _deliverHeld = _deliver

    def _otherEvent(self, event: Any) -> None:
        cls = event.__class__
        app = self.application
        if cls is Pong:
            timers = self._timers
            if timers is not None:
                timers.pongArrived()
            if app is not None:
                app.pongReceived(event.data)
        elif cls is Ping:
            pingReceived = getattr(app, "pingReceived", None)
            if pingReceived is not None:
                pingReceived(event.data)
        elif cls is ConnectionFailed:
            _log.info(
                "WebSocket peer {peer} broke the protocol: {code} {reason}",
                peer=self._peerText(),
                code=event.code,
                reason=event.reason,
            )
        elif cls is RequestReceived:
            self._requestReceived(event.request)
        elif cls is HandshakeFailed:
            if self._stats is not None:
                self._stats.handshakeFailed(event.status)
            _log.info(
                "WebSocket handshake from {peer} failed: {status} {reason}",
                wsEvent="handshake_failed",
                peer=self._peerText(),
                status=event.status,
                reason=event.reason,
            )
        elif cls is ConnectionOpened:
            self._opened()
        elif cls is not CloseReceived:  # pragma: no cover - a new kind of event
            _log.warn("WebSocket connection ignored an unknown event {event!r}", event=event)

    def _requestReceived(self, request: HandshakeRequest) -> None:
        """
        Server side: the opening request arrived.
        """
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
        self._wantUtf8 = method is not None and method is not WebSocketProtocol.utf8MessageReceived
        if method is None:
            self.codec.decodeText = True
        elif self._wantUtf8:
            self.codec.decodeText = False

    def _opened(self) -> None:
        """
        The opening handshake completed.
        """
        self._openedAt = self.reactor.seconds()
        self._flushState()
        if self._stats is not None:
            self._stats.opened(self.codec.version.label if self.codec.version else "?")
        options = self.options
        if options.logOpenings and options.logConnections:
            emit(
                DEBUG,
                "WebSocket {version} connection with {peer} opened",
                {
                    "wsEvent": "opened",
                    "version": self.codec.version.label if self.codec.version else "?",
                    "peer": self._peerText(),
                    "path": self._pathText(),
                },
            )
        if self.application is not None:
            self.application.negotiationFinished()

    # Writing.

    def _flushState(self) -> None:
        """
        Tell the timers if the codec's state changed since last looked at.
        """
        state = self.codec.state
        if state is not self._state:
            self._state = state
            timers = self._timers
            if timers is None:
                if state is State.CONNECTING or self._lost:
                    return
                timers = ConnectionTimers.of(self)
            timers.stateChanged(state)

    def _flush(self, now: bool = False) -> None:
        """
        Write what the codec queued, and end the TCP connection if the codec
        (or a failure) asks for it.

        @param now: this is the flush at the end of a read (see L{_write}).

        The close frame owed to a peer that closed (or broke the protocol)
        goes out after the replies to the messages that came before it:
        while they are being delivered, or held for an application that
        paused reading, nothing is written (taking the codec's output would
        queue that close frame first).  The close timer bounds that wait.

        """
        codec = self.codec
        self._batched = 0
        if codec.closeAnswerPending and (self._inReceive or self._pending):
            if codec.state is not self._state:
                self._flushState()
            return
        out = codec.chunksToSend()
        ending = codec.shouldCloseTransport or self._endAfterFlush
        if out and not self._lost:
            # Also at once when ending: an empty buffer lets TCP end at once.
            self._bytesOut += _write(self.transport, out, now or self._inReceive)
        if ending:
            # First: ending at once needs no close deadline (nor arms one).
            self._endTransport()
        if codec.state is not self._state:
            self._flushState()

    def _setBackpressure(self, on: bool) -> None:
        """
        Stop (C{on}) or resume reading because the send buffer is full.
        """
        raise NotImplementedError


def _setNoDelay(transport: Any) -> None:
    """
    Turn Nagle's algorithm off on C{transport}'s socket: on the TCP
    transport itself, or on the one under TLS.
    """
    for candidate in (transport, lowerTransport(transport)):
        setTcpNoDelay = getattr(candidate, "setTcpNoDelay", None)
        if setTcpNoDelay is not None:
            try:
                setTcpNoDelay(True)
            except OSError:  # pragma: no cover - a socket that refuses it
                pass
            return


def _write(transport: Any, out: list[bytes], direct: bool) -> int:
    """
    Write the codec's output chunks C{out} to C{transport}.

    Many small frames go in one write.  A few large ones are written one by
    one: the transport would join them anyway, and joining them here first
    would copy every byte once more.

    The replies to what was just received (C{direct}), and large output,
    are handed to the kernel at once where the transport allows
    (L{writeNow}).  Small sends from anywhere else (a timer, another
    connection's message) go through the transport's buffer, which joins
    all of those made in one turn of the reactor into one system call: a
    broadcast of a burst of messages makes one call per connection, not one
    per message.

    @return: how many bytes were written.
    """
    n = len(out)
    if n == 1:
        data = out[0]
        size = len(data)
        if direct or size >= _SEPARATE_BYTES:
            writeNow(transport, data)
        else:
            transport.write(data)
        return size
    if n <= _SEPARATE_ITEMS:
        size = sum(map(len, out))
        if size >= _SEPARATE_BYTES:
            for item in out:
                writeNow(transport, item)
            return size
    joined = b"".join(out)
    if direct:
        writeNow(transport, joined)
    else:
        transport.write(joined)
    return len(joined)
