"""
Tests for L{twisted_ws.codec._deflate}: permessage-deflate (RFC 7692)
negotiated and used by L{ServerConnection} and L{ClientConnection}, its
vectors, its limits, and interoperation with the C{websockets} package's own
implementation.
"""

from __future__ import annotations

import os
import random
import tracemalloc
import zlib

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from twisted_ws.codec import (
    BytesMessage,
    ClientConnection,
    ConnectionFailed,
    ConnectionOpened,
    HandshakeFailed,
    NegotiationError,
    Options,
    PeerError,
    Ping,
    PreparedMessage,
    RequestReceived,
    ServerConnection,
    State,
    TextMessage,
    Version,
)
from twisted_ws.codec._deflate import (
    encodeForKey,
    encodeShared,
    parseWindowBits,
    sharedEncodingKeyOf,
)
from twisted_ws.codec._extensions import parseExtensions
from twisted_ws.codec._permessagedeflate import PerMessageDeflate, PerMessageDeflateExtension

from ._support.codec import (
    HYBI_RESPONSE,
    HYBI_VERSIONS,
    feed,
    hybiRequest,
    maskedFrame,
    openPair,
    parseResponse,
    plainFrame,
    rfcRandom,
    splits,
)

#: The examples of RFC 7692 section 7.2.3, as the payloads of frames.
HELLO = bytes.fromhex("f248cdc9c90700")
HELLO_AGAIN = bytes.fromhex("f200110000")
HELLO_STORED = bytes.fromhex("000500faff48656c6c6f00")
HELLO_BFINAL = bytes.fromhex("f348cdc9c9070000")
HELLO_TWO_BLOCKS = bytes.fromhex("f24805000000ffffcac9c90700")


def pmdOptions(**kwargs) -> Options:
    """
    Options with a L{PerMessageDeflate} made of C{kwargs}.
    """
    return Options(extensions=(PerMessageDeflate(**kwargs),))


def deflatePair(server=None, client=None, serverOptions=None, clientOptions=None):
    """
    A client and a server that negotiated permessage-deflate with the given
    factories (defaults for L{None}).
    """
    server = server or PerMessageDeflate()
    client = client or PerMessageDeflate()
    serverOptions = serverOptions or Options(extensions=(server,))
    clientOptions = clientOptions or Options(extensions=(client,))
    return openPair(Version.RFC6455, serverOptions, clientOptions)


def deflateClient(response: str | None = "permessage-deflate", options=None):
    """
    A client offering permessage-deflate that received a 101 response naming
    C{response} in C{Sec-WebSocket-Extensions}; and the events of that.
    """
    options = options or pmdOptions()
    client = ClientConnection(
        "server.example.com", "/chat", options=options, randomSource=rfcRandom
    )
    client.dataToSend()
    head = HYBI_RESPONSE[:-2]
    if response is not None:
        head += f"Sec-WebSocket-Extensions: {response}\r\n".encode("latin-1")
    events = client.receiveData(head + b"\r\n")
    return client, events


def serverAnswer(offers: str, options=None):
    """
    A server's answer to a request offering C{offers}: the server, its
    events, the response's status and its C{Sec-WebSocket-Extensions} value
    (L{None} when absent).
    """
    server = ServerConnection(options or pmdOptions())
    events = server.receiveData(hybiRequest(extra=f"Sec-WebSocket-Extensions: {offers}\r\n"))
    if events and isinstance(events[0], RequestReceived):
        events += server.accept()
    status, headers, _ = parseResponse(server.dataToSend())
    return server, events, status, headers.get("sec-websocket-extensions")


def exchange(sender, receiver) -> list:
    """
    Move what C{sender} queued to C{receiver}; return the events.
    """
    return receiver.receiveData(sender.dataToSend())


def frames(data: bytes) -> list[tuple[int, bytes]]:
    """
    Split unmasked or masked frames into (first byte, payload) pairs.
    """
    result = []
    pos = 0
    while pos < len(data):
        b0, b1 = data[pos], data[pos + 1]
        n = b1 & 0x7F
        pos += 2
        if n == 126:
            n = int.from_bytes(data[pos : pos + 2], "big")
            pos += 2
        elif n == 127:
            n = int.from_bytes(data[pos : pos + 8], "big")
            pos += 8
        key = b""
        if b1 & 0x80:
            key, pos = data[pos : pos + 4], pos + 4
        payload = data[pos : pos + n]
        if key:
            payload = bytes(c ^ key[i % 4] for i, c in enumerate(payload))
        result.append((b0, payload))
        pos += n
    return result


class WindowBitsParsingTests(SynchronousTestCase):
    """
    The values a window bits parameter may have.
    """

    def test_valid(self) -> None:
        """
        8 to 15 are accepted; no value only where allowed.
        """
        for bits in range(8, 16):
            self.assertEqual(parseWindowBits("x", str(bits), False), bits)
        self.assertIsNone(parseWindowBits("x", None, True))

    def test_invalid(self) -> None:
        """
        Out of range, leading zeros, signs, non-digits and a missing value
        are refused with the parameter's name.
        """
        for value in ("7", "16", "08", "+9", "9.0", "nine", "", " 9", "1e1", None):
            with self.assertRaises(ValueError) as caught:
                parseWindowBits("server_max_window_bits", value, False)
            self.assertIn("server_max_window_bits", str(caught.exception))


class FactoryArgumentTests(SynchronousTestCase):
    """
    L{PerMessageDeflate} checks its arguments.
    """

    def test_badArguments(self) -> None:
        """
        Out-of-range knobs and contradictory policies raise ValueError.
        """
        for kwargs in (
            {"serverMaxWindowBits": 7},
            {"clientMaxWindowBits": 16},
            {"serverMaxWindowBits": True},
            {"compressionLevel": 10},
            {"memLevel": 0},
            {"memLevel": 10},
            {"minSize": -1},
            {"requireClientMaxWindowBits": True},
            {"serverNoContextTakeover": True, "allowServerNoContextTakeover": False},
        ):
            self.assertRaises(ValueError, PerMessageDeflate, **kwargs)


