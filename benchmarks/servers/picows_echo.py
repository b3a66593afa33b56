"""
picows (Cython, on asyncio): echo or broadcast.

picows hands over frames, not messages.  The benchmark's clients send only
whole unfragmented messages, so each text or binary frame is one message and
is sent back (or to every other connection) as it is.
"""

import asyncio

from _common import BACKLOG, BIG, announce, parseArguments, raiseFileLimit
from picows import WSListener, WSMsgType, ws_create_server

clients = set()


class Echo(WSListener):
    """
    Send every message back; answer a close with a close.
    """

    def on_ws_frame(self, transport, frame):
        kind = frame.msg_type
        if kind is WSMsgType.TEXT or kind is WSMsgType.BINARY:
            transport.send(kind, frame.get_payload_as_memoryview())
        elif kind is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code(), frame.get_close_message())
            transport.disconnect()


class Relay(WSListener):
    """
    Send every message to every other open connection.
    """

    def on_ws_connected(self, transport):
        clients.add(transport)

    def on_ws_disconnected(self, transport):
        clients.discard(transport)

    def on_ws_frame(self, transport, frame):
        kind = frame.msg_type
        if kind is WSMsgType.TEXT or kind is WSMsgType.BINARY:
            payload = frame.get_payload_as_bytes()
            for client in clients:
                if client is not transport:
                    client.send(kind, payload)
        elif kind is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code(), frame.get_close_message())
            transport.disconnect()


async def main(arguments):
    listener = Relay if arguments.app == "broadcast" else Echo
    server = await ws_create_server(
        lambda request: listener(),
        arguments.host,
        arguments.port,
        max_frame_size=BIG,
        enable_auto_pong=True,
        backlog=BACKLOG,
    )
    announce("picows", arguments)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    arguments = parseArguments(__doc__)
    raiseFileLimit()
    asyncio.run(main(arguments))
