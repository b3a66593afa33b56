"""
Helpers for the Twisted layer's tests: applications that record their
callbacks, transports that count or buffer writes, and clients (the codec's
L{ClientConnection}) talking to a server connection over a
L{StringTransport} with time on a L{task.Clock}.
"""

from __future__ import annotations

import json
from typing import Any

from twisted.internet import task
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import IPushProducer
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from zope.interface import implementer

from twisted_ws import Options, RejectConnection, Version, WebSocketProtocol, WebSocketServerFactory
from twisted_ws.codec import ClientConnection, TextMessage

ALL_VERSIONS = list(Version)
HYBI_VERSIONS = [v for v in Version if not v.isHixie]
HIXIE_VERSIONS = [v for v in Version if v.isHixie]

PEER = IPv4Address("TCP", "192.0.2.7", 40123)
HOST = IPv4Address("TCP", "198.51.100.1", 8080)


@implementer(IPushProducer)
class IdleProducer:
    """
    A push producer that does nothing.
    """

    def pauseProducing(self) -> None:
        pass

    def resumeProducing(self) -> None:
        pass

    def stopProducing(self) -> None:
        pass


def deliver(protocol: Any, data: bytes, oneByte: bool) -> None:
    """
    Give C{data} to C{protocol.dataReceived}, whole or one byte at a time.
    """
    if oneByte:
        for i in range(len(data)):
            protocol.dataReceived(data[i : i + 1])
    else:
        protocol.dataReceived(data)