class ServerNegotiationTests(SynchronousTestCase):
    """
    A server's choice among the client's offers (RFC 7692 section 7.1).
    """

    def accept(self, offer: str, **policy) -> PerMessageDeflateExtension | None:
        """
        What a server with C{policy} answers to the offers in C{offer}.
        """
        offers = [params for _, params in parseExtensions([offer])]
        return PerMessageDeflate(**policy).acceptOffer(offers)

    def assertResponse(self, offer: str, response: str, **policy) -> PerMessageDeflateExtension:
        """
        The offer is accepted with this response.
        """
        ext = self.accept(offer, **policy)
        self.assertIsNotNone(ext)
        assert ext is not None
        self.assertEqual(ext.responseParams(), response)
        return ext

    def test_plainOffer(self) -> None:
        """
        A bare offer is accepted with a bare response: both sides take their
        context over; the client may use a 15-bit window, and the server
        compresses with its own 12-bit cap, which it does not announce.
        """
        ext = self.assertResponse("permessage-deflate", "permessage-deflate")
        self.assertEqual((ext.localNoContextTakeover, ext.remoteNoContextTakeover), (False, False))
        self.assertEqual((ext.localWindowBits, ext.remoteWindowBits), (12, 15))
        self.assertEqual((ext.compressionLevel, ext.memLevel), (-1, 5))

    def test_serverNoContextTakeoverOffered(self) -> None:
        """
        An offered server_no_context_takeover is granted and obeyed.
        """
        ext = self.assertResponse(
            "permessage-deflate; server_no_context_takeover",
            "permessage-deflate; server_no_context_takeover",
        )
        self.assertTrue(ext.localNoContextTakeover)
        self.assertFalse(ext.remoteNoContextTakeover)

    def test_serverNoContextTakeoverPolicy(self) -> None:
        """
        A server configured without context takeover says so unasked.
        """
        ext = self.assertResponse(
            "permessage-deflate",
            "permessage-deflate; server_no_context_takeover",
            serverNoContextTakeover=True,
        )
        self.assertTrue(ext.localNoContextTakeover)

    def test_requireContextTakeover(self) -> None:
        """
        A server that keeps its context declines offers asking it not to,
        and takes a later offer that does not.
        """
        self.assertIsNone(
            self.accept(
                "permessage-deflate; server_no_context_takeover",
                allowServerNoContextTakeover=False,
            )
        )
        self.assertResponse(
            "permessage-deflate; server_no_context_takeover, permessage-deflate",
            "permessage-deflate",
            allowServerNoContextTakeover=False,
        )

    def test_clientNoContextTakeoverOffered(self) -> None:
        """
        An offered client_no_context_takeover is answered, which makes it
        binding, and the server drops its decompressor between messages.
        """
        ext = self.assertResponse(
            "permessage-deflate; client_no_context_takeover",
            "permessage-deflate; client_no_context_takeover",
        )
        self.assertTrue(ext.remoteNoContextTakeover)
        self.assertFalse(ext.localNoContextTakeover)

    def test_clientNoContextTakeoverPolicy(self) -> None:
        """
        A server may impose client_no_context_takeover on an offer without
        it.
        """
        ext = self.assertResponse(
            "permessage-deflate",
            "permessage-deflate; client_no_context_takeover",
            clientNoContextTakeover=True,
        )
        self.assertTrue(ext.remoteNoContextTakeover)

    def test_serverMaxWindowBits(self) -> None:
        """
        server_max_window_bits: the offered value, or the server's cap when
        it is smaller or was not offered.
        """
        ext = self.assertResponse(
            "permessage-deflate; server_max_window_bits=10",
            "permessage-deflate; server_max_window_bits=10",
        )
        self.assertEqual(ext.localWindowBits, 10)
        ext = self.assertResponse(
            "permessage-deflate; server_max_window_bits=12",
            "permessage-deflate; server_max_window_bits=9",
            serverMaxWindowBits=9,
        )
        self.assertEqual(ext.localWindowBits, 9)
        ext = self.assertResponse(
            "permessage-deflate; server_max_window_bits=10",
            "permessage-deflate; server_max_window_bits=10",
            serverMaxWindowBits=12,
        )
        self.assertEqual(ext.localWindowBits, 10)
        ext = self.assertResponse(
            "permessage-deflate",
            "permessage-deflate; server_max_window_bits=11",
            serverMaxWindowBits=11,
        )
        self.assertEqual(ext.localWindowBits, 11)

    def test_clientMaxWindowBits(self) -> None:
        """
        client_max_window_bits: with no value the server may choose; with a
        value it answers that or its smaller cap; not offered, it must not
        be named, and the server inflates with 15 bits.
        """
        ext = self.assertResponse(
            "permessage-deflate; client_max_window_bits", "permessage-deflate"
        )
        self.assertEqual(ext.remoteWindowBits, 15)
        ext = self.assertResponse(
            "permessage-deflate; client_max_window_bits",
            "permessage-deflate; client_max_window_bits=11",
            clientMaxWindowBits=11,
        )
        self.assertEqual(ext.remoteWindowBits, 11)
        ext = self.assertResponse(
            "permessage-deflate; client_max_window_bits=10",
            "permessage-deflate; client_max_window_bits=10",
        )
        self.assertEqual(ext.remoteWindowBits, 10)
        ext = self.assertResponse(
            "permessage-deflate; client_max_window_bits=12",
            "permessage-deflate; client_max_window_bits=10",
            clientMaxWindowBits=10,
        )
        self.assertEqual(ext.remoteWindowBits, 10)
        ext = self.assertResponse(
            "permessage-deflate", "permessage-deflate", clientMaxWindowBits=10
        )
        self.assertEqual(ext.remoteWindowBits, 15)

    def test_requireClientMaxWindowBits(self) -> None:
        """
        With requireClientMaxWindowBits, an offer that does not let the
        server cap the client's window is declined.
        """
        policy = {"clientMaxWindowBits": 9, "requireClientMaxWindowBits": True}
        self.assertIsNone(self.accept("permessage-deflate", **policy))
        self.assertResponse(
            "permessage-deflate, permessage-deflate; client_max_window_bits",
            "permessage-deflate; client_max_window_bits=9",
            **policy,
        )

    def test_everyParameter(self) -> None:
        """
        An offer with all four parameters is granted in full.
        """
        ext = self.assertResponse(
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
            "server_max_window_bits=9; client_max_window_bits=8",
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
            "server_max_window_bits=9; client_max_window_bits=8",
        )
        self.assertEqual((ext.localWindowBits, ext.remoteWindowBits), (9, 8))

    def test_invalidOffersDeclined(self) -> None:
        """
        An offer with an unknown parameter, a flag with a value, a window
        size out of range or malformed, or server_max_window_bits without
        value, is declined.
        """
        for offer in (
            "permessage-deflate; foo",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; client_no_context_takeover=true",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits=010",
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; client_max_window_bits=abc",
            'permessage-deflate; client_max_window_bits="16"',
        ):
            self.assertIsNone(self.accept(offer), offer)

    def test_firstAcceptableOfferChosen(self) -> None:
        """
        Of several offers, the first valid one is chosen; a quoted value
        counts as its content.
        """
        self.assertResponse(
            "permessage-deflate; server_max_window_bits=16, "
            'permessage-deflate; server_max_window_bits="10", '
            "permessage-deflate",
            "permessage-deflate; server_max_window_bits=10",
        )


