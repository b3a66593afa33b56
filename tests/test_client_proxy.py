"""
Tests for the client through an HTTP CONNECT proxy (L{twisted_ws._proxy}):
the choice of proxy from the environment, and connections through a small
proxy written for these tests, on loopback.
"""

from __future__ import annotations

import base64
import os
from typing import Any

from twisted.internet import defer, endpoints, error, protocol, reactor
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase

from twisted_ws import (
    CleanClose,
    WebSocketClientEndpoint,
    WebSocketClientFactory,
    WebSocketProtocol,
    WebSocketServerFactory,
)
from twisted_ws._proxy import ProxyError, parseProxyURL, proxyFromEnvironment
from twisted_ws._url import parseURL

from ._support.certs import writeCertificate


class EnvironmentTests(SynchronousTestCase):
    """
    L{proxyFromEnvironment} reads the usual variables.
    """

    def proxy(self, url: str, **environ: str) -> Any:
        found = proxyFromEnvironment(parseURL(url), environ)
        return None if found is None else (found.host, found.port)

    def test_schemes(self) -> None:
        """
        ws:// uses http_proxy, wss:// https_proxy, both fall back on
        all_proxy.
        """
        env = {"http_proxy": "http://p1:3128", "https_proxy": "http://p2:3129"}
        self.assertEqual(self.proxy("ws://example.com/", **env), ("p1", 3128))
        self.assertEqual(self.proxy("wss://example.com/", **env), ("p2", 3129))
        self.assertEqual(self.proxy("wss://example.com/", all_proxy="p3:8080"), ("p3", 8080))
        self.assertIsNone(self.proxy("ws://example.com/"))

    def test_upperCase(self) -> None:
        """
        Upper-case names work too; lower case wins.
        """
        self.assertEqual(self.proxy("ws://e.com/", HTTP_PROXY="http://up:1"), ("up", 1))
        self.assertEqual(self.proxy("ws://e.com/", HTTP_PROXY="http://up:1", http_proxy="http://low:2"), ("low", 2))

    def test_noProxy(self) -> None:
        """
        no_proxy names hosts, domain suffixes (with or without a dot), ports,
        and * for everything.
        """
        env = {"http_proxy": "http://p:1"}
        for noProxy in ("example.com", ".example.com", "other, example.com", "*", "sub.example.com:80"):
            self.assertIsNone(self.proxy("ws://sub.example.com/", no_proxy=noProxy, **env), noProxy)
        for noProxy in ("ample.com", "sub.example.com:81", "other.org"):
            self.assertIsNotNone(self.proxy("ws://sub.example.com/", NO_PROXY=noProxy, **env), noProxy)

    def test_loopbackNeverProxied(self) -> None:
        """
        Loopback hosts never go through a proxy.
        """
        for url in ("ws://127.0.0.1:9/", "ws://[::1]/", "ws://localhost/"):
            self.assertIsNone(self.proxy(url, all_proxy="http://p:1"))

    def test_credentials(self) -> None:
        """
        User information becomes a Basic Proxy-Authorization, percent
        escapes decoded.
        """
        proxy = parseProxyURL("http://al%40ice:s%3Acret@p:3128")
        self.assertEqual(proxy.authorization, "Basic " + base64.b64encode(b"al@ice:s:cret").decode())
        self.assertIsNone(parseProxyURL("http://p:3128").authorization)
        self.assertEqual(parseProxyURL("p").port, 80)

    def test_badProxyURL(self) -> None:
        """
        Only http:// proxies are supported; others are refused clearly.
        """
        e = self.assertRaises(ValueError, parseProxyURL, "socks5://p:1080")
        self.assertIn("only http://", str(e))
        self.assertRaises(ValueError, parseProxyURL, "http://:80")
        self.assertRaises(ValueError, WebSocketClientEndpoint.new, reactor, "ws://h/", proxy="https://p/")


