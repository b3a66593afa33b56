"""
Scaling out on one machine: broadcast deliveries per second of the chat
application under C{twistd websocket} with 1 worker (the in-process hub)
and 2 and 4 workers (a Redis hub), and publish-to-delivery latency through
Redis (two server processes, the speaker on one and the listener on the
other).  Each broadcast row also gives the CPU used while it ran, as a
share of one core: by the server (the parent and its workers), by
redis-server, and by this client process (read from C{/proc}).

Needs C{redis-server} and the C{websockets} package (the test extra)::

    .venv/bin/python benchmarks/scaling.py [--listeners 20] [--messages 300] [--samples 300]

Prints a Markdown table.  Clients run in this one process on asyncio, so on
a small machine they share the cores with the servers: the figures are of
this machine, not of the servers alone.  More workers than cores cannot
deliver more: the row for 4 workers shows what they cost on such a machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
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


def cpuSeconds(pids: list[int]) -> float:
    """
    The CPU time (user and system) used so far by the processes C{pids};
    one that has ended counts nothing.
    """
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


class CPU:
    """
    The CPU used by the server, redis-server and this process between
    L{start} and L{stop}, as percentages of one core over that time.
    """

    def __init__(self, server: list[int], redis: list[int]) -> None:
        self.server, self.redis = server, redis
        self.shares: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def _now(self) -> tuple[float, float, float, float]:
        return (time.perf_counter(), cpuSeconds(self.server), cpuSeconds(self.redis),
                time.process_time())

    def start(self) -> None:
        self._start = self._now()

    def stop(self) -> None:
        end = self._now()
        wall = end[0] - self._start[0]
        self.shares = tuple(  # type: ignore[assignment]
            100 * (b - a) / wall for a, b in zip(self._start[1:], end[1:], strict=True))


async def broadcast(url: str, listeners: int, messages: int,
                    cpu: CPU | None = None) -> float:
    """
    Deliveries per second: one speaker says C{messages} lines to a room of
    C{listeners}; the clock (and C{cpu}, if given) runs from the first line
    sent to the last one received by every listener.
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
    if cpu is not None:
        cpu.start()
    start = time.perf_counter()
    for n in range(messages):
        await speaker.send(json.dumps({"type": "message", "text": f"line {n}"}))
    await asyncio.wait_for(asyncio.gather(*readers), TIMEOUT)
    took = time.perf_counter() - start
    if cpu is not None:
        cpu.stop()
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


def serve(directory: str, *args: str, workers: int = 1) -> tuple[Twistd, int]:
    """
    Start the chat, and wait (bounded) until it listens: with workers,
    until every worker does.
    """
    port = freePort()
    server = Twistd(["--app", "chat", "--listen", f"tcp:{port}:interface=127.0.0.1", *args], directory)
    server.waitForPorts()
    deadline = time.monotonic() + TIMEOUT
    while workers > 1 and len(re.findall(r"\[worker \d+ pid \d+ [^\]]*\] .*starting on",
                                         server.output)) < workers:
        if time.monotonic() > deadline or not server._drain(0.2):
            server.stop()
            raise SystemExit(f"the {workers} workers did not all listen:\n{server.output}")
    return server, port


def serverPids(server: Twistd) -> list[int]:
    """
    The parent and the workers of a running C{twistd websocket}.
    """
    return [server.process.pid, *(int(p) for p in re.findall(r"worker \d+ started \(pid (\d+)\)",
                                                              server.output))]


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
        for workers, hub in ((1, "memory:"), (2, redis.url), (4, redis.url)):
            server, port = serve(directory, "--workers", str(workers), "--hub", hub, workers=workers)
            assert redis.process is not None
            cpu = CPU(serverPids(server), [redis.process.pid] if workers > 1 else [])
            try:
                rate = asyncio.run(broadcast(f"ws://127.0.0.1:{port}/ws", args.listeners,
                                             args.messages, cpu))
            finally:
                server.stop()
            shares = " | ".join(f"{share:.0f} %" for share in cpu.shares)
            rows.append(f"| broadcast, {workers} worker(s), hub {'in-process' if workers == 1 else 'Redis'} "
                        f"| {rate:,.0f} deliveries/s | {shares} |")
        a, portA = serve(directory, "--hub", redis.url)
        b, portB = serve(directory, "--hub", redis.url)
        try:
            median, p99 = asyncio.run(latency(f"ws://127.0.0.1:{portA}/ws", f"ws://127.0.0.1:{portB}/ws",
                                              args.samples))
        finally:
            a.stop()
            b.stop()
        rows.append(f"| publish to delivery through Redis, median | {median:.2f} ms | | | |")
        rows.append(f"| publish to delivery through Redis, p99 | {p99:.2f} ms | | | |")
    finally:
        redis.stop()
        shutil.rmtree(directory, True)
    print(f"{args.listeners} listeners, {args.messages} messages; {args.samples} latency samples; "
          f"{os.cpu_count()} cores\n")
    print("CPU: percent of one core while the broadcast ran (server: the parent and its workers).\n")
    print("| measurement | result | server CPU | Redis CPU | client CPU |\n|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
