"""
Back-pressure on the sending side of one connection.

L{SendFlow} is the push producer registered on the TCP transport: Twisted
pauses it as its send buffer fills and resumes it once the buffer is empty.
It pauses in turn, once the buffer holds more than C{Options.writeHighWater}
bytes, the application's producer (L{SendFlow.attach}) or, with none, the
reading from the peer, whose messages would only make more to send (an echo
to a client that never reads).  Twisted only reports an empty buffer, so
while back-pressure lasts the buffer is looked at every L{DRAIN_CHECK}
seconds and sending resumes at C{Options.writeLowWater}.

An idle connection has no L{SendFlow}: what the transport holds is a
L{TransportProducer}, one reference to the connection, which makes the
connection's L{SendFlow} the first time the send buffer goes over the
high-water mark (the application's L{SendFlow.attach} makes it too).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from twisted.internet.interfaces import IPushProducer
from zope.interface import implementer

from ._twistedinternals import sendBufferSize

if TYPE_CHECKING:
    from twisted.internet.interfaces import IDelayedCall

    from ._wire import WireProtocol

__all__ = ["SendFlow", "TransportProducer", "DRAIN_CHECK"]

#: Seconds between looks at the send buffer while back-pressure lasts.
DRAIN_CHECK = 0.1


@implementer(IPushProducer)
class SendFlow:
    """
    The send-side flow control of one connection, and the producer its TCP
    transport pauses and resumes.

    @ivar owner: the connection.
    @ivar producer: the application's producer, or L{None}.
    @ivar streaming: whether C{producer} is a push producer (a pull
        producer is asked for more with C{resumeProducing} while the buffer
        has room).
    @ivar paused: whether the send buffer is above the high-water mark.
    """

    __slots__ = ("owner", "producer", "streaming", "paused", "_pull", "_drainCheck", "_stopped")

    def __init__(self, owner: WireProtocol) -> None:
        self.owner = owner
        self.producer: Any = None
        self.streaming = True
        self.paused = False
        self._pull: IDelayedCall | None = None
        self._drainCheck: IDelayedCall | None = None
        self._stopped = False

    def bufferedAmount(self) -> int:
        """
        Bytes written to the transport and not yet handed to the kernel.
        """
        return sendBufferSize(self.owner.transport)

    def overHighWater(self) -> bool:
        """
        Whether the send buffer holds more than C{Options.writeHighWater}.
        """
        return _overHighWater(self.owner)

    def _lowWater(self) -> int:
        options = self.owner.options
        low = options.writeLowWater
        return options.writeHighWater // 4 if low is None else low

    # The application's producer.

    def attach(self, producer: Any, streaming: bool) -> None:
        """
        Attach the application's C{producer}; once the connection is gone,
        stop it instead, as Twisted's transports do.

        @raise RuntimeError: one is attached already.
        """
        if self.producer is not None:
            raise RuntimeError("a producer is already attached")
        if self._stopped:
            producer.stopProducing()
            return
        self.producer = producer
        self.streaming = streaming
        if streaming:
            if self.paused:
                producer.pauseProducing()
        else:
            self._schedulePull()

    def detach(self) -> None:
        """
        Detach the application's producer.
        """
        self.producer = None
        self.streaming = True
        self._cancel("_pull")

    def _schedulePull(self) -> None:
        if self._pull is None and self.producer is not None and not self.paused:
            self._pull = self.owner.reactor.callLater(0, self._pullOnce)

    def _pullOnce(self) -> None:
        self._pull = None
        producer = self.producer
        if producer is None or self.paused or self._stopped:
            return
        producer.resumeProducing()
        if self.producer is producer and not self.streaming:
            self._schedulePull()

    # IPushProducer: the TCP transport's send buffer.

    def pauseProducing(self) -> None:
        """
        The transport's send buffer is full by Twisted's measure (which it
        says again on every write while it stays full): once it holds more
        than C{Options.writeHighWater}, pause the application's producer or
        the reading.
        """
        if self.paused or self._stopped:
            return
        if not _overHighWater(self.owner):
            return
        self.paused = True
        stats = self.owner._stats
        if stats is not None:
            stats.backpressure += 1
        self._scheduleDrainCheck()
        if self.producer is not None:
            if self.streaming:
                self.producer.pauseProducing()
        else:
            self.owner._setBackpressure(True)

    def resumeProducing(self) -> None:
        """
        The send buffer drained (or, by L{_checkDrain}, fell to the
        low-water mark): resume the application's producer, or the reading.
        """
        if not self.paused:
            return
        self.paused = False
        self._cancel("_drainCheck")
        self.owner._setBackpressure(False)
        producer = self.producer
        if producer is not None:
            if self.streaming:
                producer.resumeProducing()
            else:
                self._schedulePull()

    def stopProducing(self) -> None:
        """
        The transport is going away: stop the application's producer, once.
        """
        self.stop()

    def stop(self) -> None:
        """
        The connection is gone: stop the application's producer, if it has
        not been stopped, and every timer.
        """
        self._stopped = True
        self._cancel("_drainCheck")
        self._cancel("_pull")
        producer, self.producer = self.producer, None
        if producer is not None:
            producer.stopProducing()

    def _scheduleDrainCheck(self) -> None:
        if self._drainCheck is None and self._lowWater() > 0 and not self._stopped:
            self._drainCheck = self.owner.reactor.callLater(DRAIN_CHECK, self._checkDrain)

    def _checkDrain(self) -> None:
        """
        While back-pressure lasts, end it once the send buffer is down to
        the low-water mark; Twisted only says when it is empty.
        """
        self._drainCheck = None
        if not self.paused or self._stopped:
            return
        if self.bufferedAmount() <= self._lowWater():
            self.resumeProducing()
        else:
            self._scheduleDrainCheck()

    def _cancel(self, name: str) -> None:
        call = getattr(self, name)
        if call is not None:
            setattr(self, name, None)
            if call.active():
                call.cancel()


def _overHighWater(owner: WireProtocol) -> bool:
    return sendBufferSize(owner.transport) > owner.options.writeHighWater


@implementer(IPushProducer)
class TransportProducer:
    """
    The streaming producer a connection registers on its TCP transport:
    it hands the transport's pauses and resumes to the connection's
    L{SendFlow}, made at the first pause that finds the send buffer over
    the high-water mark.  Until then (an idle connection, or one whose
    buffer never fills) the connection holds no L{SendFlow}.

    @ivar owner: the connection (a L{twisted_ws._wire.WireProtocol}).
    """

    __slots__ = ("owner",)

    def __init__(self, owner: WireProtocol) -> None:
        self.owner = owner

    def pauseProducing(self) -> None:
        """
        The transport's buffer is full by Twisted's measure: see
        L{SendFlow.pauseProducing}.
        """
        owner = self.owner
        flow = owner._sendFlow
        if flow is None:
            if not _overHighWater(owner):
                return
            flow = owner._flow
        flow.pauseProducing()

    def resumeProducing(self) -> None:
        """
        The transport's buffer drained: see L{SendFlow.resumeProducing}
        (nothing to do without a L{SendFlow}, which is not paused).
        """
        flow = self.owner._sendFlow
        if flow is not None:
            flow.resumeProducing()

    def stopProducing(self) -> None:
        """
        The transport is going away: see L{SendFlow.stopProducing}.  A
        connection without a L{SendFlow} has no producer and no timer to
        stop; one made later, once the connection is lost, starts stopped.
        """
        flow = self.owner._sendFlow
        if flow is not None:
            flow.stopProducing()
