"""
Helpers for testing WebSocket applications without a network or a running
reactor, as C{twisted.internet.testing} does for Twisted protocols.

L{connectApplication} connects an application (a L{WebSocketProtocol}
subclass) to a scripted client over an in-memory transport, with time on a
L{task.Clock}; the test sends messages, moves the bytes with
L{WebSocketPair.flush}, reads what arrived, and moves time with
L{WebSocketPair.advance}::

    pair = connectApplication(Echo)
    pair.client.sendTextMessage("hello")
    pair.flush()
    assert pair.client.takeMessages() == ["hello"]
    pair.client.close(1000)
    pair.flush()
    assert pair.client.closeCode == 1000 and pair.client.wasClean

The client is a L{ScriptedClient}: the codec's L{ClientConnection} driven
by the test.  It can also carry a client-side application (any object with
the callbacks of L{WebSocketProtocol}), to which it is the transport.
L{WebSocketPair} itself connects any two protocols, so it takes the
Twisted client's protocol as well.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from twisted.internet import protocol, task
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.internet.interfaces import IAddress, IProtocol, IProtocolFactory
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from . import AbnormalClose, CleanClose, Options, Version, WebSocketProtocol, WebSocketServerFactory
from .codec import (
    BytesMessage,
    ClientConnection,
    CloseReceived,
    ConnectionFailed,
    ConnectionOpened,
    Event,
    ExtensionFactory,
    HandshakeFailed,
    Ping,
    Pong,
    PreparedMessage,
    State,
    TextMessage,
)

__all__ = [
    "CLIENT_ADDRESS",
    "SERVER_ADDRESS",
    "MemoryTransport",
    "ScriptedClient",
    "WebSocketPair",
    "connectApplication",
    "connectFactory",
]

#: The address of the server side of a L{WebSocketPair}, by default.
SERVER_ADDRESS = IPv4Address("TCP", "127.0.0.1", 8080)

#: The address of the client side of a L{WebSocketPair}, by default.
CLIENT_ADDRESS = IPv4Address("TCP", "127.0.0.1", 50000)

_E = TypeVar("_E", bound=Event)


class MemoryTransport(StringTransport):
    """
    One side's end of the in-memory connection of a L{WebSocketPair}: what
    its protocol writes waits here until L{WebSocketPair.flush} hands it to
    the other side.

    Writes after the connection ended are dropped, as a TCP transport drops
    them.

    @ivar aborted: whether the protocol called L{abortConnection} (the
        connection then ends at once, with what was still buffered thrown
        away).
    @ivar lost: whether the connection ended (both protocols got
        C{connectionLost}).
    """

    aborted = False
    lost = False

    def write(self, data: bytes) -> None:
        """Buffer C{data} for the other side, unless the connection ended."""
        if not self.lost:
            super().write(data)

    def writeSequence(self, data: Iterable[bytes]) -> None:
        """
        Buffer the joined C{data} for the other side, unless the connection
        ended.
        """
        if not self.lost:
            super().writeSequence(data)

    def abortConnection(self) -> None:
        """End the connection at once, throwing away what is buffered."""
        self.aborted = True
        super().abortConnection()


class ScriptedClient(protocol.Protocol):
    """
    A WebSocket client for tests: the codec's L{ClientConnection} driven by
    the test, recording everything that arrives.

    It sends its opening request as soon as it is connected, answers pings
    and the peer's close frame as the codec does, and ends its side of the
    TCP connection when the codec says to.  It has no timers: time moves
    only for the server, on the L{WebSocketPair}'s clock.

    A client-side application, if given, gets the callbacks of
    L{WebSocketProtocol} (C{negotiationStarted} with this client as its
    transport, C{negotiationFinished}, C{textMessageReceived} or
    C{utf8MessageReceived}, C{bytesMessageReceived}, C{pingReceived},
    C{pongReceived} and C{connectionLost} with a L{CleanClose} or
    L{AbnormalClose}), and sends through this client's sending methods.

    The sending methods raise what the codec raises: a send before the
    connection is open, or after it can no longer send, is the test's
    mistake and raises L{twisted_ws.codec.LocalProtocolError} (or its
    subclass L{twisted_ws.codec.ConnectionClosedError}).

    @ivar codec: the L{ClientConnection}.
    @ivar application: the client-side application, or L{None}.
    @ivar events: every codec event received, in order.
    @ivar messages: the messages received and not yet taken: L{str} for
        text, L{bytes} for binary.
    @ivar lostReason: the L{Failure} the TCP connection ended with, or
        L{None} while it is up.
    """

    transport: Any = None

    def __init__(
        self,
        host: str = "example.com",
        path: str = "/",
        *,
        version: Version = Version.RFC6455,
        origin: str | None = None,
        subprotocols: Sequence[str] = (),
        extensions: Sequence[ExtensionFactory] | None = None,
        headers: Iterable[tuple[str, str]] = (),
        secure: bool = False,
        options: Options | None = None,
        application: Any = None,
        randomSource: Callable[[int], bytes] = os.urandom,
    ) -> None:
        """
        @param host: the C{Host} header.
        @param path: the request target.
        @param version: the protocol L{Version} to speak.
        @param origin: the C{Origin} to claim (by default C{http://host} on
            the hixie versions, none on the others).
        @param subprotocols: the subprotocols to offer.
        @param extensions: the extension factories whose offers to make
            (by default those of C{options}).
        @param headers: extra request headers.
        @param secure: whether the client behaves as over TLS (C{wss://}).
        @param options: the client's codec L{Options}; by default the
            defaults, with messages and frames of up to 64 MiB.
        @param application: a client-side application, or L{None}.
        @param randomSource: where keys and masks come from.
        """
        if options is None:
            options = Options(maxMessageSize=64 << 20, maxFrameSize=64 << 20)
        self.codec = ClientConnection(
            host,
            path,
            version=version,
            origin=origin,
            subprotocols=subprotocols,
            extensions=extensions,
            headers=headers,
            secure=secure,
            options=options,
            randomSource=randomSource,
        )
        self.application = application
        self.events: list[Event] = []
        self.messages: list[str | bytes] = []
        self.lostReason: Failure | None = None

    # What the connection is.

    @property
    def version(self) -> Version | None:
        """The protocol L{Version} this client speaks."""
        return self.codec.version

    @property
    def subprotocol(self) -> str | None:
        """The subprotocol the server chose, or L{None}."""
        return self.codec.subprotocol

    @property
    def extensions(self) -> tuple[Any, ...]:
        """The negotiated extensions."""
        return self.codec.extensions

    @property
    def isOpen(self) -> bool:
        """
        Whether the opening handshake completed and neither side has started
        closing.
        """
        return self.codec.state is State.OPEN

    @property
    def opened(self) -> bool:
        """Whether the opening handshake completed."""
        return any(isinstance(e, ConnectionOpened) for e in self.events)

    @property
    def closeReceived(self) -> CloseReceived | None:
        """The server's close frame, once it arrived."""
        found = self.eventsOf(CloseReceived)
        return found[0] if found else None

    @property
    def handshakeFailure(self) -> HandshakeFailed | None:
        """
        How the opening handshake failed (C{status} is the server's HTTP
        status), or L{None}.
        """
        found = self.eventsOf(HandshakeFailed)
        return found[0] if found else None

    @property
    def failure(self) -> ConnectionFailed | None:
        """
        The protocol error of the server that failed the connection, or
        L{None}.
        """
        found = self.eventsOf(ConnectionFailed)
        return found[0] if found else None

    @property
    def closeCode(self) -> int | None:
        """
        The code that describes how the connection closed, as the client
        saw it (see C{Connection.closeCode} in L{twisted_ws.codec}); L{None}
        while nothing says it yet.
        """
        return self.codec.closeCode

    @property
    def closeReason(self) -> str:
        """The close reason, as the client saw it."""
        return self.codec.closeReason

    @property
    def wasClean(self) -> bool:
        """Whether the closing handshake completed."""
        return self.codec.wasClean

    @property
    def closedByPeer(self) -> bool:
        """Whether the server started the closing."""
        return self.codec.closedByPeer

    @property
    def disconnected(self) -> bool:
        """Whether the TCP connection ended."""
        return self.lostReason is not None

    def getPeer(self) -> IAddress:
        """The server's address."""
        return self.transport.getPeer()

    def getHost(self) -> IAddress:
        """The client's address."""
        return self.transport.getHost()

    # What arrived.

    def takeMessages(self) -> list[str | bytes]:
        """Remove and return the messages received so far."""
        taken, self.messages = self.messages, []
        return taken

    def eventsOf(self, kind: type[_E]) -> list[_E]:
        """
        The codec events of type C{kind} received so far (such as L{Pong}
        or L{CloseReceived}).
        """
        return [e for e in self.events if isinstance(e, kind)]

    # Sending.

    def sendTextMessage(self, text: str | bytes) -> None:
        """Queue a text message: a L{str}, or its UTF-8 bytes."""
        self.codec.sendTextMessage(text)
        self._write()

    def sendBytesMessage(self, data: bytes) -> None:
        """Queue a binary message."""
        self.codec.sendBytesMessage(data)
        self._write()

    def sendPreparedMessage(self, message: PreparedMessage) -> None:
        """Queue a L{PreparedMessage}."""
        self.codec.sendPreparedMessage(message)
        self._write()

    def ping(self, payload: bytes = b"") -> None:
        """Queue a ping."""
        self.codec.ping(payload)
        self._write()

    def pong(self, payload: bytes = b"") -> None:
        """Queue an unsolicited pong."""
        self.codec.pong(payload)
        self._write()

    def sendData(self, data: bytes) -> None:
        """Queue raw bytes, such as a malformed frame, past the codec."""
        self.transport.write(data)

    def close(self, code: int | None = 1000, reason: str = "") -> None:
        """
        Start the closing handshake with C{code} (L{None} for a close frame
        without a code) and C{reason}.
        """
        self.codec.close(code, reason)
        self._write()

    def loseConnection(self, code: int | None = 1000, reason: str = "") -> None:
        """
        The same as L{close}: the name a L{WebSocketProtocol}'s
        C{loseConnection} calls on its transport.
        """
        self.close(code, reason)

    def dropConnection(self) -> None:
        """
        End the TCP connection without a closing handshake, once what is
        queued was delivered.
        """
        self.transport.loseConnection()

    # The byte-level protocol.

    def connectionMade(self) -> None:
        """Send the opening request."""
        app = self.application
        if app is not None:
            app.negotiationStarted(self)
        self._write()

    def dataReceived(self, data: bytes) -> None:
        """Hand C{data} to the codec and its events to the application."""
        self._handle(self.codec.receiveData(data))
        self._write()

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        """The TCP connection ended: tell the codec and the application."""
        if self.lostReason is not None:
            return
        self.lostReason = reason
        self._handle(self.codec.receiveEOF())
        app = self.application
        if app is not None:
            codec = self.codec
            kind = CleanClose if codec.wasClean else AbnormalClose
            cause = codec.cause if codec.cause is not None else None if codec.wasClean else reason.value
            code = codec.closeCode if codec.closeCode is not None else 1006
            app.connectionLost(
                Failure(kind(code, codec.closeReason, codec.wasClean, codec.closedByPeer, cause))
            )

    def _write(self) -> None:
        """Write what the codec queued, and end TCP when the codec says to."""
        if self.transport is None:
            return
        chunks = self.codec.chunksToSend()
        if chunks:
            self.transport.writeSequence(chunks)
        if self.codec.shouldCloseTransport and not self.transport.disconnecting:
            self.transport.loseConnection()

    def _handle(self, events: list[Event]) -> None:
        """Record C{events} and call the application's callbacks."""
        app = self.application
        for event in events:
            self.events.append(event)
            if isinstance(event, TextMessage):
                self.messages.append(event.data)
                if app is not None:
                    receive = getattr(app, "utf8MessageReceived", None)
                    if receive is not None:
                        receive(event.utf8)
                    else:
                        app.textMessageReceived(event.data)
            elif isinstance(event, BytesMessage):
                self.messages.append(event.data)
                if app is not None:
                    app.bytesMessageReceived(event.data)
            elif app is None:
                continue
            elif isinstance(event, ConnectionOpened):
                app.negotiationFinished()
            elif isinstance(event, Ping):
                app.pingReceived(event.data)
            elif isinstance(event, Pong):
                app.pongReceived(event.data)


class WebSocketPair:
    """
    A server protocol and a client protocol connected over two
    L{MemoryTransport}s, with time on a L{task.Clock}.

    Nothing moves by itself: bytes written by either side wait in its
    transport until L{flush}, and timers wait for L{advance}.  When a side
    ends the connection (C{loseConnection}, or C{abortConnection} which
    throws away what it had buffered), L{flush} delivers what is left and
    then C{connectionLost} to both protocols: L{ConnectionDone}, or
    L{ConnectionLost} after an abort.

    @ivar clock: the clock the server's timers run on.
    @ivar server: the server's byte-level protocol.
    @ivar serverTransport: the server's transport; what it holds goes to the
        client.
    @ivar client: the client's protocol (a L{ScriptedClient}, or any
        protocol).
    @ivar clientTransport: the client's transport; what it holds goes to
        the server.
    @ivar oneByte: whether bytes are delivered one at a time (to find
        parsers that assume a whole message per read).
    @ivar maxRounds: how many rounds L{flush} moves bytes before it gives up
        on two sides that never go quiet.
    @ivar serverLostReason: the L{Failure} given to the server application's
        C{connectionLost} (its value is a L{twisted_ws.ConnectionClosed}
        with C{code}, C{reason}, C{wasClean} and C{closedByPeer}), or
        L{None} while it has not been called.
    """

    maxRounds = 10000

    def __init__(
        self,
        server: IProtocol,
        client: IProtocol,
        clock: task.Clock | None = None,
        *,
        oneByte: bool = False,
        serverAddress: IAddress = SERVER_ADDRESS,
        clientAddress: IAddress = CLIENT_ADDRESS,
    ) -> None:
        """
        Connect C{server} and C{client}: each gets C{makeConnection} with
        its transport, the server first.

        @param server: the server's protocol, such as one built by a
            L{WebSocketServerFactory}.
        @param client: the client's protocol.
        @param clock: the clock the server's timers run on (the reactor the
            server's factory was built with); a new one by default.
        @param oneByte: deliver bytes one at a time.
        @param serverAddress: the server's address.
        @param clientAddress: the client's address.
        """
        self.clock = clock if clock is not None else task.Clock()
        self.server = server
        self.client = client
        self.oneByte = oneByte
        self.serverLostReason: Failure | None = None
        self._watched: Any = None
        self._ended = False
        self.serverTransport = MemoryTransport(hostAddress=serverAddress, peerAddress=clientAddress)
        self.clientTransport = MemoryTransport(hostAddress=clientAddress, peerAddress=serverAddress)
        server.makeConnection(self.serverTransport)
        client.makeConnection(self.clientTransport)
        self._watchApplication()

    @property
    def serverApplication(self) -> Any:
        """
        The server's application protocol, once the opening request
        arrived (the C{application} of a L{WebSocketServerFactory}'s
        connection), or L{None}.
        """
        return getattr(self.server, "application", None)

    @property
    def disconnected(self) -> bool:
        """Whether the connection ended (both sides got C{connectionLost})."""
        return self._ended

    def flush(self) -> None:
        """
        Move bytes both ways, and end the connection when a side closed it,
        until nothing moves.

        @raise RuntimeError: the two sides still exchanged bytes after
            L{maxRounds} rounds.
        """
        for _ in range(self.maxRounds):
            moved = self._move(self.clientTransport, self.server)
            moved = self._move(self.serverTransport, self.client) or moved
            if not moved and not self._endIfClosed():
                return
        raise RuntimeError(f"the two sides were still sending after {self.maxRounds} rounds")

    def advance(self, seconds: float) -> None:
        """
        Move the clock on by C{seconds}, running the timers that come due,
        then L{flush}.
        """
        self.clock.advance(seconds)
        self.flush()

    def dropConnection(self, reason: Failure | None = None) -> None:
        """
        End the TCP connection under both sides at once, as a network
        failure does, without delivering what is buffered.

        @param reason: what both sides get in C{connectionLost}; by default
            a L{ConnectionLost}.
        """
        if self._ended:
            return
        self.serverTransport.clear()
        self.clientTransport.clear()
        self._end(reason if reason is not None else Failure(ConnectionLost("connection dropped")))

    def _move(self, source: MemoryTransport, sink: IProtocol) -> bool:
        """
        Deliver what C{source} holds to C{sink}; return whether there was
        anything.
        """
        data = source.value()
        if not data:
            return False
        source.clear()
        if self._ended:
            return True
        if self.oneByte:
            for i in range(len(data)):
                sink.dataReceived(data[i : i + 1])
        else:
            sink.dataReceived(data)
        self._watchApplication()
        return True

    def _endIfClosed(self) -> bool:
        """
        End the connection if a side closed its transport and has nothing
        left to deliver; return whether it did.
        """
        if self._ended:
            return False
        for transport in (self.serverTransport, self.clientTransport):
            if transport.aborted:
                transport.clear()
                self._end(Failure(ConnectionLost("connection aborted")))
                return True
            if transport.disconnecting and not transport.value():
                self._end(Failure(ConnectionDone("connection closed")))
                return True
        return False

    def _end(self, reason: Failure) -> None:
        """Give C{reason} to both protocols' C{connectionLost}."""
        self._ended = True
        for transport in (self.serverTransport, self.clientTransport):
            transport.lost = True
            transport.connected = False
            transport.disconnecting = True
        self._watchApplication()
        self.server.connectionLost(reason)
        self.client.connectionLost(reason)

    def _watchApplication(self) -> None:
        """
        Record the failure the server application gets in C{connectionLost}
        (L{serverLostReason}), once there is an application.
        """
        app = self.serverApplication
        if app is None or app is self._watched:
            return
        self._watched = app
        original = app.connectionLost

        def connectionLost(reason: Failure) -> None:
            self.serverLostReason = reason
            original(reason)

        try:
            app.connectionLost = connectionLost
        except AttributeError:  # an application with __slots__: not recorded
            pass


def connectFactory(
    factory: IProtocolFactory,
    client: IProtocol | None = None,
    *,
    clock: task.Clock | None = None,
    oneByte: bool = False,
    serverAddress: IAddress = SERVER_ADDRESS,
    clientAddress: IAddress = CLIENT_ADDRESS,
    **clientArgs: Any,
) -> WebSocketPair:
    """
    Connect a client to a protocol built by C{factory} (a
    L{WebSocketServerFactory}, a C{twisted.web} site serving a
    L{twisted_ws.WebSocketResource}, or any server factory), and flush, so
    that the opening handshake is done.

    @param factory: the server's factory; its C{reactor} must be the clock
        (build it with C{reactor=task.Clock()}), unless C{clock} is given.
    @param client: the client's protocol; by default a L{ScriptedClient}
        built with C{clientArgs}.
    @param clock: the clock the factory's timers run on.
    @param oneByte: deliver bytes one at a time.
    @param serverAddress: the server's address.
    @param clientAddress: the client's address.
    @param clientArgs: the arguments of L{ScriptedClient} (C{path},
        C{version}, C{subprotocols}, C{headers}, C{application}, ...).
    @raise ValueError: no C{clock} is given and the factory's reactor is not
        a L{task.Clock}, so the test could not move its time.
    @raise TypeError: both C{client} and C{clientArgs} are given.
    """
    if clock is None:
        clock = getattr(factory, "reactor", None)
        if not isinstance(clock, task.Clock):
            raise ValueError(
                f"the reactor of {factory!r} is {clock!r}, not a task.Clock: build the factory "
                "with reactor=task.Clock(), or pass clock= with the clock its timers use"
            )
    if client is None:
        client = ScriptedClient(**clientArgs)
    elif clientArgs:
        raise TypeError(f"client arguments {sorted(clientArgs)} given with a client protocol")
    server = factory.buildProtocol(clientAddress)
    if server is None:
        raise ValueError(f"{factory!r} refused the connection (buildProtocol returned None)")
    pair = WebSocketPair(
        server,
        client,
        clock,
        oneByte=oneByte,
        serverAddress=serverAddress,
        clientAddress=clientAddress,
    )
    pair.flush()
    return pair


def connectApplication(
    serverProtocol: type[WebSocketProtocol] | Callable[[], Any],
    options: Options | None = None,
    client: IProtocol | None = None,
    *,
    clock: task.Clock | None = None,
    oneByte: bool = False,
    **clientArgs: Any,
) -> WebSocketPair:
    """
    Serve C{serverProtocol} with a L{WebSocketServerFactory} on a new clock,
    connect a client to it, and flush, so that the opening handshake is
    done.

    @param serverProtocol: the server application: a L{WebSocketProtocol}
        subclass, or anything the factory can call to build one.
    @param options: the server's L{Options}.
    @param client: the client's protocol; by default a L{ScriptedClient}
        built with C{clientArgs}.
    @param clock: the clock for the server's timers; a new one by default.
    @param oneByte: deliver bytes one at a time.
    @param clientArgs: the arguments of L{ScriptedClient} (C{path},
        C{version}, C{subprotocols}, C{headers}, C{application} for a
        client-side application, ...).
    @return: the connected L{WebSocketPair}.
    """
    clock = clock if clock is not None else task.Clock()
    factory = WebSocketServerFactory(serverProtocol, options, reactor=clock)  # type: ignore[arg-type]
    return connectFactory(factory, client, clock=clock, oneByte=oneByte, **clientArgs)
