# -*- test-case-name: tests.test_client_url -*-
"""
WebSocket URLs as users write them (C{ws://host:port/path?query},
C{wss://...}, IPv6 literals in brackets, international host names), parsed
into what a client needs: where to connect and what to put in the opening
request.

This module imports nothing from Twisted.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

__all__ = ["InvalidURL", "WebSocketURL", "parseURL"]

_DEFAULT_PORTS = {"ws": 80, "wss": 443}


class InvalidURL(ValueError):
    """
    A string is not a WebSocket URL a client can connect to; the message
    says why.

    @ivar url: the string.
    """

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"invalid WebSocket URL {url!r}: {reason}")
        self.url = url
        self.reason = reason


@dataclass(frozen=True)
class WebSocketURL:
    """
    A parsed WebSocket URL.

    @ivar url: the URL as given.
    @ivar secure: whether it is C{wss://} (TLS).
    @ivar host: the host to connect to: an IP address without brackets, or
        a host name in its ASCII (IDNA) form.
    @ivar port: the port, the scheme's default (80, 443) when none is given.
    @ivar resource: the request target: the path (C{/} when empty) and the
        query.
    """

    url: str
    secure: bool
    host: str
    port: int
    resource: str

    @property
    def scheme(self) -> str:
        """
        C{"wss"} or C{"ws"}.
        """
        return "wss" if self.secure else "ws"

    @property
    def isIPv6(self) -> bool:
        """
        Whether the host is an IPv6 address.
        """
        return ":" in self.host

    @property
    def hostHeader(self) -> str:
        """
        The value of the C{Host} header: the host (in brackets for IPv6),
        with C{:port} when the port is not the scheme's default.
        """
        host = f"[{self.host}]" if self.isIPv6 else self.host
        if self.port != _DEFAULT_PORTS[self.scheme]:
            host += f":{self.port}"
        return host

    def join(self, location: str) -> WebSocketURL:
        """
        Resolve C{location} (the C{Location} of a redirect, absolute or
        relative) against this URL.  C{http:} and C{https:} locations are
        taken as C{ws:} and C{wss:}.

        @raise InvalidURL: the result is not a WebSocket URL.
        """
        base = ("https" if self.secure else "http") + self.url[len(self.scheme) :]
        joined = urljoin(base, location.strip())
        scheme, sep, rest = joined.partition(":")
        scheme = {"http": "ws", "https": "wss"}.get(scheme.lower(), scheme)
        return parseURL(scheme + sep + rest)


def _asciiHost(url: str, host: str) -> str:
    """
    The ASCII form of a host name (IDNA 2003 through Python's codec, each
    label lower-cased), or the address itself for an IP literal.
    """
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        ascii = host.encode("idna").decode("ascii").lower()
    except UnicodeError as e:
        raise InvalidURL(url, f"host name {host!r} cannot be encoded: {e}") from None
    if not ascii or any(not (c.isalnum() or c in "-._") for c in ascii):
        raise InvalidURL(url, f"invalid host name {host!r}")
    return ascii


def _hostAndPort(url: str, netloc: str, defaultPort: int) -> tuple[str, int]:
    """
    The host and port of a URL's C{netloc} (without user information).

    @raise InvalidURL: no host, a bad port, or an IPv6 address that is not
        in brackets or not closed.
    """
    if netloc.startswith("["):
        end = netloc.find("]")
        if end < 0:
            raise InvalidURL(url, "unclosed [ in an IPv6 address")
        host, rest = netloc[1:end], netloc[end + 1 :]
        try:
            if ipaddress.ip_address(host).version != 6:
                raise ValueError
        except ValueError:
            raise InvalidURL(url, f"{host!r} in brackets is not an IPv6 address") from None
        if rest and not rest.startswith(":"):
            raise InvalidURL(url, f"unexpected {rest!r} after the IPv6 address")
        portText = rest[1:] if rest else ""
        hasPort = bool(rest)
    else:
        host, colon, portText = netloc.partition(":")
        hasPort = bool(colon)
        if ":" in portText:
            raise InvalidURL(url, "an IPv6 address must be in brackets, as in ws://[::1]:8080/")
    if not host:
        raise InvalidURL(url, "no host")
    if hasPort:
        if not portText.isdigit() or not portText.isascii() or not 0 < int(portText) < 65536:
            raise InvalidURL(url, f"invalid port {portText!r}")
        port = int(portText)
    else:
        port = defaultPort
    return host, port


def parseURL(url: str) -> WebSocketURL:
    """
    Parse a C{ws://} or C{wss://} URL.

    @raise InvalidURL: another scheme, no host, a bad port, a fragment
        (WebSocket URLs have none), or user information (C{user:pass@}, which
        a WebSocket client does not send; use an C{Authorization} header).
    """
    if not isinstance(url, str):
        raise InvalidURL(repr(url), "a URL is a str")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        raise InvalidURL(url, "contains spaces or control characters")
    try:
        parts = urlsplit(url)
    except ValueError as e:
        raise InvalidURL(url, str(e)) from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise InvalidURL(url, f"scheme must be ws:// or wss://, not {parts.scheme or 'none'!r}")
    if "#" in url:
        raise InvalidURL(url, "WebSocket URLs have no fragment (#...)")
    if "@" in parts.netloc:
        raise InvalidURL(url, "user information (user:password@) is not allowed; send an Authorization header")
    host, port = _hostAndPort(url, parts.netloc, _DEFAULT_PORTS[scheme])
    resource = parts.path or "/"
    if not resource.startswith("/"):
        raise InvalidURL(url, "the path must start with /")
    if parts.query or url.endswith("?"):
        resource += "?" + parts.query
    try:
        resource.encode("ascii")
    except UnicodeError:
        raise InvalidURL(url, "the path and query must be ASCII (percent-encode the rest)") from None
    return WebSocketURL(url, scheme == "wss", _asciiHost(url, host), port, resource)
