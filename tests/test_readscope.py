"""
Sends that one connection's read makes on other connections (a broadcast)
are held and written once per connection when the read ends, in order and
within the same bounds as a connection's replies to its own read.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import task
from twisted.trial.unittest import SynchronousTestCase

from tests._support.layer import Peer
from twisted_ws import Options, Version, WebSocketProtocol
from twisted_ws._readscope import READS
from twisted_ws._transport import _BATCH_BYTES, _BATCH_ITEMS
from twisted_ws.codec import BytesMessage, CloseReceived, PreparedMessage, TextMessage


class Relay(WebSocketProtocol):
    """
    Sends what it receives to every other connection of its group, and can
    be told to do more: b"close" closes the others after sending, b"many"
    sends them one more than a batch holds, b"big" sends a message over the
    batch's size limit.  It records what the other connections' transports
    had been given when it returned from each message.
    """

    group: list[Any] = []
    prepared = False
    seenDuring: list[int] = []
    during: Any = None

    def others(self) -> list[Any]:
        return [app for app in self.group if app is not self]

    def bytesMessageReceived(self, data: bytes) -> None:
        for other in self.others():
            if data == b"many":
                for i in range(_BATCH_ITEMS + 1):
                    other.sendBytesMessage(b"%d" % (i,))
            elif data == b"big":
                other.sendBytesMessage(b"x" * (_BATCH_BYTES + 1))
            elif self.prepared:
                other.transport.sendPreparedMessage(PreparedMessage(data))
            else:
                other.sendBytesMessage(data)
            if data == b"close":
                other.transport.loseConnection()
        if Relay.during is not None:
            Relay.during()
        self.seenDuring.append(sum(len(o.transport.transport.writes) for o in self.others()))

    def textMessageReceived(self, text: str) -> None:
        for other in self.others():
            other.sendTextMessage(text)


class HeldBroadcastTests(SynchronousTestCase):
    """
    A connection's read that sends to other connections.
    """

    def setUp(self) -> None:
        clock = task.Clock()
        self.peers = [
            Peer(Version.RFC6455, Relay, Options(logConnections=False), clock=clock)
            for _ in range(3)
        ]
        Relay.group = []
        Relay.prepared = False
        Relay.seenDuring = []
        Relay.during = None
        for peer in self.peers:
            peer.handshake()
            peer.transport.writes.clear()
            Relay.group.append(peer.app)

    def messagesOf(self, peer: Peer) -> list[Any]:
        return [
            e.data for e in peer.receive() if isinstance(e, (BytesMessage, TextMessage))
        ]

    def test_oneWritePerConnection(self) -> None:
        """
        Three messages in one read reach each other connection in one write
        made once the read ended, in order; nothing is written to them while
        the read is handled.
        """
        sender, *receivers = self.peers
        for data in (b"a", b"b", b"c"):
            sender.client.sendBytesMessage(data)
        sender.flush()
        self.assertEqual(Relay.seenDuring, [0, 0, 0])
        for peer in receivers:
            self.assertEqual(len(peer.transport.writes), 1)
            self.assertEqual(self.messagesOf(peer), [b"a", b"b", b"c"])
        self.assertEqual(READS.held, [])
        self.assertEqual(READS.depth, 0)

    def test_textAndPrepared(self) -> None:
        """
        Text messages and prepared messages are held the same way.
        """
        sender, *receivers = self.peers
        sender.client.sendTextMessage("caf\u00e9")
        Relay.prepared = True
        sender.client.sendBytesMessage(b"p")
        sender.flush()
        for peer in receivers:
            self.assertEqual(len(peer.transport.writes), 1)
            self.assertEqual(self.messagesOf(peer), ["caf\u00e9", b"p"])

    def test_closeAfterHeldSends(self) -> None:
        """
        A connection closed during the read writes what it held, then its
        close frame.
        """
        sender, *receivers = self.peers
        sender.client.sendBytesMessage(b"close")
        sender.flush()
        for peer in receivers:
            events = peer.receive()
            self.assertEqual([type(e) for e in events], [BytesMessage, CloseReceived])
            self.assertEqual(events[0].data, b"close")

    def test_batchLimit(self) -> None:
        """
        Sends beyond a batch's count are not held: the send that overfills
        the batch writes them all, during the read.
        """
        sender, *receivers = self.peers
        sender.client.sendBytesMessage(b"many")
        sender.flush()
        self.assertEqual(Relay.seenDuring, [2])
        for peer in receivers:
            self.assertEqual(len(peer.transport.writes), 1)
            self.assertEqual(
                self.messagesOf(peer), [b"%d" % (i,) for i in range(_BATCH_ITEMS + 1)]
            )

    def test_bigMessageNotHeld(self) -> None:
        """
        A message over the batch's size is written as it is sent.
        """
        sender, *receivers = self.peers
        sender.client.sendBytesMessage(b"big")
        sender.flush()
        self.assertEqual(Relay.seenDuring, [2])
        for peer in receivers:
            self.assertEqual(self.messagesOf(peer), [b"x" * (_BATCH_BYTES + 1)])

    def test_outsideAReadAtOnce(self) -> None:
        """
        A send made while no connection handles a read is written at once.
        """
        _, receiver, _ = self.peers
        receiver.app.sendBytesMessage(b"now")
        self.assertEqual(len(receiver.transport.writes), 1)
        self.assertEqual(self.messagesOf(receiver), [b"now"])

    def test_nestedReads(self) -> None:
        """
        A read handled within another (the application feeds a third
        connection) does not write what the outer read made others hold:
        that waits for the outermost read to end, and then goes in one
        write.
        """
        sender, receiver, third = self.peers
        seen = []

        def during() -> None:
            Relay.during = None
            third.client.sendBytesMessage(b"inner")
            third.flush()
            seen.append(len(receiver.transport.writes))

        Relay.during = during
        sender.client.sendBytesMessage(b"outer")
        sender.flush()
        self.assertEqual(seen, [0])
        self.assertEqual(len(receiver.transport.writes), 1)
        self.assertEqual(self.messagesOf(receiver), [b"outer", b"inner"])
        self.assertEqual(READS.depth, 0)


class Replier(WebSocketProtocol):
    """
    Answers on its own connection, during its own read: b"prepared" with one
    more prepared message than a batch holds, b"big" with a prepared message
    over the batch's size, b"pings" with one more ping than a batch holds.
    It records how many writes its transport had been given when it
    returned.
    """

    seenDuring: list[int] = []

    def bytesMessageReceived(self, data: bytes) -> None:
        if data == b"prepared":
            for i in range(_BATCH_ITEMS + 1):
                self.transport.sendPreparedMessage(PreparedMessage(b"%d" % (i,)))
        elif data == b"big":
            self.transport.sendPreparedMessage(PreparedMessage(b"x" * (_BATCH_BYTES + 1)))
        elif data == b"pings":
            for i in range(_BATCH_ITEMS + 1):
                self.transport.ping(b"%d" % (i,))
        self.seenDuring.append(len(self.transport.transport.writes))


class OwnReadBoundTests(SynchronousTestCase):
    """
    Prepared messages and pings sent on a connection during its own read
    are held within the same bounds as its other replies.
    """

    def setUp(self) -> None:
        self.peer = Peer(Version.RFC6455, Replier, Options(logConnections=False), clock=task.Clock())
        Replier.seenDuring = []
        self.peer.handshake()
        self.peer.transport.writes.clear()

    def test_preparedCount(self) -> None:
        """
        The prepared message that overfills the batch writes the batch
        during the read.
        """
        self.peer.client.sendBytesMessage(b"prepared")
        self.peer.flush()
        self.assertEqual(Replier.seenDuring, [1])
        messages = [e.data for e in self.peer.receive() if isinstance(e, BytesMessage)]
        self.assertEqual(messages, [b"%d" % (i,) for i in range(_BATCH_ITEMS + 1)])

    def test_preparedSize(self) -> None:
        """
        A prepared message over the batch's size is written as it is sent.
        """
        self.peer.client.sendBytesMessage(b"big")
        self.peer.flush()
        self.assertEqual(Replier.seenDuring, [1])

    def test_pingCount(self) -> None:
        """
        The ping that overfills the batch writes the batch during the read.
        """
        self.peer.client.sendBytesMessage(b"pings")
        self.peer.flush()
        self.assertEqual(Replier.seenDuring, [1])
