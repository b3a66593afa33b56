"""
Tests of the codec's behaviour that the mutation runs (C{tools/mutation.sh})
showed no other test pinned down: exact error messages and close codes,
header lengths at their boundaries, and the bytes produced, each through the
codec's public API.
"""

from __future__ import annotations

from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from twisted_ws.codec import (
    BytesMessage,
    ClientConnection,
    CloseReceived,
    ConnectionClosedError,
    ConnectionFailed,
    HandshakeFailed,
    LocalProtocolError,
    Options,
    PeerError,
    Ping,
    RequestReceived,
    ServerConnection,
    TextMessage,
    Version,
    mask,
)
from twisted_ws.codec.handshake import parseHead, readHead, validateRequest

from ._support.codec import (
    HYBI_RESPONSE,
    RFC_KEY,
    RFC_MASK,
    hybiRequest,
    maskedFrame,
    openClient,
    openServer,
    plainFrame,
    rfcRandom,
)


def failureOf(conn, data: bytes) -> tuple[int, str]:
    """
    Feed C{data} to C{conn}, which must fail on it, and return the code and
    reason of the L{ConnectionFailed} event.
    """
    events = conn.receiveData(data)
    failed = [e for e in events if isinstance(e, ConnectionFailed)]
    assert len(failed) == 1, events
    return failed[0].code, failed[0].reason


class RecordingExtension:
    """
    A negotiated extension that passes data through unchanged (setting its
    RSV bits on what it encodes), records every call the framing makes to
    it, and releases C{tail} at the end of each message (or, when
    C{perFrame}, of each frame) it decodes.
    """

    def __init__(self, name: str, rsvBits: int, perFrame: bool, tail: bytes, calls: list) -> None:
        self.name = name
        self.rsvBits = rsvBits
        self.perFrame = perFrame
        self.tail = tail
        self.calls = calls

    def encodeMessage(self, payload: bytes, isText: bool) -> tuple[int, bytes]:
        self.calls.append(("encode", self.name, payload, isText))
        return self.rsvBits, payload

    def encodeFrame(self, payload: bytes, isText: bool, fin: bool) -> tuple[int, bytes]:
        self.calls.append(("encodeFrame", self.name, payload, isText, fin))
        return self.rsvBits, payload

    def decodeChunk(self, data: bytes, rsv: int, limit: int) -> bytes:
        self.calls.append(("chunk", self.name, bytes(data), rsv, limit))
        return bytes(data)

    def decodeEnd(self, rsv: int, limit: int) -> bytes:
        self.calls.append(("end", self.name, rsv, limit))
        return self.tail

    def decodeFrameEnd(self, rsv: int, limit: int) -> bytes:
        self.calls.append(("frameEnd", self.name, rsv, limit))
        return self.tail

    def responseParams(self) -> str:
        return self.name


class RecordingFactory:
    """
    Negotiates a L{RecordingExtension} named C{name}.
    """

    def __init__(self, name: str, rsvBits: int, perFrame: bool, tail: bytes, calls: list) -> None:
        self.name = name
        self._args = (rsvBits, perFrame, tail, calls)

    def acceptOffer(self, offers: list) -> RecordingExtension:
        return RecordingExtension(self.name, *self._args)

    def offer(self) -> str:
        return self.name

    def acceptResponse(self, params: dict) -> RecordingExtension:
        return RecordingExtension(self.name, *self._args)


def recordingServer(
    *specs: tuple[str, int, bool, bytes], **options: Any
) -> tuple[ServerConnection, list]:
    """
    An open server connection (maxMessageSize 100, and C{options}) that
    negotiated a L{RecordingExtension} for each (name, rsvBits, perFrame,
    tail) of C{specs}, in that order, and the list their calls are recorded
    in.
    """
    calls: list = []
    factories = tuple(RecordingFactory(*spec, calls) for spec in specs)
    conn = ServerConnection(Options(extensions=factories, maxMessageSize=100, **options))
    offer = ", ".join(spec[0] for spec in specs)
    events = conn.receiveData(hybiRequest(extra=f"Sec-WebSocket-Extensions: {offer}\r\n"))
    assert [type(e) for e in events] == [RequestReceived], events
    conn.accept()
    response = conn.dataToSend()
    assert f"Sec-WebSocket-Extensions: {offer}\r\n".encode() in response, response
    return conn, calls


class CloseFrameErrorTests(SynchronousTestCase):
    """
    The errors a malformed close frame from the peer is reported with.
    """

    def test_oneBytePayload(self) -> None:
        """
        A close frame with a 1-byte payload (half a close code) fails the
        connection with 1002 and says why.
        """
        server = openServer(Version.RFC6455)
        self.assertEqual(
            failureOf(server, maskedFrame(0x88, b"\x03")),
            (1002, "close frame with a 1-byte payload"),
        )

    def test_invalidCode(self) -> None:
        """
        A close frame with a code that may not be sent (1005) fails the
        connection with 1002 and names the code.
        """
        server = openServer(Version.RFC6455)
        self.assertEqual(
            failureOf(server, maskedFrame(0x88, b"\x03\xed")),
            (1002, "invalid close code 1005"),
        )

    def test_invalidReason(self) -> None:
        """
        A close frame whose reason is not UTF-8 fails the connection with
        1007, says why, and the close frame sent carries 1007.
        """
        server = openServer(Version.RFC6455)
        self.assertEqual(
            failureOf(server, maskedFrame(0x88, b"\x03\xe8\xff")),
            (1007, "close reason is not valid UTF-8"),
        )
        self.assertEqual(server.dataToSend(), b"\x88\x02\x03\xef")


