"""
The pub/sub hub's metrics: what L{LocalHub} and L{RedisHub} count in their
C{stats}, what L{HubCollector} makes of it at scrape time, the slow
consumers the hub drops, and C{twistd websocket --app chat --metrics}
scraped over HTTP after two clients chatted.
"""

from __future__ import annotations

import http.client
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import inlineCallbacks
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SkipTest, SynchronousTestCase, TestCase

from twisted_ws import WebSocketServerFactory
from twisted_ws._metrics import ConnectionStats, enableStats
from twisted_ws.codec import TextMessage
from twisted_ws.pubsub import HubOptions, HubProtocol, HubUsageError, LocalHub

from ._support.layer import BufferingTransport, Client
from ._support.redis import NO_REDIS, REDIS_SERVER, RedisServer
from ._support.scaling import join, readType
from ._support.twistd import IO_TIMEOUT, Twistd
from ._support.waiting import waitFor

try:
    from prometheus_client import generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    from twisted_ws.metrics import HubCollector, makeRegistry
except ImportError:  # pragma: no cover - the metrics extra is missing
    text_string_to_metric_families = None

try:
    from websockets.sync.client import connect
except ImportError:  # pragma: no cover - the test extra is missing
    connect = None

#: Seconds allowed for a condition awaited over the network to come true.
WAIT_TIMEOUT = 15.0

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    """
    The samples of a scrape, by name and sorted labels.
    """
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def hubFigures(found: Samples, backend: str) -> dict[str, float]:
    """
    The hub's samples of C{backend}, by metric name.
    """
    return {
        name: value for (name, labels), value in found.items()
        if name.startswith("twisted_ws_hub_") and labels == (("backend", backend),)
    }


def collected(hubs: list[Any], backend: str) -> dict[str, float]:
    """
    What a L{HubCollector} of C{hubs} exports for C{backend}, through a
    registry and the text format, as a scrape reads it.
    """
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry()
    registry.register(HubCollector(hubs))
    return hubFigures(samples(generate_latest(registry).decode("utf-8")), backend)


def figures(published: int, deliveries: int, failures: int, subscriptions: int,
            channels: int) -> dict[str, float]:
    """
    The hub samples expected, by metric name.
    """
    return {
        "twisted_ws_hub_published_total": published,
        "twisted_ws_hub_deliveries_total": deliveries,
        "twisted_ws_hub_publish_failures_total": failures,
        "twisted_ws_hub_subscriptions": subscriptions,
        "twisted_ws_hub_channels": channels,
    }


class Subscriber(HubProtocol):
    """
    An application protocol on a hub.
    """


