"""
Helpers for the codec's tests: the specifications' vectors, opening
requests and responses of every version, connections of both roles already
open, frame builders, and an extension that changes nothing.
"""

from __future__ import annotations

import random
import re
import struct
from collections.abc import Iterator
from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from twisted_ws.codec import (
    ClientConnection,
    ConnectionOpened,
    Options,
    RequestReceived,
    ServerConnection,
    State,
    Version,
    hixie76Challenge,
    mask,
)

#: The default options, shared as a default argument.
DEFAULT_OPTIONS = Options()

# The vectors of draft-hixie-thewebsocketprotocol-76 (= hybi-00).
HIXIE76_KEY1 = "4 @1  46546xW%0l 1 5"
HIXIE76_KEY2 = "12998 5 Y3 1  .P00"
HIXIE76_KEY3 = b"^n:ds[4U"
HIXIE76_ANSWER = b"8jKS'y:G*Co,Wxa-"
HIXIE76_KEY1_B = "18x 6]8vM;54 *(5:  {   U1]8  z [  8"
HIXIE76_KEY2_B = "1_ tx7X d  <  nw  334J702) 7]o}` 0"
HIXIE76_KEY3_B = b"Tm[K T2u"
HIXIE76_ANSWER_B = b"fQJ,fN/4F4!~K~MH"

# The vector of RFC 6455 section 1.3.
RFC_KEY = "dGhlIHNhbXBsZSBub25jZQ=="
RFC_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
RFC_MASK = b"\x37\xfa\x21\x3d"

HYBI_VERSIONS = (Version.HYBI07, Version.HYBI08, Version.RFC6455)
ALL_VERSIONS = (Version.HIXIE75, Version.HIXIE76) + HYBI_VERSIONS


