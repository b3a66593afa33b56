"""
Tests for parts of the codec that the protocol tests reach only in part:
the C{Sec-WebSocket-Extensions} grammar's errors (each with its message),
the origin check, L{HandshakeRequest}'s accessors, equality and repr,
events as values, the deflate-frame settings it refuses, and opening
handshakes refused on either side.
"""

from __future__ import annotations

import warnings

from twisted.trial.unittest import SynchronousTestCase

from twisted_ws.codec import (
    ClientConnection,
    ConnectionOpened,
    DeflateFrame,
    HandshakeFailed,
    LocalProtocolError,
    NegotiationError,
    Options,
    PerMessageDeflate,
    RequestReceived,
    ServerConnection,
    TextMessage,
    Version,
    _events,
)
from twisted_ws.codec._extensions import formatExtension, parseExtensions
from twisted_ws.codec._handshake import _originAllowed
from twisted_ws.codec._utf8 import Utf8Validator
from twisted_ws.codec.handshake._http import formatHeaders
from twisted_ws.codec.handshake._keys import Random
from twisted_ws.codec.handshake._request import HandshakeRequest

from ._support.codec import (
    DEFAULT_OPTIONS,
    HYBI_RESPONSE,
    FakeExtensionFactory,
    hybiRequest,
    openServer,
    parseResponse,
    rfcRandom,
)


class ExtensionGrammarTests(SynchronousTestCase):
    """
    L{parseExtensions} refuses header values that break the grammar of RFC
    6455 section 9.1, saying where.
    """

    def assertRefused(self, value: str, message: str) -> None:
        with self.assertRaises(ValueError) as caught:
            parseExtensions([value])
        self.assertEqual(str(caught.exception), message)

    def test_accepted(self) -> None:
        """
        Empty items are skipped; parameters may have no value or a quoted
        one.
        """
        self.assertEqual(
            parseExtensions([" , permessage-deflate; client_max_window_bits, x; a=\"1\""]),
            [("permessage-deflate", {"client_max_window_bits": None}), ("x", {"a": "1"})],
        )

    def test_invalidName(self) -> None:
        """
        An extension name that is not a token.
        """
        self.assertRefused("per message", "invalid extension name 'per message'")

    def test_emptyParameter(self) -> None:
        """
        Two semicolons in a row.
        """
        self.assertRefused("x;;a", "empty parameter in extension 'x'")

    def test_invalidParameterName(self) -> None:
        """
        A parameter name that is not a token.
        """
        self.assertRefused("x; a b=1", "invalid parameter name 'a b' in extension 'x'")

    def test_repeatedParameter(self) -> None:
        """
        A parameter given twice is refused, or (C{dropRepeated}) the offer
        is left out and the others kept.
        """
        self.assertRefused("x; a; a=2", "parameter 'a' repeated in extension 'x'")
        self.assertEqual(parseExtensions(["x; a; a=2, y"], dropRepeated=True), [("y", {})])

    def test_invalidValue(self) -> None:
        """
        A value that is not a token, even once unquoted.
        """
        self.assertRefused('x; a="1 2"', "invalid value '\"1 2\"' for 'a' in extension 'x'")

    def test_unterminatedQuote(self) -> None:
        """
        A quoted string that does not end.
        """
        self.assertRefused('x; a="1', "unterminated quoted string in 'x; a=\"1'")

    def test_separatorsInsideQuotes(self) -> None:
        """
        Commas and semicolons inside a quoted value, and a quote escaped
        with a backslash there, do not end it: the whole quoted string is
        the value (here not a token, so refused as one value).
        """
        self.assertRefused('x; a="1,2;3"', "invalid value '\"1,2;3\"' for 'a' in extension 'x'")
        self.assertRefused('x; a="1\\",2"', "invalid value '\"1\\\\\",2\"' for 'a' in extension 'x'")

    def test_format(self) -> None:
        """
        L{formatExtension} writes parameters without values bare.
        """
        self.assertEqual(formatExtension("x", {"a": None, "b": "2"}), "x; a; b=2")


