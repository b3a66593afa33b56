# -*- test-case-name: tests.test_client_reconnecting -*-
"""
A client that comes back by itself: L{webSocketClientService} runs a
L{WebSocketClientEndpoint} under Twisted's C{ClientService}, which connects
again, with its backoff and jitter, whenever the connection is lost or
fails to open.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.application.internet import ClientService
from twisted.internet import defer, interfaces
from zope.interface import implementer

from ._client import WebSocketClientEndpoint
from ._twistedinternals import setServiceProxyTransport

__all__ = ["webSocketClientService"]


class _Gate:
    """
    Stands for the protocol C{ClientService} built (its proxy of the
    application) on one connection: everything is passed on, except the
    C{connectionLost} of a connection whose handshake failed, which is
    reported to C{ClientService} as a failed attempt instead (the Deferred
    of C{connect} fails).
    """

    def __init__(self, proxy: Any) -> None:
        self.proxy = proxy
        self.opened = False

    def negotiationFinished(self) -> None:
        self.opened = True
        self.proxy.negotiationFinished()

    def connectionLost(self, reason: Any) -> None:
        if self.opened:
            self.proxy.connectionLost(reason)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.proxy, name)


@implementer(interfaces.IStreamClientEndpoint)
class _ServiceEndpoint:
    """
    The endpoint C{ClientService} connects with: connects the WebSocket
    endpoint, and gives back the protocol C{ClientService} built.
    """

    def __init__(self, endpoint: WebSocketClientEndpoint) -> None:
        self.endpoint = endpoint

    def connect(self, protocolFactory: Any) -> defer.Deferred[Any]:
        class Factory:
            def buildProtocol(self, url: str) -> Any:
                proxy = protocolFactory.buildProtocol(url)
                return None if proxy is None else _Gate(proxy)

        def connected(gate: _Gate) -> Any:
            proxy = gate.proxy
            # ClientService's stopService ends the connection through the
            # transport its proxy was given by makeConnection, which a
            # WebSocket application does not get: give it the WebSocket
            # connection (loseConnection closes with 1000).
            setServiceProxyTransport(proxy, gate.transport)
            return proxy

        return self.endpoint.connect(Factory()).addCallback(connected)


def webSocketClientService(
    endpoint: WebSocketClientEndpoint,
    factory: Any,
    retryPolicy: Callable[[int], float] | None = None,
    clock: Any = None,
    prepareConnection: Callable[[Any], Any] | None = None,
) -> ClientService:
    """
    A C{ClientService} that keeps a WebSocket connection up::

        service = webSocketClientService(
            WebSocketClientEndpoint.new(reactor, "wss://example.com/feed"),
            WebSocketClientFactory(Feed),
        )
        service.startService()
        feed = await service.whenConnected()

    Each connection gets a new protocol from C{factory.buildProtocol(url)},
    told C{negotiationFinished} when it opens and C{connectionLost} when it
    ends, after which the service connects again.  A connection that fails
    to open (refused, rejected, timed out) is retried the same way, and its
    protocol is not told C{connectionLost}.

    @param endpoint: the L{WebSocketClientEndpoint} to connect with.
    @param factory: makes the application protocol of each connection.
    @param retryPolicy: seconds to wait before attempt N, as for
        C{ClientService} (by default its exponential backoff with jitter,
        C{twisted.application.internet.backoffPolicy()}).
    @param clock: the reactor time to wait on (the endpoint's reactor by
        default).
    @param prepareConnection: called once each connection is open, before
        C{whenConnected} fires, with C{ClientService}'s proxy of the new
        protocol (its attributes are the protocol's); may return a
        Deferred.
    @return: the service; start it with C{startService} (or give it a
        parent), stop it with C{stopService}, which closes the connection.
    """
    return ClientService(
        _ServiceEndpoint(endpoint),
        factory,
        retryPolicy=retryPolicy,
        clock=clock if clock is not None else endpoint.reactor,
        prepareConnection=prepareConnection,
    )
