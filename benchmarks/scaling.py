"""
Scaling out on one machine: broadcast deliveries per second of the chat
application under C{twistd websocket} with 1 worker (the in-process hub)
and 2 workers (a Redis hub), and publish-to-delivery latency through Redis
(two server processes, the speaker on one and the listener on the other).

Needs C{redis-server} and the C{websockets} package (the test extra)::

    .venv/bin/python benchmarks/scaling.py [--listeners 20] [--messages 300] [--samples 300]

Prints a Markdown table.  Clients run in this one process on asyncio, so on
a small machine they share the cores with the servers: the figures are of
this machine, not of the servers alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from websockets.asyncio.client import connect  # noqa: E402

from tests._support.redis import RedisServer, freePort  # noqa: E402
from tests._support.twistd import Twistd  # noqa: E402

#: Seconds any one wait may take.
TIMEOUT = 60.0


async def joined(url: str, name: str) -> Any:
    ws = await connect(url, open_timeout=TIMEOUT, max_queue=None)
    await ws.send(json.dumps({"type": "join", "room": "bench", "name": name}))
    while json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))["type"] != "joined":
        pass
    return ws


async def broadcast(url: str, listeners: int, messages: int) -> float:
    """
    Deliveries per second: one speaker says C{messages} lines to a room of
    C{listeners}; the clock runs from the first line sent to the last one
    received by every listener.
    """
    clients = [await joined(url, f"l{n}") for n in range(listeners)]
    speaker = await joined(url, "speaker")
    await asyncio.sleep(0.5)

    async def drain(ws: Any) -> None:
        got = 0
        while got < messages:
            message = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
            if message["type"] == "message":
                got += 1

    readers = [asyncio.create_task(drain(ws)) for ws in clients]
    start = time.perf_counter()
    for n in range(messages):
        await speaker.send(json.dumps({"type": "message", "text": f"line {n}"}))
    await asyncio.wait_for(asyncio.gather(*readers), TIMEOUT)
    took = time.perf_counter() - start
    for ws in [*clients, speaker]:
        await ws.close()
    return listeners * messages / took


async def latency(urlA: str, urlB: str, samples: int) -> tuple[float, float]:
    """
    Milliseconds from a line sent on server A to its arrival on server B,
    one at a time: the median and the 99th percentile.
    """
    listener = await joined(urlB, "listener")
    speaker = await joined(urlA, "speaker")
    await asyncio.sleep(0.5)
    times = []
    for n in range(samples):
        start = time.perf_counter()
        await speaker.send(json.dumps({"type": "message", "text": str(n)}))
        while True:
            message = json.loads(await asyncio.wait_for(listener.recv(), TIMEOUT))
            if message["type"] == "message" and message["text"] == str(n):
                break
        times.append((time.perf_counter() - start) * 1000)
    await listener.close()
    await speaker.close()
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]


def serve(directory: str, *args: str) -> tuple[Twistd, int]:
    port = freePort()
    server = Twistd(["--app", "chat", "--listen", f"tcp:{port}:interface=127.0.0.1", *args], directory)
    server.waitForPorts()
    return server, port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listeners", type=int, default=20)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--samples", type=int, default=300)
    args = parser.parse_args()
    if shutil.which("redis-server") is None:
        raise SystemExit("redis-server is not installed")
    directory = tempfile.mkdtemp(prefix="twisted-ws-scaling-")
    redis = RedisServer(directory)
    redis.start()
    rows = []
    try:
        for workers, hub in ((1, "memory:"), (2, redis.url)):
            server, port = serve(directory, "--workers", str(workers), "--hub", hub)
            try:
                if workers > 1:
                    time.sleep(2)  # every worker listening
                rate = asyncio.run(broadcast(f"ws://127.0.0.1:{port}/ws", args.listeners, args.messages))
            finally:
                server.stop()
            rows.append(f"| broadcast, {workers} worker(s), hub {'in-process' if workers == 1 else 'Redis'} "
                        f"| {rate:,.0f} deliveries/s |")
        a, portA = serve(directory, "--hub", redis.url)
        b, portB = serve(directory, "--hub", redis.url)
        try:
            median, p99 = asyncio.run(latency(f"ws://127.0.0.1:{portA}/ws", f"ws://127.0.0.1:{portB}/ws",
                                              args.samples))
        finally:
            a.stop()
            b.stop()
        rows.append(f"| publish to delivery through Redis, median | {median:.2f} ms |")
        rows.append(f"| publish to delivery through Redis, p99 | {p99:.2f} ms |")
    finally:
        redis.stop()
        shutil.rmtree(directory, True)
    print(f"{args.listeners} listeners, {args.messages} messages; {args.samples} latency samples; "
          f"{os.cpu_count()} cores\n")
    print("| measurement | result |\n|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
