#!/usr/bin/env python3
"""
The client benchmark: twisted_ws's WebSocket client against the websockets
client and Autobahn's (on Twisted), all talking to the same server.

    .venv/bin/python benchmarks/client.py            # the full rows (a few minutes)
    .venv/bin/python benchmarks/client.py --smoke    # a few seconds, for CI

One server is started (the twisted_ws echo, C{servers/twisted_ws_echo.py}),
pinned to one core as C{run.py} does; each client library then runs in its
own subprocess, pinned to the other core, in interleaved rounds (every
library once per round), and the median of the rounds is reported with its
ratio to twisted_ws.

Rows:

  - echo throughput: one connection keeps a window of binary messages in
    flight (each echo received sends the next) for a fixed time; messages
    per second for 16 B messages one at a time and 64 in flight, and for
    64 KiB messages 4 in flight;
  - connections: 1,000 connections opened at once from one process; the
    seconds until all are open and the process's peak RSS afterwards.

The worker mode (C{--worker LIBRARY ...}) is what each subprocess runs; it
prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

LIBRARIES = ("twisted_ws", "websockets", "autobahn")

#: The echo rows: message size and how many messages are kept in flight.
ECHO_ROWS = ((16, 1), (16, 64), (64 * 1024, 4))


# --- workers (one library each, in a subprocess) ---------------------------------------------


def payload(size: int) -> bytes:
    """
    @param size: bytes.
    @return: a binary message of that size.
    """
    return (b"0123456789abcdef" * (size // 16 + 1))[:size]


def twistedEcho(reactor: Any, library: str, url: str, size: int, window: int,
                seconds: float) -> dict[str, Any]:
    """
    Run the echo loop with a Twisted-based client (twisted_ws or Autobahn).

    @return: the measurement (C{messages}, C{seconds}) once the reactor stops.
    """
    message = payload(size)
    state: dict[str, Any] = {"received": 0, "start": None, "end": None, "error": None}

    def opened(send: Any) -> None:
        state["start"] = time.perf_counter()
        state["cpuStart"] = time.process_time()
        for _ in range(window):
            send(message)

    def received(send: Any, close: Any) -> None:
        state["received"] += 1
        if state["end"] is None and time.perf_counter() - state["start"] >= seconds:
            state["end"] = time.perf_counter()
            state["cpu"] = time.process_time() - state["cpuStart"]
            close()
        elif state["end"] is None:
            send(message)

    def lost() -> None:
        if reactor.running:
            reactor.stop()

    if library == "twisted_ws":
        from twisted_ws import (
            Options,
            WebSocketClientEndpoint,
            WebSocketClientFactory,
            WebSocketProtocol,
        )

        class Client(WebSocketProtocol):
            def negotiationFinished(self) -> None:
                opened(self.transport.sendBytesMessage)

            def bytesMessageReceived(self, data: bytes) -> None:
                received(self.transport.sendBytesMessage, lambda: self.transport.loseConnection(1000))

            def connectionLost(self, reason: Any) -> None:
                lost()

        endpoint = WebSocketClientEndpoint.new(reactor, url, options=Options(pingInterval=None))
        d = endpoint.connect(WebSocketClientFactory(Client))
    else:
        from autobahn.twisted.websocket import WebSocketClientFactory as ABFactory
        from autobahn.twisted.websocket import WebSocketClientProtocol, connectWS

        class ABClient(WebSocketClientProtocol):
            def onOpen(self) -> None:
                opened(lambda m: self.sendMessage(m, isBinary=True))

            def onMessage(self, data: bytes, isBinary: bool) -> None:
                received(lambda m: self.sendMessage(m, isBinary=True), lambda: self.sendClose(1000))

            def onClose(self, wasClean: bool, code: Any, reason: Any) -> None:
                lost()

        factory = ABFactory(url)
        factory.protocol = ABClient
        connectWS(factory)
        d = None

    def failed(f: Any) -> None:
        state["error"] = f.getErrorMessage()
        lost()

    if d is not None:
        d.addErrback(failed)
    reactor.callLater(seconds + 60, failed, type("T", (), {"getErrorMessage": lambda s: "timed out"})())
    reactor.run()
    if state["error"] or state["end"] is None:
        raise SystemExit(f"worker {library}: {state['error'] or 'the run did not finish'}")
    return {"messages": state["received"], "seconds": state["end"] - state["start"], "cpu": state["cpu"]}


def websocketsEcho(url: str, size: int, window: int, seconds: float) -> dict[str, Any]:
    """
    Run the echo loop with the websockets client (asyncio).

    @return: the measurement.
    """
    import asyncio

    from websockets.asyncio.client import connect

    message = payload(size)

    async def run() -> dict[str, Any]:
        async with connect(url, max_size=None, ping_interval=None, compression=None) as ws:
            start = time.perf_counter()
            cpuStart = time.process_time()
            for _ in range(window):
                await ws.send(message)
            count = 0
            inFlight = window
            end = None
            while inFlight:
                await ws.recv()
                count += 1
                inFlight -= 1
                if end is None and time.perf_counter() - start >= seconds:
                    end = time.perf_counter()
                    cpu = time.process_time() - cpuStart
                elif end is None:
                    await ws.send(message)
                    inFlight += 1
            assert end is not None
            return {"messages": count, "seconds": end - start, "cpu": cpu}

    return asyncio.run(asyncio.wait_for(run(), seconds + 60))


def twistedConnections(reactor: Any, library: str, url: str, count: int) -> dict[str, Any]:
    """
    Open C{count} connections at once with a Twisted-based client.

    @return: the seconds until all were open, and the peak RSS.
    """
    state: dict[str, Any] = {"open": 0, "closed": 0, "end": None, "error": None, "protocols": []}

    def opened(proto: Any) -> None:
        state["open"] += 1
        state["protocols"].append(proto)
        if state["open"] == count:
            state["end"] = time.perf_counter()
            state["cpu"] = time.process_time() - cpuStart
            state["rss"] = peakRSS()
            for p in state["protocols"]:
                p.closeIt()

    def lost() -> None:
        state["closed"] += 1
        if state["closed"] == count and reactor.running:
            reactor.stop()

    def failed(f: Any) -> None:
        state["error"] = f.getErrorMessage() if hasattr(f, "getErrorMessage") else str(f)
        if reactor.running:
            reactor.stop()

    if library == "twisted_ws":
        from twisted_ws import (
            Options,
            WebSocketClientEndpoint,
            WebSocketClientFactory,
            WebSocketProtocol,
        )

        class Client(WebSocketProtocol):
            def negotiationFinished(self) -> None:
                opened(self)

            def closeIt(self) -> None:
                self.transport.loseConnection(1000)

            def connectionLost(self, reason: Any) -> None:
                lost()

        # The clock starts once the library is imported, as for websockets.
        baseRSS = peakRSS()
        start, cpuStart = time.perf_counter(), time.process_time()
        endpoint = WebSocketClientEndpoint.new(reactor, url, options=Options(pingInterval=None))
        factory = WebSocketClientFactory(Client)
        for _ in range(count):
            endpoint.connect(factory).addErrback(failed)
    else:
        from autobahn.twisted.websocket import WebSocketClientFactory as ABFactory
        from autobahn.twisted.websocket import WebSocketClientProtocol, connectWS

        class ABClient(WebSocketClientProtocol):
            def onOpen(self) -> None:
                opened(self)

            def closeIt(self) -> None:
                self.sendClose(1000)

            def onClose(self, wasClean: bool, code: Any, reason: Any) -> None:
                lost()

        baseRSS = peakRSS()
        start, cpuStart = time.perf_counter(), time.process_time()
        abFactory = ABFactory(url)
        abFactory.protocol = ABClient
        abFactory.setProtocolOptions(autoPingInterval=0)
        for _ in range(count):
            connectWS(abFactory)

    reactor.callLater(120, failed, "timed out")
    reactor.run()
    if state["error"] or state["end"] is None:
        raise SystemExit(f"worker {library}: {state['error'] or 'not all connections opened'}")
    return {"seconds": state["end"] - start, "cpu": state["cpu"], "rssMiB": state["rss"],
            "baseRssMiB": baseRSS}


def websocketsConnections(url: str, count: int) -> dict[str, Any]:
    """
    Open C{count} connections at once with the websockets client.

    @return: the seconds until all were open, and the peak RSS.
    """
    import asyncio

    from websockets.asyncio.client import connect

    baseRSS = peakRSS()

    async def run() -> dict[str, Any]:
        start, cpuStart = time.perf_counter(), time.process_time()
        clients = await asyncio.gather(*[connect(url, ping_interval=None, compression=None)
                                         for _ in range(count)])
        seconds = time.perf_counter() - start
        cpu = time.process_time() - cpuStart
        rss = peakRSS()
        await asyncio.gather(*[c.close() for c in clients])
        return {"seconds": seconds, "cpu": cpu, "rssMiB": rss, "baseRssMiB": baseRSS}

    return asyncio.run(asyncio.wait_for(run(), 120))


def peakRSS() -> float:
    """
    @return: this process's peak resident memory, in MiB (Linux reports KiB).
    """
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def raiseFileLimit() -> None:
    """
    Raise the open file limit to its hard limit (1,000 connections need it).
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def worker(args: argparse.Namespace) -> int:
    """
    Run one measurement with one library and print it as JSON.

    @param args: the parsed command line.
    @return: the exit status.
    """
    raiseFileLimit()
    if args.connections:
        if args.worker == "websockets":
            result = websocketsConnections(args.url, args.connections)
        else:
            from twisted.internet import reactor

            result = twistedConnections(reactor, args.worker, args.url, args.connections)
    elif args.worker == "websockets":
        result = websocketsEcho(args.url, args.size, args.window, args.seconds)
    else:
        from twisted.internet import reactor

        result = twistedEcho(reactor, args.worker, args.url, args.size, args.window, args.seconds)
    print(json.dumps(result), flush=True)
    return 0


