# -*- test-case-name: tests.test_client -*-
"""
One call of a client's C{connect} (L{Attempt}): its Deferred, the open
deadline over the TCP connection, TLS and the handshake, cancellation, and
the redirects it follows.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from twisted.internet import defer, error
from twisted.internet.protocol import ClientFactory
from twisted.logger import Logger
from twisted.python.failure import Failure

from ._clientconnection import WebSocketClientConnection
from ._clienterrors import HandshakeRejected, OpenTimeout, RedirectError
from ._deadlines import DeadlineQueue
from ._url import InvalidURL

if TYPE_CHECKING:
    from ._app import WebSocketProtocol
    from ._clientendpoint import WebSocketClientEndpoint
    from ._options import Options
    from ._url import WebSocketURL

__all__ = ["Attempt"]

_log = Logger(namespace="twisted_ws")


class _HopFactory(ClientFactory):
    """
    Builds the connection of one hop of an attempt.  Not noisy: Twisted
    would otherwise log two lines (starting, stopping) per connection.
    """

    noisy = False

    def __init__(self, attempt: Attempt, url: WebSocketURL) -> None:
        self.attempt = attempt
        self.url = url

    def buildProtocol(self, addr: Any) -> WebSocketClientConnection:
        return WebSocketClientConnection(self.attempt, self.url)


def _withoutOpenTimeout(endpoint: WebSocketClientEndpoint) -> Options:
    """
    The options of the connections of C{endpoint}'s attempts: its own,
    without the open deadline, which the attempt owns.  Made once per
    L{Options} object, not per attempt.
    """
    options = endpoint.options
    cached = endpoint.__dict__.get("_connectionOptions")
    if cached is None or cached[0] is not options:
        cached = endpoint.__dict__["_connectionOptions"] = (
            options,
            dataclasses.replace(options, openTimeout=None) if options.openTimeout is not None else options,
        )
    return cached[1]  # type: ignore[no-any-return]


class Attempt:
    """
    One call of L{WebSocketClientEndpoint.connect}: its Deferred, its
    deadline, and each hop of its redirects.
    """

    def __init__(self, endpoint: WebSocketClientEndpoint, application: WebSocketProtocol) -> None:
        self.endpoint = endpoint
        self.application = application
        self.reactor = endpoint.reactor
        options = endpoint.options
        self.openTimeout = options.openTimeout
        # The attempt owns the open deadline, from before the TCP connect.
        self.connectionOptions = _withoutOpenTimeout(endpoint)
        self.deferred: defer.Deferred[Any] = defer.Deferred(self._cancel)
        self.timedOut = False
        self.cancelled = False
        self.hops = 0
        #: The URLs connected to, to stop a redirect loop (few: a list).
        self._seen: list[str] = []
        self._connecting: defer.Deferred[Any] | None = None
        self._connection: WebSocketClientConnection | None = None
        # The open deadline: an entry in the reactor's shared queue of
        # deadlines of this length.
        self._deadline: DeadlineQueue | None = None
        if self.openTimeout is not None:
            queue = self._deadline = DeadlineQueue.of(self.reactor, self.openTimeout, "attempt")
            queue.add(self, self._timeout)

    def start(self, url: WebSocketURL) -> None:
        self._seen.append(url.url)
        self._connection = None
        endpoint = self.endpoint.endpointFor(url)
        d = self._connecting = endpoint.connect(_HopFactory(self, url))
        d.addErrback(self._connectFailed, d)

    def _connectFailed(self, failure: Failure, d: defer.Deferred[Any]) -> None:
        if d is not self._connecting:
            return
        self._connecting = None
        if self.timedOut:
            self.failed(OpenTimeout(f"{self.endpoint.url} did not open within {self.openTimeout} s"))
        elif self.cancelled:
            self.failed(defer.CancelledError())
        else:
            self.failed(failure.value or error.ConnectError())

    def connected(self, connection: WebSocketClientConnection) -> None:
        self._connecting = None
        self._connection = connection

    def opened(self, connection: WebSocketClientConnection) -> None:
        self._end()
        if not self.deferred.called:
            self.deferred.callback(self.application)

    def failed(self, failure: BaseException) -> None:
        self._end()
        if not self.deferred.called:
            self.deferred.errback(Failure(failure))

    def redirect(self, current: WebSocketURL, rejected: HandshakeRejected, location: str) -> None:
        status = rejected.status or 0
        try:
            target = current.join(location)
        except InvalidURL as e:
            return self.failed(
                RedirectError(f"{current.url} redirected to {location!r}: {e.reason}", status, location)
            )
        if current.secure and not target.secure:
            return self.failed(
                RedirectError(
                    f"{current.url} redirected to {target.url}: not following wss:// to ws://",
                    status,
                    location,
                )
            )
        self.hops += 1
        if target.url in self._seen:
            return self.failed(
                RedirectError(f"redirect loop: {current.url} redirected back to {target.url}", status, location)
            )
        if self.hops > self.endpoint.maxRedirects:
            return self.failed(
                RedirectError(
                    f"more than {self.endpoint.maxRedirects} redirects, the last to {target.url}",
                    status,
                    location,
                )
            )
        _log.debug("WebSocket {url} redirected ({status}) to {target}", url=current.url, status=status, target=target.url)
        self.start(target)

    def _end(self) -> None:
        queue, self._deadline = self._deadline, None
        if queue is not None:
            queue.remove(self)
        self._connecting = None
        self._connection = None

    def _stop(self) -> None:
        connecting = self._connecting
        if connecting is not None:
            connecting.cancel()
            return
        connection = self._connection
        if connection is not None:
            connection._abortTransport()

    def _timeout(self) -> None:
        self._deadline = None
        self.timedOut = True
        self._stop()

    def _cancel(self, d: defer.Deferred[Any]) -> None:
        self.cancelled = True
        self._stop()
        if not d.called:
            # Nothing was under way to report the cancellation.
            self._end()
            d.errback(Failure(defer.CancelledError()))

