# -*- test-case-name: tests.test_client -*-
"""
L{WebSocketClientEndpoint}, a WebSocket URL and the way to reach it, and
L{WebSocketClientFactory}; L{StandardEndpointFactory} makes the stream
endpoint of each URL (TCP, an HTTP proxy's tunnel, TLS).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ._app import WebSocketProtocol
from ._clientattempt import Attempt
from ._options import Options
from ._url import WebSocketURL, parseURL
from .codec import ClientConnection, Version

if TYPE_CHECKING:
    from twisted.internet import defer
    from twisted.internet.interfaces import IStreamClientEndpoint

    from .codec import ExtensionFactory

__all__ = ["StandardEndpointFactory", "WebSocketClientEndpoint", "WebSocketClientFactory"]


@functools.lru_cache(maxsize=256)
def _isLoopback(host: str) -> bool:
    """
    Whether C{host} is a loopback host, which never goes through a proxy;
    remembered, as each connect to the same host asks again.
    """
    from ._proxy import _isLoopback

    return _isLoopback(host)


class StandardEndpointFactory:
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
        # The TCP endpoints of IP addresses, which can be reused: at most a
        # few per factory (its URLs, their redirects), bounded all the same.
        self._tcpEndpoints: dict[tuple[Any, ...], IStreamClientEndpoint] = {}

    def proxyFor(self, url: WebSocketURL) -> Any:
        """
        The L{ProxyURL<twisted_ws._proxy.ProxyURL>} to reach C{url} through,
        or L{None}: the proxy given, none when C{False} or C{""} was given,
        else the one the environment names.
        """
        from ._proxy import parseProxyURL, proxyFromEnvironment

        proxy = self.proxy
        if proxy is None or proxy is True:
            if _isLoopback(url.host):
                return None
            return proxyFromEnvironment(url)
        if not proxy:
            return None
        return parseProxyURL(proxy)  # type: ignore[arg-type]

    def endpointForURL(self, url: WebSocketURL) -> IStreamClientEndpoint:
        """
        The endpoint that reaches C{url}.
        """
        from twisted.internet.endpoints import wrapClientTLS

        proxy = self.proxyFor(url)
        endpoint: IStreamClientEndpoint
        if proxy is None:
            endpoint = self.tcpEndpoint(url.host, url.port)
        else:
            from ._proxy import TunnelEndpoint

            endpoint = TunnelEndpoint(self.tcpEndpoint(proxy.host, proxy.port), proxy, url.host, url.port)
        if url.secure:
            endpoint = wrapClientTLS(self.creatorFor(url), endpoint)
        return endpoint

    def tcpEndpoint(self, host: str, port: int) -> IStreamClientEndpoint:
        """
        The TCP endpoint to C{host} and C{port}: a L{HostnameEndpoint} for
        a name, or the plain TCP endpoint of an IP address, which has
        nothing to resolve and costs far less per connection (no lookup
        in a thread, no IDNA check, no staggered attempts), and is made
        once and reused.
        """
        from twisted.internet import endpoints
        from twisted.internet.abstract import isIPAddress, isIPv6Address

        timeout, bindAddress = self.connectTimeout, self.bindAddress
        if bindAddress is not None:
            # As HostnameEndpoint takes it: a host alone, or (host, port).
            if isinstance(bindAddress, (bytes, str)):
                bindAddress = (bindAddress, 0)
            if isinstance(bindAddress, tuple) and isinstance(bindAddress[0], bytes):
                bindAddress = (bindAddress[0].decode(), bindAddress[1])
        kwargs: dict[str, Any] = {}
        if timeout is not None:
            kwargs["timeout"] = timeout
        if bindAddress is not None:
            kwargs["bindAddress"] = bindAddress
        if not (isIPAddress(host) or isIPv6Address(host)):
            return endpoints.HostnameEndpoint(self.reactor, host, port, **kwargs)
        cls = endpoints.TCP6ClientEndpoint if ":" in host else endpoints.TCP4ClientEndpoint
        if bindAddress is not None and not isinstance(bindAddress, tuple):
            return cls(self.reactor, host, port, **kwargs)
        key = (host, port, timeout, bindAddress)
        endpoint = self._tcpEndpoints.get(key)
        if endpoint is None:
            if len(self._tcpEndpoints) >= 64:
                self._tcpEndpoints.clear()
            endpoint = self._tcpEndpoints[key] = cls(self.reactor, host, port, **kwargs)
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
        endpointFactory = StandardEndpointFactory(reactor, tlsPolicy, connectTimeout, bindAddress, proxy)
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
        attempt = Attempt(self, app)
        attempt.start(self.parsedURL)
        return attempt.deferred

    def __repr__(self) -> str:
        return f"<WebSocketClientEndpoint {self.url} {self.version.label}>"

