# -*- test-case-name: tests.test_pubsub_redis -*-
"""
The frame of a message that L{RedisHub<twisted_ws.pubsub.RedisHub>}
publishes to Redis: C{b"tw1"}, one byte C{t} (text) or C{b} (binary), one
byte for the length of the origin's process id, the id, then the payload.
"""

from __future__ import annotations

__all__ = ["MAGIC", "encodeFrame", "decodeFrame"]

#: The first bytes of every message frame this hub publishes.
MAGIC = b"tw1"
_TEXT, _BINARY = b"t", b"b"


def encodeFrame(origin: str, message: str | bytes) -> bytes:
    """
    The frame published to Redis for C{message} from process C{origin}.
    """
    originBytes = origin.encode("utf-8")
    if len(originBytes) > 255:
        raise ValueError("a process id has at most 255 bytes")
    if isinstance(message, str):
        kind, payload = _TEXT, message.encode("utf-8")
    else:
        kind, payload = _BINARY, bytes(message)
    return b"".join((MAGIC, kind, bytes((len(originBytes),)), originBytes, payload))


def decodeFrame(frame: bytes) -> tuple[str, str | bytes]:
    """
    The origin and message of a frame made by L{encodeFrame}.

    @raise ValueError: C{frame} is not one, or its text is not UTF-8.
    """
    if not isinstance(frame, bytes) or len(frame) < 5 or frame[:3] != MAGIC:
        raise ValueError("not a twisted_ws hub frame")
    kind, length = frame[3:4], frame[4]
    originBytes = frame[5 : 5 + length]
    if len(originBytes) != length:
        raise ValueError("truncated hub frame")
    origin = originBytes.decode("utf-8")
    payload = frame[5 + length :]
    if kind == _TEXT:
        return origin, payload.decode("utf-8")
    if kind == _BINARY:
        return origin, payload
    raise ValueError(f"unknown hub frame kind {kind!r}")
