"""
Serve any Twisted stream protocol (a L{LineReceiver}, an AMP server, ...)
over WebSocket: each message received is fed to its C{dataReceived}, and
each write it makes is sent as a message.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from twisted.internet import interfaces
from twisted.internet.protocol import Factory
from twisted.python.failure import Failure
from zope.interface import implementer

from . import Options
from ._protocol import WebSocketProtocol, WebSocketServerFactory

__all__ = ["WrappingWebSocketFactory", "MessageTransport"]


@implementer(interfaces.ITransport, interfaces.IConsumer, interfaces.IPushProducer)
class MessageTransport:
    """
    The transport a wrapped stream protocol writes to: every write becomes
    one WebSocket message (binary, or text on hixie connections, which have
    no binary messages).

    @ivar bridge: the L{WebSocketProtocol} that carries the messages.
    """

    disconnecting = False

    def __init__(self, bridge: _StreamBridge) -> None:
        self.bridge = bridge

    def write(self, data: bytes) -> None:
        """
        Send C{data} as one message.  As with a TCP transport, what is
        written once the connection is closing is dropped (replies to the
        messages that arrived before the peer's close still go out).

        @raise LocalProtocolError: on a hixie connection, C{data} is not
            UTF-8, so it cannot be sent as text.
        """
        transport = self.bridge.transport
        if not data or self.disconnecting:
            return
        if transport.version.isHixie:
            transport.sendTextMessage(data)
        else:
            transport.sendBytesMessage(data)

    def writeSequence(self, data: Iterable[bytes]) -> None:
        """
        Send the pieces of C{data} as one message.
        """
        self.write(b"".join(data))

    def loseConnection(self) -> None:
        """
        Close the WebSocket connection normally (1000).
        """
        if not self.disconnecting:
            self.disconnecting = True
            self.bridge.transport.loseConnection(1000)

    def abortConnection(self) -> None:
        """
        Drop the underlying TCP connection at once.
        """
        self.disconnecting = True
        self.bridge.transport.transport.abortConnection()

    def getPeer(self) -> Any:
        return self.bridge.transport.getPeer()

    def getHost(self) -> Any:
        return self.bridge.transport.getHost()

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        """
        Attach a push producer, paused while the socket's send buffer is full.
        """
        if not streaming:
            raise ValueError("only streaming (push) producers are supported")
        self.bridge.transport.attachProducer(producer)

    def unregisterProducer(self) -> None:
        self.bridge.transport.detachProducer()

    def pauseProducing(self) -> None:
        """
        Stop reading from the peer.
        """
        self.bridge.transport.pauseReading()

    def resumeProducing(self) -> None:
        """
        Read from the peer again.
        """
        self.bridge.transport.resumeReading()

    def stopProducing(self) -> None:
        self.loseConnection()


class _StreamBridge(WebSocketProtocol):
    """
    The application protocol that runs a wrapped stream protocol.
    """

    wrapped: Any = None

    def negotiationFinished(self) -> None:
        factory: WrappingWebSocketFactory = self.factory
        wrapped = factory.wrappedFactory.buildProtocol(self.transport.getPeer())
        if wrapped is None:
            self.transport.loseConnection(1008, "connection refused")
            return
        self.wrapped = wrapped
        wrapped.makeConnection(MessageTransport(self))

    def textMessageReceived(self, message: str) -> None:
        if self.wrapped is not None:
            self.wrapped.dataReceived(message.encode("utf-8"))

    def bytesMessageReceived(self, data: bytes) -> None:
        if self.wrapped is not None:
            self.wrapped.dataReceived(data)

    def connectionLost(self, reason: Failure) -> None:
        if self.wrapped is not None:
            wrapped, self.wrapped = self.wrapped, None
            wrapped.connectionLost(reason)


class WrappingWebSocketFactory(WebSocketServerFactory):
    """
    Serve the protocols of C{wrappedFactory} over WebSocket::

        factory = WrappingWebSocketFactory(Factory.forProtocol(MyLineReceiver))
        serverFromString(reactor, "tcp:8080").listen(factory)

    Messages received are fed, one by one, to the wrapped protocol's
    C{dataReceived}; each write it makes goes out as one message.  The
    wrapped protocol's C{connectionLost} gets the WebSocket close reason.

    @ivar wrappedFactory: the stream protocol's factory.
    """

    protocol = _StreamBridge

    def __init__(self, wrappedFactory: Factory, options: Options | None = None, reactor: Any = None) -> None:
        super().__init__(_StreamBridge, options, reactor)
        self.wrappedFactory = wrappedFactory

    def startFactory(self) -> None:
        self.wrappedFactory.doStart()

    def stopFactory(self) -> None:
        self.wrappedFactory.doStop()
