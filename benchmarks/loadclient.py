"""
The load generator: a WebSocket (RFC 6455) client on plain sockets that
precomputes what it sends and what it must get back.

Python cannot parse a million frames a second, so the client never parses
echoed frames.  A non-compressing echo server's answer is fully determined by
what was sent: the same payloads in unmasked server frames, with the minimal
length encoding RFC 6455 requires.  For each workload the client builds the
masked request stream and the exact expected response stream once, sends the
one and reads until it holds C{len(expected)} bytes, then compares the two
(one C{memcmp}).  The first differing offset is reported on a mismatch.

The raw TCP ceiling speaks 32-bit length-prefixed messages instead
(L{Int32Framing}); everything else is shared.

Every wait is bounded: sockets are non-blocking behind a selector, or
blocking with a timeout, and every loop has a deadline and a count limit.
"""

import base64
import errno
import hashlib
import os
import random
import selectors
import socket
import struct
import time
import zlib

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8

#: Seconds without progress after which a workload fails.
STALL_TIMEOUT = 15.0

_EVENT_READ = selectors.EVENT_READ
_EVENT_WRITE = selectors.EVENT_WRITE


class BenchmarkError(Exception):
    """
    The server answered wrongly (wrong bytes, failed handshake, early close)
    or not in time.
    """


def cpuSeconds():
    """
    @return: user + system CPU seconds used so far by this process.
    """
    times = os.times()
    return times.user + times.system


def processCpuSeconds(pid):
    """
    Read another process's CPU time from C{/proc/PID/stat}.

    @param pid: the process id.
    @return: user + system CPU seconds, or C{None} if unreadable.
    """
    try:
        with open("/proc/%d/stat" % (pid,), "rb") as f:
            stat = f.read()
    except OSError:
        return None
    # The command name (field 2) may contain spaces: split after its ")".
    fields = stat[stat.rindex(b")") + 2 :].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machineBusySeconds():
    """
    Read the CPU time all cores have spent busy (not idle, not waiting for
    I/O) from C{/proc/stat}.

    @return: seconds, summed over cores, or C{None} if unreadable.
    """
    try:
        with open("/proc/stat", "rb") as f:
            fields = f.readline().split()
    except OSError:
        return None
    if fields[0] != b"cpu":
        return None
    ticks = [int(x) for x in fields[1:9]]
    # user nice system idle iowait irq softirq steal
    busy = ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6] + ticks[7]
    return busy / os.sysconf("SC_CLK_TCK")


def processRss(pid):
    """
    Read another process's resident set size from C{/proc/PID/status}.

    @param pid: the process id.
    @return: RSS in bytes.
    """
    with open("/proc/%d/status" % (pid,)) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise BenchmarkError("no VmRSS for process %d" % (pid,))


def maskBytes(payload, mask):
    """
    XOR C{payload} with the repeated 4-byte C{mask}, using one big-integer
    operation (fast enough for megabytes).

    @param payload: the bytes to mask.
    @param mask: 4 bytes.
    @return: the masked bytes.
    """
    n = len(payload)
    if not n:
        return b""
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")).to_bytes(n, "little")


def frameHeader(first, length, maskBit):
    """
    The first bytes of a frame, with the minimal length encoding.

    @param first: FIN, RSV and opcode byte.
    @param length: payload length.
    @param maskBit: C{0x80} for a masked (client) frame, else C{0}.
    @return: the header without the masking key.
    """
    if length < 126:
        return bytes((first, maskBit | length))
    if length < 65536:
        return struct.pack("!BBH", first, maskBit | 126, length)
    return struct.pack("!BBQ", first, maskBit | 127, length)


def clientFrame(opcode, payload, randomSource=os.urandom):
    """
    A final, masked client frame with a random masking key.

    @param opcode: the frame's opcode.
    @param payload: the unmasked payload.
    @param randomSource: returns n random bytes.
    @return: the frame.
    """
    mask = randomSource(4)
    return frameHeader(0x80 | opcode, len(payload), 0x80) + mask + maskBytes(payload, mask)


