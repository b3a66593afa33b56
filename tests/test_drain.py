"""
Draining: L{twisted_ws._drain.drainConnections} closes every connection
with 1001 and waits a bounded time, and C{twistd websocket} does it on
SIGTERM.
"""

from __future__ import annotations

import os
import signal
import time

from twisted.internet import task
from twisted.trial.unittest import TestCase

from twisted_ws import Version
from twisted_ws._drain import DrainService, drainConnections
from twisted_ws.codec import CloseReceived

from ._support.layer import Peer
from ._support.plainclient import openClient, readClose
from ._support.twistd import IO_TIMEOUT, Twistd


class DrainConnectionsTests(TestCase):
    """
    L{drainConnections} on connections driven by hand, with time on a clock.
    """

    def open(self, version: Version, clock: task.Clock) -> Peer:
        peer = Peer(version, clock=clock, path="/")
        peer.handshake()
        self.assertEqual(len(peer.factory.connections), 1)
        return peer

    def test_closesWith1001(self) -> None:
        """
        Every open connection gets a close with 1001, the applications hear
        1001 in connectionLost, and the Deferred fires once they are gone.
        """
        clock = task.Clock()
        peers = [self.open(Version.RFC6455, clock), self.open(Version.HYBI08, clock)]
        fired: list[int] = []
        drainConnections([p.factory for p in peers], timeout=5, reactor=clock).addCallback(
            fired.append)
        for peer in peers:
            closes = [e for e in peer.receive() if isinstance(e, CloseReceived)]
            self.assertEqual([c.code for c in closes], [1001])
            peer.flush()
            self.assertTrue(peer.transport.disconnecting)
            peer.lose()
            self.assertEqual(peer.app.lostReason().code, 1001)
            self.assertEqual(peer.factory.connections, {})
        self.assertEqual(fired, [])
        clock.advance(0.05)
        self.assertEqual(fired, [0])

    def test_hixieClosedCleanly(self) -> None:
        """
        A hixie-76 connection is closed with that version's closing
        handshake, which carries no code: its application hears a clean
        close with 1005 (no code received), as for any hixie-76 close.
        """
        clock = task.Clock()
        peer = self.open(Version.HIXIE76, clock)
        fired: list[int] = []
        drainConnections([peer.factory], timeout=5, reactor=clock).addCallback(fired.append)
        self.assertTrue([e for e in peer.receive() if isinstance(e, CloseReceived)])
        peer.flush()
        peer.lose()
        self.assertEqual(peer.app.lostReason().code, 1005)
        self.assertTrue(peer.app.lostReason().wasClean)
        clock.advance(0.05)
        self.assertEqual(fired, [0])

    def test_endsWhatIsLeft(self) -> None:
        """
        A peer that never answers is ended by force after the timeout, and
        the Deferred says how many were.
        """
        clock = task.Clock()
        peer = self.open(Version.RFC6455, clock)
        fired: list[int] = []
        drainConnections([peer.factory], timeout=2, reactor=clock).addCallback(fired.append)
        clock.advance(1.9)
        self.assertEqual(fired, [])
        self.assertEqual(len(peer.factory.connections), 1)
        clock.advance(0.2)
        self.assertTrue(peer.transport.disconnecting)
        peer.lose()
        clock.advance(0.05)
        self.assertEqual(fired, [1])

    def test_nothingOpen(self) -> None:
        """
        With no connection the Deferred fires at once.
        """
        clock = task.Clock()
        peer = Peer(Version.RFC6455, clock=clock)
        peer.lose()
        fired: list[int] = []
        drainConnections([peer.factory], reactor=clock).addCallback(fired.append)
        self.assertEqual(fired, [0])

    def test_serviceMarksDraining(self) -> None:
        """
        L{DrainService.stopService} sets its state to draining and returns a
        Deferred that fires once the connections are gone.
        """
        clock = task.Clock()
        peer = self.open(Version.RFC6455, clock)
        drain = DrainService([peer.factory], 5, clock)
        drain.startService()
        self.assertFalse(drain.state.draining)
        fired: list[object] = []
        drain.stopService().addCallback(fired.append)
        self.assertTrue(drain.state.draining)
        peer.receive()
        peer.flush()
        peer.lose()
        clock.advance(0.05)
        self.assertEqual(fired, [None])


class TwistdDrainTests(TestCase):
    """
    SIGTERM to a real C{twistd -n websocket}.
    """

    def test_sigtermDrains(self) -> None:
        """
        On SIGTERM, connections of two versions get a close (1001 on RFC
        6455), one that never answers is ended after the drain time, and the
        process exits normally within it (twistd ends by re-raising the
        SIGTERM it handled, after a clean shutdown: status -15 or 0).
        """
        directory = self.mktemp()
        os.makedirs(directory)
        twistd = Twistd(["--app", "echo", "--listen", "tcp:0:interface=127.0.0.1",
                         "--drain-timeout", "2"], directory)
        self.addCleanup(lambda: twistd.process.poll() is None and twistd.stop())
        [port] = twistd.waitForPorts(1)
        rfc, rfcClient = openClient(port, Version.RFC6455)
        hixie, hixieClient = openClient(port, Version.HIXIE76)
        silent, _ = openClient(port, Version.RFC6455)
        for sock in (rfc, hixie, silent):
            self.addCleanup(sock.close)
        started = time.monotonic()
        twistd.process.terminate()
        self.assertEqual([c.code for c in readClose(rfc, rfcClient)], [1001])
        self.assertTrue(readClose(hixie, hixieClient))
        code = twistd.waitForExit()
        elapsed = time.monotonic() - started
        self.assertIn(code, (0, -signal.SIGTERM), twistd.output)
        self.assertIn("Server Shut Down.", twistd.output)
        self.assertLess(elapsed, 2 + 1 + IO_TIMEOUT)
        self.assertIn("closing 3 WebSocket connection(s) with 1001", twistd.output)
        self.assertIn("ending 1 WebSocket connection(s) that did not close within 2.0s",
                      twistd.output)
        self.assertIn("rfc6455 connection with", twistd.output)
        self.assertRegex(twistd.output, r"rfc6455 connection with \S+ closed: 1001 clean=True")
        self.assertNotIn("Traceback", twistd.output)
