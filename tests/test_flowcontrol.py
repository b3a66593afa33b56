"""
Tests for flow control in the Twisted layer: outgoing (the connection is the
TCP transport's streaming producer and passes pauses on to a producer the
application attaches) and incoming (the application stops reading with
C{pauseReading} and messages already parsed wait for C{resumeReading}),
over L{StringTransport} and over a real loopback TCP connection.
"""

from __future__ import annotations

import socket
from typing import Any

from twisted.internet import defer, reactor, task, threads
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import IPushProducer
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase
from zope.interface import implementer

from twisted_ws import Options, Version, WebSocketProtocol, WebSocketServerFactory
from twisted_ws.codec import BinaryMessage, ClientConnection, ConnectionOpened

from ._support.layer import ALL_VERSIONS, CountingTransport, Peer, Recorder


@implementer(IPushProducer)
class RecordingProducer:
    """
    A push producer that records the calls it gets.

    @ivar calls: the names of the calls, in order.
    """

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.paused = False

    def pauseProducing(self) -> None:
        self.calls.append("pause")
        self.paused = True

    def resumeProducing(self) -> None:
        self.calls.append("resume")
        self.paused = False

    def stopProducing(self) -> None:
        self.calls.append("stop")


class BufferingTransport(CountingTransport):
    """
    A transport with a C{bufferSize}, as a TCP transport has, that reports
    everything written to it as still buffered, as while the peer reads
    nothing.
    """

    bufferSize = 65536
    offset = 0
    _tempDataLen = 0

    @property
    def dataBuffer(self) -> bytes:
        return self.io.getvalue()


def fillSendBuffer(p: Peer) -> None:
    """
    Make C{p}'s transport report more than C{Options.writeHighWater} bytes
    waiting to be sent, as a TCP transport does when its peer reads slowly;
    Twisted only calls C{pauseProducing} in that state.
    """
    p.transport.dataBuffer = b""
    p.transport._tempDataLen = p.server.options.writeHighWater + 1


class PausingTransport(BufferingTransport):
    """
    A L{BufferingTransport} that pauses its producer as Twisted's TCP
    transport does: on every write that leaves more than C{bufferSize}
    bytes buffered.
    """

    def write(self, data: bytes) -> None:
        super().write(data)
        if self.producer is not None and len(self.dataBuffer) > self.bufferSize:
            self.producer.pauseProducing()


def BufferingPeer(version: Version, **kw: Any) -> Peer:
    """
    A L{Peer} over a L{BufferingTransport}.
    """
    return Peer(version, transportFactory=BufferingTransport, **kw)


