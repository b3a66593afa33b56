"""
DEFLATE compression of messages with RSV1, as the permessage-deflate
extension (RFC 7692, negotiated by L{twisted_ws.codec._permessagedeflate})
and deflate-frame (L{twisted_ws.codec._deflateframe}) use it: the
per-connection L{DeflateExtension}, the encodings shared by the connections
of one setting (L{encodeShared}), and the parameter checks both negotiations
use.

Decompression stops at the message size limit: the decompressor is never
asked for more than the limit plus one byte, so a small message that would
inflate to gigabytes fails with close code 1009 after at most one limit's
worth of output.  Data that is not valid DEFLATE fails with 1007; no
C{zlib.error} leaves this module.

Compression contexts are created when the first message needs them and,
where the agreement has no context takeover, dropped after every message, so
an idle connection holds no zlib memory for its direction without context
takeover (and none at all before its first compressed message).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Hashable, Sequence

from ._errors import PeerError
from ._extensions import formatExtension

__all__ = [
    "DeflateExtension",
    "checkBits",
    "checkFlag",
    "checkTuning",
    "encodeForKey",
    "parseWindowBits",
    "encodeShared",
    "sharedEncodingKeyOf",
]

#: What a sync flush ends with (an empty stored block), removed from every
#: compressed message sent and appended to every one received (RFC 7692
#: section 7.2.1 and 7.2.2).
TAIL = b"\x00\x00\xff\xff"

#: The extension's RSV bit.
RSV1 = 0x40

_bitsMatch = re.compile(r"[1-9][0-9]?\Z").match


def parseWindowBits(name: str, value: str | None, allowNoValue: bool) -> int | None:
    """
    Check the value of a window bits parameter: a decimal integer from 8 to
    15 without leading zeros (RFC 7692 section 7.1.2).

    @param allowNoValue: whether the parameter may have no value (only
        C{client_max_window_bits} in an offer).
    @return: the number of bits, or L{None} for a parameter without value.
    @raise ValueError: the value is missing where one is needed, or is not
        such an integer.
    """
    if value is None:
        if allowNoValue:
            return None
        raise ValueError(f"{name} needs a value")
    if _bitsMatch(value) is None or not 8 <= int(value) <= 15:
        raise ValueError(f"{name}={value!r} is not a whole number from 8 to 15")
    return int(value)


def checkFlag(name: str, value: str | None) -> bool:
    """
    Check that a flag parameter (such as C{server_no_context_takeover}) has
    no value.

    @return: L{True}.
    @raise ValueError: it has one.
    """
    if value is not None:
        raise ValueError(f"{name} takes no value, not {value!r}")
    return True


def checkBits(name: str, bits: int | None) -> None:
    if bits is not None and (type(bits) is not int or not 8 <= bits <= 15):
        raise ValueError(f"{name} must be None or from 8 to 15, not {bits!r}")


def checkTuning(compressionLevel: int, memLevel: int, minSize: int) -> None:
    """
    Check the compression settings both negotiations take.

    @raise ValueError: a setting out of its range.
    """
    if not -1 <= compressionLevel <= 9:
        raise ValueError(f"compressionLevel must be from -1 to 9, not {compressionLevel!r}")
    if not 1 <= memLevel <= 9:
        raise ValueError(f"memLevel must be from 1 to 9, not {memLevel!r}")
    if minSize < 0:
        raise ValueError(f"minSize must not be negative, not {minSize!r}")


def _compressWindow(bits: int) -> int:
    # zlib refuses a raw deflate stream with an 8-bit window (deflateInit2
    # answers Z_STREAM_ERROR for windowBits -8), so a negotiated 8 is
    # compressed with 9.  That still honours the agreement: zlib's deflate
    # never emits a distance beyond the window minus its 262-byte lookahead
    # (MAX_DIST), which is 250 for a 9-bit window, within the 256 bytes the
    # peer keeps.  Inflating with an 8-bit window works in zlib, so the
    # receiving side uses the negotiated size as it is.
    return 9 if bits == 8 else bits


class DeflateExtension:
    """
    The DEFLATE engine shared by permessage-deflate and deflate-frame: one
    compressor for what this side sends and one decompressor for what it
    receives, each created on first use and, without context takeover,
    dropped after every message.

    @ivar name: the extension token.
    @ivar rsvBits: RSV1 (0x40).
    @ivar localNoContextTakeover: whether this side compresses every message
        with an empty window.
    @ivar remoteNoContextTakeover: whether the peer does (so that the
        decompressor is dropped after every message).
    @ivar localWindowBits: the window this side compresses with, as
        negotiated (8 to 15).
    @ivar remoteWindowBits: the window the peer compresses with; the
        decompressor's window.
    @ivar compressionLevel: zlib's level, 0 to 9 (or -1 for zlib's default).
    @ivar memLevel: zlib's memLevel, 1 to 9.  A compressor takes about
        4 * 2 ** localWindowBits + 2 ** (memLevel + 9) bytes plus 6 KiB, a
        decompressor 2 ** remoteWindowBits bytes plus 7 KiB (measured with
        tracemalloc; see docs/compression.rst).
    @ivar minSize: messages shorter than this many bytes are sent
        uncompressed (RSV1 clear).
    """

    __slots__ = (
        "name",
        "rsvBits",
        "localNoContextTakeover",
        "remoteNoContextTakeover",
        "localWindowBits",
        "remoteWindowBits",
        "compressionLevel",
        "memLevel",
        "minSize",
        "_params",
        "_compressor",
        "_decompressor",
        "_inflating",
        "_sharedKey",
        "_sharedKeyAlone",
    )

    def __init__(
        self,
        name: str,
        params: dict[str, str | None],
        localNoContextTakeover: bool,
        remoteNoContextTakeover: bool,
        localWindowBits: int,
        remoteWindowBits: int,
        compressionLevel: int,
        memLevel: int,
        minSize: int,
    ) -> None:
        self.name = name
        self.rsvBits = RSV1
        self._params = params
        self.localNoContextTakeover = localNoContextTakeover
        self.remoteNoContextTakeover = remoteNoContextTakeover
        self.localWindowBits = localWindowBits
        self.remoteWindowBits = remoteWindowBits
        self.compressionLevel = compressionLevel
        self.memLevel = memLevel
        self.minSize = minSize
        self._compressor: zlib._Compress | None = None
        self._decompressor: zlib._Decompress | None = None
        # Whether the message being received had data.
        self._inflating = False
        # The settings are fixed for the connection's life, and a broadcast
        # asks for the key once per receiver: it is built once.
        self._sharedKey: Hashable | None = None
        # What sharedEncodingKeyOf answers when this is a connection's only
        # extension.
        self._sharedKeyAlone: tuple | None = None
        if localNoContextTakeover:
            self._sharedKey = (
                "deflate",
                _compressWindow(localWindowBits),
                compressionLevel,
                memLevel,
                minSize,
            )
            self._sharedKeyAlone = (self._sharedKey,)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {formatExtension(self.name, self._params)!r}>"

    @property
    def hasCompressor(self) -> bool:
        """
        Whether a compressor is allocated now.
        """
        return self._compressor is not None

    @property
    def hasDecompressor(self) -> bool:
        """
        Whether a decompressor is allocated now.
        """
        return self._decompressor is not None

    def responseParams(self) -> str:
        """
        The extension as the server's response names it.
        """
        return formatExtension(self.name, self._params)

    # Sending.

    def encodeMessage(self, payload: bytes, isText: bool) -> tuple[int, bytes]:
        """
        Compress a whole outgoing message, unless it is shorter than
        C{minSize} or, without context takeover, compressing would not make
        it shorter.

        @return: the RSV bits (RSV1, or 0 when sent as it is) and the payload.
        """
        if len(payload) < self.minSize:
            return 0, payload
        compressor = self._compressor
        if compressor is None:
            compressor = zlib.compressobj(
                self.compressionLevel,
                zlib.DEFLATED,
                -_compressWindow(self.localWindowBits),
                self.memLevel,
            )
        data = compressor.compress(payload) + compressor.flush(zlib.Z_SYNC_FLUSH)
        # A sync flush always ends with the empty stored block.
        data = data[:-4]
        if self.localNoContextTakeover:
            self._compressor = None
            if len(data) >= len(payload):
                # Nothing later refers back to this message, so it may go out
                # as it is when that is shorter.
                return 0, payload
        else:
            self._compressor = compressor
        return RSV1, data

    def sharedEncodingKey(self) -> Hashable | None:
        """
        A key naming how this connection encodes an outgoing message, when
        that encoding depends only on the message and on the settings (no
        context takeover on the sending side), so that a message encoded
        once by L{encodeForKey} (or by C{encodeMessage} on any connection
        with the same key) may be sent unchanged on every connection with an
        equal key; L{None} when the encoding depends on the messages sent
        before (context takeover).
        """
        return self._sharedKey

    # Receiving.

    def _inflate(self, data: bytes, limit: int) -> bytes:
        decompressor = self._decompressor
        if decompressor is None:
            decompressor = self._decompressor = zlib.decompressobj(-self.remoteWindowBits)
        try:
            # At most limit + 1 bytes: one more than allowed is enough to
            # know the limit is exceeded, and no more is ever produced.
            # (A max_length of 0 would mean no limit; limit + 1 is never 0.)
            out = decompressor.decompress(data, limit + 1)
            while decompressor.eof and len(out) <= limit:
                # The peer ended the DEFLATE stream with a block whose BFINAL
                # bit is set (RFC 7692 section 7.2.3.4); what follows starts
                # a new stream.  A sender that does this starts a new
                # compressor for its next message, so the new stream rarely
                # refers back; it gets what this call inflated as its window
                # (not what earlier calls did, which is no longer at hand).
                rest = decompressor.unused_data
                window = out[-(1 << self.remoteWindowBits) :]
                if window:
                    decompressor = zlib.decompressobj(-self.remoteWindowBits, zdict=window)
                else:
                    decompressor = zlib.decompressobj(-self.remoteWindowBits)
                self._decompressor = decompressor
                if not rest:
                    break
                out += decompressor.decompress(rest, limit + 1 - len(out))
        except zlib.error as e:
            raise PeerError(f"{self.name}: invalid compressed data ({e})", 1007) from None
        if len(out) > limit:
            raise PeerError(
                f"{self.name}: message inflates past the size limit ({limit} more bytes allowed)",
                1009,
            )
        return out

    def decodeChunk(self, data: bytes, rsv: int, limit: int) -> bytes:
        """
        Inflate a piece of a compressed message, producing at most C{limit}
        bytes.

        @raise PeerError: the data is not valid DEFLATE (1007), or it
            inflates to more than C{limit} bytes (1009).
        """
        self._inflating = True
        return self._inflate(data, limit)

    def decodeEnd(self, rsv: int, limit: int) -> bytes:
        """
        The compressed message is complete: inflate the tail that its sender
        removed, and drop the decompressor when the peer does not take its
        context over.

        @raise PeerError: as L{decodeChunk}.
        """
        if not self._inflating:
            # An empty payload with RSV1: an empty message (a compressor
            # sends one as the octet 00, RFC 7692 section 7.2.3.6, but the
            # meaning of nothing is plain, and the tail alone is no block).
            return b""
        self._inflating = False
        out = self._inflate(TAIL, limit)
        if self.remoteNoContextTakeover:
            self._decompressor = None
        return out


def encodeForKey(key: Hashable, payload: bytes) -> tuple[int, bytes]:
    """
    Encode a message once for every connection whose extension's
    C{sharedEncodingKey()} is C{key}, as its own C{encodeMessage} would.

    @param key: a key returned by C{sharedEncodingKey()} (not L{None}).
    @return: the RSV bits of the message's first frame and its payload.
    @raise ValueError: the key is not one of this module's.
    """
    if not (isinstance(key, tuple) and len(key) == 5 and key[0] == "deflate"):
        raise ValueError(f"not a deflate encoding key: {key!r}")
    _, bits, level, memLevel, minSize = key
    if len(payload) < minSize:
        return 0, payload
    compressor = zlib.compressobj(level, zlib.DEFLATED, -bits, memLevel)
    data = (compressor.compress(payload) + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4]
    if len(data) >= len(payload):
        return 0, payload
    return RSV1, data


def sharedEncodingKeyOf(extensions: Sequence[object]) -> Hashable | None:
    """
    The key under which a message's encoding by all of a connection's
    C{extensions} (in the order they encode) can be shared with other
    connections: a tuple of each extension's C{sharedEncodingKey()}, or
    L{None} when any of them has no such key (or no such method).

    With no extension the key is the empty tuple: the message as it is.
    """
    if len(extensions) == 1 and isinstance(extensions[0], DeflateExtension):
        # The common case (permessage-deflate alone), asked once per
        # receiver of a broadcast: the same tuple every time, built with
        # the key that sharedEncodingKey() returns (which no subclass
        # overrides).
        return extensions[0]._sharedKeyAlone
    keys = []
    for ext in extensions:
        method = getattr(ext, "sharedEncodingKey", None)
        key = method() if method is not None else None
        if key is None:
            return None
        keys.append(key)
    return tuple(keys)


def encodeShared(key: tuple, payload: bytes) -> tuple[int, bytes]:
    """
    Encode a message once for every connection whose
    L{sharedEncodingKeyOf} is C{key}, as those connections' extensions would
    one after the other.

    @return: the RSV bits of the message's first frame and its payload.
    @raise ValueError: a part of the key is not one of this module's.
    """
    rsv = 0
    for part in key:
        bits, payload = encodeForKey(part, payload)
        rsv |= bits
    return rsv, payload
