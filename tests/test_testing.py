"""
Tests for L{twisted_ws.testing}: an application and a scripted client
connected in memory, with time on a clock.
"""

from __future__ import annotations

import importlib.util
import unittest
from pathlib import Path
from typing import Any

from twisted.internet import protocol, task
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.resource import Resource
from twisted.web.server import Site

from twisted_ws import (
    AbnormalClose,
    CleanClose,
    Options,
    RejectConnection,
    Version,
    WebSocketProtocol,
    WebSocketResource,
    WebSocketServerFactory,
)
from twisted_ws.codec import LocalProtocolError, Ping, Pong
from twisted_ws.testing import (
    CLIENT_ADDRESS,
    SERVER_ADDRESS,
    MemoryTransport,
    ScriptedClient,
    WebSocketPair,
    connectApplication,
    connectFactory,
)

HYBI_VERSIONS = [v for v in Version if not v.isHixie]


class Echo(WebSocketProtocol):
    """
    Sends every message back; C{"close"} makes it close with 4000, and
    C{"abort"} makes it end TCP at once.
    """

    def textMessageReceived(self, message: str) -> None:
        if message == "close":
            self.loseConnection(4000, "asked to")
        elif message == "abort":
            self.transport.transport.abortConnection()
        else:
            self.sendTextMessage(message)

    def bytesMessageReceived(self, data: bytes) -> None:
        self.sendBytesMessage(data)


class Rejecting(WebSocketProtocol):
    """
    Refuses every connection with 403.
    """

    def requestReceived(self, request: Any) -> str | None:
        raise RejectConnection(403, "not you")


class ClientApp(WebSocketProtocol):
    """
    A client-side application: says hello once open and records what it
    gets.
    """

    def __init__(self) -> None:
        self.received: list[Any] = []
        self.lost: list[Failure] = []

    def negotiationFinished(self) -> None:
        self.sendTextMessage("hello")

    def textMessageReceived(self, message: str) -> None:
        self.received.append(message)

    def pongReceived(self, payload: bytes) -> None:
        self.received.append(("pong", payload))

    def connectionLost(self, reason: Failure) -> None:
        self.lost.append(reason)


class Pinger(ClientApp):
    """
    Answers every pong with another ping: the two sides never go quiet.
    """

    def pongReceived(self, payload: bytes) -> None:
        self.ping(payload)


class EchoTests(SynchronousTestCase):
    """
    Messages both ways through L{connectApplication}.
    """

    def test_textEveryVersion(self) -> None:
        """
        A text message sent by the client comes back from the echo, on every
        version, whole or one byte at a time.
        """
        for version in Version:
            for oneByte in (False, True):
                pair = connectApplication(Echo, version=version, oneByte=oneByte)
                self.assertTrue(pair.client.isOpen, (version, pair.client.events))
                self.assertIs(pair.client.version, version)
                pair.client.sendTextMessage("h\u00e9llo")
                pair.client.sendTextMessage("again")
                self.assertEqual(pair.client.messages, [])
                pair.flush()
                self.assertEqual(pair.client.takeMessages(), ["h\u00e9llo", "again"])
                self.assertEqual(pair.client.messages, [])

    def test_bytes(self) -> None:
        """
        A binary message comes back as bytes.
        """
        for version in HYBI_VERSIONS:
            pair = connectApplication(Echo, version=version)
            pair.client.sendBytesMessage(b"\x00\xff")
            pair.flush()
            self.assertEqual(pair.client.takeMessages(), [b"\x00\xff"])

    def test_serverApplication(self) -> None:
        """
        The server's application is at hand once the request arrived, with
        the request's path and the pair's addresses.
        """
        pair = connectApplication(Echo, path="/room?x=1")
        app = pair.serverApplication
        self.assertIsInstance(app, Echo)
        self.assertEqual(app.transport.request.target, "/room?x=1")
        self.assertEqual(app.transport.getPeer(), CLIENT_ADDRESS)
        self.assertEqual(pair.client.getPeer(), SERVER_ADDRESS)
        self.assertEqual(pair.client.getHost(), CLIENT_ADDRESS)

    def test_subprotocol(self) -> None:
        """
        The client's offers reach the server, whose choice the client reads.
        """
        pair = connectApplication(Echo, Options(subprotocols=("chat",)), subprotocols=("x", "chat"))
        self.assertEqual(pair.client.subprotocol, "chat")

    def test_pingPong(self) -> None:
        """
        A ping of the client is answered with a pong carrying its payload.
        """
        pair = connectApplication(Echo)
        pair.client.ping(b"are you there")
        pair.flush()
        self.assertEqual([e.data for e in pair.client.eventsOf(Pong)], [b"are you there"])

    def test_sendBeforeOpen(self) -> None:
        """
        Sending on a client whose handshake failed raises, as the codec
        does: it is the test's mistake.
        """
        pair = connectApplication(Rejecting)
        self.assertRaises(LocalProtocolError, pair.client.sendTextMessage, "x")