class OutgoingTests(SynchronousTestCase):
    """
    Outgoing flow control: Twisted pauses the connection when its send
    buffer is full, and the connection pauses the attached producer.
    """

    def openPeer(self, version: Version = Version.RFC6455, **kw: Any) -> Peer:
        p = Peer(version, **kw)
        self.assertIsInstance(p.handshake()[0], ConnectionOpened)
        return p

    def test_registeredAsStreamingProducer(self) -> None:
        """
        The transport's streaming producer is the connection's send-side
        flow control, not the connection, whose pauseProducing (what the
        application calls) stops the reading.
        """
        p = self.openPeer()
        self.assertTrue(IPushProducer.providedBy(p.transport.producer))
        self.assertIsNot(p.transport.producer, p.server)
        self.assertTrue(p.transport.streaming)

    def test_bufferSizeIsHighWater(self) -> None:
        """
        The transport's C{bufferSize}, above which Twisted pauses its
        producer, is set to Options.writeHighWater.
        """
        p = BufferingPeer(Version.RFC6455, options=Options(writeHighWater=12345))
        self.assertEqual(p.transport.bufferSize, 12345)

    def test_pausePassedOn(self) -> None:
        """
        When Twisted pauses the connection the attached producer is paused,
        and resumed when Twisted resumes it.
        """
        for version in ALL_VERSIONS:
            p = self.openPeer(version)
            producer = RecordingProducer()
            p.app.transport.attachProducer(producer)
            self.assertEqual(producer.calls, [])
            fillSendBuffer(p)
            p.transport.producer.pauseProducing()
            self.assertEqual(producer.calls, ["pause"])
            self.assertTrue(p.server.writePaused)
            p.transport.producer.resumeProducing()
            self.assertEqual(producer.calls, ["pause", "resume"])
            self.assertFalse(p.server.writePaused)

    def test_attachWhilePaused(self) -> None:
        """
        A producer attached while the send buffer is full is paused at once.
        """
        p = self.openPeer()
        fillSendBuffer(p)
        p.transport.producer.pauseProducing()
        producer = RecordingProducer()
        p.app.transport.attachProducer(producer)
        self.assertEqual(producer.calls, ["pause"])

    def test_detach(self) -> None:
        """
        A detached producer is no longer paused or resumed.
        """
        p = self.openPeer()
        producer = RecordingProducer()
        p.app.transport.attachProducer(producer)
        p.app.transport.detachProducer()
        fillSendBuffer(p)
        p.transport.producer.pauseProducing()
        p.transport.producer.resumeProducing()
        self.assertEqual(producer.calls, [])

    def test_attachTwice(self) -> None:
        """
        Attaching a second producer raises RuntimeError.
        """
        p = self.openPeer()
        p.app.transport.attachProducer(RecordingProducer())
        self.assertRaises(RuntimeError, p.app.transport.attachProducer, RecordingProducer())

    def test_consumerNames(self) -> None:
        """
        registerProducer and unregisterProducer, the IConsumer names, work
        as attachProducer and detachProducer.
        """
        p = self.openPeer()
        producer = RecordingProducer()
        p.app.transport.registerProducer(producer, True)
        fillSendBuffer(p)
        p.transport.producer.pauseProducing()
        p.app.transport.unregisterProducer()
        p.transport.producer.resumeProducing()
        self.assertEqual(producer.calls, ["pause"])

    def test_noFlowControlUntilNeeded(self) -> None:
        """
        An open connection whose send buffer never filled holds no flow
        control object; a pause from Twisted below the high-water mark
        makes none and pauses nothing, the first one above it makes it and
        stops the reading, and the resume after it reads again.
        """
        p = self.openPeer()
        self.assertIsNone(p.server._sendFlow)
        p.transport.producer.pauseProducing()
        p.transport.producer.resumeProducing()
        self.assertIsNone(p.server._sendFlow)
        self.assertEqual(p.transport.producerState, "producing")
        self.assertFalse(p.app.transport.writePaused)
        fillSendBuffer(p)
        p.transport.producer.pauseProducing()
        self.assertIsNotNone(p.server._sendFlow)
        self.assertTrue(p.app.transport.writePaused)
        self.assertEqual(p.transport.producerState, "paused")
        p.transport.producer.resumeProducing()
        self.assertFalse(p.app.transport.writePaused)
        self.assertEqual(p.transport.producerState, "producing")

    def test_transportStopsWithoutFlowControl(self) -> None:
        """
        When the TCP transport stops its producer on a connection that never
        needed flow control, no flow control object is made for it; a
        producer the application registers once the connection is lost is
        stopped at once, and one registered before is stopped once.
        """
        p = self.openPeer()
        p.transport.producer.stopProducing()
        self.assertIsNone(p.server._sendFlow)
        p.lose()
        late = RecordingProducer()
        p.app.transport.registerProducer(late, True)
        self.assertEqual(late.calls, ["stop"])

        q = self.openPeer()
        early = RecordingProducer()
        q.app.transport.registerProducer(early, True)
        q.transport.producer.stopProducing()
        q.lose()
        self.assertEqual(early.calls, ["stop"])

    def test_pullProducerAfterLossNotPulled(self) -> None:
        """
        A pull producer registered once the connection is gone, on a
        connection that never needed flow control before, is never asked
        for data: it is stopped at once.
        """
        p = self.openPeer()
        p.lose()
        self.assertIsNone(p.server._sendFlow)
        producer = RecordingProducer()
        # A pull producer is asked again after each answer: detaching on
        # the first ask keeps the clock's run bounded if it is asked at all.
        producer.resumeProducing = lambda: (  # type: ignore[method-assign]
            producer.calls.append("resume"),
            p.app.transport.unregisterProducer(),
        )
        p.app.transport.registerProducer(producer, False)
        p.clock.advance(1.0)
        self.assertEqual(producer.calls, ["stop"])

    def test_backpressureWithoutProducer(self) -> None:
        """
        With no producer attached, a full send buffer stops reading from the
        peer until it drains.
        """
        p = self.openPeer()
        fillSendBuffer(p)
        p.transport.producer.pauseProducing()
        self.assertEqual(p.transport.producerState, "paused")
        p.transport.producer.resumeProducing()
        self.assertEqual(p.transport.producerState, "producing")

    def test_backpressureAndPauseReading(self) -> None:
        """
        Reading resumes only once both the send buffer drained and the
        application resumed reading, whichever comes first.
        """
        p = self.openPeer()
        fillSendBuffer(p)
        p.transport.producer.pauseProducing()
        p.app.transport.pauseReading()
        p.transport.producer.resumeProducing()
        self.assertEqual(p.transport.producerState, "paused")
        p.app.transport.resumeReading()
        self.assertEqual(p.transport.producerState, "producing")

        p.app.transport.pauseReading()
        fillSendBuffer(p)
        p.transport.producer.pauseProducing()
        p.app.transport.resumeReading()
        self.assertEqual(p.transport.producerState, "paused")
        p.transport.producer.resumeProducing()
        self.assertEqual(p.transport.producerState, "producing")

    def test_noBackpressureWithProducer(self) -> None:
        """
        With a producer attached, a full send buffer pauses the producer and
        leaves reading alone.
        """
        p = self.openPeer()
        p.app.transport.attachProducer(RecordingProducer())
        fillSendBuffer(p)
        p.transport.producer.pauseProducing()
        self.assertEqual(p.transport.producerState, "producing")

    def test_stopOnConnectionLost(self) -> None:
        """
        The attached producer is stopped when the connection ends.
        """
        p = self.openPeer()
        producer = RecordingProducer()
        p.app.transport.attachProducer(producer)
        p.lose()
        self.assertEqual(producer.calls, ["stop"])

    def test_stopProducing(self) -> None:
        """
        When the transport stops the connection as a producer the attached
        producer is stopped.
        """
        p = self.openPeer()
        producer = RecordingProducer()
        p.app.transport.attachProducer(producer)
        p.transport.producer.stopProducing()
        self.assertEqual(producer.calls, ["stop"])

    def test_stopProducingOnce(self) -> None:
        """
        The attached producer is stopped once when the transport stops its
        producer and then reports the connection lost, as Twisted's TCP
        transport does.
        """
        p = self.openPeer()
        producer = RecordingProducer()
        p.app.transport.attachProducer(producer)
        p.transport.producer.stopProducing()
        p.lose()
        self.assertEqual(producer.calls, ["stop"])

    def buffered(self, p: Peer, size: int) -> None:
        """
        Make C{p}'s transport report C{size} bytes waiting to be sent.
        """
        p.transport.dataBuffer = b""
        p.transport._tempDataLen = size

    def sendUntil(self, p: Peer, size: int) -> None:
        """
        Have the application send binary messages of 4 KiB until C{size}
        bytes of frames are buffered.
        """
        while len(p.transport.dataBuffer) < size:
            chunk = min(4096, size - len(p.transport.dataBuffer) - 4)
            p.app.sendBytesMessage(b"x" * max(chunk, 0))

    def test_pausesAtHighWaterNotTwistedMark(self) -> None:
        """
        With the default 1 MiB high-water mark, the connection goes on
        writing and reading past the 256 KiB at which Twisted's transport
        starts asking it to pause, up to exactly 1 MiB.
        """
        p = Peer(Version.RFC6455, transportFactory=PausingTransport)
        self.assertIsInstance(p.handshake()[0], ConnectionOpened)
        self.assertEqual(p.transport.bufferSize, 256 * 1024)
        self.sendUntil(p, 2**20)
        self.assertEqual(len(p.transport.dataBuffer), 2**20)
        self.assertFalse(p.server.writePaused)
        self.assertEqual(p.transport.producerState, "producing")
        p.app.sendBytesMessage(b"x")
        self.assertTrue(p.server.writePaused)
        self.assertEqual(p.transport.producerState, "paused")

    def test_pausesAtConfiguredHighWater(self) -> None:
        """
        A high-water mark other than Twisted's and the default is the one
        compared with: just under it nothing pauses, just over it the
        producer pauses.
        """
        p = Peer(
            Version.RFC6455,
            options=Options(writeHighWater=600_000),
            transportFactory=PausingTransport,
        )
        self.assertIsInstance(p.handshake()[0], ConnectionOpened)
        producer = RecordingProducer()
        p.app.transport.registerProducer(producer, True)
        self.sendUntil(p, 599_999)
        self.assertEqual(producer.calls, [])
        self.assertFalse(p.server.writePaused)
        p.app.sendBytesMessage(b"")
        self.assertEqual(len(p.transport.dataBuffer), 600_001)
        self.assertEqual(producer.calls, ["pause"])
        self.assertTrue(p.server.writePaused)

    def test_lowWaterResumesBeforeEmpty(self) -> None:
        """
        While paused, the connection looks at the send buffer every 0.1 s
        and resumes the producer once it is down to C{writeLowWater}, before
        Twisted reports it empty; then it stops looking.
        """
        p = self.openPeer(options=Options(writeHighWater=1000, writeLowWater=200))
        producer = RecordingProducer()
        p.app.transport.attachProducer(producer)
        self.buffered(p, 1001)
        p.transport.producer.pauseProducing()
        self.assertEqual(producer.calls, ["pause"])
        self.buffered(p, 201)
        p.clock.advance(0.1)
        self.assertEqual(producer.calls, ["pause"])
        self.assertTrue(p.server.writePaused)
        self.buffered(p, 200)
        p.clock.advance(0.1)
        self.assertEqual(producer.calls, ["pause", "resume"])
        self.assertFalse(p.server.writePaused)
        self.assertEqual(p.clock.getDelayedCalls(), [])

    def test_lowWaterResumesReading(self) -> None:
        """
        With no producer attached, reading from the peer resumes at the
        low-water mark.
        """
        p = self.openPeer(options=Options(writeHighWater=1000, writeLowWater=200))
        self.buffered(p, 1001)
        p.transport.producer.pauseProducing()
        self.assertEqual(p.transport.producerState, "paused")
        self.buffered(p, 100)
        p.clock.advance(0.1)
        self.assertEqual(p.transport.producerState, "producing")

    def test_lowWaterDefaultQuarter(self) -> None:
        """
        By default the low-water mark is a quarter of C{writeHighWater}.
        """
        p = self.openPeer(options=Options(writeHighWater=1000))
        self.buffered(p, 1001)
        p.transport.producer.pauseProducing()
        self.buffered(p, 251)
        p.clock.advance(0.1)
        self.assertTrue(p.server.writePaused)
        self.buffered(p, 250)
        p.clock.advance(0.1)
        self.assertFalse(p.server.writePaused)

    def test_lowWaterZeroWaitsForTwisted(self) -> None:
        """
        With C{writeLowWater=0} nothing looks at the buffer: only Twisted's
        report that it is empty ends back-pressure.
        """
        p = self.openPeer(options=Options(writeHighWater=1000, writeLowWater=0))
        self.buffered(p, 1001)
        p.transport.producer.pauseProducing()
        self.assertTrue(p.server.writePaused)
        self.assertEqual(p.clock.getDelayedCalls(), [])
        p.transport.producer.resumeProducing()
        self.assertFalse(p.server.writePaused)

    def test_drainCheckCancelled(self) -> None:
        """
        The pending look at the buffer is cancelled when Twisted resumes the
        connection first, and when the connection is lost while paused.
        """
        for end in ("resume", "lost"):
            p = self.openPeer(options=Options(writeHighWater=1000))
            self.buffered(p, 1001)
            p.transport.producer.pauseProducing()
            self.assertEqual(len(p.clock.getDelayedCalls()), 1)
            if end == "resume":
                p.transport.producer.resumeProducing()
            else:
                p.server.connectionLost(Failure(ConnectionDone()))
            self.assertEqual(p.clock.getDelayedCalls(), [], end)

    def test_bufferedAmount(self) -> None:
        """
        bufferedAmount tells how many bytes the transport still holds.
        """
        p = BufferingPeer(Version.RFC6455)
        p.handshake()
        self.assertEqual(p.server.bufferedAmount, 0)
        p.app.sendBytesMessage(b"x" * 1000)
        # A server frame of 1000 bytes has a 4-byte header.
        self.assertEqual(p.server.bufferedAmount, 1004)

    def test_bufferedAmountUnknown(self) -> None:
        """
        bufferedAmount is 0 on a transport that does not tell.
        """
        p = self.openPeer()
        p.app.sendTextMessage("abc")
        self.assertEqual(p.server.bufferedAmount, 0)