# --- the runner ------------------------------------------------------------------------------


def freePort() -> int:
    """
    @return: a TCP port on 127.0.0.1 that was free a moment ago.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cores() -> tuple[int | None, int | None]:
    """
    @return: the server's core and the clients' core, or C{None}s when
        pinning is not possible.
    """
    if not hasattr(os, "sched_getaffinity"):
        return None, None
    cpus = sorted(os.sched_getaffinity(0))
    return (cpus[0], cpus[1]) if len(cpus) >= 2 else (None, None)


def pinTo(cpu: int | None) -> Any:
    """
    @param cpu: a core, or C{None}.
    @return: a C{preexec_fn} pinning a child to it, or C{None}.
    """
    if cpu is None:
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


def startServer(serverCpu: int | None, logPath: Path) -> tuple[subprocess.Popen, int]:
    """
    Start the twisted_ws echo server and wait for its READY line.

    @return: the process and its port.
    """
    port = freePort()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(HERE / "servers")]),
               PYTHONUNBUFFERED="1")
    log = open(logPath, "wb")
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "servers" / "twisted_ws_echo.py"), "--port", str(port), "--app", "echo"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=str(ROOT), env=env,
        preexec_fn=pinTo(serverCpu),
    )
    log.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited at start:\n{logPath.read_text(errors='replace')[-2000:]}")
        if b"READY" in logPath.read_bytes():
            return proc, port
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("the server did not start within 30 s")


def runWorker(library: str, url: str, clientCpu: int | None, extra: list[str], limit: float) -> dict[str, Any]:
    """
    Run one measurement in a subprocess.

    @return: its JSON result.
    """
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker", library, "--url", url] + extra,
        capture_output=True, text=True, timeout=limit, cwd=str(ROOT), env=env,
        preexec_fn=pinTo(clientCpu),
    )
    if result.returncode != 0:
        raise SystemExit(f"{library} worker failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def processCPU(pid: int) -> float:
    """
    @param pid: a process.
    @return: the CPU seconds (user and system) it has used so far, or NaN
        where C{/proc} is not there.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def runRow(title: str, extra: list[str], unit: str, higher: bool, rounds: int, url: str,
           clientCpu: int | None, serverPid: int) -> dict[str, Any]:
    """
    Measure one row: every library once per round; print the medians.

    Beside the row's figure, each run gives the client's CPU seconds over
    the measured window and the server's CPU seconds over the whole run
    (its imports and handshake included, which are small beside a window):
    a server near one CPU second per second of window is the limit.

    @return: the row's medians, ratios, CPU seconds and (for the
        connections row) peak RSS and RSS before connecting.
    """
    samples: dict[str, list[float]] = {lib: [] for lib in LIBRARIES}
    cpu: dict[str, list[float]] = {lib: [] for lib in LIBRARIES}
    serverCpu: dict[str, list[float]] = {lib: [] for lib in LIBRARIES}
    rss: dict[str, list[float]] = {lib: [] for lib in LIBRARIES}
    baseRss: dict[str, list[float]] = {lib: [] for lib in LIBRARIES}
    for _ in range(rounds):
        for library in LIBRARIES:
            before = processCPU(serverPid)
            r = runWorker(library, url, clientCpu, extra, 180)
            serverCpu[library].append(processCPU(serverPid) - before)
            cpu[library].append(r["cpu"])
            if unit == "messages/s":
                samples[library].append(r["messages"] / r["seconds"])
            else:
                samples[library].append(r["seconds"])
                rss[library].append(r["rssMiB"])
                baseRss[library].append(r["baseRssMiB"])
    medians = {lib: statistics.median(v) for lib, v in samples.items()}
    rel = ratios(medians, higher)
    row: dict[str, Any] = {
        "unit": unit, "median": medians, "relativeToTwistedWs": rel,
        "clientCpuSeconds": {lib: statistics.median(v) for lib, v in cpu.items()},
        "serverCpuSeconds": {lib: statistics.median(v) for lib, v in serverCpu.items()},
    }
    print(f"\n{title} ({unit}, median of {rounds}; ratio: the library's figure over twisted_ws's, "
          "above 1 is better than twisted_ws; CPU: the client's over the window, the server's over the run)",
          flush=True)
    for library in LIBRARIES:
        line = (f"  {library:<11} {medians[library]:>12.4g}   ratio {rel[library]:.2f}"
                f"   CPU client {row['clientCpuSeconds'][library]:.2f} s,"
                f" server {row['serverCpuSeconds'][library]:.2f} s")
        if rss[library]:
            peak = statistics.median(rss[library])
            base = statistics.median(baseRss[library])
            row.setdefault("peakRssMiB", {})[library] = peak
            row.setdefault("baseRssMiB", {})[library] = base
            line += f"   peak RSS {peak:.0f} MiB ({base:.0f} MiB before connecting)"
        print(line, flush=True)
    return row


