"""
Tests for the framing of hixie-75 and hixie-76 in L{twisted_ws.codec}: text
frames, discarded length-prefixed frames, hixie-76's closing handshake,
UTF-8 validation and size limits.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from twisted_ws.codec import (
    ClientConnection,
    CloseReceived,
    ConnectionFailed,
    LocalProtocolError,
    Options,
    PeerError,
    State,
    TextMessage,
    Version,
)

from ._support.codec import (
    DEFAULT_OPTIONS,
    HIXIE75_RESPONSE,
    assertClosedCleanly,
    feed,
    hixie76ServerAnswer,
    openPair,
    openServer,
    splits,
)

HIXIE_VERSIONS = (Version.HIXIE75, Version.HIXIE76)


def openHixieClient(version: Version, options: Options = DEFAULT_OPTIONS) -> ClientConnection:
    """
    A hixie client connection of C{version} in state OPEN.
    """
    client = ClientConnection("example.com", "/demo", version=version, options=options)
    request = client.dataToSend()
    if version is Version.HIXIE75:
        response = HIXIE75_RESPONSE
    else:
        response = (
            b"HTTP/1.1 101 WebSocket Protocol Handshake\r\n"
            b"Upgrade: WebSocket\r\n"
            b"Connection: Upgrade\r\n"
            b"Sec-WebSocket-Origin: http://example.com\r\n"
            b"Sec-WebSocket-Location: ws://example.com/demo\r\n"
            b"\r\n" + hixie76ServerAnswer(request)
        )
    client.receiveData(response)
    assert client.state is State.OPEN
    return client


def hixieReceivers(options: Options = DEFAULT_OPTIONS):
    """
    For each role and hixie version: a description and a function making an
    open connection.
    """
    for version in HIXIE_VERSIONS:
        yield f"server {version.label}", lambda v=version: openServer(v, options)
        yield f"client {version.label}", lambda v=version: openHixieClient(v, options)


class TextFrameTests(SynchronousTestCase):
    """
    Text frames, C{00 <UTF-8> FF}, in both directions.
    """

    def test_sendText(self) -> None:
        """
        Both roles send a text message as C{00 <UTF-8> FF}, unmasked.
        """
        for version in HIXIE_VERSIONS:
            client, server = openPair(version)
            for conn in (client, server):
                conn.sendTextMessage("Hello")
                conn.sendTextMessage("é")
                conn.sendTextMessage("")
                self.assertEqual(conn.dataToSend(), b"\x00Hello\xff\x00\xc3\xa9\xff\x00\xff")

    def test_receiveText(self) -> None:
        """
        Text frames are received in any split, in both roles.
        """
        data = b"\x00Hello\xff\x00\xff\x00w\xc3\xb6rld\xff"
        for label, make in hixieReceivers():
            for chunks in splits(data):
                conn = make()
                self.assertEqual(
                    feed(conn, chunks),
                    [TextMessage("Hello"), TextMessage(""), TextMessage("wörld")],
                    label,
                )
                self.assertIs(conn.state, State.OPEN)

    def test_roundTrip(self) -> None:
        """
        Messages sent by a hixie client reach a hixie server and back.
        """
        for version in HIXIE_VERSIONS:
            client, server = openPair(version)
            client.sendTextMessage("ping ✓")
            [event] = server.receiveData(client.dataToSend())
            server.sendTextMessage(event.data)
            self.assertEqual(client.receiveData(server.dataToSend()), [TextMessage("ping ✓")])

    def test_lengthPrefixedFramesDiscarded(self) -> None:
        """
        Frames whose type has the high bit set carry a base-128 length and are
        discarded, in any split.
        """
        data = (
            b"\x80\x03abc"
            + b"\x00one\xff"
            + b"\x80\x81\x00"
            + b"z" * 128
            + b"\x82\x00"
            + b"\x00two\xff"
        )
        for label, make in hixieReceivers():
            for chunks in splits(data):
                conn = make()
                self.assertEqual(
                    feed(conn, chunks), [TextMessage("one"), TextMessage("two")], label
                )
                self.assertIs(conn.state, State.OPEN)

    def test_otherTextFrameTypesDiscarded(self) -> None:
        """
        Sentinel-terminated frames of a type other than 00 are discarded.
        """
        for label, make in hixieReceivers():
            conn = make()
            self.assertEqual(
                conn.receiveData(b"\x05ignored\xff\x00kept\xff"), [TextMessage("kept")], label
            )

    def test_noBinaryOrControlFrames(self) -> None:
        """
        Sending binary, pings or pongs on hixie raises L{LocalProtocolError}.
        """
        for version in HIXIE_VERSIONS:
            for conn in openPair(version):
                self.assertRaises(LocalProtocolError, conn.sendBytesMessage, b"x")
                self.assertRaises(LocalProtocolError, conn.ping, b"")
                self.assertRaises(LocalProtocolError, conn.sendPong, b"")
                self.assertEqual(conn.dataToSend(), b"")
                self.assertIs(conn.state, State.OPEN)


class HixieClosingTests(SynchronousTestCase):
    """
    The end of a hixie connection: C{FF 00} on hixie-76, the end of TCP on
    hixie-75.
    """

    def test_hixie76ServerCloses(self) -> None:
        """
        A hixie-76 server closes with C{FF 00}; the client answers with
        C{FF 00}, and both end clean.
        """
        client, server = openPair(Version.HIXIE76)
        server.close()
        self.assertIs(server.state, State.CLOSING)
        data = server.dataToSend()
        self.assertEqual(data, b"\xff\x00")
        self.assertEqual(client.receiveData(data), [CloseReceived(1005, "")])
        self.assertIs(client.state, State.REMOTE_CLOSING)
        reply = client.dataToSend()
        assertClosedCleanly(self, client, byPeer=True, closeTransport=False)
        self.assertEqual(reply, b"\xff\x00")
        self.assertEqual(server.receiveData(reply), [CloseReceived(1005, "")])
        assertClosedCleanly(self, server, byPeer=False, closeTransport=True)

    def test_hixie76ClientCloses(self) -> None:
        """
        A hixie-76 client closes with C{FF 00}; the server answers and should
        end TCP.
        """
        client, server = openPair(Version.HIXIE76)
        client.close()
        data = client.dataToSend()
        self.assertEqual(data, b"\xff\x00")
        for chunks in splits(b"\x00last\xff" + data):
            client2, server2 = openPair(Version.HIXIE76)
            self.assertEqual(
                feed(server2, chunks), [TextMessage("last"), CloseReceived(1005, "")]
            )
            self.assertTrue(server2.closedByPeer)
            self.assertTrue(server2.shouldCloseTransport)
            self.assertEqual(server2.dataToSend(), b"\xff\x00")
        server.receiveData(data)
        self.assertEqual(client.receiveData(server.dataToSend()), [CloseReceived(1005, "")])
        self.assertIs(client.state, State.CLOSED)
        self.assertTrue(client.wasClean)
        self.assertFalse(client.closedByPeer)

    def test_hixie75FF00IsNotClose(self) -> None:
        """
        On hixie-75, C{FF 00} is an empty length-prefixed frame, discarded.
        """
        for label, make in hixieReceivers():
            if "75" not in label:
                continue
            conn = make()
            self.assertEqual(conn.receiveData(b"\xff\x00\x00x\xff"), [TextMessage("x")])
            self.assertIs(conn.state, State.OPEN)

    def test_hixie75Close(self) -> None:
        """
        Closing a hixie-75 connection sends nothing and asks the caller to end
        TCP at once; it counts as clean.
        """
        for conn in openPair(Version.HIXIE75):
            conn.close()
            self.assertEqual(conn.dataToSend(), b"")
            assertClosedCleanly(self, conn, byPeer=False, closeTransport=True)
            self.assertRaises(LocalProtocolError, conn.sendTextMessage, "x")

    def test_hixie75EOFIsClean(self) -> None:
        """
        The end of TCP on an open hixie-75 connection is a clean close by the
        peer.
        """
        for conn in openPair(Version.HIXIE75):
            conn.receiveEOF()
            assertClosedCleanly(self, conn, byPeer=True, closeTransport=True)
            self.assertEqual(conn.closeCode, 1005)
            self.assertIsNone(conn.cause)

    def test_hixie76EOFIsUnclean(self) -> None:
        """
        The end of TCP on an open hixie-76 connection is an unclean 1006.
        """
        for conn in openPair(Version.HIXIE76):
            conn.receiveEOF()
            self.assertEqual(conn.closeCode, 1006)
            self.assertFalse(conn.wasClean)
            self.assertTrue(conn.shouldCloseTransport)


class HixieErrorTests(SynchronousTestCase):
    """
    A hixie peer that sends bad data fails the connection, without raising.
    """

    def assertFailsAt(self, make, data: bytes, index: int, code: int, msg=None) -> None:
        """
        Feeding C{data} byte by byte, one L{ConnectionFailed} with C{code}
        appears when byte C{index} is fed, and the connection is closed.
        """
        conn = make()
        failedAt = None
        for i in range(len(data)):
            events = conn.receiveData(data[i : i + 1])
            errors = [e for e in events if isinstance(e, ConnectionFailed)]
            if errors:
                self.assertEqual([e.code for e in errors], [code], msg)
                self.assertIsNone(failedAt, msg)
                failedAt = i
        self.assertEqual(failedAt, index, msg)
        self.assertIs(conn.state, State.REMOTE_CLOSING, msg)
        self.assertTrue(conn.shouldCloseTransport, msg)
        self.assertFalse(conn.wasClean, msg)
        self.assertIsInstance(conn.cause, PeerError, msg)
        self.assertEqual(conn.dataToSend(), b"", msg)
        self.assertIs(conn.state, State.CLOSED, msg)
        self.assertRaises(LocalProtocolError, conn.sendTextMessage, "x")

    def test_invalidUTF8(self) -> None:
        """
        Invalid UTF-8 in a text frame fails with 1007 with the first bad byte.
        """
        cases = [
            (b"\x00ab\xc0cd\xff", 3),
            (b"\x00ok\xff\x00\xe2\x82A\xff", 7),
            (b"\x00a\xe2\xff", 3),
            (b"\x00\xf4\x90\x80\x80\xff", 2),
            (b"\x00\xf8\xff", 1),
        ]
        for label, make in hixieReceivers():
            for data, index in cases:
                self.assertFailsAt(make, data, index, 1007, (label, data))

    def test_surrogate(self) -> None:
        """
        An encoded surrogate fails with 1007 at its second byte.
        """
        for label, make in hixieReceivers():
            self.assertFailsAt(make, b"\x00a\xed\xa0\x80\xff", 3, 1007, label)

    def test_messageTooBig(self) -> None:
        """
        A text frame growing past C{maxMessageSize} fails with 1009 before
        its end has arrived.
        """
        options = Options(maxMessageSize=10)
        for label, make in hixieReceivers(options):
            self.assertFailsAt(make, b"\x00" + b"a" * 20 + b"\xff", 11, 1009, label)
            conn = make()
            self.assertEqual(conn.receiveData(b"\x00" + b"a" * 10 + b"\xff"), [TextMessage("a" * 10)])

    def test_discardedFrameTooBig(self) -> None:
        """
        A length-prefixed frame over C{maxFrameSize} fails with 1009 as soon
        as its length is known.
        """
        options = Options(maxFrameSize=100)
        for label, make in hixieReceivers(options):
            conn = make()
            [event] = conn.receiveData(b"\x80\x81\x00")
            self.assertEqual(event.code, 1009, label)
            self.assertIs(conn.state, State.REMOTE_CLOSING)
            self.assertEqual(conn.dataToSend(), b"", label)
            self.assertIs(conn.state, State.CLOSED)

    def test_lengthPrefixTooLong(self) -> None:
        """
        A length prefix of endless continuation digits fails with 1002.
        """
        for label, make in hixieReceivers():
            conn = make()
            events = conn.receiveData(b"\x80" + b"\x80" * 20)
            self.assertEqual([e.code for e in events], [1002], label)
