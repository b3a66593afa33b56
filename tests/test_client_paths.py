"""
Tests of the client's per-connection paths (L{twisted_ws._clientendpoint},
L{twisted_ws._clientattempt}): the stream endpoint chosen for each kind of
host, and what one C{connect} builds.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import defer, endpoints, reactor
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase, TestCase

from twisted_ws import (
    Options,
    WebSocketClientEndpoint,
    WebSocketClientFactory,
    WebSocketProtocol,
    WebSocketServerFactory,
)
from twisted_ws._client import StandardEndpointFactory
from twisted_ws._url import parseURL

#: Seconds any single wait on loopback may take.
WAIT = 10


class EndpointChoiceTests(SynchronousTestCase):
    """
    L{StandardEndpointFactory.endpointForURL} connects to an IP address
    directly and resolves only names.
    """

    def endpointFor(self, url: str, **kwargs: Any) -> Any:
        factory = StandardEndpointFactory(MemoryReactorClock(), None, kwargs.pop("timeout", None),
                                          kwargs.pop("bindAddress", None), False)
        return factory.endpointForURL(parseURL(url))

    def test_ipv4(self) -> None:
        """
        An IPv4 address gets a L{TCP4ClientEndpoint} to it.
        """
        endpoint = self.endpointFor("ws://127.0.0.1:8080/")
        self.assertIsInstance(endpoint, endpoints.TCP4ClientEndpoint)
        self.assertEqual((endpoint._host, endpoint._port), ("127.0.0.1", 8080))

    def test_ipv6(self) -> None:
        """
        An IPv6 address (in brackets in the URL) gets a L{TCP6ClientEndpoint}.
        """
        endpoint = self.endpointFor("ws://[::1]:8080/")
        self.assertIsInstance(endpoint, endpoints.TCP6ClientEndpoint)
        self.assertEqual((endpoint._host, endpoint._port), ("::1", 8080))

    def test_name(self) -> None:
        """
        A host name is resolved by a L{HostnameEndpoint}.
        """
        self.assertIsInstance(self.endpointFor("ws://localhost:8080/"), endpoints.HostnameEndpoint)

    def test_timeoutAndBindAddress(self) -> None:
        """
        The connect timeout and bind address reach the endpoint of an
        address; a bind address given as a host alone (text or bytes)
        binds any port of it, as L{HostnameEndpoint} takes it.
        """
        for given in ["127.0.0.2", b"127.0.0.2", ("127.0.0.2", 0), (b"127.0.0.2", 0)]:
            endpoint = self.endpointFor("ws://127.0.0.1/", timeout=3, bindAddress=given)
            self.assertEqual((endpoint._timeout, endpoint._bindAddress), (3, ("127.0.0.2", 0)))

    def test_reused(self) -> None:
        """
        The endpoint of an address is made once and reused by the next
        connects; a change of the connect timeout or bind address gets a
        new one.
        """
        factory = StandardEndpointFactory(MemoryReactorClock(), None, None, None, False)
        url = parseURL("ws://127.0.0.1:8080/")
        first = factory.endpointForURL(url)
        self.assertIs(factory.endpointForURL(url), first)
        self.assertIsNot(factory.endpointForURL(parseURL("ws://127.0.0.1:8081/")), first)
        factory.connectTimeout = 5
        second = factory.endpointForURL(url)
        self.assertEqual(second._timeout, 5)
        factory.bindAddress = "127.0.0.2"
        self.assertEqual(factory.endpointForURL(url)._bindAddress, ("127.0.0.2", 0))

    def test_reuseBounded(self) -> None:
        """
        At most 64 endpoints are kept.
        """
        factory = StandardEndpointFactory(MemoryReactorClock(), None, None, None, False)
        for port in range(1, 200):
            factory.endpointForURL(parseURL(f"ws://127.0.0.1:{port}/"))
        self.assertLessEqual(len(factory._tcpEndpoints), 64)

    def test_defaultTimeout(self) -> None:
        """
        Without a connect timeout, the endpoint has Twisted's default of 30 s.
        """
        self.assertEqual(self.endpointFor("ws://127.0.0.1/")._timeout, 30)


class Opened(WebSocketProtocol):
    """
    Fires C{lost} when the connection has ended.
    """

    def __init__(self) -> None:
        self.lost: defer.Deferred[None] = defer.Deferred()

    def connectionLost(self, reason: Any) -> None:
        self.lost.callback(None)


class LoopbackTests(TestCase):
    """
    Connections over loopback to an IP address, several at once.
    """

    def setUp(self) -> None:
        port = reactor.listenTCP(0, WebSocketServerFactory(WebSocketProtocol), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        self.url = f"ws://127.0.0.1:{port.getHost().port}/"

    @defer.inlineCallbacks
    def test_manyAtOnce(self) -> Any:
        """
        Twenty connections started at once all open, each with its own
        application, bound to the address asked for.
        """
        endpoint = WebSocketClientEndpoint.new(reactor, self.url, bindAddress="127.0.0.1",
                                               options=Options(pingInterval=None, openTimeout=WAIT))
        factory = WebSocketClientFactory(Opened)
        apps = yield defer.gatherResults([endpoint.connect(factory) for _ in range(20)])
        self.assertEqual(len({id(app) for app in apps}), 20)
        for app in apps:
            self.assertEqual(app.transport.getHost().host, "127.0.0.1")
            app.transport.loseConnection(1000)
        yield defer.gatherResults([app.lost for app in apps])

    @defer.inlineCallbacks
    def test_factoryQuiet(self) -> Any:
        """
        Connecting logs no line of Twisted's about starting or stopping a
        factory.
        """
        from twisted.logger import globalLogPublisher

        events: list[dict[str, Any]] = []
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)
        endpoint = WebSocketClientEndpoint.new(reactor, self.url, options=Options(openTimeout=WAIT))
        app = yield endpoint.connect(WebSocketClientFactory(Opened))
        app.transport.loseConnection(1000)
        yield app.lost
        self.assertTrue(events)
        formats = [str(e.get("log_format", "")) for e in events]
        self.assertEqual([f for f in formats if "factory" in f.lower()], [])

    @defer.inlineCallbacks
    def test_refused(self) -> Any:
        """
        A refused connection to an address fails the C{connect}.
        """
        from twisted.internet.error import ConnectionRefusedError

        port = reactor.listenTCP(0, WebSocketServerFactory(WebSocketProtocol), interface="127.0.0.1")
        number = port.getHost().port
        yield port.stopListening()
        endpoint = WebSocketClientEndpoint.new(reactor, f"ws://127.0.0.1:{number}/",
                                               options=Options(openTimeout=WAIT))
        yield self.assertFailure(endpoint.connect(WebSocketClientFactory(Opened)), ConnectionRefusedError)
