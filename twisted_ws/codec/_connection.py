"""
What the connection objects of both roles share (L{Connection}): one per
WebSocket connection, of any version.  Bytes go in through C{receiveData},
events come out of it, and bytes to send accumulate until C{dataToSend} is
called.  The roles are in C{_server} and C{_client}.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._deprecated import DeprecatedNames
from ._errors import LocalProtocolError, PeerError
from ._hixie import HixieFramer
from ._hybi import HybiFramer, PlainServerHybiFramer
from ._options import Options, Version
from ._prepared import PreparedMessage
from ._state import HandshakeStep, State, Trigger, transition

if TYPE_CHECKING:
    from ._extensions import Extension

__all__ = ["Connection"]

DEFAULT_OPTIONS: Options = Options()


class Connection(DeprecatedNames):
    """
    What server and client connections share: the state machine (see
    L{State} and the one table of its transitions in
    C{twisted_ws.codec._state}), the outgoing buffer, and the sending
    methods.

    How the connection closed is derived from what happened, not stored
    twice: the close frame this side sent, the one the peer sent, the peer
    error that failed the connection (C{cause}), or the way it ended
    otherwise (the TCP connection ended, the handshake was refused).

    The two message-sending methods, C{sendTextMessage} and
    C{sendBytesMessage}, are attributes bound, once the connection opens,
    straight to the framing of its protocol version, so that a send (the hot
    path of every echo and relay) costs one call.  Before
    the connection opens they raise L{LocalProtocolError}; once it can no
    longer send (its close frame is queued, or it is closed) they raise
    L{ConnectionClosedError}.

    @ivar state: the L{State}.
    @ivar version: the protocol L{Version}, once known.
    @ivar subprotocol: the negotiated subprotocol, or L{None}.
    @ivar extensions: the negotiated extensions.
    @ivar handshakeStep: the L{HandshakeStep} of the opening handshake.
    @ivar cause: the L{PeerError} (or L{HandshakeError}) that failed the
        connection, or L{None}.
    @ivar shouldCloseTransport: whether the caller should now end the TCP
        connection, once it has written what is queued.
    @ivar sendTextMessage: C{sendTextMessage(text)}: send a text message.
        C{text} is a L{str} or its UTF-8 bytes: a relay passes on the
        L{TextMessage.utf8<twisted_ws.codec.TextMessage.utf8>} it received
        and nothing is encoded.  Bytes are checked to be valid UTF-8 (raising
        L{LocalProtocolError} if not); the bytes of a long text message
        received in the data being handled were checked on arrival and are
        not checked again.
    @ivar sendBytesMessage: C{sendBytesMessage(data)}: send a binary message
        (L{LocalProtocolError} on a hixie connection, which has none).
    """

    __slots__ = (
        "options",
        "state",
        "version",
        "subprotocol",
        "extensions",
        "cause",
        "shouldCloseTransport",
        "sendTextMessage",
        "sendBytesMessage",
        "_decodeText",
        "_out",
        "_random",
        "_framer",
        "handshakeStep",
        "_hbuf",
        "_sentClose",
        "_peerClose",
        "_owed",
        "_byPeer",
        "_ending",
    )

    isClient = False

    def __init__(self, options: Options, randomSource: Callable[[int], bytes]) -> None:
        self.options = options
        self.state = State.CONNECTING
        self.version: Version | None = None
        self.subprotocol: str | None = None
        self.extensions: tuple[Extension, ...] = ()
        self.cause: PeerError | None = None
        self.shouldCloseTransport = False
        self.sendTextMessage: Callable[[str | bytes], None] = _notOpen
        self.sendBytesMessage: Callable[[bytes], None] = _notOpen
        self._decodeText = options.decodeText
        self._out: list[bytes] = []
        self._random = randomSource
        self._framer: HybiFramer | HixieFramer | None = None
        self.handshakeStep = HandshakeStep.HEAD
        self._hbuf = b""
        # The close frame this side queued and the peer's, as (code, reason)
        # with 1005 for none; the close frame owed in REMOTE_CLOSING, as
        # (code, reason, reportsFailure); whether the peer ended the
        # exchange first; and how the connection ended when no closing
        # handshake says it, as (code, reason).
        self._sentClose: tuple[int, str] | None = None
        self._peerClose: tuple[int, str] | None = None
        self._owed: tuple[int, str, bool] | None = None
        self._byPeer = False
        self._ending: tuple[int, str] | None = None

    def __repr__(self) -> str:
        version = self.version.label if self.version else "?"
        return f"<{type(self).__name__} {version} {self.state.name}>"

    def _transition(self, trigger: Trigger) -> None:
        self.state = transition(self.state, trigger)

    # How it closed, derived.

    def _closing(self) -> tuple[int, str] | None:
        """
        The (code, reason) that says how the connection closed, from the
        first of: the peer error that failed it, the peer's close frame, how
        it ended otherwise; L{None} while nothing says it yet.
        """
        cause = self.cause
        if cause is not None and cause.closeCode is not None:
            return cause.closeCode, cause.reason
        return self._peerClose or self._ending

    @property
    def closeCode(self) -> int | None:
        """
        The code that describes how the connection closed: the peer's close
        code (1005 when it sent none), the code this side sent when the peer
        broke the protocol, or 1006 when the TCP connection ended (or the
        opening handshake failed) without a closing handshake.  L{None}
        while nothing says it yet.
        """
        closing = self._closing()
        return None if closing is None else closing[0]

    @property
    def closeReason(self) -> str:
        """
        The reason that goes with L{closeCode}.
        """
        closing = self._closing()
        return "" if closing is None else closing[1]

    @property
    def wasClean(self) -> bool:
        """
        Whether the closing handshake took place: the peer's close frame
        arrived (this side's is sent in answer, unless the TCP connection
        ends first) and nothing failed.
        """
        return self._peerClose is not None and self.cause is None

    @property
    def closedByPeer(self) -> bool:
        """
        Whether the peer started the closing (with its close frame, or by
        ending the TCP connection while the connection was open).
        """
        return self._byPeer

    @property
    def closeAnswerPending(self) -> bool:
        """
        Whether this side owes the close frame that answers the peer's close
        frame or reports its protocol error: see L{answerClose}.
        """
        return self._owed is not None

    @property
    def canSend(self) -> bool:
        """
        Whether messages may be sent now: the connection is open, or the peer
        closed it and the answer is not yet queued.
        """
        framer = self._framer
        return framer is not None and not framer.sendDone

    @property
    def decodeText(self) -> bool:
        """
        Whether text messages are decoded as they complete (see
        C{Options.decodeText}, its initial value); a change applies from the
        next data received.
        """
        return self._decodeText

    @decodeText.setter
    def decodeText(self, value: bool) -> None:
        self._decodeText = value
        if self._framer is not None:
            self._framer.decodeText = value

    # Input.

    def receiveData(self, data: bytes) -> list:
        """
        Feed bytes received from the peer.

        @return: the events these bytes complete, in order.  Nothing raises,
            whatever the bytes: a peer error appears as L{ConnectionFailed}
            or L{HandshakeFailed} and in C{cause}, and an internal error
            fails the connection the same way, with close code 1011 (or HTTP
            500 during the opening handshake).
        """
        framer = self._framer
        if framer is not None:
            try:
                events = framer.receive(data)
                if framer.receiveDone:
                    self._readingEnded(framer)
            except Exception as e:
                return self._internalError(e)
            return events
        if self.state is State.CONNECTING:
            try:
                return self._receiveHandshake(data)
            except Exception as e:
                return self._internalError(e)
        return []

    def _receiveHandshake(self, data: bytes) -> list:
        raise NotImplementedError

    def _readingEnded(self, framer: HybiFramer | HixieFramer) -> None:
        """
        The framing stopped reading: the peer's close frame arrived, or the
        peer broke the protocol.  Move the state machine on.
        """
        state = self.state
        if state is not State.OPEN and state is not State.LOCAL_CLOSING:
            return
        error = framer.error
        if error is not None:
            self.cause = error
            self.shouldCloseTransport = True
            if state is State.OPEN:
                self._owed = (error.closeCode or 1002, "", True)
            self._transition(Trigger.FAILED)
            return
        self._peerClose = framer.closeReceived
        if state is State.OPEN:
            self._byPeer = True
            assert self._peerClose is not None
            self._owed = (self._peerClose[0], "", False)
        self._transition(Trigger.CLOSE_RECEIVED)
        # The server ends the TCP connection; a client waits for it.
        if not self.isClient:
            self.shouldCloseTransport = True

    def _internalError(self, error: Exception) -> list:
        """
        A bug in the codec (or an extension) raised on the receive path: fail
        the connection with 1011, keeping C{error} as the cause.
        """
        peerError = PeerError(f"internal error: {type(error).__name__}: {error}", closeCode=1011)
        peerError.__cause__ = error
        framer = self._framer
        events: list = []
        if framer is None:
            return self._internalHandshakeError(peerError)
        if self.state is State.OPEN or self.state is State.LOCAL_CLOSING:
            framer.fail(peerError, events)
            self._readingEnded(framer)
        return events

    def _internalHandshakeError(self, error: PeerError) -> list:
        raise NotImplementedError

    def receiveEOF(self) -> list:
        """
        The TCP connection ended.  A connection that had not finished its
        closing handshake is now closed uncleanly (1006); on hixie-75, whose
        only way to close is to end the TCP connection, it is a clean close.

        @return: the events this completes (none, today; a list for
            symmetry with C{receiveData}).
        """
        self.shouldCloseTransport = True
        state = self.state
        if state is State.CLOSED:
            return []
        if state is State.OPEN:
            self._byPeer = True
        if state is State.OPEN and self.version is Version.HIXIE75:
            self._sentClose = self._peerClose = (1005, "")
        else:
            if state is State.CONNECTING and self.cause is None:
                self.cause = PeerError("connection ended during the opening handshake")
            self._ending = (1006, "connection ended without a closing handshake")
        self._owed = None
        self._stopFraming()
        self._transition(Trigger.ENDED)
        return []

    def _stopFraming(self) -> None:
        framer = self._framer
        if framer is not None:
            framer.receiveDone = True
            framer.sendDone = True

    # Output.

    def chunksToSend(self) -> list[bytes]:
        """
        The bytes to send to the peer since the last call, as a list of
        chunks to write in order, emptying the outgoing buffer.  A close
        frame owed to the peer (see L{answerClose}) is queued first, after
        everything sent before this call.
        """
        if self._owed is not None:
            self.answerClose()
        framer = self._framer
        if framer is not None:
            framer.endBatch()
        out = self._out
        chunks = out[:]
        out.clear()
        return chunks

    def dataToSend(self) -> bytes:
        """
        The bytes to send to the peer since the last call, joined; see
        L{chunksToSend}.
        """
        if self._owed is not None:
            self.answerClose()
        framer = self._framer
        if framer is not None:
            framer.endBatch()
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
            _notOpen()
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
            _notOpen()
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
        assert framer is not None
        if not framer.sendDone:
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
            framer._checkSend()
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

    # The handshake's end.

    def _refused(self, reason: str) -> None:
        """
        The opening handshake failed, was refused or was aborted because of
        C{reason}: read nothing more, and end the TCP connection once what
        is queued (an error response, on a server) is written.
        """
        self._ending = (1006, reason)
        self.handshakeStep = HandshakeStep.REFUSED
        self.shouldCloseTransport = True
        self._hbuf = b""
        self._transition(Trigger.REFUSED)

    def _open(
        self, version: Version, subprotocol: str | None, extensions: tuple[Extension, ...]
    ) -> None:
        self.version = version
        self.subprotocol = subprotocol
        self.extensions = extensions
        self.handshakeStep = HandshakeStep.DONE
        self._transition(Trigger.OPENED)
        framer: HybiFramer | HixieFramer
        if version.isHixie:
            framer = HixieFramer(self._out, version, self.options, self._decodeText)
        elif not self.isClient and not extensions and self.options.fragmentSize is None:
            framer = PlainServerHybiFramer(
                self._out, False, self.options, extensions, self._random, self._decodeText
            )
        else:
            framer = HybiFramer(
                self._out, self.isClient, self.options, extensions, self._random, self._decodeText
            )
        self._framer = framer
        self.sendTextMessage = framer.sendText
        self.sendBytesMessage = framer.sendBinary


def _notOpen(*args: object) -> None:
    raise LocalProtocolError("cannot send before the WebSocket connection is open")



def __getattr__(name: str) -> Any:
    # The roles lived in this module before; they are imported from here
    # lazily, as the role modules import this one.
    if name == "ServerConnection":
        from ._server import ServerConnection

        return ServerConnection
    if name == "ClientConnection":
        from ._client import ClientConnection

        return ClientConnection
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
