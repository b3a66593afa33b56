"""
Tests for the codec's state machine (L{twisted_ws.codec._state}) and the
parts of the connection's public API that it drives: the explicit close
answer, output as chunks, the receive path that never raises, late sends,
and the deprecated names.
"""

from __future__ import annotations

import warnings

from twisted.trial.unittest import SynchronousTestCase

from twisted_ws import codec
from twisted_ws.codec import (
    ClientConnection,
    CloseReceived,
    ConnectionClosedError,
    ConnectionFailed,
    ConnectionOpened,
    HandshakeFailed,
    LocalProtocolError,
    Options,
    PeerError,
    RequestReceived,
    ServerConnection,
    State,
    TextMessage,
    Version,
)
from twisted_ws.codec._state import TRANSITIONS, Trigger, transition

HYBI = (Version.HYBI07, Version.HYBI08, Version.RFC6455)


def pair(
    version: Version = Version.RFC6455,
    serverOptions: Options | None = None,
    clientOptions: Options | None = None,
) -> tuple[ClientConnection, ServerConnection]:
    """
    A client and a server of C{version} after a real opening handshake, with
    nothing left to send.
    """
    clientOptions = clientOptions or Options()
    client = ClientConnection("example.com", "/", version=version, options=clientOptions)
    server = ServerConnection(serverOptions or Options())
    events = server.receiveData(client.dataToSend())
    assert [type(e) for e in events] == [RequestReceived], events
    server.accept()
    events = client.receiveData(server.dataToSend())
    assert [type(e) for e in events] == [ConnectionOpened], events
    return client, server


class _PassExtension:
    """
    A negotiated extension that changes nothing on the way out and, on the
    way in, can hold back what it is given until the message ends, or raise.
    """

    def __init__(self, name: str, rsvBits: int, hold: bool = False, explode: bool = False) -> None:
        self.name = name
        self.rsvBits = rsvBits
        self.hold = hold
        self.explode = explode
        self.held = b""
        self.seen: list[bytes] = []

    def encodeMessage(self, payload: bytes, isText: bool) -> tuple[int, bytes]:
        return self.rsvBits, payload

    def decodeChunk(self, data: bytes, rsv: int, limit: int) -> bytes:
        if self.explode:
            raise RuntimeError("extension bug")
        self.seen.append(data)
        if self.hold:
            self.held += data
            return b""
        return data

    def decodeEnd(self, rsv: int, limit: int) -> bytes:
        held, self.held = self.held, b""
        return held

    def responseParams(self) -> str:
        return self.name


class _Factory:
    """
    Negotiates one L{_PassExtension}; C{failWith} makes the negotiation
    itself raise.
    """

    def __init__(self, name: str, rsvBits: int, failWith: Exception | None = None, **kw) -> None:
        self.name = name
        self.rsvBits = rsvBits
        self.failWith = failWith
        self.kw = kw
        self.made: list[_PassExtension] = []

    def _make(self) -> _PassExtension:
        if self.failWith is not None:
            raise self.failWith
        ext = _PassExtension(self.name, self.rsvBits, **self.kw)
        self.made.append(ext)
        return ext

    def acceptOffer(self, offers):
        return self._make()

    def offer(self) -> str:
        return self.name

    def acceptResponse(self, params):
        return self._make()


class TransitionTableTests(SynchronousTestCase):
    """
    The one table of transitions.
    """

    def test_everyEntry(self) -> None:
        """
        L{transition} gives the table's new state for every entry in it.
        """
        for (state, trigger), new in TRANSITIONS.items():
            self.assertIs(transition(state, trigger), new)

    def test_missingEntryRaises(self) -> None:
        """
        A pair that the table does not hold raises L{LocalProtocolError}
        naming the state and the trigger.
        """
        missing = [
            (s, t) for s in State for t in Trigger if (s, t) not in TRANSITIONS
        ]
        self.assertIn((State.CLOSED, Trigger.OPENED), missing)
        for state, trigger in missing:
            with self.assertRaises(LocalProtocolError) as caught:
                transition(state, trigger)
            self.assertIn(state.name, str(caught.exception))
            self.assertIn(trigger.value, str(caught.exception))

    def test_closedIsFinal(self) -> None:
        """
        Nothing leaves CLOSED but the end of TCP, which stays there.
        """
        leaving = {t: n for (s, t), n in TRANSITIONS.items() if s is State.CLOSED}
        self.assertEqual(leaving, {Trigger.ENDED: State.CLOSED})

    def test_closingAlias(self) -> None:
        """
        The former name C{State.CLOSING} is C{LOCAL_CLOSING}.
        """
        self.assertIs(State.CLOSING, State.LOCAL_CLOSING)


