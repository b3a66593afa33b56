"""
Tests for L{twisted_ws._webupgrade}, the one module that touches the
private machinery of C{twisted.web}'s C{HTTPChannel}.  These run against
the installed Twisted, so a Twisted upgrade that changes that machinery
fails here, loudly, rather than somewhere inside L{WebSocketResource}.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import protocol, task
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.http import HTTPChannel
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Site

import twisted
from twisted_ws._webupgrade import _REQUIRED, checkChannelSupportsUpgrade, upgradeChannel

PEER = IPv4Address("TCP", "127.0.0.1", 50000)
HEAD = b"GET /up HTTP/1.1\r\nHost: example.com\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\n"


class Upgraded(protocol.Protocol):
    """
    The protocol a connection is upgraded to: records what it gets.
    """

    def __init__(self) -> None:
        self.data: list[bytes] = []
        self.lost: list[Failure] = []
        self.madeWith: Any = None

    def makeConnection(self, transport: Any) -> None:
        self.madeWith = transport
        super().makeConnection(transport)

    def dataReceived(self, data: bytes) -> None:
        self.data.append(data)

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        self.lost.append(reason)


class UpgradingResource(Resource):
    """
    Upgrades each request's channel to an L{Upgraded} protocol while
    rendering, or later when C{deferred} is set.
    """

    isLeaf = True

    def __init__(self, deferred: bool = False) -> None:
        super().__init__()
        self.deferred = deferred
        self.protocols: list[Upgraded] = []
        self.requests: list[Any] = []

    def render(self, request: Any) -> Any:
        self.requests.append(request)
        if not self.deferred:
            self.upgrade(request)
        return NOT_DONE_YET

    def upgrade(self, request: Any) -> Upgraded:
        proto = Upgraded()
        self.protocols.append(proto)
        upgradeChannel(request.channel, proto)
        return proto


def connect(resource: Resource) -> tuple[Any, StringTransport, task.Clock]:
    """
    A site with C{resource} as its root, connected to a L{StringTransport}.

    @return: the site's protocol, the transport and the site's clock.
    """
    clock = task.Clock()
    site = Site(resource, reactor=clock)
    proto = site.buildProtocol(PEER)
    transport = StringTransport(peerAddress=PEER)
    proto.makeConnection(transport)
    return proto, transport, clock


def innerChannel(proto: Any) -> HTTPChannel:
    """
    The L{HTTPChannel} inside what C{Site.buildProtocol} returned.
    """
    channel = getattr(proto, "_channel", proto)
    assert isinstance(channel, HTTPChannel), channel
    return channel


class CheckTests(SynchronousTestCase):
    """
    L{checkChannelSupportsUpgrade} against the installed Twisted.
    """

    def test_realChannel(self) -> None:
        """
        A connected HTTPChannel of the installed Twisted has every private
        attribute the upgrade relies on.
        """
        proto, transport, clock = connect(Resource())
        channel = innerChannel(proto)
        try:
            checkChannelSupportsUpgrade(channel)
        except RuntimeError as e:
            self.fail(f"Twisted {twisted.__version__} broke WebSocketResource's upgrade: {e}")
        for name in _REQUIRED:
            self.assertTrue(hasattr(channel, name), name)

    def test_attributeTypes(self) -> None:
        """
        The private attributes have the shapes the upgrade uses: a list of
        buffered bytes and a network producer that can resume.
        """
        proto, transport, clock = connect(Resource())
        channel = innerChannel(proto)
        self.assertIsInstance(channel._dataBuffer, list)
        self.assertTrue(callable(getattr(channel._networkProducer, "resumeProducing", None)))
        self.assertTrue(callable(channel.setTimeout))

    def test_missingAttributes(self) -> None:
        """
        A channel without the attributes is refused with a RuntimeError that
        names them.
        """

        class Stripped:
            dataReceived = connectionLost = rawDataReceived = None

        e = self.assertRaises(RuntimeError, checkChannelSupportsUpgrade, Stripped())
        self.assertIn("_dataBuffer", str(e))
        self.assertIn("_networkProducer", str(e))

    def test_upgradeChecks(self) -> None:
        """
        upgradeChannel refuses a channel that lacks the attributes, before
        changing anything.
        """

        class Stripped:
            dataReceived = connectionLost = rawDataReceived = None

        channel = Stripped()
        self.assertRaises(RuntimeError, upgradeChannel, channel, Upgraded())
        self.assertIsNone(channel.dataReceived)


class UpgradeTests(SynchronousTestCase):
    """
    L{upgradeChannel} on a real L{HTTPChannel}.
    """

    def test_bytesAfterHeadInSameWrite(self) -> None:
        """
        Bytes that arrived in the same write as the request head reach the
        upgraded protocol.
        """
        resource = UpgradingResource()
        proto, transport, clock = connect(resource)
        proto.dataReceived(HEAD + b"first bytes")
        self.assertEqual(len(resource.protocols), 1)
        upgraded = resource.protocols[0]
        self.assertEqual(b"".join(upgraded.data), b"first bytes")

    def test_laterBytes(self) -> None:
        """
        Bytes of later writes reach the upgraded protocol, not the HTTP
        parser.
        """
        resource = UpgradingResource()
        proto, transport, clock = connect(resource)
        proto.dataReceived(HEAD)
        upgraded = resource.protocols[0]
        proto.dataReceived(b"GET /not-http HTTP/1.1\r\n\r\n")
        proto.dataReceived(b"\x00\xff")
        self.assertEqual(b"".join(upgraded.data), b"GET /not-http HTTP/1.1\r\n\r\n\x00\xff")
        self.assertEqual(len(resource.requests), 1)
        self.assertEqual(transport.value(), b"")

    def test_bytesBufferedBeforeUpgrade(self) -> None:
        """
        Bytes the channel set aside while the request was being handled,
        before the upgrade, reach the upgraded protocol first, in order.
        """
        resource = UpgradingResource(deferred=True)
        proto, transport, clock = connect(resource)
        proto.dataReceived(HEAD + b"one")
        proto.dataReceived(b"two")
        upgraded = resource.upgrade(resource.requests[0])
        proto.dataReceived(b"three")
        self.assertEqual(b"".join(upgraded.data), b"onetwothree")

    def test_transportHandedOver(self) -> None:
        """
        The upgraded protocol is connected to the channel's transport, which
        is left reading.
        """
        resource = UpgradingResource()
        proto, transport, clock = connect(resource)
        proto.dataReceived(HEAD)
        upgraded = resource.protocols[0]
        self.assertIs(upgraded.madeWith, transport)
        self.assertIs(upgraded.transport, transport)
        self.assertEqual(transport.producerState, "producing")

    def test_channelUnregisteredAsProducer(self) -> None:
        """
        The HTTP channel is no longer the transport's producer, so the
        upgraded protocol can register itself.
        """
        resource = UpgradingResource()
        proto, transport, clock = connect(resource)
        self.assertIsNotNone(transport.producer)
        proto.dataReceived(HEAD)
        self.assertIsNone(transport.producer)

    def test_resumedAfterPipelinedPause(self) -> None:
        """
        A transport the channel paused because too much data arrived while
        the request was handled is resumed by the upgrade.
        """
        resource = UpgradingResource(deferred=True)
        proto, transport, clock = connect(resource)
        proto.dataReceived(HEAD)
        channel = innerChannel(proto)
        proto.dataReceived(b"x" * (channel._optimisticEagerReadSize + 1))
        self.assertEqual(transport.producerState, "paused")
        upgraded = resource.upgrade(resource.requests[0])
        self.assertEqual(transport.producerState, "producing")
        self.assertEqual(len(b"".join(upgraded.data)), channel._optimisticEagerReadSize + 1)

    def test_pauseByHeldBytesKept(self) -> None:
        """
        When the bytes held since before the upgrade make the upgraded
        protocol pause its transport, the upgrade does not resume it
        afterwards.
        """

        class Pausing(Upgraded):
            def dataReceived(self, data: bytes) -> None:
                super().dataReceived(data)
                self.transport.pauseProducing()

        resource = UpgradingResource(deferred=True)
        proto, transport, clock = connect(resource)
        proto.dataReceived(HEAD)
        proto.dataReceived(b"held")
        pausing = Pausing()
        upgradeChannel(resource.requests[0].channel, pausing)
        self.assertEqual(pausing.data, [b"held"])
        self.assertEqual(transport.producerState, "paused")

    def test_bodyFirst(self) -> None:
        """
        The bytes given as the request's body reach the upgraded protocol
        before those the channel held.
        """
        resource = UpgradingResource(deferred=True)
        proto, transport, clock = connect(resource)
        proto.dataReceived(HEAD)
        proto.dataReceived(b"held")
        upgraded = Upgraded()
        upgradeChannel(resource.requests[0].channel, upgraded, b"body")
        self.assertEqual(b"".join(upgraded.data), b"bodyheld")

    def test_connectionLost(self) -> None:
        """
        The end of the TCP connection reaches the upgraded protocol.
        """
        resource = UpgradingResource()
        proto, transport, clock = connect(resource)
        proto.dataReceived(HEAD)
        upgraded = resource.protocols[0]
        proto.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(len(upgraded.lost), 1)
        self.assertTrue(upgraded.lost[0].check(ConnectionDone))

    def test_noIdleTimeout(self) -> None:
        """
        The channel's idle timeout no longer ends the upgraded connection.
        """
        resource = UpgradingResource()
        proto, transport, clock = connect(resource)
        proto.dataReceived(HEAD)
        clock.advance(60 * 60 * 24)
        self.assertFalse(transport.disconnecting)
        self.assertEqual(resource.protocols[0].lost, [])
