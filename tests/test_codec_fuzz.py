"""
Fuzz tests of L{twisted_ws.codec}: near-valid opening requests, responses
and frame sequences, for every version and both roles, never make
C{receiveData} raise, and each ends in one of the outcomes the codec
promises.

The inputs start from valid ones that the codec's own client and server
produce and are then mutated: header names and values replaced with
arbitrary bytes (0x80-0xFF included), headers dropped, duplicated, swapped
or added, single bytes overwritten, the head cut anywhere, the whole fed at
once or in random pieces.  Frames are mutated the same way (flipped bits,
wrong lengths, reserved opcodes, invalid UTF-8) or built by hand.

The examples are derandomized, so a run is reproducible.  Their number per
test comes from the environment variable C{TWISTED_WS_FUZZ_EXAMPLES}
(default 100, which keeps this module to a few seconds in CI); raise it
locally to search further, for example::

    TWISTED_WS_FUZZ_EXAMPLES=2000 python3 dev.py test tests.test_codec_fuzz

and C{TWISTED_WS_FUZZ_SEED=N} draws other examples, from seed C{N}.
"""

from __future__ import annotations

import os
import random
import struct

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from twisted_ws.codec import (
    ClientConnection,
    CloseReceived,
    ConnectionFailed,
    ConnectionOpened,
    HandshakeError,
    HandshakeFailed,
    LocalProtocolError,
    Options,
    PeerError,
    RequestReceived,
    ServerConnection,
    State,
    Version,
)
from twisted_ws.codec.handshake import parseHead

EXAMPLES = int(os.environ.get("TWISTED_WS_FUZZ_EXAMPLES", "100"))
SEED = os.environ.get("TWISTED_WS_FUZZ_SEED")

_SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=SEED is None,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def FUZZ(test):
    """
    Run C{test} with the fuzz settings: derandomized, or from the seed in
    C{TWISTED_WS_FUZZ_SEED} when it is set.
    """
    test = _SETTINGS(test)
    if SEED is not None:
        test = seed(int(SEED))(test)
    return test

ALL_VERSIONS = list(Version)
HYBI_VERSIONS = [v for v in Version if not v.isHixie]

#: The statuses a server may refuse a request with.  500 is left out on
#: purpose: the codec answers 500 only when its own code raised.
REFUSALS = {400, 403, 405, 426, 431}

#: The close codes a connection may fail with.
FAILURE_CODES = {1002, 1007, 1009, 1011}

#: Header names worth adding, so that mutations meet the codec's checks.
HEADER_NAMES = [
    b"Host", b"Upgrade", b"Connection", b"Origin", b"Sec-WebSocket-Origin",
    b"Sec-WebSocket-Key", b"Sec-WebSocket-Key1", b"Sec-WebSocket-Key2",
    b"Sec-WebSocket-Version", b"Sec-WebSocket-Protocol", b"WebSocket-Protocol",
    b"Sec-WebSocket-Extensions", b"Sec-WebSocket-Accept", b"Content-Length",
    b"WebSocket-Origin", b"WebSocket-Location", b"Sec-WebSocket-Location",
]

#: Values that sit near what the codec expects.
NEAR_VALUES = [
    b"", b" ", b"\t", b"13", b"8", b"7", b"013", b"\xb9\xb3", b"1\xb3", b"255", b"99999999999",
    b"websocket", b"WebSocket", b"Upgrade", b"upgrade, keep-alive", b"close", b"h2c",
    b"dGhlIHNhbXBsZSBub25jZQ==", b"dGhlIHNhbXBsZSBub25jZQ", b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
    b"4 @1  46546xW%0l 1 5", b"1 2", b"12345678", b"1 " + b"9" * 60, b"\xb9 \xb2",
    b"http://example.com", b"https://a.example", b"null", b"chat", b"chat, superchat",
    b"permessage-deflate; client_max_window_bits", b"x-fake; a=\"b\"", b"a; b=\"", b"8",
    b"ws://example.com/demo", b"wss://example.com/demo", b"\xff\xfe\x80", b"a\x00b", b"a\x7fb",
]

