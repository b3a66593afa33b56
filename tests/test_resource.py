"""
Tests for L{WebSocketResource}: WebSocket of every version on one path of a
C{twisted.web} L{Site}, next to ordinary pages, over L{StringTransport}
(with C{Site.buildProtocol}) and over real TCP on 127.0.0.1.
"""

from __future__ import annotations

import gc
import socket
import weakref
from typing import Any

from twisted.internet import defer, reactor, task, threads
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import ISSLTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.resource import Resource
from twisted.web.server import Request, Site
from twisted.web.static import Data
from zope.interface import directlyProvides

from twisted_ws import (
    CleanClose,
    Options,
    RejectConnection,
    Version,
    WebSocketProtocol,
    WebSocketResource,
    WebSocketServerFactory,
)
from twisted_ws.codec import (
    BinaryMessage,
    ClientConnection,
    CloseReceived,
    ConnectionOpened,
    Pong,
    TextMessage,
)

from ._support.layer import ALL_VERSIONS, PEER, CountingTransport, Peer, Recorder, deliver

HOST = IPv4Address("TCP", "127.0.0.1", 8080)
PAGE = b"<html>an ordinary page</html>"


class Echo(Recorder):
    """
    Records, and echoes every message.
    """

    def textMessageReceived(self, message: str) -> None:
        super().textMessageReceived(message)
        self.sendTextMessage(message)

    def bytesMessageReceived(self, data: bytes) -> None:
        super().bytesMessageReceived(data)
        self.sendBytesMessage(data)


