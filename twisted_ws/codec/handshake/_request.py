"""
L{HandshakeRequest}: a valid opening request, as a server describes it.
"""

from __future__ import annotations

from collections.abc import Sequence

from .._options import Version
from ._http import parseHead

__all__ = ["HandshakeRequest", "Offers"]

#: Extension offers: (name, parameters) pairs in the client's order.
Offers = list[tuple[str, dict[str, "str | None"]]]


class HandshakeRequest:
    """
    A valid opening request, as seen by a server.

    @ivar method: the request method (always C{"GET"}).
    @ivar target: the request target, path and query, as sent.
    @ivar path: the target's path, without the query.
    @ivar version: the detected protocol L{Version}.
    @ivar host: the C{Host} header.
    @ivar origin: the origin the client claims (C{Origin}, or
        C{Sec-WebSocket-Origin} for hybi-07/08), or L{None}.
    @ivar subprotocols: the subprotocols offered, in the client's order.
    @ivar extensions: the extensions offered, as (name, parameters) pairs.
    @ivar key: C{Sec-WebSocket-Key} (hybi) or L{None}.
    @ivar secure: whether the connection runs over TLS (decides C{ws:} or
        C{wss:} in hixie's location headers).

    Two requests are equal when their version, target, headers and
    C{secure} are.
    """

    __slots__ = (
        "method",
        "target",
        "path",
        "_headers",
        "_rawHead",
        "version",
        "host",
        "origin",
        "subprotocols",
        "extensions",
        "key",
        "secure",
        "_key1",
        "_key2",
    )

    def __init__(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        version: Version,
        host: str,
        origin: str | None,
        subprotocols: tuple[str, ...],
        extensions: Offers,
        key: str | None,
        secure: bool,
        key1: str | None = None,
        key2: str | None = None,
        rawHead: bytes | None = None,
    ) -> None:
        self.method = method
        self.target = target
        self.path = target.split("?", 1)[0]
        self._headers = None if rawHead is not None else headers
        self._rawHead = rawHead
        self.version = version
        self.host = host
        self.origin = origin
        self.subprotocols = subprotocols
        self.extensions = extensions
        self.key = key
        self.secure = secure
        self._key1 = key1
        self._key2 = key2

    @property
    def headers(self) -> list[tuple[str, str]]:
        """
        Every header as a (name, value) pair, in order, names as sent.
        """
        if self._headers is not None:
            return self._headers
        assert self._rawHead is not None
        return parseHead(self._rawHead)[1]

    def header(self, name: str, default: str | None = None) -> str | None:
        """
        The first value of the header C{name} (case-insensitive), or
        C{default}.
        """
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return default

    def headerValues(self, name: str) -> list[str]:
        """
        Every value of the header C{name} (case-insensitive), in order.
        """
        lowered = name.lower()
        return [value for key, value in self.headers if key.lower() == lowered]

    def selectSubprotocol(self, supported: Sequence[str]) -> str | None:
        """
        The first of C{supported} (the server's order of preference) that the
        client offered, or L{None}.
        """
        for proto in supported:
            if proto in self.subprotocols:
                return proto
        return None

    @property
    def location(self) -> str:
        """
        The URL of the requested resource, as hixie's location headers give
        it.
        """
        return ("wss://" if self.secure else "ws://") + self.host + self.target

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, HandshakeRequest):
            return NotImplemented
        return (
            self.version is other.version
            and self.target == other.target
            and self.secure == other.secure
            and self.headers == other.headers
        )

    def __hash__(self) -> int:
        return hash((self.version, self.target, self.secure))

    def __repr__(self) -> str:
        return f"<HandshakeRequest {self.method} {self.target} {self.version.label}>"
