"""
The opening handshake of every version, server and client side.

The version of an opening request is decided in exactly one place,
L{detectVersion}.  Everything else here is either shared HTTP handling or
keyed by the detected version.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import hashlib
import struct
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from ._errors import (
    InvalidAccept,
    InvalidChallenge,
    InvalidHeader,
    InvalidStatus,
    NegotiationError,
    PeerError,
)
from ._extensions import formatExtension, isToken, parseExtensions
from ._options import Options, Version

if TYPE_CHECKING:
    from ._extensions import Extension, ExtensionFactory

__all__ = [
    "HandshakeRequest",
    "acceptKey",
    "hixie76KeyNumber",
    "hixie76Challenge",
    "detectVersion",
    "validateRequest",
    "parseHead",
    "parseRequest",
    "requestHead",
    "buildResponse",
    "buildErrorResponse",
    "ClientHandshake",
]

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

#: The hybi versions this codec speaks, newest first, as advertised with 426.
_HYBI_ORDER = (Version.RFC6455, Version.HYBI08, Version.HYBI07)
_BY_WIRE_NUMBER = {v.wireVersion: v for v in _HYBI_ORDER}

_REASONS = {
    101: "Switching Protocols",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    426: "Upgrade Required",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def acceptKey(key: str | bytes) -> str:
    """
    Compute C{Sec-WebSocket-Accept} for a C{Sec-WebSocket-Key} (RFC 6455
    section 4.2.2).
    """
    if isinstance(key, str):
        key = key.encode("ascii")
    return base64.b64encode(hashlib.sha1(key + GUID).digest()).decode("ascii")


def hixie76KeyNumber(key: str) -> int:
    """
    Compute the number of a hixie-76 C{Sec-WebSocket-Key1} or C{-Key2}: its
    digits read as one number, divided by its count of spaces.

    @raise ValueError: the key has no digits or no spaces, its number is not
        a multiple of its spaces, or the quotient does not fit in 32 bits.
    """
    digits = "".join(c for c in key if "0" <= c <= "9")
    spaces = key.count(" ")
    if not digits:
        raise ValueError("hixie-76 key has no digits")
    if spaces == 0:
        raise ValueError("hixie-76 key has no spaces")
    number = int(digits)
    if number % spaces:
        raise ValueError("hixie-76 key number is not a multiple of its spaces")
    quotient = number // spaces
    if quotient > 0xFFFFFFFF:
        raise ValueError("hixie-76 key number does not fit in 32 bits")
    return quotient


def hixie76Challenge(key1: str, key2: str, key3: bytes) -> bytes:
    """
    Compute the 16-byte answer of a hixie-76 server: the MD5 of both key
    numbers as big-endian 32-bit integers followed by the 8 bytes of key3.

    @raise ValueError: a key is invalid (see L{hixie76KeyNumber}).
    """
    return hashlib.md5(
        struct.pack(">II", hixie76KeyNumber(key1), hixie76KeyNumber(key2)) + key3
    ).digest()


class HandshakeRequest:
    """
    A valid opening request, as seen by a server.

    @ivar method: the request method (always C{"GET"}).
    @ivar target: the request target, path and query, as sent.
    @ivar path: the target's path, without the query.
    @ivar version: the detected protocol L{Version}.
    @ivar host: the C{Host} header.
    @ivar origin: the origin the client claims (C{Origin}, or
        C{Sec-WebSocket-Origin} for hybi-07/08), or L{None}.
    @ivar subprotocols: the subprotocols offered, in the client's order.
    @ivar extensions: the extensions offered, as (name, parameters) pairs.
    @ivar key: C{Sec-WebSocket-Key} (hybi) or L{None}.
    @ivar secure: whether the connection runs over TLS (decides C{ws:} or
        C{wss:} in hixie's location headers).

    Two requests are equal when their version, target, headers and
    C{secure} are.
    """

    __slots__ = (
        "method",
        "target",
        "path",
        "_headers",
        "_rawHead",
        "version",
        "host",
        "origin",
        "subprotocols",
        "extensions",
        "key",
        "secure",
        "_key1",
        "_key2",
    )

    def __init__(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        version: Version,
        host: str,
        origin: str | None,
        subprotocols: tuple[str, ...],
        extensions: list[tuple[str, dict[str, str | None]]],
        key: str | None,
        secure: bool,
        key1: str | None = None,
        key2: str | None = None,
        rawHead: bytes | None = None,
    ) -> None:
        self.method = method
        self.target = target
        self.path = target.split("?", 1)[0]
        self._headers = None if rawHead is not None else headers
        self._rawHead = rawHead
        self.version = version
        self.host = host
        self.origin = origin
        self.subprotocols = subprotocols
        self.extensions = extensions
        self.key = key
        self.secure = secure
        self._key1 = key1
        self._key2 = key2

    @property
    def headers(self) -> list[tuple[str, str]]:
        """
        Every header as a (name, value) pair, in order, names as sent.
        """
        if self._headers is not None:
            return self._headers
        assert self._rawHead is not None
        return parseHead(self._rawHead)[1]

    def header(self, name: str, default: str | None = None) -> str | None:
        """
        The first value of the header C{name} (case-insensitive), or
        C{default}.
        """
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return default

    def headerValues(self, name: str) -> list[str]:
        """
        Every value of the header C{name} (case-insensitive), in order.
        """
        lowered = name.lower()
        return [value for key, value in self.headers if key.lower() == lowered]

    def selectSubprotocol(self, supported: Sequence[str]) -> str | None:
        """
        The first of C{supported} (the server's order of preference) that the
        client offered, or L{None}.
        """
        for proto in supported:
            if proto in self.subprotocols:
                return proto
        return None

    @property
    def location(self) -> str:
        """
        The URL of the requested resource, as hixie's location headers give
        it.
        """
        return ("wss://" if self.secure else "ws://") + self.host + self.target

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, HandshakeRequest):
            return NotImplemented
        return (
            self.version is other.version
            and self.target == other.target
            and self.secure == other.secure
            and self.headers == other.headers
        )

    def __hash__(self) -> int:
        return hash((self.version, self.target, self.secure))

    def __repr__(self) -> str:
        return f"<HandshakeRequest {self.method} {self.target} {self.version.label}>"


def _tokens(values: Iterable[str]) -> list[str]:
    return [t.strip().lower() for value in values for t in value.split(",") if t.strip()]


_Index = dict[str, list[str]]


def _index(headers: list[tuple[str, str]]) -> _Index:
    """
    Map each lower-cased header name to its values, in order.
    """
    index: _Index = {}
    for key, value in headers:
        name = key.lower()
        values = index.get(name)
        if values is None:
            index[name] = [value]
        else:
            values.append(value)
    return index


def _headerValues(index: _Index, name: str) -> list[str]:
    return index.get(name, [])


def _single(index: _Index, name: str) -> str | None:
    """
    The one value of a header that may appear at most once.

    @raise PeerError: with status 400 when it appears more than once.
    """
    values = index.get(name, ())
    if len(values) > 1:
        raise PeerError(f"more than one {name} header", status=400)
    return values[0] if values else None


def parseHead(head: bytes, what: str = "request") -> tuple[str, list[tuple[str, str]]]:
    """
    Split an HTTP head (without its final empty line) into its start line and
    its headers.

    @raise PeerError: with status 400 when the head is malformed.
    """
    try:
        text = head.decode("iso-8859-1")
    except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes anything
        raise PeerError(f"{what} head is not ISO-8859-1", status=400) from None
    lines = text.split("\r\n")
    startLine = lines[0]
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            raise PeerError(f"empty line inside the {what} head", status=400)
        if line[0] in " \t":
            raise PeerError(f"obsolete header line folding in the {what}", status=400)
        name, colon, value = line.partition(":")
        if not colon or not isToken(name):
            raise PeerError(f"malformed header line {line[:80]!r}", status=400)
        value = value.strip(" \t")
        if "\n" in value or "\r" in value or "\x00" in value:
            raise PeerError(f"invalid character in header {name}", status=400)
        headers.append((name, value))
    return startLine, headers


def detectVersion(
    headers: list[tuple[str, str]] | _Index, allowed: frozenset[Version]
) -> Version:
    """
    Decide which protocol version an opening request speaks.  This is the
    only place where the version is chosen.

    @raise PeerError: with status 426 for a version this server does not
        speak or does not allow, or 400 when the request is not a WebSocket
        request of any version.
    """
    if isinstance(headers, list):
        headers = _index(headers)
    wire = _single(headers, "sec-websocket-version")
    if wire is not None:
        version = _BY_WIRE_NUMBER.get(int(wire)) if wire.strip().isdigit() else None
        if version is None:
            raise PeerError(f"unsupported Sec-WebSocket-Version {wire!r}", status=426)
    elif _single(headers, "sec-websocket-key1") is not None or _single(
        headers, "sec-websocket-key2"
    ) is not None:
        version = Version.HIXIE76
    elif _single(headers, "sec-websocket-key") is not None:
        raise PeerError("Sec-WebSocket-Key without Sec-WebSocket-Version", status=426)
    else:
        version = Version.HIXIE75
    if version not in allowed:
        raise PeerError(f"WebSocket version {version.label} is not enabled", status=426)
    return version


def _originAllowed(origin: str | None, allowed: tuple[str | None, ...]) -> bool:
    if origin is None:
        return None in allowed
    lowered = origin.lower()
    for pattern in allowed:
        if pattern is None:
            continue
        pattern = pattern.lower()
        if ("*" in pattern and fnmatch.fnmatchcase(lowered, pattern)) or pattern == lowered:
            return True
    return False


def validateRequest(
    method: str,
    target: str,
    httpVersion: str,
    headers: list[tuple[str, str]],
    options: Options,
    secure: bool = False,
    rawHead: bytes | None = None,
) -> HandshakeRequest:
    """
    Check an opening request of any version and describe it.

    For hixie-76 the 8 bytes of key3 follow the head; they are not part of
    this check (see L{buildResponse}).

    @param rawHead: the request head as received, if the caller has it; the
        request then keeps it instead of the parsed header list, which
        takes several times the memory.
    @raise PeerError: with the HTTP status to answer and a reason.
    """
    if method != "GET":
        raise PeerError(f"method {method} is not allowed; WebSocket needs GET", status=405)
    if not httpVersion.startswith("HTTP/1.") or httpVersion in ("HTTP/1.0",):
        raise PeerError(f"WebSocket needs HTTP/1.1, not {httpVersion}", status=400)
    if not target.startswith("/"):
        raise PeerError(f"request target {target[:80]!r} is not a path", status=400)
    index = _index(headers)
    upgrade = _headerValues(index, "upgrade")
    if not upgrade:
        raise PeerError("not a WebSocket request: no Upgrade header", status=426)
    if "websocket" not in _tokens(upgrade):
        raise PeerError(f"Upgrade header {', '.join(upgrade)!r} does not name websocket", status=400)
    if "upgrade" not in _tokens(_headerValues(index, "connection")):
        raise PeerError("Connection header does not contain the upgrade token", status=400)
    host = _single(index, "host")
    if not host:
        raise PeerError("missing Host header", status=400)

    version = detectVersion(index, options.versions)

    key = key1 = key2 = None
    if version.isHixie:
        origin = _single(index, "origin")
        if version is Version.HIXIE76:
            key1 = _single(index, "sec-websocket-key1")
            key2 = _single(index, "sec-websocket-key2")
            if key1 is None or key2 is None:
                raise PeerError("hixie-76 request needs both Sec-WebSocket-Key1 and -Key2", status=400)
            for name, value in (("Sec-WebSocket-Key1", key1), ("Sec-WebSocket-Key2", key2)):
                try:
                    hixie76KeyNumber(value)
                except ValueError as e:
                    raise PeerError(f"invalid {name}: {e}", status=400) from None
            protoHeader = "sec-websocket-protocol"
        else:
            protoHeader = "websocket-protocol"
        if origin is None:
            raise PeerError(f"{version.label} request needs an Origin header", status=400)
        proto = _single(index, protoHeader)
        subprotocols: tuple[str, ...] = (proto,) if proto else ()
        extensions: list[tuple[str, dict[str, str | None]]] = []
    else:
        key = _single(index, "sec-websocket-key")
        if key is None:
            raise PeerError("missing Sec-WebSocket-Key", status=400)
        try:
            raw = base64.b64decode(key.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            raise PeerError(f"Sec-WebSocket-Key {key!r} is not base64", status=400) from None
        if len(raw) != 16:
            raise PeerError(
                f"Sec-WebSocket-Key {key!r} decodes to {len(raw)} bytes, not 16", status=400
            )
        originName = "origin" if version is Version.RFC6455 else "sec-websocket-origin"
        origin = _single(index, originName)
        subprotocols = tuple(
            t.strip()
            for value in _headerValues(index, "sec-websocket-protocol")
            for t in value.split(",")
            if t.strip()
        )
        try:
            extensions = parseExtensions(_headerValues(index, "sec-websocket-extensions"))
        except ValueError as e:
            raise PeerError(f"malformed Sec-WebSocket-Extensions: {e}", status=400) from None

    if options.allowedOrigins is not None and not _originAllowed(origin, options.allowedOrigins):
        raise PeerError(f"origin {origin!r} is not allowed", status=403)

    return HandshakeRequest(
        method, target, headers, version, host, origin, subprotocols, extensions, key, secure,
        key1, key2, rawHead,
    )


def requestHead(request: HandshakeRequest) -> bytes:
    """
    The head of C{request} as bytes, from which L{parseRequest} describes it
    again: the head as received, or one written from the parsed request;
    empty if a header cannot be written as ISO-8859-1.
    """
    if request._rawHead is not None:
        return request._rawHead
    lines = [f"{request.method} {request.target} HTTP/1.1"]
    lines.extend(f"{name}: {value}" for name, value in request.headers)
    try:
        return "\r\n".join(lines).encode("iso-8859-1")
    except UnicodeEncodeError:
        return b""


def parseRequest(head: bytes, options: Options, secure: bool = False) -> HandshakeRequest:
    """
    Describe again a request that was valid, from its L{requestHead}.
    """
    startLine, headers = parseHead(head)
    method, target, httpVersion = startLine.split(" ")
    return validateRequest(method, target, httpVersion, headers, options, secure, head)


def _formatHeaders(headers: Iterable[tuple[str, str]]) -> list[str]:
    lines = []
    for name, value in headers:
        if not isToken(name):
            raise ValueError(f"invalid header name {name!r}")
        if any(c in value for c in "\r\n\x00"):
            raise ValueError(f"invalid character in the value of header {name!r}")
        lines.append(f"{name}: {value}\r\n")
    return lines


def buildResponse(
    request: HandshakeRequest,
    subprotocol: str | None,
    extensions: Sequence[Extension],
    extraHeaders: Iterable[tuple[str, str]] = (),
    key3: bytes = b"",
) -> bytes:
    """
    Build the 101 response that accepts C{request}, exactly as its version
    spells it.

    @param key3: for hixie-76, the 8 bytes that followed the request head.
    """
    version = request.version
    lines: list[str]
    if version is Version.HIXIE75:
        lines = [
            "HTTP/1.1 101 Web Socket Protocol Handshake\r\n",
            "Upgrade: WebSocket\r\n",
            "Connection: Upgrade\r\n",
            f"WebSocket-Origin: {request.origin}\r\n",
            f"WebSocket-Location: {request.location}\r\n",
        ]
        if subprotocol:
            lines.append(f"WebSocket-Protocol: {subprotocol}\r\n")
        body = b""
    elif version is Version.HIXIE76:
        assert request._key1 is not None and request._key2 is not None
        lines = [
            "HTTP/1.1 101 WebSocket Protocol Handshake\r\n",
            "Upgrade: WebSocket\r\n",
            "Connection: Upgrade\r\n",
            f"Sec-WebSocket-Origin: {request.origin}\r\n",
            f"Sec-WebSocket-Location: {request.location}\r\n",
        ]
        if subprotocol:
            lines.append(f"Sec-WebSocket-Protocol: {subprotocol}\r\n")
        body = hixie76Challenge(request._key1, request._key2, key3)
    else:
        assert request.key is not None
        lines = [
            "HTTP/1.1 101 Switching Protocols\r\n",
            "Upgrade: websocket\r\n",
            "Connection: Upgrade\r\n",
            f"Sec-WebSocket-Accept: {acceptKey(request.key)}\r\n",
        ]
        if subprotocol:
            lines.append(f"Sec-WebSocket-Protocol: {subprotocol}\r\n")
        if extensions:
            lines.append(
                "Sec-WebSocket-Extensions: "
                + ", ".join(ext.responseParams() for ext in extensions)
                + "\r\n"
            )
        body = b""
    lines.extend(_formatHeaders(extraHeaders))
    lines.append("\r\n")
    return "".join(lines).encode("iso-8859-1") + body


def supportedVersionsHeader(allowed: frozenset[Version]) -> str:
    """
    The value of C{Sec-WebSocket-Version} that a 426 response advertises.
    """
    return ", ".join(str(v.wireVersion) for v in _HYBI_ORDER if v in allowed)


def errorHeaders(status: int, allowed: frozenset[Version]) -> list[tuple[str, str]]:
    """
    The headers an error response with C{status} carries besides the body's:
    for 426, C{Upgrade} and the C{Sec-WebSocket-Version}s this server
    speaks; for 405, C{Allow: GET}.
    """
    if status == 426:
        headers = [("Upgrade", "websocket")]
        versions = supportedVersionsHeader(allowed)
        if versions:
            headers.append(("Sec-WebSocket-Version", versions))
        return headers
    if status == 405:
        return [("Allow", "GET")]
    return []


def buildErrorResponse(
    status: int, reason: str, extraHeaders: Iterable[tuple[str, str]] = ()
) -> bytes:
    """
    Build a complete HTTP error response whose plain-text body is C{reason}.
    """
    body = (reason + "\n").encode("utf-8")
    phrase = _REASONS.get(status, "Error")
    lines = [
        f"HTTP/1.1 {status} {phrase}\r\n",
        "Content-Type: text/plain; charset=utf-8\r\n",
        f"Content-Length: {len(body)}\r\n",
        "Connection: close\r\n",
    ]
    lines.extend(_formatHeaders(extraHeaders))
    lines.append("\r\n")
    return "".join(lines).encode("iso-8859-1") + body


# Client side.

_HIXIE_KEY_CHARS = [chr(c) for c in list(range(0x21, 0x30)) + list(range(0x3A, 0x7F))]


class _Random:
    """
    Random integers drawn from a byte source, so that keys are reproducible
    in tests with an injected source.
    """

    def __init__(self, source: Callable[[int], bytes]) -> None:
        self._source = source

    def below(self, n: int) -> int:
        """
        A uniformly random integer in [0, n).
        """
        if n <= 1:
            return 0
        nbytes = (n.bit_length() + 7) // 8 + 1
        limit = (256**nbytes // n) * n
        while True:
            value = int.from_bytes(self._source(nbytes), "big")
            if value < limit:
                return value % n


def makeHixie76Key(rnd: _Random) -> tuple[str, int]:
    """
    Make one hixie-76 key as the draft's client algorithm does, returning the
    key and its number.
    """
    spaces = 1 + rnd.below(12)
    maximum = 4294967295 // spaces
    number = rnd.below(maximum + 1)
    chars = list(str(number * spaces))
    for _ in range(1 + rnd.below(12)):
        chars.insert(rnd.below(len(chars) + 1), _HIXIE_KEY_CHARS[rnd.below(len(_HIXIE_KEY_CHARS))])
    for _ in range(spaces):
        chars.insert(1 + rnd.below(len(chars) - 1), " ")
    return "".join(chars), number


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
        self.version = version
        self.host = host
        self.path = path
        self.secure = secure
        self.subprotocols = tuple(subprotocols)
        self.extensionFactories = tuple(extensions)
        self.location = ("wss://" if secure else "ws://") + host + path
        if origin is None and version.isHixie:
            origin = ("https://" if secure else "http://") + host
        self.origin = origin
        self.bodyLength = 0
        lines = [f"GET {path} HTTP/1.1\r\n"]
        body = b""
        if version.isHixie:
            lines += ["Upgrade: WebSocket\r\n", "Connection: Upgrade\r\n", f"Host: {host}\r\n"]
            lines.append(f"Origin: {origin}\r\n")
            if version is Version.HIXIE76:
                rnd = _Random(randomSource)
                key1, n1 = makeHixie76Key(rnd)
                key2, n2 = makeHixie76Key(rnd)
                body = randomSource(8)
                lines.append(f"Sec-WebSocket-Key1: {key1}\r\n")
                lines.append(f"Sec-WebSocket-Key2: {key2}\r\n")
                if self.subprotocols:
                    lines.append(f"Sec-WebSocket-Protocol: {self.subprotocols[0]}\r\n")
                self._expected: bytes | str = hashlib.md5(struct.pack(">II", n1, n2) + body).digest()
                self.bodyLength = 16
            elif self.subprotocols:
                lines.append(f"WebSocket-Protocol: {self.subprotocols[0]}\r\n")
        else:
            key = base64.b64encode(randomSource(16)).decode("ascii")
            self._expected = acceptKey(key)
            lines += [
                f"Host: {host}\r\n",
                "Upgrade: websocket\r\n",
                "Connection: Upgrade\r\n",
                f"Sec-WebSocket-Key: {key}\r\n",
                f"Sec-WebSocket-Version: {version.wireVersion}\r\n",
            ]
            if origin is not None:
                name = "Origin" if version is Version.RFC6455 else "Sec-WebSocket-Origin"
                lines.append(f"{name}: {origin}\r\n")
            if self.subprotocols:
                lines.append(f"Sec-WebSocket-Protocol: {', '.join(self.subprotocols)}\r\n")
            if self.extensionFactories:
                lines.append(
                    "Sec-WebSocket-Extensions: "
                    + ", ".join(f.offer() for f in self.extensionFactories)
                    + "\r\n"
                )
        lines.extend(_formatHeaders(headers))
        lines.append("\r\n")
        self.request = "".join(lines).encode("iso-8859-1") + body

    def verify(
        self, head: bytes, body: bytes
    ) -> tuple[str | None, tuple[Extension, ...], list[tuple[str, str]]]:
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
        index = _index(headers)
        parts = statusLine.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise InvalidStatus(f"malformed status line {statusLine[:80]!r}", 0, headers)
        status = int(parts[1])
        if status != 101:
            raise InvalidStatus(f"server answered {statusLine[9:80]!r}, not 101", status, headers)
        if "websocket" not in _tokens(_headerValues(index, "upgrade")):
            raise InvalidHeader("response's Upgrade header does not name websocket", "Upgrade")
        if "upgrade" not in _tokens(_headerValues(index, "connection")):
            raise InvalidHeader("response's Connection header lacks upgrade", "Connection")
        version = self.version
        extensions: tuple[Extension, ...] = ()
        if version.isHixie:
            prefix = "sec-websocket-" if version is Version.HIXIE76 else "websocket-"
            for name, expected in (("origin", self.origin), ("location", self.location)):
                got = _headerValues(index, prefix + name)
                if got != [expected]:
                    raise InvalidHeader(
                        f"response's {prefix}{name} is {got!r}, expected {expected!r}",
                        prefix + name,
                    )
            protos = _headerValues(index, prefix + "protocol")
            if version is Version.HIXIE76 and body != self._expected:
                raise InvalidChallenge("hixie-76 challenge answer does not match the keys sent")
        else:
            accept = _headerValues(index, "sec-websocket-accept")
            if accept != [self._expected]:
                raise InvalidAccept(
                    f"Sec-WebSocket-Accept is {accept!r}, expected {self._expected!r}",
                    "Sec-WebSocket-Accept",
                )
            protos = _headerValues(index, "sec-websocket-protocol")
            extensions = self._negotiateExtensions(_headerValues(index, "sec-websocket-extensions"))
        subprotocol: str | None = None
        if protos:
            if len(protos) > 1 or "," in protos[0]:
                raise NegotiationError(f"server chose several subprotocols: {protos!r}")
            subprotocol = protos[0].strip()
            if subprotocol not in self.subprotocols:
                raise NegotiationError(f"server chose subprotocol {subprotocol!r}, which was not offered")
        return subprotocol, extensions, headers

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
