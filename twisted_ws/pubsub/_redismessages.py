# -*- test-case-name: tests.test_pubsub_redis -*-
"""
The messages of L{RedisHub<twisted_ws.pubsub.RedisHub>} through Redis, both
ways.

Out: C{PUBLISH <prefix>:<db>:ch:<channel> <frame>} on the command
connection, the frame made by L{encodeFrame}, with a bound on the bytes
that wait for Redis to take them.  In: the subscribed connection is
subscribed to the Redis channel of every channel with local subscribers,
and a frame from another process is delivered to them (one's own, echoed
back, is skipped: it was delivered before it was published).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from twisted.internet.defer import Deferred, gatherResults, succeed
from twisted.logger import Logger
from twisted.python.failure import Failure

from ._frames import decodeFrame, encodeFrame

if TYPE_CHECKING:
    from ._redis import RedisHub

__all__ = ["RedisMessages"]

_log = Logger(namespace="twisted_ws.pubsub.redis")


def _ignore(_: Any) -> None:
    return None


class RedisMessages:
    """
    The messages of one hub through Redis: the Redis channels of its
    channels, the subscriptions of the subscribed connection, publishing
    and delivering.  Each method that talks to Redis is given the protocol
    of the connection it uses, or L{None} while that one is down.

    @ivar hub: the L{RedisHub}, for its settings, its local channels and
        its counts.
    """

    def __init__(self, hub: RedisHub) -> None:
        self.hub = hub
        self._channelPrefix = f"{hub.prefix}:{hub.db}:ch:".encode()
        self._overloaded = False
        self._pendingBytes = 0
        self._malformedLogged = False

    def redisChannel(self, channel: str) -> bytes:
        """
        The name in Redis of the hub channel C{channel}.
        """
        return self._channelPrefix + channel.encode("utf-8")

    # The subscribed connection.

    def resubscribe(self, proto: Any) -> Deferred[Any] | None:
        """
        Subscribe C{proto}, a new subscribed connection, to every channel
        that has local subscribers, and note which ones (L{catchUp} does
        the rest once it is up).
        """
        hub = self.hub
        channels = list(hub.local.subscribers)
        proto.hubChannels = set(channels)
        if not channels:
            return None
        subscribed = [proto.subscribe([self.redisChannel(c)]) for c in channels]
        together = gatherResults(subscribed, consumeErrors=True)
        together.addTimeout(hub.replyTimeout, hub.reactor)
        return together

    def catchUp(self, proto: Any) -> None:
        """
        Subscribe to the channels that got their first local subscriber,
        and unsubscribe from those that lost their last, while C{proto} was
        subscribing again.
        """
        before: set[str] = getattr(proto, "hubChannels", set())
        now = set(self.hub.local.subscribers)
        try:
            for channel in sorted(now - before):
                proto.subscribe([self.redisChannel(channel)]).addErrback(_ignore)
            for channel in sorted(before - now):
                proto.unsubscribe([self.redisChannel(channel)]).addErrback(_ignore)
        except Exception:
            pass

    def subscribe(self, proto: Any, channel: str) -> Deferred[None]:
        """
        Subscribe to C{channel}, which got its first local subscriber.

        @return: a L{Deferred} that fires once Redis confirmed, gave up
            after C{replyTimeout}, or at once if C{proto} is L{None}.
        """
        if proto is None:
            return succeed(None)
        try:
            d: Deferred[Any] = proto.subscribe([self.redisChannel(channel)])
        except Exception:
            return succeed(None)
        d.addTimeout(self.hub.replyTimeout, self.hub.reactor)
        d.addBoth(lambda _: None)
        return d

    def unsubscribe(self, proto: Any, channel: str) -> None:
        """
        Unsubscribe from C{channel}, which lost its last local subscriber.
        """
        if proto is not None:
            try:
                proto.unsubscribe([self.redisChannel(channel)]).addErrback(_ignore)
            except Exception:
                pass

    def received(self, rchannel: Any, frame: Any) -> None:
        """
        A message arrived from Redis: deliver it to the local subscribers,
        unless this process published it (it delivered it already).
        """
        hub = self.hub
        try:
            if not isinstance(rchannel, bytes) or not rchannel.startswith(self._channelPrefix):
                raise ValueError("not a channel of this hub")
            channel = rchannel[len(self._channelPrefix) :].decode("utf-8")
            origin, message = decodeFrame(frame)
            if origin == hub.processId:
                return
            if len(frame) > hub.options.maxPayloadSize + 300:
                raise ValueError("a message over maxPayloadSize")
            hub.local.deliver(channel, message)
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

    # Publishing.

    def publish(self, proto: Any, channel: str, message: str | bytes) -> Deferred[bool]:
        """
        Publish C{message}, delivered in this process already, to the
        other processes.

        @param proto: the command connection's protocol, or L{None}.
        @return: a L{Deferred} that fires with whether Redis took it.
        """
        hub = self.hub
        if proto is None:
            return succeed(hub._publishFailed())
        frame = encodeFrame(hub.processId, message)
        size = len(frame)
        if self._pendingBytes + size > hub.maxPendingBytes:
            if not self._overloaded:
                self._overloaded = True
                _log.warn(
                    "RedisHub: Redis at {url} is not taking messages as fast as they are "
                    "published; they reach this process's subscribers only until it catches up",
                    url=hub.description,
                )
            return succeed(hub._publishFailed())
        try:
            d: Deferred[Any] = proto.execute_command("PUBLISH", self.redisChannel(channel), frame)
        except Exception:
            return succeed(hub._publishFailed())
        self._pendingBytes += size

        def settled(result: Any) -> bool:
            self._pendingBytes -= size
            if self._overloaded and self._pendingBytes <= hub.maxPendingBytes // 2:
                self._overloaded = False
            if isinstance(result, Failure):
                return hub._publishFailed()
            return True

        d.addBoth(settled)
        return d
