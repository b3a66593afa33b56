"""
Client endpoint strings for WebSocket: C{ws:HOST:PORT:path=/chat} and
C{wss:...} run any stream protocol over a WebSocket connection (the syntax
is described in C{twisted_ws._endpointstring} and in docs/client.rst).

The implementation is imported only when such a string is parsed, so that
plugin discovery stays cheap.
"""

from importlib import import_module

from twisted.internet.interfaces import IStreamClientEndpointStringParserWithReactor
from twisted.plugin import IPlugin
from zope.interface import implementer


@implementer(IPlugin, IStreamClientEndpointStringParserWithReactor)
class _WebSocketClientParser:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def parseStreamClient(self, reactor, *args, **kwargs):  # type: ignore[no-untyped-def]
        module = import_module("twisted_ws._endpointstring")
        return module.parseStreamClient(reactor, *args, secure=self.prefix == "wss", **kwargs)


webSocketClient = _WebSocketClientParser("ws")
secureWebSocketClient = _WebSocketClientParser("wss")
