# -*- test-case-name: tests.test_apps -*-
"""
An echo server: every text and binary message goes back to its sender, on
every protocol version (hixie connections carry text only, so only text
comes back on them).

This is what the conformance suite and the benchmarks run against::

    twistd -n --pidfile= websocket --app echo --listen tcp:9001:interface=127.0.0.1
"""

from __future__ import annotations

from typing import Any

from twisted_ws import Options, WebSocketProtocol, WebSocketServerFactory

#: Options the echo application uses unless told otherwise: the conformance
#: suite (Autobahn case 9.x) sends messages and single frames of 16 MiB, so
#: the limits are 32 MiB.
defaultOptions: dict[str, Any] = {
    "maxMessageSize": 32 * 1024 * 1024,
    "maxFrameSize": 32 * 1024 * 1024,
}


class EchoProtocol(WebSocketProtocol):
    """
    Send every message back as it came.  A client that sends without
    reading is held back by the connection's own back-pressure: once more
    than C{Options.writeHighWater} waits to be written to it, its messages
    are no longer read.
    """

    def utf8MessageReceived(self, data: bytes) -> None:
        """
        Send a text message back, as the UTF-8 bytes it arrived as: it is
        checked to be UTF-8 on arrival and never decoded.
        """
        self.transport.sendTextMessage(data)

    def bytesMessageReceived(self, data: bytes) -> None:
        """
        Send a binary message back.
        """
        self.transport.sendBytesMessage(data)


def makeFactory(options: Options | None = None) -> WebSocketServerFactory:
    """
    Make the echo factory.

    @param options: the connection options; by default L{defaultOptions}.
    """
    if options is None:
        options = Options(**defaultOptions)
    return WebSocketServerFactory(EchoProtocol, options=options)
