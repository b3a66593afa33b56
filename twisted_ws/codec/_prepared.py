"""
Messages framed once and sent to many connections.
"""

from __future__ import annotations

from ._deflate import encodeShared
from ._errors import LocalProtocolError
from ._hybi import encodeServerFrame
from ._options import Version

__all__ = ["PreparedMessage"]

#: The versions framed the hixie way (what C{Version.isHixie} says, without
#: its call on every send of a broadcast).
_HIXIE = (Version.HIXIE75, Version.HIXIE76)


class PreparedMessage:
    """
    A message framed once and sent to many connections, as a broadcast does.

    The frame is built once per protocol family (hixie, hybi) and, on hybi,
    once per distinct setting of the extensions that encode it: one
    compression for every connection that negotiated permessage-deflate
    without server context takeover and with the same window, level and
    memLevel, say.  A server connection whose encoding can be shared takes
    the frame unchanged; any other (a client, one with outgoing
    fragmentation, one that compresses with context takeover) encodes the
    message itself when it is sent.

    @ivar data: the message, L{str} for text or L{bytes} for binary.
    """

    __slots__ = ("data", "_payload", "_hixie", "_hybi")

    def __init__(self, data: str | bytes) -> None:
        self.data = data
        self._payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        self._hixie: bytes | None = None
        # Hybi frames by the connections' shared encoding key (() for none).
        self._hybi: dict[tuple, bytes] = {}

    @property
    def isText(self) -> bool:
        """
        Whether this is a text message.
        """
        return isinstance(self.data, str)

    def frameFor(self, version: Version, key: tuple = ()) -> bytes:
        """
        The frame of this message as a server sends it on C{version}, for
        connections whose extensions' shared encoding key is C{key} (the
        empty tuple: no extension).

        @raise LocalProtocolError: a binary message for a hixie version.
        """
        if version in _HIXIE:
            if not self.isText:
                raise LocalProtocolError(f"{version.label} has no binary messages")
            if self._hixie is None:
                self._hixie = b"\x00" + self._payload + b"\xff"
            return self._hixie
        frame = self._hybi.get(key)
        if frame is None:
            opcode = 0x81 if self.isText else 0x82
            if key:
                rsv, payload = encodeShared(key, self._payload)
                frame = encodeServerFrame(opcode | rsv, payload)
            else:
                frame = encodeServerFrame(opcode, self._payload)
            self._hybi[key] = frame
        return frame

    @property
    def encodings(self) -> int:
        """
        How many hybi frames of this message were built: one per distinct
        encoding among the connections it was sent to.
        """
        return len(self._hybi)
