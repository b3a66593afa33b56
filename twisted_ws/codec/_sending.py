"""
L{Sending}: the outgoing side of a connection (the buffer of bytes to send,
pings and pongs, prepared messages, the closing handshake's frames), for
L{Connection<twisted_ws.codec.Connection>}.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._closing import ClosingRecord
from ._errors import LocalProtocolError
from ._hixie import HixieFramer
from ._options import Version
from ._state import State, Trigger

if TYPE_CHECKING:
    from ._hybi import HybiFramer
    from ._prepared import PreparedMessage

__all__ = ["Sending", "notOpen"]


def notOpen(*args: object) -> None:
    """
    What the sending methods are before the connection opens: raise
    L{LocalProtocolError}.
    """
    raise LocalProtocolError("cannot send before the WebSocket connection is open")


class Sending(ClosingRecord):
    """
    The sending methods of a connection, over its record of the closing
    and the attributes L{Connection<twisted_ws.codec.Connection>} keeps.
    """

    __slots__ = ()

    state: State
    version: Version | None
    _out: list[bytes]
    _framer: HybiFramer | HixieFramer | None
    sender: Any

    if TYPE_CHECKING:  # defined by Connection, the only subclass

        def _transition(self, trigger: Trigger) -> None: ...

        def _refused(self, reason: str) -> None: ...

        def _stopFraming(self) -> None: ...

    def sendTextMessage(self, text: str | bytes) -> None:
        """
        Send a text message.

        @param text: a L{str}, or its UTF-8 bytes: a relay passes on the
            L{TextMessage.utf8<twisted_ws.codec.TextMessage.utf8>} it
            received and nothing is encoded.  Bytes are checked to be valid
            UTF-8 (L{LocalProtocolError} if not), except the bytes of a long
            text message received in the data being handled, which were
            checked on arrival.
        """
        self.sender.sendText(text)

    def sendBytesMessage(self, data: bytes) -> None:
        """
        Send a binary message (L{LocalProtocolError} on a hixie connection,
        which has none).
        """
        self.sender.sendBinary(data)

    def chunksToSend(self) -> list[bytes]:
        """
        The bytes to send to the peer since the last call, as a list of
        chunks to write in order, emptying the outgoing buffer.  A close
        frame owed to the peer (see L{answerClose}) is queued first, after
        everything sent before this call.
        """
        if self._owed is not None:
            self.answerClose()
        out = self._out
        chunks = out[:]
        out.clear()
        return chunks

    def releaseReceivedText(self) -> None:
        """
        The events of the last L{receiveData} have been handled: let go of
        the long text messages it delivered, which L{sendTextMessage} would
        otherwise send back without checking their UTF-8 again.

        Until this is called, or until the next L{receiveData}, the
        connection keeps a reference to each of them; an I/O layer calls it
        once it has delivered what one read carried, so that an idle
        connection holds none.
        """
        framer = self._framer
        if framer is not None:
            framer.endBatch()

    def dataToSend(self) -> bytes:
        """
        The bytes to send to the peer since the last call, joined; see
        L{chunksToSend}.
        """
        if self._owed is not None:
            self.answerClose()
        out = self._out
        if not out:
            return b""
        data = out[0] if len(out) == 1 else b"".join(out)
        out.clear()
        return data

    @property
    def queuedChunkCount(self) -> int:
        """
        How many chunks wait in the outgoing buffer.
        """
        return len(self._out)

    def ping(self, data: bytes = b"") -> None:
        """
        Send a ping with up to 125 bytes of application data.

        @raise LocalProtocolError: not open, too long, or a hixie version.
        @raise ConnectionClosedError: the connection can no longer send.
        """
        framer = self._framer
        if framer is None:
            notOpen()
        else:
            framer.sendPing(data)

    def pong(self, data: bytes = b"") -> None:
        """
        Send an unsolicited pong (a heartbeat that expects no answer).

        @raise LocalProtocolError: not open, too long, or a hixie version.
        @raise ConnectionClosedError: the connection can no longer send.
        """
        framer = self._framer
        if framer is None:
            notOpen()
        else:
            framer.sendPong(data)

    def answerClose(self) -> None:
        """
        Queue now the close frame that answers the peer's close frame (with
        its code) or reports its protocol error, after whatever was sent
        since they arrived; a no-op when none is owed.

        The close frame is not queued as soon as the peer's arrives: the
        messages that came before it in the same data are still to be
        handled, and replies to them must go out first.  L{dataToSend} and
        L{chunksToSend} queue it by themselves; call this to queue it
        earlier, such as when the messages are held back for an application
        that paused reading.
        """
        owed, self._owed = self._owed, None
        if owed is None:
            return
        code, reason, reportsFailure = owed
        framer = self._framer
        # A close is owed only when the peer's close frame or error came
        # while OPEN, before this side queued a close frame of its own.
        assert framer is not None and not framer.sendDone
        # hixie drafts have no close frame that reports an error.
        if not (reportsFailure and isinstance(framer, HixieFramer)):
            framer.sendClose(None if code == 1005 else code, reason)
        framer.sendDone = True
        if not reportsFailure:
            self._sentClose = (code, reason)
        self._transition(Trigger.ANSWERED)

    def sendPreparedMessage(self, message: PreparedMessage) -> None:
        """
        Send a L{PreparedMessage}, reusing its frame where this connection
        can take it unchanged.

        @raise LocalProtocolError: the connection is not open, or the message
            is binary and the connection speaks a hixie version.
        @raise ConnectionClosedError: the connection can no longer send.
        """
        framer = self._framer
        if framer is None:
            raise LocalProtocolError(f"cannot send on a connection that is {self.state.name}")
        if framer.sendDone:
            framer.refuseSend()
        key = framer.preparedKey()
        if key is not None:
            assert self.version is not None
            self._out.append(message.frameFor(self.version, key))
        elif message.isText:
            framer.sendText(message.data)  # type: ignore[arg-type]
        else:
            framer.sendBinary(message.data)  # type: ignore[arg-type]

    def close(self, code: int | None = 1000, reason: str = "") -> None:
        """
        Start the closing handshake with C{code} and C{reason}.

        While the opening handshake is under way this aborts it.  When the
        peer started the closing, this queues the answer (L{answerClose}).
        Once this side's close frame is queued, or the connection is closed,
        it does nothing.  On hixie-75, which has no closing handshake, the
        connection is closed at once and the caller should end the TCP
        connection.

        @raise LocalProtocolError: C{code} may not be sent (1005, 1006 and
            1015 never go on the wire), or C{reason} is over 123 bytes.
        """
        state = self.state
        if state is State.CONNECTING:
            self._refused("opening handshake aborted")
            return
        if state is State.REMOTE_CLOSING:
            self.answerClose()
            return
        if state is not State.OPEN:
            return
        framer = self._framer
        assert framer is not None
        framer.sendClose(code, reason)
        self._sentClose = (code if code is not None else 1005, reason)
        if self.version is Version.HIXIE75:
            # Closing is ending the TCP connection: it is complete at once.
            self._peerClose = self._sentClose
            self.shouldCloseTransport = True
            self._stopFraming()
            self._transition(Trigger.ABORTED)
        else:
            self._transition(Trigger.CLOSE_SENT)