class PlainServerSendTests(SynchronousTestCase):
    """
    The frames a server connection with no extension sends, at the
    boundary between the 7-bit and the 16-bit length.
    """

    def test_text125(self) -> None:
        """
        A 125-byte text message goes in one frame with a 2-byte header.
        """
        server = openServer(Version.RFC6455)
        server.sendTextMessage("a" * 125)
        self.assertEqual(server.dataToSend(), b"\x81\x7d" + b"a" * 125)

    def test_text126(self) -> None:
        """
        A 126-byte text message takes the 16-bit length.
        """
        server = openServer(Version.RFC6455)
        server.sendTextMessage("a" * 126)
        self.assertEqual(server.dataToSend(), b"\x81\x7e\x00\x7e" + b"a" * 126)

    def test_binary125(self) -> None:
        """
        A 125-byte binary message goes in one frame with a 2-byte header.
        """
        server = openServer(Version.RFC6455)
        server.sendBytesMessage(b"b" * 125)
        self.assertEqual(server.dataToSend(), b"\x82\x7d" + b"b" * 125)

    def test_binary126(self) -> None:
        """
        A 126-byte binary message takes the 16-bit length.
        """
        server = openServer(Version.RFC6455)
        server.sendBytesMessage(b"b" * 126)
        self.assertEqual(server.dataToSend(), b"\x82\x7e\x00\x7e" + b"b" * 126)


class StreamedPayloadTests(SynchronousTestCase):
    """
    A frame whose header arrives in one read and whose payload arrives in
    the next, together with the following frame.
    """

    def test_unmaskedPayloadIsBytes(self) -> None:
        """
        A client delivers the payload of such a frame as C{bytes}, not as a
        view of the read it came in, and then the frame after it.
        """
        client = openClient()
        self.assertEqual(client.receiveData(b"\x82\x05"), [])
        events = client.receiveData(b"hello\x82\x01x")
        self.assertEqual([type(e) for e in events], [BytesMessage, BytesMessage])
        self.assertIs(type(events[0].data), bytes)
        self.assertEqual([e.data for e in events], [b"hello", b"x"])


def server(**options) -> ServerConnection:
    """
    An open RFC 6455 server connection with C{options}.
    """
    return openServer(Version.RFC6455, Options(**options))


class PeerErrorTests(SynchronousTestCase):
    """
    Each way a peer breaks the framing rules fails the connection with its
    own close code and a reason that names what was wrong.
    """

    def assertFails(self, conn, data: bytes, code: int, reason: str) -> None:
        self.assertEqual(failureOf(conn, data), (code, reason))

    def test_maskedFromServer(self) -> None:
        self.assertFails(openClient(), maskedFrame(0x81, b"hi"), 1002, "server sent a masked frame")

    def test_unmaskedFromClient(self) -> None:
        self.assertFails(server(), plainFrame(0x81, b"hi"), 1002, "client sent an unmasked frame")

    def test_invalidUtf8Whole(self) -> None:
        """
        A whole text frame of invalid UTF-8 is reported with the decoder's
        reason.
        """
        self.assertFails(
            server(),
            maskedFrame(0x81, b"\xff"),
            1007,
            "invalid UTF-8 in a text message: invalid start byte",
        )

    def test_invalidUtf8Fragment(self) -> None:
        self.assertFails(
            server(),
            maskedFrame(0x01, b"a") + maskedFrame(0x80, b"\xff"),
            1007,
            "invalid UTF-8 in a text message",
        )

    def test_truncatedUtf8(self) -> None:
        self.assertFails(
            server(),
            maskedFrame(0x01, b"\xc3") + maskedFrame(0x80, b""),
            1007,
            "invalid UTF-8 in a text message: it ends inside a character",
        )

    def test_rsvWithoutExtension(self) -> None:
        self.assertFails(
            server(),
            maskedFrame(0xC1, b"hi"),
            1002,
            "RSV bits 0x40 set without a negotiated extension",
        )

    def test_reservedControlOpcode(self) -> None:
        self.assertFails(server(), maskedFrame(0x8B, b""), 1002, "reserved control opcode 0xb")

    def test_fragmentedControl(self) -> None:
        self.assertFails(server(), maskedFrame(0x09, b""), 1002, "fragmented control frame")

    def test_longControl(self) -> None:
        self.assertFails(
            server(),
            maskedFrame(0x89, b"x" * 126),
            1002,
            "control frame with a 126-byte payload (at most 125)",
        )

    def test_control125(self) -> None:
        """
        A ping of 125 bytes, the most a control frame holds, is accepted.
        """
        events = server().receiveData(maskedFrame(0x89, b"x" * 125))
        self.assertEqual(events, [Ping(b"x" * 125)])

    def test_continuationWithoutMessage(self) -> None:
        self.assertFails(
            server(),
            maskedFrame(0x80, b"x"),
            1002,
            "continuation frame with no message to continue",
        )

    def test_newMessageInsideMessage(self) -> None:
        self.assertFails(
            server(),
            maskedFrame(0x01, b"x") + maskedFrame(0x01, b"y"),
            1002,
            "new message started before the previous one finished",
        )

    def test_reservedDataOpcode(self) -> None:
        self.assertFails(server(), maskedFrame(0x83, b"x"), 1002, "reserved data opcode 0x3")

    def test_frameOverLimit(self) -> None:
        self.assertFails(
            server(maxFrameSize=10),
            maskedFrame(0x81, b"x" * 11),
            1009,
            "frame of 11 bytes exceeds the limit of 10",
        )

    def test_frameAtLimit(self) -> None:
        """
        A frame of exactly C{maxFrameSize} bytes is accepted.
        """
        events = server(maxFrameSize=10).receiveData(maskedFrame(0x82, b"x" * 10))
        self.assertEqual(events, [BytesMessage(b"x" * 10)])

    def test_messageOverLimit(self) -> None:
        self.assertFails(
            server(maxMessageSize=10),
            maskedFrame(0x01, b"x" * 6) + maskedFrame(0x80, b"x" * 6),
            1009,
            "message of more than 10 bytes exceeds the limit",
        )

    def test_messageAtLimit(self) -> None:
        """
        A fragmented message of exactly C{maxMessageSize} bytes is accepted.
        """
        events = server(maxMessageSize=10).receiveData(
            maskedFrame(0x02, b"x" * 6) + maskedFrame(0x80, b"y" * 4)
        )
        self.assertEqual(events, [BytesMessage(b"x" * 6 + b"y" * 4)])

    def test_fragmentAtLimitAfterMessage(self) -> None:
        """
        The size of a fragmented message just received does not count against the
        next one: a first fragment of exactly C{maxMessageSize} bytes is
        accepted after it.
        """
        conn = server(maxMessageSize=10)
        first = maskedFrame(0x01, b"x") + maskedFrame(0x80, b"")
        self.assertEqual(conn.receiveData(first), [TextMessage("x")])
        events = conn.receiveData(maskedFrame(0x01, b"y" * 10) + maskedFrame(0x80, b""))
        self.assertEqual(events, [TextMessage("y" * 10)])