class LocalHubCountsTests(SynchronousTestCase):
    """
    What L{LocalHub} counts, read by L{HubCollector}.
    """

    def setUp(self) -> None:
        if text_string_to_metric_families is None:
            raise SkipTest("prometheus_client is not installed (pip install -e .[metrics])")
        self.hub = LocalHub(HubOptions(maxBuffered=4096))
        self.factory = WebSocketServerFactory(Subscriber, reactor=MemoryReactorClock())
        self.factory.hub = self.hub

    def subscriber(self, *channels: str, transport: Any = None) -> Any:
        client = Client(self.factory, transport=transport)
        for channel in channels:
            self.successResultOf(self.hub.subscribe(channel, client.server.application))
        return client

    def test_publishAndDeliveries(self) -> None:
        """
        Each publish counts once, each subscriber it reached once; the
        subscriptions and channels are read as they are now; a publish
        refused by the checks is not counted.
        """
        sender = self.subscriber("news")
        readers = [self.subscriber("news", "sport") for _ in range(2)]
        self.assertEqual(collected([self.hub], "local"), figures(0, 0, 0, 5, 2))
        self.successResultOf(self.hub.publish("news", "one", exclude=sender.server.application))
        self.successResultOf(self.hub.publish("news", b"two"))
        self.successResultOf(self.hub.publish("nobody", "three"))
        self.assertRaises(HubUsageError, self.hub.publish, "", "bad channel")
        self.assertEqual(collected([self.hub], "local"), figures(3, 5, 0, 5, 2))
        for reader in readers:
            reader.pump()
            self.assertEqual([e.data for e in reader.take(TextMessage)], ["one"])
        self.successResultOf(self.hub.unsubscribeAll(readers[0].server.application))
        self.assertEqual(collected([self.hub], "local"), figures(3, 5, 0, 3, 2))
        self.assertEqual(
            (self.hub.stats.published, self.hub.stats.deliveries, self.hub.stats.publishFailures),
            (3, 5, 0))

    def test_hubsAddedUp(self) -> None:
        """
        Two hubs of one backend are exported as one row.
        """
        other = LocalHub()
        self.subscriber("news")
        self.hub.publish("news", "a")
        other.publish("news", "b")
        self.assertEqual(collected([self.hub, other], "local"), figures(2, 1, 0, 1, 1))

    def test_slowConsumerDropped(self) -> None:
        """
        A subscriber the hub drops as too slow counts in the hub's stats
        and in its factory's L{ConnectionStats}, exported as
        C{twisted_ws_slow_consumers_dropped_total} of its application; a
        1008 close that the hub did not make does not count.
        """
        stats = enableStats(self.factory, "feed")
        self.subscriber("news")
        slow = self.subscriber("news", transport=BufferingTransport())
        app = slow.server.application
        sent = 0
        while self.hub.local.subscribedTo(app) and sent < 50:
            self.hub.publish("news", "x" * 500)
            sent += 1
        self.assertEqual(self.hub.local.subscribedTo(app), [])
        self.assertEqual((stats.slowConsumersDropped, self.hub.stats.slowConsumersDropped), (1, 1))
        found = samples(generate_latest(makeRegistry([stats], [self.hub])).decode("utf-8"))
        self.assertEqual(found[("twisted_ws_slow_consumers_dropped_total", (("app", "feed"),))], 1)
        self.assertEqual(found[("twisted_ws_hub_published_total", (("backend", "local"),))], sent)
        other = ConnectionStats()
        other.opened("rfc6455")
        other.closed("rfc6455", 1008, False)
        self.assertEqual(other.slowConsumersDropped, 0)


def fastRetry(attempt: int) -> float:
    """
    Reconnect quickly in tests: 0.1 s, 0.2 s, ... at most 0.5 s.
    """
    return min(0.1 * attempt, 0.5)


class RedisHubCountsTests(TestCase):
    """
    What L{RedisHub} counts on a real C{redis-server}, and a publish
    failing while Redis is stopped.
    """

    def setUp(self) -> None:
        if REDIS_SERVER is None:
            raise SkipTest(NO_REDIS)
        if text_string_to_metric_families is None:
            raise SkipTest("prometheus_client is not installed (pip install -e .[metrics])")
        self.directory = tempfile.mkdtemp(prefix="twisted-ws-metrics-")
        self.addCleanup(shutil.rmtree, self.directory, True)
        self.redis = RedisServer(self.directory)
        self.redis.start()
        self.addCleanup(self.redis.stop)

    @inlineCallbacks
    def makeHub(self) -> Any:
        from twisted_ws.pubsub import RedisHub

        hub = RedisHub.fromURL(self.redis.url, reactor, retryPolicy=fastRetry)
        hub.startService()
        self.addCleanup(hub.stopService)
        available = hub.whenAvailable()
        available.addTimeout(WAIT_TIMEOUT, reactor)
        yield available
        return hub

    def subscriber(self, hub: Any) -> Any:
        factory = WebSocketServerFactory(Subscriber, reactor=MemoryReactorClock())
        factory.hub = hub
        return Client(factory).server.application

    def waitFor(self, condition: Callable[[], Any], what: str) -> Any:
        """
        Wait (bounded) until C{condition()} is true; fail naming C{what}.
        """
        return waitFor(self, condition, what, WAIT_TIMEOUT)

    @inlineCallbacks
    def test_countsAcrossProcesses(self) -> None:
        """
        A publish counts in the publishing hub; its deliveries count in
        each hub where a subscriber got it, local ones at once and the
        others' when Redis brings it.
        """
        a = yield self.makeHub()
        b = yield self.makeHub()
        yield a.subscribe("news", self.subscriber(a))
        yield b.subscribe("news", self.subscriber(b))
        yield b.subscribe("news", self.subscriber(b))
        reached = yield a.publish("news", "hello")
        self.assertIs(reached, True)
        yield self.waitFor(lambda: b.stats.deliveries == 2, "the message to reach b")
        self.assertEqual(collected([a], "redis"), figures(1, 1, 0, 1, 1))
        self.assertEqual(collected([b], "redis"), figures(0, 2, 0, 2, 1))

    @inlineCallbacks
    def test_failureWhileRedisStopped(self) -> None:
        """
        While Redis is stopped a publish still reaches the local
        subscribers, fires with L{False} and counts as a failure; once
        Redis is back publishes succeed again.
        """
        hub = yield self.makeHub()
        yield hub.subscribe("news", self.subscriber(hub))
        self.assertIs((yield hub.publish("news", "before")), True)
        self.redis.stop()
        yield self.waitFor(lambda: not hub.available, "the hub to see Redis stopped")
        self.assertIs((yield hub.publish("news", "during")), False)
        self.assertEqual(collected([hub], "redis"), figures(2, 2, 1, 1, 1))
        self.redis.start()
        available = hub.whenAvailable()
        available.addTimeout(WAIT_TIMEOUT, reactor)
        yield available
        self.assertIs((yield hub.publish("news", "after")), True)
        self.assertEqual(collected([hub], "redis"), figures(3, 3, 1, 1, 1))