class CloseAnswerTests(SynchronousTestCase):
    """
    The close frame that answers the peer's is an explicit step that comes
    after the caller's replies.
    """

    def test_answerAfterReplies(self) -> None:
        """
        A message and the peer's close frame in one read: the reply sent
        while REMOTE_CLOSING goes out before the answering close frame, which
        echoes the peer's code.
        """
        for version in HYBI:
            client, server = pair(version)
            client.sendTextMessage("hello")
            client.close(4000, "done")
            events = server.receiveData(client.dataToSend())
            self.assertEqual(events, [TextMessage("hello"), CloseReceived(4000, "done")])
            self.assertIs(server.state, State.REMOTE_CLOSING)
            self.assertTrue(server.closeAnswerPending)
            self.assertTrue(server.canSend)
            server.sendTextMessage("echo")
            server.answerClose()
            self.assertIs(server.state, State.CLOSED)
            self.assertFalse(server.closeAnswerPending)
            self.assertFalse(server.canSend)
            chunks = server.chunksToSend()
            self.assertEqual(
                client.receiveData(b"".join(chunks)),
                [TextMessage("echo"), CloseReceived(4000, "")],
            )
            self.assertTrue(server.wasClean)
            self.assertTrue(server.closedByPeer)
            self.assertEqual((server.closeCode, server.closeReason), (4000, "done"))

    def test_lateSendRaisesConnectionClosedError(self) -> None:
        """
        Once the answer is queued, a send raises L{ConnectionClosedError}, a
        L{LocalProtocolError}.
        """
        client, server = pair()
        client.close()
        server.receiveData(client.dataToSend())
        server.answerClose()
        for send in (server.sendTextMessage, server.sendBytesMessage, server.ping, server.pong):
            self.assertRaises(ConnectionClosedError, send, b"x")
        self.assertTrue(issubclass(ConnectionClosedError, LocalProtocolError))

    def test_answerNothingOwed(self) -> None:
        """
        L{answerClose} with nothing owed queues nothing and keeps the state.
        """
        client, server = pair()
        server.answerClose()
        self.assertIs(server.state, State.OPEN)
        self.assertEqual(server.chunksToSend(), [])

    def test_closeWhileRemoteClosingAnswers(self) -> None:
        """
        C{close()} while the answer is owed queues the answer (with the
        peer's code, not the one given).
        """
        client, server = pair()
        client.close(1001)
        server.receiveData(client.dataToSend())
        server.close(1000, "ignored")
        self.assertIs(server.state, State.CLOSED)
        self.assertEqual(server.dataToSend(), b"\x88\x02\x03\xe9")

    def test_errorAnswerReportsCode(self) -> None:
        """
        After a protocol error the owed close frame carries the error's code,
        and the connection is not clean.
        """
        client, server = pair()
        events = server.receiveData(bytes([0x83, 0x80]) + b"abcd")
        self.assertEqual([type(e) for e in events], [ConnectionFailed])
        self.assertIs(server.state, State.REMOTE_CLOSING)
        self.assertEqual(server.dataToSend(), b"\x88\x02\x03\xea")
        self.assertIs(server.state, State.CLOSED)
        self.assertFalse(server.wasClean)
        self.assertFalse(server.closedByPeer)
        self.assertEqual(server.closeCode, 1002)

    def test_errorWhileLocalClosing(self) -> None:
        """
        A protocol error while waiting for the peer's close frame closes at
        once: this side's close frame is already out.
        """
        client, server = pair()
        server.close(1000)
        server.dataToSend()
        server.receiveData(bytes([0x83, 0x80]) + b"abcd")
        self.assertIs(server.state, State.CLOSED)
        self.assertFalse(server.closeAnswerPending)
        self.assertEqual(server.dataToSend(), b"")
        self.assertEqual(server.closeCode, 1002)

    def test_eofWhileAnswerOwed(self) -> None:
        """
        The end of TCP before the answer went out: closed, clean (the peer
        did its part), with the peer's code; nothing more is queued.
        """
        client, server = pair()
        client.close(1000, "bye")
        server.receiveData(client.dataToSend())
        server.receiveEOF()
        self.assertIs(server.state, State.CLOSED)
        self.assertFalse(server.closeAnswerPending)
        self.assertEqual(server.dataToSend(), b"")
        self.assertTrue(server.wasClean)
        self.assertEqual((server.closeCode, server.closeReason), (1000, "bye"))

    def test_eofWhileLocalClosing(self) -> None:
        """
        The end of TCP before the peer's close frame: 1006, unclean, and
        this side started the closing.
        """
        client, server = pair()
        server.close(1000)
        server.receiveEOF()
        self.assertIs(server.state, State.CLOSED)
        self.assertFalse(server.wasClean)
        self.assertFalse(server.closedByPeer)
        self.assertEqual(server.closeCode, 1006)

    def test_chunksInOrder(self) -> None:
        """
        L{chunksToSend} returns the queued frames as separate chunks in order
        and empties the buffer; L{queuedChunkCount} counts them.
        """
        client, server = pair()
        server.sendTextMessage("a")
        server.sendBytesMessage(b"b")
        server.ping(b"c")
        self.assertEqual(server.queuedChunkCount, 3)
        self.assertEqual(server.chunksToSend(), [b"\x81\x01a", b"\x82\x01b", b"\x89\x01c"])
        self.assertEqual(server.queuedChunkCount, 0)
        self.assertEqual(server.chunksToSend(), [])


