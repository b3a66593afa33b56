"""
Loopback interoperability: a L{WebSocketServerFactory} with an echo
application on a real TCP port on 127.0.0.1, talked to by other
implementations (the C{websockets} client in a thread, the Autobahn|Python
client in the same reactor) on RFC 6455, and by this project's own codec on
every version.
"""

from __future__ import annotations

import os
from typing import Any

from twisted.internet import defer, protocol, reactor, threads
from twisted.python.failure import Failure
from twisted.trial.unittest import SkipTest, TestCase

from twisted_ws import Options, Version, WebSocketProtocol, WebSocketServerFactory
from twisted_ws.codec import (
    BinaryMessage,
    ClientConnection,
    CloseReceived,
    ConnectionOpened,
    HandshakeFailed,
    Pong,
    ProtocolError,
    TextMessage,
)

from ._support.layer import ALL_VERSIONS

TIMEOUT = 20.0
MIB = 1 << 20


class EchoApp(WebSocketProtocol):
    """
    Echoes every message; the text C{"close please"} makes it close with
    4002.  Tells the factory how the connection ended.
    """

    def negotiationFinished(self) -> None:
        self.factory.opened.append(self.transport.version)

    def textMessageReceived(self, message: str) -> None:
        if message == "close please":
            self.loseConnection(4002, "as you wish")
        else:
            self.sendTextMessage(message)

    def bytesMessageReceived(self, data: bytes) -> None:
        self.sendBytesMessage(data)

    def connectionLost(self, reason: Failure) -> None:
        self.factory.closed.append(reason.value)
        waiting, self.factory.waiting = self.factory.waiting, []
        for d in waiting:
            d.callback(reason.value)


class EchoFactory(WebSocketServerFactory):
    """
    Builds L{EchoApp}s and keeps what happened to them.

    @ivar opened: the version of each connection opened.
    @ivar closed: the L{ConnectionClosed} of each connection ended.
    """

    protocol = EchoApp

    def __init__(self, options: Options | None = None) -> None:
        super().__init__(EchoApp, options)
        self.opened: list[Version] = []
        self.closed: list[Any] = []
        self.waiting: list[defer.Deferred[Any]] = []

    def nextClose(self) -> defer.Deferred[Any]:
        """
        A Deferred that fires with the next server-side close, or at once
        with the last one if a close already happened.
        """
        if self.closed:
            return defer.succeed(self.closed[-1])
        d: defer.Deferred[Any] = defer.Deferred()
        self.waiting.append(d)
        d.addTimeout(TIMEOUT, reactor)
        return d


class _ServerMixin:
    """
    Starts an echo server on 127.0.0.1 for each test.
    """

    timeout = 60

    def setUp(self) -> None:
        self.factory = EchoFactory()
        self.port = reactor.listenTCP(0, self.factory, interface="127.0.0.1")
        self.addCleanup(self.port.stopListening)
        self.portNumber = self.port.getHost().port
        self.url = f"ws://127.0.0.1:{self.portNumber}/echo"


# The websockets client, in a thread.


def _websocketsSession(url: str) -> dict[str, Any]:
    """
    Text, binary, 1 MiB, ping, and a clean close with 4001, with the
    websockets synchronous client.
    """
    from websockets.sync.client import connect

    result: dict[str, Any] = {}
    big = os.urandom(MIB)
    with connect(
        url, open_timeout=TIMEOUT, close_timeout=TIMEOUT, proxy=None, ping_interval=None,
        max_size=4 * MIB,
    ) as ws:
        result["subprotocol"] = ws.subprotocol
        ws.send("h\u00e9llo \U0001f600")
        result["text"] = ws.recv(timeout=TIMEOUT)
        ws.send(b"\x00\x01\xfe\xff")
        result["binary"] = ws.recv(timeout=TIMEOUT)
        ws.send(big)
        result["bigOk"] = ws.recv(timeout=TIMEOUT) == big
        ws.send("x" * MIB)
        result["bigTextOk"] = ws.recv(timeout=TIMEOUT) == "x" * MIB
        result["pong"] = ws.ping(b"abc").wait(TIMEOUT)
        ws.close(4001, "bye")
        result["closeCode"] = ws.close_code
        result["closeReason"] = ws.close_reason
    return result


def _websocketsServerClose(url: str) -> dict[str, Any]:
    """
    Ask the server to close, and report the close the client saw.
    """
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    with connect(url, open_timeout=TIMEOUT, close_timeout=TIMEOUT, proxy=None,
                 ping_interval=None) as ws:
        ws.send("close please")
        try:
            ws.recv(timeout=TIMEOUT)
        except ConnectionClosed as e:
            # websockets calls any code but 1000 and 1001 an error; what
            # matters is the code and reason received, and that the
            # closing handshake completed.
            return {"code": e.rcvd.code, "reason": e.rcvd.reason, "ok": e.rcvd_then_sent}
        return {"ok": False}


