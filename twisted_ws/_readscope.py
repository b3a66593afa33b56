"""
Writes held until the end of a read, across connections.

A connection batches the replies it sends while it handles its own read,
and writes them once at the end of it.  A broadcast is the same thing across
connections: the message that one connection reads makes the application
send to many others.  Written one by one, each of those sends goes through
the TCP transport's buffer (which joins them at the reactor's next turn);
held instead, like the replies, every other connection writes all that the
read made it send in one go, when the outermost read ends, straight to the
kernel where the transport allows it.

The scope is that of the process (Twisted runs every protocol on the
reactor's thread): L{READS} counts the reads being handled, nested ones
included (an in-memory pair delivers within a write), and lists the
connections that held sends meanwhile.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twisted.logger import Logger

if TYPE_CHECKING:
    from ._wire import WireProtocol

__all__ = ["READS", "ReadScope"]

_log = Logger(namespace="twisted_ws")


class ReadScope:
    """
    The reads being handled, and the connections holding sends until they
    end.

    @ivar depth: how many reads are being handled (0: none).
    @ivar held: the connections that held a send while C{depth} was above
        0, in order; one may appear more than once.
    """

    __slots__ = ("depth", "held")

    def __init__(self) -> None:
        self.depth = 0
        self.held: list[WireProtocol] = []

    def holding(self, connection: WireProtocol) -> bool:
        """
        Whether a send that C{connection} made outside its own read is to be
        held until the read being handled (another connection's) ends; the
        first one since its last write puts it on the list for L{release}.
        """
        if not self.depth:
            return False
        if not connection._batched:
            self.held.append(connection)
        return True

    def release(self) -> None:
        """
        The outermost read ended: each connection that still holds sends
        writes them now.
        """
        held = self.held
        while held:
            connections = held[:]
            held.clear()
            for connection in connections:
                if connection._batched and not connection._inReceive:
                    try:
                        connection._flush(True)
                    except Exception:  # pragma: no cover - a bug, kept from the read
                        _log.failure("WebSocket connection failed to write what it held")


#: The process's read scope.
READS = ReadScope()
