# -*- test-case-name: tests.test_pubsub -*-
"""
The channels, subscribers and members of one process (L{LocalChannels}),
the fan-out to them, and the close of a subscriber dropped as too slow
(L{dropSlow}): what both backends keep in each process.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any

from twisted.logger import Logger

from ..codec import LocalProtocolError, PreparedMessage
from ._core import TOO_SLOW, HubOptions, HubUsageError, Member

__all__ = ["LocalChannels", "HubStats", "dropSlow"]

_log = Logger(namespace="twisted_ws.pubsub")


class HubStats:
    """
    What a hub counts, in plain integers that a metrics exporter reads when
    it is asked (L{twisted_ws.metrics.HubCollector}): counting costs one
    integer addition per publish and per fan-out, not per subscriber.

    @ivar published: messages published through the hub in this process
        (those its checks accepted).
    @ivar publishFailures: publishes that reached this process's
        subscribers only, the backend being unavailable, not keeping up or
        refusing the message (their L{Deferred} fired with L{False}).
    @ivar deliveries: messages handed to this process's subscriber
        connections, one per subscriber (published here or arriving from
        the backend).
    @ivar slowConsumersDropped: subscribers dropped for not reading.
    """

    __slots__ = ("published", "publishFailures", "deliveries", "slowConsumersDropped")

    def __init__(self) -> None:
        self.published = 0
        self.publishFailures = 0
        self.deliveries = 0
        self.slowConsumersDropped = 0


def _send(subscriber: Any, prepared: PreparedMessage) -> None:
    transport = subscriber.transport
    sendPrepared = getattr(transport, "sendPreparedMessage", None)
    if sendPrepared is not None:
        sendPrepared(prepared)
    elif prepared.isText:
        transport.sendTextMessage(prepared.data)
    else:
        transport.sendBytesMessage(prepared.data)


class LocalChannels:
    """
    The channels, subscribers and members of one process, and the fan-out
    to them.  Both backends keep one; it does no I/O but writing to the
    subscribers.

    @ivar options: the L{HubOptions}.
    @ivar processId: the process's name, the first part of member ids.
    @ivar subscribers: per channel, its subscribers in subscribing order.
    @ivar members: per channel, L{Member} by subscriber, in entering order.
    @ivar stats: the L{HubStats} the fan-out counts its deliveries into.
    """

    def __init__(
        self,
        options: HubOptions,
        processId: str,
        onSlow: Callable[[Any], None],
        clock: Callable[[], float] = time.time,
        stats: HubStats | None = None,
    ) -> None:
        self.options = options
        self.stats = stats if stats is not None else HubStats()
        self.processId = processId
        self.subscribers: dict[str, dict[Any, None]] = {}
        self.members: dict[str, dict[Any, Member]] = {}
        self._subscribed: dict[Any, set[str]] = {}
        self._present: dict[Any, set[str]] = {}
        self._onSlow = onSlow
        self._clock = clock
        self._ids = itertools.count(1)

    # Subscriptions.

    def add(self, channel: str, subscriber: Any) -> bool:
        """
        Subscribe C{subscriber}; return whether C{channel} had no local
        subscriber before.

        @raise HubUsageError: one subscription too many.
        """
        mine = self._subscribed.setdefault(subscriber, set())
        if channel in mine:
            return False
        if len(mine) >= self.options.maxSubscriptions:
            raise HubUsageError(
                f"a subscriber can be in at most {self.options.maxSubscriptions} channels"
            )
        mine.add(channel)
        subscribers = self.subscribers.get(channel)
        first = subscribers is None
        if subscribers is None:
            subscribers = self.subscribers[channel] = {}
        subscribers[subscriber] = None
        return first

    def remove(self, channel: str, subscriber: Any) -> bool:
        """
        Unsubscribe C{subscriber}; return whether C{channel} is now without
        local subscribers (and was not before).
        """
        mine = self._subscribed.get(subscriber)
        if mine is None or channel not in mine:
            return False
        mine.discard(channel)
        if not mine:
            del self._subscribed[subscriber]
        subscribers = self.subscribers[channel]
        del subscribers[subscriber]
        if not subscribers:
            del self.subscribers[channel]
            return True
        return False

    def subscriptionCount(self) -> int:
        """
        How many (channel, subscriber) subscriptions there are here.
        """
        return sum(len(subscribers) for subscribers in self.subscribers.values())

    def subscribedTo(self, subscriber: Any) -> list[str]:
        """
        The channels C{subscriber} is subscribed to.
        """
        return sorted(self._subscribed.get(subscriber, ()))

    # Presence.

    def presentIn(self, subscriber: Any) -> list[str]:
        """
        The channels C{subscriber} is present in.
        """
        return sorted(self._present.get(subscriber, ()))

    def newMember(self, channel: str, subscriber: Any, name: str, metadata: dict[str, Any]) -> Member:
        """
        A L{Member} for C{subscriber}, not yet recorded (see L{addMember}).

        @raise HubUsageError: one presence too many.
        """
        mine = self._present.get(subscriber, set())
        if channel not in mine and len(mine) >= self.options.maxSubscriptions:
            raise HubUsageError(
                f"a subscriber can be present in at most {self.options.maxSubscriptions} channels"
            )
        return Member(
            f"{self.processId}/{next(self._ids)}", name, metadata, self.processId, self._clock()
        )

    def addMember(self, channel: str, subscriber: Any, member: Member) -> None:
        """
        Record C{member} as C{subscriber}'s presence in C{channel}.
        """
        self.members.setdefault(channel, {})[subscriber] = member
        self._present.setdefault(subscriber, set()).add(channel)

    def removeMember(self, channel: str, subscriber: Any) -> Member | None:
        """
        Forget C{subscriber}'s presence in C{channel}; return the L{Member}
        it was, or L{None}.
        """
        members = self.members.get(channel)
        if members is None or subscriber not in members:
            return None
        member = members.pop(subscriber)
        if not members:
            del self.members[channel]
        mine = self._present[subscriber]
        mine.discard(channel)
        if not mine:
            del self._present[subscriber]
        return member

    def memberOf(self, channel: str, subscriber: Any) -> Member | None:
        """
        C{subscriber}'s L{Member} in C{channel}, or L{None}.
        """
        return self.members.get(channel, {}).get(subscriber)

    def localMembers(self, channel: str) -> list[Member]:
        """
        The members of C{channel} in this process, in entering order.
        """
        return list(self.members.get(channel, {}).values())

    def localNames(self, channel: str) -> set[str]:
        """
        The names taken in C{channel} in this process.
        """
        return {m.name for m in self.members.get(channel, {}).values()}

    def channels(self) -> list[str]:
        """
        The channels with a local subscriber or member, sorted.
        """
        return sorted(set(self.subscribers) | set(self.members))

    # Fan-out.

    def deliver(self, channel: str, message: str | bytes, exclude: Any = None) -> int:
        """
        Send C{message} to the local subscribers of C{channel} but
        C{exclude}, framed once per protocol family; drop (through
        C{onSlow}) those whose send buffer is over
        L{HubOptions.maxBuffered}.  A subscriber whose connection is not
        open is skipped, as are hixie subscribers for a binary message.
        Never raises for a subscriber's state.

        @return: how many subscribers it was sent to.
        """
        subscribers = self.subscribers.get(channel)
        if not subscribers:
            return 0
        prepared = PreparedMessage(message)
        binary = not prepared.isText
        limit = self.options.maxBuffered
        sent = 0
        tooSlow = []
        for subscriber in list(subscribers):
            if subscriber is exclude:
                continue
            transport = subscriber.transport
            if transport is None or not getattr(transport, "isOpen", True):
                continue
            if binary:
                version = getattr(transport, "version", None)
                if version is not None and version.isHixie:
                    continue
            if getattr(transport, "bufferedAmount", 0) > limit:
                tooSlow.append(subscriber)
                continue
            try:
                _send(subscriber, prepared)
            except LocalProtocolError:
                # Closing between the check and the send: nothing to deliver.
                continue
            sent += 1
        self.stats.deliveries += sent
        for subscriber in tooSlow:
            self._onSlow(subscriber)
        return sent


def dropSlow(subscriber: Any, hubName: str, stats: HubStats | None = None) -> None:
    """
    Tell C{subscriber} (already taken out of the hub) that it was dropped,
    and close its connection with 1008.  Never raises.

    The drop is counted into C{stats}, and into the
    L{ConnectionStats<twisted_ws._metrics.ConnectionStats>} of the
    subscriber's server factory if it keeps one (its
    C{slowConsumersDropped}, exported by application).
    """
    reason = "too slow: messages are not being read"
    if stats is not None:
        stats.slowConsumersDropped += 1
    transport = getattr(subscriber, "transport", None)
    connectionStats = getattr(getattr(transport, "factory", None), "stats", None)
    if connectionStats is not None:
        connectionStats.slowConsumersDropped += 1
    _log.info(
        "{hub}: dropping a subscriber that is not reading its messages ({peer})",
        hub=hubName,
        peer=_peer(subscriber),
    )
    hubDropped = getattr(subscriber, "hubDropped", None)
    if hubDropped is not None:
        try:
            hubDropped(reason)
        except Exception:
            _log.failure("{hub}: hubDropped of a subscriber raised", hub=hubName)
    try:
        subscriber.transport.loseConnection(TOO_SLOW, reason)
    except Exception:
        _log.failure("{hub}: closing a slow subscriber failed", hub=hubName)


def _peer(subscriber: Any) -> str:
    try:
        peer = subscriber.transport.getPeer()
    except Exception:
        return "?"
    host, port = getattr(peer, "host", None), getattr(peer, "port", None)
    return f"{host}:{port}" if host is not None else str(peer)

