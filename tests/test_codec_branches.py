"""
Tests for the codec's less travelled paths, each driven through its public
API: the connection's repr and its former module, events compared with
other types, negotiated extensions seen in repr and in a shared encoding of
a short message, extensions that work frame by frame beside ones that work
on whole messages, an extension that decodes past the message size limit,
two negotiated extensions that claim the same RSV bits, handshake heads
and requests that the server refuses or cannot write back, and the
pure-Python fallback when the compiled helpers cannot be imported.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

import twisted_ws
from twisted_ws.codec import (
    BytesMessage,
    ClientConnection,
    ConnectionFailed,
    DeflateFrame,
    HandshakeFailed,
    HandshakeRequest,
    LocalProtocolError,
    NegotiationError,
    Options,
    PeerError,
    PerMessageDeflate,
    RequestReceived,
    ServerConnection,
    State,
    TextMessage,
    Version,
    _connection,
    encodeForKey,
    sharedEncodingKeyOf,
)
from twisted_ws.codec.handshake import detectVersion, parseHead, requestHead

from ._support.codec import (
    HYBI_RESPONSE,
    hybiRequest,
    maskedFrame,
    openPair,
    parseResponse,
    rfcRandom,
)


def _flip(data: bytes) -> bytes:
    """
    Every byte of C{data} with all its bits inverted.
    """
    return bytes(b ^ 0xFF for b in data)


class _FlipMessage:
    """
    A per-message extension on RSV2 that inverts every byte of a message
    (chunk by chunk, so it needs no state).  With C{expand}, decoding
    doubles every byte instead, ignoring its limit, as a faulty extension
    might.
    """

    rsvBits = 0x20

    def __init__(self, name: str, expand: bool = False) -> None:
        self.name = name
        self.expand = expand

    def encodeMessage(self, payload: bytes, isText: bool) -> tuple[int, bytes]:
        return self.rsvBits, _flip(payload)

    def decodeChunk(self, data: bytes, rsv: int, limit: int) -> bytes:
        if self.expand:
            return bytes(b for b in _flip(data) for _ in (0, 1))
        return _flip(data)

    def decodeEnd(self, rsv: int, limit: int) -> bytes:
        return b""

    def responseParams(self) -> str:
        return self.name


class _HoldFrame:
    """
    A per-frame extension on RSV2 that sends each frame unchanged with its
    bit set and, on the way in, holds a frame's data back until the frame
    ends.
    """

    rsvBits = 0x20
    perFrame = True

    def __init__(self, name: str) -> None:
        self.name = name
        self.held = b""
        self.frameEnds = 0

    def encodeMessage(self, payload: bytes, isText: bool) -> tuple[int, bytes]:
        raise AssertionError("a per-frame extension encodes frames, not messages")

    def encodeFrame(self, payload: bytes, isText: bool, fin: bool) -> tuple[int, bytes]:
        return self.rsvBits, payload

    def decodeChunk(self, data: bytes, rsv: int, limit: int) -> bytes:
        self.held += data
        return b""

    def decodeFrameEnd(self, rsv: int, limit: int) -> bytes:
        self.frameEnds += 1
        held, self.held = self.held, b""
        return held

    def decodeEnd(self, rsv: int, limit: int) -> bytes:
        raise AssertionError("a per-frame extension ends frames, not messages")

    def responseParams(self) -> str:
        return self.name


class _Factory:
    """
    Negotiates one of the extensions above, by name, on either side.
    """

    def __init__(self, name: str, make) -> None:
        self.name = name
        self.make = make
        self.made: list = []

    def _new(self):
        ext = self.make(self.name)
        self.made.append(ext)
        return ext

    def acceptOffer(self, offers):
        return self._new()

    def offer(self) -> str:
        return self.name

    def acceptResponse(self, params):
        return self._new()


def _frames(data: bytes) -> list[tuple[int, bytes]]:
    """
    Split unmasked frames of under 126 bytes into (first byte, payload).
    """
    frames = []
    while data:
        n = data[1]
        assert n < 126, "only short frames are expected here"
        frames.append((data[0], data[2 : 2 + n]))
        data = data[2 + n :]
    return frames


class ReprAndModuleTests(SynchronousTestCase):
    """
    A connection's repr, the roles' former module, and event equality with
    other types.
    """

    def test_connectionRepr(self) -> None:
        """
        A connection's repr names its class, its version (C{?} until the
        handshake decides it) and its state.
        """
        server = ServerConnection(Options())
        self.assertEqual(repr(server), "<ServerConnection ? CONNECTING>")
        client, server = openPair(Version.HYBI08)
        self.assertEqual(repr(server), "<ServerConnection hybi-08 OPEN>")
        self.assertEqual(repr(client), "<ClientConnection hybi-08 OPEN>")
        client.close(1000)
        self.assertEqual(repr(client), "<ClientConnection hybi-08 LOCAL_CLOSING>")

    def test_rolesFromFormerModule(self) -> None:
        """
        The roles can still be read from the module they lived in before,
        where they are the public classes; any other missing name raises
        L{AttributeError} naming the module.
        """
        self.assertIs(_connection.ServerConnection, ServerConnection)
        self.assertIs(_connection.ClientConnection, ClientConnection)
        with self.assertRaises(AttributeError) as ctx:
            _connection.NoSuchRole  # noqa: B018
        self.assertEqual(
            str(ctx.exception),
            "module 'twisted_ws.codec._connection' has no attribute 'NoSuchRole'",
        )

    def test_eventNotEqualToOtherTypes(self) -> None:
        """
        An event equals only an event of the same type with the same
        fields: not its data alone, nor an event of another type.
        """
        event = TextMessage("hello")
        self.assertEqual(event, TextMessage("hello"))
        self.assertNotEqual(event, "hello")
        self.assertNotEqual(event, BytesMessage(b"hello"))
        self.assertIs(event.__eq__("hello"), NotImplemented)


class DeflateSurfaceTests(SynchronousTestCase):
    """
    The deflate extensions' reprs and the shared encoding of a message
    shorter than their C{minSize}.
    """

    def test_factoryAndExtensionReprs(self) -> None:
        """
        The factories' reprs show their offers; a negotiated extension's
        shows its name and parameters as in the header.
        """
        self.assertEqual(
            repr(PerMessageDeflate()),
            "<PerMessageDeflate offer 'permessage-deflate; client_max_window_bits'>",
        )
        self.assertEqual(
            repr(DeflateFrame(noContextTakeover=True)),
            "<DeflateFrame offer 'x-webkit-deflate-frame; no_context_takeover'>",
        )
        client, server = openPair(
            Version.RFC6455,
            serverOptions=Options(extensions=(PerMessageDeflate(serverNoContextTakeover=True),)),
            clientOptions=Options(extensions=(PerMessageDeflate(),)),
        )
        self.assertEqual(
            repr(server.extensions[0]),
            "<PerMessageDeflateExtension 'permessage-deflate; server_no_context_takeover'>",
        )

    def test_sharedEncodingBelowMinSize(self) -> None:
        """
        L{encodeForKey} leaves a message shorter than the key's C{minSize}
        uncompressed (no RSV bit), as the connection itself sends it, and
        compresses a longer one.
        """
        client, server = openPair(
            Version.RFC6455,
            serverOptions=Options(
                extensions=(PerMessageDeflate(serverNoContextTakeover=True, minSize=10),)
            ),
            clientOptions=Options(extensions=(PerMessageDeflate(),)),
        )
        key = server.extensions[0].sharedEncodingKey()
        self.assertIsNotNone(key)
        self.assertEqual(encodeForKey(key, b"short"), (0, b"short"))
        server.sendTextMessage("short")
        self.assertEqual(server.dataToSend(), b"\x81\x05short")
        bits, data = encodeForKey(key, b"a" * 40)
        self.assertEqual(bits, 0x40)
        self.assertLess(len(data), 40)
        server.sendBytesMessage(b"a" * 40)
        self.assertEqual(client.receiveData(server.dataToSend()), [BytesMessage(b"a" * 40)])

    def test_sharedEncodingKeyOfSeveral(self) -> None:
        """
        L{sharedEncodingKeyOf} of several extensions is the tuple of their
        keys in order, or L{None} when any of them has no key or no
        C{sharedEncodingKey} at all.
        """

        class Keyed:
            def __init__(self, key: object) -> None:
                self.key = key

            def sharedEncodingKey(self) -> object:
                return self.key

        self.assertEqual(sharedEncodingKeyOf([]), ())
        self.assertEqual(sharedEncodingKeyOf([Keyed("a")]), ("a",))
        self.assertEqual(sharedEncodingKeyOf([Keyed("a"), Keyed(("b", 1))]), ("a", ("b", 1)))
        self.assertIsNone(sharedEncodingKeyOf([Keyed("a"), Keyed(None)]))
        self.assertIsNone(sharedEncodingKeyOf([Keyed("a"), object()]))
        self.assertIsNone(sharedEncodingKeyOf([object()]))


class MixedExtensionTests(SynchronousTestCase):
    """
    A per-frame extension (deflate-frame, or one that holds a frame's data
    until its end) negotiated together with a per-message one.
    """

    def test_deflateFrameWithMessageExtension(self) -> None:
        """
        With deflate-frame (RSV1, per frame) and a per-message extension
        (RSV2) that encodes first, a message that compresses goes out with both bits and
        comes back whole; a message too short to compress goes out with
        RSV2 only, and the receiver passes it through the per-message
        extension alone.
        """
        client, server = openPair(
            Version.RFC6455,
            serverOptions=Options(
                extensions=(_Factory("flip", _FlipMessage), DeflateFrame(minSize=2))
            ),
            clientOptions=Options(
                extensions=(_Factory("flip", _FlipMessage), DeflateFrame(minSize=2))
            ),
        )
        self.assertEqual([e.name for e in server.extensions], ["flip", "x-webkit-deflate-frame"])
        text = "compressible " * 20
        server.sendTextMessage(text)
        wire = server.dataToSend()
        self.assertEqual(wire[0], 0x80 | 0x40 | 0x20 | 0x1)
        self.assertLess(len(wire), len(text))
        self.assertEqual(client.receiveData(wire), [TextMessage(text)])

        server.sendBytesMessage(b"x")
        wire = server.dataToSend()
        self.assertEqual(wire, bytes([0x80 | 0x20 | 0x2, 1]) + _flip(b"x"))
        self.assertEqual(client.receiveData(wire), [BytesMessage(b"x")])

    def test_deflateFrameArrivingByteByByte(self) -> None:
        """
        With a fragment size, deflate-frame compresses each fragment on its
        own (RSV1 on every frame); a frame whose payload arrives over
        several reads is inflated when its last byte arrives.
        """
        options = Options(extensions=(DeflateFrame(),), fragmentSize=40)
        client, server = openPair(Version.RFC6455, serverOptions=options, clientOptions=options)
        text = "byte by byte, " * 10
        server.sendTextMessage(text)
        wire = server.dataToSend()
        self.assertEqual([b0 for b0, _ in _frames(wire)], [0x40 | 0x1, 0x40, 0x40, 0x80 | 0x40])
        events: list = []
        for i in range(len(wire)):
            events.extend(client.receiveData(wire[i : i + 1]))
        self.assertEqual(events, [TextMessage(text)])
        self.assertIs(client.state, State.OPEN)

    def test_frameExtensionTailAtFrameEnd(self) -> None:
        """
        A per-frame extension that holds a frame's data back gives it at
        the frame's end, whether the frame came in one read or in pieces.
        """
        options = Options(extensions=(_Factory("hold", _HoldFrame),), fragmentSize=4)
        client, server = openPair(Version.RFC6455, serverOptions=options, clientOptions=options)
        client.sendBytesMessage(b"held back")
        wire = client.dataToSend()
        self.assertEqual(wire[0], 0x20 | 0x2)
        self.assertEqual(server.receiveData(wire), [BytesMessage(b"held back")])
        hold = server.extensions[0]
        self.assertEqual(hold.frameEnds, 3)
        events: list = []
        client.sendBytesMessage(b"again, in pieces")
        wire = client.dataToSend()
        for i in range(0, len(wire), 3):
            events.extend(server.receiveData(wire[i : i + 3]))
        self.assertEqual(events, [BytesMessage(b"again, in pieces")])
        self.assertEqual(hold.frameEnds, 3 + 4)
        self.assertEqual(hold.held, b"")

    def test_extensionExceedingMessageLimit(self) -> None:
        """
        An extension that decodes a message to more than C{maxMessageSize}
        bytes, ignoring the limit it is given, still fails the connection
        with 1009.
        """
        client, server = openPair(
            Version.RFC6455,
            serverOptions=Options(
                extensions=(_Factory("grow", lambda n: _FlipMessage(n, expand=True)),),
                maxMessageSize=10,
            ),
            clientOptions=Options(extensions=(_Factory("grow", _FlipMessage),)),
        )
        client.sendBytesMessage(b"123456")
        events = server.receiveData(client.dataToSend())
        self.assertEqual(
            events, [ConnectionFailed(1009, "message of more than 10 bytes exceeds the limit")]
        )
        self.assertEqual(server.closeCode, 1009)
        self.assertTrue(server.shouldCloseTransport)

    def test_twoExtensionsSameRsvBits(self) -> None:
        """
        A server that accepts two offered extensions that both use RSV2
        fails the client's handshake with L{NegotiationError}.
        """
        client = ClientConnection(
            "server.example.com",
            "/chat",
            options=Options(
                extensions=(_Factory("hold", _HoldFrame), _Factory("flip", _FlipMessage))
            ),
            randomSource=rfcRandom,
        )
        request = client.dataToSend()
        self.assertIn(b"\r\nSec-WebSocket-Extensions: hold, flip\r\n", request)
        response = HYBI_RESPONSE[:-2] + b"Sec-WebSocket-Extensions: hold, flip\r\n\r\n"
        events = client.receiveData(response)
        self.assertEqual(len(events), 1)
        self.assertIsInstance(events[0], HandshakeFailed)
        self.assertEqual(events[0].reason, "two negotiated extensions use the same RSV bits")
        self.assertIsInstance(client.cause, NegotiationError)
        self.assertIs(client.state, State.CLOSED)


    def test_framingThatCannotBeBuilt(self) -> None:
        """
        An extension that raises while the framing is built (after the
        response was accepted) fails the handshake: the connection does not
        move to OPEN with nothing able to send or receive.
        """

        class _Broken(_HoldFrame):
            @property
            def perFrame(self) -> bool:  # type: ignore[override]
                raise RuntimeError("broken extension")

        client = ClientConnection(
            "server.example.com",
            "/chat",
            options=Options(extensions=(_Factory("hold", _Broken),)),
            randomSource=rfcRandom,
        )
        client.dataToSend()
        response = HYBI_RESPONSE[:-2] + b"Sec-WebSocket-Extensions: hold\r\n\r\n"
        [event] = client.receiveData(response)
        self.assertIsInstance(event, HandshakeFailed)
        self.assertIn("broken extension", event.reason)
        self.assertIs(client.state, State.CLOSED)
        self.assertRaises(LocalProtocolError, client.sendTextMessage, "x")


class HandshakeEdgeTests(SynchronousTestCase):
    """
    Heads and requests at the edges of what the handshake reads and writes.
    """

    def test_emptyLineInsideHead(self) -> None:
        """
        L{parseHead} refuses a head with an empty line inside it, with 400
        and a message naming what the head is.
        """
        with self.assertRaises(PeerError) as ctx:
            parseHead(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nUpgrade: websocket", "request")
        self.assertEqual(ctx.exception.status, 400)
        self.assertEqual(ctx.exception.reason, "empty line inside the request head")

    def test_foldedHeaderLine(self) -> None:
        """
        A server refuses a request whose header line is folded onto the
        next (obsolete in HTTP/1.1) with 400.
        """
        request = hybiRequest(13).replace(b"\r\nUpgrade: websocket", b"\r\nUpgrade:\r\n websocket")
        server = ServerConnection(Options())
        events = server.receiveData(request)
        self.assertEqual([type(e) for e in events], [HandshakeFailed])
        self.assertEqual(events[0].status, 400)
        self.assertEqual(events[0].reason, "obsolete header line folding in the request")
        status, _, _ = parseResponse(server.dataToSend())
        self.assertEqual(status, 400)

    def test_426WithoutHybiVersions(self) -> None:
        """
        A server that speaks only hixie versions answers a hybi request with
        426 and C{Upgrade}, but no C{Sec-WebSocket-Version} to advertise.
        """
        server = ServerConnection(Options(versions=(Version.HIXIE75, Version.HIXIE76)))
        events = server.receiveData(hybiRequest(13))
        self.assertEqual([type(e) for e in events], [HandshakeFailed])
        self.assertEqual(events[0].status, 426)
        status, headers, _ = parseResponse(server.dataToSend())
        self.assertEqual(status, 426)
        self.assertEqual(headers["upgrade"], "websocket")
        self.assertNotIn("sec-websocket-version", headers)

        server = ServerConnection(Options())
        server.receiveData(hybiRequest(99))
        status, headers, _ = parseResponse(server.dataToSend())
        self.assertEqual(status, 426)
        self.assertEqual(headers["sec-websocket-version"], "13, 8, 7")

    def test_detectVersionFromHeaderList(self) -> None:
        """
        L{detectVersion} takes the headers as a plain list of pairs too.
        """
        allowed = frozenset(Version)
        self.assertIs(detectVersion([("Sec-WebSocket-Version", "8")], allowed), Version.HYBI08)
        self.assertIs(detectVersion([("Host", "example.com")], allowed), Version.HIXIE75)
        with self.assertRaises(PeerError) as ctx:
            detectVersion([("Sec-WebSocket-Version", "13")], frozenset({Version.HIXIE76}))
        self.assertEqual(ctx.exception.status, 426)

    def test_requestHeadNotWritable(self) -> None:
        """
        L{requestHead} writes a request built from parsed headers back as
        its head, or gives C{b""} when a value cannot be written so that it
        reads back the same: one that ISO-8859-1 cannot encode, or one with
        whitespace at an end.
        """

        def build(value: str) -> HandshakeRequest:
            return HandshakeRequest(
                "GET",
                "/chat?x=1",
                [("Host", "example.com"), ("X-Name", value)],
                Version.RFC6455,
                "example.com",
                None,
                (),
                [],
                "dGhlIHNhbXBsZSBub25jZQ==",
                False,
            )

        self.assertEqual(
            requestHead(build("caf\xe9")),
            b"GET /chat?x=1 HTTP/1.1\r\nHost: example.com\r\nX-Name: caf\xe9",
        )
        self.assertEqual(requestHead(build("\u20ac uro")), b"")
        self.assertEqual(requestHead(build(" padded")), b"")

    def test_serverKeepsRebuildableRequestAsHead(self) -> None:
        """
        A request fed to the server as parsed headers is kept as its head
        after L{accept} and rebuilt, equal, when read again.
        """
        headers = [
            ("Host", "example.com"),
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("Sec-WebSocket-Version", "13"),
            ("X-Name", "caf\xe9"),
        ]
        server = ServerConnection(Options())
        events = server.receiveRequest("GET", "/chat?x=1", "HTTP/1.1", headers)
        self.assertEqual([type(e) for e in events], [RequestReceived])
        before = server.request
        server.accept()
        self.assertIs(server.state, State.OPEN)
        self.assertEqual(server.requestPath, "/chat")
        after = server.request
        self.assertIsNot(after, before)
        self.assertEqual(after.headers, headers)
        self.assertEqual(after.target, "/chat?x=1")


class ReceivePathTests(SynchronousTestCase):
    """
    Letting go of received text before the connection opens, and the close
    frame owed after a protocol error.
    """

    def test_releaseReceivedTextBeforeOpen(self) -> None:
        """
        L{releaseReceivedText} before the handshake has nothing to let go
        of: it changes nothing, and the handshake goes on.
        """
        client = ClientConnection("example.com", "/", randomSource=rfcRandom)
        request = client.dataToSend()
        client.releaseReceivedText()
        self.assertEqual(client.dataToSend(), b"")
        self.assertIs(client.state, State.CONNECTING)
        server = ServerConnection(Options())
        server.releaseReceivedText()
        self.assertEqual([type(e) for e in server.receiveData(request)], [RequestReceived])

    def test_answerCloseAfterProtocolError(self) -> None:
        """
        After the peer broke the protocol, the close frame owed to it
        carries the error's code, once, and the connection closes.
        """
        client, server = openPair(Version.RFC6455)
        events = server.receiveData(maskedFrame(0x80 | 0x3, b"x"))
        self.assertEqual([type(e) for e in events], [ConnectionFailed])
        self.assertEqual(events[0].code, 1002)
        self.assertIs(server.state, State.REMOTE_CLOSING)
        server.answerClose()
        out = server.dataToSend()
        self.assertEqual(out[:4], b"\x88\x02\x03\xea")
        self.assertIs(server.state, State.CLOSED)
        server.answerClose()
        self.assertEqual(server.dataToSend(), b"")


class SpeedupsFallbackTests(SynchronousTestCase):
    """
    When the compiled helpers cannot be imported, the codec runs on its
    pure-Python paths.
    """

    def test_importErrorFallsBack(self) -> None:
        """
        With the compiled module made unimportable in a new interpreter (and
        the environment not turning it off), L{_accel.speedups} is L{None}
        and masking and UTF-8 checks are not accelerated, yet still work.
        """
        root = str(Path(twisted_ws.__file__).resolve().parent.parent)
        env = dict(os.environ)
        env.pop("TWISTED_WS_NO_SPEEDUPS", None)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
        script = (
            "import sys\n"
            "sys.modules['twisted_ws.codec._speedups'] = None\n"
            "from twisted_ws.codec import _accel, _mask, _utf8, mask\n"
            "print(_accel.speedups, _mask.accelerated, _utf8.accelerated,\n"
            "      mask(b'abcd', b'\\x01\\x02\\x03\\x04').hex(), _utf8.isUtf8(b'\\xed\\xa0\\x80'))\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", script],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        self.assertEqual(out.stdout.split(), ["None", "False", "False", "60606060", "False"])
