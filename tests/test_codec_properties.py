"""
Property tests of L{twisted_ws.codec}: messages survive any fragmentation
and any split of the byte stream, and no input from a peer makes the codec
raise.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from twisted_ws.codec import (
    BytesMessage,
    ClientConnection,
    CloseReceived,
    ConnectionFailed,
    ConnectionOpened,
    HandshakeFailed,
    Options,
    Ping,
    RequestReceived,
    ServerConnection,
    State,
    TextMessage,
    Version,
)

from ._support.codec import HYBI_RESPONSE, hixie76Request, requestFor

SETTINGS = settings(max_examples=150, deadline=None)

versions = st.sampled_from(list(Version))
texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300)
chunkSizes = st.lists(st.integers(min_value=1, max_value=97), min_size=1, max_size=12)
fragmentSizes = st.one_of(st.none(), st.integers(min_value=1, max_value=64))


def hybiItems():
    """
    Things to send on a hybi connection: text, binary and pings.
    """
    return st.one_of(
        texts.map(lambda t: ("text", t)),
        st.binary(max_size=300).map(lambda b: ("binary", b)),
        st.binary(max_size=125).map(lambda b: ("ping", b)),
    )


def chunked(data: bytes, sizes: list[int]) -> list[bytes]:
    """
    Cut C{data} into pieces whose sizes cycle through C{sizes}.
    """
    pieces = []
    pos = 0
    i = 0
    while pos < len(data):
        n = sizes[i % len(sizes)]
        pieces.append(data[pos : pos + n])
        pos += n
        i += 1
    return pieces


def transfer(source, sink, sizes: list[int]) -> list:
    """
    Move what C{source} wants to send into C{sink}, in pieces, and return
    the events C{sink} produced.
    """
    events: list = []
    for piece in chunked(source.dataToSend(), sizes):
        events.extend(sink.receiveData(piece))
    return events


class RoundTripTests(SynchronousTestCase):
    """
    Whatever one side sends, the other receives unchanged.
    """

    @SETTINGS
    @given(
        version=versions,
        data=st.data(),
        fragmentSize=fragmentSizes,
        sizes=chunkSizes,
        serverToClient=st.booleans(),
    )
    def test_roundTrip(self, version, data, fragmentSize, sizes, serverToClient) -> None:
        """
        Any sequence of messages (text; binary and pings too on hybi)
        survives encoding and decoding across random outgoing fragmentation
        and random read splits, in either direction, handshake included.
        """
        if version.isHixie:
            items = data.draw(st.lists(texts.map(lambda t: ("text", t)), max_size=8))
        else:
            items = data.draw(st.lists(hybiItems(), max_size=8))
        options = Options(fragmentSize=fragmentSize)
        client = ClientConnection("example.com", "/p", version=version, options=options)
        server = ServerConnection(options)
        events = transfer(client, server, sizes)
        self.assertEqual([type(e) for e in events], [RequestReceived])
        self.assertEqual(server.accept(), [])
        events = transfer(server, client, sizes)
        self.assertEqual([type(e) for e in events], [ConnectionOpened])

        sender, receiver = (server, client) if serverToClient else (client, server)
        expected = []
        for kind, value in items:
            if kind == "text":
                sender.sendTextMessage(value)
                expected.append(TextMessage(value))
            elif kind == "binary":
                sender.sendBytesMessage(value)
                expected.append(BytesMessage(value))
            else:
                sender.ping(value)
                expected.append(Ping(value))
        self.assertEqual(transfer(sender, receiver, sizes), expected)

        sender.close(1000, "done")
        events = transfer(sender, receiver, sizes)
        self.assertEqual([type(e) for e in events], [] if version is Version.HIXIE75 else [CloseReceived])
        if version is not Version.HIXIE75:
            transfer(receiver, sender, sizes)
            self.assertIs(sender.state, State.CLOSED)
            self.assertTrue(sender.wasClean)
            self.assertTrue(receiver.wasClean)


def frameLike():
    """
    Byte strings that look like hybi frames: any first byte, masked or not,
    with one of the three length forms, and a payload that may be shorter
    than announced.
    """
    return st.builds(
        lambda b0, masked, length, form, payload: (
            bytes([b0, (0x80 if masked else 0) | (length if form == 0 else 125 + form)])
            + (length.to_bytes(2, "big") if form == 1 else b"")
            + (length.to_bytes(8, "big") if form == 2 else b"")
            + (b"\x37\xfa\x21\x3d" if masked else b"")
            + payload
        ),
        st.integers(0, 255),
        st.booleans(),
        st.integers(0, 125),
        st.sampled_from([0, 0, 0, 1, 2]),
        st.binary(max_size=130),
    )


def hixieLike():
    """
    Byte strings that look like hixie frames.
    """
    return st.one_of(
        st.binary(max_size=40).map(lambda b: b"\x00" + b + b"\xff"),
        st.binary(max_size=40).map(lambda b: b"\x80" + b),
        st.just(b"\xff\x00"),
    )


garbage = st.lists(
    st.one_of(st.binary(max_size=64), frameLike(), hixieLike()), max_size=10
).map(b"".join)


class GarbageTests(SynchronousTestCase):
    """
    Arbitrary bytes from a peer never make the codec raise: they end in an
    orderly close or leave it waiting for more.
    """

    def feedGarbage(self, conn, data: bytes, sizes: list[int], accept: bool = True) -> None:
        """
        Feed C{data} to C{conn} in pieces and check the invariants after
        every call.
        """
        finished = conn.state is State.CLOSED
        for piece in chunked(data, sizes):
            events = conn.receiveData(piece)
            self.assertIsInstance(events, list)
            if finished:
                self.assertEqual(events, [])
            if accept and any(isinstance(e, RequestReceived) for e in events):
                events = events + conn.accept()
            failures = [e for e in events if isinstance(e, (ConnectionFailed, HandshakeFailed))]
            if failures:
                self.assertEqual(len(failures), 1, events)
                self.assertIs(events[-1], failures[0])
                self.assertIn(conn.state, (State.REMOTE_CLOSING, State.CLOSED))
                self.assertTrue(conn.shouldCloseTransport)
                self.assertIsNotNone(conn.cause)
            self.checkState(conn)
            self.assertIsInstance(conn.dataToSend(), bytes)
            finished = conn.state is State.CLOSED
        conn.receiveEOF()
        self.assertIs(conn.state, State.CLOSED)
        self.assertTrue(conn.shouldCloseTransport)

    def checkState(self, conn) -> None:
        """
        A closed connection either asks for the transport to be closed or is
        a client waiting for the server to end TCP after a clean close; one
        that is still open or waiting for the peer's close frame does not
        ask for it; one that owes its close frame is in REMOTE_CLOSING.
        """
        if conn.state is State.CLOSED and not conn.shouldCloseTransport:
            self.assertIsInstance(conn, ClientConnection)
            self.assertTrue(conn.wasClean)
        if conn.state in (State.CONNECTING, State.OPEN, State.LOCAL_CLOSING):
            self.assertFalse(conn.shouldCloseTransport)
        self.assertIs(conn.closeAnswerPending, conn.state is State.REMOTE_CLOSING)

    @SETTINGS
    @given(data=st.binary(max_size=400), sizes=chunkSizes)
    def test_serverBeforeHandshake(self, data, sizes) -> None:
        """
        Random bytes fed to a new server end in HandshakeFailed or leave it
        waiting.
        """
        self.feedGarbage(ServerConnection(Options(maxHeaderSize=256)), data, sizes)

    @SETTINGS
    @given(
        version=versions,
        cut=st.integers(0, 400),
        data=garbage,
        sizes=chunkSizes,
    )
    def test_serverInsideHandshake(self, version, cut, data, sizes) -> None:
        """
        Random bytes after a prefix of a valid request, or right after a
        complete one, never make a server raise.
        """
        request = requestFor(version)
        self.feedGarbage(ServerConnection(), request[:cut] + data, sizes)

    @SETTINGS
    @given(version=versions, data=garbage, sizes=chunkSizes)
    def test_serverAfterHandshake(self, version, data, sizes) -> None:
        """
        Random frames and bytes fed to an open server end in an orderly close
        or leave it open.
        """
        server = ServerConnection(Options(maxFrameSize=200, maxMessageSize=300))
        server.receiveData(requestFor(version))
        server.accept()
        self.feedGarbage(server, data, sizes)

    @SETTINGS
    @given(data=st.binary(max_size=400), sizes=chunkSizes, version=versions)
    def test_clientBeforeHandshake(self, data, sizes, version) -> None:
        """
        Random bytes as a server's response never make a client raise.
        """
        client = ClientConnection("h", version=version, options=Options(maxHeaderSize=256))
        client.dataToSend()
        self.feedGarbage(client, data, sizes)

    @SETTINGS
    @given(data=garbage, sizes=chunkSizes, prefix=st.sampled_from([
        HYBI_RESPONSE[:-2],
        b"HTTP/1.1 101 Switching Protocols\r\n",
        b"HTTP/1.1 200 OK\r\n\r\n",
        b"",
    ]))
    def test_clientInsideHandshake(self, data, sizes, prefix) -> None:
        """
        Random bytes after part of a response never make a client raise.
        """
        client = ClientConnection("h")
        client.dataToSend()
        self.feedGarbage(client, prefix + data, sizes)

    @SETTINGS
    @given(version=versions, data=garbage, sizes=chunkSizes)
    def test_clientAfterHandshake(self, version, data, sizes) -> None:
        """
        Random frames and bytes fed to an open client end in an orderly close
        or leave it open.
        """
        options = Options(maxFrameSize=200, maxMessageSize=300)
        client = ClientConnection("example.com", "/demo", version=version, options=options)
        server = ServerConnection()
        server.receiveData(client.dataToSend())
        server.accept()
        [event] = client.receiveData(server.dataToSend())
        self.assertIsInstance(event, ConnectionOpened)
        self.feedGarbage(client, data, sizes, accept=False)

    @SETTINGS
    @given(
        key1=st.text(alphabet=" 0123456789abc", max_size=30),
        key2=st.text(alphabet=" 0123456789abc", max_size=30),
        key3=st.binary(min_size=8, max_size=8),
    )
    def test_hixie76Keys(self, key1, key2, key3) -> None:
        """
        Any pair of hixie-76 keys is either accepted or refused with 400.
        """
        server = ServerConnection()
        events = server.receiveData(hixie76Request(key1, key2, key3, extra=""))
        self.assertEqual(len(events), 1)
        if isinstance(events[0], HandshakeFailed):
            self.assertEqual(events[0].status, 400)
        else:
            self.assertIsInstance(events[0], RequestReceived)
            server.accept()
            self.assertEqual(len(server.dataToSend().partition(b"\r\n\r\n")[2]), 16)