class ThrottlingTransport(BufferingTransport):
    """
    A L{BufferingTransport} that pauses its streaming producer when more
    than C{bufferSize} bytes are buffered, as a TCP transport does.
    """

    producerPaused = False

    def write(self, data: bytes) -> None:
        super().write(data)
        if (
            self.producer is not None
            and self.streaming
            and not self.producerPaused
            and len(self.dataBuffer) > self.bufferSize
        ):
            self.producerPaused = True
            self.producer.pauseProducing()


class StreamInCallback(Recorder):
    """
    On the text C{"go"}, attaches a producer and sends up to 100 messages of
    64 KiB while it is not paused, from inside textMessageReceived.
    """

    def textMessageReceived(self, message: str) -> None:
        super().textMessageReceived(message)
        self.producer = RecordingProducer()
        self.transport.attachProducer(self.producer)
        self.sent = 0
        while not self.producer.paused and self.sent < 100:
            self.sendBytesMessage(b"x" * 65536)
            self.sent += 1


class StreamingFromCallbackTests(SynchronousTestCase):
    """
    A producer that sends from inside a callback of dataReceived is paused
    like any other.
    """

    def test_pausedWithinCallback(self) -> None:
        """
        Messages sent from textMessageReceived reach the transport once
        they pass writeHighWater, so the producer is paused long before 100
        messages, and the transport holds about writeHighWater, not the
        whole stream.
        """
        highWater = 256 * 1024
        p = Peer(
            Version.RFC6455,
            StreamInCallback,
            Options(writeHighWater=highWater),
            transportFactory=ThrottlingTransport,
        )
        p.handshake()
        p.client.sendText("go")
        p.flush()
        self.assertTrue(p.app.producer.paused)
        self.assertLess(p.app.sent, 100)
        self.assertLessEqual(len(p.transport.value()), highWater + 2 * (65536 + 10))


