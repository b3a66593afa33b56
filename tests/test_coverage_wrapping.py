"""
Tests for L{twisted_ws._wrapping}: the transport a wrapped stream protocol
sees (L{MessageTransport}) as a Twisted transport, consumer and push
producer, and a wrapped factory that refuses the connection.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.error import ConnectionDone
from twisted.internet.protocol import Factory
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from twisted_ws import WrappingWebSocketFactory
from twisted_ws.codec import (
    BinaryMessage,
    ClientConnection,
    CloseReceived,
    ConnectionOpened,
    Version,
)

from ._support.layer import IdleProducer as Producer
from ._support.streams import Recorder, Refusing


def connect(
    wrappedFactory: Factory, version: Version = Version.RFC6455
) -> tuple[Any, StringTransport, ClientConnection, list[Any]]:
    """
    Open a server connection of a L{WrappingWebSocketFactory} on a string
    transport, with a codec client on the other side; what the client
    received along with the handshake's answer is returned last.
    """
    factory = WrappingWebSocketFactory(wrappedFactory, reactor=Clock())
    server = factory.buildProtocol(None)
    transport = StringTransport()
    server.makeConnection(transport)
    client = ClientConnection("example.com", "/", version=version)
    server.dataReceived(client.dataToSend())
    events = client.receiveData(transport.value())
    transport.clear()
    return server, transport, client, events


class WritingTests(SynchronousTestCase):
    """
    What L{MessageTransport.write} and C{writeSequence} send.
    """

    def setUp(self) -> None:
        self.server, self.transport, self.client, _ = connect(Factory.forProtocol(Recorder))
        self.wrapped = self.server.application.wrapped

    def test_emptyWriteSendsNothing(self) -> None:
        """
        An empty write sends no (empty) message.
        """
        self.wrapped.transport.write(b"")
        self.assertEqual(self.transport.value(), b"")

    def test_writeSequenceIsOneMessage(self) -> None:
        """
        The pieces of a C{writeSequence} go out together as one message.
        """
        self.wrapped.transport.writeSequence([b"ab", b"", b"cd"])
        self.assertEqual(self.client.receiveData(self.transport.value()), [BinaryMessage(b"abcd")])

    def test_textMessagesAreFedAsUTF8(self) -> None:
        """
        A text message reaches the stream protocol as its UTF-8 bytes.
        """
        self.client.sendText("h\u00e9")
        self.server.dataReceived(self.client.dataToSend())
        self.assertEqual(self.wrapped.received, ["h\u00e9".encode()])

    def test_addresses(self) -> None:
        """
        C{getPeer} and C{getHost} are those of the TCP connection.
        """
        self.assertEqual(self.wrapped.transport.getPeer(), self.transport.getPeer())
        self.assertEqual(self.wrapped.transport.getHost(), self.transport.getHost())


class ClosingTests(SynchronousTestCase):
    """
    How the stream protocol ends the WebSocket connection.
    """

    def setUp(self) -> None:
        self.server, self.transport, self.client, _ = connect(Factory.forProtocol(Recorder))
        self.wrapped = self.server.application.wrapped

    def test_loseConnectionOnce(self) -> None:
        """
        A second C{loseConnection} sends no second close frame, and writes
        after the first are dropped.
        """
        self.wrapped.transport.loseConnection()
        self.wrapped.transport.loseConnection()
        self.wrapped.transport.write(b"late")
        events = self.client.receiveData(self.transport.value())
        self.assertEqual(len(events), 1, events)
        self.assertIsInstance(events[0], CloseReceived)
        self.assertEqual(events[0].code, 1000)

    def test_stopProducingCloses(self) -> None:
        """
        C{stopProducing}, as on a TCP transport, closes the connection
        (normally, 1000).
        """
        self.wrapped.transport.stopProducing()
        events = self.client.receiveData(self.transport.value())
        self.assertEqual([(type(e), e.code) for e in events], [(CloseReceived, 1000)])

    def test_abortConnection(self) -> None:
        """
        C{abortConnection} drops the TCP connection at once, with no close
        frame, and later writes are dropped.
        """
        self.wrapped.transport.abortConnection()
        self.assertTrue(self.transport.disconnected)
        self.wrapped.transport.write(b"late")
        self.assertEqual(self.transport.value(), b"")
        self.assertTrue(self.wrapped.transport.disconnecting)

    def test_connectionLostOnce(self) -> None:
        """
        The stream protocol's C{connectionLost} is called once, however many
        times the bridge is told the connection ended.
        """
        bridge = self.server.application
        bridge.connectionLost(Failure(ConnectionDone()))
        bridge.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(len(self.wrapped.lost), 1)
        self.assertIsNone(bridge.wrapped)


class ProducerTests(SynchronousTestCase):
    """
    L{MessageTransport} as a consumer (of the stream protocol's producer)
    and as a push producer (of the messages it feeds in).
    """

    def setUp(self) -> None:
        self.server, self.transport, self.client, _ = connect(Factory.forProtocol(Recorder))
        self.wrapped = self.server.application.wrapped

    def test_pullProducerRefused(self) -> None:
        """
        A pull (not streaming) producer is refused with a message saying
        so.
        """
        with self.assertRaises(ValueError) as caught:
            self.wrapped.transport.registerProducer(Producer(), False)
        self.assertEqual(str(caught.exception), "only streaming (push) producers are supported")

    def test_pushProducerAttached(self) -> None:
        """
        A push producer is attached to the connection: a second one is
        refused until the first is unregistered.
        """
        consumer = self.wrapped.transport
        consumer.registerProducer(Producer(), True)
        self.assertRaises(RuntimeError, consumer.registerProducer, Producer(), True)
        consumer.unregisterProducer()
        consumer.registerProducer(Producer(), True)

    def test_pauseAndResumeReading(self) -> None:
        """
        C{pauseProducing} stops reading from the TCP connection (messages
        already read wait), C{resumeProducing} delivers them and reads
        again.
        """
        self.wrapped.transport.pauseProducing()
        self.assertEqual(self.transport.producerState, "paused")
        self.client.sendBinary(b"held")
        self.server.dataReceived(self.client.dataToSend())
        self.assertEqual(self.wrapped.received, [])
        self.wrapped.transport.resumeProducing()
        self.assertEqual(self.transport.producerState, "producing")
        self.assertEqual(self.wrapped.received, [b"held"])


class RefusedTests(SynchronousTestCase):
    """
    A wrapped factory whose C{buildProtocol} returns L{None}.
    """

    def test_closedWithPolicyViolation(self) -> None:
        """
        The connection is closed with 1008 and the reason C{connection
        refused}; messages the client sent meanwhile are dropped, and the
        end of the connection is quiet.
        """
        server, transport, client, events = connect(Refusing())
        self.assertIsInstance(events[0], ConnectionOpened)
        self.assertEqual([(type(e), e.code, e.reason) for e in events[1:]],
                         [(CloseReceived, 1008, "connection refused")])
        bridge = server.application
        self.assertIsNone(bridge.wrapped)
        bridge.textMessageReceived("ignored")
        bridge.bytesMessageReceived(b"ignored")
        bridge.connectionLost(Failure(ConnectionDone()))
        self.assertIsNone(bridge.wrapped)

    def test_hixieRefusal(self) -> None:
        """
        On a hixie connection (no close codes) the refusal closes the
        connection.
        """
        server, transport, client, events = connect(Refusing(), Version.HIXIE76)
        self.assertEqual([type(e) for e in events], [ConnectionOpened, CloseReceived])


class FactoryLifeTests(SynchronousTestCase):
    """
    Starting and stopping a L{WrappingWebSocketFactory} starts and stops
    the wrapped factory.
    """

    def test_startAndStop(self) -> None:
        """
        The wrapped factory is started with the WebSocket factory (as when
        a port starts listening with it) and stopped with it.
        """
        events: list[str] = []

        class Tracked(Factory):
            protocol = Recorder

            def startFactory(self) -> None:
                events.append("start")

            def stopFactory(self) -> None:
                events.append("stop")

        factory = WrappingWebSocketFactory(Tracked(), reactor=Clock())
        factory.doStart()
        self.assertEqual(events, ["start"])
        factory.doStop()
        self.assertEqual(events, ["start", "stop"])
