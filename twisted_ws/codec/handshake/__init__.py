"""
The opening handshake of every version, server and client side.

 - L{_http<twisted_ws.codec.handshake._http>}: HTTP/1.1 heads, request and
   status lines, headers, error responses;
 - L{_keys<twisted_ws.codec.handshake._keys>}: C{Sec-WebSocket-Accept},
   hixie-76's keys and challenge, a client's random keys;
 - L{_request<twisted_ws.codec.handshake._request>}: the request a server
   describes;
 - L{_server<twisted_ws.codec.handshake._server>}: a server's checks of a
   request of any version (the version is decided in exactly one place,
   C{detectVersion}) and its 101 response;
 - L{_client<twisted_ws.codec.handshake._client>}: a client's request and
   the verification of the response.
"""

from ._client import ClientHandshake
from ._http import (
    REASONS,
    buildErrorResponse,
    errorHeaders,
    parseHead,
    parseRequestLine,
    parseStatusLine,
    readHead,
    supportedVersionsHeader,
)
from ._keys import acceptKey, hixie76Challenge, hixie76KeyNumber, makeHixie76Key
from ._server import (
    HandshakeRequest,
    buildResponse,
    checkOrigin,
    detectVersion,
    negotiateExtensions,
    parseRequest,
    readRequest,
    requestHead,
    validateRequest,
)

__all__ = [
    "REASONS",
    "ClientHandshake",
    "HandshakeRequest",
    "acceptKey",
    "buildErrorResponse",
    "buildResponse",
    "checkOrigin",
    "detectVersion",
    "errorHeaders",
    "hixie76Challenge",
    "hixie76KeyNumber",
    "makeHixie76Key",
    "negotiateExtensions",
    "parseHead",
    "parseRequest",
    "parseRequestLine",
    "parseStatusLine",
    "readHead",
    "readRequest",
    "requestHead",
    "supportedVersionsHeader",
    "validateRequest",
]
