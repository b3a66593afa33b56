"""
Autobahn on Twisted (C{autobahn.twisted.websocket}): echo or broadcast.

Broadcast uses Autobahn's own idiom: C{factory.prepareMessage} once, then
C{sendPreparedMessage} to every other open connection.
"""

from _common import BACKLOG, BIG, announce, parseArguments, raiseFileLimit
from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from twisted.internet import reactor


class Echo(WebSocketServerProtocol):
    """
    Send every message back.
    """

    def onMessage(self, payload, isBinary):
        self.sendMessage(payload, isBinary)


class Broadcast(WebSocketServerProtocol):
    """
    Send every message to every other open connection.
    """

    def onOpen(self):
        self.factory.clients.add(self)

    def onClose(self, wasClean, code, reason):
        self.factory.clients.discard(self)

    def onMessage(self, payload, isBinary):
        prepared = self.factory.prepareMessage(payload, isBinary)
        for client in self.factory.clients:
            if client is not self:
                client.sendPreparedMessage(prepared)


def main():
    arguments = parseArguments(__doc__)
    raiseFileLimit()
    factory = WebSocketServerFactory("ws://%s:%d" % (arguments.host, arguments.port))
    factory.protocol = Broadcast if arguments.app == "broadcast" else Echo
    factory.setProtocolOptions(maxFramePayloadSize=BIG, maxMessagePayloadSize=BIG)
    if arguments.compression:
        from autobahn.websocket.compress import PerMessageDeflateOffer, PerMessageDeflateOfferAccept

        def accept(offers):
            for offer in offers:
                if isinstance(offer, PerMessageDeflateOffer):
                    return PerMessageDeflateOfferAccept(offer)
            return None

        factory.setProtocolOptions(perMessageCompressionAccept=accept)
    factory.noisy = False
    factory.clients = set()
    reactor.listenTCP(arguments.port, factory, backlog=BACKLOG, interface=arguments.host)
    reactor.callWhenRunning(announce, "autobahn", arguments)
    reactor.run()


if __name__ == "__main__":
    main()
