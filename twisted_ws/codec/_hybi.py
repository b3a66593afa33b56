"""
Framing of hybi-07, hybi-08 and RFC 6455 (they share one wire format).

The receive loop walks an offset through the received bytes instead of
re-slicing the buffer for every frame, handles the common case (a whole,
unfragmented text or binary frame) inline, and streams the payload of a
frame that has not fully arrived chunk by chunk, unmasking and validating
each chunk as it comes, so that a large frame is never copied more than once
and invalid UTF-8 is caught as soon as it arrives.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ._errors import PeerError
from ._events import BytesMessage, Ping, Pong, TextMessage
from ._framing import REUSE_MIN
from ._hybimessage import NO_PARTS, HybiMessageReader
from ._hybiwire import (
    OP_BINARY,
    OP_CONTINUATION,
    OP_PING,
    OP_PONG,
    encodeServerFrame,
    isValidCloseCode,
    pack2,
)
from ._mask import PayloadBuffer, accelerated, mask, maskAt
from ._utf8 import Utf8Validator, isUtf8

_fromBytes = int.from_bytes

if TYPE_CHECKING:
    from ._extensions import Extension
    from ._options import Options

__all__ = ["HybiFramer", "PlainServerHybiFramer", "isValidCloseCode", "encodeServerFrame"]

#: Payloads shorter than this are unmasked inline in the receive loop.
_SMALL_MASK = 1024
#: Payloads at least this long are unmasked straight from the received
#: bytes, through a memoryview, instead of from a copy of their slice.
_VIEW_MIN = 8192
#: An unfragmented binary frame at least this long that does not arrive in
#: one read is unmasked, piece by piece, into the bytes object delivered
#: (a L{PayloadBuffer}, when compiled) instead of into pieces then joined.
_FILL_MIN = 64 * 1024


class HybiFramer(HybiMessageReader):
    """
    Reads and writes the frames of one hybi (7, 8 or 13) connection.

    Peer errors found while parsing are raised internally as L{PeerError} and
    reported by L{Framer.receive} as a L{ConnectionFailed} event.

    @param out: the list that frames to send are appended to.
    @param isClient: whether this is the client side (which masks what it
        sends and expects unmasked frames).
    @param options: the codec's L{Options}, for the limits, C{fragmentSize}
        and C{autoPong}.
    @param extensions: the negotiated extensions, in the order they were
        negotiated.
    @param randomSource: where a client's masks come from.
    @param decodeText: whether complete text messages are decoded.
    """

    __slots__ = (
        "_expectMask",
        "_maxFrame",
        "_autoPong",
        "_allowedRsv",
        "_buf",
        "_frameRemaining",
        "_frameKey",
        "_frameOffset",
        "_frameFin",
        "_filling",
    )

    def __init__(
        self,
        out: list,
        isClient: bool,
        options: Options,
        extensions: tuple[Extension, ...],
        randomSource: Callable[[int], bytes],
        decodeText: bool = True,
    ) -> None:
        super().__init__(out, decodeText)
        self._isClient = isClient
        self._expectMask = 0 if isClient else 0x80
        self._maxFrame = options.maxFrameSize
        self._maxMessage = options.maxMessageSize
        self._fragmentSize = options.fragmentSize
        self._autoPong = options.autoPong
        self._extensions = extensions
        self._sharedFrameKey = self._findPreparedKey()
        allowed = perFrame = 0
        for ext in extensions:
            allowed |= ext.rsvBits
            if getattr(ext, "perFrame", False):
                perFrame |= ext.rsvBits
        self._allowedRsv = allowed
        # The RSV bits of extensions that encode each frame on its own
        # (deflate-frame) rather than each message, and those bits on the
        # data frame being received.
        self._perFrameBits = perFrame
        self._frameRsv = 0
        self._random = randomSource
        self._maskPool = b""
        self._buf = b""
        # The message being received: its opcode (0 when none), RSV bits of its first
        # frame, unmasked (and decompressed) parts, size so far, and UTF-8 validator.
        self._msgOpcode = 0
        self._msgRsv = 0
        self._msgParts: list = NO_PARTS
        self._msgSize = 0
        self._decoder: Utf8Validator | None = None
        # The frame whose payload is still arriving (remaining > 0).
        self._frameRemaining = 0
        self._frameKey = b""
        self._frameOffset = 0
        self._frameFin = False
        # The PayloadBuffer that the arriving frame fills, if any.
        self._filling = None

    # Receiving.

    def _receive(self, data: bytes, events: list) -> None:
        pos = 0
        if self._frameRemaining:
            pos = self._feedPartial(data, events)
            if pos == len(data):
                return
        if self._buf:
            data = self._buf + (data[pos:] if pos else data)
            pos = 0
            self._buf = b""
        self._parse(data, events, pos)

    def _parse(self, buf: bytes, events: list, pos: int) -> None:
        """
        Parse the frames of C{buf} from C{pos}.  The common case, a whole
        unfragmented text or binary message with no extension bits, is
        handled inline (this loop is the hot path of every connection);
        every other frame goes to L{_otherFrame}.
        """
        end = len(buf)
        expectMask = self._expectMask
        decodeText = self.decodeText
        append = events.append
        while end - pos >= 2:
            b0 = buf[pos]
            b1 = buf[pos + 1]
            if b1 & 0x80 != expectMask:
                raise PeerError(
                    "server sent a masked frame"
                    if self._isClient
                    else "client sent an unmasked frame",
                    1002,
                )
            length = b1 & 0x7F
            if length < 126:
                hlen = 2
            elif length == 126:
                if end - pos < 4:
                    break
                length = (buf[pos + 2] << 8) | buf[pos + 3]
                hlen = 4
            else:
                if end - pos < 10:
                    break
                length = _fromBytes(buf[pos + 2 : pos + 10], "big")
                if length >> 63:
                    raise PeerError("frame length has its most significant bit set", 1002)
                hlen = 10
            if expectMask:
                hlen += 4
            pstart = pos + hlen
            if pstart > end:
                break
            pend = pstart + length
            if (
                (b0 == 0x82 or b0 == 0x81)
                and pend <= end
                and not self._msgOpcode
                and length <= self._maxFrame
                and length <= self._maxMessage
            ):
                # A whole unfragmented message without extension bits.
                if not expectMask:
                    payload = buf[pstart:pend]
                elif length < _SMALL_MASK and not accelerated:
                    # Inline of mask() for small payloads, the common case.
                    payload = (
                        _fromBytes(buf[pstart:pend], "little")
                        ^ _fromBytes(
                            (buf[pstart - 4 : pstart] * ((length >> 2) + 1))[:length], "little"
                        )
                    ).to_bytes(length, "little")
                elif length < _VIEW_MIN:
                    payload = mask(buf[pstart:pend], buf[pstart - 4 : pstart])
                else:
                    payload = mask(memoryview(buf)[pstart:pend], buf[pstart - 4 : pstart])
                pos = pend
                if b0 == 0x82:
                    append(BytesMessage(payload))
                elif decodeText:
                    try:
                        text = payload.decode("utf-8")
                    except UnicodeDecodeError as e:
                        raise PeerError(
                            f"invalid UTF-8 in a text message: {e.reason}", 1007
                        ) from None
                    append(TextMessage(text, payload))
                    if length >= REUSE_MIN:
                        self._keepReceived(text, payload)
                else:
                    if not isUtf8(payload):
                        raise PeerError("invalid UTF-8 in a text message", 1007)
                    append(TextMessage(None, payload))
                    if length >= REUSE_MIN:
                        self._keepReceived(payload, payload)
                continue
            # Everything else: control frames, fragments, extension bits,
            # limits, and frames that have not fully arrived.
            after = self._otherFrame(buf, pos, pstart, pend, b0, length, events)
            if after < 0:
                return
            if after == pos:
                break
            pos = after
        if pos < end:
            self._buf = buf[pos:]

    def _otherFrame(
        self, buf: bytes, pos: int, pstart: int, pend: int, b0: int, length: int, events: list
    ) -> int:
        """
        Handle the frame at C{pos} of C{buf} whose header is complete and
        which is not a whole unfragmented message without extension bits.

        @return: where the next frame starts; C{pos} when this one must wait
            for more data; -1 when parsing stops here (the peer closed, or
            the payload is still arriving and streams through
            L{_feedPartial}).
        """
        end = len(buf)
        opcode = b0 & 0x0F
        self._checkHeader(b0, opcode, length)
        key = buf[pstart - 4 : pstart] if self._expectMask else b""
        if opcode >= 8:
            if pend > end:
                return pos
            payload = buf[pstart:pend]
            if key:
                payload = mask(payload, key)
            self._control(opcode, payload, events)
            return -1 if self.receiveDone else pend
        if opcode:
            self._beginMessage(opcode, b0 & 0x70 & ~self._perFrameBits)
        self._frameRsv = b0 & self._perFrameBits
        fin = bool(b0 & 0x80)
        if pend > end:
            # The payload is still arriving: consume what is here and stream
            # the rest through _feedPartial.
            self._frameRemaining = pend - end
            self._frameKey = key
            self._frameOffset = end - pstart
            self._frameFin = fin
            if (
                opcode == OP_BINARY
                and fin
                and length >= _FILL_MIN
                and PayloadBuffer is not None
                and not self._frameRsv
                and not self._msgRsv
            ):
                filling = self._filling = PayloadBuffer(length)
                filling.feed(memoryview(buf)[pstart:end], key)
                return -1
            if end > pstart:
                self._messageData(
                    mask(memoryview(buf)[pstart:end], key) if key else buf[pstart:end]
                )
            return -1
        if length:
            self._messageData(mask(memoryview(buf)[pstart:pend], key) if key else buf[pstart:pend])
        if self._frameRsv:
            self._endFrame()
        if fin:
            self._finishMessage(events)
        return pend

    def _feedPartial(self, data: bytes, events: list) -> int:
        """
        Take the next part of the frame whose payload is still arriving;
        return how many bytes of C{data} it used.
        """
        remaining = self._frameRemaining
        key = self._frameKey
        taken = len(data)
        filling = self._filling
        if filling is not None:
            if taken > remaining:
                taken = remaining
                filling.feed(memoryview(data)[:taken], key)
            else:
                filling.feed(data, key)
            self._frameRemaining = remaining - taken
            if not self._frameRemaining:
                self._filling = None
                payload = filling.take()
                self._msgParts = [payload]
                self._msgSize = len(payload)
                self._finishMessage(events)
            return taken
        chunk: bytes | memoryview = data
        if taken > remaining:
            taken = remaining
            chunk = memoryview(data)[:taken] if key else data[:taken]
        self._messageData(maskAt(chunk, key, self._frameOffset) if key else chunk)  # type: ignore[arg-type]
        self._frameOffset += taken
        self._frameRemaining = remaining - taken
        if not self._frameRemaining:
            if self._frameRsv:
                self._endFrame()
            if self._frameFin:
                self._finishMessage(events)
        return taken

    def _checkHeader(self, b0: int, opcode: int, length: int) -> None:
        rsv = b0 & 0x70
        if rsv & ~self._allowedRsv:
            raise PeerError(f"RSV bits 0x{rsv:02x} set without a negotiated extension", 1002)
        if opcode >= 8:
            if opcode > OP_PONG:
                raise PeerError(f"reserved control opcode 0x{opcode:x}", 1002)
            if not b0 & 0x80:
                raise PeerError("fragmented control frame", 1002)
            if length > 125:
                raise PeerError(f"control frame with a {length}-byte payload (at most 125)", 1002)
            if rsv:
                raise PeerError("RSV bits set on a control frame", 1002)
            return
        if opcode == OP_CONTINUATION:
            if not self._msgOpcode:
                raise PeerError("continuation frame with no message to continue", 1002)
            if rsv & ~self._perFrameBits:
                raise PeerError("RSV bits set on a continuation frame", 1002)
        elif opcode <= OP_BINARY:
            if self._msgOpcode:
                raise PeerError("new message started before the previous one finished", 1002)
        else:
            raise PeerError(f"reserved data opcode 0x{opcode:x}", 1002)
        if length > self._maxFrame:
            raise PeerError(f"frame of {length} bytes exceeds the limit of {self._maxFrame}", 1009)
        compressed = rsv | (0 if opcode else self._msgRsv)
        if not compressed and self._msgSize + length > self._maxMessage:
            raise PeerError(
                f"message of more than {self._maxMessage} bytes exceeds the limit", 1009
            )

    def _control(self, opcode: int, payload: bytes, events: list) -> None:
        if opcode == OP_PING:
            events.append(Ping(payload))
            if self._autoPong and not self.sendDone:
                self._sendFrame(0x80 | OP_PONG, payload)
        elif opcode == OP_PONG:
            events.append(Pong(payload))
        else:
            n = len(payload)
            if n == 0:
                code, reason = 1005, ""
            elif n == 1:
                raise PeerError("close frame with a 1-byte payload", 1002)
            else:
                code = (payload[0] << 8) | payload[1]
                if not isValidCloseCode(code):
                    raise PeerError(f"invalid close code {code}", 1002)
                try:
                    reason = payload[2:].decode("utf-8")
                except UnicodeDecodeError:
                    raise PeerError("close reason is not valid UTF-8", 1007) from None
            self._closeFrame(code, reason, events)


class PlainServerHybiFramer(HybiFramer):
    """
    A L{HybiFramer} for the common case of a server connection with no
    extension and no outgoing fragmentation, whose sending methods frame a
    message with one header and one concatenation.
    """

    __slots__ = ()

    def sendText(self, text: str | bytes) -> None:
        if self.sendDone:
            self.refuseSend()
        payload = self._encodeText(text)
        n = len(payload)
        if n < 126:
            self._out.append(pack2(0x81, n) + payload)
        else:
            self._sendFrame(0x81, payload)

    def sendBinary(self, data: bytes) -> None:
        if self.sendDone:
            self.refuseSend()
        n = len(data)
        if n < 126:
            self._out.append(pack2(0x82, n) + data)
        else:
            self._sendFrame(0x82, bytes(data))