class LocalErrorTests(SynchronousTestCase):
    """
    What this side may not send is refused with an error that says why.
    """

    def assertRaisesWith(self, exception: type, message: str, f, *args) -> None:
        error = self.assertRaises(exception, f, *args)
        self.assertEqual(str(error), message)

    def test_longPing(self) -> None:
        self.assertRaisesWith(
            LocalProtocolError,
            "control frame payload of 126 bytes; at most 125",
            server().ping,
            b"x" * 126,
        )

    def test_longPong(self) -> None:
        self.assertRaisesWith(
            LocalProtocolError,
            "control frame payload of 126 bytes; at most 125",
            server().pong,
            b"x" * 126,
        )

    def test_ping125(self) -> None:
        conn = server()
        conn.ping(b"x" * 125)
        self.assertEqual(conn.dataToSend(), b"\x89\x7d" + b"x" * 125)

    def test_closeCodeNotSendable(self) -> None:
        self.assertRaisesWith(
            LocalProtocolError,
            "close code 1005 may not be sent in a close frame",
            server().close,
            1005,
        )

    def test_reasonWithoutCode(self) -> None:
        self.assertRaisesWith(
            LocalProtocolError, "a close reason needs a close code", server().close, None, "why"
        )

    def test_longReason(self) -> None:
        """
        A reason is measured in bytes of UTF-8: 62 two-byte characters are
        124 bytes, one too many; 123 bytes fit.
        """
        self.assertRaisesWith(
            LocalProtocolError,
            "close reason is 124 bytes of UTF-8; at most 123 fit",
            server().close,
            1000,
            "\u00e9" * 62,
        )
        conn = server()
        conn.close(1000, "r" * 123)
        self.assertEqual(conn.dataToSend(), b"\x88\x7d\x03\xe8" + b"r" * 123)

    def test_controlAfterClose(self) -> None:
        conn = server()
        conn.close(1000)
        self.assertEqual(conn.dataToSend(), b"\x88\x02\x03\xe8")
        for send in (conn.ping, conn.pong):
            self.assertRaisesWith(
                ConnectionClosedError,
                "cannot send a control frame after the connection started closing",
                send,
                b"",
            )

    def test_clientControlFrames(self) -> None:
        """
        A client masks its pings, pongs and close frames, empty or not.
        """
        client = openClient()
        client.ping(b"abc")
        client.pong(b"")
        client.close(None)
        key = RFC_MASK
        self.assertEqual(
            client.dataToSend(),
            b"\x89\x83" + key + mask(b"abc", key) + b"\x8a\x80" + key + b"\x88\x80" + key,
        )


