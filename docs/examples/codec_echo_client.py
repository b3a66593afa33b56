"""
A blocking WebSocket client on plain sockets, using only the sans-I/O codec
(no Twisted). It sends a few messages, checks that each comes back, and
closes the connection.

    python codec_echo_client.py PORT [VERSION [PATH]]

VERSION is a label such as rfc6455 (the default), hybi-08, hybi-07,
hixie-76 or hixie-75; PATH defaults to /echo. The exit status is 0 when
every echo matched.
"""

import socket
import sys

from twisted_ws.codec import (
    BytesMessage,
    ClientConnection,
    ConnectionOpened,
    HandshakeFailed,
    TextMessage,
    Version,
)


def main(port, label="rfc6455", path="/echo"):
    version = Version.fromLabel(label)
    conn = ClientConnection(f"127.0.0.1:{port}", path, version=version)
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(conn.dataToSend())  # the opening request

    sent = ["hello", "wörld", "x" * 70000]
    if not version.isHixie:  # the hixie drafts carry text only
        sent.append(b"\x00\xff binary")
    received = []

    while not conn.shouldCloseTransport:
        data = sock.recv(65536)
        if not data:
            conn.receiveEOF()
            break
        for event in conn.receiveData(data):
            if isinstance(event, ConnectionOpened):
                print("open:", event.version.label)
                for message in sent:
                    if isinstance(message, str):
                        conn.sendTextMessage(message)
                    else:
                        conn.sendBytesMessage(message)
            elif isinstance(event, HandshakeFailed):
                print("handshake failed:", event.status, event.reason)
            elif isinstance(event, (TextMessage, BytesMessage)):
                received.append(event.data)
                if len(received) == len(sent):
                    conn.close(1000, "done")
        sock.sendall(conn.dataToSend())
    sock.close()

    how = "cleanly" if conn.wasClean else "uncleanly"
    print(f"echoed {len(received)} of {len(sent)} messages;",
          f"closed with {conn.closeCode} {how}")
    return 0 if received == sent else 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), *sys.argv[2:4]))