class OriginTests(SynchronousTestCase):
    """
    The origin check of C{Options.allowedOrigins}.
    """

    def test_missingOrigin(self) -> None:
        """
        A request without an Origin header passes only when L{None} is
        allowed.
        """
        self.assertTrue(_originAllowed(None, ("https://a.example", None)))
        self.assertFalse(_originAllowed(None, ("https://a.example",)))

    def test_patterns(self) -> None:
        """
        Origins match exactly or by wildcard, without regard to case.
        """
        allowed = (None, "https://*.example", "http://B.example")
        self.assertTrue(_originAllowed("https://a.EXAMPLE", allowed))
        self.assertTrue(_originAllowed("http://b.example", allowed))
        self.assertFalse(_originAllowed("http://c.example", allowed))


def request(**kwargs: object) -> HandshakeRequest:
    arguments: dict[str, object] = dict(
        method="GET", target="/chat?room=1",
        headers=[("Host", "h.example"), ("X-Twice", "1"), ("x-twice", "2")],
        version=Version.RFC6455, host="h.example", origin=None, subprotocols=("b", "a"),
        extensions=(), key="k", secure=False,
    )
    arguments.update(kwargs)
    return HandshakeRequest(**arguments)  # type: ignore[arg-type]


class HandshakeRequestTests(SynchronousTestCase):
    """
    L{HandshakeRequest}'s accessors.
    """

    def test_headers(self) -> None:
        """
        Headers are found without regard to case; a missing one gives the
        default; every value of a repeated one is kept in order.
        """
        r = request()
        self.assertEqual(r.header("HOST"), "h.example")
        self.assertEqual(r.header("Missing", "none"), "none")
        self.assertEqual(r.headerValues("X-TWICE"), ["1", "2"])
        self.assertEqual(r.headerValues("missing"), [])

    def test_selectSubprotocol(self) -> None:
        """
        The server's first supported subprotocol that the client offered
        wins; none when there is no common one.
        """
        self.assertEqual(request().selectSubprotocol(["c", "a", "b"]), "a")
        self.assertIsNone(request().selectSubprotocol(["c"]))

    def test_location(self) -> None:
        """
        The location is the request's ws or wss URL.
        """
        self.assertEqual(request().location, "ws://h.example/chat?room=1")
        self.assertEqual(request(secure=True).location, "wss://h.example/chat?room=1")

    def test_equality(self) -> None:
        """
        Requests are equal when their version, target, security and headers
        are; equal ones hash alike; other types are not equal to them.
        """
        self.assertEqual(request(), request())
        self.assertEqual(hash(request()), hash(request()))
        self.assertNotEqual(request(), request(target="/other"))
        self.assertNotEqual(request(), request(secure=True))
        self.assertNotEqual(request(), "GET /chat")

    def test_repr(self) -> None:
        """
        The repr names the method, target and version.
        """
        self.assertEqual(repr(request()), "<HandshakeRequest GET /chat?room=1 rfc6455>")


class EventTests(SynchronousTestCase):
    """
    Events as values: hashing, text decoding state, and the module's former
    names.
    """

    def test_hashWithListField(self) -> None:
        """
        An event holding a list (the response headers of
        L{ConnectionOpened}) is hashable, and equal events hash alike.
        """
        first = ConnectionOpened(Version.RFC6455, None, (), [("Server", "x")])
        second = ConnectionOpened(Version.RFC6455, None, (), [("Server", "x")])
        self.assertEqual(first, second)
        self.assertEqual(hash(first), hash(second))
        self.assertEqual(len({first, second}), 1)

    def test_isDecoded(self) -> None:
        """
        A text message made from UTF-8 is decoded on the first read of its
        text.
        """
        message = TextMessage(utf8="\u00e9".encode())
        self.assertFalse(message.isDecoded)
        self.assertEqual(message.data, "\u00e9")
        self.assertTrue(message.isDecoded)
        self.assertTrue(TextMessage("x").isDecoded)

    def test_textNeedsContent(self) -> None:
        """
        A text message needs its text or its bytes.
        """
        with self.assertRaises(TypeError) as caught:
            TextMessage()
        self.assertEqual(str(caught.exception), "TextMessage needs its text or its UTF-8 bytes")

    def test_unknownName(self) -> None:
        """
        A name the events module never had raises L{AttributeError}
        naming it.
        """
        with self.assertRaises(AttributeError) as caught:
            _events.NoSuchEvent  # noqa: B018
        self.assertEqual(str(caught.exception),
                         "module 'twisted_ws.codec._events' has no attribute 'NoSuchEvent'")

    def test_formerName(self) -> None:
        """
        A former name still works, with a L{DeprecationWarning} naming the
        new one.
        """
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            found = _events.ProtocolError
        self.assertIs(found, _events.ConnectionFailed)
        self.assertEqual([str(w.message) for w in caught],
                         ["twisted_ws.codec.ProtocolError is deprecated; use ConnectionFailed"])