class ServerHandshakeTests(SynchronousTestCase):
    """
    permessage-deflate in a L{ServerConnection}'s opening handshake.
    """

    def test_responseHeader(self) -> None:
        """
        The accepted offer's parameters are in the 101 response and the
        connection's extensions.
        """
        server, events, status, header = serverAnswer(
            "permessage-deflate; client_max_window_bits; server_max_window_bits=10",
            pmdOptions(clientMaxWindowBits=12),
        )
        self.assertEqual(status, 101)
        self.assertEqual(
            header, "permessage-deflate; server_max_window_bits=10; client_max_window_bits=12"
        )
        self.assertEqual([type(e) for e in events], [RequestReceived])
        (ext,) = server.extensions
        self.assertIsInstance(ext, PerMessageDeflateExtension)

    def test_declinedOffersOnly(self) -> None:
        """
        When every offer is declined the connection opens without
        compression and the response names no extension.
        """
        server, _, status, header = serverAnswer("permessage-deflate; server_max_window_bits=99")
        self.assertEqual(status, 101)
        self.assertIsNone(header)
        self.assertEqual(server.extensions, ())

    def test_notConfigured(self) -> None:
        """
        A server without the factory declines permessage-deflate.
        """
        server, _, status, header = serverAnswer("permessage-deflate", Options())
        self.assertEqual(status, 101)
        self.assertIsNone(header)

    def test_repeatedParameter(self) -> None:
        """
        An offer that repeats a parameter is declined (RFC 7692 section 5):
        the connection opens without it.
        """
        server, events, status, header = serverAnswer(
            "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10"
        )
        self.assertEqual(status, 101)
        self.assertIsNone(header)

    def test_repeatedParameterNextOfferTaken(self) -> None:
        """
        After an offer that repeats a parameter, the client's next offer is
        considered.
        """
        server, events, status, header = serverAnswer(
            "permessage-deflate; client_max_window_bits; client_max_window_bits, "
            "permessage-deflate"
        )
        self.assertEqual(status, 101)
        self.assertEqual(header, "permessage-deflate")

    def test_repeatedParameterInResponse(self) -> None:
        """
        A server answer that repeats a parameter fails the client's
        handshake.
        """
        client, events = deflateClient(
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover"
        )
        self.assertEqual([type(e) for e in events], [HandshakeFailed])
        self.assertIn("repeated", events[0].reason)


class ClientNegotiationTests(SynchronousTestCase):
    """
    A client's offer and its check of the server's answer.
    """

    def test_offers(self) -> None:
        """
        The offer names what the factory asks for, and always says that the
        client supports client_max_window_bits.
        """
        self.assertEqual(PerMessageDeflate().offer(), "permessage-deflate; client_max_window_bits")
        self.assertEqual(
            PerMessageDeflate(
                serverNoContextTakeover=True,
                clientNoContextTakeover=True,
                serverMaxWindowBits=10,
                clientMaxWindowBits=9,
            ).offer(),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
            "server_max_window_bits=10; client_max_window_bits=9",
        )

    def test_acceptedResponses(self) -> None:
        """
        Responses within the offer give the extension those settings.
        """
        ext = PerMessageDeflate().acceptResponse({})
        self.assertEqual((ext.localWindowBits, ext.remoteWindowBits), (12, 15))
        ext = PerMessageDeflate(localMaxWindowBits=None).acceptResponse({})
        self.assertEqual((ext.localWindowBits, ext.remoteWindowBits), (15, 15))
        self.assertEqual((ext.localNoContextTakeover, ext.remoteNoContextTakeover), (False, False))
        ext = PerMessageDeflate().acceptResponse(
            {
                "server_no_context_takeover": None,
                "client_no_context_takeover": None,
                "server_max_window_bits": "12",
                "client_max_window_bits": "8",
            }
        )
        self.assertEqual((ext.localWindowBits, ext.remoteWindowBits), (8, 12))
        self.assertEqual((ext.localNoContextTakeover, ext.remoteNoContextTakeover), (True, True))
        ext = PerMessageDeflate(
            clientMaxWindowBits=10, clientNoContextTakeover=True
        ).acceptResponse({})
        self.assertEqual(ext.localWindowBits, 10)
        self.assertTrue(ext.localNoContextTakeover)
        ext = PerMessageDeflate(serverMaxWindowBits=12).acceptResponse(
            {"server_max_window_bits": "9"}
        )
        self.assertEqual(ext.remoteWindowBits, 9)

    def test_refusedResponses(self) -> None:
        """
        A response with an unknown or malformed parameter, or that does not
        grant what the offer required, is refused with a reason.
        """
        cases = [
            ({}, {"foo": None}, "foo"),
            ({}, {"server_no_context_takeover": "x"}, "takes no value"),
            ({}, {"server_max_window_bits": "16"}, "from 8 to 15"),
            ({}, {"client_max_window_bits": None}, "needs a value"),
            ({"serverNoContextTakeover": True}, {}, "server_no_context_takeover"),
            ({"serverMaxWindowBits": 10}, {}, "server_max_window_bits=10"),
            ({"serverMaxWindowBits": 10}, {"server_max_window_bits": "11"}, "above"),
            ({"clientMaxWindowBits": 10}, {"client_max_window_bits": "12"}, "above"),
        ]
        for factoryArgs, response, words in cases:
            with self.assertRaises(ValueError) as caught:
                PerMessageDeflate(**factoryArgs).acceptResponse(response)
            self.assertIn(words, str(caught.exception))

    def test_clientConnectionNegotiates(self) -> None:
        """
        A L{ClientConnection} offers permessage-deflate and opens with it.
        """
        client = ClientConnection(
            "server.example.com", "/chat", options=pmdOptions(), randomSource=rfcRandom
        )
        self.assertIn(
            b"\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n",
            client.dataToSend(),
        )
        client.receiveData(
            HYBI_RESPONSE[:-2]
            + b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=9\r\n\r\n"
        )
        self.assertIs(client.state, State.OPEN)
        (ext,) = client.extensions
        self.assertEqual(ext.localWindowBits, 9)

    def test_clientConnectionRefuses(self) -> None:
        """
        A server answer that breaks the rules fails the client's handshake
        with a readable L{NegotiationError}, not an exception.
        """
        for response in (
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; client_max_window_bits",
            "permessage-deflate; bogus=1",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate, permessage-deflate",
        ):
            client, events = deflateClient(response)
            self.assertEqual([type(e) for e in events], [HandshakeFailed], response)
            self.assertIsInstance(client.cause, NegotiationError)
            self.assertIn("permessage-deflate", client.cause.reason)
            self.assertIs(client.state, State.CLOSED)

    def test_serverDeclined(self) -> None:
        """
        A server that answers without the extension leaves the connection
        uncompressed.
        """
        client, events = deflateClient(None)
        self.assertEqual([type(e) for e in events], [ConnectionOpened])
        self.assertEqual(client.extensions, ())

    def test_noContextTakeoverOffer(self) -> None:
        """
        A client offering C{client_no_context_takeover} (as the compliance
        runs do) opens with every answer a server may give to that offer, and
        takes each answer's parameters: the window it is capped to, the
        server's window and the server's context takeover.  It keeps to no
        context takeover whether or not the answer repeats it.
        """
        factory = PerMessageDeflate(clientNoContextTakeover=True, localMaxWindowBits=None)
        self.assertEqual(
            factory.offer(),
            "permessage-deflate; client_no_context_takeover; client_max_window_bits",
        )
        # answer -> (localWindowBits, remoteWindowBits, remoteNoContextTakeover)
        answers = {
            "permessage-deflate": (15, 15, False),
            "permessage-deflate; client_no_context_takeover": (15, 15, False),
            "permessage-deflate; client_max_window_bits=9": (9, 15, False),
            "permessage-deflate; client_max_window_bits=15": (15, 15, False),
            "permessage-deflate; client_no_context_takeover; client_max_window_bits=9": (
                9,
                15,
                False,
            ),
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=10": (
                15,
                10,
                True,
            ),
            "permessage-deflate; client_max_window_bits=8; server_max_window_bits=8": (8, 8, False),
        }
        for answer, (local, remote, remoteNoContext) in answers.items():
            client, events = deflateClient(answer, options=Options(extensions=(factory,)))
            self.assertEqual([type(e) for e in events], [ConnectionOpened], answer)
            (ext,) = client.extensions
            self.assertEqual(
                (
                    ext.localWindowBits,
                    ext.remoteWindowBits,
                    ext.localNoContextTakeover,
                    ext.remoteNoContextTakeover,
                ),
                (local, remote, True, remoteNoContext),
                answer,
            )
            self.assertEqual(ext.responseParams(), answer)

    def test_noContextTakeoverOfferKept(self) -> None:
        """
        A client that offered C{client_no_context_takeover} compresses every
        message on its own even when the answer does not name it: the same
        message twice gives the same payload twice, with no reference to the
        first.
        """
        client, events = deflateClient(
            "permessage-deflate",
            options=Options(extensions=(PerMessageDeflate(clientNoContextTakeover=True),)),
        )
        self.assertEqual([type(e) for e in events], [ConnectionOpened])
        message = b'{"user": 17, "text": "hello, hello, hello"}' * 4
        client.sendBytesMessage(message)
        client.sendBytesMessage(message)
        (first, firstPayload), (second, secondPayload) = frames(client.dataToSend())
        self.assertEqual((first, second), (0xC2, 0xC2))
        self.assertEqual(firstPayload, secondPayload)
        self.assertEqual(
            zlib.decompressobj(-15).decompress(secondPayload + b"\x00\x00\xff\xff"), message
        )

    def test_serverAnswersNoContextTakeoverOffer(self) -> None:
        """
        Against twisted_ws's own server, whatever its policy, a client
        offering C{client_no_context_takeover} gets the answer that policy
        gives, and messages go both ways intact.
        """
        policies = {
            (): "permessage-deflate; client_no_context_takeover",
            (("clientMaxWindowBits", 9),): (
                "permessage-deflate; client_no_context_takeover; client_max_window_bits=9"
            ),
            (("serverNoContextTakeover", True), ("serverMaxWindowBits", 10)): (
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
                "server_max_window_bits=10"
            ),
        }
        for policy, answer in policies.items():
            client, server = deflatePair(
                server=PerMessageDeflate(**dict(policy)),
                client=PerMessageDeflate(clientNoContextTakeover=True),
            )
            (serverExt,) = server.extensions
            self.assertEqual(serverExt.responseParams(), answer)
            self.assertTrue(serverExt.remoteNoContextTakeover)
            messages = randomMessages(len(policy), 12)
            for message in messages:
                send(server, message)
                send(client, message)
            self.assertEqual(exchange(server, client), [asEvent(m) for m in messages])
            self.assertEqual(exchange(client, server), [asEvent(m) for m in messages])


