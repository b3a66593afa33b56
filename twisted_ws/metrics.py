"""
Prometheus metrics of a server's connections, with C{prometheus_client}
(the C{metrics} extra: C{pip install twisted_ws[metrics]}).

The connections count in plain integers (a
L{twisted_ws._metrics.ConnectionStats} per factory, see L{enableStats});
L{ConnectionCollector} turns them into metric families when Prometheus
scrapes, so counting costs nothing a metrics library would add per message::

    from prometheus_client import CollectorRegistry

    stats = enableStats(factory, "echo")
    registry = CollectorRegistry()
    registry.register(ConnectionCollector([stats]))
    metricsSite(registry)   # a twisted.web Site serving /metrics

A pub/sub hub (L{twisted_ws.pubsub}) counts the same way, in its C{stats}
(L{HubStats<twisted_ws.pubsub._channels.HubStats>}); L{HubCollector} reads
them, and the hub's current subscriptions, at scrape time::

    registry.register(HubCollector([hub]))

The metric names are listed in the operations page of the manual.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from ._metrics import ConnectionStats, enableStats

__all__ = ["ConnectionCollector", "ConnectionStats", "HubCollector", "enableStats", "metricsSite"]


class ConnectionCollector(Collector):
    """
    A C{prometheus_client} collector reading L{ConnectionStats} at scrape
    time.

    @ivar stats: the L{ConnectionStats} read, one per application.
    """

    def __init__(self, stats: Iterable[ConnectionStats]) -> None:
        self.stats = list(stats)

    def collect(self) -> Iterator[Metric]:
        """
        The metric families, made from the current counts.
        """
        opened = GaugeMetricFamily(
            "twisted_ws_connections_open", "WebSocket connections open now.",
            labels=["version", "app"])
        total = CounterMetricFamily(
            "twisted_ws_connections", "WebSocket connections that completed the opening handshake.",
            labels=["app"])
        failures = CounterMetricFamily(
            "twisted_ws_handshake_failures", "Opening handshakes that failed or were refused.",
            labels=["status", "app"])
        closes = CounterMetricFamily(
            "twisted_ws_closes", "WebSocket connections ended, by close code.",
            labels=["code", "clean", "app"])
        received = CounterMetricFamily(
            "twisted_ws_messages_received", "Messages received.", labels=["type", "app"])
        sent = CounterMetricFamily(
            "twisted_ws_messages_sent", "Messages sent.", labels=["type", "app"])
        bytesIn = CounterMetricFamily(
            "twisted_ws_bytes_received", "Payload bytes of the messages received.",
            labels=["type", "app"])
        bytesOut = CounterMetricFamily(
            "twisted_ws_bytes_sent", "Payload bytes of the messages sent.", labels=["type", "app"])
        backpressure = CounterMetricFamily(
            "twisted_ws_backpressure", "Times a connection paused for a full send buffer.",
            labels=["app"])
        slow = CounterMetricFamily(
            "twisted_ws_slow_consumers_dropped", "Connections closed for not reading fast enough.",
            labels=["app"])
        for s in self.stats:
            app = s.app
            for version, count in sorted(s.open.items()):
                opened.add_metric([version, app], count)
            total.add_metric([app], s.connections)
            for status, count in sorted(s.handshakeFailures.items()):
                failures.add_metric([str(status), app], count)
            for (code, clean), count in sorted(s.closes.items()):
                closes.add_metric([str(code), "true" if clean else "false", app], count)
            received.add_metric(["text", app], s.textReceived)
            received.add_metric(["binary", app], s.binaryReceived)
            sent.add_metric(["text", app], s.textSent)
            sent.add_metric(["binary", app], s.binarySent)
            bytesIn.add_metric(["text", app], s.textBytesReceived)
            bytesIn.add_metric(["binary", app], s.binaryBytesReceived)
            bytesOut.add_metric(["text", app], s.textBytesSent)
            bytesOut.add_metric(["binary", app], s.binaryBytesSent)
            backpressure.add_metric([app], s.backpressure)
            slow.add_metric([app], s.slowConsumersDropped)
        yield from (opened, total, failures, closes, received, sent, bytesIn, bytesOut,
                    backpressure, slow)


class HubCollector(Collector):
    """
    A C{prometheus_client} collector reading pub/sub hubs at scrape time:
    their L{HubStats<twisted_ws.pubsub._channels.HubStats>} and their
    current local subscriptions and channels, by backend (C{local},
    C{redis}; hubs of one backend are added up).

    @ivar hubs: the hubs read (L{twisted_ws.pubsub.LocalHub},
        L{twisted_ws.pubsub.RedisHub}, or anything with the same C{stats},
        C{local} and C{backend}).
    """

    def __init__(self, hubs: Iterable[Any]) -> None:
        self.hubs = list(hubs)

    def collect(self) -> Iterator[Metric]:
        """
        The metric families, made from the hubs' current counts.
        """
        figures: dict[str, list[int]] = {}
        for hub in self.hubs:
            stats, local = hub.stats, hub.local
            row = figures.setdefault(getattr(hub, "backend", "") or type(hub).__name__, [0] * 5)
            row[0] += stats.published
            row[1] += stats.deliveries
            row[2] += stats.publishFailures
            row[3] += local.subscriptionCount()
            row[4] += len(local.subscribers)
        families: list[CounterMetricFamily | GaugeMetricFamily] = [
            CounterMetricFamily(
                "twisted_ws_hub_published", "Messages published through this process's hub.",
                labels=["backend"]),
            CounterMetricFamily(
                "twisted_ws_hub_deliveries", "Messages handed to this process's subscriber connections.",
                labels=["backend"]),
            CounterMetricFamily(
                "twisted_ws_hub_publish_failures",
                "Publishes that reached this process's subscribers only (the backend was "
                "unavailable, not keeping up, or refused them).",
                labels=["backend"]),
            GaugeMetricFamily(
                "twisted_ws_hub_subscriptions", "Subscriptions of this process's connections now.",
                labels=["backend"]),
            GaugeMetricFamily(
                "twisted_ws_hub_channels", "Channels with a subscriber in this process now.",
                labels=["backend"]),
        ]
        for backend, row in sorted(figures.items()):
            for family, value in zip(families, row, strict=True):
                family.add_metric([backend], value)
        yield from families


def metricsSite(registry: CollectorRegistry) -> Any:
    """
    A L{twisted.web.server.Site} serving C{registry} at C{/metrics} (and
    nothing else).
    """
    from prometheus_client.twisted import MetricsResource
    from twisted.web import resource, server

    root = resource.Resource()
    root.putChild(b"metrics", MetricsResource(registry=registry))
    site = server.Site(root)
    site.displayTracebacks = False
    return site


def makeRegistry(stats: Iterable[ConnectionStats], hubs: Iterable[Any] = ()) -> CollectorRegistry:
    """
    A registry with the connections' figures, the hubs' (if any), and the
    process's own (C{process_*}: CPU, memory, open files).
    """
    from prometheus_client import ProcessCollector

    registry = CollectorRegistry()
    registry.register(ConnectionCollector(stats))
    hubs = list(hubs)
    if hubs:
        registry.register(HubCollector(hubs))
    ProcessCollector(registry=registry)
    return registry
