"""
The HTTP/1.1 part of the opening handshake: reading a head within a size
limit, the request and status lines (RFC 9112, strictly), header lines, the
header index, token lists, and the error responses a server sends.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .._errors import PeerError
from .._extensions import isToken
from .._options import Version

__all__ = [
    "REASONS",
    "readHead",
    "parseHead",
    "parseRequestLine",
    "parseStatusLine",
    "checkHeaders",
    "checkHttpVersion",
    "checkTarget",
    "buildErrorResponse",
    "errorHeaders",
    "supportedVersionsHeader",
    "formatHeaders",
]

#: The hybi versions this codec speaks, newest first, as advertised with 426.
HYBI_ORDER = (Version.RFC6455, Version.HYBI08, Version.HYBI07)

#: The reason phrase of each status the codec or the resource sends.
REASONS = {
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

# RFC 9110 section 5.6.2: token; and the characters a field value may hold
# (section 5.5: no control character but HTAB).
_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_CONTROL = r"\x00-\x08\x0a-\x1f\x7f"
# RFC 9112 section 3: request-line = method SP request-target SP HTTP-version,
# with HTTP-version = "HTTP/" DIGIT "." DIGIT (ASCII digits only: a str
# pattern's [0-9] matches nothing else).
_REQUEST_LINE = re.compile(rf"({_TOKEN}) ([^ ]*) (HTTP/[0-9]\.[0-9])")
# RFC 9112 section 4: status-line = HTTP-version SP status-code SP
# [reason-phrase]; the last space is optional here, as most clients allow.
_STATUS_LINE = re.compile(r"HTTP/1\.[0-9] ([0-9]{3})(?: ([\t\x20-\x7e\x80-\xff]*))?")
# A WebSocket request is HTTP/1.1 or a later HTTP/1 minor version.
_HTTP11 = re.compile(r"HTTP/1\.[1-9]")
# origin-form (RFC 9112 section 3.2.1): a path of visible ASCII characters.
_TARGET = re.compile(r"/[\x21-\x7e]*")
_BAD_VALUE = re.compile(rf"[{_CONTROL}]")
_NOT_LATIN1 = re.compile(r"[^\x00-\xff]")
# A header line as L{parseHead} accepts it (RFC 9112 section 5): a token, a
# colon, and a field value (with the whitespace around it) ending in CRLF;
# and a block of such lines.
_HEADER_FIELD = re.compile(rf"({_TOKEN}):([^{_CONTROL}]*)\r\n")
_HEADER_BLOCK = re.compile(rf"(?:{_TOKEN}:[^{_CONTROL}]*\r\n)*")


def readHead(buf: bytes, limit: int, what: str = "request", start: int = 0) -> int:
    """
    Find where an HTTP head ends in C{buf}, never reading past C{limit}.

    @param limit: the largest head accepted, in bytes, counting its final
        empty line.
    @param start: where to start looking for the head's end (the bytes
        before it were searched already; the caller gives the old length
        minus 3).
    @return: the offset of the head's final CRLF CRLF (the head is
        C{buf[:end]}, what follows it C{buf[end + 4:]}), or -1 when more
        bytes are needed.
    @raise PeerError: with status 431 when the head exceeds C{limit},
        whether complete or not.
    """
    end = buf.find(b"\r\n\r\n", start)
    if (len(buf) if end < 0 else end + 4) > limit:
        raise PeerError(f"{what} head exceeds {limit} bytes", status=431)
    return end


def parseHead(head: bytes, what: str = "request") -> tuple[str, list[tuple[str, str]]]:
    """
    Split an HTTP head (without its final empty line) into its start line and
    its headers.  Bytes are read as ISO-8859-1, which decodes any byte.

    @raise PeerError: with status 400 when a header line is malformed.
    """
    startLine, sep, rest = head.decode("iso-8859-1").partition("\r\n")
    if not sep:
        return startLine, []
    rest += "\r\n"
    # A well-formed head (every one a client sends) is checked and split by
    # two regular expressions; the line-by-line reading below is for
    # finding what is wrong with one that is not.
    if _HEADER_BLOCK.fullmatch(rest) is not None:
        return startLine, [(name, value.strip(" \t")) for name, value in _HEADER_FIELD.findall(rest)]
    return startLine, _headerLines(rest[:-2].split("\r\n"), what)


def _headerLines(lines: list[str], what: str) -> list[tuple[str, str]]:
    """
    The headers of C{lines}, one line each, or the first error among them.
    """
    headers: list[tuple[str, str]] = []
    for line in lines:
        if not line:
            raise PeerError(f"empty line inside the {what} head", status=400)
        if line[0] in " \t":
            raise PeerError(f"obsolete header line folding in the {what}", status=400)
        name, colon, value = line.partition(":")
        if not colon or not isToken(name):
            raise PeerError(f"malformed header line {line[:80]!r}", status=400)
        value = value.strip(" \t")
        if _BAD_VALUE.search(value):
            raise PeerError(f"invalid character in header {name}", status=400)
        headers.append((name, value))
    # Not reached: the two expressions of parseHead accept every head that
    # has no bad line (tests.test_codec_fuzz holds them to this reading).
    return headers  # pragma: no cover


def checkHeaders(headers: list[tuple[str, str]]) -> None:
    """
    Hold headers parsed elsewhere to the rules L{parseHead} applies: each
    name a token, each value without control characters but HTAB, and
    written in ISO-8859-1.

    @raise PeerError: with status 400 for the first header that breaks them.
    """
    for name, value in headers:
        if not isToken(name):
            raise PeerError(f"malformed header name {name[:80]!r}", status=400)
        if _BAD_VALUE.search(value) or _NOT_LATIN1.search(value):
            raise PeerError(f"invalid character in header {name}", status=400)


def parseRequestLine(line: str) -> tuple[str, str, str]:
    """
    Split a request line into its method, target and HTTP version.

    @raise PeerError: with status 400 unless the line is a method token, a
        single space, a target without spaces, a single space and
        C{HTTP/}DIGIT C{.}DIGIT.
    """
    match = _REQUEST_LINE.fullmatch(line)
    if match is None:
        raise PeerError(f"malformed request line {line[:80]!r}", status=400)
    method, target, version = match.groups()
    return method, target, version


def checkHttpVersion(httpVersion: str) -> None:
    """
    Check that a request's HTTP version is 1.1 or a later 1.x.

    @raise PeerError: with status 400 otherwise.
    """
    if _HTTP11.fullmatch(httpVersion) is None:
        raise PeerError(f"WebSocket needs HTTP/1.1, not {httpVersion[:20]!r}", status=400)


def checkTarget(target: str) -> None:
    """
    Check that a request target is a path of visible ASCII characters.

    @raise PeerError: with status 400 otherwise.
    """
    if _TARGET.fullmatch(target) is None:
        raise PeerError(f"request target {target[:80]!r} is not a path", status=400)


def parseStatusLine(line: str) -> int | None:
    """
    The status code of a response's status line, or L{None} when the line
    is not C{HTTP/1.}DIGIT, a space, three ASCII digits, and optionally a
    space and a reason phrase.
    """
    match = _STATUS_LINE.fullmatch(line)
    return None if match is None else int(match.group(1))


def tokens(values: Iterable[str]) -> list[str]:
    """
    The comma-separated tokens of every value, stripped and lower-cased.
    """
    return [t.strip().lower() for value in values for t in value.split(",") if t.strip()]


Index = dict[str, list[str]]


def index(headers: list[tuple[str, str]]) -> Index:
    """
    Map each lower-cased header name to its values, in order.
    """
    result: Index = {}
    for key, value in headers:
        name = key.lower()
        values = result.get(name)
        if values is None:
            result[name] = [value]
        else:
            values.append(value)
    return result


def headerValues(headers: Index, name: str) -> list[str]:
    """
    Every value of header C{name} (lower case), in order.
    """
    return headers.get(name, [])


def single(headers: Index, name: str) -> str | None:
    """
    The one value of a header that may appear at most once.

    @raise PeerError: with status 400 when it appears more than once.
    """
    values = headers.get(name, ())
    if len(values) > 1:
        raise PeerError(f"more than one {name} header", status=400)
    return values[0] if values else None


def formatHeaders(headers: Iterable[tuple[str, str]]) -> list[str]:
    """
    Header lines, each ending in CRLF.

    @raise ValueError: a name is not a token, or a value holds CR, LF or
        NUL.
    """
    lines = []
    for name, value in headers:
        if not isToken(name):
            raise ValueError(f"invalid header name {name!r}")
        if any(c in value for c in "\r\n\x00"):
            raise ValueError(f"invalid character in the value of header {name!r}")
        lines.append(f"{name}: {value}\r\n")
    return lines


def supportedVersionsHeader(allowed: frozenset[Version]) -> str:
    """
    The value of C{Sec-WebSocket-Version} that a 426 response advertises.
    """
    return ", ".join(str(v.wireVersion) for v in HYBI_ORDER if v in allowed)


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
    body = (reason + "\n").encode("utf-8", "backslashreplace")
    phrase = REASONS.get(status, "Error")
    lines = [
        f"HTTP/1.1 {status} {phrase}\r\n",
        "Content-Type: text/plain; charset=utf-8\r\n",
        f"Content-Length: {len(body)}\r\n",
        "Connection: close\r\n",
    ]
    lines.extend(formatHeaders(extraHeaders))
    lines.append("\r\n")
    return "".join(lines).encode("iso-8859-1") + body