class ExtensionCallTests(SynchronousTestCase):
    """
    The calls the framing makes to the negotiated extensions while a
    message arrives: which extensions decode which data, with which RSV
    bits, and with what room left under C{maxMessageSize}.
    """

    def test_onlyTheExtensionsOfTheBits(self) -> None:
        """
        A message whose first frame carries only the second extension's bit
        is decoded by that extension alone, each chunk with the room left
        under the limit, and its tail is taken at the message's end.
        """
        conn, calls = recordingServer(("rec-a", 0x40, False, b"A"), ("rec-b", 0x20, False, b"B"))
        events = conn.receiveData(maskedFrame(0x21, b"ab") + maskedFrame(0x80, b"cd"))
        self.assertEqual(events, [TextMessage("abcdB")])
        self.assertEqual(
            calls,
            [
                ("chunk", "rec-b", b"ab", 0x20, 100),
                ("chunk", "rec-b", b"cd", 0x20, 98),
                ("end", "rec-b", 0x20, 96),
            ],
        )

    def test_tailThroughEarlierExtension(self) -> None:
        """
        With both bits set, the last negotiated extension decodes first, and
        its tail goes through the earlier one, whose own tail then has one
        byte less room.
        """
        conn, calls = recordingServer(("rec-a", 0x40, False, b"A"), ("rec-b", 0x20, False, b"B"))
        events = conn.receiveData(maskedFrame(0x61, b"ab") + maskedFrame(0x80, b"cd"))
        self.assertEqual(events, [TextMessage("abcdBA")])
        self.assertEqual(
            calls,
            [
                ("chunk", "rec-b", b"ab", 0x60, 100),
                ("chunk", "rec-a", b"ab", 0x60, 100),
                ("chunk", "rec-b", b"cd", 0x60, 98),
                ("chunk", "rec-a", b"cd", 0x60, 98),
                ("end", "rec-b", 0x60, 96),
                ("chunk", "rec-a", b"B", 0x60, 96),
                ("end", "rec-a", 0x60, 95),
            ],
        )

    def test_perFrameExtensions(self) -> None:
        """
        Extensions that encode frames decode only the frames that carry
        their bits, are asked for their tail at the end of each such frame
        (not after each chunk), and a later one's tail goes through the
        earlier one.
        """
        conn, calls = recordingServer(("rec-f", 0x10, True, b"F"), ("rec-g", 0x20, True, b"G"))
        events = conn.receiveData(maskedFrame(0x11, b"ab") + maskedFrame(0xB0, b"cd"))
        self.assertEqual(events, [TextMessage("abFcdGF")])
        self.assertEqual(
            calls,
            [
                ("chunk", "rec-f", b"ab", 0x10, 100),
                ("frameEnd", "rec-f", 0x10, 98),
                ("chunk", "rec-g", b"cd", 0x30, 97),
                ("chunk", "rec-f", b"cd", 0x30, 97),
                ("frameEnd", "rec-g", 0x30, 95),
                ("chunk", "rec-f", b"G", 0x30, 95),
                ("frameEnd", "rec-f", 0x30, 94),
            ],
        )

    def test_perFrameStreamed(self) -> None:
        """
        A frame of a per-frame extension that arrives in two reads is
        decoded chunk by chunk and its tail taken once, at its end.
        """
        conn, calls = recordingServer(("rec-f", 0x10, True, b"F"))
        frame = maskedFrame(0x92, b"abcd")
        self.assertEqual(conn.receiveData(frame[:8]), [])
        self.assertEqual(conn.receiveData(frame[8:]), [BytesMessage(b"abcdF")])
        self.assertEqual(
            calls,
            [
                ("chunk", "rec-f", b"ab", 0x10, 100),
                ("chunk", "rec-f", b"cd", 0x10, 98),
                ("frameEnd", "rec-f", 0x10, 96),
            ],
        )


class FragmentationTests(SynchronousTestCase):
    """
    With C{fragmentSize}, a message longer than it is sent in frames of that
    size, the last holding the rest; one no longer goes in one frame.
    """

    def sent(self, text: str) -> bytes:
        conn = server(fragmentSize=4)
        conn.sendTextMessage(text)
        return conn.dataToSend()

    def test_rest(self) -> None:
        self.assertEqual(self.sent("abcdefghij"), b"\x01\x04abcd\x00\x04efgh\x80\x02ij")

    def test_multiple(self) -> None:
        self.assertEqual(self.sent("abcdefgh"), b"\x01\x04abcd\x80\x04efgh")

    def test_exactlyOneFragment(self) -> None:
        self.assertEqual(self.sent("abcd"), b"\x81\x04abcd")

    def test_empty(self) -> None:
        self.assertEqual(self.sent(""), b"\x81\x00")


class ClientMaskTests(SynchronousTestCase):
    """
    A client takes its masking keys four bytes at a time from blocks of 256
    random bytes, asking for the next block only when one is used up.
    """

    def test_maskBlocks(self) -> None:
        requests: list[int] = []

        def randomSource(n: int) -> bytes:
            requests.append(n)
            if n == 16:
                return b"the sample nonce"
            return bytes(range(n))

        client = ClientConnection("server.example.com", "/chat", randomSource=randomSource)
        client.dataToSend()
        client.receiveData(HYBI_RESPONSE)
        self.assertEqual(requests, [16])
        for _ in range(64):
            client.sendBytesMessage(b"")
        frames = client.dataToSend()
        self.assertEqual(requests, [16, 256])
        self.assertEqual(
            frames, b"".join(b"\x82\x80" + bytes(range(i, i + 4)) for i in range(0, 256, 4))
        )
        client.sendBytesMessage(b"")
        self.assertEqual(client.dataToSend(), b"\x82\x80\x00\x01\x02\x03")
        self.assertEqual(requests, [16, 256, 256])


class ExtensionEncodingTests(SynchronousTestCase):
    """
    The calls the framing makes to the negotiated extensions while a
    message is sent, and the RSV bits of the frames that result.
    """

    def test_perMessageAndPerFrame(self) -> None:
        """
        A per-message extension encodes the whole message, then each
        fragment is encoded by every per-frame extension, in the order they
        were negotiated, told whether it is text and whether it is the last;
        the first frame carries every extension's bits, the others the
        per-frame extensions' bits only.
        """
        conn, calls = recordingServer(
            ("rec-a", 0x40, False, b""), ("rec-f", 0x10, True, b""), ("rec-g", 0x20, True, b"")
        )
        conn.sendTextMessage("abcde")
        conn.sendBytesMessage(b"xy")
        self.assertEqual(conn.dataToSend(), b"\xf1\x05abcde\xf2\x02xy")
        self.assertEqual(
            calls,
            [
                ("encode", "rec-a", b"abcde", True),
                ("encodeFrame", "rec-f", b"abcde", True, True),
                ("encodeFrame", "rec-g", b"abcde", True, True),
                ("encode", "rec-a", b"xy", False),
                ("encodeFrame", "rec-f", b"xy", False, True),
                ("encodeFrame", "rec-g", b"xy", False, True),
            ],
        )

    def test_perFrameFragments(self) -> None:
        """
        With C{fragmentSize}, each fragment is encoded on its own, and only
        the last is told it is.
        """
        conn, calls = recordingServer(
            ("rec-f", 0x10, True, b""), ("rec-g", 0x20, True, b""), fragmentSize=3
        )
        conn.sendBytesMessage(b"abcde")
        self.assertEqual(conn.dataToSend(), b"\x32\x03abc\xb0\x02de")
        self.assertEqual(
            calls,
            [
                ("encodeFrame", "rec-f", b"abc", False, False),
                ("encodeFrame", "rec-g", b"abc", False, False),
                ("encodeFrame", "rec-f", b"de", False, True),
                ("encodeFrame", "rec-g", b"de", False, True),
            ],
        )


