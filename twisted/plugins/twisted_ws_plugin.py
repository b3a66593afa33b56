"""
The I{twistd websocket} plugin: serves WebSocket applications, by default a
chat demo with its page, on the endpoints given with C{--listen}.

The module is named by string so that plugin discovery does not import the
library.
"""

from twisted.application.service import ServiceMaker

TwistedWebSocket = ServiceMaker(
    "twisted_ws WebSocket server",
    "twisted_ws.tap",
    "A WebSocket server for every protocol version (hixie-75/76, hybi-07/08, "
    "RFC 6455): a chat demo, an echo server or your own application.",
    "websocket",
)
