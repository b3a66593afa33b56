"""
Tests of the codec's behaviour that the mutation runs (C{tools/mutation.sh})
showed no other test pinned down: exact error messages and close codes,
header lengths at their boundaries, and the bytes produced, each through the
codec's public API.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from twisted_ws.codec import (
    BytesMessage,
    ConnectionClosedError,
    ConnectionFailed,
    LocalProtocolError,
    Options,
    Ping,
    ServerConnection,
    Version,
    mask,
)

from ._support.codec import (
    RFC_MASK,
    maskedFrame,
    openClient,
    openServer,
    plainFrame,
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