def closingOf(conn) -> tuple:
    """
    What C{conn} says of its closing: state name, close code and reason,
    whether it was clean, started by the peer, owes its close frame, and
    should end TCP.
    """
    return (
        conn.state.name,
        conn.closeCode,
        conn.closeReason,
        conn.wasClean,
        conn.closedByPeer,
        conn.closeAnswerPending,
        conn.shouldCloseTransport,
    )


class ClosingReadingTests(SynchronousTestCase):
    """
    The readings of a connection's closing at each step of the ways it
    closes.
    """

    def test_open(self) -> None:
        """
        An open connection has no close code, an empty reason, and nothing
        else set.
        """
        self.assertEqual(closingOf(server()), ("OPEN", None, "", False, False, False, False))

    def test_peerCloses(self) -> None:
        conn = server()
        events = conn.receiveData(maskedFrame(0x88, b"\x03\xe9bye"))
        self.assertEqual(events, [CloseReceived(1001, "bye")])
        self.assertEqual(closingOf(conn), ("REMOTE_CLOSING", 1001, "bye", True, True, True, True))
        conn.answerClose()
        self.assertEqual(conn.dataToSend(), b"\x88\x02\x03\xe9")
        self.assertEqual(closingOf(conn), ("CLOSED", 1001, "bye", True, True, False, True))

    def test_thisSideCloses(self) -> None:
        conn = server()
        conn.close(1000, "done")
        self.assertEqual(closingOf(conn), ("LOCAL_CLOSING", None, "", False, False, False, False))
        conn.receiveData(maskedFrame(0x88, b"\x03\xe8"))
        self.assertEqual(closingOf(conn), ("CLOSED", 1000, "", True, False, False, True))

    def test_peerError(self) -> None:
        conn = server()
        conn.receiveData(maskedFrame(0x83, b""))
        expected = ("REMOTE_CLOSING", 1002, "reserved data opcode 0x3", False, False, True, True)
        self.assertEqual(closingOf(conn), expected)
        self.assertEqual(conn.dataToSend(), b"\x88\x02\x03\xea")
        self.assertEqual(closingOf(conn), ("CLOSED",) + expected[1:5] + (False, True))

    def test_endedWithoutClosing(self) -> None:
        conn = server()
        self.assertEqual(conn.receiveEOF(), [])
        self.assertEqual(
            closingOf(conn),
            (
                "CLOSED",
                1006,
                "connection ended without a closing handshake",
                False,
                True,
                False,
                True,
            ),
        )


class Utf8Tests(SynchronousTestCase):
    """
    UTF-8 validation of text messages as their fragments arrive.
    """

    def fragment(self, data: bytes) -> list:
        return server().receiveData(maskedFrame(0x01, data))

    def test_encodedSurrogateFailsEarly(self) -> None:
        """
        A fragment that ends in C{ED A0} (the start of an encoded UTF-16
        surrogate) fails at once, before the character's third byte; so
        does C{ED BF}.
        """
        for data in (b"a\xed\xa0", b"\xed\xbf"):
            self.assertEqual(
                self.fragment(data),
                [ConnectionFailed(1007, "invalid UTF-8 in a text message")],
                data,
            )

    def test_pendingCharacterAccepted(self) -> None:
        """
        A fragment that ends inside a character that may still be valid
        (C{ED} alone, or C{ED 9F}, the start of U+D7FF) waits for the rest.
        """
        for data in (b"a\xed", b"a\xed\x9f"):
            self.assertEqual(self.fragment(data), [], data)
        conn = server()
        events = conn.receiveData(maskedFrame(0x01, b"a\xed\x9f") + maskedFrame(0x80, b"\xbf"))
        self.assertEqual(events, [TextMessage("a\ud7ff")])

    def test_undecodedText(self) -> None:
        """
        With C{decodeText} off, whole text frames are still checked: valid
        ones (ASCII or not) are delivered, an invalid one fails with 1007.
        """
        conn = server()
        conn.decodeText = False
        events = conn.receiveData(
            maskedFrame(0x81, b"\xc3\xa9") + maskedFrame(0x81, b"ab") + maskedFrame(0x81, b"\xc3")
        )
        self.assertEqual(
            events,
            [
                TextMessage("\u00e9"),
                TextMessage("ab"),
                ConnectionFailed(1007, "invalid UTF-8 in a text message"),
            ],
        )


#: The headers of a valid RFC 6455 opening request, as a caller that parsed
#: the head itself passes them to C{receiveRequest}.
REQUEST_HEADERS = [
    ("Host", "server.example.com"),
    ("Upgrade", "websocket"),
    ("Connection", "Upgrade"),
    ("Sec-WebSocket-Key", RFC_KEY),
    ("Sec-WebSocket-Version", "13"),
]


