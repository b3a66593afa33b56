# -*- test-case-name: tests.test_client -*-
"""
The client side of the Twisted layer: L{WebSocketClientEndpoint}, which
connects an application protocol to a C{ws://} or C{wss://} URL over any
protocol version, and L{WebSocketClientConnection}, the connection it runs.

The names and arguments are those of C{twisted.web.websocket}'s client
(C{WebSocketClientEndpoint.new(reactor, url, tlsPolicy, connectTimeout,
bindAddress)}, C{connect(factory)} with a factory whose C{buildProtocol(url)}
makes the protocol), so an application written for it moves over by
changing an import.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from twisted.internet import defer, error
from twisted.internet.protocol import Factory
from twisted.logger import Logger
from twisted.python.failure import Failure

from ._app import WebSocketProtocol
from ._errors import AbnormalClose  # noqa: F401 - named in docstrings
from ._options import Options
from ._transport import WebSocketConnection
from ._url import InvalidURL, WebSocketURL, parseURL
from .codec import (
    ClientConnection,
    ConnectionOpened,
    HandshakeError,
    HandshakeFailed,
    InvalidStatus,
    State,
    Version,
    WebSocketError,
)

if TYPE_CHECKING:
    from twisted.internet.interfaces import IDelayedCall, IStreamClientEndpoint

    from .codec import ExtensionFactory

__all__ = [
    "HandshakeRejected",
    "InvalidURL",
    "OpenTimeout",
    "RedirectError",
    "TLSError",
    "WebSocketClientConnection",
    "WebSocketClientEndpoint",
    "WebSocketClientFactory",
]

_log = Logger(namespace="twisted_ws")

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


def _isTLSError(value: BaseException) -> bool:
    module = type(value).__module__
    return module.startswith(("OpenSSL", "service_identity"))


# The connection.

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

    def __init__(self, attempt: _Attempt, url: WebSocketURL) -> None:
        endpoint = attempt.endpoint
        super().__init__(attempt.connectionOptions, attempt.reactor)
        self.url = url
        self._attempt: _Attempt | None = attempt
        self._head = b""
        self._refusal: tuple[InvalidStatus, int | None] | None = None
        self._body = b""
        self._redirected = False
        self._codecArguments = dict(
            version=endpoint.version,
            origin=endpoint.origin,
            subprotocols=endpoint.subprotocols,
            extensions=endpoint.extensions,
            headers=endpoint.headers,
        )

    def _buildCodec(self) -> ClientConnection:
        return ClientConnection(
            self.url.hostHeader,
            self.url.resource,
            secure=self.url.secure,
            options=self.options,
            **self._codecArguments,  # type: ignore[arg-type]
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

    def _handshakeLost(self, attempt: _Attempt, reason: Failure) -> BaseException:
        """
        The failure to report for a connection lost during its opening
        handshake.
        """
        if attempt.timedOut:
            return OpenTimeout(f"{self.url.url} did not open within {attempt.openTimeout} s")
        if attempt.cancelled:
            return defer.CancelledError()
        value = reason.value
        if value is not None and _isTLSError(value):
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


# Connecting.


class _Attempt:
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
        self.connectionOptions = dataclasses.replace(options, openTimeout=None)
        self.deferred: defer.Deferred[Any] = defer.Deferred(self._cancel)
        self.timedOut = False
        self.cancelled = False
        self.hops = 0
        self._seen: set[str] = set()
        self._connecting: defer.Deferred[Any] | None = None
        self._connection: WebSocketClientConnection | None = None
        self._deadline: IDelayedCall | None = None
        if self.openTimeout is not None:
            self._deadline = self.reactor.callLater(self.openTimeout, self._timeout)

    def start(self, url: WebSocketURL) -> None:
        self._seen.add(url.url)
        self._connection = None
        endpoint = self.endpoint.endpointFor(url)
        factory = Factory.forProtocol(lambda: WebSocketClientConnection(self, url))
        d = self._connecting = endpoint.connect(factory)
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
        call, self._deadline = self._deadline, None
        if call is not None and call.active():
            call.cancel()
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


class _StandardEndpointFactory:
    """
    TCP to the URL's host and port (L{HostnameEndpoint}, which resolves
    names and tries IPv6 and IPv4), with TLS for C{wss://}.
    """

    def __init__(
        self,
        reactor: Any,
        tlsPolicy: Any,
        connectTimeout: float | None,
        bindAddress: Any,
        proxy: str | bool | None = None,
    ) -> None:
        self.reactor = reactor
        self.tlsPolicy = tlsPolicy
        self.connectTimeout = connectTimeout
        self.bindAddress = bindAddress
        if isinstance(proxy, str) and proxy:
            from ._proxy import parseProxyURL

            # Checked now: a bad proxy URL is an error of the caller's.
            parseProxyURL(proxy)
        self.proxy = proxy

    def proxyFor(self, url: WebSocketURL) -> Any:
        """
        The L{ProxyURL<twisted_ws._proxy.ProxyURL>} to reach C{url} through,
        or L{None}: the proxy given, none when C{False} or C{""} was given,
        else the one the environment names.
        """
        from ._proxy import parseProxyURL, proxyFromEnvironment

        proxy = self.proxy
        if proxy is None or proxy is True:
            return proxyFromEnvironment(url)
        if not proxy:
            return None
        return parseProxyURL(proxy)  # type: ignore[arg-type]

    def endpointForURL(self, url: WebSocketURL) -> IStreamClientEndpoint:
        """
        The endpoint that reaches C{url}.
        """
        from twisted.internet.endpoints import HostnameEndpoint, wrapClientTLS

        kwargs: dict[str, Any] = {}
        if self.connectTimeout is not None:
            kwargs["timeout"] = self.connectTimeout
        if self.bindAddress is not None:
            kwargs["bindAddress"] = self.bindAddress
        proxy = self.proxyFor(url)
        endpoint: IStreamClientEndpoint
        if proxy is None:
            endpoint = HostnameEndpoint(self.reactor, url.host, url.port, **kwargs)
        else:
            from ._proxy import TunnelEndpoint

            endpoint = TunnelEndpoint(
                HostnameEndpoint(self.reactor, proxy.host, proxy.port, **kwargs), proxy, url.host, url.port
            )
        if url.secure:
            endpoint = wrapClientTLS(self.creatorFor(url), endpoint)
        return endpoint

    def creatorFor(self, url: WebSocketURL) -> Any:
        """
        The TLS connection creator for C{url}: from an C{IPolicyForHTTPS}
        (C{creatorForNetloc}), or the C{IOpenSSLClientConnectionCreator}
        given as the policy itself.
        """
        policy = self.tlsPolicy
        if policy is None:
            from twisted.web.client import BrowserLikePolicyForHTTPS

            policy = self.tlsPolicy = BrowserLikePolicyForHTTPS()
        creatorForNetloc = getattr(policy, "creatorForNetloc", None)
        if creatorForNetloc is not None:
            return creatorForNetloc(url.host.encode("ascii"), url.port)
        return policy


class WebSocketClientFactory:
    """
    A factory of application protocols for L{WebSocketClientEndpoint.connect}:
    C{buildProtocol(url)} makes an instance of C{protocol} and sets its
    C{factory}.  Any object with such a C{buildProtocol} will do.
    """

    def __init__(self, protocol: type[WebSocketProtocol]) -> None:
        self.protocol = protocol

    def buildProtocol(self, url: str) -> WebSocketProtocol:
        app = self.protocol()
        app.factory = self
        return app


class WebSocketClientEndpoint:
    """
    A WebSocket URL and the way to connect to it; L{connect} runs a
    protocol on it::

        endpoint = WebSocketClientEndpoint.new(reactor, "wss://example.com/chat")
        protocol = await endpoint.connect(WebSocketClientFactory(Chat))

    @ivar endpointFactory: makes the stream endpoint of each URL: an object
        with C{endpointForURL(url)} (given a L{WebSocketURL}) or, as
        C{twisted.web.client}'s C{IAgentEndpointFactory}, with
        C{endpointForURI(uri)}.
    @ivar url: the URL to connect to.
    @ivar parsedURL: the L{WebSocketURL}.
    @ivar version: the protocol L{Version} to speak.
    @ivar origin: the C{Origin} to send, or L{None} (hixie versions then send
        C{http://host}, as they must send one).
    @ivar subprotocols: the subprotocols offered, most preferred first.
    @ivar extensions: the extension factories whose offers are made (L{None}:
        those of C{options.extensions}).
    @ivar headers: extra request headers, as (name, value) pairs.
    @ivar options: the L{Options}; C{openTimeout} bounds the TCP connection,
        TLS and the handshake together.
    @ivar maxRedirects: how many redirects to follow.
    """

    def __init__(
        self,
        endpointFactory: Any,
        url: str,
        *,
        reactor: Any = None,
        version: Version | str = Version.RFC6455,
        origin: str | None = None,
        subprotocols: Sequence[str] = (),
        extensions: Sequence[ExtensionFactory] | None = None,
        headers: Iterable[tuple[str, str]] = (),
        options: Options | None = None,
        maxRedirects: int = 10,
    ) -> None:
        if reactor is None:
            reactor = getattr(endpointFactory, "reactor", None)
        if reactor is None:
            from twisted.internet import reactor as _reactor

            reactor = _reactor
        self.endpointFactory = endpointFactory
        self.url = url
        self.parsedURL = parseURL(url)
        self.reactor = reactor
        self.version = Version.fromLabel(version) if isinstance(version, str) else version
        self.origin = origin
        if isinstance(subprotocols, str):
            subprotocols = [subprotocols]
        self.subprotocols = tuple(subprotocols)
        self.extensions = extensions
        self.headers = tuple(headers)
        self.options = Options.coerce(options)
        if maxRedirects < 0:
            raise ValueError(f"maxRedirects must be 0 or more, not {maxRedirects!r}")
        self.maxRedirects = maxRedirects
        # Check the arguments now, rather than on each connect.
        self._checkRequest()

    def _checkRequest(self) -> None:
        ClientConnection(
            self.parsedURL.hostHeader,
            self.parsedURL.resource,
            version=self.version,
            origin=self.origin,
            subprotocols=self.subprotocols,
            extensions=self.extensions,
            headers=self.headers,
            options=self.options,
        )

    @classmethod
    def new(
        cls,
        reactor: Any,
        url: str,
        tlsPolicy: Any = None,
        connectTimeout: float | None = None,
        bindAddress: Any = None,
        proxy: str | bool | None = None,
        **kwargs: Any,
    ) -> WebSocketClientEndpoint:
        """
        An endpoint for C{url} on C{reactor}, with the arguments of
        C{twisted.web.websocket.WebSocketClientEndpoint.new}.

        @param url: a C{ws://} or C{wss://} URL.
        @param tlsPolicy: for C{wss://}: an C{IPolicyForHTTPS} (by default
            C{BrowserLikePolicyForHTTPS()}, which verifies the certificate
            against the system's trust roots and its host name), or an
            C{IOpenSSLClientConnectionCreator} such as
            C{optionsForClientTLS(hostname, trustRoot)} used as it is.
        @param connectTimeout: seconds the TCP connection may take (Twisted's
            default of 30 when L{None}).
        @param bindAddress: the local address to bind to, as for
            C{HostnameEndpoint}.
        @param proxy: an HTTP proxy URL (C{http://[user:password@]host:port},
            Basic authentication from its user information) to tunnel
            through with C{CONNECT}; C{False} for none; by default (L{None})
            the one the environment names (C{https_proxy} for C{wss://},
            C{http_proxy} for C{ws://}, C{all_proxy}, less C{no_proxy}, in
            lower or upper case; loopback hosts are never proxied).
            C{wss://} through a proxy does TLS with the target inside the
            tunnel.
        @param kwargs: the keyword arguments of the constructor: C{version},
            C{origin}, C{subprotocols}, C{extensions}, C{headers},
            C{options}, C{maxRedirects}.
        @raise InvalidURL: C{url} is not a WebSocket URL.
        """
        endpointFactory = _StandardEndpointFactory(reactor, tlsPolicy, connectTimeout, bindAddress, proxy)
        return cls(endpointFactory, url, reactor=reactor, **kwargs)

    def endpointFor(self, url: WebSocketURL) -> IStreamClientEndpoint:
        """
        The stream endpoint that reaches C{url}.
        """
        factory = self.endpointFactory
        endpointForURL = getattr(factory, "endpointForURL", None)
        if endpointForURL is not None:
            return endpointForURL(url)  # type: ignore[no-any-return]
        from twisted.web.client import URI

        scheme = b"https" if url.secure else b"http"
        host = url.hostHeader.encode("ascii")
        return factory.endpointForURI(  # type: ignore[no-any-return]
            URI.fromBytes(scheme + b"://" + host + url.resource.encode("ascii"))
        )

    def connect(self, protocolFactory: Any) -> defer.Deferred[Any]:
        """
        Connect, and run on the connection the protocol that
        C{protocolFactory.buildProtocol(url)} makes.

        @return: a L{Deferred} (awaitable) that fires with that protocol once
            the opening handshake has succeeded, or fails with:
            C{twisted.internet.error.ConnectError} subclasses (refused, DNS
            lookup failed, TCP timeout), L{ProxyError<twisted_ws.ProxyError>}
            (the proxy refused the tunnel, 407 included), L{TLSError}, L{HandshakeRejected} (a
            status other than 101), the codec's L{HandshakeError} subclasses
            (C{InvalidAccept}, C{InvalidChallenge}, C{InvalidHeader},
            C{NegotiationError}), L{RedirectError}, L{OpenTimeout}, or
            L{HandshakeError} when the connection ended during the
            handshake.  Cancelling it drops the connection.
        """
        app = protocolFactory.buildProtocol(self.url)
        attempt = _Attempt(self, app)
        attempt.start(self.parsedURL)
        return attempt.deferred

    def __repr__(self) -> str:
        return f"<WebSocketClientEndpoint {self.url} {self.version.label}>"

