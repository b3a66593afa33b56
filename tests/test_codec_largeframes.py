"""
Large frames that arrive over several reads: an unfragmented binary frame
of at least C{_hybi._FILL_MIN} bytes is unmasked straight into the bytes
delivered (the compiled L{PayloadBuffer}), or, in pure Python, joined from
its pieces; both give the same messages whatever the cut of the reads.
"""

from __future__ import annotations

import os
import random

from twisted.trial.unittest import SynchronousTestCase

from twisted_ws.codec import (
    BytesMessage,
    ConnectionFailed,
    Options,
    Ping,
    TextMessage,
    _hybi,
    mask,
)

from ._support.codec import maskedFrame, receivers
from ._support.speedups import _importError, _speedups

_inCI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")
_OPTIONS = Options(maxMessageSize=4 << 20, maxFrameSize=4 << 20)
_KEY = b"\x37\xfa\x21\x3d"


def _cut(data: bytes, sizes: list[int]) -> list[bytes]:
    """
    C{data} in pieces of the given sizes, in turn, the last one shorter.
    """
    pieces = []
    pos = 0
    i = 0
    while pos < len(data):
        size = sizes[i % len(sizes)]
        pieces.append(data[pos : pos + size])
        pos += size
        i += 1
    return pieces


class CompiledPayloadBufferTests(SynchronousTestCase):
    """
    L{twisted_ws.codec._speedups.PayloadBuffer} unmasks what it is fed in
    place and hands out its payload once, only when full.
    """

    if _speedups is None and not _inCI:
        skip = f"twisted_ws.codec._speedups is not built: {_importError}"

    def setUp(self) -> None:
        if _speedups is None:
            self.fail(f"twisted_ws.codec._speedups must be built in CI: {_importError}")
        self.PayloadBuffer = _speedups.PayloadBuffer

    def test_piecesAgreeWithMask(self) -> None:
        """
        Pieces of every length, cutting the key anywhere, give what
        L{mask} gives for the whole payload; memoryviews are accepted.
        """
        rng = random.Random(1)
        data = rng.randbytes(200_003)
        for sizes in ([1], [3, 5, 7], [65536], [1, 70_000, 2]):
            buf = self.PayloadBuffer(len(data))
            for piece in _cut(data, sizes):
                buf.feed(memoryview(piece), _KEY)
            self.assertEqual(buf.remaining, 0)
            self.assertEqual(buf.take(), mask(data, _KEY))

    def test_emptyKeyCopies(self) -> None:
        """
        With an empty key the pieces are copied as they are.
        """
        buf = self.PayloadBuffer(6)
        buf.feed(b"abc", b"")
        self.assertEqual(buf.remaining, 3)
        buf.feed(b"def", b"")
        payload = buf.take()
        self.assertEqual(payload, b"abcdef")
        self.assertIsInstance(payload, bytes)

    def test_misuse(self) -> None:
        """
        Feeding too much, a key of the wrong length, taking early or twice,
        and a negative length are refused with a clear error.
        """
        buf = self.PayloadBuffer(4)
        self.assertRaises(ValueError, buf.feed, b"12345", _KEY)
        self.assertRaises(ValueError, buf.feed, b"12", b"xyz")
        self.assertRaises(TypeError, buf.feed, b"12")
        self.assertRaises(ValueError, buf.take)
        buf.feed(b"1234", _KEY)
        buf.take()
        self.assertRaises(ValueError, buf.take)
        self.assertRaises(ValueError, buf.feed, b"", _KEY)
        self.assertEqual(buf.remaining, 0)
        self.assertRaises(ValueError, self.PayloadBuffer, -1)
        self.assertRaises(TypeError, self.PayloadBuffer, "4")


class _LargeFrameMixin:
    """
    The messages of large frames read in pieces, for each role and hybi
    version; L{setUp} chooses the compiled buffer or the joining of pieces.
    """

    def check(self, payloads: list[tuple[int, bytes]], sizes: list[int]) -> None:
        for label, makeConn, frame in receivers(_OPTIONS):
            conn = makeConn()
            stream = b"".join(frame(b0, p) for b0, p in payloads) + frame(0x89, b"ping")
            events = []
            for piece in _cut(stream, sizes):
                events.extend(conn.receiveData(piece))
            got = [(type(e), e.data) for e in events]
            want: list[tuple[type, object]] = []
            parts: list[bytes] = []
            opcode = 0
            for b0, p in payloads:
                opcode = b0 & 0x0F or opcode
                parts.append(p)
                if b0 & 0x80:
                    joined = b"".join(parts)
                    if opcode == 2:
                        want.append((BytesMessage, joined))
                    else:
                        want.append((TextMessage, joined.decode()))
                    parts = []
            want.append((Ping, b"ping"))
            self.assertEqual(got, want, f"{label}, reads of {sizes}")  # type: ignore[attr-defined]

    def test_largeBinaryInPieces(self) -> None:
        """
        Binary frames just under, at and well over the threshold, cut into
        reads of many sizes, one after the other and followed by other
        frames in the same read, arrive whole and exact.
        """
        rng = random.Random(2)
        payloads = [
            (0x82, rng.randbytes(_hybi._FILL_MIN - 1)),
            (0x82, rng.randbytes(_hybi._FILL_MIN)),
            (0x82, rng.randbytes((1 << 20) + 3)),
            (0x81, ("é" * 40_000).encode()),
            (0x82, rng.randbytes(70_001)),
        ]
        for sizes in ([65536], [262144], [1 << 20], [9973, 1, 13], [4 << 20]):
            self.check(payloads, sizes)

    def test_fragmentedBinary(self) -> None:
        """
        A fragmented binary message (whose size is not known from its first
        frame) is joined from its frames as before.
        """
        rng = random.Random(3)
        payloads = [(0x02, rng.randbytes(100_000)), (0x80, rng.randbytes(90_000))]
        self.check(payloads, [30_000])

    def test_tooLarge(self) -> None:
        """
        A frame over the message limit fails the connection from its header
        alone, before any buffer for it exists.
        """
        conn = [mk for _, mk, _ in receivers(Options(maxMessageSize=100_000))][0]()
        frame = maskedFrame(0x82, b"\x00" * 100_001)
        events = conn.receiveData(frame[:1000])
        self.assertEqual([type(e) for e in events], [ConnectionFailed])
        self.assertEqual(events[0].code, 1009)


class CompiledLargeFrameTests(_LargeFrameMixin, SynchronousTestCase):
    """
    Large frames with the compiled L{PayloadBuffer}, when it is in use.
    """

    if _hybi.PayloadBuffer is None:
        skip = "the compiled helper is not in use (not built, or TWISTED_WS_NO_SPEEDUPS=1)"


class PurePythonLargeFrameTests(_LargeFrameMixin, SynchronousTestCase):
    """
    Large frames joined from their pieces, as in pure Python.
    """

    def setUp(self) -> None:
        self.patch(_hybi, "PayloadBuffer", None)

