"""
Tests for the framing of hybi-07, hybi-08 and RFC 6455 in
L{twisted_ws.codec}: both roles, the RFC's vectors, the rules a peer must
follow, UTF-8 validation, the closing handshake and L{PreparedMessage}.
"""

from __future__ import annotations

import struct

from twisted.trial.unittest import SynchronousTestCase

from twisted_ws.codec import (
    BytesMessage,
    ClientConnection,
    CloseReceived,
    ConnectionFailed,
    LocalProtocolError,
    Options,
    PeerError,
    Ping,
    Pong,
    PreparedMessage,
    ServerConnection,
    State,
    TextMessage,
    Version,
    isValidCloseCode,
)

from ._support.codec import (
    ALL_VERSIONS,
    DEFAULT_OPTIONS,
    HYBI_VERSIONS,
    FakeExtensionFactory,
    assertClosedCleanly,
    feed,
    maskedFrame,
    openClient,
    openPair,
    openServer,
    plainFrame,
    receivers,
    rfcRandom,
    splits,
)


def closeFrameFrom(conn, code: int) -> bytes:
    """
    The close frame that C{conn} (server or client) sends with C{code} and
    no reason.
    """
    payload = struct.pack("!H", code)
    if isinstance(conn, ServerConnection):
        return plainFrame(0x88, payload)
    return maskedFrame(0x88, payload)


class VectorTests(SynchronousTestCase):
    """
    The frames of RFC 6455 section 5.7, parsed and serialised, in both
    roles.
    """

    def assertParses(self, make, data: bytes, expected: list, every: bool = True) -> None:
        """
        C{data} fed to a fresh connection from C{make}, whole, byte by byte
        and split at every offset, gives the C{expected} events.
        """
        for chunks in splits(data) if every else fewSplits(data):
            conn = make()
            self.assertEqual(feed(conn, chunks), expected, [len(c) for c in chunks][:5])
            self.assertIs(conn.state, State.OPEN)

    def test_unmaskedHelloParsed(self) -> None:
        """
        A client receives C{81 05 48 65 6c 6c 6f} as the text "Hello".
        """
        self.assertParses(openClient, bytes.fromhex("810548656c6c6f"), [TextMessage("Hello")])

    def test_unmaskedHelloSerialised(self) -> None:
        """
        A server sends "Hello" as C{81 05 48 65 6c 6c 6f}.
        """
        for version in HYBI_VERSIONS:
            server = openServer(version)
            server.sendTextMessage("Hello")
            self.assertEqual(server.dataToSend(), bytes.fromhex("810548656c6c6f"))

    def test_maskedHelloParsed(self) -> None:
        """
        A server receives C{81 85 37 fa 21 3d 7f 9f 4d 51 58} as "Hello".
        """
        data = bytes.fromhex("818537fa213d7f9f4d5158")
        self.assertEqual(maskedFrame(0x81, b"Hello"), data)
        self.assertParses(lambda: openServer(Version.RFC6455), data, [TextMessage("Hello")])

    def test_maskedHelloSerialised(self) -> None:
        """
        A client whose random source gives the mask C{37 fa 21 3d} sends
        "Hello" as C{81 85 37 fa 21 3d 7f 9f 4d 51 58}.
        """
        for version in HYBI_VERSIONS:
            client = openClient(version)
            client.sendTextMessage("Hello")
            self.assertEqual(client.dataToSend(), bytes.fromhex("818537fa213d7f9f4d5158"))

    def test_fragmentsParsed(self) -> None:
        """
        C{01 03 48 65 6c} then C{80 02 6c 6f} is received as one message
        "Hello", in both roles.
        """
        data = bytes.fromhex("010348656c") + bytes.fromhex("80026c6f")
        self.assertParses(openClient, data, [TextMessage("Hello")])
        masked = maskedFrame(0x01, b"Hel") + maskedFrame(0x80, b"lo")
        self.assertParses(lambda: openServer(Version.RFC6455), masked, [TextMessage("Hello")])

    def test_fragmentsSerialised(self) -> None:
        """
        A server with C{fragmentSize=3} sends "Hello" as C{01 03 48 65 6c}
        and C{80 02 6c 6f}.
        """
        server = openServer(Version.RFC6455, Options(fragmentSize=3))
        server.sendTextMessage("Hello")
        self.assertEqual(server.dataToSend(), bytes.fromhex("010348656c80026c6f"))

    def test_pingParsedAndAnsweredByClient(self) -> None:
        """
        A client receives C{89 05 Hello} as a ping and answers with a masked
        pong carrying the same data.
        """
        data = bytes.fromhex("890548656c6c6f")
        self.assertParses(openClient, data, [Ping(b"Hello")])
        client = openClient()
        client.receiveData(data)
        self.assertEqual(client.dataToSend(), maskedFrame(0x8A, b"Hello"))

    def test_pingParsedAndAnsweredByServer(self) -> None:
        """
        A server receives a masked ping "Hello" and answers with the
        unmasked pong C{8a 05 48 65 6c 6c 6f}.
        """
        data = maskedFrame(0x89, b"Hello")
        self.assertParses(lambda: openServer(Version.RFC6455), data, [Ping(b"Hello")])
        server = openServer(Version.RFC6455)
        server.receiveData(data)
        self.assertEqual(server.dataToSend(), bytes.fromhex("8a0548656c6c6f"))

    def test_pingSerialised(self) -> None:
        """
        A server's ping "Hello" is C{89 05 48 65 6c 6c 6f}; a pong is
        C{8a ...}.
        """
        server = openServer(Version.RFC6455)
        server.ping(b"Hello")
        server.pong(b"Hello")
        self.assertEqual(server.dataToSend(), bytes.fromhex("890548656c6c6f8a0548656c6c6f"))

    def test_pongParsed(self) -> None:
        """
        A pong is delivered as a L{Pong} event and not answered.
        """
        self.assertParses(openClient, bytes.fromhex("8a0548656c6c6f"), [Pong(b"Hello")])
        client = openClient()
        client.receiveData(bytes.fromhex("8a00"))
        self.assertEqual(client.dataToSend(), b"")

    def test_256BytesSerialised(self) -> None:
        """
        A server sends 256 bytes of binary as C{82 7E 01 00} and the payload.
        """
        payload = bytes(range(256))
        server = openServer(Version.RFC6455)
        server.sendBytesMessage(payload)
        self.assertEqual(server.dataToSend(), bytes.fromhex("827e0100") + payload)

    def test_256BytesParsed(self) -> None:
        """
        C{82 7E 01 00} and 256 bytes are received as one binary message.
        """
        payload = bytes(range(256))
        data = bytes.fromhex("827e0100") + payload
        self.assertParses(openClient, data, [BytesMessage(payload)])
        self.assertParses(
            lambda: openServer(Version.RFC6455), maskedFrame(0x82, payload), [BytesMessage(payload)]
        )

    def test_64KiBSerialised(self) -> None:
        """
        A server sends 64 KiB of binary as C{82 7F 00 00 00 00 00 01 00 00}
        and the payload.
        """
        payload = bytes(range(256)) * 256
        server = openServer(Version.RFC6455)
        server.sendBytesMessage(payload)
        self.assertEqual(server.dataToSend(), bytes.fromhex("827f0000000000010000") + payload)

    def test_64KiBParsed(self) -> None:
        """
        C{82 7F 00 00 00 00 00 01 00 00} and 64 KiB are received as one binary
        message, in both roles and in pieces.
        """
        payload = bytes(range(256)) * 256
        data = bytes.fromhex("827f0000000000010000") + payload
        self.assertParses(openClient, data, [BytesMessage(payload)], every=False)
        self.assertParses(
            lambda: openServer(Version.RFC6455),
            maskedFrame(0x82, payload),
            [BytesMessage(payload)],
            every=False,
        )

    def test_lengthBoundaries(self) -> None:
        """
        Payloads of 0, 125, 126, 65535 and 65536 bytes use the 7, 16 and
        64-bit length forms and survive the round trip in both directions.
        """
        for n, header in (
            (0, "8200"),
            (125, "827d"),
            (126, "827e007e"),
            (65535, "827effff"),
            (65536, "827f0000000000010000"),
        ):
            payload = b"\xa5" * n
            client, server = openPair(Version.RFC6455)
            server.sendBytesMessage(payload)
            data = server.dataToSend()
            self.assertEqual(data, bytes.fromhex(header) + payload)
            self.assertEqual(client.receiveData(data), [BytesMessage(payload)])
            client.sendBytesMessage(payload)
            self.assertEqual(server.receiveData(client.dataToSend()), [BytesMessage(payload)])

    def test_clientMasksEachFrame(self) -> None:
        """
        Every frame a client sends is masked with a key from its random
        source.
        """
        client = openClient()
        client.sendBytesMessage(b"abc")
        client.ping(b"p")
        client.pong(b"q")
        client.close(1000)
        self.assertEqual(
            client.dataToSend(),
            maskedFrame(0x82, b"abc")
            + maskedFrame(0x89, b"p")
            + maskedFrame(0x8A, b"q")
            + maskedFrame(0x88, b"\x03\xe8"),
        )


