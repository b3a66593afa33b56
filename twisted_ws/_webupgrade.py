"""
Everything that touches the private machinery of C{twisted.web}'s
L{HTTPChannel} lives here, so that a Twisted upgrade that changes it breaks
one module, and its test (C{tests/test_webupgrade.py}) fails loudly.

To hand a connection from C{twisted.web} to a WebSocket protocol, the
channel's C{dataReceived}, C{rawDataReceived} and C{connectionLost} are
pointed at the WebSocket protocol.  C{rawDataReceived} matters: the bytes
that arrived in the same read as the request head (hixie-76's 8 bytes of
key3, or a client's first frames) are still in the channel's line buffer
while the resource renders, and L{LineReceiver} hands them to
C{rawDataReceived} once rendering returns.  Bytes the channel already set
aside for a pipelined request are handed over too.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.interfaces import IProtocol

__all__ = ["upgradeChannel", "checkChannelSupportsUpgrade"]

#: The private attributes of HTTPChannel this module relies on.
_REQUIRED = ("_dataBuffer", "_networkProducer", "rawDataReceived", "dataReceived", "connectionLost")


def checkChannelSupportsUpgrade(channel: Any) -> None:
    """
    Make sure C{channel} still has the private attributes that
    L{upgradeChannel} relies on.

    @raise RuntimeError: it does not; the installed Twisted changed.
    """
    missing = [name for name in _REQUIRED if not hasattr(channel, name)]
    if missing:
        raise RuntimeError(
            "twisted.web's HTTPChannel no longer has "
            + ", ".join(missing)
            + "; twisted_ws.WebSocketResource does not support this Twisted version"
        )


def upgradeChannel(channel: Any, protocol: IProtocol) -> None:
    """
    Hand the TCP connection of C{channel} (an L{HTTPChannel} that is
    rendering a request) over to C{protocol}, which then gets every later
    byte, starting with those that followed the request head.
    """
    checkChannelSupportsUpgrade(channel)
    transport = channel.transport
    pending = b"".join(channel._dataBuffer)
    channel._dataBuffer = []
    channel.dataReceived = protocol.dataReceived
    channel.rawDataReceived = protocol.dataReceived
    channel.connectionLost = protocol.connectionLost
    # HTTPChannel may have paused the transport while it held pipelined data.
    producer = channel._networkProducer
    channel.setTimeout(None)
    # HTTPChannel registered itself as the transport's producer; the
    # WebSocket protocol registers itself instead.
    if getattr(transport, "producer", None) is not None:
        transport.unregisterProducer()
    protocol.makeConnection(transport)
    if pending:
        protocol.dataReceived(pending)
    try:
        producer.resumeProducing()
    except Exception:  # pragma: no cover - a transport that cannot resume
        pass
