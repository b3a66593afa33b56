"""
A blocking WebSocket echo server on plain sockets, using only the sans-I/O
codec (no Twisted). It speaks every version the codec knows.

    python codec_echo_server.py [PORT]

It serves one connection at a time, and prints the port it listens on.
"""

import socket
import sys

from twisted_ws.codec import (
    BytesMessage,
    Options,
    RequestReceived,
    ServerConnection,
    TextMessage,
)


def serveConnection(sock):
    # An echo sends text back as the UTF-8 it arrived as: no need to decode.
    conn = ServerConnection(Options(decodeText=False))
    while not conn.shouldCloseTransport:
        data = sock.recv(65536)
        if data:
            pending = conn.receiveData(data)
        else:
            conn.receiveEOF()
            pending = []
        while pending:
            event = pending.pop(0)
            if isinstance(event, RequestReceived):
                request = event.request
                print("opening", request.path, request.version.label)
                # Bytes that followed the request become events too.
                pending.extend(conn.accept())
            elif isinstance(event, TextMessage):
                conn.sendTextMessage(event.utf8)
            elif isinstance(event, BytesMessage):
                conn.sendBytesMessage(event.data)
            # Pings are answered by the codec itself; a close frame from the
            # peer is answered too, and shouldCloseTransport turns true.
        sock.sendall(conn.dataToSend())
        if not data:
            break
    print("closed", conn.closeCode, conn.wasClean)
    sock.close()


def main(port=9000):
    listener = socket.create_server(("127.0.0.1", port))
    print("listening on port", listener.getsockname()[1], flush=True)
    while True:
        sock, _ = listener.accept()
        sock.settimeout(60)
        try:
            serveConnection(sock)
        except OSError as e:
            print("connection failed:", e)
            sock.close()


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:2]))
