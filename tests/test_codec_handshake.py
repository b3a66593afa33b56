"""
Tests for the opening handshake of L{twisted_ws.codec}: server and client
side, every protocol version, with the vectors of the specifications.

The helpers shared with the codec's other test modules are in
C{tests._support.codec}.
"""

from __future__ import annotations

import base64
import re

from twisted.trial.unittest import SynchronousTestCase

from twisted_ws.codec import (
    ClientConnection,
    ConnectionOpened,
    HandshakeFailed,
    InvalidAccept,
    InvalidChallenge,
    InvalidHeader,
    InvalidStatus,
    LocalProtocolError,
    NegotiationError,
    Options,
    PeerError,
    RequestReceived,
    ServerConnection,
    State,
    TextMessage,
    Version,
    acceptKey,
    hixie76Challenge,
    hixie76KeyNumber,
)

from ._support.codec import (
    ALL_VERSIONS,
    DEFAULT_OPTIONS,
    HIXIE75_RESPONSE,
    HIXIE76_ANSWER,
    HIXIE76_ANSWER_B,
    HIXIE76_KEY1,
    HIXIE76_KEY1_B,
    HIXIE76_KEY2,
    HIXIE76_KEY2_B,
    HIXIE76_KEY3,
    HIXIE76_KEY3_B,
    HIXIE76_RESPONSE,
    HYBI_RESPONSE,
    HYBI_VERSIONS,
    RFC_ACCEPT,
    RFC_KEY,
    FakeExtensionFactory,
    feed,
    hixie75Request,
    hixie76Request,
    hixie76ServerAnswer,
    hybiRequest,
    parseResponse,
    requestFor,
    rfcRandom,
    seededRandom,
    splits,
)


