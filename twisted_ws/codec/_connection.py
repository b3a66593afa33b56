"""
The connection objects: one per WebSocket connection, server or client, of
any version.  Bytes go in through C{receiveData}, events come out of it, and
bytes to send accumulate until C{dataToSend} is called.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from ._errors import HandshakeError, InvalidHeader, LocalProtocolError, PeerError
from ._events import (
    CloseReceived,
    ConnectionOpened,
    HandshakeFailed,
    ProtocolError,
    RequestReceived,
)
from ._handshake import (
    ClientHandshake,
    HandshakeRequest,
    buildErrorResponse,
    buildResponse,
    errorHeaders,
    parseRequest,
    requestHead,
    validateRequest,
)
from ._hixie import HixieFramer
from ._hybi import HybiFramer, PlainServerHybiFramer, encodeServerFrame
from ._options import Options, State, Version

if TYPE_CHECKING:
    from ._extensions import Extension, ExtensionFactory

__all__ = ["Connection", "ServerConnection", "ClientConnection", "PreparedMessage"]

_DEFAULT_OPTIONS = Options()


class PreparedMessage:
    """
    A message framed once and sent to many connections, as a broadcast does:
    the frame is built once per protocol family (hixie, hybi) and reused for
    every server connection that can take it unchanged.

    @ivar data: the message, L{str} for text or L{bytes} for binary.
    """

    __slots__ = ("data", "_payload", "_hixie", "_hybi")

    def __init__(self, data: str | bytes) -> None:
        self.data = data
        self._payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        self._hixie: bytes | None = None
        self._hybi: bytes | None = None

    @property
    def isText(self) -> bool:
        """
        Whether this is a text message.
        """
        return isinstance(self.data, str)

    def frameFor(self, version: Version) -> bytes:
        """
        The frame of this message as a server sends it on C{version}.

        @raise LocalProtocolError: a binary message for a hixie version.
        """
        if version.isHixie:
            if not self.isText:
                raise LocalProtocolError(f"{version.label} has no binary messages")
            if self._hixie is None:
                self._hixie = b"\x00" + self._payload + b"\xff"
            return self._hixie
        if self._hybi is None:
            self._hybi = encodeServerFrame(0x81 if self.isText else 0x82, self._payload)
        return self._hybi


class Connection:
    """
    What server and client connections share: the state machine of the
    closing handshake, the outgoing buffer, and the sending methods.

    @ivar state: the L{State}.
    @ivar version: the protocol L{Version}, once known.
    @ivar subprotocol: the negotiated subprotocol, or L{None}.
    @ivar extensions: the negotiated extensions.
    @ivar closeCode: the code that describes how the connection closed: the
        peer's close code (1005 when it sent none), the code this side sent
        when the peer broke the protocol, or 1006 when the TCP connection
        ended without a closing handshake.  L{None} while open.
    @ivar closeReason: the reason that goes with C{closeCode}.
    @ivar wasClean: whether the closing handshake completed.
    @ivar closedByPeer: whether the peer started the closing handshake.
    @ivar failure: the L{PeerError} (or L{HandshakeError}) that failed the
        connection, or L{None}.
    @ivar shouldCloseTransport: whether the caller should now end the TCP
        connection, once it has written C{dataToSend()}.
    @ivar decodeText: whether text messages are decoded as they complete
        (see C{Options.decodeText}, its initial value); a change applies
        from the next data received.
    """

    __slots__ = (
        "options",
        "state",
        "version",
        "subprotocol",
        "extensions",
        "closeCode",
        "closeReason",
        "wasClean",
        "closedByPeer",
        "failure",
        "shouldCloseTransport",
        "decodeText",
        "_out",
        "_random",
        "_framer",
        "_hbuf",
        "_phase",
        "_pendingClose",
    )

    isClient = False

    def __init__(self, options: Options, randomSource: Callable[[int], bytes]) -> None:
        self.options = options
        self.state = State.CONNECTING
        self.version: Version | None = None
        self.subprotocol: str | None = None
        self.extensions: tuple[Extension, ...] = ()
        self.closeCode: int | None = None
        self.closeReason = ""
        self.wasClean = False
        self.closedByPeer = False
        self.failure: PeerError | None = None
        self.shouldCloseTransport = False
        self.decodeText = options.decodeText
        self._out: list[bytes] = []
        self._random = randomSource
        self._framer: HybiFramer | HixieFramer | None = None
        self._hbuf = b""
        self._phase = ""
        self._pendingClose: tuple[int, bool] | None = None

    def __repr__(self) -> str:
        version = self.version.label if self.version else "?"
        return f"<{type(self).__name__} {version} {self.state.name}>"

    # Input.

    def receiveData(self, data: bytes) -> list:
        """
        Feed bytes received from the peer.

        @return: the events these bytes complete, in order.  Peer errors do
            not raise: they appear as L{ProtocolError} or L{HandshakeFailed}
            and in C{failure}.
        """
        if self._framer is not None:
            return self._framer.receive(data)
        if self.state is State.CONNECTING:
            return self._receiveHandshake(data)
        return []

    def _receiveHandshake(self, data: bytes) -> list:
        raise NotImplementedError

    def receiveEOF(self) -> list:
        """
        The TCP connection ended.  A connection that had not finished its
        closing handshake is now closed uncleanly (1006); on hixie-75, whose
        only way to close is to end the TCP connection, it is a clean close.

        @return: the events this completes (none, today; a list for
            symmetry with C{receiveData}).
        """
        self.shouldCloseTransport = True
        if self.state is State.CLOSED:
            return []
        if self.version is Version.HIXIE75 and self.state is State.OPEN:
            self._closed(1005, "", clean=True, byPeer=True)
        else:
            if self.state is State.CONNECTING and self.failure is None:
                self.failure = PeerError("connection ended during the opening handshake")
            self._closed(
                1006, "connection ended without a closing handshake", clean=False, byPeer=True
            )
        return []

    # Output.

    def dataToSend(self) -> bytes:
        """
        The bytes to send to the peer since the last call, emptying the
        outgoing buffer.
        """
        if self._pendingClose is not None:
            self._sendPendingClose()
        framer = self._framer
        if framer is not None and framer._received is not None:
            framer._received = None
        out = self._out
        if not out:
            return b""
        data = out[0] if len(out) == 1 else b"".join(out)
        out.clear()
        return data

    def _sendPendingClose(self) -> None:
        """
        Queue the close frame that answers the peer's close or reports its
        protocol error, after any replies queued since it was decided.
        """
        pending, self._pendingClose = self._pendingClose, None
        framer = self._framer
        if pending is not None and framer is not None and not framer.sendDone:
            code, isFailure = pending
            if isFailure:
                if isinstance(framer, HybiFramer):
                    framer.sendClose(code, "")
            else:
                framer.sendClose(None if code == 1005 else code, "")
            framer.sendDone = True

    def _requireOpen(self) -> HybiFramer | HixieFramer:
        framer = self._framer
        if framer is None or (self.state is not State.OPEN and self._pendingClose is None):
            raise LocalProtocolError(f"cannot send on a connection that is {self.state.name}")
        return framer

    def sendText(self, text: str | bytes) -> None:
        """
        Send a text message.

        @param text: the text, or its UTF-8 bytes: a relay passes on the
            L{TextMessage.utf8<twisted_ws.codec.TextMessage.utf8>} it
            received and nothing is encoded.  Bytes are checked to be
            valid UTF-8; the bytes of a long text message received in the
            data being handled were checked on arrival and are not checked
            again.
        @raise LocalProtocolError: the connection is not open, or C{text}
            is bytes that are not valid UTF-8.
        """
        self._requireOpen().sendText(text)

    def sendBinary(self, data: bytes) -> None:
        """
        Send a binary message.

        @raise LocalProtocolError: the connection is not open, or it speaks
            a hixie version, which has no binary messages.
        """
        self._requireOpen().sendBinary(data)

    def sendPrepared(self, message: PreparedMessage) -> None:
        """
        Send a L{PreparedMessage}, reusing its frame where this connection
        can take it unchanged.
        """
        framer = self._requireOpen()
        if framer.canSendPrepared():
            if framer.sendDone:
                raise LocalProtocolError(
                    "cannot send a message after the connection started closing"
                )
            assert self.version is not None
            self._out.append(message.frameFor(self.version))
        elif message.isText:
            framer.sendText(message.data)  # type: ignore[arg-type]
        else:
            framer.sendBinary(message.data)  # type: ignore[arg-type]

    def sendPing(self, data: bytes = b"") -> None:
        """
        Send a ping with up to 125 bytes of application data.

        @raise LocalProtocolError: not open, too long, or a hixie version.
        """
        self._requireOpen().sendPing(data)

    def sendPong(self, data: bytes = b"") -> None:
        """
        Send an unsolicited pong (a heartbeat that expects no answer).
        """
        self._requireOpen().sendPong(data)

    def close(self, code: int | None = 1000, reason: str = "") -> None:
        """
        Start the closing handshake with C{code} and C{reason}.

        While the opening handshake is under way this aborts it; once the
        connection is closing or closed this does nothing.  On hixie-75,
        which has no closing handshake, the connection is closed at once and
        the caller should end the TCP connection.

        @raise LocalProtocolError: C{code} may not be sent (1005, 1006 and
            1015 never go on the wire), or C{reason} is over 123 bytes.
        """
        if self.state is State.CONNECTING:
            self._closed(1006, "opening handshake aborted", clean=False, byPeer=False)
            self.shouldCloseTransport = True
            self._phase = "rejected"
            return
        if self.state is not State.OPEN:
            return
        assert self._framer is not None
        self._framer.sendClose(code, reason)
        if self.version is Version.HIXIE75:
            self._closed(code if code is not None else 1005, reason, clean=True, byPeer=False)
            self.shouldCloseTransport = True
        else:
            self.state = State.CLOSING

    # Called by the framers.

    # The close frame that answers a peer's close frame, or reports its
    # protocol error, is not queued at once: the messages that arrived before
    # it in the same data are still to be handled by the caller, whose
    # replies must go out first.  dataToSend() queues it after them.

    def _closeFrameReceived(self, code: int, reason: str, events: list) -> None:
        events.append(CloseReceived(code, reason))
        assert self._framer is not None
        byPeer = self.state is State.OPEN
        self._closed(code, reason, clean=True, byPeer=byPeer, keepSending=byPeer)
        if byPeer:
            self._pendingClose = (code, False)
        # The server ends the TCP connection; a client waits for it.
        if not self.isClient:
            self.shouldCloseTransport = True

    def _failConnection(self, code: int, reason: str, events: list) -> None:
        framer = self._framer
        keepSending = framer is not None and not framer.sendDone
        self.failure = PeerError(reason, closeCode=code)
        self._closed(code, reason, clean=False, byPeer=False, keepSending=keepSending)
        if keepSending:
            self._pendingClose = (code, True)
        self.shouldCloseTransport = True
        events.append(ProtocolError(code, reason))

    def _closed(
        self, code: int, reason: str, clean: bool, byPeer: bool, keepSending: bool = False
    ) -> None:
        self.state = State.CLOSED
        self.closeCode = code
        self.closeReason = reason
        self.wasClean = clean
        self.closedByPeer = byPeer
        self._pendingClose = None
        if self._framer is not None:
            self._framer.receiveDone = True
            if not keepSending:
                self._framer.sendDone = True

    def _open(
        self, version: Version, subprotocol: str | None, extensions: tuple[Extension, ...]
    ) -> None:
        self.version = version
        self.subprotocol = subprotocol
        self.extensions = extensions
        self.state = State.OPEN
        if version.isHixie:
            self._framer = HixieFramer(self, version, self.options)
        elif not self.isClient and not extensions and self.options.fragmentSize is None:
            self._framer = PlainServerHybiFramer(
                self, False, self.options, extensions, self._random
            )
        else:
            self._framer = HybiFramer(self, self.isClient, self.options, extensions, self._random)


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

    def __init__(self, options: Options = _DEFAULT_OPTIONS, secure: bool = False) -> None:
        super().__init__(options, os.urandom)
        self.secure = secure
        self._request: HandshakeRequest | None = None
        self._requestHead = b""
        self._phase = "head"
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

    def _receiveHandshake(self, data: bytes) -> list:
        if self._phase == "rejected":
            return []
        self._hbuf += data
        if self._phase == "head":
            buf = self._hbuf
            end = buf.find(b"\r\n\r\n")
            limit = self.options.maxHeaderSize
            if end < 0 or end + 4 > limit:
                if len(buf) > limit or end + 4 > limit:
                    return self._refuse(
                        PeerError(f"request head exceeds {limit} bytes", status=431)
                    )
                return []
            head, self._hbuf = buf[:end], buf[end + 4 :]
            from ._handshake import parseHead

            try:
                startLine, headers = parseHead(head)
                parts = startLine.split(" ")
                if len(parts) != 3:
                    raise PeerError(f"malformed request line {startLine[:80]!r}", status=400)
            except PeerError as e:
                return self._refuse(e)
            return self.receiveRequest(parts[0], parts[1], parts[2], headers, head)
        if self._phase == "key3":
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
        if self._phase != "head":
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
            self._phase = "key3"
            return self._checkKey3()
        self._phase = "waiting"
        return [RequestReceived(request)]

    def _checkKey3(self) -> list:
        if len(self._hbuf) < 8:
            return []
        self._key3, self._hbuf = self._hbuf[:8], self._hbuf[8:]
        self._phase = "waiting"
        assert self._request is not None
        return [RequestReceived(self._request)]

    def _negotiateExtensions(self, request: HandshakeRequest) -> tuple[Extension, ...]:
        chosen: list[Extension] = []
        used = 0
        for factory in self.options.extensions:
            offers = [params for name, params in request.extensions if name == factory.name]
            if not offers:
                continue
            try:
                ext = factory.acceptOffer(offers)
            except ValueError as e:
                raise PeerError(f"invalid {factory.name} offer: {e}", status=400) from None
            if ext is not None and not ext.rsvBits & used:
                chosen.append(ext)
                used |= ext.rsvBits
        return tuple(chosen)

    def _refuse(self, error: PeerError) -> list:
        status = error.status or 400
        extra = errorHeaders(status, self.options.versions)
        self._out.append(buildErrorResponse(status, error.reason, extra))
        self.failure = error
        self._phase = "rejected"
        self._hbuf = b""
        self._closed(1006, error.reason, clean=False, byPeer=False)
        self.shouldCloseTransport = True
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
        if self._phase != "waiting" or request is None:
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
        self._phase = "open"
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
        if self._phase != "waiting":
            raise LocalProtocolError("reject() needs a RequestReceived event first")
        if not 400 <= status <= 599:
            raise LocalProtocolError(f"reject() needs a 4xx or 5xx status, not {status}")
        reason = reason or "WebSocket connection refused"
        self._out.append(buildErrorResponse(status, reason, headers))
        self._phase = "rejected"
        self._hbuf = b""
        self._closed(1006, reason, clean=False, byPeer=False)
        self.shouldCloseTransport = True


class ClientConnection(Connection):
    """
    The client side of one connection, speaking the version the caller
    chooses.  The opening request is queued at once in C{dataToSend()}.

    @param host: the C{Host} header (with C{:port} when not the default).
    @param path: the request target, path and query.
    @param version: the protocol L{Version} to speak.
    @param origin: the C{Origin} to claim (hixie versions need one and
        default to C{http://host}).
    @param subprotocols: subprotocols to offer, most preferred first (at most
        one on hixie).
    @param extensions: extension factories whose offers to make.
    @param headers: extra request headers.
    @param secure: whether the connection runs over TLS.
    @param randomSource: returns that many random bytes; keys and masks come
        from it.
    """

    __slots__ = ("_handshake",)

    isClient = True

    def __init__(
        self,
        host: str,
        path: str = "/",
        *,
        version: Version = Version.RFC6455,
        origin: str | None = None,
        subprotocols: Sequence[str] = (),
        extensions: Sequence[ExtensionFactory] | None = None,
        headers: Iterable[tuple[str, str]] = (),
        secure: bool = False,
        options: Options = _DEFAULT_OPTIONS,
        randomSource: Callable[[int], bytes] = os.urandom,
    ) -> None:
        super().__init__(options, randomSource)
        if extensions is None:
            extensions = () if version.isHixie else options.extensions
        self._handshake = ClientHandshake(
            host, path, version, origin, subprotocols, extensions, headers, secure, randomSource
        )
        self.version = version
        self._out.append(self._handshake.request)

    def _receiveHandshake(self, data: bytes) -> list:
        if self.failure is not None:
            return []
        self._hbuf += data
        buf = self._hbuf
        end = buf.find(b"\r\n\r\n")
        limit = self.options.maxHeaderSize
        if end < 0:
            if len(buf) > limit:
                return self._handshakeFailed(
                    InvalidHeader(f"response head exceeds {limit} bytes", "")
                )
            return []
        need = end + 4 + self._handshake.bodyLength
        if len(buf) < need:
            # Only a 101 carries hixie-76's challenge answer; judge any other
            # status as soon as the head is in.
            if not buf.startswith((b"HTTP/1.1 101 ", b"HTTP/1.0 101 ")):
                try:
                    self._handshake.verify(buf[:end], b"")
                except HandshakeError as e:
                    return self._handshakeFailed(e)
            return []
        head, body, rest = buf[:end], buf[end + 4 : need], buf[need:]
        self._hbuf = b""
        try:
            subprotocol, extensions, headers = self._handshake.verify(head, body)
        except HandshakeError as e:
            return self._handshakeFailed(e)
        del self._handshake
        version = self.version or Version.RFC6455
        self._open(version, subprotocol, extensions)
        events: list = [ConnectionOpened(version, subprotocol, extensions, headers)]
        if rest:
            events.extend(self.receiveData(rest))
        return events

    def _handshakeFailed(self, error: HandshakeError) -> list:
        self.failure = error
        self._hbuf = b""
        self._closed(1006, error.reason, clean=False, byPeer=False)
        self.shouldCloseTransport = True
        return [HandshakeFailed(error.status, error.reason, error)]
