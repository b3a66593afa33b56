"""
The benchmark workloads: what each row of the table measures.

Each workload is a function C{(target, pid, settings) -> Measurement}: it
connects to an already running server (process C{pid}), measures, checks every
byte, closes its connections and returns figures.  Each may produce more than
one metric (the ping-pong run gives a median and a 99th percentile).
"""

import json
import statistics
import time

from loadclient import (
    BenchmarkError,
    ConnectionPump,
    DeflateFraming,
    buildBatch,
    checkQuiet,
    closeAll,
    cpuSeconds,
    learnBroadcast,
    machineBusySeconds,
    makeRng,
    openConnections,
    processCpuSeconds,
    processRss,
    randomBinary,
    randomText,
    runBroadcast,
    runEcho,
    runPingPong,
)


class Metric:
    """
    One row of the result table.

    @ivar name: short identifier (JSON key).
    @ivar label: what the row measures, for people.
    @ivar unit: unit of the value.
    @ivar higherIsBetter: whether a larger value is better.
    """

    def __init__(self, name, label, unit, higherIsBetter=True):
        self.name = name
        self.label = label
        self.unit = unit
        self.higherIsBetter = higherIsBetter


class Measurement:
    """
    What one workload run against one server produced.

    @ivar values: metric name to value.
    @ivar serverCpu: server CPU use during the window, in percent of one core.
    @ivar clientCpu: client CPU use during the window, in percent of one core.
    @ivar otherCpu: CPU use of every other process on the machine during the
        window, in percent of one core (the machine may be shared).
    @ivar note: anything worth reporting (e.g. fewer connections than asked).
    """

    def __init__(self, values, window=None, note=None):
        self.values = values
        self.serverCpu = window.serverCpu if window else None
        self.clientCpu = window.clientCpu if window else None
        self.otherCpu = window.otherCpu if window else None
        self.note = note


class Window:
    """
    Measure elapsed time and the CPU time of both processes over a window.
    """

    def __init__(self, pid):
        self.pid = pid

    def __enter__(self):
        self.machineStart = machineBusySeconds()
        self.serverStart = processCpuSeconds(self.pid)
        self.clientStart = cpuSeconds()
        self.start = time.monotonic()
        return self

    def __exit__(self, *exc):
        self.elapsed = time.monotonic() - self.start
        serverEnd = processCpuSeconds(self.pid)
        clientSeconds = cpuSeconds() - self.clientStart
        machineEnd = machineBusySeconds()
        self.clientCpu = 100.0 * clientSeconds / self.elapsed
        self.serverCpu = self.otherCpu = None
        if serverEnd is not None and self.serverStart is not None:
            serverSeconds = serverEnd - self.serverStart
            self.serverCpu = 100.0 * serverSeconds / self.elapsed
            if machineEnd is not None and self.machineStart is not None:
                other = machineEnd - self.machineStart - serverSeconds - clientSeconds
                self.otherCpu = max(0.0, 100.0 * other / self.elapsed)
        return False


def echoWorkload(connections, inFlight, size, text, unit):
    """
    Build an echo workload: C{connections} connections, each with a batch of
    C{inFlight} messages of C{size} bytes in flight.

    @param unit: C{"msg/s"} or C{"MB/s"} (payload bytes echoed per second, in
        10**6 bytes).
    """

    def run(target, pid, settings):
        rng = makeRng(size * 7919 + inFlight)
        make = randomText if text else randomBinary
        socks = openConnections(target, connections, timeout=settings.timeout)
        try:
            batches = [
                buildBatch(target.framing, [make(size, rng) for _ in range(inFlight)], text)
                for _ in socks
            ]
            # One untimed batch per connection warms the server up.
            runEcho(target, socks, batches, 0.0, len(socks))
            with Window(pid) as window:
                completed, elapsed = runEcho(
                    target, socks, batches, settings.duration, settings.maxBatches
                )
            checkQuiet(socks)
        finally:
            closeAll(socks)
        messages = completed * inFlight
        if unit == "MB/s":
            value = messages * size / elapsed / 1e6
        else:
            value = messages / elapsed
        return Measurement({None: value}, window)

    run.unit = unit
    return run


