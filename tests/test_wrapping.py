"""
Tests for L{twisted_ws.WrappingWebSocketFactory}: stream protocols served
over WebSocket.
"""

from twisted.internet.error import ConnectionDone
from twisted.internet.protocol import Factory
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.protocols.basic import LineReceiver
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from twisted_ws import CleanClose, LocalProtocolError, WrappingWebSocketFactory
from twisted_ws.codec import BinaryMessage, ClientConnection, CloseReceived, TextMessage, Version


class Upper(LineReceiver):
    """
    Answers each line with the line in capitals.
    """

    lost = None

    def lineReceived(self, line: bytes) -> None:
        if line == b"quit":
            self.transport.loseConnection()
        else:
            self.sendLine(line.upper())

    def connectionLost(self, reason):
        Upper.lost = reason


def _connect(version: Version):
    factory = WrappingWebSocketFactory(Factory.forProtocol(Upper), reactor=Clock())
    server = factory.buildProtocol(None)
    transport = StringTransport()
    server.makeConnection(transport)
    client = ClientConnection("example.com", "/", version=version)
    server.dataReceived(client.dataToSend())
    client.receiveData(transport.value())
    transport.clear()
    return server, transport, client


class WrappingTests(SynchronousTestCase):
    """
    A L{LineReceiver} served over WebSocket.
    """

    def test_binaryMessagesFeedTheStreamProtocol(self) -> None:
        """
        Binary messages are fed to the wrapped protocol and its writes come
        back as binary messages.
        """
        server, transport, client = _connect(Version.RFC6455)
        client.sendBinary(b"hel")
        client.sendBinary(b"lo\r\nworld\r\n")
        server.dataReceived(client.dataToSend())
        events = client.receiveData(transport.value())
        self.assertEqual(events, [BinaryMessage(b"HELLO\r\n"), BinaryMessage(b"WORLD\r\n")])

    def test_hixieUsesTextMessages(self) -> None:
        """
        On hixie connections, which have no binary messages, the wrapped
        protocol's writes are sent as text.
        """
        for version in (Version.HIXIE75, Version.HIXIE76):
            server, transport, client = _connect(version)
            client.sendText("abc\r\n")
            server.dataReceived(client.dataToSend())
            self.assertEqual(client.receiveData(transport.value()), [TextMessage("ABC\r\n")])

    def test_writeAfterPeerClosedIsDropped(self) -> None:
        """
        What the wrapped protocol writes once the peer started the closing
        handshake is dropped, as a TCP transport drops writes after it
        closed, instead of raising into the wrapped protocol.
        """
        server, transport, client = _connect(Version.RFC6455)
        client.close(1001, "going away")
        server.dataReceived(client.dataToSend())
        transport.clear()
        wrapped = server.application.wrapped
        wrapped.transport.write(b"late\r\n")
        wrapped.transport.writeSequence([b"la", b"ter\r\n"])
        self.assertEqual(transport.value(), b"")

    def test_repliesBeforePeerCloseSent(self) -> None:
        """
        The wrapped protocol's answers to the messages that arrived in the
        same read as the peer's close frame go out before the close frame
        that answers it.
        """
        for version in (Version.RFC6455, Version.HIXIE76):
            server, transport, client = _connect(version)
            client.sendText("one\r\n")
            client.sendText("two\r\n")
            client.close(1000)
            server.dataReceived(client.dataToSend())
            events = client.receiveData(transport.value())
            self.assertEqual(b"".join(e.utf8 if isinstance(e, TextMessage) else e.data
                                      for e in events[:-1]), b"ONE\r\nTWO\r\n", version)
            self.assertIsInstance(events[-1], CloseReceived, version)

    def test_hixieRefusesBytesThatAreNotText(self) -> None:
        """
        On a hixie connection a write that is not UTF-8 cannot become a text
        message: it raises L{LocalProtocolError} and nothing is sent.
        """
        server, transport, client = _connect(Version.HIXIE76)
        wrapped = server.application.wrapped
        self.assertRaises(LocalProtocolError, wrapped.transport.write, b"\xff\xfe")
        self.assertEqual(transport.value(), b"")

    def test_loseConnectionClosesNormally(self) -> None:
        """
        The wrapped protocol's loseConnection starts a normal (1000) closing
        handshake, and its connectionLost gets a clean close.
        """
        server, transport, client = _connect(Version.RFC6455)
        client.sendBinary(b"quit\r\n")
        server.dataReceived(client.dataToSend())
        events = client.receiveData(transport.value())
        self.assertEqual(len(events), 1)
        self.assertEqual(events[0].code, 1000)
        server.dataReceived(client.dataToSend())
        self.assertTrue(transport.disconnecting)
        server.connectionLost(Failure(ConnectionDone()))
        self.assertIsInstance(Upper.lost.value, CleanClose)
