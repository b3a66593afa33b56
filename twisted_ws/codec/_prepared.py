"""
Messages framed once and sent to many connections.
"""

from __future__ import annotations

from ._errors import LocalProtocolError
from ._hybi import encodeServerFrame
from ._options import Version

__all__ = ["PreparedMessage"]


class PreparedMessage:
    """
    A message framed once and sent to many connections, as a broadcast does:
    the frame is built once per protocol family (hixie, hybi) and reused for
    every server connection that can take it unchanged.

    @ivar data: the message, L{str} for text or L{bytes} for binary.
    """

    __slots__ = ("data", "_payload", "_hixie", "_hybi")

    def __init__(self, data: str | bytes) -> None:
        self.data = data
        self._payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        self._hixie: bytes | None = None
        self._hybi: bytes | None = None

    @property
    def isText(self) -> bool:
        """
        Whether this is a text message.
        """
        return isinstance(self.data, str)

    def frameFor(self, version: Version) -> bytes:
        """
        The frame of this message as a server sends it on C{version}.

        @raise LocalProtocolError: a binary message for a hixie version.
        """
        if version.isHixie:
            if not self.isText:
                raise LocalProtocolError(f"{version.label} has no binary messages")
            if self._hixie is None:
                self._hixie = b"\x00" + self._payload + b"\xff"
            return self._hixie
        if self._hybi is None:
            self._hybi = encodeServerFrame(0x81 if self.isText else 0x82, self._payload)
        return self._hybi
