"""
Tests for the command-line client, C{python -m twisted_ws URL}, run as a
subprocess against a server on loopback.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from twisted.internet import defer, endpoints, error, protocol, reactor
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase

from twisted_ws import RejectConnection, WebSocketProtocol, WebSocketServerFactory

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Echo(WebSocketProtocol):
    """
    Echoes text; answers "bin" with 1024 binary bytes too, and "bye" by
    closing with 4000.
    """

    def textMessageReceived(self, message: str) -> None:
        if message == "bye":
            self.loseConnection(4000, "bye to you")
            return
        self.sendTextMessage(message)
        if message == "bin":
            self.sendBytesMessage(b"x" * 1024)

    def requestReceived(self, request: Any) -> None:
        seen.append(request)
        if request.path == "/forbidden":
            raise RejectConnection(403, "not here")


seen: list[Any] = []


class Collect(protocol.ProcessProtocol):
    """
    Feeds standard input, collects standard output and error, and fires
    C{done} with (status, stdout, stderr).
    """

    def __init__(self, stdin: bytes) -> None:
        self.stdin = stdin
        self.out = b""
        self.err = b""
        self.done: defer.Deferred[tuple[int, bytes, bytes]] = defer.Deferred()

    def connectionMade(self) -> None:
        self.transport.write(self.stdin)
        self.transport.closeStdin()

    def outReceived(self, data: bytes) -> None:
        self.out += data

    def errReceived(self, data: bytes) -> None:
        self.err += data

    def processEnded(self, reason: Failure) -> None:
        value = reason.value
        code = value.exitCode if isinstance(value, (error.ProcessDone, error.ProcessTerminated)) else -1
        self.done.callback((code if code is not None else -1, self.out, self.err))


class CommandLineTests(TestCase):
    """
    The client sends lines, prints messages, closes on end of input and
    reports failures.
    """

    timeout = 60

    async def setUp(self) -> None:  # type: ignore[override]
        del seen[:]
        port = await endpoints.serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(
            WebSocketServerFactory(Echo)
        )
        self.addCleanup(port.stopListening)
        self.url = f"ws://127.0.0.1:{port.getHost().port}"

    def run_(self, stdin: bytes, *args: str) -> defer.Deferred[tuple[int, bytes, bytes]]:
        collect = Collect(stdin)
        env = dict(os.environ, PYTHONPATH=ROOT)
        process = reactor.spawnProcess(
            collect, sys.executable, [sys.executable, "-m", "twisted_ws", *args], env=env, path=ROOT
        )
        call = reactor.callLater(30, process.signalProcess, "KILL")
        collect.done.addBoth(lambda result: (call.active() and call.cancel(), result)[1])
        return collect.done

    async def test_linesAndEOF(self) -> None:
        """
        Lines go out as text messages, text comes back as lines and binary
        as a description; end of input closes cleanly and exits 0.
        """
        code, out, err = await self.run_(b"hello\nbin\n\xc3\xbc last", self.url + "/")
        self.assertEqual(err, b"")
        self.assertEqual(code, 0)
        self.assertEqual(out.decode("utf-8").splitlines(), ["hello", "bin", "< binary 1024 bytes", "ü last"])

    async def test_options(self) -> None:
        """
        --protocol-version, --subprotocol, --header and --origin shape the
        request.
        """
        code, out, err = await self.run_(
            b"old\n",
            "--protocol-version",
            "hixie-76",
            "--subprotocol",
            "chat",
            "--header",
            "Cookie: a=b",
            "--origin",
            "http://o.example",
            self.url + "/x?y=1",
        )
        self.assertEqual((code, out), (0, b"old\n"), err)
        request = seen[0]
        self.assertEqual(request.version.label, "hixie-76")
        self.assertEqual(request.target, "/x?y=1")
        self.assertEqual(request.header("cookie"), "a=b")
        self.assertEqual(request.origin, "http://o.example")
        self.assertEqual(list(request.subprotocols), ["chat"])

    async def test_serverCloses(self) -> None:
        """
        A close by the server ends the program; a clean one exits 0.
        """
        code, out, err = await self.run_(b"one\nbye\n", self.url + "/")
        self.assertEqual((code, out), (0, b"one\n"), err)

    async def test_refusedHandshake(self) -> None:
        """
        A refused handshake prints the reason on standard error and exits 1.
        """
        code, out, err = await self.run_(b"", self.url + "/forbidden")
        self.assertEqual(code, 1)
        self.assertEqual(out, b"")
        self.assertIn(b"403", err)
        self.assertIn(b"not here", err)

    async def test_connectionRefused(self) -> None:
        """
        Nothing listening: the reason on standard error, status 1.
        """
        code, out, err = await self.run_(b"", "ws://127.0.0.1:1/")
        self.assertEqual(code, 1)
        self.assertIn(b"refused", err)

    async def test_badArguments(self) -> None:
        """
        A URL of another scheme or a bad header is refused with status 2.
        """
        code, out, err = await self.run_(b"", "http://127.0.0.1/")
        self.assertEqual(code, 2)
        self.assertIn(b"ws:// or wss://", err)
        code, out, err = await self.run_(b"", "--header", "nocolon", self.url)
        self.assertEqual(code, 2)
        self.assertIn(b"Name: value", err)


class Terminal(Collect):
    """
    Types C{stdin} on a pseudo-terminal, then Ctrl-D.
    """

    def connectionMade(self) -> None:
        self.transport.write(self.stdin + b"\x04")

    def childDataReceived(self, childFD: int, data: bytes) -> None:
        self.out += data


class InteractiveTests(TestCase):
    """
    On a terminal the client is interactive.
    """

    timeout = 60

    async def test_prompt(self) -> None:
        """
        A prompt is shown, received messages are marked with C{< }, and the
        close is reported.
        """
        port = await endpoints.serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(
            WebSocketServerFactory(Echo)
        )
        self.addCleanup(port.stopListening)
        terminal = Terminal(b"hi there\n")
        env = dict(os.environ, PYTHONPATH=ROOT)
        url = f"ws://127.0.0.1:{port.getHost().port}/"
        process = reactor.spawnProcess(
            terminal, sys.executable, [sys.executable, "-m", "twisted_ws", url], env=env, path=ROOT,
            usePTY=True,
        )
        call = reactor.callLater(30, process.signalProcess, "KILL")
        code, out, err = await terminal.done
        if call.active():
            call.cancel()
        self.assertEqual(code, 0, out)
        self.assertIn(b"connected to " + url.encode(), out)
        self.assertIn(b"> ", out)
        self.assertIn(b"< hi there", out)
        self.assertIn(b"connection closed: 1000", out)


class Refusing(protocol.Protocol):
    """
    An HTTP proxy that wants credentials it never accepts.
    """

    def dataReceived(self, data: bytes) -> None:
        self.transport.write(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
        self.transport.loseConnection()


class ProxyOptionTests(TestCase):
    """
    --proxy sends the connection through an HTTP proxy.
    """

    timeout = 60

    async def test_proxyRefuses(self) -> None:
        """
        A proxy's refusal is printed on standard error, status 1.
        """
        port = await endpoints.serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(
            protocol.Factory.forProtocol(Refusing)
        )
        self.addCleanup(port.stopListening)
        collect = Collect(b"")
        env = dict(os.environ, PYTHONPATH=ROOT)
        args = ["--proxy", f"http://127.0.0.1:{port.getHost().port}", "ws://127.0.0.1:9/"]
        process = reactor.spawnProcess(
            collect, sys.executable, [sys.executable, "-m", "twisted_ws", *args], env=env, path=ROOT
        )
        call = reactor.callLater(30, process.signalProcess, "KILL")
        code, out, err = await collect.done
        if call.active():
            call.cancel()
        self.assertEqual(code, 1)
        self.assertIn(b"407", err)
