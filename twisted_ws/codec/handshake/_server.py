"""
The server's side of the opening handshake: reading and checking a request
of any version, deciding its version (in exactly one place,
L{detectVersion}), the origin policy, extension negotiation, and the 101
response.
"""

from __future__ import annotations

import binascii
import fnmatch
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from .._errors import PeerError
from .._extensions import parseExtensions
from .._options import Options, Version
from ._http import (
    HYBI_ORDER,
    Index,
    checkHeaders,
    checkHttpVersion,
    checkTarget,
    formatHeaders,
    headerValues,
    index,
    parseHead,
    parseRequestLine,
    readHead,
    single,
    tokens,
)
from ._keys import acceptKey, hixie76Challenge, hixie76KeyNumber
from ._request import HandshakeRequest, Offers

if TYPE_CHECKING:
    from .._extensions import Extension, ExtensionFactory

__all__ = [
    "HandshakeRequest",
    "detectVersion",
    "validateRequest",
    "readRequest",
    "parseRequest",
    "requestHead",
    "negotiateExtensions",
    "buildResponse",
]

_BY_WIRE_NUMBER = {v.wireVersion: v for v in HYBI_ORDER}
# RFC 6455 section 4.1: version = DIGIT | NZDIGIT DIGIT | 1 DIGIT DIGIT |
# 2 DIGIT DIGIT (0-255), ASCII digits without leading zeros.
_WIRE_VERSION = re.compile(r"0|[1-9][0-9]{0,2}")
# RFC 9110 section 7.2: Host = uri-host [ ":" port ], uri-host being an
# IP-literal in brackets or a reg-name (RFC 3986 section 3.2.2).
_HOST = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]+)(:[0-9]*)?")

def detectVersion(headers: list[tuple[str, str]] | Index, allowed: frozenset[Version]) -> Version:
    """
    Decide which protocol version an opening request speaks.  This is the
    only place where the version is chosen.

    @raise PeerError: with status 426 for a version this server does not
        speak or does not allow, or 400 when the request is not a WebSocket
        request of any version.
    """
    if isinstance(headers, list):
        headers = index(headers)
    wire = single(headers, "sec-websocket-version")
    if wire is not None:
        version = (
            _BY_WIRE_NUMBER.get(int(wire)) if _WIRE_VERSION.fullmatch(wire) is not None else None
        )
        if version is None:
            raise PeerError(f"unsupported Sec-WebSocket-Version {wire[:20]!r}", status=426)
    elif single(headers, "sec-websocket-key1") is not None or single(
        headers, "sec-websocket-key2"
    ) is not None:
        version = Version.HIXIE76
    elif single(headers, "sec-websocket-key") is not None:
        raise PeerError("Sec-WebSocket-Key without Sec-WebSocket-Version", status=426)
    else:
        version = Version.HIXIE75
    if version not in allowed:
        raise PeerError(f"WebSocket version {version.label} is not enabled", status=426)
    return version


def _originAllowed(origin: str, allowed: tuple[str | None, ...]) -> bool:
    lowered = origin.lower()
    for pattern in allowed:
        if pattern is None:
            continue
        pattern = pattern.lower()
        if ("*" in pattern and fnmatch.fnmatchcase(lowered, pattern)) or pattern == lowered:
            return True
    return False


def checkOrigin(origin: str | None, allowed: tuple[str | None, ...] | None, name: str) -> None:
    """
    Apply C{Options.allowedOrigins}: with no list every request passes; a
    request without an origin header passes only if the list holds
    L{None}; any other must match one of the list's patterns.

    @param name: the origin header's name in this version, for the reason.
    @raise PeerError: with status 403 when the origin is refused.
    """
    if allowed is None:
        return
    if origin is None:
        if None not in allowed:
            raise PeerError(f"no {name} header", status=403)
    elif not _originAllowed(origin, allowed):
        raise PeerError(f"origin {origin[:200]!r} is not allowed", status=403)