class PausingRecorder(Recorder):
    """
    Stops reading when it receives the text C{"pause"}.
    """

    def textMessageReceived(self, message: str) -> None:
        super().textMessageReceived(message)
        if message == "pause":
            self.transport.pauseReading()


class IncomingTests(SynchronousTestCase):
    """
    Incoming flow control: pauseReading stops reading from the socket and
    holds messages already parsed until resumeReading.
    """

    def openPeer(self, version: Version = Version.RFC6455, protocol: Any = PausingRecorder,
                 **kw: Any) -> Peer:
        p = Peer(version, protocol, **kw)
        self.assertIsInstance(p.handshake()[0], ConnectionOpened)
        return p

    def test_pauseReadingPausesTransport(self) -> None:
        """
        pauseReading pauses the TCP transport's reading, and resumeReading
        resumes it.
        """
        p = self.openPeer()
        p.app.transport.pauseReading()
        self.assertEqual(p.transport.producerState, "paused")
        p.app.transport.resumeReading()
        self.assertEqual(p.transport.producerState, "producing")

    def test_holdsMessagesOfSameRead(self) -> None:
        """
        Messages parsed in the same read after the one that paused are held
        until resumeReading, then delivered in order, on every version.
        """
        for version in ALL_VERSIONS:
            p = self.openPeer(version)
            for text in ("a", "pause", "b", "c"):
                p.client.sendText(text)
            p.flush()
            self.assertEqual(p.app.received(), [("text", "a"), ("text", "pause")])
            self.assertEqual(p.transport.producerState, "paused")
            p.app.transport.resumeReading()
            self.assertEqual(
                p.app.received(),
                [("text", "a"), ("text", "pause"), ("text", "b"), ("text", "c")],
            )
            self.assertEqual(p.transport.producerState, "producing")

    def test_holdsMessagesOfLaterReads(self) -> None:
        """
        Messages that still arrive while paused (a transport may deliver a
        read already under way) are held too.
        """
        p = self.openPeer()
        p.app.transport.pauseReading()
        p.client.sendText("late")
        p.client.sendBinary(b"bin")
        p.flush()
        self.assertEqual(p.app.received(), [])
        p.app.transport.resumeReading()
        self.assertEqual(p.app.received(), [("text", "late"), ("bytes", b"bin")])

    def test_pauseAgainWhileDelivering(self) -> None:
        """
        An application that pauses again while held messages are delivered
        keeps the rest held and the transport paused.
        """
        p = self.openPeer()
        for text in ("pause", "x", "pause", "y"):
            p.client.sendText(text)
        p.flush()
        self.assertEqual(p.app.received(), [("text", "pause")])
        p.app.transport.resumeReading()
        self.assertEqual(
            p.app.received(), [("text", "pause"), ("text", "x"), ("text", "pause")]
        )
        self.assertEqual(p.transport.producerState, "paused")
        p.app.transport.resumeReading()
        self.assertEqual(p.app.received()[-1], ("text", "y"))
        self.assertEqual(p.transport.producerState, "producing")

    def test_repliesWhileDeliveringHeld(self) -> None:
        """
        Replies sent while held messages are delivered go out in one write.
        """

        class Echo(PausingRecorder):
            def textMessageReceived(self, message: str) -> None:
                super().textMessageReceived(message)
                if message != "pause":
                    self.sendTextMessage(message.upper())

        p = self.openPeer(protocol=Echo)
        for text in ("pause", "a", "b", "c"):
            p.client.sendText(text)
        p.flush()
        p.transport.writes.clear()
        p.app.transport.resumeReading()
        self.assertEqual(len(p.transport.writes), 1)
        self.assertEqual([e.data for e in p.receive()], ["A", "B", "C"])

    def test_resumeWhenNotPaused(self) -> None:
        """
        resumeReading without pauseReading does nothing.
        """
        p = self.openPeer()
        p.app.transport.resumeReading()
        self.assertEqual(p.transport.producerState, "producing")

    def test_pauseTwice(self) -> None:
        """
        A second pauseReading does not pause the transport again, and one
        resumeReading resumes it.
        """
        p = self.openPeer()
        p.app.transport.pauseReading()
        p.app.transport.pauseReading()
        p.app.transport.resumeReading()
        self.assertEqual(p.transport.producerState, "producing")

    def test_pingAnsweredWhileHeld(self) -> None:
        """
        A ping held with the messages is still answered with a pong.
        """
        p = self.openPeer()
        p.client.sendText("pause")
        p.client.sendPing(b"p")
        p.flush()
        p.app.transport.resumeReading()
        self.assertIn(("ping", b"p"), p.app.received())
        self.assertIn(b"p", [e.data for e in p.receive() if e.__class__.__name__ == "Pong"])

    def test_heldMessagesBeforeClose(self) -> None:
        """
        Messages held when the peer's close arrives in the same read reach
        the application before connectionLost, and the close is clean.
        """
        p = self.openPeer()
        p.client.sendText("pause")
        p.client.sendText("after")
        p.client.close(1000)
        p.flush()
        if not p.transport.disconnecting:
            p.app.transport.resumeReading()
        self.assertTrue(p.transport.disconnecting)
        p.lose()
        names = p.app.names()
        self.assertIn(("text", "after"), p.app.events)
        self.assertLess(p.app.events.index(("text", "after")), names.index("lost"))
        self.assertTrue(p.app.lostReason().wasClean)

    def test_lostWhilePaused(self) -> None:
        """
        A connection lost while reading is paused tells the application
        once, and resumeReading afterwards does nothing.
        """
        p = self.openPeer()
        p.app.transport.pauseReading()
        p.lose()
        self.assertEqual(p.app.names().count("lost"), 1)
        p.transport._lenient = True
        p.app.transport.resumeReading()
        self.assertEqual(p.app.names().count("lost"), 1)


