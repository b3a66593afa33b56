"""
Tests for L{twisted_ws.codec._deflateframe}: the hybi drafts' per-frame
deflate (C{x-webkit-deflate-frame}, C{deflate-frame}) negotiated and used by
L{ServerConnection} and L{ClientConnection}.
"""

from __future__ import annotations

import zlib

from twisted.trial.unittest import SynchronousTestCase

from twisted_ws.codec import (
    BytesMessage,
    ClientConnection,
    ConnectionFailed,
    HandshakeFailed,
    NegotiationError,
    Options,
    RequestReceived,
    ServerConnection,
    State,
    TextMessage,
    Version,
)
from twisted_ws.codec._deflateframe import DeflateFrame, DeflateFrameExtension
from twisted_ws.codec._extensions import parseExtensions
from twisted_ws.codec._permessagedeflate import PerMessageDeflate, PerMessageDeflateExtension

from ._support.codec import (
    HYBI_RESPONSE,
    HYBI_VERSIONS,
    hybiRequest,
    maskedFrame,
    openPair,
    parseResponse,
    rfcRandom,
)


def dfOptions(*factories, **kwargs) -> Options:
    """
    Options with the given factories, or one L{DeflateFrame} made of
    C{kwargs}.
    """
    return Options(extensions=factories or (DeflateFrame(**kwargs),))


def serverAnswer(offers: str, options: Options):
    """
    The server, its status and its C{Sec-WebSocket-Extensions} answer to a
    request offering C{offers}.
    """
    server = ServerConnection(options)
    events = server.receiveData(hybiRequest(extra=f"Sec-WebSocket-Extensions: {offers}\r\n"))
    if events and isinstance(events[0], RequestReceived):
        server.accept()
    status, headers, _ = parseResponse(server.dataToSend())
    return server, status, headers.get("sec-websocket-extensions")


def frameCompressor(bits: int = 15):
    """
    A function that compresses one frame's payload as a deflate-frame
    sender does (sync flush, tail removed), sharing one window.
    """
    compressor = zlib.compressobj(6, zlib.DEFLATED, -bits)

    def compress(data: bytes) -> bytes:
        return (compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4]

    return compress


def frames(data: bytes) -> list[tuple[int, bytes]]:
    """
    Split unmasked frames into (first byte, payload) pairs.
    """
    result = []
    pos = 0
    while pos < len(data):
        b0, n = data[pos], data[pos + 1] & 0x7F
        pos += 2
        if n == 126:
            n, pos = int.from_bytes(data[pos : pos + 2], "big"), pos + 2
        result.append((b0, data[pos : pos + n]))
        pos += n
    return result


