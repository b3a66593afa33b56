# -*- test-case-name: tests.test_client -*-
"""
L{WebSocketClientConnection}: the client side of one connection, which
sends the opening request, reads a refusal's body, hands a redirect to its
attempt (L{twisted_ws._clientattempt}) and then runs the application.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from twisted.internet import defer, error
from twisted.logger import Logger
from twisted.python.failure import Failure

from ._clienterrors import (
    BODY_LIMIT,
    REDIRECT_STATUSES,
    HandshakeRejected,
    OpenTimeout,
    TLSError,
    isTLSError,
)
from ._errors import AbnormalClose  # noqa: F401 - named in docstrings
from ._transport import WebSocketConnection
from .codec import (
    ClientConnection,
    ConnectionOpened,
    HandshakeError,
    HandshakeFailed,
    InvalidStatus,
    State,
)

if TYPE_CHECKING:
    from ._clientattempt import Attempt
    from ._url import WebSocketURL

__all__ = ["WebSocketClientConnection"]

_log = Logger(namespace="twisted_ws")

_DONE = Failure(error.ConnectionDone())


class WebSocketClientConnection(WebSocketConnection):
    """
    The client side of one WebSocket connection: sends the opening request
    of the chosen version, checks the answer, and then runs the application
    as a server connection does.  The application's protocol is told
    C{negotiationStarted} when the TCP (and TLS) connection is made (again,
    with the new connection, after each redirect), and
    C{negotiationFinished} once the handshake has succeeded.  When the
    handshake fails, the Deferred of C{connect} fails first, and the
    protocol's C{connectionLost} follows with an L{AbnormalClose}
    (C{code} 1006).

    @ivar url: the L{WebSocketURL} connected to.
    """

    # No __slots__: a client holds few connections, and the attempt's
    # bookkeeping is simpler as plain attributes.

    def __init__(self, attempt: Attempt, url: WebSocketURL) -> None:
        super().__init__(attempt.connectionOptions, attempt.reactor)
        # What the request is built from (version, origin, subprotocols,
        # extensions, headers): the endpoint's, read when it is built.
        self._endpoint = attempt.endpoint
        self.url = url
        self._attempt: Attempt | None = attempt
        self._head = b""
        self._refusal: tuple[InvalidStatus, int | None] | None = None
        self._body = b""
        self._redirected = False

    def _buildCodec(self) -> ClientConnection:
        url, endpoint = self.url, self._endpoint
        return ClientConnection(
            url.hostHeader,
            url.resource,
            secure=url.secure,
            options=self.options,
            version=endpoint.version,
            origin=endpoint.origin,
            subprotocols=endpoint.subprotocols,
            extensions=endpoint.extensions,
            headers=endpoint.headers,
        )

    def connectionMade(self) -> None:
        super().connectionMade()
        attempt = self._attempt
        if attempt is not None:
            attempt.connected(self)
            app = attempt.application
            self._attachApplication(app)
            app.negotiationStarted(self)
        self._flush()

    def dataReceived(self, data: bytes) -> None:
        if self._refusal is not None:
            self._readBody(data)
            return
        if self.codec.state is State.CONNECTING:
            # Kept so that the body of a refusal can be read; the codec
            # bounds the head by Options.maxHeaderSize.
            self._head += data
        super().dataReceived(data)

    def _otherEvent(self, event: Any) -> None:
        cls = event.__class__
        if cls is HandshakeFailed:
            self._handshakeFailed(event.error)
        else:
            if cls is ConnectionOpened:
                self._head = b""
            super()._otherEvent(event)

    def _opened(self) -> None:
        super()._opened()
        attempt, self._attempt = self._attempt, None
        if attempt is not None:
            attempt.opened(self)

    # A failed handshake.

    def _handshakeFailed(self, cause: Any) -> None:
        _log.info(
            "WebSocket handshake with {url} failed: {reason}", url=self.url.url, reason=cause.reason
        )
        if not isinstance(cause, InvalidStatus) or not cause.status:
            return self._report(cause)
        length: int | None = None
        for name, value in cause.headers:
            if name.lower() == "content-length" and value.strip().isdigit():
                length = int(value.strip())
        end = self._head.find(b"\r\n\r\n")
        self._refusal = (cause, length)
        self._head, body = b"", self._head[end + 4 :] if end >= 0 else b""
        self._readBody(body)

    def _readBody(self, data: bytes) -> None:
        """
        Read the body of a refusal, up to its C{Content-Length}, the end of
        the connection or L{BODY_LIMIT} bytes, whichever comes first.
        """
        refusal = self._refusal
        assert refusal is not None
        self._body += data
        cause, length = refusal
        limit = BODY_LIMIT if length is None else min(length, BODY_LIMIT)
        isRedirect = cause.status in REDIRECT_STATUSES
        if len(self._body) >= limit or isRedirect:
            self._refused()
            self._abortTransport()

    def _refused(self) -> None:
        refusal, self._refusal = self._refusal, None
        if refusal is None:
            return
        cause = refusal[0]
        headers = cause.headers
        reason = cause.reason
        if reason.startswith("server answered "):
            reason = "HTTP " + reason[len("server answered ") :].replace(", not 101", "").strip("'")
        rejected = HandshakeRejected(
            self.url.url, cause.status or 0, reason, headers, self._body[:BODY_LIMIT]
        )
        self._body = b""
        attempt = self._attempt
        if attempt is not None and rejected.status in REDIRECT_STATUSES:
            location = rejected.header("location")
            if location is not None:
                self._attempt = None
                self._redirected = True
                attempt.redirect(self.url, rejected, location)
                return
        self._report(rejected)

    def _report(self, failure: BaseException) -> None:
        attempt, self._attempt = self._attempt, None
        if attempt is not None:
            attempt.failed(failure)

    def _endTransport(self) -> None:
        if self._refusal is not None:
            # Reading a refusal's body: the open timeout bounds it.
            return
        super()._endTransport()

    def connectionLost(self, reason: Failure = _DONE) -> None:
        if self._lost:
            return
        if self._refusal is not None:
            self._refused()
        attempt = self._attempt
        if attempt is not None:
            self._attempt = None
            attempt.failed(self._handshakeLost(attempt, reason))
        if self._redirected:
            self.application = None
        super().connectionLost(reason)

    def _handshakeLost(self, attempt: Attempt, reason: Failure) -> BaseException:
        """
        The failure to report for a connection lost during its opening
        handshake.
        """
        if attempt.timedOut:
            return OpenTimeout(f"{self.url.url} did not open within {attempt.openTimeout} s")
        if attempt.cancelled:
            return defer.CancelledError()
        value = reason.value
        if value is not None and isTLSError(value):
            return TLSError(self.url.url, value)
        codec = self.codec
        cause = codec.cause
        if isinstance(cause, HandshakeError):
            return cause
        if cause is not None:
            why = cause.reason
        elif codec.state is State.CONNECTING:
            why = "connection ended during the opening handshake"
        else:
            why = codec.closeReason or "connection lost"
        if isinstance(value, error.ConnectionLost) and not isinstance(value, error.ConnectionDone):
            why += f" ({value})"
        return HandshakeError(f"{self.url.url}: {why}")

