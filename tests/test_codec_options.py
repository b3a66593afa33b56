"""
Tests for L{twisted_ws.codec.Options} and L{twisted_ws.codec.Version}, and
for the limits the options set on received frames and messages.
"""

from __future__ import annotations

import dataclasses
import warnings

from twisted.trial.unittest import SynchronousTestCase

from twisted_ws.codec import (
    BinaryMessage,
    Options,
    ProtocolError,
    State,
    TextMessage,
    Version,
)
from twisted_ws.codec._options import MOVED_TO_LAYER, VERSION_NAMES

from ._support.codec import maskedFrame, openClient, openPair, openServer, plainFrame, receivers


class VersionTests(SynchronousTestCase):
    """
    The L{Version} enumeration.
    """

    def test_properties(self) -> None:
        """
        Each version has its label, wire number and family.
        """
        expected = {
            Version.HIXIE75: ("hixie-75", None, True),
            Version.HIXIE76: ("hixie-76", None, True),
            Version.HYBI07: ("hybi-07", 7, False),
            Version.HYBI08: ("hybi-08", 8, False),
            Version.RFC6455: ("rfc6455", 13, False),
        }
        self.assertEqual(set(expected), set(Version))
        for version, (label, wire, hixie) in expected.items():
            self.assertEqual((version.label, version.wireVersion, version.isHixie), (label, wire, hixie))

    def test_fromLabel(self) -> None:
        """
        L{Version.fromLabel} accepts labels, wire numbers, member names and
        common aliases, case-insensitively.
        """
        for label, version in (
            ("rfc6455", Version.RFC6455),
            ("13", Version.RFC6455),
            ("RFC6455", Version.RFC6455),
            ("hybi-00", Version.HIXIE76),
            ("HIXIE76", Version.HIXIE76),
            ("hixie-75", Version.HIXIE75),
            ("8", Version.HYBI08),
            ("hybi-10", Version.HYBI08),
            ("hybi_07", Version.HYBI07),
            (" 7 ", Version.HYBI07),
        ):
            self.assertIs(Version.fromLabel(label), version, label)

    def test_names(self) -> None:
        """
        Every version's names start with its label, end with its wire
        number where it has one, and each names that version alone.
        """
        seen: dict[str, Version] = {}
        for version in Version:
            names = version.names
            self.assertEqual(names, VERSION_NAMES[version])
            self.assertEqual(names[0], version.label)
            if version.wireVersion is not None:
                self.assertEqual(names[-1], str(version.wireVersion))
            for name in names:
                self.assertNotIn(name, seen)
                seen[name] = version
                self.assertIs(Version.fromLabel(name), version)
                self.assertIs(Version.fromLabel(name.upper()), version)
        self.assertIs(Version.fromLabel("hybi-13"), Version.RFC6455)

    def test_fromLabelUnknown(self) -> None:
        """
        L{Version.fromLabel} raises L{ValueError} for an unknown label.
        """
        for label in ("", "14", "hixie-77", "None"):
            self.assertRaises(ValueError, Version.fromLabel, label)