def _names(values: list[str], token: str) -> bool:
    """
    Whether the token lists C{values} hold C{token} (lower case), looked up
    at once in the usual single value that is just that token.
    """
    if len(values) == 1 and values[0].lower() == token:
        return True
    return token in tokens(values)


def _checkUpgrade(method: str, target: str, httpVersion: str, headers: Index) -> str:
    """
    Check what every version's request has in common: the request line,
    C{Upgrade}, C{Connection} and C{Host}.

    @return: the C{Host} header.
    """
    if method != "GET":
        raise PeerError(f"method {method[:20]} is not allowed; WebSocket needs GET", status=405)
    checkHttpVersion(httpVersion)
    checkTarget(target)
    upgrade = headerValues(headers, "upgrade")
    if not upgrade:
        raise PeerError("not a WebSocket request: no Upgrade header", status=426)
    if not _names(upgrade, "websocket"):
        raise PeerError(
            f"Upgrade header {', '.join(upgrade)[:80]!r} does not name websocket", status=400
        )
    if not _names(headerValues(headers, "connection"), "upgrade"):
        raise PeerError("Connection header does not contain the upgrade token", status=400)
    host = single(headers, "host")
    if not host:
        raise PeerError("missing Host header", status=400)
    if _HOST.fullmatch(host) is None:
        raise PeerError(f"invalid Host header {host[:80]!r}", status=400)
    return host


def _hixieFields(
    headers: Index, version: Version
) -> tuple[str, tuple[str, ...], str | None, str | None]:
    """
    The origin, subprotocols and (for hixie-76) keys of a hixie request.
    """
    origin = single(headers, "origin")
    key1 = key2 = None
    if version is Version.HIXIE76:
        key1 = single(headers, "sec-websocket-key1")
        key2 = single(headers, "sec-websocket-key2")
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
    proto = single(headers, protoHeader)
    return origin, ((proto,) if proto else ()), key1, key2


def _hybiFields(headers: Index, version: Version) -> tuple[str, str | None, tuple[str, ...], Offers]:
    """
    The key, origin, subprotocols and extension offers of a hybi request.
    """
    key = single(headers, "sec-websocket-key")
    if key is None:
        raise PeerError("missing Sec-WebSocket-Key", status=400)
    try:
        raw = binascii.a2b_base64(key.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError):
        raise PeerError(f"Sec-WebSocket-Key {key[:40]!r} is not base64", status=400) from None
    if len(raw) != 16:
        raise PeerError(
            f"Sec-WebSocket-Key {key[:40]!r} decodes to {len(raw)} bytes, not 16", status=400
        )
    origin = single(headers, _ORIGIN_KEYS[version])
    protocols = headers.get("sec-websocket-protocol")
    subprotocols: tuple[str, ...] = ()
    if protocols:
        subprotocols = tuple(t.strip() for value in protocols for t in value.split(",") if t.strip())
    offered = headers.get("sec-websocket-extensions")
    extensions: Offers = []
    if offered:
        try:
            extensions = parseExtensions(offered, dropRepeated=True)
        except ValueError as e:
            raise PeerError(f"malformed Sec-WebSocket-Extensions: {e}", status=400) from None
    return key, origin, subprotocols, extensions


def originHeader(version: Version) -> str:
    """
    The name of the header in which a client of C{version} sends its origin.
    """
    if version is Version.HYBI07 or version is Version.HYBI08:
        return "Sec-WebSocket-Origin"
    return "Origin"


#: The lower-cased name of the origin header of each version, as indexed.
_ORIGIN_KEYS = {version: originHeader(version).lower() for version in Version}


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
    if rawHead is None:
        checkHeaders(headers)
    byName = index(headers)
    host = _checkUpgrade(method, target, httpVersion, byName)
    version = detectVersion(byName, options.versions)
    key = key1 = key2 = None
    origin: str | None
    extensions: Offers = []
    if version.isHixie:
        origin, subprotocols, key1, key2 = _hixieFields(byName, version)
    else:
        key, origin, subprotocols, extensions = _hybiFields(byName, version)
    checkOrigin(origin, options.allowedOrigins, originHeader(version))
    return HandshakeRequest(
        method, target, headers, version, host, origin, subprotocols, extensions, key, secure,
        key1, key2, rawHead,
    )


