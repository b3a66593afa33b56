# -*- test-case-name: tests.test_pubsub_redis -*-
"""
The connections of L{RedisHub<twisted_ws.pubsub.RedisHub>} to Redis: a
L{Link} keeps one up (connect, prepare, and after a failure or a loss,
wait by the hub's retry policy and connect again) and tells its hub, which
logs, when it is up, down, or cannot be reached.

A hub has two: one for commands and one subscribed to the channels that
have local subscribers.  This module owns the reconnecting (not
C{txredisapi}'s pool), so that an outage is logged once and every channel
is subscribed to again on reconnection.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from twisted.internet.defer import CancelledError, Deferred, maybeDeferred, succeed
from twisted.internet.protocol import Factory
from twisted.python.failure import Failure

try:
    import txredisapi
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError(
        "twisted_ws.pubsub.RedisHub needs txredisapi: pip install 'twisted_ws[redis]'"
    ) from e

if TYPE_CHECKING:
    from ._redis import RedisHub

__all__ = ["Link", "CommandProtocol", "SubscriberProtocol"]


class CommandProtocol(txredisapi.RedisProtocol):  # type: ignore[misc,name-defined]
    """
    A command connection that tells its link when it is lost.
    """

    link: Link

    def connectionLost(self, why: Failure) -> None:
        try:
            super().connectionLost(why)
        finally:
            self.link.lost(self, why)


class SubscriberProtocol(txredisapi.SubscriberProtocol):  # type: ignore[misc,name-defined]
    """
    A subscribed connection that hands messages to the hub and tells its
    link when it is lost.
    """

    link: Link

    def messageReceived(self, pattern: Any, channel: Any, message: Any) -> None:
        self.link.hub._redisMessage(channel, message)

    def connectionLost(self, why: Failure) -> None:
        try:
            super().connectionLost(why)
        finally:
            self.link.lost(self, why)


class LinkFactory(Factory):
    """
    Builds the protocols of one link: bytes in and out (no decoding, no
    number conversion), the link's reactor for txredisapi's timers.
    """

    noisy = False

    def __init__(self, link: Link) -> None:
        self.link = link

    def buildProtocol(self, addr: Any) -> Any:
        link = self.link
        proto = link.protocolClass(
            charset=None, convertNumbers=False, replyTimeout=link.hub.replyTimeout
        )
        proto.factory = self
        proto.link = link
        proto.callLater = link.hub.reactor.callLater
        return proto


class Link:
    """
    One connection to Redis, kept up: connect, prepare (C{AUTH}, C{SELECT},
    resubscribing), and after a failure or loss, wait by the retry policy
    and connect again.  Reports to the hub, which logs.

    @ivar protocol: the protocol once prepared and until lost, or L{None}.
    """

    def __init__(
        self,
        hub: RedisHub,
        role: str,
        protocolClass: type,
        prepare: Callable[[Any], Any],
    ) -> None:
        self.hub = hub
        self.role = role
        self.protocolClass = protocolClass
        self.prepare = prepare
        self.protocol: Any = None
        self._current: Any = None
        self._connecting: Deferred[Any] | None = None
        self._retry: Any = None
        self._attempt = 0
        self._stopped = True
        self._stopWaiters: list[Deferred[None]] = []

    def start(self) -> None:
        self._stopped = False
        self._connect()

    def _connect(self) -> None:
        self._retry = None
        if self._stopped:
            return
        d = self._connecting = self.hub.endpoint.connect(LinkFactory(self))
        d.addCallbacks(self._connected, self._failed)

    def _connected(self, proto: Any) -> None:
        self._connecting = None
        self._current = proto
        if self._stopped:
            proto.transport.loseConnection()
            return
        d = maybeDeferred(self.prepare, proto)
        d.addCallbacks(lambda _: self._ready(proto), lambda f: self._prepareFailed(proto, f))

    def _ready(self, proto: Any) -> None:
        if self._current is not proto or self._stopped:
            return
        self.protocol = proto
        self._attempt = 0
        self.hub._linkUp(self)

    def _prepareFailed(self, proto: Any, failure: Failure) -> None:
        if self._current is proto:
            self.hub._linkFailed(self, failure)
            proto.transport.abortConnection()

    def _failed(self, failure: Failure) -> None:
        self._connecting = None
        if self._stopped or failure.check(CancelledError):
            return
        self.hub._linkFailed(self, failure)
        self._scheduleRetry()

    def lost(self, proto: Any, reason: Failure) -> None:
        """
        The connection of C{proto} ended.
        """
        if self._current is not proto:
            return
        self._current = None
        wasUp = self.protocol is proto
        self.protocol = None
        if self._stopped:
            waiters, self._stopWaiters = self._stopWaiters, []
            for d in waiters:
                d.callback(None)
            return
        if wasUp:
            self.hub._linkDown(self, reason)
        self._scheduleRetry()

    def _scheduleRetry(self) -> None:
        self._attempt += 1
        delay = self.hub.retryPolicy(self._attempt)
        self._retry = self.hub.reactor.callLater(delay, self._connect)

    def stop(self) -> Deferred[None]:
        """
        Stop reconnecting and close the connection.

        @return: a L{Deferred} that fires once it is closed.
        """
        self._stopped = True
        if self._retry is not None and self._retry.active():
            self._retry.cancel()
        self._retry = None
        if self._connecting is not None:
            self._connecting.cancel()
            self._connecting = None
        proto = self._current
        if proto is None:
            return succeed(None)
        d: Deferred[None] = Deferred()
        self._stopWaiters.append(d)
        proto.transport.loseConnection()
        return d
