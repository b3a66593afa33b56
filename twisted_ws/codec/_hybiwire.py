"""
The wire format that hybi-07, hybi-08 and RFC 6455 share: opcodes, frame
headers, close payloads and close codes.
"""

from __future__ import annotations

import struct

from ._errors import LocalProtocolError

__all__ = [
    "OP_CONTINUATION",
    "OP_TEXT",
    "OP_BINARY",
    "OP_CLOSE",
    "OP_PING",
    "OP_PONG",
    "isValidCloseCode",
    "encodeServerFrame",
    "encodeClosePayload",
    "header",
    "pack2",
]

pack2 = struct.Struct("!BB").pack
_pack4 = struct.Struct("!BBH").pack
_pack10 = struct.Struct("!BBQ").pack

OP_CONTINUATION = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

#: Payloads shorter than this are joined to their header before queueing.
JOIN_LIMIT = 4096


def isValidCloseCode(code: int) -> bool:
    """
    Whether C{code} may appear in a close frame (RFC 6455 section 7.4 and the
    IANA registry): 1000-1003, 1007-1014, and 3000-4999.
    """
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999


def header(b0: int, n: int, maskBit: int = 0) -> bytes:
    if n < 126:
        return pack2(b0, n | maskBit)
    if n < 65536:
        return _pack4(b0, 126 | maskBit, n)
    return _pack10(b0, 127 | maskBit, n)


def encodeServerFrame(b0: int, payload: bytes) -> bytes:
    """
    Build one unmasked frame (as a server sends it) whose first byte is
    C{b0} (FIN, RSV and opcode bits).
    """
    return header(b0, len(payload)) + payload


def encodeClosePayload(code: int | None, reason: str) -> bytes:
    """
    Build the payload of a close frame.

    @raise LocalProtocolError: the code may not be sent, or the reason is too
        long.
    """
    if code is None:
        if reason:
            raise LocalProtocolError("a close reason needs a close code")
        return b""
    if not isValidCloseCode(code):
        raise LocalProtocolError(f"close code {code} may not be sent in a close frame")
    raw = reason.encode("utf-8")
    if len(raw) > 123:
        raise LocalProtocolError(f"close reason is {len(raw)} bytes of UTF-8; at most 123 fit")
    return struct.pack("!H", code) + raw