def serverFrame(opcode, payload):
    """
    A final, unmasked server frame.

    @param opcode: the frame's opcode.
    @param payload: the payload.
    @return: the frame.
    """
    return frameHeader(0x80 | opcode, len(payload), 0) + payload


class WebSocketFraming:
    """
    RFC 6455 framing: masked requests, unmasked responses, an HTTP Upgrade
    first.
    """

    name = "websocket"
    handshake = True

    def request(self, payload, text):
        """
        @param payload: message bytes (UTF-8 for text).
        @param text: whether this is a text message.
        @return: the client frame carrying C{payload}.
        """
        return clientFrame(OP_TEXT if text else OP_BINARY, payload)

    def response(self, payload, text):
        """
        @param payload: message bytes (UTF-8 for text).
        @param text: whether this is a text message.
        @return: the server frame an echo of C{payload} must be.
        """
        return serverFrame(OP_TEXT if text else OP_BINARY, payload)


def deflateMessage(payload):
    """
    Compress one message as permessage-deflate without context takeover
    does: raw DEFLATE, a sync flush, the C{00 00 ff ff} tail removed.
    """
    compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
    data = compressor.compress(payload) + compressor.flush(zlib.Z_SYNC_FLUSH)
    return data[:-4]


class DeflateFraming(WebSocketFraming):
    """
    RFC 6455 framing with permessage-deflate: each request is compressed
    (RSV1 set); a response depends on the server's compressor, so it is not
    predicted: L{response} gives C{None}, and the client counts complete
    frames instead (L{countFrames}).
    """

    name = "websocket+deflate"

    def request(self, payload, text):
        """
        @return: the compressed client frame carrying C{payload}.
        """
        return clientFrame(0x40 | (OP_TEXT if text else OP_BINARY), deflateMessage(payload))

    def response(self, payload, text):
        """
        @return: L{None}: the answer is counted, not compared.
        """
        return None


def countFrames(buffer, start, end):
    """
    Walk the complete unmasked frames in C{buffer[start:end]}, reading only
    their headers.

    @return: C{(frames, compressedFrames, nextStart)}: how many complete
        frames there were, how many of them had RSV1 set, and where the
        first incomplete one begins.
    @raise BenchmarkError: for a frame that is not a final data frame.
    """
    frames = compressed = 0
    while end - start >= 2:
        first = buffer[start]
        length = buffer[start + 1]
        if length & 0x80:
            raise BenchmarkError("server sent a masked frame")
        header = 2
        if length == 126:
            if end - start < 4:
                break
            length = (buffer[start + 2] << 8) | buffer[start + 3]
            header = 4
        elif length == 127:
            if end - start < 10:
                break
            length = int.from_bytes(buffer[start + 2 : start + 10], "big")
            header = 10
        if end - start < header + length:
            break
        if first & 0xBF not in (0x80 | OP_TEXT, 0x80 | OP_BINARY):
            raise BenchmarkError("unexpected frame from the server: first byte 0x%02x" % (first,))
        frames += 1
        compressed += (first >> 6) & 1
        start += header + length
    return frames, compressed, start


class Int32Framing:
    """
    32-bit big-endian length prefix, the same in both directions, no
    handshake (Twisted's C{Int32StringReceiver}).
    """

    name = "int32"
    handshake = False

    def request(self, payload, text):
        """
        @param payload: message bytes.
        @param text: ignored.
        @return: the prefixed message.
        """
        return struct.pack("!I", len(payload)) + payload

    response = request


class Target:
    """
    Where and how to reach a server.

    @ivar host: address.
    @ivar port: TCP port.
    @ivar path: request target for the Upgrade request.
    @ivar framing: L{WebSocketFraming} or L{Int32Framing}.
    @ivar compression: offer permessage-deflate (with
        C{client_no_context_takeover}) and require it in the answer.
    """

    def __init__(self, host, port, path, framing, compression=False):
        self.host = host
        self.port = port
        self.path = path
        self.framing = framing
        self.compression = compression


def randomBinary(size, rng):
    """
    @param size: length.
    @param rng: a L{random.Random}.
    @return: C{size} random bytes.
    """
    return rng.randbytes(size)