class NeverRaisesTests(SynchronousTestCase):
    """
    An exception from inside the codec or an extension on the receive path
    becomes a failed connection, never an exception out of C{receiveData}.
    """

    def test_extensionBugAfterOpen(self) -> None:
        """
        An extension that raises while decoding fails the connection with
        1011; the cause keeps the original exception.
        """
        factory = _Factory("x-test", 0x40, explode=True)
        client, server = pair(
            serverOptions=Options(extensions=(factory,)),
            clientOptions=Options(extensions=(_Factory("x-test", 0x40),)),
        )
        client.sendTextMessage("boom")
        events = server.receiveData(client.dataToSend())
        self.assertEqual([type(e) for e in events], [ConnectionFailed])
        self.assertEqual(events[0].code, 1011)
        self.assertIsInstance(server.cause, PeerError)
        self.assertIsInstance(server.cause.__cause__, RuntimeError)
        self.assertEqual(server.dataToSend(), b"\x88\x02\x03\xf3")
        self.assertIs(server.state, State.CLOSED)
        self.assertEqual(server.receiveData(b"\x81\x80abcd"), [])

    def test_extensionBugInServerHandshake(self) -> None:
        """
        An extension factory that raises something other than ValueError
        while negotiating: the request is answered with HTTP 500.
        """
        server = ServerConnection(
            Options(extensions=(_Factory("x-test", 0x40, failWith=RuntimeError("bug")),))
        )
        client = ClientConnection(
            "example.com", "/", options=Options(extensions=(_Factory("x-test", 0x40),))
        )
        events = server.receiveData(client.dataToSend())
        self.assertEqual([type(e) for e in events], [HandshakeFailed])
        self.assertEqual(events[0].status, 500)
        self.assertTrue(server.dataToSend().startswith(b"HTTP/1.1 500 "))
        self.assertIs(server.state, State.CLOSED)
        self.assertTrue(server.shouldCloseTransport)

    def test_extensionBugInClientHandshake(self) -> None:
        """
        An extension factory that raises while the client checks the
        response: the handshake fails with the cause kept.
        """
        client = ClientConnection(
            "example.com",
            "/",
            options=Options(extensions=(_Factory("x-test", 0x40, failWith=RuntimeError("bug")),)),
        )
        server = ServerConnection(Options(extensions=(_Factory("x-test", 0x40),)))
        server.receiveData(client.dataToSend())
        server.accept()
        events = client.receiveData(server.dataToSend())
        self.assertEqual([type(e) for e in events], [HandshakeFailed])
        self.assertIs(client.state, State.CLOSED)
        self.assertIsNotNone(client.cause)


