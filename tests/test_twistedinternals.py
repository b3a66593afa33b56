"""
Tests for L{twisted_ws._twistedinternals}: each private or undocumented
attribute of Twisted that the Twisted layer relies on, looked up on, and
driven through, objects of the installed Twisted.  A Twisted upgrade that
changes one of them fails here, naming the attribute, instead of somewhere
deep inside a connection.
"""

from __future__ import annotations

from typing import Any

from twisted.application.internet import ClientService, StreamServerEndpointService
from twisted.internet import abstract, defer, task
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.testing import MemoryReactor, StringTransport
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.http import HTTPChannel

from twisted_ws import _twistedinternals as internals

from ._support.layer import IdleProducer


class SelfCheckTests(SynchronousTestCase):
    """
    L{internals.checkTwistedInternals} against the installed Twisted.
    """

    def test_nothingMissing(self) -> None:
        """
        Every private attribute relied on exists in the installed Twisted.
        """
        problems = internals.checkTwistedInternals()
        self.assertEqual(problems, [], "Twisted changed:\n" + "\n".join(problems))

    def test_reportsMissing(self) -> None:
        """
        A missing attribute is reported with the Twisted class and
        attribute names.
        """
        original = HTTPChannel.__init__

        def withoutBuffer(self: Any, *args: Any, **kwargs: Any) -> None:
            original(self, *args, **kwargs)
            del self._dataBuffer

        self.patch(HTTPChannel, "__init__", withoutBuffer)
        problems = internals.checkTwistedInternals()
        self.assertEqual(
            problems, ["twisted.web.http.HTTPChannel has no attribute '_dataBuffer'"]
        )


class TransportTests(SynchronousTestCase):
    """
    The send buffer and read size of Twisted's own transports.
    """

    def descriptor(self) -> abstract.FileDescriptor:
        descriptor = abstract.FileDescriptor(reactor=MemoryReactor())
        descriptor.connected = True
        return descriptor

    def test_sendBufferSize(self) -> None:
        """
        sendBufferSize counts what a FileDescriptor buffers for writing,
        before and after it consolidates its buffer; FileDescriptor's
        dataBuffer, offset and _tempDataLen still mean that.
        """
        descriptor = self.descriptor()
        self.assertEqual(internals.sendBufferSize(descriptor), 0)
        descriptor.write(b"x" * 1000)
        descriptor.write(b"y" * 24)
        self.assertEqual(
            internals.sendBufferSize(descriptor),
            1024,
            "FileDescriptor no longer keeps written bytes in dataBuffer/_tempDataLen",
        )
        # doWrite consolidates _tempDataBuffer into dataBuffer and sends
        # part of it, moving offset.
        descriptor.writeSomeData = lambda data: 100  # type: ignore[method-assign]
        descriptor.doWrite()
        self.assertEqual(
            internals.sendBufferSize(descriptor),
            924,
            "FileDescriptor.offset no longer marks what was sent",
        )

    def test_bufferSizePausesProducer(self) -> None:
        """
        FileDescriptor.bufferSize, which setReadSize sets, is still the mark
        above which Twisted pauses the transport's producer.
        """

        class Producer:
            paused = False

            def pauseProducing(self) -> None:
                self.paused = True

            def resumeProducing(self) -> None:
                self.paused = False

            def stopProducing(self) -> None:
                pass

        descriptor = self.descriptor()
        internals.setReadSize(descriptor, 100)
        self.assertEqual(descriptor.bufferSize, 100)
        producer = Producer()
        descriptor.registerProducer(producer, True)
        descriptor.write(b"x" * 100)
        self.assertFalse(producer.paused)
        descriptor.write(b"x")
        self.assertTrue(producer.paused, "FileDescriptor.bufferSize no longer pauses producers")

    def test_tlsBuffer(self) -> None:
        """
        Cleartext that TLS could not encrypt yet waits in
        TLSMemoryBIOProtocol._appSendBuffer (a list of bytes), which
        sendBufferSize counts and tlsWritesPending sees.
        """
        try:
            from twisted.internet.ssl import CertificateOptions
            from twisted.protocols.tls import TLSMemoryBIOFactory
        except ImportError:  # pragma: no cover
            raise self.skipTest("no TLS (pyOpenSSL) installed") from None
        factory = TLSMemoryBIOFactory(CertificateOptions(), True, Factory.forProtocol(Protocol))
        tls = factory.buildProtocol(None)
        tls.makeConnection(StringTransport())
        self.assertIsInstance(
            getattr(tls, "_appSendBuffer", None),
            list,
            "TLSMemoryBIOProtocol no longer has the list _appSendBuffer",
        )
        self.assertFalse(internals.tlsWritesPending(tls))
        tls._appSendBuffer.append(b"not yet encrypted")
        self.assertTrue(internals.tlsWritesPending(tls))
        self.assertEqual(internals.sendBufferSize(tls), len(b"not yet encrypted"))
        self.assertIsInstance(internals.lowerTransport(tls), StringTransport)