# A real loopback connection.

MESSAGE_SIZE = 64 * 1024
MESSAGE_COUNT = 256  # 16 MiB in all
HIGH_WATER = 256 * 1024
TIMEOUT = 30.0


@implementer(IPushProducer)
class StreamProducer:
    """
    Sends C{count} binary messages of C{size} bytes on a connection for as
    long as it is not paused, and records how many bytes the connection had
    queued while it was paused.
    """

    def __init__(self, connection: Any, count: int, size: int) -> None:
        self.connection = connection
        self.count = count
        self.size = size
        self.sent = 0
        self.paused = False
        self.stopped = False
        self.pauses = 0
        self.maxBufferedWhilePaused = 0
        self.done: defer.Deferred[None] = defer.Deferred()
        self._sending = False

    def pauseProducing(self) -> None:
        self.paused = True
        self.pauses += 1

    def resumeProducing(self) -> None:
        self.paused = False
        self.send()

    def stopProducing(self) -> None:
        self.stopped = True

    def send(self) -> None:
        """
        Send messages until paused or done.
        """
        if self._sending:
            return
        self._sending = True
        try:
            while not self.paused and not self.stopped and self.sent < self.count:
                index = self.sent.to_bytes(4, "big")
                self.connection.sendBytesMessage(index + b"\x00" * (self.size - 4))
                self.sent += 1
                if self.paused:
                    self.maxBufferedWhilePaused = max(
                        self.maxBufferedWhilePaused, self.connection.bufferedAmount
                    )
        finally:
            self._sending = False
        if self.sent == self.count and not self.done.called:
            self.done.callback(None)


