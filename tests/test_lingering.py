"""
Tests for the lingering close: a server connection that ends without a
closing handshake (a peer error, a refused request) ends its sending side
and reads until the peer ends its own, so that the kernel does not reset a
connection whose peer is still sending, and the peer reads the close frame
or the error response that says why.
"""

from __future__ import annotations

import socket
import struct
from typing import Any

from twisted.internet import defer, reactor, threads
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase

from twisted_ws import Options, Version, WebSocketProtocol, WebSocketServerFactory
from twisted_ws.codec import ClientConnection, CloseReceived, ConnectionOpened

from ._support.codec import RFC_MASK
from ._support.layer import Peer, Recorder
from ._support.waiting import waitFor

LIMIT = 1000


class HalfClosingTransport(StringTransport):
    """
    A L{StringTransport} that, like a TCP transport, can end its sending
    side alone.

    @ivar writeDisconnecting: whether C{loseWriteConnection} was called.
    """

    writeDisconnecting = False

    def loseWriteConnection(self) -> None:
        self.writeDisconnecting = True


def oversizedHeader(length: int) -> bytes:
    """
    The header of a masked binary frame of C{length} bytes (over 65535).
    """
    return bytes([0x82, 0x80 | 127]) + struct.pack("!Q", length) + RFC_MASK


class LingeringTests(SynchronousTestCase):
    """
    How a server connection ends its TCP connection, over a transport that
    can half-close.
    """

    def openPeer(self, **kw: Any) -> Peer:
        options = Options(maxMessageSize=LIMIT, maxFrameSize=LIMIT, logConnections=False, **kw)
        peer = Peer(Version.RFC6455, options=options, transportFactory=HalfClosingTransport)
        self.assertIsInstance(peer.handshake()[0], ConnectionOpened)
        return peer

    def test_peerErrorLingers(self) -> None:
        """
        After a frame over the limit, the server sends its 1009 close frame
        and ends only its sending side; what the peer still sends is read
        and dropped; the connection ends when the peer ends its side, and
        the application learns of the 1009 close.
        """
        peer = self.openPeer()
        peer.send(oversizedHeader(100_000) + b"x" * 500)
        self.assertEqual(peer.receive(), [CloseReceived(1009, peer.events[-1].reason)])
        self.assertTrue(peer.transport.writeDisconnecting)
        self.assertFalse(peer.transport.disconnecting)
        peer.send(b"x" * 5000)
        self.assertEqual(peer.transport.value(), b"")
        self.assertFalse(peer.transport.disconnecting)
        peer.lose()
        self.assertEqual(peer.app.lostReason().code, 1009)

    def test_closeTimeoutBoundsLingering(self) -> None:
        """
        A peer that never ends its side is dropped after the close timeout.
        """
        peer = self.openPeer(closeTimeout=2.0)
        aborted: list[bool] = []
        peer.transport.abortConnection = lambda: aborted.append(True)  # type: ignore[attr-defined]
        peer.send(oversizedHeader(100_000))
        peer.clock.advance(1.9)
        self.assertEqual(aborted, [])
        peer.clock.advance(0.2)
        self.assertEqual(aborted, [True])

    def test_refusedRequestLingers(self) -> None:
        """
        A malformed opening request is answered with 400 and the connection
        lingers the same way.
        """
        server = WebSocketServerFactory(Recorder, Options(logConnections=False)).buildProtocol(None)
        transport = HalfClosingTransport()
        server.makeConnection(transport)
        server.dataReceived(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n")
        self.assertTrue(transport.value().startswith(b"HTTP/1.1 400 "))
        self.assertTrue(transport.writeDisconnecting)
        self.assertFalse(transport.disconnecting)
        server.connectionLost(Failure(Exception("peer ended")))

    def test_cleanCloseDoesNotLinger(self) -> None:
        """
        After a closing handshake the peer sends nothing more: the whole
        TCP connection ends at once.
        """
        peer = self.openPeer()
        peer.client.close(1000, "bye")
        peer.flush()
        self.assertIn(CloseReceived(1000, ""), peer.receive())
        self.assertTrue(peer.transport.disconnecting)
        self.assertFalse(peer.transport.writeDisconnecting)


# Over real TCP.

TIMEOUT = 10.0


def _sendTooMuch(port: int) -> tuple[list[Any], bytes]:
    """
    Open a WebSocket to the server on C{port}, send the start of a message
    over the limit, read until the server's end of TCP, then send more and
    read again.

    @return: the client's events, and what the last read gave.
    """
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    try:
        client = ClientConnection(f"127.0.0.1:{port}", "/", version=Version.RFC6455)
        sock.sendall(client.dataToSend())
        events: list[Any] = []
        while not events:
            events.extend(client.receiveData(sock.recv(65536)))
        sock.sendall(oversizedHeader(1 << 20) + b"x" * 200_000)
        while True:
            data = sock.recv(65536)
            if not data:
                break
            events.extend(client.receiveData(data))
        # The server ended its side; its side of the connection still reads
        # (a closed socket would answer these bytes with a reset).
        sock.sendall(b"x" * 1000)
        try:
            last = sock.recv(65536)
        except ConnectionResetError as e:
            last = repr(e).encode()
        return events, last
    finally:
        sock.close()


class LingeringTCPTests(TestCase):
    """
    The lingering close over real TCP.
    """

    @defer.inlineCallbacks
    def test_noReset(self) -> Any:
        """
        A client that sent part of a message over the limit reads the 1009
        close frame and the end of TCP, may still send, is not reset, and
        the server's connection ends when the client closes.
        """
        lost: list[Any] = []

        class App(WebSocketProtocol):
            def connectionLost(self, reason: Failure) -> None:
                lost.append(reason.value)

        factory = WebSocketServerFactory(
            App, Options(maxMessageSize=LIMIT, maxFrameSize=LIMIT, logConnections=False)
        )
        port = reactor.listenTCP(0, factory, interface="127.0.0.1")  # type: ignore[attr-defined]
        self.addCleanup(port.stopListening)
        events, last = yield threads.deferToThread(_sendTooMuch, port.getHost().port)
        self.assertIsInstance(events[0], ConnectionOpened)
        self.assertEqual([e.code for e in events if isinstance(e, CloseReceived)], [1009])
        self.assertEqual(last, b"")
        yield waitFor(self, lambda: bool(lost), "the server connection to end", TIMEOUT)
        self.assertEqual(lost[0].code, 1009)
