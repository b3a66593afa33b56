"""
Deadlines of one length, shared by many connections under one reactor
timer.

Every connection of a server has an opening deadline, and one while it
closes; each used to be a C{DelayedCall} of its own.  Twisted keeps those
in a heap ordered by a Python-level comparison, and rebuilds the heap
after every 50 cancellations, so arming and cancelling the two cost about
6 % of a whole handshake, almost all of it for deadlines that are
cancelled long before they are due.

All the deadlines of one length armed on one reactor fall due in the order
they were armed, so a L{DeadlineQueue} keeps them in a dict in insertion
order and holds a single C{DelayedCall}, for the earliest.  Arming is a
dict insertion, cancelling a dict deletion.  When the timer fires, the
queue expires every entry that is due, in order, and arms the timer again
for the next one; an entry cancelled before it was due only makes the
timer fire once for nothing.  An empty queue cancels its timer and leaves
the registry, so that a reactor without connections has no pending call
and a test's reactor is not held after the test.

Each deadline fires no earlier than it would as a C{DelayedCall} of its
own, and as soon as that timer could (the reactor runs due calls in one
pass).  Only if the reactor's clock is set back can one fire late, by at
most that step: a C{DelayedCall} would be late by as much.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from twisted.logger import Logger

if TYPE_CHECKING:
    from twisted.internet.interfaces import IDelayedCall, IReactorTime

__all__ = ["DeadlineQueue"]

_log = Logger(namespace="twisted_ws")

#: The queues that hold at least one deadline, by reactor, length and
#: kind.
_QUEUES: dict[tuple[Any, float, str], DeadlineQueue] = {}


class DeadlineQueue:
    """
    The deadlines of one kind, all C{delay} seconds after they were
    armed, that one reactor's connections have armed, in the order they
    fall due.

    @ivar reactor: the L{IReactorTime} whose clock and timer it uses.
    @ivar delay: the seconds from arming to expiry.
    @ivar kind: what the deadlines are for (C{"open"}, C{"close"}, ...).
        Each kind has queues of its own, so that an owner that holds a
        deadline of two kinds at once, of the same length, holds them in
        two queues under the same key.
    """

    __slots__ = ("reactor", "delay", "kind", "_entries", "_call")

    def __init__(self, reactor: IReactorTime, delay: float, kind: str) -> None:
        self.reactor = reactor
        self.delay = delay
        self.kind = kind
        #: key -> (when it is due, what to call then), oldest first.
        self._entries: dict[object, tuple[float, Callable[[], object]]] = {}
        self._call: IDelayedCall | None = None

    @classmethod
    def of(cls, reactor: IReactorTime, delay: float, kind: str) -> DeadlineQueue:
        """
        The queue of C{delay}-second deadlines of C{kind} on C{reactor},
        made if it has none.
        """
        key = (reactor, delay, kind)
        queue = _QUEUES.get(key)
        if queue is None:
            queue = _QUEUES[key] = cls(reactor, delay, kind)
        return queue

    def add(self, key: object, expire: Callable[[], object]) -> None:
        """
        Arm a deadline for C{key}: call C{expire} in C{delay} seconds
        unless L{remove} is called for C{key} first.  C{key} must not have
        one in this queue already.
        """
        due = self.reactor.seconds() + self.delay
        self._entries[key] = (due, expire)
        if self._call is None:
            self._call = self.reactor.callLater(self.delay, self._expire)

    def remove(self, key: object) -> None:
        """
        Cancel the deadline of C{key}, if it has one here.
        """
        entries = self._entries
        if entries.pop(key, None) is not None and not entries:
            self._empty()

    def dueTime(self, key: object) -> float | None:
        """
        When the deadline of C{key} falls due (on the reactor's clock), or
        L{None} if it has none here.
        """
        entry = self._entries.get(key)
        return None if entry is None else entry[0]

    def __len__(self) -> int:
        return len(self._entries)

    def _empty(self) -> None:
        call, self._call = self._call, None
        if call is not None and call.active():
            call.cancel()
        # An expiry may have made a new queue for this reactor, length and
        # kind after this one emptied: only this one leaves.
        key = (self.reactor, self.delay, self.kind)
        if _QUEUES.get(key) is self:
            del _QUEUES[key]

    def _expire(self) -> None:
        """
        The timer fired: expire what is due, oldest first, and arm the
        timer for the next deadline.
        """
        self._call = None
        entries = self._entries
        now = self.reactor.seconds()
        while entries:
            key = next(iter(entries))
            due, expire = entries[key]
            if due > now:
                # An expiry that armed a deadline here armed the timer for
                # it; an older one is due first.
                call = self._call
                if call is not None and call.active():
                    call.cancel()
                self._call = self.reactor.callLater(due - now, self._expire)
                return
            del entries[key]
            try:
                expire()
            except Exception:
                _log.failure("WebSocket deadline expiry failed")
        self._empty()
