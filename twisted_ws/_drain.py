"""
Draining a server: close every open connection of some
L{twisted_ws.WebSocketServerFactory}s with 1001 (going away), wait a bounded
time for the closing handshakes, and end what is left.

L{drainConnections} needs nothing but the factories and a reactor;
C{twistd websocket} calls it when it stops (see L{DrainService}).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from twisted.application import service
from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

__all__ = ["DrainService", "DrainState", "drainConnections"]

_log = Logger(namespace="twisted_ws")

#: How often, in seconds, the connections left are looked at while draining.
_POLL = 0.02
#: How long, in seconds, connections ended by force get to report it.
_ABORT_GRACE = 1.0


def _openConnections(factories: Iterable[Any]) -> list[Any]:
    found: list[Any] = []
    for factory in factories:
        found.extend(getattr(factory, "connections", ()))
    return found


def _orGlobalReactor(reactor: Any) -> Any:
    if reactor is None:
        from twisted.internet import reactor as _reactor

        return _reactor
    return reactor


def _closeAll(connections: Iterable[Any], code: int, reason: str) -> None:
    """
    Start the closing handshake of every connection in C{connections}.
    """
    for connection in connections:
        try:
            connection.loseConnection(code, reason)
        except Exception:
            _log.failure("closing a connection while draining failed")


def _endAll(connections: Iterable[Any]) -> None:
    """
    End the TCP connections of C{connections} at once.
    """
    for connection in connections:
        transport = connection.transport
        abort = getattr(transport, "abortConnection", None)
        if abort is not None:
            abort()
        elif transport is not None:
            transport.loseConnection()


def drainConnections(
    factories: Iterable[Any],
    code: int = 1001,
    reason: str = "going away",
    timeout: float = 5.0,
    reactor: Any = None,
) -> Deferred[int]:
    """
    Close every connection of C{factories} and wait for them to end.

    Each open connection starts the closing handshake with C{code} and
    C{reason}; one still in the opening handshake is dropped.  The
    applications hear of it through C{connectionLost}, as of any close.
    Connections still there after C{timeout} seconds are ended by force.

    @param factories: L{twisted_ws.WebSocketServerFactory}s, whose
        C{connections} say what is open.
    @param timeout: the longest wait, in seconds, for the closing
        handshakes.
    @param reactor: the L{IReactorTime}; the global reactor by default.
    @return: a L{Deferred} that fires once none is left (at most a second
        after any were ended by force) with the number ended by force.
    """
    reactor = _orGlobalReactor(reactor)
    factories = list(factories)
    openNow = _openConnections(factories)
    if not openNow:
        return succeed(0)
    _closeAll(openNow, code, reason)
    done: Deferred[int] = Deferred()
    started = reactor.seconds()
    aborted: list[int] = []

    def check() -> None:
        left = _openConnections(factories)
        now = reactor.seconds()
        if not left:
            finish(aborted[0] if aborted else 0)
        elif aborted:
            if now - started >= timeout + _ABORT_GRACE:
                finish(aborted[0])
        elif now - started >= timeout:
            aborted.append(len(left))
            _log.info(
                "ending {count} WebSocket connection(s) that did not close within {timeout}s",
                count=len(left),
                timeout=timeout,
            )
            _endAll(left)

    def finish(count: int) -> None:
        if loop.running:
            loop.stop()
        if not done.called:
            done.callback(count)

    loop = LoopingCall(check)
    loop.clock = reactor
    loop.start(_POLL, now=True)
    return done


class DrainState:
    """
    Whether the server is draining, for the health check.

    @ivar draining: C{True} once the server started to drain.
    """

    def __init__(self) -> None:
        self.draining = False


class DrainService(service.Service):
    """
    A service that, when it stops, marks C{state} as draining and drains
    the connections of C{factories} (see L{drainConnections}); its
    C{stopService} fires when they are gone.

    @ivar factories: the factories drained.
    @ivar timeout: the drain time, in seconds.
    @ivar state: the L{DrainState} it sets.
    """

    def __init__(
        self, factories: list[Any], timeout: float, reactor: Any = None, state: DrainState | None = None
    ) -> None:
        self.factories = factories
        self.timeout = timeout
        self.reactor = reactor
        self.state = state if state is not None else DrainState()

    def stopService(self) -> Deferred[Any]:
        """
        Drain: the returned L{Deferred} fires when every connection is gone
        or, at the latest, shortly after the drain time.
        """
        super().stopService()
        self.state.draining = True
        count = len(_openConnections(self.factories))
        if count:
            _log.info(
                "closing {count} WebSocket connection(s) with 1001 (going away); "
                "waiting up to {timeout}s",
                count=count,
                timeout=self.timeout,
            )
        return drainConnections(self.factories, timeout=self.timeout, reactor=self.reactor).addCallback(
            lambda _: None
        )