def fewSplits(data: bytes):
    """
    A cheaper set of splits for large data: whole, byte by byte, and in two
    at the first 20 offsets, around the middle, and at the last 5.
    """
    yield [data]
    yield [data[i : i + 1] for i in range(len(data))]
    n = len(data)
    for i in sorted(set(range(1, 20)) | {n // 2, n // 2 + 1} | set(range(n - 5, n))):
        yield [data[:i], data[i:]]


class PeerRuleTests(SynchronousTestCase):
    """
    A peer that breaks the framing rules fails the connection with the
    right close code, in both roles; nothing is raised.
    """

    def assertFails(self, data: bytes | None, code: int, frames=None, options=DEFAULT_OPTIONS) -> None:
        """
        In each role, the peer's C{frames} (a function of the frame encoder
        returning the bytes) fail the connection with C{code}: one
        L{ConnectionFailed}, a close frame with C{code} queued, the connection
        closed uncleanly.
        """
        for label, make, encode in receivers(options):
            data = frames(encode)
            for chunks in ([data], [data[i : i + 1] for i in range(len(data))]):
                conn = make()
                events = feed(conn, chunks)
                errors = [e for e in events if isinstance(e, ConnectionFailed)]
                self.assertEqual(len(errors), 1, (label, events))
                self.assertIs(events[-1], errors[0], label)
                self.assertEqual(errors[0].code, code, (label, errors[0].reason))
                # The close frame that reports the error is owed until the
                # caller has answered what came before it.
                self.assertIs(conn.state, State.REMOTE_CLOSING, label)
                self.assertTrue(conn.closeAnswerPending, label)
                self.assertTrue(conn.shouldCloseTransport, label)
                self.assertFalse(conn.wasClean, label)
                self.assertFalse(conn.closedByPeer, label)
                self.assertEqual(conn.closeCode, code, label)
                self.assertIsInstance(conn.cause, PeerError)
                self.assertEqual(conn.cause.closeCode, code)
                self.assertEqual(conn.dataToSend(), closeFrameFrom(conn, code), label)
                self.assertIs(conn.state, State.CLOSED, label)
                self.assertFalse(conn.closeAnswerPending, label)
                self.assertEqual(conn.receiveData(encode(0x81, b"late")), [], label)
                self.assertEqual(conn.dataToSend(), b"", label)
                self.assertRaises(LocalProtocolError, conn.sendTextMessage, "x")

    def test_serverRequiresMask(self) -> None:
        """
        A server receiving an unmasked frame fails with 1002.
        """
        server = openServer(Version.RFC6455)
        [event] = server.receiveData(bytes.fromhex("810548656c6c6f"))
        self.assertEqual(event, ConnectionFailed(1002, event.reason))
        self.assertEqual(server.dataToSend(), bytes.fromhex("880203ea"))

    def test_clientRequiresUnmasked(self) -> None:
        """
        A client receiving a masked frame fails with 1002.
        """
        client = openClient()
        [event] = client.receiveData(bytes.fromhex("818537fa213d7f9f4d5158"))
        self.assertEqual(event.code, 1002)
        self.assertIs(client.state, State.REMOTE_CLOSING)
        self.assertEqual(client.dataToSend(), maskedFrame(0x88, b"\x03\xea"))
        self.assertIs(client.state, State.CLOSED)

    def test_rsvBitsWithoutExtension(self) -> None:
        """
        A frame with any RSV bit set, without a negotiated extension, fails
        with 1002.
        """
        for rsv in (0x40, 0x20, 0x10, 0x70):
            self.assertFails(None, 1002, lambda e, rsv=rsv: e(0x81 | rsv, b"Hello"))
            self.assertFails(None, 1002, lambda e, rsv=rsv: e(0x89 | rsv, b""))

    def test_reservedOpcodes(self) -> None:
        """
        Each reserved opcode (3-7 and B-F) fails with 1002.
        """
        for opcode in (3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF):
            self.assertFails(None, 1002, lambda e, op=opcode: e(0x80 | op, b"x"))

    def test_controlFrameTooLong(self) -> None:
        """
        A ping, pong or close with more than 125 bytes fails with 1002.
        """
        for opcode in (0x89, 0x8A, 0x88):
            self.assertFails(None, 1002, lambda e, op=opcode: e(op, b"\x03\xe8" + b"a" * 124))

    def test_controlFrame125Bytes(self) -> None:
        """
        A ping of exactly 125 bytes is accepted.
        """
        for label, make, encode in receivers():
            conn = make()
            self.assertEqual(conn.receiveData(encode(0x89, b"a" * 125)), [Ping(b"a" * 125)], label)

    def test_fragmentedControlFrame(self) -> None:
        """
        A control frame without FIN fails with 1002.
        """
        for opcode in (0x09, 0x0A, 0x08):
            self.assertFails(None, 1002, lambda e, op=opcode: e(op, b""))

    def test_continuationWithoutStart(self) -> None:
        """
        A continuation frame with no message to continue fails with 1002.
        """
        self.assertFails(None, 1002, lambda e: e(0x80, b"lo"))
        self.assertFails(None, 1002, lambda e: e(0x81, b"ok") + e(0x00, b"lo"))

    def test_newMessageDuringFragmentedOne(self) -> None:
        """
        A new text or binary frame while a fragmented message is open fails
        with 1002.
        """
        self.assertFails(None, 1002, lambda e: e(0x01, b"Hel") + e(0x81, b"lo"))
        self.assertFails(None, 1002, lambda e: e(0x02, b"Hel") + e(0x01, b"lo"))

    def test_invalidCloseCodes(self) -> None:
        """
        A close frame with a code that may not be sent fails with 1002.
        """
        for code in (0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535):
            self.assertFails(None, 1002, lambda e, c=code: e(0x88, struct.pack("!H", c)))

    def test_oneByteClosePayload(self) -> None:
        """
        A close frame with a 1-byte payload fails with 1002.
        """
        self.assertFails(None, 1002, lambda e: e(0x88, b"\x03"))

    def test_closeReasonInvalidUTF8(self) -> None:
        """
        A close reason that is not UTF-8 fails with 1007.
        """
        self.assertFails(None, 1007, lambda e: e(0x88, b"\x03\xe8bad \xff reason"))

    def test_invalidTextMessage(self) -> None:
        """
        A text message that is not UTF-8 fails with 1007.
        """
        self.assertFails(None, 1007, lambda e: e(0x81, b"caf\xe9"))
        self.assertFails(None, 1007, lambda e: e(0x01, b"ok") + e(0x80, b"\xc0\xaf"))

    def test_truncatedUTF8AtEnd(self) -> None:
        """
        A text message ending in the middle of a UTF-8 sequence fails with
        1007.
        """
        self.assertFails(None, 1007, lambda e: e(0x81, b"\xe2\x82"))
        self.assertFails(None, 1007, lambda e: e(0x01, b"a\xe2") + e(0x80, b"\x82"))

    def test_64BitLengthHighBit(self) -> None:
        """
        A 64-bit length with its most significant bit set fails with 1002.
        """
        for label, make, encode in receivers():
            conn = make()
            header = bytearray(encode(0x82, b"\x00" * 65536)[:14])
            header[2] |= 0x80
            events = conn.receiveData(bytes(header))
            self.assertEqual([type(e) for e in events], [ConnectionFailed], label)
            self.assertIn(events[0].code, (1002, 1009), label)


class ValidFrameTests(SynchronousTestCase):
    """
    Valid frames of every kind are delivered in both roles.
    """

    def test_everyOpcode(self) -> None:
        """
        Text, binary, continuation, ping, pong and close frames each give
        their event.
        """
        for label, make, encode in receivers():
            conn = make()
            data = (
                encode(0x81, "héllo".encode())
                + encode(0x82, b"\x00\xff")
                + encode(0x02, b"ab")
                + encode(0x00, b"cd")
                + encode(0x80, b"ef")
                + encode(0x89, b"ping")
                + encode(0x8A, b"pong")
                + encode(0x88, b"\x03\xe8bye")
            )
            self.assertEqual(
                conn.receiveData(data),
                [
                    TextMessage("héllo"),
                    BytesMessage(b"\x00\xff"),
                    BytesMessage(b"abcdef"),
                    Ping(b"ping"),
                    Pong(b"pong"),
                    CloseReceived(1000, "bye"),
                ],
                label,
            )

    def test_controlFramesBetweenFragments(self) -> None:
        """
        Pings and pongs between the fragments of a message are delivered (and
        answered) before the message.
        """
        for label, make, encode in receivers():
            data = (
                encode(0x01, b"Hel")
                + encode(0x89, b"a")
                + encode(0x00, b"l")
                + encode(0x8A, b"b")
                + encode(0x80, b"o")
            )
            for chunks in splits(data):
                conn = make()
                self.assertEqual(
                    feed(conn, chunks),
                    [Ping(b"a"), Pong(b"b"), TextMessage("Hello")],
                    label,
                )
                out = conn.dataToSend()
                self.assertEqual(out[0], 0x8A, label)

    def test_emptyFragments(self) -> None:
        """
        Empty fragments, including an empty final one, are accepted.
        """
        for label, make, encode in receivers():
            conn = make()
            data = encode(0x01, b"") + encode(0x00, b"a") + encode(0x00, b"") + encode(0x80, b"")
            self.assertEqual(conn.receiveData(data), [TextMessage("a")], label)
            self.assertEqual(conn.receiveData(encode(0x81, b"")), [TextMessage("")], label)

    def test_validCloseCodes(self) -> None:
        """
        Close frames with codes in the valid ranges are accepted with their
        reason.
        """
        codes = list(range(1000, 1004)) + list(range(1007, 1015)) + [3000, 3999, 4000, 4999]
        for code in codes:
            self.assertTrue(isValidCloseCode(code))
            for label, make, encode in receivers():
                conn = make()
                events = conn.receiveData(encode(0x88, struct.pack("!H", code) + "ré".encode()))
                self.assertEqual(events, [CloseReceived(code, "ré")], (label, code))
                self.assertEqual(conn.closeCode, code)
                self.assertEqual(conn.closeReason, "ré")

    def test_isValidCloseCode(self) -> None:
        """
        L{isValidCloseCode} refuses codes outside the valid ranges.
        """
        for code in (0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000):
            self.assertFalse(isValidCloseCode(code), code)

    def test_rsvBitsWithExtension(self) -> None:
        """
        With an extension owning RSV1 negotiated, RSV1 on the first frame of
        a message is accepted, and still refused on a continuation frame.
        """
        factory = FakeExtensionFactory("foo")
        options = Options(extensions=[factory])
        client = ClientConnection("h", extensions=[factory], randomSource=rfcRandom)
        server = ServerConnection(options)
        server.receiveData(client.dataToSend())
        server.accept()
        client.receiveData(server.dataToSend())
        self.assertEqual(server.receiveData(maskedFrame(0xC1, b"hi")), [TextMessage("hi")])
        self.assertEqual(client.receiveData(plainFrame(0xC2, b"hi")), [BytesMessage(b"hi")])
        [event] = server.receiveData(maskedFrame(0x41, b"a") + maskedFrame(0xC0, b"b"))
        self.assertEqual(event.code, 1002)
        [event] = client.receiveData(plainFrame(0xA1, b"a"))
        self.assertEqual(event.code, 1002)

    def test_rsvBitsOnControlFrameWithExtension(self) -> None:
        """
        With an extension owning RSV1 negotiated, RSV1 on a ping, a pong or a
        close still fails with 1002: control frames are never encoded.
        """
        factory = FakeExtensionFactory("foo")
        for b0 in (0xC9, 0xCA, 0xC8):
            client = ClientConnection("h", extensions=[factory], randomSource=rfcRandom)
            server = ServerConnection(Options(extensions=[factory]))
            server.receiveData(client.dataToSend())
            server.accept()
            client.receiveData(server.dataToSend())
            [event] = server.receiveData(maskedFrame(b0, b""))
            self.assertIsInstance(event, ConnectionFailed, hex(b0))
            self.assertEqual(event.code, 1002, hex(b0))
            self.assertIn("control frame", event.reason)

    def test_wholeOversizedFrameInOneRead(self) -> None:
        """
        A whole unfragmented text or binary frame over C{maxFrameSize} (or
        C{maxMessageSize}) that arrives in one read fails with 1009 and
        delivers nothing.
        """
        for limits in ({"maxFrameSize": 100}, {"maxMessageSize": 100}):
            for label, make, encode in receivers(Options(**limits)):
                for b0 in (0x81, 0x82):
                    conn = make()
                    events = conn.receiveData(encode(b0, b"a" * 101))
                    self.assertEqual([type(e) for e in events], [ConnectionFailed], label)
                    self.assertEqual(events[0].code, 1009, (label, limits))
                    conn = make()
                    events = conn.receiveData(encode(b0, b"a" * 100))
                    self.assertEqual(len(events), 1, label)
                    self.assertIn(type(events[0]), (TextMessage, BytesMessage), label)

    def test_autoPongDisabled(self) -> None:
        """
        With C{autoPong=False} a ping is delivered but not answered.
        """
        for label, make, encode in receivers(Options(autoPong=False)):
            conn = make()
            self.assertEqual(conn.receiveData(encode(0x89, b"x")), [Ping(b"x")])
            self.assertEqual(conn.dataToSend(), b"", label)


class UTF8Tests(SynchronousTestCase):
    """
    Invalid UTF-8 fails the connection (1007) in the very C{receiveData}
    call that delivers the offending byte.
    """

    def assertFailsAt(self, make, data: bytes, index: int, msg=None) -> None:
        """
        Feeding C{data} byte by byte, the only L{ConnectionFailed} (1007)
        appears when byte C{index} is fed.
        """
        conn = make()
        failedAt = None
        for i in range(len(data)):
            events = conn.receiveData(data[i : i + 1])
            errors = [e for e in events if isinstance(e, ConnectionFailed)]
            if errors:
                self.assertEqual([e.code for e in errors], [1007], msg)
                self.assertIsNone(failedAt, msg)
                failedAt = i
        self.assertEqual(failedAt, index, msg)
        self.assertEqual(conn.closeCode, 1007)

    def cases(self):
        """
        (payload pieces, offset of the bad byte within the joined payload)
        for a set of invalid sequences.
        """
        return [
            ([b"ab\xffcd"], 2),
            ([b"ab", b"c\xffd"], 3),
            ([b"\xe2\x82A"], 2),
            ([b"\xc0\xafxyz"], 0),
            ([b"\xf4\x90\x80\x80"], 1),
            ([b"hello ", b"\xe2", b"\x82", b"(more)"], 8),
        ]

    def test_failsAsSoonAsBadByteArrives(self) -> None:
        """
        In a single frame or a fragmented message arriving byte by byte, in
        both roles, 1007 appears with the first byte that cannot be UTF-8.
        """
        self.checkCases(self.cases())

    def test_surrogateFailsAsSoonAsBadByteArrives(self) -> None:
        """
        An encoded UTF-16 surrogate fails with 1007 at its second byte (0xED
        may only be followed by 0x80-0x9F).
        """
        self.checkCases([([b"a\xed\xa0\x80"], 2), ([b"ab", b"\xed", b"\xbf\xbf"], 3)])

    def checkCases(self, cases) -> None:
        """
        Check each of C{cases} (as returned by L{cases}) in every role.
        """
        for label, make, encode in receivers():
            for pieces, badOffset in cases:
                data = b""
                consumed = 0
                index = None
                for n, piece in enumerate(pieces):
                    first = n == 0
                    last = n == len(pieces) - 1
                    b0 = (0x80 if last else 0) | (0x01 if first else 0x00)
                    frame = encode(b0, piece + (b"tail-bytes" if last else b""))
                    headerLength = len(frame) - len(piece) - (10 if last else 0)
                    if index is None and consumed + len(piece) > badOffset:
                        index = len(data) + headerLength + (badOffset - consumed)
                    consumed += len(piece)
                    data += frame
                self.assertFailsAt(make, data, index, (label, pieces))

    def test_failsInFirstPartOfBigFrame(self) -> None:
        """
        A large text frame with a bad byte near its start fails before the
        rest of the frame has arrived.
        """
        for label, make, encode in receivers():
            frame = encode(0x81, b"ok\xff" + b"a" * 100000)
            conn = make()
            events = conn.receiveData(frame[:20])
            self.assertEqual([e.code for e in events], [1007], label)

    def test_multibyteSplitAcrossFrames(self) -> None:
        """
        A valid multi-byte sequence split across fragments is accepted.
        """
        for label, make, encode in receivers():
            conn = make()
            data = encode(0x01, b"\xe2") + encode(0x00, b"\x82") + encode(0x80, b"\xac!")
            self.assertEqual(conn.receiveData(data), [TextMessage("€!")], label)
            clef = "𝄞".encode()
            data = b"".join(
                encode((0x80 if i == 3 else 0) | (0x01 if i == 0 else 0), clef[i : i + 1])
                for i in range(4)
            )
            for chunks in splits(data):
                conn = make()
                self.assertEqual(feed(conn, chunks), [TextMessage("𝄞")], label)

    def test_multibyteSplitAcrossReads(self) -> None:
        """
        A valid text frame arriving in pieces that cut multi-byte sequences
        is accepted.
        """
        text = "añ€𝄞" * 20
        for label, make, encode in receivers():
            for chunks in splits(encode(0x81, text.encode())):
                conn = make()
                self.assertEqual(feed(conn, chunks), [TextMessage(text)], label)


class SendingTests(SynchronousTestCase):
    """
    What connections send, and misuse by the caller.
    """

    def test_fragmentSize(self) -> None:
        """
        With C{fragmentSize=N}, messages longer than N bytes go out as frames
        of at most N bytes, and a peer reassembles them.
        """
        for n in (1, 2, 5, 7):
            options = Options(fragmentSize=n)
            client, server = openPair(Version.RFC6455, options, options)
            for message in ("", "abc", "hello world", "x" * 5, "é" * 9):
                server.sendTextMessage(message)
                self.assertEqual(client.receiveData(server.dataToSend()), [TextMessage(message)])
                client.sendTextMessage(message)
                self.assertEqual(server.receiveData(client.dataToSend()), [TextMessage(message)])
            server.sendBytesMessage(b"0123456789")
            data = server.dataToSend()
            frames = []
            pos = 0
            while pos < len(data):
                length = data[pos + 1]
                frames.append(data[pos : pos + 2 + length])
                pos += 2 + length
            self.assertEqual(len(frames), -(-10 // n))
            self.assertEqual(frames[0][0], 0x02 if n < 10 else 0x82)
            self.assertEqual(frames[-1][0] & 0x80, 0x80)
            for f in frames[1:]:
                self.assertEqual(f[0] & 0x0F, 0)
            for f in frames[:-1]:
                self.assertEqual(f[0] & 0x80, 0)
                self.assertEqual(f[1], n)

    def test_fragmentSizeExact(self) -> None:
        """
        A message of exactly C{fragmentSize} bytes is one frame.
        """
        server = openServer(Version.RFC6455, Options(fragmentSize=5))
        server.sendTextMessage("Hello")
        self.assertEqual(server.dataToSend(), bytes.fromhex("810548656c6c6f"))

    def test_fragmentSizeSplitsMultibyte(self) -> None:
        """
        Fragmenting may cut a multi-byte character; the peer still decodes
        it.
        """
        options = Options(fragmentSize=1)
        client, server = openPair(Version.RFC6455, options, options)
        server.sendTextMessage("€")
        data = server.dataToSend()
        self.assertEqual(data, bytes.fromhex("01 01 e2 00 01 82 80 01 ac".replace(" ", "")))
        self.assertEqual(client.receiveData(data), [TextMessage("€")])

    def test_pingTooLong(self) -> None:
        """
        Sending a ping or pong of more than 125 bytes raises
        L{LocalProtocolError}.
        """
        server = openServer(Version.RFC6455)
        self.assertRaises(LocalProtocolError, server.ping, b"a" * 126)
        self.assertRaises(LocalProtocolError, server.sendPong, b"a" * 126)
        self.assertEqual(server.dataToSend(), b"")
        self.assertIs(server.state, State.OPEN)

    def test_closeWithUnsendableCode(self) -> None:
        """
        C{close()} with 1005, 1006, 1015 or another invalid code raises
        L{LocalProtocolError} and leaves the connection open.
        """
        for code in (1005, 1006, 1015, 0, 999, 1004, 2999, 5000):
            for conn in (openServer(Version.RFC6455), openClient()):
                self.assertRaises(LocalProtocolError, conn.close, code)
                self.assertIs(conn.state, State.OPEN)
                self.assertEqual(conn.dataToSend(), b"")

    def test_closeReasonTooLong(self) -> None:
        """
        A close reason over 123 bytes of UTF-8 raises L{LocalProtocolError}.
        """
        server = openServer(Version.RFC6455)
        self.assertRaises(LocalProtocolError, server.close, 1000, "é" * 62)
        server.close(1000, "a" * 123)
        self.assertEqual(server.dataToSend(), b"\x88\x7d\x03\xe8" + b"a" * 123)

    def test_closeWithoutCode(self) -> None:
        """
        C{close(None)} sends an empty close frame; a reason without a code
        raises L{LocalProtocolError}.
        """
        server = openServer(Version.RFC6455)
        self.assertRaises(LocalProtocolError, server.close, None, "why")
        server.close(None)
        self.assertEqual(server.dataToSend(), b"\x88\x00")

    def test_sendAfterClose(self) -> None:
        """
        Sending anything after C{close()} raises L{LocalProtocolError}.
        """
        for conn in (openServer(Version.RFC6455), openClient()):
            conn.close()
            conn.dataToSend()
            self.assertRaises(LocalProtocolError, conn.sendTextMessage, "x")
            self.assertRaises(LocalProtocolError, conn.sendBytesMessage, b"x")
            self.assertRaises(LocalProtocolError, conn.ping, b"")
            self.assertRaises(LocalProtocolError, conn.sendPong, b"")
            self.assertEqual(conn.dataToSend(), b"")

    def test_sendOnClosedConnection(self) -> None:
        """
        Sending on a CLOSED connection raises L{LocalProtocolError}.
        """
        client, server = openPair(Version.RFC6455)
        server.close()
        client.receiveData(server.dataToSend())
        server.receiveData(client.dataToSend())
        for conn in (client, server):
            self.assertIs(conn.state, State.CLOSED)
            self.assertRaises(LocalProtocolError, conn.sendTextMessage, "x")
            self.assertRaises(LocalProtocolError, conn.sendPrepared, PreparedMessage("x"))
            conn.close()
            self.assertEqual(conn.dataToSend(), b"")


class ClosingHandshakeTests(SynchronousTestCase):
    """
    The state machine of the closing handshake.
    """

    def test_serverStartsClose(self) -> None:
        """
        The server closes: the client answers, the server then ends TCP, and
        the client waits for the TCP connection to end.
        """
        client, server = openPair(Version.RFC6455)
        server.close(1001, "going")
        self.assertIs(server.state, State.CLOSING)
        self.assertFalse(server.shouldCloseTransport)
        data = server.dataToSend()
        self.assertEqual(data, b"\x88\x07\x03\xe9going")
        self.assertEqual(client.receiveData(data), [CloseReceived(1001, "going")])
        self.assertIs(client.state, State.REMOTE_CLOSING)
        self.assertTrue(client.closeAnswerPending)
        self.assertEqual((client.closeCode, client.closeReason), (1001, "going"))
        reply = client.dataToSend()
        assertClosedCleanly(self, client, byPeer=True, closeTransport=False)
        self.assertEqual(reply, maskedFrame(0x88, b"\x03\xe9"))
        self.assertEqual(server.receiveData(reply), [CloseReceived(1001, "")])
        assertClosedCleanly(self, server, byPeer=False, closeTransport=True)
        self.assertEqual(server.closeCode, 1001)
        self.assertIsNone(server.cause)
        client.receiveEOF()
        self.assertTrue(client.shouldCloseTransport)
        self.assertTrue(client.wasClean)
        self.assertEqual(client.closeCode, 1001)

    def test_clientStartsClose(self) -> None:
        """
        The client closes: the server answers and should end TCP at once.
        """
        client, server = openPair(Version.RFC6455)
        client.close(1000, "bye")
        self.assertIs(client.state, State.CLOSING)
        self.assertEqual(server.receiveData(client.dataToSend()), [CloseReceived(1000, "bye")])
        self.assertIs(server.state, State.REMOTE_CLOSING)
        reply = server.dataToSend()
        assertClosedCleanly(self, server, byPeer=True, closeTransport=True)
        self.assertEqual(reply, b"\x88\x02\x03\xe8")
        self.assertEqual(client.receiveData(reply), [CloseReceived(1000, "")])
        assertClosedCleanly(self, client, byPeer=False, closeTransport=False)
        # closeCode and closeReason describe the peer's close frame.
        self.assertEqual((client.closeCode, client.closeReason), (1000, ""))

    def test_emptyCloseFrame(self) -> None:
        """
        A close frame without payload gives code 1005 and is answered with an
        empty close frame.
        """
        client, server = openPair(Version.RFC6455)
        self.assertEqual(server.receiveData(maskedFrame(0x88, b"")), [CloseReceived(1005, "")])
        self.assertEqual(server.closeCode, 1005)
        self.assertEqual(server.dataToSend(), b"\x88\x00")

    def test_messagesWhileClosing(self) -> None:
        """
        Messages the peer sent before its close frame are still delivered
        while this side is CLOSING, and pings are not answered.
        """
        client, server = openPair(Version.RFC6455)
        server.close()
        server.dataToSend()
        client.sendTextMessage("late")
        client.ping(b"p")
        events = server.receiveData(client.dataToSend())
        self.assertEqual(events, [TextMessage("late"), Ping(b"p")])
        self.assertEqual(server.dataToSend(), b"")
        self.assertIs(server.state, State.CLOSING)

    def test_closeTwice(self) -> None:
        """
        A second C{close()} does nothing.
        """
        server = openServer(Version.RFC6455)
        server.close(1000)
        server.dataToSend()
        server.close(1001)
        self.assertEqual(server.dataToSend(), b"")
        self.assertIs(server.state, State.CLOSING)

    def test_eofWhileOpen(self) -> None:
        """
        The TCP connection ending while open closes uncleanly with 1006.
        """
        for conn in (openServer(Version.RFC6455), openClient()):
            self.assertEqual(conn.receiveEOF(), [])
            self.assertIs(conn.state, State.CLOSED)
            self.assertEqual(conn.closeCode, 1006)
            self.assertFalse(conn.wasClean)
            self.assertTrue(conn.shouldCloseTransport)
            self.assertRaises(LocalProtocolError, conn.sendTextMessage, "x")

    def test_eofWhileClosing(self) -> None:
        """
        The TCP connection ending before the peer's close frame closes
        uncleanly with 1006.
        """
        server = openServer(Version.RFC6455)
        server.close()
        server.receiveEOF()
        self.assertEqual(server.closeCode, 1006)
        self.assertFalse(server.wasClean)
        self.assertTrue(server.shouldCloseTransport)

    def test_dataAfterClose(self) -> None:
        """
        Bytes after the peer's close frame are ignored.
        """
        server = openServer(Version.RFC6455)
        data = maskedFrame(0x88, b"\x03\xe8") + maskedFrame(0x81, b"after")
        self.assertEqual(server.receiveData(data), [CloseReceived(1000, "")])
        self.assertEqual(server.receiveData(maskedFrame(0x81, b"more")), [])

    def test_simultaneousClose(self) -> None:
        """
        When both sides close at once, each receives the other's close frame
        and both end clean.
        """
        client, server = openPair(Version.RFC6455)
        client.close(1000)
        server.close(1001)
        fromClient, fromServer = client.dataToSend(), server.dataToSend()
        self.assertEqual(server.receiveData(fromClient), [CloseReceived(1000, "")])
        self.assertEqual(client.receiveData(fromServer), [CloseReceived(1001, "")])
        self.assertEqual(client.dataToSend() + server.dataToSend(), b"")
        for conn in (client, server):
            self.assertIs(conn.state, State.CLOSED)
            self.assertTrue(conn.wasClean)
            self.assertFalse(conn.closedByPeer)
        self.assertTrue(server.shouldCloseTransport)


class PreparedMessageTests(SynchronousTestCase):
    """
    L{PreparedMessage} sends the same bytes as a normal send.
    """

    def test_sameBytesAsSend(self) -> None:
        """
        On a server of each version, a prepared text message (and binary, on
        hybi) is sent exactly as C{sendText}/C{sendBinary} would.
        """
        messages = ["Hello", "", "é" * 100, "x" * 70000]
        for version in ALL_VERSIONS:
            for data in messages + ([] if version.isHixie else [b"\x00\x01", b"y" * 300]):
                prepared = PreparedMessage(data)
                a, b = openServer(version), openServer(version)
                a.sendPreparedMessage(prepared)
                a.sendPreparedMessage(prepared)
                if isinstance(data, str):
                    b.sendTextMessage(data)
                    b.sendTextMessage(data)
                else:
                    b.sendBytesMessage(data)
                    b.sendBytesMessage(data)
                self.assertEqual(a.dataToSend(), b.dataToSend(), (version, data[:10]))

    def test_fragmentedServer(self) -> None:
        """
        On a server that fragments, a prepared message is fragmented too.
        """
        a = openServer(Version.RFC6455, Options(fragmentSize=2))
        b = openServer(Version.RFC6455, Options(fragmentSize=2))
        a.sendPreparedMessage(PreparedMessage("Hello"))
        b.sendTextMessage("Hello")
        self.assertEqual(a.dataToSend(), b.dataToSend())

    def test_client(self) -> None:
        """
        On a client, a prepared message is masked like any other.
        """
        a, b = openClient(), openClient()
        a.sendPreparedMessage(PreparedMessage(b"abc"))
        b.sendBytesMessage(b"abc")
        self.assertEqual(a.dataToSend(), b.dataToSend())

    def test_binaryOnHixie(self) -> None:
        """
        A prepared binary message on a hixie connection raises
        L{LocalProtocolError}.
        """
        for version in (Version.HIXIE75, Version.HIXIE76):
            server = openServer(version)
            self.assertRaises(LocalProtocolError, server.sendPrepared, PreparedMessage(b"x"))
            self.assertEqual(server.dataToSend(), b"")

    def test_afterClose(self) -> None:
        """
        A prepared message after C{close()} raises L{LocalProtocolError}.
        """
        for version in ALL_VERSIONS:
            server = openServer(version)
            server.close()
            server.dataToSend()
            self.assertRaises(LocalProtocolError, server.sendPrepared, PreparedMessage("x"))
            self.assertEqual(server.dataToSend(), b"")


class RepliesBeforeCloseTests(SynchronousTestCase):
    """
    Replies to messages that arrive in the same data as the peer's close
    frame, or as a frame that breaks the protocol, go out before the close
    frame that answers it.
    """

    def _serverAndClient(self) -> tuple[ServerConnection, ClientConnection]:
        client = ClientConnection("example.com", "/")
        server = ServerConnection()
        server.receiveData(client.dataToSend())
        server.accept()
        client.receiveData(server.dataToSend())
        return server, client

    def test_replyBeforeCloseReply(self) -> None:
        """
        A message followed by a close frame in one read can still be
        answered, and the answer precedes the close reply.
        """
        server, client = self._serverAndClient()
        client.sendTextMessage("hello")
        client.close(1000, "bye")
        events = server.receiveData(client.dataToSend())
        self.assertEqual(events, [TextMessage("hello"), CloseReceived(1000, "bye")])
        server.sendTextMessage("echo: hello")
        self.assertEqual(
            client.receiveData(server.dataToSend()),
            [TextMessage("echo: hello"), CloseReceived(1000, "")],
        )
        self.assertRaises(LocalProtocolError, server.sendTextMessage, "too late")

    def test_replyBeforeErrorClose(self) -> None:
        """
        A message followed by a frame with a reserved opcode in one read can
        still be answered before the 1002 close frame.
        """
        server, client = self._serverAndClient()
        client.sendTextMessage("hello")
        data = client.dataToSend() + bytes([0x83, 0x80]) + b"abcd"
        events = server.receiveData(data)
        self.assertEqual(events[0], TextMessage("hello"))
        self.assertEqual(events[1].code, 1002)
        self.assertEqual(server.state, State.REMOTE_CLOSING)
        server.sendTextMessage("echo: hello")
        received = client.receiveData(server.dataToSend())
        self.assertEqual(received[0], TextMessage("echo: hello"))
        self.assertEqual(received[1], CloseReceived(1002, ""))


class TextEchoTests(SynchronousTestCase):
    """
    A server that sends back the very string it received reuses the UTF-8
    it arrived as; any other string is encoded as usual.
    """

    def test_echoAndOtherText(self) -> None:
        """
        Echoing the received string and sending a different one both put
        the right frames on the wire, and the kept bytes are forgotten once
        the data to send has been taken.
        """
        client = ClientConnection("example.com", "/")
        server = ServerConnection()
        server.receiveData(client.dataToSend())
        server.accept()
        client.receiveData(server.dataToSend())
        texts = ["héllo wörld " * 100, "ünïcode " * 100]
        for text in texts:
            client.sendTextMessage(text)
        messages = server.receiveData(client.dataToSend())
        self.assertEqual([m.data for m in messages], texts)
        self.assertEqual(len(server._framer._received), 2)
        for message in reversed(messages):
            server.sendTextMessage(message.data)
        server.sendTextMessage("other")
        self.assertEqual(
            client.receiveData(server.dataToSend()),
            [TextMessage(texts[1]), TextMessage(texts[0]), TextMessage("other")],
        )
        # Kept until the caller says the read is handled, or the next one.
        self.assertEqual(len(server._framer._received), 2)
        server.releaseReceivedText()
        self.assertIsNone(server._framer._received)
        server.receiveData(client.dataToSend())
        self.assertIsNone(server._framer._received)
