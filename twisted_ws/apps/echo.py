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

from twisted.internet.interfaces import IPushProducer
from zope.interface import implementer

from twisted_ws import Options, WebSocketProtocol, WebSocketServerFactory

#: Options the echo application uses unless told otherwise: the conformance
#: suite (Autobahn case 9.x) sends messages and single frames of 16 MiB, so
#: the limits are 32 MiB.
defaultOptions: dict[str, Any] = {
    "maxMessageSize": 32 * 1024 * 1024,
    "maxFrameSize": 32 * 1024 * 1024,
}


@implementer(IPushProducer)
class _ReadThrottle:
    """
    Stop reading from a client while what is echoed to it cannot be
    written, so that a client that sends without reading cannot grow the
    server's memory.
    """

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def pauseProducing(self) -> None:
        self.connection.pauseReading()

    def resumeProducing(self) -> None:
        self.connection.resumeReading()

    def stopProducing(self) -> None:
        pass


class EchoProtocol(WebSocketProtocol):
    """
    Send every message back as it came.
    """

    def negotiationFinished(self) -> None:
        """
        Read from the client only while its echoes can be written.
        """
        attach = getattr(self.transport, "attachProducer", None)
        if attach is not None and hasattr(self.transport, "pauseReading"):
            attach(_ReadThrottle(self.transport))

    def textMessageReceived(self, message: str) -> None:
        """
        Send a text message back.
        """
        self.transport.sendTextMessage(message)

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
