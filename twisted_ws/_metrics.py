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

__all__ = ["ConnectionStats", "enableStats"]

#: How many sent messages' sizes a L{ConnectionStats} holds before it adds
#: them into its counters.
_FOLD_AT = 4096


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
        "_textSent",
        "_binarySent",
        "_textBytesSent",
        "_binaryBytesSent",
        "textSentSizes",
        "binarySentSizes",
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
        self._textSent = 0
        self._binarySent = 0
        self._textBytesSent = 0
        self._binaryBytesSent = 0
        #: The sizes of the messages sent since the last L{fold}: a send
        #: appends one small int, which costs a quarter of adding to two
        #: large counters.  Kept short by L{foldIfLong}.
        self.textSentSizes: list[int] = []
        self.binarySentSizes: list[int] = []
        self.backpressure = 0
        self.slowConsumersDropped = 0

    def opened(self, version: str) -> None:
        """
        A connection of protocol version C{version} (its label) opened.
        """
        self.connections += 1
        self.open[version] = self.open.get(version, 0) + 1

    def closed(self, version: str, code: int, clean: bool) -> None:
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

    def received(self, text: int, textBytes: int, binary: int, binaryBytes: int) -> None:
        """
        Count messages received: C{text} text messages of C{textBytes}
        UTF-8 bytes and C{binary} binary messages of C{binaryBytes} bytes.
        """
        if text:
            self.textReceived += text
            self.textBytesReceived += textBytes
        if binary:
            self.binaryReceived += binary
            self.binaryBytesReceived += binaryBytes

    def fold(self) -> None:
        """
        Add the sizes recorded by the sends into the sent counters.
        """
        sizes = self.textSentSizes
        if sizes:
            self._textSent += len(sizes)
            self._textBytesSent += sum(sizes)
            sizes.clear()
        sizes = self.binarySentSizes
        if sizes:
            self._binarySent += len(sizes)
            self._binaryBytesSent += sum(sizes)
            sizes.clear()

    def foldIfLong(self) -> None:
        """
        L{fold} once either list of sizes holds more than L{_FOLD_AT}
        entries, so that the lists stay bounded between scrapes.
        """
        if len(self.binarySentSizes) > _FOLD_AT or len(self.textSentSizes) > _FOLD_AT:
            self.fold()

    def _sent(name: str, doc: str) -> property:  # type: ignore[misc]
        def get(self: ConnectionStats) -> int:
            self.fold()
            return getattr(self, name)  # type: ignore[no-any-return]

        def set(self: ConnectionStats, value: int) -> None:
            self.fold()
            setattr(self, name, value)

        return property(get, set, doc=doc)

    textSent = _sent("_textSent", "Text messages sent.")
    binarySent = _sent("_binarySent", "Binary messages sent.")
    textBytesSent = _sent("_textBytesSent", "UTF-8 bytes of the text messages sent.")
    binaryBytesSent = _sent("_binaryBytesSent", "Bytes of the binary messages sent.")
    del _sent

    def sentText(self, text: str | bytes) -> None:
        """
        A text message (C{str}, or its UTF-8 bytes) was sent.
        """
        self.textSentSizes.append(utf8Size(text))
        self.foldIfLong()

    def sentBytes(self, data: bytes) -> None:
        """
        A binary message was sent.
        """
        self.binarySentSizes.append(len(data))
        self.foldIfLong()


def utf8Size(text: str | bytes) -> int:
    """
    @return: the length of C{text} in UTF-8 bytes.
    """
    if text.__class__ is bytes or text.isascii():  # type: ignore[union-attr]
        return len(text)
    return len(text.encode("utf-8"))  # type: ignore[union-attr]


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
