"""
UTF-8 validation that fails as soon as an invalid byte arrives.

A text message is checked piece by piece as its bytes arrive, and decoded
(if at all) once, when it is complete.  With the optional compiled helper
the pieces are checked without being decoded; in pure Python they are run
through CPython's incremental decoder and the text it produces is dropped.

CPython's incremental decoder fails fast on every invalid sequence but one:
it keeps C{ED A0} (the start of an encoded UTF-16 surrogate, which UTF-8
forbids) pending until the third byte arrives.  L{decodeChunk} checks the
pending bytes for that case so that the error is seen one byte earlier.
The compiled check refuses it on the second byte too.
"""

from __future__ import annotations

import codecs

from ._accel import speedups

__all__ = ["Utf8Decoder", "Utf8Validator", "accelerated", "decodeChunk", "isUtf8"]

Utf8Decoder = codecs.getincrementaldecoder("utf-8")

_check = getattr(speedups, "utf8", None)

#: Whether the compiled check is in use.
accelerated = _check is not None


def decodeChunk(decoder: codecs.IncrementalDecoder, chunk: bytes) -> str:
    """
    Decode C{chunk}, not the last one, with C{decoder}.

    @raise UnicodeDecodeError: the bytes so far cannot start valid UTF-8.
    """
    text = decoder.decode(chunk)
    pending = decoder.getstate()[0]
    if len(pending) >= 2 and pending[0] == 0xED and pending[1] > 0x9F:
        raise UnicodeDecodeError("utf-8", pending, 0, 2, "encoded surrogate")
    return text


def _isUtf8Python(data: bytes | bytearray | memoryview) -> bool:
    if isinstance(data, bytes) and data.isascii():
        return True
    try:
        codecs.utf_8_decode(data, "strict", True)
    except UnicodeDecodeError:
        return False
    return True


def _isUtf8Compiled(data: bytes | bytearray | memoryview) -> bool:
    return _check(data) == 0  # type: ignore[misc]


#: Whether C{data} is complete, valid UTF-8.
isUtf8 = _isUtf8Compiled if accelerated else _isUtf8Python


class Utf8Validator:
    """
    Checks one text, given piece by piece, and fails on the first piece
    that makes it invalid.
    """

    __slots__ = ("_state", "_decoder")

    def __init__(self) -> None:
        self._state = 0
        self._decoder: codecs.IncrementalDecoder | None = (
            None if accelerated else Utf8Decoder()
        )

    def feed(self, chunk: bytes | memoryview) -> bool:
        """
        Check the next piece.

        @return: C{False} if the text can no longer be valid UTF-8 (and for
            every piece after that).
        """
        if self._state < 0:
            return False
        decoder = self._decoder
        if decoder is None:
            state = self._state = _check(chunk, self._state)  # type: ignore[misc]
            return state >= 0
        try:
            decodeChunk(decoder, chunk)  # type: ignore[arg-type]
        except UnicodeDecodeError:
            self._state = -1
            return False
        return True

    def end(self) -> bool:
        """
        The text is complete.

        @return: C{False} if it stops inside a character.
        """
        decoder = self._decoder
        if decoder is None or self._state < 0:
            return self._state == 0
        try:
            decoder.decode(b"", True)
        except UnicodeDecodeError:
            return False
        return True
