"""
Tests for L{twisted_ws.metrics} in process: the figures the connection and
hub collectors report, the registry L{makeRegistry} builds, and the site
that serves it (the figures served over HTTP are checked by the twistd
tests of tests/test_metrics.py).
"""

from __future__ import annotations

from typing import Any

from twisted.trial.unittest import SkipTest, SynchronousTestCase
from twisted.web.test.requesthelper import DummyRequest

try:
    from prometheus_client import generate_latest
    from prometheus_client.registry import CollectorRegistry

    from twisted_ws import metrics
    from twisted_ws._metrics import ConnectionStats
except ImportError:  # pragma: no cover - the metrics extra is not installed
    metrics = None  # type: ignore[assignment]


class FakeHubStats:
    def __init__(self, published: int, deliveries: int, failures: int) -> None:
        self.published = published
        self.deliveries = deliveries
        self.publishFailures = failures


class FakeLocal:
    def __init__(self, subscriptions: int, channels: int) -> None:
        self._subscriptions = subscriptions
        self.subscribers = {f"channel{i}": set() for i in range(channels)}

    def subscriptionCount(self) -> int:
        return self._subscriptions


class FakeHub:
    """
    Anything with a hub's C{stats}, C{local} and C{backend}.
    """

    def __init__(self, backend: str | None, stats: FakeHubStats, local: FakeLocal) -> None:
        if backend is not None:
            self.backend = backend
        self.stats = stats
        self.local = local


class Base(SynchronousTestCase):
    def setUp(self) -> None:
        if metrics is None:  # pragma: no cover
            raise SkipTest("prometheus_client is not installed")


class ConnectionCollectorTests(Base):
    """
    L{metrics.ConnectionCollector} reports each application's counters
    with its C{app} label.
    """

    def test_figures(self) -> None:
        """
        Open connections by version, handshake failures by status, closes by
        code and cleanness, and message and byte counts by type.
        """
        stats = ConnectionStats("chat")
        stats.open = {"rfc6455": 3, "hixie-76": 1}
        stats.connections = 7
        stats.handshakeFailures = {400: 2, 426: 1}
        stats.closes = {(1000, True): 4, (1006, False): 2}
        stats.textReceived, stats.binaryReceived = 5, 6
        stats.textSent, stats.binarySent = 8, 9
        stats.textBytesReceived, stats.binaryBytesReceived = 50, 60
        stats.textBytesSent, stats.binaryBytesSent = 80, 90
        stats.backpressure, stats.slowConsumersDropped = 11, 12
        registry = CollectorRegistry()
        registry.register(metrics.ConnectionCollector([stats, ConnectionStats("echo")]))
        value = registry.get_sample_value
        self.assertEqual(value("twisted_ws_connections_open", {"version": "rfc6455", "app": "chat"}), 3)
        self.assertEqual(value("twisted_ws_connections_open", {"version": "hixie-76", "app": "chat"}), 1)
        self.assertEqual(value("twisted_ws_connections_total", {"app": "chat"}), 7)
        self.assertEqual(value("twisted_ws_connections_total", {"app": "echo"}), 0)
        self.assertEqual(value("twisted_ws_handshake_failures_total", {"status": "426", "app": "chat"}), 1)
        self.assertEqual(value("twisted_ws_closes_total", {"code": "1006", "clean": "false", "app": "chat"}), 2)
        self.assertEqual(value("twisted_ws_closes_total", {"code": "1000", "clean": "true", "app": "chat"}), 4)
        self.assertEqual(value("twisted_ws_messages_received_total", {"type": "binary", "app": "chat"}), 6)
        self.assertEqual(value("twisted_ws_messages_sent_total", {"type": "text", "app": "chat"}), 8)
        self.assertEqual(value("twisted_ws_bytes_received_total", {"type": "text", "app": "chat"}), 50)
        self.assertEqual(value("twisted_ws_bytes_sent_total", {"type": "binary", "app": "chat"}), 90)
        self.assertEqual(value("twisted_ws_backpressure_total", {"app": "chat"}), 11)
        self.assertEqual(value("twisted_ws_slow_consumers_dropped_total", {"app": "chat"}), 12)


class HubCollectorTests(Base):
    """
    L{metrics.HubCollector} reports the hubs' figures by backend.
    """

    def test_addedUpByBackend(self) -> None:
        """
        Hubs of one backend are added up; a hub without a backend name is
        reported under its class name.
        """
        hubs: list[Any] = [
            FakeHub("redis", FakeHubStats(10, 20, 1), FakeLocal(3, 2)),
            FakeHub("redis", FakeHubStats(5, 6, 2), FakeLocal(1, 1)),
            FakeHub(None, FakeHubStats(1, 2, 0), FakeLocal(4, 3)),
        ]
        registry = CollectorRegistry()
        registry.register(metrics.HubCollector(hubs))
        value = registry.get_sample_value
        self.assertEqual(value("twisted_ws_hub_published_total", {"backend": "redis"}), 15)
        self.assertEqual(value("twisted_ws_hub_deliveries_total", {"backend": "redis"}), 26)
        self.assertEqual(value("twisted_ws_hub_publish_failures_total", {"backend": "redis"}), 3)
        self.assertEqual(value("twisted_ws_hub_subscriptions", {"backend": "redis"}), 4)
        self.assertEqual(value("twisted_ws_hub_channels", {"backend": "redis"}), 3)
        self.assertEqual(value("twisted_ws_hub_channels", {"backend": "FakeHub"}), 3)
        self.assertEqual(value("twisted_ws_hub_subscriptions", {"backend": "FakeHub"}), 4)


class RegistryTests(Base):
    """
    L{metrics.makeRegistry} and L{metrics.metricsSite}.
    """

    def test_withoutHubs(self) -> None:
        """
        Without hubs the registry has the connection and process figures
        and no hub figures.
        """
        text = generate_latest(metrics.makeRegistry([ConnectionStats("echo")])).decode()
        self.assertIn('twisted_ws_connections_total{app="echo"} 0.0', text)
        self.assertNotIn("twisted_ws_hub_", text)

    def test_withHubs(self) -> None:
        """
        With hubs, their figures are in the registry too.
        """
        hub = FakeHub("local", FakeHubStats(2, 3, 0), FakeLocal(1, 1))
        registry = metrics.makeRegistry([], [hub])
        self.assertEqual(registry.get_sample_value("twisted_ws_hub_published_total", {"backend": "local"}), 2)

    def test_siteServesMetricsOnly(self) -> None:
        """
        The site serves the registry at C{/metrics} (with
        C{prometheus_client}'s WSGI application), shows no tracebacks, and has
        nothing else.
        """
        from twisted.web.wsgi import WSGIResource

        site = metrics.metricsSite(metrics.makeRegistry([ConnectionStats("chat")]))
        self.assertFalse(site.displayTracebacks)
        child = site.resource.getChildWithDefault(b"metrics", DummyRequest([b"metrics"]))
        self.assertIsInstance(child, WSGIResource)
        other = site.resource.getChildWithDefault(b"other", DummyRequest([b"other"]))
        self.assertEqual(other.code, 404)
