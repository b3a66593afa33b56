"""
Tests for C{ssl:} endpoints with C{twistd websocket --workers N}: the parent
opens the TCP socket and each worker does TLS on the connections it
accepts, with the certificate of the endpoint.  Every wait is bounded.
"""

from __future__ import annotations

import re
import ssl
import time

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from ._support.certs import writeCertificate
from ._support.redis import freePort
from ._support.twistd import Twistd
from ._support.workers import WAIT_TIMEOUT, pidAppDirectory

try:
    from websockets.exceptions import InvalidHandshake
    from websockets.sync.client import connect
except ImportError:  # pragma: no cover - the test extra installs it
    connect = None  # type: ignore[assignment]


class WorkersTLSTests(SynchronousTestCase):
    """
    A real C{twistd -n websocket --workers 2 --listen ssl:...}.
    """

    def setUp(self) -> None:
        if connect is None:
            raise SkipTest("the websockets package is not installed (the test extra)")
        self.directory = pidAppDirectory(self)
        self.keyPath, self.certPath, _ = writeCertificate(self.directory, ["127.0.0.1"])

    def test_wssThroughBothWorkers(self) -> None:
        """
        wss:// clients that trust only the endpoint's certificate complete
        the TLS and WebSocket handshakes with each of the two workers and
        exchange messages; a plain ws:// client on the same port gets no
        WebSocket.
        """
        port = freePort()
        server = Twistd(["--app", "pidapp:Pid", "--workers", "2", "--listen",
                         f"ssl:{port}:interface=127.0.0.1:privateKey={self.keyPath}:"
                         f"certKey={self.certPath}"], self.directory)
        self.addCleanup(lambda: server.process.poll() is None and server.stop())
        deadline = time.monotonic() + WAIT_TIMEOUT
        while len(re.findall(rf"\[worker \d pid \d+ [^\]]*\] .*starting on {port}", server.output)) < 2:
            if time.monotonic() > deadline or not server._drain(0.2):
                raise AssertionError(f"the workers did not listen:\n{server.output}")
        workerPids = {int(p) for p in re.findall(r"worker \d started \(pid (\d+)\)", server.output)}
        self.assertEqual(len(workerPids), 2)

        context = ssl.create_default_context(cafile=self.certPath)
        seen: set[int] = set()
        tries = 0
        deadline = time.monotonic() + WAIT_TIMEOUT
        while seen != workerPids and time.monotonic() < deadline and tries < 60:
            tries += 1
            with connect(f"wss://127.0.0.1:{port}/ws", ssl=context, open_timeout=10) as ws:
                pid = int(ws.recv(timeout=10))
                ws.send(f"hello {pid}")
                self.assertEqual(ws.recv(timeout=10), f"hello {pid}")
                seen.add(pid)
        self.assertEqual(seen, workerPids)

        with self.assertRaises((OSError, EOFError, InvalidHandshake)):
            with connect(f"ws://127.0.0.1:{port}/ws", open_timeout=5) as ws:
                ws.recv(timeout=5)
        server.stop()
        self.assertNotIn("Traceback", server.output)