class HandshakeRefusalTests(SynchronousTestCase):
    """
    The HTTP responses a server refuses an opening request with, byte for
    byte, and the checks of headers parsed elsewhere.
    """

    def test_unsupportedVersion(self) -> None:
        conn = ServerConnection()
        [event] = conn.receiveData(hybiRequest(wire=99))
        self.assertEqual(
            (event.status, event.reason), (426, "unsupported Sec-WebSocket-Version '99'")
        )
        self.assertEqual(
            conn.dataToSend(),
            b"HTTP/1.1 426 Upgrade Required\r\n"
            b"Content-Type: text/plain; charset=utf-8\r\n"
            b"Content-Length: 39\r\n"
            b"Connection: close\r\n"
            b"Upgrade: websocket\r\n"
            b"Sec-WebSocket-Version: 13, 8, 7\r\n"
            b"\r\n"
            b"unsupported Sec-WebSocket-Version '99'\n",
        )

    def test_notGet(self) -> None:
        conn = ServerConnection()
        [event] = conn.receiveData(hybiRequest().replace(b"GET", b"POST", 1))
        self.assertEqual(event.status, 405)
        self.assertEqual(
            conn.dataToSend(),
            b"HTTP/1.1 405 Method Not Allowed\r\n"
            b"Content-Type: text/plain; charset=utf-8\r\n"
            b"Content-Length: 48\r\n"
            b"Connection: close\r\n"
            b"Allow: GET\r\n"
            b"\r\n"
            b"method POST is not allowed; WebSocket needs GET\n",
        )

    def refusal(self, header: tuple[str, str]) -> tuple[int, str, bytes]:
        conn = ServerConnection()
        [event] = conn.receiveRequest("GET", "/chat", "HTTP/1.1", REQUEST_HEADERS + [header])
        self.assertIsInstance(event, HandshakeFailed)
        return event.status, event.reason, conn.dataToSend().split(b"\r\n", 1)[0]

    def test_headerName(self) -> None:
        """
        A header name that is not a token is refused with 400, and at most
        80 characters of it are quoted.
        """
        self.assertEqual(
            self.refusal(("Bad Name", "x")),
            (400, "malformed header name 'Bad Name'", b"HTTP/1.1 400 Bad Request"),
        )
        self.assertEqual(
            self.refusal(("B" * 99 + " ", "x")),
            (400, f"malformed header name '{'B' * 80}'", b"HTTP/1.1 400 Bad Request"),
        )

    def test_headerValue(self) -> None:
        """
        A header value with a control character, or one not in ISO-8859-1,
        is refused with 400.
        """
        for value, name in (("a\x01b", "X-A"), ("\u0100", "X-B")):
            self.assertEqual(
                self.refusal((name, value)),
                (400, f"invalid character in header {name}", b"HTTP/1.1 400 Bad Request"),
            )

    def rejected(self, status: int, reason: str) -> bytes:
        conn = ServerConnection()
        conn.receiveData(hybiRequest())
        conn.reject(status, reason)
        return conn.dataToSend()

    def test_rejectUnknownStatus(self) -> None:
        """
        A status with no reason phrase of its own is sent with C{Error}.
        """
        self.assertEqual(
            self.rejected(499, "nope"),
            b"HTTP/1.1 499 Error\r\n"
            b"Content-Type: text/plain; charset=utf-8\r\n"
            b"Content-Length: 5\r\n"
            b"Connection: close\r\n"
            b"\r\n"
            b"nope\n",
        )

    def test_rejectUnencodableReason(self) -> None:
        """
        A reason that UTF-8 cannot encode (a lone surrogate) is sent with
        the character escaped rather than failing.
        """
        response = self.rejected(403, "bad \ud800 x")
        self.assertTrue(response.startswith(b"HTTP/1.1 403 Forbidden\r\n"), response)
        self.assertTrue(response.endswith(b"\r\n\r\nbad \\ud800 x\n"), response)
        self.assertIn(b"\r\nContent-Length: 13\r\n", response)

    def test_quotedPartsCut(self) -> None:
        """
        Refusals quote at most 20 characters of a wrong HTTP version and 80
        of a request target or a malformed request line.
        """
        conn = ServerConnection()
        [event] = conn.receiveRequest("GET", "/chat", "HTTP/1.0" + "x" * 30, REQUEST_HEADERS)
        self.assertEqual(event.reason, f"WebSocket needs HTTP/1.1, not 'HTTP/1.0{'x' * 12}'")
        conn = ServerConnection()
        [event] = conn.receiveRequest("GET", "x" * 100, "HTTP/1.1", REQUEST_HEADERS)
        self.assertEqual(event.reason, f"request target '{'x' * 80}' is not a path")
        conn = ServerConnection()
        [event] = conn.receiveData(b"G" * 100 + b"\r\nHost: a\r\n\r\n")
        self.assertEqual(event.reason, f"malformed request line '{'G' * 80}'")

    def test_connectionTokens(self) -> None:
        """
        The tokens of C{Connection} are split on commas, with or without
        spaces after them.
        """
        conn = ServerConnection()
        request = hybiRequest().replace(b"Connection: Upgrade", b"Connection: keep-alive,Upgrade")
        self.assertEqual([type(e) for e in conn.receiveData(request)], [RequestReceived])


class HalvingExtension(RecordingExtension):
    """
    A L{RecordingExtension} whose decoding keeps every other byte, so that a
    message it decodes is half its size on the wire.
    """

    def decodeChunk(self, data: bytes, rsv: int, limit: int) -> bytes:
        super().decodeChunk(data, rsv, limit)
        return bytes(data)[::2]


