"""
A publish/subscribe hub for WebSocket connections: channels, fan-out framed
once per protocol family, the slow-consumer policy, and presence, in one
process (L{LocalHub}) or across many through Redis (L{RedisHub}, with the
C{redis} extra: C{pip install twisted_ws[redis]}).

The interface is L{IHub} (a C{zope.interface} interface: hubs are pluggable
backends, as Twisted's own are, and C{verifyObject} checks one); see
C{docs/pubsub.rst}.

L{RedisHub} is imported on first use, so that this package loads without
C{txredisapi}.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._core import (
    TOO_SLOW,
    HubError,
    HubOptions,
    HubUsageError,
    IHub,
    Member,
    NameTaken,
)
from ._local import HubProtocol, LocalHub

if TYPE_CHECKING:
    from ._redis import RedisHub

__all__ = [
    "IHub",
    "HubOptions",
    "HubProtocol",
    "LocalHub",
    "RedisHub",
    "Member",
    "HubError",
    "HubUsageError",
    "NameTaken",
    "TOO_SLOW",
]


def __getattr__(name: str) -> Any:
    if name == "RedisHub":
        from ._redis import RedisHub

        globals()["RedisHub"] = RedisHub
        return RedisHub
    raise AttributeError(f"module 'twisted_ws.pubsub' has no attribute {name!r}")
