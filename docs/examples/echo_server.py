"""
A WebSocket echo server on twisted_ws: python echo_server.py [PORT]
"""

import sys

from twisted.internet import defer, endpoints, task

from twisted_ws import WebSocketProtocol, WebSocketServerFactory


class Echo(WebSocketProtocol):
    def textMessageReceived(self, message):
        self.sendTextMessage(message)

    def bytesMessageReceived(self, data):
        self.sendBytesMessage(data)


async def main(reactor, port="8080"):
    where = f"tcp:{port}:interface=127.0.0.1"
    endpoint = endpoints.serverFromString(reactor, where)
    listening = await endpoint.listen(WebSocketServerFactory(Echo))
    print("listening on port", listening.getHost().port, flush=True)
    await defer.Deferred()  # serve until the process is stopped


if __name__ == "__main__":
    task.react(main, sys.argv[1:])
