"""
Tests for the Twisted client (L{twisted_ws._client}): connecting over
loopback to the project's own server on every version, over TCP and TLS;
every way the connection can fail to open; redirects; and closing.
"""

from __future__ import annotations

import os
import re
from typing import Any

from twisted.internet import defer, endpoints, error, protocol, reactor
from twisted.internet.testing import MemoryReactorClock
from twisted.python.failure import Failure
from twisted.trial.unittest import SkipTest, SynchronousTestCase, TestCase
from zope.interface import implementer

from twisted_ws import (
    AbnormalClose,
    CleanClose,
    HandshakeRejected,
    InvalidURL,
    OpenTimeout,
    Options,
    RedirectError,
    RejectConnection,
    TLSError,
    Version,
    WebSocketClientEndpoint,
    WebSocketClientFactory,
    WebSocketProtocol,
    WebSocketServerFactory,
)
from twisted_ws.codec import (
    HandshakeError,
    InvalidAccept,
    InvalidChallenge,
    NegotiationError,
    PerMessageDeflate,
    acceptKey,
)

from ._support.certs import writeCertificate

ALL_VERSIONS = list(Version)
#: Seconds any single wait on loopback may take.
WAIT = 10


class Recorder(WebSocketProtocol):
    """
    A client application that records what it is told.
    """

    def __init__(self) -> None:
        self.events: list[Any] = []
        self.messages: list[Any] = []
        self.lost: defer.Deferred[Any] = defer.Deferred()
        self.message: defer.Deferred[Any] | None = None

    def negotiationStarted(self, transport: Any) -> None:
        super().negotiationStarted(transport)
        self.events.append("started")

    def negotiationFinished(self) -> None:
        self.events.append("finished")

    def textMessageReceived(self, message: str) -> None:
        self._got(message)

    def bytesMessageReceived(self, data: bytes) -> None:
        self._got(data)

    def _got(self, message: Any) -> None:
        self.messages.append(message)
        d, self.message = self.message, None
        if d is not None:
            d.callback(message)

    def nextMessage(self) -> defer.Deferred[Any]:
        """
        A Deferred that fires with the next message.
        """
        self.message = defer.Deferred()
        return self.message

    def connectionLost(self, reason: Failure) -> None:
        self.events.append("lost")
        self.lost.callback(reason.value)


class Echo(WebSocketProtocol):
    """
    A server application that echoes, and closes with 4000 on "close".
    """

    def textMessageReceived(self, message: str) -> None:
        if message == "close":
            self.loseConnection(4000, "asked to")
        else:
            self.sendTextMessage(message)

    def bytesMessageReceived(self, data: bytes) -> None:
        self.sendBytesMessage(data)


class TrustPolicy:
    """
    An C{IPolicyForHTTPS} that trusts one certificate.
    """

    def __init__(self, pem: bytes) -> None:
        self.pem = pem

    def creatorForNetloc(self, hostname: bytes, port: int) -> Any:
        from twisted.internet.ssl import Certificate, optionsForClientTLS

        return optionsForClientTLS(hostname.decode("ascii"), trustRoot=Certificate.loadPEM(self.pem))


class RawServer(protocol.Protocol):
    """
    A server that reads an opening request and answers it with what
    C{factory.answer(head)} returns (L{None}: no answer).
    """

    def connectionMade(self) -> None:
        self.buffer = b""
        self.factory.connections.append(self)

    def dataReceived(self, data: bytes) -> None:
        self.buffer += data
        factory = self.factory
        if factory.answered.get(self) or b"\r\n\r\n" not in self.buffer:
            if factory.answered.get(self):
                factory.after.append(data)
            return
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        factory.requests.append(head)
        if b"Sec-WebSocket-Key1" in head and len(rest) < 8:
            return
        factory.answered[self] = True
        answer = factory.answer(head.decode("iso-8859-1"), rest)
        if answer is not None:
            self.transport.write(answer)
            if factory.closeAfter:
                self.transport.loseConnection()

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        self.factory.lost.append(reason)


