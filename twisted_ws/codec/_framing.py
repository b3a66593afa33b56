"""
What the framers of every protocol family share.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._errors import ConnectionClosedError, LocalProtocolError, PeerError
from ._events import CloseReceived, ConnectionFailed, TextMessage
from ._utf8 import isUtf8

__all__ = ["Framer", "REUSE_MIN"]

#: Text messages at least this long keep the bytes they arrived as, in case
#: they are sent back (see L{Framer._encodeText}).
REUSE_MIN = 512


class Framer:
    """
    Reads and writes the frames of one connection, and nothing else: it
    knows no connection object.  Frames to send are appended to the C{out}
    list it is given; C{receive} returns the events that the received bytes
    complete, and what ended the reading, if anything, is left in
    C{closeReceived} or C{error} for the owner to act on.

    Subclasses implement C{_receive}, which raises L{PeerError} for a peer
    that breaks the protocol; L{receive} turns that into a
    L{ConnectionFailed} event.

    @ivar receiveDone: nothing more is parsed (the peer closed, or failed).
    @ivar sendDone: nothing more may be sent (a close frame was queued).
    @ivar closeReceived: the (code, reason) of the peer's close frame (code
        1005 when it carried none), once it arrived.
    @ivar error: the L{PeerError} that failed the connection, if any.
    @ivar decodeText: whether complete text messages are decoded.
    """

    __slots__ = ("_out", "receiveDone", "sendDone", "closeReceived", "error", "decodeText", "_received")

    def __init__(self, out: list, decodeText: bool = True) -> None:
        self._out = out
        self.receiveDone = False
        self.sendDone = False
        self.closeReceived: tuple[int, str] | None = None
        self.error: PeerError | None = None
        self.decodeText = decodeText
        # Text messages received in the data being handled, by id() of their
        # str (or, undecoded, of their bytes), with the UTF-8 they arrived
        # as: an echo or a relay sends these very objects back, and they
        # need not be encoded or checked again.
        self._received: dict[int, tuple[str | bytes, bytes]] | None = None

    def receive(self, data: bytes) -> list:
        """
        Parse C{data}; return the events it completes.  A peer error does
        not raise: it ends the reading, sets C{error} and adds a
        L{ConnectionFailed} event.
        """
        events: list = []
        # What the data handled before kept is let go of now, so that it
        # stays bounded by one batch even for a caller that never calls
        # endBatch.
        self._received = None
        if self.receiveDone:
            return events
        try:
            self._receive(data, events)
        except PeerError as e:
            self.fail(e, events)
        return events

    def fail(self, error: PeerError, events: list) -> None:
        """
        Stop reading because of C{error}, and report it in C{events}.
        """
        self.receiveDone = True
        self.error = error
        events.append(ConnectionFailed(error.closeCode or 1002, error.reason))

    def _closeFrame(self, code: int, reason: str, events: list) -> None:
        """
        The peer's close frame (or closing handshake) arrived: stop reading.
        """
        self.receiveDone = True
        self.closeReceived = (code, reason)
        events.append(CloseReceived(code, reason))

    def endBatch(self) -> None:
        """
        The received data has been handled: forget the text messages kept
        for sending back unencoded (L{receive} forgets them too).
        """
        self._received = None

    def refuseSend(self) -> None:
        """
        Raise what a send gets once C{sendDone} is set.
        """
        raise ConnectionClosedError("cannot send a message after the connection started closing")

    if TYPE_CHECKING:  # defined by each version's framing

        def _receive(self, data: bytes, events: list) -> None: ...

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
        if self.decodeText:
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
