"""
A WebSocket chat server on twisted_ws: every text message a client sends
goes to every connected client. python chat_server.py [PORT]
"""

import sys

from twisted.internet import defer, endpoints, task

from twisted_ws import WebSocketProtocol, WebSocketServerFactory


class Chat(WebSocketProtocol):
    def negotiationFinished(self):
        self.factory.clients.add(self)

    def textMessageReceived(self, message):
        for client in self.factory.clients:
            if client.transport.isOpen:  # not already closing
                client.sendTextMessage(message)

    def connectionLost(self, reason):
        self.factory.clients.discard(self)


async def main(reactor, port="8080"):
    factory = WebSocketServerFactory(Chat)
    factory.clients = set()
    where = f"tcp:{port}:interface=127.0.0.1"
    endpoint = endpoints.serverFromString(reactor, where)
    listening = await endpoint.listen(factory)
    print("listening on port", listening.getHost().port, flush=True)
    await defer.Deferred()  # serve until the process is stopped


if __name__ == "__main__":
    task.react(main, sys.argv[1:])
