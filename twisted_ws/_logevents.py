"""
The events the Twisted layer logs for every connection (its opening and
closing, a refused handshake), emitted as L{twisted.logger.Logger} emits
them, for less.

L{Logger.emit} first checks its level against every L{LogLevel}, which it
lists and sorts on each call: about 6 microseconds, more than the rest of
an event that the twistd text log then formats and writes.  These events
carry one of the constants of L{LogLevel}, so L{emit} builds the same
event (the same keys, to the same observer) without that check.
"""

from __future__ import annotations

from time import time
from typing import Any

from twisted.logger import Logger, LogLevel

__all__ = ["DEBUG", "INFO", "emit", "log"]

#: The logger of the Twisted layer's connection events.
log = Logger(namespace="twisted_ws")

DEBUG = LogLevel.debug
INFO = LogLevel.info


def emit(level: LogLevel, format: str, event: dict[str, Any]) -> None:
    """
    Emit C{event} (the fields of C{format} and any others) at C{level}, as
    C{log.emit(level, format, **event)} would.
    """
    event["log_logger"] = log
    event["log_level"] = level
    event["log_namespace"] = log.namespace
    event["log_source"] = log.source
    event["log_format"] = format
    event["log_time"] = time()
    log.observer(event)
