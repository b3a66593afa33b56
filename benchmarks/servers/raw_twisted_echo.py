"""
The ceiling: plain Twisted TCP with 32-bit length-prefixed messages.

C{Int32StringReceiver} echoes each message (or, with C{--app broadcast},
sends it to every other connection).  With C{--join-once} a small receiver
gathers the chunks of a message in a list and joins them once, instead of
C{IntNStringReceiver}'s concatenation on every read, which copies a 1 MiB
message about sixteen times.
"""

from struct import pack, unpack_from

from _common import BACKLOG, BIG, announce, parseArguments, raiseFileLimit
from twisted.internet import reactor
from twisted.internet.protocol import Factory, Protocol
from twisted.protocols.basic import Int32StringReceiver


class Echo(Int32StringReceiver):
    """
    Send every message back.
    """

    MAX_LENGTH = BIG

    def stringReceived(self, string):
        self.sendString(string)


class JoinOnceEcho(Protocol):
    """
    Send every message back, joining the chunks of each message only once.

    @ivar _chunks: data received and not yet parsed.
    @ivar _have: total length of C{_chunks}.
    @ivar _need: how many bytes C{_chunks} must hold before parsing can move on.
    """

    def connectionMade(self):
        self._chunks = []
        self._have = 0
        self._need = 4

    def dataReceived(self, data):
        self._chunks.append(data)
        self._have += len(data)
        if self._have < self._need:
            return
        buf = b"".join(self._chunks) if len(self._chunks) > 1 else self._chunks[0]
        offset = 0
        end = len(buf)
        while True:
            if end - offset < 4:
                self._need = 4
                break
            (length,) = unpack_from("!I", buf, offset)
            if length > BIG:
                self.transport.loseConnection()
                return
            stop = offset + 4 + length
            if stop > end:
                self._need = stop - offset
                break
            self.stringReceived(buf[offset + 4 : stop])
            offset = stop
        rest = buf[offset:] if offset else buf
        self._chunks = [rest] if rest else []
        self._have = len(rest)

    def stringReceived(self, string):
        self.transport.write(pack("!I", len(string)) + string)


class Broadcast(Int32StringReceiver):
    """
    Send every non-empty message to every other connection; answer an empty
    message (a probe) to the sender only.
    """

    MAX_LENGTH = BIG

    def connectionMade(self):
        self.factory.clients.add(self)

    def connectionLost(self, reason):
        self.factory.clients.discard(self)

    def stringReceived(self, string):
        if not string:
            self.sendString(b"")
            return
        frame = pack("!I", len(string)) + string
        for client in self.factory.clients:
            if client is not self:
                client.transport.write(frame)


def main():
    arguments = parseArguments(__doc__)
    raiseFileLimit()
    if arguments.app == "broadcast":
        protocol = Broadcast
    elif arguments.join_once:
        protocol = JoinOnceEcho
    else:
        protocol = Echo
    factory = Factory.forProtocol(protocol)
    factory.noisy = False
    factory.clients = set()
    reactor.listenTCP(arguments.port, factory, backlog=BACKLOG, interface=arguments.host)
    reactor.callWhenRunning(announce, "raw-twisted", arguments)
    reactor.run()


if __name__ == "__main__":
    main()
