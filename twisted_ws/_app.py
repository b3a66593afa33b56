"""
L{WebSocketProtocol}: the base class of WebSocket applications, with the
callbacks of C{twisted.web.websocket} and shortcuts to the transport.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from twisted.python.failure import Failure

    from .codec import HandshakeRequest

__all__ = ["WebSocketProtocol"]


class WebSocketProtocol:
    """
    Base class of WebSocket applications: subclass it and override the
    callbacks you need.  It works the same whichever protocol version the
    peer speaks.

    The callback names are those of C{twisted.web.websocket}, so an
    application written for it moves over by changing an import.

    @ivar transport: the L{WebSocketServerConnection} (the "WebSocket
        transport") this protocol sends through, set by
        L{negotiationStarted}.
    @ivar factory: the factory that built this protocol, if any.
    """

    transport: Any = None
    factory: Any = None

    def negotiationStarted(self, transport: Any) -> None:
        """
        A request arrived and the opening handshake began; C{transport} is
        where messages will be sent.
        """
        self.transport = transport

    def requestReceived(self, request: HandshakeRequest) -> str | None:
        """
        Inspect the opening request before it is accepted.

        @param request: the request: C{method}, C{path}, C{target},
            C{headers} (with C{header(name)}), C{version}, C{origin},
            C{subprotocols} offered and C{extensions} offered; the peer's
            address is C{self.transport.getPeer()}.
        @return: the subprotocol to choose (one the client offered), or
            L{None} for the first of the factory's C{Options.subprotocols}
            that the client offered.  Add response headers with
            C{self.transport.addResponseHeader(name, value)}.
        @raise RejectConnection: to refuse the connection with an HTTP
            status.
        """
        return None

    def negotiationFinished(self) -> None:
        """
        The opening handshake completed: the connection is open.
        """

    def textMessageReceived(self, message: str) -> None:
        """
        A text message arrived.
        """

    def utf8MessageReceived(self, data: bytes) -> None:
        """
        A text message arrived, as its UTF-8 bytes (already checked to be
        valid UTF-8).

        Override this instead of L{textMessageReceived} to get text messages
        undecoded: the connection then never decodes them, which saves the
        work for an application that relays them, hands them to a parser
        that takes bytes (C{json.loads} does), or stores them.  C{data} can
        be passed to L{sendTextMessage} as it is.  This default decodes it
        and calls L{textMessageReceived}.
        """
        self.textMessageReceived(data.decode("utf-8"))

    def bytesMessageReceived(self, data: bytes) -> None:
        """
        A binary message arrived.
        """

    def pongReceived(self, payload: bytes) -> None:
        """
        A pong arrived.
        """

    def pingReceived(self, payload: bytes) -> None:
        """
        A ping arrived (the pong is sent automatically).
        """

    def connectionLost(self, reason: Failure) -> None:
        """
        The connection ended.  C{reason.value} is a L{ConnectionClosed} with
        C{code}, C{reason}, C{wasClean} and C{closedByPeer}.
        """

    # Shortcuts to the transport.

    def sendTextMessage(self, text: str | bytes) -> None:
        """
        Send a text message: a L{str}, or its UTF-8 bytes.
        """
        self.transport.sendTextMessage(text)

    def sendBytesMessage(self, data: bytes) -> None:
        """
        Send a binary message.

        @raise LocalProtocolError: on a hixie connection, which has none.
        """
        self.transport.sendBytesMessage(data)

    def ping(self, payload: bytes = b"") -> None:
        """
        Send a ping.
        """
        self.transport.ping(payload)

    def loseConnection(self, code: int = 1000, reason: str = "") -> None:
        """
        Close the connection with C{code} and C{reason}.
        """
        self.transport.loseConnection(code, reason)
