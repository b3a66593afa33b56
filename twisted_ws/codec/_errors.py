"""
The exceptions of the codec, in one tree.

Misuse by the caller raises L{LocalProtocolError} at once.  Misbehaviour of
the peer never raises out of C{receiveData}: it becomes a L{PeerError} stored
on the connection (C{conn.failure}) together with a close code or an HTTP
status.  A client's verification of the server's handshake response fails
with one of the L{HandshakeError} subclasses, stored the same way.
"""

from __future__ import annotations

__all__ = [
    "WebSocketError",
    "LocalProtocolError",
    "ConnectionClosedError",
    "PeerError",
    "HandshakeError",
    "InvalidStatus",
    "InvalidHeader",
    "InvalidAccept",
    "InvalidChallenge",
    "NegotiationError",
]


class WebSocketError(Exception):
    """
    Base class of every exception raised or reported by twisted_ws.
    """


class LocalProtocolError(WebSocketError):
    """
    The caller used the codec in a way the protocol does not allow, such as
    sending on a closed connection or a binary message on a hixie connection.
    """


class ConnectionClosedError(LocalProtocolError):
    """
    A message or control frame was given to a connection that can no longer
    send: its close frame is already queued, or it is closed.

    An I/O layer tells from this class that a send came too late, which is
    not always the caller's fault: the peer may have closed or failed the
    connection in the very data whose messages the caller is answering.
    The Twisted layer drops such sends quietly, as a TCP transport drops
    writes after it was closed.
    """


class PeerError(WebSocketError):
    """
    The peer broke the protocol.

    @ivar closeCode: the WebSocket close code sent to the peer (for example
        1002, 1007 or 1009), or L{None} when the failure happened during the
        opening handshake.
    @ivar status: the HTTP status sent to the peer when a server rejected an
        opening request, or L{None}.
    @ivar reason: a human-readable description of what was wrong.
    """

    def __init__(
        self, reason: str, closeCode: int | None = None, status: int | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.closeCode = closeCode
        self.status = status


class HandshakeError(PeerError):
    """
    A client found the server's answer to its opening request unacceptable.
    """


class InvalidStatus(HandshakeError):
    """
    The server answered with a status other than 101.

    @ivar headers: the response headers as (name, value) pairs.
    """

    def __init__(self, reason: str, status: int, headers: list[tuple[str, str]]) -> None:
        super().__init__(reason, status=status)
        self.headers = headers


class InvalidHeader(HandshakeError):
    """
    A header of the server's response is missing or has a wrong value.

    @ivar name: the header's name.
    """

    def __init__(self, reason: str, name: str) -> None:
        super().__init__(reason)
        self.name = name


class InvalidAccept(InvalidHeader):
    """
    The server's C{Sec-WebSocket-Accept} does not match the key that was sent.
    """


class InvalidChallenge(HandshakeError):
    """
    The 16-byte challenge answer of a hixie-76 server does not match the keys
    that were sent.
    """


class NegotiationError(HandshakeError):
    """
    The server chose a subprotocol or an extension that the client did not
    offer, or answered an extension offer with parameters it cannot accept.
    """
