"""
L{WebSocketConnection}: what the application holds as its C{transport}.
Messages are sent through it, the connection is closed through it, and, as
with any Twisted transport, C{pauseProducing} and C{resumeProducing} stop
and resume the reading, C{registerProducer} attaches the application's
producer, and C{getPeer} and C{getHost} give the addresses.

It is also the byte-level protocol (L{twisted_ws._wire.WireProtocol}) that
the TCP transport drives; the server and client connections derive from it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from twisted.logger import Logger

from ._connectionview import ConnectionView
from ._readscope import READS
from ._wire import WireProtocol
from .codec import ConnectionClosedError, State

if TYPE_CHECKING:
    from twisted.internet.interfaces import IPushProducer, IReactorTime

    from . import Options
    from .codec import PreparedMessage

__all__ = ["WebSocketConnection"]

_log = Logger(namespace="twisted_ws")

#: Inside dataReceived, replies are written in one batch at its end, unless
#: one is larger than this many bytes or characters...
_BATCH_BYTES = 16 * 1024
#: ... or more than this many chunks are queued.
_BATCH_ITEMS = 512


class WebSocketConnection(ConnectionView, WireProtocol):
    """
    One WebSocket connection, server or client: the "WebSocket transport"
    the application sends through, and the byte-level protocol under it.

    A message sent once the peer has closed the connection (its close frame
    arrived and was answered, it broke the protocol, or the TCP connection
    ended) is dropped, as a TCP transport drops late writes; one sent after
    the application itself called L{loseConnection} raises
    L{twisted_ws.codec.ConnectionClosedError}.

    @ivar version: the protocol L{Version}, once known.
    @ivar subprotocol: the negotiated subprotocol or L{None}.
    @ivar extensions: the negotiated extensions.
    @ivar codec: the codec connection.
    """

    __slots__ = ("_closedByApp",)

    def __init__(self, options: Options, reactor: IReactorTime) -> None:
        super().__init__(options, reactor)
        self._closedByApp = False

    # What the connection is (version, subprotocol, extensions, isOpen,
    # getPeer, getHost): from ConnectionView.

    # Sending.

    def sendTextMessage(self, text: str | bytes) -> None:
        """
        Send a text message.

        @param text: the text, or its UTF-8 bytes, such as those given to
            L{WebSocketProtocol.utf8MessageReceived}.  Bytes are checked to
            be valid UTF-8, except those of a long message received in the
            data being handled, which were checked on arrival.
        @raise LocalProtocolError: the connection is not open yet, C{text}
            is bytes that are not valid UTF-8, or the application closed
            the connection already.
        """
        codec = self.codec
        try:
            codec.sender.sendText(text)
        except ConnectionClosedError as e:
            return self._sendRefused(e)
        # Inside dataReceived replies are batched into one write, unless they
        # pile up: then the transport must see them to apply back-pressure.
        # (A count of our own: codec.queuedChunkCount, a property, costs
        # more per message.)  So are sends made while another connection
        # handles a read (a broadcast): see twisted_ws._readscope.
        if len(text) <= _BATCH_BYTES and (self._inReceive or READS.holding(self)):
            batched = self._batched + 1
            if batched <= _BATCH_ITEMS:
                self._batched = batched
                return
        self._flush()

    def sendBytesMessage(self, data: bytes) -> None:
        """
        Send a binary message.

        @raise LocalProtocolError: the connection is not open yet, speaks a
            hixie version (which has no binary messages), or the
            application closed it already.
        """
        codec = self.codec
        try:
            codec.sender.sendBinary(data)
        except ConnectionClosedError as e:
            return self._sendRefused(e)
        if len(data) <= _BATCH_BYTES and (self._inReceive or READS.holding(self)):
            batched = self._batched + 1
            if batched <= _BATCH_ITEMS:
                self._batched = batched
                return
        self._flush()

    def sendPreparedMessage(self, message: PreparedMessage) -> None:
        """
        Send a L{PreparedMessage}: a message framed once for many
        connections, as a broadcast does.
        """
        try:
            self.codec.sendPreparedMessage(message)
        except ConnectionClosedError as e:
            return self._sendRefused(e)
        if len(message.data) <= _BATCH_BYTES and (self._inReceive or READS.holding(self)):
            batched = self._batched + 1
            if batched <= _BATCH_ITEMS:
                self._batched = batched
                return
        self._flush()

    def ping(self, payload: bytes = b"") -> None:
        """
        Send a ping.

        @raise LocalProtocolError: not open, payload over 125 bytes, or a
            hixie connection.
        """
        try:
            self.codec.ping(payload)
        except ConnectionClosedError as e:
            return self._sendRefused(e)
        if self._inReceive:
            batched = self._batched + 1
            if batched <= _BATCH_ITEMS:
                self._batched = batched
                return
        self._flush()

    def _sendRefused(self, error: ConnectionClosedError) -> None:
        """
        The codec can no longer send.  After the application's own
        L{loseConnection} that is its mistake, and raises; otherwise the
        peer closed first, and the message is dropped.
        """
        if self._closedByApp:
            raise error
        _log.debug(
            "WebSocket connection with {peer} dropped a message sent after the peer closed",
            peer=self._peerText(),
        )

    def loseConnection(self, code: int = 1000, reason: str = "") -> None:
        """
        Close the connection: start the closing handshake with C{code} and
        C{reason} (or answer the peer's) and end the TCP connection when it
        completes or the close timeout passes.  During the opening
        handshake this drops the connection.
        """
        codec = self.codec
        state = codec.state
        if state is State.OPEN or state is State.REMOTE_CLOSING:
            codec.close(code, reason)
            self._closedByApp = True
        elif state is State.CONNECTING:
            codec.close()
            self._closedByApp = True
        elif self.transport is not None:
            return
        if not self._inReceive:
            self._flush()

    # Reading, as a Twisted transport (IPushProducer) pauses it.

    def pauseProducing(self) -> None:
        """
        Stop reading from the peer (the application is slow); messages
        already parsed wait until L{resumeProducing}.
        """
        if not self._readPaused:
            self._readPaused = True
            if not self._backpressure and not self._lost:
                self.transport.pauseProducing()

    def resumeProducing(self) -> None:
        """
        Deliver the messages held since L{pauseProducing} and read from the
        peer again.
        """
        if not self._readPaused:
            return
        self._readPaused = False
        pending, self._pending = self._pending, []
        if pending:
            self._inReceive = True
            try:
                self._deliverHeld(pending)
            finally:
                self._inReceive = False
            self._flush(True)
        if not (self._readPaused or self._backpressure or self._lost):
            if not self.codec.shouldCloseTransport:
                self.transport.resumeProducing()

    def stopProducing(self) -> None:
        """
        Close the connection, as C{stopProducing} on a Twisted transport
        does.
        """
        self.loseConnection()

    #: The former names of L{pauseProducing} and L{resumeProducing}.
    pauseReading = pauseProducing
    resumeReading = resumeProducing

    def _setBackpressure(self, on: bool) -> None:
        """
        Stop (C{on}) or resume reading because the send buffer is full.
        """
        if on is self._backpressure or self._lost:
            return
        self._backpressure = on
        if self._readPaused:
            return
        if on:
            self.transport.pauseProducing()
        elif not self.codec.shouldCloseTransport:
            self.transport.resumeProducing()

    # The application's producers (IConsumer).

    @property
    def bufferedAmount(self) -> int:
        """
        Bytes written but not yet handed to the kernel: in the TCP
        transport's buffer and, under TLS, in the TLS layer's.
        """
        return self._flow.bufferedAmount()

    @property
    def writePaused(self) -> bool:
        """
        Whether the transport's send buffer is above its high-water mark.
        """
        return self._flow.paused

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        """
        Attach a producer.  A push producer (C{streaming} true) is paused
        while the send buffer is above C{Options.writeHighWater} and
        resumed once it is down to C{Options.writeLowWater}; a pull
        producer is asked for more with C{resumeProducing} each time the
        send buffer is below C{Options.writeHighWater}.

        @raise RuntimeError: a producer is attached already.
        """
        self._flow.attach(producer, streaming)

    def unregisterProducer(self) -> None:
        """
        Detach the producer attached with L{registerProducer}.
        """
        self._flow.detach()

    def attachProducer(self, producer: IPushProducer) -> None:
        """
        Attach a push producer: the same as C{registerProducer(producer,
        True)}.
        """
        self._flow.attach(producer, True)

    def detachProducer(self) -> None:
        """
        The same as L{unregisterProducer}.
        """
        self._flow.detach()
