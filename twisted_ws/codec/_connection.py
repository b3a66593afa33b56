"""
What the connection objects of both roles share (L{Connection}): one per
WebSocket connection, of any version.  Bytes go in through C{receiveData},
events come out of it, and bytes to send accumulate until C{dataToSend} is
called.  The roles are in C{_server} and C{_client}.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._errors import PeerError
from ._hixie import HixieFramer
from ._hybi import HybiFramer, PlainServerHybiFramer
from ._options import Options, Version
from ._sending import Sending, notOpen
from ._state import HandshakeStep, State, Trigger, transition

if TYPE_CHECKING:
    from ._extensions import Extension

__all__ = ["Connection"]

DEFAULT_OPTIONS: Options = Options()


class Connection(Sending):
    """
    What server and client connections share: the state machine (see
    L{State} and the one table of its transitions in
    C{twisted_ws.codec._state}), the outgoing buffer, and the sending
    methods.

    How the connection closed is derived from what happened, not stored
    twice: the close frame this side sent, the one the peer sent, the peer
    error that failed the connection (C{cause}), or the way it ended
    otherwise (the TCP connection ended, the handshake was refused).

    A send goes straight to the framing of the connection's protocol
    version, its C{sender}: C{sender.sendText(text)} and
    C{sender.sendBinary(data)} do what L{sendTextMessage} and
    L{sendBytesMessage} do, one call shorter, for an I/O layer's hot path.
    Before the connection opens they raise L{LocalProtocolError}; once it
    can no longer send (its close frame is queued, or it is closed) they
    raise L{ConnectionClosedError}.

    @ivar state: the L{State}.
    @ivar version: the protocol L{Version}, once known.
    @ivar subprotocol: the negotiated subprotocol, or L{None}.
    @ivar extensions: the negotiated extensions.
    @ivar handshakeStep: the L{HandshakeStep} of the opening handshake.
    @ivar cause: the L{PeerError} (or L{HandshakeError}) that failed the
        connection, or L{None}.
    @ivar shouldCloseTransport: whether the caller should now end the TCP
        connection, once it has written what is queued.
    @ivar sender: the framing that sends this connection's messages (see
        above): before the connection opens, an object whose methods
        refuse.
    """

    __slots__ = (
        "options",
        "state",
        "version",
        "subprotocol",
        "extensions",
        "sender",
        "_decodeText",
        "_out",
        "_random",
        "_framer",
        "handshakeStep",
        "_hbuf",
    )

    isClient = False

    def __init__(self, options: Options, randomSource: Callable[[int], bytes]) -> None:
        super().__init__()
        self.options = options
        self.state = State.CONNECTING
        self.version: Version | None = None
        self.subprotocol: str | None = None
        self.extensions: tuple[Extension, ...] = ()
        self.sender: HybiFramer | HixieFramer | _NotOpen = _NOT_OPEN
        self._decodeText = options.decodeText
        self._out: list[bytes] = []
        self._random = randomSource
        self._framer: HybiFramer | HixieFramer | None = None
        self.handshakeStep = HandshakeStep.HEAD
        self._hbuf = b""

    def __repr__(self) -> str:
        version = self.version.label if self.version else "?"
        return f"<{type(self).__name__} {version} {self.state.name}>"

    def _transition(self, trigger: Trigger) -> None:
        self.state = transition(self.state, trigger)

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

    if TYPE_CHECKING:  # defined by each role

        def _receiveHandshake(self, data: bytes) -> list: ...

        def _internalHandshakeError(self, error: PeerError) -> list: ...

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
        # Only a framing that still reads can raise: the connection is OPEN
        # or LOCAL_CLOSING.
        framer.fail(peerError, events)
        self._readingEnded(framer)
        return events

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
        # The framing is built first: if that fails (an extension raising),
        # the connection is still CONNECTING and the handshake fails.
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
        self.version = version
        self.subprotocol = subprotocol
        self.extensions = extensions
        self.handshakeStep = HandshakeStep.DONE
        self._transition(Trigger.OPENED)
        self._framer = self.sender = framer




class _NotOpen:
    """
    The C{sender} of a connection that is not open yet: every send refuses.
    """

    __slots__ = ()

    sendText = sendBinary = staticmethod(notOpen)


_NOT_OPEN = _NotOpen()


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
