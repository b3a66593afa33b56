"""
Tests for L{twisted_ws.twistd._values}: every parser of a C{twistd
websocket} option value, on the values it refuses (each with the message
it gives) as well as the ones it takes, and how each kind of value is shown.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from twisted_ws.twistd import _values
from twisted_ws.twistd._values import ConfigError


class TypeNameTests(SynchronousTestCase):
    """
    L{_values.typeName} names a TOML value's type the way the messages do.
    """

    def test_everyTomlType(self) -> None:
        """
        Booleans are not integers, floats are numbers, lists and tables are
        named, and anything else by its Python type.
        """
        self.assertEqual(_values.typeName(True), "a boolean")
        self.assertEqual(_values.typeName(3), "an integer")
        self.assertEqual(_values.typeName(1.5), "a number")
        self.assertEqual(_values.typeName("x"), "a string")
        self.assertEqual(_values.typeName([1]), "a list")
        self.assertEqual(_values.typeName({"a": 1}), "a table")
        self.assertEqual(_values.typeName(None), "NoneType")


class SizeTests(SynchronousTestCase):
    """
    L{_values.parseSize}, L{_values.parseSizeOrZero} and
    L{_values.formatSize}.
    """

    def test_units(self) -> None:
        """
        Sizes take binary suffixes, with or without C{i} and C{B}, in any
        case.
        """
        self.assertEqual(_values.parseSize(" 64KiB "), 64 << 10)
        self.assertEqual(_values.parseSize("16m"), 16 << 20)
        self.assertEqual(_values.parseSize("1GB"), 1 << 30)
        self.assertEqual(_values.parseSize("100b"), 100)
        self.assertEqual(_values.parseSize(7), 7)

    def test_refused(self) -> None:
        """
        A string that is not a size, a value of another type, and a size
        that is not positive are refused, each saying why.
        """
        with self.assertRaises(ConfigError) as caught:
            _values.parseSize("lots")
        self.assertEqual(str(caught.exception),
                         "expected a size in bytes such as 1048576 or 16MiB, got 'lots'")
        with self.assertRaises(ConfigError) as caught:
            _values.parseSize(True)
        self.assertEqual(str(caught.exception), "expected a size in bytes, got a boolean")
        with self.assertRaises(ConfigError) as caught:
            _values.parseSize(1.5)
        self.assertEqual(str(caught.exception), "expected a size in bytes, got a number")
        with self.assertRaises(ConfigError) as caught:
            _values.parseSize("0KiB")
        self.assertEqual(str(caught.exception), "must be a positive number of bytes, got 0")
        with self.assertRaises(ConfigError) as caught:
            _values.parseSize(-4)
        self.assertEqual(str(caught.exception), "must be a positive number of bytes, got -4")

    def test_zeroAllowed(self) -> None:
        """
        L{_values.parseSizeOrZero} takes C{0} (integer or string) and
        otherwise parses as L{_values.parseSize} does, refusing the same.
        """
        self.assertEqual(_values.parseSizeOrZero(0), 0)
        self.assertEqual(_values.parseSizeOrZero(" 0 "), 0)
        self.assertEqual(_values.parseSizeOrZero("2KiB"), 2048)
        self.assertRaises(ConfigError, _values.parseSizeOrZero, False)
        self.assertRaises(ConfigError, _values.parseSizeOrZero, -1)

    def test_format(self) -> None:
        """
        Whole multiples are shown with the largest unit; anything else in
        bytes; a missing size as C{none}.
        """
        self.assertEqual(_values.formatSize(3 << 30), "3 GiB")
        self.assertEqual(_values.formatSize(1 << 20), "1 MiB")
        self.assertEqual(_values.formatSize(1536 << 10), "1536 KiB")
        self.assertEqual(_values.formatSize(1000), "1000")
        self.assertEqual(_values.KINDS["size"].show(None), "none")
        self.assertEqual(_values.KINDS["size"].show(4096), "4 KiB")


class SecondsTests(SynchronousTestCase):
    """
    L{_values.parseSeconds} and L{_values.parseOptionalSeconds}.
    """

    def test_accepted(self) -> None:
        """
        Integers, floats and numeric strings are read as seconds.
        """
        self.assertEqual(_values.parseSeconds(2), 2.0)
        self.assertEqual(_values.parseSeconds("0.25"), 0.25)

    def test_refused(self) -> None:
        """
        Text that is not a number, other types, and durations that are not
        positive and finite are refused.
        """
        with self.assertRaises(ConfigError) as caught:
            _values.parseSeconds("soon")
        self.assertEqual(str(caught.exception), "expected a number of seconds, got 'soon'")
        with self.assertRaises(ConfigError) as caught:
            _values.parseSeconds([1])
        self.assertEqual(str(caught.exception), "expected a number of seconds, got a list")
        with self.assertRaises(ConfigError) as caught:
            _values.parseSeconds(True)
        self.assertEqual(str(caught.exception), "expected a number of seconds, got a boolean")
        for bad in (0, -1, "nan", "inf"):
            with self.assertRaises(ConfigError) as caught:
                _values.parseSeconds(bad)
            self.assertEqual(str(caught.exception),
                             f"must be a positive number of seconds, got {bad!r}")

    def test_optional(self) -> None:
        """
        C{0}, C{0.0}, and the words off, none, no (any case) turn the
        setting off; other values parse as seconds.
        """
        for off in (0, 0.0, "off", " None ", "NO", "0"):
            self.assertIsNone(_values.parseOptionalSeconds(off), off)
        self.assertEqual(_values.parseOptionalSeconds(3), 3.0)
        self.assertRaises(ConfigError, _values.parseOptionalSeconds, False)

    def test_format(self) -> None:
        """
        Seconds are shown as the shortest number; none as C{none}.
        """
        show = _values.KINDS["optional-seconds"].show
        self.assertEqual(show(None), "none")
        self.assertEqual(show(30.0), "30")
        self.assertEqual(show(0.5), "0.5")


class StringListTests(SynchronousTestCase):
    """
    L{_values.parseStringList} and L{_values.parseOrigins}.
    """

    def test_oneOrMany(self) -> None:
        """
        One string or a list of strings make a tuple.
        """
        self.assertEqual(_values.parseStringList("chat"), ("chat",))
        self.assertEqual(_values.parseStringList(["a", "b"]), ("a", "b"))

    def test_refused(self) -> None:
        """
        A list holding anything but strings, and any other type, are
        refused, naming what was found.
        """
        with self.assertRaises(ConfigError) as caught:
            _values.parseStringList(["a", 1])
        self.assertEqual(str(caught.exception), "expected a list of strings, found an integer")
        with self.assertRaises(ConfigError) as caught:
            _values.parseStringList({"a": "b"})
        self.assertEqual(str(caught.exception), "expected a string or a list of strings, got a table")

    def test_originNone(self) -> None:
        """
        C{none} in any case and spacing stands for requests without an
        Origin header.
        """
        self.assertEqual(_values.parseOrigins(["https://a.example", " NONE "]),
                         ("https://a.example", None))


class VersionTests(SynchronousTestCase):
    """
    L{_values.parseVersions}.
    """

    def test_stringAndList(self) -> None:
        """
        A comma-separated string and a TOML list (where integers are version
        numbers) give the canonical labels in order, without repeats.
        """
        self.assertEqual(_values.parseVersions("rfc6455, hixie-76, 13"), ("rfc6455", "hixie-76"))
        self.assertEqual(_values.parseVersions([13, " hybi-08 "]), ("rfc6455", "hybi-08"))

    def test_all(self) -> None:
        """
        C{all} stands for every version, after those named before it.
        """
        result = _values.parseVersions("hybi-07,ALL")
        self.assertEqual(result[0], "hybi-07")
        self.assertEqual(len(result), len(set(result)))
        self.assertIn("hixie-75", result)
        self.assertIn("rfc6455", result)

    def test_refused(self) -> None:
        """
        Values of other types, list items that are neither names nor
        numbers, unknown names and an empty list are refused.
        """
        with self.assertRaises(ConfigError) as caught:
            _values.parseVersions(13)
        self.assertEqual(str(caught.exception), "expected a list of version names, got an integer")
        with self.assertRaises(ConfigError) as caught:
            _values.parseVersions(["rfc6455", True])
        self.assertEqual(str(caught.exception), "expected version names, found a boolean")
        with self.assertRaises(ConfigError) as caught:
            _values.parseVersions("rfc6455,hybi-99")
        self.assertTrue(str(caught.exception).startswith("unknown protocol version 'hybi-99' (known: "),
                        str(caught.exception))
        self.assertIn("rfc6455", str(caught.exception))
        with self.assertRaises(ConfigError) as caught:
            _values.parseVersions([])
        self.assertEqual(str(caught.exception), "at least one protocol version is needed")


class ScalarTests(SynchronousTestCase):
    """
    L{_values.parseBool}, L{_values.parseString}, L{_values.parsePath} and
    the bounded whole numbers.
    """

    def test_bool(self) -> None:
        """
        Only TOML booleans are booleans.
        """
        self.assertIs(_values.parseBool(False), False)
        with self.assertRaises(ConfigError) as caught:
            _values.parseBool("yes")
        self.assertEqual(str(caught.exception), "expected true or false, got a string")
        self.assertEqual(_values.KINDS["bool"].show(True), "on")
        self.assertEqual(_values.KINDS["bool"].show(False), "off")

    def test_string(self) -> None:
        """
        Only strings are strings.
        """
        with self.assertRaises(ConfigError) as caught:
            _values.parseString(1.0)
        self.assertEqual(str(caught.exception), "expected a string, got a number")

    def test_path(self) -> None:
        """
        Paths are C{*} or absolute, lose trailing slashes (but C{/} stays),
        and cannot hold a query or a fragment.
        """
        self.assertEqual(_values.parsePath(" * "), "*")
        self.assertEqual(_values.parsePath("/chat/"), "/chat")
        self.assertEqual(_values.parsePath("/"), "/")
        self.assertEqual(_values.parsePath("//"), "/")
        with self.assertRaises(ConfigError) as caught:
            _values.parsePath("chat")
        self.assertEqual(str(caught.exception),
                         "expected a path starting with '/' (or '*' for every path), got 'chat'")
        for bad in ("/a?b=1", "/a#top"):
            with self.assertRaises(ConfigError) as caught:
                _values.parsePath(bad)
            self.assertEqual(str(caught.exception),
                             f"a path cannot hold a query or a fragment: {bad!r}")
        self.assertRaises(ConfigError, _values.parsePath, ["/"])

    def test_wholeNumbers(self) -> None:
        """
        Window bits, compression and memory levels take integers or
        integer strings within their bounds, and say the bounds otherwise.
        """
        self.assertEqual(_values.parseWindowBits(" 12 "), 12)
        self.assertEqual(_values.parseCompressionLevel(-1), -1)
        self.assertEqual(_values.parseMemLevel("9"), 9)
        with self.assertRaises(ConfigError) as caught:
            _values.parseWindowBits("big")
        self.assertEqual(str(caught.exception),
                         "expected a window size in bits from 9 to 15, got 'big'")
        with self.assertRaises(ConfigError) as caught:
            _values.parseWindowBits(8)
        self.assertEqual(str(caught.exception), "expected a window size in bits from 9 to 15, got 8")
        with self.assertRaises(ConfigError) as caught:
            _values.parseCompressionLevel(True)
        self.assertEqual(str(caught.exception),
                         "expected a compression level from -1 to 9, got a boolean")
        with self.assertRaises(ConfigError) as caught:
            _values.parseMemLevel(0)
        self.assertEqual(str(caught.exception), "expected a memLevel from 1 to 9, got 0")
        with self.assertRaises(ConfigError) as caught:
            _values.parseMemLevel(2.0)
        self.assertEqual(str(caught.exception), "expected a memLevel from 1 to 9, got a number")

    def test_kinds(self) -> None:
        """
        Flags are the kinds with no metavar; the list kinds are repeatable.
        """
        self.assertTrue(_values.KINDS["compression"].flag)
        self.assertFalse(_values.KINDS["size"].flag)
        self.assertTrue(_values.KINDS["origins"].repeatable)
        self.assertFalse(_values.KINDS["seconds"].repeatable)