class HalvingFactory(RecordingFactory):
    """
    Negotiates a L{HalvingExtension} named C{name}.
    """

    def acceptOffer(self, offers: list) -> RecordingExtension:
        return HalvingExtension(self.name, *self._args)


class FrameHeaderTests(SynchronousTestCase):
    """
    The checks of a data or control frame's header that depend on what was
    negotiated and on what arrived before it.
    """

    def test_rsvOnControlFrame(self) -> None:
        """
        A ping with the bit of a negotiated extension fails the connection
        with 1002 and says that control frames carry no RSV bits.
        """
        conn, _ = recordingServer(("rec-a", 0x40, False, b""))
        self.assertEqual(
            failureOf(conn, maskedFrame(0xC9, b"")), (1002, "RSV bits set on a control frame")
        )

    def test_rsvOnContinuation(self) -> None:
        """
        A continuation frame with the bit of an extension that encodes whole
        messages fails the connection with 1002 and says why.
        """
        conn, _ = recordingServer(("rec-a", 0x40, False, b""))
        self.assertEqual(
            failureOf(conn, maskedFrame(0x41, b"a") + maskedFrame(0xC0, b"b")),
            (1002, "RSV bits set on a continuation frame"),
        )

    def test_compressedMessageLimitedByDecodedSize(self) -> None:
        """
        A message with an extension's bit is held to C{maxMessageSize} by
        the size its frames decode to, not by their size on the wire: a
        first frame of 120 bytes and a continuation of 80, which decode to
        60 and 40 bytes, fit under a limit of 100.
        """
        calls: list = []
        conn = ServerConnection(
            Options(
                extensions=(HalvingFactory("half", 0x40, False, b"", calls),), maxMessageSize=100
            )
        )
        conn.receiveData(hybiRequest(extra="Sec-WebSocket-Extensions: half\r\n"))
        conn.accept()
        self.assertIn(b"Sec-WebSocket-Extensions: half\r\n", conn.dataToSend())
        events = conn.receiveData(maskedFrame(0x41, b"ab" * 60) + maskedFrame(0x80, b"ab" * 40))
        self.assertEqual(events, [TextMessage("a" * 100)])

    def test_firstFragmentAtLimit(self) -> None:
        """
        On a new connection, a first fragment of exactly C{maxMessageSize}
        bytes is accepted: nothing counts against the first message.
        """
        events = server(maxMessageSize=10).receiveData(
            maskedFrame(0x01, b"y" * 10) + maskedFrame(0x80, b"")
        )
        self.assertEqual(events, [TextMessage("y" * 10)])

    def test_invalidTextAtLimits(self) -> None:
        """
        A whole text frame of exactly C{maxFrameSize}, or exactly
        C{maxMessageSize}, bytes is read as any whole frame within the
        limits: invalid UTF-8 in it is reported with the decoder's reason.
        """
        for options in ({"maxFrameSize": 10}, {"maxMessageSize": 10}):
            self.assertEqual(
                failureOf(server(**options), maskedFrame(0x81, b"\xff" * 10)),
                (1007, "invalid UTF-8 in a text message: invalid start byte"),
                options,
            )

    def test_lengthWithTopBit(self) -> None:
        """
        A 64-bit length with its most significant bit set fails the
        connection with 1002, and the connection reports that code and
        reason as how it closed.
        """
        conn = server()
        self.assertEqual(
            failureOf(conn, b"\x82\xff\x80" + b"\x00" * 7 + RFC_MASK),
            (1002, "frame length has its most significant bit set"),
        )
        self.assertEqual(
            (conn.closeCode, conn.closeReason),
            (1002, "frame length has its most significant bit set"),
        )

    def test_maskedFrameCloseCode(self) -> None:
        """
        A client that fails on a masked frame reports 1002 and the reason
        as how it closed.
        """
        client = openClient()
        client.receiveData(maskedFrame(0x81, b"hi"))
        self.assertEqual(
            (client.closeCode, client.closeReason), (1002, "server sent a masked frame")
        )

    def test_partial16BitLengthAfterFrame(self) -> None:
        """
        A frame whose 16-bit length has not fully arrived, after a whole
        frame in the same read, waits for the rest of its header.
        """
        for cut in (2, 3):
            conn = server()
            second = maskedFrame(0x82, b"x" * 200)
            events = conn.receiveData(maskedFrame(0x81, b"a") + second[:cut])
            self.assertEqual(events, [TextMessage("a")], cut)
            self.assertEqual(conn.receiveData(second[cut:]), [BytesMessage(b"x" * 200)], cut)


class ChunkTests(SynchronousTestCase):
    """
    How a server's frames are handed over as chunks (C{chunksToSend}):
    payloads shorter than 4096 bytes are joined to their header, longer
    ones follow it as a chunk of their own.
    """

    def test_joinLimit(self) -> None:
        """
        A 4095-byte binary message is one chunk, header and payload; a
        4096-byte one is two.
        """
        conn = server()
        conn.sendBytesMessage(b"x" * 4095)
        self.assertEqual(conn.chunksToSend(), [b"\x82\x7e\x0f\xff" + b"x" * 4095])
        conn.sendBytesMessage(b"y" * 4096)
        self.assertEqual(conn.chunksToSend(), [b"\x82\x7e\x10\x00", b"y" * 4096])


