"""
When a WebSocket connection's output reaches the kernel: the replies to a
read, and large messages, at once; small sends made anywhere else joined by
the transport into one system call per turn of the reactor.  Over real TCP
connections on loopback.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import defer, endpoints, protocol, reactor
from twisted.trial.unittest import TestCase

from twisted_ws import WebSocketProtocol, WebSocketServerFactory
from twisted_ws._twistedinternals import sendBufferSize
from twisted_ws.codec import BinaryMessage, ClientConnection, ConnectionOpened

#: A message the server answers with a burst of this many small messages,
#: sent from a timer.
BURST = 10
#: The size of the message the server sends from a timer on b"large".
LARGE = 256 * 1024


class App(WebSocketProtocol):
    """
    Echoes binary messages; b"burst" and b"large" make it send from a timer
    instead, recording how much waited in the TCP transport's buffer right
    after it sent.
    """

    def bytesMessageReceived(self, data: bytes) -> None:
        if data == b"burst":
            reactor.callLater(0, self.burst)
        elif data == b"large":
            reactor.callLater(0, self.large)
        else:
            self.sendBytesMessage(data)

    def burst(self) -> None:
        for i in range(BURST):
            self.sendBytesMessage(b"%d" % (i,))
        self.factory.buffered.append(sendBufferSize(self.transport.transport))

    def large(self) -> None:
        self.sendBytesMessage(b"x" * LARGE)
        self.factory.buffered.append(sendBufferSize(self.transport.transport))


class Factory(WebSocketServerFactory):
    """
    Records, after each read of each connection, how much of the reply
    waited in the TCP transport's buffer.
    """

    def __init__(self) -> None:
        super().__init__(App)
        self.buffered: list[int] = []
        self.afterReads: list[int] = []
        self.lostAfterReads: list[bool] = []
        self.built: list[Any] = []

    def buildProtocol(self, addr: Any) -> Any:
        connection = super().buildProtocol(addr)
        self.built.append(connection)
        dataReceived = connection.dataReceived
        factory = self

        def recording(data: bytes) -> None:
            dataReceived(data)
            factory.lostAfterReads.append(connection._lost)
            if connection.transport is not None and connection.application is not None:
                factory.afterReads.append(sendBufferSize(connection.transport))

        connection.dataReceived = recording  # type: ignore[method-assign]
        return connection


class Client(protocol.Protocol):
    """
    A WebSocket client on the codec, which collects binary messages.
    """

    def __init__(self) -> None:
        self.codec = ClientConnection("127.0.0.1", "/")
        self.opened: defer.Deferred[None] = defer.Deferred()
        self.messages: list[bytes] = []
        self.waiting: tuple[int, defer.Deferred[list[bytes]]] | None = None
        self.lost: defer.Deferred[Any] = defer.Deferred()
        self.received = b""

    def connectionLost(self, reason: Any = protocol.connectionDone) -> None:
        # A Failure given to callback would fire the errbacks.
        self.lost.callback([reason])

    def connectionMade(self) -> None:
        self.transport.write(self.codec.dataToSend())

    def dataReceived(self, data: bytes) -> None:
        self.received += data
        for event in self.codec.receiveData(data):
            if isinstance(event, ConnectionOpened):
                self.opened.callback(None)
            elif isinstance(event, BinaryMessage):
                self.messages.append(event.data)
        out = self.codec.dataToSend()
        if out:
            self.transport.write(out)
        if self.waiting is not None and len(self.messages) >= self.waiting[0]:
            d = self.waiting[1]
            self.waiting = None
            d.callback(self.messages)

    def send(self, data: bytes, answers: int) -> defer.Deferred[list[bytes]]:
        """
        Send C{data}; fire with every message received once there are
        C{answers} more of them.
        """
        d: defer.Deferred[list[bytes]] = defer.Deferred()
        self.waiting = (len(self.messages) + answers, d)
        self.codec.sendBinary(data)
        self.transport.write(self.codec.dataToSend())
        return d


class WriteTimingTests(TestCase):
    timeout = 60

    async def connect(self) -> tuple[Factory, Client]:
        factory = Factory()
        port = await endpoints.TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(factory)
        self.addCleanup(port.stopListening)
        client = Client()
        await endpoints.connectProtocol(
            endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port), client
        )
        self.addCleanup(client.transport.abortConnection)
        await client.opened
        return factory, client

    async def test_repliesGoAtOnce(self) -> None:
        """
        The reply to a message is in the kernel when the read that carried
        the message has been handled: nothing waits for the reactor's next
        turn.
        """
        factory, client = await self.connect()
        del factory.afterReads[:]
        self.assertEqual(await client.send(b"ping", 1), [b"ping"])
        self.assertTrue(factory.afterReads, "no read was recorded")
        self.assertEqual(set(factory.afterReads), {0})

    async def test_burstFromATimerIsJoined(self) -> None:
        """
        Small messages sent outside a read wait in the transport's buffer,
        which sends all of them in one call, and the client gets all of
        them in order.
        """
        factory, client = await self.connect()
        messages = await client.send(b"burst", BURST)
        self.assertEqual(messages, [b"%d" % (i,) for i in range(BURST)])
        # Each frame: two bytes of header and the digit.
        self.assertEqual(factory.buffered, [BURST * 3])

    async def test_largeMessageFromATimerGoesAtOnce(self) -> None:
        """
        A large message sent outside a read goes to the kernel at once (as
        far as it takes it), and arrives whole.
        """
        factory, client = await self.connect()
        messages = await client.send(b"large", 1)
        self.assertEqual(messages, [b"x" * LARGE])
        (waiting,) = factory.buffered
        self.assertLess(waiting, LARGE)

    async def test_closeEndsAtOnce(self) -> None:
        """
        After a closing handshake the server ends TCP within the read that
        carried the peer's close frame, not a turn of the reactor later:
        its connection is lost when that read has been handled, and the
        client gets the close frame and then the end of the stream, cleanly.
        """
        from twisted.internet.error import ConnectionDone

        factory, client = await self.connect()
        del factory.lostAfterReads[:]
        client.received = b""
        client.codec.close(1000, "bye")
        client.transport.write(client.codec.dataToSend())
        (reason,) = await client.lost
        self.assertEqual(factory.lostAfterReads, [True])
        # Nothing is left to time: no timers object outlives the connection.
        self.assertIsNone(factory.built[-1]._timers)
        self.assertTrue(reason.check(ConnectionDone), reason)
        # The server's close frame: FIN and opcode 8, and the code echoed.
        self.assertEqual(client.received, b"\x88\x02\x03\xe8")
