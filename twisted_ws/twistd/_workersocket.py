"""
The listening sockets of C{twistd websocket --workers}: the parent opens
each one (L{openSocket}) and passes it on by file descriptor; a worker
listens on it (L{workerEndpoint}, an L{AdoptedEndpoint}) instead of on the
endpoint its options name.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from typing import Any

from twisted.internet import endpoints
from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IStreamServerEndpoint
from zope.interface import implementer

from .._twistedinternals import endpointTLSOptions, listeningAddress
from ._values import ConfigError

__all__ = ["WORKER_ENV", "AdoptedEndpoint", "listenSpec", "openSocket", "workerEndpoint"]

#: The environment variable that tells a twistd it is a worker: JSON with
#: its number and the inherited sockets.
WORKER_ENV = "TWISTED_WS_WORKER"

_FAMILIES = {"INET": socket.AF_INET, "INET6": socket.AF_INET6, "UNIX": socket.AF_UNIX}


@dataclass
class _Spec:
    family: str
    address: Any
    backlog: int
    mode: int | None = None


def _listenSpec(endpoint: Any) -> _Spec:
    """
    What socket to open for an endpoint.

    @raise ConfigError: for an endpoint whose socket cannot be opened by
        the parent.
    """
    found = listeningAddress(endpoint)
    if found is None:
        raise ConfigError("the workers can share tcp:, ssl: and unix: endpoints only")
    family, address, backlog, mode = found
    return _Spec(family, address, backlog, mode)


def openSocket(reactor: Any, description: str) -> tuple[socket.socket, str]:
    """
    Open the listening socket of an endpoint description.

    @return: the socket (non-blocking, listening) and its family name.
    @raise SystemExit: with one line, if it cannot be opened.
    """
    spec = _listenSpec(endpoints.serverFromString(reactor, description))
    sock = socket.socket(_FAMILIES[spec.family], socket.SOCK_STREAM)
    try:
        if spec.family == "UNIX":
            if os.path.exists(spec.address) and not _inUse(spec.address):
                os.unlink(spec.address)
        else:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(spec.address)
        if spec.mode is not None:
            os.chmod(spec.address, spec.mode)
        sock.listen(spec.backlog)
    except OSError as e:
        sock.close()
        from ._services import listenFailure

        error: Any = e
        if spec.family != "UNIX":
            from twisted.internet.error import CannotListenError

            error = CannotListenError(spec.address[0], spec.address[1], e)
        raise SystemExit(listenFailure(description, error)) from None
    sock.setblocking(False)
    return sock, spec.family


def _inUse(path: str) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(path)
        except OSError:
            return False
        return True


@implementer(IStreamServerEndpoint)
class AdoptedEndpoint:
    """
    An endpoint that listens on a socket inherited from the parent.

    @ivar fd: the socket's file descriptor.
    @ivar family: its family name (C{INET}, C{INET6}, C{UNIX}).
    @ivar tlsOptions: for an C{ssl:} endpoint, its TLS context factory.
    """

    def __init__(self, reactor: Any, fd: int, family: str, tlsOptions: Any = None) -> None:
        self.reactor = reactor
        self.fd = fd
        self.family = family
        self.tlsOptions = tlsOptions

    def listen(self, factory: Any) -> Deferred[Any]:
        """
        Accept connections on the inherited socket with C{factory}.
        """
        if self.tlsOptions is not None:
            from twisted.protocols.tls import TLSMemoryBIOFactory

            factory = TLSMemoryBIOFactory(self.tlsOptions, False, factory)
        port = self.reactor.adoptStreamPort(self.fd, _FAMILIES[self.family], factory)
        # adoptStreamPort duplicates the descriptor: close the inherited one.
        os.close(self.fd)
        return succeed(port)


def workerEndpoint(reactor: Any, description: str) -> Any:
    """
    In a worker, the endpoint of a socket the parent opened for
    C{description}; elsewhere L{None}.
    """
    raw = os.environ.get(WORKER_ENV)
    if raw is None:
        return None
    sockets = json.loads(raw).get("sockets", {})
    if description not in sockets:
        return None
    fd, family = sockets[description]
    tlsOptions = None
    parsed = endpoints.serverFromString(reactor, description)
    if isinstance(parsed, endpoints.SSL4ServerEndpoint):
        tlsOptions = endpointTLSOptions(parsed)
    return AdoptedEndpoint(reactor, fd, family, tlsOptions)


#: What L{checkWorkers} uses to refuse endpoints the workers cannot share.
listenSpec = _listenSpec
