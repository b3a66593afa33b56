"""
The client's side of the opening handshake: the request of a chosen
version, and the verification of the server's response.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from .._errors import (
    InvalidAccept,
    InvalidChallenge,
    InvalidHeader,
    InvalidStatus,
    NegotiationError,
    PeerError,
)
from .._extensions import formatExtension, isToken, parseExtensions
from .._options import Version
from ._http import (
    Index,
    formatHeaders,
    headerValues,
    index,
    parseHead,
    parseStatusLine,
    readHead,
    tokens,
)
from ._keys import Random, acceptKey, makeHixie76Key, makeHybiKey

if TYPE_CHECKING:
    from .._extensions import Extension, ExtensionFactory

__all__ = ["ClientHandshake"]

_Result = tuple["str | None", "tuple[Extension, ...]", list[tuple[str, str]]]


def _checkArguments(
    host: str, path: str, version: Version, subprotocols: Sequence[str], extensions: Sequence[object]
) -> None:
    if not path.startswith("/"):
        raise ValueError(f"path {path!r} must start with /")
    if not host or any(c in host for c in "\r\n /"):
        raise ValueError(f"invalid host {host!r}")
    for proto in subprotocols:
        if not isToken(proto):
            raise ValueError(f"invalid subprotocol {proto!r}")
    if version.isHixie:
        if extensions:
            raise ValueError(f"{version.label} has no extensions")
        if len(subprotocols) > 1:
            raise ValueError(f"{version.label} offers at most one subprotocol")


class ClientHandshake:
    """
    A client's opening request for a chosen version, and the verification of
    the server's answer.

    @ivar request: the bytes of the opening request (hixie-76's key3
        included).
    @ivar bodyLength: how many bytes of body follow the response head (16
        for hixie-76's challenge answer, else 0).
    """

    def __init__(
        self,
        host: str,
        path: str,
        version: Version,
        origin: str | None,
        subprotocols: Sequence[str],
        extensions: Sequence[ExtensionFactory],
        headers: Iterable[tuple[str, str]],
        secure: bool,
        randomSource: Callable[[int], bytes],
    ) -> None:
        _checkArguments(host, path, version, subprotocols, extensions)
        self.version = version
        self.host = host
        self.path = path
        self.secure = secure
        self.subprotocols = tuple(subprotocols)
        self.extensionFactories = tuple(extensions)
        self.location = ("wss://" if secure else "ws://") + host + path
        hixie = self._hixie = version.isHixie
        if origin is None and hixie:
            origin = ("https://" if secure else "http://") + host
        self.origin = origin
        self.bodyLength = 0
        self._headEnd = -1
        lines = [f"GET {path} HTTP/1.1\r\n"]
        if hixie:
            body = self._hixieLines(lines, randomSource)
        else:
            body = self._hybiLines(lines, randomSource)
        if headers:
            lines.extend(formatHeaders(headers))
        lines.append("\r\n")
        self.request = "".join(lines).encode("iso-8859-1") + body

    def _hixieLines(self, lines: list[str], randomSource: Callable[[int], bytes]) -> bytes:
        """
        Add a hixie request's headers to C{lines}; return its body.
        """
        lines += ["Upgrade: WebSocket\r\n", "Connection: Upgrade\r\n", f"Host: {self.host}\r\n"]
        lines.append(f"Origin: {self.origin}\r\n")
        if self.version is not Version.HIXIE76:
            if self.subprotocols:
                lines.append(f"WebSocket-Protocol: {self.subprotocols[0]}\r\n")
            return b""
        rnd = Random(randomSource)
        key1, n1 = makeHixie76Key(rnd)
        key2, n2 = makeHixie76Key(rnd)
        body = randomSource(8)
        lines.append(f"Sec-WebSocket-Key1: {key1}\r\n")
        lines.append(f"Sec-WebSocket-Key2: {key2}\r\n")
        if self.subprotocols:
            lines.append(f"Sec-WebSocket-Protocol: {self.subprotocols[0]}\r\n")
        self._expected: bytes | str = hashlib.md5(struct.pack(">II", n1, n2) + body).digest()
        self.bodyLength = 16
        return body

    def _hybiLines(self, lines: list[str], randomSource: Callable[[int], bytes]) -> bytes:
        """
        Add a hybi request's headers to C{lines}; return its (empty) body.
        """
        key = makeHybiKey(randomSource)
        self._expected = acceptKey(key)
        version = self.version
        lines += [
            f"Host: {self.host}\r\n",
            "Upgrade: websocket\r\n",
            "Connection: Upgrade\r\n",
            f"Sec-WebSocket-Key: {key}\r\n",
            f"Sec-WebSocket-Version: {version.wireVersion}\r\n",
        ]
        if self.origin is not None:
            name = "Origin" if version is Version.RFC6455 else "Sec-WebSocket-Origin"
            lines.append(f"{name}: {self.origin}\r\n")
        if self.subprotocols:
            lines.append(f"Sec-WebSocket-Protocol: {', '.join(self.subprotocols)}\r\n")
        if self.extensionFactories:
            lines.append(
                "Sec-WebSocket-Extensions: "
                + ", ".join(f.offer() for f in self.extensionFactories)
                + "\r\n"
            )
        return b""

    def receive(
        self, buf: bytes, limit: int, start: int = 0
    ) -> tuple[str | None, tuple[Extension, ...], list[tuple[str, str]], bytes] | None:
        """
        Read and check the server's response from the start of C{buf}.

        @param limit: the largest response head accepted, in bytes.
        @param start: where to look for the head's end (see
            L{readHead<twisted_ws.codec.handshake._http.readHead>}).
        @return: L{None} when more bytes are needed; else, as L{verify},
            the subprotocol, extensions and headers, and the bytes that
            followed the response.
        @raise HandshakeError: the response is not acceptable.
        """
        end = self._headEnd
        if end < 0:
            try:
                end = self._headEnd = readHead(buf, limit, "response", start)
            except PeerError as e:
                raise InvalidHeader(e.reason, "") from None
            if end < 0:
                return None
        need = end + 4 + self.bodyLength
        head = buf[:end]
        if len(buf) < need:
            # Only a 101 carries hixie-76's challenge answer; judge any other
            # status as soon as the head is in.
            if parseStatusLine(head.split(b"\r\n", 1)[0].decode("iso-8859-1")) != 101:
                self.verify(head, b"")
            return None
        subprotocol, extensions, headers = self.verify(head, buf[end + 4 : need])
        return subprotocol, extensions, headers, buf[need:]

    def verify(self, head: bytes, body: bytes) -> _Result:
        """
        Check the server's response.

        @param head: the response head without its final empty line.
        @param body: the C{bodyLength} bytes that followed it.
        @return: the chosen subprotocol, the negotiated extensions and the
            response headers.
        @raise HandshakeError: the response is not acceptable; the subclass
            says why.
        """
        try:
            statusLine, headers = parseHead(head, "response")
        except PeerError as e:
            raise InvalidHeader(e.reason, "") from None
        status = parseStatusLine(statusLine)
        if status is None:
            raise InvalidStatus(f"malformed status line {statusLine[:80]!r}", 0, headers)
        if status != 101:
            raise InvalidStatus(f"server answered {statusLine[9:80]!r}, not 101", status, headers)
        byName = index(headers)
        if "websocket" not in tokens(headerValues(byName, "upgrade")):
            raise InvalidHeader("response's Upgrade header does not name websocket", "Upgrade")
        if "upgrade" not in tokens(headerValues(byName, "connection")):
            raise InvalidHeader("response's Connection header lacks upgrade", "Connection")
        extensions: tuple[Extension, ...] = ()
        if self._hixie:
            protos = self._verifyHixie(byName, body)
        else:
            accept = headerValues(byName, "sec-websocket-accept")
            if accept != [self._expected]:
                raise InvalidAccept(
                    f"Sec-WebSocket-Accept is {accept!r}, expected {self._expected!r}",
                    "Sec-WebSocket-Accept",
                )
            protos = headerValues(byName, "sec-websocket-protocol")
            extensions = self._negotiateExtensions(headerValues(byName, "sec-websocket-extensions"))
        return self._subprotocol(protos), extensions, headers

    def _verifyHixie(self, headers: Index, body: bytes) -> list[str]:
        """
        Check a hixie response's origin, location and challenge answer.

        @return: the values of its subprotocol header.
        """
        prefix = "sec-websocket-" if self.version is Version.HIXIE76 else "websocket-"
        for name, expected in (("origin", self.origin), ("location", self.location)):
            got = headerValues(headers, prefix + name)
            if got != [expected]:
                raise InvalidHeader(
                    f"response's {prefix}{name} is {got!r}, expected {expected!r}",
                    prefix + name,
                )
        if self.version is Version.HIXIE76 and body != self._expected:
            raise InvalidChallenge("hixie-76 challenge answer does not match the keys sent")
        return headerValues(headers, prefix + "protocol")

    def _subprotocol(self, protos: list[str]) -> str | None:
        """
        The subprotocol the server chose, if any, which must be one offered.
        """
        if not protos:
            return None
        if len(protos) > 1 or "," in protos[0]:
            raise NegotiationError(f"server chose several subprotocols: {protos!r}")
        subprotocol = protos[0].strip()
        if subprotocol not in self.subprotocols:
            raise NegotiationError(f"server chose subprotocol {subprotocol!r}, which was not offered")
        return subprotocol

    def _negotiateExtensions(self, values: list[str]) -> tuple[Extension, ...]:
        try:
            chosen = parseExtensions(values)
        except ValueError as e:
            raise NegotiationError(f"malformed Sec-WebSocket-Extensions: {e}") from None
        byName = {f.name: f for f in self.extensionFactories}
        result: list[Extension] = []
        seen: set[str] = set()
        for name, params in chosen:
            factory = byName.get(name)
            if factory is None:
                raise NegotiationError(f"server chose extension {name!r}, which was not offered")
            if name in seen:
                raise NegotiationError(f"server chose extension {name!r} twice")
            seen.add(name)
            try:
                result.append(factory.acceptResponse(params))
            except ValueError as e:
                raise NegotiationError(
                    f"server's parameters for {formatExtension(name, params)!r}: {e}"
                ) from None
        used = 0
        for ext in result:
            if ext.rsvBits & used:
                raise NegotiationError("two negotiated extensions use the same RSV bits")
            used |= ext.rsvBits
        return tuple(result)
