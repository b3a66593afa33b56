"""
The text log of C{twistd websocket}: L{ClassicTextFormatter} gives the
lines Twisted's L{twisted.logger.textFileLogObserver} gives, and
C{twistd} writes them to its usual file.
"""

from __future__ import annotations

import io
import os
import time
from typing import Any

from twisted.logger import FileLogObserver, LogLevel, textFileLogObserver
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase

from twisted_ws import Version
from twisted_ws.twistd._textlog import ClassicTextFormatter, textObserver

from ._support.plainclient import openClient, readClose
from ._support.twistd import Twistd


def twistedText(event: dict[str, Any]) -> str | None:
    """
    The line Twisted's own text observer writes for C{event}.
    """
    out = io.StringIO()
    textFileLogObserver(out)(dict(event))
    return out.getvalue() or None


class Unprintable:
    def __format__(self, spec: str) -> str:
        raise ValueError("no")

    def __repr__(self) -> str:
        return "<Unprintable>"


class ClassicTextFormatterTests(TestCase):
    """
    L{ClassicTextFormatter} against L{textFileLogObserver}.
    """

    def event(self, format: Any, **fields: Any) -> dict[str, Any]:
        event: dict[str, Any] = {
            "log_format": format, "log_level": LogLevel.info,
            "log_namespace": "twisted_ws", "log_time": 1700000000.25,
        }
        event.update(fields)
        return event

    def assertSameText(self, event: dict[str, Any]) -> None:
        self.assertEqual(ClassicTextFormatter()(dict(event)), twistedText(event))

    def test_connectionLines(self) -> None:
        """
        The opening and closing lines come out as Twisted writes them.
        """
        self.assertSameText(self.event("WebSocket {version} connection with {peer} opened",
                                       version="rfc6455", peer="127.0.0.1:4000",
                                       log_level=LogLevel.debug))
        event = self.event("WebSocket {version} connection with {peer} closed: {code} clean={clean}",
                           version="rfc6455", peer="127.0.0.1:4000", code=1000, clean=True)
        self.assertEqual(
            ClassicTextFormatter()(event)[24:],  # after the local timestamp
            " [twisted_ws#info] WebSocket rfc6455 connection with 127.0.0.1:4000 closed: 1000 clean=True\n")
        self.assertSameText(event)

    def test_other_events(self) -> None:
        """
        Conversions, format specs, attributes, calls, escaped braces,
        missing and unformattable fields, a system, several lines, an empty
        message, no format, no time, a failure and bytes formats all give
        Twisted's text.
        """
        try:
            raise ZeroDivisionError("in a test")
        except ZeroDivisionError:
            failure = Failure()
        cases = [
            self.event("{a!r} {b:>5} {c.real} {d()} {{x}}", a="s", b=3, c=2, d=lambda: "called"),
            self.event("missing {nothere}"),
            self.event("bad {u}", u=Unprintable()),
            self.event("from {x}", x=1, log_system="HTTPChannel,3,127.0.0.1"),
            self.event("from {x}", x=1, log_system=7),
            self.event("two\nlines {x}", x="and\nthree"),
            self.event(""),
            self.event(None),
            self.event(b"bytes {x}", x=1),
            self.event("{x}", x=1, log_time=None),
            self.event("{x}", x=1, log_level=None, log_namespace=None),
            self.event("failed {x}", x=1, log_failure=failure),
            self.event("positional {} {0}"),
            self.event("broken {"),
        ]
        for event in cases:
            self.assertSameText(event)

    def test_timestamps(self) -> None:
        """
        The timestamp kept for a second is the one Twisted gives for every
        time in it, up to its end, and a new second gets its own.
        """
        formatter = ClassicTextFormatter()
        base = float(int(time.time()))
        for offset in (0.0, 0.5, 0.9989, 0.9999996, 1.0, 1.3, 3600.2, 0.1):
            event = self.event("at {x}", x=offset, log_time=base + offset)
            self.assertEqual(formatter(dict(event)), twistedText(event))

    def test_otherTimeFormat(self) -> None:
        """
        Another time format, and none, are honoured.
        """
        event = self.event("at {x}", x=1)
        formatter = ClassicTextFormatter("%H:%M")
        self.assertEqual(formatter(dict(event)), _withFormat(event, "%H:%M"))
        self.assertEqual(ClassicTextFormatter(None)(dict(event)), _withFormat(event, None))

    def test_notUnderTwistd(self) -> None:
        """
        Options parsed outside twistd (no parent), with C{--logger} or with
        C{--syslog} leave the log to twistd.
        """
        class Config:
            parent: Any = None

        config = Config()
        self.assertIsNone(textObserver(config))
        config.parent = {"logger": "some.factory"}
        self.assertIsNone(textObserver(config))
        config.parent = {"syslog": True}
        self.assertIsNone(textObserver(config))

    def test_logFile(self) -> None:
        """
        With C{--logfile}, the observer writes twistd's lines to that file.
        """
        path = os.path.abspath(self.mktemp())

        class Config:
            parent = {"logfile": path, "nodaemon": True}

        observer = textObserver(Config())
        assert observer is not None
        self.assertIsInstance(observer, FileLogObserver)
        event = self.event("hello {x}", x=1)
        observer(dict(event))
        self.addCleanup(observer._outFile.close)
        with open(path) as f:
            self.assertEqual(f.read(), twistedText(event))


def _withFormat(event: dict[str, Any], timeFormat: str | None) -> str | None:
    out = io.StringIO()
    textFileLogObserver(out, timeFormat=timeFormat)(dict(event))
    return out.getvalue() or None


class TwistdTextLogTests(TestCase):
    """
    The text lines of a real C{twistd -n websocket}.
    """

    def test_connectionLines(self) -> None:
        """
        By default a connection logs its closing, not its opening, in
        twistd's line format, to standard output.
        """
        directory = self.mktemp()
        os.makedirs(directory)
        twistd = Twistd(["--app", "echo", "--listen", "tcp:0:interface=127.0.0.1"], directory)
        self.addCleanup(lambda: twistd.process.poll() is None and twistd.stop())
        port = twistd.waitForPorts(1)[0]
        sock, client = openClient(port, Version.RFC6455)
        self.addCleanup(sock.close)
        client.close(4000, "done")
        sock.sendall(client.dataToSend())
        readClose(sock, client)
        twistd.stop()
        lines = [line.rstrip("\n") for line in twistd.lines]
        opened = [line for line in lines if line.endswith(" opened")]
        closed = [line for line in lines if " closed: " in line]
        self.assertEqual(opened, [], twistd.output)
        self.assertEqual(len(closed), 1, twistd.output)
        self.assertRegex(
            closed[0],
            r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} \[twisted_ws#info\] WebSocket rfc6455 connection with 127\.0\.0\.1:\d+ "
            r"closed: 4000 clean=True$")
