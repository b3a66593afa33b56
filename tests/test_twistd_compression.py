"""
Tests for the compression options of C{twistd websocket}: C{--compression},
C{--deflate-frame} and the options that tune them, on the command line and
in the configuration file, and the extension factories they make.
"""

from __future__ import annotations

import textwrap
from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from twisted_ws import tap
from twisted_ws.codec import DeflateFrame, PerMessageDeflate
from twisted_ws.twistd import _docs
from twisted_ws.twistd._library import COMPRESSION_OPTIONS, LIBRARY_BY_NAME, compressionFactories

from ._support.tapopts import libraryOptions, parse


def extensionsOf(config: tap.Options, index: int = 0) -> tuple[Any, ...]:
    """
    The extension factories the application at C{index} is built with.
    """
    return tuple(libraryOptions(config, index).extensions)


class CommandLineTests(SynchronousTestCase):
    """
    The compression options given on the command line.
    """

    def assertRefused(self, argv: list[str], *fragments: str) -> list[str]:
        """
        Parsing C{argv} stops with a L{tap.ConfigurationError} whose problems
        are one line each and hold all of C{fragments} between them.
        """
        error = self.assertRaises(tap.ConfigurationError, parse, *argv)
        for problem in error.problems:
            self.assertNotIn("\n", problem)
        for fragment in fragments:
            self.assertIn(fragment, str(error))
        return error.problems

    def test_off(self) -> None:
        """
        Without C{--compression} no extension is offered.
        """
        self.assertEqual(extensionsOf(parse("--listen", "tcp:0")), ())

    def test_defaults(self) -> None:
        """
        C{--compression} alone makes one L{PerMessageDeflate} with context
        takeover, no window cap announced, and the library's own defaults:
        zlib's level, memLevel 5 and a 12-bit window to compress with.
        """
        [factory] = extensionsOf(parse("--compression"))
        self.assertIsInstance(factory, PerMessageDeflate)
        self.assertEqual(
            (factory.serverNoContextTakeover, factory.clientNoContextTakeover,
             factory.serverMaxWindowBits, factory.clientMaxWindowBits,
             factory.localMaxWindowBits,
             factory.compressionLevel, factory.memLevel, factory.minSize),
            (False, False, None, None, 12, -1, 5, 0),
        )
        self.assertEqual(factory.offer(), "permessage-deflate; client_max_window_bits")

    def test_tuned(self) -> None:
        """
        Every tuning option reaches the L{PerMessageDeflate}: no context
        takeover on both sides, the window cap on both sides, the level,
        the memLevel and the threshold.
        """
        [factory] = extensionsOf(parse(
            "--compression", "--compression-no-context-takeover",
            "--compression-window-bits", "10", "--compression-level", "1",
            "--compression-mem-level", "4", "--compression-min-size", "1KiB",
        ))
        self.assertEqual(
            (factory.serverNoContextTakeover, factory.clientNoContextTakeover,
             factory.serverMaxWindowBits, factory.clientMaxWindowBits,
             factory.localMaxWindowBits,
             factory.compressionLevel, factory.memLevel, factory.minSize),
            (True, True, 10, 10, 10, 1, 4, 1024),
        )

    def test_windowBitsAboveTheDefault(self) -> None:
        """
        C{--compression-window-bits 15} also lifts the 12-bit window the
        server compresses with by default.
        """
        [factory] = extensionsOf(parse("--compression", "--compression-window-bits", "15"))
        extension = factory.acceptOffer([{}])
        assert extension is not None
        self.assertEqual((extension.localWindowBits, extension.remoteWindowBits), (15, 15))

    def test_negotiates(self) -> None:
        """
        The tuned factory answers a browser's offer with the server's
        policy: both no_context_takeover parameters and the window caps.
        """
        [factory] = extensionsOf(parse(
            "--compression", "--compression-no-context-takeover", "--compression-window-bits", "12",
        ))
        extension = factory.acceptOffer([{"client_max_window_bits": None}])
        self.assertIsNotNone(extension)
        assert extension is not None
        params = extension.responseParams()
        for part in ("server_no_context_takeover", "client_no_context_takeover",
                     "server_max_window_bits=12", "client_max_window_bits=12"):
            self.assertIn(part, params)

    def test_deflateFrame(self) -> None:
        """
        C{--deflate-frame} adds a L{DeflateFrame} for each of its two names,
        after the L{PerMessageDeflate}, tuned by the same options.
        """
        extensions = extensionsOf(parse(
            "--compression", "--deflate-frame", "--compression-window-bits", "11",
            "--compression-no-context-takeover",
        ))
        self.assertIsInstance(extensions[0], PerMessageDeflate)
        frames = extensions[1:]
        self.assertEqual([f.name for f in frames], ["x-webkit-deflate-frame", "deflate-frame"])
        for frame in frames:
            self.assertIsInstance(frame, DeflateFrame)
            self.assertEqual((frame.maxWindowBits, frame.localMaxWindowBits), (11, 11))
            self.assertTrue(frame.noContextTakeover and frame.localNoContextTakeover)

    def test_deflateFrameAlone(self) -> None:
        """
        C{--deflate-frame} without C{--compression} accepts deflate-frame
        only.
        """
        extensions = extensionsOf(parse("--deflate-frame"))
        self.assertEqual([type(e) for e in extensions], [DeflateFrame, DeflateFrame])

    def test_badValues(self) -> None:
        """
        A value out of range or not a number is refused with one line that
        names the option and the range.
        """
        cases = [
            ("--compression-window-bits", "8", "from 9 to 15, got 8"),
            ("--compression-window-bits", "16", "from 9 to 15, got 16"),
            ("--compression-window-bits", "big", "'big'"),
            ("--compression-level", "10", "from -1 to 9, got 10"),
            ("--compression-mem-level", "0", "from 1 to 9, got 0"),
            ("--compression-min-size", "-1", "size in bytes"),
        ]
        for option, value, fragment in cases:
            problems = self.assertRefused(["--compression", option, value], option, fragment)
            self.assertEqual(len(problems), 1, problems)

    def test_everyProblemAtOnce(self) -> None:
        """
        Several bad compression values are reported together, one line
        each.
        """
        problems = self.assertRefused(
            ["--compression", "--compression-level", "11", "--compression-mem-level", "10"],
            "--compression-level", "--compression-mem-level",
        )
        self.assertEqual(len(problems), 2, problems)

    def test_tuningWithoutCompression(self) -> None:
        """
        A tuning option with compression off is refused, saying what it
        needs.
        """
        problems = self.assertRefused(
            ["--compression-level", "3"], "--compression-level needs --compression or --deflate-frame"
        )
        self.assertEqual(len(problems), 1, problems)

    def test_minSizeZero(self) -> None:
        """
        C{--compression-min-size 0} is allowed: every message is compressed.
        """
        [factory] = extensionsOf(parse("--compression", "--compression-min-size", "0"))
        self.assertEqual(factory.minSize, 0)


