"""
permessage-deflate through the Twisted layer on loopback: a
L{WebSocketServerFactory} with L{PerMessageDeflate} against the
C{websockets} client, the L{WebSocketClientEndpoint} with
L{PerMessageDeflate} against the C{websockets} server, and a raw client
that reads the compressed frames itself and sends a compression bomb.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import threading
import tracemalloc
import zlib
from typing import Any

from twisted.internet import defer, reactor, threads
from twisted.python.failure import Failure
from twisted.trial.unittest import SkipTest, TestCase

from twisted_ws import (
    CleanClose,
    Options,
    WebSocketClientEndpoint,
    WebSocketClientFactory,
    WebSocketProtocol,
    WebSocketServerFactory,
)
from twisted_ws.codec import PerMessageDeflate

from ._support.clientapp import Client

TIMEOUT = 20.0

#: The largest message the server accepts, after decompression.
LIMIT = 1 << 20

#: The size a compression bomb inflates to.
BOMB_SIZE = 64 << 20


def chatJSON(size: int) -> str:
    """
    About C{size} characters of chat-like JSON: compressible, but not one
    repeated byte.
    """
    lines = []
    total = 0
    n = 0
    while total < size:
        line = {"type": "message", "room": "lobby", "from": f"user{n % 37}",
                "text": f"message number {n} about topic {n % 11}", "seq": n}
        lines.append(line)
        total += len(json.dumps(line)) + 2
        n += 1
    return json.dumps(lines)


BIG = chatJSON(200 * 1024)


def _deflateExtensions(extensions: tuple[Any, ...]) -> list[str]:
    """
    The names of the permessage-deflate extensions among C{extensions}.
    """
    return [type(e).__name__ for e in extensions if "Deflate" in type(e).__name__]


class EchoApp(WebSocketProtocol):
    """
    Echoes every message and records the negotiated extensions and how
    the connection ended.
    """

    def negotiationFinished(self) -> None:
        self.factory.negotiated.append(self.transport.extensions)

    def textMessageReceived(self, message: str) -> None:
        self.sendTextMessage(message)

    def bytesMessageReceived(self, data: bytes) -> None:
        self.sendBytesMessage(data)

    def connectionLost(self, reason: Failure) -> None:
        self.factory.closed.append(reason.value)
        waiting, self.factory.waiting = self.factory.waiting, []
        for d in waiting:
            d.callback(reason.value)


class EchoFactory(WebSocketServerFactory):
    """
    Builds L{EchoApp}s with permessage-deflate on and keeps what happened.
    """

    def __init__(self) -> None:
        super().__init__(EchoApp, Options(extensions=(PerMessageDeflate(),), maxMessageSize=LIMIT))
        self.negotiated: list[tuple[Any, ...]] = []
        self.closed: list[Any] = []
        self.waiting: list[defer.Deferred[Any]] = []

    def nextClose(self) -> defer.Deferred[Any]:
        """
        A Deferred that fires with the next server-side close, or at once
        with the last one if one already happened.
        """
        if self.closed:
            return defer.succeed(self.closed[-1])
        d: defer.Deferred[Any] = defer.Deferred()
        self.waiting.append(d)
        return d


class _ServerMixin:
    """
    Starts the compressing echo server on 127.0.0.1 for each test.
    """

    timeout = 60

    def setUp(self) -> None:
        self.factory = EchoFactory()
        self.port = reactor.listenTCP(0, self.factory, interface="127.0.0.1")  # type: ignore[arg-type]
        self.addCleanup(self.port.stopListening)  # type: ignore[attr-defined]
        self.portNumber: int = self.port.getHost().port  # type: ignore[attr-defined]


def _websocketsSession(url: str) -> dict[str, Any]:
    """
    With the C{websockets} synchronous client, compression on: 200 KiB of
    JSON as text and as bytes both ways, then a clean close.
    """
    from websockets.sync.client import connect

    result: dict[str, Any] = {}
    with connect(url, open_timeout=TIMEOUT, close_timeout=TIMEOUT, proxy=None,
                 ping_interval=None, compression="deflate", max_size=4 * LIMIT) as ws:
        assert ws.response is not None
        result["extensions"] = ws.response.headers.get("Sec-WebSocket-Extensions")
        result["clientExtensions"] = [type(e).__name__ for e in ws.protocol.extensions]
        ws.send(BIG)
        result["textOk"] = ws.recv(timeout=TIMEOUT) == BIG
        ws.send(BIG.encode())
        result["bytesOk"] = ws.recv(timeout=TIMEOUT) == BIG.encode()
        ws.close(1000, "bye")
        result["closeCode"] = ws.close_code
    return result


class WebsocketsClientTests(_ServerMixin, TestCase):
    """
    The C{websockets} client with compression against the server.
    """

    def setUp(self) -> None:
        try:
            import websockets.sync.client  # noqa: F401
        except ImportError:  # pragma: no cover - the test extra installs it
            raise SkipTest("websockets is not installed") from None
        super().setUp()

    @defer.inlineCallbacks
    def test_largeMessages(self) -> Any:
        """
        permessage-deflate is negotiated on both sides and 200 KiB of JSON
        crosses both ways as text and as bytes.
        """
        d = threads.deferToThread(_websocketsSession, f"ws://127.0.0.1:{self.portNumber}/")
        d.addTimeout(TIMEOUT * 2, reactor)
        result = yield d
        self.assertIn("permessage-deflate", result["extensions"])
        self.assertEqual(result["clientExtensions"], ["PerMessageDeflate"])
        self.assertTrue(result["textOk"])
        self.assertTrue(result["bytesOk"])
        self.assertEqual(result["closeCode"], 1000)
        closed = yield self.factory.nextClose()
        self.assertEqual(closed.code, 1000)
        [negotiated] = self.factory.negotiated
        self.assertEqual(_deflateExtensions(negotiated), ["PerMessageDeflateExtension"])


class WebsocketsServerTests(TestCase):
    """
    The L{WebSocketClientEndpoint} with compression against the C{websockets}
    server with compression, run in a thread.
    """

    timeout = 60

    def setUp(self) -> None:
        try:
            from websockets.sync.server import serve
        except ImportError:  # pragma: no cover - the test extra installs it
            raise SkipTest("websockets is not installed") from None
        self.serverExtensions: list[list[str]] = []

        def echo(ws: Any) -> None:
            self.serverExtensions.append([type(e).__name__ for e in ws.protocol.extensions])
            for message in ws:
                ws.send(message)

        self.server = serve(echo, "127.0.0.1", 0, compression="deflate", max_size=4 * LIMIT)
        self.portNumber = self.server.socket.getsockname()[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def tearDown(self) -> None:
        self.server.shutdown()
        self.thread.join(10)

    async def test_largeMessages(self) -> None:
        """
        The client offers permessage-deflate, the server accepts it, and
        200 KiB of JSON crosses both ways as text and as bytes.
        """
        endpoint = WebSocketClientEndpoint.new(
            reactor, f"ws://127.0.0.1:{self.portNumber}/", extensions=[PerMessageDeflate()],
            options=Options(maxMessageSize=4 * LIMIT),
        )
        client: Client = await endpoint.connect(WebSocketClientFactory(Client))
        self.assertEqual(_deflateExtensions(client.transport.extensions),
                         ["PerMessageDeflateExtension"])
        for message in (BIG, BIG.encode()):
            d = client.next()
            if isinstance(message, str):
                client.sendTextMessage(message)
            else:
                client.sendBytesMessage(message)
            self.assertEqual(await d, message)
        self.assertEqual(self.serverExtensions, [["PerMessageDeflate"]])
        client.loseConnection(1000, "bye")
        closed = await client.lost
        self.assertIsInstance(closed, CleanClose)


# A raw client, in a thread: it does the handshake and the framing itself,
# so that it can see the compressed frames and send what no library would.


def _handshake(port: int) -> tuple[socket.socket, bytes, bytes]:
    """
    Connect and open a connection offering permessage-deflate with no
    context takeover; return the socket, the response head and what came
    after it.
    """
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((
        f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; "
        "server_no_context_takeover\r\n\r\n"
    ).encode())
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 16384:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return sock, head, rest


def _frame(opcode: int, payload: bytes, rsv1: bool = False) -> bytes:
    """
    One masked final frame.
    """
    first = 0x80 | (0x40 if rsv1 else 0) | opcode
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", first, 0x80 | n)
    elif n < 65536:
        header = struct.pack("!BBH", first, 0x80 | 126, n)
    else:
        header = struct.pack("!BBQ", first, 0x80 | 127, n)
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload)) if n < 4096 else _mask(payload, mask)
    return header + mask + masked


def _mask(payload: bytes, mask: bytes) -> bytes:
    """
    Mask a long payload by integer arithmetic (fast enough for megabytes).
    """
    n = len(payload)
    key = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
    return (int.from_bytes(payload, "big") ^ key).to_bytes(n, "big")


def _readFrame(sock: socket.socket, buffer: bytearray) -> tuple[int, int, bytes]:
    """
    Read one unmasked frame: (first byte, opcode, payload).

    @raise EOFError: if the connection ends first.
    """
    def need(count: int) -> None:
        while len(buffer) < count:
            chunk = sock.recv(65536)
            if not chunk:
                raise EOFError("connection ended")
            buffer.extend(chunk)

    need(2)
    first, second = buffer[0], buffer[1]
    length = second & 0x7F
    offset = 2
    if length == 126:
        need(4)
        length = struct.unpack("!H", buffer[2:4])[0]
        offset = 4
    elif length == 127:
        need(10)
        length = struct.unpack("!Q", buffer[2:10])[0]
        offset = 10
    need(offset + length)
    payload = bytes(buffer[offset:offset + length])
    del buffer[:offset + length]
    return first, first & 0x0F, payload


def _compress(data: bytes) -> bytes:
    """
    Deflate one message as permessage-deflate sends it (no context kept,
    the C{00 00 ff ff} tail removed).
    """
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    out = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(b"\x00\x00\xff\xff")
    return out[:-4]


def _rawEcho(port: int, message: bytes) -> dict[str, Any]:
    """
    Send C{message} compressed as text and read the echo's frame.
    """
    sock, head, rest = _handshake(port)
    with sock:
        buffer = bytearray(rest)
        sock.sendall(_frame(1, _compress(message), rsv1=True))
        first, opcode, payload = _readFrame(sock, buffer)
        inflater = zlib.decompressobj(-15)
        echoed = inflater.decompress(payload + b"\x00\x00\xff\xff")
        sock.sendall(_frame(8, struct.pack("!H", 1000)))
        return {"head": head, "rsv1": bool(first & 0x40), "opcode": opcode,
                "wireSize": len(payload), "echoed": echoed}


def _rawBomb(port: int, bomb: bytes) -> dict[str, Any]:
    """
    Send C{bomb} (compressed) as one binary message and read until the
    server's close frame.
    """
    sock, head, rest = _handshake(port)
    with sock:
        buffer = bytearray(rest)
        sock.sendall(_frame(2, bomb, rsv1=True))
        for _ in range(16):
            try:
                first, opcode, payload = _readFrame(sock, buffer)
            except (EOFError, OSError) as e:
                return {"head": head, "error": str(e)}
            if opcode == 8:
                return {"head": head, "code": struct.unpack("!H", payload[:2])[0]}
        return {"head": head, "error": "no close frame"}


class RawClientTests(_ServerMixin, TestCase):
    """
    A client that frames by hand sees what the server puts on the wire.
    """

    @defer.inlineCallbacks
    def test_compressedOnTheWire(self) -> Any:
        """
        The server accepts the offer with both no_context_takeover
        parameters and echoes 200 KiB of JSON as one RSV1 frame several
        times smaller, that inflates to the message.
        """
        message = BIG.encode()
        d = threads.deferToThread(_rawEcho, self.portNumber, message)
        d.addTimeout(TIMEOUT * 2, reactor)
        result = yield d
        self.assertIn(b" 101 ", result["head"].split(b"\r\n")[0])
        self.assertIn(b"permessage-deflate", result["head"])
        self.assertIn(b"server_no_context_takeover", result["head"])
        self.assertTrue(result["rsv1"])
        self.assertEqual(result["opcode"], 1)
        self.assertEqual(result["echoed"], message)
        self.assertLess(result["wireSize"] * 5, len(message))

    @defer.inlineCallbacks
    def test_bomb(self) -> Any:
        """
        A message of about 64 KiB that inflates to 64 MiB closes the
        connection with 1009, and the process's traced memory never grows
        by anything near the inflated size.
        """
        bomb = _compress(bytes(BOMB_SIZE))
        self.assertLess(len(bomb), 128 * 1024)
        tracing = tracemalloc.is_tracing()
        if not tracing:
            tracemalloc.start()
            self.addCleanup(tracemalloc.stop)
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        d = threads.deferToThread(_rawBomb, self.portNumber, bomb)
        d.addTimeout(TIMEOUT * 2, reactor)
        result = yield d
        peak = tracemalloc.get_traced_memory()[1]
        self.assertEqual(result.get("code"), 1009, result)
        closed = yield self.factory.nextClose()
        self.assertEqual(closed.code, 1009)
        # The limit is 1 MiB: inflating stops just past it, so the peak
        # grows by a few MiB at most, not by the 64 MiB of the bomb.
        self.assertLess(peak - before, 8 << 20)