def rfcRandom(n: int) -> bytes:
    """
    A random source for L{ClientConnection} that yields the RFC 6455 sample
    nonce as the key and C{37 fa 21 3d} as every masking key.
    """
    if n == 16:
        return b"the sample nonce"
    return (RFC_MASK * (n // 4 + 1))[:n]


def seededRandom(seed: int):
    """
    A reproducible random source: two sources with the same seed give the
    same bytes.
    """
    rng = random.Random(seed)
    return rng.randbytes


def splits(data: bytes) -> Iterator[list[bytes]]:
    """
    Every way of feeding C{data} the tests use: whole, byte by byte, and
    split in two at every offset.
    """
    yield [data]
    yield [data[i : i + 1] for i in range(len(data))]
    for i in range(1, len(data)):
        yield [data[:i], data[i:]]


def feed(conn, chunks, autoAccept: bool = False, **acceptArgs) -> list:
    """
    Feed C{chunks} to C{conn} one by one and return all the events; with
    C{autoAccept}, a server accepts as soon as the request is complete (and
    the events of the bytes that followed are included).
    """
    events: list = []
    for chunk in chunks:
        new = conn.receiveData(chunk)
        events.extend(new)
        if autoAccept and any(isinstance(e, RequestReceived) for e in new):
            events.extend(conn.accept(**acceptArgs))
    return events


def hixie75Request(
    path: str = "/demo", host: str = "example.com", origin: str = "http://example.com",
    extra: str = "",
) -> bytes:
    """
    A hixie-75 opening request.
    """
    return (
        f"GET {path} HTTP/1.1\r\n"
        "Upgrade: WebSocket\r\n"
        "Connection: Upgrade\r\n"
        f"Host: {host}\r\n"
        f"Origin: {origin}\r\n"
        f"{extra}"
        "\r\n"
    ).encode("latin-1")


def hixie76Request(
    key1: str = HIXIE76_KEY1, key2: str = HIXIE76_KEY2, key3: bytes = HIXIE76_KEY3,
    path: str = "/demo", host: str = "example.com", origin: str = "http://example.com",
    extra: str = "Sec-WebSocket-Protocol: sample\r\n",
) -> bytes:
    """
    A hixie-76 opening request, laid out as the draft's example, with key3.
    """
    return (
        f"GET {path} HTTP/1.1\r\n"
        f"Host: {host}\r\n"
        "Connection: Upgrade\r\n"
        f"Sec-WebSocket-Key2: {key2}\r\n"
        f"{extra}"
        "Upgrade: WebSocket\r\n"
        f"Sec-WebSocket-Key1: {key1}\r\n"
        f"Origin: {origin}\r\n"
        "\r\n"
    ).encode("latin-1") + key3


def hybiRequest(
    wire: int | str = 13, key: str = RFC_KEY, path: str = "/chat", host: str = "server.example.com",
    origin: str | None = "http://example.com", extra: str = "",
) -> bytes:
    """
    A hybi opening request (RFC 6455 section 1.3's example, by default).
    """
    originLine = ""
    if origin is not None:
        name = "Origin" if str(wire) == "13" else "Sec-WebSocket-Origin"
        originLine = f"{name}: {origin}\r\n"
    return (
        f"GET {path} HTTP/1.1\r\n"
        f"Host: {host}\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\n"
        f"{originLine}"
        f"Sec-WebSocket-Version: {wire}\r\n"
        f"{extra}"
        "\r\n"
    ).encode("latin-1")


def requestFor(version: Version, **kwargs) -> bytes:
    """
    A valid opening request of C{version}.
    """
    if version is Version.HIXIE75:
        return hixie75Request(**kwargs)
    if version is Version.HIXIE76:
        return hixie76Request(**kwargs)
    return hybiRequest(version.wireVersion, **kwargs)


def openServer(version: Version, options: Options = DEFAULT_OPTIONS) -> ServerConnection:
    """
    A server connection of C{version} in state OPEN, its response consumed.
    """
    server = ServerConnection(options)
    events = server.receiveData(requestFor(version))
    assert [type(e) for e in events] == [RequestReceived], events
    assert server.accept() == []
    server.dataToSend()
    assert server.state is State.OPEN
    return server


def openPair(
    version: Version,
    serverOptions: Options = DEFAULT_OPTIONS,
    clientOptions: Options = DEFAULT_OPTIONS,
    randomSource=rfcRandom,
) -> tuple[ClientConnection, ServerConnection]:
    """
    A client and a server connection of C{version} that completed a real
    opening handshake with each other, with nothing left to send.
    """
    client = ClientConnection(
        "example.com", "/demo", version=version, options=clientOptions, randomSource=randomSource
    )
    server = ServerConnection(serverOptions)
    events = server.receiveData(client.dataToSend())
    assert [type(e) for e in events] == [RequestReceived], events
    assert server.accept() == []
    events = client.receiveData(server.dataToSend())
    assert [type(e) for e in events] == [ConnectionOpened], events
    assert client.state is State.OPEN and server.state is State.OPEN
    assert client.dataToSend() == b""
    return client, server


def parseResponse(data: bytes) -> tuple[int, dict[str, str], bytes]:
    """
    Split an HTTP response into its status, headers (lower-cased names) and
    body.
    """
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def hixie76ServerAnswer(request: bytes) -> bytes:
    """
    The challenge answer a correct hixie-76 server gives to a client's
    C{request} bytes.
    """
    head, _, key3 = request.partition(b"\r\n\r\n")
    text = head.decode("latin-1")
    key1 = re.search(r"\r\nSec-WebSocket-Key1: ([^\r]*)", text).group(1)
    key2 = re.search(r"\r\nSec-WebSocket-Key2: ([^\r]*)", text).group(1)
    return hixie76Challenge(key1, key2, key3)


HIXIE76_RESPONSE = (
    b"HTTP/1.1 101 WebSocket Protocol Handshake\r\n"
    b"Upgrade: WebSocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Origin: http://example.com\r\n"
    b"Sec-WebSocket-Location: ws://example.com/demo\r\n"
    b"Sec-WebSocket-Protocol: sample\r\n"
    b"\r\n" + HIXIE76_ANSWER
)

HYBI_RESPONSE = (
    b"HTTP/1.1 101 Switching Protocols\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
    b"\r\n"
)

HIXIE75_RESPONSE = (
    b"HTTP/1.1 101 Web Socket Protocol Handshake\r\n"
    b"Upgrade: WebSocket\r\n"
    b"Connection: Upgrade\r\n"
    b"WebSocket-Origin: http://example.com\r\n"
    b"WebSocket-Location: ws://example.com/demo\r\n"
    b"\r\n"
)


def plainFrame(b0: int, payload: bytes) -> bytes:
    """
    An unmasked frame (as a server sends it) with first byte C{b0}.
    """
    n = len(payload)
    if n < 126:
        header = bytes([b0, n])
    elif n < 65536:
        header = bytes([b0, 126]) + struct.pack("!H", n)
    else:
        header = bytes([b0, 127]) + struct.pack("!Q", n)
    return header + payload


def maskedFrame(b0: int, payload: bytes, key: bytes = RFC_MASK) -> bytes:
    """
    A masked frame (as a client sends it) with first byte C{b0}.
    """
    frame = plainFrame(b0, b"\x00" * len(payload))
    headerLength = len(frame) - len(payload)
    header = bytearray(frame[:headerLength])
    header[1] |= 0x80
    return bytes(header) + key + mask(payload, key)


def openClient(
    version: Version = Version.RFC6455, options: Options = DEFAULT_OPTIONS
) -> ClientConnection:
    """
    A client connection of C{version} in state OPEN, whose random source
    makes every masking key C{37 fa 21 3d}.
    """
    client = ClientConnection(
        "server.example.com", "/chat", version=version, options=options, randomSource=rfcRandom
    )
    client.dataToSend()
    client.receiveData(HYBI_RESPONSE)
    assert client.state is State.OPEN
    return client


def receivers(options: Options = DEFAULT_OPTIONS):
    """
    For each role and hybi version: a description, a function making an
    open connection of that role, and the function framing what its peer
    sends.
    """
    for version in HYBI_VERSIONS:
        yield (
            f"server {version.label}",
            lambda v=version: openServer(v, options),
            maskedFrame,
        )
        yield (
            f"client {version.label}",
            lambda v=version: openClient(v, options),
            plainFrame,
        )


def assertClosedCleanly(
    testCase: SynchronousTestCase, conn: Any, byPeer: bool, closeTransport: bool
) -> None:
    """
    C{conn} is closed after a clean closing handshake, started by the peer
    or not, and asks its caller to end TCP or not.
    """
    testCase.assertIs(conn.state, State.CLOSED)
    testCase.assertTrue(conn.wasClean)
    testCase.assertIs(conn.closedByPeer, byPeer)
    testCase.assertIs(conn.shouldCloseTransport, closeTransport)


class FakeExtension:
    """
    A negotiated extension that changes nothing.
    """

    rsvBits = 0x40

    def __init__(self, name: str, params: dict) -> None:
        self.name = name
        self.params = params

    def encodeMessage(self, payload: bytes, isText: bool) -> tuple[int, bytes]:
        return 0, payload

    def decodeChunk(self, data: bytes, rsv: int, limit: int) -> bytes:
        return data

    def decodeEnd(self, rsv: int, limit: int) -> bytes:
        return b""

    def responseParams(self) -> str:
        return self.name


class FakeExtensionFactory:
    """
    An extension factory that offers C{name; x} and accepts any response.
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def acceptOffer(self, offers):
        return FakeExtension(self.name, offers[0])

    def offer(self) -> str:
        return f"{self.name}; x"

    def acceptResponse(self, params):
        return FakeExtension(self.name, params)
