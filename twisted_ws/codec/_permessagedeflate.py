"""
The permessage-deflate extension (RFC 7692): its negotiation as server and
as client.

L{PerMessageDeflate} is the L{ExtensionFactory} to put in
C{Options.extensions}; it negotiates a L{PerMessageDeflateExtension} for each
connection, which compresses as L{twisted_ws.codec._deflate} describes.  The
same factory serves both sides: its parameters describe the agreement this
side wants, and each side turns them into an offer (client) or a policy for
answering offers (server).
"""

from __future__ import annotations

from ._deflate import DeflateExtension, checkBits, checkFlag, checkTuning, parseWindowBits
from ._extensions import formatExtension

__all__ = ["PerMessageDeflate", "PerMessageDeflateExtension"]


def _readParams(
    params: dict[str, str | None], offer: bool
) -> tuple[bool, bool, int | None, int | None]:
    """
    Read the parameters of one offer (C{offer} true) or of a response: only
    an offer may give C{client_max_window_bits} without a value.

    @return: C{server_no_context_takeover}, C{client_no_context_takeover},
        C{server_max_window_bits} and C{client_max_window_bits} (L{None}
        where absent or given without a value).
    @raise ValueError: an unknown or malformed parameter.
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
            clientBits = parseWindowBits(key, value, allowNoValue=offer)
        else:
            raise ValueError(f"unknown parameter {key!r}")
    return serverNoContext, clientNoContext, serverBits, clientBits


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
    @param localMaxWindowBits: the largest window this side compresses
        with, whatever the agreement allows (8 to 15, or L{None} for the
        agreed window).  It is not announced: a peer inflates a smaller
        window with the one it keeps.  The default, 12 (4 KiB), takes an
        eighth of the memory of a 15-bit window and, on chat-like JSON of
        8 KiB, about half the time to compress with context takeover, for
        output some 9 % larger.
    @param compressionLevel: zlib's compression level, 0 to 9, or -1 for
        zlib's default (6).
    @param memLevel: zlib's memLevel, 1 to 9, default 5 (its hash tables and
        output buffer take 2 ** (memLevel + 9) bytes of each compressor,
        beside 4 * 2 ** windowBits for the window).
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
        localMaxWindowBits: int | None = 12,
        compressionLevel: int = -1,
        memLevel: int = 5,
        minSize: int = 0,
    ) -> None:
        checkBits("serverMaxWindowBits", serverMaxWindowBits)
        checkBits("clientMaxWindowBits", clientMaxWindowBits)
        checkBits("localMaxWindowBits", localMaxWindowBits)
        checkTuning(compressionLevel, memLevel, minSize)
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
        self.localMaxWindowBits = localMaxWindowBits
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
        cap = self.localMaxWindowBits
        if cap is not None and cap < localWindowBits:
            localWindowBits = cap
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
        serverNoContext, clientNoContext, serverBits, clientBits = _readParams(params, offer=True)
        clientBitsOffered = "client_max_window_bits" in params
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
        serverNoContext, clientNoContext, serverBits, clientBits = _readParams(params, offer=False)
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
