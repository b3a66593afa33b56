# -*- test-case-name: tests.test_pubsub_redis -*-
"""
L{RedisHub}: a hub shared by every process connected to one Redis server,
on the Twisted-native client C{txredisapi} (the C{redis} extra).

Two connections per hub: one subscribed to the Redis channels of the
channels that have local subscribers, one for commands (C{PUBLISH}, the
presence keys).  Each reconnects on its own with exponential backoff; this
module owns the reconnecting (not C{txredisapi}'s pool), so that an outage
is logged once and every channel is subscribed to again on reconnection.

What goes through Redis (see C{docs/pubsub.rst}):
  - a message: C{PUBLISH <prefix>:<db>:ch:<channel> <frame>}, the frame
    being C{b"tw1"}, one byte C{t} (text) or C{b} (binary), one byte for
    the length of the origin's process id, the id, then the payload.  A
    process delivers to its own subscribers before publishing and skips
    the frames of its own origin when Redis echoes them.
  - presence: a hash C{<prefix>:members:<channel>} (member id to the
    member's JSON), a key C{<prefix>:proc:<process id>} per live process
    (expiring after C{presenceTTL}), and a key per taken name,
    C{<prefix>:name:<len(channel)>:<channel>:<name>} (C{SET NX} with the
    same expiry), refreshed by their process every C{presenceTTL / 3}.
    Members whose process key has expired are left out of presence (and
    removed), so a crashed process's members are gone after the TTL.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from twisted.application.internet import backoffPolicy
from twisted.application.service import IService, Service
from twisted.internet.defer import (
    CancelledError,
    Deferred,
    DeferredList,
    fail,
    gatherResults,
    inlineCallbacks,
    maybeDeferred,
    succeed,
)
from twisted.internet.endpoints import HostnameEndpoint, wrapClientTLS
from twisted.internet.interfaces import IReactorTime, IStreamClientEndpoint
from twisted.internet.protocol import Factory
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

try:
    import txredisapi
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError(
        "twisted_ws.pubsub.RedisHub needs txredisapi: pip install 'twisted_ws[redis]'"
    ) from e

from ._core import (
    HubError,
    HubOptions,
    IHub,
    LocalChannels,
    Member,
    NameTaken,
    checkChannel,
    checkMetadata,
    checkName,
    checkPayload,
    dropSlow,
    nameVariants,
    newProcessId,
)

__all__ = ["RedisHub"]

_log = Logger(namespace="twisted_ws.pubsub.redis")

#: The first bytes of every message frame this hub publishes.
MAGIC = b"tw1"
_TEXT, _BINARY = b"t", b"b"

#: How many members that left while Redis was unavailable are remembered,
#: to be taken out of Redis when it is back (past that, they go when this
#: process's key expires).
_MAX_UNFORGOTTEN = 10000

_RELEASE = (
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) "
    "else return 0 end"
)


def encodeFrame(origin: str, message: str | bytes) -> bytes:
    """
    The frame published to Redis for C{message} from process C{origin}.
    """
    originBytes = origin.encode("utf-8")
    if len(originBytes) > 255:
        raise ValueError("a process id has at most 255 bytes")
    if isinstance(message, str):
        kind, payload = _TEXT, message.encode("utf-8")
    else:
        kind, payload = _BINARY, bytes(message)
    return b"".join((MAGIC, kind, bytes((len(originBytes),)), originBytes, payload))


def decodeFrame(frame: bytes) -> tuple[str, str | bytes]:
    """
    The origin and message of a frame made by L{encodeFrame}.

    @raise ValueError: C{frame} is not one, or its text is not UTF-8.
    """
    if not isinstance(frame, bytes) or len(frame) < 5 or frame[:3] != MAGIC:
        raise ValueError("not a twisted_ws hub frame")
    kind, length = frame[3:4], frame[4]
    originBytes = frame[5 : 5 + length]
    if len(originBytes) != length:
        raise ValueError("truncated hub frame")
    origin = originBytes.decode("utf-8")
    payload = frame[5 + length :]
    if kind == _TEXT:
        return origin, payload.decode("utf-8")
    if kind == _BINARY:
        return origin, payload
    raise ValueError(f"unknown hub frame kind {kind!r}")


class _CommandProtocol(txredisapi.RedisProtocol):  # type: ignore[misc,name-defined]
    """
    A command connection that tells its link when it is lost.
    """

    link: _Link

    def connectionLost(self, why: Failure) -> None:
        try:
            super().connectionLost(why)
        finally:
            self.link.lost(self, why)


class _SubscriberProtocol(txredisapi.SubscriberProtocol):  # type: ignore[misc,name-defined]
    """
    A subscribed connection that hands messages to the hub and tells its
    link when it is lost.
    """

    link: _Link

    def messageReceived(self, pattern: Any, channel: Any, message: Any) -> None:
        self.link.hub._redisMessage(channel, message)

    def connectionLost(self, why: Failure) -> None:
        try:
            super().connectionLost(why)
        finally:
            self.link.lost(self, why)


class _LinkFactory(Factory):
    """
    Builds the protocols of one link: bytes in and out (no decoding, no
    number conversion), the link's reactor for txredisapi's timers.
    """

    noisy = False

    def __init__(self, link: _Link) -> None:
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


class _Link:
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
        d = self._connecting = self.hub.endpoint.connect(_LinkFactory(self))
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


def _ok(reply: Any) -> bool:
    return reply in ("OK", b"OK")


@implementer(IHub, IService)
class RedisHub(Service):
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

    @ivar local: the L{LocalChannels} of this process.
    @ivar description: the server's URL without the password, for logs.
    @ivar available: whether both connections to Redis are up.
    """

    name = "pubsub-redis"

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
        self.options = options if options is not None else HubOptions()
        self.prefix = prefix
        self.presenceTTL = presenceTTL
        self.replyTimeout = replyTimeout
        self.maxPendingBytes = maxPendingBytes
        self.retryPolicy = retryPolicy or backoffPolicy(initialDelay=0.5, maxDelay=30.0, factor=2.0)
        self.processId = processId if processId is not None else newProcessId()
        self.description = description
        self.local = LocalChannels(self.options, self.processId, self._dropSlow)
        self._channelPrefix = f"{prefix}:{db}:ch:".encode()
        self._commands = _Link(self, "command", _CommandProtocol, self._prepareCommand)
        self._subscriber = _Link(self, "subscriber", _SubscriberProtocol, self._prepareSubscriber)
        self._refresher = LoopingCall(self._refresh)
        self._refresher.clock = reactor
        self._outage = False
        self._everAvailable = False
        self._overloaded = False
        self._pendingBytes = 0
        self._entering: dict[tuple[str, Any], str] = {}
        self._availableWaiters: list[Deferred[None]] = []
        self._malformedLogged = False
        self._unforgotten: list[tuple[str, Member]] = []

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
            steps = [self._forget(channel, member) for channel, member in self._allMembers()]
            steps.append(self._command("DEL", self._procKey(self.processId)))
            cleanup = DeferredList(steps, consumeErrors=True)
            cleanup.addTimeout(self.replyTimeout, self.reactor)
            cleanup.addErrback(lambda _: None)

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

    def _membersKey(self, channel: str) -> str:
        return f"{self.prefix}:members:{channel}"

    def _nameKey(self, channel: str, name: str) -> str:
        return f"{self.prefix}:name:{len(channel)}:{channel}:{name}"

    def _procKey(self, processId: str) -> str:
        return f"{self.prefix}:proc:{processId}"

    @property
    def _ttl(self) -> int:
        return max(1, int(self.presenceTTL * 1000))

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

    def _linkUp(self, link: _Link) -> None:
        if link is self._commands:
            self._restore()
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
                members=len(self._allMembers()),
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
                proto.subscribe([self._redisChannel(channel)]).addErrback(lambda _: None)
            for channel in sorted(before - now):
                proto.unsubscribe([self._redisChannel(channel)]).addErrback(lambda _: None)
        except Exception:
            pass

    def _linkDown(self, link: _Link, reason: Failure) -> None:
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

    def _linkFailed(self, link: _Link, failure: Failure) -> None:
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
                proto.unsubscribe([self._redisChannel(channel)]).addErrback(lambda _: None)
            except Exception:
                pass
        return succeed(None)

    def unsubscribeAll(self, subscriber: Any) -> Deferred[None]:
        for channel in self.local.subscribedTo(subscriber):
            self.unsubscribe(channel, subscriber)
        for channel in self.local.presentIn(subscriber):
            self.leave(channel, subscriber)
        for key in [k for k in self._entering if k[1] is subscriber]:
            del self._entering[key]
        return succeed(None)

    def publish(self, channel: str, message: str | bytes, exclude: Any = None) -> Deferred[bool]:
        checkChannel(self.options, channel)
        payload = checkPayload(self.options, message)
        if not isinstance(message, str):
            message = payload
        self.local.deliver(channel, message, exclude)
        proto = self._commands.protocol
        if proto is None:
            return succeed(False)
        frame = encodeFrame(self.processId, message)
        if self._pendingBytes + len(frame) > self.maxPendingBytes:
            if not self._overloaded:
                self._overloaded = True
                _log.warn(
                    "RedisHub: Redis at {url} is not taking messages as fast as they are "
                    "published; they reach this process's subscribers only until it catches up",
                    url=self.description,
                )
            return succeed(False)
        try:
            d: Deferred[Any] = proto.execute_command("PUBLISH", self._redisChannel(channel), frame)
        except Exception:
            return succeed(False)
        size = len(frame)
        self._pendingBytes += size

        def settled(result: Any) -> bool:
            self._pendingBytes -= size
            if self._overloaded and self._pendingBytes <= self.maxPendingBytes // 2:
                self._overloaded = False
            return not isinstance(result, Failure)

        d.addBoth(settled)
        return d

    # Presence.

    def enter(
        self,
        channel: str,
        subscriber: Any,
        name: str,
        metadata: Mapping[str, Any] | None = None,
        suffix: bool = True,
    ) -> Deferred[Member]:
        checkChannel(self.options, channel)
        checkName(self.options, name)
        data = checkMetadata(self.options, metadata)
        member = self.local.newMember(channel, subscriber, name, data)
        self.leave(channel, subscriber)
        self._entering[(channel, subscriber)] = member.id
        return self._claim(channel, subscriber, name, member, suffix)

    @inlineCallbacks
    def _claim(
        self, channel: str, subscriber: Any, name: str, member: Member, suffix: bool
    ) -> Any:
        taken = self.local.localNames(channel)
        chosen = None
        candidates = list(nameVariants(self.options, name)) if suffix else [name]
        for candidate in candidates:
            if candidate in taken:
                continue
            if self._commands.protocol is None:
                # Unique in this process only until Redis is back.
                chosen = candidate
                break
            try:
                reply = yield self._command(
                    "SET", self._nameKey(channel, candidate), member.id, "NX", "PX", self._ttl
                )
            except Exception:
                chosen = candidate
                break
            if _ok(reply):
                chosen = candidate
                break
        if self._entering.get((channel, subscriber)) != member.id:
            if chosen is not None:
                self._release(channel, chosen, member.id)
            raise HubError(f"the subscriber left {channel!r} before it entered")
        del self._entering[(channel, subscriber)]
        if chosen is None:
            raise NameTaken(f"the name {name!r} is taken in {channel!r}")
        member = Member(member.id, chosen, member.metadata, member.process, member.since)
        self.local.addMember(channel, subscriber, member)
        self._register(channel, member)
        return member

    def _register(self, channel: str, member: Member) -> Deferred[Any]:
        """
        Write C{member} into C{channel}'s presence hash.
        """
        key = self._membersKey(channel)
        d = self._command("HSET", key, member.id, json.dumps(member.toJSON(), ensure_ascii=False))
        d.addCallback(lambda _: self._command("PEXPIRE", key, self._ttl))
        d.addErrback(lambda _: None)
        return d

    def _release(self, channel: str, name: str, memberId: str) -> Deferred[Any]:
        d = self._command("EVAL", _RELEASE, 1, self._nameKey(channel, name), memberId)
        d.addErrback(lambda _: None)
        return d

    def _forget(self, channel: str, member: Member) -> Deferred[Any]:
        """
        Take C{member} out of C{channel}'s presence in Redis.
        """
        d = self._command("HDEL", self._membersKey(channel), member.id)
        d.addErrback(lambda _: None)
        return gatherResults([d, self._release(channel, member.name, member.id)])

    def leave(self, channel: str, subscriber: Any) -> Deferred[None]:
        self._entering.pop((channel, subscriber), None)
        member = self.local.removeMember(channel, subscriber)
        if member is not None:
            if self._commands.protocol is not None:
                self._forget(channel, member)
            elif len(self._unforgotten) < _MAX_UNFORGOTTEN:
                self._unforgotten.append((channel, member))
        return succeed(None)

    def presence(self, channel: str) -> Deferred[list[Member]]:
        checkChannel(self.options, channel)
        local = self.local.localMembers(channel)
        if self._commands.protocol is None:
            return succeed(local)
        d = self._command("HGETALL", self._membersKey(channel))
        d.addCallback(self._othersAlive, channel)
        d.addCallback(lambda others: sorted(local + others, key=lambda m: (m.since, m.id)))
        d.addErrback(lambda _: self.local.localMembers(channel))
        return d

    @inlineCallbacks
    def _othersAlive(self, reply: Any, channel: str) -> Any:
        """
        The members in C{reply} (an C{HGETALL} of C{channel}'s hash) held
        by other live processes; those of dead processes are removed.
        """
        records = reply if isinstance(reply, list) else []
        members: list[Member] = []
        broken: list[Any] = []
        mine = {m.id for m in self.local.localMembers(channel)}
        for field, value in zip(records[::2], records[1::2], strict=False):
            try:
                member = Member.fromJSON(json.loads(value))
            except (TypeError, ValueError):
                broken.append(field)
                continue
            if member.process != self.processId:
                members.append(member)
            elif member.id not in mine:
                # Left while Redis was unavailable, or before a restart.
                broken.append(field)
        processes = sorted({m.process for m in members})
        alive: set[str] = set()
        if processes:
            flags = yield self._command("MGET", *[self._procKey(p) for p in processes])
            alive = {p for p, flag in zip(processes, flags, strict=False) if flag is not None}
        dead = [m.id for m in members if m.process not in alive] + broken
        if dead:
            self._command("HDEL", self._membersKey(channel), *dead).addErrback(lambda _: None)
        return [m for m in members if m.process in alive]

    def memberOf(self, channel: str, subscriber: Any) -> Member | None:
        return self.local.memberOf(channel, subscriber)

    def channels(self) -> list[str]:
        return self.local.channels()

    # Keeping presence alive.

    def _allMembers(self) -> list[tuple[str, Member]]:
        return [
            (channel, member)
            for channel, members in self.local.members.items()
            for member in members.values()
        ]

    def _restore(self) -> None:
        """
        After (re)connecting: mark this process alive and write every local
        member and name again (a restarted Redis has none of them).
        """
        self._command("SET", self._procKey(self.processId), "1", "PX", self._ttl).addErrback(
            lambda _: None
        )
        unforgotten, self._unforgotten = self._unforgotten, []
        for channel, member in unforgotten:
            self._forget(channel, member)
        for channel, member in self._allMembers():
            self._reclaim(channel, member)
            self._register(channel, member)

    def _reclaim(self, channel: str, member: Member) -> None:
        key = self._nameKey(channel, member.name)

        def claimed(reply: Any) -> Deferred[Any] | None:
            if _ok(reply):
                return None
            return self._command("GET", key).addCallback(owner)

        def owner(reply: Any) -> None:
            if reply is not None and reply != member.id.encode():
                _log.info(
                    "RedisHub: the name {name} in {channel} was taken in another process "
                    "while Redis was unavailable; both keep it",
                    name=member.name,
                    channel=channel,
                )
            else:
                self._command("PEXPIRE", key, self._ttl).addErrback(lambda _: None)

        d = self._command("SET", key, member.id, "NX", "PX", self._ttl)
        d.addCallback(claimed)
        d.addErrback(lambda _: None)

    def _refresh(self) -> None:
        """
        Every C{presenceTTL / 3}: push back the expiry of this process's
        key, presence hashes and names; write again what Redis lost.
        """
        try:
            self._refreshNow()
        except Exception:
            _log.failure("RedisHub: refreshing presence failed")

    def _refreshNow(self) -> None:
        subscribed = self._subscriber.protocol
        if subscribed is not None:
            # The subscribed connection only receives: a PING tells whether
            # Redis still answers on it.
            ping = subscribed.ping()
            ping.addTimeout(self.replyTimeout, self.reactor)
            ping.addErrback(lambda _: subscribed.transport.abortConnection())
        if self._commands.protocol is None:
            return
        ttl = self._ttl
        self._command("SET", self._procKey(self.processId), "1", "PX", ttl).addErrback(
            lambda _: None
        )
        for channel in list(self.local.members):
            members = self.local.localMembers(channel)

            def hashRefreshed(reply: Any, channel: str = channel, members: list[Member] = members) -> None:
                if reply == 0:
                    for member in members:
                        self._register(channel, member)

            self._command("PEXPIRE", self._membersKey(channel), ttl).addCallbacks(
                hashRefreshed, lambda _: None
            )
            for member in members:

                def nameRefreshed(reply: Any, channel: str = channel, member: Member = member) -> None:
                    if reply == 0:
                        self._reclaim(channel, member)

                self._command("PEXPIRE", self._nameKey(channel, member.name), ttl).addCallbacks(
                    nameRefreshed, lambda _: None
                )

    # Slow consumers.

    def _dropSlow(self, subscriber: Any) -> None:
        self.unsubscribeAll(subscriber)
        dropSlow(subscriber, "RedisHub")