class HeadParsingTests(SynchronousTestCase):
    """
    The public head functions of C{twisted_ws.codec.handshake}: where a head
    ends, how its header lines are read, and the status and reason of each
    error they raise.
    """

    def assertPeerError(self, status: int, reason: str, f, *args) -> None:
        error = self.assertRaises(PeerError, f, *args)
        self.assertEqual((error.status, error.reason), (status, reason))

    def test_readHeadDefaults(self) -> None:
        """
        By default C{readHead} looks from the first byte, so that a head
        may be empty, and calls what it reads a request head.
        """
        self.assertEqual(readHead(b"\r\n\r\n", 4), 0)
        self.assertPeerError(431, "request head exceeds 10 bytes", readHead, b"x" * 11, 10)

    def test_readHeadLimitCountsTheHead(self) -> None:
        """
        A complete head within the limit is accepted however many bytes
        follow it, the empty head too.
        """
        self.assertEqual(readHead(b"\r\n\r\n" + b"x" * 20, 10), 0)
        self.assertEqual(readHead(b"a\r\n\r\n" + b"x" * 20, 10), 1)

    def test_readHeadFrom(self) -> None:
        """
        C{readHead} looks for the head's end from C{start} only: the bytes
        before it are not searched again.
        """
        self.assertEqual(readHead(b"\r\n\r\nab\r\n\r\n", 100, "request", 2), 6)

    def test_responseFollowedByFrame(self) -> None:
        """
        A client's response head ends at its first empty line, even when a
        frame that holds CRLF CRLF arrives in the same read.
        """
        client = ClientConnection("server.example.com", "/chat", randomSource=rfcRandom)
        client.dataToSend()
        events = client.receiveData(HYBI_RESPONSE + plainFrame(0x81, b"\r\n\r\n"))
        self.assertEqual(events[1:], [TextMessage("\r\n\r\n")])

    def test_emptyLine(self) -> None:
        """
        An empty line inside a head given to C{parseHead} is refused with
        400; by default the head is called a request head.
        """
        self.assertPeerError(
            400, "empty line inside the request head", parseHead, b"GET / HTTP/1.1\r\n\r\nX: y"
        )

    def test_folding(self) -> None:
        """
        A header line that starts with a space or a tab (obsolete line
        folding) is refused with 400, as a request by default.
        """
        for head in (b"GET / HTTP/1.1\r\nX: y\r\n z", b"GET / HTTP/1.1\r\nX: y\r\n\tz"):
            self.assertPeerError(
                400, "obsolete header line folding in the request", parseHead, head
            )
        conn = ServerConnection()
        [event] = conn.receiveData(hybiRequest(extra=" folded\r\n"))
        self.assertEqual(
            (event.status, event.reason), (400, "obsolete header line folding in the request")
        )

    def test_malformedLine(self) -> None:
        """
        A header line without a colon, or whose name is not a token, is
        refused with 400, quoting at most 80 characters of it.
        """
        for line in ("Foo", "Bad Name: x"):
            self.assertPeerError(
                400,
                f"malformed header line {line!r}",
                parseHead,
                f"GET / HTTP/1.1\r\n{line}".encode(),
            )
        self.assertPeerError(
            400,
            f"malformed header line '{'B' * 80}'",
            parseHead,
            b"GET / HTTP/1.1\r\n" + b"B" * 99 + b" ",
        )

    def test_valueWhitespace(self) -> None:
        """
        Only spaces and tabs are stripped around a header value: other
        characters, C{X} or a no-break space, are kept.
        """
        self.assertEqual(
            parseHead(b"GET / HTTP/1.1\r\nX-A: \tXvX \t\r\nX-B: v\xa0"),
            ("GET / HTTP/1.1", [("X-A", "XvX"), ("X-B", "v\u00a0")]),
        )

    def test_controlCharacterInValue(self) -> None:
        """
        A control character in a header value, even at its end, is refused
        with 400 and names the header.
        """
        self.assertPeerError(
            400, "invalid character in header X-B", parseHead, b"GET / HTTP/1.1\r\nX-B: w\x0c"
        )

    def test_checkedHeaders(self) -> None:
        """
        C{validateRequest} refuses headers parsed elsewhere whose name is
        not a token, or whose value holds a control character, with 400.
        """
        for header, reason in (
            (("Bad Name", "x"), "malformed header name 'Bad Name'"),
            (("X-A", "a\x01b"), "invalid character in header X-A"),
        ):
            self.assertPeerError(
                400,
                reason,
                validateRequest,
                "GET",
                "/chat",
                "HTTP/1.1",
                REQUEST_HEADERS + [header],
                Options(),
            )


class ResponseHeaderTests(SynchronousTestCase):
    """
    The extra headers a server adds to its response.
    """

    def accepting(self) -> ServerConnection:
        conn = ServerConnection()
        conn.receiveData(hybiRequest())
        return conn

    def test_extraHeader(self) -> None:
        """
        An extra header is sent as given, C{X}s and all.
        """
        conn = self.accepting()
        conn.accept(headers=[("X-Served-By", "XYZ")])
        self.assertIn(b"\r\nX-Served-By: XYZ\r\n", conn.dataToSend())

    def test_invalidExtraHeader(self) -> None:
        """
        An extra header whose name is not a token, or whose value holds CR,
        LF or NUL, is refused with a L{LocalProtocolError} that names it.
        """
        for header, message in (
            (("Bad Name", "x"), "invalid header name 'Bad Name'"),
            (("X-A", "a\r\nb"), "invalid character in the value of header 'X-A'"),
            (("X-A", "a\x00b"), "invalid character in the value of header 'X-A'"),
        ):
            error = self.assertRaises(LocalProtocolError, self.accepting().accept, headers=[header])
            self.assertEqual(str(error), message)