class CountingTransport(StringTransport):
    """
    A L{StringTransport} that also remembers each call to C{write}, so a
    test can count how many writes a reply took.

    @ivar writes: the data of every C{write}, in order.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(data)
        super().write(data)


class Recorder(WebSocketProtocol):
    """
    An application that records every callback it gets, and can be told how
    to answer the opening request.

    @cvar subprotocolChoice: what L{requestReceived} returns.
    @cvar extraHeaders: response headers L{requestReceived} adds.
    @cvar rejection: a L{RejectConnection} that L{requestReceived} raises.
    @ivar events: (name, value) pairs of the callbacks, in order.
    """

    subprotocolChoice: str | None = None
    extraHeaders: tuple[tuple[str, str], ...] = ()
    rejection: RejectConnection | None = None

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self.peerAtRequest: Any = None

    def negotiationStarted(self, transport: Any) -> None:
        super().negotiationStarted(transport)
        self.events.append(("started", transport))

    def requestReceived(self, request: Any) -> str | None:
        self.events.append(("request", request))
        self.peerAtRequest = self.transport.getPeer()
        for name, value in self.extraHeaders:
            self.transport.addResponseHeader(name, value)
        if self.rejection is not None:
            raise self.rejection
        return self.subprotocolChoice

    def negotiationFinished(self) -> None:
        self.events.append(("finished", None))

    def textMessageReceived(self, message: str) -> None:
        self.events.append(("text", message))

    def bytesMessageReceived(self, data: bytes) -> None:
        self.events.append(("bytes", data))

    def pongReceived(self, payload: bytes) -> None:
        self.events.append(("pong", payload))

    def pingReceived(self, payload: bytes) -> None:
        self.events.append(("ping", payload))

    def connectionLost(self, reason: Failure) -> None:
        self.events.append(("lost", reason))

    def names(self) -> list[str]:
        """
        The names of the callbacks received so far.
        """
        return [name for name, _ in self.events]

    def received(self) -> list[tuple[str, Any]]:
        """
        The messages, pings and pongs received so far.
        """
        return [e for e in self.events if e[0] in ("text", "bytes", "pong", "ping")]

    def lostReason(self) -> Any:
        """
        The value of the failure given to C{connectionLost}.
        """
        lost = [value for name, value in self.events if name == "lost"]
        assert len(lost) == 1, self.events
        return lost[0].value


class Peer:
    """
    A WebSocket client (the codec's L{ClientConnection}) talking to a server
    connection built by a L{WebSocketServerFactory}, over a
    L{CountingTransport}, with time on a clock.

    @ivar server: the server's byte-level protocol.
    @ivar transport: the server's transport; what it wrote is what the
        client receives.
    @ivar client: the client codec.
    @ivar events: every event the client received.
    @ivar oneByte: whether bytes reach the server one at a time.
    @ivar transportFactory: makes the server's transport (a
        L{CountingTransport} by default).
    """

    def __init__(
        self,
        version: Version,
        protocol: type[WebSocketProtocol] = Recorder,
        options: Options | None = None,
        *,
        path: str = "/chat?room=1",
        subprotocols: tuple[str, ...] = (),
        headers: tuple[tuple[str, str], ...] = (),
        clock: Any = None,
        oneByte: bool = False,
        transportFactory: Any = None,
    ) -> None:
        self.clock = clock if clock is not None else task.Clock()
        self.factory = WebSocketServerFactory(protocol, options, reactor=self.clock)
        self.server = self.factory.buildProtocol(PEER)
        if transportFactory is None:
            transportFactory = CountingTransport
        self.transport = transportFactory(hostAddress=HOST, peerAddress=PEER)
        self.server.makeConnection(self.transport)
        self.client = ClientConnection(
            "example.com", path, version=version, subprotocols=subprotocols, headers=headers
        )
        self.oneByte = oneByte
        self.events: list[Any] = []

    @property
    def app(self) -> Any:
        """
        The application protocol, once the request arrived.
        """
        return self.server.application

    def send(self, data: bytes) -> None:
        """
        Deliver C{data} to the server, whole or one byte at a time.
        """
        deliver(self.server, data, self.oneByte)

    def flush(self) -> None:
        """
        Deliver what the client codec has queued to the server.
        """
        data = self.client.dataToSend()
        if data:
            self.send(data)

    def receive(self) -> list[Any]:
        """
        Hand what the server wrote to the client codec.

        @return: the client events it produced.
        """
        data = self.transport.value()
        self.transport.clear()
        events = self.client.receiveData(data) if data else []
        self.events.extend(events)
        return events

    def handshake(self) -> list[Any]:
        """
        Send the opening request and read the answer.
        """
        self.flush()
        return self.receive()

    def lose(self, reason: Failure | None = None) -> None:
        """
        The TCP connection ended.
        """
        self.server.connectionLost(reason if reason is not None else Failure(ConnectionDone()))


class BufferingTransport(StringTransport):
    """
    A L{StringTransport} that reports everything written to it as still
    waiting to be sent, the way a TCP transport's buffer does while its
    peer reads nothing.
    """

    offset = 0
    _tempDataLen = 0

    @property
    def dataBuffer(self) -> bytes:
        return self.io.getvalue()


class Client:
    """
    A WebSocket client (the codec's L{ClientConnection}) connected to a
    server protocol over a L{StringTransport}.

    @ivar server: the server's byte-level protocol.
    @ivar transport: the server's transport: what it wrote is what this
        client receives.
    @ivar codec: the client codec.
    @ivar events: every event the client received and has not yet taken.
    """

    def __init__(
        self,
        factory: Any,
        version: Version = Version.RFC6455,
        path: str = "/ws",
        subprotocols: tuple[str, ...] = (),
        transport: StringTransport | None = None,
    ) -> None:
        self.transport = transport if transport is not None else StringTransport()
        self.server = factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 50000))
        self.server.makeConnection(self.transport)
        self.codec = ClientConnection(
            "127.0.0.1:8080",
            path,
            version=version,
            subprotocols=subprotocols,
            options=Options(maxMessageSize=64 << 20, maxFrameSize=64 << 20),
        )
        self.events: list[Any] = []
        self.pump()

    def pump(self) -> None:
        """
        Move bytes both ways until neither side has anything to send.
        """
        while True:
            toServer = self.codec.dataToSend()
            if toServer:
                self.server.dataReceived(toServer)
            toClient = self.transport.value()
            if toClient:
                self.transport.clear()
                self.events.extend(self.codec.receiveData(toClient))
            if not toServer and not toClient:
                return

    def take(self, kind: type) -> list[Any]:
        """
        Remove and return the received events of type C{kind}.
        """
        taken = [e for e in self.events if isinstance(e, kind)]
        self.events = [e for e in self.events if not isinstance(e, kind)]
        return taken

    def sendText(self, text: str) -> None:
        """
        Send a text message and deliver the answers.
        """
        self.codec.sendText(text)
        self.pump()

    def sendJSON(self, message: dict[str, Any]) -> None:
        """
        Send a chat command.
        """
        self.sendText(json.dumps(message))

    def received(self) -> list[dict[str, Any]]:
        """
        Remove and return the JSON messages received.
        """
        self.pump()
        return [json.loads(e.data) for e in self.take(TextMessage)]
