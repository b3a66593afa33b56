"""
Tests for L{twisted_ws.Options}: the Twisted layer's settings composed with
the codec's into one flat frozen dataclass.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import warnings

from twisted.trial.unittest import SynchronousTestCase

import twisted_ws
from twisted_ws import Options, Version
from twisted_ws._options import ClientOptions, ConnectionOptions, ServerOptions
from twisted_ws.codec import Options as CodecOptions
from twisted_ws.codec import ServerConnection
from twisted_ws.codec._options import MOVED_TO_LAYER

#: Every attribute twisted_ws.Options had before the split, in order, then
#: those added since.
ATTRIBUTES = [
    "versions", "allowedOrigins", "subprotocols", "extensions", "maxHeaderSize",
    "maxFrameSize", "maxMessageSize", "fragmentSize", "autoPong", "decodeText",
    "openTimeout", "closeTimeout", "pingInterval", "pingTimeout", "writeHighWater",
    "writeLowWater", "tcpNoDelay", "logConnections",
    # Added since.
    "logOpenings",
]


class ShapeTests(SynchronousTestCase):
    """
    What L{twisted_ws.Options} is made of.
    """

    def test_publicName(self) -> None:
        """
        C{twisted_ws.Options} is the layer's class, a subclass of the
        codec's, and the layer's settings are in a class of their own with
        room for the server's and the client's.
        """
        self.assertIs(twisted_ws.Options, Options)
        self.assertTrue(issubclass(Options, CodecOptions))
        for part in (ConnectionOptions, ServerOptions, ClientOptions):
            self.assertTrue(issubclass(Options, part), part)
        self.assertEqual(
            {f.name for f in dataclasses.fields(ConnectionOptions)}, set(MOVED_TO_LAYER)
        )

    def test_flat(self) -> None:
        """
        Every setting is a field of its own, in the order it had before the
        layers were split, so keyword and positional construction still
        work.
        """
        self.assertEqual([f.name for f in dataclasses.fields(Options)], ATTRIBUTES)
        options = Options(maxMessageSize=1000, openTimeout=3.0, pingInterval=30.0)
        self.assertEqual(
            (options.maxMessageSize, options.openTimeout, options.pingInterval),
            (1000, 3.0, 30.0),
        )
        self.assertEqual(Options(frozenset({Version.RFC6455})).versions, {Version.RFC6455})

    def test_frozenAndHashable(self) -> None:
        """
        The options cannot be changed, compare by value and hash alike.
        """
        options = Options(openTimeout=3.0)
        self.assertRaises(dataclasses.FrozenInstanceError, setattr, options, "openTimeout", 1.0)
        self.assertEqual(options, Options(openTimeout=3.0))
        self.assertNotEqual(options, Options(openTimeout=4.0))
        self.assertEqual(hash(options), hash(Options(openTimeout=3.0)))
        self.assertEqual(dataclasses.replace(options, pingTimeout=2.0).pingTimeout, 2.0)

    def test_noWarning(self) -> None:
        """
        Building the layer's options with layer settings warns of nothing.
        """
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            Options(openTimeout=1.0, writeHighWater=10, logConnections=False)
        self.assertEqual(caught, [])

    def test_codecAcceptsThem(self) -> None:
        """
        The codec takes the layer's options as its own and reads its
        settings from them.
        """
        connection = ServerConnection(Options(maxHeaderSize=10, openTimeout=2.0))
        events = connection.receiveData(b"GET / HTTP/1.1\r\nHost: a-long-host-name\r\n\r\n")
        self.assertEqual([getattr(e, "status", None) for e in events], [431])

    def test_defaults(self) -> None:
        """
        The layer's defaults: 10 s to open, 5 s to close, no keepalive, 20 s
        for a pong, a 1 MiB high-water mark, TCP_NODELAY and logging on
        (closings, not openings).
        """
        options = Options()
        self.assertEqual(
            [getattr(options, name) for name in MOVED_TO_LAYER],
            [10.0, 5.0, None, 20.0, 1024 * 1024, None, True, True, False],
        )

    def test_movedDefaultsAgree(self) -> None:
        """
        The defaults the codec's options answer for the settings that moved
        (during their deprecation) are the layer's defaults.
        """
        layer = Options()
        for name, default in MOVED_TO_LAYER.items():
            self.assertEqual(getattr(layer, name), default, name)

    def test_invalid(self) -> None:
        """
        Invalid layer settings raise L{ValueError} at construction, as the
        codec's do.
        """
        for name in ("openTimeout", "closeTimeout", "pingInterval", "pingTimeout"):
            self.assertRaises(ValueError, Options, **{name: 0})
            self.assertRaises(ValueError, Options, **{name: -1.0})
            self.assertIsNone(getattr(Options(**{name: None}), name))
        self.assertRaises(ValueError, Options, writeHighWater=0)
        self.assertRaises(ValueError, Options, writeLowWater=-1)
        self.assertRaises(ValueError, Options, writeHighWater=100, writeLowWater=100)
        self.assertRaises(ValueError, Options, writeLowWater=0.5)
        self.assertEqual(Options(writeHighWater=100, writeLowWater=99).writeLowWater, 99)
        self.assertEqual(Options(writeLowWater=0).writeLowWater, 0)
        self.assertRaises(ValueError, Options, maxFrameSize=0)
        self.assertRaises(ValueError, Options, versions=())

    def test_metadata(self) -> None:
        """
        Every field carries help text, its kind of value, its C{twistd}
        option (or none) and its default as shown.
        """
        options = set()
        for f in dataclasses.fields(Options):
            self.assertEqual(set(f.metadata), {"help", "option", "value", "default"}, f.name)
            self.assertTrue(f.metadata["help"].endswith("."), f.name)
            self.assertTrue(f.metadata["value"], f.name)
            if f.metadata["option"] is not None:
                self.assertNotIn(f.metadata["option"], options)
                options.add(f.metadata["option"])


class CoerceTests(SynchronousTestCase):
    """
    L{Options.coerce} turns what a caller handed the layer into its options.
    """

    def test_same(self) -> None:
        """
        The layer's own options come back as they are; L{None} gives the
        defaults.
        """
        options = Options(openTimeout=1.0)
        self.assertIs(Options.coerce(options), options)
        self.assertEqual(Options.coerce(None), Options())

    def test_codecOptions(self) -> None:
        """
        The codec's options become the layer's with the same codec settings
        and the default layer settings.
        """
        codec = CodecOptions(maxFrameSize=100, subprotocols=("a",), autoPong=False)
        options = Options.coerce(codec)
        self.assertIsInstance(options, Options)
        self.assertEqual((options.maxFrameSize, options.subprotocols, options.autoPong),
                         (100, ("a",), False))
        self.assertEqual(options.openTimeout, 10.0)

    def test_deprecatedLayerSettings(self) -> None:
        """
        Layer settings given to the codec's options (deprecated) are kept.
        """
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            codec = CodecOptions(pingInterval=15.0, tcpNoDelay=False)
        options = Options.coerce(codec)
        self.assertEqual((options.pingInterval, options.tcpNoDelay), (15.0, False))

    def test_notOptions(self) -> None:
        """
        Anything else is a L{TypeError}.
        """
        self.assertRaises(TypeError, Options.coerce, {"openTimeout": 1})


class ImportTests(SynchronousTestCase):
    """
    The layer's options import nothing from Twisted.
    """

    def test_noTwisted(self) -> None:
        """
        Importing and building L{twisted_ws.Options} in a fresh interpreter
        loads no Twisted module.
        """
        code = (
            "import json, sys\n"
            "from twisted_ws import Options\n"
            "Options(openTimeout=1.0)\n"
            "print(json.dumps(sorted(sys.modules)))\n"
        )
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
        )
        modules = json.loads(result.stdout.strip().splitlines()[-1])
        self.assertIn("twisted_ws._options", modules)
        self.assertEqual([m for m in modules if m == "twisted" or m.startswith("twisted.")], [])


class DocsTests(SynchronousTestCase):
    """
    The manual's options page is made from the fields' metadata.
    """

    def test_optionsPageUpToDate(self) -> None:
        """
        The generated part of docs/options.rst is what the metadata makes
        now (regenerate with C{python -m twisted_ws.twistd._docs}).
        """
        from twisted_ws.twistd import _docs

        root = os.path.dirname(os.path.dirname(os.path.abspath(twisted_ws.__file__)))
        path = os.path.join(root, "docs", "options.rst")
        with open(path, encoding="utf-8") as f:
            page = f.read()
        self.assertEqual(page, _docs.replaceGenerated(page))
        self.assertEqual(_docs.main(["--check", path]), 0)

    def test_generatedFromMetadata(self) -> None:
        """
        The generated text holds every option with its field, help text and
        default, and every field with no option.
        """
        from twisted_ws.twistd import _docs
        from twisted_ws.twistd._library import LIBRARY_OPTIONS

        text = " ".join(_docs.generate().split())
        for option in LIBRARY_OPTIONS:
            self.assertIn(f"``--{option.name}", text)
            self.assertIn(f"``{option.field}``", text)
            self.assertIn(" ".join(option.help.split()).replace("*", "\\*"), text)
        for f in dataclasses.fields(Options):
            if f.metadata["option"] is None:
                self.assertIn(f"``{f.name}``", text)

    def test_checkNoticesChange(self) -> None:
        """
        C{--check} fails on a page whose generated part was edited by hand.
        """
        from twisted_ws.twistd import _docs

        path = self.mktemp()
        with open(path, "w", encoding="utf-8") as f:
            f.write(f"Title\n\n{_docs.BEGIN}\n\nhand-edited\n\n{_docs.END}\n")
        self.assertEqual(_docs.main(["--check", path]), 1)
        self.assertEqual(_docs.main([path]), 0)
        self.assertEqual(_docs.main(["--check", path]), 0)
