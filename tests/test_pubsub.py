"""
Tests for L{twisted_ws.pubsub} with the in-process hub, L{LocalHub}:
fan-out framed once per protocol family, presence, the slow-consumer
policy, unsubscribing on close and the bounds on what it takes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from twisted.internet.error import ConnectionDone
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from twisted_ws import Version, WebSocketServerFactory
from twisted_ws.codec import BinaryMessage, CloseReceived, TextMessage
from twisted_ws.pubsub import (
    TOO_SLOW,
    HubOptions,
    HubProtocol,
    HubUsageError,
    IHub,
    LocalHub,
    Member,
    NameTaken,
    _channels,
)

from ._support.layer import ALL_VERSIONS, HYBI_VERSIONS, BufferingTransport, Client


class MeasuredTransport(StringTransport):
    """
    A L{StringTransport} whose count of bytes waiting to be sent (as a TCP
    transport keeps it) is set by the test.
    """

    dataBuffer = b""
    _tempDataLen = 0


class Subscriber(HubProtocol):
    """
    An application protocol on a hub that records what the hub tells it.

    @ivar dropped: the reasons given to L{hubDropped}.
    """

    def __init__(self) -> None:
        self.dropped: list[str] = []

    def hubDropped(self, reason: str) -> None:
        self.dropped.append(reason)


class HubTestCase(SynchronousTestCase):
    """
    A L{LocalHub} and a factory of L{Subscriber} connections on it.
    """

    hubOptions = HubOptions()

    def setUp(self) -> None:
        self.hub = LocalHub(self.hubOptions)
        self.factory = WebSocketServerFactory(Subscriber, reactor=MemoryReactorClock())
        self.factory.hub = self.hub

    def connect(self, version: Version = Version.RFC6455, transport: Any = None) -> Client:
        """
        An open client connection; C{client.server.application} is its
        L{Subscriber}.
        """
        client = Client(self.factory, version, transport=transport)
        self.assertTrue(client.server.isOpen)
        return client

    def texts(self, client: Client) -> list[str]:
        """
        The text messages C{client} received since the last call.
        """
        client.pump()
        return [e.data for e in client.take(TextMessage)]

    def subscribed(self, version: Version = Version.RFC6455, channel: str = "news") -> Client:
        """
        A client subscribed to C{channel}.
        """
        client = self.connect(version)
        self.assertIsNone(self.successResultOf(self.hub.subscribe(channel, client.server.application)))
        return client


class FanOutTests(HubTestCase):
    """
    L{LocalHub.publish}: every subscriber of the channel gets the message.
    """

    def test_providesIHub(self) -> None:
        """
        L{LocalHub} provides L{IHub} and every method it names.
        """
        self.assertTrue(verifyObject(IHub, self.hub))

    def test_everyVersion(self) -> None:
        """
        A text message reaches the subscribers of the channel on every
        protocol version, and no one else.
        """
        clients = [self.subscribed(v) for v in ALL_VERSIONS]
        other = self.subscribed(channel="sport")
        self.assertIs(self.successResultOf(self.hub.publish("news", "h\u00e9llo")), True)
        for client in clients:
            self.assertEqual(self.texts(client), ["h\u00e9llo"])
        self.assertEqual(self.texts(other), [])

    def test_framedOncePerFamily(self) -> None:
        """
        A message for many subscribers is prepared once, and its hybi frame
        built once, however many hybi subscribers there are.
        """
        clients = [self.subscribed(v) for v in ALL_VERSIONS * 3]
        prepared: list[Any] = []

        class CountingPrepared(_channels.PreparedMessage):
            def __init__(self, data: Any) -> None:
                prepared.append(self)
                super().__init__(data)

        self.patch(_channels, "PreparedMessage", CountingPrepared)
        self.hub.publish("news", "once for all")
        self.assertEqual([p.data for p in prepared], ["once for all"])
        self.assertEqual(prepared[0].encodings, 1)
        for client in clients:
            self.assertEqual(self.texts(client), ["once for all"])

    def test_binarySkipsHixie(self) -> None:
        """
        A binary message reaches the hybi subscribers and skips the hixie
        ones, which have no binary messages, without failing.
        """
        hybi = [self.subscribed(v) for v in HYBI_VERSIONS]
        hixie = [self.subscribed(v) for v in ALL_VERSIONS if v.isHixie]
        self.assertIs(self.successResultOf(self.hub.publish("news", b"\x00\xff")), True)
        for client in hybi:
            client.pump()
            self.assertEqual([e.data for e in client.take(BinaryMessage)], [b"\x00\xff"])
        for client in hixie:
            self.assertEqual(self.texts(client), [])
            self.assertTrue(client.server.isOpen)

    def test_exclude(self) -> None:
        """
        The subscriber given as C{exclude} does not get the message.
        """
        sender, reader = self.subscribed(), self.subscribed()
        self.hub.publish("news", "not for the sender", exclude=sender.server.application)
        self.assertEqual(self.texts(sender), [])
        self.assertEqual(self.texts(reader), ["not for the sender"])

    def test_subscribeTwiceUnsubscribe(self) -> None:
        """
        Subscribing twice delivers once; after unsubscribing nothing is
        delivered, and the channel is gone.
        """
        client = self.subscribed()
        app = client.server.application
        self.hub.subscribe("news", app)
        self.hub.publish("news", "one")
        self.assertEqual(self.texts(client), ["one"])
        self.assertIsNone(self.successResultOf(self.hub.unsubscribe("news", app)))
        self.hub.unsubscribe("news", app)
        self.hub.publish("news", "two")
        self.assertEqual(self.texts(client), [])
        self.assertEqual(self.hub.channels(), [])

    def test_closingSubscriberSkipped(self) -> None:
        """
        A subscriber whose connection is closing (not yet lost) is skipped
        and the others still get the message.
        """
        closing, reader = self.subscribed(), self.subscribed()
        closing.codec.close(1001, "bye")
        closing.pump()
        self.assertFalse(closing.server.isOpen)
        self.hub.publish("news", "still")
        self.assertEqual(self.texts(reader), ["still"])
        self.assertEqual(self.texts(closing), [])


class PresenceTests(HubTestCase):
    """
    L{LocalHub.enter}, L{LocalHub.leave}, L{LocalHub.presence}.
    """

    def enter(self, name: str, channel: str = "room", **kwargs: Any) -> tuple[Client, Member]:
        """
        Connect a client and make it present in C{channel} as C{name}.
        """
        client = self.connect()
        member = self.successResultOf(self.hub.enter(channel, client.server.application, name, **kwargs))
        return client, member

    def test_members(self) -> None:
        """
        Presence lists the members in entering order, with their names,
        metadata, ids and process.
        """
        _, alice = self.enter("alice", metadata={"colour": "red"})
        _, bob = self.enter("bob")
        members = self.successResultOf(self.hub.presence("room"))
        self.assertEqual([m.name for m in members], ["alice", "bob"])
        self.assertEqual(members[0].metadata, {"colour": "red"})
        self.assertEqual(members[1].metadata, {})
        self.assertNotEqual(alice.id, bob.id)
        self.assertEqual({m.process for m in members}, {self.hub.processId})
        self.assertTrue(alice.id.startswith(self.hub.processId + "/"))
        self.assertEqual(self.successResultOf(self.hub.presence("elsewhere")), [])

    def test_nameSuffix(self) -> None:
        """
        A name taken in the channel gets C{-2}, C{-3}; the same name is free
        in another channel.
        """
        self.enter("alice")
        _, second = self.enter("alice")
        _, third = self.enter("alice")
        _, other = self.enter("alice", channel="other")
        self.assertEqual((second.name, third.name, other.name), ("alice-2", "alice-3", "alice"))

    def test_nameTakenWithoutSuffix(self) -> None:
        """
        With C{suffix=False} a taken name fails with L{NameTaken}, and the
        subscriber is not present.
        """
        self.enter("alice")
        client = self.connect()
        failure = self.failureResultOf(
            self.hub.enter("room", client.server.application, "alice", suffix=False), NameTaken
        )
        self.assertIn("alice", str(failure.value))
        self.assertIsNone(self.hub.memberOf("room", client.server.application))

    def test_nameTriesBounded(self) -> None:
        """
        Once L{HubOptions.maxNameTries} variants are taken, entering fails
        with L{NameTaken}.
        """
        self.hub = LocalHub(HubOptions(maxNameTries=3))
        self.factory.hub = self.hub
        names = [self.enter("bob")[1].name for _ in range(3)]
        self.assertEqual(names, ["bob", "bob-2", "bob-3"])
        client = self.connect()
        self.failureResultOf(self.hub.enter("room", client.server.application, "bob"), NameTaken)

    def test_enterAgainReplaces(self) -> None:
        """
        Entering a channel again under another name replaces the first
        presence; leaving frees the name.
        """
        client, first = self.enter("alice")
        app = client.server.application
        second = self.successResultOf(self.hub.enter("room", app, "alicia"))
        self.assertEqual([m.name for m in self.successResultOf(self.hub.presence("room"))], ["alicia"])
        self.assertEqual(self.hub.memberOf("room", app), second)
        self.assertNotEqual(first.id, second.id)
        self.assertIsNone(self.successResultOf(self.hub.leave("room", app)))
        self.assertEqual(self.successResultOf(self.hub.presence("room")), [])
        self.assertEqual(self.enter("alicia")[1].name, "alicia")

    def test_presenceDoesNotSubscribe(self) -> None:
        """
        A member that did not subscribe gets no messages.
        """
        client, _ = self.enter("alice")
        self.hub.publish("room", "hello")
        self.assertEqual(self.texts(client), [])

    def test_memberJSON(self) -> None:
        """
        A L{Member} goes to JSON and back unchanged; a record that is not
        one is refused with L{ValueError}.
        """
        _, alice = self.enter("alice", metadata={"n": 1})
        again = Member.fromJSON(alice.toJSON())
        self.assertEqual(again, alice)
        self.assertEqual(again.metadata, {"n": 1})
        for bad in ([], {"id": 1, "name": "x", "process": "p"}, {"id": "a", "name": "b", "process": "c", "metadata": []}):
            self.assertRaises(ValueError, Member.fromJSON, bad)


class SlowConsumerTests(HubTestCase):
    """
    A subscriber that does not read is dropped with 1008.
    """

    hubOptions = HubOptions(maxBuffered=4096)

    def test_dropped(self) -> None:
        """
        A subscriber whose send buffer is over L{HubOptions.maxBuffered} is
        taken out of every channel and presence, told through
        C{hubDropped}, and closed with 1008; the others keep receiving.
        """
        reader = self.subscribed()
        slow = self.connect(transport=BufferingTransport())
        app = slow.server.application
        self.hub.subscribe("news", app)
        self.hub.subscribe("sport", app)
        self.successResultOf(self.hub.enter("news", app, "slow"))
        sent = 0
        while self.hub.local.subscribedTo(app) and sent < 50:
            self.hub.publish("news", f"{sent:03d}" + "x" * 500)
            sent += 1
        self.assertEqual(self.hub.local.subscribedTo(app), [])
        self.assertLess(sent, 50)
        self.assertGreater(sent, 4096 // 520)
        self.assertEqual(self.hub.local.presentIn(app), [])
        self.assertEqual(app.dropped, ["too slow: messages are not being read"])
        self.assertEqual(len(self.texts(reader)), sent)
        slow.events.extend(slow.codec.receiveData(slow.transport.value()))
        [close] = slow.take(CloseReceived)
        self.assertEqual(close.code, TOO_SLOW)
        # Later messages no longer go to it.
        before = len(slow.transport.value())
        self.hub.publish("news", "after")
        self.assertEqual(len(slow.transport.value()), before)

    def test_bufferBound(self) -> None:
        """
        The bound is L{HubOptions.maxBuffered}: a buffer at the bound is
        still written to.
        """
        self.assertEqual(HubOptions().maxBuffered, 1024 * 1024)
        client = self.connect(transport=MeasuredTransport())
        self.hub.subscribe("news", client.server.application)
        client.server.transport._tempDataLen = 4096
        self.hub.publish("news", "at the bound")
        self.assertEqual(self.texts(client), ["at the bound"])
        client.server.transport._tempDataLen = 4097
        self.hub.publish("news", "over it")
        self.assertEqual(self.hub.local.subscribedTo(client.server.application), [])


class CloseTests(HubTestCase):
    """
    A L{HubProtocol} leaves the hub when its connection is lost.
    """

    def test_unsubscribeOnClose(self) -> None:
        """
        When the connection of a L{HubProtocol} is lost it is out of every
        channel and presence, and publishing no longer tries it.
        """
        client = self.subscribed()
        app = client.server.application
        self.hub.subscribe("sport", app)
        self.successResultOf(self.hub.enter("news", app, "alice"))
        client.server.connectionLost(Failure(ConnectionDone("gone")))
        self.assertEqual(self.hub.local.subscribedTo(app), [])
        self.assertEqual(self.hub.local.presentIn(app), [])
        self.assertEqual(self.hub.channels(), [])
        self.assertEqual(self.successResultOf(self.hub.presence("news")), [])

    def test_unsubscribeAll(self) -> None:
        """
        L{LocalHub.unsubscribeAll} leaves the other subscribers alone.
        """
        a, b = self.subscribed(), self.subscribed()
        self.hub.unsubscribeAll(a.server.application)
        self.hub.publish("news", "b only")
        self.assertEqual((self.texts(a), self.texts(b)), ([], ["b only"]))


class BoundsTests(HubTestCase):
    """
    Channel names, payloads, names, metadata and subscriptions are bounded,
    and bad ones are refused at once with L{HubUsageError}.
    """

    hubOptions = HubOptions(maxChannelLength=10, maxPayloadSize=100, maxSubscriptions=3,
                            maxNameLength=8, maxMetadataSize=50)

    def test_channelNames(self) -> None:
        """
        A channel name must be a non-empty printable str within
        C{maxChannelLength}.
        """
        app = self.connect().server.application
        for bad in ("", "x" * 11, "a\nb", "tab\there", b"bytes", None, 3):
            self.assertRaises(HubUsageError, self.hub.subscribe, bad, app)
            self.assertRaises(HubUsageError, self.hub.publish, bad, "x")
            self.assertRaises(HubUsageError, self.hub.enter, bad, app, "n")
            self.assertRaises(HubUsageError, self.hub.presence, bad)
        self.successResultOf(self.hub.subscribe("x" * 10, app))
        self.successResultOf(self.hub.subscribe("caf\u00e9 room", app))

    def test_payloadSize(self) -> None:
        """
        A message over C{maxPayloadSize} bytes (UTF-8 for text) is refused;
        one at the bound is published; a message must be str or bytes.
        """
        self.subscribed()
        self.assertRaises(HubUsageError, self.hub.publish, "news", "x" * 101)
        self.assertRaises(HubUsageError, self.hub.publish, "news", "\u00e9" * 51)
        self.assertRaises(HubUsageError, self.hub.publish, "news", b"x" * 101)
        self.assertRaises(HubUsageError, self.hub.publish, "news", 42)
        self.assertIs(self.successResultOf(self.hub.publish("news", "\u00e9" * 50)), True)
        self.assertIs(self.successResultOf(self.hub.publish("news", bytearray(100))), True)

    def test_names(self) -> None:
        """
        A member name must be a non-empty printable str within
        C{maxNameLength}; suffixed variants are cut to fit it.
        """
        app = self.connect().server.application
        for bad in ("", "x" * 9, "a\x00", None):
            self.assertRaises(HubUsageError, self.hub.enter, "room", app, bad)
        self.successResultOf(self.hub.enter("room", app, "x" * 8))
        other = self.connect().server.application
        self.assertEqual(self.successResultOf(self.hub.enter("room", other, "x" * 8)).name, "xxxxxx-2")

    def test_metadata(self) -> None:
        """
        Metadata must be a JSON object within C{maxMetadataSize} bytes.
        """
        app = self.connect().server.application
        for bad in ({"x": "y" * 50}, {"x": object()}, ["list"], {"nan": float("nan")}):
            self.assertRaises(HubUsageError, self.hub.enter, "room", app, "n", bad)
        member = self.successResultOf(self.hub.enter("room", app, "n", {"k": [1, 2]}))
        self.assertEqual(member.metadata, {"k": [1, 2]})

    def test_subscriptions(self) -> None:
        """
        A subscriber can be in at most C{maxSubscriptions} channels, and
        present in at most as many.
        """
        app = self.connect().server.application
        for channel in ("a", "b", "c"):
            self.hub.subscribe(channel, app)
            self.hub.enter(channel, app, "n")
        self.assertRaises(HubUsageError, self.hub.subscribe, "d", app)
        self.assertRaises(HubUsageError, self.hub.enter, "d", app, "n")
        self.hub.subscribe("a", app)
        self.successResultOf(self.hub.enter("a", app, "m"))
        self.hub.unsubscribe("a", app)
        self.successResultOf(self.hub.subscribe("d", app))

    def test_options(self) -> None:
        """
        L{HubOptions} refuses bounds that are not positive integers.
        """
        for bad in (0, -1, 1.5, True, "10"):
            self.assertRaises(ValueError, HubOptions, maxBuffered=bad)


class PackageSizeTests(SynchronousTestCase):
    """
    The modules of L{twisted_ws.pubsub} stay within the project's bound.
    """

    def test_moduleLines(self) -> None:
        """
        No module of the package is over 500 lines.
        """
        package = Path(_channels.__file__).parent
        sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in package.glob("*.py")}
        self.assertIn("_redis.py", sizes)
        self.assertEqual({name: n for name, n in sizes.items() if n > 500}, {})
