"""
A WebSocket client over a plain blocking socket (the codec's
L{ClientConnection}), for tests of a C{twistd} subprocess; every wait is
bounded by the socket's timeout.
"""

from __future__ import annotations

import socket

from twisted_ws import Version
from twisted_ws.codec import ClientConnection, CloseReceived, ConnectionOpened, TextMessage

from .twistd import IO_TIMEOUT


def openClient(port: int, version: Version) -> tuple[socket.socket, ClientConnection]:
    """
    Open a WebSocket of C{version} to C{port} and exchange one message.
    """
    client = ClientConnection(f"127.0.0.1:{port}", "/", version=version)
    sock = socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT)
    sock.sendall(client.dataToSend())
    texts: list[str] = []
    sent = False
    while not texts:
        data = sock.recv(65536)
        if not data:
            raise AssertionError("the server closed the connection during the exchange")
        for event in client.receiveData(data):
            if isinstance(event, ConnectionOpened) and not sent:
                client.sendText("hello")
                sent = True
            elif isinstance(event, TextMessage):
                texts.append(event.data)
        pending = client.dataToSend()
        if pending:
            sock.sendall(pending)
    assert texts == ["hello"], texts
    return sock, client


def readClose(sock: socket.socket, client: ClientConnection) -> list[CloseReceived]:
    """
    Read until the server ends the connection, answering its close;
    return the closes received.
    """
    closes = []
    while True:
        data = sock.recv(65536)
        if not data:
            return closes
        for event in client.receiveData(data):
            if isinstance(event, CloseReceived):
                closes.append(event)
        pending = client.dataToSend()
        if pending:
            sock.sendall(pending)
