# -*- test-case-name: tests.test_client_cli -*-
"""
A command-line WebSocket client, for poking at a server::

    python -m twisted_ws ws://127.0.0.1:8080/echo
    python -m twisted_ws --protocol-version hixie-76 ws://device.local/ws
    echo hello | python -m twisted_ws wss://example.com/chat

Each line of standard input is sent as a text message; each text message
received is printed as a line (a binary one as C{< binary N bytes}).  The end
of input closes the connection (code 1000) and, once the server has answered,
the program exits with status 0 (1 if the close was not clean).  A failed
connection prints the reason on standard error and exits with status 1.

When standard input is a terminal the client is interactive: a C{> } prompt,
received messages shown as C{< message} above it, and the close reported.
When it is a pipe, only the received messages are printed.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from twisted.internet import defer, interfaces, protocol, stdio, task
from twisted.protocols.basic import LineReceiver
from twisted.python.failure import Failure
from zope.interface import implementer

from ._app import WebSocketProtocol
from ._client import WebSocketClientEndpoint
from ._options import Options
from .codec import Version

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m twisted_ws",
        description="Connect to a WebSocket server; send standard input's lines as text messages "
        "and print the messages received.",
    )
    parser.add_argument("url", help="ws:// or wss:// URL")
    parser.add_argument(
        "--protocol-version",
        default="rfc6455",
        metavar="VERSION",
        help="hixie-75, hixie-76, hybi-07, hybi-08 or 13 (the default, RFC 6455)",
    )
    parser.add_argument(
        "--subprotocol", action="append", default=[], metavar="NAME", help="offer a subprotocol (repeatable)"
    )
    parser.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="an extra request header, such as 'Authorization: Bearer ...' (repeatable)",
    )
    parser.add_argument("--origin", help="the Origin header to send")
    parser.add_argument(
        "--insecure", action="store_true", help="for wss://, do not verify the server's certificate"
    )
    parser.add_argument(
        "--proxy",
        metavar="URL",
        help="an HTTP proxy, http://[user:password@]host:port ('' for none; "
        "by default https_proxy/http_proxy/all_proxy less no_proxy)",
    )
    parser.add_argument(
        "--open-timeout", type=float, default=10.0, metavar="SECONDS", help="time allowed to connect (10)"
    )
    return parser


@implementer(interfaces.IOpenSSLClientConnectionCreator)
class _Unverified:
    """
    TLS that sends the host name (SNI) but accepts any certificate.
    """

    def __init__(self, hostname: str) -> None:
        from twisted.internet.ssl import CertificateOptions

        self.hostname = hostname
        self.context = CertificateOptions(verify=False).getContext()

    def clientConnectionForTLS(self, tlsProtocol: Any) -> Any:
        from OpenSSL import SSL

        connection = SSL.Connection(self.context, None)
        connection.set_app_data(tlsProtocol)
        if not self.hostname.replace(".", "").isdigit() and ":" not in self.hostname:
            connection.set_tlsext_host_name(self.hostname.encode("ascii"))
        return connection


class _InsecurePolicy:
    """
    An C{IPolicyForHTTPS} that verifies nothing (C{--insecure}).
    """

    def creatorForNetloc(self, hostname: bytes, port: int) -> _Unverified:
        return _Unverified(hostname.decode("ascii"))


class _Client(WebSocketProtocol):
    """
    The WebSocket side: hands messages to the console, and tells when the
    connection is gone.
    """

    def __init__(self) -> None:
        self.console: _Console | None = None
        self.early: list[str] = []
        self.closed: defer.Deferred[Any] = defer.Deferred()

    def textMessageReceived(self, message: str) -> None:
        self._show(message)

    def bytesMessageReceived(self, data: bytes) -> None:
        self._show(f"< binary {len(data)} bytes", raw=True)

    def _show(self, text: str, raw: bool = False) -> None:
        if self.console is None:
            self.early.append(text if not raw else "\0" + text)
        else:
            self.console.show(text, raw)

    def connectionLost(self, reason: Failure) -> None:
        if not self.closed.called:
            self.closed.callback(reason.value)


@implementer(interfaces.IHalfCloseableProtocol)
class _Console(LineReceiver):
    """
    The terminal or pipe side: lines in become messages, messages become
    lines out.
    """

    delimiter = b"\n"
    MAX_LENGTH = 16 * 1024 * 1024
    transport: Any

    def __init__(self, client: _Client, interactive: bool) -> None:
        self.client = client
        self.interactive = interactive
        self.done: defer.Deferred[None] = defer.Deferred()
        self.inputEnded = False

    def connectionMade(self) -> None:
        early, self.client.early = self.client.early, []
        for text in early:
            self.show(text[1:], True) if text.startswith("\0") else self.show(text)
        self.client.console = self
        self._prompt()

    def _prompt(self) -> None:
        if self.interactive and not self.inputEnded:
            self.transport.write(b"> ")

    def show(self, text: str, raw: bool = False) -> None:
        """
        Print a received message (C{raw}: a description, as it is).
        """
        if self.interactive:
            line = text if raw else f"< {text}"
            # Over the prompt, then the prompt again.
            self.transport.write(b"\r\x1b[K" + line.encode("utf-8", "replace") + b"\n")
            self._prompt()
        else:
            self.transport.write(text.encode("utf-8", "replace") + b"\n")

    def lineReceived(self, line: bytes) -> None:
        text = line.rstrip(b"\r").decode("utf-8", "replace")
        transport = self.client.transport
        if transport is not None and transport.isOpen:
            transport.sendTextMessage(text)
        self._prompt()

    def lineLengthExceeded(self, line: bytes) -> None:
        sys.stderr.write("twisted_ws: input line too long; closing\n")
        self.readConnectionLost()

    def readConnectionLost(self) -> None:
        """
        End of input: close the WebSocket connection normally.
        """
        if self.inputEnded:
            return
        self.inputEnded = True
        if self._buffer:
            self.lineReceived(self._buffer)
            self._buffer = b""
        transport = self.client.transport
        if transport is not None:
            transport.loseConnection(1000, "")

    def writeConnectionLost(self) -> None:
        pass

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        if not self.done.called:
            self.done.callback(None)


async def _run(reactor: Any, args: argparse.Namespace) -> int:
    try:
        version = Version.fromLabel(args.protocol_version)
        headers = []
        for header in args.header:
            name, sep, value = header.partition(":")
            if not sep or not name.strip():
                raise ValueError(f"--header {header!r} is not 'Name: value'")
            headers.append((name.strip(), value.strip()))
        endpoint = WebSocketClientEndpoint.new(
            reactor,
            args.url,
            tlsPolicy=_InsecurePolicy() if args.insecure else None,
            proxy=(args.proxy or False) if args.proxy is not None else None,
            version=version,
            origin=args.origin,
            subprotocols=args.subprotocol,
            headers=headers,
            options=Options(openTimeout=args.open_timeout),
        )
    except ValueError as e:
        sys.stderr.write(f"twisted_ws: {e}\n")
        return 2

    class Factory:
        def buildProtocol(self, url: str) -> _Client:
            return _Client()

    try:
        client: _Client = await endpoint.connect(Factory())
    except Exception as e:
        sys.stderr.write(f"twisted_ws: could not connect to {args.url}: {e}\n")
        return 1
    interactive = sys.stdin.isatty()
    if interactive:
        transport = client.transport
        sys.stderr.write(
            f"connected to {args.url} ({transport.version.label}"
            + (f", subprotocol {transport.subprotocol}" if transport.subprotocol else "")
            + "); end of input (Ctrl-D) closes\n"
        )
    console = _Console(client, interactive)
    io = stdio.StandardIO(console, reactor=reactor)
    closed = await client.closed
    if interactive:
        sys.stderr.write(
            f"\r\x1b[Kconnection closed: {closed.code}"
            + (f" {closed.reason}" if closed.reason else "")
            + ("" if closed.wasClean else " (not clean)")
            + "\n"
        )
    io.loseConnection()
    await console.done
    return 0 if closed.wasClean else 1


def main(argv: list[str] | None = None) -> None:
    """
    Run the command-line client; exits with its status.
    """
    args = _parser().parse_args(argv)

    async def run(reactor: Any) -> None:
        code = await _run(reactor, args)
        if code:
            raise SystemExit(code)

    task.react(lambda reactor: defer.ensureDeferred(run(reactor)))


if __name__ == "__main__":
    main()
