# -*- test-case-name: tests.test_pubsub -*-
"""
L{LocalHub}: the hub of one process, with no backend, and L{HubProtocol},
the base class of an application protocol on a hub.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from twisted.application.service import IService
from twisted.internet.defer import Deferred, fail, succeed
from twisted.python.failure import Failure
from zope.interface import implementer

from .._protocol import WebSocketProtocol
from ._base import BaseHub
from ._core import HubOptions, IHub, Member, NameTaken, checkChannel, nameVariants

__all__ = ["LocalHub", "HubProtocol"]


@implementer(IHub, IService)
class LocalHub(BaseHub):
    """
    A hub whose channels live in this process only: what a single server
    process needs, and the default of the chat application.

    Every method completes at once: the L{Deferred}s it returns have
    already fired.

    @ivar local: the L{LocalChannels<twisted_ws.pubsub._channels.LocalChannels>}
        holding the subscribers and members.
    @ivar stats: what the hub counts (L{HubStats<twisted_ws.pubsub._channels.HubStats>}).
    """

    name = "pubsub-local"
    backend = "local"

    def __init__(self, options: HubOptions | None = None, processId: str | None = None) -> None:
        """
        @param options: the hub's bounds and policies; L{HubOptions}'
            defaults if L{None}.
        @param processId: this hub's name in member ids; a fresh one by
            default.
        """
        super().__init__(options, processId)

    def subscribe(self, channel: str, subscriber: Any) -> Deferred[None]:
        checkChannel(self.options, channel)
        self.local.add(channel, subscriber)
        return succeed(None)

    def unsubscribe(self, channel: str, subscriber: Any) -> Deferred[None]:
        self.local.remove(channel, subscriber)
        return succeed(None)

    def unsubscribeAll(self, subscriber: Any) -> Deferred[None]:
        for channel in self.local.subscribedTo(subscriber):
            self.local.remove(channel, subscriber)
        for channel in self.local.presentIn(subscriber):
            self.local.removeMember(channel, subscriber)
        return succeed(None)

    def publish(self, channel: str, message: str | bytes, exclude: Any = None) -> Deferred[bool]:
        self._publishLocally(channel, message, exclude)
        return succeed(True)

    def enter(
        self,
        channel: str,
        subscriber: Any,
        name: str,
        metadata: Mapping[str, Any] | None = None,
        suffix: bool = True,
    ) -> Deferred[Member]:
        member = self._newMember(channel, subscriber, name, metadata)
        taken = self.local.localNames(channel)
        candidates = nameVariants(self.options, name) if suffix else [name]
        for candidate in candidates:
            if candidate not in taken:
                member = Member(member.id, candidate, member.metadata, member.process, member.since)
                self.local.addMember(channel, subscriber, member)
                return succeed(member)
        return fail(Failure(NameTaken(f"the name {name!r} is taken in {channel!r}")))

    def leave(self, channel: str, subscriber: Any) -> Deferred[None]:
        self.local.removeMember(channel, subscriber)
        return succeed(None)

    def presence(self, channel: str) -> Deferred[list[Member]]:
        checkChannel(self.options, channel)
        return succeed(self.local.localMembers(channel))


class HubProtocol(WebSocketProtocol):
    """
    An application protocol on a hub: its L{hub} is its factory's C{hub}
    attribute, and when its connection is lost it is unsubscribed from
    every channel and taken out of every presence.

    Override L{hubDropped} to learn that the hub dropped it as too slow.
    """

    @property
    def hub(self) -> Any:
        """
        The L{IHub} of this connection: C{self.factory.hub}.
        """
        return self.factory.hub

    def hubDropped(self, reason: str) -> None:
        """
        The hub dropped this subscriber (it was not reading its messages):
        it is already out of every channel and presence, and its connection
        is closed with 1008 next.
        """

    def connectionLost(self, reason: Failure) -> None:
        """
        Leave every channel and presence of the hub.
        """
        factory = self.factory
        hub = getattr(factory, "hub", None) if factory is not None else None
        if hub is not None:
            hub.unsubscribeAll(self)
