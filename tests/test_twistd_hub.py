"""
Tests for C{twistd websocket --hub} and the C{[hub]} table: the options,
the one hub an application context shares, and two real
C{twistd -n websocket --app chat --hub redis://...} processes on a real
C{redis-server} chatting across, before and after Redis restarts.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from typing import Any

from twisted.application import service
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SkipTest, SynchronousTestCase
from zope.interface.verify import verifyObject

from twisted_ws.apps import chat
from twisted_ws.pubsub import IHub, LocalHub
from twisted_ws.twistd import _hub
from twisted_ws.twistd._apps import AppContext, buildApps

from ._support.redis import NO_REDIS, REDIS_SERVER, RedisServer
from ._support.scaling import WAIT_TIMEOUT, join, parse, problems, readType, sayUntilHeard
from ._support.twistd import Twistd

try:
    from websockets.sync.client import connect
except ImportError:  # pragma: no cover - the test extra installs it
    connect = None  # type: ignore[assignment]

class HubOptionTests(SynchronousTestCase):
    """
    C{--hub} and C{[hub]}.
    """

    def writeConfig(self, text: str) -> str:
        path = self.mktemp()
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_defaultInProcess(self) -> None:
        """
        Without C{--hub} the hub is the in-process one.
        """
        config = parse()["server"]
        self.assertEqual(config.hub.url, "memory:")
        self.assertTrue(config.hub.inProcess)

    def test_redisURL(self) -> None:
        """
        C{--hub redis://...} and C{rediss://...} are taken as they are.
        """
        for url in ("redis://127.0.0.1:6390/2", "rediss://:secret@cache.example:6380/0"):
            config = parse("--hub", url)["server"]
            self.assertEqual(config.hub.url, url)
            self.assertFalse(config.hub.inProcess)

    def test_badURL(self) -> None:
        """
        A URL of another scheme, a bad port or a database that is not a
        number is one line naming C{--hub}.
        """
        for url, words in (("http://x", "is not a hub URL"), ("redis://h:99999/0", "bad port"),
                           ("redis://h:1/zero", "database number")):
            text = problems("--hub", url)
            self.assertIn("twistd websocket: --hub: ", text)
            self.assertIn(words, text)
            self.assertEqual(len(text.splitlines()), 1, text)

    def test_passwordNotShown(self) -> None:
        """
        A message about a Redis URL does not show its password.
        """
        text = problems("--hub", "redis://:hunter2@h:99999/0")
        self.assertNotIn("hunter2", text)

    def test_redisExtraMissing(self) -> None:
        """
        A Redis URL without the redis extra installed is one line saying
        which extra to install.
        """
        self.patch(_hub, "redisAvailable", lambda: False)
        text = problems("--hub", "redis://127.0.0.1:6379/0")
        self.assertEqual(
            text, "twistd websocket: --hub: a Redis hub needs the redis extra: "
            "pip install 'twisted_ws[redis]'")

    def test_table(self) -> None:
        """
        C{[hub]} gives the URL and the bounds; C{--hub} wins over its URL
        and keeps its bounds.
        """
        path = self.writeConfig(
            '[hub]\nurl = "redis://127.0.0.1:6390/1"\nmax-buffered = 65536\n'
            'max-payload-size = 4096\nmax-subscriptions = 3\npresence-ttl = 12\n')
        config = parse("--config", path)["server"]
        self.assertEqual(config.hub.url, "redis://127.0.0.1:6390/1")
        self.assertEqual(config.hub.settings, {"maxBuffered": 65536, "maxPayloadSize": 4096,
                                               "maxSubscriptions": 3, "presenceTTL": 12.0})
        config = parse("--config", path, "--hub", "memory:")["server"]
        self.assertEqual(config.hub.url, "memory:")
        self.assertEqual(config.hub.settings["maxBuffered"], 65536)

    def test_tableProblems(self) -> None:
        """
        Every problem of C{[hub]} is reported, each naming its key.
        """
        path = self.writeConfig('[hub]\nurl = 5\nmax-buffered = 0\ncolour = "red"\n')
        text = problems("--config", path)
        self.assertIn(f"{path}: hub: url: expected a URL", text)
        self.assertIn(f"{path}: hub: max-buffered: expected a positive integer", text)
        self.assertIn(f"{path}: hub: unknown key 'colour'", text)
        self.assertEqual(len(text.splitlines()), 3, text)
        self.assertIn("expected a table", problems("--config", self.writeConfig('hub = "x"\n')))


class ContextHubTests(SynchronousTestCase):
    """
    One hub per server, shared through the application context.
    """

    def test_oneHubShared(self) -> None:
        """
        Two chat applications of one server share one hub, which is a
        service of the server's tree, started and stopped with it.
        """
        path = self.mktemp()
        with open(path, "w") as f:
            f.write('[[app]]\nname = "chat"\npath = "/a"\n[[app]]\nname = "chat"\npath = "/b"\n'
                    '[hub]\nmax-subscriptions = 7\n')
        config = parse("--config", path)["server"]
        services = service.MultiService()
        built = buildApps(config, MemoryReactorClock(), services)
        hubs = {id(getattr(b.factory, "hub", None)) for b in built}
        self.assertEqual(len(hubs), 1)
        hub: Any = getattr(built[0].factory, "hub", None)
        self.assertIsInstance(hub, LocalHub)
        verifyObject(IHub, hub)
        self.assertEqual(hub.options.maxSubscriptions, 7)
        self.assertFalse(hub.running)
        services.startService()
        self.assertTrue(hub.running)
        services.stopService()
        self.assertFalse(hub.running)

    def test_chatOnContext(self) -> None:
        """
        The chat's C{makeFactoryFor} takes the context's hub;
        C{makeFactory} still makes one of its own.
        """
        context = AppContext("chat", "/ws", chat.ChatFactory().options, MemoryReactorClock())
        factory = chat.makeFactoryFor(context)
        self.assertIs(factory.hub, context.hub)
        self.assertIsNot(chat.makeFactory().hub, context.hub)

    def test_redisHubMade(self) -> None:
        """
        With a Redis URL the context's hub is a RedisHub on that server,
        with the file's bounds.
        """
        from twisted_ws.pubsub import RedisHub

        config = _hub.HubConfig("redis://:pw@127.0.0.1:6390/4", {"maxBuffered": 1000,
                                                                 "presenceTTL": 9.0})
        hub = _hub.makeHub(config, MemoryReactorClock())
        self.assertIsInstance(hub, RedisHub)
        self.assertEqual((hub.db, hub.password, hub.presenceTTL, hub.options.maxBuffered),
                         (4, "pw", 9.0, 1000))


class TwoServersTests(SynchronousTestCase):
    """
    Two real C{twistd websocket --app chat} processes on one Redis.
    """

    def setUp(self) -> None:
        if REDIS_SERVER is None:
            raise SkipTest(NO_REDIS)
        if connect is None:
            raise SkipTest("the websockets package is not installed (the test extra)")
        self.directory = tempfile.mkdtemp(prefix="twisted-ws-hub-")
        self.addCleanup(shutil.rmtree, self.directory, True)
        self.redis = RedisServer(self.directory)
        self.redis.start()
        self.addCleanup(self.redis.stop)

    def startServer(self, *extra: str) -> int:
        """
        A C{twistd -n websocket --app chat} on the test's Redis; its port.
        """
        server = Twistd(["--app", "chat", "--hub", self.redis.url,
                         "--listen", "tcp:0:interface=127.0.0.1", *extra], self.directory)
        self.addCleanup(server.stop)
        return server.waitForPorts()[0]

    def test_chatAcrossProcesses(self) -> None:
        """
        Clients of two twistd processes chat across them, users and names
        span both, and they still do after Redis is stopped and started
        again under them.
        """
        portA, portB = self.startServer(), self.startServer()
        with connect(f"ws://127.0.0.1:{portA}/ws", open_timeout=WAIT_TIMEOUT) as alice, \
                connect(f"ws://127.0.0.1:{portB}/ws", open_timeout=WAIT_TIMEOUT) as bob:
            self.assertEqual(join(alice, "alice")["users"], ["alice"])
            joined = join(bob, "alice")
            self.assertEqual((joined["name"], joined["users"]), ("alice-2", ["alice", "alice-2"]))
            self.assertEqual(readType(alice, "join")["users"], ["alice", "alice-2"])
            message = sayUntilHeard(bob, alice, "from B")
            self.assertEqual(message["name"], "alice-2")
            sayUntilHeard(alice, bob, "from A")

            self.redis.stop()
            time.sleep(0.5)
            self.redis.start()
            sayUntilHeard(alice, bob, "A after the restart")
            sayUntilHeard(bob, alice, "B after the restart")
            alice.send(json.dumps({"type": "users"}))
            self.assertEqual(sorted(readType(alice, "users")["users"]), ["alice", "alice-2"])

