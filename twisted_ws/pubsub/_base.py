# -*- test-case-name: tests.test_pubsub -*-
"""
L{BaseHub}: what L{LocalHub<twisted_ws.pubsub.LocalHub>} and
L{RedisHub<twisted_ws.pubsub.RedisHub>} do alike in this process: the
checks before a publish or an entry, the delivery to local subscribers, the
counts, and the drop of a slow subscriber.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from twisted.application.service import Service

from ._channels import HubStats, LocalChannels, dropSlow
from ._core import (
    HubOptions,
    Member,
    checkChannel,
    checkMetadata,
    checkName,
    checkPayload,
    newProcessId,
)

__all__ = ["BaseHub"]


class BaseHub(Service):
    """
    The part of a hub that lives in this process.  A subclass implements
    the rest of L{IHub<twisted_ws.pubsub.IHub>} (C{unsubscribeAll} and
    C{leave} at least, which this class calls).

    @cvar backend: the backend's name, the C{backend} label of the hub's
        metrics.
    @ivar options: the hub's L{HubOptions}.
    @ivar processId: this hub's name among the hubs sharing the backend.
    @ivar stats: the hub's L{HubStats}.
    @ivar local: the L{LocalChannels} of this process.
    """

    backend = ""

    def __init__(self, options: HubOptions | None, processId: str | None) -> None:
        self.options = options if options is not None else HubOptions()
        self.processId = processId if processId is not None else newProcessId()
        self.stats = HubStats()
        self.local = LocalChannels(self.options, self.processId, self._dropSlow, stats=self.stats)

    def _publishLocally(self, channel: str, message: str | bytes, exclude: Any) -> str | bytes:
        """
        Check and count a publish, and deliver it to the local subscribers.

        @return: the message as it goes to the backend (L{bytes} for any
            binary buffer).
        @raise HubUsageError: a bad channel name or payload.
        """
        checkChannel(self.options, channel)
        payload = checkPayload(self.options, message)
        if not isinstance(message, str):
            message = payload
        self.stats.published += 1
        self.local.deliver(channel, message, exclude)
        return message

    def _publishFailed(self) -> bool:
        """
        Count a publish that reached this process only; L{False}, what its
        L{Deferred} fires with.
        """
        self.stats.publishFailures += 1
        return False

    def _newMember(
        self, channel: str, subscriber: Any, name: str, metadata: Mapping[str, Any] | None
    ) -> Member:
        """
        Check an entry and make its L{Member} (not recorded yet), after
        C{subscriber} left C{channel} if it was present.

        @raise HubUsageError: a bad channel, name or metadata, or one
            presence too many.
        """
        checkChannel(self.options, channel)
        checkName(self.options, name)
        data = checkMetadata(self.options, metadata)
        member = self.local.newMember(channel, subscriber, name, data)
        self.leave(channel, subscriber)
        return member

    def leave(self, channel: str, subscriber: Any) -> Any:
        raise NotImplementedError

    def unsubscribeAll(self, subscriber: Any) -> Any:
        raise NotImplementedError

    def memberOf(self, channel: str, subscriber: Any) -> Member | None:
        return self.local.memberOf(channel, subscriber)

    def channels(self) -> list[str]:
        return self.local.channels()

    def _dropSlow(self, subscriber: Any) -> None:
        self.unsubscribeAll(subscriber)
        dropSlow(subscriber, type(self).__name__, self.stats)
