"""
Plain stream protocols and factories for the tests of what carries a
byte stream over WebSocket (the wrapping factory, the ws: endpoints).
"""

from __future__ import annotations

from typing import Any

from twisted.internet.protocol import Factory, Protocol, connectionDone
from twisted.python.failure import Failure


class Recorder(Protocol):
    """
    A stream protocol that records what it receives and how it ended.
    """

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.lost: list[Failure] = []

    def dataReceived(self, data: bytes) -> None:
        self.received.append(data)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.lost.append(reason)


class Refusing(Factory):
    """
    A factory that builds no protocol, as a factory that refuses a
    connection does.
    """

    def buildProtocol(self, addr: Any) -> None:  # type: ignore[override]
        return None