class DeflateFrameOptionTests(SynchronousTestCase):
    """
    L{DeflateFrame} refuses settings zlib cannot use.
    """

    def test_refused(self) -> None:
        """
        A compression level, memLevel or minimum size out of range is
        refused, naming the setting and the value.
        """
        for kwargs, message in [
            ({"compressionLevel": 10}, "compressionLevel must be from -1 to 9, not 10"),
            ({"memLevel": 0}, "memLevel must be from 1 to 9, not 0"),
            ({"minSize": -1}, "minSize must not be negative, not -1"),
        ]:
            with self.assertRaises(ValueError) as caught:
                DeflateFrame(**kwargs)  # type: ignore[arg-type]
            self.assertEqual(str(caught.exception), message)

    def test_repr(self) -> None:
        """
        The repr shows the offer it makes.
        """
        factory = DeflateFrame()
        self.assertEqual(repr(factory), f"<DeflateFrame offer {factory.offer()!r}>")
        self.assertIn("deflate-frame", repr(factory))


class HixieLengthPrefixTests(SynchronousTestCase):
    """
    The length prefix of a hixie length-prefixed frame, arriving in pieces.
    """

    def test_longestPrefixWaits(self) -> None:
        """
        Ten continuation digits of a prefix are held while more data is
        awaited; the eleventh fails the connection with 1002, however the
        bytes were split.
        """
        for version in (Version.HIXIE75, Version.HIXIE76):
            conn = openServer(version)
            self.assertEqual(conn.receiveData(b"\x80" + b"\x81" * 10), [], version)
            events = conn.receiveData(b"\x81")
            self.assertEqual([e.code for e in events], [1002], version)

    def test_bytewise(self) -> None:
        """
        A prefix given a byte at a time fails at its eleventh continuation
        digit, not before.
        """
        conn = openServer(Version.HIXIE75)
        self.assertEqual(conn.receiveData(b"\x80"), [])
        for _ in range(10):
            self.assertEqual(conn.receiveData(b"\x81"), [])
        self.assertEqual([e.code for e in conn.receiveData(b"\x81")], [1002])


def refusal(request: bytes, options: Options = DEFAULT_OPTIONS) -> tuple[HandshakeFailed, int, dict[str, str]]:
    """
    Feed C{request} to a server connection that must refuse it: the one
    event, and the status and headers of the response sent.
    """
    server = ServerConnection(options)
    events = server.receiveData(request)
    assert [type(e) for e in events] == [HandshakeFailed], events
    status, headers, _ = parseResponse(server.dataToSend())
    return events[0], status, headers


class ServerRefusalTests(SynchronousTestCase):
    """
    Opening requests the server refuses, each with its status and reason.
    """

    def test_headerFolding(self) -> None:
        """
        A header continued on the next line (obsolete folding) gets 400.
        """
        event, status, _ = refusal(hybiRequest(extra="X-Long: a\r\n b\r\n"))
        self.assertEqual((event.status, status), (400, 400))
        self.assertEqual(event.reason, "obsolete header line folding in the request")

    def test_keyWithoutVersion(self) -> None:
        """
        A hybi key without Sec-WebSocket-Version gets 426, with the
        versions the server speaks.
        """
        request = hybiRequest().replace(b"Sec-WebSocket-Version: 13\r\n", b"")
        event, status, headers = refusal(request)
        self.assertEqual(status, 426)
        self.assertEqual(event.reason, "Sec-WebSocket-Key without Sec-WebSocket-Version")
        self.assertEqual(headers["upgrade"].lower(), "websocket")
        self.assertEqual(headers["sec-websocket-version"], "13, 8, 7")

    def test_offerAFactoryFindsInvalid(self) -> None:
        """
        An offer that its extension factory finds invalid (its C{acceptOffer}
        raises L{ValueError}) gets 400 naming the extension and the
        factory's reason; the built-in factories decline such offers
        instead, so the connection opens without the extension.
        """

        class Strict(FakeExtensionFactory):
            def acceptOffer(self, offers: list[dict[str, str | None]]) -> None:  # type: ignore[override]
                raise ValueError(f"unknown parameters {sorted(offers[0])}")

        event, status, _ = refusal(hybiRequest(extra="Sec-WebSocket-Extensions: x-strict; y\r\n"),
                                   Options(extensions=(Strict("x-strict"),)))
        self.assertEqual(status, 400)
        self.assertEqual(event.reason, "invalid x-strict offer: unknown parameters ['y']")

        server = ServerConnection(Options(extensions=(PerMessageDeflate(),)))
        events = server.receiveData(hybiRequest(
            extra="Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=99\r\n"))
        self.assertEqual([type(e) for e in events], [RequestReceived])
        self.assertEqual(server.accept(), [])
        status, headers, _ = parseResponse(server.dataToSend())
        self.assertEqual(status, 101)
        self.assertNotIn("sec-websocket-extensions", headers)


