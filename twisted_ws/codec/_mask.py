"""
Masking and unmasking of RFC 6455 frame payloads (section 5.3).

In pure Python, small payloads are XORed as one big integer; large ones are
split into the four byte-strides, each translated through a 256-byte table
for its mask byte, which runs at C speed with no per-byte Python loop.  When
the optional compiled helper C{twisted_ws.codec._speedups} has been built it
is used for every payload instead; setting the environment variable
C{TWISTED_WS_NO_SPEEDUPS=1} turns it off.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._accel import speedups as _speedups

__all__ = ["mask", "maskAt", "maskAfter", "accelerated", "PayloadBuffer"]

_fromBytes = int.from_bytes
_SMALL = 2048
_tables: dict[int, bytes] = {}


def _table(key: int) -> bytes:
    table = _tables.get(key)
    if table is None:
        table = _tables[key] = bytes(i ^ key for i in range(256))
    return table


def _maskLarge(data: bytes | bytearray | memoryview, key: bytes) -> bytes:
    out = bytearray(data)
    for i in range(4):
        k = key[i]
        if k:
            out[i::4] = out[i::4].translate(_table(k))
    return bytes(out)


_largeImpl: Callable[[bytes | bytearray | memoryview, bytes], bytes] = _maskLarge
accelerated = _speedups is not None
#: The compiled C{PayloadBuffer(length)}, which unmasks the pieces of one
#: frame's payload (C{feed(data, key)}, the key empty for an unmasked frame)
#: straight into the bytes object it hands out once full (C{take()}); or
#: L{None} in pure Python, where the pieces are joined instead.
PayloadBuffer: Any = None
if _speedups is not None:  # pragma: no cover - depends on the build
    _largeImpl = _speedups.mask
    PayloadBuffer = _speedups.PayloadBuffer


def mask(data: bytes | bytearray | memoryview, key: bytes) -> bytes:
    """
    XOR C{data} with the 4-byte masking C{key}, repeated.  Masking and
    unmasking are the same operation.

    @param data: the payload.
    @param key: the 4-byte masking key.
    @return: the masked (or unmasked) payload.
    """
    n = len(data)
    if n < _SMALL:
        if not n:
            return b""
        return (
            _fromBytes(data, "little") ^ _fromBytes((key * ((n >> 2) + 1))[:n], "little")
        ).to_bytes(n, "little")
    return _largeImpl(data, key)


def maskAt(data: bytes | bytearray | memoryview, key: bytes, offset: int) -> bytes:
    """
    Like L{mask}, for a piece of a payload that starts C{offset} bytes into
    it, so that a large frame can be unmasked chunk by chunk as it arrives.
    """
    offset &= 3
    if offset:
        key = key[offset:] + key[:offset]
    return mask(data, key)


def _joinMasked(data: bytes | bytearray | memoryview, key: bytes, prefix: bytes) -> bytes:
    return prefix + mask(data, key)


#: C{maskAfter(data, key, prefix)}: C{prefix} followed by C{mask(data,
#: key)}, as one bytes object (a masked frame: its header and key, then its
#: payload).  The compiled L{mask} takes the prefix as a third argument and
#: makes the frame in one allocation, without copying the masked payload
#: again to join it.
maskAfter: Callable[[bytes | bytearray | memoryview, bytes, bytes], bytes] = _joinMasked

if _speedups is not None:
    maskAfter = _speedups.mask
    # The compiled routine beats the integer path at every size (about 130 ns
    # for a 125-byte payload against 3 us).
    mask = _speedups.mask  # noqa: F811
