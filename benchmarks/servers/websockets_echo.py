"""
websockets on asyncio (C{websockets.asyncio.server.serve}): echo or broadcast.

Broadcast uses websockets' own C{broadcast()} helper.
"""

import asyncio

from _common import BACKLOG, BIG, announce, parseArguments, raiseFileLimit
from websockets.asyncio.server import broadcast, serve


async def echo(connection):
    """
    Send every message back.
    """
    async for message in connection:
        await connection.send(message)


clients = set()


async def relay(connection):
    """
    Send every message to every other open connection.
    """
    clients.add(connection)
    try:
        async for message in connection:
            broadcast([client for client in clients if client is not connection], message)
    finally:
        clients.discard(connection)


async def main(arguments):
    handler = relay if arguments.app == "broadcast" else echo
    async with serve(
        handler,
        arguments.host,
        arguments.port,
        max_size=BIG,
        compression="deflate" if arguments.compression else None,
        backlog=BACKLOG,
    ) as server:
        announce("websockets", arguments)
        await server.serve_forever()


if __name__ == "__main__":
    arguments = parseArguments(__doc__)
    raiseFileLimit()
    asyncio.run(main(arguments))
