"""
Tests for L{twisted_ws._deadlines}: deadlines of one length that share one
reactor timer.
"""

from __future__ import annotations

from twisted.internet import task
from twisted.trial import unittest

from twisted_ws._deadlines import _QUEUES, DeadlineQueue


class DeadlineQueueTests(unittest.TestCase):
    def setUp(self) -> None:
        self.clock = task.Clock()
        self.fired: list[tuple[str, float]] = []

    def expiry(self, name: str):
        return lambda: self.fired.append((name, self.clock.seconds()))

    def test_firesAfterItsDelay(self) -> None:
        """
        A deadline fires C{delay} seconds after it was armed, not before.
        """
        queue = DeadlineQueue.of(self.clock, 10, "t")
        queue.add("a", self.expiry("a"))
        self.clock.advance(9.999)
        self.assertEqual(self.fired, [])
        self.clock.advance(0.001)
        self.assertEqual(self.fired, [("a", 10.0)])

    def test_eachAtItsOwnTime(self) -> None:
        """
        Deadlines armed at different times each fire at their own time,
        oldest first, with one timer pending at a time.
        """
        queue = DeadlineQueue.of(self.clock, 10, "t")
        queue.add("a", self.expiry("a"))
        self.clock.advance(3)
        queue.add("b", self.expiry("b"))
        self.clock.advance(1)
        queue.add("c", self.expiry("c"))
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)
        self.clock.advance(6)
        self.assertEqual(self.fired, [("a", 10.0)])
        self.clock.advance(3)
        self.assertEqual(self.fired, [("a", 10.0), ("b", 13.0)])
        self.clock.advance(1)
        self.assertEqual(self.fired, [("a", 10.0), ("b", 13.0), ("c", 14.0)])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_removedNeverFires(self) -> None:
        """
        A removed deadline does not fire, and removing the oldest does not
        hold back the next one.
        """
        queue = DeadlineQueue.of(self.clock, 10, "t")
        queue.add("a", self.expiry("a"))
        self.clock.advance(2)
        queue.add("b", self.expiry("b"))
        queue.remove("a")
        queue.remove("never armed")
        self.clock.advance(8)
        self.assertEqual(self.fired, [])
        self.clock.advance(2)
        self.assertEqual(self.fired, [("b", 12.0)])

    def test_emptyQueueLeaves(self) -> None:
        """
        Once its last deadline is removed or has fired, a queue cancels its
        timer and leaves the registry, so that nothing of it stays pending
        on the reactor or holds the reactor.
        """
        queue = DeadlineQueue.of(self.clock, 10, "t")
        queue.add("a", self.expiry("a"))
        self.assertIs(DeadlineQueue.of(self.clock, 10, "t"), queue)
        queue.remove("a")
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertNotIn((self.clock, 10, "t"), _QUEUES)
        again = DeadlineQueue.of(self.clock, 10, "t")
        self.assertIsNot(again, queue)
        again.add("b", self.expiry("b"))
        self.clock.advance(10)
        self.assertEqual(self.fired, [("b", 10.0)])
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertNotIn((self.clock, 10, "t"), _QUEUES)

    def test_lengthsAndReactorsApart(self) -> None:
        """
        Each length on each reactor has its own queue.
        """
        other = task.Clock()
        short = DeadlineQueue.of(self.clock, 1, "t")
        self.assertIsNot(DeadlineQueue.of(self.clock, 10, "t"), short)
        self.assertIsNot(DeadlineQueue.of(other, 1, "t"), short)
        short.add("a", self.expiry("a"))
        DeadlineQueue.of(self.clock, 10, "t").add("b", self.expiry("b"))
        self.clock.advance(1)
        self.assertEqual(self.fired, [("a", 1.0)])
        self.clock.advance(9)
        self.assertEqual(self.fired, [("a", 1.0), ("b", 10.0)])

    def test_kindsApart(self) -> None:
        """
        Deadlines of two kinds and the same length are kept apart: one key
        may hold one of each, and removing one leaves the other.
        """
        opening = DeadlineQueue.of(self.clock, 10, "open")
        closing = DeadlineQueue.of(self.clock, 10, "close")
        self.assertIsNot(opening, closing)
        opening.add("a", self.expiry("open"))
        self.clock.advance(4)
        closing.add("a", self.expiry("close"))
        opening.remove("a")
        self.assertEqual(closing.dueTime("a"), 14.0)
        self.clock.advance(10)
        self.assertEqual(self.fired, [("close", 14.0)])

    def test_dueTime(self) -> None:
        """
        L{DeadlineQueue.dueTime} is when a key's deadline falls due, or
        L{None} for a key without one.
        """
        self.clock.advance(5)
        queue = DeadlineQueue.of(self.clock, 10, "t")
        queue.add("a", self.expiry("a"))
        self.assertEqual(queue.dueTime("a"), 15.0)
        self.assertIsNone(queue.dueTime("b"))
        self.assertEqual(len(queue), 1)
        queue.remove("a")

    def test_expiryArmingAnother(self) -> None:
        """
        An expiry that arms a new deadline in the same queue does not hold
        back a deadline armed before it: the timer is set for the oldest.
        """
        queue = DeadlineQueue.of(self.clock, 10, "t")

        def expireA() -> None:
            self.fired.append(("a", self.clock.seconds()))
            queue.add("c", self.expiry("c"))

        queue.add("a", expireA)
        self.clock.advance(5)
        queue.add("b", self.expiry("b"))
        self.clock.advance(5)
        self.assertEqual(self.fired, [("a", 10.0)])
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)
        self.clock.advance(5)
        self.assertEqual(self.fired, [("a", 10.0), ("b", 15.0)])
        self.clock.advance(5)
        self.assertEqual(self.fired, [("a", 10.0), ("b", 15.0), ("c", 20.0)])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_expiryRemovingTheRest(self) -> None:
        """
        An expiry may remove the other deadlines; the queue then empties
        and leaves nothing pending.
        """
        queue = DeadlineQueue.of(self.clock, 10, "t")
        queue.add("a", lambda: queue.remove("b"))
        queue.add("b", self.expiry("b"))
        self.clock.advance(10)
        self.assertEqual(self.fired, [])
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertNotIn((self.clock, 10, "t"), _QUEUES)

    def test_failingExpiryLogged(self) -> None:
        """
        An expiry that raises is logged, and the deadlines due with it
        still fire.
        """
        queue = DeadlineQueue.of(self.clock, 10, "t")
        queue.add("a", lambda: 1 / 0)
        queue.add("b", self.expiry("b"))
        self.clock.advance(10)
        self.assertEqual(self.fired, [("b", 10.0)])
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)
        self.assertEqual(self.clock.getDelayedCalls(), [])
