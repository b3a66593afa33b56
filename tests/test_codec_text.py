"""
Tests for how text messages are checked, delivered and sent: the compiled
UTF-8 check C{utf8()} in L{twisted_ws.codec._speedups} and its pure-Python
counterpart, L{twisted_ws.codec._utf8.Utf8Validator}, the codec with
C{decodeText} off, C{sendText} given bytes, and the Twisted layer's
C{utf8MessageReceived}.
"""

from __future__ import annotations

import os
import random
import struct
from typing import Any

from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from twisted_ws.apps import echo
from twisted_ws.codec import (
    BytesMessage,
    ConnectionFailed,
    LocalProtocolError,
    Options,
    State,
    TextMessage,
    Version,
    _accel,
    _framing,
    _utf8,
)

from ._support.codec import (
    ALL_VERSIONS,
    feed,
    maskedFrame,
    openClient,
    openServer,
    plainFrame,
    requestFor,
)
from ._support.layer import Client, Peer, Recorder
from ._support.speedups import _importError, _speedups

_NOT_BUILT = (
    "twisted_ws.codec._speedups is not built (no C compiler or Python headers "
    f"when the project was installed: {_importError})"
)

# Reference classification, from CPython's strict UTF-8 decoder.

VALID = "valid"
TRUNCATED = "truncated"
INVALID = "invalid"

# Bytes that each valid lead byte may be followed by include one of these
# (80-BF, A0-BF after E0, 80-9F after ED, 90-BF after F0, 80-8F after F4).
_CONTINUATIONS = (0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF)

# Bytes on either side of every boundary of UTF-8's byte ranges.
_BOUNDARY = (
    0x00, 0x41, 0x7F, 0x80, 0x81, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1,
    0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF,
)


def _sequenceLength(lead: int) -> int:
    """
    How many bytes a character starting with C{lead} may take, or 0 when
    C{lead} cannot start one.
    """
    if lead < 0x80:
        return 1
    if 0xC2 <= lead <= 0xDF:
        return 2
    if 0xE0 <= lead <= 0xEF:
        return 3
    if 0xF0 <= lead <= 0xF4:
        return 4
    return 0


def _decodes(data: bytes) -> bool:
    """
    Whether CPython's strict decoder accepts C{data}.
    """
    try:
        data.decode("utf-8", "strict")
    except UnicodeDecodeError:
        return False
    return True


def _isCharacterPrefix(piece: bytes) -> bool:
    """
    Whether some bytes appended to C{piece} make one character that the
    strict decoder accepts.
    """
    n = _sequenceLength(piece[0])
    if not n or len(piece) > n:
        return False
    missing = n - len(piece)
    if not missing:
        return _decodes(piece)
    return any(
        _decodes(piece + bytes([c]) + b"\x80" * (missing - 1)) for c in _CONTINUATIONS
    )


def classify(data: bytes) -> tuple[str, int | None]:
    """
    What a fail-fast UTF-8 check must say of C{data}: L{VALID}, L{TRUNCATED}
    (valid so far, ends inside a character), or L{INVALID} with the index of
    the first byte after which no continuation could make it valid.
    """
    try:
        data.decode("utf-8", "strict")
    except UnicodeDecodeError as e:
        start = e.start
    else:
        return VALID, None
    for end in range(start + 1, min(start + 4, len(data)) + 1):
        if not _isCharacterPrefix(data[start:end]):
            return INVALID, end - 1
    return TRUNCATED, None


def boundaryVectors() -> list[bytes]:
    """
    Every 1- and 2-byte sequence, and 3- and 4-byte sequences made of bytes
    around the boundaries: overlongs (C0, C1, E0 80-9F, F0 80-8F), encoded
    surrogates (ED A0-BF), code points past U+10FFFF (F4 90+, F5-FF), stray
    continuation bytes and truncated sequences.
    """
    vectors = [bytes([a]) for a in range(256)]
    vectors += [bytes([a, b]) for a in range(256) for b in range(256)]
    leads3 = sorted(set(_BOUNDARY) | {0xE1, 0xEC, 0xEE})
    vectors += [bytes([a, b, c]) for a in leads3 for b in _BOUNDARY for c in _BOUNDARY]
    leads4 = (0x41, 0x80, 0xC2, 0xE0, 0xED, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5)
    vectors += [
        bytes([a, b, c, d])
        for a in leads4
        for b in _BOUNDARY
        for c in _BOUNDARY
        for d in _BOUNDARY
    ]
    return vectors


_VECTORS = boundaryVectors()
_REFERENCE = [classify(v) for v in _VECTORS]

# Around each of these, ASCII runs of these lengths put the interesting byte
# at every offset of the compiled check's 8-byte ASCII loop.
_PADDED_CORE = (
    b"\xc3\xa9", b"\xe2\x82\xac", b"\xf0\x9d\x84\x9e", b"\xc0\xaf", b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80", b"\xe0\x9f\xbf", b"\xf0\x8f\xbf\xbf", b"\x80", b"\xff", b"\xe2\x82",
    b"\xf4\x8f\xbf\xbf", b"\xed\x9f\xbf",
)
_PAD_LENGTHS = (0, 1, 6, 7, 8, 9, 15, 16, 17, 24)


def paddedVectors() -> list[bytes]:
    """
    The sequences of L{_PADDED_CORE} after and before ASCII runs of several
    lengths.
    """
    out = []
    for core in _PADDED_CORE:
        for before in _PAD_LENGTHS:
            for after in _PAD_LENGTHS:
                out.append(b"a" * before + core + b"z" * after)
    return out


def randomByteVectors(seed: int = 3629, count: int = 3000) -> list[bytes]:
    """
    Seeded random byte strings, some mostly ASCII, some random throughout.
    """
    rng = random.Random(seed)
    out = []
    for i in range(count):
        n = rng.randrange(0, 40)
        if i % 2:
            out.append(rng.randbytes(n))
        else:
            out.append(
                bytes(rng.randrange(0x80) if rng.random() < 0.8 else rng.randrange(0x80, 0x100)
                      for _ in range(n))
            )
    return out