class WebsocketsClientTests(_ServerMixin, TestCase):
    """
    The C{websockets} client against the server, RFC 6455.
    """

    def setUp(self) -> None:
        try:
            import websockets.sync.client  # noqa: F401
        except ImportError:
            raise SkipTest("websockets is not installed") from None
        super().setUp()

    @defer.inlineCallbacks
    def test_session(self) -> Any:
        """
        Text, binary, 1 MiB messages and a ping make the round trip, and the
        client's close with 4001 is a clean close on both sides.
        """
        d = threads.deferToThread(_websocketsSession, self.url)
        d.addTimeout(TIMEOUT * 2, reactor)
        result = yield d
        self.assertEqual(result["text"], "h\u00e9llo \U0001f600")
        self.assertEqual(result["binary"], b"\x00\x01\xfe\xff")
        self.assertTrue(result["bigOk"])
        self.assertTrue(result["bigTextOk"])
        self.assertTrue(result["pong"])
        self.assertEqual(result["closeCode"], 4001)
        self.assertIsNone(result["subprotocol"])
        closed = yield self.factory.nextClose()
        self.assertEqual(self.factory.opened, [Version.RFC6455])
        self.assertTrue(closed.wasClean)
        self.assertTrue(closed.closedByPeer)
        self.assertEqual((closed.code, closed.reason), (4001, "bye"))

    @defer.inlineCallbacks
    def test_serverClose(self) -> Any:
        """
        A close started by the server with 4002 reaches the client as a
        clean close with that code and reason.
        """
        d = threads.deferToThread(_websocketsServerClose, self.url)
        d.addTimeout(TIMEOUT * 2, reactor)
        result = yield d
        self.assertEqual(result, {"code": 4002, "reason": "as you wish", "ok": True})
        closed = yield self.factory.nextClose()
        self.assertTrue(closed.wasClean)
        self.assertFalse(closed.closedByPeer)
        self.assertEqual(closed.code, 4002)


# The Autobahn|Python client, in the same reactor.


class AutobahnTests(_ServerMixin, TestCase):
    """
    The Autobahn|Python client against the server, RFC 6455.
    """

    def setUp(self) -> None:
        try:
            import autobahn.twisted.websocket  # noqa: F401
        except ImportError:
            raise SkipTest("autobahn is not installed") from None
        super().setUp()

    def runClient(self, steps: str) -> defer.Deferred[dict[str, Any]]:
        """
        Connect an Autobahn client that runs C{steps} (C{"session"} or
        C{"serverClose"}).

        @return: a Deferred that fires with what the client saw.
        """
        from autobahn.twisted.websocket import WebSocketClientFactory, WebSocketClientProtocol

        done: defer.Deferred[dict[str, Any]] = defer.Deferred()
        big = os.urandom(MIB)
        seen: dict[str, Any] = {"messages": []}

        class Client(WebSocketClientProtocol):
            def onOpen(self) -> None:
                if steps == "serverClose":
                    self.sendMessage(b"close please", isBinary=False)
                else:
                    self.sendMessage("h\u00e9llo".encode("utf-8"), isBinary=False)

            def onMessage(self, payload: bytes, isBinary: bool) -> None:
                seen["messages"].append((payload if len(payload) < 100 else len(payload), isBinary))
                count = len(seen["messages"])
                if count == 1:
                    self.sendMessage(b"\x00\xff", isBinary=True)
                elif count == 2:
                    self.sendMessage(big, isBinary=True)
                elif count == 3:
                    seen["bigOk"] = payload == big
                    self.sendPing(b"abc")

            def onPong(self, payload: bytes) -> None:
                seen["pong"] = payload
                self.sendClose(code=4001, reason="bye")

            def onClose(self, wasClean: bool, code: int, reason: str) -> None:
                seen["close"] = (wasClean, code, reason)
                if not done.called:
                    done.callback(seen)

        factory = WebSocketClientFactory(self.url)
        factory.protocol = Client
        factory.setProtocolOptions(maxMessagePayloadSize=4 * MIB, maxFramePayloadSize=4 * MIB)
        connector = reactor.connectTCP("127.0.0.1", self.portNumber, factory, timeout=TIMEOUT)
        self.addCleanup(connector.disconnect)
        done.addTimeout(TIMEOUT, reactor)
        return done

    @defer.inlineCallbacks
    def test_session(self) -> Any:
        """
        Text, binary, 1 MiB and a ping make the round trip with Autobahn,
        and its close with 4001 is clean on both sides.
        """
        seen = yield self.runClient("session")
        self.assertEqual(
            seen["messages"],
            [("h\u00e9llo".encode("utf-8"), False), (b"\x00\xff", True), (MIB, True)],
        )
        self.assertTrue(seen["bigOk"])
        self.assertEqual(seen["pong"], b"abc")
        wasClean, code, reason = seen["close"]
        self.assertTrue(wasClean)
        self.assertEqual(code, 4001)
        closed = yield self.factory.nextClose()
        self.assertTrue(closed.wasClean)
        self.assertEqual((closed.code, closed.reason), (4001, "bye"))

    @defer.inlineCallbacks
    def test_serverClose(self) -> Any:
        """
        A close started by the server with 4002 reaches Autobahn as a clean
        close with that code and reason.
        """
        seen = yield self.runClient("serverClose")
        self.assertEqual(seen["close"], (True, 4002, "as you wish"))
        closed = yield self.factory.nextClose()
        self.assertTrue(closed.wasClean)
        self.assertFalse(closed.closedByPeer)


