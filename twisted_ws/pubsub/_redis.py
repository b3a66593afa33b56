# -*- test-case-name: tests.test_pubsub_redis -*-
"""
L{RedisHub}: a hub shared by every process connected to one Redis server,
on the Twisted-native client C{txredisapi} (the C{redis} extra).

Two connections per hub (L{twisted_ws.pubsub._redislink}): one subscribed
to the Redis channels of the channels that have local subscribers, one for
commands (C{PUBLISH}, the presence keys).  Each reconnects on its own with
exponential backoff, and every channel is subscribed to again on
reconnection.

What goes through Redis (see C{docs/pubsub.rst}):
  - a message: C{PUBLISH <prefix>:<db>:ch:<channel> <frame>}, the frame
    made by L{encodeFrame} (L{twisted_ws.pubsub._frames}).  A process
    delivers to its own subscribers before publishing and skips the frames
    of its own origin when Redis echoes them
    (L{twisted_ws.pubsub._redismessages}).
  - presence: the keys L{twisted_ws.pubsub._redispresence} describes.

The hub itself checks its settings (L{twisted_ws.pubsub._redisconfig}),
keeps this process's channels, and hands each call to the piece above that
does it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from twisted.application.internet import backoffPolicy
from twisted.application.service import IService
from twisted.internet.defer import Deferred, DeferredList, succeed
from twisted.internet.interfaces import IReactorTime, IStreamClientEndpoint
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from zope.interface import implementer

from ._base import BaseHub
from ._core import HubOptions, IHub, Member, checkChannel
from ._frames import MAGIC, decodeFrame, encodeFrame
from ._redisconfig import checkSettings, parseURL
from ._redislink import Links
from ._redismessages import RedisMessages
from ._redispresence import RedisPresence

__all__ = ["RedisHub", "MAGIC", "encodeFrame", "decodeFrame"]

_log = Logger(namespace="twisted_ws.pubsub.redis")


def _ignore(_: Any) -> None:
    return None


@implementer(IHub, IService)
class RedisHub(BaseHub):
    """
    A hub shared through a Redis server by every process connected to it:
    a message published in one process reaches the subscribers of the
    channel in all; presence lists the members of every process; a name is
    unique in a channel across them.

    When Redis cannot be reached the hub keeps serving this process: local
    subscribers still get local messages and presence lists local members;
    it logs the outage once, reconnects with backoff, and subscribes again
    to every channel and restores this process's members when Redis is
    back.  Messages published meanwhile reach this process's subscribers
    only (at most once delivery: see C{docs/pubsub.rst}).

    Start it (C{startService}) before use; L{whenAvailable} fires once it
    is connected.

    @ivar local: the L{LocalChannels<twisted_ws.pubsub._channels.LocalChannels>}
        of this process.
    @ivar stats: what the hub counts (L{HubStats<twisted_ws.pubsub._channels.HubStats>}).
    @ivar description: the server's URL without the password, for logs.
    @ivar available: whether both connections to Redis are up.
    """

    name = "pubsub-redis"
    backend = "redis"

    def __init__(
        self,
        endpoint: IStreamClientEndpoint,
        reactor: IReactorTime,
        *,
        db: int = 0,
        password: str | None = None,
        username: str | None = None,
        options: HubOptions | None = None,
        prefix: str = "twisted_ws",
        presenceTTL: float = 30.0,
        replyTimeout: float = 5.0,
        maxPendingBytes: int = 8 * 1024 * 1024,
        retryPolicy: Callable[[int], float] | None = None,
        processId: str | None = None,
        description: str = "redis",
    ) -> None:
        """
        @param endpoint: where the Redis server listens.
        @param reactor: the reactor, for timers.
        @param db: the database number (C{SELECT}); the channels of another
            database are kept apart too.
        @param password: for C{AUTH}, if any; with C{username} for an ACL
            user.
        @param options: the hub's bounds and policies.
        @param prefix: the first part of every Redis key and channel name.
        @param presenceTTL: seconds after which the members of a process
            that stopped refreshing them (it crashed) leave presence.
        @param replyTimeout: seconds to wait for a reply before the command
            connection is taken as dead and made again.
        @param maxPendingBytes: bytes of messages that may wait for Redis
            to take them; messages published past it reach this process's
            subscribers only.
        @param retryPolicy: seconds to wait before the n-th reconnection
            attempt in a row; exponential from 0.5 s up to 30 s by default.
        @param processId: this process's name among the hub's processes.
        @param description: how logs name the server (no password).
        """
        checkSettings(db, presenceTTL, replyTimeout, maxPendingBytes)
        self.endpoint = endpoint
        self.reactor = reactor
        self.db = db
        self.password = password
        self.username = username
        super().__init__(options, processId)
        self.prefix = prefix
        self.presenceTTL = presenceTTL
        self.replyTimeout = replyTimeout
        self.maxPendingBytes = maxPendingBytes
        self.retryPolicy = retryPolicy or backoffPolicy(initialDelay=0.5, maxDelay=30.0, factor=2.0)
        self.description = description
        self._messages = RedisMessages(self)
        self._presence = RedisPresence(
            self.local, self.options, prefix, presenceTTL,
            lambda *args: self._links.command(*args), lambda: self._links.commandsUp,
        )
        self._links = Links(self, self._presence, self._messages)
        self._refresher = LoopingCall(self._refresh)
        self._refresher.clock = reactor

    @classmethod
    def fromURL(
        cls,
        url: str,
        reactor: IReactorTime | None = None,
        tlsOptions: Any = None,
        connectTimeout: float = 5.0,
        **kwargs: Any,
    ) -> RedisHub:
        """
        A hub on the Redis server at C{url}:
        C{redis://[[user]:password@]host[:port][/db]}, or C{rediss://...}
        for TLS (which needs the C{tls} extra).  The password and user are
        percent-decoded.

        @param reactor: the reactor; the global one by default.
        @param tlsOptions: for C{rediss://}, the client TLS options
            (L{twisted.internet.ssl.optionsForClientTLS}); by default the
            host name is checked against the system's trusted CAs.
        @param connectTimeout: seconds a connection attempt may take.
        @param kwargs: passed on to L{RedisHub}.
        @raise ValueError: C{url} is not such a URL.
        """
        if reactor is None:
            from twisted.internet import reactor as globalReactor

            reactor = globalReactor  # type: ignore[assignment]
        address = parseURL(url, reactor, tlsOptions, connectTimeout)
        kwargs.setdefault("description", address.description)
        return cls(
            address.endpoint, reactor, db=address.db, password=address.password,
            username=address.username, **kwargs,
        )

    # Service.

    def startService(self) -> None:
        """
        Connect to Redis (in the background) and start refreshing presence.
        """
        super().startService()
        self._links.start()
        self._refresher.start(self.presenceTTL / 3, now=False)

    def stopService(self) -> Deferred[None]:
        """
        Take this process's members out of presence (if Redis is there),
        then disconnect.

        @return: a L{Deferred} that fires once both connections are closed.
        """
        super().stopService()
        if self._refresher.running:
            self._refresher.stop()
        cleanup: Deferred[Any] = succeed(None)
        if self._links.commands.protocol is not None:
            cleanup = DeferredList(self._presence.withdraw(), consumeErrors=True)
            cleanup.addTimeout(self.replyTimeout, self.reactor)
            cleanup.addErrback(_ignore)
        cleanup.addCallback(lambda _: self._links.stop())
        cleanup.addCallback(lambda _: None)
        return cleanup

    @property
    def available(self) -> bool:
        return self._links.available

    def whenAvailable(self) -> Deferred[None]:
        """
        A L{Deferred} that fires once both connections to Redis are up
        (at once if they are).
        """
        return self._links.whenAvailable()

    # Messages (L{RedisMessages}).

    def subscribe(self, channel: str, subscriber: Any) -> Deferred[None]:
        checkChannel(self.options, channel)
        if not self.local.add(channel, subscriber):
            return succeed(None)
        return self._messages.subscribe(self._links.subscriber.protocol, channel)

    def unsubscribe(self, channel: str, subscriber: Any) -> Deferred[None]:
        if self.local.remove(channel, subscriber):
            self._messages.unsubscribe(self._links.subscriber.protocol, channel)
        return succeed(None)

    def unsubscribeAll(self, subscriber: Any) -> Deferred[None]:
        for channel in self.local.subscribedTo(subscriber):
            self.unsubscribe(channel, subscriber)
        self._presence.leaveAll(subscriber)
        return succeed(None)

    def publish(self, channel: str, message: str | bytes, exclude: Any = None) -> Deferred[bool]:
        message = self._publishLocally(channel, message, exclude)
        return self._messages.publish(self._links.commands.protocol, channel, message)

    # Presence (L{RedisPresence}).

    def enter(
        self,
        channel: str,
        subscriber: Any,
        name: str,
        metadata: Mapping[str, Any] | None = None,
        suffix: bool = True,
    ) -> Deferred[Member]:
        member = self._newMember(channel, subscriber, name, metadata)
        return self._presence.enter(channel, subscriber, member, suffix)

    def leave(self, channel: str, subscriber: Any) -> Deferred[None]:
        self._presence.leave(channel, subscriber)
        return succeed(None)

    def presence(self, channel: str) -> Deferred[list[Member]]:
        checkChannel(self.options, channel)
        return self._presence.members(channel)

    def _refresh(self) -> None:
        """
        Every C{presenceTTL / 3}: check that the subscribed connection still
        answers, and refresh presence.
        """
        try:
            self._links.ping()
            self._presence.refresh()
        except Exception:
            _log.failure("RedisHub: refreshing presence failed")
