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

from ._deadlines import DeadlineQueue
from .codec import State

if TYPE_CHECKING:
    from twisted.internet.interfaces import IDelayedCall

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

    A connection holds one only while it needs one: L{of} makes it when a
    timer is to be armed, and an open connection without keepalive drops it
    once the opening deadline is cancelled, so that an idle connection
    keeps no timers object.  The reactor and the L{Options} are the
    owner's.

    @ivar owner: the connection, whose codec the timers look at and whose
        C{_abort}, C{_flush} and C{_endTransport} they call, and whose
        C{_timers} holds this object (or L{None}).
    """

    __slots__ = ("owner", "_open", "_close", "_ping", "_pong")

    def __init__(self, owner: WireProtocol) -> None:
        self.owner = owner
        # The opening and closing deadlines are shared queues' entries
        # (every connection's are the same length): the queue that holds
        # this object's, or None.
        self._open: DeadlineQueue | None = None
        self._close: DeadlineQueue | None = None
        self._ping: IDelayedCall | None = None
        self._pong: IDelayedCall | None = None

    @classmethod
    def of(cls, owner: WireProtocol) -> ConnectionTimers:
        """
        The timers of C{owner}, made (and kept in C{owner._timers}) if it
        has none.
        """
        timers = owner._timers
        if timers is None:
            timers = owner._timers = cls(owner)
        return timers

    # What the connection tells the timers.

    def connectionMade(self) -> None:
        """
        The TCP connection is up: the opening handshake must finish within
        C{Options.openTimeout}.
        """
        owner = self.owner
        timeout = owner.options.openTimeout
        if timeout is not None:
            queue = self._open = DeadlineQueue.of(owner.reactor, timeout, "open")
            queue.add(self, self._openTimedOut)

    def stateChanged(self, state: State) -> None:
        """
        The codec moved to C{state}.
        """
        if state is State.CONNECTING or self.owner._lost:
            return
        if self._open is not None:
            self._cancelOpen()
        if state is State.OPEN:
            self._schedulePing()
            if self._ping is None and self._pong is None and self._close is None:
                # Open and nothing to time: the connection needs no timers
                # object until it closes (or a pong deadline is armed).
                owner = self.owner
                if owner._timers is self:
                    owner._timers = None
            return
        # LOCAL_CLOSING, REMOTE_CLOSING or CLOSED: bound the time until the
        # TCP connection ends.
        if self._ping is not None or self._pong is not None:
            self._cancelKeepalive()
        timeout = self.owner.options.closeTimeout
        if self._close is None and timeout is not None:
            queue = self._close = DeadlineQueue.of(self.owner.reactor, timeout, "close")
            queue.add(self, self._closeTimedOut)

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
        owner = self.owner
        timeout = owner.options.closeTimeout if delay is None else delay
        if timeout is None or owner._lost:
            return
        current = self._close
        if current is not None:
            if delay is None:
                return
            due = current.dueTime(self)
            if due is not None and due <= owner.reactor.seconds() + delay:
                return
            current.remove(self)
        queue = self._close = DeadlineQueue.of(owner.reactor, timeout, "close")
        queue.add(self, self._endTimedOut)

    def stop(self) -> None:
        """
        The connection is gone: cancel every timer, and start none later
        (the owner is lost, which L{stateChanged} and L{boundEnding} check).
        """
        if self._open is not None:
            self._cancelOpen()
        if self._ping is not None or self._pong is not None:
            self._cancelKeepalive()
        queue, self._close = self._close, None
        if queue is not None:
            queue.remove(self)
        owner = self.owner
        if owner._timers is self:
            owner._timers = None

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
        owner = self.owner
        interval = owner.options.pingInterval
        version = owner.codec.version
        if interval is not None and version is not None and not version.isHixie:
            self._ping = owner.reactor.callLater(interval, self._pingDue)

    def _pingDue(self) -> None:
        self._ping = None
        owner = self.owner
        if owner.codec.state is not State.OPEN:
            return
        owner.codec.ping(b"keepalive")
        owner._flush()
        timeout = owner.options.pingTimeout
        if self._pong is None and timeout is not None:
            self._pong = owner.reactor.callLater(timeout, self._pongTimedOut)
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
        queue, self._open = self._open, None
        if queue is not None:
            queue.remove(self)

    def _cancelKeepalive(self) -> None:
        for name in ("_ping", "_pong"):
            call = getattr(self, name)
            if call is not None:
                setattr(self, name, None)
                if call.active():
                    call.cancel()
