"""
Twisted's own C{twisted.web.websocket} (over wsproto): echo or broadcast.

The WebSocket resource sits at C{/ws} of a C{Site} whose access log is
turned off (this measures WebSocket, not log formatting).
"""

from _common import BACKLOG, announce, parseArguments, raiseFileLimit
from twisted.internet import reactor
from twisted.web.resource import Resource
from twisted.web.server import Site
from twisted.web.websocket import WebSocketResource


class Echo:
    """
    Send every message back.
    """

    transport = None

    def negotiationStarted(self, transport):
        self.transport = transport

    def negotiationFinished(self):
        pass

    def pongReceived(self, payload):
        pass

    def textMessageReceived(self, message):
        self.transport.sendTextMessage(message)

    def bytesMessageReceived(self, data):
        self.transport.sendBytesMessage(data)

    def connectionLost(self, reason):
        pass


class Broadcast(Echo):
    """
    Send every message to every other open connection.
    """

    def negotiationFinished(self):
        self.factory.clients.add(self)

    def connectionLost(self, reason):
        self.factory.clients.discard(self)

    def textMessageReceived(self, message):
        for client in self.factory.clients:
            if client is not self:
                client.transport.sendTextMessage(message)

    def bytesMessageReceived(self, data):
        for client in self.factory.clients:
            if client is not self:
                client.transport.sendBytesMessage(data)


class ProtocolFactory:
    """
    A C{twisted.web.websocket.WebSocketServerFactory}: one protocol per request.
    """

    def __init__(self, protocolClass):
        self.protocolClass = protocolClass
        self.clients = set()

    def buildProtocol(self, request):
        protocol = self.protocolClass()
        protocol.factory = self
        return protocol


class QuietSite(Site):
    """
    A site without an access log.
    """

    noisy = False

    def log(self, request):
        pass


def main():
    arguments = parseArguments(__doc__)
    raiseFileLimit()
    factory = ProtocolFactory(Broadcast if arguments.app == "broadcast" else Echo)
    root = Resource()
    root.putChild(b"ws", WebSocketResource(factory))
    reactor.listenTCP(arguments.port, QuietSite(root), backlog=BACKLOG, interface=arguments.host)
    reactor.callWhenRunning(announce, "twisted.web", arguments)
    reactor.run()


if __name__ == "__main__":
    main()
