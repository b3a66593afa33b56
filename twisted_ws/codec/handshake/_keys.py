"""
The keys of the opening handshake: RFC 6455's C{Sec-WebSocket-Accept},
hixie-76's key numbers and challenge answer, and a client's random keys.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Callable

__all__ = [
    "GUID",
    "acceptKey",
    "hixie76KeyNumber",
    "hixie76Challenge",
    "makeHixie76Key",
    "makeHybiKey",
    "Random",
]

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

# A 32-bit number times at most a few hundred spaces has at most 13 digits;
# a key with many more is not one a client made, and int() of it is costly.
_MAX_KEY_DIGITS = 20


def acceptKey(key: str | bytes) -> str:
    """
    Compute C{Sec-WebSocket-Accept} for a C{Sec-WebSocket-Key} (RFC 6455
    section 4.2.2).
    """
    if isinstance(key, str):
        key = key.encode("ascii")
    return base64.b64encode(hashlib.sha1(key + GUID).digest()).decode("ascii")


def hixie76KeyNumber(key: str) -> int:
    """
    Compute the number of a hixie-76 C{Sec-WebSocket-Key1} or C{-Key2}: its
    ASCII digits read as one number, divided by its count of spaces.

    @raise ValueError: the key has no digits or no spaces, too many digits,
        its number is not a multiple of its spaces, or the quotient does not
        fit in 32 bits.
    """
    digits = "".join(c for c in key if "0" <= c <= "9")
    spaces = key.count(" ")
    if not digits:
        raise ValueError("hixie-76 key has no digits")
    if spaces == 0:
        raise ValueError("hixie-76 key has no spaces")
    if len(digits) > _MAX_KEY_DIGITS:
        raise ValueError(f"hixie-76 key has more than {_MAX_KEY_DIGITS} digits")
    number = int(digits)
    if number % spaces:
        raise ValueError("hixie-76 key number is not a multiple of its spaces")
    quotient = number // spaces
    if quotient > 0xFFFFFFFF:
        raise ValueError("hixie-76 key number does not fit in 32 bits")
    return quotient


def hixie76Challenge(key1: str, key2: str, key3: bytes) -> bytes:
    """
    Compute the 16-byte answer of a hixie-76 server: the MD5 of both key
    numbers as big-endian 32-bit integers followed by the 8 bytes of key3.

    @raise ValueError: a key is invalid (see L{hixie76KeyNumber}).
    """
    return hashlib.md5(
        struct.pack(">II", hixie76KeyNumber(key1), hixie76KeyNumber(key2)) + key3
    ).digest()


_HIXIE_KEY_CHARS = [chr(c) for c in list(range(0x21, 0x30)) + list(range(0x3A, 0x7F))]


class Random:
    """
    Random integers drawn from a byte source, so that keys are reproducible
    in tests with an injected source.
    """

    def __init__(self, source: Callable[[int], bytes]) -> None:
        self._source = source

    def below(self, n: int) -> int:
        """
        A uniformly random integer in [0, n).
        """
        if n <= 1:
            return 0
        nbytes = (n.bit_length() + 7) // 8 + 1
        limit = (256**nbytes // n) * n
        while True:
            value = int.from_bytes(self._source(nbytes), "big")
            if value < limit:
                return value % n


def makeHixie76Key(rnd: Random) -> tuple[str, int]:
    """
    Make one hixie-76 key as the draft's client algorithm does, returning the
    key and its number.
    """
    spaces = 1 + rnd.below(12)
    maximum = 4294967295 // spaces
    number = rnd.below(maximum + 1)
    chars = list(str(number * spaces))
    for _ in range(1 + rnd.below(12)):
        chars.insert(rnd.below(len(chars) + 1), _HIXIE_KEY_CHARS[rnd.below(len(_HIXIE_KEY_CHARS))])
    for _ in range(spaces):
        chars.insert(1 + rnd.below(len(chars) - 1), " ")
    return "".join(chars), number


def makeHybiKey(randomSource: Callable[[int], bytes]) -> str:
    """
    A new C{Sec-WebSocket-Key}: 16 random bytes in base64.
    """
    return base64.b64encode(randomSource(16)).decode("ascii")
