"""
Framing of hixie-75 and hixie-76 (hybi-00).

Both drafts carry text only: a frame C{00 <UTF-8> FF}.  A frame type with
its high bit set is followed by a length in base-128 digits and that many
bytes, which are discarded, except that on hixie-76 the frame C{FF 00} is
the closing handshake.  There are no control frames, no close codes and no
binary messages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._errors import LocalProtocolError, PeerError
from ._framing import Framer
from ._utf8 import Utf8Validator

if TYPE_CHECKING:
    from ._options import Options, Version

__all__ = ["HixieFramer"]

_CLOSE = b"\xff\x00"
#: A length prefix longer than this many base-128 digits is refused.
_MAX_LENGTH_DIGITS = 10


class HixieFramer(Framer):
    """
    Reads and writes the frames of one hixie-75 or hixie-76 connection.
    """

    __slots__ = (
        "_hasClosingHandshake",
        "_label",
        "_maxMessage",
        "_maxFrame",
        "_buf",
        "_frameType",
        "_parts",
        "_size",
        "_decoder",
        "_skip",
    )

    def __init__(
        self, out: list, version: Version, options: Options, decodeText: bool = True
    ) -> None:
        from ._options import Version

        super().__init__(out, decodeText)
        self._hasClosingHandshake = version is Version.HIXIE76
        self._label = version.label
        self._maxMessage = options.maxMessageSize
        self._maxFrame = options.maxFrameSize
        self._buf = b""
        # Inside a text frame: its type byte (or -1 outside one), its parts
        # so far, their size, and the UTF-8 validator.
        self._frameType = -1
        self._parts: list[bytes] = []
        self._size = 0
        self._decoder: Utf8Validator | None = None
        # Bytes still to discard of a length-prefixed frame.
        self._skip = 0

    def _receive(self, data: bytes, events: list) -> None:
        if self._skip:
            n = min(self._skip, len(data))
            self._skip -= n
            data = data[n:]
        buf = self._buf + data if self._buf else data
        self._buf = b""
        end = len(buf)
        pos = 0
        while pos < end:
            if self._frameType >= 0:
                stop = buf.find(b"\xff", pos)
                chunk = buf[pos : stop if stop >= 0 else end]
                self._textData(chunk, final=stop >= 0)
                if stop < 0:
                    return
                pos = stop + 1
                if self._frameType == 0:
                    self._finishText(events)
                self._frameType = -1
                self._parts = []
                self._size = 0
                self._decoder = None
                continue
            frameType = buf[pos]
            if not frameType & 0x80:
                self._frameType = frameType
                self._decoder = Utf8Validator() if frameType == 0 else None
                pos += 1
                continue
            length = 0
            i = pos + 1
            while True:
                if i >= end:
                    # At most _MAX_LENGTH_DIGITS digits so far: a longer
                    # prefix fails below as soon as its digit arrives.
                    self._buf = buf[pos:]
                    return
                b = buf[i]
                i += 1
                length = (length << 7) | (b & 0x7F)
                if not b & 0x80:
                    break
                if i - pos - 1 > _MAX_LENGTH_DIGITS:
                    raise PeerError("frame length prefix is too long", 1002)
            if frameType == 0xFF and length == 0 and self._hasClosingHandshake:
                self._closeFrame(1005, "", events)
                return
            if length > self._maxFrame:
                raise PeerError(
                    f"frame of {length} bytes exceeds the limit of {self._maxFrame}", 1009
                )
            if i + length > end:
                self._skip = i + length - end
                return
            pos = i + length

    def _textData(self, chunk: bytes, final: bool) -> None:
        self._size += len(chunk)
        if self._size > self._maxMessage:
            raise PeerError(
                f"message of more than {self._maxMessage} bytes exceeds the limit", 1009
            )
        validator = self._decoder
        if validator is None:
            return
        if not validator.feed(chunk):
            raise PeerError("invalid UTF-8 in a text message", 1007)
        if final and not validator.end():
            raise PeerError("invalid UTF-8 in a text message: it ends inside a character", 1007)
        if chunk:
            self._parts.append(chunk)

    def _finishText(self, events: list) -> None:
        parts = self._parts
        self._textMessage(parts[0] if len(parts) == 1 else b"".join(parts), events)

    def sendText(self, text: str | bytes) -> None:
        """
        Queue a text message.
        """
        if self.sendDone:
            self.refuseSend()
        self._out.append(b"\x00" + self._encodeText(text) + b"\xff")

    def sendBinary(self, data: bytes) -> None:
        """
        Binary messages do not exist on hixie connections.
        """
        raise LocalProtocolError(f"{self._label} has no binary messages; send text instead")

    def sendPing(self, data: bytes) -> None:
        """
        Pings do not exist on hixie connections.
        """
        raise LocalProtocolError(f"{self._label} has no ping frames")

    def sendPong(self, data: bytes) -> None:
        """
        Pongs do not exist on hixie connections.
        """
        raise LocalProtocolError(f"{self._label} has no pong frames")

    def sendClose(self, code: int | None, reason: str) -> None:
        """
        Queue hixie-76's closing handshake (hixie-75 has none: closing is
        ending the TCP connection).
        """
        if self._hasClosingHandshake and not self.sendDone:
            self._out.append(_CLOSE)
        self.sendDone = True

    def preparedKey(self) -> tuple:
        """
        Hixie frames are the same for every connection: the empty key.
        """
        return ()
