# -*- test-case-name: tests.test_pubsub_redis -*-
"""
The connections of L{RedisHub<twisted_ws.pubsub.RedisHub>} to Redis: a
L{Link} keeps one up (connect, prepare, and after a failure or a loss,
wait by the hub's retry policy and connect again) and tells its L{Links}
when it is up, down, or cannot be reached.

A hub has two, held by one L{Links}: one for commands and one subscribed
to the channels that have local subscribers.  L{Links} prepares them,
says whether both are up, and logs.  This module owns the reconnecting
(not C{txredisapi}'s pool), so that an outage is logged once and every
channel is subscribed to again on reconnection.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from twisted.internet.defer import (
    CancelledError,
    Deferred,
    fail,
    gatherResults,
    maybeDeferred,
    succeed,
)
from twisted.internet.protocol import Factory
from twisted.logger import Logger
from twisted.python.failure import Failure

from ._core import HubError

try:
    import txredisapi
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError(
        "twisted_ws.pubsub.RedisHub needs txredisapi: pip install 'twisted_ws[redis]'"
    ) from e

if TYPE_CHECKING:
    from ._redis import RedisHub
    from ._redismessages import RedisMessages
    from ._redispresence import RedisPresence

__all__ = ["Links", "Link", "CommandProtocol", "SubscriberProtocol"]

_log = Logger(namespace="twisted_ws.pubsub.redis")


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
    A subscribed connection that hands messages to its hub's
    L{RedisMessages<twisted_ws.pubsub._redismessages.RedisMessages>} and
    tells its link when it is lost.
    """

    link: Link

    def messageReceived(self, pattern: Any, channel: Any, message: Any) -> None:
        self.link.links.messages.received(channel, message)

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
    and connect again.  Reports to its L{Links}, which logs.

    @ivar hub: the L{RedisHub}, for its settings.
    @ivar protocol: the protocol once prepared and until lost, or L{None}.
    """

    def __init__(
        self,
        links: Links,
        role: str,
        protocolClass: type,
        prepare: Callable[[Any], Any],
    ) -> None:
        self.links = links
        self.hub = links.hub
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
        self.links.up(self)

    def _prepareFailed(self, proto: Any, failure: Failure) -> None:
        if self._current is proto:
            self.links.failed(self, failure)
            proto.transport.abortConnection()

    def _failed(self, failure: Failure) -> None:
        self._connecting = None
        if self._stopped or failure.check(CancelledError):
            return
        self.links.failed(self, failure)
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
            self.links.down(self, reason)
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


class Links:
    """
    The two connections of a hub to Redis, one for commands and one
    subscribed: preparing them (C{AUTH}, C{SELECT}, subscribing again),
    whether both are up, and the log of an outage, once for the outage
    rather than once per attempt.

    @ivar hub: the L{RedisHub}, for its settings.
    @ivar presence: the hub's L{RedisPresence}, restored on reconnection.
    @ivar messages: the hub's L{RedisMessages}, which subscribes again.
    @ivar commands: the L{Link} of the command connection.
    @ivar subscriber: the L{Link} of the subscribed connection.
    """

    def __init__(self, hub: RedisHub, presence: RedisPresence, messages: RedisMessages) -> None:
        self.hub = hub
        self.presence = presence
        self.messages = messages
        self.commands = Link(self, "command", CommandProtocol, self._prepareCommand)
        self.subscriber = Link(self, "subscriber", SubscriberProtocol, self._prepareSubscriber)
        self._outage = False
        self._everAvailable = False
        self._availableWaiters: list[Deferred[None]] = []

    def start(self) -> None:
        self.commands.start()
        self.subscriber.start()

    def stop(self) -> Deferred[Any]:
        """
        Close both connections and stop reconnecting.
        """
        return gatherResults([self.commands.stop(), self.subscriber.stop()])

    @property
    def commandsUp(self) -> bool:
        return self.commands.protocol is not None

    @property
    def available(self) -> bool:
        return self.commands.protocol is not None and self.subscriber.protocol is not None

    def whenAvailable(self) -> Deferred[None]:
        if self.available:
            return succeed(None)
        d: Deferred[None] = Deferred()
        self._availableWaiters.append(d)
        return d

    def command(self, *args: Any) -> Deferred[Any]:
        """
        Run a command on the command connection; fails with
        L{HubError} at once if it is down.
        """
        proto = self.commands.protocol
        if proto is None:
            return fail(HubError("Redis is unavailable"))
        try:
            return proto.execute_command(*args)  # type: ignore[no-any-return]
        except Exception:
            return fail()

    def ping(self) -> None:
        """
        The subscribed connection only receives: a PING tells whether Redis
        still answers on it, and it is dropped (and made again) if not.
        """
        subscribed = self.subscriber.protocol
        if subscribed is not None:
            ping = subscribed.ping()
            ping.addTimeout(self.hub.replyTimeout, self.hub.reactor)
            ping.addErrback(lambda _: subscribed.transport.abortConnection())

    # Preparing a new connection.

    def _authenticate(self, proto: Any) -> Deferred[Any]:
        hub = self.hub
        if hub.password is None:
            return succeed(None)
        args = ("AUTH", hub.username, hub.password) if hub.username else ("AUTH", hub.password)
        return proto.execute_command(*args)  # type: ignore[no-any-return]

    def _prepareCommand(self, proto: Any) -> Deferred[Any]:
        d = self._authenticate(proto)
        if self.hub.db:
            d.addCallback(lambda _: proto.execute_command("SELECT", self.hub.db))
        return d

    def _prepareSubscriber(self, proto: Any) -> Deferred[Any]:
        d = self._authenticate(proto)
        d.addCallback(lambda _: self.messages.resubscribe(proto))
        return d

    # What the links report.

    def up(self, link: Link) -> None:
        """
        C{link} is connected and prepared.
        """
        if link is self.commands:
            self.presence.restore()
        else:
            self.messages.catchUp(link.protocol)
        if not self.available:
            return
        if not self._everAvailable:
            _log.info("RedisHub: connected to {url}", url=self.hub.description)
        elif self._outage:
            _log.info(
                "RedisHub: reconnected to {url}; subscribed again to {channels} channels "
                "and restored {members} members",
                url=self.hub.description,
                channels=len(self.hub.local.subscribers),
                members=len(self.presence.allMembers()),
            )
        self._everAvailable = True
        self._outage = False
        waiters, self._availableWaiters = self._availableWaiters, []
        for d in waiters:
            d.callback(None)

    def down(self, link: Link, reason: Failure) -> None:
        """
        C{link} lost its connection, which was up.
        """
        if link is self.commands and self.subscriber.protocol is not None:
            # A command connection that stopped answering says the same of
            # Redis for the subscribed one, which has no replies to time.
            self.subscriber.protocol.transport.abortConnection()
        self._outageBegins(
            "RedisHub: lost the connection to Redis at {url} ({reason}); serving this "
            "process's subscribers only and reconnecting with backoff",
            reason,
        )

    def failed(self, link: Link, failure: Failure) -> None:
        """
        C{link} could not connect, or not prepare its connection.
        """
        self._outageBegins(
            "RedisHub: cannot reach Redis at {url} ({reason}); serving this process's "
            "subscribers only and retrying with backoff",
            failure,
        )

    def _outageBegins(self, logFormat: str, reason: Failure) -> None:
        """
        Log C{logFormat} with the server's URL and C{reason}, if this is
        the first failure since Redis was last available.
        """
        if self._outage:
            return
        self._outage = True
        _log.warn(logFormat, url=self.hub.description, reason=reason.getErrorMessage())
