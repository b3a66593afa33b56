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
    ConnectionFailed,
    Version,
)

from ._support.codec import (
    maskedFrame,
    openClient,
    openServer,
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
