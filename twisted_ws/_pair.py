# -*- test-case-name: tests.test_testing -*-
"""
L{WebSocketPair}, two protocols of L{twisted_ws.testing} connected over
in-memory transports (L{MemoryTransport}), with time on a clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from twisted.internet import task
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.internet.interfaces import IAddress, IProtocol
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

__all__ = ["CLIENT_ADDRESS", "SERVER_ADDRESS", "MemoryTransport", "WebSocketPair"]

#: The address of the server side of a L{WebSocketPair}, by default.
SERVER_ADDRESS = IPv4Address("TCP", "127.0.0.1", 8080)

#: The address of the client side of a L{WebSocketPair}, by default.
CLIENT_ADDRESS = IPv4Address("TCP", "127.0.0.1", 50000)



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

