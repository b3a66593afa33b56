"""
Tests for how a server connection over TLS ends its TCP connection and
counts what it has buffered.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.interfaces import ISSLTransport
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from twisted_ws import Options, Version
from twisted_ws.codec import CloseReceived, ConnectionOpened

from ._support.layer import Peer


@implementer(ISSLTransport)
class FakeTLSTransport(StringTransport):
    """
    A transport that says it is TLS, over a lower TCP transport, and that,
    like Twisted's TLS layer, only sends its close alert on
    C{loseConnection}: the TCP connection ends when the peer answers with
    its own alert.

    @ivar transport: the TCP transport below.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.transport = StringTransport()
        self._appSendBuffer: list[bytes] = []

    def loseConnection(self) -> None:
        self.disconnecting = True

    def getPeerCertificate(self) -> None:
        return None


class TLSCloseTests(SynchronousTestCase):
    """
    After the closing handshake on a TLS connection the server does not wait
    for the client's TLS close alert, which many clients never send.
    """

    def test_tcpEndsAfterClosingHandshake(self) -> None:
        """
        Once the client's close frame is answered, the TCP transport under
        the TLS layer is told to end the connection (after writing what it
        holds), and the TLS layer is asked to close too.
        """
        p = Peer(Version.RFC6455, transportFactory=FakeTLSTransport)
        self.assertIsInstance(p.handshake()[0], ConnectionOpened)
        lower = p.transport.transport
        self.assertFalse(lower.disconnecting)
        p.client.close(1000, "bye")
        p.send(p.client.dataToSend())
        self.assertTrue(p.transport.disconnecting)
        self.assertTrue(lower.disconnecting)
        self.assertIn(CloseReceived(1000, ""), p.receive())

    def test_waitsForPendingTLSData(self) -> None:
        """
        While the TLS layer still holds application data (its handshake is
        not done), the TCP transport is left alone, so that nothing is lost;
        the close timeout bounds the wait.
        """
        p = Peer(Version.RFC6455, options=Options(closeTimeout=3.0), transportFactory=FakeTLSTransport)
        self.assertIsInstance(p.handshake()[0], ConnectionOpened)
        p.transport._appSendBuffer.append(b"pending")
        p.client.close(1000, "bye")
        p.send(p.client.dataToSend())
        self.assertTrue(p.transport.disconnecting)
        self.assertFalse(p.transport.transport.disconnecting)

    def test_lingersAfterPeerError(self) -> None:
        """
        After a peer error (no closing handshake) the TLS layer is asked to
        close and the TCP transport below is left alone: the TLS layer reads
        until the peer's close alert or its end of TCP, so the peer is not
        reset before it reads the close frame.  The close timeout bounds it.
        """
        p = Peer(Version.RFC6455, options=Options(closeTimeout=3.0), transportFactory=FakeTLSTransport)
        self.assertIsInstance(p.handshake()[0], ConnectionOpened)
        p.send(b"\x82\x05hello")  # unmasked: a protocol error
        self.assertTrue(p.transport.disconnecting)
        self.assertFalse(p.transport.transport.disconnecting)
        self.assertEqual([e.code for e in p.receive() if isinstance(e, CloseReceived)], [1002])

    def test_bufferedAmountCountsTLSLayers(self) -> None:
        """
        bufferedAmount adds what the TLS layer holds to what the TCP
        transport below it has not sent yet.
        """
        p = Peer(Version.RFC6455, transportFactory=FakeTLSTransport)
        p.handshake()
        p.transport._appSendBuffer.append(b"x" * 10)
        lower = p.transport.transport
        lower.dataBuffer = b"y" * 100
        lower.offset = 30
        lower._tempDataLen = 5
        self.assertEqual(p.server.bufferedAmount, 10 + 70 + 5)