def randomText(rng: random.Random, n: int) -> str:
    """
    A random string of C{n} code points from every UTF-8 length, surrogates
    left out.
    """
    chars = []
    for _ in range(n):
        kind = rng.randrange(4)
        if kind == 0:
            cp = rng.randrange(0x80)
        elif kind == 1:
            cp = rng.randrange(0x80, 0x800)
        elif kind == 2:
            cp = rng.choice((rng.randrange(0x800, 0xD800), rng.randrange(0xE000, 0x10000)))
        else:
            cp = rng.randrange(0x10000, 0x110000)
        chars.append(chr(cp))
    return "".join(chars)


def firstFailure(validator: Any, chunks: list[bytes]) -> tuple[str, int | None]:
    """
    Feed C{chunks} to C{validator}; return the L{classify}-style result,
    with the index (in the joined chunks) of the last byte of the chunk on
    which C{feed} failed.
    """
    offset = 0
    for chunk in chunks:
        offset += len(chunk)
        if not validator.feed(chunk):
            return INVALID, offset - 1
    return (VALID, None) if validator.end() else (TRUNCATED, None)


class _CompiledFeeder:
    """
    Keeps the state between calls of the compiled C{utf8()}, with the
    C{feed}/C{end} interface of L{_utf8.Utf8Validator}.
    """

    def __init__(self, check: Any) -> None:
        self.check = check
        self.state = 0

    def feed(self, chunk: bytes) -> bool:
        self.state = self.check(chunk, self.state)
        return self.state >= 0

    def end(self) -> bool:
        return self.state == 0


def pureValidator() -> _utf8.Utf8Validator:
    """
    A L{_utf8.Utf8Validator} running on CPython's incremental decoder,
    whether or not the compiled check is in use.
    """
    validator = _utf8.Utf8Validator()
    validator._decoder = _utf8.Utf8Decoder()
    return validator