class RawFactory(protocol.Factory):
    """
    Builds L{RawServer}s that answer with C{answer}.
    """

    protocol = RawServer

    def __init__(self, answer: Any, closeAfter: bool = False) -> None:
        self.answer = answer
        self.closeAfter = closeAfter
        self.requests: list[bytes] = []
        self.connections: list[RawServer] = []
        self.answered: dict[Any, bool] = {}
        self.after: list[bytes] = []
        self.lost: list[Failure] = []


def header(head: str, name: str) -> str:
    match = re.search(rf"^{name}: *(.*?)\r?$", head, re.M | re.I)
    assert match is not None, f"no {name} in {head!r}"
    return match.group(1)


def acceptFor(head: str) -> str:
    return acceptKey(header(head, "Sec-WebSocket-Key"))


def switching(head: str, *extra: str) -> bytes:
    """
    A 101 answer to the RFC 6455 request C{head}, with C{extra} headers.
    """
    lines = [
        "HTTP/1.1 101 Switching Protocols",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Accept: {acceptFor(head)}",
        *extra,
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class LoopbackMixin:
    """
    Listening on loopback, and connecting a L{Recorder}.
    """

    timeout = 30

    def listen(self, factory: protocol.Factory, description: str = "tcp:0:interface=127.0.0.1") -> defer.Deferred[int]:
        d = endpoints.serverFromString(reactor, description).listen(factory)

        def listening(port: Any) -> int:
            self.addCleanup(port.stopListening)  # type: ignore[attr-defined]
            return port.getHost().port  # type: ignore[no-any-return]

        return d.addCallback(listening)

    def connect(self, url: str, **kwargs: Any) -> defer.Deferred[Recorder]:
        endpoint = WebSocketClientEndpoint.new(reactor, url, **kwargs)
        return endpoint.connect(WebSocketClientFactory(Recorder))

    async def failure(self, url: str, **kwargs: Any) -> BaseException:
        try:
            await self.connect(url, **kwargs)
        except Exception as e:
            return e
        raise AssertionError("connect succeeded")

    async def closed(self, client: Recorder) -> Any:
        return await client.lost


class OwnServerTests(LoopbackMixin, TestCase):
    """
    The client talks to the project's own server on every version, over
    TCP and over TLS.
    """

    async def talk(self, url: str, version: Version, **kwargs: Any) -> None:
        client = await self.connect(url, version=version, **kwargs)
        self.assertEqual(client.events, ["started", "finished"])
        self.assertIs(client.transport.version, version)
        for text in ("hello", "ünïcödé " * 50, "x" * 70000):
            received = client.nextMessage()
            client.sendTextMessage(text)
            self.assertEqual(await received, text)
        if not version.isHixie:
            received = client.nextMessage()
            client.sendBytesMessage(b"\x00\xff" * 100)
            self.assertEqual(await received, b"\x00\xff" * 100)
        client.loseConnection(1000, "done")
        closed = await client.lost
        self.assertIsInstance(closed, CleanClose)
        self.assertTrue(closed.wasClean)
        self.assertFalse(closed.closedByPeer)
        self.assertEqual(client.events[-1], "lost")

    async def test_everyVersionTCP(self) -> None:
        """
        Every version opens, carries text (and binary) both ways and closes
        cleanly over TCP, with a path and query in the URL.
        """
        port = await self.listen(WebSocketServerFactory(Echo))
        for version in ALL_VERSIONS:
            await self.talk(f"ws://127.0.0.1:{port}/echo?room=1", version)

    async def test_everyVersionTLS(self) -> None:
        """
        Every version works over wss:// with a certificate the client was
        told to trust, its host name verified.
        """
        keyPath, certPath, pem = writeCertificate(self.mktemp_dir(), ["localhost", "127.0.0.1"])
        port = await self.listen(
            WebSocketServerFactory(Echo),
            f"ssl:0:interface=127.0.0.1:privateKey={keyPath}:certKey={certPath}",
        )
        for version in ALL_VERSIONS:
            await self.talk(f"wss://127.0.0.1:{port}/", version, tlsPolicy=TrustPolicy(pem))

    async def test_tlsConnectionCreator(self) -> None:
        """
        An C{IOpenSSLClientConnectionCreator} may be given as the policy.
        """
        from twisted.internet.ssl import Certificate, optionsForClientTLS

        keyPath, certPath, pem = writeCertificate(self.mktemp_dir(), ["localhost", "127.0.0.1"])
        port = await self.listen(
            WebSocketServerFactory(Echo),
            f"ssl:0:interface=127.0.0.1:privateKey={keyPath}:certKey={certPath}",
        )
        creator = optionsForClientTLS("127.0.0.1", trustRoot=Certificate.loadPEM(pem))
        await self.talk(f"wss://127.0.0.1:{port}/", Version.RFC6455, tlsPolicy=creator)

    def mktemp_dir(self) -> str:
        path = self.mktemp()
        os.makedirs(path)
        return path

    async def test_serverCloses(self) -> None:
        """
        When the server closes, the client hears its code and reason, that
        the close was clean, and that the peer started it.
        """
        port = await self.listen(WebSocketServerFactory(Echo))
        for version in (Version.RFC6455, Version.HYBI07):
            client = await self.connect(f"ws://127.0.0.1:{port}/", version=version)
            client.sendTextMessage("close")
            closed = await client.lost
            self.assertIsInstance(closed, CleanClose)
            self.assertEqual((closed.code, closed.reason), (4000, "asked to"))
            self.assertTrue(closed.closedByPeer)

    async def test_requestHeaders(self) -> None:
        """
        The request carries Host with the port, the Origin, the offered
        subprotocols and the extra headers; the server's choice of
        subprotocol is the connection's.
        """

        class Choose(Echo):
            def requestReceived(self, request: Any) -> str:
                seen.append(request)
                return "chat.v2"

        seen: list[Any] = []
        port = await self.listen(WebSocketServerFactory(Choose))
        client = await self.connect(
            f"ws://127.0.0.1:{port}/room?id=7",
            origin="https://app.example",
            subprotocols=["chat.v2", "chat.v1"],
            headers=[("Cookie", "session=abc"), ("Authorization", "Bearer t0k")],
        )
        request = seen[0]
        self.assertEqual(request.target, "/room?id=7")
        self.assertEqual(request.header("host"), f"127.0.0.1:{port}")
        self.assertEqual(request.origin, "https://app.example")
        self.assertEqual(list(request.subprotocols), ["chat.v2", "chat.v1"])
        self.assertEqual(request.header("cookie"), "session=abc")
        self.assertEqual(request.header("authorization"), "Bearer t0k")
        self.assertEqual(client.transport.subprotocol, "chat.v2")
        client.loseConnection()
        await client.lost

    async def test_extensionNegotiated(self) -> None:
        """
        An extension offer the server accepts is in use on the connection,
        and messages pass through it.
        """
        options = Options(extensions=[PerMessageDeflate()])
        port = await self.listen(WebSocketServerFactory(Echo, options))
        client = await self.connect(f"ws://127.0.0.1:{port}/", options=options)
        self.assertEqual([e.name for e in client.transport.extensions], ["permessage-deflate"])
        received = client.nextMessage()
        client.sendTextMessage("compress me " * 100)
        self.assertEqual(await received, "compress me " * 100)
        client.loseConnection()
        await client.lost

    async def test_ipv6(self) -> None:
        """
        An IPv6 literal URL connects over ::1.
        """
        try:
            port = await self.listen(WebSocketServerFactory(Echo), "tcp6:0:interface=\\:\\:1")
        except error.CannotListenError as e:  # pragma: no cover - no IPv6 here
            raise SkipTest(f"no IPv6 loopback: {e}") from None
        client = await self.connect(f"ws://[::1]:{port}/")
        self.assertEqual(client.transport.getPeer().host, "::1")
        client.loseConnection()
        await client.lost

    async def test_awaitable(self) -> None:
        """
        The Deferred of connect fires with the application protocol, which
        the factory built with the URL.
        """
        urls: list[str] = []

        class Factory:
            def buildProtocol(self, url: str) -> Recorder:
                urls.append(url)
                return Recorder()

        port = await self.listen(WebSocketServerFactory(Echo))
        url = f"ws://127.0.0.1:{port}/"
        client = await WebSocketClientEndpoint.new(reactor, url).connect(Factory())
        self.assertIsInstance(client, Recorder)
        self.assertEqual(urls, [url])
        client.loseConnection()
        await client.lost

    async def test_agentEndpointFactory(self) -> None:
        """
        As with Twisted's client, the constructor takes an endpoint factory
        with C{endpointForURI}, given an http URI for ws:// (https for
        wss://) with the host and port.
        """
        from twisted.internet.endpoints import TCP4ClientEndpoint

        uris: list[Any] = []

        class AgentEndpointFactory:
            def endpointForURI(self, uri: Any) -> Any:
                uris.append(uri)
                return TCP4ClientEndpoint(reactor, uri.host.decode(), uri.port)

        port = await self.listen(WebSocketServerFactory(Echo))
        endpoint = WebSocketClientEndpoint(AgentEndpointFactory(), f"ws://127.0.0.1:{port}/p?q")
        client = await endpoint.connect(WebSocketClientFactory(Recorder))
        self.assertEqual(uris[0].toBytes(), b"http://127.0.0.1:%d/p?q" % port)
        client.loseConnection()
        await client.lost


class FailureTests(LoopbackMixin, TestCase):
    """
    Every way the connection can fail to open is a distinct exception on
    the Deferred of connect.
    """

    async def test_refused(self) -> None:
        """
        Nothing listening: ConnectionRefusedError.
        """
        listening = await endpoints.TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(
            protocol.Factory.forProtocol(protocol.Protocol)
        )
        port = listening.getHost().port
        await listening.stopListening()
        e = await self.failure(f"ws://127.0.0.1:{port}/")
        self.assertIsInstance(e, error.ConnectionRefusedError)

    async def test_rejected(self) -> None:
        """
        A non-101 answer: HandshakeRejected with its status, headers and
        body, and the application hears that the connection was lost.
        """

        class Refuse(Echo):
            def requestReceived(self, request: Any) -> None:
                raise RejectConnection(403, "no entry for you", (("X-Why", "testing"),))

        port = await self.listen(WebSocketServerFactory(Refuse))
        e = await self.failure(f"ws://127.0.0.1:{port}/")
        self.assertIsInstance(e, HandshakeRejected)
        assert isinstance(e, HandshakeRejected)
        self.assertEqual(e.status, 403)
        self.assertEqual(e.header("x-why"), "testing")
        self.assertIn(b"no entry for you", e.body)
        self.assertIn("403", str(e))
        self.assertIn("no entry for you", str(e))

    async def test_rejectedBodyBounded(self) -> None:
        """
        The body kept from a refusal is bounded, however long it is.
        """
        body = b"x" * 100000
        answer = b"HTTP/1.1 500 Oops\r\nContent-Length: %d\r\n\r\n" % len(body) + body
        port = await self.listen(RawFactory(lambda head, rest: answer))
        e = await self.failure(f"ws://127.0.0.1:{port}/")
        assert isinstance(e, HandshakeRejected)
        self.assertEqual(e.status, 500)
        self.assertEqual(e.body, b"x" * 4096)

    async def test_rejectedBodyUntilEnd(self) -> None:
        """
        Without Content-Length the body is read until the server ends the
        connection.
        """
        answer = b"HTTP/1.0 404 Not Found\r\n\r\nnothing here"
        port = await self.listen(RawFactory(lambda head, rest: answer, closeAfter=True))
        e = await self.failure(f"ws://127.0.0.1:{port}/")
        assert isinstance(e, HandshakeRejected)
        self.assertEqual((e.status, e.body), (404, b"nothing here"))

    async def test_badAccept(self) -> None:
        """
        A wrong Sec-WebSocket-Accept: the codec's InvalidAccept.
        """
        answer = (
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
        )
        port = await self.listen(RawFactory(lambda head, rest: answer))
        e = await self.failure(f"ws://127.0.0.1:{port}/")
        self.assertIsInstance(e, InvalidAccept)

    async def test_badChallenge(self) -> None:
        """
        A wrong hixie-76 challenge answer: the codec's InvalidChallenge.
        """

        def answer(head: str, rest: bytes) -> bytes:
            lines = [
                "HTTP/1.1 101 WebSocket Protocol Handshake",
                "Upgrade: WebSocket",
                "Connection: Upgrade",
                f"Sec-WebSocket-Origin: {header(head, 'Origin')}",
                f"Sec-WebSocket-Location: ws://{header(head, 'Host')}/",
            ]
            return ("\r\n".join(lines) + "\r\n\r\n").encode() + b"0123456789abcdef"

        port = await self.listen(RawFactory(answer))
        e = await self.failure(f"ws://127.0.0.1:{port}/", version=Version.HIXIE76)
        self.assertIsInstance(e, InvalidChallenge)

    async def test_subprotocolNotOffered(self) -> None:
        """
        A subprotocol the client did not offer: NegotiationError.
        """
        port = await self.listen(
            RawFactory(lambda head, rest: switching(head, "Sec-WebSocket-Protocol: other"))
        )
        e = await self.failure(f"ws://127.0.0.1:{port}/", subprotocols=["chat"])
        self.assertIsInstance(e, NegotiationError)
        self.assertIn("'other'", str(e))

    async def test_extensionNotOffered(self) -> None:
        """
        An extension the client did not offer: NegotiationError.
        """
        port = await self.listen(
            RawFactory(lambda head, rest: switching(head, "Sec-WebSocket-Extensions: permessage-deflate"))
        )
        e = await self.failure(f"ws://127.0.0.1:{port}/")
        self.assertIsInstance(e, NegotiationError)
        self.assertIn("permessage-deflate", str(e))

    async def test_openTimeout(self) -> None:
        """
        A server that never answers: OpenTimeout after Options.openTimeout,
        and the TCP connection is dropped.
        """
        factory = RawFactory(lambda head, rest: None)
        port = await self.listen(factory)
        e = await self.failure(f"ws://127.0.0.1:{port}/", options=Options(openTimeout=0.3))
        self.assertIsInstance(e, OpenTimeout)
        self.assertIsInstance(e, TimeoutError)
        self.assertEqual(len(factory.requests), 1)

    async def test_endedDuringHandshake(self) -> None:
        """
        A server that ends the connection without answering: a
        HandshakeError saying so.
        """
        port = await self.listen(RawFactory(lambda head, rest: b"", closeAfter=True))
        e = await self.failure(f"ws://127.0.0.1:{port}/")
        self.assertIsInstance(e, HandshakeError)
        self.assertIn("ended during the opening handshake", str(e))

    async def test_untrustedCertificate(self) -> None:
        """
        wss:// verifies the certificate by default: a self-signed one fails
        with TLSError.
        """
        directory = self.mktemp()
        os.makedirs(directory)
        keyPath, certPath, pem = writeCertificate(directory, ["localhost", "127.0.0.1"])
        port = await self.listen(
            WebSocketServerFactory(Echo),
            f"ssl:0:interface=127.0.0.1:privateKey={keyPath}:certKey={certPath}",
        )
        e = await self.failure(f"wss://127.0.0.1:{port}/")
        self.assertIsInstance(e, TLSError)
        self.assertIn("certificate verify failed", str(e))

    async def test_wrongHostName(self) -> None:
        """
        A trusted certificate that does not name the host: TLSError.
        """
        directory = self.mktemp()
        os.makedirs(directory)
        keyPath, certPath, pem = writeCertificate(directory, ["other.example"])
        port = await self.listen(
            WebSocketServerFactory(Echo),
            f"ssl:0:interface=127.0.0.1:privateKey={keyPath}:certKey={certPath}",
        )
        e = await self.failure(f"wss://127.0.0.1:{port}/", tlsPolicy=TrustPolicy(pem))
        self.assertIsInstance(e, TLSError)
        self.assertIn("127.0.0.1", str(e))

    async def test_notTLS(self) -> None:
        """
        wss:// to a server that answers in plain HTTP: TLSError.
        """

        class PlainHTTP(protocol.Protocol):
            def dataReceived(self, data: bytes) -> None:
                self.transport.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                self.transport.loseConnection()

        port = await self.listen(protocol.Factory.forProtocol(PlainHTTP))
        e = await self.failure(f"wss://127.0.0.1:{port}/")
        self.assertIsInstance(e, TLSError)

    async def test_cancel(self) -> None:
        """
        Cancelling the Deferred of connect drops the connection: CancelledError.
        """
        factory = RawFactory(lambda head, rest: None)
        port = await self.listen(factory)
        d = self.connect(f"ws://127.0.0.1:{port}/")
        while not factory.requests:
            await deferLater(0.01)
        d.cancel()
        try:
            await d
        except defer.CancelledError:
            pass
        else:  # pragma: no cover
            self.fail("not cancelled")
        while not factory.lost:
            await deferLater(0.01)

    def test_invalidURL(self) -> None:
        """
        A URL that is not a WebSocket URL is refused when the endpoint is
        made.
        """
        self.assertRaises(InvalidURL, WebSocketClientEndpoint.new, reactor, "http://h/")

    def test_invalidArguments(self) -> None:
        """
        Arguments the request cannot carry are refused when the endpoint is
        made.
        """
        self.assertRaises(
            ValueError, WebSocketClientEndpoint.new, reactor, "ws://h/", version="hixie-76",
            subprotocols=["a", "b"],
        )
        self.assertRaises(ValueError, WebSocketClientEndpoint.new, reactor, "ws://h/", version="hybi-99")


def deferLater(seconds: float) -> defer.Deferred[None]:
    from twisted.internet import task

    return task.deferLater(reactor, seconds, lambda: None)


class MemoryTests(SynchronousTestCase):
    """
    Failures before any TCP connection, on a memory reactor.
    """

    def test_dnsFailure(self) -> None:
        """
        A name that does not resolve: DNSLookupError.
        """
        from twisted.internet.interfaces import IHostnameResolver

        @implementer(IHostnameResolver)
        class NoResults:
            def resolveHostName(self, receiver: Any, hostName: str, *args: Any, **kw: Any) -> Any:
                receiver.resolutionBegan(None)
                receiver.resolutionComplete()

        memory = MemoryReactorClock()
        memory.nameResolver = NoResults()  # type: ignore[assignment]
        d = WebSocketClientEndpoint.new(memory, "ws://nowhere.invalid/").connect(WebSocketClientFactory(Recorder))
        f = self.failureResultOf(d, error.DNSLookupError)
        self.assertIn("nowhere.invalid", str(f.value))

    def test_openTimeoutCoversTCPConnect(self) -> None:
        """
        The open timeout runs from the start of the TCP connection attempt.
        """
        memory = MemoryReactorClock()
        endpoint = WebSocketClientEndpoint.new(
            memory, "ws://127.0.0.1:9/", options=Options(openTimeout=5.0)
        )
        d = endpoint.connect(WebSocketClientFactory(Recorder))
        self.assertEqual(len(memory.tcpClients), 1)
        self.assertNoResult(d)
        memory.advance(5.0)
        self.failureResultOf(d, OpenTimeout)


class RedirectTests(LoopbackMixin, TestCase):
    """
    Redirects are followed, up to a limit, never from wss:// to ws://.
    """

    async def test_followed(self) -> None:
        """
        301, 302, 303, 307 and 308 with a Location lead to the new URL, with
        Host recomputed; the application hears no connectionLost for the
        redirect's hop.
        """
        target = await self.listen(WebSocketServerFactory(Echo))
        for status in (301, 302, 303, 307, 308):
            answer = b"HTTP/1.1 %d Moved\r\nLocation: ws://localhost:%d/new\r\nContent-Length: 0\r\n\r\n" % (
                status,
                target,
            )
            redirector = RawFactory(lambda head, rest, answer=answer: answer)
            port = await self.listen(redirector)
            client = await self.connect(f"ws://127.0.0.1:{port}/old")
            # Told of each TCP connection, and of the handshake's end once.
            self.assertEqual(client.events, ["started", "started", "finished"])
            self.assertIn(b"GET /old ", redirector.requests[0])
            received = client.nextMessage()
            client.sendTextMessage("hi")
            self.assertEqual(await received, "hi")
            client.loseConnection()
            await client.lost

    async def test_relativeLocation(self) -> None:
        """
        A relative Location is resolved against the current URL.
        """
        seen: list[str] = []

        def answer(head: str, rest: bytes) -> bytes:
            seen.append(head.split(" ")[1])
            if head.startswith("GET /a "):
                return b"HTTP/1.1 307 Elsewhere\r\nLocation: /b?x=1\r\nContent-Length: 0\r\n\r\n"
            return switching(head)

        port = await self.listen(RawFactory(answer))
        client = await self.connect(f"ws://127.0.0.1:{port}/a")
        self.assertEqual(seen, ["/a", "/b?x=1"])
        client.transport.transport.abortConnection()
        await client.lost

    async def test_loop(self) -> None:
        """
        A redirect back to a URL already visited ends with RedirectError.
        """
        port = await self.listen(
            RawFactory(lambda head, rest: b"HTTP/1.1 302 Found\r\nLocation: /\r\nContent-Length: 0\r\n\r\n")
        )
        e = await self.failure(f"ws://127.0.0.1:{port}/")
        self.assertIsInstance(e, RedirectError)
        self.assertIn("loop", str(e))

    async def test_limit(self) -> None:
        """
        More redirects than maxRedirects end with RedirectError.
        """

        def answer(head: str, rest: bytes) -> bytes:
            n = int(head.split(" ")[1].strip("/") or 0)
            return b"HTTP/1.1 302 Found\r\nLocation: /%d\r\nContent-Length: 0\r\n\r\n" % (n + 1)

        factory = RawFactory(answer)
        port = await self.listen(factory)
        e = await self.failure(f"ws://127.0.0.1:{port}/", maxRedirects=3)
        self.assertIsInstance(e, RedirectError)
        self.assertIn("more than 3 redirects", str(e))
        self.assertEqual(len(factory.requests), 4)

    async def test_noDowngrade(self) -> None:
        """
        A redirect from wss:// to ws:// is not followed.
        """
        directory = self.mktemp()
        os.makedirs(directory)
        keyPath, certPath, pem = writeCertificate(directory, ["127.0.0.1"])
        answer = b"HTTP/1.1 302 Found\r\nLocation: ws://127.0.0.1:1/\r\nContent-Length: 0\r\n\r\n"
        port = await self.listen(
            RawFactory(lambda head, rest: answer),
            f"ssl:0:interface=127.0.0.1:privateKey={keyPath}:certKey={certPath}",
        )
        e = await self.failure(f"wss://127.0.0.1:{port}/", tlsPolicy=TrustPolicy(pem))
        self.assertIsInstance(e, RedirectError)
        self.assertIn("wss:// to ws://", str(e))

    async def test_withoutLocation(self) -> None:
        """
        A redirect status without Location is a HandshakeRejected.
        """
        port = await self.listen(RawFactory(lambda head, rest: b"HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n"))
        e = await self.failure(f"ws://127.0.0.1:{port}/")
        self.assertIsInstance(e, HandshakeRejected)

    async def test_disabled(self) -> None:
        """
        With maxRedirects=0 the first redirect is an error.
        """
        answer = b"HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n"
        port = await self.listen(RawFactory(lambda head, rest: answer))
        e = await self.failure(f"ws://127.0.0.1:{port}/", maxRedirects=0)
        self.assertIsInstance(e, RedirectError)


class CloseTests(LoopbackMixin, TestCase):
    """
    The client's closing handshake (RFC 6455 section 7.1.1): it waits for
    the server to end TCP, within the close timeout.
    """

    async def test_serverNeverEndsTCP(self) -> None:
        """
        A server that answers the close frame but keeps TCP open: the client
        ends TCP itself after the close timeout, and the close was clean.
        """

        def answer(head: str, rest: bytes) -> bytes:
            return switching(head)

        factory = RawFactory(answer)
        port = await self.listen(factory)
        client = await self.connect(f"ws://127.0.0.1:{port}/", options=Options(closeTimeout=0.3))
        client.loseConnection(1001, "leaving")
        while not factory.after:
            await deferLater(0.01)
        server = factory.connections[0]
        # An unmasked close frame with code 1001 in answer.
        server.transport.write(b"\x88\x02\x03\xe9")
        closed = await client.lost
        self.assertIsInstance(closed, CleanClose)
        self.assertEqual(closed.code, 1001)
        frame = b"".join(factory.after)
        self.assertEqual(frame[0], 0x88)
        self.assertTrue(frame[1] & 0x80, "client frames are masked")

    async def test_serverNeverAnswers(self) -> None:
        """
        A server that never answers the close frame: after the close
        timeout the client drops TCP and reports an abnormal close.
        """
        port = await self.listen(RawFactory(lambda head, rest: switching(head)))
        client = await self.connect(f"ws://127.0.0.1:{port}/", options=Options(closeTimeout=0.3))
        client.loseConnection(1000)
        closed = await client.lost
        self.assertIsInstance(closed, AbnormalClose)
        self.assertFalse(closed.wasClean)

    async def test_waitsForServerEnd(self) -> None:
        """
        After the closing handshake the client leaves ending TCP to the
        server: the server sees the end coming from its own side.
        """
        ends: list[Any] = []

        class Server(Echo):
            def connectionLost(self, reason: Failure) -> None:
                ends.append(reason.value)

        port = await self.listen(WebSocketServerFactory(Server))
        client = await self.connect(f"ws://127.0.0.1:{port}/")
        client.loseConnection(1000, "bye")
        closed = await client.lost
        self.assertIsInstance(closed, CleanClose)
        self.assertEqual(closed.code, 1000)
        while not ends:
            await deferLater(0.01)
        self.assertIsInstance(ends[0], CleanClose)
        self.assertTrue(ends[0].closedByPeer)



class ScriptedServerTests(SynchronousTestCase):
    """
    The client against the codec's server on a L{StringTransport}, bytes
    fed one at a time, time on the memory reactor's clock.
    """

    def setUp(self) -> None:
        from twisted.internet.testing import StringTransport

        from twisted_ws.codec import ServerConnection

        self.clock = MemoryReactorClock()
        self.protocol: Any = None
        self.transport = StringTransport()
        self.server = ServerConnection(Options(), secure=False)
        test = self

        class Endpoint:
            def connect(self, factory: Any) -> defer.Deferred[Any]:
                p = factory.buildProtocol(None)
                test.protocol = p
                p.makeConnection(test.transport)
                return defer.succeed(p)

        class EndpointFactory:
            reactor = self.clock

            def endpointForURL(self, url: Any) -> Endpoint:
                return Endpoint()

        self.EndpointFactory = EndpointFactory

    def test_byteByByte(self) -> None:
        """
        Every version opens with the answer fed one byte at a time, and a
        message that follows the answer in the same bytes is delivered.
        """
        for version in ALL_VERSIONS:
            self.setUp()
            d = self._openWithMessage(version)
            client = self.successResultOf(d)
            self.assertEqual(client.messages, ["first"])
            self.assertEqual(client.events, ["started", "finished"])

    def _openWithMessage(self, version: Version) -> defer.Deferred[Any]:
        endpoint = WebSocketClientEndpoint(self.EndpointFactory(), "ws://device.test/ws", version=version)
        d = endpoint.connect(WebSocketClientFactory(Recorder))
        request = self.transport.value()
        self.transport.clear()
        self.server.receiveData(request)
        self.server.accept(None)
        self.server.sendTextMessage("first")
        answer = self.server.dataToSend()
        for i in range(len(answer)):
            self.protocol.dataReceived(answer[i : i + 1])
        return d

    def test_closeWaitsForServerThenTimesOut(self) -> None:
        """
        After the closing handshake the client does not end TCP at once; it
        does after the close timeout, and the close is still clean.
        """
        endpoint = WebSocketClientEndpoint(
            self.EndpointFactory(), "ws://device.test/ws", options=Options(closeTimeout=2.0)
        )
        d = endpoint.connect(WebSocketClientFactory(Recorder))
        self.server.receiveData(self.transport.value())
        self.transport.clear()
        self.server.accept(None)
        self.protocol.dataReceived(self.server.dataToSend())
        client = self.successResultOf(d)
        client.loseConnection(4001, "client done")
        events = self.server.receiveData(self.transport.value())
        self.assertEqual([(e.code, e.reason) for e in events if hasattr(e, "code")], [(4001, "client done")])
        self.protocol.dataReceived(self.server.dataToSend())
        self.assertFalse(self.transport.disconnecting)
        self.clock.advance(2.0)
        self.assertTrue(self.transport.disconnecting)
        self.protocol.connectionLost(Failure(error.ConnectionDone()))
        closed = self.successResultOf(client.lost)
        self.assertIsInstance(closed, CleanClose)
        self.assertEqual(closed.code, 4001)
