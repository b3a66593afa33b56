"""
Every use the Twisted layer makes of Twisted's private or undocumented
attributes, each behind one small function, so that a Twisted release that
changes them breaks this module alone.

L{checkTwistedInternals} looks for each of them on the installed Twisted,
and C{tests/test_twistedinternals.py} runs it (and drives each function
against real Twisted objects), failing with the name of the attribute that
went missing.

What is relied on, and why:

 - L{twisted.web.http.HTTPChannel}: C{_dataBuffer} (bytes read after the
   request head while it renders), C{_networkProducer} (the transport it
   paused), C{requests} (the requests it still answers), and instance
   assignment to C{dataReceived}, C{rawDataReceived} and C{connectionLost}:
   together, the way to hand the TCP connection of a request to a WebSocket
   protocol (L{twisted_ws._webupgrade}).  twisted.web has no public upgrade.
 - L{twisted.internet.abstract.FileDescriptor}: C{dataBuffer}, C{offset} and
   C{_tempDataLen} (how many bytes wait to be sent: Twisted has no public
   count), and C{bufferSize} (both the read size and the mark at which the
   transport pauses its producer).
 - L{twisted.internet.tcp.Server} and L{twisted.internet.tcp.Client}:
   C{writeSomeData} (one C{send} call), C{TLS}, C{_aborting} and
   C{_writeDisconnected}, with the
   buffer attributes above: L{writeNow} hands bytes to the kernel at once
   when nothing waits in the buffer, instead of in the reactor's next turn
   after joining everything buffered into one string; and, with
   C{producer}, C{streamingProducer} and C{producerPaused},
   L{loseConnectionNow} ends a connection whose buffer is empty at once,
   instead of in the reactor's next turn after an empty C{send}.
 - L{twisted.protocols.tls.TLSMemoryBIOProtocol}: C{_appSendBuffer}
   (cleartext written before the TLS handshake finished).
 - L{twisted.application.internet.StreamServerEndpointService}:
   C{_raiseSynchronously} (make C{privilegedStartService} raise a failure to
   listen instead of logging it), used by C{twistd websocket}.
 - L{twisted.application.internet.ClientService}: the C{_transport} of the
   proxy it wraps each protocol in (what C{stopService} ends), which
   L{twisted_ws._reconnecting} sets to the WebSocket connection.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CHANNEL_ATTRIBUTES",
    "checkTwistedInternals",
    "lowerTransport",
    "sendBufferSize",
    "setReadSize",
    "writeNow",
    "loseConnectionNow",
    "tlsWritesPending",
    "takeChannelBuffer",
    "channelNetworkProducer",
    "redirectChannel",
    "forgetChannelRequest",
    "raiseListenErrorsSynchronously",
    "setServiceProxyTransport",
    "listeningAddress",
    "endpointTLSOptions",
]

#: The attributes of an L{HTTPChannel} (once connected) that the upgrade
#: relies on.
CHANNEL_ATTRIBUTES = (
    "_dataBuffer",
    "_networkProducer",
    "requests",
    "rawDataReceived",
    "dataReceived",
    "connectionLost",
)

#: The attributes of a connected TCP transport that L{sendBufferSize} and
#: L{setReadSize} read or set.
TRANSPORT_ATTRIBUTES = ("dataBuffer", "offset", "_tempDataLen", "bufferSize")

#: The further attributes of a TCP connection that L{writeNow} and
#: L{loseConnectionNow} read or call.
TCP_ATTRIBUTES = (
    "writeSomeData",
    "TLS",
    "_aborting",
    "_writeDisconnected",
    "connected",
    "disconnecting",
    "producer",
    "streamingProducer",
    "producerPaused",
    "stopReading",
    "stopWriting",
)


# Transports.


def lowerTransport(transport: Any) -> Any:
    """
    The transport under C{transport}: the TCP transport under a TLS one
    (L{TLSMemoryBIOProtocol} is a protocol wrapper), or L{None}.
    """
    return getattr(transport, "transport", None)


def sendBufferSize(transport: Any) -> int:
    """
    How many bytes were written to C{transport} but not yet handed to the
    kernel: in the TCP transport's buffer and, under TLS, in the TLS layer's
    cleartext buffer, for up to three layers of wrapping.
    """
    size = 0
    for _ in range(3):
        if transport is None:
            break
        buffer = getattr(transport, "dataBuffer", None)
        if buffer is not None:
            size += len(buffer) - getattr(transport, "offset", 0)
            size += getattr(transport, "_tempDataLen", 0)
        pending = getattr(transport, "_appSendBuffer", None)
        if pending:
            size += sum(map(len, pending))
        transport = getattr(transport, "transport", None)
    return size


def setReadSize(transport: Any, size: int) -> None:
    """
    Make C{transport} (and the TCP transport under it, under TLS) read up to
    C{size} bytes at once.  The same attribute is the mark above which
    Twisted pauses the transport's producer.
    """
    for candidate in (transport, lowerTransport(transport)):
        if candidate is not None and hasattr(candidate, "bufferSize"):
            candidate.bufferSize = size


def _directTypes() -> tuple[type, ...]:
    from twisted.internet import tcp

    return (tcp.Server, tcp.Client)


_DIRECT_TYPES = _directTypes()


def _idleTCP(transport: Any) -> bool:
    """
    Whether C{transport} is one of Twisted's plain TCP connections, open
    and not closing, with nothing waiting in its buffer.
    """
    return (
        type(transport) in _DIRECT_TYPES
        and not transport._tempDataLen
        and transport.offset == len(transport.dataBuffer)
        and not transport.TLS
        and transport.connected
        and not transport.disconnecting
        and not transport._aborting
        and not transport._writeDisconnected
    )


def writeNow(transport: Any, data: bytes) -> None:
    """
    Write C{data} to C{transport}.

    A plain TCP connection (not TLS, not closing) whose buffer is empty gets
    C{data} handed to the kernel at once, as asyncio's transports do, and
    buffers only what the kernel did not take.  Twisted's C{write} would
    buffer all of it until the reactor's next turn and then join everything
    buffered into one string: one more copy of each byte, an allocation as
    large as the whole backlog (for large messages, fresh pages from the
    system each time), and two C{epoll_ctl} calls per write.  Any other
    transport gets C{write}.
    """
    if _idleTCP(transport):
        size = len(data)
        sent = transport.writeSomeData(data)
        if sent.__class__ is int and sent > 0:
            if sent == size:
                return
            view = memoryview(data)
            while sent < size:
                more = transport.writeSomeData(view[sent:])
                if more.__class__ is not int or more <= 0:
                    break
                sent += more
            if sent == size:
                return
            data = data[sent:]
    transport.write(data)


def _connectionDone() -> Any:
    from twisted.internet.protocol import connectionDone

    return connectionDone


_CONNECTION_DONE = _connectionDone()


def loseConnectionNow(transport: Any) -> None:
    """
    End C{transport}'s connection: at once when it is a plain TCP
    connection with nothing left to send, through C{loseConnection}
    otherwise.

    Twisted's C{loseConnection} always waits for the reactor's next turn:
    it stops reading and starts writing (two C{epoll_ctl} calls), and the
    write event then sends an empty buffer (one more C{send} call) before it
    finds that there is nothing left and closes.  With the buffer already
    empty, this does at once what that write event ends with: the reactor
    forgets the socket and the transport's C{connectionLost} runs (closing
    the socket, then telling the protocol) with Twisted's own clean reason.

    The protocol's C{connectionLost} runs before this returns, as it does
    when Twisted's C{loseConnection} finds the sending side already shut.
    """
    if _idleTCP(transport) and (
        transport.producer is None
        or (transport.streamingProducer and not transport.producerPaused)
    ):
        transport.disconnecting = 1
        transport.stopReading()
        transport.stopWriting()
        transport.connectionLost(_CONNECTION_DONE)
        return
    transport.loseConnection()


def tlsWritesPending(transport: Any) -> bool:
    """
    Whether the TLS transport C{transport} still holds cleartext it has not
    encrypted and written (it was written before the TLS handshake ended).
    """
    return bool(getattr(transport, "_appSendBuffer", None))


# twisted.web's HTTPChannel.


def takeChannelBuffer(channel: Any) -> bytes:
    """
    Take the bytes C{channel} read after the head of the request it is
    rendering, leaving it none.
    """
    pending = b"".join(channel._dataBuffer)
    channel._dataBuffer = []
    return pending


def channelNetworkProducer(channel: Any) -> Any:
    """
    The producer C{channel} pauses while it renders (its transport).
    """
    return channel._networkProducer


def redirectChannel(channel: Any, protocol: Any) -> None:
    """
    Make every later byte C{channel} receives, and the end of its
    connection, go to C{protocol} instead.  C{rawDataReceived} matters: the
    bytes that followed the request head in the same read are still in the
    channel's line buffer while the resource renders, and L{LineReceiver}
    hands them to C{rawDataReceived} once rendering returns.
    """
    channel.dataReceived = protocol.dataReceived
    channel.rawDataReceived = protocol.dataReceived
    channel.connectionLost = protocol.connectionLost


def forgetChannelRequest(channel: Any, request: Any) -> None:
    """
    Make C{channel} forget C{request}, which will never finish: the channel
    lives as long as the upgraded connection and would keep it.
    """
    requests = getattr(channel, "requests", None)
    if requests is not None and request in requests:
        requests.remove(request)


# twisted.application.


def raiseListenErrorsSynchronously(service: Any) -> None:
    """
    Make the L{StreamServerEndpointService} C{service} raise from
    C{privilegedStartService} when it cannot listen, instead of logging the
    failure later.
    """
    service._raiseSynchronously = True


def setServiceProxyTransport(proxy: Any, transport: Any) -> None:
    """
    Make C{ClientService}'s C{proxy} of a protocol end C{transport} when the
    service stops, instead of the transport given to its C{makeConnection}
    (which a WebSocket application never gets).
    """
    proxy._transport = transport


# twisted.internet.endpoints.


def listeningAddress(endpoint: Any) -> tuple[str, Any, int, int | None] | None:
    """
    What a C{tcp:}, C{tcp6:}, C{ssl:} or C{unix:} server endpoint would
    listen on, so that the same socket can be opened without it.

    @return: the address family (C{"INET"}, C{"INET6"} or C{"UNIX"}), the
        address to bind, the listen backlog and, for C{unix:}, the file mode;
        L{None} for any other endpoint.
    """
    from twisted.internet import endpoints

    if isinstance(endpoint, (endpoints.TCP4ServerEndpoint, endpoints.SSL4ServerEndpoint)):
        interface = endpoint._interface or ""
        family = "INET6" if ":" in interface else "INET"
        return family, (interface, endpoint._port), endpoint._backlog, None
    if isinstance(endpoint, endpoints.TCP6ServerEndpoint):
        return "INET6", (endpoint._interface or "::", endpoint._port), endpoint._backlog, None
    if isinstance(endpoint, endpoints.UNIXServerEndpoint):
        return "UNIX", endpoint._address, endpoint._backlog, endpoint._mode
    return None


def endpointTLSOptions(endpoint: Any) -> Any:
    """
    The TLS context factory of an C{ssl:} server endpoint.
    """
    return endpoint._sslContextFactory


# The self-check.


def checkTwistedInternals() -> list[str]:
    """
    Look for every private attribute this module relies on, on objects of
    the installed Twisted.

    @return: one readable line per attribute that is missing; empty when
        all is well.
    """
    from twisted.application.internet import StreamServerEndpointService
    from twisted.internet import abstract
    from twisted.internet.testing import StringTransport
    from twisted.web.http import HTTPChannel

    problems = []
    channel = HTTPChannel()
    channel.makeConnection(StringTransport())
    for name in CHANNEL_ATTRIBUTES:
        if not hasattr(channel, name):
            problems.append(f"twisted.web.http.HTTPChannel has no attribute {name!r}")
    channel.connectionLost(None)
    descriptor = abstract.FileDescriptor()
    for name in TRANSPORT_ATTRIBUTES:
        if not hasattr(descriptor, name):
            problems.append(f"twisted.internet.abstract.FileDescriptor has no attribute {name!r}")
    from twisted.internet import tcp

    for name in TCP_ATTRIBUTES:
        if not hasattr(tcp.Server, name):
            problems.append(f"twisted.internet.tcp.Server has no attribute {name!r}")
    if "_raiseSynchronously" not in vars(StreamServerEndpointService):
        problems.append(
            "twisted.application.internet.StreamServerEndpointService has no attribute "
            "'_raiseSynchronously'"
        )
    problems.extend(_checkClientService())
    problems.extend(_checkTLS())
    problems.extend(_checkEndpoints())
    return problems


#: The attributes of Twisted's server endpoints that L{listeningAddress} and
#: L{endpointTLSOptions} read.
ENDPOINT_ATTRIBUTES = {
    "TCP4ServerEndpoint": ("_interface", "_port", "_backlog"),
    "TCP6ServerEndpoint": ("_interface", "_port", "_backlog"),
    "SSL4ServerEndpoint": ("_interface", "_port", "_backlog", "_sslContextFactory"),
    "UNIXServerEndpoint": ("_address", "_backlog", "_mode"),
}


def _checkEndpoints() -> list[str]:
    from twisted.internet import endpoints, reactor

    made = {
        "TCP4ServerEndpoint": endpoints.TCP4ServerEndpoint(reactor, 0),
        "TCP6ServerEndpoint": endpoints.TCP6ServerEndpoint(reactor, 0),
        "SSL4ServerEndpoint": endpoints.SSL4ServerEndpoint(reactor, 0, object()),
        "UNIXServerEndpoint": endpoints.UNIXServerEndpoint(reactor, "unused"),
    }
    return [
        f"twisted.internet.endpoints.{name} has no attribute {attribute!r}"
        for name, attributes in ENDPOINT_ATTRIBUTES.items()
        for attribute in attributes
        if not hasattr(made[name], attribute)
    ]


def _checkClientService() -> list[str]:
    from twisted.application.internet import ClientService
    from twisted.internet import defer, task
    from twisted.internet.interfaces import IStreamClientEndpoint
    from twisted.internet.protocol import Factory, Protocol
    from twisted.internet.testing import StringTransport
    from zope.interface import implementer

    built: list[Any] = []

    @implementer(IStreamClientEndpoint)
    class Endpoint:
        def connect(self, factory: Any) -> defer.Deferred[Any]:
            proxy = factory.buildProtocol(None)
            built.append(proxy)
            proxy.makeConnection(StringTransport())
            return defer.succeed(proxy)

    service = ClientService(Endpoint(), Factory.forProtocol(Protocol), clock=task.Clock())
    service.startService()
    if built and "_transport" in vars(built[0]):
        service.stopService()
        return []
    # Left connected: stopping would need the attribute; the clock is a
    # task.Clock, so nothing is left in the reactor.
    return ["twisted.application.internet.ClientService's protocol proxy has no attribute '_transport'"]


def _checkTLS() -> list[str]:
    try:
        from twisted.internet.ssl import CertificateOptions
        from twisted.protocols.tls import TLSMemoryBIOFactory
    except ImportError:  # pragma: no cover - no pyOpenSSL: TLS is not used
        return []
    from twisted.internet.protocol import Factory, Protocol
    from twisted.internet.testing import StringTransport

    factory = TLSMemoryBIOFactory(CertificateOptions(), True, Factory.forProtocol(Protocol))
    tls = factory.buildProtocol(None)
    tls.makeConnection(StringTransport())
    problems = []
    if not isinstance(getattr(tls, "_appSendBuffer", None), list):
        problems.append(
            "twisted.protocols.tls.TLSMemoryBIOProtocol has no list attribute '_appSendBuffer'"
        )
    tls.connectionLost(None)
    return problems
