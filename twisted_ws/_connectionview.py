# -*- test-case-name: tests.test_testing -*-
"""
L{ConnectionView}: what a WebSocket connection that drives a codec
connection (its C{codec}) over a Twisted transport (its C{transport}) says
about itself, read off the two.

L{twisted_ws.WebSocketConnection} and
L{twisted_ws.testing.ScriptedClient} take these from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .codec import State

if TYPE_CHECKING:
    from twisted.internet.interfaces import IAddress

    from .codec import Version

__all__ = ["ClosingView", "ConnectionView"]


class ConnectionView:
    """
    The version, subprotocol, extensions and addresses of a connection, for
    a class with a C{codec} (a codec connection) and a C{transport}.
    """

    __slots__ = ()

    codec: Any
    transport: Any

    @property
    def version(self) -> Version | None:
        """The protocol L{Version} of this connection, once known."""
        return self.codec.version

    @property
    def subprotocol(self) -> str | None:
        """The negotiated subprotocol, or L{None}."""
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

    def getPeer(self) -> IAddress:
        """The peer's address."""
        return self.transport.getPeer()

    def getHost(self) -> IAddress:
        """This side's address."""
        return self.transport.getHost()


class ClosingView:
    """
    How the connection of a class with a C{codec} closed, as this side saw
    it.
    """

    __slots__ = ()

    codec: Any

    @property
    def closeCode(self) -> int | None:
        """
        The code that describes how the connection closed, as this side saw
        it (see C{Connection.closeCode} in L{twisted_ws.codec}); L{None}
        while nothing says it yet.
        """
        return self.codec.closeCode

    @property
    def closeReason(self) -> str:
        """The close reason, as this side saw it."""
        return self.codec.closeReason

    @property
    def wasClean(self) -> bool:
        """Whether the closing handshake completed."""
        return self.codec.wasClean

    @property
    def closedByPeer(self) -> bool:
        """Whether the peer started the closing."""
        return self.codec.closedByPeer
