"""
Prometheus metrics: the counts the connections keep
(L{twisted_ws._metrics.ConnectionStats}), their collector, and
C{twistd websocket --metrics} scraped over HTTP.
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import time
from typing import Any

from twisted.internet import task
from twisted.trial.unittest import SkipTest, TestCase

from twisted_ws import Version
from twisted_ws._metrics import ConnectionStats, enableStats

from ._support.layer import HOST, PEER, CountingTransport, Peer
from ._support.plainclient import openClient, readClose
from ._support.twistd import IO_TIMEOUT, START_TIMEOUT, Twistd

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:  # pragma: no cover - the metrics extra is missing
    text_string_to_metric_families = None


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """
    The samples of a scrape, by name and sorted labels.
    """
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


class StatsTests(TestCase):
    """
    What a connection counts into its factory's L{ConnectionStats}.
    """

    def test_counts(self) -> None:
        """
        Opening, messages both ways with their bytes, and the close are
        counted; a factory without stats counts nothing.
        """
        clock = task.Clock()
        peer = Peer(Version.RFC6455, clock=clock, path="/")
        stats = enableStats(peer.factory, "test")
        # The connection was built before: it does not count.
        peer.handshake()
        self.assertEqual(stats.connections, 0)
        counted = Peer(Version.RFC6455, clock=clock, path="/")
        counted.factory.stats = stats
        counted.server = counted.factory.buildProtocol(PEER)
        counted.transport = CountingTransport(hostAddress=HOST, peerAddress=PEER)
        counted.server.makeConnection(counted.transport)
        counted.handshake()
        self.assertEqual((stats.connections, stats.open), (1, {"rfc6455": 1}))
        counted.client.sendText("héllo")
        counted.client.sendBinary(b"\x00\x01")
        counted.flush()
        counted.server.sendTextMessage("é")
        counted.server.sendBytesMessage(b"abc")
        counted.receive()
        self.assertEqual(
            (stats.textReceived, stats.textBytesReceived, stats.binaryReceived,
             stats.binaryBytesReceived),
            (1, 6, 1, 2))
        self.assertEqual(
            (stats.textSent, stats.textBytesSent, stats.binarySent, stats.binaryBytesSent),
            (1, 2, 1, 3))
        counted.client.close(4001, "bye")
        counted.flush()
        counted.lose()
        self.assertEqual(stats.closes, {(4001, True): 1})
        self.assertEqual(stats.open, {"rfc6455": 0})

    def countedPeer(self) -> tuple[Peer, ConnectionStats]:
        """
        An open RFC 6455 connection of a factory that counts.
        """
        peer = Peer(Version.RFC6455, clock=task.Clock(), path="/")
        stats = enableStats(peer.factory, "test")
        peer.server = peer.factory.buildProtocol(PEER)
        peer.transport = CountingTransport(hostAddress=HOST, peerAddress=PEER)
        peer.server.makeConnection(peer.transport)
        peer.handshake()
        return peer, stats

    def test_heldMessagesCountedOnce(self) -> None:
        """
        Messages that arrive while the application paused reading are
        counted as they arrive, and not again when they are delivered.
        """
        peer, stats = self.countedPeer()
        peer.server.pauseReading()
        for i in range(3):
            peer.client.sendBinary(b"x" * (i + 1))
        peer.client.sendText("ab")
        peer.flush()

        def counts() -> tuple[int, int, int, int]:
            return (
                stats.binaryReceived,
                stats.binaryBytesReceived,
                stats.textReceived,
                stats.textBytesReceived,
            )

        self.assertEqual(counts(), (3, 6, 1, 2))
        self.assertEqual(peer.server.application.received(), [])
        peer.server.resumeReading()
        self.assertEqual(counts(), (3, 6, 1, 2))
        self.assertEqual(len(peer.server.application.received()), 4)

    def test_sentSizesStayBounded(self) -> None:
        """
        The sizes the sends record are added into the counters once they
        are many, so that they stay bounded between scrapes, and every send
        is counted exactly once.
        """
        from twisted_ws import _metrics

        peer, stats = self.countedPeer()
        sends = _metrics._FOLD_AT * 2 + 7
        for _ in range(sends):
            peer.server.sendBytesMessage(b"abcd")
            peer.server.sendTextMessage("\u00e9")
        self.assertLessEqual(len(stats.binarySentSizes), _metrics._FOLD_AT + 1)
        self.assertLessEqual(len(stats.textSentSizes), _metrics._FOLD_AT + 1)
        self.assertEqual(
            (stats.binarySent, stats.binaryBytesSent, stats.textSent, stats.textBytesSent),
            (sends, 4 * sends, sends, 2 * sends))
        self.assertEqual((stats.binarySentSizes, stats.textSentSizes), ([], []))

    def test_slowConsumerNotFromClose(self) -> None:
        """
        A close with the hub's slow-consumer code is counted as a close
        only: the hub counts the slow consumers it drops where it drops
        them (see C{tests.test_metrics_hub}).
        """
        stats = ConnectionStats()
        stats.opened("rfc6455")
        stats.closed("rfc6455", 1008, False)
        self.assertEqual((stats.slowConsumersDropped, stats.closes), (0, {(1008, False): 1}))


class TwistdMetricsTests(TestCase):
    """
    C{twistd websocket --metrics} scraped over HTTP.
    """

    def setUp(self) -> None:
        if text_string_to_metric_families is None:
            raise SkipTest("prometheus_client is not installed (pip install -e .[metrics])")

    def scrape(self, port: int) -> str:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=IO_TIMEOUT)
        try:
            connection.request("GET", "/metrics")
            response = connection.getresponse()
            self.assertEqual(response.status, 200)
            return response.read().decode("utf-8")
        finally:
            connection.close()

    def scrapeUntil(self, port: int, key: Any, value: float) -> dict[Any, float]:
        """
        Scrape until C{key} has C{value} (the server handles a close a moment
        after the client sent it), for a bounded time.
        """
        deadline = time.monotonic() + IO_TIMEOUT
        while True:
            found = samples(self.scrape(port))
            if found.get(key) == value or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def test_scrape(self) -> None:
        """
        After connections of two versions exchanged messages, one closed
        with a code and a handshake failed, the scrape says so, value by
        value.
        """
        directory = self.mktemp()
        os.makedirs(directory)
        twistd = Twistd(["--app", "echo", "--listen", "tcp:0:interface=127.0.0.1",
                         "--metrics", "tcp:0:interface=127.0.0.1"], directory)
        self.addCleanup(lambda: twistd.process.poll() is None and twistd.stop())
        twistd.waitForPorts(2)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            ws = re.search(r"WebSocketServerFactory starting on (\d+)", twistd.output)
            web = re.search(r"Site starting on (\d+)", twistd.output)
            if ws and web:
                break
            twistd._drain(0.2)
        assert ws and web, twistd.output
        port, metricsPort = int(ws.group(1)), int(web.group(1))

        rfc, _ = openClient(port, Version.RFC6455)
        hixie, _ = openClient(port, Version.HIXIE76)
        closer, closerClient = openClient(port, Version.RFC6455)
        for sock in (rfc, hixie, closer):
            self.addCleanup(sock.close)
        closerClient.close(4000, "done")
        closer.sendall(closerClient.dataToSend())
        readClose(closer, closerClient)
        bad = socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT)
        self.addCleanup(bad.close)
        bad.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
        answer = bad.recv(65536)
        self.assertTrue(answer.startswith(b"HTTP/1.1 400"), answer)

        app = ("app", "echo")
        found = self.scrapeUntil(
            port=metricsPort, key=("twisted_ws_closes_total", (app, ("clean", "true"), ("code", "4000"))),
            value=1)
        self.assertEqual(found[("twisted_ws_closes_total", (app, ("clean", "true"), ("code", "4000")))], 1)
        self.assertEqual(found[("twisted_ws_connections_total", (app,))], 3)
        self.assertEqual(found[("twisted_ws_connections_open", (app, ("version", "rfc6455")))], 1)
        self.assertEqual(found[("twisted_ws_connections_open", (app, ("version", "hixie-76")))], 1)
        self.assertEqual(found[("twisted_ws_handshake_failures_total", (app, ("status", "400")))], 1)
        self.assertEqual(found[("twisted_ws_messages_received_total", (app, ("type", "text")))], 3)
        self.assertEqual(found[("twisted_ws_messages_sent_total", (app, ("type", "text")))], 3)
        self.assertEqual(found[("twisted_ws_bytes_received_total", (app, ("type", "text")))], 15)
        self.assertEqual(found[("twisted_ws_bytes_sent_total", (app, ("type", "text")))], 15)
        self.assertEqual(found[("twisted_ws_messages_received_total", (app, ("type", "binary")))], 0)
        self.assertEqual(found[("twisted_ws_backpressure_total", (app,))], 0)
        self.assertEqual(found[("twisted_ws_slow_consumers_dropped_total", (app,))], 0)
        self.assertIn(("process_open_fds", ()), found)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=IO_TIMEOUT)
        self.addCleanup(connection.close)
        connection.request("GET", "/metrics")
        self.assertNotEqual(connection.getresponse().status, 200)


class WorkerEndpointTests(TestCase):
    """
    With C{--workers}, each worker serves its metrics on its own port.
    """

    def test_portPerWorker(self) -> None:
        """
        Worker N listens on the given TCP port plus N - 1; port 0, other
        endpoints and a process that is not a worker keep the description.
        """
        from twisted_ws.tap import workerMetricsEndpoint

        self.assertEqual(workerMetricsEndpoint("tcp:9100:interface=127.0.0.1", 1),
                         "tcp:9100:interface=127.0.0.1")
        self.assertEqual(workerMetricsEndpoint("tcp:9100:interface=127.0.0.1", 3),
                         "tcp:9102:interface=127.0.0.1")
        self.assertEqual(workerMetricsEndpoint("tcp6:9100", 2), "tcp6:9101")
        self.assertEqual(workerMetricsEndpoint("tcp:0", 2), "tcp:0")
        self.assertEqual(workerMetricsEndpoint("unix:/run/m.sock", 2), "unix:/run/m.sock")
        self.assertEqual(workerMetricsEndpoint("tcp:9100", None), "tcp:9100")