_PRINTABLE = bytes(32 + i % 95 for i in range(256))
_WIDE = [c.encode("utf-8") for c in "\u00e9\u00df\u20ac\u4e2d\U0001f600\U0001d11e"]


def randomText(size, rng):
    """
    Valid UTF-8 of exactly C{size} bytes: printable ASCII with 2, 3 and 4 byte
    characters mixed in, so that servers really validate and re-encode.

    @param size: length in bytes.
    @param rng: a L{random.Random}.
    @return: the UTF-8 bytes.
    """
    ascii = rng.randbytes(size).translate(_PRINTABLE)
    pieces = []
    have = 0
    while True:
        run = rng.randint(8, 48)
        wide = rng.choice(_WIDE)
        if have + run + len(wide) > size:
            break
        pieces.append(ascii[have : have + run])
        pieces.append(wide)
        have += run + len(wide)
    pieces.append(ascii[have:size])
    data = b"".join(pieces)
    assert len(data) == size
    data.decode("utf-8")
    return data


def firstDifference(got, expected):
    """
    @return: the first offset at which C{got} and C{expected} differ.
    """
    n = min(len(got), len(expected))
    step = 4096
    for start in range(0, n, step):
        if got[start : start + step] != expected[start : start + step]:
            for i in range(start, min(start + step, n)):
                if got[i] != expected[i]:
                    return i
    return n


def mismatch(what, got, expected):
    """
    @return: a L{BenchmarkError} naming the offset of the first wrong byte.
    """
    offset = firstDifference(got, expected)
    return BenchmarkError(
        "%s: wrong bytes at offset %d of %d: got %r, expected %r"
        % (
            what,
            offset,
            len(expected),
            bytes(got[max(0, offset - 4) : offset + 12]),
            bytes(expected[max(0, offset - 4) : offset + 12]),
        )
    )


#: The permessage-deflate offer of compressed workloads: the client
#: compresses every message on its own, so its request stream is built
#: once; the server keeps its context (what a chat server would do).
DEFLATE_OFFER = b"Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n"

#: The offer of the compressed broadcast: neither side keeps a context, so
#: a server can compress a broadcast once for all its receivers, and every
#: receiver's answer is the same bytes.
DEFLATE_OFFER_SHARED = (
    b"Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; "
    b"server_no_context_takeover\r\n"
)


def _offerFor(compression):
    """
    The C{Sec-WebSocket-Extensions} line for a L{Target}'s C{compression}:
    none for L{False}, L{DEFLATE_OFFER_SHARED} for C{"shared"},
    L{DEFLATE_OFFER} otherwise.
    """
    if not compression:
        return b""
    return DEFLATE_OFFER_SHARED if compression == "shared" else DEFLATE_OFFER


class KeyPool:
    """
    Precomputed C{Sec-WebSocket-Key} values, Upgrade requests and the
    C{Sec-WebSocket-Accept} value each must be answered with.
    """

    def __init__(self, target, count=256):
        self._entries = []
        for _i in range(count):
            key = base64.b64encode(os.urandom(16))
            accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
            request = (
                b"GET %s HTTP/1.1\r\n"
                b"Host: %s:%d\r\n"
                b"Upgrade: websocket\r\n"
                b"Connection: Upgrade\r\n"
                b"Sec-WebSocket-Key: %s\r\n"
                b"Sec-WebSocket-Version: 13\r\n"
                b"%s"
                b"\r\n"
            ) % (
                target.path.encode("ascii"),
                target.host.encode("ascii"),
                target.port,
                key,
                _offerFor(getattr(target, "compression", False)),
            )
            self._entries.append((request, accept))
        self._next = 0

    def take(self):
        """
        @return: the next C{(request, expectedAccept)}.
        """
        entry = self._entries[self._next]
        self._next = (self._next + 1) % len(self._entries)
        return entry


