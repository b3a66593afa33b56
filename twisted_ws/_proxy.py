# -*- test-case-name: tests.test_client_proxy -*-
"""
WebSocket through an HTTP proxy: a tunnel opened with C{CONNECT}
(L{TunnelEndpoint}), with Basic authentication from the proxy URL's user
information, and the choice of proxy from an argument or the usual
environment variables (L{proxyFromEnvironment}).
"""

from __future__ import annotations

import base64
import ipaddress
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from twisted.internet import defer, interfaces, protocol
from twisted.python.failure import Failure
from zope.interface import implementer

from ._url import WebSocketURL
from .codec import WebSocketError

__all__ = ["ProxyError", "ProxyURL", "TunnelEndpoint", "parseProxyURL", "proxyFromEnvironment"]

#: The largest proxy response head read, in bytes.
MAX_RESPONSE_HEAD = 16 * 1024


class ProxyError(WebSocketError):
    """
    The HTTP proxy refused to open the tunnel, or answered something that is
    not HTTP.

    @ivar status: the proxy's HTTP status (407: authentication required),
        or L{None}.
    @ivar proxy: the proxy's C{host:port}.
    """

    def __init__(self, reason: str, proxy: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.proxy = proxy


class ProxyURL:
    """
    A parsed C{http://[user:password@]host[:port]} proxy URL.

    @ivar host: the proxy's host.
    @ivar port: its port (80 when none is given).
    @ivar authorization: the C{Proxy-Authorization} value (Basic) from the
        user information, or L{None}.
    """

    def __init__(self, host: str, port: int, authorization: str | None) -> None:
        self.host = host
        self.port = port
        self.authorization = authorization

    def __repr__(self) -> str:
        auth = " (with credentials)" if self.authorization else ""
        return f"<ProxyURL {self.host}:{self.port}{auth}>"


def parseProxyURL(url: str) -> ProxyURL:
    """
    Parse a proxy URL; a bare C{host:port} is taken as C{http://host:port}.

    @raise ValueError: not an C{http://} proxy URL.
    """
    if "://" not in url:
        url = "http://" + url
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise ValueError(f"invalid proxy URL {url!r}: {e}") from None
    if parts.scheme.lower() != "http":
        raise ValueError(f"proxy URL {url!r}: only http:// proxies (HTTP CONNECT) are supported")
    if not parts.hostname:
        raise ValueError(f"proxy URL {url!r} has no host")
    authorization = None
    if parts.username is not None:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        authorization = "Basic " + base64.b64encode(credentials.encode("utf-8")).decode("ascii")
    return ProxyURL(parts.hostname, port or 80, authorization)


def _isLoopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bypassed(url: WebSocketURL, noProxy: str) -> bool:
    """
    Whether C{no_proxy} names C{url}'s host: C{*}, a host name (which
    matches it and its subdomains, with or without a leading dot), an IP
    address, or any of these with C{:port}.
    """
    host = url.host.lower()
    for entry in noProxy.replace(" ", ",").split(","):
        entry = entry.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        name, port = entry, None
        if entry.startswith("["):
            name, _, rest = entry[1:].partition("]")
            port = rest[1:] if rest.startswith(":") else None
        elif entry.count(":") == 1:
            name, port = entry.split(":")
        if port is not None and port != str(url.port):
            continue
        name = name.lstrip(".").lstrip("*.")
        if host == name or host.endswith("." + name):
            return True
    return False


def proxyFromEnvironment(url: WebSocketURL, environ: Mapping[str, str] | None = None) -> ProxyURL | None:
    """
    The proxy the environment names for C{url}: C{https_proxy} for
    C{wss://}, C{http_proxy} for C{ws://}, then C{all_proxy} (each in lower
    case first, then upper case), unless C{no_proxy} (or C{NO_PROXY}) names
    the host.  Loopback hosts never go through a proxy.

    @raise ValueError: the variable holds an unusable proxy URL.
    """
    env = os.environ if environ is None else environ
    if _isLoopback(url.host):
        return None

    def get(name: str) -> str | None:
        value = env.get(name)
        if value is None:
            value = env.get(name.upper())
        return value.strip() if value and value.strip() else None

    noProxy = get("no_proxy")
    if noProxy is not None and _bypassed(url, noProxy):
        return None
    value = get("https_proxy" if url.secure else "http_proxy") or get("all_proxy")
    return None if value is None else parseProxyURL(value)


class _Tunnel(protocol.Protocol):
    """
    The protocol on the TCP connection to the proxy: sends C{CONNECT},
    reads the answer, then hands the connection to the wrapped protocol and
    relays to it.
    """

    transport: Any

    def __init__(self, endpoint: TunnelEndpoint, factory: Any, done: defer.Deferred[Any]) -> None:
        self.endpoint = endpoint
        self.factory = factory
        self.done = done
        self.buffer = b""
        self.wrapped: Any = None

    def connectionMade(self) -> None:
        endpoint = self.endpoint
        target = endpoint.targetHost
        authority = f"[{target}]:{endpoint.targetPort}" if ":" in target else f"{target}:{endpoint.targetPort}"
        lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
        if endpoint.proxy.authorization is not None:
            lines.append(f"Proxy-Authorization: {endpoint.proxy.authorization}")
        self.transport.write(("\r\n".join(lines) + "\r\n\r\n").encode("ascii"))

    def dataReceived(self, data: bytes) -> None:
        if self.wrapped is not None:
            self.wrapped.dataReceived(data)
            return
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buffer) > MAX_RESPONSE_HEAD:
                self._fail(ProxyError("the proxy's answer is too long", self._name()))
            return
        head, rest = self.buffer[:end], self.buffer[end + 4 :]
        self.buffer = b""
        statusLine = head.split(b"\r\n", 1)[0].decode("iso-8859-1")
        parts = statusLine.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            return self._fail(ProxyError(f"the proxy answered {statusLine[:80]!r}, not HTTP", self._name()))
        status = int(parts[1])
        if not 200 <= status < 300:
            reason = f"the proxy {self._name()} refused the tunnel: {statusLine[9:80]}"
            if status == 407:
                reason += (
                    " (the proxy URL gave credentials, which it did not accept)"
                    if self.endpoint.proxy.authorization
                    else " (give credentials in the proxy URL, http://user:password@host:port)"
                )
            return self._fail(ProxyError(reason, self._name(), status))
        wrapped = self.factory.buildProtocol(self.transport.getPeer())
        if wrapped is None:
            return self._fail(ConnectionRefusedError("the factory built no protocol"))
        self.wrapped = wrapped
        wrapped.makeConnection(self.transport)
        done, self.done = self.done, None  # type: ignore[assignment]
        if done is not None and not done.called:
            done.callback(wrapped)
        if rest:
            wrapped.dataReceived(rest)

    def _name(self) -> str:
        return f"{self.endpoint.proxy.host}:{self.endpoint.proxy.port}"

    def _fail(self, error: BaseException) -> None:
        done, self.done = self.done, None  # type: ignore[assignment]
        self.transport.abortConnection()
        if done is not None and not done.called:
            done.errback(Failure(error))

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        if self.wrapped is not None:
            self.wrapped.connectionLost(reason)
            return
        done, self.done = self.done, None  # type: ignore[assignment]
        if done is not None and not done.called:
            done.errback(Failure(ProxyError(f"the proxy {self._name()} closed the connection before answering", self._name())))