class OptionsTests(SynchronousTestCase):
    """
    Construction and validation of L{Options}.
    """

    def test_defaults(self) -> None:
        """
        The defaults accept every version and any origin, and bound the
        header, frame and message sizes.
        """
        options = Options()
        self.assertEqual(options.versions, frozenset(Version))
        self.assertIsNone(options.allowedOrigins)
        self.assertEqual(options.subprotocols, ())
        self.assertGreater(options.maxHeaderSize, 0)
        self.assertGreater(options.maxFrameSize, 0)
        self.assertGreater(options.maxMessageSize, 0)
        self.assertIsNone(options.fragmentSize)
        self.assertTrue(options.autoPong)
        self.assertTrue(options.decodeText)

    def test_codecFieldsOnly(self) -> None:
        """
        The codec's options hold only the settings the codec reads: the
        Twisted layer's (timeouts, keepalive, send buffer, logging) are not
        among its fields.
        """
        self.assertEqual(
            [f.name for f in dataclasses.fields(Options)],
            [
                "versions", "allowedOrigins", "subprotocols", "extensions",
                "maxHeaderSize", "maxFrameSize", "maxMessageSize", "fragmentSize",
                "autoPong", "decodeText",
            ],
        )
        self.assertEqual(set(MOVED_TO_LAYER) & {f.name for f in dataclasses.fields(Options)}, set())

    def test_metadata(self) -> None:
        """
        Every field says what it does and what kind of value it takes.
        """
        for f in dataclasses.fields(Options):
            self.assertTrue(f.metadata["help"].endswith("."), f.name)
            self.assertIn(f.metadata["value"], ("versions", "origins", "strings", "compression",
                                                "size", "bool"), f.name)
            self.assertIn("option", f.metadata)
            self.assertIn("default", f.metadata)

    def test_movedSettingDeprecated(self) -> None:
        """
        A setting of the Twisted layer given to the codec's options still
        works for one release, with a L{DeprecationWarning} pointing to
        C{twisted_ws.Options}; read, it answers the value given or its
        default.
        """
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            options = Options(openTimeout=3.0, writeHighWater=100, maxFrameSize=7)
        self.assertEqual([w.category for w in caught], [DeprecationWarning])
        message = str(caught[0].message)
        self.assertIn("twisted_ws.Options", message)
        self.assertIn("openTimeout", message)
        self.assertIn("writeHighWater", message)
        self.assertEqual(caught[0].filename, __file__)
        self.assertEqual((options.openTimeout, options.writeHighWater), (3.0, 100))
        self.assertEqual(options.closeTimeout, MOVED_TO_LAYER["closeTimeout"])
        self.assertEqual(options.maxFrameSize, 7)

    def test_noWarningWithoutMovedSettings(self) -> None:
        """
        Codec options built from codec settings alone warn of nothing, and
        an unknown attribute is still an L{AttributeError}.
        """
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            options = Options(maxFrameSize=7)
        self.assertEqual(caught, [])
        self.assertRaises(AttributeError, getattr, options, "maxFramSize")

    def test_frozen(self) -> None:
        """
        L{Options} cannot be changed after construction.
        """
        options = Options()
        self.assertRaises(dataclasses.FrozenInstanceError, setattr, options, "maxFrameSize", 1)

    def test_normalises(self) -> None:
        """
        Lists given for versions, subprotocols and origins are stored as a
        frozenset and tuples.
        """
        options = Options(
            versions=[Version.RFC6455], subprotocols=["a", "b"], allowedOrigins=["https://x"]
        )
        self.assertEqual(options.versions, frozenset({Version.RFC6455}))
        self.assertEqual(options.subprotocols, ("a", "b"))
        self.assertEqual(options.allowedOrigins, ("https://x",))
        self.assertEqual(hash(options), hash(Options(
            versions=[Version.RFC6455], subprotocols=["a", "b"], allowedOrigins=["https://x"]
        )))

    def test_invalid(self) -> None:
        """
        Invalid settings raise L{ValueError} or L{TypeError} at construction.
        """
        self.assertRaises(ValueError, Options, versions=())
        self.assertRaises(TypeError, Options, versions={"rfc6455"})
        for name in ("maxHeaderSize", "maxFrameSize", "maxMessageSize"):
            self.assertRaises(ValueError, Options, **{name: 0})
            self.assertRaises(ValueError, Options, **{name: -1})
        self.assertRaises(ValueError, Options, fragmentSize=0)
        for proto in ("", "a b", "a,b", 'a"'):
            self.assertRaises(ValueError, Options, subprotocols=(proto,))