class TwistdHubMetricsTests(SynchronousTestCase):
    """
    C{twistd websocket --app chat --metrics} (the in-process hub) scraped
    over HTTP after two clients chatted.
    """

    def setUp(self) -> None:
        if text_string_to_metric_families is None:
            raise SkipTest("prometheus_client is not installed (pip install -e .[metrics])")
        if connect is None:
            raise SkipTest("the websockets package is not installed (the test extra)")

    def get(self, port: int, path: str) -> tuple[int, str]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=IO_TIMEOUT)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, response.read().decode("utf-8", "replace")
        finally:
            connection.close()

    def scrapeUntil(self, port: int, expected: dict[str, float]) -> dict[str, float]:
        """
        Scrape until the hub's figures are C{expected} (the server handles
        what a client sent a moment later), for a bounded time.
        """
        deadline = time.monotonic() + IO_TIMEOUT
        while True:
            status, text = self.get(port, "/metrics")
            self.assertEqual(status, 200)
            found = hubFigures(samples(text), "local")
            if found == expected or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def test_chat(self) -> None:
        """
        Each chat join, message and leave is one publish; each message a
        client got from another is one delivery; the subscriptions follow
        the clients.
        """
        directory = tempfile.mkdtemp(prefix="twisted-ws-metrics-")
        self.addCleanup(shutil.rmtree, directory, True)
        twistd = Twistd(["--app", "chat", "--listen", "tcp:0:interface=127.0.0.1",
                         "--metrics", "tcp:0:interface=127.0.0.1"], os.path.abspath(directory))
        self.addCleanup(lambda: twistd.process.poll() is None and twistd.stop())
        ports = twistd.waitForPorts(2)
        [metricsPort] = [p for p in ports if self.get(p, "/metrics")[0] == 200]
        [port] = [p for p in ports if p != metricsPort]
        self.assertEqual(self.scrapeUntil(metricsPort, figures(0, 0, 0, 0, 0)), figures(0, 0, 0, 0, 0))
        with connect(f"ws://127.0.0.1:{port}/ws", open_timeout=IO_TIMEOUT) as alice:
            with connect(f"ws://127.0.0.1:{port}/ws", open_timeout=IO_TIMEOUT) as bob:
                join(alice, "alice")
                join(bob, "bob")
                readType(alice, "join")
                for text in ("one", "two", "three"):
                    alice.send(f'{{"type": "message", "text": "{text}"}}')
                    self.assertEqual(readType(bob, "message")["text"], text)
                bob.send('{"type": "message", "text": "hi"}')
                self.assertEqual(readType(alice, "message")["text"], "hi")
                # Joins 2, messages 4; alice got bob's join and message,
                # bob alice's three messages.
                expected = figures(6, 5, 0, 2, 1)
                self.assertEqual(self.scrapeUntil(metricsPort, expected), expected)
            readType(alice, "leave")
            expected = figures(7, 6, 0, 1, 1)
            self.assertEqual(self.scrapeUntil(metricsPort, expected), expected)
