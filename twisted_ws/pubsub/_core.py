# -*- test-case-name: tests.test_pubsub -*-
"""
What every hub shares: the L{IHub} interface, L{HubOptions}, L{Member}, the
exceptions, and the checks of channel names, payloads, names and metadata.
The fan-out to this process's subscribers is in L{twisted_ws.pubsub._channels}.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from zope.interface import Attribute, Interface

from ..codec import WebSocketError

__all__ = [
    "IHub",
    "HubOptions",
    "Member",
    "HubError",
    "HubUsageError",
    "NameTaken",
    "TOO_SLOW",
    "newProcessId",
]

#: The close code of a subscriber dropped for not reading (policy violation).
TOO_SLOW = 1008


class HubError(WebSocketError):
    """
    Base class of the exceptions of L{twisted_ws.pubsub}.
    """


class HubUsageError(HubError, ValueError):
    """
    The caller passed a hub something it does not take: a channel name that
    is empty, too long or holds control characters, a payload over
    L{HubOptions.maxPayloadSize}, a member name or metadata over their
    bounds, or one subscription too many.  Raised at once, by the call.
    """


class NameTaken(HubError):
    """
    The name asked for is in use in the channel (in any process), and no
    free variant of it was found or allowed.
    """


@dataclass(frozen=True)
class HubOptions:
    """
    The bounds and policies of a hub.

    @ivar maxBuffered: bytes that may wait to be written to one subscriber
        before it is dropped with close code 1008 (policy violation) as too
        slow, instead of growing the server's memory.
    @ivar maxChannelLength: the longest channel name, in characters.
    @ivar maxPayloadSize: the largest message that can be published, in
        bytes (UTF-8 bytes for text).
    @ivar maxSubscriptions: the most channels one subscriber may be
        subscribed to, and the most it may be present in.
    @ivar maxNameLength: the longest member name, in characters.
    @ivar maxMetadataSize: the largest member metadata, in bytes of JSON.
    @ivar maxNameTries: how many variants (C{name}, C{name-2}, ...)
        L{IHub.enter} tries before it gives up with L{NameTaken}.
    """

    maxBuffered: int = 1024 * 1024
    maxChannelLength: int = 200
    maxPayloadSize: int = 1024 * 1024
    maxSubscriptions: int = 100
    maxNameLength: int = 100
    maxMetadataSize: int = 4096
    maxNameTries: int = 100

    def __post_init__(self) -> None:
        for name in (
            "maxBuffered",
            "maxChannelLength",
            "maxPayloadSize",
            "maxSubscriptions",
            "maxNameLength",
            "maxMetadataSize",
            "maxNameTries",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"HubOptions.{name} must be a positive integer, not {value!r}")


@dataclass(frozen=True)
class Member:
    """
    One member of a channel's presence.

    @ivar id: unique across processes and time: C{"<process>/<n>"}.
    @ivar name: the member's name, unique in the channel across processes
        (as far as the backend can tell: see C{docs/pubsub.rst}).
    @ivar metadata: what the application attached, a JSON object.
    @ivar process: the L{IHub.processId} of the hub that holds the member.
    @ivar since: when the member entered, in seconds since the epoch (the
        entering process's clock); presence is listed in this order.
    """

    id: str
    name: str
    metadata: Mapping[str, Any] = field(default_factory=dict, compare=False)
    process: str = ""
    since: float = 0.0

    def toJSON(self) -> dict[str, Any]:
        """
        The member as a JSON object (what the Redis backend stores).
        """
        return {
            "id": self.id,
            "name": self.name,
            "metadata": dict(self.metadata),
            "process": self.process,
            "since": self.since,
        }

    @classmethod
    def fromJSON(cls, data: Any) -> Member:
        """
        The member stored as C{data} by L{toJSON}.

        @raise ValueError: C{data} does not describe a member.
        """
        if not isinstance(data, dict):
            raise ValueError("a member is a JSON object")
        memberId, name, process = data.get("id"), data.get("name"), data.get("process")
        metadata, since = data.get("metadata", {}), data.get("since", 0.0)
        if not (isinstance(memberId, str) and isinstance(name, str) and isinstance(process, str)):
            raise ValueError("a member needs a string id, name and process")
        if not isinstance(metadata, dict) or not isinstance(since, int | float):
            raise ValueError("a member's metadata is an object and its since a number")
        return cls(memberId, name, metadata, process, float(since))


class IHub(Interface):
    """
    A publish/subscribe hub for WebSocket connections: channels that
    connections subscribe to, messages published to a channel and fanned
    out to every subscriber (in every process that shares the backend), and
    presence (who is in a channel).

    Subscribers are application protocols
    (L{twisted_ws.WebSocketProtocol}); the hub sends to them through their
    C{transport}.  A message is framed once per protocol family in each
    process (L{twisted_ws.PreparedMessage}), not once per subscriber.

    A subscriber whose send buffer holds more than
    L{HubOptions.maxBuffered} bytes when a message is to be delivered is
    dropped: it is taken out of every channel and presence of the hub, its
    C{hubDropped(reason)} method is called if it has one, and its connection
    is closed with code 1008.

    Misuse (a bad channel name, a payload too large, ...) raises
    L{HubUsageError} at once; a backend that cannot be reached never makes
    a call fail: see each method.

    A hub is also an L{twisted.application.service.IService}: start it
    before use, stop it to disconnect from its backend.
    """

    options = Attribute("The hub's L{HubOptions}.")
    processId = Attribute(
        "A string naming this hub among all that share the backend (this process)."
    )

    def subscribe(channel: str, subscriber: Any) -> Any:
        """
        Deliver the messages published to C{channel} to C{subscriber} from
        now on.  Subscribing twice is the same as once.

        @return: a L{Deferred} that fires with L{None} once messages
            published in other processes reach the subscriber too (at
            once when the backend is unavailable: it is subscribed when the
            backend is back).
        @raise HubUsageError: a bad channel name, or one subscription over
            L{HubOptions.maxSubscriptions}.
        """

    def unsubscribe(channel: str, subscriber: Any) -> Any:
        """
        Stop delivering C{channel}'s messages to C{subscriber}; nothing
        happens if it was not subscribed.

        @return: a L{Deferred} that fires with L{None}.
        """

    def unsubscribeAll(subscriber: Any) -> Any:
        """
        Unsubscribe C{subscriber} from every channel and take it out of
        every presence: what to do when its connection is lost (as
        L{HubProtocol.connectionLost<twisted_ws.pubsub.HubProtocol.connectionLost>}
        does).

        @return: a L{Deferred} that fires with L{None}.
        """

    def publish(channel: str, message: str | bytes, exclude: Any = None) -> Any:
        """
        Send C{message} (L{str} for a text message, L{bytes} for a binary
        one) to every subscriber of C{channel} in every process, except
        C{exclude} (a local subscriber, such as the sender).  Binary messages
        skip subscribers that speak a hixie version, which has none.

        Delivery is at most once: see C{docs/pubsub.rst}.

        @return: a L{Deferred} that fires with L{True} once the backend took
            the message for the other processes, or with L{False} if it
            reached this process's subscribers only (the backend is
            unavailable or not keeping up).  It does not fail for that.
        @raise HubUsageError: a bad channel name, or a payload over
            L{HubOptions.maxPayloadSize}.
        """

    def enter(
        channel: str,
        subscriber: Any,
        name: str,
        metadata: Mapping[str, Any] | None = None,
        suffix: bool = True,
    ) -> Any:
        """
        Make C{subscriber} present in C{channel} as C{name}, unique in the
        channel across processes: if C{name} is taken, C{name-2},
        C{name-3}, ... (up to L{HubOptions.maxNameTries} variants) when
        C{suffix} is true.  A subscriber already present in the channel
        leaves first.  Presence does not subscribe.

        @param metadata: a JSON object kept with the member.
        @return: a L{Deferred} that fires with the L{Member}, or fails with
            L{NameTaken}.
        @raise HubUsageError: a bad channel, name or metadata.
        """

    def leave(channel: str, subscriber: Any) -> Any:
        """
        Take C{subscriber} out of C{channel}'s presence, if it is there.

        @return: a L{Deferred} that fires with L{None}.
        """

    def presence(channel: str) -> Any:
        """
        Who is in C{channel}, in every process.

        @return: a L{Deferred} that fires with a L{list} of L{Member}, in
            the order they entered (this process's members only while the
            backend is unavailable).
        """

    def memberOf(channel: str, subscriber: Any) -> Member | None:
        """
        The L{Member} C{subscriber} is in C{channel}, or L{None}.
        """

    def channels() -> list[str]:
        """
        The channels this process has subscribers or members in, sorted.
        """


def checkChannel(options: HubOptions, channel: Any) -> str:
    """
    C{channel} if it is a usable channel name.

    @raise HubUsageError: it is not a non-empty L{str} of printable
        characters of at most L{HubOptions.maxChannelLength}.
    """
    if not isinstance(channel, str):
        raise HubUsageError(f"a channel name is a str, not {type(channel).__name__}")
    if not channel:
        raise HubUsageError("a channel name cannot be empty")
    if len(channel) > options.maxChannelLength:
        raise HubUsageError(
            f"a channel name has at most {options.maxChannelLength} characters, "
            f"not {len(channel)}"
        )
    if not channel.isprintable():
        raise HubUsageError(f"a channel name cannot hold control characters: {channel!r}")
    return channel


def checkPayload(options: HubOptions, message: Any) -> bytes:
    """
    The bytes of C{message} (UTF-8 for text), if it can be published.

    @raise HubUsageError: it is neither L{str} nor L{bytes}, or it is over
        L{HubOptions.maxPayloadSize}.
    """
    limit = options.maxPayloadSize
    if isinstance(message, str):
        if len(message) > limit:
            raise HubUsageError(f"a message has at most {limit} bytes, not {len(message)} or more")
        payload = message.encode("utf-8")
    elif isinstance(message, bytes | bytearray | memoryview):
        payload = bytes(message)
    else:
        raise HubUsageError(f"a message is str or bytes, not {type(message).__name__}")
    if len(payload) > limit:
        raise HubUsageError(f"a message has at most {limit} bytes, not {len(payload)}")
    return payload


def checkName(options: HubOptions, name: Any) -> str:
    """
    C{name} if it is a usable member name.

    @raise HubUsageError: it is not a non-empty printable L{str} of at most
        L{HubOptions.maxNameLength} characters.
    """
    if not isinstance(name, str) or not name:
        raise HubUsageError("a member name is a non-empty str")
    if len(name) > options.maxNameLength:
        raise HubUsageError(
            f"a member name has at most {options.maxNameLength} characters, not {len(name)}"
        )
    if not name.isprintable():
        raise HubUsageError(f"a member name cannot hold control characters: {name!r}")
    return name


def checkMetadata(options: HubOptions, metadata: Any) -> dict[str, Any]:
    """
    A copy of C{metadata} if it is a JSON object within
    L{HubOptions.maxMetadataSize}.

    @raise HubUsageError: it is not, or it is too large.
    """
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise HubUsageError("member metadata is a mapping (a JSON object)")
    try:
        text = json.dumps(dict(metadata), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise HubUsageError(f"member metadata must be JSON: {e}") from None
    if len(text.encode("utf-8")) > options.maxMetadataSize:
        raise HubUsageError(f"member metadata has at most {options.maxMetadataSize} bytes of JSON")
    copied: dict[str, Any] = json.loads(text)
    return copied


def nameVariants(options: HubOptions, name: str) -> Iterable[str]:
    """
    C{name}, C{name-2}, C{name-3}, ...: L{HubOptions.maxNameTries} names,
    each cut to fit L{HubOptions.maxNameLength}.
    """
    yield name
    for n in range(2, options.maxNameTries + 1):
        tail = f"-{n}"
        yield name[: options.maxNameLength - len(tail)] + tail


def newProcessId() -> str:
    """
    A name for this process among all that share a backend: host, process
    id and a random part, so that a restarted process with a reused pid is
    told apart.
    """
    host = socket.gethostname().split(".")[0] or "host"
    return f"{host}-{os.getpid()}-{os.urandom(4).hex()}"
