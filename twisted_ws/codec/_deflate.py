"""
The permessage-deflate extension (RFC 7692): negotiation as server and as
client, and DEFLATE compression of whole messages with RSV1.

L{PerMessageDeflate} is the L{ExtensionFactory} to put in
C{Options.extensions}; it negotiates a L{PerMessageDeflateExtension} for each
connection.  The same factory serves both sides: its parameters describe the
agreement this side wants, and each side turns them into an offer (client)
or a policy for answering offers (server).

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
    "PerMessageDeflate",
    "PerMessageDeflateExtension",
    "encodeForKey",
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


def _checkBits(name: str, bits: int | None) -> None:
    if bits is not None and (type(bits) is not int or not 8 <= bits <= 15):
        raise ValueError(f"{name} must be None or from 8 to 15, not {bits!r}")


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
        if not self.localNoContextTakeover:
            return None
        return (
            "deflate",
            _compressWindow(self.localWindowBits),
            self.compressionLevel,
            self.memLevel,
            self.minSize,
        )

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


class PerMessageDeflateExtension(DeflateExtension):
    """
    permessage-deflate negotiated on one connection (see
    L{DeflateExtension} for its attributes).
    """

    __slots__ = ()


class PerMessageDeflate:
    """
    The permessage-deflate L{ExtensionFactory} (RFC 7692), for
    C{Options(extensions=(PerMessageDeflate(),))}.

    Its parameters describe the agreement this side wants.  As a client,
    they make the offer; as a server, they are the policy for answering the
    client's offers, which are tried in order and the first acceptable one
    chosen (an offer with an unknown, malformed or out-of-range parameter is
    declined, as RFC 7692 section 5 says; a parameter repeated in one offer
    makes the whole header malformed, answered with 400 before the offers
    reach this factory).

    @param serverNoContextTakeover: the server compresses every message
        with an empty window.  A server includes it in every response; a
        client offers it and requires it in the response.
    @param clientNoContextTakeover: the client compresses every message with
        an empty window.  A server includes it in every response (RFC 7692
        allows it unoffered), so that it can drop its decompressor between
        messages; a client offers it and keeps to it.
    @param serverMaxWindowBits: the largest window the server compresses
        with (8 to 15), or L{None} for no cap.  A server answers with the
        smaller of this and the client's request; a client offers it and
        requires a value no larger in the response.
    @param clientMaxWindowBits: the largest window the client compresses
        with (8 to 15), or L{None} for no cap.  A server imposes it where the
        offer says the client supports it; a client offers it (and without it
        offers C{client_max_window_bits} without value, so that the server
        may choose).
    @param allowServerNoContextTakeover: server side: L{False} declines the
        offers that ask the server not to take its context over (keeping the
        compression ratio of context takeover at the cost of its memory).
    @param requireClientMaxWindowBits: server side: decline the offers that
        do not let the server limit the client's window (only with
        C{clientMaxWindowBits}).
    @param compressionLevel: zlib's compression level, 0 to 9, or -1 for
        zlib's default (6).
    @param memLevel: zlib's memLevel, 1 to 9 (its hash tables and output
        buffer take 2 ** (memLevel + 9) bytes of each compressor, beside
        4 * 2 ** windowBits for the window).
    @param minSize: messages shorter than this many bytes are sent
        uncompressed.
    """

    name = "permessage-deflate"

    def __init__(
        self,
        serverNoContextTakeover: bool = False,
        clientNoContextTakeover: bool = False,
        serverMaxWindowBits: int | None = None,
        clientMaxWindowBits: int | None = None,
        allowServerNoContextTakeover: bool = True,
        requireClientMaxWindowBits: bool = False,
        compressionLevel: int = -1,
        memLevel: int = 8,
        minSize: int = 0,
    ) -> None:
        _checkBits("serverMaxWindowBits", serverMaxWindowBits)
        _checkBits("clientMaxWindowBits", clientMaxWindowBits)
        if not -1 <= compressionLevel <= 9:
            raise ValueError(f"compressionLevel must be from -1 to 9, not {compressionLevel!r}")
        if not 1 <= memLevel <= 9:
            raise ValueError(f"memLevel must be from 1 to 9, not {memLevel!r}")
        if minSize < 0:
            raise ValueError(f"minSize must not be negative, not {minSize!r}")
        if requireClientMaxWindowBits and clientMaxWindowBits is None:
            raise ValueError("requireClientMaxWindowBits needs clientMaxWindowBits")
        if serverNoContextTakeover and not allowServerNoContextTakeover:
            raise ValueError(
                "serverNoContextTakeover and allowServerNoContextTakeover=False contradict"
            )
        self.serverNoContextTakeover = serverNoContextTakeover
        self.clientNoContextTakeover = clientNoContextTakeover
        self.serverMaxWindowBits = serverMaxWindowBits
        self.clientMaxWindowBits = clientMaxWindowBits
        self.allowServerNoContextTakeover = allowServerNoContextTakeover
        self.requireClientMaxWindowBits = requireClientMaxWindowBits
        self.compressionLevel = compressionLevel
        self.memLevel = memLevel
        self.minSize = minSize

    def __repr__(self) -> str:
        return f"<PerMessageDeflate offer {self.offer()!r}>"

    def _extension(
        self,
        params: dict[str, str | None],
        localNoContextTakeover: bool,
        remoteNoContextTakeover: bool,
        localWindowBits: int,
        remoteWindowBits: int,
    ) -> PerMessageDeflateExtension:
        return PerMessageDeflateExtension(
            self.name,
            params,
            localNoContextTakeover,
            remoteNoContextTakeover,
            localWindowBits,
            remoteWindowBits,
            self.compressionLevel,
            self.memLevel,
            self.minSize,
        )

    # Server side.

    def acceptOffer(self, offers: list[dict[str, str | None]]) -> PerMessageDeflateExtension | None:
        """
        Accept the first of the client's offers that is valid and that the
        policy allows.

        @return: the negotiated extension, or L{None} when every offer is
            declined.
        """
        for params in offers:
            try:
                ext = self._acceptOne(params)
            except ValueError:
                # RFC 7692 section 5: an offer with an unknown or invalid
                # parameter is declined; the next one may still do.
                continue
            if ext is not None:
                return ext
        return None

    def _acceptOne(self, params: dict[str, str | None]) -> PerMessageDeflateExtension | None:
        serverNoContext = clientNoContext = False
        serverBits: int | None = None
        clientBits: int | None = None
        clientBitsOffered = False
        for key, value in params.items():
            if key == "server_no_context_takeover":
                serverNoContext = checkFlag(key, value)
            elif key == "client_no_context_takeover":
                clientNoContext = checkFlag(key, value)
            elif key == "server_max_window_bits":
                serverBits = parseWindowBits(key, value, allowNoValue=False)
            elif key == "client_max_window_bits":
                clientBits = parseWindowBits(key, value, allowNoValue=True)
                clientBitsOffered = True
            else:
                raise ValueError(f"unknown parameter {key!r}")
        if serverNoContext and not self.allowServerNoContextTakeover:
            return None
        if self.requireClientMaxWindowBits and not clientBitsOffered:
            return None
        response: dict[str, str | None] = {}
        serverNoContext = serverNoContext or self.serverNoContextTakeover
        if serverNoContext:
            response["server_no_context_takeover"] = None
        # An offered client_no_context_takeover is only a hint (RFC 7692
        # section 7.1.1.2): answering with it makes it binding, so that the
        # decompressor may be dropped between messages.
        clientNoContext = clientNoContext or self.clientNoContextTakeover
        if clientNoContext:
            response["client_no_context_takeover"] = None
        cap = self.serverMaxWindowBits
        if cap is not None and (serverBits is None or cap < serverBits):
            serverBits = cap
        if serverBits is not None:
            response["server_max_window_bits"] = str(serverBits)
        if clientBitsOffered:
            cap = self.clientMaxWindowBits
            if cap is not None and (clientBits is None or cap < clientBits):
                clientBits = cap
            if clientBits is not None:
                response["client_max_window_bits"] = str(clientBits)
        else:
            # The response must not name client_max_window_bits (RFC 7692
            # section 7.1.2.2): the client may use a 15-bit window.
            clientBits = None
        return self._extension(
            response,
            localNoContextTakeover=serverNoContext,
            remoteNoContextTakeover=clientNoContext,
            localWindowBits=serverBits or 15,
            remoteWindowBits=clientBits or 15,
        )

    # Client side.

    def _offerParams(self) -> dict[str, str | None]:
        params: dict[str, str | None] = {}
        if self.serverNoContextTakeover:
            params["server_no_context_takeover"] = None
        if self.clientNoContextTakeover:
            params["client_no_context_takeover"] = None
        if self.serverMaxWindowBits is not None:
            params["server_max_window_bits"] = str(self.serverMaxWindowBits)
        bits = self.clientMaxWindowBits
        params["client_max_window_bits"] = None if bits is None else str(bits)
        return params

    def offer(self) -> str:
        """
        The client's offer for C{Sec-WebSocket-Extensions}.
        """
        return formatExtension(self.name, self._offerParams())

    def acceptResponse(self, params: dict[str, str | None]) -> PerMessageDeflateExtension:
        """
        Check the server's answer to the offer.

        @raise ValueError: the answer has an unknown, malformed or
            out-of-range parameter, or does not grant what the offer
            required.
        """
        serverNoContext = clientNoContext = False
        serverBits: int | None = None
        clientBits: int | None = None
        for key, value in params.items():
            if key == "server_no_context_takeover":
                serverNoContext = checkFlag(key, value)
            elif key == "client_no_context_takeover":
                clientNoContext = checkFlag(key, value)
            elif key == "server_max_window_bits":
                serverBits = parseWindowBits(key, value, allowNoValue=False)
            elif key == "client_max_window_bits":
                clientBits = parseWindowBits(key, value, allowNoValue=False)
            else:
                raise ValueError(f"unknown parameter {key!r}")
        if self.serverNoContextTakeover and not serverNoContext:
            raise ValueError("server_no_context_takeover was required but not granted")
        cap = self.serverMaxWindowBits
        if cap is not None:
            if serverBits is None:
                raise ValueError(f"server_max_window_bits={cap} was required but not granted")
            if serverBits > cap:
                raise ValueError(f"server_max_window_bits={serverBits} is above the offered {cap}")
        cap = self.clientMaxWindowBits
        if cap is not None:
            if clientBits is None:
                clientBits = cap
            elif clientBits > cap:
                raise ValueError(f"client_max_window_bits={clientBits} is above the offered {cap}")
        return self._extension(
            dict(params),
            localNoContextTakeover=clientNoContext or self.clientNoContextTakeover,
            remoteNoContextTakeover=serverNoContext,
            localWindowBits=clientBits or 15,
            remoteWindowBits=serverBits or 15,
        )
