"""
The per-frame DEFLATE extension of the hybi drafts
(draft-tyoshino-hybi-websocket-perframe-deflate), offered as
C{x-webkit-deflate-frame} by Chrome and Safari before RFC 7692 and as
C{deflate-frame} by some other clients.

Every data frame whose RSV1 bit is set carries its payload compressed on
its own: DEFLATE, a sync flush, and the trailing C{00 00 ff ff} removed, as
in permessage-deflate.  The LZ77 window is shared by the frames of a
connection unless C{no_context_takeover} was negotiated.  Two parameters
exist, with the same meaning in an offer and in a response: they ask the
side that receives them to compress with no context takeover
(C{no_context_takeover}) or with a window of at most C{2 ** max_window_bits}
bytes (C{max_window_bits}, 8 to 15).

The extension is off unless a L{DeflateFrame} is put in
C{Options.extensions}.  Its extension object says L{perFrame
<DeflateFrameExtension.perFrame>}, so the hybi framing encodes each fragment
of a message on its own and accepts RSV1 on continuation frames.
"""

from __future__ import annotations

from ._deflate import DeflateExtension, checkBits, checkFlag, checkTuning, parseWindowBits
from ._extensions import formatExtension

__all__ = ["DeflateFrame", "DeflateFrameExtension", "DEFLATE_FRAME_NAMES"]

#: The tokens the extension was offered under.
DEFLATE_FRAME_NAMES = ("x-webkit-deflate-frame", "deflate-frame")


class DeflateFrameExtension(DeflateExtension):
    """
    deflate-frame negotiated on one connection (see L{DeflateExtension} for
    its attributes).

    The framing sees L{perFrame}: it calls L{encodeFrame} for each fragment
    it sends, accepts RSV1 on continuation frames, passes a frame's data to
    C{decodeChunk} only when that frame has RSV1, and calls
    L{decodeFrameEnd} at the end of each such frame.  (Through the
    per-message methods alone, C{encodeMessage} and C{decodeEnd}, a message
    is one frame.)

    @ivar perFrame: L{True}: the RSV bits and the compression belong to each
        frame, not to the message.
    """

    __slots__ = ()

    perFrame = True

    def encodeFrame(self, payload: bytes, isText: bool, fin: bool) -> tuple[int, bytes]:
        """
        Compress the payload of one data frame on its own (sharing the
        window with the frames before it unless without context takeover).

        @return: the frame's RSV bits and payload.
        """
        return self.encodeMessage(payload, isText)

    def decodeFrameEnd(self, rsv: int, limit: int) -> bytes:
        """
        The frame with RSV1 whose data went to C{decodeChunk} is complete:
        inflate the tail its sender removed.
        """
        return self.decodeEnd(rsv, limit)


class DeflateFrame:
    """
    The deflate-frame L{ExtensionFactory}, for
    C{Options(extensions=(DeflateFrame(),))} (it may follow a
    L{PerMessageDeflate}, which then has precedence when a client offers
    both: the two use RSV1, so only one is negotiated).

    @param name: the token to negotiate: C{"x-webkit-deflate-frame"} (what
        Chrome and Safari offered) or C{"deflate-frame"}.  Put one factory of
        each name in the options to accept both.
    @param noContextTakeover: ask the peer to compress every frame with an
        empty window (named in this side's offer or response), so that this
        side can drop its decompressor after every message.
    @param maxWindowBits: ask the peer to compress with at most this window
        (8 to 15), or L{None}.
    @param localNoContextTakeover: compress every frame with an empty
        window even when the peer did not ask.
    @param localMaxWindowBits: compress with at most this window even when
        the peer asked for more (or did not ask), or L{None}; 12 by default,
        as for L{PerMessageDeflate}.
    @param compressionLevel: zlib's level, 0 to 9, or -1 for its default.
    @param memLevel: zlib's memLevel, 1 to 9 (default 5).
    @param minSize: messages shorter than this are sent uncompressed.
    """

    def __init__(
        self,
        name: str = DEFLATE_FRAME_NAMES[0],
        noContextTakeover: bool = False,
        maxWindowBits: int | None = None,
        localNoContextTakeover: bool = False,
        localMaxWindowBits: int | None = 12,
        compressionLevel: int = -1,
        memLevel: int = 5,
        minSize: int = 0,
    ) -> None:
        if name not in DEFLATE_FRAME_NAMES:
            raise ValueError(f"name must be one of {DEFLATE_FRAME_NAMES}, not {name!r}")
        checkBits("maxWindowBits", maxWindowBits)
        checkBits("localMaxWindowBits", localMaxWindowBits)
        checkTuning(compressionLevel, memLevel, minSize)
        self.name = name
        self.noContextTakeover = noContextTakeover
        self.maxWindowBits = maxWindowBits
        self.localNoContextTakeover = localNoContextTakeover
        self.localMaxWindowBits = localMaxWindowBits
        self.compressionLevel = compressionLevel
        self.memLevel = memLevel
        self.minSize = minSize

    def __repr__(self) -> str:
        return f"<DeflateFrame offer {self.offer()!r}>"

    def _ownParams(self) -> dict[str, str | None]:
        params: dict[str, str | None] = {}
        if self.noContextTakeover:
            params["no_context_takeover"] = None
        if self.maxWindowBits is not None:
            params["max_window_bits"] = str(self.maxWindowBits)
        return params

    def _peerRequest(self, params: dict[str, str | None]) -> tuple[bool, int]:
        """
        Read what the peer asks of this side's compression and add this
        side's own choices.

        @return: whether to compress without context takeover, and with
            which window.
        @raise ValueError: an unknown or malformed parameter.
        """
        noContext = self.localNoContextTakeover
        bits = 15
        for key, value in params.items():
            if key == "no_context_takeover":
                noContext = checkFlag(key, value) or noContext
            elif key == "max_window_bits":
                bits = parseWindowBits(key, value, allowNoValue=False) or 15
            else:
                raise ValueError(f"unknown parameter {key!r}")
        cap = self.localMaxWindowBits
        if cap is not None and cap < bits:
            bits = cap
        return noContext, bits

    def _extension(
        self, params: dict[str, str | None], noContext: bool, bits: int
    ) -> DeflateFrameExtension:
        return DeflateFrameExtension(
            self.name,
            params,
            localNoContextTakeover=noContext,
            remoteNoContextTakeover=self.noContextTakeover,
            localWindowBits=bits,
            remoteWindowBits=self.maxWindowBits or 15,
            compressionLevel=self.compressionLevel,
            memLevel=self.memLevel,
            minSize=self.minSize,
        )

    def acceptOffer(self, offers: list[dict[str, str | None]]) -> DeflateFrameExtension | None:
        """
        Server side: accept the first offer whose parameters are valid.

        @return: the negotiated extension, or L{None} when every offer has an
            unknown or malformed parameter.
        """
        for params in offers:
            try:
                noContext, bits = self._peerRequest(params)
            except ValueError:
                continue
            return self._extension(self._ownParams(), noContext, bits)
        return None

    def offer(self) -> str:
        """
        Client side: the offer for C{Sec-WebSocket-Extensions}.
        """
        return formatExtension(self.name, self._ownParams())

    def acceptResponse(self, params: dict[str, str | None]) -> DeflateFrameExtension:
        """
        Client side: the server accepted, asking these parameters of the
        client's compression.

        @raise ValueError: an unknown or malformed parameter.
        """
        noContext, bits = self._peerRequest(params)
        return self._extension(dict(params), noContext, bits)
