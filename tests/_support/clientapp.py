"""
A client application for the loopback tests of the Twisted client: it hands
each message it receives to a waiting Deferred.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import defer
from twisted.python.failure import Failure

from twisted_ws import WebSocketProtocol


class Client(WebSocketProtocol):
    """
    A client application that hands each message to a waiting Deferred.
    """

    def __init__(self) -> None:
        self.waiting: defer.Deferred[Any] | None = None
        self.lost: defer.Deferred[Any] = defer.Deferred()

    def next(self) -> defer.Deferred[Any]:
        self.waiting = defer.Deferred()
        return self.waiting

    def textMessageReceived(self, message: str) -> None:
        self._got(message)

    def bytesMessageReceived(self, data: bytes) -> None:
        self._got(data)

    def _got(self, message: Any) -> None:
        d, self.waiting = self.waiting, None
        if d is not None:
            d.callback(message)

    def connectionLost(self, reason: Failure) -> None:
        self.lost.callback(reason.value)