#: Words near those of a request line or a status line.
NEAR_WORDS = [
    b"GET", b"get", b"POST", b"HEAD", b"/demo", b"/", b"*", b"http://example.com/demo", b"/d\xe9mo",
    b"/a b", b"HTTP/1.1", b"HTTP/1.0", b"HTTP/1.2", b"HTTP/1.10", b"HTTP/1.01", b"HTTP/1.1\t",
    b"HTTP/1.1\x00", b"HTTP/2.0", b"http/1.1", b"HTTP/1.\xb9", b"101", b"\xb9\xb0\xb9", b"1\xb2\xb3",
    b"1010", b"10", b"+01", b"200", b"426", b"", b"Switching", b"Web Socket Protocol Handshake",
]

#: For some headers, values near the valid ones.
NEAR_BY_NAME = {
    b"Sec-WebSocket-Version": [
        b"13", b"8", b"7", b"14", b"013", b"\xb9\xb3", b"1\xb3", b"\xb3", b"256", b"13, 8",
    ],
    b"Sec-WebSocket-Key": [
        b"dGhlIHNhbXBsZSBub25jZQ==", b"dGhlIHNhbXBsZSBub25jZQ", b"dGhlIHNhbXBsZSBub25jZQ===",
        b"\xb9GhlIHNhbXBsZSBub25jZQ==", b"", b"AAAAAAAAAAAAAAAAAAAAAA==",
    ],
    b"Sec-WebSocket-Key1": [b"4 @1  46546xW%0l 1 5", b"1 2", b"12345678", b"1 " + b"9" * 60,
                            b"\xb9 \xb2", b" ", b"0 ", b"4294967296 "],
    b"Sec-WebSocket-Accept": [b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", b"", b"\xff"],
    b"Sec-WebSocket-Extensions": [
        b"permessage-deflate", b"permessage-deflate; client_max_window_bits",
        b"x-fake; a=\"b\"", b"a; b=\"", b"a,,b", b";", b"a; b=\xe9",
    ],
    b"Upgrade": [b"websocket", b"WebSocket", b"h2c, websocket", b"websock\xe9t", b""],
    b"Connection": [b"Upgrade", b"keep-alive, Upgrade", b"close", b"Upgr\xe4de"],
    b"Origin": [b"http://example.com", b"https://a.example", b"null", b"", b"http://\xe9.example"],
    b"Content-Length": [b"0", b"8", b"\xb9\xb3", b"-1", b"99999999999999999999"],
    b"Sec-WebSocket-Protocol": [b"chat", b"superchat", b"chat, superchat", b"other", b"", b"ch\xe4t"],
    b"Sec-WebSocket-Origin": [b"http://example.com", b"null", b"\xff"],
    b"Sec-WebSocket-Location": [b"ws://example.com/demo", b"wss://example.com/demo", b"ws://\xe9"],
    b"WebSocket-Location": [b"ws://example.com/demo", b"ws://example.com/other"],
}

values = st.one_of(st.sampled_from(NEAR_VALUES), st.binary(max_size=40))
words = st.one_of(st.sampled_from(NEAR_WORDS), st.binary(max_size=12))
indexes = st.integers(0, 40)
positions = st.integers(0, 300)

#: Give a header a value near a valid one.
nearSettings = st.sampled_from(sorted(NEAR_BY_NAME)).flatmap(
    lambda name: st.tuples(
        st.just("set"), st.just(name),
        st.one_of(
            st.sampled_from(NEAR_BY_NAME[name]),
            st.sampled_from(NEAR_BY_NAME[name]),
            st.binary(max_size=30),
        ),
    )
)

#: Changes that keep a head near a valid one, applied after the others: a
#: header given a near value, or a word of the start line replaced.
nearMutations = st.lists(
    st.one_of(nearSettings, st.tuples(st.just("word"), st.integers(0, 2), st.sampled_from(NEAR_WORDS))),
    min_size=1,
    max_size=2,
)

#: One change to the lines of a head (the start line is line 0).
lineMutations = st.one_of(
    st.tuples(st.just("value"), indexes, values),
    st.tuples(st.just("name"), indexes, st.one_of(st.sampled_from(HEADER_NAMES), st.binary(max_size=20))),
    st.tuples(st.just("insert"), indexes, positions, st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("byte"), indexes, positions, st.integers(0, 255)),
    st.tuples(st.just("drop"), indexes),
    st.tuples(st.just("duplicate"), indexes),
    st.tuples(st.just("swap"), indexes, indexes),
    st.tuples(st.just("add"), st.sampled_from(HEADER_NAMES), values),
    nearSettings,
    st.tuples(st.just("set"), st.sampled_from(HEADER_NAMES), values),
    st.tuples(st.just("word"), st.integers(0, 2), words),
    st.tuples(st.just("word"), st.integers(0, 2), words),
)

#: How to cut the input: not at all, or after so many bytes.
cuts = st.one_of(st.none(), st.integers(0, 1200))

#: The sizes of the pieces the input is fed in, cycled; empty feeds it whole.
pieceSizes = st.lists(st.integers(1, 80), max_size=8)


def seeded(seed: int):
    """
    A reproducible random source for a client's keys and masks.
    """
    return random.Random(seed).randbytes


def mutateLine(line: bytes, op: tuple) -> bytes:
    """
    Apply a C{value}, C{name}, C{insert} or C{byte} mutation to one line.
    """
    kind = op[0]
    name, colon, value = line.partition(b":")
    if kind == "value":
        return name + b": " + op[2] if colon else line + b" " + op[2]
    if kind == "name":
        return op[2] + b":" + value if colon else op[2] + b" " + line
    if kind == "insert":
        at = op[2] % (len(line) + 1)
        return line[:at] + op[3] + line[at:]
    at = op[2] % (len(line) or 1)
    return line[:at] + bytes([op[3]]) + line[at + 1 :]


def setHeader(lines: list[bytes], name: bytes, value: bytes) -> None:
    """
    Give the first header called C{name} in C{lines} the value C{value}, or
    add it.
    """
    lowered = name.lower()
    for i, line in enumerate(lines[1:], 1):
        if line.partition(b":")[0].lower() == lowered:
            lines[i] = name + b": " + value
            return
    lines.append(name + b": " + value)


def mutateHead(data: bytes, ops: list) -> bytes:
    """
    Apply C{ops} to the lines of the head at the start of C{data}; what
    follows the head (hixie-76's key3 or challenge answer) is kept.
    """
    head, sep, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    for op in ops:
        kind = op[0]
        if kind == "add":
            lines.append(op[1] + b": " + op[2])
            continue
        if kind == "set":
            setHeader(lines, op[1], op[2])
            continue
        if not lines:
            continue
        if kind == "word":
            parts = lines[0].split(b" ", 2)
            if op[1] < len(parts):
                parts[op[1]] = op[2]
            lines[0] = b" ".join(parts)
            continue
        i = op[1] % len(lines)
        if kind == "drop":
            del lines[i]
        elif kind == "duplicate":
            lines.insert(i, lines[i])
        elif kind == "swap":
            j = op[2] % len(lines)
            lines[i], lines[j] = lines[j], lines[i]
        else:
            lines[i] = mutateLine(lines[i], op)
    return b"\r\n".join(lines) + sep + body


def pieces(data: bytes, sizes: list[int]) -> list[bytes]:
    """
    Cut C{data} into pieces whose sizes cycle through C{sizes}, or leave it
    whole when C{sizes} is empty.
    """
    if not sizes:
        return [data]
    result = []
    pos = i = 0
    while pos < len(data):
        n = sizes[i % len(sizes)]
        result.append(data[pos : pos + n])
        pos += n
        i += 1
    return result


def validRequest(version: Version, seed: int, subprotocols: tuple[str, ...] = ()) -> bytes:
    """
    The opening request the codec's client sends for C{version}.
    """
    client = ClientConnection(
        "example.com", "/demo", version=version, subprotocols=subprotocols,
        randomSource=seeded(seed),
    )
    return client.dataToSend()


def validResponse(version: Version, seed: int, subprotocols: tuple[str, ...]) -> bytes:
    """
    The response the codec's server gives to the request of
    L{validRequest} with the same arguments.
    """
    server = ServerConnection(Options(subprotocols=subprotocols))
    [event] = server.receiveData(validRequest(version, seed, subprotocols))
    assert isinstance(event, RequestReceived), event
    server.accept()
    return server.dataToSend()


serverOptions = st.sampled_from([
    Options(),
    Options(allowedOrigins=("http://example.com", "https://*.example")),
    Options(allowedOrigins=(None, "http://example.com")),
    Options(maxHeaderSize=200),
    Options(versions={Version.RFC6455, Version.HIXIE76}),
    Options(subprotocols=("chat", "superchat")),
])

subprotocolOffers = st.sampled_from([(), ("chat",), ("chat", "superchat")])


class HandshakeFuzzTests(SynchronousTestCase):
    """
    Near-valid opening requests and responses end in an answer, an open
    connection or a wait for more bytes.
    """

    def checkServer(self, server: ServerConnection, events: list) -> None:
        """
        C{events} (all that C{server} returned) show exactly one of: a
        refusal with its HTTP response queued, a request that C{accept}
        answers with 101 (the bytes after it read as frames), or nothing
        yet.
        """
        if not events:
            self.assertIs(server.state, State.CONNECTING)
            self.assertEqual(server.dataToSend(), b"")
            return
        self.assertEqual(len(events), 1, events)
        [event] = events
        if isinstance(event, HandshakeFailed):
            self.assertIn(event.status, REFUSALS, event.reason)
            self.assertIsInstance(server.cause, PeerError)
            self.assertIs(server.state, State.CLOSED)
            self.assertTrue(server.shouldCloseTransport)
            response = server.dataToSend()
            self.assertTrue(response.startswith(b"HTTP/1.1 %d " % event.status), response[:40])
            return
        self.assertIsInstance(event, RequestReceived)
        # Bytes after the request are frames, which may break the protocol.
        for later in server.accept():
            if isinstance(later, ConnectionFailed):
                self.assertIn(later.code, FAILURE_CODES, later.reason)
        self.assertTrue(server.dataToSend().startswith(b"HTTP/1.1 101 "))
        self.assertIsNot(server.state, State.CONNECTING)
        self.assertEqual(server.request, event.request)

    def checkClient(self, client: ClientConnection, events: list) -> None:
        """
        C{events} (all that C{client} returned) show exactly one of: a
        failed handshake with a L{HandshakeError} that is not an internal
        error, an open connection (which the bytes after the response, read
        as frames, may have failed with a documented code), or nothing yet.
        """
        if not events:
            self.assertIs(client.state, State.CONNECTING)
            return
        event = events[0]
        if isinstance(event, HandshakeFailed):
            self.assertEqual(len(events), 1, events)
            self.assertIsInstance(client.cause, HandshakeError)
            self.assertFalse(event.reason.startswith("internal error"), event.reason)
            self.assertIs(client.state, State.CLOSED)
            self.assertTrue(client.shouldCloseTransport)
            return
        self.assertIsInstance(event, ConnectionOpened)
        cause = client.cause
        if cause is not None:
            # Bytes after the response were read as frames, and broke them.
            self.assertIsNone(cause.__cause__, f"internal error: {cause.reason}")
            self.assertIn(cause.closeCode, FAILURE_CODES, cause.reason)

    @FUZZ
    @given(
        version=st.sampled_from(ALL_VERSIONS),
        seed=st.integers(0, 3),
        ops=st.lists(lineMutations, max_size=3),
        near=nearMutations,
        cut=cuts,
        sizes=pieceSizes,
        options=serverOptions,
        offers=subprotocolOffers,
    )
    def test_serverRequest(self, version, seed, ops, near, cut, sizes, options, offers) -> None:
        """
        A near-valid request of any version, cut anywhere and fed in any
        pieces, never makes the server raise: it is refused with a status
        and a response, received, or awaits more bytes.
        """
        if version.isHixie:
            offers = offers[:1]
        data = mutateHead(validRequest(version, seed, offers), ops + near)
        if cut is not None:
            data = data[:cut]
        server = ServerConnection(options)
        events: list = []
        for piece in pieces(data, sizes):
            events.extend(server.receiveData(piece))
        self.checkServer(server, events)

    @FUZZ
    @given(
        version=st.sampled_from(ALL_VERSIONS),
        seed=st.integers(0, 3),
        ops=st.lists(lineMutations, max_size=3),
        near=nearMutations,
        options=serverOptions,
    )
    def test_serverParsedRequest(self, version, seed, ops, near, options) -> None:
        """
        The same requests, parsed elsewhere (their bytes read as
        ISO-8859-1) and given to C{receiveRequest}, never make it raise.
        """
        data = mutateHead(validRequest(version, seed), ops + near)
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("iso-8859-1").split("\r\n")
        parts = (lines[0].split(" ") + ["", "", ""])[:3]
        headers = [tuple(line.partition(":")[::2]) for line in lines[1:]]
        server = ServerConnection(options)
        events = server.receiveRequest(parts[0], parts[1], parts[2], headers)  # type: ignore[arg-type]
        if events == [] and server.state is State.CONNECTING:
            events = server.receiveData(rest)
        self.checkServer(server, events)

    @FUZZ
    @given(
        version=st.sampled_from(ALL_VERSIONS),
        seed=st.integers(0, 3),
        ops=st.lists(lineMutations, max_size=3),
        near=nearMutations,
        body=st.one_of(st.none(), st.binary(max_size=20)),
        cut=cuts,
        sizes=pieceSizes,
        offers=subprotocolOffers,
        refused=st.booleans(),
    )
    def test_clientResponse(self, version, seed, ops, near, body, cut, sizes, offers, refused) -> None:
        """
        A near-valid response (a 101, or a refusal), cut anywhere and fed in
        any pieces, never makes the client raise: it fails the handshake
        with a L{HandshakeError}, opens, or awaits more bytes.
        """
        if version.isHixie:
            offers = offers[:1]
        if refused:
            response = (
                b"HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\n"
                b"Sec-WebSocket-Version: 13\r\nContent-Length: 3\r\n\r\nno\n"
            )
        else:
            response = validResponse(version, seed, offers)
        data = mutateHead(response, ops + near)
        if body is not None:
            data = data.partition(b"\r\n\r\n")[0] + b"\r\n\r\n" + body
        if cut is not None:
            data = data[:cut]
        client = ClientConnection(
            "example.com", "/demo", version=version, subprotocols=offers,
            randomSource=seeded(seed), options=Options(maxHeaderSize=400),
        )
        client.dataToSend()
        events: list = []
        for piece in pieces(data, sizes):
            events.extend(client.receiveData(piece))
        self.checkClient(client, events)


def hybiFrame(
    fin: bool, rsv: int, opcode: int, masked: bool, payload: bytes, lengthForm: str, key: bytes
) -> bytes:
    """
    A hybi frame built by hand, its length written in the shortest form
    (C{"min"}), forced into the 16- or 64-bit form, or off by one.
    """
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload)
    maskBit = 0x80 if masked else 0
    if lengthForm == "16":
        length = bytes([maskBit | 126]) + struct.pack(">H", n)
    elif lengthForm == "64":
        length = bytes([maskBit | 127]) + struct.pack(">Q", n)
    else:
        if lengthForm == "wrong":
            n = max(0, n + 1) if n < 125 else n - 1
        length = bytes([maskBit | n]) if n < 126 else bytes([maskBit | 126]) + struct.pack(">H", n)
    if masked:
        payload = key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return bytes([first]) + length + payload


