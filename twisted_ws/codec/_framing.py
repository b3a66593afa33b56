"""
What the framers of every protocol family share.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._errors import LocalProtocolError, PeerError
from ._events import TextMessage
from ._utf8 import isUtf8

if TYPE_CHECKING:
    from ._connection import Connection

__all__ = ["Framer", "REUSE_MIN"]

#: Text messages at least this long keep the bytes they arrived as, in case
#: they are sent back (see L{Framer._encodeText}).
REUSE_MIN = 512


class Framer:
    """
    Reads and writes the frames of one connection.  Subclasses implement
    C{_receive}, which raises L{PeerError} for a peer that breaks the
    protocol; L{receive} turns that into a failed connection.

    @ivar receiveDone: nothing more is parsed (the peer closed, or failed).
    @ivar sendDone: nothing more may be sent (a close frame was queued).
    """

    __slots__ = ("_conn", "_out", "receiveDone", "sendDone", "_received")

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._out = conn._out
        self.receiveDone = False
        self.sendDone = False
        # Text messages received in the data being handled, by id() of their
        # str (or, undecoded, of their bytes), with the UTF-8 they arrived
        # as: an echo or a relay sends these very objects back, and they
        # need not be encoded or checked again.
        self._received: dict[int, tuple[str | bytes, bytes]] | None = None

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

    def _keepReceived(self, text: str | bytes, payload: bytes) -> None:
        received = self._received
        if received is None:
            received = self._received = {}
        received[id(text)] = (text, payload)

    def _textMessage(self, payload: bytes, events: list) -> None:
        """
        Add the event of a complete text message whose UTF-8 C{payload} was
        checked as it arrived: decoded, unless the connection's
        C{decodeText} is off.
        """
        if self._conn.decodeText:
            text = payload.decode("utf-8")
            events.append(TextMessage(text, payload))
            if len(payload) >= REUSE_MIN:
                self._keepReceived(text, payload)
        else:
            events.append(TextMessage(None, payload))
            if len(payload) >= REUSE_MIN:
                self._keepReceived(payload, payload)

    def _encodeText(self, text: str | bytes) -> bytes:
        """
        The UTF-8 of C{text}: the bytes it arrived as, if it was received in
        the data being handled, or else encoded (or, for bytes, checked)
        now.

        @raise LocalProtocolError: C{text} is bytes that are not UTF-8.
        """
        received = self._received
        if received is not None:
            entry = received.get(id(text))
            if entry is not None and entry[0] is text:
                return entry[1]
        if isinstance(text, str):
            return text.encode("utf-8")
        if not isinstance(text, bytes):
            text = bytes(text)
        if not isUtf8(text):
            raise LocalProtocolError("the bytes of a text message must be valid UTF-8")
        return text