class NegotiationTests(SynchronousTestCase):
    """
    Offers and answers of deflate-frame.
    """

    def test_names(self) -> None:
        """
        The factory takes either token and no other.
        """
        self.assertEqual(DeflateFrame().name, "x-webkit-deflate-frame")
        self.assertEqual(DeflateFrame("deflate-frame").name, "deflate-frame")
        self.assertRaises(ValueError, DeflateFrame, "permessage-deflate")
        self.assertRaises(ValueError, DeflateFrame, maxWindowBits=16)
        self.assertRaises(ValueError, DeflateFrame, memLevel=0)

    def test_offer(self) -> None:
        """
        A client offers the token, with what it asks of the server's
        compression.
        """
        self.assertEqual(DeflateFrame().offer(), "x-webkit-deflate-frame")
        self.assertEqual(
            DeflateFrame("deflate-frame", noContextTakeover=True, maxWindowBits=10).offer(),
            "deflate-frame; no_context_takeover; max_window_bits=10",
        )

    def accept(self, offer: str, **policy) -> DeflateFrameExtension | None:
        """
        What a server with C{policy} answers to C{offer}.
        """
        offers = [params for _, params in parseExtensions([offer])]
        return DeflateFrame(**policy).acceptOffer(offers)

    def test_bareOffer(self) -> None:
        """
        The bare offer Chrome and Safari made is accepted with context
        takeover; the peer may use a 15-bit window, and this side compresses
        with its own 12-bit cap, which it does not announce.
        """
        ext = self.accept("x-webkit-deflate-frame")
        assert ext is not None
        self.assertEqual(ext.responseParams(), "x-webkit-deflate-frame")
        self.assertEqual((ext.localWindowBits, ext.remoteWindowBits), (12, 15))
        self.assertEqual(ext.memLevel, 5)
        ext = self.accept("x-webkit-deflate-frame", localMaxWindowBits=None)
        assert ext is not None
        self.assertEqual((ext.localWindowBits, ext.remoteWindowBits), (15, 15))
        self.assertFalse(ext.localNoContextTakeover or ext.remoteNoContextTakeover)

    def test_offerParametersBindTheServer(self) -> None:
        """
        The offer's parameters apply to the server's compression; the
        server's own caps apply too.
        """
        ext = self.accept("x-webkit-deflate-frame; no_context_takeover; max_window_bits=10")
        assert ext is not None
        self.assertTrue(ext.localNoContextTakeover)
        self.assertEqual(ext.localWindowBits, 10)
        ext = self.accept("x-webkit-deflate-frame; max_window_bits=12", localMaxWindowBits=9)
        assert ext is not None
        self.assertEqual(ext.localWindowBits, 9)
        ext = self.accept("x-webkit-deflate-frame", localNoContextTakeover=True)
        assert ext is not None
        self.assertTrue(ext.localNoContextTakeover)

    def test_responseParametersBindTheClient(self) -> None:
        """
        What the server asks of the client is in its response and sets how
        it inflates.
        """
        ext = self.accept("x-webkit-deflate-frame", noContextTakeover=True, maxWindowBits=11)
        assert ext is not None
        self.assertEqual(
            ext.responseParams(), "x-webkit-deflate-frame; no_context_takeover; max_window_bits=11"
        )
        self.assertTrue(ext.remoteNoContextTakeover)
        self.assertEqual(ext.remoteWindowBits, 11)
        client = DeflateFrame(noContextTakeover=True, maxWindowBits=11).acceptResponse(
            {"max_window_bits": "9", "no_context_takeover": None}
        )
        self.assertEqual((client.localWindowBits, client.remoteWindowBits), (9, 11))
        self.assertTrue(client.localNoContextTakeover and client.remoteNoContextTakeover)

    def test_invalidOffersDeclined(self) -> None:
        """
        Unknown or malformed parameters decline the offer; a later valid
        one is taken.
        """
        for offer in (
            "x-webkit-deflate-frame; foo",
            "x-webkit-deflate-frame; max_window_bits=16",
            "x-webkit-deflate-frame; max_window_bits",
            "x-webkit-deflate-frame; no_context_takeover=1",
        ):
            self.assertIsNone(self.accept(offer), offer)
        ext = self.accept("x-webkit-deflate-frame; max_window_bits=7, x-webkit-deflate-frame")
        self.assertIsNotNone(ext)

    def test_invalidResponsesRefused(self) -> None:
        """
        A client refuses a response with an unknown or malformed parameter.
        """
        for params in ({"foo": None}, {"max_window_bits": "20"}, {"no_context_takeover": "x"}):
            self.assertRaises(ValueError, DeflateFrame().acceptResponse, params)