def readRequest(
    buf: bytes, limit: int, start: int = 0
) -> tuple[str, str, str, list[tuple[str, str]], bytes, bytes] | None:
    """
    Read a request head from the start of C{buf}, within C{limit} bytes.

    @param start: where to look for the head's end (see
        L{readHead<twisted_ws.codec.handshake._http.readHead>}).
    @return: L{None} if more bytes are needed, else the method, target,
        HTTP version, headers, the head's bytes (without its final empty
        line) and the bytes that followed it.
    @raise PeerError: with status 431 for a head over C{limit}, 400 for a
        malformed one.
    """
    end = readHead(buf, limit, "request", start)
    if end < 0:
        return None
    head = buf[:end]
    startLine, headers = parseHead(head)
    method, target, httpVersion = parseRequestLine(startLine)
    return method, target, httpVersion, headers, head, buf[end + 4 :]


def requestHead(request: HandshakeRequest) -> bytes:
    """
    The head of C{request} as bytes, from which L{parseRequest} describes it
    again: the head as received, or one written from the parsed request;
    empty if a header cannot be written so that it reads back the same (a
    value that is not ISO-8859-1, or starts or ends with whitespace, which
    reading strips).
    """
    if request._rawHead is not None:
        return request._rawHead
    lines = [f"{request.method} {request.target} HTTP/1.1"]
    for name, value in request.headers:
        if value != value.strip(" \t"):
            return b""
        lines.append(f"{name}: {value}")
    try:
        return "\r\n".join(lines).encode("iso-8859-1")
    except UnicodeEncodeError:
        return b""


def parseRequest(head: bytes, options: Options, secure: bool = False) -> HandshakeRequest:
    """
    Describe again a request that was valid, from its L{requestHead}.
    """
    startLine, headers = parseHead(head)
    method, target, httpVersion = parseRequestLine(startLine)
    return validateRequest(method, target, httpVersion, headers, options, secure, head)


def negotiateExtensions(
    factories: Iterable[ExtensionFactory], request: HandshakeRequest
) -> tuple[Extension, ...]:
    """
    The extensions to accept from C{request}'s offers: each factory in the
    server's order of preference answers the offers of its name, and an
    extension whose RSV bits an earlier one took is left out.

    @raise PeerError: with status 400 when a factory finds an offer invalid.
    """
    chosen: list[Extension] = []
    used = 0
    for factory in factories:
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


def _hixieResponseLines(request: HandshakeRequest, subprotocol: str | None) -> list[str]:
    if request.version is Version.HIXIE75:
        first, prefix = "HTTP/1.1 101 Web Socket Protocol Handshake\r\n", "WebSocket-"
    else:
        first, prefix = "HTTP/1.1 101 WebSocket Protocol Handshake\r\n", "Sec-WebSocket-"
    lines = [
        first,
        "Upgrade: WebSocket\r\n",
        "Connection: Upgrade\r\n",
        f"{prefix}Origin: {request.origin}\r\n",
        f"{prefix}Location: {request.location}\r\n",
    ]
    if subprotocol:
        lines.append(f"{prefix}Protocol: {subprotocol}\r\n")
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
    @raise ValueError: an extra header cannot be written.
    """
    version = request.version
    body = b""
    if version.isHixie:
        lines = _hixieResponseLines(request, subprotocol)
        if version is Version.HIXIE76:
            assert request._key1 is not None and request._key2 is not None
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
    lines.extend(formatHeaders(extraHeaders))
    lines.append("\r\n")
    return "".join(lines).encode("iso-8859-1") + body
