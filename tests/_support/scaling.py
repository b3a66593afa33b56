"""
Helpers for the tests of C{twistd websocket}'s scaling out (C{--hub},
C{--workers}, nginx in front): parsing its options, and a chat client on a
C{websockets} connection, every wait bounded.
"""

from __future__ import annotations

import json
import time
from typing import Any

from twisted.internet.testing import MemoryReactorClock

from twisted_ws import tap

#: Seconds allowed for a message to cross, and for a hub to reconnect.
WAIT_TIMEOUT = 30.0


def parse(*args: str) -> tap.Options:
    """
    Parse C{twistd websocket} options on a fake reactor.
    """
    options = tap.Options()
    options._reactor = MemoryReactorClock()
    options.parseOptions(list(args))
    return options


def problems(*args: str) -> str:
    """
    The error text C{twistd websocket} stops with for C{args}.
    """
    options = tap.Options()
    options._reactor = MemoryReactorClock()
    try:
        options.parseOptions(list(args))
    except SystemExit as e:
        return str(e)
    raise AssertionError(f"{args} parsed")


def readType(ws: Any, kind: str, timeout: float = WAIT_TIMEOUT) -> dict[str, Any]:
    """
    Read from a websockets client until a chat message of type C{kind}
    arrives (bounded).
    """
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no {kind!r} message in {timeout} s")
        message = json.loads(ws.recv(timeout=left))
        if message["type"] == kind:
            return message  # type: ignore[no-any-return]


def join(ws: Any, name: str, room: str = "demo") -> dict[str, Any]:
    """
    Join C{room} as C{name}; return the C{joined} message.
    """
    ws.send(json.dumps({"type": "join", "room": room, "name": name}))
    return readType(ws, "joined")


def sayUntilHeard(speaker: Any, listener: Any, text: str, timeout: float = WAIT_TIMEOUT) -> dict[str, Any]:
    """
    Say C{text} once a second until C{listener} hears it (bounded): after
    Redis restarts, what is said before the hub reconnects is lost (at most
    once).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        speaker.send(json.dumps({"type": "message", "text": text}))
        try:
            while True:
                message = readType(listener, "message", 1.0)
                if message["text"] == text:
                    return message
        except (AssertionError, TimeoutError):
            continue
    raise AssertionError(f"{text!r} did not arrive in {timeout} s")