class FrameLimitTests(SynchronousTestCase):
    """
    C{maxFrameSize} and C{maxMessageSize} fail the connection with 1009
    as soon as a frame header announces too much, before any payload is
    buffered.
    """

    def assertHeaderFails(self, options: Options, frames) -> None:
        """
        In every role, feeding the bytes of C{frames(encode)} up to the end of
        the last frame's header (payload excluded) gives a 1009
        L{ProtocolError}, with the last header byte.
        """
        for label, make, encode in receivers(options):
            prefix, last = frames(encode)
            headerLength = len(last) - lastPayloadLength(last)
            conn = make()
            self.assertEqual(conn.receiveData(prefix + last[: headerLength - 1]), [], label)
            events = conn.receiveData(last[headerLength - 1 : headerLength])
            self.assertEqual([type(e) for e in events], [ProtocolError], label)
            self.assertEqual(events[0].code, 1009, label)
            self.assertIs(conn.state, State.REMOTE_CLOSING)
            self.assertEqual(conn.closeCode, 1009)

    def test_frameTooBig7Bit(self) -> None:
        """
        A frame with a 7-bit length over C{maxFrameSize} fails with 1009.
        """
        self.assertHeaderFails(Options(maxFrameSize=100), lambda e: (b"", e(0x82, b"a" * 101)))

    def test_frameTooBig16Bit(self) -> None:
        """
        A frame with a 16-bit length over C{maxFrameSize} fails with 1009.
        """
        self.assertHeaderFails(Options(maxFrameSize=1000), lambda e: (b"", e(0x81, b"a" * 1001)))

    def test_frameTooBig64Bit(self) -> None:
        """
        A frame with a 64-bit length over C{maxFrameSize} fails with 1009.
        """
        self.assertHeaderFails(
            Options(maxFrameSize=65536), lambda e: (b"", e(0x82, b"a" * 65537))
        )

    def test_hugeLength(self) -> None:
        """
        A frame announcing 2**62 bytes fails with 1009 from its header alone.
        """
        for label, make, encode in receivers():
            conn = make()
            header = bytearray(encode(0x82, b"a" * 65536)[:-65536])
            header[2:10] = (1 << 62).to_bytes(8, "big")
            events = conn.receiveData(bytes(header))
            self.assertEqual([e.code for e in events], [1009], label)

    def test_messageTooBigSingleFrame(self) -> None:
        """
        A single frame over C{maxMessageSize} (but within C{maxFrameSize})
        fails with 1009 from its header.
        """
        self.assertHeaderFails(Options(maxMessageSize=100), lambda e: (b"", e(0x81, b"a" * 101)))

    def test_messageTooBigFragmented(self) -> None:
        """
        A fragmented message whose next fragment would pass
        C{maxMessageSize} fails with 1009 at that fragment's header.
        """
        self.assertHeaderFails(
            Options(maxMessageSize=100),
            lambda e: (e(0x01, b"a" * 60) + e(0x00, b"b" * 30), e(0x80, b"c" * 11)),
        )

    def test_atTheLimits(self) -> None:
        """
        A frame of exactly C{maxFrameSize} and a message of exactly
        C{maxMessageSize} are accepted.
        """
        options = Options(maxFrameSize=50, maxMessageSize=100)
        for label, make, encode in receivers(options):
            conn = make()
            data = encode(0x82, b"a" * 50) + encode(0x01, b"b" * 50) + encode(0x80, b"c" * 50)
            self.assertEqual(
                conn.receiveData(data),
                [BinaryMessage(b"a" * 50), TextMessage("b" * 50 + "c" * 50)],
                label,
            )
            self.assertIs(conn.state, State.OPEN)

    def test_limitsDoNotAffectSending(self) -> None:
        """
        The receive limits do not stop this side from sending large messages.
        """
        client, server = openPair(Version.RFC6455, Options(maxMessageSize=10))
        server.sendBinary(b"x" * 1000)
        self.assertEqual(client.receiveData(server.dataToSend()), [BinaryMessage(b"x" * 1000)])

    def test_oneByteClient(self) -> None:
        """
        The size checks also hold for a client fed byte by byte.
        """
        client = openClient(Version.RFC6455, Options(maxMessageSize=3))
        events: list = []
        for byte in plainFrame(0x81, b"abcd"):
            events.extend(client.receiveData(bytes([byte])))
        self.assertEqual([e.code for e in events], [1009])

    def test_oneByteServer(self) -> None:
        """
        A server fed a too-big frame byte by byte fails once the header is
        complete and before any payload byte.
        """
        server = openServer(Version.RFC6455, Options(maxFrameSize=3))
        frame = maskedFrame(0x82, b"abcd")
        fedUpTo = None
        for index, byte in enumerate(frame):
            events = server.receiveData(bytes([byte]))
            if events:
                fedUpTo = index
                break
        self.assertEqual([e.code for e in events], [1009])
        self.assertEqual(fedUpTo, 5)


def lastPayloadLength(frame: bytes) -> int:
    """
    The payload length of a single encoded frame.
    """
    n = frame[1] & 0x7F
    if n == 126:
        return int.from_bytes(frame[2:4], "big")
    if n == 127:
        return int.from_bytes(frame[2:10], "big")
    return n
