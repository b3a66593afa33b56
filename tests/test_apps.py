"""
Tests for the built-in applications of C{twistd websocket}:
L{twisted_ws.apps.echo} and L{twisted_ws.apps.chat}, run by the Twisted
layer over L{StringTransport} and talked to with the codec's client.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.error import ConnectionDone
from twisted.internet.testing import MemoryReactorClock
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from twisted_ws import Options, Version
from twisted_ws.apps import chat, echo
from twisted_ws.codec import (
    BinaryMessage,
    CloseReceived,
    ConnectionOpened,
    TextMessage,
)
from twisted_ws.pubsub import HubOptions, IHub, LocalHub

from ._support.layer import ALL_VERSIONS, HYBI_VERSIONS, BufferingTransport, Client


class EchoTests(SynchronousTestCase):
    """
    L{echo}: every message comes back.
    """

    def setUp(self) -> None:
        self.reactor = MemoryReactorClock()
        self.factory = echo.makeFactory()
        self.factory.reactor = self.reactor

    def test_textEveryVersion(self) -> None:
        """
        Text messages come back unchanged on every protocol version.
        """
        for version in ALL_VERSIONS:
            client = Client(self.factory, version)
            [opened] = client.take(ConnectionOpened)
            self.assertEqual(opened.version, version)
            client.sendText("h\u00e9llo")
            client.sendText("")
            self.assertEqual([e.data for e in client.take(TextMessage)], ["h\u00e9llo", ""], version)

    def test_binaryHybi(self) -> None:
        """
        Binary messages come back unchanged on every version that has them.
        """
        for version in HYBI_VERSIONS:
            client = Client(self.factory, version)
            client.codec.sendBinary(bytes(range(256)))
            client.pump()
            self.assertEqual([e.data for e in client.take(BinaryMessage)], [bytes(range(256))])

    def test_largeMessage(self) -> None:
        """
        A message of more than 16 MiB, as the conformance suite sends,
        comes back with the default options of the echo application.
        """
        client = Client(self.factory)
        payload = b"\x5a" * (16 * 1024 * 1024 + 1)
        client.codec.sendBinary(payload)
        client.pump()
        [message] = client.take(BinaryMessage)
        self.assertEqual(len(message.data), len(payload))
        self.assertEqual(message.data, payload)

    def test_slowReaderStopsReading(self) -> None:
        """
        While the echoes cannot be written (the transport paused its
        producer), the server stops reading from the client, and reads
        again once they drain.
        """
        client = Client(self.factory)
        self.assertEqual(client.transport.producerState, "producing")
        # Twisted pauses its producer once more than writeHighWater waits.
        client.transport.dataBuffer = b""
        client.transport._tempDataLen = client.server.options.writeHighWater + 1
        # The send-side producer the connection registered on TCP.
        client.transport.producer.pauseProducing()
        self.assertEqual(client.transport.producerState, "paused")
        client.transport._tempDataLen = 0
        client.transport.producer.resumeProducing()
        self.assertEqual(client.transport.producerState, "producing")


class ChatTests(SynchronousTestCase):
    """
    L{chat}: a hub with rooms.
    """

    def setUp(self) -> None:
        self.reactor = MemoryReactorClock()
        self.factory = chat.makeFactory(Options(subprotocols=("chat.v1",)))
        self.factory.reactor = self.reactor

    def users(self, room: str) -> list[str]:
        """
        The names in C{room}, from the hub's presence.
        """
        members = self.successResultOf(self.factory.hub.presence(chat.channelOf(room)))
        return [m.name for m in members]

    def join(self, name: str, room: str = "lobby", version: Version = Version.RFC6455) -> Client:
        """
        Connect a client, join C{room} as C{name} and drop what it was told.
        """
        client = Client(self.factory, version)
        client.sendJSON({"type": "join", "room": room, "name": name})
        client.received()
        return client

    def test_welcome(self) -> None:
        """
        On opening, the client learns its protocol version, subprotocol and
        whether compression is on.
        """
        client = Client(self.factory, Version.HYBI08, subprotocols=("chat.v1",))
        [welcome] = client.received()
        self.assertEqual(welcome["type"], "welcome")
        self.assertEqual(welcome["version"], "hybi-08")
        self.assertEqual(welcome["subprotocol"], "chat.v1")
        self.assertIs(welcome["compression"], False)
        client = Client(self.factory, Version.HIXIE75)
        [welcome] = client.received()
        self.assertEqual((welcome["version"], welcome["subprotocol"]), ("hixie-75", None))

    def test_joinTellsEveryone(self) -> None:
        """
        A client that joins is told who is in the room, and the others are
        told it joined.
        """
        alice = self.join("alice")
        bob = Client(self.factory)
        bob.received()
        bob.sendJSON({"type": "join", "room": "lobby", "name": "bob"})
        self.assertEqual(
            bob.received(),
            [{"type": "joined", "room": "lobby", "name": "bob", "users": ["alice", "bob"]}],
        )
        self.assertEqual(
            alice.received(),
            [{"type": "join", "room": "lobby", "name": "bob", "users": ["alice", "bob"]}],
        )

    def test_messageReachesOthersInRoom(self) -> None:
        """
        A message reaches every other client in the sender's room, on every
        protocol version, and no one else.
        """
        sender = self.join("sender")
        others = [self.join(f"u{i}", version=v) for i, v in enumerate(ALL_VERSIONS)]
        elsewhere = self.join("elsewhere", room="other")
        sender.received()
        for other in others:
            other.received()
        sender.sendJSON({"type": "message", "text": "hi \u2603"})
        expected = {"type": "message", "room": "lobby", "name": "sender", "text": "hi \u2603"}
        for other in others:
            self.assertEqual(other.received(), [expected])
        self.assertEqual(sender.received(), [])
        self.assertEqual(elsewhere.received(), [])

    def test_broadcastPreparedOnce(self) -> None:
        """
        A broadcast hands one L{twisted_ws.PreparedMessage} to every member,
        so that its frame is built once per protocol family.
        """
        sender = self.join("sender")
        others = [self.join(f"u{i}", version=v) for i, v in enumerate(ALL_VERSIONS)]
        sent: list[Any] = []
        for other in others:
            original = other.server.sendPreparedMessage

            def record(message: Any, original: Any = original) -> None:
                sent.append(message)
                original(message)

            other.server.sendPreparedMessage = record
        sender.sendJSON({"type": "message", "text": "once"})
        self.assertEqual(len(sent), len(others))
        self.assertEqual(len({id(message) for message in sent}), 1)

    def test_leave(self) -> None:
        """
        When a client goes away, the others in its room are told, with the
        users who remain.
        """
        alice = self.join("alice")
        bob = self.join("bob")
        alice.received()
        bob.server.connectionLost(Failure(ConnectionDone("gone")))
        self.assertEqual(
            alice.received(),
            [{"type": "leave", "room": "lobby", "name": "bob", "users": ["alice"]}],
        )
        self.assertEqual(self.users("lobby"), ["alice"])
        self.assertEqual(self.factory.hub.channels(), ["chat:lobby"])

    def test_leaveWhileOthersClose(self) -> None:
        """
        When a client goes away while another member's connection is closing
        but not yet lost, the leave message skips that member instead of
        raising, and still reaches the open ones.
        """
        alice = self.join("alice")
        bob = self.join("bob")
        carol = self.join("carol")
        alice.received()
        bob.received()
        carol.codec.close(1001, "tab closed")
        carol.pump()
        self.assertFalse(carol.server.isOpen)
        bob.server.connectionLost(Failure(ConnectionDone("gone")))
        self.assertEqual(
            alice.received(),
            [{"type": "leave", "room": "lobby", "name": "bob", "users": ["alice", "carol"]}],
        )
        self.assertEqual(carol.received(), [])

    def test_changeRoom(self) -> None:
        """
        Joining another room leaves the first one; an empty room goes away.
        """
        alice = self.join("alice")
        alice.sendJSON({"type": "join", "room": "games", "name": "alice"})
        self.assertEqual(alice.received()[0]["room"], "games")
        self.assertEqual(self.factory.hub.channels(), ["chat:games"])

    def test_nameTaken(self) -> None:
        """
        A name already used in the room gets a suffix.
        """
        self.join("alice")
        second = Client(self.factory)
        second.sendJSON({"type": "join", "room": "lobby", "name": "alice"})
        self.assertEqual(second.received()[-1]["name"], "alice-2")

    def test_usersList(self) -> None:
        """
        A client can ask who is in its room.
        """
        alice = self.join("alice")
        self.join("bob")
        alice.received()
        alice.sendJSON({"type": "users"})
        self.assertEqual(alice.received(), [{"type": "users", "room": "lobby", "users": ["alice", "bob"]}])

    def test_plainText(self) -> None:
        """
        A plain text message from a client that has not joined puts it in
        the lobby under a guest name and reaches the others.
        """
        alice = self.join("alice")
        plain = Client(self.factory, Version.HIXIE76)
        plain.received()
        plain.sendText("hello from an old browser")
        [joined] = plain.received()
        self.assertEqual(joined["type"], "joined")
        self.assertTrue(joined["name"].startswith("guest-"))
        messages = [m for m in alice.received() if m["type"] == "message"]
        self.assertEqual(
            messages,
            [{"type": "message", "room": "lobby", "name": joined["name"],
              "text": "hello from an old browser"}],
        )

    def test_errors(self) -> None:
        """
        Unknown commands, empty messages and binary messages are answered
        with an error, and the connection stays open.
        """
        alice = self.join("alice")
        alice.sendJSON({"type": "dance"})
        alice.sendJSON({"type": "message", "text": ""})
        alice.codec.sendBinary(b"\x00")
        alice.pump()
        self.assertEqual([m["type"] for m in alice.received()], ["error"] * 3)
        self.assertTrue(alice.server.isOpen)

    def test_slowClientDropped(self) -> None:
        """
        A client whose send buffer holds more than the hub's bound is
        dropped with close code 1008 and taken out of its room; the others
        still get the messages.
        """
        self.factory = chat.makeFactory(hub=LocalHub(HubOptions(maxBuffered=4096)))
        self.factory.reactor = self.reactor
        talker = self.join("talker")
        reader = self.join("reader")
        slow = Client(self.factory, transport=BufferingTransport())
        slow.sendJSON({"type": "join", "room": "lobby", "name": "slow"})
        talker.received()
        reader.received()
        # The slow client's transport keeps everything; the client reads
        # nothing from here on.
        for i in range(20):
            talker.sendJSON({"type": "message", "text": f"{i:03d}" + "x" * 500})
            if "slow" not in self.users("lobby"):
                break
        self.assertNotIn("slow", self.users("lobby"))
        self.assertEqual(self.factory.hub.local.subscribedTo(slow.server.application), [])
        self.assertLess(i, 19)
        seen = reader.received()
        self.assertEqual(len([m for m in seen if m["type"] == "message"]), i + 1)
        self.assertIn(
            {"type": "leave", "room": "lobby", "name": "slow", "users": ["talker", "reader"]}, seen
        )
        # What the slow client finally reads ends with a close frame, 1008.
        slow.events.extend(slow.codec.receiveData(slow.transport.value()))
        [close] = slow.take(CloseReceived)
        self.assertEqual(close.code, 1008)

    def test_defaultHub(self) -> None:
        """
        C{makeFactory()} gives the chat an in-process hub of its own, and a
        hub passed in is used instead.
        """
        self.assertIsInstance(chat.makeFactory().hub, LocalHub)
        hub = LocalHub()
        factory = chat.makeFactory(hub=hub)
        self.assertIs(factory.hub, hub)
        self.assertTrue(IHub.providedBy(factory.hub))
        self.assertRaises(TypeError, chat.makeFactory, None, object())

    def test_closedClientLeavesHub(self) -> None:
        """
        A client whose connection is lost is out of every channel and
        presence of the hub.
        """
        alice = self.join("alice")
        app = alice.server.application
        self.assertEqual(self.factory.hub.local.subscribedTo(app), ["chat:lobby"])
        alice.server.connectionLost(Failure(ConnectionDone("gone")))
        self.assertEqual(self.factory.hub.local.subscribedTo(app), [])
        self.assertEqual(self.factory.hub.channels(), [])
