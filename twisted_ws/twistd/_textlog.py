# -*- test-case-name: tests.test_textlog -*-
"""
The text log of C{twistd websocket} (C{--log-format text}, the default):
the lines twistd's own L{twisted.logger.textFileLogObserver} writes, to the
same file, made for less.

A server that logs each connection writes two lines per connection, and
Twisted's formatting (a L{string.Formatter} walk of the message, and a
time zone and a C{strftime} for the timestamp of every line) costs more
than the WebSocket handshake itself.  The formatter here gives the same
text: a message format is parsed once and kept, the timestamp text is
kept for the second it names, and any event it does not handle as simply
(a failure with its traceback, a flattened event, a field with a
conversion, a format spec or an attribute, a missing field, a value that
cannot be formatted) goes to Twisted's own formatter.
"""

from __future__ import annotations

from string import Formatter
from typing import Any

from twisted.logger import FileLogObserver, LogEvent, formatEventAsClassicLogText, formatTime
from twisted.logger._format import timeFormatRFC3339

_parse = Formatter().parse

#: The most message formats kept; beyond it (formats made per event by
#: someone's code) they are parsed each time.
_MAX_FORMATS = 256


def _plain(format: str) -> bool:
    """
    Whether every field of C{format} is a plain name (no conversion, format
    spec, index, attribute or call): such a format gives with
    L{str.format_map} of the event the text Twisted's formatter gives.
    """
    try:
        for _, name, spec, conversion in _parse(format):
            if name is not None and (spec or conversion or not name.isidentifier()):
                return False
    except ValueError:
        return False
    return True


class ClassicTextFormatter:
    """
    Format an event as L{twisted.logger.formatEventAsClassicLogText} does,
    with the timestamp of C{timeFormat}, for a L{FileLogObserver}.
    """

    def __init__(self, timeFormat: str | None = timeFormatRFC3339) -> None:
        self.timeFormat = timeFormat
        self._plain: dict[str, bool] = {}
        self._second = -1
        self._stamp = ""

    def _slow(self, event: LogEvent) -> str | None:
        timeFormat = self.timeFormat
        return formatEventAsClassicLogText(event, formatTime=lambda when: formatTime(when, timeFormat))

    def _timestamp(self, when: float) -> str:
        """
        The timestamp text of C{when}, kept for the whole second it is in
        (a format finer than seconds is not in use: C{%f} goes to
        L{formatTime} each time).  Near the end of a second, where
        microsecond rounding may carry into the next one, it is made anew.
        """
        second = int(when)
        if second == self._second and when - second < 0.999:
            return self._stamp
        stamp = formatTime(when, self.timeFormat)
        if when - second < 0.999 and "%f" not in (self.timeFormat or ""):
            self._second, self._stamp = second, stamp
        return stamp

    def __call__(self, event: LogEvent) -> str | None:
        fmt = event.get("log_format")
        when = event.get("log_time")
        if (type(fmt) is not str or "log_failure" in event or "log_flattened" in event
                or type(when) is not float or when < 0 or self.timeFormat is None):
            return self._slow(event)
        known = self._plain
        plain = known.get(fmt)
        if plain is None:
            plain = _plain(fmt)
            if len(known) < _MAX_FORMATS:
                known[fmt] = plain
        if not plain:
            return self._slow(event)
        try:
            text = fmt.format_map(event)
        except Exception:
            return self._slow(event)
        if not text:
            return None
        system = event.get("log_system")
        if system is None:
            level = event.get("log_level")
            system = f"{event.get('log_namespace', '-')}#{'-' if level is None else level.name}"
        elif type(system) is not str:
            return self._slow(event)
        line = f"{self._timestamp(when)} [{system}] {text}"
        return line.replace("\n", "\n\t") + "\n"


def textObserver(config: Any) -> FileLogObserver | None:
    """
    The observer of C{twistd}'s text log, as C{twistd} would make it (the
    same file, rotated the same way), with L{ClassicTextFormatter}; or
    L{None} to leave it to C{twistd}: outside C{twistd}, with C{--logger}
    or C{--syslog}, or where C{twistd} makes something else.
    """
    parent: Any = getattr(config, "parent", None)
    if not hasattr(parent, "get") or parent.get("logger") or parent.get("syslog"):
        return None
    try:
        from twisted.scripts._twistd_unix import UnixAppLogger as AppLogger
    except ImportError:  # pragma: no cover - Windows
        from twisted.application.app import AppLogger  # type: ignore[assignment]
    observer = AppLogger(parent)._getLogObserver()
    if not isinstance(observer, FileLogObserver):  # pragma: no cover - a new twistd
        return None
    observer.formatEvent = ClassicTextFormatter()
    return observer