class HandshakeTests(SynchronousTestCase):
    """
    deflate-frame in the connections' opening handshakes.
    """

    def test_offByDefault(self) -> None:
        """
        Without a L{DeflateFrame} in the options, even with
        permessage-deflate, the offer is declined.
        """
        for options in (Options(), dfOptions(PerMessageDeflate())):
            server, status, header = serverAnswer("x-webkit-deflate-frame", options)
            self.assertEqual(status, 101)
            self.assertIsNone(header)
            self.assertEqual(server.extensions, ())

    def test_enabled(self) -> None:
        """
        With it, the server answers the offer and uses the extension.
        """
        server, status, header = serverAnswer("x-webkit-deflate-frame", dfOptions())
        self.assertEqual(status, 101)
        self.assertEqual(header, "x-webkit-deflate-frame")
        (ext,) = server.extensions
        self.assertIsInstance(ext, DeflateFrameExtension)

    def test_bothNames(self) -> None:
        """
        One factory per token accepts each.
        """
        options = dfOptions(DeflateFrame(), DeflateFrame("deflate-frame"))
        for offer in ("x-webkit-deflate-frame", "deflate-frame"):
            server, _, header = serverAnswer(offer, options)
            self.assertEqual(header, offer)

    def test_permessageDeflatePreferred(self) -> None:
        """
        Offered both, a server configured with both takes the one listed
        first in its options, never both (they share RSV1).
        """
        offers = "x-webkit-deflate-frame, permessage-deflate"
        server, _, header = serverAnswer(offers, dfOptions(PerMessageDeflate(), DeflateFrame()))
        self.assertEqual(header, "permessage-deflate")
        self.assertIsInstance(server.extensions[0], PerMessageDeflateExtension)
        server, _, header = serverAnswer(offers, dfOptions(DeflateFrame(), PerMessageDeflate()))
        self.assertEqual(header, "x-webkit-deflate-frame")
        self.assertEqual(len(server.extensions), 1)

    def test_clientRefusesBadResponse(self) -> None:
        """
        A client fails its handshake with a readable NegotiationError on a
        bad response.
        """
        client = ClientConnection(
            "server.example.com", "/chat", options=dfOptions(), randomSource=rfcRandom
        )
        self.assertIn(b"Sec-WebSocket-Extensions: x-webkit-deflate-frame\r\n", client.dataToSend())
        events = client.receiveData(
            HYBI_RESPONSE[:-2]
            + b"Sec-WebSocket-Extensions: x-webkit-deflate-frame; max_window_bits=3\r\n\r\n"
        )
        self.assertEqual([type(e) for e in events], [HandshakeFailed])
        self.assertIsInstance(client.cause, NegotiationError)
        self.assertIn("max_window_bits", client.cause.reason)
        self.assertIs(client.state, State.CLOSED)


class MessageTests(SynchronousTestCase):
    """
    Messages sent as single compressed frames.
    """

    def test_roundTrips(self) -> None:
        """
        Messages in both directions arrive intact, with and without context
        takeover, on every hybi version.
        """
        messages = ["Hello", "Hello", "chat " * 300, "", "\u00e9t\u00e9 " * 40]
        for settings in ({}, {"noContextTakeover": True, "maxWindowBits": 9}):
            for version in HYBI_VERSIONS:
                options = dfOptions(**settings)
                client, server = openPair(version, options, options)
                self.assertEqual(len(client.extensions), 1)
                for message in messages:
                    server.sendTextMessage(message)
                    client.sendTextMessage(message)
                self.assertEqual(
                    client.receiveData(server.dataToSend()), [TextMessage(m) for m in messages]
                )
                self.assertEqual(
                    server.receiveData(client.dataToSend()), [TextMessage(m) for m in messages]
                )

    def test_webkitStyleFrames(self) -> None:
        """
        Frames compressed one by one with a shared window, as WebKit sent
        them, decode; a frame with RSV1 clear is taken as it is.
        """
        compress = frameCompressor()
        data = (
            maskedFrame(0xC1, compress(b"Hello"))
            + maskedFrame(0xC1, compress(b"Hello"))
            + maskedFrame(0x81, b"plain")
            + maskedFrame(0xC2, compress(b"\x00" * 1000))
        )
        client, server = openPair(Version.RFC6455, dfOptions(), dfOptions())
        self.assertEqual(
            server.receiveData(data),
            [
                TextMessage("Hello"),
                TextMessage("Hello"),
                TextMessage("plain"),
                BytesMessage(b"\x00" * 1000),
            ],
        )

    def test_eachFrameHasRsv1(self) -> None:
        """
        Every message goes out as one frame with RSV1, its payload ending
        without the sync-flush tail.
        """
        client, server = openPair(Version.RFC6455, dfOptions(), dfOptions())
        server.sendTextMessage("Hello")
        server.sendTextMessage("Hello")
        self.assertEqual(
            frames(server.dataToSend()),
            [(0xC1, bytes.fromhex("f248cdc9c90700")), (0xC1, bytes.fromhex("f200110000"))],
        )

    def test_sharedEncodingKey(self) -> None:
        """
        Without context takeover the key equals permessage-deflate's for the
        same settings (the frames are the same); with it there is none.
        """
        _, server = openPair(Version.RFC6455, dfOptions(localNoContextTakeover=True), dfOptions())
        _, pmdServer = openPair(
            Version.RFC6455,
            dfOptions(PerMessageDeflate(serverNoContextTakeover=True)),
            dfOptions(PerMessageDeflate()),
        )
        key = server.extensions[0].sharedEncodingKey()
        self.assertIsNotNone(key)
        self.assertEqual(key, pmdServer.extensions[0].sharedEncodingKey())
        _, server = openPair(Version.RFC6455, dfOptions(), dfOptions())
        self.assertIsNone(server.extensions[0].sharedEncodingKey())

    def test_bombAndInvalidData(self) -> None:
        """
        A frame inflating past the limit fails with 1009, invalid DEFLATE
        with 1007.
        """
        options = Options(extensions=(DeflateFrame(),), maxMessageSize=10_000)
        compress = frameCompressor()
        for payload, code in ((compress(b"\x00" * 1_000_000), 1009), (b"\xff\xfe\xfd", 1007)):
            client, server = openPair(Version.RFC6455, options, options)
            events = server.receiveData(maskedFrame(0xC2, payload))
            self.assertIsInstance(events[-1], ConnectionFailed)
            self.assertEqual(server.cause.closeCode, code)


