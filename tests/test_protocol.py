"""
Tests for the Twisted layer of L{twisted_ws}: L{WebSocketServerFactory},
the server connection it builds and the application's L{WebSocketProtocol},
for every protocol version, driven over L{StringTransport} by the codec's
L{ClientConnection} with time on a L{task.Clock}.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import task
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.logger import LogLevel, formatEvent, globalLogPublisher
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from twisted_ws import (
    AbnormalClose,
    CleanClose,
    ConnectionClosed,
    LocalProtocolError,
    Options,
    RejectConnection,
    Version,
    WebSocketConnection,
    WebSocketProtocol,
    WebSocketServerFactory,
)
from twisted_ws._flow import TransportProducer
from twisted_ws._timers import ABORT_AFTER
from twisted_ws.codec import (
    BinaryMessage,
    ClientConnection,
    CloseReceived,
    ConnectionOpened,
    HandshakeFailed,
    Ping,
    Pong,
    PreparedMessage,
    State,
    TextMessage,
)

from ._support.layer import (
    ALL_VERSIONS,
    HOST,
    PEER,
    CountingTransport,
    Peer,
    Recorder,
)


class TripleEcho(Recorder):
    """
    Answers each text message with three messages.
    """

    def textMessageReceived(self, message: str) -> None:
        super().textMessageReceived(message)
        for i in range(3):
            self.sendTextMessage(f"{message}-{i}")


def captureLogs(testCase: SynchronousTestCase) -> list[dict]:
    """
    Collect the events logged through L{twisted.logger} while the test runs.
    """
    events: list[dict] = []
    observer = events.append
    globalLogPublisher.addObserver(observer)
    testCase.addCleanup(globalLogPublisher.removeObserver, observer)
    return events


def ourEvents(events: list[dict]) -> list[dict]:
    """
    The logged events of the C{twisted_ws} namespace.
    """
    return [e for e in events if e.get("log_namespace") == "twisted_ws"]


class _EveryVersionMixin:
    """
    Behaviour the same on every version; mixed into one test case per
    version and way of feeding bytes.
    """

    version: Version
    oneByte = False

    def peer(self, protocol: type[WebSocketProtocol] = Recorder, options: Options | None = None,
             **kw: Any) -> Peer:
        return Peer(self.version, protocol, options, oneByte=self.oneByte, **kw)

    def openPeer(self, protocol: type[WebSocketProtocol] = Recorder, options: Options | None = None,
                 **kw: Any) -> Peer:
        p = self.peer(protocol, options, **kw)
        events = p.handshake()
        self.assertIsInstance(events[0], ConnectionOpened)
        return p

    def test_requestReceived(self) -> None:
        """
        The application gets the request's method, path, target, headers,
        version and offered subprotocols, and the peer's address.
        """
        p = self.peer(subprotocols=("chat.v2",), headers=(("X-Token", "abc"),))
        p.flush()
        request = dict(p.app.events)["request"]
        self.assertEqual(request.method, "GET")
        self.assertEqual(request.path, "/chat")
        self.assertEqual(request.target, "/chat?room=1")
        self.assertEqual(request.version, self.version)
        self.assertEqual(request.subprotocols, ("chat.v2",))
        self.assertEqual(request.header("x-token"), "abc")
        self.assertIn(("X-Token", "abc"), request.headers)
        self.assertEqual(request.host, "example.com")
        self.assertEqual(p.app.peerAtRequest, PEER)
        self.assertEqual(p.server.request, request)
        self.assertEqual(p.server.request.header("x-token"), "abc")

    def test_callbackOrder(self) -> None:
        """
        negotiationStarted, requestReceived and negotiationFinished come in
        that order, negotiationStarted with the connection as transport.
        """
        p = self.openPeer()
        self.assertEqual(p.app.names(), ["started", "request", "finished"])
        self.assertIs(p.app.events[0][1], p.server)
        self.assertIs(p.app.transport, p.server)
        self.assertEqual(p.server.version, self.version)
        self.assertTrue(p.server.isOpen)
        self.assertIs(p.app.factory, p.factory)

    def test_peerAndHost(self) -> None:
        """
        The WebSocket transport reports the TCP transport's peer and host.
        """
        p = self.openPeer()
        self.assertEqual(p.app.transport.getPeer(), PEER)
        self.assertEqual(p.app.transport.getHost(), HOST)

    def test_textMessageReceived(self) -> None:
        """
        Text messages from the client reach textMessageReceived, in order,
        also when several arrive in one read.
        """
        p = self.openPeer()
        p.client.sendText("h\u00e9llo \U0001f600")
        p.client.sendText("")
        p.client.sendText("third")
        p.flush()
        self.assertEqual(
            p.app.received(), [("text", "h\u00e9llo \U0001f600"), ("text", ""), ("text", "third")]
        )

    def test_messageInSameReadAsRequest(self) -> None:
        """
        A message that arrives in the same read as the opening request is
        delivered once the connection is open.
        """
        p = self.peer()
        request = p.client.dataToSend()
        # The client codec only frames messages once open; build the frame
        # with a second client codec of the same version that is open.
        other = self.openPeer()
        other.client.sendText("early")
        frame = other.client.dataToSend()
        p.send(request + frame)
        self.assertEqual(p.app.names(), ["started", "request", "finished", "text"])
        self.assertEqual(p.app.received(), [("text", "early")])

    def test_sendTextOutsideDataReceived(self) -> None:
        """
        A message sent outside dataReceived (from a timer, say) is written at
        once.
        """
        p = self.openPeer()
        p.transport.writes.clear()
        p.app.sendTextMessage("now")
        self.assertEqual(len(p.transport.writes), 1)
        self.assertEqual(p.receive(), [TextMessage("now")])

    def test_repliesInOneWrite(self) -> None:
        """
        Several replies sent while handling one dataReceived go out in one
        transport write.
        """
        p = self.openPeer(TripleEcho)
        p.transport.writes.clear()
        p.client.sendText("m")
        p.server.dataReceived(p.client.dataToSend())
        self.assertEqual(len(p.transport.writes), 1)
        self.assertEqual(
            p.receive(), [TextMessage("m-0"), TextMessage("m-1"), TextMessage("m-2")]
        )

    def test_chooseSubprotocol(self) -> None:
        """
        The subprotocol returned by requestReceived is the one the response
        names.
        """

        class Chooser(Recorder):
            subprotocolChoice = "chat.v2"

        p = self.openPeer(Chooser, subprotocols=("chat.v2",))
        self.assertEqual(p.events[0].subprotocol, "chat.v2")
        self.assertEqual(p.server.subprotocol, "chat.v2")
        self.assertEqual(p.client.subprotocol, "chat.v2")

    def test_subprotocolFromOptions(self) -> None:
        """
        When requestReceived returns None the first of the options'
        subprotocols that the client offered is chosen.
        """
        p = self.openPeer(
            options=Options(subprotocols=("chat.v3", "chat.v2")), subprotocols=("chat.v2",)
        )
        self.assertEqual(p.server.subprotocol, "chat.v2")
        self.assertEqual(p.events[0].subprotocol, "chat.v2")

    def test_noSubprotocol(self) -> None:
        """
        With nothing offered and nothing chosen there is no subprotocol.
        """
        p = self.openPeer()
        self.assertIsNone(p.server.subprotocol)
        self.assertIsNone(p.events[0].subprotocol)

    def test_invalidSubprotocolChoice(self) -> None:
        """
        An application that chooses a subprotocol the client did not offer
        gets the handshake refused with 500, and the error is logged.
        """

        class BadChooser(Recorder):
            subprotocolChoice = "never-offered"

        logs = captureLogs(self)
        p = self.peer(BadChooser)
        p.flush()
        self.assertTrue(p.transport.value().startswith(b"HTTP/1.1 500 "))
        self.assertTrue(p.transport.disconnecting)
        self.assertNotIn("finished", p.app.names())
        self.flushLoggedErrors(LocalProtocolError)
        self.assertTrue(any(e.get("log_failure") is not None for e in ourEvents(logs)))

    def test_addResponseHeader(self) -> None:
        """
        Headers added with transport.addResponseHeader appear in the 101
        response.
        """

        class Header(Recorder):
            extraHeaders = (("X-Server-Id", "node-7"), ("Set-Cookie", "a=b"))

        p = self.openPeer(Header)
        headers = [(n.lower(), v) for n, v in p.events[0].headers]
        self.assertIn(("x-server-id", "node-7"), headers)
        self.assertIn(("set-cookie", "a=b"), headers)

    def test_addResponseHeaderWhenOpen(self) -> None:
        """
        Adding a response header once the connection is open raises
        LocalProtocolError.
        """
        p = self.openPeer()
        self.assertRaises(LocalProtocolError, p.app.transport.addResponseHeader, "X-Late", "1")

    def test_reject(self) -> None:
        """
        RejectConnection from requestReceived sends an HTTP error response
        with the status and reason and ends the TCP connection; the
        application never sees the connection open and is told it ended
        abnormally.
        """

        class Refuser(Recorder):
            rejection = RejectConnection(401, "who are you?", (("WWW-Authenticate", "Basic"),))

        p = self.peer(Refuser)
        p.flush()
        response = p.transport.value()
        self.assertTrue(response.startswith(b"HTTP/1.1 401 "), response)
        self.assertIn(b"who are you?", response)
        self.assertIn(b"WWW-Authenticate: Basic", response)
        self.assertTrue(p.transport.disconnecting)
        p.lose()
        self.assertEqual(p.app.names(), ["started", "request", "lost"])
        closed = p.app.lostReason()
        self.assertIsInstance(closed, AbnormalClose)
        self.assertEqual(closed.code, 1006)
        self.assertFalse(closed.wasClean)

    def test_rejectReportedToClient(self) -> None:
        """
        The client codec reports the refusal as HandshakeFailed with the
        status, from the response alone (its body is shorter than hixie-76's
        16-byte challenge answer).
        """

        class Refuser(Recorder):
            rejection = RejectConnection(401, "who?")

        p = self.peer(Refuser)
        p.flush()
        events = p.receive()
        self.assertEqual(len(events), 1, events)
        self.assertIsInstance(events[0], HandshakeFailed)
        self.assertEqual(events[0].status, 401)

    def test_rejectNonErrorStatus(self) -> None:
        """
        A RejectConnection with a status that is not 4xx or 5xx is answered
        with 403.
        """

        class Refuser(Recorder):
            rejection = RejectConnection(200, "no")

        p = self.peer(Refuser)
        p.flush()
        self.assertTrue(p.transport.value().startswith(b"HTTP/1.1 403 "))
        self.assertTrue(p.transport.disconnecting)

    def test_rejectFromFactory(self) -> None:
        """
        RejectConnection raised by the factory's buildWebSocketProtocol is
        answered with its status, and no application is built.
        """

        class Factory(WebSocketServerFactory):
            def buildWebSocketProtocol(self, request: Any, connection: Any) -> Any:
                raise RejectConnection(404, "no such room")

        p = self.peer()
        p.factory.__class__ = Factory
        p.flush()
        self.assertTrue(p.transport.value().startswith(b"HTTP/1.1 404 "))
        self.assertIn(b"no such room", p.transport.value())
        self.assertTrue(p.transport.disconnecting)
        self.assertIsNone(p.server.application)
        p.lose()

    def test_factoryReturnsNone(self) -> None:
        """
        A factory whose buildWebSocketProtocol returns None refuses the
        connection with 503.
        """

        class Factory(WebSocketServerFactory):
            def buildWebSocketProtocol(self, request: Any, connection: Any) -> Any:
                return None

        p = self.peer()
        p.factory.__class__ = Factory
        p.flush()
        self.assertTrue(p.transport.value().startswith(b"HTTP/1.1 503 "))
        self.assertTrue(p.transport.disconnecting)

    def test_invalidRequest(self) -> None:
        """
        A request that is not a WebSocket opening request gets 400 and the
        TCP connection ends; no application is built.
        """
        p = self.peer()
        p.send(b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")
        self.assertTrue(p.transport.value().startswith(b"HTTP/1.1 4"))
        self.assertTrue(p.transport.disconnecting)
        self.assertIsNone(p.server.application)
        p.lose()

    def test_serverClose(self) -> None:
        """
        loseConnection(code, reason) starts the closing handshake; when the
        client answers, the server ends the TCP connection and the
        application is told of a clean close it started.
        """
        p = self.openPeer()
        p.app.loseConnection(1001, "going away")
        events = p.receive()
        if self.version is Version.HIXIE75:
            # No closing handshake: closing is ending the TCP connection.
            self.assertTrue(p.transport.disconnecting)
        else:
            self.assertEqual(len(events), 1)
            self.assertIsInstance(events[0], CloseReceived)
            if not self.version.isHixie:
                self.assertEqual((events[0].code, events[0].reason), (1001, "going away"))
            self.assertFalse(p.transport.disconnecting)
            p.flush()
            self.assertTrue(p.transport.disconnecting)
        p.lose()
        closed = p.app.lostReason()
        self.assertIsInstance(closed, CleanClose)
        self.assertTrue(closed.wasClean)
        self.assertFalse(closed.closedByPeer)
        if not self.version.isHixie:
            # The code and reason are those of the close frame received: the
            # client echoed the code without a reason.
            self.assertEqual((closed.code, closed.reason), (1001, ""))
        self.assertIsNone(closed.cause)

    def test_clientClose(self) -> None:
        """
        A close from the client is answered, the server ends the TCP
        connection, and the application gets a clean close started by the
        peer, a ConnectionDone.
        """
        p = self.openPeer()
        p.client.close(1000, "bye")
        p.flush()
        if self.version is not Version.HIXIE75:
            events = p.receive()
            self.assertIsInstance(events[0], CloseReceived)
            self.assertTrue(p.transport.disconnecting)
        p.lose()
        failure = [v for n, v in p.app.events if n == "lost"][0]
        self.assertTrue(failure.check(ConnectionDone))
        self.assertTrue(failure.check(ConnectionClosed))
        closed = failure.value
        self.assertIsInstance(closed, CleanClose)
        self.assertTrue(closed.wasClean)
        self.assertTrue(closed.closedByPeer)
        if not self.version.isHixie:
            self.assertEqual((closed.code, closed.reason), (1000, "bye"))

    def test_abnormalClose(self) -> None:
        """
        A TCP connection that ends without a closing handshake is an
        AbnormalClose with code 1006, a ConnectionLost (except on hixie-75,
        where ending TCP is the way to close).
        """
        p = self.openPeer()
        p.lose(Failure(ConnectionLost("reset")))
        failure = [v for n, v in p.app.events if n == "lost"][0]
        if self.version is Version.HIXIE75:
            self.assertIsInstance(failure.value, CleanClose)
            return
        self.assertTrue(failure.check(ConnectionLost))
        closed = failure.value
        self.assertIsInstance(closed, AbnormalClose)
        self.assertEqual(closed.code, 1006)
        self.assertFalse(closed.wasClean)
        self.assertTrue(closed.closedByPeer)
        self.assertIsInstance(closed.cause, ConnectionLost)

    def test_connectionLostOnce(self) -> None:
        """
        connectionLost reaches the application once even if the transport
        reports it twice.
        """
        p = self.openPeer()
        p.lose()
        p.lose()
        self.assertEqual(p.app.names().count("lost"), 1)

    def test_sendAfterClose(self) -> None:
        """
        A message sent after the peer ended the connection is dropped, as a
        TCP transport drops late writes: nothing raises and nothing is
        written.
        """
        p = self.openPeer()
        p.transport.clear()
        p.lose()
        p.app.sendTextMessage("late")
        p.app.sendTextMessage(b"late")
        p.app.transport.sendPreparedMessage(PreparedMessage("late"))
        self.assertEqual(p.transport.value(), b"")

    def test_sendAfterOwnClose(self) -> None:
        """
        Sending after the application itself called loseConnection is its
        mistake and raises LocalProtocolError.
        """
        p = self.openPeer()
        p.app.loseConnection()
        self.assertRaises(LocalProtocolError, p.app.sendTextMessage, "late")
        p.lose()
        self.assertRaises(LocalProtocolError, p.app.sendTextMessage, "late")

    def test_sendBeforeOpen(self) -> None:
        """
        Sending from requestReceived, before the connection is open, raises
        LocalProtocolError.
        """
        errors = []

        class Early(Recorder):
            def requestReceived(self, request: Any) -> None:
                try:
                    self.sendTextMessage("too early")
                except LocalProtocolError as e:
                    errors.append(e)

        self.openPeer(Early)
        self.assertEqual(len(errors), 1)

    def test_loseConnectionTwice(self) -> None:
        """
        A second loseConnection while closing sends nothing more.
        """
        p = self.openPeer()
        p.app.loseConnection(1000)
        first = p.transport.value()
        p.app.loseConnection(1001)
        self.assertEqual(p.transport.value(), first)

    def test_loseConnectionInRequestReceived(self) -> None:
        """
        loseConnection called from requestReceived drops the connection
        during the handshake: no 101 goes out and negotiationFinished is
        never called.
        """

        class Dropper(Recorder):
            def requestReceived(self, request: Any) -> None:
                super().requestReceived(request)
                self.transport.loseConnection()

        p = self.peer(Dropper)
        p.flush()
        self.assertFalse(p.transport.value().startswith(b"HTTP/1.1 101"), p.transport.value())
        self.assertTrue(p.transport.disconnecting)
        self.assertNotIn("finished", p.app.names())
        self.assertFalse(p.server.isOpen)

    def test_applicationError(self) -> None:
        """
        An exception raised by textMessageReceived does not escape
        dataReceived: it is logged, the replies already sent go out, and
        the connection is closed.
        """

        class Faulty(Recorder):
            def textMessageReceived(self, message: str) -> None:
                self.sendTextMessage("before")
                raise ZeroDivisionError("application bug")

        p = self.openPeer(Faulty)
        p.client.sendText("x")
        p.server.dataReceived(p.client.dataToSend())
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)
        events = p.receive()
        self.assertEqual(events[0], TextMessage("before"))
        if not self.version.isHixie:
            self.assertIsInstance(events[-1], CloseReceived)
            self.assertEqual(events[-1].code, 1011)
        self.assertTrue(p.transport.disconnecting)

    def test_openTimeoutNothingSent(self) -> None:
        """
        A client that connects and sends nothing is dropped after
        Options.openTimeout.
        """
        p = self.peer(options=Options(openTimeout=3.0))
        p.clock.advance(2.9)
        self.assertFalse(p.transport.disconnecting)
        p.clock.advance(0.2)
        self.assertTrue(p.transport.disconnecting)
        self.assertTrue(p.transport.disconnected)
        p.lose()

    def test_openTimeoutHalfRequest(self) -> None:
        """
        A client that sends half its request is dropped after
        Options.openTimeout.
        """
        p = self.peer(options=Options(openTimeout=3.0))
        request = p.client.dataToSend()
        p.send(request[: len(request) // 2])
        p.clock.advance(3.0)
        self.assertTrue(p.transport.disconnected)
        p.lose()
        self.assertIsNone(p.server.application)

    def test_openTimeoutsShareATimer(self) -> None:
        """
        The open deadlines of connections made at different times share
        one reactor timer, and each still ends its own connection at its
        own time; a connection that opens leaves the others' deadlines as
        they were.
        """
        clock = task.Clock()
        options = Options(openTimeout=3.0, pingInterval=None)
        first = self.peer(options=options, clock=clock)
        clock.advance(1.0)
        opened = self.openPeer(options=options, clock=clock)
        clock.advance(1.0)
        second = self.peer(options=options, clock=clock)
        self.assertEqual(len(clock.getDelayedCalls()), 1)
        clock.advance(0.9)
        self.assertFalse(first.transport.disconnecting)
        clock.advance(0.1)
        self.assertTrue(first.transport.disconnected)
        self.assertFalse(second.transport.disconnecting)
        clock.advance(1.9)
        self.assertFalse(second.transport.disconnecting)
        clock.advance(0.1)
        self.assertTrue(second.transport.disconnected)
        self.assertFalse(opened.transport.disconnecting)
        self.assertEqual(clock.getDelayedCalls(), [])
        first.lose()
        second.lose()

    def test_openTimeoutCancelled(self) -> None:
        """
        Once the connection is open the open timeout no longer applies.
        """
        p = self.openPeer(options=Options(openTimeout=3.0, pingInterval=None))
        p.clock.advance(100)
        self.assertFalse(p.transport.disconnecting)
        self.assertEqual(p.clock.getDelayedCalls(), [])

    def test_closeTimeout(self) -> None:
        """
        A peer that never answers the server's close is dropped after
        Options.closeTimeout, and the close is abnormal.
        """
        p = self.openPeer(options=Options(closeTimeout=2.0))
        p.app.loseConnection(1000, "done")
        if self.version is Version.HIXIE75:
            self.assertTrue(p.transport.disconnecting)
            return
        p.clock.advance(1.9)
        self.assertFalse(p.transport.disconnecting)
        p.clock.advance(0.2)
        self.assertTrue(p.transport.disconnected)
        p.lose()
        closed = p.app.lostReason()
        self.assertIsInstance(closed, AbnormalClose)
        self.assertEqual(closed.code, 1006)
        self.assertFalse(closed.wasClean)

    def test_closeTimeoutAfterClosingHandshake(self) -> None:
        """
        After the closing handshake the server ends TCP, and aborts it if it
        has not ended within Options.closeTimeout.
        """
        p = self.openPeer(options=Options(closeTimeout=2.0))
        if self.version is Version.HIXIE75:
            # No closing handshake: the server ends TCP when it closes.
            p.app.loseConnection()
        else:
            p.client.close(1000)
            p.flush()
        self.assertTrue(p.transport.disconnecting)
        self.assertFalse(p.transport.disconnected)
        p.clock.advance(2.0)
        self.assertTrue(p.transport.disconnected)
        p.lose()
        self.assertIsInstance(p.app.lostReason(), CleanClose)

    def test_closeTimerAfterIdle(self) -> None:
        """
        An open connection without keepalive holds no timers, and closing
        it still bounds the closing handshake by C{closeTimeout}.
        """
        p = self.openPeer(options=Options(closeTimeout=2.0))
        self.assertIsNone(p.server._timers)
        p.app.loseConnection()
        self.assertEqual(len(p.clock.getDelayedCalls()), 1)
        p.clock.advance(2.0)
        self.assertTrue(p.transport.disconnected)
        p.lose()
        self.assertEqual(p.clock.getDelayedCalls(), [])

    def test_keepaliveKeepsTimers(self) -> None:
        """
        With keepalive the open connection keeps its timers and its ping is
        on the clock.
        """
        p = self.openPeer(options=Options(pingInterval=5.0))
        if self.version.isHixie:
            self.assertIsNone(p.server._timers)
            self.assertEqual(p.clock.getDelayedCalls(), [])
        else:
            self.assertIsNotNone(p.server._timers)
            self.assertEqual(len(p.clock.getDelayedCalls()), 1)

    def test_timersCancelledOnLoss(self) -> None:
        """
        No timer is left on the clock once the connection is lost.
        """
        p = self.openPeer(options=Options(closeTimeout=2.0, pingInterval=5.0))
        p.app.loseConnection()
        p.lose()
        self.assertEqual(p.clock.getDelayedCalls(), [])

    def test_memoryReactorClock(self) -> None:
        """
        A MemoryReactorClock works as the factory's reactor.
        """
        reactor = MemoryReactorClock()
        p = self.peer(options=Options(openTimeout=1.0), clock=reactor)
        self.assertEqual(len(reactor.getDelayedCalls()), 1)
        reactor.advance(1.0)
        self.assertTrue(p.transport.disconnected)

    def test_logOpenAndClose(self) -> None:
        """
        With C{logOpenings}, opening and closing are logged with the
        version, the peer and the close code.
        """
        logs = captureLogs(self)
        p = self.openPeer(options=Options(logOpenings=True))
        p.app.loseConnection(1000)
        p.receive()
        p.flush()
        p.lose()
        events = ourEvents(logs)
        peerText = "192.0.2.7:40123"
        opened = [e for e in events if "opened" in e["log_format"]]
        self.assertEqual(len(opened), 1)
        self.assertEqual(opened[0]["version"], self.version.label)
        self.assertEqual(opened[0]["peer"], peerText)
        self.assertIn(self.version.label, formatEvent(opened[0]))
        self.assertIn(peerText, formatEvent(opened[0]))
        closed = [e for e in events if "closed" in e["log_format"]]
        self.assertEqual(len(closed), 1)
        self.assertEqual(closed[0]["version"], self.version.label)
        self.assertEqual(closed[0]["peer"], peerText)
        self.assertIn("code", closed[0])
        self.assertIn(str(closed[0]["code"]), formatEvent(closed[0]))

    def connectionLines(self, options: Options | None = None) -> tuple[list[dict], list[dict]]:
        """
        Open a connection with C{options}, close it cleanly, and return the
        logged opening and closing events.
        """
        logs = captureLogs(self)
        p = self.openPeer(options=options)
        p.app.loseConnection(1000)
        p.receive()
        p.flush()
        p.lose()
        events = ourEvents(logs)
        return (
            [e for e in events if "opened" in e["log_format"]],
            [e for e in events if "closed" in e["log_format"]],
        )

    def test_logCloseOnly(self) -> None:
        """
        By default the closing is logged, at info level, and the opening is
        not.
        """
        opened, closed = self.connectionLines()
        self.assertEqual(opened, [])
        [line] = closed
        self.assertEqual(line["log_level"], LogLevel.info)
        self.assertIn("code", line)
        self.assertEqual(line["path"], "/chat")

    def test_openingsNeedLogConnections(self) -> None:
        """
        C{logOpenings} without C{logConnections} logs neither line.
        """
        lines = self.connectionLines(Options(logConnections=False, logOpenings=True))
        self.assertEqual(lines, ([], []))

    def test_quietLogsNoOpenOrClose(self) -> None:
        """
        With C{Options(logConnections=False)} neither the opening nor the
        closing of a connection is logged.
        """
        self.assertEqual(self.connectionLines(Options(logConnections=False)), ([], []))

    def test_logRejection(self) -> None:
        """
        A refused handshake is logged with the peer and the status.
        """

        class Refuser(Recorder):
            rejection = RejectConnection(403, "not you")

        logs = captureLogs(self)
        p = self.peer(Refuser)
        p.flush()
        events = [e for e in ourEvents(logs) if e.get("status") == 403]
        self.assertEqual(len(events), 1)
        self.assertEqual(events[0]["peer"], "192.0.2.7:40123")
        text = formatEvent(events[0])
        self.assertIn("403", text)
        self.assertIn("192.0.2.7", text)

    def test_logTimeout(self) -> None:
        """
        An opening handshake that times out is logged with the peer.
        """
        logs = captureLogs(self)
        p = self.peer(options=Options(openTimeout=1.0))
        p.clock.advance(1.0)
        events = [e for e in ourEvents(logs) if "timed out" in formatEvent(e)]
        self.assertEqual(len(events), 1)
        self.assertEqual(events[0]["peer"], "192.0.2.7:40123")


class _HybiMixin(_EveryVersionMixin):
    """
    Behaviour of the hybi versions (binary messages and control frames).
    """

    def test_bytesMessageReceived(self) -> None:
        """
        Binary messages reach bytesMessageReceived.
        """
        p = self.openPeer()
        p.client.sendBinary(b"\x00\xff" * 70000)
        p.client.sendBinary(b"")
        p.flush()
        self.assertEqual(p.app.received(), [("bytes", b"\x00\xff" * 70000), ("bytes", b"")])

    def test_sendBytesMessage(self) -> None:
        """
        sendBytesMessage sends a binary message.
        """
        p = self.openPeer()
        p.app.sendBytesMessage(b"\x01\x02")
        self.assertEqual(p.receive(), [BinaryMessage(b"\x01\x02")])

    def test_pingAndPong(self) -> None:
        """
        The application's ping reaches the client, and the client's pong
        reaches pongReceived.
        """
        p = self.openPeer()
        p.app.ping(b"are you there")
        self.assertEqual(p.receive(), [Ping(b"are you there")])
        p.flush()
        self.assertEqual(p.app.received(), [("pong", b"are you there")])

    def test_clientPing(self) -> None:
        """
        A ping from the client is answered with a pong and reported to
        pingReceived.
        """
        p = self.openPeer()
        p.client.sendPing(b"p1")
        p.flush()
        self.assertEqual(p.app.received(), [("ping", b"p1")])
        self.assertEqual(p.receive(), [Pong(b"p1")])

    def test_unsolicitedPong(self) -> None:
        """
        An unsolicited pong reaches pongReceived.
        """
        p = self.openPeer()
        p.client.sendPong(b"beat")
        p.flush()
        self.assertEqual(p.app.received(), [("pong", b"beat")])

    def test_pingTooLong(self) -> None:
        """
        A ping payload over 125 bytes raises LocalProtocolError.
        """
        p = self.openPeer()
        self.assertRaises(LocalProtocolError, p.app.ping, b"x" * 126)

    def test_protocolError(self) -> None:
        """
        Invalid UTF-8 in a text frame closes the connection with 1007; the
        application gets an AbnormalClose with that code.
        """
        p = self.openPeer()
        # A masked text frame with the payload ff (invalid UTF-8), mask 0.
        p.send(b"\x81\x81\x00\x00\x00\x00\xff")
        events = p.receive()
        self.assertIsInstance(events[-1], CloseReceived)
        self.assertEqual(events[-1].code, 1007)
        self.assertTrue(p.transport.disconnecting)
        p.lose()
        closed = p.app.lostReason()
        self.assertIsInstance(closed, AbnormalClose)
        self.assertEqual(closed.code, 1007)
        self.assertIsNotNone(closed.cause)

    def test_messageTooBig(self) -> None:
        """
        A message over Options.maxMessageSize closes the connection with
        1009.
        """
        p = self.openPeer(options=Options(maxMessageSize=1000))
        p.client.sendBinary(b"x" * 1001)
        p.flush()
        events = p.receive()
        self.assertEqual(events[-1].code, 1009)
        self.assertNotIn("bytes", p.app.names())
        p.lose()
        self.assertEqual(p.app.lostReason().code, 1009)

    def test_closeCodeWithoutReason(self) -> None:
        """
        A client close without a code is reported as 1005.
        """
        p = self.openPeer()
        p.client.close(None)
        p.flush()
        p.lose()
        closed = p.app.lostReason()
        self.assertIsInstance(closed, CleanClose)
        self.assertEqual(closed.code, 1005)

    def test_invalidCloseCode(self) -> None:
        """
        loseConnection with a code that may not be sent raises
        LocalProtocolError.
        """
        p = self.openPeer()
        self.assertRaises(LocalProtocolError, p.app.loseConnection, 1006)

    def test_keepalivePings(self) -> None:
        """
        With Options.pingInterval a ping is sent every interval, and pongs
        keep the connection open.
        """
        p = self.openPeer(options=Options(pingInterval=10.0, pingTimeout=5.0))
        self.assertEqual(p.receive(), [])
        for _ in range(3):
            p.clock.advance(9.9)
            self.assertEqual(p.receive(), [])
            p.clock.advance(0.1)
            events = p.receive()
            self.assertEqual(len(events), 1)
            self.assertIsInstance(events[0], Ping)
            # The client codec queued the pong automatically.
            p.flush()
            self.assertFalse(p.transport.disconnecting)
        p.clock.advance(5.0)
        self.assertFalse(p.transport.disconnecting)
        self.assertTrue(p.server.isOpen)

    def test_keepaliveTimeout(self) -> None:
        """
        A peer that does not answer a keepalive ping within
        Options.pingTimeout gets a close with 1011, written before the TCP
        connection is closed, which is then dropped after a short bound if
        it does not end.
        """
        p = self.openPeer(options=Options(pingInterval=10.0, pingTimeout=5.0))
        p.clock.advance(10.0)
        self.assertIsInstance(p.receive()[0], Ping)
        p.clock.advance(4.9)
        self.assertFalse(p.transport.disconnecting)
        p.clock.advance(0.1)
        events = p.receive()
        self.assertIsInstance(events[-1], CloseReceived)
        self.assertEqual(events[-1].code, 1011)
        # Closed (after what was written), not aborted, which would discard
        # the close frame.
        self.assertTrue(p.transport.disconnecting)
        self.assertFalse(p.transport.disconnected)
        p.clock.advance(ABORT_AFTER)
        self.assertTrue(p.transport.disconnected)
        p.lose()
        closed = p.app.lostReason()
        self.assertIsInstance(closed, AbnormalClose)
        self.assertEqual(closed.code, 1011)
        self.assertFalse(closed.wasClean)

    def test_keepaliveOtherPongs(self) -> None:
        """
        Any pong from the peer answers the pending keepalive ping.
        """
        p = self.openPeer(options=Options(pingInterval=10.0, pingTimeout=5.0))
        p.clock.advance(10.0)
        p.receive()
        p.client.sendPong(b"unrelated")
        p.flush()
        p.clock.advance(5.0)
        self.assertFalse(p.transport.disconnecting)

    def test_keepaliveStopsOnClose(self) -> None:
        """
        No keepalive pings are sent once the closing handshake started.
        """
        p = self.openPeer(options=Options(pingInterval=10.0, pingTimeout=5.0, closeTimeout=60))
        p.app.loseConnection()
        p.receive()
        p.clock.advance(30.0)
        self.assertEqual(p.receive(), [])


class _HixieMixin(_EveryVersionMixin):
    """
    Behaviour of the hixie drafts, which carry text only.
    """

    def test_sendBytesRaises(self) -> None:
        """
        sendBytesMessage on a hixie connection raises LocalProtocolError and
        writes nothing.
        """
        p = self.openPeer()
        self.assertRaises(LocalProtocolError, p.app.sendBytesMessage, b"\x00")
        self.assertEqual(p.transport.value(), b"")
        self.assertTrue(p.server.isOpen)

    def test_pingRaises(self) -> None:
        """
        ping on a hixie connection raises LocalProtocolError.
        """
        p = self.openPeer()
        self.assertRaises(LocalProtocolError, p.app.ping, b"")

    def test_noKeepalive(self) -> None:
        """
        Options.pingInterval sends nothing on a hixie connection, which has
        no pings.
        """
        p = self.openPeer(options=Options(pingInterval=1.0, pingTimeout=1.0))
        p.clock.advance(10.0)
        self.assertEqual(p.receive(), [])
        self.assertFalse(p.transport.disconnecting)


def _makeCases() -> None:
    for version in ALL_VERSIONS:
        mixin = _HixieMixin if version.isHixie else _HybiMixin
        for oneByte in (False, True):
            name = version.name.title() + ("OneByteTests" if oneByte else "Tests")
            globals()[name] = type(
                name,
                (mixin, SynchronousTestCase),
                {
                    "version": version,
                    "oneByte": oneByte,
                    "__doc__": f"Server behaviour on {version.label}"
                    + (", bytes fed one at a time." if oneByte else "."),
                    "__module__": __name__,
                },
            )


_makeCases()


class FactoryTests(SynchronousTestCase):
    """
    Tests for L{WebSocketServerFactory} itself.
    """

    def test_buildProtocol(self) -> None:
        """
        buildProtocol returns a server connection using the factory's
        options and reactor.
        """
        clock = task.Clock()
        options = Options(openTimeout=7.0)
        factory = WebSocketServerFactory(Recorder, options, reactor=clock)
        conn = factory.buildProtocol(PEER)
        self.assertIs(conn.options, options)
        self.assertIs(conn.reactor, clock)
        self.assertIs(conn.factory, factory)

    def test_protocolAttribute(self) -> None:
        """
        A factory subclass may name its protocol as a class attribute.
        """

        class Factory(WebSocketServerFactory):
            protocol = TripleEcho

        p = Peer(Version.RFC6455)
        p.factory.__class__ = Factory
        p.factory.protocol = TripleEcho
        p.handshake()
        self.assertIsInstance(p.app, TripleEcho)

    def test_versionsOption(self) -> None:
        """
        A version left out of Options.versions is refused, with 426 and the
        supported versions for a hybi client.
        """
        p = Peer(Version.HYBI07, options=Options(versions={Version.RFC6455}))
        p.flush()
        response = p.transport.value()
        self.assertTrue(response.startswith(b"HTTP/1.1 426 "), response)
        self.assertIn(b"Sec-WebSocket-Version: 13", response)
        self.assertTrue(p.transport.disconnecting)

    def test_registersAsProducer(self) -> None:
        """
        The server connection registers, as the transport's streaming
        producer, the object that hands pauses to its send-side flow
        control.
        """
        p = Peer(Version.RFC6455)
        self.assertIsInstance(p.transport.producer, TransportProducer)
        self.assertIs(p.transport.producer.owner, p.server)
        self.assertTrue(p.transport.streaming)

    def test_idleConnectionAllocatesLittle(self) -> None:
        """
        An open connection without keepalive holds no timers object, no
        flow control object and no list of held events, and has nothing on
        the clock; the opening deadline was there until it opened.
        """
        p = Peer(Version.RFC6455, options=Options(openTimeout=3.0))
        self.assertIsNotNone(p.server._timers)
        self.assertEqual(len(p.clock.getDelayedCalls()), 1)
        p.handshake()
        self.assertIsNone(p.server._timers)
        self.assertIsNone(p.server._sendFlow)
        self.assertEqual(p.server._pending, ())
        self.assertEqual(p.clock.getDelayedCalls(), [])

    def test_exceptionsAreConnectionClosed(self) -> None:
        """
        CleanClose is a ConnectionDone and AbnormalClose a ConnectionLost,
        both ConnectionClosed with their fields.
        """
        clean = CleanClose(1000, "ok", True, False)
        abnormal = AbnormalClose(1006, "", False, True)
        self.assertIsInstance(clean, ConnectionDone)
        self.assertIsInstance(abnormal, ConnectionLost)
        self.assertIsInstance(clean, ConnectionClosed)
        self.assertEqual((clean.code, clean.reason, clean.wasClean, clean.closedByPeer),
                         (1000, "ok", True, False))
        self.assertIn("1000", str(clean))

    def test_stateAfterOpen(self) -> None:
        """
        The codec is open after the handshake and closed after the loss.
        """
        p = Peer(Version.RFC6455)
        p.handshake()
        self.assertIs(p.server.codec.state, State.OPEN)
        p.lose()
        self.assertIs(p.server.codec.state, State.CLOSED)


class NoDelayTransport(CountingTransport):
    """
    A transport that records calls to C{setTcpNoDelay}, as a TCP transport
    has.
    """

    noDelay: bool | None = None

    def setTcpNoDelay(self, enabled: bool) -> None:
        self.noDelay = enabled


class TcpNoDelayTests(SynchronousTestCase):
    """
    C{Options.tcpNoDelay} turns Nagle's algorithm off on the server's TCP
    connections.
    """

    def test_onByDefault(self) -> None:
        """
        By default the server connection asks its TCP transport for
        TCP_NODELAY.
        """
        p = Peer(Version.RFC6455, transportFactory=NoDelayTransport)
        self.assertIs(p.transport.noDelay, True)

    def test_off(self) -> None:
        """
        With C{Options(tcpNoDelay=False)} the transport is left as it is.
        """
        p = Peer(
            Version.RFC6455, options=Options(tcpNoDelay=False), transportFactory=NoDelayTransport
        )
        self.assertIsNone(p.transport.noDelay)


#: A frame with a reserved opcode (0x3), masked as a client's must be: a
#: protocol error (1002) wherever it arrives.
BAD_FRAME = b"\x83\x80\x00\x00\x00\x00"


class Echo(Recorder):
    """
    Answers each message with the same message.
    """

    def textMessageReceived(self, message: str) -> None:
        super().textMessageReceived(message)
        self.sendTextMessage(message)


class PausingEcho(Echo):
    """
    An echo that stops reading after the first message it gets.
    """

    def textMessageReceived(self, message: str) -> None:
        super().textMessageReceived(message)
        if len(self.received()) == 1:
            self.transport.pauseProducing()


class ClosingTests(SynchronousTestCase):
    """
    The close of a peer that closes, or breaks the protocol, in the same
    data as messages the application answers, or while it paused reading.
    """

    def openPeer(self, protocol: type[WebSocketProtocol], **kw: Any) -> Peer:
        p = Peer(Version.RFC6455, protocol, **kw)
        self.assertIsInstance(p.handshake()[0], ConnectionOpened)
        return p

    def assertAnswered(self, p: Peer, texts: list[str], code: int) -> None:
        """
        The client got C{texts} and then the close frame with C{code}, and
        the server is ending the TCP connection.
        """
        events = p.receive()
        self.assertEqual([e.data for e in events if isinstance(e, TextMessage)], texts)
        self.assertIsInstance(events[-1], CloseReceived)
        self.assertEqual(events[-1].code, code)
        self.assertTrue(p.transport.disconnecting)

    def test_repliesBeforeProtocolErrorClose(self) -> None:
        """
        The replies to messages that came in the same read as a protocol
        error go out before the 1002 close frame, even when they are large
        enough to be written during the read; nothing raises into the
        application.
        """
        big = "x" * 20000
        p = self.openPeer(Echo)
        p.client.sendText(big)
        p.client.sendText(big + "y")
        p.send(p.client.dataToSend() + BAD_FRAME)
        self.assertAnswered(p, [big, big + "y"], 1002)
        p.lose()
        self.assertEqual(p.app.lostReason().code, 1002)

    def test_manyRepliesBeforeProtocolErrorClose(self) -> None:
        """
        More replies than are batched in one write still all precede the
        1002 close frame.
        """
        texts = [str(i) for i in range(600)]
        p = self.openPeer(Echo)
        for text in texts:
            p.client.sendText(text)
        p.send(p.client.dataToSend() + BAD_FRAME)
        self.assertAnswered(p, texts, 1002)

    def test_lateSendDropped(self) -> None:
        """
        A message the application sends after the peer's close was answered
        is dropped quietly.
        """
        p = self.openPeer(Recorder)
        p.client.close(1000)
        p.flush()
        p.transport.clear()
        p.app.sendTextMessage("too late")
        p.app.sendBytesMessage(b"too late")
        p.app.ping(b"late")
        self.assertEqual(p.transport.value(), b"")

    def test_closeWhilePausedAnsweredByTimer(self) -> None:
        """
        A peer's close frame that arrives while the application paused
        reading is answered, and the TCP connection ended, when the close
        timeout passes, whether or not the application resumes.
        """
        p = self.openPeer(PausingEcho, options=Options(closeTimeout=3.0))
        p.client.sendText("a")
        p.client.sendText("b")
        p.client.close(1000)
        p.flush()
        self.assertEqual(p.app.received(), [("text", "a")])
        p.clock.advance(2.9)
        self.assertFalse(p.transport.disconnecting)
        p.clock.advance(0.1)
        self.assertAnswered(p, ["a"], 1000)
        p.clock.advance(3.0)
        self.assertTrue(p.transport.disconnected)
        p.lose()
        self.assertEqual(p.app.received(), [("text", "a"), ("text", "b")])
        self.assertIsInstance(p.app.lostReason(), CleanClose)

    def test_protocolErrorWhilePausedAnsweredByTimer(self) -> None:
        """
        A protocol error that arrives while the application paused reading
        is answered with 1002 when the close timeout passes.
        """
        p = self.openPeer(PausingEcho, options=Options(closeTimeout=3.0))
        p.client.sendText("a")
        p.client.sendText("b")
        p.send(p.client.dataToSend() + BAD_FRAME)
        p.clock.advance(3.0)
        self.assertAnswered(p, ["a"], 1002)

    def test_closeWhilePausedAnsweredOnResume(self) -> None:
        """
        When the application resumes reading before the close timeout, the
        held messages are delivered and their replies go out before the
        close frame.
        """
        p = self.openPeer(PausingEcho, options=Options(closeTimeout=3.0))
        p.client.sendText("a")
        p.client.sendText("b")
        p.client.close(1000)
        p.flush()
        p.clock.advance(1.0)
        self.assertEqual(p.transport.value(), b"")
        p.app.transport.resumeProducing()
        self.assertAnswered(p, ["a", "b"], 1000)


    def test_noTimerAfterLost(self) -> None:
        """
        Replies the application makes to the messages held for it, when they
        are delivered as the connection is lost, start no timer.
        """
        p = self.openPeer(PausingEcho, options=Options(closeTimeout=3.0, pingInterval=10.0))
        p.client.sendText("a")
        p.client.sendText("b")
        p.client.close(1000)
        p.flush()
        p.lose()
        self.assertEqual(p.app.received(), [("text", "a"), ("text", "b")])
        self.assertEqual(p.clock.getDelayedCalls(), [])


class HandshakeFailureTests(SynchronousTestCase):
    """
    An application that raises during the opening handshake.
    """

    def test_requestReceivedRaises(self) -> None:
        """
        An exception from requestReceived (other than RejectConnection) is
        logged and answered with HTTP 500.
        """

        class Broken(Recorder):
            def requestReceived(self, request: Any) -> str | None:
                raise ValueError("broken application")

        logs = captureLogs(self)
        p = Peer(Version.RFC6455, Broken)
        p.flush()
        response = p.transport.value()
        self.assertTrue(response.startswith(b"HTTP/1.1 500 "), response)
        self.assertTrue(p.transport.disconnecting)
        self.assertEqual(len(self.flushLoggedErrors(ValueError)), 1)
        self.assertTrue(any(e.get("log_failure") is not None for e in logs))

    def test_buildProtocolRaises(self) -> None:
        """
        An exception from the factory's buildWebSocketProtocol is answered
        with HTTP 500, for every version.
        """

        class BrokenFactory(WebSocketServerFactory):
            def buildWebSocketProtocol(self, request: Any, connection: Any) -> Any:
                raise RuntimeError("no protocol")

        for version in ALL_VERSIONS:
            p = Peer(version)
            p.factory = p.server.factory = BrokenFactory(Recorder, reactor=p.clock)
            p.flush()
            self.assertTrue(p.transport.value().startswith(b"HTTP/1.1 500 "), version)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), len(ALL_VERSIONS))


class _MinimalClient(WebSocketConnection):
    """
    The least a client connection adds to L{WebSocketConnection}: its
    codec and its application.
    """

    __slots__ = ("app",)

    def __init__(self, app: WebSocketProtocol, clock: Any) -> None:
        super().__init__(Options(), clock)
        self.app = app

    def _buildCodec(self) -> Any:
        return ClientConnection("example.com", "/", version=Version.RFC6455)

    def connectionMade(self) -> None:
        super().connectionMade()
        self._attachApplication(self.app)
        self.app.negotiationStarted(self)
        self._flush()


class ClientBaseTests(SynchronousTestCase):
    """
    L{WebSocketConnection} as the base of a client connection.
    """

    def test_clientOverBase(self) -> None:
        """
        A subclass that only builds a client codec and attaches its
        application opens, exchanges messages with a server connection and
        closes cleanly.
        """
        clock = task.Clock()
        server = WebSocketServerFactory(Echo, reactor=clock).buildProtocol(PEER)
        serverTransport = StringTransport()
        server.makeConnection(serverTransport)
        app = Recorder()
        client = _MinimalClient(app, clock)
        clientTransport = StringTransport()
        client.makeConnection(clientTransport)

        def pump() -> None:
            for _ in range(10):
                toServer, toClient = clientTransport.value(), serverTransport.value()
                if not (toServer or toClient):
                    return
                clientTransport.clear()
                serverTransport.clear()
                if toServer:
                    server.dataReceived(toServer)
                if toClient:
                    client.dataReceived(toClient)

        pump()
        self.assertEqual(app.names(), ["started", "finished"])
        app.sendTextMessage("hello")
        pump()
        self.assertEqual(app.received(), [("text", "hello")])
        app.loseConnection()
        pump()
        self.assertTrue(serverTransport.disconnecting)
        client.connectionLost(Failure(ConnectionDone()))
        self.assertIsInstance(app.lostReason(), CleanClose)


class Utf8Echo(Recorder):
    """
    Answers each text message with its UTF-8 bytes, as the echo app does.
    """

    def utf8MessageReceived(self, data: bytes) -> None:
        self.events.append(("utf8", data))
        self.sendTextMessage(data)


class LongTextEchoTests(SynchronousTestCase):
    """
    Long text messages sent back from the data they arrived in are not
    checked for UTF-8 again, however many of them one read carries.
    """

    def test_longMessagesInOneRead(self) -> None:
        """
        Three messages larger than the send batch (each reply is written
        at once) in one read: their UTF-8 is checked on arrival only, and
        once the read is handled the server lets go of them, so that a
        later send of the same bytes is checked.
        """
        from twisted_ws.codec import _framing, _utf8

        calls: list[int] = []

        def counting(data: bytes) -> bool:
            calls.append(len(data))
            return _utf8.isUtf8(data)

        self.patch(_framing, "isUtf8", counting)
        p = Peer(Version.RFC6455, Utf8Echo)
        self.assertIsInstance(p.handshake()[0], ConnectionOpened)
        texts = [("\u00e9%d" % i) * (20 * 1024) for i in range(3)]
        for text in texts:
            p.client.sendTextMessage(text)
        p.flush()
        self.assertEqual(calls, [])
        events = p.receive()
        self.assertEqual([e.data for e in events], texts)
        # Each reply was its own write: none waited for the others.
        self.assertGreaterEqual(len(p.transport.writes), 3)
        last = p.app.events[-1][1]
        p.server.sendTextMessage(last)
        self.assertEqual(calls, [len(last)])
