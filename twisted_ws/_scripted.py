# -*- test-case-name: tests.test_testing -*-
"""
L{ScriptedClient}, the WebSocket client of L{twisted_ws.testing}: the
codec's client connection driven by a test.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from twisted.internet import protocol
from twisted.python.failure import Failure

from ._connectionview import ClosingView, ConnectionView
from ._errors import AbnormalClose, CleanClose
from ._options import Options
from .codec import (
    BytesMessage,
    ClientConnection,
    CloseReceived,
    ConnectionFailed,
    ConnectionOpened,
    Event,
    ExtensionFactory,
    HandshakeFailed,
    Ping,
    Pong,
    PreparedMessage,
    TextMessage,
    Version,
)

__all__ = ["ScriptedClient"]

_E = TypeVar("_E", bound=Event)


class ScriptedClient(ConnectionView, ClosingView, protocol.Protocol):
    """
    A WebSocket client for tests: the codec's L{ClientConnection} driven by
    the test, recording everything that arrives.

    It sends its opening request as soon as it is connected, answers pings
    and the peer's close frame as the codec does, and ends its side of the
    TCP connection when the codec says to.  It has no timers: time moves
    only for the server, on the L{WebSocketPair}'s clock.

    A client-side application, if given, gets the callbacks of
    L{WebSocketProtocol} (C{negotiationStarted} with this client as its
    transport, C{negotiationFinished}, C{textMessageReceived} or
    C{utf8MessageReceived}, C{bytesMessageReceived}, C{pingReceived},
    C{pongReceived} and C{connectionLost} with a L{CleanClose} or
    L{AbnormalClose}), and sends through this client's sending methods.

    The sending methods raise what the codec raises: a send before the
    connection is open, or after it can no longer send, is the test's
    mistake and raises L{twisted_ws.codec.LocalProtocolError} (or its
    subclass L{twisted_ws.codec.ConnectionClosedError}).

    @ivar codec: the L{ClientConnection}.
    @ivar application: the client-side application, or L{None}.
    @ivar events: every codec event received, in order.
    @ivar messages: the messages received and not yet taken: L{str} for
        text, L{bytes} for binary.
    @ivar lostReason: the L{Failure} the TCP connection ended with, or
        L{None} while it is up.
    """

    transport: Any = None

    def __init__(
        self,
        host: str = "example.com",
        path: str = "/",
        *,
        version: Version = Version.RFC6455,
        origin: str | None = None,
        subprotocols: Sequence[str] = (),
        extensions: Sequence[ExtensionFactory] | None = None,
        headers: Iterable[tuple[str, str]] = (),
        secure: bool = False,
        options: Options | None = None,
        application: Any = None,
        randomSource: Callable[[int], bytes] = os.urandom,
    ) -> None:
        """
        @param host: the C{Host} header.
        @param path: the request target.
        @param version: the protocol L{Version} to speak.
        @param origin: the C{Origin} to claim (by default C{http://host} on
            the hixie versions, none on the others).
        @param subprotocols: the subprotocols to offer.
        @param extensions: the extension factories whose offers to make
            (by default those of C{options}).
        @param headers: extra request headers.
        @param secure: whether the client behaves as over TLS (C{wss://}).
        @param options: the client's codec L{Options}; by default the
            defaults, with messages and frames of up to 64 MiB.
        @param application: a client-side application, or L{None}.
        @param randomSource: where keys and masks come from.
        """
        if options is None:
            options = Options(maxMessageSize=64 << 20, maxFrameSize=64 << 20)
        self.codec = ClientConnection(
            host,
            path,
            version=version,
            origin=origin,
            subprotocols=subprotocols,
            extensions=extensions,
            headers=headers,
            secure=secure,
            options=options,
            randomSource=randomSource,
        )
        self.application = application
        self.events: list[Event] = []
        self.messages: list[str | bytes] = []
        self.lostReason: Failure | None = None

    # What the connection is.

    @property
    def opened(self) -> bool:
        """Whether the opening handshake completed."""
        return any(isinstance(e, ConnectionOpened) for e in self.events)

    @property
    def closeReceived(self) -> CloseReceived | None:
        """The server's close frame, once it arrived."""
        return self._first(CloseReceived)

    @property
    def handshakeFailure(self) -> HandshakeFailed | None:
        """
        How the opening handshake failed (C{status} is the server's HTTP
        status), or L{None}.
        """
        return self._first(HandshakeFailed)

    @property
    def failure(self) -> ConnectionFailed | None:
        """
        The protocol error of the server that failed the connection, or
        L{None}.
        """
        return self._first(ConnectionFailed)

    @property
    def disconnected(self) -> bool:
        """Whether the TCP connection ended."""
        return self.lostReason is not None

    # What arrived.

    def takeMessages(self) -> list[str | bytes]:
        """Remove and return the messages received so far."""
        taken, self.messages = self.messages, []
        return taken

    def eventsOf(self, kind: type[_E]) -> list[_E]:
        """
        The codec events of type C{kind} received so far (such as L{Pong}
        or L{CloseReceived}).
        """
        return [e for e in self.events if isinstance(e, kind)]

    def _first(self, kind: type[_E]) -> _E | None:
        return next((e for e in self.events if isinstance(e, kind)), None)

    # Sending.

    def sendTextMessage(self, text: str | bytes) -> None:
        """Queue a text message: a L{str}, or its UTF-8 bytes."""
        self.codec.sendTextMessage(text)
        self._write()

    def sendBytesMessage(self, data: bytes) -> None:
        """Queue a binary message."""
        self.codec.sendBytesMessage(data)
        self._write()

    def sendPreparedMessage(self, message: PreparedMessage) -> None:
        """Queue a L{PreparedMessage}."""
        self.codec.sendPreparedMessage(message)
        self._write()

    def ping(self, payload: bytes = b"") -> None:
        """Queue a ping."""
        self.codec.ping(payload)
        self._write()

    def pong(self, payload: bytes = b"") -> None:
        """Queue an unsolicited pong."""
        self.codec.pong(payload)
        self._write()

    def sendData(self, data: bytes) -> None:
        """Queue raw bytes, such as a malformed frame, past the codec."""
        self.transport.write(data)

    def close(self, code: int | None = 1000, reason: str = "") -> None:
        """
        Start the closing handshake with C{code} (L{None} for a close frame
        without a code) and C{reason}.
        """
        self.codec.close(code, reason)
        self._write()

    def loseConnection(self, code: int | None = 1000, reason: str = "") -> None:
        """
        The same as L{close}: the name a L{WebSocketProtocol}'s
        C{loseConnection} calls on its transport.
        """
        self.close(code, reason)

    def dropConnection(self) -> None:
        """
        End the TCP connection without a closing handshake, once what is
        queued was delivered.
        """
        self.transport.loseConnection()

    # The byte-level protocol.

    def connectionMade(self) -> None:
        """Send the opening request."""
        app = self.application
        if app is not None:
            app.negotiationStarted(self)
        self._write()

    def dataReceived(self, data: bytes) -> None:
        """Hand C{data} to the codec and its events to the application."""
        self._handle(self.codec.receiveData(data))
        self._write()

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        """The TCP connection ended: tell the codec and the application."""
        if self.lostReason is not None:
            return
        self.lostReason = reason
        self._handle(self.codec.receiveEOF())
        app = self.application
        if app is not None:
            app.connectionLost(_closeFailure(self.codec, reason))

    def _write(self) -> None:
        """Write what the codec queued, and end TCP when the codec says to."""
        if self.transport is None:
            return
        chunks = self.codec.chunksToSend()
        if chunks:
            self.transport.writeSequence(chunks)
        if self.codec.shouldCloseTransport and not self.transport.disconnecting:
            self.transport.loseConnection()

    def _handle(self, events: list[Event]) -> None:
        """Record C{events} and call the application's callbacks."""
        app = self.application
        for event in events:
            self.events.append(event)
            if isinstance(event, TextMessage):
                self.messages.append(event.data)
                if app is not None:
                    receive = getattr(app, "utf8MessageReceived", None)
                    if receive is not None:
                        receive(event.utf8)
                    else:
                        app.textMessageReceived(event.data)
            elif isinstance(event, BytesMessage):
                self.messages.append(event.data)
                if app is not None:
                    app.bytesMessageReceived(event.data)
            elif app is None:
                continue
            elif isinstance(event, ConnectionOpened):
                app.negotiationFinished()
            elif isinstance(event, Ping):
                app.pingReceived(event.data)
            elif isinstance(event, Pong):
                app.pongReceived(event.data)



def _closeFailure(codec: ClientConnection, reason: Failure) -> Failure:
    """
    What a client-side application's C{connectionLost} is given once
    C{codec}'s TCP connection ended with C{reason}: a L{CleanClose} or an
    L{AbnormalClose}, as the Twisted layer gives one.
    """
    kind = CleanClose if codec.wasClean else AbnormalClose
    cause = codec.cause if codec.cause is not None else None if codec.wasClean else reason.value
    code = codec.closeCode if codec.closeCode is not None else 1006
    return Failure(kind(code, codec.closeReason, codec.wasClean, codec.closedByPeer, cause))
