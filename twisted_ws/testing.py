"""
Helpers for testing WebSocket applications without a network or a running
reactor, as C{twisted.internet.testing} does for Twisted protocols.

L{connectApplication} connects an application (a L{WebSocketProtocol}
subclass) to a scripted client over an in-memory transport, with time on a
L{task.Clock}; the test sends messages, moves the bytes with
L{WebSocketPair.flush}, reads what arrived, and moves time with
L{WebSocketPair.advance}::

    pair = connectApplication(Echo)
    pair.client.sendTextMessage("hello")
    pair.flush()
    assert pair.client.takeMessages() == ["hello"]
    pair.client.close(1000)
    pair.flush()
    assert pair.client.closeCode == 1000 and pair.client.wasClean

The client is a L{ScriptedClient}: the codec's L{ClientConnection} driven
by the test.  It can also carry a client-side application (any object with
the callbacks of L{WebSocketProtocol}), to which it is the transport.
L{WebSocketPair} itself connects any two protocols, so it takes the
Twisted client's protocol as well.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet import task
from twisted.internet.interfaces import IAddress, IProtocol, IProtocolFactory

from ._app import WebSocketProtocol
from ._options import Options
from ._pair import CLIENT_ADDRESS, SERVER_ADDRESS, MemoryTransport, WebSocketPair
from ._scripted import ScriptedClient
from ._server import WebSocketServerFactory

__all__ = [
    "CLIENT_ADDRESS",
    "SERVER_ADDRESS",
    "MemoryTransport",
    "ScriptedClient",
    "WebSocketPair",
    "connectApplication",
    "connectFactory",
]


def connectFactory(
    factory: IProtocolFactory,
    client: IProtocol | None = None,
    *,
    clock: task.Clock | None = None,
    oneByte: bool = False,
    serverAddress: IAddress = SERVER_ADDRESS,
    clientAddress: IAddress = CLIENT_ADDRESS,
    **clientArgs: Any,
) -> WebSocketPair:
    """
    Connect a client to a protocol built by C{factory} (a
    L{WebSocketServerFactory}, a C{twisted.web} site serving a
    L{twisted_ws.WebSocketResource}, or any server factory), and flush, so
    that the opening handshake is done.

    @param factory: the server's factory; its C{reactor} must be the clock
        (build it with C{reactor=task.Clock()}), unless C{clock} is given.
    @param client: the client's protocol; by default a L{ScriptedClient}
        built with C{clientArgs}.
    @param clock: the clock the factory's timers run on.
    @param oneByte: deliver bytes one at a time.
    @param serverAddress: the server's address.
    @param clientAddress: the client's address.
    @param clientArgs: the arguments of L{ScriptedClient} (C{path},
        C{version}, C{subprotocols}, C{headers}, C{application}, ...).
    @raise ValueError: no C{clock} is given and the factory's reactor is not
        a L{task.Clock}, so the test could not move its time.
    @raise TypeError: both C{client} and C{clientArgs} are given.
    """
    if clock is None:
        clock = getattr(factory, "reactor", None)
        if not isinstance(clock, task.Clock):
            raise ValueError(
                f"the reactor of {factory!r} is {clock!r}, not a task.Clock: build the factory "
                "with reactor=task.Clock(), or pass clock= with the clock its timers use"
            )
    if client is None:
        client = ScriptedClient(**clientArgs)
    elif clientArgs:
        raise TypeError(f"client arguments {sorted(clientArgs)} given with a client protocol")
    server = factory.buildProtocol(clientAddress)
    if server is None:
        raise ValueError(f"{factory!r} refused the connection (buildProtocol returned None)")
    pair = WebSocketPair(
        server,
        client,
        clock,
        oneByte=oneByte,
        serverAddress=serverAddress,
        clientAddress=clientAddress,
    )
    pair.flush()
    return pair


def connectApplication(
    serverProtocol: type[WebSocketProtocol] | Callable[[], Any],
    options: Options | None = None,
    client: IProtocol | None = None,
    *,
    clock: task.Clock | None = None,
    oneByte: bool = False,
    **clientArgs: Any,
) -> WebSocketPair:
    """
    Serve C{serverProtocol} with a L{WebSocketServerFactory} on a new clock,
    connect a client to it, and flush, so that the opening handshake is
    done.

    @param serverProtocol: the server application: a L{WebSocketProtocol}
        subclass, or anything the factory can call to build one.
    @param options: the server's L{Options}.
    @param client: the client's protocol; by default a L{ScriptedClient}
        built with C{clientArgs}.
    @param clock: the clock for the server's timers; a new one by default.
    @param oneByte: deliver bytes one at a time.
    @param clientArgs: the arguments of L{ScriptedClient} (C{path},
        C{version}, C{subprotocols}, C{headers}, C{application} for a
        client-side application, ...).
    @return: the connected L{WebSocketPair}.
    """
    clock = clock if clock is not None else task.Clock()
    factory = WebSocketServerFactory(serverProtocol, options, reactor=clock)  # type: ignore[arg-type]
    return connectFactory(factory, client, clock=clock, oneByte=oneByte, **clientArgs)