def checkUpgradeResponse(head, expectedAccept, compression=False):
    """
    Verify a server's answer to the Upgrade request.

    @param head: the response up to and without the blank line.
    @param expectedAccept: the C{Sec-WebSocket-Accept} it must carry.
    @param compression: whether permessage-deflate was offered and must be
        accepted.
    @raise BenchmarkError: if it is not a valid 101 answer.
    """
    lines = head.split(b"\r\n")
    status = lines[0].split(None, 2)
    if len(status) < 2 or status[0] != b"HTTP/1.1" or status[1] != b"101":
        raise BenchmarkError("handshake refused: %r" % (head[:200],))
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep:
            raise BenchmarkError("malformed response header %r" % (line,))
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    accept = headers.get(b"sec-websocket-accept", [])
    if accept != [expectedAccept]:
        raise BenchmarkError("wrong Sec-WebSocket-Accept: %r" % (accept,))
    if [v.lower() for v in headers.get(b"upgrade", [])] != [b"websocket"]:
        raise BenchmarkError("wrong Upgrade header: %r" % (headers.get(b"upgrade"),))
    connection = b",".join(headers.get(b"connection", [])).lower()
    if b"upgrade" not in [token.strip() for token in connection.split(b",")]:
        raise BenchmarkError("wrong Connection header: %r" % (connection,))
    chosen = b",".join(headers.get(b"sec-websocket-extensions", [])).lower()
    if compression:
        if not chosen.startswith(b"permessage-deflate"):
            raise BenchmarkError("server did not accept permessage-deflate: %r" % (chosen,))
    elif chosen:
        raise BenchmarkError("server chose an extension that was not offered")


CLOSE_REQUEST = b"\x03\xe8"


class _Opening:
    """
    One connection going through connect and (for WebSocket) the opening
    handshake, on a selector.  For the handshake workload it then also goes
    through the closing handshake.
    """

    __slots__ = ("sock", "state", "buffer", "accept", "request", "cycle")

    def __init__(self, sock, request, accept, cycle):
        self.sock = sock
        self.state = "connecting"
        self.buffer = b""
        self.request = request
        self.accept = accept
        self.cycle = cycle


def _newSocket():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setblocking(False)
    return sock


