# -*- test-case-name: tests.test_client -*-
"""
The ways a client's C{connect} fails that are the client's own (a refusal,
TLS, the open deadline, redirects), re-exported by L{twisted_ws._client}.
"""

from __future__ import annotations

from .codec import HandshakeError, InvalidStatus, WebSocketError

__all__ = [
    "BODY_LIMIT",
    "REDIRECT_STATUSES",
    "HandshakeRejected",
    "OpenTimeout",
    "RedirectError",
    "TLSError",
    "isTLSError",
]

#: The most bytes of a refusal's body kept in L{HandshakeRejected.body}.
BODY_LIMIT = 4096
#: The statuses of a redirect that the client follows.
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


# The failures of connect().


class HandshakeRejected(InvalidStatus):
    """
    The server answered the opening request with a status other than 101.

    @ivar status: the HTTP status.
    @ivar headers: the response headers, as (name, value) pairs.
    @ivar body: the start of the response body (at most L{BODY_LIMIT}
        bytes).
    @ivar url: the URL that answered.
    """

    def __init__(
        self, url: str, status: int, reason: str, headers: list[tuple[str, str]], body: bytes
    ) -> None:
        text = f"{url} refused the WebSocket handshake: {reason}"
        if body:
            shown = body[:200].decode("utf-8", "replace").strip()
            text += f" ({shown!r}{'...' if len(body) > 200 else ''})"
        super().__init__(text, status, headers)
        self.body = body
        self.url = url

    def header(self, name: str) -> str | None:
        """
        The first value of the response header C{name} (case-insensitive),
        or L{None}.
        """
        lower = name.lower()
        for key, value in self.headers:
            if key.lower() == lower:
                return value
        return None


class TLSError(WebSocketError):
    """
    The TLS handshake with a C{wss://} server failed: its certificate was
    not trusted, did not name the host, or TLS itself failed.

    @ivar cause: the error of the TLS layer (an C{OpenSSL.SSL.Error} or a
        C{service_identity} verification error).
    """

    def __init__(self, url: str, cause: BaseException) -> None:
        super().__init__(f"TLS with {url} failed: {_describeTLSError(cause)}")
        self.cause = cause


class OpenTimeout(WebSocketError, TimeoutError):
    """
    The connection did not open within C{Options.openTimeout}, which covers
    the TCP connection, TLS and the opening handshake (and any redirects)
    together.
    """


class RedirectError(HandshakeError):
    """
    A redirect could not be followed: too many of them (a loop), one from
    C{wss://} to C{ws://}, or a C{Location} that is not a WebSocket URL.

    @ivar status: the status of the redirect.
    @ivar location: its C{Location}.
    """

    def __init__(self, reason: str, status: int, location: str | None) -> None:
        super().__init__(reason, status=status)
        self.location = location


def _describeTLSError(cause: BaseException) -> str:
    args = getattr(cause, "args", ())
    if args and isinstance(args[0], list):
        # OpenSSL: a list of (library, function, reason) tuples.
        reasons = [str(item[-1]) for item in args[0] if isinstance(item, tuple) and item]
        if reasons:
            return "; ".join(reasons)
    return f"{type(cause).__name__}: {cause}"


def isTLSError(value: BaseException) -> bool:
    """
    Whether C{value} is an error of the TLS layer (pyOpenSSL or
    C{service_identity}).
    """
    module = type(value).__module__
    return module.startswith(("OpenSSL", "service_identity"))