class _VectorChecksMixin:
    """
    One implementation of the UTF-8 check agrees with CPython's strict
    decoder on the shared vectors, whole, fed byte by byte and in two
    pieces.
    """

    def wholeResult(self, data: bytes) -> str:
        """
        L{VALID}, L{TRUNCATED} or L{INVALID} for C{data} checked at once.
        """
        raise NotImplementedError

    def isComplete(self, data: bytes) -> bool:
        """
        The implementation's answer to "is C{data} complete, valid UTF-8".
        """
        raise NotImplementedError

    def newValidator(self) -> Any:
        """
        A fresh piece-by-piece checker with C{feed} and C{end}.
        """
        raise NotImplementedError

    def checkWhole(self, vectors, references=None) -> None:
        for i, data in enumerate(vectors):
            kind, _ = references[i] if references is not None else classify(data)
            self.assertEqual(self.wholeResult(data), kind, data.hex())
            self.assertEqual(self.isComplete(data), kind == VALID, data.hex())

    def checkPieces(self, vectors, references=None) -> None:
        for i, data in enumerate(vectors):
            expected = references[i] if references is not None else classify(data)
            oneByOne = [data[j : j + 1] for j in range(len(data))]
            self.assertEqual(firstFailure(self.newValidator(), oneByOne), expected, data.hex())
            kind, bad = expected
            for cut in range(1, len(data)):
                validator = self.newValidator()
                if kind == INVALID and bad < cut:
                    self.assertFalse(validator.feed(data[:cut]), (data.hex(), cut))
                    continue
                self.assertTrue(validator.feed(data[:cut]), (data.hex(), cut))
                self.assertEqual(validator.feed(data[cut:]), kind != INVALID, (data.hex(), cut))
                if kind != INVALID:
                    self.assertEqual(validator.end(), kind == VALID, (data.hex(), cut))

    def test_boundaryVectorsWhole(self) -> None:
        """
        Every 1- and 2-byte sequence and the 3- and 4-byte boundary
        sequences are judged as the strict decoder judges them.
        """
        self.checkWhole(_VECTORS, _REFERENCE)

    def test_boundaryVectorsInPieces(self) -> None:
        """
        Fed byte by byte, the boundary vectors fail on the first byte that
        makes them invalid; cut in two at every point, the result is the
        same as whole.
        """
        self.checkPieces(_VECTORS, _REFERENCE)

    def test_asciiAround(self) -> None:
        """
        Multi-byte and invalid sequences after and before ASCII runs of
        every length around 8 are judged like the strict decoder does, also
        in pieces.
        """
        vectors = paddedVectors()
        self.checkWhole(vectors)
        self.checkPieces(vectors)

    def test_everyPlaceInLongText(self) -> None:
        """
        In a text long enough for the compiled check's 16-byte blocks, each
        lead byte, forbidden byte and whole character is judged right at
        every place from the start to the end, across the ends of the blocks
        included (a lead byte on the last byte of the last block must still
        be checked with what follows it).
        """
        inserts = [b"\xc0", b"\xc1", b"\xc2", b"\xe0", b"\xed", b"\xf0", b"\xf4", b"\xf5",
                   b"\xff", b"\x80", b"\xc3\xa9", b"\xe2\x82\xac", b"\xf0\x9d\x84\x9e"]
        vectors = []
        for insert in inserts:
            for follow in (b"a", b"\x80", b"\x90\x80\x80"):
                for where in range(0, 97):
                    vectors.append(b"a" * where + insert + follow + b"b" * (96 - where))
        self.checkWhole(vectors)

    def test_randomBytes(self) -> None:
        """
        Seeded random bytes are judged like the strict decoder does, whole
        and in pieces.
        """
        vectors = randomByteVectors()
        self.assertTrue(any(classify(v)[0] == INVALID for v in vectors))
        self.assertTrue(any(classify(v)[0] == VALID and not v.isascii() for v in vectors))
        self.checkWhole(vectors)
        self.checkPieces(vectors)

    def test_randomText(self) -> None:
        """
        Random valid text is valid whole, and cut at any point it is
        complete on the left only at a character boundary.
        """
        rng = random.Random(6455)
        for _ in range(200):
            text = randomText(rng, rng.randrange(1, 30))
            data = text.encode("utf-8")
            self.assertEqual(self.wholeResult(data), VALID, data.hex())
            boundaries = {len(text[:k].encode("utf-8")) for k in range(len(text) + 1)}
            for cut in range(1, len(data)):
                validator = self.newValidator()
                self.assertTrue(validator.feed(data[:cut]))
                self.assertEqual(validator.end(), cut in boundaries, (data.hex(), cut))
                validator = self.newValidator()
                validator.feed(data[:cut])
                self.assertTrue(validator.feed(data[cut:]))
                self.assertTrue(validator.end())

    def test_longTextsWithFaults(self) -> None:
        """
        Texts long enough for the compiled check's 16-byte blocks (mixing
        characters of every length with ASCII runs), with a byte replaced,
        a byte removed, or a forbidden sequence (overlong, surrogate, above
        U+10FFFF, stray or cut) put between two characters, agree with
        CPython whole and cut at every point.
        """
        rng = random.Random(6455)
        alphabet = [
            c.encode()
            for c in "aZ~\u00e9\u07ff\u0800\u20ac\u4e2d\ud7ff\ufffd\U00010000\U0001f600\U0010ffff"
        ]
        forbidden = [
            b"\xc0\x80", b"\xc1\xbf", b"\xe0\x80\x80", b"\xe0\x9f\xbf", b"\xed\xa0\x80",
            b"\xed\xbf\xbf", b"\xf0\x80\x80\x80", b"\xf0\x8f\xbf\xbf", b"\xf4\x90\x80\x80",
            b"\xf5\x80\x80\x80", b"\xff", b"\x80", b"\xbf\xbf", b"\xe2\x82", b"\xf0\x9f\x98",
            b"\xc2",
        ]
        vectors = []
        for n in range(240):
            pieces: list[bytes] = []
            size = rng.randint(64, 200)
            while sum(map(len, pieces)) < size:
                pieces.append(rng.choice(alphabet) if rng.random() < 0.5 else b"x" * rng.randint(1, 24))
            if n % 3 == 0:
                pieces.insert(rng.randrange(len(pieces) + 1), forbidden[(n // 3) % len(forbidden)])
                data = bytearray(b"".join(pieces))
            else:
                data = bytearray(b"".join(pieces))
                where = rng.randrange(len(data))
                if n % 3 == 1:
                    data[where] = rng.randrange(256)
                else:
                    del data[where]
            vectors.append(bytes(data))
        self.assertTrue(any(classify(v)[0] == VALID for v in vectors))
        self.assertTrue(any(classify(v)[0] == INVALID for v in vectors))
        self.checkWhole(vectors)
        self.checkPieces(vectors)

    def test_emptyText(self) -> None:
        """
        No bytes at all are complete, valid UTF-8.
        """
        self.assertEqual(self.wholeResult(b""), VALID)
        validator = self.newValidator()
        self.assertTrue(validator.feed(b""))
        self.assertTrue(validator.end())

    def test_referenceSanity(self) -> None:
        """
        The reference classification used by these tests says what RFC 3629
        says of a few well-known sequences.
        """
        self.assertEqual(classify(b"\xe2\x82\xac"), (VALID, None))
        self.assertEqual(classify(b"\xe2\x82"), (TRUNCATED, None))
        self.assertEqual(classify(b"\xc0\xaf"), (INVALID, 0))
        self.assertEqual(classify(b"\xe0\x80\xaf"), (INVALID, 1))
        self.assertEqual(classify(b"\xed\xa0\x80"), (INVALID, 1))
        self.assertEqual(classify(b"\xf4\x90\x80\x80"), (INVALID, 1))
        self.assertEqual(classify(b"ab\x80"), (INVALID, 2))
        self.assertEqual(classify(b"\xf5"), (INVALID, 0))


class CompiledUtf8Tests(_VectorChecksMixin, SynchronousTestCase):
    """
    The compiled C{utf8(data, state=0)} of L{twisted_ws.codec._speedups}.
    """

    if _speedups is None:
        skip = _NOT_BUILT

    def setUp(self) -> None:
        self.utf8 = _speedups.utf8  # type: ignore[union-attr]

    def wholeResult(self, data: bytes) -> str:
        result = self.utf8(data)
        if result == 0:
            return VALID
        if result > 0:
            return TRUNCATED
        self.assertEqual(result, -1, data.hex())
        return INVALID

    def isComplete(self, data: bytes) -> bool:
        return self.utf8(data) == 0

    def newValidator(self) -> _CompiledFeeder:
        return _CompiledFeeder(self.utf8)

    def test_stateWithinCharacter(self) -> None:
        """
        The state returned inside a character is positive, and continuing
        from it with the remaining bytes gives 0; with state 0 instead, the
        remaining bytes are stray continuation bytes.
        """
        for data in ("\u00e9".encode(), "\u20ac".encode(), "\U0001d11e".encode()):
            for cut in range(1, len(data)):
                state = self.utf8(data[:cut])
                self.assertGreater(state, 0, (data, cut))
                self.assertEqual(self.utf8(data[cut:], state), 0, (data, cut))
                self.assertEqual(self.utf8(data[cut:]), -1, (data, cut))
                self.assertEqual(self.utf8(b"", state), state)
                self.assertEqual(self.utf8(b"A", state), -1)

    def test_stateRemembersRange(self) -> None:
        """
        The state after a lead byte with a narrower range for its second
        byte (E0, ED, F0, F4) refuses what that range excludes.
        """
        cases = [
            (b"\xe0", b"\x9f\x80", b"\xa0\x80"),
            (b"\xed", b"\xa0\x80", b"\x9f\x80"),
            (b"\xf0", b"\x8f\x80\x80", b"\x90\x80\x80"),
            (b"\xf4", b"\x90\x80\x80", b"\x8f\x80\x80"),
        ]
        for lead, bad, good in cases:
            state = self.utf8(lead)
            self.assertEqual(self.utf8(bad, state), -1, lead)
            self.assertEqual(self.utf8(good, state), 0, lead)

    def test_bufferTypes(self) -> None:
        """
        bytes, bytearray and memoryview (also a slice) are accepted.
        """
        data = "h\u00e9llo \U0001f600".encode()
        for wrap in (bytes, bytearray, memoryview):
            self.assertEqual(self.utf8(wrap(data)), 0, wrap)
            self.assertEqual(self.utf8(wrap(b"ab\xff")), -1, wrap)
        self.assertEqual(self.utf8(memoryview(b"xx" + data)[2:]), 0)
        self.assertGreater(self.utf8(memoryview(data)[:2]), 0)

    def test_argumentErrors(self) -> None:
        """
        A wrong number of arguments or a data argument without the buffer
        protocol raises L{TypeError}; a negative state (such as the -1 of a
        failed check) or one claiming more than 3 pending bytes raises
        L{ValueError}.
        """
        self.assertRaises(TypeError, self.utf8)
        self.assertRaises(TypeError, self.utf8, b"a", 0, 0)
        self.assertRaises(TypeError, self.utf8, "text")
        self.assertRaises(TypeError, self.utf8, b"a", "0")
        failed = self.utf8(b"\xff")
        self.assertEqual(failed, -1)
        self.assertRaises(ValueError, self.utf8, b"a", failed)
        self.assertRaises(ValueError, self.utf8, b"a", -5)
        self.assertRaises(ValueError, self.utf8, b"a", 4 << 16)

    def test_longInput(self) -> None:
        """
        A long text is valid whole, and one bad byte anywhere in it (also
        past the ASCII fast path) makes it invalid.
        """
        data = ("a" * 1000 + "\u00e9\u20ac\U0001d11e").encode() * 50
        self.assertEqual(self.utf8(data), 0)
        for index in (0, 7, 8, 999, 1000, len(data) // 2, len(data) - 1):
            broken = data[:index] + b"\xff" + data[index + 1 :]
            self.assertEqual(self.utf8(broken), -1, index)


class PurePythonUtf8Tests(_VectorChecksMixin, SynchronousTestCase):
    """
    The pure-Python check (C{_isUtf8Python} and L{_utf8.Utf8Validator} on
    CPython's incremental decoder), on the same vectors as the compiled one,
    whether or not it is built.
    """

    def wholeResult(self, data: bytes) -> str:
        validator = pureValidator()
        if not validator.feed(data):
            return INVALID
        return VALID if validator.end() else TRUNCATED

    def isComplete(self, data: bytes) -> bool:
        return _utf8._isUtf8Python(data)

    def newValidator(self) -> _utf8.Utf8Validator:
        return pureValidator()

    def test_bufferTypes(self) -> None:
        """
        C{_isUtf8Python} takes bytes, bytearray and memoryview.
        """
        data = "h\u00e9llo".encode()
        for wrap in (bytes, bytearray, memoryview):
            self.assertTrue(_utf8._isUtf8Python(wrap(data)), wrap)
            self.assertFalse(_utf8._isUtf8Python(wrap(b"ab\xed\xa0\x80")), wrap)


class _ValidatorMixin:
    """
    L{_utf8.Utf8Validator} and C{isUtf8}, with the implementation chosen by
    L{useImplementation}.
    """

    def useImplementation(self) -> None:
        raise NotImplementedError

    def setUp(self) -> None:
        self.useImplementation()

    def test_validPieces(self) -> None:
        """
        Valid text fed in pieces cut inside characters is accepted, and the
        validator says so at the end.
        """
        data = "a\u00f1\u20ac\U0001d11e".encode() * 3
        for cut in range(len(data) + 1):
            validator = _utf8.Utf8Validator()
            self.assertTrue(validator.feed(data[:cut]), cut)
            self.assertTrue(validator.feed(data[cut:]), cut)
            self.assertTrue(validator.end(), cut)

    def test_endInsideCharacter(self) -> None:
        """
        C{end} fails when the text stops inside a character, and succeeds
        for a text with no bytes.
        """
        for data in (b"\xc3", b"ok\xe2\x82", b"\xf0\x9d\x84"):
            validator = _utf8.Utf8Validator()
            self.assertTrue(validator.feed(data), data)
            self.assertFalse(validator.end(), data)
        self.assertTrue(_utf8.Utf8Validator().end())

    def test_failsOnPieceWithBadByte(self) -> None:
        """
        C{feed} fails on the piece that holds the first bad byte, not
        before; an encoded surrogate fails on its second byte.
        """
        cases = [
            [b"abc", b"d\xffe"],
            [b"\xe2", b"\x82", b"A"],
            [b"x\xed", b"\xa0"],
            [b"\xf4", b"\x90"],
            [b"\xe0", b"\x9f"],
            [b"ok", b"\x80"],
        ]
        for pieces in cases:
            validator = _utf8.Utf8Validator()
            for piece in pieces[:-1]:
                self.assertTrue(validator.feed(piece), pieces)
            self.assertFalse(validator.feed(pieces[-1]), pieces)

    def test_memoryview(self) -> None:
        """
        Pieces may be memoryviews.
        """
        data = memoryview("\u20ac\u20ac".encode())
        validator = _utf8.Utf8Validator()
        self.assertTrue(validator.feed(data[:4]))
        self.assertTrue(validator.feed(data[4:]))
        self.assertTrue(validator.end())
        self.assertFalse(_utf8.Utf8Validator().feed(memoryview(b"\xc0\x80")))

    def test_independent(self) -> None:
        """
        Two validators keep separate states.
        """
        first = _utf8.Utf8Validator()
        second = _utf8.Utf8Validator()
        self.assertTrue(first.feed(b"\xe2\x82"))
        self.assertTrue(second.feed(b"abc"))
        self.assertTrue(second.end())
        self.assertFalse(first.end())
        self.assertTrue(first.feed(b"\xac"))
        self.assertTrue(first.end())


class CompiledValidatorTests(_ValidatorMixin, SynchronousTestCase):
    """
    L{_utf8.Utf8Validator} on the compiled check (even when the environment
    turned it off for the codec).
    """

    if _speedups is None:
        skip = _NOT_BUILT

    def useImplementation(self) -> None:
        self.patch(_utf8, "_check", _speedups.utf8)  # type: ignore[union-attr]
        self.patch(_utf8, "accelerated", True)

    def test_usesCompiledCheck(self) -> None:
        """
        With C{accelerated}, the validator has no decoder and calls the
        compiled check with its state.
        """
        calls = []

        def check(data, state=0):
            calls.append((bytes(data), state))
            return _speedups.utf8(data, state)  # type: ignore[union-attr]

        self.patch(_utf8, "_check", check)
        validator = _utf8.Utf8Validator()
        self.assertIsNone(validator._decoder)
        validator.feed(b"\xe2")
        validator.feed(b"\x82\xac")
        self.assertEqual(calls[0], (b"\xe2", 0))
        self.assertEqual(calls[1][0], b"\x82\xac")
        self.assertGreater(calls[1][1], 0)
        self.assertTrue(validator.end())

    def test_isUtf8Compiled(self) -> None:
        """
        C{_isUtf8Compiled} is true only for complete, valid UTF-8.
        """
        self.assertTrue(_utf8._isUtf8Compiled("\u20ac".encode()))
        self.assertFalse(_utf8._isUtf8Compiled(b"\xe2\x82"))
        self.assertFalse(_utf8._isUtf8Compiled(b"\xff"))


class PurePythonValidatorTests(_ValidatorMixin, SynchronousTestCase):
    """
    L{_utf8.Utf8Validator} on CPython's incremental decoder.
    """

    def useImplementation(self) -> None:
        self.patch(_utf8, "accelerated", False)

    def test_usesDecoder(self) -> None:
        """
        Without C{accelerated}, the validator runs an incremental decoder.
        """
        self.assertIsInstance(_utf8.Utf8Validator()._decoder, _utf8.Utf8Decoder)


class ChoiceTests(SynchronousTestCase):
    """
    Which implementation the codec uses.
    """

    def test_acceleratedFollowsSpeedups(self) -> None:
        """
        The compiled check is used exactly when the compiled module is in
        use, and C{isUtf8} is the matching function.
        """
        self.assertEqual(_utf8.accelerated, _accel.speedups is not None)
        expected = _utf8._isUtf8Compiled if _utf8.accelerated else _utf8._isUtf8Python
        self.assertIs(_utf8.isUtf8, expected)
        if os.environ.get("TWISTED_WS_NO_SPEEDUPS", "") not in ("", "0"):
            self.assertFalse(_utf8.accelerated)

    def test_isUtf8(self) -> None:
        """
        The chosen C{isUtf8} accepts complete UTF-8 only.
        """
        self.assertTrue(_utf8.isUtf8(b""))
        self.assertTrue(_utf8.isUtf8("h\u00e9llo \U0001f600".encode()))
        for bad in (b"\xff", b"\xe2\x82", b"\xed\xa0\x80", b"\xc0\xaf"):
            self.assertFalse(_utf8.isUtf8(bad), bad)


class TextMessageTests(SynchronousTestCase):
    """
    L{TextMessage} holds the text, its UTF-8 bytes, or both.
    """

    def test_fromBytes(self) -> None:
        """
        Made from bytes, the message decodes them when C{data} is read,
        once.
        """
        message = TextMessage(utf8="\u00e9t\u00e9".encode())
        self.assertIsNone(message._data)
        self.assertEqual(message.data, "\u00e9t\u00e9")
        self.assertIs(message.data, message.data)
        self.assertEqual(message.utf8, b"\xc3\xa9t\xc3\xa9")

    def test_fromText(self) -> None:
        """
        Made from text, the message encodes it when C{utf8} is read.
        """
        message = TextMessage("\u20ac")
        self.assertEqual(message.utf8, b"\xe2\x82\xac")
        self.assertIs(message.utf8, message.utf8)

    def test_equalityByText(self) -> None:
        """
        Equality, hash and repr depend on the text, however the message was
        made.
        """
        fromBytes = TextMessage(utf8=b"caf\xc3\xa9")
        fromText = TextMessage("caf\u00e9")
        both = TextMessage("caf\u00e9", b"caf\xc3\xa9")
        self.assertEqual(fromBytes, fromText)
        self.assertEqual(both, fromText)
        self.assertEqual(hash(fromBytes), hash(fromText))
        self.assertEqual(repr(fromBytes), repr(fromText))
        self.assertEqual(repr(fromText), "TextMessage(data='caf\u00e9')")
        self.assertNotEqual(TextMessage(utf8=b"a"), TextMessage("b"))

    def test_needsOne(self) -> None:
        """
        A message with neither its text nor its bytes is refused.
        """
        self.assertRaises(TypeError, TextMessage)


# The codec with decodeText off.

UNDECODED = Options(decodeText=False)


def textFrame(version: Version, payload: bytes) -> bytes:
    """
    A whole text message with C{payload} as a client of C{version} sends it.
    """
    if version.isHixie:
        return b"\x00" + payload + b"\xff"
    return maskedFrame(0x81, payload)


def assertFailsAt(testCase: SynchronousTestCase, conn: Any, data: bytes, index: int,
                  msg: Any = None) -> None:
    """
    Feeding C{data} to C{conn} byte by byte, the only L{ConnectionFailed}
    (1007) appears when byte C{index} is fed.
    """
    failedAt = None
    for i in range(len(data)):
        events = conn.receiveData(data[i : i + 1])
        errors = [e for e in events if isinstance(e, ConnectionFailed)]
        testCase.assertFalse([e for e in events if isinstance(e, TextMessage)], msg)
        if errors:
            testCase.assertEqual([e.code for e in errors], [1007], msg)
            testCase.assertIsNone(failedAt, msg)
            failedAt = i
    testCase.assertEqual(failedAt, index, msg)
    testCase.assertEqual(conn.closeCode, 1007, msg)


class DecodeTextOffTests(SynchronousTestCase):
    """
    A server connection whose C{decodeText} is off delivers text messages
    as their UTF-8 bytes, still checked as they arrive.
    """

    def server(self, version: Version) -> Any:
        conn = openServer(version, UNDECODED)
        self.assertFalse(conn.decodeText)
        return conn

    def assertUndecoded(self, event: Any, text: str, msg: Any = None) -> None:
        """
        C{event} is a L{TextMessage} of C{text} that was not decoded: its
        C{utf8} is the bytes, and C{data} decodes them when read.
        """
        self.assertIsInstance(event, TextMessage, msg)
        self.assertIsNone(event._data, msg)
        self.assertIs(type(event.utf8), bytes, msg)
        self.assertEqual(event.utf8, text.encode("utf-8"), msg)
        self.assertEqual(event.data, text, msg)
        self.assertIsNotNone(event._data, msg)
        self.assertEqual(event, TextMessage(text), msg)

    def test_defaultDecodes(self) -> None:
        """
        By default a connection decodes each text message as it completes.
        """
        self.assertTrue(Options().decodeText)
        for version in ALL_VERSIONS:
            conn = openServer(version)
            self.assertTrue(conn.decodeText)
            [event] = conn.receiveData(textFrame(version, b"caf\xc3\xa9"))
            self.assertEqual(event._data, "caf\u00e9", version)

    def test_wholeMessage(self) -> None:
        """
        On every version, a text message in one frame (short, medium and
        long, ASCII and not) comes as its bytes.
        """
        texts = ["", "h\u00e9llo \U0001f600", "\u20ac" * 300, "x" * 70000 + "\u00e9"]
        for version in ALL_VERSIONS:
            conn = self.server(version)
            for text in texts:
                [event] = conn.receiveData(textFrame(version, text.encode()))
                self.assertUndecoded(event, text, (version, len(text)))

    def test_splitReads(self) -> None:
        """
        A text frame arriving byte by byte, or in two reads cut inside a
        character, comes as its bytes.
        """
        text = "a\u00f1\u20ac\U0001d11e" * 4
        for version in ALL_VERSIONS:
            data = textFrame(version, text.encode())
            [event] = feed(self.server(version), [data[i : i + 1] for i in range(len(data))])
            self.assertUndecoded(event, text, version)
            for cut in range(1, len(data)):
                conn = self.server(version)
                events = conn.receiveData(data[:cut]) + conn.receiveData(data[cut:])
                [event] = events
                self.assertUndecoded(event, text, (version, cut))

    def test_largeSplitReads(self) -> None:
        """
        A large text frame arriving in reads of 1000 bytes comes as its
        bytes.
        """
        text = ("\u00e9" * 3 + "\U0001d11e") * 5000
        for version in ALL_VERSIONS:
            data = textFrame(version, text.encode())
            [event] = feed(
                self.server(version), [data[i : i + 1000] for i in range(0, len(data), 1000)]
            )
            self.assertUndecoded(event, text, version)

    def test_fragmented(self) -> None:
        """
        A fragmented text message, cut inside characters, comes as its
        bytes, whole and byte by byte.
        """
        text = "\u20ac\U0001d11e!"
        payload = text.encode()
        pieces = [payload[:1], payload[1:5], b"", payload[5:]]
        data = b"".join(
            maskedFrame((0x80 if i == len(pieces) - 1 else 0) | (0x01 if i == 0 else 0), piece)
            for i, piece in enumerate(pieces)
        )
        for version in ALL_VERSIONS:
            if version.isHixie:
                continue
            [event] = self.server(version).receiveData(data)
            self.assertUndecoded(event, text, version)
            [event] = feed(self.server(version), [data[i : i + 1] for i in range(len(data))])
            self.assertUndecoded(event, text, version)

    def test_invalidWholeFrame(self) -> None:
        """
        Invalid UTF-8 in a text frame that arrives whole fails the
        connection with 1007, and no message is delivered.
        """
        for version in ALL_VERSIONS:
            for payload in (b"ab\xfecd", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
                            b"ok\xe2\x82"):
                conn = self.server(version)
                events = conn.receiveData(textFrame(version, payload))
                self.assertEqual([type(e) for e in events], [ConnectionFailed], (version, payload))
                self.assertEqual(events[0].code, 1007, (version, payload))
                self.assertEqual(conn.closeCode, 1007)
                self.assertIs(conn.state, State.REMOTE_CLOSING)
                out = conn.dataToSend()
                self.assertIs(conn.state, State.CLOSED)
                if version.isHixie:
                    self.assertIn(out, (b"", b"\xff\x00"), version)
                else:
                    self.assertEqual(out[:4], b"\x88" + bytes([len(out) - 2]) + struct.pack(
                        "!H", 1007), version)

    def test_invalidByteByByte(self) -> None:
        """
        A text frame arriving byte by byte fails in the call that delivers
        its first bad byte.
        """
        cases = [(b"ab\xfecd", 2), (b"\xe2\x82A", 2), (b"a\xed\xa0\x80", 2),
                 (b"\xf4\x90\x80\x80", 1), (b"xyz\xc1\xbf", 3), (b"\xf5", 0)]
        for version in ALL_VERSIONS:
            for payload, bad in cases:
                data = textFrame(version, payload)
                header = len(data) - len(payload) - (1 if version.isHixie else 0)
                assertFailsAt(self, self.server(version), data, header + bad, (version, payload))

    def test_invalidInFragment(self) -> None:
        """
        Invalid UTF-8 in a later fragment fails with 1007 in the read that
        delivers it, the earlier fragments delivering nothing.
        """
        first = maskedFrame(0x01, b"ok \xe2\x82")
        second = maskedFrame(0x00, b"\xacfine")
        third = maskedFrame(0x80, b"\xe2(")
        for version in ALL_VERSIONS:
            if version.isHixie:
                continue
            conn = self.server(version)
            self.assertEqual(conn.receiveData(first), [], version)
            self.assertEqual(conn.receiveData(second), [], version)
            [error] = conn.receiveData(third)
            self.assertEqual(error.code, 1007, version)
            data = first + second + third
            assertFailsAt(self, self.server(version), data, len(data) - 1, version)

    def test_messageEndsInsideCharacter(self) -> None:
        """
        A message whose last frame ends inside a character fails with 1007
        in the read that completes it: the last payload byte, the empty
        final fragment's header, or hixie's closing 0xFF.
        """
        for version in ALL_VERSIONS:
            data = textFrame(version, b"ok\xf0\x9d\x84")
            assertFailsAt(self, self.server(version), data, len(data) - 1, version)
            conn = self.server(version)
            [error] = conn.receiveData(data)
            self.assertEqual(error.code, 1007)
            if not version.isHixie:
                data = maskedFrame(0x01, b"ok\xc3") + maskedFrame(0x80, b"")
                assertFailsAt(self, self.server(version), data, len(data) - 1, version)

    def test_binaryUntouched(self) -> None:
        """
        Binary messages, which need not be UTF-8, are delivered as they are.
        """
        payload = bytes(range(256))
        for version in ALL_VERSIONS:
            if version.isHixie:
                continue
            conn = self.server(version)
            self.assertEqual(conn.receiveData(maskedFrame(0x82, payload)), [BytesMessage(payload)])
            self.assertIs(conn.state, State.OPEN)

    def test_clientSide(self) -> None:
        """
        A client connection with C{decodeText} off also delivers bytes, and
        fails on invalid UTF-8 with 1007.
        """
        for version in ALL_VERSIONS:
            if version.isHixie:
                continue
            conn = openClient(version, UNDECODED)
            [event] = conn.receiveData(plainFrame(0x81, "\u00e9t\u00e9".encode()))
            self.assertUndecoded(event, "\u00e9t\u00e9", version)
            [error] = openClient(version, UNDECODED).receiveData(plainFrame(0x81, b"\xff"))
            self.assertEqual(error.code, 1007)

    def test_changeMidConnection(self) -> None:
        """
        Changing C{decodeText} on an open connection applies to the data
        received next, including a message completed by that data.
        """
        for version in ALL_VERSIONS:
            conn = openServer(version)
            [event] = conn.receiveData(textFrame(version, b"one"))
            self.assertEqual(event._data, "one")
            conn.decodeText = False
            [event] = conn.receiveData(textFrame(version, b"two"))
            self.assertUndecoded(event, "two", version)
            conn.decodeText = True
            [event] = conn.receiveData(textFrame(version, b"three"))
            self.assertEqual(event._data, "three", version)
            if not version.isHixie:
                self.assertEqual(conn.receiveData(maskedFrame(0x01, b"fo")), [])
                conn.decodeText = False
                [event] = conn.receiveData(maskedFrame(0x80, b"ur"))
                self.assertUndecoded(event, "four", version)
            else:
                self.assertEqual(conn.receiveData(b"\x00fo"), [])
                conn.decodeText = False
                [event] = conn.receiveData(b"ur\xff")
                self.assertUndecoded(event, "four", version)


class SendBytesTests(SynchronousTestCase):
    """
    C{sendText} given UTF-8 bytes.
    """

    def test_framedLikeText(self) -> None:
        """
        On every version and in both roles, bytes are framed exactly as the
        text they encode.
        """
        texts = ["", "h\u00e9llo \U0001f600", "\u20ac" * 100, "y" * 70000]
        for version in ALL_VERSIONS:
            for text in texts:
                fromText = openServer(version)
                fromText.sendTextMessage(text)
                fromBytes = openServer(version)
                fromBytes.sendTextMessage(text.encode())
                self.assertEqual(fromBytes.dataToSend(), fromText.dataToSend(), version)
        for version in ALL_VERSIONS:
            if version.isHixie:
                continue
            for text in texts:
                fromText = openClient(version)
                fromText.sendTextMessage(text)
                fromBytes = openClient(version)
                fromBytes.sendTextMessage(text.encode())
                self.assertEqual(fromBytes.dataToSend(), fromText.dataToSend(), version)

    def test_fragmented(self) -> None:
        """
        With C{fragmentSize}, bytes are cut into the same frames as text.
        """
        options = Options(fragmentSize=3)
        text = "\u20ac\U0001d11eabc\u00e9"
        for version in ALL_VERSIONS:
            if version.isHixie:
                continue
            fromText = openServer(version, options)
            fromText.sendTextMessage(text)
            fromBytes = openServer(version, options)
            fromBytes.sendTextMessage(text.encode())
            sent = fromBytes.dataToSend()
            self.assertEqual(sent, fromText.dataToSend())
            self.assertEqual(sent[:5], b"\x01\x03\xe2\x82\xac")

    def test_receivedByPeer(self) -> None:
        """
        A message sent as bytes arrives at the peer as that text.
        """
        for version in ALL_VERSIONS:
            if version.isHixie:
                continue
            conn = openServer(version)
            conn.sendTextMessage("caf\u00e9 \U0001f600".encode())
            client = openClient(version)
            self.assertEqual(client.receiveData(conn.dataToSend()),
                             [TextMessage("caf\u00e9 \U0001f600")])

    def test_invalidRefused(self) -> None:
        """
        Bytes that are not complete UTF-8 raise L{LocalProtocolError},
        queue nothing, and leave the connection open.
        """
        for version in ALL_VERSIONS:
            for bad in (b"\xff", b"ab\xc0\xaf", b"\xed\xa0\x80", b"ok\xe2\x82",
                        b"\xf4\x90\x80\x80", b"x" * 600 + b"\x80"):
                conn = openServer(version)
                self.assertRaises(LocalProtocolError, conn.sendTextMessage, bad)
                self.assertEqual(conn.dataToSend(), b"", (version, bad))
                self.assertIs(conn.state, State.OPEN)
                conn.sendTextMessage(b"after")
                self.assertEqual(conn.dataToSend(), openServerSent(version, "after"))

    def test_echoNotCheckedAgain(self) -> None:
        """
        Sending back the bytes of a message of at least C{REUSE_MIN} bytes
        received in the data being handled does not check them again, even
        after C{dataToSend}; equal bytes in another object, short messages,
        and the same bytes after C{releaseReceivedText} or after the next
        C{receiveData} are checked.
        """
        calls = []

        def counting(data):
            calls.append(len(data))
            return _utf8.isUtf8(data)

        self.patch(_framing, "isUtf8", counting)
        text = "\u00e9" * _framing.REUSE_MIN
        for version in ALL_VERSIONS:
            conn = openServer(version, UNDECODED)
            [event] = conn.receiveData(textFrame(version, text.encode()))
            del calls[:]
            conn.sendTextMessage(event.utf8)
            self.assertEqual(calls, [], version)
            self.assertEqual(conn.dataToSend(), openServerSent(version, text))

            [event] = conn.receiveData(textFrame(version, text.encode()))
            copy = bytes(bytearray(event.utf8))
            self.assertIsNot(copy, event.utf8)
            conn.sendTextMessage(copy)
            self.assertEqual(calls, [len(copy)], version)
            conn.dataToSend()
            del calls[:]
            conn.sendTextMessage(event.utf8)
            self.assertEqual(calls, [], version)
            conn.dataToSend()
            conn.releaseReceivedText()
            conn.sendTextMessage(event.utf8)
            self.assertEqual(calls, [len(copy)], version)
            conn.dataToSend()

            [event] = conn.receiveData(textFrame(version, text.encode()))
            conn.receiveData(b"")
            del calls[:]
            conn.sendTextMessage(event.utf8)
            self.assertEqual(calls, [len(copy)], version)
            conn.dataToSend()

            del calls[:]
            [event] = conn.receiveData(textFrame(version, b"short"))
            conn.sendTextMessage(event.utf8)
            self.assertEqual(calls, [5], version)
            self.assertEqual(conn.dataToSend(), openServerSent(version, "short"))


def openServerSent(version: Version, text: str) -> bytes:
    """
    What an open server connection of C{version} sends for C{text}.
    """
    conn = openServer(version)
    conn.sendTextMessage(text)
    return conn.dataToSend()


# The Twisted layer.


class Utf8Recorder(Recorder):
    """
    A L{Recorder} that takes text messages as bytes.
    """

    def utf8MessageReceived(self, data: bytes) -> None:
        self.events.append(("utf8", data))


class Utf8Replier(Recorder):
    """
    Sends back the bytes of each text message, and then the same bytes in
    a new object.
    """

    def utf8MessageReceived(self, data: bytes) -> None:
        self.events.append(("utf8", data))
        self.sendTextMessage(data)
        self.sendTextMessage(bytes(bytearray(data)) + b"!")


class PlainApplication:
    """
    An application object that is not a L{WebSocketProtocol} and has no
    C{utf8MessageReceived}.
    """

    factory = None

    def __init__(self) -> None:
        self.received: list[Any] = []

    def negotiationStarted(self, transport: Any) -> None:
        self.transport = transport

    def negotiationFinished(self) -> None:
        pass

    def textMessageReceived(self, message: str) -> None:
        self.received.append(message)

    def bytesMessageReceived(self, data: bytes) -> None:
        self.received.append(data)

    def pongReceived(self, payload: bytes) -> None:
        pass

    def connectionLost(self, reason: Any) -> None:
        pass


TEXTS = ["h\u00e9llo \U0001f600", "", "\u20ac" * 400]


class TwistedLayerTests(SynchronousTestCase):
    """
    How the Twisted layer hands text to the application.
    """

    def openPeer(self, version: Version, protocol: Any, options: Options | None = None) -> Peer:
        p = Peer(version, protocol, options)
        p.handshake()
        self.assertIs(p.server.codec.state, State.OPEN)
        return p

    def sendTexts(self, p: Peer) -> None:
        for text in TEXTS:
            p.client.sendTextMessage(text)
        p.flush()

    def test_utf8MessageReceived(self) -> None:
        """
        An application overriding C{utf8MessageReceived} gets text as bytes
        on every version, whatever C{Options.decodeText} says.
        """
        for version in Version:
            for options in (None, Options(decodeText=True)):
                p = self.openPeer(version, Utf8Recorder, options)
                self.assertFalse(p.server.codec.decodeText)
                self.sendTexts(p)
                received = [e for e in p.app.events if e[0] in ("text", "utf8")]
                self.assertEqual(received, [("utf8", t.encode()) for t in TEXTS], version)
                for _, data in received:
                    self.assertIs(type(data), bytes)

    def test_utf8InSameReadAsRequest(self) -> None:
        """
        A text message in the same read as the opening request reaches
        C{utf8MessageReceived} as bytes.
        """
        for version in Version:
            p = Peer(version, Utf8Recorder)
            p.server.dataReceived(requestFor(version) + textFrame(version, b"caf\xc3\xa9"))
            received = [e for e in p.app.events if e[0] in ("text", "utf8")]
            self.assertEqual(received, [("utf8", b"caf\xc3\xa9")], version)

    def test_textMessageReceivedGetsStr(self) -> None:
        """
        An application overriding only C{textMessageReceived} gets str even
        when the factory's options turn C{decodeText} off.
        """
        for version in Version:
            p = self.openPeer(version, Recorder, UNDECODED)
            self.sendTexts(p)
            received = p.app.received()
            self.assertEqual(received, [("text", t) for t in TEXTS], version)
            for _, data in received:
                self.assertIs(type(data), str)

    def test_plainApplicationGetsStr(self) -> None:
        """
        An application object without C{utf8MessageReceived} gets str, the
        codec decoding for it even with C{decodeText} off in the options.
        """
        for version in Version:
            p = Peer(version, PlainApplication, UNDECODED)
            p.handshake()
            self.assertIsInstance(p.app, PlainApplication)
            self.assertTrue(p.server.codec.decodeText)
            self.sendTexts(p)
            self.assertEqual(p.app.received, TEXTS, version)
            for data in p.app.received:
                self.assertIs(type(data), str)

    def test_sendTextMessageBytes(self) -> None:
        """
        C{sendTextMessage} sends UTF-8 bytes as text, whether they are those
        just received or new ones, on every version; invalid bytes raise
        L{LocalProtocolError}.
        """
        for version in Version:
            p = self.openPeer(version, Utf8Replier)
            p.client.sendTextMessage("\u00e9" * 600)
            p.flush()
            events = p.receive()
            self.assertEqual(events, [TextMessage("\u00e9" * 600), TextMessage("\u00e9" * 600 + "!")])
            self.assertRaises(LocalProtocolError, p.app.sendTextMessage, b"\xc3")
            self.assertRaises(LocalProtocolError, p.app.sendTextMessage, b"\xed\xb0\x80")
            self.assertEqual(p.transport.value(), b"", version)
            p.app.sendTextMessage(b"\xe2\x82\xac")
            self.assertEqual(p.receive(), [TextMessage("\u20ac")], version)


class EchoTextTests(SynchronousTestCase):
    """
    The echo application relays text byte for byte.
    """

    def test_echoBytes(self) -> None:
        """
        On every version, text comes back with the very bytes sent, and the
        echo's connection does not decode it.
        """
        texts = ["", "h\u00e9llo", "\U0001d11e\u20ac\u00e9a", "\u4e16\u754c" * 400, "z" * 5000]
        factory = echo.makeFactory()
        factory.reactor = MemoryReactorClock()
        for version in Version:
            client = Client(factory, version)
            self.assertFalse(client.server.codec.decodeText, version)
            for text in texts:
                client.codec.sendTextMessage(text.encode())
            client.pump()
            received = client.take(TextMessage)
            self.assertEqual([e.utf8 for e in received], [t.encode() for t in texts], version)
            self.assertEqual([e.data for e in received], texts, version)

    def test_echoInvalidClosed(self) -> None:
        """
        Invalid UTF-8 sent to the echo fails the connection with 1007
        instead of coming back.
        """
        factory = echo.makeFactory()
        factory.reactor = MemoryReactorClock()
        for version in Version:
            if version.isHixie:
                continue
            client = Client(factory, version)
            client.server.dataReceived(maskedFrame(0x81, b"ok\xff"))
            out = client.transport.value()
            self.assertEqual(out[:4], b"\x88" + bytes([len(out) - 2]) + struct.pack("!H", 1007))
