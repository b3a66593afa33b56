"""
What a server counts about its connections, in plain integers: a
L{ConnectionStats} per L{twisted_ws.WebSocketServerFactory} (its C{stats},
L{None} unless metrics are wanted), updated by the connections at the few
events worth counting, and read by whatever exports them
(L{twisted_ws.metrics}) when it is asked.

Nothing here imports a metrics library, and a connection whose factory has
no C{stats} pays one attribute test per event and nothing else.
"""

from __future__ import annotations

from typing import Any

from .codec import BytesMessage, TextMessage

__all__ = ["ConnectionStats", "enableStats"]

class ConnectionStats:
    """
    The counters of one factory's connections.

    @ivar app: the application's name, the C{app} label of its figures.
    @ivar open: open connections by protocol version label.
    @ivar connections: connections that completed the opening handshake.
    @ivar handshakeFailures: failed or refused opening handshakes by HTTP
        status.
    @ivar closes: ended connections (that had opened) by C{(code, clean)}.
    @ivar textReceived: text messages received.
    @ivar binaryReceived: binary messages received.
    @ivar textBytesReceived: UTF-8 bytes of the text messages received.
    @ivar binaryBytesReceived: bytes of the binary messages received.
    @ivar textSent: text messages sent.
    @ivar binarySent: binary messages sent.
    @ivar textBytesSent: UTF-8 bytes of the text messages sent.
    @ivar binaryBytesSent: bytes of the binary messages sent.
    @ivar backpressure: times a connection paused because its send buffer
        was over C{Options.writeHighWater}.
    @ivar slowConsumersDropped: connections the pub/sub hub dropped for
        not reading (counted by the hub where it drops them).
    """

    __slots__ = (
        "app",
        "open",
        "connections",
        "handshakeFailures",
        "closes",
        "textReceived",
        "binaryReceived",
        "textBytesReceived",
        "binaryBytesReceived",
        "textSent",
        "binarySent",
        "textBytesSent",
        "binaryBytesSent",
        "backpressure",
        "slowConsumersDropped",
    )

    def __init__(self, app: str = "") -> None:
        self.app = app
        self.open: dict[str, int] = {}
        self.connections = 0
        self.handshakeFailures: dict[int, int] = {}
        self.closes: dict[tuple[int, bool], int] = {}
        self.textReceived = 0
        self.binaryReceived = 0
        self.textBytesReceived = 0
        self.binaryBytesReceived = 0
        self.textSent = 0
        self.binarySent = 0
        self.textBytesSent = 0
        self.binaryBytesSent = 0
        self.backpressure = 0
        self.slowConsumersDropped = 0

    def opened(self, version: str) -> None:
        """
        A connection of protocol version C{version} (its label) opened.
        """
        self.connections += 1
        self.open[version] = self.open.get(version, 0) + 1

    def closed(self, version: str, code: int, clean: bool, reason: str = "") -> None:
        """
        A connection that had opened ended with C{code}.
        """
        left = self.open.get(version, 0) - 1
        self.open[version] = left if left > 0 else 0
        key = (code, bool(clean))
        self.closes[key] = self.closes.get(key, 0) + 1

    def handshakeFailed(self, status: int) -> None:
        """
        An opening handshake failed or was refused with HTTP C{status}.
        """
        self.handshakeFailures[status] = self.handshakeFailures.get(status, 0) + 1

    def received(self, events: list) -> None:
        """
        Count the messages among the codec events C{events}, once each.
        """
        text = binary = textBytes = binaryBytes = 0
        for event in events:
            cls = event.__class__
            if cls is TextMessage:
                text += 1
                textBytes += len(event.utf8)
            elif cls is BytesMessage:
                binary += 1
                binaryBytes += len(event.data)
        if text:
            self.textReceived += text
            self.textBytesReceived += textBytes
        if binary:
            self.binaryReceived += binary
            self.binaryBytesReceived += binaryBytes

    def sentText(self, text: str | bytes) -> None:
        """
        A text message (C{str}, or its UTF-8 bytes) was sent.
        """
        self.textSent += 1
        if text.__class__ is bytes or text.isascii():  # type: ignore[union-attr]
            self.textBytesSent += len(text)
        else:
            self.textBytesSent += len(text.encode("utf-8"))  # type: ignore[union-attr]

    def sentBytes(self, data: bytes) -> None:
        """
        A binary message was sent.
        """
        self.binarySent += 1
        self.binaryBytesSent += len(data)


def enableStats(factory: Any, app: str = "") -> ConnectionStats:
    """
    Give C{factory} (a L{twisted_ws.WebSocketServerFactory}) a
    L{ConnectionStats}, so that the connections it builds from now on count
    into it, and return it.
    """
    stats = getattr(factory, "stats", None)
    if stats is None:
        stats = ConnectionStats(app)
        factory.stats = stats
    return stats
