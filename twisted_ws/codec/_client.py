"""
The client side of a connection: the opening request for the version the
caller chooses, the check of the server's answer, then the connection of
L{Connection}.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from ._connection import DEFAULT_OPTIONS, Connection
from ._errors import HandshakeError, PeerError
from ._events import ConnectionOpened, HandshakeFailed
from ._options import Options, Version
from .handshake import ClientHandshake

if TYPE_CHECKING:
    from ._extensions import ExtensionFactory

__all__ = ["ClientConnection"]


class ClientConnection(Connection):
    """
    The client side of one connection, speaking the version the caller
    chooses.  The opening request is queued at once in C{dataToSend()}.

    @param host: the C{Host} header (with C{:port} when not the default).
    @param path: the request target, path and query.
    @param version: the protocol L{Version} to speak.
    @param origin: the C{Origin} to claim (hixie versions need one and
        default to C{http://host}).
    @param subprotocols: subprotocols to offer, most preferred first (at most
        one on hixie).
    @param extensions: extension factories whose offers to make.
    @param headers: extra request headers.
    @param secure: whether the connection runs over TLS.
    @param randomSource: returns that many random bytes; keys and masks come
        from it.
    """

    __slots__ = ("_handshake",)

    isClient = True

    def __init__(
        self,
        host: str,
        path: str = "/",
        *,
        version: Version = Version.RFC6455,
        origin: str | None = None,
        subprotocols: Sequence[str] = (),
        extensions: Sequence[ExtensionFactory] | None = None,
        headers: Iterable[tuple[str, str]] = (),
        secure: bool = False,
        options: Options = DEFAULT_OPTIONS,
        randomSource: Callable[[int], bytes] = os.urandom,
    ) -> None:
        super().__init__(options, randomSource)
        if extensions is None:
            extensions = () if version.isHixie else options.extensions
        self._handshake = ClientHandshake(
            host, path, version, origin, subprotocols, extensions, headers, secure, randomSource
        )
        self.version = version
        self._out.append(self._handshake.request)

    def _receiveHandshake(self, data: bytes) -> list:
        start = max(0, len(self._hbuf) - 3)
        self._hbuf += data
        try:
            response = self._handshake.receive(self._hbuf, self.options.maxHeaderSize, start)
        except HandshakeError as e:
            return self._handshakeFailed(e)
        if response is None:
            return []
        subprotocol, extensions, headers, rest = response
        self._hbuf = b""
        del self._handshake
        version = self.version or Version.RFC6455
        self._open(version, subprotocol, extensions)
        events: list = [ConnectionOpened(version, subprotocol, extensions, headers)]
        if rest:
            events.extend(self.receiveData(rest))
        return events

    def _internalHandshakeError(self, error: PeerError) -> list:
        # Only receiveData's handshake path gets here, while CONNECTING (the
        # framing is built before the state moves to OPEN).
        return self._handshakeFailed(HandshakeError(error.reason))

    def _handshakeFailed(self, error: HandshakeError) -> list:
        self.cause = error
        self._refused(error.reason)
        return [HandshakeFailed(error.status, error.reason, error)]