# This project's codec as the client, on every version.


class CodecClient(protocol.Protocol):
    """
    A Twisted client protocol around the codec's L{ClientConnection}:
    sends a text message, a binary message and a ping where the version has
    them, then a 1 MiB message, then closes with 1000.
    """

    def __init__(self, version: Version, host: str) -> None:
        self.version = version
        self.codec = ClientConnection(host, "/echo", version=version)
        self.events: list[Any] = []
        self.done: defer.Deferred[list[Any]] = defer.Deferred()
        self.big = "\u00e9" * (MIB // 2) if version.isHixie else os.urandom(MIB)

    def connectionMade(self) -> None:
        self.flush()

    def flush(self) -> None:
        data = self.codec.dataToSend()
        if data:
            self.transport.write(data)
        if self.codec.shouldCloseTransport:
            self.transport.loseConnection()

    def dataReceived(self, data: bytes) -> None:
        for event in self.codec.receiveData(data):
            self.events.append(event)
            self.handle(event)
        self.flush()

    def handle(self, event: Any) -> None:
        hybi = not self.version.isHixie
        if isinstance(event, ConnectionOpened):
            self.codec.sendText("first")
        elif isinstance(event, TextMessage) and event.data == "first":
            if hybi:
                self.codec.sendBinary(b"\x01\x02")
            else:
                self.codec.sendText(self.big)
        elif isinstance(event, BinaryMessage) and event.data == b"\x01\x02":
            self.codec.sendPing(b"ping!")
        elif isinstance(event, Pong):
            self.codec.sendBinary(self.big)
        elif isinstance(event, (TextMessage, BinaryMessage)) and len(event.data) > 1000:
            self.bigOk = event.data == self.big
            self.codec.close(1000, "done")
        elif isinstance(event, (HandshakeFailed, ProtocolError)):
            self.transport.loseConnection()

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        self.codec.receiveEOF()
        if not self.done.called:
            self.done.callback(self.events)


class CodecClientTests(_ServerMixin, TestCase):
    """
    The project's own codec as a client over real TCP, every version.
    """

    @defer.inlineCallbacks
    def talk(self, version: Version) -> Any:
        host = f"127.0.0.1:{self.portNumber}"
        client = CodecClient(version, host)
        factory = protocol.ClientFactory.forProtocol(lambda: client)
        connector = reactor.connectTCP("127.0.0.1", self.portNumber, factory, timeout=TIMEOUT)
        self.addCleanup(connector.disconnect)
        client.done.addTimeout(TIMEOUT, reactor)
        events = yield client.done
        return client, events

    @defer.inlineCallbacks
    def test_everyVersion(self) -> Any:
        """
        Every version opens, echoes text (and binary and pings on hybi), a
        1 MiB message, and closes cleanly on both sides.
        """
        for version in ALL_VERSIONS:
            client, events = yield self.talk(version)
            self.assertIsInstance(events[0], ConnectionOpened, version)
            self.assertEqual(events[1], TextMessage("first"), version)
            self.assertTrue(client.bigOk, version)
            self.assertTrue(client.codec.wasClean, version)
            if version is not Version.HIXIE75:
                self.assertIsInstance(events[-1], CloseReceived, version)
            if not version.isHixie:
                self.assertIn(BinaryMessage(b"\x01\x02"), events)
                self.assertIn(Pong(b"ping!"), events)
                # The server echoes the code of the client's close.
                self.assertEqual(client.codec.closeCode, 1000)
            closed = yield self.factory.nextClose()
            self.factory.closed.clear()
            self.assertTrue(closed.wasClean, version)
            self.assertTrue(closed.closedByPeer, version)
            if not version.isHixie:
                self.assertEqual((closed.code, closed.reason), (1000, "done"))
        self.assertEqual(self.factory.opened, ALL_VERSIONS)
