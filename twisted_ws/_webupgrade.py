"""
Hand the TCP connection of a C{twisted.web} request over to another
protocol (a WebSocket connection), for L{twisted_ws.WebSocketResource}.

twisted.web has no public way to do this: every private attribute of
L{HTTPChannel} involved is reached through L{twisted_ws._twistedinternals},
whose self-check (C{tests/test_twistedinternals.py}) fails loudly when a
Twisted upgrade changes them.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.interfaces import IProtocol

from ._twistedinternals import (
    CHANNEL_ATTRIBUTES,
    channelNetworkProducer,
    redirectChannel,
    takeChannelBuffer,
)

__all__ = ["upgradeChannel", "checkChannelSupportsUpgrade"]

#: The private attributes of HTTPChannel the upgrade relies on.
_REQUIRED = CHANNEL_ATTRIBUTES


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


def upgradeChannel(channel: Any, protocol: IProtocol, body: bytes = b"") -> None:
    """
    Hand the TCP connection of C{channel} (an L{HTTPChannel} that is
    rendering a request) over to C{protocol}, which then gets every later
    byte: first C{body} (what twisted.web read as the request's body), then
    those that followed the request head, then everything read later.
    """
    checkChannelSupportsUpgrade(channel)
    transport = channel.transport
    pending = takeChannelBuffer(channel)
    redirectChannel(channel, protocol)
    channel.setTimeout(None)
    # HTTPChannel may have paused the transport while it held pipelined
    # data, and registered itself as the transport's producer; the new
    # protocol registers its own.
    producer = channelNetworkProducer(channel)
    if getattr(transport, "producer", None) is not None:
        transport.unregisterProducer()
    protocol.makeConnection(transport)
    # Resume before the held bytes are handed over, so that the new
    # protocol's own pause, if those bytes make it pause, is the last word.
    try:
        producer.resumeProducing()
    except Exception:  # pragma: no cover - a transport that cannot resume
        pass
    data = body + pending
    if data:
        protocol.dataReceived(data)