class _Collector(Protocol):
    """
    Collects what it receives until it has C{want} bytes.
    """

    def __init__(self, want: int) -> None:
        self.want = want
        self.chunks: list[bytes] = []
        self.got = 0
        self.done: defer.Deferred[bytes] = defer.Deferred()

    def dataReceived(self, data: bytes) -> None:
        self.chunks.append(data)
        self.got += len(data)
        if self.got >= self.want and not self.done.called:
            self.done.callback(b"".join(self.chunks))


async def _loopback(case: TestCase, server: type[Protocol], client: Any) -> tuple[Any, Any]:
    """
    Connect C{client} over loopback to a fresh port serving C{server}: the
    server's TCP transport, and C{client}.  The port and the client's
    connection are cleaned up after C{case}.
    """
    from twisted.internet import endpoints, reactor

    accepted: defer.Deferred[Any] = defer.Deferred()

    class Server(server):  # type: ignore[misc, valid-type]
        def connectionMade(self) -> None:
            accepted.callback(self.transport)

    port = await endpoints.TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(
        Factory.forProtocol(Server)
    )
    case.addCleanup(port.stopListening)
    await endpoints.connectProtocol(
        endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port), client
    )
    case.addCleanup(client.transport.abortConnection)
    return await accepted, client


class WriteNowTests(TestCase):
    """
    L{internals.writeNow} on real TCP connections over loopback, and on
    other transports.
    """

    timeout = 60

    async def pair(self, want: int) -> tuple[Any, _Collector]:
        """
        Connect over loopback: the server's TCP transport, and the client
        protocol that collects C{want} bytes.
        """
        transport, client = await _loopback(self, Protocol, _Collector(want))
        self.addCleanup(transport.abortConnection)
        return transport, client

    async def test_handsToTheKernelAtOnce(self) -> None:
        """
        On an idle TCP connection nothing is left in Twisted's buffer: the
        bytes went to the kernel in the call, and the peer gets them.
        """
        transport, client = await self.pair(5)
        internals.writeNow(transport, b"hello")
        self.assertEqual(internals.sendBufferSize(transport), 0)
        self.assertEqual(await client.done, b"hello")

    async def test_behindBufferedBytes(self) -> None:
        """
        Behind bytes already buffered, writeNow buffers too, so that the
        order on the wire is the order of the calls.
        """
        transport, client = await self.pair(11)
        transport.write(b"first")
        internals.writeNow(transport, b"second")
        self.assertEqual(internals.sendBufferSize(transport), 11)
        self.assertEqual(await client.done, b"firstsecond")

    async def test_buffersWhatTheKernelRefused(self) -> None:
        """
        What the kernel does not take while the peer reads nothing waits in
        Twisted's buffer, and the peer gets every byte once, in order.
        """
        size = 32 * 1024 * 1024
        transport, client = await self.pair(size + 4)
        client.transport.pauseProducing()
        data = bytes(range(256)) * (size // 256)
        internals.writeNow(transport, data)
        waiting = internals.sendBufferSize(transport)
        self.assertGreater(waiting, 0)
        self.assertLess(waiting, size)
        internals.writeNow(transport, b"tail")
        self.assertEqual(internals.sendBufferSize(transport), waiting + 4)
        client.transport.resumeProducing()
        received = await client.done
        self.assertEqual(len(received), size + 4)
        self.assertTrue(received == data + b"tail", "the bytes differ from what was written")

    async def test_closingConnection(self) -> None:
        """
        A connection that is closing gets write(): what Twisted does with a
        late write is its own rule, not bypassed.
        """
        transport, client = await self.pair(1)
        written: list[bytes] = []
        self.patch(transport, "write", written.append)
        transport.loseConnection()
        internals.writeNow(transport, b"late")
        self.assertEqual(written, [b"late"])

    def test_otherTransports(self) -> None:
        """
        Any transport other than Twisted's TCP connections (TLS, a test
        transport) gets write().
        """
        transport = StringTransport()
        internals.writeNow(transport, b"hello")
        self.assertEqual(transport.value(), b"hello")


class _Ends(_Collector):
    """
    Collects what it receives, and fires C{ended} with the reason its
    connection ended.
    """

    def __init__(self, want: int) -> None:
        super().__init__(want)
        self.ended: defer.Deferred[list[Any]] = defer.Deferred()

    def connectionLost(self, reason: Any = None) -> None:
        self.ended.callback([reason])


class LoseConnectionNowTests(TestCase):
    """
    L{internals.loseConnectionNow} on real TCP connections over loopback,
    and on other transports.
    """

    timeout = 60

    async def pair(self, want: int) -> tuple[Any, _Ends, list[Any]]:
        """
        The server's TCP transport, the client protocol (which collects
        C{want} bytes), and the list of reasons the server's protocol was
        given by connectionLost.
        """
        lost: list[Any] = []

        class Server(Protocol):
            def connectionLost(self, reason: Any = None) -> None:
                lost.append(reason)

        transport, client = await _loopback(self, Server, _Ends(want))
        return transport, client, lost

    async def test_endsAtOnce(self) -> None:
        """
        With nothing left to send the connection ends in the call: the
        protocol is told, cleanly, the reactor no longer watches the socket,
        and the peer sees a clean end after the bytes sent before.
        """
        from twisted.internet import reactor
        from twisted.internet.error import ConnectionDone

        transport, client, lost = await self.pair(5)
        internals.writeNow(transport, b"hello")
        internals.loseConnectionNow(transport)
        self.assertEqual(len(lost), 1)
        self.assertTrue(lost[0].check(ConnectionDone), lost[0])
        self.assertNotIn(transport, reactor.getReaders())
        self.assertNotIn(transport, reactor.getWriters())
        self.assertFalse(hasattr(transport, "socket"), "the socket was not closed")
        (reason,) = await client.ended
        self.assertTrue(reason.check(ConnectionDone), reason)
        self.assertEqual(b"".join(client.chunks), b"hello")

    async def test_behindBufferedBytes(self) -> None:
        """
        With bytes still in Twisted's buffer it ends as loseConnection
        does: after they have been sent.
        """
        transport, client, lost = await self.pair(11)
        transport.write(b"first")
        transport.write(b"second")
        internals.loseConnectionNow(transport)
        self.assertEqual(lost, [])
        self.assertTrue(transport.disconnecting)
        await client.ended
        self.assertEqual(b"".join(client.chunks), b"firstsecond")
        self.assertEqual(len(lost), 1)

    async def test_pausedProducer(self) -> None:
        """
        A producer the transport paused (or one that is not streaming) is
        left to Twisted's rule: loseConnection waits for the next turn.
        """
        transport, client, lost = await self.pair(1)

        transport.registerProducer(IdleProducer(), True)
        transport.producerPaused = True
        loseConnection: list[None] = []
        self.patch(transport, "loseConnection", lambda: loseConnection.append(None))
        internals.loseConnectionNow(transport)
        self.assertEqual((loseConnection, lost), ([None], []))

    async def test_closingConnection(self) -> None:
        """
        A connection already closing is left to loseConnection.
        """
        transport, client, lost = await self.pair(1)
        transport.loseConnection()
        loseConnection: list[None] = []
        self.patch(transport, "loseConnection", lambda: loseConnection.append(None))
        internals.loseConnectionNow(transport)
        self.assertEqual((loseConnection, lost), ([None], []))
        await client.ended

    def test_otherTransports(self) -> None:
        """
        Any transport other than Twisted's TCP connections gets
        loseConnection.
        """
        transport = StringTransport()
        internals.loseConnectionNow(transport)
        self.assertTrue(transport.disconnecting)


class ChannelTests(SynchronousTestCase):
    """
    The HTTPChannel attributes the upgrade in L{twisted_ws._webupgrade}
    uses.
    """

    def channel(self) -> tuple[HTTPChannel, StringTransport]:
        channel = HTTPChannel()
        transport = StringTransport()
        channel.makeConnection(transport)
        return channel, transport

    def test_buffer(self) -> None:
        """
        Bytes that arrive while a request is being handled wait in
        HTTPChannel._dataBuffer, which takeChannelBuffer empties.
        """
        channel, transport = self.channel()
        channel.requestFactory = _Pending  # type: ignore[assignment]
        channel.dataReceived(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        channel.dataReceived(b"held")
        self.assertEqual(
            internals.takeChannelBuffer(channel),
            b"held",
            "HTTPChannel no longer holds bytes in _dataBuffer while a request is handled",
        )
        self.assertEqual(internals.takeChannelBuffer(channel), b"")

    def test_networkProducer(self) -> None:
        """
        HTTPChannel._networkProducer is the transport it pauses.
        """
        channel, transport = self.channel()
        self.assertIs(internals.channelNetworkProducer(channel), transport)

    def test_redirect(self) -> None:
        """
        After redirectChannel, bytes and the end of the connection reach the
        new protocol.
        """
        channel, transport = self.channel()
        target = _Recorder()
        internals.redirectChannel(channel, target)
        channel.dataReceived(b"abc")
        channel.rawDataReceived(b"def")
        channel.connectionLost(None)
        self.assertEqual(target.data, [b"abc", b"def"])
        self.assertEqual(target.lost, 1)

    def test_forgetRequest(self) -> None:
        """
        HTTPChannel.requests holds the request being handled until
        forgetChannelRequest removes it.
        """
        channel, transport = self.channel()
        channel.requestFactory = _Pending  # type: ignore[assignment]
        channel.dataReceived(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(len(channel.requests), 1, "HTTPChannel.requests changed")
        internals.forgetChannelRequest(channel, channel.requests[0])
        self.assertEqual(channel.requests, [])


class ServiceTests(SynchronousTestCase):
    """
    StreamServerEndpointService._raiseSynchronously.
    """

    def test_raisesSynchronously(self) -> None:
        """
        After raiseListenErrorsSynchronously, a failure to listen raises
        from privilegedStartService.
        """

        class FailingEndpoint:
            def listen(self, factory: Any) -> defer.Deferred:
                return defer.fail(OSError("address in use"))

        service = StreamServerEndpointService(FailingEndpoint(), Factory())
        internals.raiseListenErrorsSynchronously(service)
        self.assertRaises(OSError, service.privilegedStartService)


class ClientServiceTests(SynchronousTestCase):
    """
    The C{_transport} of C{ClientService}'s protocol proxy.
    """

    def connectedService(self) -> tuple[ClientService, list[Any]]:
        """
        A started C{ClientService} whose endpoint connects at once, and the
        list that gets the protocol proxy it built.
        """
        built: list[Any] = []

        class Endpoint:
            def connect(self, factory: Any) -> defer.Deferred:
                proxy = factory.buildProtocol(None)
                built.append(proxy)
                proxy.makeConnection(StringTransport())
                return defer.succeed(proxy)

        service = ClientService(Endpoint(), Factory.forProtocol(Protocol), clock=task.Clock())
        service.startService()
        return service, built

    def test_stopEndsTheTransportSet(self) -> None:
        """
        After setServiceProxyTransport, stopping the service ends the
        transport given to it, not the one the proxy was connected with.
        """
        service, built = self.connectedService()
        [proxy] = built
        first = proxy.transport
        given = StringTransport()
        internals.setServiceProxyTransport(proxy, given)
        service.stopService()
        self.assertTrue(given.disconnecting)
        self.assertFalse(first.disconnecting)

    def test_reportsMissing(self) -> None:
        """
        A proxy that no longer keeps C{_transport} is reported.
        """
        service, built = self.connectedService()
        proxyClass = type(built[0])
        service.stopService()

        def makeConnection(self: Any, transport: Any) -> None:
            self._protocol.makeConnection(transport)

        self.patch(proxyClass, "makeConnection", makeConnection)
        self.assertEqual(
            internals.checkTwistedInternals(),
            ["twisted.application.internet.ClientService's protocol proxy has no attribute '_transport'"],
        )


class _Pending:
    """
    A request that never finishes, so that the channel keeps handling it.
    """

    def __init__(self, channel: Any, queued: Any = None) -> None:
        self.channel = channel
        from twisted.web.http import Headers

        self.requestHeaders = Headers()
        self.responseHeaders = Headers()
        self.content = None

    def gotLength(self, length: Any) -> None:
        import io

        self.content = io.BytesIO()

    def parseCookies(self) -> None:
        pass

    def handleContentChunk(self, data: bytes) -> None:
        pass

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        pass

    def connectionLost(self, reason: Any) -> None:
        pass

    def noLongerQueued(self) -> None:
        pass


class _Recorder(Protocol):
    def __init__(self) -> None:
        self.data: list[bytes] = []
        self.lost = 0

    def dataReceived(self, data: bytes) -> None:
        self.data.append(data)

    def connectionLost(self, reason: Any = None) -> None:
        self.lost += 1
