"""
The client against other projects' servers on loopback (RFC 6455): the
C{websockets} server, Autobahn|Python's server and Twisted's own
C{twisted.web.websocket} server.
"""

from __future__ import annotations

import threading
from typing import Any

from twisted.internet import endpoints, reactor
from twisted.python.failure import Failure
from twisted.trial.unittest import SkipTest, TestCase

from twisted_ws import (
    CleanClose,
    WebSocketClientEndpoint,
    WebSocketClientFactory,
)

from ._support.clientapp import Client


class _Session:
    """
    The same exchange with every server.
    """

    timeout = 30

    async def session(self, url: str, serverCloses: bool = True) -> None:
        endpoint = WebSocketClientEndpoint.new(reactor, url)
        client: Client = await endpoint.connect(WebSocketClientFactory(Client))
        for message in ("hello", "ü" * 3000, b"\x00\x01\xfe\xff" * 5000):
            d = client.next()
            if isinstance(message, str):
                client.sendTextMessage(message)
            else:
                client.sendBytesMessage(message)
            self.assertEqual(await d, message)  # type: ignore[attr-defined]
        client.loseConnection(1000, "bye")
        closed = await client.lost
        self.assertIsInstance(closed, CleanClose)  # type: ignore[attr-defined]
        self.assertEqual(closed.code, 1000)  # type: ignore[attr-defined]

    async def listen(self, factory: Any) -> int:
        port = await endpoints.serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(factory)
        self.addCleanup(port.stopListening)  # type: ignore[attr-defined]
        return port.getHost().port  # type: ignore[no-any-return]


class WebsocketsServerTests(_Session, TestCase):
    """
    Against the C{websockets} server, run in a thread.
    """

    def setUp(self) -> None:
        try:
            from websockets.sync.server import serve
        except ImportError:  # pragma: no cover - the test extra installs it
            raise SkipTest("websockets is not installed") from None

        def echo(ws: Any) -> None:
            for message in ws:
                if message == "close":
                    ws.close(4000, "asked to")
                    return
                ws.send(message)

        self.server = serve(echo, "127.0.0.1", 0)
        self.port = self.server.socket.getsockname()[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def tearDown(self) -> None:
        self.server.shutdown()
        self.thread.join(10)

    async def test_session(self) -> None:
        """
        Text and binary both ways, then a clean close.
        """
        await self.session(f"ws://127.0.0.1:{self.port}/")

    async def test_serverCloses(self) -> None:
        """
        The server's close code and reason reach the client.
        """
        client: Client = await WebSocketClientEndpoint.new(
            reactor, f"ws://127.0.0.1:{self.port}/"
        ).connect(WebSocketClientFactory(Client))
        client.sendTextMessage("close")
        closed = await client.lost
        self.assertIsInstance(closed, CleanClose)
        self.assertEqual((closed.code, closed.reason, closed.closedByPeer), (4000, "asked to", True))


class AutobahnServerTests(_Session, TestCase):
    """
    Against Autobahn|Python's server on the same reactor.
    """

    async def test_session(self) -> None:
        """
        Text and binary both ways, then a clean close.
        """
        try:
            from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
        except ImportError:  # pragma: no cover - the test extra installs it
            raise SkipTest("autobahn is not installed") from None

        class Echo(WebSocketServerProtocol):  # type: ignore[misc]
            def onMessage(self, payload: bytes, isBinary: bool) -> None:
                self.sendMessage(payload, isBinary)

        factory = WebSocketServerFactory()
        factory.protocol = Echo
        port = await self.listen(factory)
        await self.session(f"ws://127.0.0.1:{port}/")


class TwistedServerTests(_Session, TestCase):
    """
    Against C{twisted.web.websocket}'s server (it needs C{wsproto}).
    """

    async def test_session(self) -> None:
        """
        Text and binary both ways, then a clean close.
        """
        try:
            from twisted.web.websocket import WebSocketResource
        except ImportError:  # pragma: no cover - twisted[websocket] installs it
            raise SkipTest("twisted.web.websocket needs wsproto (twisted[websocket])") from None
        from twisted.web.resource import Resource
        from twisted.web.server import Site

        class Echo:
            def negotiationStarted(self, transport: Any) -> None:
                self.transport = transport

            def negotiationFinished(self) -> None:
                pass

            def textMessageReceived(self, message: str) -> None:
                self.transport.sendTextMessage(message)

            def bytesMessageReceived(self, data: bytes) -> None:
                self.transport.sendBytesMessage(bytes(data))

            def pongReceived(self, payload: bytes) -> None:
                pass

            def connectionLost(self, reason: Failure) -> None:
                pass

        class Factory:
            def buildProtocol(self, request: Any) -> Echo:
                return Echo()

        root = Resource()
        root.putChild(b"ws", WebSocketResource(Factory()))
        port = await self.listen(Site(root))
        await self.session(f"ws://127.0.0.1:{port}/ws")
