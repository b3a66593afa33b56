"""
The receiving half of the hybi framing that gathers a data message: the
payload of its frames (decoded by the negotiated extensions, checked as
UTF-8 for text, within the size limit) until its last frame completes it.
"""

from __future__ import annotations

from ._errors import PeerError
from ._events import BytesMessage
from ._hybisend import HybiSender
from ._hybiwire import OP_TEXT
from ._utf8 import Utf8Validator

__all__ = ["HybiMessageReader", "NO_PARTS"]

#: The parts of no message (shared, never appended to).
NO_PARTS: list = []


class HybiMessageReader(HybiSender):
    """
    The message-gathering methods of
    L{HybiFramer<twisted_ws.codec._hybi.HybiFramer>}, which sets the
    attributes they use.
    """

    __slots__ = (
        "_maxMessage",
        "_msgOpcode",
        "_msgRsv",
        "_msgParts",
        "_msgSize",
        "_decoder",
        "_frameRsv",
    )
    _maxMessage: int
    _msgOpcode: int
    _msgRsv: int
    _msgParts: list
    _msgSize: int
    _decoder: Utf8Validator | None
    _frameRsv: int

    def _beginMessage(self, opcode: int, rsv: int) -> None:
        self._msgOpcode = opcode
        self._msgRsv = rsv
        self._msgSize = 0
        self._msgParts = []
        self._decoder = Utf8Validator() if opcode == OP_TEXT else None

    def _messageData(self, chunk: bytes) -> None:
        rsv = self._msgRsv | self._frameRsv
        if rsv:
            chunk = self._decodeExtensions(chunk, rsv)
        self._acceptData(chunk)

    def _acceptData(self, chunk: bytes) -> None:
        """
        Add decoded C{chunk} to the message being received, within the size
        limit and checking text as UTF-8.
        """
        self._msgSize += len(chunk)
        if self._msgSize > self._maxMessage:
            raise PeerError(
                f"message of more than {self._maxMessage} bytes exceeds the limit", 1009
            )
        validator = self._decoder
        if validator is not None and not validator.feed(chunk):
            raise PeerError("invalid UTF-8 in a text message", 1007)
        if chunk:
            self._msgParts.append(chunk)

    def _decodeExtensions(
        self, chunk: bytes, rsv: int, messageEnd: bool = False, frameEnd: bool = False
    ) -> bytes:
        """
        Pass C{chunk} of the message being received through the extensions
        that its RSV bits name, the last negotiated first (the reverse of
        the order they encode in).  At the end of the message (or, for an
        extension that encodes frames, of the frame), what each extension
        still holds goes through the extensions after it too.
        """
        limit = self._maxMessage - self._msgSize
        perFrame = self._perFrameBits
        for ext in reversed(self._extensions):
            bits = ext.rsvBits
            if bits & rsv:
                if chunk:
                    chunk = ext.decodeChunk(chunk, rsv, limit)
                if bits & perFrame:
                    if frameEnd:
                        chunk = chunk + ext.decodeFrameEnd(rsv, limit - len(chunk))  # type: ignore[attr-defined]
                elif messageEnd:
                    chunk = chunk + ext.decodeEnd(rsv, limit - len(chunk))
        return chunk

    def _endFrame(self) -> None:
        """
        A data frame with the RSV bits of an extension that encodes frames
        is complete: take what that extension still holds.
        """
        rsv, self._frameRsv = self._frameRsv, 0
        tail = self._decodeExtensions(b"", rsv | self._msgRsv, frameEnd=True)
        if tail:
            self._acceptData(tail)

    def _finishMessage(self, events: list) -> None:
        if self._msgRsv:
            tail = self._decodeExtensions(b"", self._msgRsv, messageEnd=True)
            self._msgRsv = 0
            if tail:
                self._acceptData(tail)
        parts = self._msgParts
        payload = parts[0] if len(parts) == 1 else b"".join(parts)
        validator = self._decoder
        if validator is None:
            events.append(BytesMessage(payload))
        elif not validator.end():
            raise PeerError("invalid UTF-8 in a text message: it ends inside a character", 1007)
        else:
            self._textMessage(payload, events)
        self._msgOpcode = 0
        self._msgRsv = 0
        self._msgSize = 0
        self._msgParts = NO_PARTS
        self._decoder = None
