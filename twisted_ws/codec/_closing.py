"""
L{ClosingRecord}: what a connection records of its closing (the close
frames sent and received, the peer error, how it ended otherwise) and the
readings derived from it (C{closeCode}, C{closeReason}, C{wasClean},
C{closedByPeer}), for L{Connection<twisted_ws.codec.Connection>}.
"""

from __future__ import annotations

from ._deprecated import DeprecatedNames
from ._errors import PeerError

__all__ = ["ClosingRecord"]


class ClosingRecord(DeprecatedNames):
    """
    The record of how a connection closed, from which every reading of it
    is derived rather than stored twice.

    @ivar cause: the L{PeerError} (or L{HandshakeError}) that failed the
        connection, or L{None}.
    @ivar shouldCloseTransport: whether the caller should now end the TCP
        connection, once it has written what is queued.
    """

    __slots__ = (
        "cause",
        "shouldCloseTransport",
        "_sentClose",
        "_peerClose",
        "_owed",
        "_byPeer",
        "_ending",
    )

    def __init__(self) -> None:
        self.cause: PeerError | None = None
        self.shouldCloseTransport = False
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