def certificate(directory: str) -> tuple[str, str, Any]:
    """
    Write a key and a self-signed certificate for 127.0.0.1 into
    C{directory}; return their paths and a TLS policy that trusts it.
    """
    from twisted.internet.ssl import Certificate, optionsForClientTLS

    os.makedirs(directory)
    keyPath, certPath, pem = writeCertificate(directory, ["127.0.0.1"])
    return keyPath, certPath, optionsForClientTLS("127.0.0.1", trustRoot=Certificate.loadPEM(pem))


class Relay(protocol.Protocol):
    """
    One side of the test proxy's tunnel, writing what it gets to its peer.
    """

    def __init__(self, peer: Any) -> None:
        self.peer = peer

    def connectionMade(self) -> None:
        self.peer.relayReady(self)

    def dataReceived(self, data: bytes) -> None:
        self.peer.transport.write(data)

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        self.peer.transport.loseConnection()


class Proxy(protocol.Protocol):
    """
    A small HTTP CONNECT proxy, for these tests only.
    """

    def connectionMade(self) -> None:
        self.buffer = b""
        self.relay: Any = None

    def dataReceived(self, data: bytes) -> None:
        if self.relay is not None:
            self.relay.transport.write(data)
            return
        self.buffer += data
        if b"\r\n\r\n" not in self.buffer:
            return
        head, _, self.rest = self.buffer.partition(b"\r\n\r\n")
        self.buffer = b""
        factory = self.factory
        factory.requests.append(head)
        lines = head.decode().split("\r\n")
        method, target, _ = lines[0].split(" ")
        headers = dict(line.split(": ", 1) for line in lines[1:])
        if factory.refuse:
            self.transport.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            self.transport.loseConnection()
            return
        if factory.credentials is not None and headers.get("Proxy-Authorization") != factory.credentials:
            self.transport.write(
                b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n"
                b"Content-Length: 0\r\n\r\n"
            )
            self.transport.loseConnection()
            return
        host, _, port = target.rpartition(":")
        endpoint = endpoints.TCP4ClientEndpoint(reactor, host.strip("[]"), int(port))
        endpoint.connect(protocol.Factory.forProtocol(lambda: Relay(self))).addErrback(
            lambda f: self.transport.write(b"HTTP/1.1 502 Bad Gateway\r\n\r\n")
        )

    def relayReady(self, relay: Relay) -> None:
        self.relay = relay
        self.transport.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        if self.rest:
            relay.transport.write(self.rest)

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        if self.relay is not None:
            self.relay.transport.loseConnection()


class ProxyFactory(protocol.Factory):
    protocol = Proxy

    def __init__(self, credentials: str | None = None, refuse: bool = False) -> None:
        self.credentials = credentials
        self.refuse = refuse
        self.requests: list[bytes] = []


class Echo(WebSocketProtocol):
    def textMessageReceived(self, message: str) -> None:
        self.sendTextMessage(message)


class Client(WebSocketProtocol):
    def __init__(self) -> None:
        self.waiting: defer.Deferred[Any] | None = None
        self.lost: defer.Deferred[Any] = defer.Deferred()

    def textMessageReceived(self, message: str) -> None:
        d, self.waiting = self.waiting, None
        if d is not None:
            d.callback(message)

    def connectionLost(self, reason: Failure) -> None:
        self.lost.callback(reason.value)