class ConnectionPump:
    """
    Open connections with at most C{concurrency} in progress at a time.

    In C{"open"} mode every connection ends up open (handshake done, or for
    raw TCP a probe message answered) and is kept.  In C{"cycle"} mode (the
    handshake workload) each connection is opened, closed cleanly (close
    frame both ways and the server's FIN; for raw TCP our FIN and the
    server's FIN) and replaced, until the deadline.
    """

    def __init__(self, target, concurrency):
        self.target = target
        self.concurrency = concurrency
        self.framing = target.framing
        self.keys = KeyPool(target) if self.framing.handshake else None
        self.selector = selectors.DefaultSelector()
        self.probe = self.framing.request(b"", False)
        self.closeFrame = clientFrame(OP_CLOSE, CLOSE_REQUEST)

    def _start(self, cycle):
        sock = _newSocket()
        if self.keys is not None:
            request, accept = self.keys.take()
        else:
            request, accept = (b"" if cycle else self.probe), None
        conn = _Opening(sock, request, accept, cycle)
        err = sock.connect_ex((self.target.host, self.target.port))
        if err not in (0, errno.EINPROGRESS):
            sock.close()
            raise BenchmarkError("connect failed: %s" % (os.strerror(err),))
        self.selector.register(sock, _EVENT_WRITE, conn)
        return conn

    def _writable(self, conn):
        sock = conn.sock
        if conn.state == "connecting":
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                raise BenchmarkError("connect failed: %s" % (os.strerror(err),))
            if conn.cycle and self.keys is None:
                # Raw TCP cycle: connected; now half-close and await the FIN.
                sock.shutdown(socket.SHUT_WR)
                conn.state = "closing"
                self.selector.modify(sock, _EVENT_READ, conn)
                return
            data = conn.request
            conn.state = "handshake"
        else:
            data = self.closeFrame
        sent = sock.send(data)
        if sent != len(data):
            raise BenchmarkError("short send of a small request")
        self.selector.modify(sock, _EVENT_READ, conn)

    def _readable(self, conn):
        """
        @return: C{True} when C{conn} is done (open, or closed in cycle mode).
        """
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return False
        if conn.state == "closing":
            if data:
                conn.buffer += data
                return False
            # EOF: the closing handshake (or the raw close) is over.
            if self.keys is not None:
                frame = conn.buffer
                if len(frame) < 2 or frame[0] != 0x80 | OP_CLOSE or frame[1] & 0x80:
                    raise BenchmarkError("expected a close frame, got %r" % (frame[:20],))
                if len(frame) != 2 + (frame[1] & 0x7F):
                    raise BenchmarkError("unexpected bytes around the close frame: %r" % (frame,))
                if frame[1] and frame[2:4] != CLOSE_REQUEST:
                    raise BenchmarkError("close code not echoed: %r" % (frame,))
            elif conn.buffer:
                raise BenchmarkError("raw server sent data before closing")
            return True
        if not data:
            raise BenchmarkError("server closed the connection during the %s" % (conn.state,))
        conn.buffer += data
        if self.keys is None:
            # Raw TCP probe: an empty message echoed back.
            if len(conn.buffer) < len(self.probe):
                return False
            if conn.buffer != self.probe:
                raise mismatch("probe", conn.buffer, self.probe)
            conn.buffer = b""
            return True
        end = conn.buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(conn.buffer) > 16384:
                raise BenchmarkError("handshake response too long")
            return False
        checkUpgradeResponse(conn.buffer[:end], conn.accept, getattr(self.target, "compression", False))
        rest = conn.buffer[end + 4 :]
        if rest:
            raise BenchmarkError("unexpected bytes after the handshake: %r" % (rest[:20],))
        conn.buffer = b""
        if conn.cycle:
            conn.state = "closing"
            self.selector.modify(conn.sock, _EVENT_WRITE, conn)
            return False
        return True

    def open(self, count, timeout):
        """
        Open C{count} connections.

        @param count: how many.
        @param timeout: seconds allowed in all.
        @return: the open, non-blocking sockets.
        """
        deadline = time.monotonic() + timeout
        done = []
        pending = 0
        started = 0
        try:
            while len(done) < count:
                while pending < self.concurrency and started < count:
                    self._start(False)
                    started += 1
                    pending += 1
                now = time.monotonic()
                if now > deadline:
                    raise BenchmarkError(
                        "opened only %d of %d connections in %.0fs" % (len(done), count, timeout)
                    )
                for key, events in self.selector.select(min(1.0, deadline - now)):
                    conn = key.data
                    if events & _EVENT_WRITE:
                        self._writable(conn)
                    elif self._readable(conn):
                        self.selector.unregister(conn.sock)
                        done.append(conn.sock)
                        pending -= 1
        except BaseException:
            for sock in done:
                sock.close()
            self.close()
            raise
        self.close()
        return done

    def cycle(self, duration, maxCount, timeout):
        """
        Open and close connections, C{concurrency} at a time, for
        C{duration} seconds (or C{maxCount} cycles).

        @return: C{(cycles, elapsed)}.
        """
        start = time.monotonic()
        end = start + duration
        hardDeadline = end + timeout
        completed = 0
        started = 0
        pending = 0
        try:
            while True:
                now = time.monotonic()
                while pending < self.concurrency and now < end and started < maxCount:
                    self._start(True)
                    started += 1
                    pending += 1
                if not pending:
                    break
                if now > hardDeadline:
                    raise BenchmarkError("%d connections did not finish closing" % (pending,))
                for key, events in self.selector.select(1.0):
                    conn = key.data
                    if events & _EVENT_WRITE:
                        self._writable(conn)
                    elif self._readable(conn):
                        self.selector.unregister(conn.sock)
                        conn.sock.close()
                        completed += 1
                        pending -= 1
            return completed, time.monotonic() - start
        finally:
            self.close()

    def close(self):
        """
        Close the connections still in progress and the selector.
        """
        for key in list(self.selector.get_map().values()):
            self.selector.unregister(key.fileobj)
            key.fileobj.close()
        self.selector.close()
        self.selector = selectors.DefaultSelector()


def openConnections(target, count, concurrency=100, timeout=60.0):
    """
    Open C{count} connections (handshake done) to C{target}.

    @return: the non-blocking sockets.
    """
    return ConnectionPump(target, concurrency).open(count, timeout)


def closeAll(socks):
    """
    Close sockets, ignoring errors.
    """
    for sock in socks:
        try:
            sock.close()
        except OSError:
            pass


