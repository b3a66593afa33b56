# -*- test-case-name: tests.test_pubsub_redis -*-
"""
The settings of L{RedisHub<twisted_ws.pubsub.RedisHub>} before it is made:
the server a C{redis://} or C{rediss://} URL names (L{parseURL}), and the
checks on the numbers it is given (L{checkSettings}).
"""

from __future__ import annotations

from typing import Any, NamedTuple
from urllib.parse import unquote, urlsplit

from twisted.internet.endpoints import HostnameEndpoint, wrapClientTLS
from twisted.internet.interfaces import IReactorTime, IStreamClientEndpoint

__all__ = ["RedisAddress", "parseURL", "checkSettings"]


class RedisAddress(NamedTuple):
    """
    Where a Redis server is and how to log in, from its URL.

    @ivar endpoint: where it listens (behind TLS for C{rediss://}).
    @ivar db: the database number.
    @ivar password: for C{AUTH}, percent-decoded, or L{None}.
    @ivar username: the ACL user, percent-decoded, or L{None}.
    @ivar description: the URL without the user and password, for logs.
    """

    endpoint: IStreamClientEndpoint
    db: int
    password: str | None
    username: str | None
    description: str


def parseURL(
    url: str, reactor: IReactorTime, tlsOptions: Any, connectTimeout: float
) -> RedisAddress:
    """
    The server at C{url}: C{redis://[[user]:password@]host[:port][/db]}, or
    C{rediss://...} for TLS.

    @param tlsOptions: for C{rediss://}, the client TLS options; by default
        the host name is checked against the system's trusted CAs.
    @param connectTimeout: seconds a connection attempt may take.
    @raise ValueError: C{url} is not such a URL.
    """
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
    return RedisAddress(endpoint, db, password, username, f"{parts.scheme}://{shown}:{port}/{db}")


def checkSettings(db: Any, presenceTTL: float, replyTimeout: float, maxPendingBytes: int) -> None:
    """
    Refuse a database number that is not a non-negative integer, and a
    duration or a bound that is not positive.

    @raise ValueError: one of them is off.
    """
    if not isinstance(db, int) or db < 0:
        raise ValueError(f"a Redis database number is a non-negative integer, not {db!r}")
    if presenceTTL <= 0 or replyTimeout <= 0 or maxPendingBytes <= 0:
        raise ValueError("presenceTTL, replyTimeout and maxPendingBytes must be positive")
