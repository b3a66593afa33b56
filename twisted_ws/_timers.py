"""
The open, close and keepalive timers of one connection, on the reactor's
clock (an injected L{IReactorTime}).

The timers follow the codec's state, not the delivery of events: the
connection calls L{ConnectionTimers.stateChanged} whenever it sees
C{codec.state} differ from what it last saw (after each read, send or
close), so a close is bounded in time even while the application has
paused reading and the peer's close frame waits unread by it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twisted.logger import Logger

from .codec import State

if TYPE_CHECKING:
    from twisted.internet.interfaces import IDelayedCall, IReactorTime

    from . import Options
    from ._wire import WireProtocol

__all__ = ["ConnectionTimers"]

_log = Logger(namespace="twisted_ws")

#: Seconds to wait for our last close frame to be written before the TCP
#: connection is dropped, when the peer is known not to answer (a missed
#: keepalive pong).
ABORT_AFTER = 1.0


class ConnectionTimers:
    """
    The timers of one connection: the opening handshake's deadline, the
    closing handshake's (and the TCP connection's end after it), and the
    keepalive ping with its pong's deadline.

    @ivar owner: the connection, whose codec the timers look at and whose
        C{_abort}, C{_flush} and C{_endTransport} they call.
    """

    __slots__ = ("owner", "reactor", "options", "_open", "_close", "_ping", "_pong", "_stopped")

    def __init__(self, owner: WireProtocol, reactor: IReactorTime, options: Options) -> None:
        self.owner = owner
        self.reactor = reactor
        self.options = options
        self._open: IDelayedCall | None = None
        self._close: IDelayedCall | None = None
        self._ping: IDelayedCall | None = None
        self._pong: IDelayedCall | None = None
        self._stopped = False

    # What the connection tells the timers.

    def connectionMade(self) -> None:
        """
        The TCP connection is up: the opening handshake must finish within
        C{Options.openTimeout}.
        """
        if self.options.openTimeout is not None:
            self._open = self.reactor.callLater(self.options.openTimeout, self._openTimedOut)

    def stateChanged(self, state: State) -> None:
        """
        The codec moved to C{state}.
        """
        if state is State.CONNECTING or self._stopped:
            return
        self._cancelOpen()
        if state is State.OPEN:
            self._schedulePing()
            return
        # LOCAL_CLOSING, REMOTE_CLOSING or CLOSED: bound the time until the
        # TCP connection ends.
        self._cancelKeepalive()
        if self._close is None and self.options.closeTimeout is not None:
            self._close = self.reactor.callLater(self.options.closeTimeout, self._closeTimedOut)

    def pongArrived(self) -> None:
        """
        A pong arrived: the peer is alive.
        """
        call, self._pong = self._pong, None
        if call is not None and call.active():
            call.cancel()

    def boundEnding(self, delay: float | None = None) -> None:
        """
        The TCP connection is being closed, which waits for its send buffer
        to drain: drop it after C{delay} seconds (C{Options.closeTimeout}
        by default), unless a close deadline is already running (a shorter
        C{delay} replaces it).
        """
        timeout = self.options.closeTimeout if delay is None else delay
        if timeout is None or self._stopped:
            return
        current = self._close
        if current is not None:
            if delay is None or current.getTime() <= self.reactor.seconds() + delay:
                return
            current.cancel()
        self._close = self.reactor.callLater(timeout, self._endTimedOut)

    def stop(self) -> None:
        """
        The connection is gone: cancel every timer, and start none later.
        """
        self._stopped = True
        self._cancelOpen()
        self._cancelKeepalive()
        call, self._close = self._close, None
        if call is not None and call.active():
            call.cancel()

    # Their expiry.

    def _openTimedOut(self) -> None:
        self._open = None
        owner = self.owner
        _log.info("WebSocket opening handshake with {peer} timed out", peer=owner._peerText())
        owner._abort(1006, "opening handshake timed out")

    def _closeTimedOut(self) -> None:
        """
        The closing handshake took too long.  A close frame still owed to
        the peer (held while the application paused reading) is sent now,
        and the TCP connection ended after it; a close frame of the peer's
        that never came fails the connection; a TCP connection that does
        not end is dropped.
        """
        self._close = None
        owner = self.owner
        codec = owner.codec
        if codec.closeAnswerPending:
            codec.answerClose()
            owner._flush()
            self.boundEnding()
        elif codec.state is not State.CLOSED:
            owner._abort(1006, "closing handshake timed out")
        else:
            owner._abortTransport()

    def _endTimedOut(self) -> None:
        self._close = None
        self.owner._abortTransport()

    def _schedulePing(self) -> None:
        interval = self.options.pingInterval
        version = self.owner.codec.version
        if interval is not None and version is not None and not version.isHixie:
            self._ping = self.reactor.callLater(interval, self._pingDue)

    def _pingDue(self) -> None:
        self._ping = None
        owner = self.owner
        if owner.codec.state is not State.OPEN:
            return
        owner.codec.ping(b"keepalive")
        owner._flush()
        if self._pong is None and self.options.pingTimeout is not None:
            self._pong = self.reactor.callLater(self.options.pingTimeout, self._pongTimedOut)
        self._schedulePing()

    def _pongTimedOut(self) -> None:
        """
        The peer did not answer a keepalive ping in time: send it a 1011
        close frame and end the TCP connection once that is written, or
        after L{ABORT_AFTER} seconds if it cannot be.
        """
        self._pong = None
        owner = self.owner
        _log.info("WebSocket peer {peer} missed its keepalive pong", peer=owner._peerText())
        owner._failWith(1011, "keepalive ping timeout")
        owner._flush()
        self.boundEnding(ABORT_AFTER)

    def _cancelOpen(self) -> None:
        call, self._open = self._open, None
        if call is not None and call.active():
            call.cancel()

    def _cancelKeepalive(self) -> None:
        for name in ("_ping", "_pong"):
            call = getattr(self, name)
            if call is not None:
                setattr(self, name, None)
                if call.active():
                    call.cancel()