closePayloads = st.builds(
    lambda code, reason: struct.pack(">H", code) + reason,
    st.sampled_from([1000, 1001, 1002, 1005, 1006, 1011, 1015, 999, 2999, 3000, 4999, 5000, 65535]),
    st.one_of(st.just(b""), st.binary(max_size=10), st.just(b"\xc3\x28"), st.just("é".encode())),
)

payloads = st.one_of(
    st.binary(max_size=150),
    st.text(max_size=40).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.sampled_from([b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xff", b"a\xc3\x28b"]),
    closePayloads,
)

hybiFrames = st.builds(
    hybiFrame,
    fin=st.booleans(),
    rsv=st.sampled_from([0, 0, 0, 1, 4, 7]),
    opcode=st.sampled_from([0, 1, 2, 8, 9, 10, 3, 7, 11, 15]),
    masked=st.booleans(),
    payload=payloads,
    lengthForm=st.sampled_from(["min", "min", "16", "64", "wrong"]),
    key=st.binary(min_size=4, max_size=4),
)

hixieFrames = st.one_of(
    st.text(max_size=30).map(lambda t: b"\x00" + t.encode("utf-8", "surrogatepass") + b"\xff"),
    st.binary(max_size=20).map(lambda b: b"\x00" + b + b"\xff"),
    st.just(b"\xff\x00"),
    st.binary(max_size=20).map(lambda b: b"\x80" + bytes([len(b)]) + b),
    st.binary(max_size=20).map(lambda b: b"\x81\x81\x81\x81\x01" + b),
    st.binary(min_size=1, max_size=8),
)

#: Things for the peer to send through its own codec.
items = st.one_of(
    st.tuples(st.just("text"), st.text(max_size=60)),
    st.tuples(st.just("bytes"), st.binary(max_size=300)),
    st.tuples(st.just("ping"), st.binary(max_size=125)),
    st.tuples(st.just("pong"), st.binary(max_size=125)),
    st.tuples(st.just("close"), st.sampled_from([1000, 1001, 3000, 4000])),
)

#: One change to a byte stream.
streamMutations = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 2000), st.integers(0, 7)),
    st.tuples(st.just("byte"), st.integers(0, 2000), st.integers(0, 255)),
    st.tuples(st.just("insert"), st.integers(0, 2000), st.binary(min_size=1, max_size=6)),
    st.tuples(st.just("delete"), st.integers(0, 2000), st.integers(1, 6)),
)


