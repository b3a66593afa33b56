"""
How a connection ends: failing it (an application error, a timeout), ending
or dropping the TCP connection, and telling the application how it closed
(L{ConnectionClosed}) when TCP reports the connection lost.

L{ConnectionEnding} is a base of L{twisted_ws._wire.WireProtocol}, whose
state (the codec, the transport, the timers and the flow control) it uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from twisted.internet import protocol
from twisted.internet.interfaces import ISSLTransport
from twisted.logger import Logger
from twisted.python.failure import Failure

from ._errors import AbnormalClose, CleanClose, ConnectionClosed
from ._logevents import INFO, emit
from ._twistedinternals import loseConnectionNow, lowerTransport, tlsWritesPending
from .codec import State

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ._flow import SendFlow
    from ._timers import ConnectionTimers
    from .codec import Connection

__all__ = ["ConnectionEnding"]

_log = Logger(namespace="twisted_ws")


class ConnectionEnding(protocol.Protocol):
    """
    The ending of a connection.
    """

    __slots__ = ()

    #: Whether the TCP connection is ending without a closing handshake,
    #: lingering where the transport allows (see L{_endTransport}).  A
    #: class default: set on the few that end so.
    _lingering = False

    codec: Connection
    transport: Any
    application: Any
    options: Any
    _timers: ConnectionTimers | None
    _sendFlow: SendFlow | None
    _pending: Sequence[Any]
    _readPaused: bool
    _lost: bool
    _abortReason: ConnectionClosed | None
    _endAfterFlush: bool
    _stats: Any
    _openedAt: float | None
    _bytesIn: int
    _bytesOut: int
    reactor: Any

    def _deliverHeld(self, events: Sequence[Any]) -> None:
        raise NotImplementedError

    def _timersToArm(self) -> ConnectionTimers:
        raise NotImplementedError

    def _applicationError(self, failure: Failure) -> None:
        """
        An application callback raised: log it and fail the connection with
        1011 (internal error), after writing what was already sent.
        """
        _log.failure(
            "WebSocket application raised an exception; closing the connection with {peer}",
            failure,
            peer=self._peerText(),
        )
        self._pending = ()
        self._failWith(1011, "internal server error", failure.value)

    def _failWith(self, code: int, reason: str, cause: object = None) -> None:
        """
        End the connection uncleanly with C{code}: send that close frame
        where the state allows, and end TCP after the next flush.
        """
        self._abortReason = AbnormalClose(code, reason, False, False, cause)
        codec = self.codec
        if codec.state is State.OPEN:
            codec.close(code, reason)
        elif codec.state is not State.LOCAL_CLOSING:
            codec.close()
        self._endAfterFlush = True

    # Ending.

    def _abort(self, code: int, reason: str) -> None:
        self._abortReason = AbnormalClose(code, reason, False, False)
        self._abortTransport()

    def _endTransport(self) -> None:
        """
        End the TCP connection once what was written has been sent, and
        drop it if that takes longer than the close timeout.

        After a closing handshake the peer sends nothing more, and TCP ends
        at once.  Otherwise (a failure, a refused request) the peer may
        still be sending: closing a socket with unread bytes makes the
        kernel reset the connection, and a reset can reach the peer before
        it read the close frame or error response that explains why.  So
        the connection lingers: its sending side ends, what still arrives
        is read and dropped, and it ends when the peer ends its side (or
        the close timeout drops it).
        """
        if self._lost or self.transport is None or self._lingering:
            return
        transport = self.transport
        linger = not self.codec.wasClean
        # Reads that arrive while lingering flush again: end only once.
        self._lingering = linger
        if ISSLTransport.providedBy(transport):
            # Twisted's TLS layer sends its close_notify and then reads until
            # the peer's (or the end of TCP): a lingering close.  After a
            # closing handshake there is no need to wait for a close_notify
            # that many clients never send (the WebSocket close already
            # says the data is complete): TCP ends once everything, the
            # close alert included, has been written to it.
            transport.loseConnection()
            lower = lowerTransport(transport)
            if not linger and lower is not None and not tlsWritesPending(transport):
                lower.loseConnection()
        elif linger and hasattr(transport, "loseWriteConnection"):
            transport.loseWriteConnection()
        else:
            # With nothing left to send this ends the connection (and runs
            # connectionLost) before it returns.
            loseConnectionNow(transport)
        if not self._lost:
            self._timersToArm().boundEnding()

    def _abortTransport(self) -> None:
        if self._lost or self.transport is None:
            return
        abort = getattr(self.transport, "abortConnection", None)
        if abort is not None:
            abort()
        else:
            self.transport.loseConnection()

    def _hold(self, events: Sequence[Any]) -> None:
        """
        Hold C{events} until the application resumes reading.
        """
        pending = self._pending
        if isinstance(pending, list):
            pending.extend(events)
        else:
            self._pending = [*pending, *events]

    def _holdAfter(self, events: Sequence[Any], event: object) -> None:
        """
        The application paused reading while handling C{event}: hold the
        events that follow it until it resumes.
        """
        for i, candidate in enumerate(events):
            if candidate is event:
                self._hold(events[i + 1 :])
                return

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        if self._lost:
            return
        self._lost = True
        timers = self._timers
        if timers is not None:
            timers.stop()
        if self._pending:
            # Messages held by pauseReading still reach the application
            # before it learns that the connection is gone.
            pending, self._pending = self._pending, ()
            self._readPaused = False
            self._deliverHeld(pending)
        codec = self.codec
        codec.receiveEOF()
        closed = self._closedReason(reason)
        openedAt = self._openedAt
        wasOpen = openedAt is not None
        if openedAt is not None and codec.version is not None and self.options.logConnections:
            emit(
                INFO,
                "WebSocket {version} connection with {peer} closed: {code} clean={clean}",
                {
                    "wsEvent": "closed",
                    "version": codec.version.label,
                    "peer": self._peerText(),
                    "path": self._pathText(),
                    "code": closed.code,
                    "clean": closed.wasClean,
                    "reason": closed.reason,
                    "duration": self.reactor.seconds() - openedAt,
                    "bytesReceived": self._bytesIn,
                    "bytesSent": self._bytesOut,
                },
            )
        flow = self._sendFlow
        if flow is not None:
            flow.stop()
        stats = self._stats
        if stats is not None and wasOpen and codec.version is not None:
            stats.closed(codec.version.label, closed.code, closed.wasClean)
        app = self.application
        if app is not None:
            app.connectionLost(Failure(closed))

    def _closedReason(self, reason: Failure) -> ConnectionClosed:
        """
        How the connection ended, from the codec and, where the codec does
        not know it, from what this layer did or what TCP said.
        """
        codec = self.codec
        clean = codec.wasClean
        if self._abortReason is not None and not clean:
            closed = self._abortReason
            if closed.cause is None:
                closed.cause = reason.value
            return closed
        cause: object = codec.cause
        if cause is None and not clean:
            cause = reason.value
        code = codec.closeCode
        return (CleanClose if clean else AbnormalClose)(
            code if code is not None else 1006,
            codec.closeReason,
            clean,
            codec.closedByPeer,
            cause,
        )

    def _pathText(self) -> str | None:
        """
        The path of the opening request, for log messages.
        """
        return getattr(self.codec, "requestPath", None)

    def _peerText(self) -> str:
        """
        The peer's address, for log messages.
        """
        try:
            peer = self.transport.getPeer()
        except Exception:
            return "?"
        host = getattr(peer, "host", None)
        port = getattr(peer, "port", None)
        if host is not None:
            return f"{host}:{port}" if port is not None else str(host)
        return str(peer)
