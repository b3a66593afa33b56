"""
Tests for L{twisted_ws.codec.PreparedMessage}: a broadcast framed, and
compressed, once per distinct encoding rather than once per connection.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from twisted_ws.codec import (
    BytesMessage,
    ClientConnection,
    ConnectionOpened,
    LocalProtocolError,
    Options,
    PerMessageDeflate,
    PreparedMessage,
    RequestReceived,
    ServerConnection,
    TextMessage,
    Version,
)


def pair(serverOptions: Options, clientOptions: Options, version: Version = Version.RFC6455):
    """
    A client and a server after a real opening handshake.
    """
    client = ClientConnection("example.com", "/", version=version, options=clientOptions)
    server = ServerConnection(serverOptions)
    assert [type(e) for e in server.receiveData(client.dataToSend())] == [RequestReceived]
    server.accept()
    assert [type(e) for e in client.receiveData(server.dataToSend())] == [ConnectionOpened]
    return client, server


PLAIN = Options()
SHARED = Options(extensions=(PerMessageDeflate(serverNoContextTakeover=True),))
OWN = Options(extensions=(PerMessageDeflate(),))
OFFER = Options(extensions=(PerMessageDeflate(),))
MESSAGE = '{"type": "chat", "text": "' + "hello, everybody " * 20 + '"}'


class SharedEncodingTests(SynchronousTestCase):
    """
    Connections with the same shareable setting take one encoded frame.
    """

    def test_compressedOncePerSetting(self) -> None:
        """
        Ten connections without server context takeover and ten plain ones
        cost two encodings in all; every client reads the message.
        """
        prepared = PreparedMessage(MESSAGE)
        pairs = [pair(SHARED, OFFER) for _ in range(10)] + [pair(PLAIN, PLAIN) for _ in range(10)]
        for client, server in pairs:
            server.sendPreparedMessage(prepared)
            self.assertEqual(client.receiveData(server.dataToSend()), [TextMessage(MESSAGE)])
        self.assertEqual(prepared.encodings, 2)

    def test_compressedFrameIsSmaller(self) -> None:
        """
        The shared frame is compressed (RSV1 set, far shorter than the
        text), and the same bytes go to every such connection.
        """
        prepared = PreparedMessage(MESSAGE)
        sent = []
        for _ in range(3):
            client, server = pair(SHARED, OFFER)
            server.sendPreparedMessage(prepared)
            sent.append(server.dataToSend())
        self.assertEqual(len(set(sent)), 1)
        self.assertEqual(sent[0][0], 0xC1)
        self.assertLess(len(sent[0]), len(MESSAGE) // 4)

    def test_contextTakeoverEncodesItself(self) -> None:
        """
        A connection that compresses with context takeover encodes the
        message with its own compressor (the prepared frames are not used),
        and its later messages still decode.
        """
        prepared = PreparedMessage(MESSAGE)
        client, server = pair(OWN, OFFER)
        for _ in range(3):
            server.sendPreparedMessage(prepared)
        server.sendTextMessage(MESSAGE)
        self.assertEqual(client.receiveData(server.dataToSend()), [TextMessage(MESSAGE)] * 4)
        self.assertEqual(prepared.encodings, 0)

    def test_binary(self) -> None:
        """
        A binary prepared message is compressed once too.
        """
        data = bytes(range(256)) * 8
        prepared = PreparedMessage(data)
        for _ in range(3):
            client, server = pair(SHARED, OFFER)
            server.sendPreparedMessage(prepared)
            self.assertEqual(client.receiveData(server.dataToSend()), [BytesMessage(data)])
        self.assertEqual(prepared.encodings, 1)

    def test_clientEncodesItself(self) -> None:
        """
        A client masks every frame, so it never takes a prepared frame.
        """
        prepared = PreparedMessage("to the server")
        client, server = pair(PLAIN, PLAIN)
        client.sendPreparedMessage(prepared)
        self.assertEqual(server.receiveData(client.dataToSend()), [TextMessage("to the server")])
        self.assertEqual(prepared.encodings, 0)

    def test_hixieBinaryRefused(self) -> None:
        """
        A binary prepared message cannot go to a hixie connection.
        """
        client, server = pair(PLAIN, PLAIN, Version.HIXIE76)
        self.assertRaises(LocalProtocolError, server.sendPreparedMessage, PreparedMessage(b"x"))
        server.sendPreparedMessage(PreparedMessage("text"))
        self.assertEqual(client.receiveData(server.dataToSend()), [TextMessage("text")])