def mutateStream(data: bytes, ops: list) -> bytes:
    """
    Apply C{ops} to C{data}, positions taken modulo its length.
    """
    buf = bytearray(data)
    for op in ops:
        if not buf and op[0] != "insert":
            continue
        at = op[1] % (len(buf) or 1)
        if op[0] == "flip":
            buf[at] ^= 1 << op[2]
        elif op[0] == "byte":
            buf[at] = op[2]
        elif op[0] == "insert":
            buf[at:at] = op[2]
        else:
            del buf[at : at + op[2]]
    return bytes(buf)


def openPair(version: Version, receiverOptions: Options, senderFragments: int | None, toServer: bool):
    """
    A client and a server of C{version} after a real handshake, as (sender,
    receiver): the client sends to the server when C{toServer}.
    """
    small = Options(fragmentSize=senderFragments)
    client = ClientConnection(
        "example.com", "/demo", version=version, randomSource=seeded(0),
        options=receiverOptions if not toServer else small,
    )
    server = ServerConnection(receiverOptions if toServer else small)
    server.receiveData(client.dataToSend())
    server.accept()
    client.receiveData(server.dataToSend())
    assert client.state is State.OPEN and server.state is State.OPEN
    return (client, server) if toServer else (server, client)


def send(conn, item: tuple) -> None:
    """
    Send one item through C{conn}, skipping what its version cannot send.
    """
    kind, value = item
    try:
        if kind == "text":
            conn.sendTextMessage(value)
        elif kind == "bytes":
            conn.sendBytesMessage(value)
        elif kind == "ping":
            conn.ping(value)
        elif kind == "pong":
            conn.pong(value)
        else:
            conn.close(value)
    except (LocalProtocolError, ValueError):
        pass


