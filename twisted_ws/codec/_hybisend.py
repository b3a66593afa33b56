"""
The sending half of the hybi framing: messages (encoded by the negotiated
extensions, fragmented if asked), control frames and the close frame, masked
on a client.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ._deflate import sharedEncodingKeyOf
from ._errors import ConnectionClosedError, LocalProtocolError
from ._framing import Framer
from ._hybiwire import (
    JOIN_LIMIT,
    OP_BINARY,
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    encodeClosePayload,
    header,
)
from ._mask import maskAfter

if TYPE_CHECKING:
    from ._extensions import Extension

__all__ = ["HybiSender"]


class HybiSender(Framer):
    """
    The sending methods of L{HybiFramer<twisted_ws.codec._hybi.HybiFramer>},
    which sets the attributes they use.
    """

    __slots__ = (
        "_isClient",
        "_fragmentSize",
        "_extensions",
        "_perFrameBits",
        "_random",
        "_maskPool",
        "_sharedFrameKey",
    )
    _isClient: bool
    _fragmentSize: int | None
    _extensions: tuple[Extension, ...]
    _perFrameBits: int
    _random: Callable[[int], bytes]
    _maskPool: bytes
    _sharedFrameKey: tuple | None

    def _nextMask(self) -> bytes:
        pool = self._maskPool
        if len(pool) < 4:
            pool = self._random(256)
        self._maskPool = pool[4:]
        return pool[:4]

    def _sendFrame(self, b0: int, payload: bytes) -> None:
        n = len(payload)
        if self._isClient:
            key = self._nextMask()
            self._out.append(maskAfter(payload, key, header(b0, n, 0x80) + key))
        elif n < JOIN_LIMIT:
            self._out.append(header(b0, n) + payload)
        else:
            self._out.append(header(b0, n))
            self._out.append(payload)

    def _sendMessage(self, opcode: int, payload: bytes, isText: bool) -> None:
        if self.sendDone:
            self.refuseSend()
        rsv = 0
        perFrame = self._perFrameBits
        for ext in self._extensions:
            if not ext.rsvBits & perFrame:
                bits, payload = ext.encodeMessage(payload, isText)
                rsv |= bits
        size = self._fragmentSize
        if perFrame:
            self._sendEncodedFrames(opcode | rsv, payload, isText)
            return
        if size is None or len(payload) <= size:
            self._sendFrame(0x80 | rsv | opcode, payload)
            return
        view = memoryview(payload)
        last = len(payload) - size
        offset = 0
        b0 = rsv | opcode
        while offset < last:
            self._sendFrame(b0, bytes(view[offset : offset + size]))
            b0 = OP_CONTINUATION
            offset += size
        self._sendFrame(0x80 | b0, bytes(view[offset:]))

    def _sendEncodedFrames(self, b0: int, payload: bytes, isText: bool) -> None:
        """
        Send C{payload} in frames of at most C{fragmentSize} (or one), each
        encoded on its own by the extensions that encode frames.
        C{b0} holds the opcode and the message's RSV bits, which go on the
        first frame only.
        """
        size = self._fragmentSize or len(payload) or 1
        perFrame = self._perFrameBits
        offset = 0
        total = len(payload)
        while True:
            piece = payload[offset : offset + size]
            offset += size
            fin = offset >= total
            frameRsv = 0
            for ext in self._extensions:
                if ext.rsvBits & perFrame:
                    bits, piece = ext.encodeFrame(piece, isText, fin)  # type: ignore[attr-defined]
                    frameRsv |= bits
            self._sendFrame((0x80 if fin else 0) | b0 | frameRsv, piece)
            if fin:
                return
            b0 = OP_CONTINUATION

    def sendText(self, text: str | bytes) -> None:
        """
        Queue a text message.
        """
        payload = self._encodeText(text)
        self._sendMessage(OP_TEXT, payload, True)

    def sendBinary(self, data: bytes) -> None:
        """
        Queue a binary message.
        """
        self._sendMessage(OP_BINARY, bytes(data), False)

    def _sendControl(self, opcode: int, data: bytes) -> None:
        if self.sendDone:
            raise ConnectionClosedError(
                "cannot send a control frame after the connection started closing"
            )
        data = bytes(data)
        if len(data) > 125:
            raise LocalProtocolError(f"control frame payload of {len(data)} bytes; at most 125")
        self._sendFrame(0x80 | opcode, data)

    def sendPing(self, data: bytes) -> None:
        """
        Queue a ping.
        """
        self._sendControl(OP_PING, data)

    def sendPong(self, data: bytes) -> None:
        """
        Queue a pong.
        """
        self._sendControl(OP_PONG, data)

    def sendClose(self, code: int | None, reason: str) -> None:
        """
        Queue a close frame; nothing may be sent after it.
        """
        payload = encodeClosePayload(code, reason)
        self._sendControl(OP_CLOSE, payload)
        self.sendDone = True

    def preparedKey(self) -> tuple | None:
        """
        The key under which a L{PreparedMessage}'s frame, built once, may be
        sent as it is on this connection: the empty tuple for a server
        connection with no extension, the extensions' shared encoding key
        (see C{sharedEncodingKeyOf}) when each of them encodes a message
        the same way on every connection with the same settings; L{None}
        for a client (which masks), with outgoing fragmentation, or with an
        extension whose encoding depends on what was sent before (context
        takeover).  A broadcast asks once per receiver, and the answer
        cannot change (the settings are the connection's for its life): it
        is worked out once, by L{_findPreparedKey}.
        """
        return self._sharedFrameKey

    def _findPreparedKey(self) -> tuple | None:
        if self._isClient or self._fragmentSize is not None:
            return None
        if not self._extensions:
            return ()
        return sharedEncodingKeyOf(self._extensions)  # type: ignore[return-value]

