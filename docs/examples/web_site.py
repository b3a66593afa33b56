"""
A twisted.web site that serves a page at / and a WebSocket echo service at
/ws, for every protocol version. python web_site.py [PORT]
"""

import sys

from twisted.internet import defer, endpoints, task
from twisted.web.resource import Resource
from twisted.web.server import Site
from twisted.web.static import Data

from twisted_ws import (
    WebSocketProtocol,
    WebSocketResource,
    WebSocketServerFactory,
)

PAGE = b"""<!doctype html>
<meta charset="utf-8"><title>echo</title>
<pre id="log"></pre>
<script>
  const out = document.getElementById("log");
  const log = (line) => { out.textContent += line + "\\n"; };
  const ws = new WebSocket("ws" + location.origin.slice(4) + "/ws");
  ws.onopen = () => { log("open"); ws.send("hello"); };
  ws.onmessage = (event) => log("echo: " + event.data);
  ws.onclose = (event) => log("closed " + event.code);
</script>
"""


class Echo(WebSocketProtocol):
    def textMessageReceived(self, message):
        self.sendTextMessage(message)

    def bytesMessageReceived(self, data):
        self.sendBytesMessage(data)


async def main(reactor, port="8080"):
    root = Resource()
    root.putChild(b"", Data(PAGE, "text/html; charset=utf-8"))
    root.putChild(b"ws", WebSocketResource(WebSocketServerFactory(Echo)))
    where = f"tcp:{port}:interface=127.0.0.1"
    endpoint = endpoints.serverFromString(reactor, where)
    listening = await endpoint.listen(Site(root))
    print("listening on port", listening.getHost().port, flush=True)
    await defer.Deferred()  # serve until the process is stopped


if __name__ == "__main__":
    task.react(main, sys.argv[1:])