class Streamer(WebSocketProtocol):
    """
    Once open, streams messages from a L{StreamProducer}; made known to the
    test through the factory.
    """

    def negotiationFinished(self) -> None:
        tcp = self.transport.transport
        tcp.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 32 * 1024)
        self.producer = StreamProducer(self.transport, MESSAGE_COUNT, MESSAGE_SIZE)
        self.transport.attachProducer(self.producer)
        self.factory.opened.callback(self)
        # Start streaming from the reactor, outside the callback.
        self.factory.reactor.callLater(0, self.producer.send)

    def connectionLost(self, reason: Failure) -> None:
        self.factory.lost.callback(reason.value)


def _blockingHandshake(port: int) -> tuple[socket.socket, ClientConnection]:
    """
    Connect to the server with a small receive buffer and finish the
    opening handshake, reading nothing beyond it.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
    sock.settimeout(TIMEOUT)
    sock.connect(("127.0.0.1", port))
    client = ClientConnection(f"127.0.0.1:{port}", "/", version=Version.RFC6455)
    sock.sendall(client.dataToSend())
    # Read the response byte by byte so that no frame is read with it.
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        byte = sock.recv(1)
        if not byte:
            raise ConnectionError("server closed during the handshake")
        head += byte
    events = client.receiveData(head)
    assert isinstance(events[0], ConnectionOpened), events
    return sock, client


def _readAll(sock: socket.socket, client: ClientConnection, count: int) -> list[int]:
    """
    Read C{count} binary messages, close, and return the indexes found in
    them.
    """
    indexes: list[int] = []
    while len(indexes) < count:
        data = sock.recv(1 << 20)
        if not data:
            break
        for event in client.receiveData(data):
            if isinstance(event, BinaryMessage):
                assert len(event.data) == MESSAGE_SIZE
                indexes.append(int.from_bytes(event.data[:4], "big"))
    client.close(1000)
    sock.sendall(client.dataToSend())
    while True:
        data = sock.recv(65536)
        if not data:
            break
        client.receiveData(data)
    sock.close()
    return indexes


class LoopbackTests(TestCase):
    """
    A server streaming to a client that does not read, over real TCP on
    127.0.0.1.
    """

    timeout = TIMEOUT * 2

    @defer.inlineCallbacks
    def test_boundedWhileClientDoesNotRead(self) -> Any:
        """
        While the client reads nothing the producer is paused and the bytes
        queued in the server transport stay under writeHighWater plus one
        message, far below the stream's size; when the client reads, the
        whole stream arrives in order.
        """
        factory = WebSocketServerFactory(
            Streamer, Options(writeHighWater=HIGH_WATER)
        )
        factory.opened = defer.Deferred()
        factory.lost = defer.Deferred()
        port = reactor.listenTCP(0, factory, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        sock, client = yield threads.deferToThread(_blockingHandshake, port.getHost().port)
        self.addCleanup(sock.close)
        app = yield factory.opened
        producer = app.producer

        # Wait, bounded, until the producer is paused with the kernel
        # buffers full: a while with no progress after a pause.
        bound = HIGH_WATER + MESSAGE_SIZE + 14
        lastSent = -1
        for _ in range(200):
            yield task.deferLater(reactor, 0.05, lambda: None)
            self.assertLessEqual(app.transport.bufferedAmount, bound)
            if producer.paused and producer.sent == lastSent:
                break
            lastSent = producer.sent
        self.assertTrue(producer.paused)
        self.assertGreaterEqual(producer.pauses, 1)
        self.assertLess(producer.sent, MESSAGE_COUNT // 2)
        self.assertGreater(producer.maxBufferedWhilePaused, 0)
        self.assertLessEqual(producer.maxBufferedWhilePaused, bound)
        self.assertLessEqual(app.transport.bufferedAmount, bound)

        indexes = yield threads.deferToThread(_readAll, sock, client, MESSAGE_COUNT)
        self.assertEqual(indexes, list(range(MESSAGE_COUNT)))
        self.assertTrue(producer.done.called)
        self.assertLessEqual(producer.maxBufferedWhilePaused, bound)
        closed = yield factory.lost
        self.assertTrue(closed.wasClean)
        self.assertEqual(closed.code, 1000)

    @defer.inlineCallbacks
    def test_pauseReadingStopsSocket(self) -> Any:
        """
        Over real TCP, pauseReading stops delivery of messages until
        resumeReading, and then everything the client sent arrives in order.
        """
        got: list[str] = []
        opened: defer.Deferred[Any] = defer.Deferred()
        lost: defer.Deferred[Any] = defer.Deferred()

        class Slow(WebSocketProtocol):
            def negotiationFinished(self) -> None:
                self.transport.pauseReading()
                opened.callback(self)

            def textMessageReceived(self, message: str) -> None:
                got.append(message)

            def connectionLost(self, reason: Failure) -> None:
                lost.callback(reason.value)

        factory = WebSocketServerFactory(Slow)
        port = reactor.listenTCP(0, factory, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        sock, client = yield threads.deferToThread(_blockingHandshake, port.getHost().port)
        self.addCleanup(sock.close)
        app = yield opened

        def sendSome() -> None:
            for i in range(50):
                client.sendText(f"m{i}")
            sock.sendall(client.dataToSend())

        yield threads.deferToThread(sendSome)
        # Give the reactor turns in which it would have read the data.
        for _ in range(10):
            yield task.deferLater(reactor, 0.01, lambda: None)
        self.assertEqual(got, [])
        app.transport.resumeReading()
        for _ in range(500):
            if len(got) == 50:
                break
            yield task.deferLater(reactor, 0.01, lambda: None)
        self.assertEqual(got, [f"m{i}" for i in range(50)])

        def close() -> None:
            client.close(1000)
            sock.sendall(client.dataToSend())
            while sock.recv(65536):
                pass
            sock.close()

        yield threads.deferToThread(close)
        closed = yield lost
        self.assertTrue(closed.wasClean)