class StackedExtensionTests(SynchronousTestCase):
    """
    Two extensions on one connection decode in the reverse of the order
    they encode in, the tail of a message included.
    """

    def test_innerTailPassesThroughOuter(self) -> None:
        """
        What the last-negotiated extension holds back until the message ends
        still goes through the extension before it.
        """
        first = _Factory("x-first", 0x20)
        second = _Factory("x-second", 0x40, hold=True)
        client, server = pair(
            serverOptions=Options(extensions=(first, second)),
            clientOptions=Options(extensions=(_Factory("x-first", 0x20), _Factory("x-second", 0x40))),
        )
        self.assertEqual([e.name for e in server.extensions], ["x-first", "x-second"])
        client.sendTextMessage("stacked")
        events = server.receiveData(client.dataToSend())
        self.assertEqual(events, [TextMessage("stacked")])
        self.assertEqual(second.made[0].seen, [b"stacked"])
        self.assertEqual(first.made[0].seen, [b"stacked"])


class DeprecatedNamesTests(SynchronousTestCase):
    """
    Former names keep working for one release with a DeprecationWarning.
    """

    def assertDeprecated(self, call, *args):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = call(*args)
        self.assertEqual([w.category for w in caught], [DeprecationWarning], caught)
        return result, str(caught[0].message)

    def test_sendMethods(self) -> None:
        """
        C{sendText}, C{sendBinary}, C{sendPing}, C{sendPong} and
        C{sendPrepared} send as their new names do and warn.
        """
        client, server = pair()
        _, message = self.assertDeprecated(server.sendText, "a")
        self.assertIn("sendTextMessage", message)
        self.assertDeprecated(server.sendBinary, b"b")
        self.assertDeprecated(server.sendPing, b"c")
        self.assertDeprecated(server.sendPong, b"d")
        self.assertDeprecated(server.sendPrepared, codec.PreparedMessage("e"))
        self.assertEqual(
            server.dataToSend(), b"\x81\x01a\x82\x01b\x89\x01c\x8a\x01d\x81\x01e"
        )

    def test_failure(self) -> None:
        """
        C{failure} is C{cause}, with a warning.
        """
        client, server = pair()
        server.receiveData(b"\x83\x80abcd")
        value, message = self.assertDeprecated(lambda: server.failure)
        self.assertIs(value, server.cause)
        self.assertIn("cause", message)

    def test_eventNames(self) -> None:
        """
        C{BinaryMessage} and C{ProtocolError} are the new event classes.
        """
        value, _ = self.assertDeprecated(getattr, codec, "BinaryMessage")
        self.assertIs(value, codec.BytesMessage)
        value, _ = self.assertDeprecated(getattr, codec, "ProtocolError")
        self.assertIs(value, codec.ConnectionFailed)

    def test_unknownName(self) -> None:
        """
        Other missing names still raise L{AttributeError}.
        """
        self.assertRaises(AttributeError, getattr, codec, "NoSuchThing")


class SendBeforeOpenTests(SynchronousTestCase):
    """
    Sending before the handshake completes is the caller's misuse.
    """

    def test_notOpen(self) -> None:
        """
        Every send method raises L{LocalProtocolError} (not the closed-error
        subclass) before the connection opens.
        """
        server = ServerConnection()
        for send in (server.sendTextMessage, server.sendBytesMessage, server.ping, server.pong):
            with self.assertRaises(LocalProtocolError) as caught:
                send(b"x")
            self.assertNotIsInstance(caught.exception, ConnectionClosedError)
        self.assertRaises(LocalProtocolError, server.sendPreparedMessage, codec.PreparedMessage("x"))
        self.assertFalse(server.canSend)


class RequestPathTests(SynchronousTestCase):
    """
    L{ServerConnection.requestPath}: the request's path without keeping the
    parsed request.
    """

    def test_pathBeforeAndAfterAccept(self) -> None:
        """
        The path (without the query) reads the same while the request waits
        and after it was accepted; before it arrives it is L{None}.
        """
        server = ServerConnection()
        self.assertIsNone(server.requestPath)
        client = ClientConnection("example.com", "/chat/room?user=a&b=c")
        server.receiveData(client.dataToSend())
        self.assertEqual(server.requestPath, "/chat/room")
        server.accept()
        self.assertEqual(server.requestPath, "/chat/room")
        self.assertEqual(server.request.path, "/chat/room")