class _Stream:
    """
    One connection's precomputed batch and its progress.
    """

    __slots__ = (
        "sock", "out", "outs", "turn", "expected", "received", "view", "sent", "got", "batches",
        "counting", "frames", "parsed", "compressed",
    )

    def __init__(self, sock, out, expected):
        self.sock = sock
        # A list of request streams (counting mode only): sent in turn, one
        # batch each.
        self.outs = [memoryview(o) for o in out] if isinstance(out, list) else [memoryview(out)]
        self.turn = 0
        self.out = self.outs[0]
        self.expected = expected
        # An int: the number of frames to count (compressed workloads).
        self.counting = isinstance(expected, int)
        self.received = bytearray(1 << 20 if self.counting else len(expected))
        self.view = memoryview(self.received)
        self.sent = 0
        self.got = 0
        self.batches = 0
        self.frames = 0
        self.parsed = 0
        self.compressed = 0

    def count(self):
        """
        Counting mode: take in the complete frames received so far, and make
        room for the rest.

        @return: whether the batch's frames are all in.
        @raise BenchmarkError: if the server sent more than the batch.
        """
        frames, compressed, self.parsed = countFrames(self.received, self.parsed, self.got)
        self.frames += frames
        self.compressed += compressed
        if self.frames >= self.expected:
            if self.frames > self.expected or self.parsed != self.got:
                raise BenchmarkError("server sent more frames than the echo of the batch")
            return True
        pending = self.got - self.parsed
        if self.parsed:
            self.received[:pending] = self.received[self.parsed : self.got]
            self.parsed, self.got = 0, pending
        if self.got == len(self.received):
            self.view.release()
            self.received.extend(bytes(len(self.received)))
            self.view = memoryview(self.received)
        return False


def buildBatch(framing, payloads, text):
    """
    @param framing: L{WebSocketFraming} or L{Int32Framing}.
    @param payloads: the messages of one batch.
    @param text: whether they are text messages.
    @return: C{(requestStream, expectedResponseStream)}, or for a framing
        whose answers cannot be predicted (L{DeflateFraming}),
        C{(requestStream, numberOfFrames)}.
    """
    out = b"".join(framing.request(p, text) for p in payloads)
    responses = [framing.response(p, text) for p in payloads]
    if None in responses:
        # The answer depends on the server's compressor: count its frames.
        return out, len(payloads)
    return out, b"".join(responses)


def runEcho(target, socks, batches, duration, maxBatches):
    """
    Keep one batch in flight on each connection: send it, read the whole
    expected answer, compare, repeat, until C{duration} has passed or
    C{maxBatches} batches (over all connections) were started.

    @param socks: open non-blocking sockets.
    @param batches: per socket, C{(request, expected)}; where C{expected} is
        a number of frames to count, C{request} may be a list of request
        streams of that many messages each, sent one batch after the other
        in turn.
    @return: C{(batchesCompleted, elapsed)}.
    """
    selector = selectors.DefaultSelector()
    streams = []
    for sock, (out, expected) in zip(socks, batches, strict=False):
        stream = _Stream(sock, out, expected)
        streams.append(stream)
        selector.register(sock, _EVENT_READ | _EVENT_WRITE, stream)
    start = time.monotonic()
    end = start + duration
    started = len(streams)
    completed = 0
    active = len(streams)
    lastProgress = start
    try:
        while active:
            ready = selector.select(1.0)
            now = time.monotonic()
            if not ready and now - lastProgress > STALL_TIMEOUT:
                raise BenchmarkError("no answer for %.0fs" % (STALL_TIMEOUT,)) from None
            for key, events in ready:
                stream = key.data
                sock = stream.sock
                if events & _EVENT_WRITE:
                    try:
                        stream.sent += sock.send(stream.out[stream.sent : stream.sent + 262144])
                    except (BlockingIOError, InterruptedError):
                        pass
                    if stream.sent == len(stream.out):
                        selector.modify(sock, _EVENT_READ, stream)
                if events & _EVENT_READ:
                    try:
                        n = sock.recv_into(stream.view[stream.got :])
                    except (BlockingIOError, InterruptedError):
                        continue
                    if not n:
                        raise BenchmarkError(
                            "server closed the connection after %d bytes of a batch" % (stream.got,)
                        )
                    lastProgress = now
                    stream.got += n
                    if stream.counting:
                        done = stream.count()
                    else:
                        done = stream.got == len(stream.expected)
                        if done and stream.received != stream.expected:
                            raise mismatch("echo", stream.received, stream.expected)
                    if done:
                        if stream.counting:
                            if not stream.compressed:
                                raise BenchmarkError("server answered a whole batch uncompressed")
                            stream.frames = stream.parsed = stream.got = stream.compressed = 0
                        completed += 1
                        if now < end and started < maxBatches:
                            started += 1
                            if len(stream.outs) > 1:
                                stream.turn = (stream.turn + 1) % len(stream.outs)
                                stream.out = stream.outs[stream.turn]
                            stream.sent = 0
                            stream.got = 0
                            selector.modify(sock, _EVENT_READ | _EVENT_WRITE, stream)
                        else:
                            selector.unregister(sock)
                            active -= 1
        return completed, time.monotonic() - start
    finally:
        selector.close()


