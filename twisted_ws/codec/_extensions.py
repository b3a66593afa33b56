"""
The extension interface through which per-message extensions (such as
permessage-deflate, RFC 7692) plug into the RFC 6455 framing.

An extension is negotiated by an L{ExtensionFactory} and then owns some RSV
bits.  The framing calls it once per message to encode, and chunk by chunk
to decode, so that a decompressing extension can enforce the message size
limit on its output before buffering it.
"""

from __future__ import annotations

import re
from typing import Protocol

__all__ = ["Extension", "ExtensionFactory", "parseExtensions", "formatExtension"]


class Extension(Protocol):
    """
    A negotiated extension on one connection.

    @ivar name: the extension token, as in C{Sec-WebSocket-Extensions}.
    @ivar rsvBits: the RSV bits this extension may set on the first frame of
        a message (0x40 for RSV1).
    """

    name: str
    rsvBits: int

    def encodeMessage(self, payload: bytes, isText: bool) -> tuple[int, bytes]:
        """
        Encode a whole outgoing message.

        @return: the RSV bits to set on its first frame and the payload to
            send.
        """

    def decodeChunk(self, data: bytes, rsv: int, limit: int) -> bytes:
        """
        Decode a piece of an incoming message whose first frame carried the
        RSV bits C{rsv}.

        @param limit: the most bytes that may be returned; an extension that
            would produce more raises L{PeerError} with close code 1009.
        @raise PeerError: the data cannot be decoded (close code 1007).
        """

    def decodeEnd(self, rsv: int, limit: int) -> bytes:
        """
        The incoming message whose first frame carried C{rsv} is complete;
        return any remaining decoded bytes (at most C{limit}).
        """

    def responseParams(self) -> str:
        """
        Server side: the value this extension contributes to the response's
        C{Sec-WebSocket-Extensions} header.
        """


class FrameExtension(Extension, Protocol):
    """
    An extension that encodes each frame on its own rather than each
    message (deflate-frame): the framing sees its C{perFrame} and then
    calls L{encodeFrame} for every outgoing data frame, accepts its RSV bits
    on continuation frames, passes a frame's data to C{decodeChunk} only
    when that frame carries its bits, and calls L{decodeFrameEnd} at the end
    of each such frame (C{encodeMessage} and C{decodeEnd} are not used).

    An extension of either kind may also have C{sharedEncodingKey()}:
    a hashable key when its encoding of a message depends only on the
    message and its settings, so that a broadcast is encoded once for
    every connection with the same key (see C{PreparedMessage}), or
    L{None} when it depends on what was sent before.
    """

    perFrame: bool

    def encodeFrame(self, payload: bytes, isText: bool, fin: bool) -> tuple[int, bytes]:
        """
        Encode the payload of one outgoing data frame.

        @return: the frame's RSV bits and payload.
        """

    def decodeFrameEnd(self, rsv: int, limit: int) -> bytes:
        """
        The incoming frame that carried this extension's bits is complete;
        return any remaining decoded bytes (at most C{limit}).
        """


class ExtensionFactory(Protocol):
    """
    Negotiates one kind of extension.

    @ivar name: the extension token this factory handles.
    """

    name: str

    def acceptOffer(self, offers: list[dict[str, str | None]]) -> Extension | None:
        """
        Server side: choose among the client's offers of this extension (each
        a dict of its parameters, in the client's order of preference).

        @return: the negotiated extension, or L{None} to decline them all.
        @raise ValueError: an offer is malformed (the handshake fails with
            400).
        """

    def offer(self) -> str:
        """
        Client side: the offer for C{Sec-WebSocket-Extensions}, such as
        C{"permessage-deflate; client_max_window_bits"}.
        """

    def acceptResponse(self, params: dict[str, str | None]) -> Extension:
        """
        Client side: the server accepted the offer with these parameters.

        @raise ValueError: the parameters are not acceptable; the handshake
            fails with L{NegotiationError}.
        """


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value


def parseExtensions(
    values: list[str], dropRepeated: bool = False
) -> list[tuple[str, dict[str, str | None]]]:
    """
    Parse C{Sec-WebSocket-Extensions} header values (RFC 6455 section 9.1)
    into (name, parameters) pairs, in order.

    @param dropRepeated: leave out an extension whose parameters repeat one
        name, instead of raising: a server declines such an offer (RFC 7692
        section 5) and considers the client's other offers.
    @raise ValueError: a value does not follow the grammar, or (unless
        C{dropRepeated}) an extension repeats a parameter.
    """
    result: list[tuple[str, dict[str, str | None]]] = []
    for value in values:
        for item in _splitOutsideQuotes(value, ","):
            item = item.strip()
            if not item:
                continue
            parts = _splitOutsideQuotes(item, ";")
            name = parts[0].strip()
            if not isToken(name):
                raise ValueError(f"invalid extension name {name!r}")
            params: dict[str, str | None] = {}
            repeated = False
            for part in parts[1:]:
                part = part.strip()
                if not part:
                    raise ValueError(f"empty parameter in extension {name!r}")
                key, eq, raw = part.partition("=")
                key = key.strip()
                if not isToken(key):
                    raise ValueError(f"invalid parameter name {key!r} in extension {name!r}")
                if key in params:
                    if not dropRepeated:
                        raise ValueError(f"parameter {key!r} repeated in extension {name!r}")
                    repeated = True
                if eq:
                    val = _unquote(raw.strip())
                    if not isToken(val):
                        raise ValueError(
                            f"invalid value {raw.strip()!r} for {key!r} in extension {name!r}"
                        )
                    params[key] = val
                else:
                    params[key] = None
            if not repeated:
                result.append((name, params))
    return result


def formatExtension(name: str, params: dict[str, str | None]) -> str:
    """
    Format one extension with its parameters for C{Sec-WebSocket-Extensions}.
    """
    parts = [name]
    for key, value in params.items():
        parts.append(key if value is None else f"{key}={value}")
    return "; ".join(parts)


_tokenMatch = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z").match


def isToken(value: str) -> bool:
    """
    Whether C{value} is an HTTP token (RFC 7230 section 3.2.6): one or more
    of the characters that need no quoting.
    """
    return _tokenMatch(value) is not None


def _splitOutsideQuotes(value: str, sep: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    escaped = False
    for c in value:
        if escaped:
            escaped = False
        elif c == "\\" and quoted:
            escaped = True
        elif c == '"':
            quoted = not quoted
        elif c == sep and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(c)
    if quoted:
        raise ValueError(f"unterminated quoted string in {value!r}")
    parts.append("".join(current))
    return parts
