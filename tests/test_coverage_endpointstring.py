"""
Tests for L{twisted_ws._endpointstring}: the C{ws:} options that reach the
TCP and TLS endpoints (timeout, bindAddress, trustRoots), the strings it
refuses, and a stream protocol factory that builds no protocol.
"""

from __future__ import annotations

import os
from typing import Any

from twisted.internet import defer, reactor
from twisted.internet.endpoints import clientFromString
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import IOpenSSLClientConnectionCreator
from twisted.internet.protocol import Factory
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from twisted_ws._endpointstring import (
    WebSocketStreamEndpoint,
    _StreamBridge,
    _TrustPolicy,
    parseStreamClient,
)

from ._support.certs import writeCertificate
from ._support.streams import Recorder, Refusing


class FakeConnection:
    """
    The WebSocket connection a L{_StreamBridge} is attached to: it records
    how it was closed.
    """

    def __init__(self) -> None:
        self.closed: list[tuple[int, str]] = []

    def getPeer(self) -> str:
        return "peer"

    def loseConnection(self, code: int = 1000, reason: str = "") -> None:
        self.closed.append((code, reason))


class FakeEndpoint:
    """
    A L{WebSocketClientEndpoint} stand-in whose connection opens at once:
    it builds the application, tells it the handshake is done and fires
    with it.
    """

    url = "ws://h/"

    def __init__(self) -> None:
        self.connection = FakeConnection()

    def connect(self, factory: Any) -> defer.Deferred[Any]:
        app = factory.buildProtocol(self.url)
        app.transport = self.connection
        app.negotiationFinished()
        return defer.succeed(app)


class OptionTests(SynchronousTestCase):
    """
    The options that go to the stream endpoints, and the strings that are
    refused.
    """

    def test_timeoutAndBindAddress(self) -> None:
        """
        C{timeout} is the TCP connect timeout in seconds and C{bindAddress}
        the local host to bind to (any port).
        """
        endpoint = clientFromString(reactor, "ws:h:80:timeout=2.5:bindAddress=127.0.0.2")
        factory = endpoint.endpoint.endpointFactory
        self.assertEqual(factory.connectTimeout, 2.5)
        self.assertEqual(factory.bindAddress, ("127.0.0.2", 0))

    def test_relativePath(self) -> None:
        """
        A path without its leading slash gets one.
        """
        self.assertEqual(clientFromString(reactor, "ws:h:81:path=chat").endpoint.url, "ws://h:81/chat")

    def test_emptyPort(self) -> None:
        """
        An empty port means the scheme's default one.
        """
        endpoint = parseStreamClient(reactor, "h", "", secure=True)
        self.assertEqual(endpoint.endpoint.url, "wss://h/")

    def test_tooManyArguments(self) -> None:
        """
        A third positional argument is refused: options are written
        C{name=value}.
        """
        e = self.assertRaises(ValueError, clientFromString, reactor, "ws:h:80:chat")
        self.assertEqual(str(e), "unexpected arguments ('chat',); options are written name=value")

    def test_badNumbers(self) -> None:
        """
        A timeout that is not a number is refused.
        """
        self.assertRaises(ValueError, clientFromString, reactor, "ws:h:80:timeout=soon")
        self.assertRaises(ValueError, clientFromString, reactor, "ws:h:80:openTimeout=soon")


class TrustRootsTests(SynchronousTestCase):
    """
    C{trustRoots=PEM}: the certificates a C{wss:} connection trusts.
    """

    def test_certificatesLoaded(self) -> None:
        """
        Every certificate of the file is trusted, and the TLS options made
        for a host verify that host name.
        """
        directory = self.mktemp()
        os.makedirs(directory)
        _, first, _ = writeCertificate(directory, ["one.example"])
        with open(first, "rb") as f:
            one = f.read()
        other = os.path.join(directory, "other")
        os.makedirs(other)
        _, second, _ = writeCertificate(other, ["two.example"])
        with open(second, "rb") as f:
            two = f.read()
        bundle = os.path.join(directory, "bundle.pem")
        with open(bundle, "wb") as f:
            f.write(one + b"\n" + two)
        endpoint = parseStreamClient(reactor, "one.example", "8443", secure=True, trustRoots=bundle)
        policy = endpoint.endpoint.endpointFactory.tlsPolicy
        self.assertIsInstance(policy, _TrustPolicy)
        self.assertEqual(sorted(c.getSubject().commonName for c in policy.certificates),
                         [b"one.example", b"two.example"])
        creator = policy.creatorForNetloc(b"one.example", 8443)
        self.assertTrue(IOpenSSLClientConnectionCreator.providedBy(creator))
        self.assertEqual(creator._hostname, "one.example")

    def test_noCertificate(self) -> None:
        """
        A file that holds no certificate is refused, naming the file.
        """
        path = self.mktemp()
        with open(path, "wb") as f:
            f.write(b"not a certificate\n")
        e = self.assertRaises(ValueError, parseStreamClient, reactor, "h", trustRoots=path)
        self.assertEqual(str(e), f"no certificate in {path!r}")

    def test_missingFile(self) -> None:
        """
        A file that does not exist is refused when the string is parsed.
        """
        self.assertRaises(OSError, parseStreamClient, reactor, "h", trustRoots=self.mktemp())


class RefusedTests(SynchronousTestCase):
    """
    A stream protocol factory whose C{buildProtocol} returns L{None}.
    """

    def test_connectFails(self) -> None:
        """
        The connection is closed normally and C{connect} fails with
        L{ConnectionRefusedError}.
        """
        fake = FakeEndpoint()
        d = WebSocketStreamEndpoint(fake).connect(Refusing())  # type: ignore[arg-type]
        failure = self.failureResultOf(d, ConnectionRefusedError)
        self.assertEqual(str(failure.value), "the protocol factory built no protocol")
        self.assertEqual(fake.connection.closed, [(1000, "")])

    def test_bridgeWithoutProtocol(self) -> None:
        """
        With no protocol built, messages and the end of the connection are
        dropped quietly.
        """
        bridge = _StreamBridge(Refusing())
        bridge.transport = FakeConnection()  # type: ignore[assignment]
        bridge.negotiationFinished()
        bridge.textMessageReceived("x")
        bridge.bytesMessageReceived(b"x")
        bridge.connectionLost(Failure(ConnectionDone()))
        self.assertIsNone(bridge.wrapped)


class BridgeTests(SynchronousTestCase):
    """
    A stream protocol run by the client bridge.
    """

    def test_connectFiresWithTheStreamProtocol(self) -> None:
        """
        C{connect} fires with the stream protocol, which gets text messages
        as UTF-8, binary messages as they are, and the end of the connection
        once.
        """
        fake = FakeEndpoint()
        wrapped = self.successResultOf(
            WebSocketStreamEndpoint(fake).connect(Factory.forProtocol(Recorder))  # type: ignore[arg-type]
        )
        self.assertIsInstance(wrapped, Recorder)
        bridge = wrapped.transport.bridge
        bridge.textMessageReceived("\u00e9")
        bridge.bytesMessageReceived(b"\x00")
        self.assertEqual(wrapped.received, [b"\xc3\xa9", b"\x00"])
        bridge.connectionLost(Failure(ConnectionDone()))
        bridge.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(len(wrapped.lost), 1)