def checkQuiet(socks, wait=0.05):
    """
    Check that no connection received unexpected extra bytes.

    @raise BenchmarkError: if one did.
    """
    selector = selectors.DefaultSelector()
    try:
        for sock in socks:
            selector.register(sock, _EVENT_READ)
        for key, _events in selector.select(wait):
            try:
                data = key.fileobj.recv(64)
            except (BlockingIOError, InterruptedError):
                continue
            if data:
                raise BenchmarkError("unexpected extra bytes from the server: %r" % (data,))
    finally:
        selector.close()


def runPingPong(sock, pairs, duration, maxCount):
    """
    One message at a time: send, read the whole echo, compare; time each
    round trip.

    @param sock: an open socket (made blocking here, with a timeout).
    @param pairs: C{(request, expected)} to cycle through.
    @return: the list of round-trip times in nanoseconds.
    """
    sock.setblocking(True)
    sock.settimeout(STALL_TIMEOUT)
    clock = time.perf_counter_ns
    samples = []
    end = time.monotonic() + duration
    size = max(len(expected) for _, expected in pairs)
    buf = bytearray(size)
    view = memoryview(buf)
    count = 0
    n = len(pairs)
    try:
        while count < maxCount:
            out, expected = pairs[count % n]
            want = len(expected)
            t0 = clock()
            sock.sendall(out)
            got = 0
            while got < want:
                r = sock.recv_into(view[got:want])
                if not r:
                    raise BenchmarkError("server closed the connection")
                got += r
            t1 = clock()
            if view[:want] != expected:
                raise mismatch("ping-pong", buf[:want], expected)
            samples.append(t1 - t0)
            count += 1
            if not count % 64 and time.monotonic() > end:
                break
    except TimeoutError:
        raise BenchmarkError("no answer for %.0fs" % (STALL_TIMEOUT,)) from None
    return samples


def learnBroadcast(sender, receivers, out, count):
    """
    Send one burst (C{out}, C{count} messages) and read every receiver's
    answer by counting frames; the answers must be the same bytes on every
    receiver, with at least one compressed frame.

    @return: those bytes, the expected answer to every later burst.
    @raise BenchmarkError: if the receivers' answers differ, or one stalls.
    """
    sender.setblocking(True)
    sender.settimeout(STALL_TIMEOUT)
    sender.sendall(out)
    learned = None
    for sock in receivers:
        sock.setblocking(True)
        sock.settimeout(STALL_TIMEOUT)
        try:
            data = bytearray()
            frames = compressed = parsed = 0
            while frames < count:
                chunk = sock.recv(262144)
                if not chunk:
                    raise BenchmarkError("server closed a receiver's connection")
                data += chunk
                more, rsv1, parsed = countFrames(data, parsed, len(data))
                frames += more
                compressed += rsv1
        except TimeoutError:
            raise BenchmarkError("a receiver got no broadcast for %.0fs" % (STALL_TIMEOUT,)) from None
        finally:
            sock.setblocking(False)
        if frames != count or parsed != len(data):
            raise BenchmarkError("a receiver got more than the burst")
        if not compressed:
            raise BenchmarkError("the server broadcast the burst uncompressed")
        if learned is None:
            learned = bytes(data)
        elif data != learned:
            raise mismatch("broadcast (receivers differ)", data, learned)
    return learned