class ClosingTests(SynchronousTestCase):
    """
    How a connection of a L{WebSocketPair} ends, and how each side saw it.
    """

    def test_clientCloses(self) -> None:
        """
        A close started by the client completes cleanly; both sides see the
        code and reason, and the server application learns that the peer
        closed.
        """
        pair = connectApplication(Echo)
        pair.client.close(1001, "going")
        pair.flush()
        self.assertTrue(pair.disconnected)
        self.assertTrue(pair.client.disconnected)
        self.assertEqual(pair.client.closeCode, 1001)
        self.assertTrue(pair.client.wasClean)
        self.assertFalse(pair.client.closedByPeer)
        assert pair.serverLostReason is not None
        closed = pair.serverLostReason.value
        self.assertIsInstance(closed, CleanClose)
        self.assertEqual((closed.code, closed.reason, closed.closedByPeer), (1001, "going", True))

    def test_serverCloses(self) -> None:
        """
        A close started by the application reaches the client with its code;
        the client reads that the server closed.
        """
        pair = connectApplication(Echo)
        pair.client.sendTextMessage("close")
        pair.flush()
        self.assertTrue(pair.disconnected)
        self.assertEqual(pair.client.closeReceived.code, 4000)
        self.assertEqual((pair.client.closeCode, pair.client.closeReason), (4000, "asked to"))
        self.assertTrue(pair.client.closedByPeer)
        self.assertFalse(pair.serverLostReason.value.closedByPeer)

    def test_rejected(self) -> None:
        """
        A refused handshake shows as the client's handshake failure with the
        HTTP status, and the connection ends.
        """
        pair = connectApplication(Rejecting)
        self.assertEqual(pair.client.handshakeFailure.status, 403)
        self.assertFalse(pair.client.opened)
        self.assertTrue(pair.disconnected)

    def test_protocolError(self) -> None:
        """
        Raw bytes sent past the codec reach the server: an unmasked frame
        makes it close with 1002, which both sides read.
        """
        pair = connectApplication(Echo)
        pair.client.sendData(b"\x81\x02hi")
        pair.flush()
        self.assertEqual(pair.client.closeCode, 1002)
        self.assertEqual(pair.serverLostReason.value.code, 1002)
        self.assertTrue(pair.disconnected)

    def test_dropConnection(self) -> None:
        """
        Dropping the connection ends both sides at once with
        L{ConnectionLost}; what was buffered is not delivered.
        """
        pair = connectApplication(Echo)
        pair.client.sendTextMessage("lost on the way")
        pair.dropConnection()
        self.assertTrue(pair.disconnected)
        self.assertTrue(pair.client.lostReason.check(ConnectionLost))
        closed = pair.serverLostReason.value
        self.assertIsInstance(closed, AbnormalClose)
        self.assertEqual(closed.code, 1006)
        self.assertEqual(pair.client.closeCode, 1006)
        pair.flush()
        self.assertEqual(pair.client.messages, [])

    def test_clientDropsConnection(self) -> None:
        """
        The client ending TCP without a closing handshake ends the
        connection with L{ConnectionDone}, after delivering what it sent.
        """
        pair = connectApplication(Echo)
        pair.client.sendTextMessage("last words")
        pair.client.dropConnection()
        pair.flush()
        self.assertTrue(pair.disconnected)
        self.assertTrue(pair.client.lostReason.check(ConnectionDone))
        self.assertFalse(pair.serverLostReason.value.wasClean)

    def test_serverAborts(self) -> None:
        """
        A side that aborts its transport ends the connection with
        L{ConnectionLost}, and what it had buffered is thrown away.
        """
        pair = connectApplication(Echo)
        pair.client.sendTextMessage("abort")
        pair.flush()
        self.assertTrue(pair.disconnected)
        self.assertTrue(pair.client.lostReason.check(ConnectionLost))

    def test_writeAfterEnd(self) -> None:
        """
        A L{MemoryTransport} drops writes once the connection ended.
        """
        pair = connectApplication(Echo)
        pair.dropConnection()
        pair.serverTransport.write(b"late")
        pair.serverTransport.writeSequence([b"late"])
        self.assertEqual(pair.serverTransport.value(), b"")


class ClockTests(SynchronousTestCase):
    """
    Time moves for the server only through L{WebSocketPair.advance}.
    """

    def test_openTimeout(self) -> None:
        """
        A client that never sends its request is cut off once the open
        timeout passed on the pair's clock, and not before.
        """
        clock = task.Clock()
        factory = WebSocketServerFactory(Echo, Options(openTimeout=5.0), reactor=clock)
        pair = connectFactory(factory, protocol.Protocol())
        self.assertIs(pair.clock, clock)
        pair.advance(4.9)
        self.assertFalse(pair.disconnected)
        pair.advance(0.2)
        self.assertTrue(pair.disconnected)

    def test_keepalive(self) -> None:
        """
        The server's keepalive pings arrive as the clock moves on, and the
        scripted client answers them.
        """
        pair = connectApplication(Echo, Options(pingInterval=10.0, pingTimeout=5.0))
        pair.advance(10.0)
        self.assertEqual(len(pair.client.eventsOf(Ping)), 1)
        pair.advance(10.0)
        self.assertEqual(len(pair.client.eventsOf(Ping)), 2)
        self.assertFalse(pair.disconnected)

    def test_reactorNotAClock(self) -> None:
        """
        A factory whose reactor is not a clock is refused with a message
        that says how to build it.
        """
        factory = WebSocketServerFactory(Echo, reactor=object())  # type: ignore[arg-type]
        error = self.assertRaises(ValueError, connectFactory, factory)
        self.assertIn("task.Clock", str(error))

    def test_clientAndClientArguments(self) -> None:
        """
        A client protocol and client arguments together are refused.
        """
        self.assertRaises(TypeError, connectApplication, Echo, None, ScriptedClient(), path="/x")