class FrameMethodTests(SynchronousTestCase):
    """
    The per-frame methods a framing would call for fragmented messages.
    """

    def test_framesOneByOne(self) -> None:
        """
        Fragments encoded by L{DeflateFrameExtension.encodeFrame} each carry
        RSV1 and decode one by one, with C{decodeFrameEnd} after each, on the
        peer's extension.
        """
        sender = DeflateFrame().acceptResponse({})
        receiver = DeflateFrame().acceptOffer([{}])
        assert receiver is not None
        self.assertTrue(sender.perFrame)
        parts = [b"first, " * 5, b"second, " * 5, b"third" * 5]
        decoded = []
        for i, part in enumerate(parts):
            rsv, payload = sender.encodeFrame(part, True, i == len(parts) - 1)
            self.assertEqual(rsv, 0x40)
            decoded.append(
                receiver.decodeChunk(payload, rsv, 1000) + receiver.decodeFrameEnd(rsv, 1000)
            )
        self.assertEqual(decoded, parts)


class PerFrameTests(SynchronousTestCase):
    """
    Fragmented messages, where deflate-frame differs from permessage-deflate:
    each frame is compressed on its own and carries RSV1, which the framing
    handles by calling the extension per frame.
    """

    def test_receiveFragmentsCompressedEach(self) -> None:
        """
        A message in three frames, each compressed on its own with RSV1
        (continuations too), arrives whole.
        """
        compress = frameCompressor()
        data = (
            maskedFrame(0x41, compress(b"first, "))
            + maskedFrame(0x40, compress(b"second, "))
            + maskedFrame(0xC0, compress(b"third"))
        )
        client, server = openPair(Version.RFC6455, dfOptions(), dfOptions())
        self.assertEqual(server.receiveData(data), [TextMessage("first, second, third")])

    def test_receiveCompressedThenPlainFragment(self) -> None:
        """
        A first frame compressed and a continuation sent as it is (RSV1
        clear) make one message.
        """
        compress = frameCompressor()
        data = maskedFrame(0x41, compress(b"squeezed, ")) + maskedFrame(0x80, b"plain")
        client, server = openPair(Version.RFC6455, dfOptions(), dfOptions())
        self.assertEqual(server.receiveData(data), [TextMessage("squeezed, plain")])

    def test_sendFragmentsCompressedEach(self) -> None:
        """
        With fragmentSize set, every frame sent carries RSV1 and a payload
        that inflates on its own, in order, to its part of the message.
        """
        options = Options(extensions=(DeflateFrame(),), fragmentSize=16)
        client, server = openPair(Version.RFC6455, options, dfOptions())
        message = "".join(f"part {i}; " for i in range(40))
        server.sendTextMessage(message)
        data = server.dataToSend()
        sent = frames(data)
        self.assertGreater(len(sent), 1)
        inflater = zlib.decompressobj(-15)
        parts = []
        for b0, payload in sent:
            self.assertTrue(b0 & 0x40, hex(b0))
            parts.append(inflater.decompress(payload + b"\x00\x00\xff\xff"))
        self.assertEqual(b"".join(parts).decode(), message)
        self.assertEqual(client.receiveData(data), [TextMessage(message)])