def chatMessage(size, rng):
    """
    A chat-like JSON message of about C{size} bytes (a room, a sender, a
    sequence number and a text of words), as UTF-8.
    """
    words = ["hello", "room", "message", "twisted", "socket", "deflate", "chat", "reply",
             "lobby", "again", "thanks", "see", "you", "later", "news", "today"]
    seq = rng.randrange(1 << 30)
    head = {"type": "message", "room": "lobby", "from": "user%d" % (seq % 97,), "seq": seq}
    text = []
    length = len(json.dumps(head)) + 12
    while length < size:
        word = rng.choice(words)
        text.append(word)
        length += len(word) + 1
    head["text"] = " ".join(text)
    return json.dumps(head).encode("utf-8")


#: The largest window of DEFLATE (RFC 7692: 15 bits), in bytes.
COMPRESSION_HISTORY = 1 << 15


def compressedEchoWorkload(connections, inFlight, size, unit):
    """
    Build an echo workload of chat-like JSON text messages sent and echoed
    with permessage-deflate: the client compresses each message on its own
    (C{client_no_context_takeover}) and counts the frames that come back
    (L{DeflateFraming}).
    """

    # Batches of distinct messages sent in turn, enough that no message
    # comes back while an earlier copy of it is still in a 32 KiB window (the
    # largest): a repeat in the window would compress to a few bytes, which
    # real traffic does not.
    turns = max(2, -(-COMPRESSION_HISTORY // (inFlight * size)) + 1)

    def run(target, pid, settings):
        rng = makeRng(size * 7919 + inFlight)
        target.framing = DeflateFraming()
        target.compression = True
        socks = openConnections(target, connections, timeout=settings.timeout)
        try:
            batches = []
            for _ in socks:
                outs = []
                for _ in range(turns):
                    out, frames = buildBatch(
                        target.framing, [chatMessage(size, rng) for _ in range(inFlight)], True
                    )
                    outs.append(out)
                batches.append((outs, frames))
            runEcho(target, socks, batches, 0.0, len(socks))
            with Window(pid) as window:
                completed, elapsed = runEcho(
                    target, socks, batches, settings.duration, settings.maxBatches
                )
            checkQuiet(socks)
        finally:
            closeAll(socks)
        messages = completed * inFlight
        value = messages * size / elapsed / 1e6 if unit == "MB/s" else messages / elapsed
        return Measurement({None: value}, window)

    run.unit = unit
    return run


def handshakeWorkload(concurrency):
    """
    Full connection cycles (TCP connect, opening handshake, closing handshake,
    TCP close), C{concurrency} at a time.  For raw TCP: connect and close.
    """

    def run(target, pid, settings):
        pump = ConnectionPump(target, concurrency)
        # Warm-up, untimed.
        pump.cycle(0.2, concurrency, settings.timeout)
        with Window(pid) as window:
            count, elapsed = pump.cycle(
                settings.duration, settings.maxBatches * concurrency, settings.timeout
            )
        return Measurement({None: count / elapsed}, window)

    return run


def memoryWorkload(target, pid, settings):
    """
    Server RSS growth per open idle connection.
    """
    wanted = settings.idleConnections
    note = None
    count = wanted
    room = settings.fileLimit - 200
    if room < wanted:
        count = max(100, room)
        note = "fd limit %d allows only %d of %d connections" % (settings.fileLimit, count, wanted)
    warm = openConnections(target, 20, timeout=settings.timeout)
    closeAll(warm)
    time.sleep(0.3)
    before = processRss(pid)
    socks = openConnections(target, count, timeout=settings.timeout + count / 200.0)
    try:
        time.sleep(0.5)
        after = processRss(pid)
        checkQuiet(socks)
    finally:
        closeAll(socks)
    return Measurement({None: (after - before) / count / 1024.0}, note=note)


def latencyWorkload(target, pid, settings):
    """
    Ping-pong: one 16-byte binary message at a time; median and 99th
    percentile round trip in microseconds.
    """
    rng = makeRng(16)
    framing = target.framing
    pairs = []
    for _ in range(64):
        payload = randomBinary(16, rng)
        pairs.append((framing.request(payload, False), framing.response(payload, False)))
    (sock,) = openConnections(target, 1, timeout=settings.timeout)
    try:
        runPingPong(sock, pairs, 0.0, 200)
        with Window(pid) as window:
            samples = runPingPong(sock, pairs, settings.duration, settings.maxBatches * 10)
    finally:
        sock.close()
    samples.sort()
    p50 = statistics.median(samples) / 1000.0
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))] / 1000.0
    return Measurement({"p50": p50, "p99": p99}, window)


