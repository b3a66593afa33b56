"""
Tests for L{twisted_ws.pubsub.RedisHub} against a real C{redis-server}
(Debian's package; C{.ci/run} installs it), started by each test on a free
loopback port with no persistence, in a temporary directory, and stopped at
its end.

Two hubs in one test stand for two server processes on one Redis; the chat
application runs on each, with clients connected to each.  One test runs
two real server processes.  Every wait is bounded.

Skipped, with the reason, only when the C{redis-server} binary is absent.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import inlineCallbacks
from twisted.internet.endpoints import HostnameEndpoint
from twisted.internet.error import ConnectionDone
from twisted.internet.task import deferLater
from twisted.internet.testing import MemoryReactorClock
from twisted.logger import globalLogPublisher
from twisted.python.failure import Failure
from twisted.trial.unittest import SkipTest, SynchronousTestCase, TestCase
from zope.interface.verify import verifyObject

import twisted_ws
from twisted_ws import Options
from twisted_ws.apps import chat
from twisted_ws.codec import TextMessage
from twisted_ws.pubsub import HubError, IHub, NameTaken, _redis
from twisted_ws.pubsub._redis import RedisHub, decodeFrame, encodeFrame

from ._support.certs import writeCertificate
from ._support.layer import Client
from ._support.redis import RedisServer
from ._support.waiting import waitFor

try:
    from websockets.sync.client import connect
except ImportError:  # pragma: no cover - the test extra installs it
    connect = None  # type: ignore[assignment]

REDIS_SERVER = shutil.which("redis-server")

#: The source tree holding twisted_ws.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(twisted_ws.__file__)))

#: Seconds allowed for redis-server to start or stop, and for a condition
#: awaited over the network to come true.
START_TIMEOUT = 15.0
WAIT_TIMEOUT = 15.0


def fastRetry(attempt: int) -> float:
    """
    Reconnect quickly in tests: 0.1 s, 0.2 s, ... at most 0.5 s.
    """
    return min(0.1 * attempt, 0.5)


class RedisTestCase(TestCase):
    """
    A fresh C{redis-server} per test, hubs on it and chat factories on
    those.
    """

    def setUp(self) -> None:
        if REDIS_SERVER is None:
            raise SkipTest(
                "redis-server is not installed (apt-get install redis-server; .ci/run installs it)"
            )
        self.directory = tempfile.mkdtemp(prefix="twisted-ws-redis-")
        self.addCleanup(shutil.rmtree, self.directory, True)
        self.redis = RedisServer(self.directory)
        self.redis.start()
        self.addCleanup(self.redis.stop)
        self.events: list[dict[str, Any]] = []
        globalLogPublisher.addObserver(self.events.append)
        self.addCleanup(globalLogPublisher.removeObserver, self.events.append)

    def logged(self, fragment: str) -> list[dict[str, Any]]:
        """
        The log events of the Redis hub whose format holds C{fragment}.
        """
        return [
            e for e in self.events
            if e.get("log_namespace") == "twisted_ws.pubsub.redis"
            and fragment in (e.get("log_format") or "")
        ]

    @inlineCallbacks
    def makeHub(self, url: str | None = None, **kwargs: Any) -> Any:
        """
        A started L{RedisHub} on the test's server, once it is connected;
        stopped at the end of the test.
        """
        kwargs.setdefault("retryPolicy", fastRetry)
        hub = RedisHub.fromURL(url or self.redis.url, reactor, **kwargs)
        hub.startService()
        self.addCleanup(hub.stopService)
        available = hub.whenAvailable()
        available.addTimeout(WAIT_TIMEOUT, reactor)
        yield available
        return hub

    def chatOn(self, hub: Any) -> Any:
        """
        A chat factory on C{hub}, its connections' timers on a fake clock.
        """
        factory = chat.makeFactory(Options(**chat.defaultOptions), hub=hub)
        factory.reactor = MemoryReactorClock()
        return factory

    def waitFor(self, condition: Callable[[], Any], what: str) -> Any:
        """
        Wait (bounded) until C{condition()} is true; fail naming C{what}.
        """
        return waitFor(self, condition, what, WAIT_TIMEOUT)

    @inlineCallbacks
    def join(self, factory: Any, name: str, room: str = "demo") -> Any:
        """
        Connect a chat client to C{factory}, join C{room} as C{name}, and
        wait until it is told it joined.

        @return: the L{Client}, with C{joined} (the message) and C{inbox}
            (what it got since).
        """
        client = Client(factory)
        client.inbox = []
        client.sendJSON({"type": "join", "room": room, "name": name})
        joined = yield self.expect(client, lambda m: m["type"] == "joined", f"{name} to join")
        client.joined = joined
        client.inbox = []
        return client

    def poll(self, client: Any) -> list[dict[str, Any]]:
        """
        Move what arrived for C{client} into its C{inbox}; return it.
        """
        client.pump()
        client.inbox.extend(json.loads(e.data) for e in client.take(TextMessage))
        return client.inbox  # type: ignore[no-any-return]

    @inlineCallbacks
    def expect(self, client: Any, match: Callable[[dict[str, Any]], bool], what: str) -> Any:
        """
        Wait (bounded) for a message C{match}es in C{client}'s inbox and
        take it out.
        """

        def found() -> Any:
            for message in self.poll(client):
                if match(message):
                    client.inbox.remove(message)
                    return message
            return None

        message = yield self.waitFor(found, what)
        return message

    @inlineCallbacks
    def settle(self) -> Any:
        """
        Give messages in flight through Redis time to arrive (a short
        pause), before checking that no more came.
        """
        yield deferLater(reactor, 0.2, lambda: None)


class RedisHubTests(RedisTestCase):
    """
    Two hubs (two processes) on one Redis.
    """

    @inlineCallbacks
    def test_providesIHub(self) -> None:
        """
        L{RedisHub} provides L{IHub}.
        """
        hub = yield self.makeHub()
        self.assertTrue(verifyObject(IHub, hub))
        self.assertTrue(hub.available)
        self.assertEqual(len(self.logged("connected to")), 1)

    @inlineCallbacks
    def test_messageAcrossHubs(self) -> None:
        """
        A chat message said on one hub reaches the room's members on the
        other, and each local member once; not the sender.
        """
        a = yield self.makeHub()
        b = yield self.makeHub()
        chatA, chatB = self.chatOn(a), self.chatOn(b)
        alice = yield self.join(chatA, "alice")
        carol = yield self.join(chatA, "carol")
        bob = yield self.join(chatB, "bob")
        alice.sendJSON({"type": "message", "text": "hi from A \u2603"})
        expected = {"type": "message", "room": "demo", "name": "alice", "text": "hi from A \u2603"}
        got = yield self.expect(bob, lambda m: m["type"] == "message", "bob to get the message")
        self.assertEqual(got, expected)
        yield self.settle()
        self.assertEqual([m for m in self.poll(carol) if m["type"] == "message"], [expected])
        self.assertEqual([m for m in self.poll(alice) if m["type"] == "message"], [])
        self.assertEqual([m for m in self.poll(bob) if m["type"] == "message"], [])

    @inlineCallbacks
    def test_binaryAcrossHubs(self) -> None:
        """
        A binary message published on one hub reaches a subscriber on the
        other as binary, unchanged.
        """
        from twisted_ws.codec import BinaryMessage

        a = yield self.makeHub()
        b = yield self.makeHub()
        client = Client(self.chatOn(b))
        yield b.subscribe("raw", client.server.application)
        result = yield a.publish("raw", bytes(range(256)))
        self.assertIs(result, True)

        def arrived() -> Any:
            client.pump()
            return client.take(BinaryMessage)

        [message] = yield self.waitFor(arrived, "the binary message")
        self.assertEqual(message.data, bytes(range(256)))

    @inlineCallbacks
    def test_presenceAcrossHubs(self) -> None:
        """
        The users of a room are those on both hubs, in joining order, and
        each hub is told of joins and leaves on the other.
        """
        a = yield self.makeHub()
        b = yield self.makeHub()
        chatA, chatB = self.chatOn(a), self.chatOn(b)
        alice = yield self.join(chatA, "alice")
        bob = yield self.join(chatB, "bob")
        self.assertEqual(bob.joined["users"], ["alice", "bob"])
        join = yield self.expect(alice, lambda m: m["type"] == "join", "alice to hear bob join")
        self.assertEqual((join["name"], join["users"]), ("bob", ["alice", "bob"]))
        alice.sendJSON({"type": "users"})
        users = yield self.expect(alice, lambda m: m["type"] == "users", "the users")
        self.assertEqual(users["users"], ["alice", "bob"])
        members = yield a.presence(chat.channelOf("demo"))
        self.assertEqual([m.process for m in members], [a.processId, b.processId])
        bob.server.connectionLost(Failure(ConnectionDone("gone")))
        leave = yield self.expect(alice, lambda m: m["type"] == "leave", "alice to hear bob leave")
        self.assertEqual((leave["name"], leave["users"]), ("bob", ["alice"]))

    @inlineCallbacks
    def test_nameUniqueAcrossHubs(self) -> None:
        """
        A name taken in a room on one hub gets a suffix on the other; with
        C{suffix=False} it fails with L{NameTaken}; once freed it can be
        taken there.
        """
        a = yield self.makeHub()
        b = yield self.makeHub()
        chatA, chatB = self.chatOn(a), self.chatOn(b)
        alice = yield self.join(chatA, "alice")
        second = yield self.join(chatB, "alice")
        self.assertEqual(second.joined["name"], "alice-2")
        other = Client(chatB)
        yield self.assertFailure(
            b.enter(chat.channelOf("demo"), other.server.application, "alice", suffix=False), NameTaken
        )
        alice.server.connectionLost(Failure(ConnectionDone("gone")))
        yield self.settle()
        member = yield b.enter(chat.channelOf("demo"), other.server.application, "alice", suffix=False)
        self.assertEqual(member.name, "alice")

    @inlineCallbacks
    def test_crashedProcessExpires(self) -> None:
        """
        The members of a process that stops refreshing them (it crashed)
        leave presence, and free their names, once its TTL passes.
        """
        a = yield self.makeHub(presenceTTL=0.6)
        b = yield self.makeHub(presenceTTL=0.6)
        chatA, chatB = self.chatOn(a), self.chatOn(b)
        yield self.join(chatA, "alice")
        bob = yield self.join(chatB, "bob")
        self.assertEqual(bob.joined["users"], ["alice", "bob"])
        # A crash: no cleanup, no more refreshing.
        a._refresher.stop()
        yield a._links.commands.stop()
        yield a._links.subscriber.stop()
        channel = chat.channelOf("demo")
        seen: list[list[str]] = []

        def onlyBob() -> bool:
            b.presence(channel).addCallback(lambda ms: seen.append([m.name for m in ms]))
            return bool(seen) and seen[-1] == ["bob"]

        yield self.waitFor(onlyBob, "alice's presence to expire")
        # Her name's key was written a moment after her process's key, so
        # it expires a moment later: try to take it until it is free.
        newcomer = Client(chatB).server.application
        entered: list[Any] = []

        def aliceFree() -> bool:
            d = b.enter(channel, newcomer, "alice", suffix=False)
            d.addCallbacks(entered.append, lambda f: f.trap(HubError))
            return bool(entered)

        yield self.waitFor(aliceFree, "alice's name to be free")
        self.assertEqual(entered[-1].name, "alice")

    @inlineCallbacks
    def test_redisRestart(self) -> None:
        """
        While Redis is down each hub logs the loss once, serves its own
        clients (messages reach local members only, none is dropped) and
        reconnects; once Redis is back every channel is subscribed again,
        presence and names are restored and messages cross hubs again.
        """
        a = yield self.makeHub()
        b = yield self.makeHub()
        chatA, chatB = self.chatOn(a), self.chatOn(b)
        alice = yield self.join(chatA, "alice")
        carol = yield self.join(chatA, "carol")
        bob = yield self.join(chatB, "bob")
        yield self.expect(alice, lambda m: m["type"] == "join" and m["name"] == "bob", "bob's join")
        self.redis.stop()
        yield self.waitFor(lambda: not a.available and not b.available, "both hubs to see Redis go")
        for i in range(10):
            alice.sendJSON({"type": "message", "text": f"while down {i}"})
        results = yield a.publish(chat.channelOf("demo"), json.dumps({"type": "notice"}))
        self.assertIs(results, False)
        got = yield self.waitFor(
            lambda: [m for m in self.poll(carol) if m["type"] == "message"], "carol's messages"
        )
        self.assertEqual([m["text"] for m in got], [f"while down {i}" for i in range(10)])
        # A client joining now is served from this process.
        dave = yield self.join(chatA, "dave")
        self.assertEqual(dave.joined["users"], ["alice", "carol", "dave"])
        self.assertEqual(len(self.logged("lost the connection")), 2)
        self.redis.start()
        yield self.waitFor(lambda: a.available and b.available, "both hubs to reconnect")
        self.assertEqual(len(self.logged("lost the connection")), 2)
        self.assertEqual(len(self.logged("cannot reach")), 0)
        self.assertEqual(len(self.logged("reconnected to")), 2)
        for client in (alice, carol, bob, dave):
            self.assertTrue(client.server.isOpen)
        # Messages cross again: B subscribed again, and so did A.
        alice.sendJSON({"type": "message", "text": "back"})
        got = yield self.expect(bob, lambda m: m.get("text") == "back", "bob to get 'back'")
        self.assertEqual(got["name"], "alice")
        bob.sendJSON({"type": "message", "text": "welcome back"})
        yield self.expect(dave, lambda m: m.get("text") == "welcome back", "dave to get bob's")
        self.assertEqual(
            [m["text"] for m in self.poll(bob) if m["type"] == "message"], []
        )
        # Presence holds every process's members again.
        seen: list[list[str]] = []

        def everyone() -> bool:
            b.presence(chat.channelOf("demo")).addCallback(lambda ms: seen.append([m.name for m in ms]))
            return bool(seen) and sorted(seen[-1]) == ["alice", "bob", "carol", "dave"]

        yield self.waitFor(everyone, "presence to be restored")
        # And names are unique across the hubs again.
        second = yield self.join(chatB, "alice")
        self.assertEqual(second.joined["name"], "alice-2")

    @inlineCallbacks
    def test_redisHangs(self) -> None:
        """
        A Redis that stops answering (SIGSTOP) is found out by the reply
        timeout and the subscribed connection's PING, logged once, and
        reconnected to when it answers again; local traffic goes on.
        """
        a = yield self.makeHub(replyTimeout=0.5, presenceTTL=0.9)
        b = yield self.makeHub(replyTimeout=0.5, presenceTTL=0.9)
        chatA, chatB = self.chatOn(a), self.chatOn(b)
        alice = yield self.join(chatA, "alice")
        carol = yield self.join(chatA, "carol")
        bob = yield self.join(chatB, "bob")
        assert self.redis.process is not None
        self.redis.process.send_signal(signal.SIGSTOP)
        alice.sendJSON({"type": "message", "text": "into the void"})
        yield self.expect(carol, lambda m: m.get("text") == "into the void", "carol's message")
        yield self.waitFor(lambda: not a.available and not b.available, "both hubs to give up")
        self.assertEqual(len(self.logged("lost the connection")), 2)
        self.redis.process.send_signal(signal.SIGCONT)
        yield self.waitFor(lambda: a.available and b.available, "both hubs to reconnect")
        alice.sendJSON({"type": "message", "text": "awake"})
        got = yield self.expect(bob, lambda m: m.get("text") == "awake", "bob to get 'awake'")
        self.assertEqual(got["name"], "alice")
        self.assertEqual(len(self.logged("lost the connection")), 2)
        for client in (alice, carol, bob):
            self.assertTrue(client.server.isOpen)

    @inlineCallbacks
    def test_startWithoutRedis(self) -> None:
        """
        A hub started while Redis is down serves local subscribers, logs
        that once, and connects when Redis comes up.
        """
        self.redis.stop()
        hub = RedisHub.fromURL(self.redis.url, reactor, retryPolicy=fastRetry)
        hub.startService()
        self.addCleanup(hub.stopService)
        factory = self.chatOn(hub)
        alice = yield self.join(factory, "alice")
        bob = yield self.join(factory, "bob")
        self.assertEqual(bob.joined["users"], ["alice", "bob"])
        bob.sendJSON({"type": "message", "text": "local"})
        yield self.expect(alice, lambda m: m.get("text") == "local", "the local message")
        yield deferLater(reactor, 1.0, lambda: None)
        self.assertEqual(len(self.logged("cannot reach")), 1)
        self.redis.start()
        ready = hub.whenAvailable()
        ready.addTimeout(WAIT_TIMEOUT, reactor)
        yield ready
        other = yield self.makeHub()
        members = yield other.presence(chat.channelOf("demo"))
        self.assertEqual([m.name for m in members], ["alice", "bob"])

    @inlineCallbacks
    def test_foreignMessagesDropped(self) -> None:
        """
        Something published on a hub channel that is not a hub frame is
        dropped with one log line, and later messages still arrive.
        """
        hub = yield self.makeHub()
        client = yield self.join(self.chatOn(hub), "alice")
        channel = hub._messages.redisChannel(chat.channelOf("demo"))
        for junk in (b"junk", b"tw1x\x00", b"tw1t\x05ab"):
            yield hub._links.command("PUBLISH", channel, junk)
        other = yield self.makeHub()
        yield other.publish(chat.channelOf("demo"), json.dumps({"type": "message", "text": "ok"}))
        got = yield self.expect(client, lambda m: m["type"] == "message", "the real message")
        self.assertEqual(got["text"], "ok")
        self.assertEqual(len(self.logged("not a hub frame")), 1)

    @inlineCallbacks
    def test_stopRemovesPresence(self) -> None:
        """
        A hub that stops takes its members out of presence at once.
        """
        a = yield self.makeHub()
        b = yield self.makeHub()
        yield a.enter("room", Client(self.chatOn(a)).server.application, "alice")
        yield b.enter("room", Client(self.chatOn(b)).server.application, "bob")
        self.assertEqual([m.name for m in (yield b.presence("room"))], ["alice", "bob"])
        yield a.stopService()
        self.assertEqual([m.name for m in (yield b.presence("room"))], ["bob"])


class RedisAuthTests(RedisTestCase):
    """
    A password in the URL is sent with AUTH.
    """

    def setUp(self) -> None:
        super().setUp()
        self.redis.stop()
        self.redis = RedisServer(self.directory, "--requirepass", "s3cr:t")
        self.redis.start()
        self.addCleanup(self.redis.stop)

    @inlineCallbacks
    def test_password(self) -> None:
        """
        With the right password (percent-encoded in the URL) the hub
        connects; with a wrong one it is not available, logs that once and
        does not show the password.
        """
        good = f"redis://:s3cr%3At@127.0.0.1:{self.redis.port}/1"
        hub = yield self.makeHub(good)
        self.assertTrue(hub.available)
        bad = RedisHub.fromURL(f"redis://:wrong@127.0.0.1:{self.redis.port}/1", reactor,
                               retryPolicy=fastRetry)
        bad.startService()
        self.addCleanup(bad.stopService)
        yield deferLater(reactor, 1.0, lambda: None)
        self.assertFalse(bad.available)
        failures = self.logged("cannot reach")
        self.assertEqual(len(failures), 1)
        self.assertNotIn("wrong", json.dumps({k: str(v) for k, v in failures[0].items()}))


def writeServerCertificate(directory: str) -> tuple[str, str]:
    """
    Write a key and a self-signed certificate for C{localhost} and
    127.0.0.1 into C{directory}; return their paths.
    """
    keyPath, certPath, _ = writeCertificate(directory, ["localhost", "127.0.0.1"])
    return keyPath, certPath


class RedisTLSTests(RedisTestCase):
    """
    C{rediss://}: the hub speaks TLS to a Redis that serves TLS only.
    """

    def setUp(self) -> None:
        super().setUp()
        try:
            from twisted.internet import ssl as twistedSSL
        except ImportError:  # pragma: no cover - the test extra installs pyOpenSSL
            raise SkipTest("TLS needs pyOpenSSL (the tls extra)") from None
        self.redis.stop()
        self.key, self.cert = writeServerCertificate(self.directory)
        self.redis = RedisServer(self.directory, "--requirepass", "pw", tls=(self.key, self.cert))
        self.redis.start()
        self.addCleanup(self.redis.stop)
        with open(self.cert, "rb") as f:
            authority = twistedSSL.Certificate.loadPEM(f.read())
        self.tlsOptions = twistedSSL.optionsForClientTLS(
            "localhost", twistedSSL.trustRootFromCertificates([authority])
        )

    @inlineCallbacks
    def test_messageOverTLS(self) -> None:
        """
        Two hubs on C{rediss://} with a password carry a chat message
        between them.
        """
        url = f"rediss://:pw@localhost:{self.redis.port}/0"
        a = yield self.makeHub(url, tlsOptions=self.tlsOptions)
        b = yield self.makeHub(url, tlsOptions=self.tlsOptions)
        alice = yield self.join(self.chatOn(a), "alice")
        bob = yield self.join(self.chatOn(b), "bob")
        self.assertEqual(bob.joined["users"], ["alice", "bob"])
        alice.sendJSON({"type": "message", "text": "over TLS"})
        got = yield self.expect(bob, lambda m: m["type"] == "message", "bob to get the message")
        self.assertEqual(got["text"], "over TLS")


class ProcessesTests(RedisTestCase):
    """
    Two real server processes running the chat on one Redis.
    """

    SCRIPT = r"""
import sys
from twisted.internet import endpoints, reactor
from twisted_ws.apps import chat
from twisted_ws.pubsub import RedisHub

hub = RedisHub.fromURL(sys.argv[1], reactor)
hub.startService()
factory = chat.makeFactory(hub=hub)
port = endpoints.serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(factory)
def listening(p):
    print("PORT", p.getHost().port, flush=True)
port.addCallback(listening)
reactor.addSystemEventTrigger("before", "shutdown", hub.stopService)
reactor.run()
"""

    def startServer(self) -> tuple[subprocess.Popen[bytes], int]:
        """
        A chat server process on the test's Redis, and its port.
        """
        process = subprocess.Popen(
            [sys.executable, "-c", self.SCRIPT, self.redis.url],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (ROOT, os.environ.get("PYTHONPATH"))))},
        )
        self.addCleanup(self.stopServer, process)
        deadline = time.monotonic() + START_TIMEOUT
        assert process.stdout is not None
        os.set_blocking(process.stdout.fileno(), False)
        buffered = ""
        while time.monotonic() < deadline:
            chunk = process.stdout.read() or b""
            buffered += chunk.decode("utf-8", "replace")
            for line in buffered.splitlines():
                if line.startswith("PORT "):
                    return process, int(line.split()[1])
            if process.poll() is not None:
                self.fail(f"the chat server exited: {buffered}")
            time.sleep(0.05)
        self.fail(f"the chat server did not start: {buffered}")

    def stopServer(self, process: subprocess.Popen[bytes]) -> None:
        """
        Stop a server process (SIGTERM, bounded wait, then SIGKILL).
        """
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(START_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(START_TIMEOUT)
        if process.stdout is not None:
            process.stdout.close()

    def test_twoProcesses(self) -> None:
        """
        Clients of two server processes on one Redis chat across them: a
        message said on one reaches the other, the users span both, and
        names are unique across them.
        """
        if connect is None:
            raise SkipTest("the websockets package is not installed")
        _, portA = self.startServer()
        _, portB = self.startServer()

        def read(ws: Any, kind: str) -> dict[str, Any]:
            deadline = time.monotonic() + WAIT_TIMEOUT
            while time.monotonic() < deadline:
                message = json.loads(ws.recv(timeout=WAIT_TIMEOUT))
                if message["type"] == kind:
                    return message  # type: ignore[no-any-return]
            self.fail(f"no {kind} message")

        with connect(f"ws://127.0.0.1:{portA}/", open_timeout=WAIT_TIMEOUT) as alice, \
                connect(f"ws://127.0.0.1:{portB}/", open_timeout=WAIT_TIMEOUT) as bob:
            alice.send(json.dumps({"type": "join", "room": "demo", "name": "alice"}))
            self.assertEqual(read(alice, "joined")["users"], ["alice"])
            bob.send(json.dumps({"type": "join", "room": "demo", "name": "alice"}))
            joined = read(bob, "joined")
            self.assertEqual((joined["name"], joined["users"]), ("alice-2", ["alice", "alice-2"]))
            self.assertEqual(read(alice, "join")["users"], ["alice", "alice-2"])
            bob.send(json.dumps({"type": "message", "text": "from B"}))
            message = read(alice, "message")
            self.assertEqual((message["name"], message["text"]), ("alice-2", "from B"))
            alice.send(json.dumps({"type": "message", "text": "from A"}))
            self.assertEqual(read(bob, "message")["text"], "from A")


class FromURLTests(SynchronousTestCase):
    """
    L{RedisHub.fromURL} and the frames on the wire; no server needed.
    """

    def test_url(self) -> None:
        """
        Host, port, database, user and password come from the URL; the
        description shown in logs has no password.
        """
        hub = RedisHub.fromURL("redis://user:p%40ss@example.com:6380/5", MemoryReactorClock())
        self.assertEqual((hub.db, hub.username, hub.password), (5, "user", "p@ss"))
        self.assertEqual(hub.description, "redis://example.com:6380/5")
        self.assertIsInstance(hub.endpoint, HostnameEndpoint)
        hub = RedisHub.fromURL("redis://:only@[::1]", MemoryReactorClock())
        self.assertEqual((hub.db, hub.username, hub.password), (0, None, "only"))
        self.assertEqual(hub.description, "redis://[::1]:6379/0")

    def test_rediss(self) -> None:
        """
        C{rediss://} wraps the endpoint in TLS.
        """
        try:
            import OpenSSL  # noqa: F401
            from twisted.internet import ssl  # noqa: F401
        except ImportError:
            raise SkipTest("TLS needs pyOpenSSL (the tls extra)") from None
        hub = RedisHub.fromURL("rediss://:pw@localhost:6390/2", MemoryReactorClock())
        self.assertNotIsInstance(hub.endpoint, HostnameEndpoint)
        self.assertEqual(hub.description, "rediss://localhost:6390/2")
        self.assertEqual(hub.password, "pw")

    def test_badURL(self) -> None:
        """
        A URL that is not redis:// or rediss://, a bad port or a database
        that is not a number is refused with L{ValueError}.
        """
        for bad in ("http://localhost/", "redis://localhost:port/", "redis://localhost/db"):
            self.assertRaises(ValueError, RedisHub.fromURL, bad, MemoryReactorClock())

    def test_frames(self) -> None:
        """
        Text and binary messages go through a frame unchanged with their
        origin; anything else is refused with L{ValueError}.
        """
        self.assertEqual(decodeFrame(encodeFrame("p-1", "h\u00e9")), ("p-1", "h\u00e9"))
        self.assertEqual(decodeFrame(encodeFrame("p-1", b"\xff\x00")), ("p-1", b"\xff\x00"))
        self.assertEqual(encodeFrame("p", "x"), b"tw1t\x01px")
        for bad in (b"", b"tw1", b"xx1t\x01px", b"tw1t\x09p", b"tw1q\x01px", b"tw1t\x01p\xff"):
            self.assertRaises(ValueError, decodeFrame, bad)
        self.assertIsNotNone(_redis.MAGIC)
