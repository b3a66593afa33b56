"""
Tests for the C{ws:} and C{wss:} client endpoint strings (the plugin in
C{twisted/plugins/twisted_ws_endpoints.py} and L{twisted_ws._endpointstring}).
"""

from __future__ import annotations

from typing import Any

from twisted.internet import defer, endpoints, protocol, reactor
from twisted.internet.endpoints import clientFromString
from twisted.internet.interfaces import IStreamClientEndpoint
from twisted.protocols.basic import LineReceiver
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase

from twisted_ws import Version, WrappingWebSocketFactory
from twisted_ws._endpointstring import WebSocketStreamEndpoint


class ParseTests(SynchronousTestCase):
    """
    C{clientFromString} understands the C{ws:} and C{wss:} prefixes.
    """

    def parse(self, description: str) -> Any:
        endpoint = clientFromString(reactor, description)
        self.assertIsInstance(endpoint, WebSocketStreamEndpoint)
        self.assertTrue(IStreamClientEndpoint.providedBy(endpoint))
        return endpoint.endpoint

    def test_hostPortPath(self) -> None:
        """
        C{ws:HOST:PORT:path=...} is ws://HOST:PORT/path.
        """
        inner = self.parse("ws:example.com:8080:path=/chat?room=1")
        self.assertEqual(inner.url, "ws://example.com:8080/chat?room=1")

    def test_secure(self) -> None:
        """
        C{wss:} is TLS; without a port, the default.
        """
        inner = self.parse("wss:example.com")
        self.assertEqual((inner.parsedURL.secure, inner.parsedURL.port), (True, 443))

    def test_ipv6(self) -> None:
        """
        An IPv6 host, its colons escaped, becomes a bracketed literal.
        """
        inner = self.parse(r"ws:\:\:1:9000")
        self.assertEqual(inner.url, "ws://[::1]:9000/")

    def test_url(self) -> None:
        """
        C{url=} takes a whole URL, whose scheme decides TLS.
        """
        inner = self.parse(r"ws:url=wss\://h\:8443/x")
        self.assertEqual(inner.url, "wss://h:8443/x")
        self.assertTrue(inner.parsedURL.secure)

    def test_options(self) -> None:
        """
        version, origin, subprotocols and openTimeout are passed on.
        """
        inner = self.parse(
            r"ws:h:80:version=hybi-07:origin=http\://o.example:subprotocols=a,b:openTimeout=3"
        )
        self.assertIs(inner.version, Version.HYBI07)
        self.assertEqual(inner.origin, "http://o.example")
        self.assertEqual(inner.subprotocols, ("a", "b"))
        self.assertEqual(inner.options.openTimeout, 3.0)

    def test_subprotocols(self) -> None:
        """
        subprotocols is a comma-separated list.
        """
        self.assertEqual(self.parse("ws:h:subprotocols=chat, json").subprotocols, ("chat", "json"))

    def test_unknownOption(self) -> None:
        """
        An unknown option is refused by name.
        """
        e = self.assertRaises(ValueError, clientFromString, reactor, "ws:h:80:colour=blue")
        self.assertIn("colour", str(e))

    def test_noHost(self) -> None:
        """
        A string with neither host nor url is refused.
        """
        self.assertRaises(ValueError, clientFromString, reactor, "ws:path=/x")

    def test_both(self) -> None:
        """
        A host and a url together are refused.
        """
        self.assertRaises(ValueError, clientFromString, reactor, r"ws:h:url=ws\://h/")

    def test_badURL(self) -> None:
        """
        A URL that is not a WebSocket URL is refused.
        """
        self.assertRaises(ValueError, clientFromString, reactor, r"ws:url=http\://h/")


class Lines(LineReceiver):
    """
    A line protocol that records lines and answers "ping" with "pong".
    """

    delimiter = b"\n"

    def connectionMade(self) -> None:
        self.lines: list[bytes] = []
        self.lost: defer.Deferred[Any] = defer.Deferred()
        self.waiting: defer.Deferred[Any] | None = None

    def lineReceived(self, line: bytes) -> None:
        if line == b"ping":
            self.sendLine(b"pong")
            return
        self.lines.append(line)
        d, self.waiting = self.waiting, None
        if d is not None:
            d.callback(line)

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        if hasattr(self, "lost"):
            self.lost.callback(reason.value)


class LoopbackTests(TestCase):
    """
    A stream protocol runs over the endpoint against a wrapping server.
    """

    timeout = 30

    async def test_lines(self) -> None:
        """
        Lines go both ways over each version, and losing the connection
        closes the WebSocket connection.
        """
        port = await endpoints.serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(
            WrappingWebSocketFactory(protocol.Factory.forProtocol(Lines))
        )
        self.addCleanup(port.stopListening)
        number = port.getHost().port
        for version in ("rfc6455", "hixie-76"):
            endpoint = clientFromString(reactor, f"ws:127.0.0.1:{number}:version={version}")
            client = await endpoint.connect(protocol.Factory.forProtocol(Lines))
            client.waiting = defer.Deferred()
            client.sendLine(b"ping")
            self.assertEqual(await client.waiting, b"pong")
            client.transport.loseConnection()
            await client.lost
