"""
How a WebSocket connection ended (L{ConnectionClosed} and its two kinds,
given to the application's C{connectionLost}) and how an application
refuses one (L{RejectConnection}).
"""

from __future__ import annotations

from twisted.internet import error

__all__ = ["ConnectionClosed", "CleanClose", "AbnormalClose", "RejectConnection"]


class ConnectionClosed(error.ConnectionClosed):
    """
    How a WebSocket connection ended; the value of the L{Failure} given to
    C{connectionLost}.  L{CleanClose} is also a
    L{twisted.internet.error.ConnectionDone} and L{AbnormalClose} a
    L{twisted.internet.error.ConnectionLost}, so C{reason.check(ConnectionDone)}
    works as Twisted applications expect.

    @ivar code: the close code (1000 normal, 1001 going away, 1005 no code
        given, 1006 no closing handshake, 1002/1007/1009 protocol errors, ...).
    @ivar reason: the close reason.
    @ivar wasClean: whether the closing handshake completed.
    @ivar closedByPeer: whether the peer started the closing.
    @ivar cause: the L{twisted_ws.codec.PeerError} that failed the connection,
        the lower-level failure of the TCP connection, or L{None}.
    """

    def __init__(
        self,
        code: int,
        reason: str,
        wasClean: bool,
        closedByPeer: bool,
        cause: object = None,
    ) -> None:
        super().__init__(f"WebSocket closed with code {code}" + (f": {reason}" if reason else ""))
        self.code = code
        self.reason = reason
        self.wasClean = wasClean
        self.closedByPeer = closedByPeer
        self.cause = cause


class CleanClose(ConnectionClosed, error.ConnectionDone):
    """
    The closing handshake completed.
    """


class AbnormalClose(ConnectionClosed, error.ConnectionLost):
    """
    The connection ended without a completed closing handshake: a protocol
    error, a timeout, a rejected handshake, or a dropped TCP connection.
    """


class RejectConnection(Exception):
    """
    Raise from L{WebSocketProtocol.requestReceived} to refuse the opening
    handshake with an HTTP error response.

    @ivar status: the HTTP status, 4xx or 5xx.
    @ivar reason: the response body (plain text).
    @ivar headers: extra response headers as (name, value) pairs.
    """

    def __init__(
        self, status: int = 403, reason: str = "", headers: tuple[tuple[str, str], ...] = ()
    ) -> None:
        super().__init__(status, reason)
        self.status = status
        self.reason = reason
        self.headers = headers