class RecordingFactory(WebSocketServerFactory):
    """
    A factory that keeps the application protocols it builds.

    @ivar apps: the protocols built, in order.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.apps: list[Any] = []

    def buildWebSocketProtocol(self, request: Any, connection: Any) -> Any:
        app = super().buildWebSocketProtocol(request, connection)
        self.apps.append(app)
        return app


def makeSite(factory: Any, clock: Any, **kw: Any) -> Site:
    """
    A site with C{factory}'s WebSocket on C{/ws} and an ordinary page on
    C{/page}.
    """
    root = Resource()
    root.putChild(b"ws", WebSocketResource(factory, **kw))
    root.putChild(b"page", Data(PAGE, "text/html"))
    return Site(root, reactor=clock)


class WebPeer:
    """
    A client talking to a L{Site} over a L{CountingTransport}: plain HTTP
    requests, and the codec's L{ClientConnection} for WebSocket.

    @ivar channel: the site's channel (an C{HTTPChannel}).
    @ivar transport: the channel's transport; what it wrote is what the
        client receives.
    """

    def __init__(self, site: Site, oneByte: bool = False) -> None:
        self.site = site
        self.channel = site.buildProtocol(PEER)
        self.transport = CountingTransport(hostAddress=HOST, peerAddress=PEER)
        self.channel.makeConnection(self.transport)
        self.oneByte = oneByte
        self.client: ClientConnection | None = None

    def send(self, data: bytes) -> None:
        """
        Deliver C{data} to the channel, whole or one byte at a time.
        """
        deliver(self.channel, data, self.oneByte)

    def take(self) -> bytes:
        """
        What the server wrote since the last call.
        """
        data = self.transport.value()
        self.transport.clear()
        return data

    def startClient(self, version: Version, path: str = "/ws", **kw: Any) -> ClientConnection:
        self.client = ClientConnection("example.com", path, version=version, **kw)
        return self.client

    def flush(self) -> None:
        """
        Deliver what the client codec queued.
        """
        assert self.client is not None
        data = self.client.dataToSend()
        if data:
            self.send(data)

    def receive(self) -> list[Any]:
        """
        Hand what the server wrote to the client codec.
        """
        assert self.client is not None
        data = self.take()
        return self.client.receiveData(data) if data else []

    def lose(self) -> None:
        """
        The TCP connection ended.
        """
        self.channel.connectionLost(Failure(ConnectionDone()))


def splitRequest(request: bytes) -> tuple[bytes, bytes]:
    """
    Split an opening request into its head and what follows (hixie-76's
    key3).
    """
    end = request.index(b"\r\n\r\n") + 4
    return request[:end], request[end:]


def statusOf(response: bytes) -> int:
    """
    The status code of an HTTP response.
    """
    return int(response.split(b" ", 2)[1])


def headerOf(response: bytes, name: bytes) -> bytes | None:
    """
    The value of header C{name} in an HTTP response, or L{None}.
    """
    head = response.split(b"\r\n\r\n", 1)[0]
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name.lower():
            return value.strip()
    return None


class _EveryVersionMixin:
    """
    WebSocket through the resource, for one version.
    """

    version: Version
    oneByte = False

    def setUp(self) -> None:
        self.clock = task.Clock()
        self.factory = RecordingFactory(Echo, reactor=self.clock)
        self.site = makeSite(self.factory, self.clock)

    def openPeer(self, **kw: Any) -> WebPeer:
        peer = WebPeer(self.site, self.oneByte)
        peer.startClient(self.version, **kw)
        peer.flush()
        events = peer.receive()
        self.assertEqual(len(events), 1, events)
        self.assertIsInstance(events[0], ConnectionOpened)
        return peer

    def appOf(self, peer: WebPeer) -> Any:
        """
        The application protocol of the connection.
        """
        self.assertEqual(len(self.factory.apps), 1)
        return self.factory.apps[0]

    def test_openAndEcho(self) -> None:
        """
        The opening handshake succeeds through the resource, and messages go
        both ways.
        """
        peer = self.openPeer()
        app = self.appOf(peer)
        self.assertEqual(app.names(), ["started", "request", "finished"])
        request = dict(app.events)["request"]
        self.assertEqual(request.path, "/ws")
        self.assertEqual(request.version, self.version)
        self.assertEqual(app.transport.getPeer(), PEER)
        self.assertEqual(app.transport.version, self.version)
        peer.client.sendText("hello \u00e9")
        peer.client.sendText("second")
        peer.flush()
        self.assertEqual(peer.receive(), [TextMessage("hello \u00e9"), TextMessage("second")])
        self.assertEqual(app.received(), [("text", "hello \u00e9"), ("text", "second")])

    def test_queryString(self) -> None:
        """
        The request's target keeps its query string.
        """
        peer = self.openPeer(path="/ws?room=7")
        request = dict(self.appOf(peer).events)["request"]
        self.assertEqual(request.target, "/ws?room=7")
        self.assertEqual(request.path, "/ws")

    def test_frameInSameWriteAsRequest(self) -> None:
        """
        A message sent in the same write as the opening request (after
        hixie-76's key3) reaches the application.
        """
        peer = WebPeer(self.site, self.oneByte)
        client = peer.startClient(self.version)
        request = client.dataToSend()
        other = self.openPeer()
        other.client.sendText("early")
        peer.send(request + other.client.dataToSend())
        events = peer.receive()
        self.assertIsInstance(events[0], ConnectionOpened)
        self.assertEqual(events[1:], [TextMessage("early")])

    def test_serverTimersUseFactoryReactor(self) -> None:
        """
        The connection's timers run on the factory's reactor, and the web
        channel's own idle timeout no longer applies once upgraded.
        """
        peer = self.openPeer()
        self.clock.advance(60 * 60 * 24)
        self.assertFalse(peer.transport.disconnecting)

    def test_clientClose(self) -> None:
        """
        The closing handshake ends the TCP connection and the application
        gets a clean close.
        """
        peer = self.openPeer()
        app = self.appOf(peer)
        peer.client.close(1000, "bye")
        peer.flush()
        if self.version is not Version.HIXIE75:
            self.assertIsInstance(peer.receive()[0], CloseReceived)
            self.assertTrue(peer.transport.disconnecting)
        peer.lose()
        closed = app.lostReason()
        self.assertIsInstance(closed, CleanClose)
        self.assertTrue(closed.closedByPeer)

    def test_serverClose(self) -> None:
        """
        The application's loseConnection closes the connection through the
        resource.
        """
        peer = self.openPeer()
        app = self.appOf(peer)
        app.loseConnection(1001, "restart")
        if self.version is Version.HIXIE75:
            self.assertTrue(peer.transport.disconnecting)
        else:
            self.assertIsInstance(peer.receive()[0], CloseReceived)
            peer.flush()
            self.assertTrue(peer.transport.disconnecting)
        peer.lose()
        self.assertIsInstance(app.lostReason(), CleanClose)

    def test_pageBesideWebSocket(self) -> None:
        """
        An ordinary page on another path of the same site is served while a
        WebSocket connection is open.
        """
        ws = self.openPeer()
        web = WebPeer(self.site, self.oneByte)
        web.send(b"GET /page HTTP/1.1\r\nHost: example.com\r\n\r\n")
        response = web.take()
        self.assertEqual(statusOf(response), 200)
        self.assertTrue(response.endswith(PAGE))
        ws.client.sendText("still here")
        ws.flush()
        self.assertEqual(ws.receive(), [TextMessage("still here")])

    def test_upgradeAfterPageOnSameConnection(self) -> None:
        """
        A persistent connection that first fetched an ordinary page can then
        be upgraded to WebSocket.
        """
        peer = WebPeer(self.site, self.oneByte)
        peer.send(b"GET /page HTTP/1.1\r\nHost: example.com\r\n\r\n")
        response = peer.take()
        self.assertEqual(statusOf(response), 200)
        peer.startClient(self.version)
        peer.flush()
        events = peer.receive()
        self.assertIsInstance(events[0], ConnectionOpened)
        peer.client.sendText("x")
        peer.flush()
        self.assertEqual(peer.receive(), [TextMessage("x")])


    def test_webRequestNotKept(self) -> None:
        """
        Once the connection is open, nothing keeps the twisted.web request
        of its handshake alive.
        """
        refs: list[weakref.ref] = []

        class RecordingRequest(Request):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                refs.append(weakref.ref(self))

        self.site.requestFactory = RecordingRequest
        peer = self.openPeer()
        gc.collect()
        self.assertEqual(len(refs), 1)
        self.assertIsNone(refs[0]())
        self.assertIsNone(self.appOf(peer).transport.webRequest)
        assert peer.client is not None
        peer.client.sendText("still open")
        peer.flush()
        self.assertEqual(peer.receive(), [TextMessage("still open")])

    def test_contentLengthAsOverPlainPort(self) -> None:
        """
        A request announcing a body of 8 bytes (as Perl's
        Protocol::WebSocket does with hixie-76's key3) gets the same answer
        through the site as through the factory on a plain port.
        """
        headers = (("Content-Length", "8"),)
        peer = WebPeer(self.site, self.oneByte)
        client = peer.startClient(self.version, headers=headers)
        request = client.dataToSend()
        if self.version is not Version.HIXIE76:
            request += b"12345678"
        peer.send(request)
        viaSite = peer.take()
        plain = Peer(self.version, Echo, headers=headers, clock=self.clock)
        plain.send(request)
        viaFactory = plain.transport.value()
        self.assertEqual(statusOf(viaSite), statusOf(viaFactory))
        if self.version is Version.HIXIE76:
            self.assertEqual(statusOf(viaSite), 101)
            self.assertIsInstance(client.receiveData(viaSite)[0], ConnectionOpened)
            client.sendText("after key3")
            peer.flush()
            self.assertEqual(peer.receive(), [TextMessage("after key3")])

    def test_secureLocation(self) -> None:
        """
        On a TLS site the connection is secure: a hixie handshake names a
        wss:// location.
        """
        peer = WebPeer(self.site, self.oneByte)
        directlyProvides(peer.transport, ISSLTransport)
        peer.startClient(self.version)
        peer.flush()
        response = peer.take()
        self.assertEqual(statusOf(response), 101)
        self.assertTrue(self.appOf(peer).transport.codec.secure)
        if self.version.isHixie:
            name = b"Sec-WebSocket-Location" if self.version is Version.HIXIE76 else b"WebSocket-Location"
            self.assertEqual(headerOf(response, name), b"wss://example.com/ws")


class _HybiMixin(_EveryVersionMixin):
    """
    Hybi versions through the resource.
    """

    def test_binaryAndPing(self) -> None:
        """
        Binary messages and pings work through the resource.
        """
        peer = self.openPeer()
        peer.client.sendBinary(b"\x00\x01" * 40000)
        peer.client.sendPing(b"p")
        peer.flush()
        events = peer.receive()
        # The pong may go out before or after the echo.
        self.assertEqual(len(events), 2)
        self.assertIn(BinaryMessage(b"\x00\x01" * 40000), events)
        self.assertIn(Pong(b"p"), events)


class _Hixie76Mixin(_EveryVersionMixin):
    """
    Hixie-76 through the resource: the 8 bytes of key3 follow the head.
    """

    def test_key3InLaterWrite(self) -> None:
        """
        The handshake succeeds when key3 arrives in a later write than the
        request head.
        """
        peer = WebPeer(self.site, self.oneByte)
        client = peer.startClient(Version.HIXIE76)
        head, key3 = splitRequest(client.dataToSend())
        self.assertEqual(len(key3), 8)
        peer.send(head)
        self.assertEqual(peer.transport.value(), b"")
        peer.send(key3)
        events = peer.receive()
        self.assertIsInstance(events[0], ConnectionOpened)
        client.sendText("after key3")
        peer.flush()
        self.assertEqual(peer.receive(), [TextMessage("after key3")])

    def test_key3SplitAcrossWrites(self) -> None:
        """
        The handshake succeeds when key3 is split between the head's write
        and a later one.
        """
        peer = WebPeer(self.site, self.oneByte)
        client = peer.startClient(Version.HIXIE76)
        head, key3 = splitRequest(client.dataToSend())
        peer.send(head + key3[:3])
        self.assertEqual(peer.transport.value(), b"")
        peer.send(key3[3:])
        self.assertIsInstance(peer.receive()[0], ConnectionOpened)

    def test_openTimeoutWithoutKey3(self) -> None:
        """
        A client that sends the head but never key3 is dropped after
        Options.openTimeout.
        """
        factory = RecordingFactory(Echo, Options(openTimeout=4.0), reactor=self.clock)
        peer = WebPeer(makeSite(factory, self.clock), self.oneByte)
        client = peer.startClient(Version.HIXIE76)
        head, key3 = splitRequest(client.dataToSend())
        peer.send(head)
        self.clock.advance(3.9)
        self.assertFalse(peer.transport.disconnecting)
        self.clock.advance(0.1)
        self.assertTrue(peer.transport.disconnecting)
        self.assertEqual(factory.apps, [])

    def test_key3InSameWrite(self) -> None:
        """
        The handshake succeeds when key3 arrives in the same write as the
        head.
        """
        peer = WebPeer(self.site, False)
        client = peer.startClient(Version.HIXIE76)
        request = client.dataToSend()
        peer.channel.dataReceived(request)
        self.assertIsInstance(peer.receive()[0], ConnectionOpened)


def _makeCases() -> None:
    for version in ALL_VERSIONS:
        if version is Version.HIXIE76:
            mixin: type = _Hixie76Mixin
        elif version.isHixie:
            mixin = _EveryVersionMixin
        else:
            mixin = _HybiMixin
        for oneByte in (False, True):
            name = "Resource" + version.name.title() + ("OneByteTests" if oneByte else "Tests")
            globals()[name] = type(
                name,
                (mixin, SynchronousTestCase),
                {
                    "version": version,
                    "oneByte": oneByte,
                    "__doc__": f"WebSocketResource on {version.label}"
                    + (", bytes fed one at a time." if oneByte else "."),
                    "__module__": __name__,
                },
            )


_makeCases()


RFC_REQUEST = (
    b"GET /ws HTTP/1.1\r\n"
    b"Host: example.com\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\n"
    b"\r\n"
)


class ErrorTests(SynchronousTestCase):
    """
    Requests the resource refuses get proper HTTP error responses.
    """

    def setUp(self) -> None:
        self.clock = task.Clock()
        self.factory = WebSocketServerFactory(Echo, reactor=self.clock)
        self.site = makeSite(self.factory, self.clock)

    def request(self, data: bytes) -> tuple[WebPeer, bytes]:
        peer = WebPeer(self.site)
        peer.send(data)
        return peer, peer.take()

    def assertProperResponse(self, response: bytes, status: int) -> None:
        """
        C{response} is one complete HTTP/1.1 response with C{status} and a
        body as long as its Content-Length says.
        """
        self.assertTrue(response.startswith(b"HTTP/1.1 %d " % (status,)), response)
        head, _, body = response.partition(b"\r\n\r\n")
        length = headerOf(response, b"Content-Length")
        self.assertIsNotNone(length, response)
        self.assertEqual(int(length), len(body))

    def test_unsupportedVersion(self) -> None:
        """
        An unknown Sec-WebSocket-Version gets 426 with the supported
        versions in Sec-WebSocket-Version.
        """
        peer, response = self.request(RFC_REQUEST.replace(b"Version: 13", b"Version: 99"))
        self.assertProperResponse(response, 426)
        versions = headerOf(response, b"Sec-WebSocket-Version")
        self.assertIsNotNone(versions)
        self.assertEqual(
            {v.strip() for v in versions.split(b",")}, {b"13", b"8", b"7"}
        )

    def test_versionNotEnabled(self) -> None:
        """
        A version left out of the factory's Options.versions gets 426 naming
        only the enabled ones.
        """
        factory = WebSocketServerFactory(
            Echo, Options(versions={Version.RFC6455}), reactor=self.clock
        )
        self.site = makeSite(factory, self.clock)
        peer, response = self.request(RFC_REQUEST.replace(b"Version: 13", b"Version: 8"))
        self.assertProperResponse(response, 426)
        self.assertEqual(headerOf(response, b"Sec-WebSocket-Version"), b"13")

    def test_badKey(self) -> None:
        """
        A Sec-WebSocket-Key that is not 16 bytes in base64 gets 400.
        """
        peer, response = self.request(
            RFC_REQUEST.replace(b"dGhlIHNhbXBsZSBub25jZQ==", b"not-a-key")
        )
        self.assertProperResponse(response, 400)

    def test_post(self) -> None:
        """
        A POST to the WebSocket path gets 405 with Allow: GET.
        """
        peer, response = self.request(
            RFC_REQUEST.replace(b"GET", b"POST").replace(
                b"\r\n\r\n", b"\r\nContent-Length: 0\r\n\r\n"
            )
        )
        self.assertProperResponse(response, 405)
        self.assertEqual(headerOf(response, b"Allow"), b"GET")

    def test_plainGet(self) -> None:
        """
        A plain GET of the WebSocket path, without Upgrade, gets an error
        response, not a hang.
        """
        peer, response = self.request(b"GET /ws HTTP/1.1\r\nHost: example.com\r\n\r\n")
        self.assertTrue(400 <= statusOf(response) < 500, response)
        self.assertProperResponse(response, statusOf(response))

    def test_connectionStaysHttp(self) -> None:
        """
        After an error response the persistent connection still serves
        ordinary requests.
        """
        peer, response = self.request(RFC_REQUEST.replace(b"Version: 13", b"Version: 99"))
        self.assertEqual(statusOf(response), 426)
        peer.send(b"GET /page HTTP/1.1\r\nHost: example.com\r\n\r\n")
        response = peer.take()
        self.assertEqual(statusOf(response), 200)
        self.assertTrue(response.endswith(PAGE))

    def test_rejectConnection(self) -> None:
        """
        RejectConnection from the application gives its status and reason
        as the HTTP response, and the connection ends.
        """

        class Refuser(Recorder):
            rejection = RejectConnection(403, "no entry")

        site = makeSite(WebSocketServerFactory(Refuser, reactor=self.clock), self.clock)
        peer = WebPeer(site)
        peer.send(RFC_REQUEST)
        response = peer.take()
        self.assertTrue(response.startswith(b"HTTP/1.1 403 "), response)
        self.assertIn(b"no entry", response)
        self.assertTrue(peer.transport.disconnecting)


class WebFactory:
    """
    A factory in the style of C{twisted.web.websocket}: C{buildProtocol}
    takes the C{twisted.web} request.
    """

    def __init__(self) -> None:
        self.requests: list[Any] = []

    def buildProtocol(self, request: Any) -> WebSocketProtocol:
        self.requests.append(request)
        return Echo()


class WebStyleFactoryTests(SynchronousTestCase):
    """
    L{WebSocketResource} with a C{twisted.web.websocket}-style factory.
    """

    def test_buildProtocolGetsWebRequest(self) -> None:
        """
        buildProtocol gets the twisted.web request, and its protocol runs
        the connection.
        """
        clock = task.Clock()
        factory = WebFactory()
        site = makeSite(factory, clock, options=Options(maxMessageSize=100), reactor=clock)
        peer = WebPeer(site)
        peer.startClient(Version.RFC6455, path="/ws?x=1")
        peer.flush()
        self.assertIsInstance(peer.receive()[0], ConnectionOpened)
        self.assertEqual(len(factory.requests), 1)
        webRequest = factory.requests[0]
        self.assertIsInstance(webRequest, Request)
        self.assertEqual(webRequest.uri, b"/ws?x=1")
        self.assertEqual(webRequest.getHeader(b"host"), b"example.com")
        peer.client.sendText("hi")
        peer.flush()
        self.assertEqual(peer.receive(), [TextMessage("hi")])

    def test_options(self) -> None:
        """
        The options given with a twisted.web-style factory apply.
        """
        clock = task.Clock()
        site = makeSite(WebFactory(), clock, options=Options(maxMessageSize=100), reactor=clock)
        peer = WebPeer(site)
        peer.startClient(Version.RFC6455)
        peer.flush()
        peer.receive()
        peer.client.sendText("x" * 101)
        peer.flush()
        events = peer.receive()
        self.assertIsInstance(events[-1], CloseReceived)
        self.assertEqual(events[-1].code, 1009)

    def test_every_version(self) -> None:
        """
        A twisted.web-style factory serves every version, hixie included.
        """
        clock = task.Clock()
        site = makeSite(WebFactory(), clock, reactor=clock)
        for version in ALL_VERSIONS:
            peer = WebPeer(site)
            peer.startClient(version)
            peer.flush()
            self.assertIsInstance(peer.receive()[0], ConnectionOpened, version)
            peer.client.sendText(version.label)
            peer.flush()
            self.assertEqual(peer.receive(), [TextMessage(version.label)])

    def test_twistedWebFactory(self) -> None:
        """
        A factory written for twisted.web.websocket's WebSocketResource,
        whose protocol has only the twisted.web.websocket callbacks, works
        unchanged, pings included.
        """
        received: list[str] = []

        class TwistedStyle:
            def negotiationStarted(self, transport: Any) -> None:
                self.transport = transport

            def negotiationFinished(self) -> None:
                self.transport.sendTextMessage("welcome")

            def textMessageReceived(self, data: str) -> None:
                received.append(data)

            def bytesMessageReceived(self, data: bytes) -> None:
                pass

            def pongReceived(self, payload: bytes) -> None:
                pass

            def connectionLost(self, reason: Failure) -> None:
                pass

        class Factory:
            def buildProtocol(self, request: Any) -> Any:
                return TwistedStyle()

        clock = task.Clock()
        site = makeSite(Factory(), clock, reactor=clock)
        peer = WebPeer(site)
        peer.startClient(Version.RFC6455)
        peer.flush()
        events = peer.receive()
        self.assertIsInstance(events[0], ConnectionOpened)
        self.assertEqual(events[1:], [TextMessage("welcome")])
        peer.client.sendText("thanks")
        peer.flush()
        self.assertEqual(received, ["thanks"])
        peer.client.sendPing(b"still there?")
        peer.flush()
        self.assertEqual(peer.receive(), [Pong(b"still there?")])


# Over real TCP.

TIMEOUT = 10.0


def _talk(port: int, version: Version, splitKey3: bool) -> list[Any]:
    """
    Open a WebSocket of C{version} to the site on C{port}, send a message,
    read its echo and close; return the client's events.
    """
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        client = ClientConnection(f"127.0.0.1:{port}", "/ws", version=version)
        request = client.dataToSend()
        if splitKey3:
            head, key3 = splitRequest(request)
            sock.sendall(head)
            # Wait for nothing: the server answers only once key3 is in.
            sock.settimeout(0.2)
            try:
                early = sock.recv(1)
            except TimeoutError:
                early = b""
            sock.settimeout(TIMEOUT)
            assert early == b"", early
            sock.sendall(key3)
        else:
            sock.sendall(request)
        events: list[Any] = []

        def readUntil(check: Any) -> None:
            while not check():
                data = sock.recv(65536)
                if not data:
                    events.extend(client.receiveEOF())
                    return
                events.extend(client.receiveData(data))

        readUntil(lambda: any(isinstance(e, ConnectionOpened) for e in events))
        client.sendText("over tcp")
        sock.sendall(client.dataToSend())
        readUntil(lambda: any(isinstance(e, TextMessage) for e in events))
        client.close(1000)
        sock.sendall(client.dataToSend())
        if version is not Version.HIXIE75:
            # hixie-75 closes by ending TCP; the others wait for the
            # server's close frame and its end of TCP.
            readUntil(lambda: False)
        return events
    finally:
        sock.close()


def _fetchPage(port: int) -> bytes:
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    try:
        sock.sendall(b"GET /page HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return data
            data += chunk
    finally:
        sock.close()


class LoopbackTests(TestCase):
    """
    A real L{Site} on 127.0.0.1 serving WebSocket and a page.
    """

    timeout = 60

    def setUp(self) -> None:
        self.factory = WebSocketServerFactory(Echo)
        self.site = makeSite(self.factory, reactor)
        self.port = reactor.listenTCP(0, self.site, interface="127.0.0.1")
        self.addCleanup(self.port.stopListening)
        self.portNumber = self.port.getHost().port

    @defer.inlineCallbacks
    def test_everyVersion(self) -> Any:
        """
        Every version opens, echoes and closes over real TCP through the
        site.
        """
        for version in ALL_VERSIONS:
            events = yield threads.deferToThread(_talk, self.portNumber, version, False)
            self.assertIsInstance(events[0], ConnectionOpened, version)
            self.assertIn(TextMessage("over tcp"), events)
            if version is not Version.HIXIE75:
                self.assertIsInstance(events[-1], CloseReceived, version)

    @defer.inlineCallbacks
    def test_hixie76Key3Later(self) -> Any:
        """
        Over real TCP, hixie-76 succeeds with key3 sent after the server saw
        the head alone.
        """
        events = yield threads.deferToThread(_talk, self.portNumber, Version.HIXIE76, True)
        self.assertIsInstance(events[0], ConnectionOpened)
        self.assertIn(TextMessage("over tcp"), events)

    @defer.inlineCallbacks
    def test_page(self) -> Any:
        """
        The ordinary page is served over real TCP by the same site.
        """
        response = yield threads.deferToThread(_fetchPage, self.portNumber)
        self.assertEqual(statusOf(response), 200)
        self.assertTrue(response.endswith(PAGE))
