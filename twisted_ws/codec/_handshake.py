"""
The opening handshake, under the names it had before it moved to
L{twisted_ws.codec.handshake}; kept so that existing imports work.
"""

from __future__ import annotations

from .handshake import (
    ClientHandshake,
    HandshakeRequest,
    acceptKey,
    buildErrorResponse,
    buildResponse,
    detectVersion,
    errorHeaders,
    hixie76Challenge,
    hixie76KeyNumber,
    makeHixie76Key,
    parseHead,
    parseRequest,
    requestHead,
    supportedVersionsHeader,
    validateRequest,
)
from .handshake._http import HYBI_ORDER as _HYBI_ORDER
from .handshake._http import REASONS as _REASONS
from .handshake._http import Index as _Index
from .handshake._http import formatHeaders as _formatHeaders
from .handshake._http import headerValues as _headerValues
from .handshake._http import index as _index
from .handshake._http import single as _single
from .handshake._http import tokens as _tokens
from .handshake._keys import _HIXIE_KEY_CHARS, GUID
from .handshake._keys import Random as _Random
from .handshake._server import _BY_WIRE_NUMBER
from .handshake._server import _originAllowed as _patternAllowed

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
    "GUID",
    "errorHeaders",
    "makeHixie76Key",
    "supportedVersionsHeader",
    "_BY_WIRE_NUMBER",
    "_HIXIE_KEY_CHARS",
    "_HYBI_ORDER",
    "_Index",
    "_REASONS",
    "_Random",
    "_formatHeaders",
    "_headerValues",
    "_index",
    "_originAllowed",
    "_single",
    "_tokens",
]


def _originAllowed(origin: str | None, allowed: tuple[str | None, ...]) -> bool:
    """
    Whether C{origin} passes C{allowed} (see L{Options.allowedOrigins
    <twisted_ws.codec.Options>}).
    """
    if origin is None:
        return None in allowed
    return _patternAllowed(origin, allowed)