def runBroadcast(target, sender, receivers, burst, duration, maxBursts, expected=None):
    """
    The sender sends a burst of messages; every receiver must get all of them,
    in order, byte for byte; then the next burst, until the deadline.

    @param sender: open socket that sends.
    @param receivers: open sockets that must each get every message.
    @param burst: list of C{(request, expected)} pairs for one burst.
    @param expected: what every receiver must get for a burst, if not the
        responses of C{burst} (compressed broadcast: see L{learnBroadcast}).
    @return: C{(bursts, elapsed)}.
    """
    out = b"".join(request for request, _ in burst)
    if expected is None:
        expected = b"".join(response for _, response in burst)
    want = len(expected)
    sender.setblocking(True)
    sender.settimeout(STALL_TIMEOUT)
    selector = selectors.DefaultSelector()
    buffers = {}
    for sock in receivers:
        buf = bytearray(want)
        buffers[sock.fileno()] = [sock, buf, memoryview(buf), 0]
    for entry in buffers.values():
        selector.register(entry[0], _EVENT_READ, entry)
    start = time.monotonic()
    end = start + duration
    bursts = 0
    try:
        while bursts < maxBursts and (bursts == 0 or time.monotonic() < end):
            for entry in buffers.values():
                entry[3] = 0
            sender.sendall(out)
            waiting = len(receivers)
            lastProgress = time.monotonic()
            while waiting:
                ready = selector.select(1.0)
                if not ready and time.monotonic() - lastProgress > STALL_TIMEOUT:
                    raise BenchmarkError(
                        "%d of %d receivers still waiting after %.0fs"
                        % (waiting, len(receivers), STALL_TIMEOUT)
                    )
                for key, _events in ready:
                    entry = key.data
                    got = entry[3]
                    if got == want:
                        try:
                            data = entry[0].recv(64)
                        except (BlockingIOError, InterruptedError):
                            continue
                        raise BenchmarkError("a receiver got extra bytes: %r" % (data,))
                    try:
                        n = entry[0].recv_into(entry[2][got:])
                    except (BlockingIOError, InterruptedError):
                        continue
                    if not n:
                        raise BenchmarkError("server closed a receiver's connection")
                    lastProgress = time.monotonic()
                    got += n
                    entry[3] = got
                    if got == want:
                        if entry[1] != expected:
                            raise mismatch("broadcast", entry[1], expected)
                        waiting -= 1
            bursts += 1
        return bursts, time.monotonic() - start
    finally:
        selector.close()


def selfCheck():
    """
    Check the frame and handshake builders against the examples of RFC 6455
    (sections 1.3 and 5.7), so that a broken client cannot pass or fail
    servers wrongly.

    @raise BenchmarkError: if a builder is wrong.
    """
    checks = [
        (
            clientFrame(OP_TEXT, b"Hello", lambda n: bytes.fromhex("37fa213d")),
            bytes.fromhex("818537fa213d7f9f4d5158"),
        ),
        (serverFrame(OP_TEXT, b"Hello"), bytes.fromhex("810548656c6c6f")),
        (serverFrame(OP_BINARY, bytes(256))[:4], bytes.fromhex("827e0100")),
        (serverFrame(OP_BINARY, bytes(65536))[:10], bytes.fromhex("827f0000000000010000")),
        (
            base64.b64encode(hashlib.sha1(b"dGhlIHNhbXBsZSBub25jZQ==" + GUID).digest()),
            b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
        ),
        (maskBytes(maskBytes(bytes(range(256)) * 5, b"abcd"), b"abcd"), bytes(range(256)) * 5),
    ]
    for got, expected in checks:
        if got != expected:
            raise BenchmarkError("client self-check failed: %r != %r" % (got, expected))


def makeRng(seed):
    """
    @return: a seeded L{random.Random} (payloads are reproducible; masks are
        not: they come from C{os.urandom}).
    """
    return random.Random(seed)
