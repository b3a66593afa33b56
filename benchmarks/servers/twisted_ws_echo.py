"""
twisted_ws: echo or broadcast, written against the public API
(C{WebSocketServerFactory} + a C{WebSocketProtocol} subclass).

The suite prefers the twistd echo app (C{twistd websocket --app echo}) when
it exists; this script is the fallback and the broadcast server (the
twistd C{chat} app speaks JSON with join and leave notices, not a plain
byte-for-byte broadcast).
"""

import dataclasses

from _common import BACKLOG, BIG, announce, parseArguments, raiseFileLimit
from twisted.internet import reactor
from twisted.internet.endpoints import serverFromString

from twisted_ws import Options, WebSocketProtocol, WebSocketServerFactory

try:
    from twisted_ws.codec import PreparedMessage
except ImportError:
    PreparedMessage = None


class Echo(WebSocketProtocol):
    """
    Send every message back.
    """

    def textMessageReceived(self, message):
        self.transport.sendTextMessage(message)

    def bytesMessageReceived(self, data):
        self.transport.sendBytesMessage(data)


class Broadcast(WebSocketProtocol):
    """
    Send every message to every other open connection.
    """

    def negotiationFinished(self):
        self.factory.clients.add(self)

    def connectionLost(self, reason):
        self.factory.clients.discard(self)
        parent = getattr(super(), "connectionLost", None)
        if parent is not None:
            parent(reason)

    def textMessageReceived(self, message):
        self.broadcast(message)

    def bytesMessageReceived(self, data):
        self.broadcast(data)

    def broadcast(self, data):
        """
        Send C{data} to every other open connection, framed once
        (C{PreparedMessage}) when this version of twisted_ws offers that.
        """
        if PreparedMessage is not None:
            prepared = PreparedMessage(data)
            for client in self.factory.clients:
                if client is not self:
                    client.transport.sendPreparedMessage(prepared)
        elif isinstance(data, str):
            for client in self.factory.clients:
                if client is not self:
                    client.transport.sendTextMessage(data)
        else:
            for client in self.factory.clients:
                if client is not self:
                    client.transport.sendBytesMessage(data)


def bigOptions(compression=False):
    """
    Options with message and frame limits large enough for the 1 MiB rows;
    only the fields this version of L{Options} has are set.

    @param compression: accept permessage-deflate.
    @return: an L{Options}.
    """
    names = {field.name for field in dataclasses.fields(Options)}
    wanted = {"maxMessageSize": BIG, "maxFrameSize": BIG}
    if compression:
        from twisted_ws.codec import PerMessageDeflate

        wanted["extensions"] = (PerMessageDeflate(),)
    return Options(**{name: value for name, value in wanted.items() if name in names})


def main():
    arguments = parseArguments(__doc__)
    raiseFileLimit()
    factory = WebSocketServerFactory(
        Broadcast if arguments.app == "broadcast" else Echo, options=bigOptions(arguments.compression)
    )
    factory.noisy = False
    factory.clients = set()
    endpoint = serverFromString(
        reactor, "tcp:%d:interface=%s:backlog=%d" % (arguments.port, arguments.host, BACKLOG)
    )
    listening = endpoint.listen(factory)
    listening.addCallback(lambda port: announce("twisted_ws", arguments))
    listening.addErrback(lambda failure: (print(failure), reactor.stop()))
    reactor.run()


if __name__ == "__main__":
    main()