class TunnelTests(TestCase):
    """
    Connections through the test proxy.
    """

    timeout = 30

    async def listen(self, factory: Any, description: str = "tcp:0:interface=127.0.0.1") -> int:
        port = await endpoints.serverFromString(reactor, description).listen(factory)
        self.addCleanup(port.stopListening)
        return port.getHost().port  # type: ignore[no-any-return]

    async def roundTrip(self, url: str, **kwargs: Any) -> None:
        client: Client = await WebSocketClientEndpoint.new(reactor, url, **kwargs).connect(
            WebSocketClientFactory(Client)
        )
        client.waiting = defer.Deferred()
        client.sendTextMessage("through the tunnel")
        self.assertEqual(await client.waiting, "through the tunnel")
        client.loseConnection()
        self.assertIsInstance(await client.lost, CleanClose)

    async def test_plain(self) -> None:
        """
        ws:// through the proxy: CONNECT to the target's host and port.
        """
        target = await self.listen(WebSocketServerFactory(Echo))
        proxy = ProxyFactory()
        proxyPort = await self.listen(proxy)
        await self.roundTrip(f"ws://127.0.0.1:{target}/", proxy=f"http://127.0.0.1:{proxyPort}")
        self.assertTrue(proxy.requests[0].startswith(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n" % target))

    async def test_secure(self) -> None:
        """
        wss:// through the proxy does TLS with the target inside the tunnel.
        """
        keyPath, certPath, policy = certificate(self.mktemp())
        target = await self.listen(
            WebSocketServerFactory(Echo), f"ssl:0:interface=127.0.0.1:privateKey={keyPath}:certKey={certPath}"
        )
        proxy = ProxyFactory()
        proxyPort = await self.listen(proxy)
        await self.roundTrip(f"wss://127.0.0.1:{target}/", proxy=f"127.0.0.1:{proxyPort}", tlsPolicy=policy)
        self.assertEqual(len(proxy.requests), 1)

    async def test_authentication(self) -> None:
        """
        Credentials in the proxy URL are sent as Basic Proxy-Authorization.
        """
        target = await self.listen(WebSocketServerFactory(Echo))
        proxy = ProxyFactory(credentials="Basic " + base64.b64encode(b"user:pw").decode())
        proxyPort = await self.listen(proxy)
        await self.roundTrip(f"ws://127.0.0.1:{target}/", proxy=f"http://user:pw@127.0.0.1:{proxyPort}")

    async def failure(self, url: str, **kwargs: Any) -> BaseException:
        try:
            await WebSocketClientEndpoint.new(reactor, url, **kwargs).connect(WebSocketClientFactory(Client))
        except Exception as e:
            return e
        raise AssertionError("connected")

    async def test_407(self) -> None:
        """
        A proxy that wants credentials: ProxyError with status 407, saying
        how to give them.
        """
        proxyPort = await self.listen(ProxyFactory(credentials="Basic x"))
        e = await self.failure("ws://127.0.0.1:9/", proxy=f"http://127.0.0.1:{proxyPort}")
        self.assertIsInstance(e, ProxyError)
        assert isinstance(e, ProxyError)
        self.assertEqual(e.status, 407)
        self.assertIn("user:password@", str(e))

    async def test_forbidden(self) -> None:
        """
        A proxy that refuses the tunnel: ProxyError with its status.
        """
        proxyPort = await self.listen(ProxyFactory(refuse=True))
        e = await self.failure("ws://127.0.0.1:9/", proxy=f"http://127.0.0.1:{proxyPort}")
        assert isinstance(e, ProxyError)
        self.assertEqual(e.status, 403)
        self.assertIn("403 Forbidden", str(e))

    async def test_proxyRefused(self) -> None:
        """
        A proxy that is not listening: ConnectionRefusedError.
        """
        listening = await endpoints.TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(
            protocol.Factory.forProtocol(protocol.Protocol)
        )
        port = listening.getHost().port
        await listening.stopListening()
        e = await self.failure("ws://127.0.0.1:9/", proxy=f"http://127.0.0.1:{port}")
        self.assertIsInstance(e, error.ConnectionRefusedError)

    async def test_fromEnvironment(self) -> None:
        """
        Without a proxy argument the proxy the environment names is used,
        for a host that is not loopback.
        """
        proxy = ProxyFactory(refuse=True)
        proxyPort = await self.listen(proxy)
        self.patch(os, "environ", {"http_proxy": f"http://127.0.0.1:{proxyPort}"})
        e = await self.failure("ws://ws.example.test/")
        self.assertIsInstance(e, ProxyError)
        self.assertTrue(proxy.requests[0].startswith(b"CONNECT ws.example.test:80 "))