receiverOptions = st.sampled_from([
    Options(),
    Options(maxFrameSize=64, maxMessageSize=100),
    Options(decodeText=False),
    Options(autoPong=False),
])


def readHeadLineByLine(head: bytes) -> tuple[str, list[tuple[str, str]]] | str:
    """
    What RFC 9112 makes of a head's header lines, read one at a time: the
    start line and the (name, stripped value) pairs, or the word C{"bad"}
    for a head with a line that is empty, folded, without a colon, with a
    name that is not a token, or with a control character (but HTAB) in
    its value.
    """
    startLine, *lines = head.decode("iso-8859-1").split("\r\n")
    headers = []
    for line in lines:
        name, colon, value = line.partition(":")
        if not colon or not name or any(c not in TOKEN_CHARACTERS for c in name):
            return "bad"
        if any(c != "\t" and (ord(c) < 0x20 or c == "\x7f") for c in value):
            return "bad"
        headers.append((name, value.strip(" \t")))
    return startLine, headers


#: Starts of header lines near a valid name: folded, spaced, empty, not a
#: token.
LINE_STARTS = [b"Host", b" Host", b"\tUpgrade", b"Host ", b"", b"Ho st", b"H\xe9", b"X:Y", b"A\rB"]

TOKEN_CHARACTERS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


