"""
Tests for L{twisted_ws._reconnecting.webSocketClientService}: a client
that comes back after its server restarts.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import defer, endpoints, reactor, task
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase

from twisted_ws import (
    CleanClose,
    WebSocketClientEndpoint,
    WebSocketClientFactory,
    WebSocketProtocol,
    WebSocketServerFactory,
)
from twisted_ws._reconnecting import webSocketClientService


class Echo(WebSocketProtocol):
    """
    Echoes text; remembers its connections so a test can drop them.
    """

    def negotiationFinished(self) -> None:
        live.append(self)

    def textMessageReceived(self, message: str) -> None:
        self.sendTextMessage(message)


live: list[Echo] = []


class Client(WebSocketProtocol):
    """
    Records its messages, and when it was opened and lost.
    """

    def __init__(self) -> None:
        self.events: list[str] = []
        self.lost: defer.Deferred[Any] = defer.Deferred()
        self.waiting: defer.Deferred[Any] | None = None

    def negotiationFinished(self) -> None:
        self.events.append("finished")

    def textMessageReceived(self, message: str) -> None:
        d, self.waiting = self.waiting, None
        if d is not None:
            d.callback(message)

    def connectionLost(self, reason: Failure) -> None:
        self.events.append("lost")
        self.lost.callback(reason.value)

    async def echo(self, text: str) -> Any:
        self.waiting = defer.Deferred()
        self.sendTextMessage(text)
        return await self.waiting


class ReconnectTests(TestCase):
    """
    The service connects again, with a new protocol, after the connection
    is lost, and retries while the server is away.
    """

    timeout = 30

    async def listen(self, number: int = 0) -> Any:
        return await endpoints.serverFromString(
            reactor, f"tcp:{number}:interface=127.0.0.1"
        ).listen(WebSocketServerFactory(Echo))

    async def test_serverRestarts(self) -> None:
        """
        After the server goes away and comes back on the same port, the
        service is connected again through a new protocol; stopping the
        service closes that connection cleanly.
        """
        del live[:]
        port = await self.listen()
        number = port.getHost().port
        prepared: list[Any] = []
        service = webSocketClientService(
            WebSocketClientEndpoint.new(reactor, f"ws://127.0.0.1:{number}/"),
            WebSocketClientFactory(Client),
            retryPolicy=lambda attempt: 0.05,
            prepareConnection=prepared.append,
        )
        service.startService()
        first = await service.whenConnected()
        self.assertEqual(await first.echo("one"), "one")
        # The server goes away: listening stops and its connection closes.
        await port.stopListening()
        live[0].loseConnection(1001, "restarting")
        closed = await first.lost
        self.assertEqual(closed.code, 1001)
        # Let a few attempts fail while nothing listens.
        await task.deferLater(reactor, 0.3, lambda: None)
        port = await self.listen(number)
        self.addCleanup(port.stopListening)
        second = await service.whenConnected()
        self.assertIsNot(second, first)
        self.assertEqual(second.events, ["finished"])
        self.assertEqual(await second.echo("two"), "two")
        # prepareConnection is given ClientService's proxy of each protocol.
        self.assertEqual([p.events for p in prepared], [first.events, second.events])
        self.assertIs(prepared[1].events, second.events)
        await service.stopService()
        closed = await second.lost
        self.assertIsInstance(closed, CleanClose)
        self.assertEqual(first.events, ["finished", "lost"])