def broadcastWorkload(receivers, burstSize, size, json=False):
    """
    One sender, C{receivers} receivers; each burst of C{burstSize} messages
    of C{size} bytes must reach every receiver.  Reports deliveries per
    second (messages received, summed over receivers).

    @param json: send the chat-like JSON text messages of the compressed
        broadcast (the same ones, uncompressed) instead of random binary.
    """

    def run(target, pid, settings):
        framing = target.framing
        burst = []
        if json:
            rng = makeRng(size + burstSize + 1)
            for _ in range(burstSize):
                payload = chatMessage(size, rng)
                burst.append((framing.request(payload, True), framing.response(payload, True)))
        else:
            rng = makeRng(size + burstSize)
            for _ in range(burstSize):
                payload = randomBinary(size, rng)
                burst.append((framing.request(payload, False), framing.response(payload, False)))
        socks = openConnections(target, receivers + 1, timeout=settings.timeout + receivers / 200.0)
        try:
            # Let servers that register connections after the handshake (in a
            # task or callback) catch up before the first message.
            time.sleep(0.3)
            sender, others = socks[0], socks[1:]
            runBroadcast(target, sender, others, burst, 0.0, 1)
            with Window(pid) as window:
                bursts, elapsed = runBroadcast(
                    target, sender, others, burst, settings.duration, settings.maxBatches
                )
            checkQuiet(socks)
        finally:
            closeAll(socks)
        if bursts < 1:
            raise BenchmarkError("no burst completed")
        return Measurement({None: bursts * burstSize * receivers / elapsed}, window)

    return run


def compressedBroadcastWorkload(receivers, burstSize, size):
    """
    The broadcast workload with chat-like JSON of about C{size} bytes and
    permessage-deflate without context takeover on both sides: the first
    burst's answer, read by counting frames and the same on every receiver,
    is what every later burst must match byte for byte.
    """

    def run(target, pid, settings):
        rng = makeRng(size + burstSize + 1)
        target.framing = DeflateFraming()
        target.compression = "shared"
        burst = [(target.framing.request(chatMessage(size, rng), True), None)
                 for _ in range(burstSize)]
        out = b"".join(request for request, _ in burst)
        socks = openConnections(target, receivers + 1, timeout=settings.timeout + receivers / 200.0)
        try:
            time.sleep(0.3)
            sender, others = socks[0], socks[1:]
            expected = learnBroadcast(sender, others, out, burstSize)
            with Window(pid) as window:
                bursts, elapsed = runBroadcast(
                    target, sender, others, burst, settings.duration, settings.maxBatches, expected
                )
            checkQuiet(socks)
        finally:
            closeAll(socks)
        if bursts < 1:
            raise BenchmarkError("no burst completed")
        return Measurement({None: bursts * burstSize * receivers / elapsed}, window)

    return run


