"""
Memory held per idle server connection, measured with tracemalloc.

Builds N server connections (2,000 by default) with the real
WebSocketServerFactory over twisted.internet.testing.StringTransport, runs an
RFC 6455 opening handshake with a real request on each, drops the handshake's
output, and reports the bytes still allocated per connection, with the
allocation sites that hold them::

    .venv/bin/python benchmarks/memory_per_connection.py
    .venv/bin/python benchmarks/memory_per_connection.py --connections 5000 --top 30

The figure is Python's own allocations only (no interpreter, no kernel
buffers): it moves with the objects a connection keeps, which is what the
"server RSS per idle connection" row of benchmarks/README.md measures from
outside.  The same script runs against an older checkout of the package with
PYTHONPATH pointing at it.
"""

from __future__ import annotations

import argparse
import base64
import gc
import os
import sys
import tracemalloc


def _request(i: int) -> bytes:
    key = base64.b64encode(i.to_bytes(16, "big")).decode("ascii")
    return (
        "GET /chat HTTP/1.1\r\n"
        "Host: example.com\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        "Origin: http://example.com\r\n"
        "\r\n"
    ).encode("ascii")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip())
    parser.add_argument("--connections", type=int, default=2000, help="connections to open (2000)")
    parser.add_argument("--top", type=int, default=20, help="allocation sites to list (20)")
    parser.add_argument(
        "--frames", type=int, default=8, help="traceback depth kept by tracemalloc (8)"
    )
    args = parser.parse_args(argv)
    count = args.connections
    if count < 1:
        parser.error("--connections must be at least 1")

    from twisted.internet.task import Clock
    from twisted.internet.testing import StringTransport

    import twisted_ws
    from twisted_ws import WebSocketProtocol, WebSocketServerFactory

    class Idle(WebSocketProtocol):
        pass

    factory = WebSocketServerFactory(Idle, reactor=Clock())
    requests = [_request(i) for i in range(count)]

    def openOne(request: bytes) -> tuple[object, object]:
        transport = StringTransport()
        connection = factory.buildProtocol(None)
        connection.makeConnection(transport)
        connection.dataReceived(request)
        if not transport.value().startswith(b"HTTP/1.1 101"):
            raise SystemExit(f"the handshake failed: {transport.value()[:80]!r}")
        transport.clear()
        return connection, transport

    # One connection first, so that lazily built module state (caches,
    # interned strings, code objects) is not counted against the rest.
    warm = [openOne(_request(count + 1))]

    gc.collect()
    tracemalloc.start(args.frames)
    before = tracemalloc.take_snapshot()
    held = [openOne(request) for request in requests]
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()

    filters = [
        tracemalloc.Filter(False, tracemalloc.__file__),
        tracemalloc.Filter(False, __file__),
    ]
    before = before.filter_traces(filters)
    after = after.filter_traces(filters)
    total = sum(stat.size_diff for stat in after.compare_to(before, "filename"))

    where = os.path.dirname(os.path.dirname(os.path.abspath(twisted_ws.__file__)))
    print(f"twisted_ws from {where}, Python {sys.version.split()[0]}")
    print(f"{count} idle server connections over StringTransport, after an RFC 6455 handshake")
    print(f"{total} B allocated, {total / count:,.0f} B per connection")
    print()
    print(f"by allocation site (B per connection, count per connection; top {args.top}):")
    stats = after.compare_to(before, "lineno")
    stats.sort(key=lambda stat: -stat.size_diff)
    shown = 0
    for stat in stats:
        if shown >= args.top or stat.size_diff <= 0:
            break
        frame = stat.traceback[0]
        filename = frame.filename
        if filename.startswith(where + os.sep):
            filename = filename[len(where) + 1 :]
        else:
            filename = os.sep.join(filename.split(os.sep)[-3:])
        print(
            f"  {stat.size_diff / count:8.1f} B  {stat.count_diff / count:5.2f}  "
            f"{filename}:{frame.lineno}"
        )
        shown += 1
    del held, warm
    return 0


if __name__ == "__main__":
    sys.exit(main())
