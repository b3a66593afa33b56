"""
Tests for the optional compiled masking helper, L{twisted_ws.codec._speedups},
and for how L{twisted_ws.codec._mask} chooses between it and pure Python.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

import twisted_ws
from twisted_ws.codec import _mask

from ._support.speedups import _importError, _speedups

_inCI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")

# Lengths around every word and block boundary of the compiled loop, the
# threshold where mask() switches to it, and the size at which it releases
# the GIL.
_LENGTHS = [
    *range(71),
    _mask._SMALL - 1,
    _mask._SMALL,
    _mask._SMALL + 5,
    65535,
    65536,
    65536 + 3,
    1024 * 1024 + 1,
]


def _smallPath(data: bytes, key: bytes) -> bytes:
    """
    Mask C{data} with the big-integer routine that L{_mask.mask} uses for
    small payloads, whatever the length.
    """
    n = len(data)
    return (
        int.from_bytes(data, "little") ^ int.from_bytes((key * ((n >> 2) + 1))[:n], "little")
    ).to_bytes(n, "little")


def _byteByByte(data: bytes, key: bytes) -> bytes:
    """
    Mask C{data} one byte at a time, straight from RFC 6455 section 5.3.
    """
    return bytes(b ^ key[i % 4] for i, b in enumerate(data))


def _maskModuleInSubprocess(env: dict[str, str]) -> str:
    """
    Import L{twisted_ws.codec._mask} in a new interpreter with C{env} and
    return what it printed for C{accelerated}.
    """
    root = str(Path(twisted_ws.__file__).resolve().parent.parent)
    env = dict(env)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    out = subprocess.run(
        [sys.executable, "-c", "import twisted_ws.codec._mask as m; print(m.accelerated)"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return out.stdout.strip()


class CompiledMaskTests(SynchronousTestCase):
    """
    L{twisted_ws.codec._speedups.mask} agrees with the pure-Python routines.
    """

    if _speedups is None and not _inCI:
        skip = (
            "twisted_ws.codec._speedups is not built (no C compiler or Python "
            f"headers when the project was installed: {_importError})"
        )

    def setUp(self) -> None:
        if _speedups is None:
            self.fail(
                "twisted_ws.codec._speedups must be built in CI, but importing it "
                f"failed: {_importError}"
            )
        self.cMask = _speedups.mask
        self.random = random.Random(6455)

    def randomKey(self) -> bytes:
        """
        Return a random 4-byte masking key.
        """
        return self.random.randbytes(4)

    def test_equalsPurePythonOnManyLengths(self) -> None:
        """
        For every length tried and random keys, the compiled mask equals the
        stride-translate routine and the big-integer routine.
        """
        for n in _LENGTHS:
            data = self.random.randbytes(n)
            for _ in range(3 if n <= 70 else 1):
                key = self.randomKey()
                expected = _mask._maskLarge(data, key)
                self.assertEqual(self.cMask(data, key), expected, (n, key))
                if n <= 70:
                    self.assertEqual(_smallPath(data, key), expected, (n, key))

    def test_equalsRFCDefinition(self) -> None:
        """
        The compiled mask XORs byte i with key byte i mod 4.
        """
        key = b"\x37\xfa\x21\x3d"
        data = bytes(range(256)) * 2 + b"xyz"
        self.assertEqual(self.cMask(data, key), _byteByByte(data, key))
        self.assertEqual(self.cMask(b"Hello", key), b"\x7f\x9f\x4d\x51\x58")

    def test_involution(self) -> None:
        """
        Masking twice with the same key gives back the payload.
        """
        data = self.random.randbytes(100_003)
        key = self.randomKey()
        self.assertEqual(self.cMask(self.cMask(data, key), key), data)

    def test_emptyPayload(self) -> None:
        """
        An empty payload masks to an empty bytes object.
        """
        self.assertEqual(self.cMask(b"", b"abcd"), b"")

    def test_acceptsBufferTypes(self) -> None:
        """
        The payload and the key may be bytes, bytearray or memoryview; the
        result is always bytes.
        """
        data = self.random.randbytes(70_001)
        key = self.randomKey()
        expected = _byteByByte(data[:1000], key) + _mask._maskLarge(data, key)[1000:]
        for wrap in (bytes, bytearray, memoryview):
            for keyWrap in (bytes, bytearray, memoryview):
                result = self.cMask(wrap(data), keyWrap(key))
                self.assertIs(type(result), bytes)
                self.assertEqual(result, expected, (wrap, keyWrap))

    def test_acceptsSlicedAndStridedMemoryview(self) -> None:
        """
        A memoryview slice starting at an odd offset, and a strided
        memoryview, are masked like the bytes they show.
        """
        data = self.random.randbytes(4099)
        key = self.randomKey()
        view = memoryview(data)[3:]
        self.assertEqual(self.cMask(view, key), _mask._maskLarge(data[3:], key))
        strided = memoryview(data)[::3]
        self.assertEqual(self.cMask(strided, key), _mask._maskLarge(data[::3], key))

    def test_inputUnchanged(self) -> None:
        """
        Masking a bytearray returns a new object and leaves the input as it was.
        """
        data = bytearray(self.random.randbytes(70_000))
        before = bytes(data)
        self.cMask(data, self.randomKey())
        self.assertEqual(bytes(data), before)

    def test_rejectsWrongKeyLength(self) -> None:
        """
        A key that is not exactly 4 bytes long raises L{ValueError}.
        """
        for key in (b"", b"abc", b"abcde", bytearray(8)):
            self.assertRaises(ValueError, self.cMask, b"payload", key)

    def test_rejectsNonBuffers(self) -> None:
        """
        A payload or key that does not support the buffer protocol raises
        L{TypeError}, as does a wrong number of arguments.
        """
        self.assertRaises(TypeError, self.cMask, "text", b"abcd")
        self.assertRaises(TypeError, self.cMask, b"data", "abcd")
        self.assertRaises(TypeError, self.cMask, b"data")
        self.assertRaises(TypeError, self.cMask, b"data", b"abcd", 0)

    def test_prefix(self) -> None:
        """
        With a third argument, bytes, the result is that prefix followed by
        the masked payload, for an empty payload, small ones, a sliced and
        a strided view, and one masked with the GIL released; the pure-Python
        C{maskAfter} gives the same.
        """
        prefix = b"\x82\xfe\x00\x10" + b"\x01\x02\x03\x04"
        for n in (0, 1, 7, 125, 4099, 70_001):
            data = self.random.randbytes(n)
            key = self.randomKey()
            expected = _mask._maskLarge(data, key) if n else b""
            for head in (b"", prefix):
                result = self.cMask(data, key, head)
                self.assertIs(type(result), bytes)
                self.assertEqual(result, head + expected, (n, head))
                self.assertEqual(_mask._joinMasked(data, key, head), head + expected, n)
        data = self.random.randbytes(4099)
        key = self.randomKey()
        self.assertEqual(self.cMask(memoryview(data)[3:], key, prefix),
                         prefix + _mask._maskLarge(data[3:], key))
        self.assertEqual(self.cMask(memoryview(data)[::3], key, prefix),
                         prefix + _mask._maskLarge(data[::3], key))
        # The codec frames with the compiled form whenever mask() is compiled.
        self.assertIs(_mask.maskAfter, self.cMask if _mask.accelerated else _mask._joinMasked)

    def test_rejectsBadPrefix(self) -> None:
        """
        A prefix that is not bytes, or a fourth argument, raises
        L{TypeError} naming what was wrong.
        """
        error = self.assertRaises(TypeError, self.cMask, b"data", b"abcd", bytearray(b"x"))
        self.assertIn("prefix must be bytes, not bytearray", str(error))
        error = self.assertRaises(TypeError, self.cMask, b"data", b"abcd", b"", b"")
        self.assertIn("takes 2 or 3 arguments (4 given)", str(error))

    def test_publicMaskMatchesPurePython(self) -> None:
        """
        L{_mask.mask} and L{_mask.maskAt} give the same results as the
        pure-Python routine for payloads on both sides of the size threshold.
        """
        for n in (_mask._SMALL - 1, _mask._SMALL, 70_001):
            data = self.random.randbytes(n)
            key = self.randomKey()
            self.assertEqual(_mask.mask(data, key), _mask._maskLarge(data, key))
            offset = 3
            rotated = key[offset:] + key[:offset]
            self.assertEqual(_mask.maskAt(data, key, offset), _mask._maskLarge(data, rotated))

    def test_usedWhenBuilt(self) -> None:
        """
        Without C{TWISTED_WS_NO_SPEEDUPS}, L{_mask} uses the compiled helper
        when it is importable.
        """
        env = dict(os.environ)
        env.pop("TWISTED_WS_NO_SPEEDUPS", None)
        self.assertEqual(_maskModuleInSubprocess(env), "True")


class DisableSpeedupsTests(SynchronousTestCase):
    """
    The environment variable C{TWISTED_WS_NO_SPEEDUPS} forces pure Python.
    """

    def test_environmentVariableDisables(self) -> None:
        """
        With C{TWISTED_WS_NO_SPEEDUPS=1}, L{_mask.accelerated} is False.
        """
        env = dict(os.environ)
        env["TWISTED_WS_NO_SPEEDUPS"] = "1"
        self.assertEqual(_maskModuleInSubprocess(env), "False")


class MessageTotalsTests(SynchronousTestCase):
    """
    L{twisted_ws.codec.messageTotals} adds up the messages of a list of
    events, compiled or in Python, with the same result.
    """

    def events(self) -> list[object]:
        from twisted_ws.codec import BytesMessage, CloseReceived, Ping, TextMessage

        class Other(BytesMessage):
            __slots__ = ()

        return [
            BytesMessage(b"abc"),
            TextMessage("h\u00e9", "h\u00e9".encode()),
            Ping(b"ping"),
            BytesMessage(bytearray(b"12345")),
            TextMessage(None, b"x" * 70000),
            CloseReceived(1000, ""),
            # A subclass is not one of the message classes: not counted.
            Other(b"zz"),
        ]

    def test_python(self) -> None:
        """
        The pure-Python routine counts only exact L{TextMessage} and
        L{BytesMessage} events, text by its UTF-8 bytes.
        """
        from twisted_ws.codec import _events

        self.assertEqual(_events._messageTotals(self.events()), (2, 70003, 2, 8))
        self.assertEqual(_events._messageTotals(()), (0, 0, 0, 0))

    def test_compiled(self) -> None:
        """
        The compiled routine gives the same totals for a list or a tuple,
        and raises for what is not a sequence.
        """
        if _speedups is None:
            if _inCI:
                self.fail(f"twisted_ws.codec._speedups must be built in CI: {_importError}")
            raise self.skipTest(f"not built: {_importError}")
        from twisted_ws.codec import BytesMessage, TextMessage, messageTotals

        events = self.events()
        self.assertEqual(messageTotals(events), (2, 70003, 2, 8))
        self.assertEqual(
            _speedups.messageTotals(tuple(events), BytesMessage, TextMessage), (2, 70003, 2, 8)
        )
        self.assertRaises(TypeError, _speedups.messageTotals, 5, BytesMessage, TextMessage)
        self.assertRaises(TypeError, _speedups.messageTotals, events)
