"""
Waiting, bounded, for a condition that the running reactor makes true.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import inlineCallbacks
from twisted.internet.task import deferLater
from twisted.trial.unittest import SynchronousTestCase


@inlineCallbacks
def waitFor(case: SynchronousTestCase, condition: Callable[[], Any], what: str, timeout: float) -> Any:
    """
    Let the reactor run until C{condition()} is true, and return its value;
    fail C{case} naming C{what} after C{timeout} seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            case.fail(f"timed out waiting for {what}")
        yield deferLater(reactor, 0.02, lambda: None)