class HeadParsingTests(SynchronousTestCase):
    """
    The parser of request and response heads agrees with the line-by-line
    reading of RFC 9112 on near-valid heads.
    """

    @FUZZ
    @given(
        version=st.sampled_from(ALL_VERSIONS),
        seed=st.integers(0, 3),
        ops=st.lists(lineMutations, max_size=4),
        added=st.lists(st.tuples(st.just("add"), st.sampled_from(LINE_STARTS), values), max_size=2),
        response=st.booleans(),
    )
    def test_headerLines(self, version, seed, ops, added, response) -> None:
        """
        A mutated head parses to the same start line and headers as the
        line-by-line reading, or is refused with status 400 where that
        reading finds a bad line.
        """
        data = validResponse(version, seed, ()) if response else validRequest(version, seed)
        head = mutateHead(data, ops + added).partition(b"\r\n\r\n")[0]
        expected = readHeadLineByLine(head)
        if expected == "bad":
            with self.assertRaises(PeerError) as caught:
                parseHead(head)
            self.assertEqual(caught.exception.status, 400)
        else:
            self.assertEqual(parseHead(head), expected)


class FramingFuzzTests(SynchronousTestCase):
    """
    Near-valid frame sequences after a successful handshake, for every
    version and both roles, never make C{receiveData} raise, and a failure
    is a close with a code the codec documents.
    """

    def feedAndCheck(self, receiver, data: bytes, sizes: list[int]) -> None:
        """
        Feed C{data} to C{receiver} in pieces and check how it ended.
        """
        events: list = []
        for piece in pieces(data, sizes):
            events.extend(receiver.receiveData(piece))
            receiver.dataToSend()
        for event in events:
            if isinstance(event, ConnectionFailed):
                self.assertIn(event.code, FAILURE_CODES, event.reason)
        cause = receiver.cause
        if cause is not None:
            self.assertIsInstance(cause, PeerError)
            self.assertIsNone(cause.__cause__, f"internal error: {cause.reason}")
            self.assertIn(cause.closeCode, FAILURE_CODES, cause.reason)
            if receiver.version.isHixie:
                self.assertTrue(receiver.shouldCloseTransport)
            else:
                self.assertIn(receiver.state, (State.CLOSED,))
        if any(isinstance(e, CloseReceived) for e in events) and cause is None:
            self.assertNotEqual(receiver.state, State.OPEN)
        receiver.answerClose()
        receiver.dataToSend()
        receiver.receiveEOF()
        self.assertIs(receiver.state, State.CLOSED)

    @FUZZ
    @given(
        version=st.sampled_from(ALL_VERSIONS),
        toServer=st.booleans(),
        sent=st.lists(items, min_size=1, max_size=6),
        fragments=st.one_of(st.none(), st.integers(1, 40)),
        ops=st.lists(streamMutations, max_size=4),
        cut=st.one_of(st.none(), st.integers(0, 2000)),
        sizes=pieceSizes,
        options=receiverOptions,
    )
    def test_mutatedStream(self, version, toServer, sent, fragments, ops, cut, sizes, options) -> None:
        """
        What the codec's own peer sends, with bits flipped, bytes changed,
        inserted or deleted and the stream cut anywhere, ends in messages,
        a close, or a failure with 1002, 1007, 1009 or 1011.
        """
        sender, receiver = openPair(version, options, fragments, toServer)
        for item in sent:
            send(sender, item)
        data = mutateStream(sender.dataToSend(), ops)
        if cut is not None:
            data = data[:cut]
        self.feedAndCheck(receiver, data, sizes)

    @FUZZ
    @given(
        version=st.sampled_from(HYBI_VERSIONS),
        toServer=st.booleans(),
        frames=st.lists(hybiFrames, min_size=1, max_size=6),
        cut=st.one_of(st.none(), st.integers(0, 1000)),
        sizes=pieceSizes,
        options=receiverOptions,
    )
    def test_handBuiltHybiFrames(self, version, toServer, frames, cut, sizes, options) -> None:
        """
        Hybi frames built by hand (any opcode, RSV bits, mask or none,
        lengths in any form or wrong, invalid UTF-8, odd close payloads)
        end in messages, a close, or a failure with a documented code.
        """
        _, receiver = openPair(version, options, None, toServer)
        data = b"".join(frames)
        if cut is not None:
            data = data[:cut]
        self.feedAndCheck(receiver, data, sizes)

    @FUZZ
    @given(
        version=st.sampled_from([Version.HIXIE75, Version.HIXIE76]),
        toServer=st.booleans(),
        frames=st.lists(hixieFrames, min_size=1, max_size=6),
        cut=st.one_of(st.none(), st.integers(0, 400)),
        sizes=pieceSizes,
        options=receiverOptions,
    )
    def test_handBuiltHixieFrames(self, version, toServer, frames, cut, sizes, options) -> None:
        """
        Hixie frames built by hand (text, invalid UTF-8, the closing
        handshake, length-prefixed frames, stray bytes) end in messages, the
        end of the connection, or a failure with a documented code.
        """
        _, receiver = openPair(version, options, None, toServer)
        data = b"".join(frames)
        if cut is not None:
            data = data[:cut]
        self.feedAndCheck(receiver, data, sizes)
