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
    of its own origin when Redis echoes them.
  - presence: the keys L{twisted_ws.pubsub._redispresence} describes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from twisted.application.internet import backoffPolicy
from twisted.application.service import IService
from twisted.internet.defer import Deferred, DeferredList, fail, gatherResults, succeed
from twisted.internet.endpoints import HostnameEndpoint, wrapClientTLS
from twisted.internet.interfaces import IReactorTime, IStreamClientEndpoint
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from ._base import BaseHub
from ._core import HubError, HubOptions, IHub, Member, checkChannel
from ._frames import MAGIC, decodeFrame, encodeFrame
from ._redislink import CommandProtocol, Link, SubscriberProtocol
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
        if not isinstance(db, int) or db < 0:
            raise ValueError(f"a Redis database number is a non-negative integer, not {db!r}")
        if presenceTTL <= 0 or replyTimeout <= 0 or maxPendingBytes <= 0:
            raise ValueError("presenceTTL, replyTimeout and maxPendingBytes must be positive")
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
        self._channelPrefix = f"{prefix}:{db}:ch:".encode()
        self._commands = Link(self, "command", CommandProtocol, self._prepareCommand)
        self._subscriber = Link(self, "subscriber", SubscriberProtocol, self._prepareSubscriber)
        self._presence = RedisPresence(
            self.local, self.options, prefix, presenceTTL, self._command,
            lambda: self._commands.protocol is not None,
        )
        self._refresher = LoopingCall(self._refresh)
        self._refresher.clock = reactor
        self._outage = False
        self._everAvailable = False
        self._overloaded = False
        self._pendingBytes = 0
        self._availableWaiters: list[Deferred[None]] = []
        self._malformedLogged = False

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
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss"):
            raise ValueError(f"a Redis URL starts with redis:// or rediss://, not {url!r}")
        try:
            port = parts.port or 6379
        except ValueError:
            raise ValueError(f"bad port in Redis URL {url!r}") from None
        host = parts.hostname or "localhost"
        path = parts.path.strip("/")
        if path and not path.isdigit():
            raise ValueError(f"the path of a Redis URL is a database number, not {path!r}")
        db = int(path) if path else 0
        password = unquote(parts.password) if parts.password is not None else None
        username = unquote(parts.username) if parts.username else None
        endpoint: IStreamClientEndpoint = HostnameEndpoint(reactor, host, port, timeout=connectTimeout)
        if parts.scheme == "rediss":
            if tlsOptions is None:
                from twisted.internet.ssl import optionsForClientTLS

                tlsOptions = optionsForClientTLS(host)
            endpoint = wrapClientTLS(tlsOptions, endpoint)
        shown = f"[{host}]" if ":" in host else host
        kwargs.setdefault("description", f"{parts.scheme}://{shown}:{port}/{db}")
        return cls(endpoint, reactor, db=db, password=password, username=username, **kwargs)

    # Service.

    def startService(self) -> None:
        """
        Connect to Redis (in the background) and start refreshing presence.
        """
        super().startService()
        self._commands.start()
        self._subscriber.start()
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
        proto = self._commands.protocol
        if proto is not None:
            cleanup = DeferredList(self._presence.withdraw(), consumeErrors=True)
            cleanup.addTimeout(self.replyTimeout, self.reactor)
            cleanup.addErrback(_ignore)

        def disconnect(_: Any) -> Deferred[Any]:
            return gatherResults([self._commands.stop(), self._subscriber.stop()])

        cleanup.addCallback(disconnect)
        cleanup.addCallback(lambda _: None)
        return cleanup

    @property
    def available(self) -> bool:
        return self._commands.protocol is not None and self._subscriber.protocol is not None

    def whenAvailable(self) -> Deferred[None]:
        """
        A L{Deferred} that fires once both connections to Redis are up
        (at once if they are).
        """
        if self.available:
            return succeed(None)
        d: Deferred[None] = Deferred()
        self._availableWaiters.append(d)
        return d

    # Names in Redis.

    def _redisChannel(self, channel: str) -> bytes:
        return self._channelPrefix + channel.encode("utf-8")

    # Connections.

    def _command(self, *args: Any) -> Deferred[Any]:
        """
        Run a command on the command connection; fails with
        L{HubError} at once if it is down.
        """
        proto = self._commands.protocol
        if proto is None:
            return fail(HubError("Redis is unavailable"))
        try:
            return proto.execute_command(*args)  # type: ignore[no-any-return]
        except Exception:
            return fail()

    def _authenticate(self, proto: Any) -> Deferred[Any]:
        if self.password is None:
            return succeed(None)
        args = ("AUTH", self.username, self.password) if self.username else ("AUTH", self.password)
        return proto.execute_command(*args)  # type: ignore[no-any-return]

    def _prepareCommand(self, proto: Any) -> Deferred[Any]:
        d = self._authenticate(proto)
        if self.db:
            d.addCallback(lambda _: proto.execute_command("SELECT", self.db))
        return d

    def _prepareSubscriber(self, proto: Any) -> Deferred[Any]:
        d = self._authenticate(proto)

        def resubscribe(_: Any) -> Any:
            channels = list(self.local.subscribers)
            proto.hubChannels = set(channels)
            if not channels:
                return None
            subscribed = [proto.subscribe([self._redisChannel(c)]) for c in channels]
            together = gatherResults(subscribed, consumeErrors=True)
            together.addTimeout(self.replyTimeout, self.reactor)
            return together

        d.addCallback(resubscribe)
        return d

    def _linkUp(self, link: Link) -> None:
        if link is self._commands:
            self._presence.restore()
        else:
            self._catchUp(link.protocol)
        if not self.available:
            return
        if not self._everAvailable:
            _log.info("RedisHub: connected to {url}", url=self.description)
        elif self._outage:
            _log.info(
                "RedisHub: reconnected to {url}; subscribed again to {channels} channels "
                "and restored {members} members",
                url=self.description,
                channels=len(self.local.subscribers),
                members=len(self._presence.allMembers()),
            )
        self._everAvailable = True
        self._outage = False
        waiters, self._availableWaiters = self._availableWaiters, []
        for d in waiters:
            d.callback(None)

    def _catchUp(self, proto: Any) -> None:
        """
        Subscribe to the channels that got their first local subscriber,
        and unsubscribe from those that lost their last, while C{proto} was
        subscribing again.
        """
        before: set[str] = getattr(proto, "hubChannels", set())
        now = set(self.local.subscribers)
        try:
            for channel in sorted(now - before):
                proto.subscribe([self._redisChannel(channel)]).addErrback(_ignore)
            for channel in sorted(before - now):
                proto.unsubscribe([self._redisChannel(channel)]).addErrback(_ignore)
        except Exception:
            pass

    def _linkDown(self, link: Link, reason: Failure) -> None:
        if link is self._commands and self._subscriber.protocol is not None:
            # A command connection that stopped answering says the same of
            # Redis for the subscribed one, which has no replies to time.
            self._subscriber.protocol.transport.abortConnection()
        if self._outage:
            return
        self._outage = True
        _log.warn(
            "RedisHub: lost the connection to Redis at {url} ({reason}); serving this "
            "process's subscribers only and reconnecting with backoff",
            url=self.description,
            reason=reason.getErrorMessage(),
        )

    def _linkFailed(self, link: Link, failure: Failure) -> None:
        if self._outage:
            return
        self._outage = True
        _log.warn(
            "RedisHub: cannot reach Redis at {url} ({reason}); serving this process's "
            "subscribers only and retrying with backoff",
            url=self.description,
            reason=failure.getErrorMessage(),
        )

    def _redisMessage(self, rchannel: Any, frame: Any) -> None:
        """
        A message arrived from Redis: deliver it to the local subscribers,
        unless this process published it (it delivered it already).
        """
        try:
            if not isinstance(rchannel, bytes) or not rchannel.startswith(self._channelPrefix):
                raise ValueError("not a channel of this hub")
            channel = rchannel[len(self._channelPrefix) :].decode("utf-8")
            origin, message = decodeFrame(frame)
            if origin == self.processId:
                return
            if len(frame) > self.options.maxPayloadSize + 300:
                raise ValueError("a message over maxPayloadSize")
            self.local.deliver(channel, message)
        except ValueError as e:
            if not self._malformedLogged:
                self._malformedLogged = True
                _log.warn(
                    "RedisHub: dropping a message from Redis that is not a hub frame ({why}); "
                    "later ones are dropped silently",
                    why=str(e),
                )
        except Exception:
            _log.failure("RedisHub: delivering a message from Redis failed")

    # Subscriptions.

    def subscribe(self, channel: str, subscriber: Any) -> Deferred[None]:
        checkChannel(self.options, channel)
        first = self.local.add(channel, subscriber)
        proto = self._subscriber.protocol
        if not first or proto is None:
            return succeed(None)
        try:
            d: Deferred[Any] = proto.subscribe([self._redisChannel(channel)])
        except Exception:
            return succeed(None)
        d.addTimeout(self.replyTimeout, self.reactor)
        d.addBoth(lambda _: None)
        return d

    def unsubscribe(self, channel: str, subscriber: Any) -> Deferred[None]:
        last = self.local.remove(channel, subscriber)
        proto = self._subscriber.protocol
        if last and proto is not None:
            try:
                proto.unsubscribe([self._redisChannel(channel)]).addErrback(_ignore)
            except Exception:
                pass
        return succeed(None)

    def unsubscribeAll(self, subscriber: Any) -> Deferred[None]:
        for channel in self.local.subscribedTo(subscriber):
            self.unsubscribe(channel, subscriber)
        self._presence.leaveAll(subscriber)
        return succeed(None)

    def publish(self, channel: str, message: str | bytes, exclude: Any = None) -> Deferred[bool]:
        message = self._publishLocally(channel, message, exclude)
        proto = self._commands.protocol
        if proto is None:
            return succeed(self._publishFailed())
        frame = encodeFrame(self.processId, message)
        size = len(frame)
        if self._pendingBytes + size > self.maxPendingBytes:
            if not self._overloaded:
                self._overloaded = True
                _log.warn(
                    "RedisHub: Redis at {url} is not taking messages as fast as they are "
                    "published; they reach this process's subscribers only until it catches up",
                    url=self.description,
                )
            return succeed(self._publishFailed())
        try:
            d: Deferred[Any] = proto.execute_command("PUBLISH", self._redisChannel(channel), frame)
        except Exception:
            return succeed(self._publishFailed())
        self._pendingBytes += size

        def settled(result: Any) -> bool:
            self._pendingBytes -= size
            if self._overloaded and self._pendingBytes <= self.maxPendingBytes // 2:
                self._overloaded = False
            if isinstance(result, Failure):
                return self._publishFailed()
            return True

        d.addBoth(settled)
        return d

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
            subscribed = self._subscriber.protocol
            if subscribed is not None:
                # The subscribed connection only receives: a PING tells
                # whether Redis still answers on it.
                ping = subscribed.ping()
                ping.addTimeout(self.replyTimeout, self.reactor)
                ping.addErrback(lambda _: subscribed.transport.abortConnection())
            self._presence.refresh()
        except Exception:
            _log.failure("RedisHub: refreshing presence failed")
