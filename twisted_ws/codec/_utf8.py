"""
Incremental UTF-8 validation that fails as soon as an invalid byte arrives.

CPython's incremental decoder fails fast on every invalid sequence but one:
it keeps C{ED A0} (the start of an encoded UTF-16 surrogate, which UTF-8
forbids) pending until the third byte arrives.  L{decodeChunk} checks the
pending bytes for that case so that the error is seen one byte earlier.
"""

from __future__ import annotations

import codecs

__all__ = ["Utf8Decoder", "decodeChunk"]

Utf8Decoder = codecs.getincrementaldecoder("utf-8")


def decodeChunk(decoder: codecs.IncrementalDecoder, chunk: bytes, final: bool = False) -> str:
    """
    Decode C{chunk} with C{decoder}.

    @raise UnicodeDecodeError: the bytes so far cannot start valid UTF-8.
    """
    text = decoder.decode(chunk, final)
    if not final:
        pending = decoder.getstate()[0]
        if len(pending) >= 2 and pending[0] == 0xED and pending[1] > 0x9F:
            raise UnicodeDecodeError("utf-8", pending, 0, 2, "encoded surrogate")
    return text
