"""
What the framers of every protocol family share.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._errors import PeerError

if TYPE_CHECKING:
    from ._connection import Connection

__all__ = ["Framer"]


class Framer:
    """
    Reads and writes the frames of one connection.  Subclasses implement
    C{_receive}, which raises L{PeerError} for a peer that breaks the
    protocol; L{receive} turns that into a failed connection.

    @ivar receiveDone: nothing more is parsed (the peer closed, or failed).
    @ivar sendDone: nothing more may be sent (a close frame was queued).
    """

    __slots__ = ("_conn", "_out", "receiveDone", "sendDone", "_lastText")

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._out = conn._out
        self.receiveDone = False
        self.sendDone = False
        self._lastText: str | None = None

    def receive(self, data: bytes) -> list:
        """
        Parse C{data}; return the events it completes.
        """
        events: list = []
        if self.receiveDone:
            return events
        try:
            self._receive(data, events)
        except PeerError as e:
            self.receiveDone = True
            self._conn._failConnection(e.closeCode or 1002, e.reason, events)
        return events

    def _receive(self, data: bytes, events: list) -> None:
        raise NotImplementedError