class ClientApplicationTests(SynchronousTestCase):
    """
    A client-side application carried by the L{ScriptedClient}.
    """

    def test_callbacks(self) -> None:
        """
        The client application sends once open, gets the answers and the
        pongs, and learns how the connection closed.
        """
        app = ClientApp()
        pair = connectApplication(Echo, application=app)
        self.assertIs(app.transport, pair.client)
        pair.flush()
        self.assertEqual(app.received, ["hello"])
        app.ping(b"p")
        pair.flush()
        self.assertEqual(app.received, ["hello", ("pong", b"p")])
        app.loseConnection(1000, "done")
        pair.flush()
        [reason] = app.lost
        self.assertIsInstance(reason.value, CleanClose)
        self.assertEqual((reason.value.code, reason.value.closedByPeer), (1000, False))

    def test_abnormalEnd(self) -> None:
        """
        A dropped connection reaches the client application as an
        L{AbnormalClose} with code 1006.
        """
        app = ClientApp()
        pair = connectApplication(Echo, application=app)
        pair.dropConnection()
        [reason] = app.lost
        self.assertIsInstance(reason.value, AbnormalClose)
        self.assertEqual(reason.value.code, 1006)

    def test_neverQuiet(self) -> None:
        """
        Two sides that never stop sending make L{WebSocketPair.flush} give
        up with an error instead of looping for ever.
        """
        app = Pinger()
        pair = connectApplication(Echo, application=app)
        pair.maxRounds = 50
        app.ping(b"again")
        self.assertRaises(RuntimeError, pair.flush)


class OtherServersTests(SynchronousTestCase):
    """
    L{connectFactory} and L{WebSocketPair} with servers other than a plain
    L{WebSocketServerFactory}.
    """

    def test_site(self) -> None:
        """
        A client reaches a L{WebSocketResource} on a C{twisted.web} site.
        """
        clock = task.Clock()
        root = Resource()
        root.putChild(b"ws", WebSocketResource(WebSocketServerFactory(Echo, reactor=clock)))
        pair = connectFactory(Site(root, reactor=clock), path="/ws", version=Version.HIXIE76)
        self.assertTrue(pair.client.isOpen, pair.client.events)
        pair.client.sendTextMessage("through the site")
        pair.flush()
        self.assertEqual(pair.client.takeMessages(), ["through the site"])

    def test_anyProtocols(self) -> None:
        """
        L{WebSocketPair} connects any two protocols and moves their bytes.
        """

        class Upper(protocol.Protocol):
            def dataReceived(self, data: bytes) -> None:
                self.transport.write(data.upper())

        class Collect(protocol.Protocol):
            def __init__(self) -> None:
                self.got = b""

            def dataReceived(self, data: bytes) -> None:
                self.got += data

        client = Collect()
        pair = WebSocketPair(Upper(), client, oneByte=True)
        self.assertIsInstance(pair.clock, task.Clock)
        self.assertIsInstance(pair.clientTransport, MemoryTransport)
        pair.clientTransport.write(b"abc")
        pair.flush()
        self.assertEqual(client.got, b"ABC")
        self.assertIsNone(pair.serverApplication)
        pair.clientTransport.loseConnection()
        pair.flush()
        self.assertTrue(pair.disconnected)

    def test_closeFrameWithoutCode(self) -> None:
        """
        A close without a code reads as 1005 on both sides.
        """
        pair = connectApplication(Echo)
        pair.client.close(None)
        pair.flush()
        self.assertEqual(pair.client.closeCode, 1005)
        self.assertEqual(pair.serverLostReason.value.code, 1005)


class DocsExampleTests(SynchronousTestCase):
    """
    The example of C{docs/testing.rst}, C{docs/examples/testing_shout.py}.
    """

    def test_exampleTestsPass(self) -> None:
        """
        The example's own tests run and pass.
        """
        path = Path(__file__).resolve().parent.parent / "docs" / "examples" / "testing_shout.py"
        spec = importlib.util.spec_from_file_location("testing_shout", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        suite = unittest.defaultTestLoader.loadTestsFromTestCase(module.ShoutTests)
        result = unittest.TestResult()
        suite.run(result)
        self.assertEqual((result.failures, result.errors), ([], []))
        self.assertEqual(result.testsRun, 4)
