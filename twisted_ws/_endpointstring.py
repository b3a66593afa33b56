# -*- test-case-name: tests.test_client_endpointstring -*-
"""
WebSocket as a Twisted client endpoint string, for C{clientFromString}
users: any stream protocol (a C{LineReceiver}, AMP, ...) runs over a
WebSocket connection, each of its writes sent as one message and each
message received fed to its C{dataReceived}.

The syntax (the plugin in C{twisted/plugins/twisted_ws_endpoints.py}
registers the prefixes C{ws} and C{wss})::

    ws:HOST:PORT[:path=/chat][:OPTION=VALUE...]      ws://HOST:PORT/chat
    wss:HOST:PORT[:path=/chat][:OPTION=VALUE...]     wss://HOST:PORT/chat
    ws:url=ws\\://HOST\\:PORT/chat[:OPTION=VALUE...] a whole URL (its scheme
                                                    decides TLS)

C{PORT} may be left out (80 or 443).  As everywhere in endpoint strings,
C{:} and C{=} inside a value are escaped with a backslash, so an IPv6 host is
written C{ws:\\:\\:1:8080}.  Options:

 - C{version}: C{rfc6455} (the default), C{hybi-08}, C{hybi-07},
   C{hixie-76}, C{hixie-75} (or any name L{Version.fromLabel} takes);
 - C{origin}: the C{Origin} header;
 - C{subprotocols}: offered subprotocols, comma-separated;
 - C{timeout}: seconds for the TCP connection;
 - C{openTimeout}: seconds for TCP, TLS and the handshake together;
 - C{bindAddress}: the local address to bind to;
 - C{trustRoots}: for C{wss}, a PEM file of the certificates to trust
   instead of the system's (the host name is verified either way).

Messages sent are binary (text on hixie versions, which have no binary
messages; the stream must then be UTF-8).
"""

from __future__ import annotations

from typing import Any

from twisted.internet import defer, interfaces
from twisted.python.failure import Failure
from zope.interface import implementer

from ._app import WebSocketProtocol
from ._client import WebSocketClientEndpoint
from ._options import Options
from ._wrapping import MessageTransport

__all__ = ["WebSocketStreamEndpoint", "parseStreamClient"]


class _StreamBridge(WebSocketProtocol):
    """
    The client application that runs a stream protocol over the connection.
    """

    def __init__(self, wrappedFactory: Any) -> None:
        self.wrappedFactory = wrappedFactory
        self.wrapped: Any = None

    def negotiationFinished(self) -> None:
        wrapped = self.wrappedFactory.buildProtocol(self.transport.getPeer())
        if wrapped is None:
            self.transport.loseConnection(1000, "")
            return
        self.wrapped = wrapped
        wrapped.makeConnection(MessageTransport(self))  # type: ignore[arg-type]

    def textMessageReceived(self, message: str) -> None:
        if self.wrapped is not None:
            self.wrapped.dataReceived(message.encode("utf-8"))

    def bytesMessageReceived(self, data: bytes) -> None:
        if self.wrapped is not None:
            self.wrapped.dataReceived(data)

    def connectionLost(self, reason: Failure) -> None:
        wrapped, self.wrapped = self.wrapped, None
        if wrapped is not None:
            wrapped.connectionLost(reason)


@implementer(interfaces.IStreamClientEndpoint)
class WebSocketStreamEndpoint:
    """
    A client endpoint that runs stream protocols over WebSocket.

    @ivar endpoint: the L{WebSocketClientEndpoint} it connects with.
    """

    def __init__(self, endpoint: WebSocketClientEndpoint) -> None:
        self.endpoint = endpoint

    def connect(self, protocolFactory: Any) -> defer.Deferred[Any]:
        """
        Connect, and once the WebSocket connection is open, run on it the
        protocol C{protocolFactory.buildProtocol(peerAddress)} makes.

        @return: a L{Deferred} that fires with that protocol, or fails as
            L{WebSocketClientEndpoint.connect} does.
        """

        class Factory:
            def buildProtocol(self, url: str) -> _StreamBridge:
                return _StreamBridge(protocolFactory)

        def opened(bridge: _StreamBridge) -> Any:
            if bridge.wrapped is None:
                raise ConnectionRefusedError("the protocol factory built no protocol")
            return bridge.wrapped

        return self.endpoint.connect(Factory()).addCallback(opened)


class _TrustPolicy:
    """
    An C{IPolicyForHTTPS} that trusts the certificates of one PEM file.
    """

    def __init__(self, path: str) -> None:
        from twisted.internet.ssl import Certificate

        with open(path, "rb") as f:
            data = f.read()
        marker = b"-----END CERTIFICATE-----"
        pems = [p + marker for p in data.split(marker) if b"-----BEGIN CERTIFICATE-----" in p]
        if not pems:
            raise ValueError(f"no certificate in {path!r}")
        self.certificates = [Certificate.loadPEM(p) for p in pems]

    def creatorForNetloc(self, hostname: bytes, port: int) -> Any:
        from twisted.internet.ssl import optionsForClientTLS, trustRootFromCertificates

        return optionsForClientTLS(
            hostname.decode("ascii"), trustRoot=trustRootFromCertificates(self.certificates)
        )


def parseStreamClient(reactor: Any, *args: str, secure: bool = False, **kwargs: str) -> WebSocketStreamEndpoint:
    """
    Make the endpoint an endpoint string describes (see the module's
    docstring).

    @param secure: whether the prefix was C{wss}.
    @raise ValueError: a missing host, an unknown option, a bad value.
    """
    url = kwargs.pop("url", None)
    path = kwargs.pop("path", "/")
    if url is None:
        if not args:
            raise ValueError("a WebSocket endpoint needs a host: ws:HOST:PORT or ws:url=...")
        if len(args) > 2:
            raise ValueError(f"unexpected arguments {args[2:]!r}; options are written name=value")
        host = args[0]
        if ":" in host:
            host = f"[{host}]"
        port = f":{args[1]}" if len(args) > 1 and args[1] else ""
        if not path.startswith("/"):
            path = "/" + path
        url = f"{'wss' if secure else 'ws'}://{host}{port}{path}"
    elif args:
        raise ValueError("give either url= or HOST:PORT, not both")
    endpointArgs: dict[str, Any] = {}
    newArgs: dict[str, Any] = {}
    if "version" in kwargs:
        endpointArgs["version"] = kwargs.pop("version")
    if "origin" in kwargs:
        endpointArgs["origin"] = kwargs.pop("origin")
    if "subprotocols" in kwargs:
        endpointArgs["subprotocols"] = [p.strip() for p in kwargs.pop("subprotocols").split(",") if p.strip()]
    if "openTimeout" in kwargs:
        endpointArgs["options"] = Options(openTimeout=float(kwargs.pop("openTimeout")))
    if "timeout" in kwargs:
        newArgs["connectTimeout"] = float(kwargs.pop("timeout"))
    if "bindAddress" in kwargs:
        newArgs["bindAddress"] = (kwargs.pop("bindAddress"), 0)
    if "trustRoots" in kwargs:
        newArgs["tlsPolicy"] = _TrustPolicy(kwargs.pop("trustRoots"))
    if kwargs:
        raise ValueError(f"unknown WebSocket endpoint option(s): {', '.join(sorted(kwargs))}")
    endpoint = WebSocketClientEndpoint.new(reactor, url, **newArgs, **endpointArgs)
    return WebSocketStreamEndpoint(endpoint)