@implementer(interfaces.IStreamClientEndpoint)
class TunnelEndpoint:
    """
    Connects to C{targetHost:targetPort} through an HTTP proxy's C{CONNECT}
    tunnel; the Deferred of L{connect} fires once the tunnel is open.  Wrap
    it with C{wrapClientTLS} for TLS to the target inside the tunnel.

    @ivar proxyEndpoint: the endpoint of the TCP connection to the proxy.
    @ivar proxy: the L{ProxyURL}.
    """

    def __init__(self, proxyEndpoint: Any, proxy: ProxyURL, targetHost: str, targetPort: int) -> None:
        self.proxyEndpoint = proxyEndpoint
        self.proxy = proxy
        self.targetHost = targetHost
        self.targetPort = targetPort

    def connect(self, protocolFactory: Any) -> defer.Deferred[Any]:
        """
        Open the tunnel and run C{protocolFactory}'s protocol in it.

        @return: a Deferred that fires with that protocol, or fails with the
            proxy connection's error or a L{ProxyError}.
        """
        tunnels: list[_Tunnel] = []

        def cancel(d: defer.Deferred[Any]) -> None:
            connecting.cancel()
            for tunnel in tunnels:
                tunnel.done = None  # type: ignore[assignment]
                tunnel.transport.abortConnection()

        done: defer.Deferred[Any] = defer.Deferred(cancel)

        class Factory(protocol.Factory):
            def buildProtocol(self, addr: Any) -> _Tunnel:
                tunnel = _Tunnel(endpoint, protocolFactory, done)
                tunnels.append(tunnel)
                return tunnel

        endpoint = self

        def failed(failure: Failure) -> None:
            if not done.called:
                done.errback(failure)

        connecting = self.proxyEndpoint.connect(Factory())
        connecting.addErrback(failed)
        return done