class VectorTests(SynchronousTestCase):
    """
    The examples of RFC 7692 section 7.2.3.
    """

    def assertDecodes(self, data: bytes, expected: list, every: bool = True) -> None:
        """
        A client that negotiated permessage-deflate turns C{data} (frames
        from the server), fed whole or in pieces, into C{expected} messages.
        """
        for chunks in splits(data) if every else [[data]]:
            client, _ = deflateClient()
            events = feed(client, chunks)
            self.assertEqual(events, expected, chunks)
            self.assertIs(client.state, State.OPEN)

    def test_oneFrame(self) -> None:
        """
        "Hello" compressed in one frame.
        """
        self.assertDecodes(plainFrame(0xC1, HELLO), [TextMessage("Hello")])

    def test_fragmented(self) -> None:
        """
        "Hello" compressed and split into two frames, RSV1 on the first.
        """
        self.assertDecodes(
            plainFrame(0x41, HELLO[:3]) + plainFrame(0x80, HELLO[3:]), [TextMessage("Hello")]
        )

    def test_contextTakeover(self) -> None:
        """
        The second "Hello" refers back to the first.
        """
        self.assertDecodes(
            plainFrame(0xC1, HELLO) + plainFrame(0xC1, HELLO_AGAIN),
            [TextMessage("Hello"), TextMessage("Hello")],
        )

    def test_storedBlock(self) -> None:
        """
        "Hello" in a stored (uncompressed) DEFLATE block.
        """
        self.assertDecodes(plainFrame(0xC1, HELLO_STORED), [TextMessage("Hello")])

    def test_bfinal(self) -> None:
        """
        "Hello" in a block with BFINAL set, followed by the octet that makes
        the appended tail a valid block.
        """
        self.assertDecodes(plainFrame(0xC1, HELLO_BFINAL), [TextMessage("Hello")])

    def test_bfinalThenNewStream(self) -> None:
        """
        After a message ended with BFINAL, the next messages start a new
        stream, whose context the message after them takes over.
        """
        self.assertDecodes(
            plainFrame(0xC1, HELLO_BFINAL)
            + plainFrame(0xC1, HELLO)
            + plainFrame(0xC1, HELLO_AGAIN),
            [TextMessage("Hello")] * 3,
        )

    def test_bfinalThenReference(self) -> None:
        """
        A message that refers back to one ended with BFINAL decodes when
        that one arrived in one piece.
        """
        self.assertDecodes(
            plainFrame(0xC1, HELLO_BFINAL) + plainFrame(0xC1, HELLO_AGAIN),
            [TextMessage("Hello")] * 2,
            every=False,
        )

    def test_twoBlocks(self) -> None:
        """
        "He" and "llo" in two DEFLATE blocks of one message.
        """
        self.assertDecodes(plainFrame(0xC1, HELLO_TWO_BLOCKS), [TextMessage("Hello")])

    def test_serverDecodesMasked(self) -> None:
        """
        A server decodes the same vectors sent masked by a client.
        """
        for version in HYBI_VERSIONS:
            client, server = openPair(version, pmdOptions(), pmdOptions())
            data = (
                maskedFrame(0xC1, HELLO)
                + maskedFrame(0xC1, HELLO_AGAIN)
                + maskedFrame(0x41, HELLO_STORED[:4])
                + maskedFrame(0x80, HELLO_STORED[4:])
            )
            for chunks in splits(data):
                client, server = openPair(version, pmdOptions(), pmdOptions())
                self.assertEqual(feed(server, chunks), [TextMessage("Hello")] * 3)

    def test_encoderMatchesVectors(self) -> None:
        """
        The encoder sends "Hello" twice as the RFC's first and context
        takeover examples.
        """
        client, server = deflatePair()
        server.sendTextMessage("Hello")
        server.sendTextMessage("Hello")
        data = server.dataToSend()
        self.assertEqual(data, plainFrame(0xC1, HELLO) + plainFrame(0xC1, HELLO_AGAIN))
        self.assertEqual(client.receiveData(data), [TextMessage("Hello")] * 2)

    def test_emptyMessage(self) -> None:
        """
        An empty message compresses to the single octet 00 with RSV1 (RFC
        7692 section 7.2.3.6), which decodes to an empty message, as does an
        empty payload with RSV1.
        """
        client, server = deflatePair()
        server.sendBytesMessage(b"")
        data = server.dataToSend()
        self.assertEqual(data, b"\xc2\x01\x00")
        self.assertEqual(client.receiveData(b"\xc2\x00"), [BytesMessage(b"")])
        self.assertEqual(client.receiveData(data), [BytesMessage(b"")])