class KeyVectorTests(SynchronousTestCase):
    """
    The key computations of each version against the specifications'
    vectors.
    """

    def test_acceptKey(self) -> None:
        """
        L{acceptKey} turns RFC 6455's sample key into its sample accept value.
        """
        self.assertEqual(acceptKey(RFC_KEY), RFC_ACCEPT)
        self.assertEqual(acceptKey(RFC_KEY.encode("ascii")), RFC_ACCEPT)

    def test_hixie76Challenge(self) -> None:
        """
        L{hixie76Challenge} gives the draft's answer for its first example.
        """
        self.assertEqual(hixie76Challenge(HIXIE76_KEY1, HIXIE76_KEY2, HIXIE76_KEY3), HIXIE76_ANSWER)

    def test_hixie76ChallengeSecondExample(self) -> None:
        """
        L{hixie76Challenge} gives the draft's answer for its second example.
        """
        self.assertEqual(
            hixie76Challenge(HIXIE76_KEY1_B, HIXIE76_KEY2_B, HIXIE76_KEY3_B), HIXIE76_ANSWER_B
        )

    def test_hixie76KeyNumbers(self) -> None:
        """
        L{hixie76KeyNumber} divides the key's digits by its count of spaces.
        """
        self.assertEqual(hixie76KeyNumber(HIXIE76_KEY1), 4146546015 // 5)
        self.assertEqual(hixie76KeyNumber(HIXIE76_KEY2), 1299853100 // 5)

    def test_hixie76KeyWithoutSpaces(self) -> None:
        """
        A hixie-76 key with no spaces is refused.
        """
        self.assertRaises(ValueError, hixie76KeyNumber, "12345")

    def test_hixie76KeyNotMultiple(self) -> None:
        """
        A hixie-76 key whose number is not a multiple of its spaces is refused.
        """
        self.assertRaises(ValueError, hixie76KeyNumber, "1 2 5")

    def test_hixie76KeyWithoutDigits(self) -> None:
        """
        A hixie-76 key with no digits is refused.
        """
        self.assertRaises(ValueError, hixie76KeyNumber, "a b c")


class ServerHandshakeTests(SynchronousTestCase):
    """
    The server side of the opening handshake of every version.
    """

    def assertAccepts(
        self, request: bytes, response: bytes, version: Version, options: Options = DEFAULT_OPTIONS
    ) -> None:
        """
        Feeding C{request} in every split gives one L{RequestReceived} of
        C{version} and, once accepted, exactly C{response}.
        """
        for chunks in splits(request):
            server = ServerConnection(options)
            events = feed(server, chunks)
            self.assertEqual([type(e) for e in events], [RequestReceived], chunks)
            self.assertIs(events[0].request.version, version)
            self.assertIs(server.state, State.CONNECTING)
            self.assertEqual(server.dataToSend(), b"")
            self.assertEqual(server.accept(), [])
            self.assertEqual(server.dataToSend(), response)
            self.assertIs(server.state, State.OPEN)
            self.assertIs(server.version, version)

    def test_hixie76SpecExample(self) -> None:
        """
        The draft's hixie-76 request, fed in any split, gets the draft's exact
        response with the MD5 answer as its body.
        """
        self.assertAccepts(
            hixie76Request(), HIXIE76_RESPONSE, Version.HIXIE76, Options(subprotocols=("sample",))
        )

    def test_hixie76SecondSpecExample(self) -> None:
        """
        The draft's second pair of hixie-76 keys gets the draft's second
        answer.
        """
        request = hixie76Request(HIXIE76_KEY1_B, HIXIE76_KEY2_B, HIXIE76_KEY3_B, extra="")
        server = ServerConnection()
        self.assertEqual([type(e) for e in server.receiveData(request)], [RequestReceived])
        server.accept()
        status, headers, body = parseResponse(server.dataToSend())
        self.assertEqual(status, 101)
        self.assertEqual(body, HIXIE76_ANSWER_B)

    def test_hixie76WaitsForKey3(self) -> None:
        """
        A hixie-76 request is complete only once the eight bytes of key3 that
        follow the header block have arrived.
        """
        request = hixie76Request()
        head = request[:-8]
        server = ServerConnection()
        self.assertEqual(server.receiveData(head), [])
        self.assertEqual(server.receiveData(HIXIE76_KEY3[:7]), [])
        self.assertEqual([type(e) for e in server.receiveData(HIXIE76_KEY3[7:])], [RequestReceived])

    def test_hixie75(self) -> None:
        """
        A hixie-75 request gets the exact hixie-75 response with
        WebSocket-Origin and WebSocket-Location.
        """
        self.assertAccepts(hixie75Request(), HIXIE75_RESPONSE, Version.HIXIE75)

    def test_hybiVersions(self) -> None:
        """
        Requests of versions 7, 8 and 13 get the exact RFC 6455 response with
        the sample Sec-WebSocket-Accept value.
        """
        for version in HYBI_VERSIONS:
            self.assertAccepts(hybiRequest(version.wireVersion), HYBI_RESPONSE, version)

    def test_hybiOldVersionsOrigin(self) -> None:
        """
        hybi-07 and hybi-08 clients send their origin in Sec-WebSocket-Origin,
        and the server reads it from there.
        """
        for version in (Version.HYBI07, Version.HYBI08):
            server = ServerConnection(Options(allowedOrigins=("http://example.com",)))
            events = server.receiveData(hybiRequest(version.wireVersion))
            self.assertEqual([type(e) for e in events], [RequestReceived])
            self.assertEqual(events[0].request.origin, "http://example.com")

    def test_rfc6455Origin(self) -> None:
        """
        An RFC 6455 client's Origin header is the request's origin.
        """
        server = ServerConnection()
        [event] = server.receiveData(hybiRequest(13, origin="https://a.example"))
        self.assertEqual(event.request.origin, "https://a.example")

    def test_hixie75Subprotocol(self) -> None:
        """
        A hixie-75 WebSocket-Protocol offer is answered in WebSocket-Protocol.
        """
        server = ServerConnection(Options(subprotocols=("chat",)))
        [event] = server.receiveData(hixie75Request(extra="WebSocket-Protocol: chat\r\n"))
        self.assertEqual(event.request.subprotocols, ("chat",))
        server.accept()
        status, headers, _ = parseResponse(server.dataToSend())
        self.assertEqual(headers["websocket-protocol"], "chat")
        self.assertEqual(server.subprotocol, "chat")

    def test_hixieSecureLocation(self) -> None:
        """
        A server on TLS gives a wss: location in its hixie response.
        """
        server = ServerConnection(secure=True)
        server.receiveData(hixie75Request())
        server.accept()
        _, headers, _ = parseResponse(server.dataToSend())
        self.assertEqual(headers["websocket-location"], "wss://example.com/demo")

    def test_requestFields(self) -> None:
        """
        L{RequestReceived} describes the request: method, target, path, host,
        headers, offered subprotocols and extensions.
        """
        server = ServerConnection()
        request = hybiRequest(
            path="/chat?room=1",
            extra="Sec-WebSocket-Protocol: chat, superchat\r\n"
            "Sec-WebSocket-Extensions: foo; x=1, bar\r\n"
            "X-Custom: yes\r\n",
        )
        [event] = server.receiveData(request)
        req = event.request
        self.assertEqual(req.method, "GET")
        self.assertEqual(req.target, "/chat?room=1")
        self.assertEqual(req.path, "/chat")
        self.assertEqual(req.host, "server.example.com")
        self.assertEqual(req.subprotocols, ("chat", "superchat"))
        self.assertEqual(req.extensions, [("foo", {"x": "1"}), ("bar", {})])
        self.assertEqual(req.header("x-custom"), "yes")
        self.assertIn(("X-Custom", "yes"), req.headers)
        self.assertEqual(req.key, RFC_KEY)
        self.assertIs(server.request, req)

    def test_requestAfterAccept(self) -> None:
        """
        Once the connection is open the server keeps only the request's head
        and describes the request again from it, equal to the original,
        when C{request} is read.
        """
        server = ServerConnection()
        [event] = server.receiveData(
            hybiRequest(path="/chat?room=1", extra="X-Custom: yes\r\n")
        )
        original = event.request
        server.accept()
        self.assertIsNone(server._request)
        again = server.request
        self.assertIsNot(again, original)
        self.assertEqual(again, original)
        self.assertEqual(again.path, "/chat")
        self.assertEqual(again.header("x-custom"), "yes")
        self.assertEqual(again.key, RFC_KEY)
        self.assertIs(server.request, again)

    def test_caseInsensitiveHeaders(self) -> None:
        """
        Header names are matched case-insensitively, and Connection and
        Upgrade are token lists.
        """
        request = (
            b"GET /chat HTTP/1.1\r\n"
            b"HOST: server.example.com\r\n"
            b"upgrade: WebSocket\r\n"
            b"CONNECTION: keep-alive, Upgrade\r\n"
            b"sec-websocket-key: " + RFC_KEY.encode() + b"\r\n"
            b"SEC-WEBSOCKET-VERSION: 13\r\n"
            b"\r\n"
        )
        server = ServerConnection()
        self.assertEqual([type(e) for e in server.receiveData(request)], [RequestReceived])
        server.accept()
        self.assertEqual(server.dataToSend(), HYBI_RESPONSE)

    def test_upgradeTokenList(self) -> None:
        """
        An Upgrade header listing several protocols is accepted when one of
        them is websocket.
        """
        request = hybiRequest().replace(b"Upgrade: websocket", b"Upgrade: h2c, websocket")
        server = ServerConnection()
        self.assertEqual([type(e) for e in server.receiveData(request)], [RequestReceived])

    def test_connectionSplitOverHeaders(self) -> None:
        """
        The upgrade token may be in any of several Connection headers.
        """
        request = hybiRequest().replace(
            b"Connection: Upgrade\r\n", b"Connection: keep-alive\r\nConnection: upgrade\r\n"
        )
        server = ServerConnection()
        self.assertEqual([type(e) for e in server.receiveData(request)], [RequestReceived])

    def test_bytesAfterRequestAreFrames(self) -> None:
        """
        Frames sent right behind the request, in any split, are returned by
        C{accept()} or later C{receiveData} calls, not lost.
        """
        frame = b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"
        for chunks in splits(hybiRequest() + frame + frame):
            server = ServerConnection()
            events = feed(server, chunks, autoAccept=True)
            self.assertEqual(
                events[1:], [TextMessage("Hello"), TextMessage("Hello")], chunks
            )

    def test_hixie76BytesAfterKey3AreFrames(self) -> None:
        """
        On hixie-76, bytes after key3 are frames, delivered in any split.
        """
        for chunks in splits(hixie76Request() + b"\x00Hello\xff"):
            server = ServerConnection()
            events = feed(server, chunks, autoAccept=True)
            self.assertEqual(events[1:], [TextMessage("Hello")], chunks)

    def test_hixie75BytesAfterRequestAreFrames(self) -> None:
        """
        On hixie-75, bytes after the request are frames.
        """
        server = ServerConnection()
        [event] = server.receiveData(hixie75Request() + b"\x00Hi\xff")
        self.assertEqual(server.accept(), [TextMessage("Hi")])

    def test_subprotocolServerPreference(self) -> None:
        """
        Without an explicit choice, the server picks the first of its own
        subprotocols that the client offered.
        """
        server = ServerConnection(Options(subprotocols=("chat", "superchat")))
        server.receiveData(hybiRequest(extra="Sec-WebSocket-Protocol: superchat, chat\r\n"))
        server.accept()
        _, headers, _ = parseResponse(server.dataToSend())
        self.assertEqual(headers["sec-websocket-protocol"], "chat")
        self.assertEqual(server.subprotocol, "chat")

    def test_subprotocolNoneInCommon(self) -> None:
        """
        When no offered subprotocol is supported, the response names none.
        """
        server = ServerConnection(Options(subprotocols=("mqtt",)))
        server.receiveData(hybiRequest(extra="Sec-WebSocket-Protocol: chat\r\n"))
        server.accept()
        _, headers, _ = parseResponse(server.dataToSend())
        self.assertNotIn("sec-websocket-protocol", headers)
        self.assertIsNone(server.subprotocol)

    def test_acceptSubprotocol(self) -> None:
        """
        C{accept(subprotocol=...)} chooses one of the offered subprotocols.
        """
        server = ServerConnection(Options(subprotocols=("chat", "superchat")))
        server.receiveData(hybiRequest(extra="Sec-WebSocket-Protocol: chat, superchat\r\n"))
        server.accept(subprotocol="superchat")
        _, headers, _ = parseResponse(server.dataToSend())
        self.assertEqual(headers["sec-websocket-protocol"], "superchat")

    def test_acceptSubprotocolNotOffered(self) -> None:
        """
        C{accept()} with a subprotocol the client did not offer raises
        L{LocalProtocolError}.
        """
        server = ServerConnection()
        server.receiveData(hybiRequest(extra="Sec-WebSocket-Protocol: chat\r\n"))
        self.assertRaises(LocalProtocolError, server.accept, subprotocol="other")

    def test_acceptExtraHeaders(self) -> None:
        """
        C{accept(headers=...)} adds headers to the response.
        """
        server = ServerConnection()
        server.receiveData(hybiRequest())
        server.accept(headers=[("Set-Cookie", "a=b")])
        _, headers, _ = parseResponse(server.dataToSend())
        self.assertEqual(headers["set-cookie"], "a=b")

    def test_acceptInvalidHeader(self) -> None:
        """
        C{accept()} with a header value holding a line break raises
        L{LocalProtocolError}.
        """
        server = ServerConnection()
        server.receiveData(hybiRequest())
        self.assertRaises(LocalProtocolError, server.accept, headers=[("X", "a\r\nb: c")])

    def test_acceptTwice(self) -> None:
        """
        Calling C{accept()} twice raises L{LocalProtocolError}.
        """
        server = ServerConnection()
        server.receiveData(hybiRequest())
        server.accept()
        self.assertRaises(LocalProtocolError, server.accept)

    def test_acceptBeforeRequest(self) -> None:
        """
        C{accept()} before the request is complete raises
        L{LocalProtocolError}.
        """
        server = ServerConnection()
        server.receiveData(hybiRequest()[:20])
        self.assertRaises(LocalProtocolError, server.accept)

    def test_reject(self) -> None:
        """
        C{reject(status, reason)} queues that HTTP error response and closes
        the connection.
        """
        server = ServerConnection()
        server.receiveData(hybiRequest())
        server.reject(403, "go away")
        status, headers, body = parseResponse(server.dataToSend())
        self.assertEqual(status, 403)
        self.assertEqual(body, b"go away\n")
        self.assertEqual(headers["content-length"], "8")
        self.assertIs(server.state, State.CLOSED)
        self.assertTrue(server.shouldCloseTransport)
        self.assertRaises(LocalProtocolError, server.accept)
        self.assertEqual(server.receiveData(b"\x81\x80\x00\x00\x00\x00"), [])

    def test_rejectNonErrorStatus(self) -> None:
        """
        C{reject()} with a status that is not 4xx or 5xx raises
        L{LocalProtocolError}.
        """
        server = ServerConnection()
        server.receiveData(hybiRequest())
        self.assertRaises(LocalProtocolError, server.reject, 200)

    def test_rejectBeforeRequest(self) -> None:
        """
        C{reject()} before a request arrived raises L{LocalProtocolError}.
        """
        self.assertRaises(LocalProtocolError, ServerConnection().reject, 403)

    def test_receiveRequest(self) -> None:
        """
        A request head parsed elsewhere can be fed with C{receiveRequest}.
        """
        server = ServerConnection()
        headers = [
            ("Host", "server.example.com"),
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", RFC_KEY),
            ("Sec-WebSocket-Version", "13"),
        ]
        events = server.receiveRequest("GET", "/chat", "HTTP/1.1", headers)
        self.assertEqual([type(e) for e in events], [RequestReceived])
        original = events[0].request
        self.assertEqual(server.accept(), [])
        self.assertEqual(server.dataToSend(), HYBI_RESPONSE)
        self.assertIsNone(server._request)
        self.assertEqual(server.request, original)
        self.assertEqual(server.request.headers, headers)
        self.assertRaises(
            LocalProtocolError, server.receiveRequest, "GET", "/chat", "HTTP/1.1", headers
        )

    def test_receiveRequestHixie76(self) -> None:
        """
        After C{receiveRequest} of a hixie-76 head, key3 comes through
        C{receiveData} and completes the request.
        """
        server = ServerConnection()
        headers = [
            ("Host", "example.com"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key2", HIXIE76_KEY2),
            ("Sec-WebSocket-Protocol", "sample"),
            ("Upgrade", "WebSocket"),
            ("Sec-WebSocket-Key1", HIXIE76_KEY1),
            ("Origin", "http://example.com"),
        ]
        self.assertEqual(server.receiveRequest("GET", "/demo", "HTTP/1.1", headers), [])
        self.assertEqual([type(e) for e in server.receiveData(HIXIE76_KEY3)], [RequestReceived])
        server.accept(subprotocol="sample")
        self.assertEqual(server.dataToSend(), HIXIE76_RESPONSE)

    def test_receiveRequestRejected(self) -> None:
        """
        An invalid pre-parsed request is answered with an HTTP error.
        """
        server = ServerConnection()
        [event] = server.receiveRequest("POST", "/", "HTTP/1.1", [])
        self.assertIsInstance(event, HandshakeFailed)
        self.assertEqual(event.status, 405)


class ServerRejectionTests(SynchronousTestCase):
    """
    Invalid opening requests get a real HTTP error response from the codec.
    """

    def assertRefused(
        self, request: bytes, status: int, options: Options = DEFAULT_OPTIONS, split: bool = False
    ) -> dict[str, str]:
        """
        C{request} is refused with C{status}: one L{HandshakeFailed} event,
        a complete HTTP response, the connection closed.

        @return: the response's headers.
        """
        chunkings = list(splits(request))[:2] if split else [[request]]
        for chunks in chunkings:
            server = ServerConnection(options)
            events = feed(server, chunks)
            self.assertEqual([type(e) for e in events], [HandshakeFailed], events)
            [event] = events
            self.assertEqual(event.status, status)
            self.assertIsInstance(event.error, PeerError)
            self.assertEqual(event.error.status, status)
            self.assertIs(server.failure, event.error)
            self.assertIs(server.state, State.CLOSED)
            self.assertTrue(server.shouldCloseTransport)
            data = server.dataToSend()
            got, headers, body = parseResponse(data)
            self.assertEqual(got, status)
            self.assertEqual(int(headers["content-length"]), len(body))
            self.assertRaises(LocalProtocolError, server.accept)
            self.assertRaises(LocalProtocolError, server.sendText, "x")
            self.assertEqual(server.receiveData(b"more"), [])
            self.assertEqual(server.dataToSend(), b"")
        return headers

    def test_malformedRequestLine(self) -> None:
        """
        A request line that is not three words gets 400.
        """
        self.assertRefused(b"HELLO\r\nHost: x\r\n\r\n", 400, split=True)

    def test_malformedHeaderLine(self) -> None:
        """
        A header line without a colon gets 400.
        """
        self.assertRefused(hybiRequest(extra="no colon here\r\n"), 400)

    def test_http10(self) -> None:
        """
        An HTTP/1.0 request gets 400.
        """
        self.assertRefused(hybiRequest().replace(b"HTTP/1.1", b"HTTP/1.0"), 400)

    def test_noUpgradeToken(self) -> None:
        """
        A Connection header without the upgrade token gets 400.
        """
        self.assertRefused(hybiRequest().replace(b"Connection: Upgrade", b"Connection: close"), 400)

    def test_upgradeNotWebSocket(self) -> None:
        """
        An Upgrade header that does not name websocket gets 400.
        """
        self.assertRefused(hybiRequest().replace(b"Upgrade: websocket", b"Upgrade: h2c"), 400)

    def test_missingHost(self) -> None:
        """
        A request without Host gets 400.
        """
        self.assertRefused(hybiRequest().replace(b"Host: server.example.com\r\n", b""), 400)

    def test_missingKey(self) -> None:
        """
        A version-13 request without Sec-WebSocket-Key gets 400.
        """
        request = hybiRequest().replace(b"Sec-WebSocket-Key: " + RFC_KEY.encode() + b"\r\n", b"")
        self.assertRefused(request, 400)

    def test_keyNotBase64(self) -> None:
        """
        A Sec-WebSocket-Key that is not base64 gets 400.
        """
        self.assertRefused(hybiRequest(key="not*base64!!"), 400)

    def test_keyWrongLength(self) -> None:
        """
        A Sec-WebSocket-Key that does not decode to 16 bytes gets 400.
        """
        for raw in (b"", b"x" * 15, b"x" * 17):
            self.assertRefused(hybiRequest(key=base64.b64encode(raw).decode()), 400)

    def test_twoKeys(self) -> None:
        """
        A request with two Sec-WebSocket-Key headers gets 400.
        """
        self.assertRefused(hybiRequest(extra=f"Sec-WebSocket-Key: {RFC_KEY}\r\n"), 400)

    def test_hixie76KeyWithoutSpaces(self) -> None:
        """
        A hixie-76 key with no spaces gets 400.
        """
        self.assertRefused(hixie76Request(key1="12345678"), 400)

    def test_hixie76KeyNotMultiple(self) -> None:
        """
        A hixie-76 key whose number is not a multiple of its spaces gets 400.
        """
        self.assertRefused(hixie76Request(key2="1 2 5"), 400)

    def test_hixie76MissingKey2(self) -> None:
        """
        A hixie-76 request with only Key1 gets 400.
        """
        request = hixie76Request().replace(f"Sec-WebSocket-Key2: {HIXIE76_KEY2}\r\n".encode(), b"")
        self.assertRefused(request, 400)

    def test_hixieMissingOrigin(self) -> None:
        """
        A hixie request without Origin gets 400.
        """
        request = hixie75Request().replace(b"Origin: http://example.com\r\n", b"")
        self.assertRefused(request, 400)

    def test_notGet(self) -> None:
        """
        A method other than GET gets 405 with Allow: GET.
        """
        for method in (b"POST", b"PUT", b"HEAD"):
            headers = self.assertRefused(hybiRequest().replace(b"GET", method, 1), 405)
            self.assertEqual(headers["allow"], "GET")

    def test_unsupportedVersion(self) -> None:
        """
        An unknown Sec-WebSocket-Version gets 426 listing 13, 8, 7.
        """
        for wire in ("9", "14", "0", "abc", "6"):
            headers = self.assertRefused(hybiRequest(wire), 426)
            self.assertEqual(headers["sec-websocket-version"], "13, 8, 7")

    def test_disabledVersion(self) -> None:
        """
        A version not in C{Options.versions} gets 426 listing only the enabled
        hybi versions.
        """
        options = Options(versions={Version.RFC6455, Version.HYBI07})
        headers = self.assertRefused(hybiRequest(8), 426, options)
        self.assertEqual(headers["sec-websocket-version"], "13, 7")
        self.assertRefused(hixie76Request(), 426, options)
        self.assertRefused(hixie75Request(), 426, options)

    def test_disallowedOrigin(self) -> None:
        """
        An origin not in C{Options.allowedOrigins} gets 403, on every version.
        """
        options = Options(allowedOrigins=("https://good.example",))
        for version in ALL_VERSIONS:
            self.assertRefused(requestFor(version, origin="http://evil.example"), 403, options)

    def test_allowedOrigin(self) -> None:
        """
        An origin in C{Options.allowedOrigins} is accepted, compared
        case-insensitively, with wildcards.
        """
        options = Options(allowedOrigins=("https://good.example", "https://*.other.example"))
        for origin in ("https://good.example", "HTTPS://Good.Example", "https://a.other.example"):
            server = ServerConnection(options)
            [event] = server.receiveData(hybiRequest(origin=origin))
            self.assertIsInstance(event, RequestReceived)

    def test_missingOriginWhenRestricted(self) -> None:
        """
        A request with no origin is refused with 403 when origins are
        restricted, unless None is listed.
        """
        self.assertRefused(hybiRequest(origin=None), 403, Options(allowedOrigins=("https://a",)))
        server = ServerConnection(Options(allowedOrigins=("https://a", None)))
        [event] = server.receiveData(hybiRequest(origin=None))
        self.assertIsInstance(event, RequestReceived)

    def test_headerTooLarge(self) -> None:
        """
        A header block over C{Options.maxHeaderSize} gets 431, even before it
        is complete.
        """
        options = Options(maxHeaderSize=256)
        big = hybiRequest(extra="X-Filler: " + "a" * 300 + "\r\n")
        self.assertRefused(big, 431, options)
        self.assertRefused(big[:280], 431, options)

    def test_headerTooLargeByteByByte(self) -> None:
        """
        A header block that grows over the limit one byte at a time gets 431
        as soon as the limit is passed.
        """
        options = Options(maxHeaderSize=256)
        server = ServerConnection(options)
        events: list = []
        failedAt = None
        for index, byte in enumerate(b"GET / HTTP/1.1\r\nX: " + b"a" * 400):
            events = server.receiveData(bytes([byte]))
            if events:
                failedAt = index
                break
        self.assertEqual([type(e) for e in events], [HandshakeFailed])
        self.assertEqual(events[0].status, 431)
        self.assertEqual(failedAt, 256)

    def test_headerAtLimit(self) -> None:
        """
        A header block of exactly C{Options.maxHeaderSize} bytes is accepted.
        """
        request = hybiRequest()
        server = ServerConnection(Options(maxHeaderSize=len(request)))
        [event] = server.receiveData(request)
        self.assertIsInstance(event, RequestReceived)

    def test_dataBeforeAccept(self) -> None:
        """
        A client flooding data before the server answered gets 400 once the
        buffered data exceeds C{Options.maxHeaderSize}.
        """
        options = Options(maxHeaderSize=1024)
        server = ServerConnection(options)
        server.receiveData(hybiRequest())
        self.assertEqual(server.receiveData(b"x" * 1000), [])
        [event] = server.receiveData(b"x" * 100)
        self.assertIsInstance(event, HandshakeFailed)
        self.assertEqual(event.status, 400)


class ClientHandshakeTests(SynchronousTestCase):
    """
    The client side of the opening handshake of every version.
    """

    def test_rfc6455Request(self) -> None:
        """
        The RFC 6455 request carries Host, Upgrade, Connection, the key from
        the random source, the version, and the optional headers.
        """
        client = ClientConnection(
            "server.example.com",
            "/chat",
            origin="http://example.com",
            subprotocols=("chat", "superchat"),
            headers=[("Authorization", "Bearer x")],
            randomSource=rfcRandom,
        )
        self.assertIs(client.state, State.CONNECTING)
        self.assertEqual(
            client.dataToSend(),
            b"GET /chat HTTP/1.1\r\n"
            b"Host: server.example.com\r\n"
            b"Upgrade: websocket\r\n"
            b"Connection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\n"
            b"Origin: http://example.com\r\n"
            b"Sec-WebSocket-Protocol: chat, superchat\r\n"
            b"Authorization: Bearer x\r\n"
            b"\r\n",
        )

    def test_hybiOldVersionsRequest(self) -> None:
        """
        hybi-07 and hybi-08 requests send their version number and the origin
        in Sec-WebSocket-Origin.
        """
        for version in (Version.HYBI07, Version.HYBI08):
            client = ClientConnection(
                "h", version=version, origin="http://o", randomSource=rfcRandom
            )
            request = client.dataToSend()
            self.assertIn(f"Sec-WebSocket-Version: {version.wireVersion}\r\n".encode(), request)
            self.assertIn(b"Sec-WebSocket-Origin: http://o\r\n", request)
            self.assertNotIn(b"\r\nOrigin:", request)

    def test_extensionOffers(self) -> None:
        """
        The offers of the extension factories go into
        Sec-WebSocket-Extensions.
        """
        client = ClientConnection(
            "h", extensions=[FakeExtensionFactory("foo"), FakeExtensionFactory("bar")],
            randomSource=rfcRandom,
        )
        self.assertIn(b"Sec-WebSocket-Extensions: foo; x, bar; x\r\n", client.dataToSend())

    def test_hixie75Request(self) -> None:
        """
        The hixie-75 request has Origin (defaulting to http://host) and
        WebSocket-Protocol.
        """
        client = ClientConnection(
            "example.com", "/demo", version=Version.HIXIE75, subprotocols=("chat",)
        )
        self.assertEqual(
            client.dataToSend(),
            b"GET /demo HTTP/1.1\r\n"
            b"Upgrade: WebSocket\r\n"
            b"Connection: Upgrade\r\n"
            b"Host: example.com\r\n"
            b"Origin: http://example.com\r\n"
            b"WebSocket-Protocol: chat\r\n"
            b"\r\n",
        )

    def test_hixie76Request(self) -> None:
        """
        The hixie-76 request has two valid keys and eight bytes of key3 after
        the header block, drawn from the random source.
        """
        client = ClientConnection(
            "example.com", "/demo", version=Version.HIXIE76, origin="http://o",
            randomSource=lambda n: b"\x5a" * n,
        )
        request = client.dataToSend()
        head, _, key3 = request.partition(b"\r\n\r\n")
        self.assertEqual(key3, b"\x5a" * 8)
        text = head.decode("latin-1")
        self.assertTrue(text.startswith("GET /demo HTTP/1.1\r\n"))
        self.assertIn("\r\nOrigin: http://o", text)
        self.assertIn("\r\nHost: example.com", text)
        for name in ("Key1", "Key2"):
            key = re.search(rf"\r\nSec-WebSocket-{name}: ([^\r]*)", text).group(1)
            hixie76KeyNumber(key)
            self.assertFalse(key.startswith(" ") or key.endswith(" "))

    def test_hixie76RandomKeysValid(self) -> None:
        """
        Keys made from real randomness are always accepted by a server.
        """
        for _ in range(50):
            client = ClientConnection("example.com", version=Version.HIXIE76)
            server = ServerConnection()
            [event] = server.receiveData(client.dataToSend())
            self.assertIsInstance(event, RequestReceived)

    def test_hixieTooManySubprotocols(self) -> None:
        """
        A hixie client can offer at most one subprotocol and no extensions.
        """
        self.assertRaises(
            ValueError, ClientConnection, "h", version=Version.HIXIE76, subprotocols=("a", "b")
        )
        self.assertRaises(
            ValueError, ClientConnection, "h", version=Version.HIXIE75,
            extensions=[FakeExtensionFactory("foo")],
        )

    def test_invalidArguments(self) -> None:
        """
        A path not starting with /, a host with a line break and an invalid
        subprotocol token are refused.
        """
        self.assertRaises(ValueError, ClientConnection, "h", "chat")
        self.assertRaises(ValueError, ClientConnection, "h\r\nX: y")
        self.assertRaises(ValueError, ClientConnection, "h", subprotocols=("a b",))

    def test_rfc6455Response(self) -> None:
        """
        The RFC 6455 sample response, in any split, opens the connection.
        """
        for chunks in splits(HYBI_RESPONSE):
            client = ClientConnection("server.example.com", "/chat", randomSource=rfcRandom)
            events = feed(client, chunks)
            self.assertEqual(
                events, [ConnectionOpened(Version.RFC6455, None, (), parseHeaderPairs(HYBI_RESPONSE))]
            )
            self.assertIs(client.state, State.OPEN)

    def test_framesAfterResponse(self) -> None:
        """
        Frames right behind the response are delivered, in any split.
        """
        for chunks in splits(HYBI_RESPONSE + b"\x81\x05Hello"):
            client = ClientConnection("server.example.com", "/chat", randomSource=rfcRandom)
            events = feed(client, chunks)
            self.assertEqual(events[1:], [TextMessage("Hello")])

    def test_hixie76Response(self) -> None:
        """
        A hixie-76 client opens on a response whose body is the right MD5
        answer, followed by frames, in any split.
        """
        client = ClientConnection(
            "example.com", "/demo", version=Version.HIXIE76, randomSource=seededRandom(7)
        )
        answer = hixie76ServerAnswer(client.dataToSend())
        response = (
            b"HTTP/1.1 101 WebSocket Protocol Handshake\r\n"
            b"Upgrade: WebSocket\r\n"
            b"Connection: Upgrade\r\n"
            b"Sec-WebSocket-Origin: http://example.com\r\n"
            b"Sec-WebSocket-Location: ws://example.com/demo\r\n"
            b"\r\n" + answer + b"\x00Hi\xff"
        )
        for chunks in splits(response):
            copy = ClientConnection(
                "example.com", "/demo", version=Version.HIXIE76, randomSource=seededRandom(7)
            )
            self.assertEqual(hixie76ServerAnswer(copy.dataToSend()), answer)
            events = feed(copy, chunks)
            self.assertEqual([type(e) for e in events], [ConnectionOpened, TextMessage])
            self.assertEqual(events[1], TextMessage("Hi"))

    def test_hixie75Response(self) -> None:
        """
        A hixie-75 client opens on the hixie-75 response.
        """
        client = ClientConnection("example.com", "/demo", version=Version.HIXIE75)
        [event] = client.receiveData(HIXIE75_RESPONSE)
        self.assertIsInstance(event, ConnectionOpened)
        self.assertIs(event.version, Version.HIXIE75)

    def test_realHandshakeEveryVersion(self) -> None:
        """
        A client and a server of each version complete the handshake with
        each other, and agree on the version and the subprotocol.
        """
        for version in ALL_VERSIONS:
            client = ClientConnection(
                "example.com:8080", "/x?y=1", version=version, subprotocols=("chat",)
            )
            server = ServerConnection(Options(subprotocols=("chat",)))
            [event] = server.receiveData(client.dataToSend())
            self.assertIs(event.request.version, version)
            self.assertEqual(event.request.target, "/x?y=1")
            server.accept()
            [opened] = client.receiveData(server.dataToSend())
            self.assertEqual(opened.version, version)
            self.assertEqual(opened.subprotocol, "chat")
            self.assertEqual(client.subprotocol, "chat")
            self.assertIs(client.state, State.OPEN)

    def assertFails(self, client, response: bytes, errorType: type) -> HandshakeFailed:
        """
        C{client} refuses C{response} with a L{HandshakeFailed} whose error is
        exactly of C{errorType}.
        """
        events = client.receiveData(response)
        self.assertEqual([type(e) for e in events], [HandshakeFailed], events)
        [event] = events
        self.assertIs(type(event.error), errorType)
        self.assertIs(client.failure, event.error)
        self.assertIs(client.state, State.CLOSED)
        self.assertTrue(client.shouldCloseTransport)
        self.assertFalse(client.wasClean)
        self.assertRaises(LocalProtocolError, client.sendText, "x")
        self.assertEqual(client.receiveData(b"\x81\x00"), [])
        return event

    def test_invalidStatus(self) -> None:
        """
        A response other than 101 fails with L{InvalidStatus} carrying the
        status.
        """
        client = ClientConnection("h", randomSource=rfcRandom)
        event = self.assertFails(
            client, b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", InvalidStatus
        )
        self.assertEqual(event.status, 403)
        self.assertEqual(event.error.headers, [("Content-Length", "0")])

    def test_malformedStatusLine(self) -> None:
        """
        A response whose status line is not HTTP fails with L{InvalidStatus}.
        """
        self.assertFails(ClientConnection("h"), b"SSH-2.0-OpenSSH\r\n\r\n", InvalidStatus)

    def test_missingUpgrade(self) -> None:
        """
        A 101 response without Upgrade: websocket fails with L{InvalidHeader}.
        """
        response = HYBI_RESPONSE.replace(b"Upgrade: websocket\r\n", b"")
        event = self.assertFails(ClientConnection("h", randomSource=rfcRandom), response, InvalidHeader)
        self.assertEqual(event.error.name, "Upgrade")

    def test_missingConnection(self) -> None:
        """
        A 101 response without Connection: Upgrade fails with
        L{InvalidHeader}.
        """
        response = HYBI_RESPONSE.replace(b"Connection: Upgrade\r\n", b"Connection: close\r\n")
        event = self.assertFails(ClientConnection("h", randomSource=rfcRandom), response, InvalidHeader)
        self.assertEqual(event.error.name, "Connection")

    def test_invalidAccept(self) -> None:
        """
        A wrong Sec-WebSocket-Accept fails with L{InvalidAccept}.
        """
        response = HYBI_RESPONSE.replace(RFC_ACCEPT.encode(), acceptKey("x" * 24).encode())
        self.assertFails(ClientConnection("h", randomSource=rfcRandom), response, InvalidAccept)

    def test_missingAccept(self) -> None:
        """
        A response without Sec-WebSocket-Accept fails with L{InvalidAccept}.
        """
        response = HYBI_RESPONSE.replace(b"Sec-WebSocket-Accept: " + RFC_ACCEPT.encode() + b"\r\n", b"")
        self.assertFails(ClientConnection("h", randomSource=rfcRandom), response, InvalidAccept)

    def test_hixieWrongOrigin(self) -> None:
        """
        A hixie response echoing another origin fails with L{InvalidHeader}.
        """
        for version, response in ((Version.HIXIE75, HIXIE75_RESPONSE),):
            client = ClientConnection("example.com", "/demo", version=version)
            bad = response.replace(b"http://example.com", b"http://evil.example")
            self.assertFails(client, bad, InvalidHeader)

    def test_hixieWrongLocation(self) -> None:
        """
        A hixie response with another location fails with L{InvalidHeader}.
        """
        client = ClientConnection("example.com", "/demo", version=Version.HIXIE75)
        bad = HIXIE75_RESPONSE.replace(b"ws://example.com/demo", b"ws://example.com/other")
        event = self.assertFails(client, bad, InvalidHeader)
        self.assertEqual(event.error.name.lower(), "websocket-location")

    def test_hixie76WrongOriginHeader(self) -> None:
        """
        A hixie-76 response with a wrong Sec-WebSocket-Origin fails with
        L{InvalidHeader}.
        """
        client = ClientConnection("example.com", "/demo", version=Version.HIXIE76)
        answer = hixie76ServerAnswer(client.dataToSend())
        response = (
            b"HTTP/1.1 101 WebSocket Protocol Handshake\r\n"
            b"Upgrade: WebSocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Origin: http://other.example\r\n"
            b"Sec-WebSocket-Location: ws://example.com/demo\r\n\r\n" + answer
        )
        self.assertFails(client, response, InvalidHeader)

    def test_invalidChallenge(self) -> None:
        """
        A hixie-76 response with the wrong MD5 answer fails with
        L{InvalidChallenge}.
        """
        client = ClientConnection("example.com", "/demo", version=Version.HIXIE76)
        answer = hixie76ServerAnswer(client.dataToSend())
        response = (
            b"HTTP/1.1 101 WebSocket Protocol Handshake\r\n"
            b"Upgrade: WebSocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Origin: http://example.com\r\n"
            b"Sec-WebSocket-Location: ws://example.com/demo\r\n\r\n"
            + bytes([answer[0] ^ 1]) + answer[1:]
        )
        self.assertFails(client, response, InvalidChallenge)

    def test_hixie76WaitsForAnswer(self) -> None:
        """
        A hixie-76 client waits for all 16 bytes of the answer.
        """
        client = ClientConnection("example.com", "/demo", version=Version.HIXIE76)
        answer = hixie76ServerAnswer(client.dataToSend())
        head = (
            b"HTTP/1.1 101 WebSocket Protocol Handshake\r\n"
            b"Upgrade: WebSocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Origin: http://example.com\r\n"
            b"Sec-WebSocket-Location: ws://example.com/demo\r\n\r\n"
        )
        self.assertEqual(client.receiveData(head + answer[:15]), [])
        [event] = client.receiveData(answer[15:])
        self.assertIsInstance(event, ConnectionOpened)

    def test_subprotocolNotOffered(self) -> None:
        """
        A response choosing a subprotocol that was not offered fails with
        L{NegotiationError}.
        """
        client = ClientConnection("h", subprotocols=("chat",), randomSource=rfcRandom)
        response = HYBI_RESPONSE.replace(b"\r\n\r\n", b"\r\nSec-WebSocket-Protocol: other\r\n\r\n")
        self.assertFails(client, response, NegotiationError)

    def test_subprotocolWhenNoneOffered(self) -> None:
        """
        A response choosing a subprotocol when none was offered fails with
        L{NegotiationError}.
        """
        client = ClientConnection("h", randomSource=rfcRandom)
        response = HYBI_RESPONSE.replace(b"\r\n\r\n", b"\r\nSec-WebSocket-Protocol: chat\r\n\r\n")
        self.assertFails(client, response, NegotiationError)

    def test_subprotocolChosen(self) -> None:
        """
        A response choosing an offered subprotocol opens with it.
        """
        client = ClientConnection("h", subprotocols=("a", "b"), randomSource=rfcRandom)
        response = HYBI_RESPONSE.replace(b"\r\n\r\n", b"\r\nSec-WebSocket-Protocol: b\r\n\r\n")
        [event] = client.receiveData(response)
        self.assertEqual(event.subprotocol, "b")

    def test_extensionNotOffered(self) -> None:
        """
        A response choosing an extension that was not offered fails with
        L{NegotiationError}.
        """
        client = ClientConnection("h", randomSource=rfcRandom)
        response = HYBI_RESPONSE.replace(
            b"\r\n\r\n", b"\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n"
        )
        self.assertFails(client, response, NegotiationError)

    def test_extensionAccepted(self) -> None:
        """
        A response accepting an offered extension opens with the extension
        the factory built.
        """
        factory = FakeExtensionFactory("foo")
        client = ClientConnection("h", extensions=[factory], randomSource=rfcRandom)
        response = HYBI_RESPONSE.replace(b"\r\n\r\n", b"\r\nSec-WebSocket-Extensions: foo; y=2\r\n\r\n")
        [event] = client.receiveData(response)
        self.assertEqual(len(event.extensions), 1)
        self.assertEqual(event.extensions[0].params, {"y": "2"})
        self.assertEqual(client.extensions, event.extensions)

    def test_serverNegotiatesExtension(self) -> None:
        """
        A server with an extension factory accepts the client's offer,
        answers it in Sec-WebSocket-Extensions, and both sides hold the
        negotiated extension.
        """
        factory = FakeExtensionFactory("foo")
        client = ClientConnection("h", extensions=[factory], randomSource=rfcRandom)
        server = ServerConnection(Options(extensions=[factory]))
        [event] = server.receiveData(client.dataToSend())
        self.assertEqual(event.request.extensions, [("foo", {"x": None})])
        server.accept()
        response = server.dataToSend()
        self.assertIn(b"\r\nSec-WebSocket-Extensions: foo\r\n", response)
        [opened] = client.receiveData(response)
        self.assertEqual([e.name for e in opened.extensions], ["foo"])
        self.assertEqual([e.name for e in server.extensions], ["foo"])

    def test_serverIgnoresUnknownExtension(self) -> None:
        """
        An extension offer the server has no factory for is left out of the
        response.
        """
        server = ServerConnection(Options(extensions=[FakeExtensionFactory("foo")]))
        server.receiveData(hybiRequest(extra="Sec-WebSocket-Extensions: bar\r\n"))
        server.accept()
        self.assertNotIn(b"Sec-WebSocket-Extensions", server.dataToSend())
        self.assertEqual(server.extensions, ())

    def test_malformedExtensionOffer(self) -> None:
        """
        A malformed Sec-WebSocket-Extensions header gets 400.
        """
        server = ServerConnection()
        [event] = server.receiveData(hybiRequest(extra='Sec-WebSocket-Extensions: foo; x="\r\n'))
        self.assertIsInstance(event, HandshakeFailed)
        self.assertEqual(event.status, 400)

    def test_hixie75ResponseSplits(self) -> None:
        """
        A hixie-75 response followed by a frame opens the client in any
        split.
        """
        for chunks in splits(HIXIE75_RESPONSE + b"\x00Hi\xff"):
            client = ClientConnection("example.com", "/demo", version=Version.HIXIE75)
            events = feed(client, chunks)
            self.assertEqual([type(e) for e in events], [ConnectionOpened, TextMessage])

    def test_responseTooLarge(self) -> None:
        """
        A response head over C{Options.maxHeaderSize} fails the handshake.
        """
        client = ClientConnection("h", options=Options(maxHeaderSize=100))
        [event] = client.receiveData(b"HTTP/1.1 101 OK\r\n" + b"X: " + b"a" * 200)
        self.assertIsInstance(event, HandshakeFailed)
        self.assertIsInstance(event.error, PeerError)

    def test_eofDuringHandshake(self) -> None:
        """
        The TCP connection ending during the handshake closes uncleanly with
        a failure.
        """
        client = ClientConnection("h")
        client.receiveEOF()
        self.assertIs(client.state, State.CLOSED)
        self.assertEqual(client.closeCode, 1006)
        self.assertFalse(client.wasClean)
        self.assertIsInstance(client.failure, PeerError)
        self.assertTrue(client.shouldCloseTransport)

    def test_closeDuringHandshake(self) -> None:
        """
        C{close()} during the handshake aborts it.
        """
        client = ClientConnection("h")
        client.close()
        self.assertIs(client.state, State.CLOSED)
        self.assertTrue(client.shouldCloseTransport)
        self.assertEqual(client.receiveData(HYBI_RESPONSE), [])

    def test_sendBeforeOpen(self) -> None:
        """
        Sending before the handshake finished raises L{LocalProtocolError}.
        """
        client = ClientConnection("h")
        self.assertRaises(LocalProtocolError, client.sendText, "x")
        self.assertRaises(LocalProtocolError, client.sendBinary, b"x")
        self.assertRaises(LocalProtocolError, client.sendPing)
        server = ServerConnection()
        server.receiveData(hybiRequest())
        self.assertRaises(LocalProtocolError, server.sendText, "x")


def parseHeaderPairs(response: bytes) -> list[tuple[str, str]]:
    """
    The headers of an HTTP response as (name, value) pairs.
    """
    head = response.partition(b"\r\n\r\n")[0].decode("latin-1")
    return [tuple(line.split(": ", 1)) for line in head.split("\r\n")[1:]]  # type: ignore[misc]


class StrictRequestTests(SynchronousTestCase):
    """
    Malformed opening requests, of the kinds that once raised out of
    C{receiveData} or were accepted leniently, get an HTTP error response.
    """

    assertRefused = ServerRejectionTests.assertRefused

    def assertRefusedParsed(
        self, method: str, target: str, httpVersion: str, headers: list, status: int
    ) -> HandshakeFailed:
        """
        A request fed through L{ServerConnection.receiveRequest} is refused
        with C{status} and a complete HTTP response.
        """
        server = ServerConnection()
        events = server.receiveRequest(method, target, httpVersion, headers)
        self.assertEqual([type(e) for e in events], [HandshakeFailed], events)
        self.assertEqual(events[0].status, status)
        self.assertEqual(parseResponse(server.dataToSend())[0], status)
        return events[0]

    def test_nonAsciiDigitsInVersion(self) -> None:
        """
        A Sec-WebSocket-Version of characters that C{str.isdigit} accepts but
        C{int} does not (superscripts) gets 426 listing the versions spoken,
        from the wire or through C{receiveRequest}; Arabic-Indic digits,
        which only C{receiveRequest} can be given, are not ISO-8859-1: 400.
        """
        for wire in ("\xb9\xb3", "\xb3", "1\xb3"):
            headers = self.assertRefused(hybiRequest(wire), 426, split=True)
            self.assertEqual(headers["sec-websocket-version"], "13, 8, 7")
            pairs = parseHeaderPairs(hybiRequest(wire))
            self.assertRefusedParsed("GET", "/chat", "HTTP/1.1", pairs, 426)
        pairs = parseHeaderPairs(hybiRequest())
        pairs = [(n, "\u0661\u0663" if n == "Sec-WebSocket-Version" else v) for n, v in pairs]
        self.assertRefusedParsed("GET", "/chat", "HTTP/1.1", pairs, 400)

    def test_versionOutOfRange(self) -> None:
        """
        A Sec-WebSocket-Version with leading zeros, a sign, or thousands of
        digits gets 426.
        """
        for wire in ("013", "+13", "-13", "1" * 5000, "13 13", "0x0d"):
            self.assertRefused(hybiRequest(wire), 426)

    def test_hixie76KeyHugeNumber(self) -> None:
        """
        A hixie-76 key with thousands of digits gets 400, not an error from
        C{int}.
        """
        self.assertRefused(hixie76Request(key1="1 " + "9" * 5000), 400)

    def test_hixie76KeyNonAsciiDigits(self) -> None:
        """
        A hixie-76 key whose only digits are superscripts has no digits:
        400.
        """
        self.assertRefused(hixie76Request(key1="\xb9 \xb2 \xb3"), 400)

    def test_httpVersionStrict(self) -> None:
        """
        The request line's version must be C{HTTP/} DIGIT C{.} DIGIT (RFC
        9112 section 2.3): C{HTTP/1.10}, C{HTTP/1.01}, a trailing tab or NUL,
        lower case, and the like get 400, whole or byte by byte.
        """
        for bad in (
            b"HTTP/1.10", b"HTTP/1.01", b"HTTP/1.1\t", b"HTTP/1.1\x00", b"http/1.1",
            b"HTTP/1.1 ", b"HTTP/1", b"HTTP/1.", b"HTTP/11", b"HTTP/1.\xb9", b"HTTP/\xb9.1",
            b"HTTP/1.1\x0b", b"HTTP/2.0", b"HTTP/0.9",
        ):
            request = hybiRequest().replace(b"HTTP/1.1", bad, 1)
            self.assertRefused(request, 400, split=True)

    def test_httpVersionStrictParsed(self) -> None:
        """
        The same strictness holds for a request line parsed elsewhere and
        given to C{receiveRequest}.
        """
        pairs = parseHeaderPairs(hybiRequest())
        for bad in ("HTTP/1.10", "HTTP/1.01", "HTTP/1.1\t", "HTTP/1.1\x00", "HTTP/1.\u0661"):
            self.assertRefusedParsed("GET", "/chat", bad, pairs, 400)

    def test_laterMinorVersion(self) -> None:
        """
        A request of a later HTTP/1 minor version is handled as HTTP/1.1
        (RFC 9110 section 2.5).
        """
        server = ServerConnection()
        [event] = server.receiveData(hybiRequest().replace(b"HTTP/1.1", b"HTTP/1.2", 1))
        self.assertIsInstance(event, RequestReceived)

    def test_requestLineSpaces(self) -> None:
        """
        A request line with two spaces in a row, or a tab between its parts,
        gets 400.
        """
        for old, new in ((b"GET /chat", b"GET  /chat"), (b"GET /chat", b"GET\t/chat"),
                         (b"/chat HTTP", b"/chat  HTTP"), (b"GET /chat", b" GET /chat")):
            self.assertRefused(hybiRequest().replace(old, new, 1), 400)

    def test_targetCharacters(self) -> None:
        """
        A request target with a control character or a byte outside ASCII
        gets 400.
        """
        for target in (b"/a\x00b", b"/a\x7fb", b"/caf\xe9", b"/a\x01"):
            self.assertRefused(hybiRequest().replace(b"/chat", target, 1), 400)
        pairs = parseHeaderPairs(hybiRequest())
        self.assertRefusedParsed("GET", "/caf\u00e9\u20ac", "HTTP/1.1", pairs, 400)

    def test_plainGet(self) -> None:
        """
        A plain GET without Upgrade gets 426 with C{Upgrade: websocket} and
        the versions spoken.
        """
        request = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\n\r\n"
        headers = self.assertRefused(request, 426, split=True)
        self.assertEqual(headers["upgrade"], "websocket")
        self.assertEqual(headers["sec-websocket-version"], "13, 8, 7")
        options = Options(versions={Version.HYBI08})
        headers = self.assertRefused(request, 426, options)
        self.assertEqual(headers["sec-websocket-version"], "8")

    def test_headOverLimit(self) -> None:
        """
        A request head one to four bytes over C{Options.maxHeaderSize} gets
        431, whole in one read and byte by byte.
        """
        request = hybiRequest(extra="X-Filler: " + "a" * 40 + "\r\n")
        for over in range(1, 5):
            limit = len(request) - over
            self.assertRefused(request, 431, Options(maxHeaderSize=limit), split=True)
            self.assertRefused(request + b"\x81\x00", 431, Options(maxHeaderSize=limit))
        for chunks in list(splits(request))[:2]:
            server = ServerConnection(Options(maxHeaderSize=len(request)))
            events = feed(server, chunks)
            self.assertEqual([type(e) for e in events], [RequestReceived])

    def test_headOverLimitHixie76(self) -> None:
        """
        The limit counts the head, not hixie-76's key3 that follows it.
        """
        request = hixie76Request()
        head = len(request) - 8
        server = ServerConnection(Options(maxHeaderSize=head))
        [event] = server.receiveData(request)
        self.assertIsInstance(event, RequestReceived)
        self.assertRefused(request, 431, Options(maxHeaderSize=head - 1), split=True)

    def test_missingOriginMessage(self) -> None:
        """
        With origins restricted, a request without an origin header is
        refused with 403 and a reason that names the missing header; a
        listed L{None} admits it.
        """
        options = Options(allowedOrigins=("https://a.example",))
        for version, name in ((Version.RFC6455, "Origin"), (Version.HYBI08, "Sec-WebSocket-Origin"),
                              (Version.HYBI07, "Sec-WebSocket-Origin")):
            server = ServerConnection(options)
            [event] = server.receiveData(requestFor(version, origin=None))
            self.assertIsInstance(event, HandshakeFailed)
            self.assertEqual(event.status, 403)
            self.assertEqual(event.reason, f"no {name} header")
            self.assertEqual(parseResponse(server.dataToSend())[2], f"no {name} header\n".encode())
            server = ServerConnection(Options(allowedOrigins=("https://a.example", None)))
            [event] = server.receiveData(requestFor(version, origin=None))
            self.assertIsInstance(event, RequestReceived)

    def test_disallowedOriginMessage(self) -> None:
        """
        A refused origin is quoted in the 403's reason.
        """
        server = ServerConnection(Options(allowedOrigins=("https://a.example", None)))
        [event] = server.receiveData(hybiRequest(origin="https://x"))
        self.assertEqual(event.status, 403)
        self.assertEqual(event.reason, "origin 'https://x' is not allowed")


class StrictResponseTests(SynchronousTestCase):
    """
    Malformed responses fail the client's handshake with a
    L{HandshakeError}, never with an exception out of C{receiveData}.
    """

    assertFails = ClientHandshakeTests.assertFails

    def client(self, **kwargs) -> ClientConnection:
        """
        A client whose key is the RFC 6455 sample, so that L{HYBI_RESPONSE}
        answers it.
        """
        client = ClientConnection("h", randomSource=rfcRandom, **kwargs)
        client.dataToSend()
        return client

    def test_nonAsciiDigitsInStatus(self) -> None:
        """
        A status code of superscript digits fails with L{InvalidStatus}.
        """
        for code in (b"\xb9\xb0\xb9", b"1\xb2\xb3", b"\xb3"):
            response = HYBI_RESPONSE.replace(b"101", code, 1)
            self.assertFails(self.client(), response, InvalidStatus)

    def test_statusLineStrict(self) -> None:
        """
        The status line must be C{HTTP/1.}DIGIT, a space, three ASCII
        digits, and a space before any reason phrase.
        """
        for line in (
            b"HTTP/1.10 101 Switching Protocols", b"HTTP/1.01 101 Switching Protocols",
            b"HTTP/1.1 1010 Switching Protocols", b"HTTP/1.1 10 Switching Protocols",
            b"HTTP/1.1  101 Switching Protocols", b"HTTP/1.1 101Switching", b"HTTP/1.1 +01 x",
            b"HTTP/1.1\t101 Switching Protocols", b"http/1.1 101 Switching Protocols",
            b"HTTP/2 101 Switching Protocols", b"HTTP/1.1 101 Switching\x00Protocols",
            b"HTTP/1.1\x00 101 Switching Protocols", b" HTTP/1.1 101 Switching Protocols",
        ):
            response = HYBI_RESPONSE.replace(b"HTTP/1.1 101 Switching Protocols", line, 1)
            self.assertFails(self.client(), response, InvalidStatus)

    def test_statusLineWithoutReason(self) -> None:
        """
        A 101 status line without a reason phrase, with or without the space
        before it, is accepted.
        """
        for line in (b"HTTP/1.1 101", b"HTTP/1.1 101 "):
            response = HYBI_RESPONSE.replace(b"HTTP/1.1 101 Switching Protocols", line, 1)
            [event] = self.client().receiveData(response)
            self.assertIsInstance(event, ConnectionOpened)

    def test_duplicateAccept(self) -> None:
        """
        A response with two Sec-WebSocket-Accept headers fails with
        L{InvalidAccept}, even when both are right.
        """
        line = b"Sec-WebSocket-Accept: " + RFC_ACCEPT.encode() + b"\r\n"
        response = HYBI_RESPONSE.replace(line, line + line)
        self.assertFails(self.client(), response, InvalidAccept)

    def test_headOverLimit(self) -> None:
        """
        A complete response head one to four bytes over
        C{Options.maxHeaderSize} fails the handshake, whole in one read and
        byte by byte; one at the limit opens.
        """
        for over in range(1, 5):
            response = HYBI_RESPONSE.replace(b"\r\n\r\n", b"\r\nX: " + b"a" * 20 + b"\r\n\r\n")
            limit = len(response) - over
            for chunks in list(splits(response))[:2]:
                client = self.client(options=Options(maxHeaderSize=limit))
                events = feed(client, chunks)
                self.assertEqual([type(e) for e in events], [HandshakeFailed], events)
                self.assertIsInstance(events[0].error, InvalidHeader)
                self.assertIn(f"exceeds {limit} bytes", events[0].reason)
        for chunks in list(splits(response))[:2]:
            client = self.client(options=Options(maxHeaderSize=len(response)))
            events = feed(client, chunks)
            self.assertEqual([type(e) for e in events], [ConnectionOpened])

    def test_headOverLimitWithFrames(self) -> None:
        """
        A response head over the limit fails even when frames follow it in
        the same read.
        """
        client = self.client(options=Options(maxHeaderSize=len(HYBI_RESPONSE) - 1))
        [event] = client.receiveData(HYBI_RESPONSE + b"\x81\x02hi")
        self.assertIsInstance(event, HandshakeFailed)

    def test_headerNotLatin1Safe(self) -> None:
        """
        Header bytes 0x80-0xFF in a response are read as ISO-8859-1 and
        judged, not decoded with an error.
        """
        response = HYBI_RESPONSE.replace(b"Upgrade: websocket", b"Upgrade: websock\xe9t")
        self.assertFails(self.client(), response, InvalidHeader)


class ParsedRequestTests(SynchronousTestCase):
    """
    A request parsed elsewhere and given to L{ServerConnection.receiveRequest}
    is held to the rules of the wire.
    """

    def test_controlCharactersInValues(self) -> None:
        """
        A header value with CR, LF, NUL or another control character gets
        400, so that it can never be echoed into a response (hixie echoes
        Origin and Host).
        """
        for version in ALL_VERSIONS:
            for bad in ("a\r\nX-Injected: 1", "a\nb", "a\x00b", "a\x1bb", "a\x7fb"):
                pairs = parseHeaderPairs(requestFor(version))
                pairs = [(n, bad if n in ("Origin", "Host") else v) for n, v in pairs]
                server = ServerConnection()
                events = server.receiveRequest("GET", "/demo", "HTTP/1.1", pairs)
                self.assertEqual([type(e) for e in events], [HandshakeFailed], (version, bad))
                self.assertEqual(events[0].status, 400)

    def test_tabInValue(self) -> None:
        """
        A tab inside a header value is allowed (RFC 9110 section 5.5).
        """
        pairs = parseHeaderPairs(hybiRequest()) + [("X-Note", "a\tb")]
        server = ServerConnection()
        [event] = server.receiveRequest("GET", "/chat", "HTTP/1.1", pairs)
        self.assertIsInstance(event, RequestReceived)

    def test_headerNameNotToken(self) -> None:
        """
        A header name that is not a token gets 400.
        """
        for name in ("X Y", "X:Y", "", "X\u00e9"):
            pairs = parseHeaderPairs(hybiRequest()) + [(name, "1")]
            server = ServerConnection()
            [event] = server.receiveRequest("GET", "/chat", "HTTP/1.1", pairs)
            self.assertIsInstance(event, HandshakeFailed)
            self.assertEqual(event.status, 400)

    def test_notLatin1(self) -> None:
        """
        A header value that ISO-8859-1 cannot write (so that the request
        could not be kept as bytes, or echoed) gets 400.
        """
        pairs = parseHeaderPairs(hixie75Request())
        pairs = [(n, "http://\u20ac.example" if n == "Origin" else v) for n, v in pairs]
        server = ServerConnection()
        [event] = server.receiveRequest("GET", "/demo", "HTTP/1.1", pairs)
        self.assertIsInstance(event, HandshakeFailed)
        self.assertEqual(event.status, 400)

    def test_valueWithSurroundingSpace(self) -> None:
        """
        A value with leading or trailing whitespace, which reading a head
        strips, is kept as given: the request read after C{accept} is the
        one received.
        """
        pairs = parseHeaderPairs(hybiRequest()) + [("X-Note", " padded\t")]
        server = ServerConnection()
        [event] = server.receiveRequest("GET", "/chat", "HTTP/1.1", pairs)
        server.accept()
        self.assertEqual(server.request, event.request)
        self.assertEqual(server.request.header("X-Note"), " padded\t")


class HostHeaderTests(SynchronousTestCase):
    """
    The C{Host} header must be a valid host and optional port (RFC 9112
    section 3.2: a server answers an invalid one with 400).
    """

    assertRefused = ServerRejectionTests.assertRefused

    def test_invalidHost(self) -> None:
        """
        A Host that is not C{uri-host [":" port]} gets 400 on every version.
        """
        for host in ("a b", "a/b", "exa\xe9mple.com", "[::1", "a:b:c", "a:12x", "a@b", "a\tb"):
            for version in ALL_VERSIONS:
                self.assertRefused(requestFor(version, host=host), 400)

    def test_validHost(self) -> None:
        """
        Names, ports, IPv4 and bracketed IPv6 addresses are accepted.
        """
        for host in ("example.com:8080", "[::1]:9000", "[::1]", "127.0.0.1", "xn--bcher-kva.example",
                     "a-b_c~d.example:"):
            server = ServerConnection()
            [event] = server.receiveData(hybiRequest(host=host))
            self.assertIsInstance(event, RequestReceived, host)
            self.assertEqual(event.request.host, host)


class TinyLimitTests(SynchronousTestCase):
    """
    C{Options.maxHeaderSize} at its smallest.
    """

    def test_tinyLimit(self) -> None:
        """
        With a limit smaller than any head, the first byte is waited on and
        the second refused with 431.
        """
        server = ServerConnection(Options(maxHeaderSize=1))
        self.assertEqual(server.receiveData(b"G"), [])
        [event] = server.receiveData(b"E")
        self.assertEqual(event.status, 431)
