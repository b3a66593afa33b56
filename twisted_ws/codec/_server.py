"""
The server side of a connection: the opening request of whichever version
the client speaks, answered by L{ServerConnection.accept} or
L{ServerConnection.reject}, then the connection of L{Connection}.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ._connection import DEFAULT_OPTIONS, Connection
from ._errors import LocalProtocolError, PeerError
from ._events import HandshakeFailed, RequestReceived
from ._options import Options, Version
from ._state import HandshakeStep
from .handshake import (
    HandshakeRequest,
    buildErrorResponse,
    buildResponse,
    errorHeaders,
    negotiateExtensions,
    parseRequest,
    readRequest,
    requestHead,
    validateRequest,
)

if TYPE_CHECKING:
    from ._extensions import Extension

__all__ = ["ServerConnection"]


class ServerConnection(Connection):
    """
    The server side of one connection, of whichever version the client
    speaks.

    Feed the opening request to C{receiveData}: a L{RequestReceived} event
    says it is complete and valid, and the caller answers with L{accept} or
    L{reject}.  An invalid request is answered by the codec itself, with the
    right HTTP status, and reported as L{HandshakeFailed}.

    Once the connection is open it keeps only the request's head, as bytes,
    and L{request} describes it again from them if it is read: an open
    connection holds a fraction of the memory that the parsed request takes.
    """

    __slots__ = ("secure", "_request", "_requestHead", "_key3", "_negotiated")

    def __init__(self, options: Options = DEFAULT_OPTIONS, secure: bool = False) -> None:
        super().__init__(options, os.urandom)
        self.secure = secure
        self._request: HandshakeRequest | None = None
        self._requestHead = b""
        self._key3 = b""
        self._negotiated: tuple[Extension, ...] = ()

    @property
    def request(self) -> HandshakeRequest | None:
        """
        The L{HandshakeRequest}, once received.  After L{accept} it is
        rebuilt from the request's head the first time it is read, and
        kept.
        """
        request = self._request
        if request is None and self._requestHead:
            request = self._request = parseRequest(
                self._requestHead, self.options, self.secure
            )
        return request

    @property
    def requestPath(self) -> str | None:
        """
        The path of the opening request (its target without the query), or
        L{None} before it arrived.  Unlike L{request}, reading it after
        L{accept} does not rebuild and keep the whole request: it is read
        off the request line, for a log line or a metric.
        """
        request = self._request
        if request is not None:
            return request.path
        head = self._requestHead
        if not head:
            return None
        line = head.split(b"\r\n", 1)[0].decode("iso-8859-1")
        return line.split(" ")[1].split("?", 1)[0]

    def _receiveHandshake(self, data: bytes) -> list:
        start = max(0, len(self._hbuf) - 3)
        self._hbuf += data
        if self.handshakeStep is HandshakeStep.HEAD:
            try:
                head = readRequest(self._hbuf, self.options.maxHeaderSize, start)
            except PeerError as e:
                return self._refuse(e)
            if head is None:
                return []
            method, target, httpVersion, headers, rawHead, self._hbuf = head
            return self.receiveRequest(method, target, httpVersion, headers, rawHead)
        if self.handshakeStep is HandshakeStep.KEY3:
            return self._checkKey3()
        # Waiting for accept() or reject(): a client must not send before the
        # response, so only a little is kept.
        if len(self._hbuf) > self.options.maxHeaderSize:
            return self._refuse(
                PeerError("client sent data before the handshake finished", status=400)
            )
        return []

    def receiveRequest(
        self,
        method: str,
        target: str,
        httpVersion: str,
        headers: list[tuple[str, str]],
        rawHead: bytes | None = None,
    ) -> list:
        """
        Feed an opening request whose head was already parsed elsewhere (as
        by C{twisted.web}); further bytes (hixie-76's key3, then frames) go
        to C{receiveData} as usual.

        @param headers: (name, value) pairs in order.
        @param rawHead: the head as received, kept instead of C{headers} to
            save memory.
        @return: the events, as from C{receiveData}.
        """
        if self.handshakeStep is not HandshakeStep.HEAD:
            raise LocalProtocolError("the opening request was already received")
        try:
            request = validateRequest(
                method, target, httpVersion, headers, self.options, self.secure, rawHead
            )
            self._negotiated = self._negotiateExtensions(request)
        except PeerError as e:
            return self._refuse(e)
        self._request = request
        self.version = request.version
        if request.version is Version.HIXIE76:
            self.handshakeStep = HandshakeStep.KEY3
            return self._checkKey3()
        self.handshakeStep = HandshakeStep.WAITING
        return [RequestReceived(request)]

    def _checkKey3(self) -> list:
        if len(self._hbuf) < 8:
            return []
        self._key3, self._hbuf = self._hbuf[:8], self._hbuf[8:]
        self.handshakeStep = HandshakeStep.WAITING
        assert self._request is not None
        return [RequestReceived(self._request)]

    def _negotiateExtensions(self, request: HandshakeRequest) -> tuple[Extension, ...]:
        return negotiateExtensions(self.options.extensions, request)

    def _internalHandshakeError(self, error: PeerError) -> list:
        # Only receiveData's handshake path gets here, while CONNECTING: a
        # refusal moves the state on and raises nothing after it.
        return self._refuse(PeerError(error.reason, status=500))

    def _refuse(self, error: PeerError) -> list:
        status = error.status or 400
        extra = errorHeaders(status, self.options.versions)
        self._out.append(buildErrorResponse(status, error.reason, extra))
        self.cause = error
        self._refused(error.reason)
        return [HandshakeFailed(status, error.reason, error)]

    def accept(
        self, subprotocol: str | None = None, headers: Iterable[tuple[str, str]] = ()
    ) -> list:
        """
        Accept the opening request: queue the 101 response and open the
        connection.

        @param subprotocol: the subprotocol to choose, which the client must
            have offered; L{None} chooses the first of C{Options.subprotocols}
            that the client offered, if any.
        @param headers: extra response headers.
        @return: the events of bytes that arrived after the request.
        @raise LocalProtocolError: no request is waiting, or the subprotocol
            was not offered.
        """
        request = self._request
        if self.handshakeStep is not HandshakeStep.WAITING or request is None:
            raise LocalProtocolError("accept() needs a RequestReceived event first")
        if subprotocol is None:
            subprotocol = request.selectSubprotocol(self.options.subprotocols)
        elif subprotocol not in request.subprotocols:
            raise LocalProtocolError(f"subprotocol {subprotocol!r} was not offered by the client")
        try:
            response = buildResponse(request, subprotocol, self._negotiated, headers, self._key3)
        except ValueError as e:
            raise LocalProtocolError(str(e)) from None
        self._out.append(response)
        self.handshakeStep = HandshakeStep.DONE
        self._requestHead = requestHead(request)
        if self._requestHead:
            self._request = None
        self._open(request.version, subprotocol, self._negotiated)
        self._key3 = b""
        self._negotiated = ()
        rest, self._hbuf = self._hbuf, b""
        return self.receiveData(rest) if rest else []

    def reject(
        self, status: int = 403, reason: str = "", headers: Iterable[tuple[str, str]] = ()
    ) -> None:
        """
        Refuse the opening request with an HTTP error response.

        @raise LocalProtocolError: no request is waiting, or the status is
            not an error status.
        """
        if self.handshakeStep is not HandshakeStep.WAITING:
            raise LocalProtocolError("reject() needs a RequestReceived event first")
        if not 400 <= status <= 599:
            raise LocalProtocolError(f"reject() needs a 4xx or 5xx status, not {status}")
        reason = reason or "WebSocket connection refused"
        self._out.append(buildErrorResponse(status, reason, headers))
        self._refused(reason)