class ClientNegotiationTests(SynchronousTestCase):
    """
    Responses a client refuses because of what the server chose.
    """

    def test_severalSubprotocols(self) -> None:
        """
        A server that names several subprotocols fails the handshake with
        L{NegotiationError}.
        """
        client = ClientConnection("server.example.com", "/chat", subprotocols=("a", "b"),
                                  randomSource=rfcRandom)
        client.dataToSend()
        response = HYBI_RESPONSE.replace(b"\r\n\r\n", b"\r\nSec-WebSocket-Protocol: a, b\r\n\r\n", 1)
        events = client.receiveData(response)
        self.assertEqual([type(e) for e in events], [HandshakeFailed], events)
        self.assertIsInstance(events[0].error, NegotiationError)
        self.assertEqual(str(events[0].error), "server chose several subprotocols: ['a, b']")


class SmallPartsTests(SynchronousTestCase):
    """
    Helpers of the codec at the edges of their input.
    """

    def test_utf8ValidatorStaysInvalid(self) -> None:
        """
        Once the text cannot be valid UTF-8, every later piece is refused
        too, even a valid one, and so is the end.
        """
        validator = Utf8Validator()
        self.assertTrue(validator.feed(b"ok \xc3"))
        self.assertFalse(validator.feed(b"\x28"))
        self.assertFalse(validator.feed(b"fine"))
        self.assertFalse(validator.end())

    def test_utf8ValidatorIncompleteEnd(self) -> None:
        """
        Text that stops inside a character is not valid at its end.
        """
        validator = Utf8Validator()
        self.assertTrue(validator.feed(memoryview(b"\xe2\x82")))
        self.assertFalse(validator.end())

    def test_randomBelowOne(self) -> None:
        """
        The only integer below 1 (or 0) is 0, drawn without reading the
        random source.
        """
        calls: list[int] = []

        def source(n: int) -> bytes:
            calls.append(n)
            return b"\x07" * n

        random = Random(source)
        self.assertEqual((random.below(1), random.below(0)), (0, 0))
        self.assertEqual(calls, [])
        self.assertLess(random.below(10), 10)
        self.assertNotEqual(calls, [])

    def test_headerFormatting(self) -> None:
        """
        Header lines end in CRLF; a name that is not a token, or a value
        with CR, LF or NUL, is refused by name.
        """
        self.assertEqual(formatHeaders([("X-A", "1")]), ["X-A: 1\r\n"])
        with self.assertRaises(ValueError) as caught:
            formatHeaders([("X A", "1")])
        self.assertEqual(str(caught.exception), "invalid header name 'X A'")
        with self.assertRaises(ValueError) as caught:
            formatHeaders([("X-A", "1\r\nX-B: 2")])
        self.assertEqual(str(caught.exception), "invalid character in the value of header 'X-A'")

    def test_sendTextFromBuffer(self) -> None:
        """
        Text given as a bytearray or memoryview of UTF-8 is sent as it is;
        one that is not UTF-8 is refused.
        """
        for text in (bytearray("h\u00e9".encode()), memoryview("h\u00e9".encode())):
            conn = openServer(Version.RFC6455)
            conn.sendText(text)  # type: ignore[arg-type]
            self.assertEqual(conn.dataToSend(), b"\x81\x03h\xc3\xa9")
        conn = openServer(Version.RFC6455)
        self.assertRaises(LocalProtocolError, conn.sendText, bytearray(b"\xff"))  # type: ignore[arg-type]
        self.assertEqual(conn.dataToSend(), b"")
