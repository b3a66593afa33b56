"""
Tests that the runnable examples work: the README's echo server, as written,
and, in docs/examples/, the blocking echo server and client built on the
codec and plain sockets, which talk to each other over loopback.
"""

from __future__ import annotations

import os
import re
import selectors
import signal
import socket
import subprocess
import sys

from twisted.trial.unittest import SynchronousTestCase

from twisted_ws.codec import BytesMessage, ClientConnection, ConnectionOpened, TextMessage

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")
EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "examples")
SERVER = os.path.join(EXAMPLES, "codec_echo_server.py")
CLIENT = os.path.join(EXAMPLES, "codec_echo_client.py")

#: Seconds any one step may take before the test gives up.
TIMEOUT = 60


class LineReader:
    """
    Reads lines from a child process's standard output with a bound on each
    wait, reading the pipe unbuffered so that no line waits in a buffer
    that the selector cannot see.
    """

    def __init__(self, proc: subprocess.Popen) -> None:
        self._proc = proc
        self._fd = proc.stdout.fileno()
        self._buffer = b""

    def readLine(self, timeout: float) -> str:
        """
        Return the next line, waiting at most C{timeout} seconds for more
        output each time.

        @raise AssertionError: nothing arrived in time, or the output ended.
        """
        with selectors.DefaultSelector() as selector:
            selector.register(self._fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                if not selector.select(timeout):
                    raise AssertionError(
                        f"no line from {self._proc.args!r} within {timeout} seconds; "
                        f"got {self._buffer!r}"
                    )
                data = os.read(self._fd, 4096)
                if not data:
                    raise AssertionError(f"output of {self._proc.args!r} ended: {self._buffer!r}")
                self._buffer += data
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode("utf-8", "replace")


class CodecEchoExampleTests(SynchronousTestCase):
    """
    docs/examples/codec_echo_server.py and codec_echo_client.py.
    """

    def setUp(self) -> None:
        """
        Start the example server on a free loopback port (port 0 makes the
        system choose one; the server prints it).
        """
        self.server = subprocess.Popen(
            [sys.executable, "-u", SERVER, "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=EXAMPLES,
        )
        self.addCleanup(self.stopServer)
        self.serverOutput = LineReader(self.server)
        line = self.serverOutput.readLine(TIMEOUT)
        match = re.search(r"listening on port (\d+)", line)
        self.assertIsNotNone(match, line)
        self.port = int(match.group(1))

    def stopServer(self) -> None:
        """
        Stop the example server process started by L{setUp}.
        """
        if self.server.poll() is None:
            self.server.kill()
        self.server.wait(timeout=TIMEOUT)
        self.server.stdout.close()

    def runClient(self, label: str) -> tuple[int, str]:
        """
        Run the example client against the server with version C{label}.

        @return: its exit status and output.
        """
        result = subprocess.run(
            [sys.executable, CLIENT, str(self.port), label],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            cwd=EXAMPLES,
        )
        return result.returncode, result.stdout + result.stderr

    def assertEchoes(self, label: str, messages: int, closeCode: int) -> None:
        """
        The client speaking C{label} opens, gets all its C{messages} echoed,
        and closes cleanly with C{closeCode}; the server logs the connection.
        """
        status, output = self.runClient(label)
        self.assertEqual(status, 0, output)
        self.assertIn(f"open: {label}", output)
        self.assertIn(
            f"echoed {messages} of {messages} messages; closed with {closeCode} cleanly", output
        )
        opening = self.serverOutput.readLine(TIMEOUT).split()
        self.assertEqual(opening[0], "opening", opening)
        self.assertIn("/echo", opening)
        self.assertIn(label, opening)
        closed = self.serverOutput.readLine(TIMEOUT).split()
        self.assertEqual(closed[0], "closed", closed)

    def test_rfc6455(self) -> None:
        """
        An RFC 6455 client gets its text and binary messages echoed.
        """
        self.assertEchoes("rfc6455", 4, 1000)

    def test_hybi08(self) -> None:
        """
        A hybi-08 client gets its messages echoed.
        """
        self.assertEchoes("hybi-08", 4, 1000)

    def test_hixie76(self) -> None:
        """
        A hixie-76 client gets its text messages echoed and closes with the
        FF 00 handshake (code 1005: no code on hixie).
        """
        self.assertEchoes("hixie-76", 3, 1005)

    def test_hixie75(self) -> None:
        """
        A hixie-75 client gets its text messages echoed.
        """
        self.assertEchoes("hixie-75", 3, 1000)

    def test_severalClientsInTurn(self) -> None:
        """
        The server serves one connection after another.
        """
        self.assertEchoes("rfc6455", 4, 1000)
        self.assertEchoes("hybi-07", 4, 1000)


def readmeExample() -> str:
    """
    The README's Python example: its first C{```python} block.
    """
    with open(README, encoding="utf-8") as f:
        text = f.read()
    match = re.search(r"^```python\n(.*?)^```$", text, re.M | re.S)
    assert match is not None, "README.md has no ```python block"
    return match.group(1)


class ReadmeExampleTests(SynchronousTestCase):
    """
    The echo server of README.md, run as written except for its port: the
    one C{8080} becomes C{0}, so that the system picks a free port (and the
    line it prints names that port).
    """

    def setUp(self) -> None:
        """
        Start the example in a child process and read the line it prints.
        """
        code = readmeExample()
        self.assertEqual(code.count("8080"), 1, code)
        self.assertIn('"tcp:8080:interface=127.0.0.1"', code)
        self.server = subprocess.Popen(
            [sys.executable, "-c", code.replace("tcp:8080:", "tcp:0:")],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=EXAMPLES,
        )
        self.addCleanup(self.stopServer)
        self.output = LineReader(self.server)
        self.line = self.output.readLine(TIMEOUT)

    def stopServer(self) -> None:
        """
        Stop the example, as Ctrl-C does.
        """
        if self.server.poll() is None:
            self.server.send_signal(signal.SIGINT)
            try:
                self.server.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait(timeout=TIMEOUT)
        self.server.stdout.close()

    def test_printsWhereItListens(self) -> None:
        """
        The example prints that it is listening, on 127.0.0.1, and the port
        it names accepts connections on loopback.
        """
        match = re.fullmatch(r"listening on ws://127\.0\.0\.1:(\d+)/", self.line)
        self.assertIsNotNone(match, self.line)
        with socket.create_connection(("127.0.0.1", int(match.group(1))), timeout=TIMEOUT):
            pass

    def test_echoes(self) -> None:
        """
        A WebSocket client gets its text and binary messages back.
        """
        port = int(re.search(r":(\d+)/", self.line).group(1))
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
            client = ClientConnection(f"127.0.0.1:{port}", "/")
            sock.sendall(client.dataToSend())
            received: list[object] = []
            while not any(isinstance(e, ConnectionOpened) for e in received):
                data = sock.recv(65536)
                self.assertTrue(data, "the example closed the connection")
                received += client.receiveData(data)
            client.sendTextMessage("héllo")
            client.sendBytesMessage(b"\x00\xff")
            sock.sendall(client.dataToSend())
            messages: list[object] = []
            while len(messages) < 2:
                data = sock.recv(65536)
                self.assertTrue(data, "the example closed the connection")
                messages += [e.data for e in client.receiveData(data) if isinstance(e, TextMessage | BytesMessage)]
        self.assertEqual(messages, ["héllo", b"\x00\xff"])
