"""
The names the codec's connections had before they followed
C{twisted.web.websocket}'s, kept for one release with a DeprecationWarning
(the codec imports nothing from Twisted, so C{warnings} rather than
C{twisted.python.deprecate}).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._errors import PeerError
    from ._prepared import PreparedMessage

__all__ = ["DeprecatedNames"]


def _deprecated(old: str, new: str) -> None:
    warnings.warn(f"{old} is deprecated; use {new}", DeprecationWarning, stacklevel=3)


class DeprecatedNames:
    """
    The former names of a connection's methods and attributes.
    """

    __slots__ = ()
    cause: PeerError | None
    sendTextMessage: Any
    sendBytesMessage: Any

    if TYPE_CHECKING:  # defined by Sending, a subclass

        def sendPreparedMessage(self, message: PreparedMessage) -> None: ...

        def ping(self, data: bytes = b"") -> None: ...

        def pong(self, data: bytes = b"") -> None: ...

    def sendText(self, text: str | bytes) -> None:
        """
        Deprecated name of C{sendTextMessage}.
        """
        _deprecated("Connection.sendText", "sendTextMessage")
        self.sendTextMessage(text)

    def sendBinary(self, data: bytes) -> None:
        """
        Deprecated name of C{sendBytesMessage}.
        """
        _deprecated("Connection.sendBinary", "sendBytesMessage")
        self.sendBytesMessage(data)

    def sendPrepared(self, message: PreparedMessage) -> None:
        """
        Deprecated name of L{sendPreparedMessage}.
        """
        _deprecated("Connection.sendPrepared", "sendPreparedMessage")
        self.sendPreparedMessage(message)

    def sendPing(self, data: bytes = b"") -> None:
        """
        Deprecated name of C{ping}.
        """
        _deprecated("Connection.sendPing", "ping")
        self.ping(data)

    def sendPong(self, data: bytes = b"") -> None:
        """
        Deprecated name of C{pong}.
        """
        _deprecated("Connection.sendPong", "pong")
        self.pong(data)

    @property
    def failure(self) -> PeerError | None:
        """
        Deprecated name of L{cause}.
        """
        _deprecated("Connection.failure", "Connection.cause")
        return self.cause