class ConfigFileTests(SynchronousTestCase):
    """
    The compression keys of the configuration file.
    """

    def writeConfig(self, text: str) -> str:
        """
        Write C{text} (dedented) to a new file and return its path.
        """
        path = self.mktemp()
        with open(path, "w", encoding="utf-8") as f:
            f.write(textwrap.dedent(text))
        return path

    def test_keys(self) -> None:
        """
        The file's compression keys set the same as the options, and an
        application's own table may turn compression off for it alone (the
        server-wide tuning then has no effect on it).
        """
        path = self.writeConfig("""
            listen = "tcp:0"
            compression = true
            compression-no-context-takeover = true
            compression-window-bits = 13
            compression-level = 5
            compression-mem-level = 7
            compression-min-size = "256"
            deflate-frame = true

            [[app]]
            name = "echo"
            path = "/echo"

            [[app]]
            name = "chat"
            path = "/chat"
            compression = false
            deflate-frame = false
            compression-no-context-takeover = false
        """)
        config = parse("--config", path)
        first, *frames = extensionsOf(config, 0)
        self.assertEqual(
            (first.serverNoContextTakeover, first.serverMaxWindowBits, first.compressionLevel,
             first.memLevel, first.minSize),
            (True, 13, 5, 7, 256),
        )
        self.assertEqual(len(frames), 2)
        self.assertEqual(extensionsOf(config, 1), ())

    def test_badKey(self) -> None:
        """
        A bad value in the file is one line naming the file and the key.
        """
        path = self.writeConfig("""
            compression = true
            compression-window-bits = "fifteen"
            compression-level = true
        """)
        error = self.assertRaises(tap.ConfigurationError, parse, "--config", path)
        self.assertEqual(len(error.problems), 2, error.problems)
        self.assertIn(f"{path}: compression-window-bits: expected a window size in bits", str(error))
        self.assertIn(f"{path}: compression-level: expected a compression level", str(error))


class TableTests(SynchronousTestCase):
    """
    The compression options in the option table and the manual.
    """

    def test_inTable(self) -> None:
        """
        Every compression option is in the library option table with a help
        text showing its default, right after C{--compression}.
        """
        names = [option.name for option in tap.LIBRARY_OPTIONS]
        start = names.index("compression") + 1
        self.assertEqual(names[start:start + len(COMPRESSION_OPTIONS)],
                         [option.name for option in COMPRESSION_OPTIONS])
        for option in COMPRESSION_OPTIONS:
            self.assertIs(LIBRARY_BY_NAME[option.name], option)
            self.assertIn("[default: ", option.helpText)

    def test_inHelp(self) -> None:
        """
        C{--help} lists every compression option.
        """
        text = str(tap.Options())
        for option in COMPRESSION_OPTIONS:
            self.assertIn(f"--{option.name}", text)

    def test_inManual(self) -> None:
        """
        The generated options page lists every compression option.
        """
        generated = _docs.generate()
        for option in COMPRESSION_OPTIONS:
            self.assertIn(f"``--{option.name}", generated)

    def test_factoriesIgnoreOthers(self) -> None:
        """
        L{compressionFactories} with no compression setting makes nothing.
        """
        self.assertEqual(compressionFactories({"max-message-size": 10}), ())
