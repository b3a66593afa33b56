"""
A WebSocket relay on twisted_ws: every text message a client sends goes to
every other connected client, as the UTF-8 bytes it arrived as, without
being decoded. python relay_server.py [PORT]
"""

import sys

from twisted.internet import defer, endpoints, task

from twisted_ws import WebSocketProtocol, WebSocketServerFactory


class Relay(WebSocketProtocol):
    def negotiationFinished(self):
        self.factory.clients.add(self)

    def utf8MessageReceived(self, data):
        # data is bytes, already checked to be valid UTF-8.
        for client in self.factory.clients:
            if client is not self and client.transport.isOpen:
                client.sendTextMessage(data)

    def connectionLost(self, reason):
        self.factory.clients.discard(self)


async def main(reactor, port="8080"):
    factory = WebSocketServerFactory(Relay)
    factory.clients = set()
    where = f"tcp:{port}:interface=127.0.0.1"
    endpoint = endpoints.serverFromString(reactor, where)
    listening = await endpoint.listen(factory)
    print("listening on port", listening.getHost().port, flush=True)
    await defer.Deferred()  # serve until the process is stopped


if __name__ == "__main__":
    task.react(main, sys.argv[1:])