class Workload:
    """
    A named workload and the metric rows it produces.

    @ivar name: identifier, for C{--workload}.
    @ivar run: the function measuring it.
    @ivar metrics: list of (key in the measurement's values, L{Metric}).
    @ivar app: which server app it needs: C{"echo"} or C{"broadcast"}.
    @ivar compression: whether the server must accept permessage-deflate
        (only the servers that can take part).
    """

    def __init__(self, name, run, metrics, app="echo", compression=False):
        self.name = name
        self.run = run
        self.metrics = metrics
        self.app = app
        self.compression = compression


def allWorkloads(idleConnections):
    """
    @param idleConnections: connections for the memory row.
    @return: the workloads, in table order.
    """
    return [
        Workload(
            "small",
            echoWorkload(1, 1000, 16, False, "msg/s"),
            [(None, Metric("small", "1 conn, 1000 x 16 B binary in flight", "msg/s"))],
        ),
        Workload(
            "many",
            echoWorkload(100, 10, 16, False, "msg/s"),
            [(None, Metric("many", "100 conns x 10 x 16 B binary in flight", "msg/s"))],
        ),
        Workload(
            "text1k",
            echoWorkload(1, 100, 1024, True, "msg/s"),
            [(None, Metric("text1k", "1 conn, 100 x 1 KiB text in flight", "msg/s"))],
        ),
        Workload(
            "binary1m",
            echoWorkload(1, 4, 1 << 20, False, "MB/s"),
            [(None, Metric("binary1m", "1 conn, 1 MiB binary (4 in flight)", "MB/s"))],
        ),
        Workload(
            "text64k",
            echoWorkload(1, 16, 64 << 10, True, "MB/s"),
            [(None, Metric("text64k", "1 conn, 64 KiB text (16 in flight)", "MB/s"))],
        ),
        Workload(
            "handshake",
            handshakeWorkload(50),
            [
                (
                    None,
                    Metric(
                        "handshake",
                        "connect, open + close handshake, 50 at a time (raw: TCP only)",
                        "conn/s",
                    ),
                )
            ],
        ),
        Workload(
            "memory",
            memoryWorkload,
            [
                (
                    None,
                    Metric(
                        "memory",
                        "server RSS per idle connection (%d open)" % (idleConnections,),
                        "KiB/conn",
                        higherIsBetter=False,
                    ),
                )
            ],
        ),
        Workload(
            "latency",
            latencyWorkload,
            [
                ("p50", Metric("latency_p50", "ping-pong 16 B, median round trip", "us", False)),
                ("p99", Metric("latency_p99", "ping-pong 16 B, p99 round trip", "us", False)),
            ],
        ),
        Workload(
            "deflate200",
            compressedEchoWorkload(1, 100, 200, "msg/s"),
            [(None, Metric("deflate200", "permessage-deflate, 1 conn, 100 x 200 B JSON in flight",
                           "msg/s"))],
            compression=True,
        ),
        Workload(
            "deflate8k",
            compressedEchoWorkload(1, 16, 8192, "msg/s"),
            [(None, Metric("deflate8k", "permessage-deflate, 1 conn, 16 x 8 KiB JSON in flight",
                           "msg/s"))],
            compression=True,
        ),
        Workload(
            "broadcast",
            broadcastWorkload(1000, 10, 32),
            [(None, Metric("broadcast", "broadcast 1 -> 1000 conns, 32 B binary", "deliveries/s"))],
            app="broadcast",
        ),
        Workload(
            "jsonbroadcast",
            broadcastWorkload(1000, 10, 200, json=True),
            [(None, Metric("jsonbroadcast", "broadcast 1 -> 1000 conns, 200 B JSON, uncompressed",
                           "deliveries/s"))],
            app="broadcast",
        ),
        Workload(
            "deflatebroadcast",
            compressedBroadcastWorkload(1000, 10, 200),
            [(None, Metric("deflatebroadcast",
                           "permessage-deflate broadcast 1 -> 1000 conns, 200 B JSON, no context takeover",
                           "deliveries/s"))],
            app="broadcast",
            compression=True,
        ),
    ]