def randomMessages(seed: int, count: int) -> list:
    """
    Reproducible text and binary messages, compressible and not, of sizes
    from 0 to about 70 KB.
    """
    rng = random.Random(seed)
    words = [b"alpha", b"beta", b"gamma", b'{"user": 17, "text": "', b"\xc3\xa9t\xc3\xa9", b" "]
    messages: list = []
    for _ in range(count):
        size = rng.choice([0, 1, 20, 200, 3000, 70000])
        if rng.random() < 0.3:
            messages.append(rng.randbytes(size))
        else:
            text = b"".join(rng.choice(words) for _ in range(size // 4 + 1))
            messages.append(text.decode("utf-8"))
    return messages


def send(conn, message) -> None:
    """
    Send a text (L{str}) or binary message.
    """
    if isinstance(message, str):
        conn.sendTextMessage(message)
    else:
        conn.sendBytesMessage(message)


def asEvent(message):
    """
    The event a message arrives as.
    """
    return TextMessage(message) if isinstance(message, str) else BytesMessage(message)


class RoundTripTests(SynchronousTestCase):
    """
    Messages compressed by one side and inflated by the other.
    """

    SETTINGS = [
        {},
        {"serverNoContextTakeover": True},
        {"clientNoContextTakeover": True},
        {"serverNoContextTakeover": True, "clientNoContextTakeover": True},
        {"serverMaxWindowBits": 9, "clientMaxWindowBits": 8},
        {"serverMaxWindowBits": 8, "clientMaxWindowBits": 10, "memLevel": 1},
        {"compressionLevel": 0},
        {"compressionLevel": 9, "memLevel": 9},
        {"minSize": 100},
    ]

    def roundTrip(self, settings: dict, fragmentSize: int | None = None, seed: int = 0) -> None:
        """
        Many messages in both directions arrive intact with C{settings} on
        both sides.
        """
        serverOptions = Options(
            extensions=(PerMessageDeflate(**settings),), fragmentSize=fragmentSize
        )
        clientOptions = Options(
            extensions=(PerMessageDeflate(**settings),), fragmentSize=fragmentSize
        )
        client, server = deflatePair(serverOptions=serverOptions, clientOptions=clientOptions)
        self.assertEqual(len(server.extensions), 1)
        messages = randomMessages(seed, 30)
        for message in messages:
            send(server, message)
            send(client, message)
        self.assertEqual(exchange(server, client), [asEvent(m) for m in messages])
        self.assertEqual(exchange(client, server), [asEvent(m) for m in messages])

    def test_settings(self) -> None:
        """
        Every combination of context takeover, window and level works in
        both directions.
        """
        for i, settings in enumerate(self.SETTINGS):
            self.roundTrip(settings, seed=i)

    def test_fragmented(self) -> None:
        """
        Compressed messages sent in fragments arrive intact.
        """
        for i, settings in enumerate(self.SETTINGS[:4]):
            self.roundTrip(settings, fragmentSize=100, seed=10 + i)

    def test_rsv1OnFirstFrameOnly(self) -> None:
        """
        A fragmented compressed message has RSV1 on its first frame only.
        """
        options = Options(extensions=(PerMessageDeflate(),), fragmentSize=8)
        client, server = deflatePair(serverOptions=options, clientOptions=options)
        message = "".join(str(i) for i in range(200))
        for conn, peer in ((server, client), (client, server)):
            conn.sendTextMessage(message)
            data = conn.dataToSend()
            sent = frames(data)
            self.assertGreater(len(sent), 2)
            self.assertEqual(sent[0][0], 0x41)
            self.assertEqual({b0 for b0, _ in sent[1:-1]}, {0x00})
            self.assertEqual(sent[-1][0], 0x80)
            self.assertEqual(peer.receiveData(data), [TextMessage(message)])

    def test_streamedInPieces(self) -> None:
        """
        A large compressed message fed in small pieces is inflated as it
        arrives and arrives intact.
        """
        client, server = deflatePair()
        message = os.urandom(5000).hex() * 3
        server.sendTextMessage(message)
        data = server.dataToSend()
        events = feed(client, [data[i : i + 7] for i in range(0, len(data), 7)])
        self.assertEqual(events, [TextMessage(message)])

    def test_controlFramesUncompressed(self) -> None:
        """
        Pings, pongs and close frames go out with RSV bits clear.
        """
        client, server = deflatePair()
        server.ping(b"ping data ping data")
        server.pong(b"pong data pong data")
        server.close(1000, "bye bye bye bye")
        sent = frames(server.dataToSend())
        self.assertEqual([b0 for b0, _ in sent], [0x89, 0x8A, 0x88])
        self.assertEqual(sent[0][1], b"ping data ping data")
        client.ping(b"abc")
        self.assertEqual(frames(client.dataToSend())[0], (0x89, b"abc"))

    def test_controlFrameBetweenCompressedFragments(self) -> None:
        """
        A ping between the frames of a compressed message arrives at its
        place and leaves the message intact.
        """
        client, server = deflatePair()
        data = plainFrame(0x41, HELLO[:3]) + plainFrame(0x89, b"hi") + plainFrame(0x80, HELLO[3:])
        for chunks in splits(data):
            client, server = deflatePair()
            events = feed(client, chunks)
            self.assertEqual(events, [Ping(b"hi"), TextMessage("Hello")])

    def test_uncompressedMessagesMix(self) -> None:
        """
        Messages with RSV1 clear are taken as they are, between compressed
        ones that take their context over.
        """
        client, _ = deflateClient()
        events = client.receiveData(
            plainFrame(0xC1, HELLO) + plainFrame(0x81, b"plain") + plainFrame(0xC1, HELLO_AGAIN)
        )
        self.assertEqual(events, [TextMessage("Hello"), TextMessage("plain"), TextMessage("Hello")])

    def test_minSize(self) -> None:
        """
        Messages under minSize go out uncompressed (RSV1 clear); others are
        compressed.
        """
        client, server = deflatePair(server=PerMessageDeflate(minSize=50))
        server.sendTextMessage("short")
        server.sendTextMessage("x" * 50)
        data = server.dataToSend()
        sent = frames(data)
        self.assertEqual(sent[0], (0x81, b"short"))
        self.assertEqual(sent[1][0], 0xC1)
        self.assertLess(len(sent[1][1]), 50)
        self.assertEqual(client.receiveData(data), [TextMessage("short"), TextMessage("x" * 50)])

    def test_incompressibleWithoutContextTakeover(self) -> None:
        """
        Without context takeover, a message that compression would make
        longer goes out as it is.
        """
        client, server = deflatePair(server=PerMessageDeflate(serverNoContextTakeover=True))
        noise = os.urandom(300)
        server.sendBytesMessage(noise)
        data = server.dataToSend()
        self.assertEqual(frames(data), [(0x82, noise)])
        self.assertEqual(client.receiveData(data), [BytesMessage(noise)])

    def test_levelAndMemLevel(self) -> None:
        """
        Level 0 stores, level 9 compresses; both decode.
        """
        message = "abcabcabd" * 400
        sizes = {}
        for level in (0, 9):
            client, server = deflatePair(
                server=PerMessageDeflate(compressionLevel=level, memLevel=2)
            )
            server.sendTextMessage(message)
            data = server.dataToSend()
            sizes[level] = len(data)
            self.assertEqual(client.receiveData(data), [TextMessage(message)])
        self.assertGreater(sizes[0], len(message))
        self.assertLess(sizes[9], len(message) // 10)

    def test_windowOf8(self) -> None:
        """
        With 8-bit windows negotiated, messages that repeat earlier ones
        (further back than 256 bytes, and close by) still decode with the
        negotiated 256-byte window on the receiving side.
        """
        rng = random.Random(5)
        client, server = deflatePair(
            server=PerMessageDeflate(serverMaxWindowBits=8, clientMaxWindowBits=8)
        )
        (ext,) = client.extensions
        self.assertEqual((ext.localWindowBits, ext.remoteWindowBits), (8, 8))
        for _ in range(50):
            message = bytes(rng.choice(b"abcd") for _ in range(rng.randrange(1, 1500)))
            server.sendBytesMessage(message)
            client.sendBytesMessage(message)
            self.assertEqual(exchange(server, client), [BytesMessage(message)])
            self.assertEqual(exchange(client, server), [BytesMessage(message)])


class ContextAllocationTests(SynchronousTestCase):
    """
    When compression contexts exist.
    """

    def test_allocatedOnFirstUse(self) -> None:
        """
        A new connection holds no compressor or decompressor.
        """
        client, server = deflatePair()
        for conn in (client, server):
            (ext,) = conn.extensions
            self.assertFalse(ext.hasCompressor)
            self.assertFalse(ext.hasDecompressor)

    def test_contextTakeoverKeepsThem(self) -> None:
        """
        With context takeover both contexts stay after a message.
        """
        client, server = deflatePair()
        server.sendTextMessage("hello hello")
        exchange(server, client)
        self.assertTrue(server.extensions[0].hasCompressor)
        self.assertTrue(client.extensions[0].hasDecompressor)

    def test_noContextTakeoverReleasesThem(self) -> None:
        """
        Without context takeover the sender's compressor and the receiver's
        decompressor are dropped after each message, also after a
        fragmented one.
        """
        factory = PerMessageDeflate(serverNoContextTakeover=True, clientNoContextTakeover=True)
        options = Options(extensions=(factory,), fragmentSize=5)
        client, server = deflatePair(serverOptions=options, clientOptions=options)
        for sender, receiver in ((server, client), (client, server)):
            sender.sendTextMessage("hello hello hello hello")
            self.assertFalse(sender.extensions[0].hasCompressor)
            self.assertEqual(exchange(sender, receiver), [TextMessage("hello hello hello hello")])
            self.assertFalse(receiver.extensions[0].hasDecompressor)


class SharedEncodingTests(SynchronousTestCase):
    """
    Encoding a broadcast once for every connection with the same settings.
    """

    def test_keys(self) -> None:
        """
        Connections that compress without context takeover with the same
        settings share a key; context takeover has none; other settings
        another key.
        """

        def key(**settings):
            _, server = deflatePair(server=PerMessageDeflate(**settings))
            return server.extensions[0].sharedEncodingKey()

        self.assertIsNone(key())
        a = key(serverNoContextTakeover=True)
        self.assertIsNotNone(a)
        self.assertEqual(a, key(serverNoContextTakeover=True, clientNoContextTakeover=True))
        self.assertNotEqual(a, key(serverNoContextTakeover=True, serverMaxWindowBits=10))
        self.assertNotEqual(a, key(serverNoContextTakeover=True, compressionLevel=1))
        self.assertNotEqual(a, key(serverNoContextTakeover=True, memLevel=4))
        self.assertEqual(
            key(serverNoContextTakeover=True, serverMaxWindowBits=8),
            key(serverNoContextTakeover=True, serverMaxWindowBits=9),
        )
        self.assertEqual(hash(a), hash(key(serverNoContextTakeover=True)))

    def test_encodeForKeyMatchesConnections(self) -> None:
        """
        What L{encodeForKey} produces is byte for byte what each connection
        with that key sends, and every such connection's peer decodes it.
        """
        factory = PerMessageDeflate(serverNoContextTakeover=True, serverMaxWindowBits=11)
        pairs = [deflatePair(server=factory) for _ in range(3)]
        key = pairs[0][1].extensions[0].sharedEncodingKey()
        for message in ("chat " * 50, "x", "", "{" + '"k": 1, ' * 30 + "}"):
            rsv, payload = encodeForKey(key, message.encode())
            frame = plainFrame(0x81 | rsv | 0x80, payload)
            for client, server in pairs:
                self.assertEqual(server.extensions[0].sharedEncodingKey(), key)
                server.sendTextMessage(message)
                self.assertEqual(server.dataToSend(), frame)
                self.assertEqual(client.receiveData(frame), [TextMessage(message)])

    def test_keyOfAllExtensions(self) -> None:
        """
        L{sharedEncodingKeyOf} combines the keys of every extension, is
        L{None} when one has none, and L{encodeShared} encodes as the
        connection does.
        """
        _, server = deflatePair(server=PerMessageDeflate(serverNoContextTakeover=True))
        key = sharedEncodingKeyOf(server.extensions)
        self.assertEqual(key, (server.extensions[0].sharedEncodingKey(),))
        self.assertEqual(sharedEncodingKeyOf(()), ())
        self.assertIsNone(sharedEncodingKeyOf((object(),)))
        _, other = deflatePair()
        self.assertIsNone(sharedEncodingKeyOf(other.extensions))
        assert key is not None
        message = b"broadcast " * 30
        rsv, payload = encodeShared(key, message)
        server.sendBytesMessage(message)
        self.assertEqual(server.dataToSend(), plainFrame(0x82 | 0x80 | rsv, payload))
        self.assertEqual(encodeShared((), message), (0, message))

    def test_preparedMessageCompressedOncePerKey(self) -> None:
        """
        A L{PreparedMessage} sent to connections without server context
        takeover is compressed once per distinct setting; connections with
        context takeover compress it themselves; every client receives it.
        """
        shared = [
            deflatePair(server=PerMessageDeflate(serverNoContextTakeover=True)) for _ in range(4)
        ]
        small = [
            deflatePair(
                server=PerMessageDeflate(serverNoContextTakeover=True, serverMaxWindowBits=9)
            )
            for _ in range(2)
        ]
        own = [deflatePair() for _ in range(2)]
        message = PreparedMessage('{"room": "lobby", "text": "hello"} ' * 20)
        for client, server in shared + small + own:
            server.sendPreparedMessage(message)
            self.assertEqual(exchange(server, client), [TextMessage(message.data)])
        self.assertEqual(message.encodings, 2)
        for _, server in own:
            self.assertTrue(server.extensions[0].hasCompressor)

    def test_encodeForKeyRefusesOtherKeys(self) -> None:
        """
        A key that is not a deflate key is refused.
        """
        self.assertRaises(ValueError, encodeForKey, ("other",), b"x")
        self.assertRaises(ValueError, encodeForKey, None, b"x")


class SafetyTests(SynchronousTestCase):
    """
    Limits and invalid data from the peer.
    """

    def assertFailsWith(self, conn, data: bytes, code: int) -> list:
        """
        C{data} makes C{conn} fail with C{code}, as events, not exceptions.
        """
        events = conn.receiveData(data)
        self.assertIsInstance(events[-1], ConnectionFailed, str(events))
        self.assertIsInstance(conn.cause, PeerError)
        self.assertEqual(conn.cause.closeCode, code)
        closing = frames(conn.dataToSend())
        self.assertEqual(closing[-1][0], 0x88)
        self.assertEqual(int.from_bytes(closing[-1][1][:2], "big"), code)
        return events

    def test_bombClosesWith1009(self) -> None:
        """
        A 32 KB frame that inflates to 32 MiB fails with 1009 against a
        1 MiB limit, and inflating it never allocates near 32 MiB.
        """
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        inflated = 32 * 1024 * 1024
        bomb = compressor.compress(b"\x00" * inflated) + compressor.flush(zlib.Z_SYNC_FLUSH)
        bomb = bomb[:-4]
        self.assertLess(len(bomb), 40000)
        options = Options(extensions=(PerMessageDeflate(),), maxMessageSize=1024 * 1024)
        client, server = openPair(Version.RFC6455, options, options)
        data = maskedFrame(0xC2, bomb)
        del compressor
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            self.assertFailsWith(server, data, 1009)
            peak = tracemalloc.get_traced_memory()[1] - before
        finally:
            tracemalloc.stop()
        self.assertLess(peak, 4 * 1024 * 1024)
        self.assertIn("limit", server.cause.reason)

    def test_bombInFragments(self) -> None:
        """
        A bomb spread over many small fragments fails with 1009 as soon as
        the inflated size passes the limit.
        """
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        bomb = compressor.compress(b"a" * 4_000_000) + compressor.flush(zlib.Z_SYNC_FLUSH)
        bomb = bomb[:-4]
        options = Options(extensions=(PerMessageDeflate(),), maxMessageSize=100_000)
        client, server = openPair(Version.RFC6455, options, options)
        data = maskedFrame(0x41, bomb[:50])
        for i in range(50, len(bomb), 50):
            data += maskedFrame(0x00, bomb[i : i + 50])
        events = server.receiveData(data)
        self.assertIsInstance(events[-1], ConnectionFailed)
        self.assertEqual(server.cause.closeCode, 1009)

    def test_exactlyTheLimit(self) -> None:
        """
        A message that inflates to exactly the limit is accepted; one byte
        more is not.
        """
        for size, expected in ((1000, None), (1001, 1009)):
            options = Options(extensions=(PerMessageDeflate(),), maxMessageSize=1000)
            client, server = openPair(
                Version.RFC6455, Options(extensions=(PerMessageDeflate(),)), options
            )
            server.sendBytesMessage(b"z" * size)
            events = client.receiveData(server.dataToSend())
            if expected is None:
                self.assertEqual(events, [BytesMessage(b"z" * size)])
            else:
                self.assertEqual(client.cause.closeCode, expected)

    def test_invalidDeflate(self) -> None:
        """
        Data that is not valid DEFLATE fails the connection with 1007.
        """
        for payload in (b"\xff\xff\xff\xff", b"\x07" + b"\x00" * 8, HELLO_BFINAL[:-1] + b"\x07"):
            client, server = deflatePair()
            events = self.assertFailsWith(server, maskedFrame(0xC2, payload), 1007)
            self.assertIn("invalid compressed data", events[-1].reason)

    def test_invalidDeflateAtTheEnd(self) -> None:
        """
        A message whose data is only found invalid when its tail is
        appended fails with 1007 too.
        """
        client, server = deflatePair()
        # A stored block announcing 5 bytes, with only 2: the appended tail
        # is taken as its data and the next header is invalid.
        self.assertFailsWith(server, maskedFrame(0xC2, b"\x00\x05\x00\xfa\xffab"), 1007)

    def test_garbageNeverRaises(self) -> None:
        """
        Random payloads with RSV1 become messages or failures, never
        exceptions.
        """
        rng = random.Random(7)
        for _ in range(300):
            client, server = deflatePair()
            payload = rng.randbytes(rng.randrange(0, 40))
            events = server.receiveData(maskedFrame(0xC2, payload))
            self.assertEqual(len(events), 1)
            if isinstance(events[0], ConnectionFailed):
                self.assertIn(server.cause.closeCode, (1007, 1009))
            else:
                self.assertIsInstance(events[0], BytesMessage)

    def test_invalidUtf8AfterInflating(self) -> None:
        """
        Compressed text that inflates to invalid UTF-8 fails with 1007.
        """
        compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
        payload = (compressor.compress(b"ab\xffcd") + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4]
        client, server = deflatePair()
        self.assertFailsWith(server, maskedFrame(0xC1, payload), 1007)


class FramingRuleTests(SynchronousTestCase):
    """
    The framing's rules for RSV bits with permessage-deflate negotiated.
    """

    def test_rsvOnControlFrame(self) -> None:
        """
        A control frame with RSV1 fails with 1002 even though RSV1 belongs
        to a negotiated extension.
        """
        for opcode in (0x9, 0xA, 0x8):
            client, server = deflatePair()
            events = server.receiveData(maskedFrame(0xC0 | opcode, b""))
            self.assertIsInstance(events[-1], ConnectionFailed)
            self.assertEqual(server.cause.closeCode, 1002)

    def test_rsv1OnContinuation(self) -> None:
        """
        RSV1 on a continuation frame fails with 1002.
        """
        client, server = deflatePair()
        events = server.receiveData(maskedFrame(0x41, HELLO[:3]) + maskedFrame(0xC0, HELLO[3:]))
        self.assertIsInstance(events[-1], ConnectionFailed)
        self.assertEqual(server.cause.closeCode, 1002)

    def test_otherRsvBits(self) -> None:
        """
        RSV2 and RSV3 stay forbidden.
        """
        for b0 in (0xA1, 0x91, 0xE1):
            client, server = deflatePair()
            server.receiveData(maskedFrame(b0, HELLO))
            self.assertEqual(server.cause.closeCode, 1002)


class HoldBackExtension:
    """
    A test extension on RSV2 that sends messages as they are and, when
    decoding, keeps the last byte of each message until its end, as a
    decoder with a trailer would.
    """

    name = "x-hold-back"
    rsvBits = 0x20

    def __init__(self) -> None:
        self._held = b""

    def encodeMessage(self, payload: bytes, isText: bool) -> tuple[int, bytes]:
        return 0x20, payload

    def decodeChunk(self, data: bytes, rsv: int, limit: int) -> bytes:
        data = self._held + bytes(data)
        self._held = data[-1:]
        return data[:-1]

    def decodeEnd(self, rsv: int, limit: int) -> bytes:
        held, self._held = self._held, b""
        return held

    def responseParams(self) -> str:
        return self.name


class HoldBackFactory:
    """
    Negotiates L{HoldBackExtension}.
    """

    name = "x-hold-back"

    def acceptOffer(self, offers):
        return HoldBackExtension()

    def offer(self) -> str:
        return self.name

    def acceptResponse(self, params):
        return HoldBackExtension()


class StackedExtensionTests(SynchronousTestCase):
    """
    permessage-deflate with a second extension after it.
    """

    def test_innerTailReachesDeflate(self) -> None:
        """
        What the last-negotiated extension returns at a message's end goes
        through permessage-deflate before the message is complete.
        """
        options = Options(extensions=(PerMessageDeflate(), HoldBackFactory()))
        client, server = openPair(Version.RFC6455, options, options)
        self.assertEqual([e.name for e in server.extensions], ["permessage-deflate", "x-hold-back"])
        for message in ("Hello", "Hello", "a much longer message " * 20):
            client.sendTextMessage(message)
            data = client.dataToSend()
            self.assertEqual(frames(data)[0][0], 0xE1)
            self.assertEqual(server.receiveData(data), [TextMessage(message)])


def _websockets():
    try:
        from websockets.client import ClientProtocol
        from websockets.extensions.permessage_deflate import (
            ClientPerMessageDeflateFactory,
            ServerPerMessageDeflateFactory,
        )
        from websockets.frames import Frame, Opcode
        from websockets.server import ServerProtocol
        from websockets.uri import parse_uri
    except ImportError:
        raise SkipTest("websockets is not installed") from None
    return (
        ClientProtocol,
        ServerProtocol,
        ClientPerMessageDeflateFactory,
        ServerPerMessageDeflateFactory,
        Frame,
        Opcode,
        parse_uri,
    )


class WebsocketsInteropTests(SynchronousTestCase):
    """
    permessage-deflate against the C{websockets} package's implementation,
    both sans-I/O, in memory.
    """

    CASES = [
        ({}, {}),
        ({"serverNoContextTakeover": True}, {"server_no_context_takeover": True}),
        ({"clientNoContextTakeover": True}, {"client_no_context_takeover": True}),
        ({"serverMaxWindowBits": 10, "clientMaxWindowBits": 9}, {"server_max_window_bits": 11}),
        ({}, {"client_max_window_bits": 10, "server_max_window_bits": 9}),
    ]

    def messages(self) -> list:
        """
        The messages exchanged.
        """
        return randomMessages(99, 25)

    def test_ourServerTheirClient(self) -> None:
        """
        The websockets client and our server agree and exchange messages
        both ways.
        """
        ClientProtocol, _, ClientFactory, _, Frame, Opcode, parse_uri = _websockets()
        for ours, theirs in self.CASES:
            wsClient = ClientProtocol(
                parse_uri("ws://example.com/chat"),
                extensions=[ClientFactory(**theirs)],
                max_size=None,
            )
            request = wsClient.connect()
            wsClient.send_request(request)
            server = ServerConnection(pmdOptions(**ours))
            events = server.receiveData(b"".join(wsClient.data_to_send()))
            self.assertEqual([type(e) for e in events], [RequestReceived], (ours, theirs))
            server.accept()
            wsClient.receive_data(server.dataToSend())
            wsClient.events_received()
            self.assertEqual(len(wsClient.extensions), 1, (ours, theirs))
            self.assertEqual(len(server.extensions), 1)
            for message in self.messages():
                send(server, message)
                wsClient.receive_data(server.dataToSend())
                (frame,) = wsClient.events_received()
                got = frame.data.decode() if frame.opcode is Opcode.TEXT else frame.data
                self.assertEqual(got, message, (ours, theirs))
                if isinstance(message, str):
                    wsClient.send_text(message.encode())
                else:
                    wsClient.send_binary(message)
                events = server.receiveData(b"".join(wsClient.data_to_send()))
                self.assertEqual(events, [asEvent(message)], (ours, theirs))

    def test_ourClientTheirServer(self) -> None:
        """
        Our client and the websockets server agree and exchange messages
        both ways.
        """
        _, ServerProtocol, _, ServerFactory, Frame, Opcode, _ = _websockets()
        for ours, theirs in self.CASES:
            wsServer = ServerProtocol(extensions=[ServerFactory(**theirs)], max_size=None)
            client = ClientConnection("example.com", "/chat", options=pmdOptions(**ours))
            wsServer.receive_data(client.dataToSend())
            (request,) = wsServer.events_received()
            response = wsServer.accept(request)
            wsServer.send_response(response)
            events = client.receiveData(b"".join(wsServer.data_to_send()))
            self.assertEqual([type(e) for e in events], [ConnectionOpened], (ours, theirs, events))
            self.assertEqual(len(client.extensions), 1)
            for message in self.messages():
                send(client, message)
                wsServer.receive_data(client.dataToSend())
                (frame,) = wsServer.events_received()
                got = frame.data.decode() if frame.opcode is Opcode.TEXT else frame.data
                self.assertEqual(got, message, (ours, theirs))
                if isinstance(message, str):
                    wsServer.send_text(message.encode())
                else:
                    wsServer.send_binary(message)
                events = client.receiveData(b"".join(wsServer.data_to_send()))
                self.assertEqual(events, [asEvent(message)], (ours, theirs))

    def test_theirFragments(self) -> None:
        """
        A message the websockets client compresses and sends in fragments
        arrives whole.
        """
        ClientProtocol, _, ClientFactory, _, Frame, Opcode, parse_uri = _websockets()
        wsClient = ClientProtocol(parse_uri("ws://example.com/chat"), extensions=[ClientFactory()])
        wsClient.send_request(wsClient.connect())
        server = ServerConnection(pmdOptions())
        server.receiveData(b"".join(wsClient.data_to_send()))
        server.accept()
        wsClient.receive_data(server.dataToSend())
        wsClient.events_received()
        parts = [b"first part, ", b"second part, ", b"third part"]
        wsClient.send_text(parts[0], fin=False)
        wsClient.send_continuation(parts[1], fin=False)
        wsClient.send_continuation(parts[2], fin=True)
        data = b"".join(wsClient.data_to_send())
        self.assertEqual(frames(data)[0][0] & 0x40, 0x40)
        self.assertEqual(
            server.receiveData(data), [TextMessage("first part, second part, third part")]
        )