def ratios(medians: dict[str, float], higherIsBetter: bool) -> dict[str, float]:
    """
    @param medians: each library's median.
    @param higherIsBetter: whether a larger figure is better.
    @return: each library's figure relative to twisted_ws's (above 1: the
        library does better than twisted_ws).
    """
    base = medians["twisted_ws"]
    out = {}
    for library, value in medians.items():
        if higherIsBetter:
            out[library] = value / base if base else float("nan")
        else:
            out[library] = base / value if value else float("nan")
    return out


def main(argv: list[str]) -> int:
    """
    @param argv: the arguments after the program name.
    @return: the exit status.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip())
    parser.add_argument("--smoke", action="store_true", help="one short round of each row (for CI)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default: %(default)s)")
    parser.add_argument("--seconds", type=float, default=3.0, help="length of one echo run")
    parser.add_argument("--connections", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, default=16, help=argparse.SUPPRESS)
    parser.add_argument("--window", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--worker", choices=LIBRARIES, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)

    rounds, seconds, connections = (1, 0.3, 50) if args.smoke else (args.rounds, args.seconds, 1000)
    serverCpu, clientCpu = cores()
    pinning = (f"server on core {serverCpu}, clients on core {clientCpu}" if serverCpu is not None
               else "not pinned")
    logPath = ROOT / "reports" / "benchmarks-client-server.log"
    logPath.parent.mkdir(parents=True, exist_ok=True)
    server, port = startServer(serverCpu, logPath)
    url = f"ws://127.0.0.1:{port}/"
    rows = [((f"echo {size} B" if size < 1024 else f"echo {size // 1024} KiB") + f", {window} in flight",
             ["--size", str(size), "--window", str(window), "--seconds", str(seconds)], "messages/s", True)
            for size, window in ECHO_ROWS]
    rows.append((f"{connections} connections", ["--connections", str(connections)], "seconds", False))
    results: dict[str, Any] = {"pinning": pinning, "rounds": rounds, "rows": {}}
    print(f"client benchmark: twisted_ws echo server; {pinning}; {rounds} rounds", flush=True)
    try:
        for title, extra, unit, higher in rows:
            results["rows"][title] = runRow(title, extra, unit, higher, rounds, url, clientCpu, server.pid)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
